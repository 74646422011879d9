package templates

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/policy"
)

// The tests below reproduce each seed's permission matrix cell by cell:
// every ✓ and every blank. A row reads like the seed's table: the seed's
// wording, the Gatehouse permissions it maps to (DESIGN §4), and one mark
// per role column in the seed's column order ("✓" allowed, "-" denied).
// Each cell is decided by the real engine for a user bound to that role
// org-wide, both for the type in a namespace and for a concrete resource.

type row struct {
	what  string   // the seed's wording
	perms []string // resource:action, concrete
	marks string   // one mark per column: "✓ ✓ - -"
}

func seedRow(what string, perms string, marks string) row {
	return row{what: what, perms: strings.Fields(perms), marks: marks}
}

func checkMatrix(t *testing.T, template string, columns []string, rows []row) {
	t.Helper()
	m, err := Model(template)
	if err != nil {
		t.Fatal(err)
	}
	var principals []authz.Principal
	var bindings []authz.Binding
	for _, role := range columns {
		if _, ok := m.Role(role); !ok {
			t.Fatalf("template %s has no role %q", template, role)
		}
		p := "user:" + role
		principals = append(principals, authz.Principal{ID: p})
		bindings = append(bindings, authz.Binding{ID: "b-" + role, Principal: p, Role: role})
	}
	e := authz.New()
	if err := e.LoadOrg(1, authz.OrgData{
		Org: "seed", Policy: m, Namespaces: []string{"prod"},
		Principals: principals, Bindings: bindings,
	}); err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		marks := strings.Fields(r.marks)
		if len(marks) != len(columns) {
			t.Fatalf("row %q has %d marks for %d columns", r.what, len(marks), len(columns))
		}
		for _, perm := range r.perms {
			typ, action, ok := strings.Cut(perm, ":")
			if !ok {
				t.Fatalf("row %q: bad permission %q", r.what, perm)
			}
			for i, role := range columns {
				want := marks[i] == "✓"
				if !want && marks[i] != "-" {
					t.Fatalf("row %q: mark %q is neither ✓ nor -", r.what, marks[i])
				}
				for _, id := range []string{"", "some-" + typ} {
					got := e.Check(&authz.Request{
						Org: "seed", Principal: "user:" + role, Namespace: "prod",
						ResourceType: typ, ResourceID: id, Action: action,
					}).Allowed
					if got != want {
						t.Errorf("%s: %s / %s %s (id %q): got allowed=%v, seed says %s",
							template, r.what, role, perm, id, got, marks[i])
					}
				}
			}
		}
	}
}

// Seed 002 (Mentiko), "The permission matrix". "Manage users" and "Manage
// orgs/billing" map to whole-segment wildcards (members:*, org:* …), so
// their rows test several concrete actions including one no policy names.
func TestMentikoMatrix(t *testing.T) {
	checkMatrix(t, "mentiko", []string{"admin", "builder", "operator", "viewer"}, []row{
		//         Action                  permission(s)                                        Admin Builder Operator Viewer
		seedRow("Create chains", "chains:create", "✓ ✓ - -"),
		seedRow("Edit chains", "chains:update", "✓ ✓ - -"),
		seedRow("Delete chains", "chains:delete", "✓ - - -"),
		seedRow("Run chains", "chains:run", "✓ ✓ ✓ -"),
		seedRow("View chain results", "chains:read results:read", "✓ ✓ ✓ ✓"),
		seedRow("Approve decisions", "decisions:approve", "✓ ✓ ✓ -"),
		seedRow("View secrets (names)", "secrets:list", "✓ ✓ - -"),
		seedRow("View secrets (values)", "secrets:read", "✓ - - -"),
		seedRow("Manage secrets", "secrets:create secrets:update secrets:delete secrets:rotate", "✓ - - -"),
		seedRow("View audit logs", "audit:read", "✓ ✓ ✓ ✓"),
		seedRow("Manage users", "members:create members:delete members:update teams:create teams:delete roles:create roles:update bindings:create bindings:delete members:suspend", "✓ - - -"),
		seedRow("Manage orgs/billing", "org:update org:delete billing:read billing:update billing:refund", "✓ - - -"),
		seedRow("Configure schedules", "schedules:create schedules:update schedules:delete schedules:pause", "✓ ✓ - -"),
		seedRow("Export data", "data:export", "✓ ✓ ✓ -"),
		// Not in the seed's table: Gatehouse's own administration.
		seedRow("Audit settings (decision logging)", "audit:update", "✓ - - -"),
		seedRow("Create API keys (triggers, agents)", "apikeys:create", "✓ ✓ - -"),
		seedRow("Read and delete others' API keys", "apikeys:read apikeys:delete", "✓ - - -"),
		seedRow("Follow the org's decision state (change feed, replicas)", "changes:read", "✓ - - -"),
	})
}

// agent-platform (DESIGN §4): the Mentiko matrix with an owner above admin.
func TestAgentPlatformMatrix(t *testing.T) {
	checkMatrix(t, "agent-platform", []string{"owner", "admin", "builder", "operator", "viewer"}, []row{
		seedRow("Create chains", "chains:create", "✓ ✓ ✓ - -"),
		seedRow("Edit chains", "chains:update", "✓ ✓ ✓ - -"),
		seedRow("Delete chains", "chains:delete", "✓ ✓ - - -"),
		seedRow("Run chains", "chains:run", "✓ ✓ ✓ ✓ -"),
		seedRow("View chain results", "chains:read results:read", "✓ ✓ ✓ ✓ ✓"),
		seedRow("Approve decisions", "decisions:approve", "✓ ✓ ✓ ✓ -"),
		seedRow("View secrets (names)", "secrets:list", "✓ ✓ ✓ - -"),
		seedRow("View secrets (values)", "secrets:read", "✓ ✓ - - -"),
		seedRow("Manage secrets", "secrets:create secrets:update secrets:delete secrets:rotate", "✓ ✓ - - -"),
		seedRow("View audit logs", "audit:read", "✓ ✓ ✓ ✓ ✓"),
		seedRow("Manage users", "members:create members:delete teams:create roles:create bindings:create bindings:delete", "✓ ✓ - - -"),
		seedRow("Manage orgs/billing", "org:update billing:update", "✓ ✓ - - -"),
		seedRow("Configure schedules", "schedules:create schedules:delete", "✓ ✓ ✓ - -"),
		seedRow("Export data", "data:export", "✓ ✓ ✓ ✓ -"),
		seedRow("Audit settings (decision logging): the owner's", "audit:update", "✓ - - - -"),
		seedRow("Create API keys (triggers, agents)", "apikeys:create", "✓ ✓ ✓ - -"),
		seedRow("Read and delete others' API keys", "apikeys:read apikeys:delete", "✓ ✓ - - -"),
		// Only the owner holds what the matrix does not name.
		seedRow("Anything else", "widgets:frobnicate gatehouse:shutdown", "✓ - - - -"),
	})
	wantLevels(t, "agent-platform", map[string]int{"owner": 100, "admin": 80, "builder": 50, "operator": 30, "viewer": 10})
}

// Seed 001 (Zyeta): Owner 100 *:*, Admin 80, Member 20, Guest 10.
func TestZyetaMatrix(t *testing.T) {
	checkMatrix(t, "zyeta", []string{"Owner", "Admin", "Member", "Guest"}, []row{
		seedRow("Guest: limited, read-only", "kb:read conversation:read", "✓ ✓ ✓ ✓"),
		seedRow("Member: basic usage", "kb:write conversation:write", "✓ ✓ ✓ -"),
		seedRow("Admin: kb:admin, conversation:admin", "kb:admin conversation:admin", "✓ ✓ - -"),
		seedRow("Admin: wildcards kb:*, conversation:*", "kb:delete conversation:delete kb:export", "✓ ✓ - -"),
		seedRow("Admin: manage members, teams, roles, bindings, keys, namespaces",
			"members:invite members:remove teams:create roles:create bindings:create apikeys:create apikeys:delete namespaces:create", "✓ ✓ - -"),
		seedRow("Owner only: delete the org", "org:delete", "✓ - - -"),
		seedRow("Owner only: billing", "billing:read billing:update", "✓ - - -"),
		seedRow("Owner: *:* covers anything", "reports:generate", "✓ - - -"),
		seedRow("Audit log and settings (Owner only; the seed gives Admin none)", "audit:read audit:update", "✓ - - -"),
		seedRow("API keys", "apikeys:create apikeys:read", "✓ ✓ - -"),
	})
	wantLevels(t, "zyeta", map[string]int{"Owner": 100, "Admin": 80, "Member": 20, "Guest": 10})
}

// Seed 000 (Letta): Analyst, Editor, Admin.
func TestLettaMatrix(t *testing.T) {
	checkMatrix(t, "letta", []string{"Analyst", "Editor", "Admin"}, []row{
		//        Permission                                                     Analyst Editor Admin
		seedRow("Read projects, agents, data sources, tools, templates",
			"projects:read agents:read data_sources:read tools:read templates:read", "✓ ✓ ✓"),
		seedRow("Message agents", "agents:message", "✓ ✓ ✓"),
		seedRow("Create/update/delete projects and templates",
			"projects:create projects:update projects:delete templates:create templates:update templates:delete", "- ✓ ✓"),
		seedRow("Create/update/delete agents", "agents:create agents:update agents:delete", "- ✓ ✓"),
		seedRow("Create/update/delete data sources and tools",
			"data_sources:create data_sources:update data_sources:delete tools:create tools:update tools:delete", "- ✓ ✓"),
		seedRow("Create/read API keys", "apikeys:create apikeys:read", "- ✓ ✓"),
		seedRow("Update organization environment variables", "secrets:create secrets:update secrets:list", "- ✓ ✓"),
		seedRow("Delete API keys", "apikeys:delete", "- - ✓"),
		seedRow("Manage users and organization settings", "members:create members:update members:delete org:update", "- - ✓"),
		seedRow("Manage billing and integrations", "billing:update integrations:create integrations:delete", "- - ✓"),
		// Not in the seed's table: only the Admin reads the audit log.
		seedRow("Audit log and settings", "audit:read audit:update", "- - ✓"),
	})
}

func wantLevels(t *testing.T, template string, want map[string]int) {
	t.Helper()
	m, err := Model(template)
	if err != nil {
		t.Fatal(err)
	}
	for name, lvl := range want {
		r, ok := m.Role(name)
		if !ok {
			t.Errorf("%s: no role %s", template, name)
			continue
		}
		if r.Level != lvl {
			t.Errorf("%s: role %s level %d, want %d", template, name, r.Level, lvl)
		}
	}
	if got := fmt.Sprint(len(m.Roles)); got != fmt.Sprint(len(want)) {
		t.Errorf("%s has %s roles, want %d", template, got, len(want))
	}
}

func TestEveryTemplateLoadsCleanly(t *testing.T) {
	names := Names()
	if fmt.Sprint(names) != "[agent-platform letta mentiko zyeta]" {
		t.Errorf("templates = %v", names)
	}
	for _, n := range names {
		if _, err := Model(n); err != nil {
			t.Errorf("%s: %v", n, err)
		}
	}
	if _, err := Model("nope"); err == nil {
		t.Error("unknown template loaded")
	}
}

// matrixRow is a seed table's row as `gatehouse policy matrix` must print
// it: the permission patterns its rows show ("members:*" for a type the
// seed names only as a whole) and one mark per seed column.
type matrixRow struct {
	what  string
	perms []string
	marks string
}

func mrow(what, perms, marks string) matrixRow {
	return matrixRow{what: what, perms: strings.Fields(perms), marks: marks}
}

// checkMatrixRows compares the rendered matrix of a template with its
// seed's table: every permission of every seed row is a matrix row with
// the seed's marks, and every matrix row belongs to some seed row (or to
// the rows the template adds for Gatehouse's own administration, which
// the caller lists like seed rows).
func checkMatrixRows(t *testing.T, template string, columns []string, rows []matrixRow) {
	t.Helper()
	m, err := Model(template)
	if err != nil {
		t.Fatal(err)
	}
	mx, err := policy.BuildMatrix(m)
	if err != nil {
		t.Fatal(err)
	}
	col := map[string]int{}
	for i, c := range mx.Columns {
		col[c.Name] = i
	}
	got := map[string]string{} // permission → marks in the seed's column order
	var order []string
	for _, r := range mx.Rows {
		var marks []string
		for _, c := range columns {
			i, ok := col[c]
			if !ok {
				t.Fatalf("%s: matrix has no column %s", template, c)
			}
			mark := "-"
			if r.Cells[i] == policy.CellGranted {
				mark = "✓"
			}
			marks = append(marks, mark)
		}
		got[r.Permission.String()] = strings.Join(marks, " ")
		order = append(order, r.Permission.String())
	}
	claimed := map[string]bool{}
	for _, r := range rows {
		for _, p := range r.perms {
			claimed[p] = true
			marks, ok := got[p]
			if !ok {
				t.Errorf("%s: seed row %q: the matrix has no row %s", template, r.what, p)
				continue
			}
			if marks != r.marks {
				t.Errorf("%s: seed row %q: matrix row %s reads %s, seed says %s", template, r.what, p, marks, r.marks)
			}
		}
	}
	for _, p := range order {
		if !claimed[p] {
			t.Errorf("%s: matrix row %s (%s) is in no seed row", template, p, got[p])
		}
	}
}

// Seed 000's table, row for row. Admin holds `*:*`: each declared action
// is a row it fills, and the last row is everything else.
func TestLettaMatrixRows(t *testing.T) {
	checkMatrixRows(t, "letta", []string{"Analyst", "Editor", "Admin"}, []matrixRow{
		mrow("Read projects, agents, data sources, tools, templates",
			"projects:read agents:read data_sources:read tools:read templates:read", "✓ ✓ ✓"),
		mrow("Message agents", "agents:message", "✓ ✓ ✓"),
		mrow("Create/update/delete projects and templates",
			"projects:create projects:update projects:delete templates:create templates:update templates:delete", "- ✓ ✓"),
		mrow("Create/update/delete agents", "agents:create agents:update agents:delete", "- ✓ ✓"),
		mrow("Create/update/delete data sources and tools",
			"data_sources:create data_sources:update data_sources:delete tools:create tools:update tools:delete", "- ✓ ✓"),
		mrow("Create/read API keys", "apikeys:create apikeys:read", "- ✓ ✓"),
		mrow("Update organization environment variables", "secrets:create secrets:update secrets:list", "- ✓ ✓"),
		mrow("Delete API keys", "apikeys:delete", "- - ✓"),
		mrow("Manage users and organization settings",
			"members:create members:read members:update members:delete members:list org:read org:update org:delete", "- - ✓"),
		mrow("Manage billing and integrations",
			"billing:read billing:update integrations:create integrations:read integrations:update integrations:delete", "- - ✓"),
		// Gatehouse's own: the other actions of types the seed names.
		mrow("(Gatehouse) list agents; read, delete, rotate secrets", "agents:list secrets:read secrets:delete secrets:rotate", "- - ✓"),
		mrow("(Gatehouse) everything else", "*:*", "- - ✓"),
	})
}

// Seed 001 lists each role's permissions; the matrix shows them, and the
// Owner-only rows (deleting the org, billing) the seed calls out.
func TestZyetaMatrixRows(t *testing.T) {
	checkMatrixRows(t, "zyeta", []string{"Owner", "Admin", "Member", "Guest"}, []matrixRow{
		mrow("Guest: kb:read, conversation:read", "kb:read conversation:read", "✓ ✓ ✓ ✓"),
		mrow("Member: kb:write, conversation:write", "kb:write conversation:write", "✓ ✓ ✓ -"),
		mrow("Admin: kb:admin, conversation:admin (kb:*, conversation:*)",
			"kb:admin conversation:admin kb:delete conversation:delete", "✓ ✓ - -"),
		mrow("Admin: members, teams, roles, bindings, API keys, namespaces",
			"members:* teams:* roles:* bindings:* apikeys:* namespaces:*", "✓ ✓ - -"),
		mrow("Admin: organization settings", "org:read org:update", "✓ ✓ - -"),
		mrow("Owner only: delete the org", "org:delete", "✓ - - -"),
		mrow("Owner only: billing", "billing:read billing:update", "✓ - - -"),
		mrow("Owner: *:*", "*:*", "✓ - - -"),
	})
}

// Seed 002's table, row for row.
func TestMentikoMatrixRows(t *testing.T) {
	checkMatrixRows(t, "mentiko", []string{"admin", "builder", "operator", "viewer"}, mentikoRows(""))
}

// agent-platform: seed 002's table with an owner column in front.
func TestAgentPlatformMatrixRows(t *testing.T) {
	rows := mentikoRows("✓ ")
	// Audit settings are the owner's: part of its `*:*` row, not a row.
	// So is the change feed (changes:read).
	rows = slices.DeleteFunc(rows, func(r matrixRow) bool { return r.perms[0] == "audit:update" || r.perms[0] == "changes:read" })
	rows = append(rows, mrow("Owner: everything else", "*:*", "✓ - - - -"))
	checkMatrixRows(t, "agent-platform", []string{"owner", "admin", "builder", "operator", "viewer"}, rows)
}

func mentikoRows(owner string) []matrixRow {
	r := func(what, perms, marks string) matrixRow { return mrow(what, perms, owner+marks) }
	return []matrixRow{
		r("Create chains", "chains:create", "✓ ✓ - -"),
		r("Edit chains", "chains:update", "✓ ✓ - -"),
		r("Delete chains", "chains:delete", "✓ - - -"),
		r("Run chains", "chains:run", "✓ ✓ ✓ -"),
		r("View chain results", "chains:read results:read", "✓ ✓ ✓ ✓"),
		r("Approve decisions", "decisions:approve", "✓ ✓ ✓ -"),
		r("View secrets (names)", "secrets:list", "✓ ✓ - -"),
		r("View secrets (values)", "secrets:read", "✓ - - -"),
		r("Manage secrets", "secrets:create secrets:update secrets:delete secrets:rotate", "✓ - - -"),
		r("View audit logs", "audit:read", "✓ ✓ ✓ ✓"),
		r("Manage users", "members:* teams:* roles:* bindings:*", "✓ - - -"),
		r("Manage orgs/billing", "org:* billing:*", "✓ - - -"),
		r("Configure schedules", "schedules:*", "✓ ✓ - -"),
		r("Export data", "data:export", "✓ ✓ ✓ -"),
		// Gatehouse's own administration ("full platform access").
		r("(Gatehouse) audit settings", "audit:update", "✓ - - -"),
		r("(Gatehouse) change feed (replicas)", "changes:read", "✓ - - -"),
		r("(Gatehouse) API keys", "apikeys:create", "✓ ✓ - -"),
		r("(Gatehouse) namespaces, agents, services, keys, resources, policy, integrations",
			"namespaces:* agents:* services:* apikeys:* resources:* policy:* integrations:*", "✓ - - -"),
	}
}
