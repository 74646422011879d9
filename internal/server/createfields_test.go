package server_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestCreateRoutesNameTheRequestField: a create route's 400 names the
// field as the request spells it (an invalid org id is field "id", the
// member of the body, not "org").
func TestCreateRoutesNameTheRequestField(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "sqlite", envOpts{})
	w := buildWorld(t, e, "")
	org := "/v1/orgs/" + w.org
	tests := []struct {
		name, path string
		body       map[string]any
		field      string
	}{
		{"org id", "/v1/orgs", map[string]any{"id": "Not An Id"}, "id"},
		{"org template", "/v1/orgs", map[string]any{"id": "fresh", "template": "nope"}, "template"},
		{"namespace name", org + "/namespaces", map[string]any{"name": "Bad Name"}, "name"},
		{"member user_id", org + "/members", map[string]any{"user_id": "bad id", "role": "viewer"}, "user_id"},
		{"member role", org + "/members", map[string]any{"user_id": "nobody2", "role": "bad role"}, "role"},
		{"team slug", org + "/teams", map[string]any{"slug": "Bad Slug"}, "slug"},
		{"team members", org + "/teams", map[string]any{"slug": "t2", "members": []string{"bob"}}, "members"},
		{"role name", org + "/roles", map[string]any{"name": "bad role", "level": 1, "permissions": []string{"audit:read"}}, "name"},
		{"role permissions", org + "/roles", map[string]any{"name": "r2", "level": 1, "permissions": []string{"audit"}}, "permissions"},
		{"binding principal", org + "/bindings", map[string]any{"principal": "bob", "role": "viewer"}, "principal"},
		{"binding role", org + "/bindings", map[string]any{"principal": "user:viewer", "role": "no such"}, "role"},
		{"binding scope namespace", org + "/bindings", map[string]any{"principal": "user:viewer", "role": "viewer", "scope": map[string]any{"namespace": "Bad NS"}}, "scope.namespace"},
		{"binding condition", org + "/bindings", map[string]any{"principal": "user:viewer", "role": "viewer", "condition": "not a name"}, "condition"},
		{"agent name", org + "/agents", map[string]any{"name": "bad name", "role": "viewer"}, "name"},
		{"agent role", org + "/agents", map[string]any{"name": "A2", "role": "no such"}, "role"},
		{"service name", org + "/services", map[string]any{"name": "bad name"}, "name"},
		{"resource namespace", org + "/resources", map[string]any{"namespace": "Bad NS", "type": "chains", "id": "c2"}, "namespace"},
		{"resource type", org + "/resources", map[string]any{"namespace": "prod", "type": "bad type", "id": "c2"}, "type"},
		{"resource id", org + "/resources", map[string]any{"namespace": "prod", "type": "chains", "id": " c2"}, "id"},
		{"share principal", org + "/namespaces/prod/resources/chains/triage/shares", map[string]any{"principal": "bob", "actions": []string{"read"}}, "principal"},
		{"org api key principal", org + "/apikeys", map[string]any{"principal": "bob", "name": "k"}, "principal"},
		{"team member principal", org + "/teams/support/members", map[string]any{"principal": "bob"}, "principal"},
		{"secret name", org + "/namespaces/prod/secrets", map[string]any{"name": "bad name", "value": "v"}, "name"},
		{"invitation role", org + "/invitations", map[string]any{"email": "x@example.com", "role": "bad role"}, "role"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do("POST", tt.path, w.owner, tt.body)
			if r.Status != 400 {
				t.Fatalf("%d %s, want 400", r.Status, r.Body)
			}
			if diff := cmp.Diff(tt.field, r.problem(t).Field); diff != "" {
				t.Errorf("field (-request +problem):\n%s\n%s", diff, r.Body)
			}
		})
	}
}
