package server_test

import (
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/server"
)

// The four templates' matrices through the API: an org per template, a
// user per role (bound org-wide by the owner), and every seed cell asked
// by that user about itself via POST /check — for the type in a namespace
// and for a concrete resource. Rows read like the seeds' tables (DESIGN
// §4): wording, permissions, one mark per role column.

type matrixRow struct {
	what, perms, marks string
}

var templateMatrices = []struct {
	template string
	roles    []string // the seed's column order; the first is the top role
	rows     []matrixRow
}{
	{"mentiko", []string{"admin", "builder", "operator", "viewer"}, []matrixRow{
		{"Create chains", "chains:create", "✓ ✓ - -"},
		{"Edit chains", "chains:update", "✓ ✓ - -"},
		{"Delete chains", "chains:delete", "✓ - - -"},
		{"Run chains", "chains:run", "✓ ✓ ✓ -"},
		{"View chain results", "chains:read results:read", "✓ ✓ ✓ ✓"},
		{"Approve decisions", "decisions:approve", "✓ ✓ ✓ -"},
		{"View secrets (names)", "secrets:list", "✓ ✓ - -"},
		{"View secrets (values)", "secrets:read", "✓ - - -"},
		{"Manage secrets", "secrets:create secrets:update secrets:delete secrets:rotate", "✓ - - -"},
		{"View audit logs", "audit:read", "✓ ✓ ✓ ✓"},
		{"Manage users", "members:create members:delete members:update teams:create teams:delete roles:create roles:update bindings:create bindings:delete", "✓ - - -"},
		{"Manage orgs/billing", "org:update org:delete billing:read billing:update", "✓ - - -"},
		{"Configure schedules", "schedules:create schedules:update schedules:delete", "✓ ✓ - -"},
		{"Export data", "data:export", "✓ ✓ ✓ -"},
	}},
	{"agent-platform", []string{"owner", "admin", "builder", "operator", "viewer"}, []matrixRow{
		{"Create chains", "chains:create", "✓ ✓ ✓ - -"},
		{"Edit chains", "chains:update", "✓ ✓ ✓ - -"},
		{"Delete chains", "chains:delete", "✓ ✓ - - -"},
		{"Run chains", "chains:run", "✓ ✓ ✓ ✓ -"},
		{"View chain results", "chains:read results:read", "✓ ✓ ✓ ✓ ✓"},
		{"Approve decisions", "decisions:approve", "✓ ✓ ✓ ✓ -"},
		{"View secrets (names)", "secrets:list", "✓ ✓ ✓ - -"},
		{"View secrets (values)", "secrets:read", "✓ ✓ - - -"},
		{"Manage secrets", "secrets:create secrets:update secrets:delete secrets:rotate", "✓ ✓ - - -"},
		{"View audit logs", "audit:read", "✓ ✓ ✓ ✓ ✓"},
		{"Manage users", "members:create members:delete teams:create roles:create bindings:create bindings:delete", "✓ ✓ - - -"},
		{"Manage orgs/billing", "org:update billing:update", "✓ ✓ - - -"},
		{"Configure schedules", "schedules:create schedules:delete", "✓ ✓ ✓ - -"},
		{"Export data", "data:export", "✓ ✓ ✓ ✓ -"},
		{"Anything else", "widgets:frobnicate", "✓ - - - -"},
	}},
	{"zyeta", []string{"Owner", "Admin", "Member", "Guest"}, []matrixRow{
		{"Guest: limited, read-only", "kb:read conversation:read", "✓ ✓ ✓ ✓"},
		{"Member: basic usage", "kb:write conversation:write", "✓ ✓ ✓ -"},
		{"Admin: kb:admin, conversation:admin", "kb:admin conversation:admin", "✓ ✓ - -"},
		{"Admin: manage members, teams, roles, bindings, keys, namespaces", "members:invite teams:create roles:create bindings:create apikeys:create namespaces:create", "✓ ✓ - -"},
		{"Owner only: delete the org", "org:delete", "✓ - - -"},
		{"Owner only: billing", "billing:read billing:update", "✓ - - -"},
	}},
	{"letta", []string{"Admin", "Editor", "Analyst"}, []matrixRow{
		{"Read projects, agents, data sources, tools, templates", "projects:read agents:read data_sources:read tools:read templates:read", "✓ ✓ ✓"},
		{"Message agents", "agents:message", "✓ ✓ ✓"},
		{"Create/update/delete projects and templates", "projects:create projects:delete templates:update", "✓ ✓ -"},
		{"Create/update/delete agents", "agents:create agents:update agents:delete", "✓ ✓ -"},
		{"Create/update/delete data sources and tools", "data_sources:create tools:delete", "✓ ✓ -"},
		{"Create/read API keys", "apikeys:create apikeys:read", "✓ ✓ -"},
		{"Update organization environment variables", "secrets:create secrets:update secrets:list", "✓ ✓ -"},
		{"Delete API keys", "apikeys:delete", "✓ - -"},
		{"Manage users and organization settings", "members:create members:update members:delete org:update", "✓ - -"},
		{"Manage billing and integrations", "billing:update integrations:create integrations:delete", "✓ - -"},
	}},
}

func TestTemplateMatricesThroughTheAPI(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "sqlite", envOpts{})
	for _, m := range templateMatrices {
		t.Run(m.template, func(t *testing.T) {
			org := strings.ReplaceAll(m.template, "-", "") + "org"
			top := "u" + org + "top"
			keys := map[string]string{m.roles[0]: e.user(top)}
			e.must(201, "POST", "/v1/orgs", keys[m.roles[0]], map[string]any{"id": org, "template": m.template}, nil)
			e.must(201, "POST", "/v1/orgs/"+org+"/namespaces", keys[m.roles[0]], map[string]any{"name": "prod"}, nil)
			var rev uint64
			for _, role := range m.roles[1:] {
				id := "u" + org + strings.ToLower(role)
				keys[role] = e.user(id)
				var w server.Written[map[string]any]
				e.must(201, "POST", "/v1/orgs/"+org+"/members", keys[m.roles[0]], map[string]any{"user_id": id, "role": role}, &w)
				rev = max(rev, w.Revision)
			}
			cells := 0
			for _, row := range m.rows {
				marks := strings.Fields(row.marks)
				if len(marks) != len(m.roles) {
					t.Fatalf("row %q: %d marks for %d roles", row.what, len(marks), len(m.roles))
				}
				for _, perm := range strings.Fields(row.perms) {
					typ, _, _ := strings.Cut(perm, ":")
					for i, role := range m.roles {
						for _, res := range []string{"", typ + "/some-" + typ} {
							var got server.CheckResponse
							e.must(200, "POST", "/v1/orgs/"+org+"/check", keys[role], map[string]any{
								"action": perm, "resource": res, "namespace": "prod", "consistency": map[string]any{"at_least": rev},
							}, &got)
							if want := marks[i] == "✓"; got.Allowed != want {
								t.Errorf("%s: %s / %s %s (resource %q): allowed=%v, seed says %s", m.template, row.what, role, perm, res, got.Allowed, marks[i])
							}
							cells++
						}
					}
				}
			}
			if cells < 40 {
				t.Errorf("only %d cells checked", cells)
			}
		})
	}
}
