package server_test

import (
	"fmt"
	"strings"
	"testing"

	gocmp "github.com/google/go-cmp/cmp"

	"github.com/gatehouse-dev/gatehouse/api"
	"github.com/gatehouse-dev/gatehouse/internal/server"
)

// newReadSweep is what each caller of sweepCallers must get from the
// newest read routes (branch secdx): the agent-token lists, the change
// feed and the cross-org lookup. TestIdentitySweep leaves them out (they
// mint, change and audit nothing); the question here is who else could
// read them — a dead, forged or foreign credential, an agent token, a
// service, a member without the permission.
var newReadSweep = []struct {
	path string
	why  string
	want map[string]string // overrides sweepDefault
}{
	{"/v1/orgs/acme/agents/Boss/tokens", "apikeys:read (an admin holds it): token metadata of the org",
		map[string]string{"admin below owner": "200"}},
	{"/v1/orgs/acme/agent-tokens", "as the per-agent list",
		map[string]string{"admin below owner": "200"}},
	{"/v1/orgs/acme/agent-tokens?agent=Boss", "as the per-agent list",
		map[string]string{"admin below owner": "200"}},
	{"/v1/orgs/acme/changes?after=0", "changes:read at org scope: the default template's owner only (docs/replicas.md), not an admin",
		nil},
	{"/v1/orgs/acme/snapshot", "as the feed", nil},
	{"/v1/me/lookup/resources?action=chains:read", "one's own reach: every live credential but an agent token's; a confined key its org only",
		yourOwn("200", nil)},
}

// TestNewestReadRoutesSweep: the sweep of newReadSweep, and what the
// callers let through read: no answer to a caller that may not read org
// acme names anything of it (its token ids, its agent, its resources),
// and a credential of org b reads only org b.
func TestNewestReadRoutesSweep(t *testing.T) {
	t.Parallel()
	sw := buildSweepWorld(t)
	var got, want []string
	for _, rc := range newReadSweep {
		for _, caller := range sweepCallers {
			w, ok := rc.want[caller]
			if !ok {
				w = sweepDefault[caller]
			}
			r := sw.e.do("GET", rc.path, sw.creds[caller], nil)
			row := fmt.Sprintf("GET %s by %s: ", rc.path, caller)
			got, want = append(got, row+fmt.Sprint(r.Status)), append(want, row+w)
			if fmt.Sprint(r.Status) != w {
				t.Logf("%s%d (%s); body %.300s", row, r.Status, rc.why, r.Body)
			}
			if r.Status == 200 && (caller == "other-org member" || caller == "org-B-confined key") {
				for _, m := range []string{`"acme"`, sw.params["token"], "Boss", `"` + sw.params["id"] + `"`} {
					if strings.Contains(string(r.Body), m) {
						t.Errorf("%s: the answer names %q of org acme: %.300s", row, m, r.Body)
					}
				}
			}
		}
	}
	if d := gocmp.Diff(want, got); d != "" {
		t.Errorf("who else could read this (-want +got):\n%s", d)
	}
}

// TestNewestRoutesCrossOrgIDs: ids of org b sent to org a's routes — in
// the path of the agent-token routes, in the body of a batch — and
// malformed ids and pages are refused (404 for what does not exist in the
// org asked, 400 for what is malformed), and nothing of either org
// changes: b's token is not revoked, b's binding not deleted, no part of
// a refused batch written.
func TestNewestRoutesCrossOrgIDs(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "sqlite", envOpts{})
	a, b := buildWorld(t, e, ""), buildWorld(t, e, "b")
	A, B := "/v1/orgs/"+a.org, "/v1/orgs/"+b.org
	mint := func(org, owner, agent string) api.AgentToken {
		t.Helper()
		var at api.AgentToken
		e.must(201, "POST", "/v1/orgs/"+org+"/agents/"+agent+"/tokens", owner, map[string]any{"audience": "https://gw.example/mcp/" + org + "/default/x"}, &at)
		return at
	}
	aTok, bTok := mint(a.org, a.owner, a.params["agent"]), mint(b.org, b.owner, b.params["agent"])
	aAgent, bAgent := a.params["agent"], b.params["agent"]
	revBefore := must(e.st.CurrentRevision(ctxT(t)))(t)

	e.runAttacks(t, []attack{
		// Agent-token lists and revocation with the other org's names and ids.
		{"b's owner lists a's agent's tokens through b", "GET", B + "/agents/" + aAgent + "/tokens", b.owner, nil, 404},
		{"b's owner lists a's agent's tokens by query through b", "GET", B + "/agent-tokens?agent=" + aAgent, b.owner, nil, 404},
		{"b's owner revokes a's token under its own agent", "DELETE", B + "/agents/" + bAgent + "/tokens/" + aTok.TokenID, b.owner, nil, 404},
		{"a's owner revokes b's token under a's agent", "DELETE", A + "/agents/" + aAgent + "/tokens/" + bTok.TokenID, a.owner, nil, 404},
		{"a's owner revokes b's token under b's agent's name", "DELETE", A + "/agents/" + bAgent + "/tokens/" + bTok.TokenID, a.owner, nil, 404},
		// Malformed token ids and agent names.
		{"token id in upper case", "DELETE", A + "/agents/" + aAgent + "/tokens/" + strings.ToUpper(aTok.TokenID), a.owner, nil, 404},
		{"token id one digit longer", "DELETE", A + "/agents/" + aAgent + "/tokens/" + aTok.TokenID + "0", a.owner, nil, 404},
		{"token id of 4,000 digits", "DELETE", A + "/agents/" + aAgent + "/tokens/" + strings.Repeat("0", 4000), a.owner, nil, 404},
		{"token id '..'", "DELETE", A + "/agents/" + aAgent + "/tokens/%2e%2e", a.owner, nil, 404},
		{"token id with a NUL", "DELETE", A + "/agents/" + aAgent + "/tokens/" + aTok.TokenID[:8] + "%00", a.owner, nil, 404},
		{"agent name with a slash", "GET", A + "/agents/a%2fb/tokens", a.owner, nil, 404},
		{"agent name of 300 bytes", "GET", A + "/agents/" + strings.Repeat("A", 300) + "/tokens", a.owner, nil, 404},
		{"agent query with a kind", "GET", A + "/agent-tokens?agent=agent:" + aAgent, a.owner, nil, 404},
		{"page size 0", "GET", A + "/agent-tokens?page_size=0", a.owner, nil, 400},
		{"page size over the bound", "GET", A + "/agent-tokens?page_size=100000", a.owner, nil, 400},
		{"a made-up cursor", "GET", A + "/agent-tokens?cursor=bm90LWEtY3Vyc29y", a.owner, nil, 400},
		// A batch naming b's things in a.
		{"batch: delete b's binding in a", "POST", A + "/writes", a.owner, map[string]any{"changes": []any{
			map[string]any{"op": "binding.delete", "binding": b.params["binding"]}}}, 404},
		{"batch: bind b's team in a", "POST", A + "/writes", a.owner, map[string]any{"changes": []any{
			map[string]any{"op": "binding.create", "principal": "team:" + b.params["team"], "role": "viewer"}}}, 404},
		{"batch: bind b's service in a", "POST", A + "/writes", a.owner, map[string]any{"changes": []any{
			map[string]any{"op": "binding.create", "principal": "service:" + b.params["service"], "role": "viewer"}}}, 404},
		{"batch: bind b's agent in a", "POST", A + "/writes", a.owner, map[string]any{"changes": []any{
			map[string]any{"op": "binding.create", "principal": "agent:" + bAgent, "role": "viewer"}}}, 404},
		{"batch: share a's resource with b's service", "POST", A + "/writes", a.owner, map[string]any{"changes": []any{
			map[string]any{"op": "share.create", "namespace": a.params["namespace"], "type": "chains", "id": a.params["id"], "principal": "service:" + b.params["service"], "actions": []string{"read"}}}}, 404},
		{"batch: a resource in b's namespace", "POST", A + "/writes", a.owner, map[string]any{"changes": []any{
			map[string]any{"op": "resource.create", "namespace": b.params["namespace"], "type": "chains", "id": "planted"}}}, 404},
		{"batch: a valid change, then b's binding", "POST", A + "/writes", a.owner, map[string]any{"changes": []any{
			map[string]any{"op": "namespace.create", "namespace": "planted"},
			map[string]any{"op": "binding.delete", "binding": b.params["binding"]}}}, 404},
		{"batch: b's owner writes in a", "POST", A + "/writes", b.owner, map[string]any{"changes": []any{
			map[string]any{"op": "namespace.create", "namespace": "planted"}}}, 404},
		{"batch: an org in a change", "POST", A + "/writes", a.owner, `{"changes":[{"op":"namespace.create","namespace":"planted","org":"` + b.org + `"}]}`, 400},
		{"batch: no changes", "POST", A + "/writes", a.owner, map[string]any{"changes": []any{}}, 400},
		{"batch: one change too many", "POST", A + "/writes", a.owner, map[string]any{"changes": manyChanges(1001)}, 400},
		// Provisioning: the org named in the body is the one authorized.
		{"provision: b's owner into a", "POST", "/v1/users", b.owner, map[string]any{"org": a.org, "id": "planted", "email": "planted@example.com", "role": "viewer"}, 404},
		{"provision: a's service key into b", "POST", "/v1/users", a.serviceKey, map[string]any{"org": b.org, "id": "planted", "email": "planted@example.com", "role": "viewer"}, 404},
		{"provision: no org", "POST", "/v1/users", a.owner, map[string]any{"id": "planted", "email": "planted@example.com", "role": "viewer"}, 400},
		{"provision: a role of b's", "POST", "/v1/users", a.owner, map[string]any{"org": a.org, "id": "planted", "email": "planted@example.com", "role": b.params["role"]}, 400},
		// The change feed and the lookup with odd parameters.
		{"feed: after not a number", "GET", A + "/changes?after=x", a.owner, nil, 400},
		{"feed: after negative", "GET", A + "/changes?after=-1", a.owner, nil, 400},
		{"feed: wait over 30s", "GET", A + "/changes?after=0&wait=31s", a.owner, nil, 400},
		{"feed: b's owner", "GET", A + "/changes?after=0", b.owner, nil, 404},
		{"lookup: no action", "GET", "/v1/me/lookup/resources", a.owner, nil, 400},
		{"lookup: page size 0", "GET", "/v1/me/lookup/resources?action=chains:read&page_size=0", a.owner, nil, 400},
		{"lookup: a made-up cursor", "GET", "/v1/me/lookup/resources?action=chains:read&cursor=bm90LWEtY3Vyc29y", a.owner, nil, 400},
	})

	// Nothing changed: no revision, no token revoked, b's binding there.
	if rev := must(e.st.CurrentRevision(ctxT(t)))(t); rev != revBefore {
		t.Errorf("refused requests wrote: revision %d, then %d", revBefore, rev)
	}
	for _, tc := range []struct {
		org, owner string
		tok        api.AgentToken
	}{{a.org, a.owner, aTok}, {b.org, b.owner, bTok}} {
		var l server.List[api.AgentTokenInfo]
		e.must(200, "GET", "/v1/orgs/"+tc.org+"/agent-tokens", tc.owner, nil, &l)
		found := false
		for _, it := range l.Items {
			if !it.RevokedAt.IsZero() {
				t.Errorf("org %s's agent token after the attacks: %+v", tc.org, it)
			}
			found = found || it.ID == tc.tok.TokenID
		}
		if !found {
			t.Errorf("org %s's token %s is not listed", tc.org, tc.tok.TokenID)
		}
	}
	e.must(200, "GET", B+"/bindings/"+b.params["binding"], b.owner, nil, nil)
	if _, err := e.st.GetUser(ctxT(t), "planted"); err == nil {
		t.Error("a refused provisioning left a user behind")
	}
}

// manyChanges is n namespace.create changes.
func manyChanges(n int) []any {
	out := make([]any, n)
	for i := range out {
		out[i] = map[string]any{"op": "namespace.create", "namespace": fmt.Sprintf("n%d", i)}
	}
	return out
}

// TestChangeFeedNeedsAnOrgWideUnconditionalGrant: the feed and the
// snapshot are the whole org's decision state, so changes:read must be
// held at org scope and without a condition (docs/replicas.md): a
// service granted it in one namespace, or at org scope under a condition,
// reads neither; through a team bound at org scope it does; a suspended
// holder does not.
func TestChangeFeedNeedsAnOrgWideUnconditionalGrant(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "sqlite", envOpts{})
	w := buildWorld(t, e, "")
	org := "/v1/orgs/" + w.org
	var pol api.Policy
	e.must(200, "GET", org+"/policy", w.owner, nil, &pol)
	e.must(200, "PUT", org+"/policy", w.owner, map[string]any{"text": pol.Text + "\ncondition on_call = \"context.on_call == true\"\n"}, nil)
	e.must(201, "POST", org+"/roles", w.owner, map[string]any{"name": "replica", "level": 1, "permissions": []string{"changes:read"}}, nil)
	e.must(201, "POST", org+"/teams", w.owner, map[string]any{"slug": "replicas"}, nil)
	e.must(201, "POST", org+"/bindings", w.owner, map[string]any{"principal": "team:replicas", "role": "replica"}, nil)
	svc := func(name string, binding map[string]any) string {
		t.Helper()
		e.must(201, "POST", org+"/services", w.owner, map[string]any{"name": name}, nil)
		if binding != nil {
			binding["principal"], binding["role"] = "service:"+name, "replica"
			e.must(201, "POST", org+"/bindings", w.owner, binding, nil)
		}
		var kc api.KeyCreated
		e.must(201, "POST", org+"/apikeys", w.owner, map[string]any{"principal": "service:" + name}, &kc)
		return kc.Token
	}
	keys := map[string]string{
		"org scope":                   svc("orgwide", map[string]any{}),
		"one namespace":               svc("nsonly", map[string]any{"scope": map[string]any{"namespace": w.params["namespace"]}}),
		"org scope under a condition": svc("oncall", map[string]any{"condition": "on_call"}),
		"through a team":              svc("teamed", nil),
		"suspended":                   svc("halted", map[string]any{}),
	}
	e.must(201, "POST", org+"/teams/replicas/members", w.owner, map[string]any{"principal": "service:teamed"}, nil)
	e.must(200, "POST", org+"/services/halted/suspend", w.owner, nil, nil)
	want := map[string]string{"org scope": "200 200", "one namespace": "403 403", "org scope under a condition": "403 403",
		"through a team": "200 200", "suspended": "401 401"}
	got := map[string]string{}
	for name, key := range keys {
		got[name] = fmt.Sprintf("%d %d", e.do("GET", org+"/changes?after=0", key, nil).Status, e.do("GET", org+"/snapshot", key, nil).Status)
	}
	if d := gocmp.Diff(want, got); d != "" {
		t.Errorf("GET changes, snapshot by a holder of changes:read (-want +got):\n%s", d)
	}
}
