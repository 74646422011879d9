package server_test

import (
	"net/http"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/server"
)

// TestEscalationOverHTTP: an admin (level 80, no *:*) may administer but
// not hand out more than it has (DESIGN §1.2); each refusal is a 403
// escalation problem saying why, and nothing changes.
func TestEscalationOverHTTP(t *testing.T) {
	t.Parallel()
	for _, backend := range backends(t) {
		t.Run(backend, func(t *testing.T) {
			e := newEnv(t, backend, envOpts{})
			w := buildWorld(t, e, "")
			ann := e.user("ann")
			e.must(201, "POST", "/v1/orgs/acme/members", w.owner, map[string]any{"user_id": "ann", "role": "admin"}, nil)
			// The admin can do ordinary administration.
			e.must(201, "POST", "/v1/orgs/acme/bindings", ann, map[string]any{"principal": "user:viewer", "role": "builder", "scope": map[string]any{"namespace": "prod"}}, nil)
			before := dump(t, e, w)
			cases := []struct {
				name, method, path string
				body               any
				reason, missing    string
			}{
				{"grant owner", "POST", "/v1/orgs/acme/bindings", map[string]any{"principal": "user:member", "role": "owner"}, "level", ""},
				{"add a member as owner", "POST", "/v1/orgs/acme/members", map[string]any{"user_id": "ann2", "role": "owner"}, "level", ""},
				{"demote the owner", "PATCH", "/v1/orgs/acme/members/owner", map[string]any{"role": "viewer"}, "level", ""}, // taking away the owner binding
				{"remove the owner", "DELETE", "/v1/orgs/acme/members/owner", nil, "target", ""},
				{"custom role above itself", "POST", "/v1/orgs/acme/roles", map[string]any{"name": "boss", "level": 90, "permissions": []string{"chains:read"}}, "level", ""},
				{"custom role with a permission it lacks", "POST", "/v1/orgs/acme/roles", map[string]any{"name": "wizard", "level": 20, "permissions": []string{"widgets:frobnicate"}}, "permissions", "widgets:frobnicate"},
				{"invite as owner", "POST", "/v1/orgs/acme/invitations", map[string]any{"email": "x@example.com", "role": "owner"}, "level", ""},
			}
			e.user("ann2")
			for _, tc := range cases {
				r := e.do(tc.method, tc.path, ann, tc.body)
				if r.Status != http.StatusForbidden {
					t.Errorf("%s: status %d, want 403; body %s", tc.name, r.Status, r.Body)
					continue
				}
				p := r.problem(t)
				if p.Type != server.ProblemBase+server.ProblemEscalation || p.Reason != tc.reason || p.Detail == "" {
					t.Errorf("%s: problem %s reason %q, want escalation %q (%s)", tc.name, p.Type, p.Reason, tc.reason, p.Detail)
				}
				if tc.missing != "" && p.MissingPermission != tc.missing {
					t.Errorf("%s: missing_permission %q, want %q", tc.name, p.MissingPermission, tc.missing)
				}
			}
			// The last owner cannot leave: 409.
			r := e.do("DELETE", "/v1/orgs/acme/members/owner", w.owner, nil)
			if r.Status != http.StatusConflict || r.problem(t).Type != server.ProblemBase+server.ProblemLastOwner {
				t.Errorf("last owner leaving: %d %s", r.Status, r.Body)
			}
			if after := dump(t, e, w); after != before {
				t.Errorf("refused escalations changed the org:\n%s", diffLines(before, after))
			}
		})
	}
}
