package server_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-dev/gatehouse/api"
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
					got := "allowed"
					if !out.Allowed {
						got = out.Result
					}
					if got != row.want {
						t.Errorf("%s, want %s (%+v)", got, row.want, out)
					}
				})
			}
		})
	}
}
