package server_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/gatehouse-dev/gatehouse/api"
	"github.com/gatehouse-dev/gatehouse/internal/mcpgw"
)

// deputyWorld is newApvWorld with an `ask before delete chains` rule on
// the admin role: a service bound admin must have its deletes approved.
func deputyWorld(t *testing.T, backend string) *apvWorld {
	t.Helper()
	w := newApvWorld(t, backend)
	w.setPolicy(strings.Replace(withAsk(t), "role admin: builder level 80 {\n",
		"role admin: builder level 80 {\n    ask before delete chains\n", 1))
	return w
}

// serviceKey creates an admin-level service (by the owner, with sponsors)
// and mints a key for it as minter; it returns the key's token.
func (w *apvWorld) serviceKey(t *testing.T, name, minter string, sponsors ...string) string {
	t.Helper()
	org := "/v1/orgs/" + w.org
	body := map[string]any{"name": name, "role": "admin"}
	if len(sponsors) > 0 {
		body["sponsors"] = sponsors
	}
	w.e.must(201, "POST", org+"/services", w.owner, body, nil)
	return w.mintKey(t, name, minter)
}

func (w *apvWorld) mintKey(t *testing.T, service, minter string) string {
	t.Helper()
	var k struct {
		Token string `json:"token"`
	}
	w.e.must(201, "POST", "/v1/orgs/"+w.org+"/apikeys", minter, map[string]any{"principal": "service:" + service}, &k)
	return k.Token
}

// askDelete checks chains:delete on chains/deploy in prod with token (as
// its service, for itself) and returns the approval it opens.
func (w *apvWorld) askDelete(t *testing.T, token string, n int) *api.Approval {
	t.Helper()
	var out api.CheckResponse
	w.e.must(200, "POST", "/v1/orgs/"+w.org+"/check", token, map[string]any{
		"action": "chains:delete", "resource": "chains/deploy", "namespace": "prod", "arguments": map[string]any{"n": n}}, &out)
	if out.Result != api.ResultApprovalRequired || out.Approval == nil {
		t.Fatalf("check: %+v, want approval_required with an approval", out)
	}
	return out.Approval
}

// TestNobodyApprovesARequestTheyStandBehind (threat-model row 55): a user
// who holds a key for a service whose own role asks before an action
// checks as the service — no on_behalf_of — and approves the service's
// request itself. Whoever stands behind the requesting service may not
// approve: the creator of one of its live keys (also through a service
// whose key that user created), a sponsoring user, a member of a
// sponsoring team. Another admin still may; and the approvers listed
// leave them out.
func TestNobodyApprovesARequestTheyStandBehind(t *testing.T) {
	for _, backend := range backends(t) {
		t.Run(backend, func(t *testing.T) {
			w := deputyWorld(t, backend)
			org := "/v1/orgs/" + w.org
			w.e.must(201, "POST", org+"/teams", w.owner, map[string]any{"slug": "ops", "members": []string{"user:apvann", "user:apvop"}}, nil)
			mintbot := w.serviceKey(t, "mintbot", w.ann)
			w.e.must(201, "POST", org+"/services", w.owner, map[string]any{"name": "grandbot", "role": "admin"}, nil)
			tokens := map[string]string{
				"annbot":   w.serviceKey(t, "annbot", w.ann),
				"sponbot":  w.serviceKey(t, "sponbot", w.owner, "user:apvann"),
				"teambot":  w.serviceKey(t, "teambot", w.owner, "team:ops"),
				"grandbot": w.mintKey(t, "grandbot", mintbot),
				"ownerbot": w.serviceKey(t, "ownerbot", w.owner),
			}
			for i, row := range []struct {
				name, service string
				approver      string
				want          int
				approvers     []string // who may approve, as GET lists them
			}{
				{"ann created the key the request came with", "annbot", w.ann, 403, []string{"user:apvamy", "user:apvop", "user:apvowner"}},
				{"ann sponsors the service", "sponbot", w.ann, 403, []string{"user:apvamy", "user:apvop"}},
				{"ann is a member of the sponsoring team", "teambot", w.ann, 403, []string{"user:apvamy"}},
				{"ann created the key of the service that minted the key", "grandbot", w.ann, 403, []string{"user:apvamy", "user:apvop", "user:apvowner"}},
				{"amy stands behind none of them", "annbot", w.amy, 200, nil},
				{"ann stands behind nothing of ownerbot's", "ownerbot", w.ann, 200, nil},
			} {
				t.Run(row.name, func(t *testing.T) {
					ap := w.askDelete(t, tokens[row.service], i)
					if row.approvers != nil {
						var got api.Approval
						w.e.must(200, "GET", org+"/approvals/"+ap.ID, w.owner, nil, &got)
						if d := cmp.Diff(row.approvers, got.Approvers); d != "" {
							t.Errorf("approvers (-want +got):\n%s", d)
						}
					}
					if r := w.e.do("POST", org+"/approvals/"+ap.ID+"/approve", row.approver, map[string]any{}); r.Status != row.want {
						t.Errorf("approve: %d, want %d (%s)", r.Status, row.want, r.Body)
					}
				})
			}
		})
	}
}

// TestAVoteCountsForNothingOnceItsVoterStandsBehind (threat-model row 55):
// ann approves a request of a service she holds no key of, then mints
// herself a key for it and presents the approval with that key: her vote
// is counted again at use, she now stands behind the service, and the
// approval is not used. Presented with the key of someone who approved
// nothing, the same kind of approval is used once.
func TestAVoteCountsForNothingOnceItsVoterStandsBehind(t *testing.T) {
	for _, backend := range backends(t) {
		t.Run(backend, func(t *testing.T) {
			w := deputyWorld(t, backend)
			owners := w.serviceKey(t, "latebot", w.owner)
			for i, row := range []struct {
				name      string
				presenter func() string
				want      string // allowed or approval_required
			}{
				{"with the owner's key: used", func() string { return owners }, "allowed"},
				{"with a key ann minted after approving: not used", func() string { return w.mintKey(t, "latebot", w.ann) }, "approval_required"},
			} {
				t.Run(row.name, func(t *testing.T) {
					ap := w.askDelete(t, owners, 100+i)
					w.e.must(200, "POST", "/v1/orgs/"+w.org+"/approvals/"+ap.ID+"/approve", w.ann, map[string]any{}, nil)
					var out api.CheckResponse
					w.e.must(200, "POST", "/v1/orgs/"+w.org+"/check", row.presenter(), map[string]any{
						"action": "chains:delete", "resource": "chains/deploy", "namespace": "prod",
						"arguments": map[string]any{"n": 100 + i}, "approval_id": ap.ID}, &out)
					got := outcome(out)
					if got != row.want {
						t.Errorf("%s, want %s (%+v)", got, row.want, out)
					}
				})
			}
		})
	}
}

// TestAnAgentTokensMinterDoesNotApproveItsRequests (threat-model row 55):
// agent tokens are not stored, so their minter is recorded on the
// approval their call opens, and counted again when a token presents a
// granted approval. The admin who minted the token an agent's call came
// with may not approve the call; an approval the admin granted for a call
// made with the platform's token is not used by a token the admin mints
// afterwards, and is used by the platform's.
func TestAnAgentTokensMinterDoesNotApproveItsRequests(t *testing.T) {
	for _, backend := range backends(t) {
		t.Run(backend, func(t *testing.T) {
			w := newMCPWorld(t, backend)
			org := "/v1/orgs/" + w.org
			// The admin holds what the agent holds, so it may mint its tokens.
			w.e.must(201, "POST", org+"/bindings", w.owner, map[string]any{"principal": "user:mcpadmin", "role": "toolcaller"}, nil)
			var tok struct {
				Token string `json:"token"`
			}
			mint := func(minter string) string {
				t.Helper()
				w.e.must(201, "POST", org+"/agents/Helper/tokens", minter, map[string]any{"audience": w.endpoint("pay"), "ttl": "1h"}, &tok)
				return tok.Token
			}
			platformTok := mint(w.platform)
			ask := func(token, account string) string {
				t.Helper()
				res := callTool(t, w.agent(t, token), "delete_account", map[string]any{"account": account})
				id, _ := approvalOf(t, res)["id"].(string)
				if !res.IsError || id == "" {
					t.Fatalf("delete_account %s: isError %v, %q, want an approval", account, res.IsError, resultText(res))
				}
				return id
			}
			present := func(token, account, id string) string {
				t.Helper()
				res, err := w.agent(t, token).CallTool(ctxT(t), &mcp.CallToolParams{Name: "delete_account",
					Arguments: map[string]any{"account": account}, Meta: mcp.Meta{mcpgw.MetaApprovalID: id}})
				if err != nil {
					t.Fatalf("tools/call: %v", err)
				}
				if res.IsError {
					return "refused"
				}
				return "called"
			}
			t.Run("the minter of the token the call came with", func(t *testing.T) {
				id := ask(mint(w.admin), "d-1")
				if r := w.e.do("POST", org+"/approvals/"+id+"/approve", w.admin, map[string]any{}); r.Status != 403 {
					t.Errorf("approve: %d, want 403 (%s)", r.Status, r.Body)
				}
			})
			for _, row := range []struct {
				name, account string
				presenter     func() string
				want          string
			}{
				{"granted by the admin, presented with the platform's token", "d-2", func() string { return platformTok }, "called"},
				{"granted by the admin, presented with a token the admin minted after", "d-3", func() string { return mint(w.admin) }, "refused"},
			} {
				t.Run(row.name, func(t *testing.T) {
					id := ask(platformTok, row.account)
					w.e.must(200, "POST", org+"/approvals/"+id+"/approve", w.admin, map[string]any{}, nil)
					if got := present(row.presenter(), row.account, id); got != row.want {
						t.Errorf("%s, want %s", got, row.want)
					}
				})
			}
		})
	}
}

// TestPolicyApplyWarnsOfAnAskALowerApproverLifts (threat-model row 56):
// applying a policy whose owner role asks before an action without
// `from` answers an ask-approver-below warning telling the author to
// write `from owner` (an operator, who approves decisions, would approve
// it otherwise); with `from owner` there is none. The policy is applied
// either way.
func TestPolicyApplyWarnsOfAnAskALowerApproverLifts(t *testing.T) {
	w := newApvWorld(t, "sqlite")
	for _, row := range []struct {
		name, rule string
		want       []string // hints of the ask-approver-below warnings
	}{
		{"no from", "ask before delete chains", []string{"write `ask before delete chains from owner` if only approvers at role owner's level should approve it"}},
		{"from owner", "ask before delete chains from owner", nil},
	} {
		t.Run(row.name, func(t *testing.T) {
			text := strings.Replace(withAsk(t), "role owner level 100 {\n", "role owner level 100 {\n    "+row.rule+"\n", 1)
			var out api.PolicyApplied
			w.e.must(200, "PUT", "/v1/orgs/"+w.org+"/policy", w.owner, map[string]any{"text": text}, &out)
			var got []string
			for _, d := range out.Warnings {
				if d.Code == "ask-approver-below" {
					got = append(got, d.Hint)
				}
			}
			if d := cmp.Diff(row.want, got); d != "" {
				t.Errorf("hints (-want +got):\n%s\nall warnings: %+v", d, out.Warnings)
			}
		})
	}
}

// TestApprovalLifetimesAreTheOwnersToChange (threat-model row 58): the
// org's approval lifetimes govern every approval, owner-level ones
// included, so changing them — lengthening the use window above all —
// needs the policy's top level besides org:update: an admin (who holds
// org:update) is refused with an escalation problem and the settings stay
// as they were; the owner may.
func TestApprovalLifetimesAreTheOwnersToChange(t *testing.T) {
	for _, backend := range backends(t) {
		t.Run(backend, func(t *testing.T) {
			w := newApvWorld(t, backend)
			org := "/v1/orgs/" + w.org
			defaults := &api.OrgApprovalSettings{PendingTTL: "24h", PendingTTLDefault: true, UseWindow: "15m", UseWindowDefault: true}
			for _, row := range []struct {
				name, who string
				body      map[string]any
				want      int
				wantType  string
				after     *api.OrgApprovalSettings // the settings then
			}{
				{"an admin lengthens the use window", w.ann, map[string]any{"use_window": "24h"}, 403, "escalation", defaults},
				{"an admin shortens the pending time", w.ann, map[string]any{"pending_ttl": "1h"}, 403, "escalation", defaults},
				{"the owner lengthens the use window", w.owner, map[string]any{"use_window": "1h"}, 200, "", &api.OrgApprovalSettings{PendingTTL: "24h", PendingTTLDefault: true, UseWindow: "1h"}},
				{"an admin puts back the default", w.ann, map[string]any{"use_window": "0"}, 403, "escalation", &api.OrgApprovalSettings{PendingTTL: "24h", PendingTTLDefault: true, UseWindow: "1h"}},
			} {
				t.Run(row.name, func(t *testing.T) {
					r := w.e.do("PUT", org+"/approval-settings", row.who, row.body)
					if r.Status != row.want {
						t.Fatalf("PUT: %d, want %d (%s)", r.Status, row.want, r.Body)
					}
					if row.wantType != "" {
						if p := r.problem(t); !strings.HasSuffix(p.Type, "/"+row.wantType) {
							t.Errorf("problem type %q, want …/%s", p.Type, row.wantType)
						}
					}
					var o api.Org
					w.e.must(200, "GET", org, w.owner, nil, &o)
					if d := cmp.Diff(row.after, o.Approvals); d != "" {
						t.Errorf("settings (-want +got):\n%s", d)
					}
				})
			}
		})
	}
}

// TestAMisspeltActionWarnsAPolicyReader (threat-model row 57): a check
// for an action the org's policy never names fails closed as before, and
// a caller who may read the policy (policy:read at org scope) is told so
// in the answer's warnings, with the closest action the policy names; a
// caller who may not read it gets the bare deny (whether the policy names
// an action is the policy's text). Allowed answers carry no warning, and
// neither do denies of named actions. /checks answers the same per item.
func TestAMisspeltActionWarnsAPolicyReader(t *testing.T) {
	w := newApvWorld(t, "sqlite")
	org := "/v1/orgs/" + w.org
	warn := func(msg string) []api.CheckWarning { return []api.CheckWarning{{Code: "unknown_action", Message: msg}} }
	const none = "(no role, agent rule, ask rule or resource declaration; only a wildcard or a share can grant it)"
	rows := []struct {
		name, caller, principal, action string
		allowed                         bool
		want                            []api.CheckWarning
	}{
		{"an admin misspells run", w.ann, "", "chains:rnu", false, warn("the org's policy names no action rnu for chains " + none + ": did you mean chains:run?")},
		{"an admin asks about an operator", w.ann, "user:apvop", "chains:rnu", false, warn("the org's policy names no action rnu for chains " + none + ": did you mean chains:run?")},
		{"nothing near", w.ann, "", "chains:export", false, warn("the org's policy names no action export for chains " + none)},
		{"an unknown type", w.ann, "", "frobs:read", false, warn("the org's policy names no action read for frobs " + none)},
		{"an operator cannot read the policy", w.op, "", "chains:rnu", false, nil},
		{"a named action denied", w.v, "", "chains:run", false, nil},
		{"allowed through a wildcard", w.owner, "", "chains:rnu", true, nil},
		{"allowed", w.ann, "", "chains:run", true, nil},
	}
	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			typ, _, _ := strings.Cut(row.action, ":")
			body := map[string]any{"action": row.action, "resource": typ + "/deploy"}
			if row.principal != "" {
				body["principal"] = row.principal
			}
			var out api.CheckResponse
			w.e.must(200, "POST", org+"/check", row.caller, body, &out)
			if out.Allowed != row.allowed {
				t.Errorf("allowed %v, want %v (%+v)", out.Allowed, row.allowed, out)
			}
			if d := cmp.Diff(row.want, out.Warnings); d != "" {
				t.Errorf("warnings (-want +got):\n%s", d)
			}
			var batch api.BatchCheckResponse
			w.e.must(200, "POST", org+"/checks", row.caller, map[string]any{"checks": []any{body}}, &batch)
			if len(batch.Results) != 1 || batch.Results[0].Allowed != row.allowed {
				t.Fatalf("batch: %+v", batch)
			}
			if d := cmp.Diff(row.want, batch.Results[0].Warnings); d != "" {
				t.Errorf("batch warnings (-want +got):\n%s", d)
			}
		})
	}
}
