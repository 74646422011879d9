package server_test

import (
	"net/http"
	"testing"

	"github.com/gatehouse-dev/gatehouse/api"
	"github.com/gatehouse-dev/gatehouse/internal/server"
	"github.com/gatehouse-dev/gatehouse/internal/store"
	"github.com/google/go-cmp/cmp"
)

// Seed 002: "share specific chains with specific users or roles". POST
// .../shares with "principal": "role:operator" reaches every principal
// holding operator in the chain's scope (it was a 400), under the rules a
// share to one principal has: bindings:create and each action held on the
// resource, and a role no higher than the actor's level.
func TestShareWithARole(t *testing.T) {
	t.Parallel()
	for _, backend := range backends(t) {
		t.Run(backend, func(t *testing.T) {
			e := newEnv(t, backend, envOpts{})
			w := buildWorld(t, e, "")
			shares := "/v1/orgs/acme/namespaces/prod/resources/chains/triage/shares"
			var b server.Written[store.Binding]
			e.must(201, "POST", shares, w.owner, map[string]any{"principal": "role:operator", "actions": []string{"deploy"}}, &b)
			if b.Item.Principal != "role:operator" {
				t.Errorf("share = %+v", b.Item)
			}
			at := map[string]any{"at_least": b.Revision}
			for _, c := range []struct {
				who  string
				key  string
				want bool
			}{
				{"member (operator in prod)", w.mkey, true},
				{"viewer", w.viewer, false},
			} {
				var got server.CheckResponse
				e.must(200, "POST", "/v1/orgs/acme/check", c.key, map[string]any{
					"action": "chains:deploy", "resource": "chains/triage", "namespace": "prod", "consistency": at}, &got)
				if got.Allowed != c.want {
					t.Errorf("%s: deploy chains/triage allowed=%v, want %v", c.who, got.Allowed, c.want)
				}
			}
			var subs server.LookupSubjectsResponse
			e.must(200, "POST", "/v1/orgs/acme/lookup/subjects", w.owner, map[string]any{
				"action": "chains:deploy", "resource": "chains/triage", "namespace": "prod", "consistency": at}, &subs)
			want := []api.Subject{{Principal: "user:member", Via: []string{"role:operator"}}, {Principal: "user:owner"}}
			if diff := cmp.Diff(want, subs.Items); diff != "" {
				t.Errorf("who may deploy chains/triage? (-want +got)\n%s", diff)
			}

			for _, c := range []struct {
				name      string
				principal string
				status    int
			}{
				{"a role the policy lacks", "role:nosuchrole", http.StatusBadRequest},
				{"a malformed role", "role:", http.StatusBadRequest},
			} {
				if r := e.do("POST", shares, w.owner, map[string]any{"principal": c.principal, "actions": []string{"read"}}); r.Status != c.status {
					t.Errorf("%s: status %d, want %d; body %s", c.name, r.Status, c.status, r.Body)
				}
			}
			// An admin (level 80) cannot share with the owners (level 100).
			ann := e.user("ann")
			e.must(201, "POST", "/v1/orgs/acme/members", w.owner, map[string]any{"user_id": "ann", "role": "admin"}, nil)
			r := e.do("POST", shares, ann, map[string]any{"principal": "role:owner", "actions": []string{"read"}})
			if r.Status != http.StatusForbidden || r.problem(t).Reason != "target" {
				t.Errorf("admin shares with role:owner: %d %s, want 403 target", r.Status, r.Body)
			}
			e.must(201, "POST", shares, ann, map[string]any{"principal": "role:viewer", "actions": []string{"read"}}, nil)
		})
	}
}
