package server_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-dev/gatehouse/api"
	"github.com/gatehouse-dev/gatehouse/internal/server"
)

// TestQuickstart seeds the demo org as `gatehouse serve --dev` does and
// walks README's "who can run what" over HTTP: namespace scoping (bob is
// a builder in dev and an operator in prod), sharing one chain with a
// team (carol runs escalation-triage through team support, nothing
// else), the agent, lookups both ways and an explanation.
func TestQuickstart(t *testing.T) {
	t.Parallel()
	for _, backend := range backends(t) {
		t.Run(backend, func(t *testing.T) {
			e := newEnv(t, backend, envOpts{})
			demo, err := server.SeedDemo(ctxT(t), e.dir, e.auth)
			if err != nil {
				t.Fatal(err)
			}
			alice, bob, carol := demo.Keys["alice"], demo.Keys["bob"], demo.Keys["carol"]
			at := map[string]any{"at_least": demo.Revision}

			// Who am I: the owner sees its org with *:*.
			var me server.Me
			e.must(200, "GET", "/v1/me", alice, nil, &me)
			if me.Principal != "user:alice" || len(me.Orgs) != 1 || me.Orgs[0].ID != "demo" || me.Orgs[0].Permissions[0].Permission != "*:*" {
				t.Errorf("/v1/me = %+v", me)
			}

			type cell struct {
				who, action, resource, ns string
				allowed                   bool
			}
			cells := []cell{
				// bob: builder in dev, operator in prod, viewer elsewhere.
				{"bob", "chains:update", "chains/prompt-playground", "dev", true},
				{"bob", "chains:create", "", "dev", true},
				{"bob", "chains:run", "chains/eval-harness", "dev", true},
				{"bob", "chains:update", "chains/escalation-triage", "prod", false},
				{"bob", "chains:create", "", "prod", false},
				{"bob", "chains:run", "chains/database-migration", "prod", true},
				{"bob", "chains:read", "chains/database-migration", "prod", true},
				{"bob", "chains:delete", "chains/prompt-playground", "dev", false},
				{"bob", "chains:run", "chains/anything", "default", false},
				{"bob", "secrets:list", "", "dev", true},
				{"bob", "secrets:list", "", "prod", false},
				// carol: viewer org-wide; team support shares one chain.
				{"carol", "chains:read", "chains/ticket-summarizer", "prod", true},
				{"carol", "chains:run", "chains/escalation-triage", "prod", true},
				{"carol", "chains:run", "chains/ticket-summarizer", "prod", false},
				{"carol", "chains:update", "chains/escalation-triage", "prod", false},
				{"carol", "chains:run", "chains/escalation-triage", "dev", false},
				// the agent: operator in prod only.
				{"agent:Triage", "chains:run", "chains/ticket-summarizer", "prod", true},
				{"agent:Triage", "chains:run", "chains/prompt-playground", "dev", false},
				{"agent:Triage", "chains:update", "chains/ticket-summarizer", "prod", false},
				// alice: everything.
				{"alice", "chains:delete", "chains/database-migration", "prod", true},
			}
			keys := map[string]string{"alice": alice, "bob": bob, "carol": carol}
			for _, c := range cells {
				body := map[string]any{"action": c.action, "namespace": c.ns, "consistency": at}
				if c.resource != "" {
					body["resource"] = c.resource
				}
				key, ok := keys[c.who]
				if !ok { // not a user: the owner asks about it
					key, body["principal"] = alice, c.who
				}
				var got server.CheckResponse
				e.must(200, "POST", "/v1/orgs/demo/check", key, body, &got)
				if got.Allowed != c.allowed {
					t.Errorf("%s %s %s in %s: allowed=%v, want %v", c.who, c.action, c.resource, c.ns, got.Allowed, c.allowed)
				}
				if got.Revision < demo.Revision {
					t.Errorf("decision at revision %d, below at_least %d", got.Revision, demo.Revision)
				}
			}

			// Who can run escalation-triage? carol through the team.
			var subs server.LookupSubjectsResponse
			e.must(200, "POST", "/v1/orgs/demo/lookup/subjects", alice, map[string]any{
				"action": "chains:run", "resource": "chains/escalation-triage", "namespace": "prod"}, &subs)
			want := []api.Subject{{Principal: "agent:Triage"}, {Principal: "user:alice"}, {Principal: "user:bob"},
				{Principal: "user:carol", Via: []string{"team:support"}}}
			if d := cmp.Diff(want, subs.Items); d != "" {
				t.Errorf("who can run escalation-triage (-want +got):\n%s", d)
			}
			// What can carol run? Exactly the shared chain.
			var res server.LookupResourcesResponse
			e.must(200, "POST", "/v1/orgs/demo/lookup/resources", carol, map[string]any{"action": "chains:run"}, &res)
			if d := cmp.Diff([]api.ResourceRef{{Namespace: "prod", Type: "chains", ID: "escalation-triage"}}, res.Items); d != "" {
				t.Errorf("what carol can run (-want +got):\n%s", d)
			}
			// Why can't carol run the ticket summarizer? The explanation
			// names her viewer binding and the share that is elsewhere.
			var ex server.ExplainResponse
			e.must(200, "POST", "/v1/orgs/demo/explain", alice, map[string]any{
				"principal": "user:carol", "action": "chains:run", "resource": "chains/ticket-summarizer", "namespace": "prod"}, &ex)
			if ex.Allowed || len(ex.Near) == 0 || ex.Summary == "" {
				t.Errorf("explain = %+v", ex)
			}
			// Asking about someone else needs bindings:read: bob may not.
			r := e.do("POST", "/v1/orgs/demo/check", bob, map[string]any{"principal": "user:carol", "action": "chains:run", "namespace": "prod"})
			if r.Status != 403 || r.problem(t).MissingPermission != "bindings:read" {
				t.Errorf("bob asking about carol: %d %s", r.Status, r.Body)
			}
			// What bob holds in dev, for a UI.
			var perms server.PermissionsResponse
			e.must(200, "GET", "/v1/orgs/demo/principals/user:bob/permissions?namespace=dev", bob, nil, &perms)
			held := map[string]bool{}
			for _, g := range perms.Items {
				held[g.Permission] = true
			}
			if !held["chains:create"] || held["chains:delete"] {
				t.Errorf("bob's permissions in dev = %+v", perms.Items)
			}
		})
	}
}
