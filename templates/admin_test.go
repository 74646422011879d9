package templates

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/policy"
)

// The permissions Gatehouse itself checks before its own administrative
// operations (DESIGN §1.2) are read from the code that checks them, so a
// new check is covered without anyone remembering to list it here. An
// org is created from a template and its roles may never be widened by
// someone who does not already hold the permission (§1.2), so a permission
// the server checks that no role of a template holds can never be
// exercised in an org of that template: the Mentiko admin that could not
// turn on decision logging (audit:update).

// adminSources are the packages whose checks guard Gatehouse's own routes.
var adminSources = []string{
	"../internal/directory",
	"../internal/auth",
	"../internal/vault",
	"../internal/server",
	"../internal/audit",
}

// systemTypes are Gatehouse's own resource types (DESIGN §1.2, plus the
// principals and decision records the server administers). Literals on
// other types ("chains:run" in an example) are not administrative.
var systemTypes = []string{
	"org", "namespaces", "members", "teams", "roles", "bindings", "agents",
	"services", "apikeys", "secrets", "audit", "policy", "resources",
	"decisions", "results", "changes",
}

var permLiteral = regexp.MustCompile(`^([a-z_]+):([a-z_]+)$`)

// adminPermissions parses the non-test Go files of adminSources and
// returns, sorted, every concrete system permission they name: string
// literals "type:action", policy.Permission{Resource: "t", Action: "a"}
// literals, and the generic resources:<action> of needResource(typ,
// "<action>", …) calls.
func adminPermissions(t *testing.T) []string {
	t.Helper()
	set := map[string]bool{}
	add := func(typ, action string) {
		if slices.Contains(systemTypes, typ) && action != policy.Wildcard {
			set[typ+":"+action] = true
		}
	}
	fset := token.NewFileSet()
	nfiles := 0
	for _, dir := range adminSources {
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range files {
			if strings.HasSuffix(name, "_test.go") {
				continue
			}
			src, err := os.ReadFile(name)
			if err != nil {
				t.Fatal(err)
			}
			f, err := parser.ParseFile(fset, name, src, parser.SkipObjectResolution)
			if err != nil {
				t.Fatal(err)
			}
			nfiles++
			ast.Inspect(f, func(n ast.Node) bool {
				switch n := n.(type) {
				case *ast.BasicLit:
					if n.Kind != token.STRING {
						break
					}
					s, err := strconv.Unquote(n.Value)
					if err != nil {
						break
					}
					if m := permLiteral.FindStringSubmatch(s); m != nil {
						add(m[1], m[2])
					}
				case *ast.CompositeLit:
					if sel, ok := n.Type.(*ast.SelectorExpr); !ok || sel.Sel.Name != "Permission" {
						break
					}
					var res, act string
					for _, el := range n.Elts {
						kv, ok := el.(*ast.KeyValueExpr)
						if !ok {
							continue
						}
						k, _ := kv.Key.(*ast.Ident)
						v, _ := kv.Value.(*ast.BasicLit)
						if k == nil || v == nil {
							continue
						}
						s, _ := strconv.Unquote(v.Value)
						switch k.Name {
						case "Resource":
							res = s
						case "Action":
							act = s
						}
					}
					add(res, act)
				case *ast.CallExpr:
					sel, ok := n.Fun.(*ast.SelectorExpr)
					if !ok || sel.Sel.Name != "needResource" || len(n.Args) < 2 {
						break
					}
					if v, ok := n.Args[1].(*ast.BasicLit); ok {
						s, _ := strconv.Unquote(v.Value)
						add("resources", s)
					}
				}
				return true
			})
		}
	}
	if nfiles == 0 {
		t.Fatal("no Go source found for the administrative checks")
	}
	var out []string
	for p := range set {
		out = append(out, p)
	}
	slices.Sort(out)
	return out
}

// topRoles are the roles of m at its highest level.
func topRoles(m *policy.Model) []*policy.Role {
	var out []*policy.Role
	for _, r := range m.Roles {
		if r.Level == m.TopLevel() {
			out = append(out, r)
		}
	}
	return out
}

// Every permission the server checks is held by the top role of every
// template (and so by some role): nothing Gatehouse can do is out of reach
// of an org created from a template.
func TestTopRoleHoldsEveryAdministrativePermission(t *testing.T) {
	perms := adminPermissions(t)
	// The extraction must find the checks it is meant to find; these are
	// ones whose loss would have hidden the Mentiko bug.
	for _, want := range []string{"audit:read", "audit:update", "apikeys:create", "apikeys:delete", "bindings:create", "policy:update", "secrets:read", "secrets:rotate", "members:create", "resources:create"} {
		if !slices.Contains(perms, want) {
			t.Errorf("the administrative checks found in the code lack %s (found %v)", want, perms)
		}
	}
	for _, name := range Names() {
		m, err := Model(name)
		if err != nil {
			t.Fatal(err)
		}
		tops := topRoles(m)
		if len(tops) == 0 {
			t.Fatalf("%s has no roles", name)
		}
		var noRole []string
		for _, perm := range perms {
			p, err := policy.ParsePermission(perm)
			if err != nil {
				t.Fatal(err)
			}
			for _, top := range tops {
				if !top.Grants(p.Resource, p.Action) {
					t.Errorf("%s: top role %s lacks %s", name, top.Name, perm)
				}
			}
			if !slices.ContainsFunc(m.Roles, func(r *policy.Role) bool { return r.Grants(p.Resource, p.Action) }) {
				noRole = append(noRole, perm)
			}
		}
		if len(noRole) > 0 {
			t.Errorf("%s: no role holds %s", name, strings.Join(noRole, ", "))
		}
	}
}

// A declared resource type must list every action the server checks on
// it: otherwise no custom role could name that action (undeclared-action
// is a compile error) and a share of it would be refused.
func TestDeclaredSystemTypesListCheckedActions(t *testing.T) {
	perms := adminPermissions(t)
	for _, name := range Names() {
		m, err := Model(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, perm := range perms {
			p, _ := policy.ParsePermission(perm)
			rt, ok := m.ResourceType(p.Resource)
			if ok && !slices.Contains(rt.Actions, p.Action) {
				t.Errorf("%s: resource %s is declared without %s, which the server checks", name, p.Resource, p.Action)
			}
		}
	}
}

// docs/audit.md says which built-in roles read the audit log and change
// its settings; it once said every role reads it, which Letta's Analyst
// and Editor and Zyeta's Admin and Guest do not. The table must say
// exactly what the templates grant.
func TestAuditDocMatchesTemplates(t *testing.T) {
	doc, err := os.ReadFile("../docs/audit.md")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(doc), "every built-in role") {
		t.Error("docs/audit.md claims something of every built-in role")
	}
	_, table, ok := strings.Cut(string(doc), "<!-- audit-roles -->")
	table, _, ok2 := strings.Cut(table, "<!-- /audit-roles -->")
	if !ok || !ok2 {
		t.Fatal("docs/audit.md has no audit-roles table")
	}
	got := map[string][2]string{}
	for _, line := range strings.Split(table, "\n") {
		cells := strings.Split(strings.Trim(strings.TrimSpace(line), "|"), "|")
		if len(cells) != 3 || strings.Contains(cells[0], "template") || strings.HasPrefix(cells[0], "---") {
			continue
		}
		got[strings.TrimSpace(cells[0])] = [2]string{normRoles(cells[1]), normRoles(cells[2])}
	}
	for _, name := range Names() {
		m, err := Model(name)
		if err != nil {
			t.Fatal(err)
		}
		var want [2]string
		for i, action := range []string{"read", "update"} {
			var rs []string
			for _, r := range m.Roles {
				if r.Grants("audit", action) {
					rs = append(rs, r.Name)
				}
			}
			want[i] = normRoles(strings.Join(rs, ","))
		}
		if got[name] != want {
			t.Errorf("docs/audit.md: %s: table says audit:read %q, audit:update %q; the template grants %q, %q",
				name, got[name][0], got[name][1], want[0], want[1])
		}
	}
}

func normRoles(s string) string {
	var rs []string
	for _, r := range strings.Split(s, ",") {
		if r = strings.TrimSpace(r); r != "" {
			rs = append(rs, r)
		}
	}
	slices.Sort(rs)
	return strings.Join(rs, ",")
}
