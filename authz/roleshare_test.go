package authz

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Seed 002: "share specific chains with specific users or roles". A share
// made to "role:<name>" reaches every principal that holds the role in
// the resource's scope: bound to it, or to a role inheriting it, at org
// scope or in the resource's namespace, directly or through a team, with
// the binding's condition holding. Holding a role the shared role
// inherits from (a parent) is not holding it.

const roleSharePolicy = `
role viewer level 10 {
    permission chains { read }
}
role operator: viewer level 30 {
    permission chains { run }
}
role builder: operator level 50 {
    permission chains { create }
}
role auditor level 20 {
    permission audit { read }
}
`

func roleShareData(t *testing.T) OrgData {
	t.Helper()
	return OrgData{
		Org:        "acme",
		Policy:     mustPolicy(t, roleSharePolicy),
		Namespaces: []string{"prod", "dev"},
		Principals: []Principal{
			{ID: "user:olga"}, {ID: "user:bob"}, {ID: "user:vic"}, {ID: "user:tina"},
			{ID: "user:dan"}, {ID: "user:cara"}, {ID: "user:rita"}, {ID: "agent:Bot", Role: "viewer"},
		},
		Teams: []Team{{Slug: "ops", Members: []string{"user:tina"}}},
		Bindings: []Binding{
			roleB("b-olga", "user:olga", "operator", nsScope("prod")),
			roleB("b-bob", "user:bob", "builder", orgScope()),
			roleB("b-vic", "user:vic", "viewer", orgScope()),
			roleB("b-ops", "team:ops", "operator", orgScope()),
			roleB("b-dan", "user:dan", "operator", nsScope("dev")),
			condB("b-cara", "user:cara", "operator", orgScope(), "oncall"),
			roleB("b-rita", "user:rita", "operator", resScope("prod", "chains", "triage")),
			roleB("b-bot", "agent:Bot", "operator", orgScope()),
			shareB("s-op", "role:operator", resScope("prod", "chains", "triage"), "deploy"),
			shareB("s-view", "role:viewer", resScope("prod", "chains", "report"), "deploy"),
			{ID: "s-cond", Principal: "role:auditor", Actions: []string{"deploy"}, Scope: resScope("prod", "chains", "report"), Condition: "oncall"},
			shareB("s-ghost", "role:nosuchrole", resScope("prod", "chains", "triage"), "*"),
			shareB("s-gone", "role:operator", resScope("prod", "chains", "gone"), "deploy"),
		},
		Resources: []Resource{
			{Namespace: "prod", Type: "chains", ID: "triage"},
			{Namespace: "prod", Type: "chains", ID: "report"},
			{Namespace: "prod", Type: "chains", ID: "other"},
			{Namespace: "dev", Type: "chains", ID: "triage"},
		},
	}
}

func newRoleShareEngine(t *testing.T) *Engine {
	t.Helper()
	e := New()
	if err := e.LoadOrg(1, roleShareData(t)); err != nil {
		t.Fatal(err)
	}
	return e
}

func TestRoleShares(t *testing.T) {
	e := newRoleShareEngine(t)
	runChecks(t, e, []checkCase{
		allow("user:olga", "chains:deploy", "prod/chains/triage"), // operator in the namespace
		deny("user:olga", "chains:deploy", "prod/chains/other"),   // shared one chain only
		deny("user:olga", "chains:deploy", "prod/chains"),         // a share is no type-level grant
		deny("user:olga", "chains:delete", "prod/chains/triage"),  // shared for deploy only
		deny("user:olga", "chains:deploy", "prod/chains/gone"),    // a share of a resource that does not exist
		allow("user:bob", "chains:deploy", "prod/chains/triage"),  // builder inherits operator
		deny("user:vic", "chains:deploy", "prod/chains/triage"),   // viewer is operator's parent, not an operator
		allow("user:vic", "chains:deploy", "prod/chains/report"),  // shared with viewers: operators (and builders) too
		allow("user:olga", "chains:deploy", "prod/chains/report"),
		allow("user:tina", "chains:deploy", "prod/chains/triage"), // through team ops
		deny("user:dan", "chains:deploy", "prod/chains/triage"),   // operator in dev only
		deny("user:dan", "chains:deploy", "dev/chains/triage"),    // nothing shared there
		deny("user:rita", "chains:deploy", "prod/chains/triage"),  // operator on the resource itself: not a holder "in scope"
		deny("user:cara", "chains:deploy", "prod/chains/triage"),  // conditional operator, condition false
		allow("user:cara", "chains:deploy", "prod/chains/triage", ctx("oncall", true)),
		deny("user:olga", "chains:deploy", "prod/chains/report", inOrg("globex")),
		// A conditional share made to a role; nobody holds auditor.
		deny("user:vic", "audit:read", "prod/chains/report", ctx("oncall", true)),
		// An agent holds the role through its binding but stays under its
		// ceiling (viewer has no chains:deploy).
		deny("agent:Bot", "chains:deploy", "prod/chains/triage"),
		allow("agent:Bot", "chains:read", "prod/chains/triage"),
	})
}

func TestRoleSharesFollowChanges(t *testing.T) {
	e := newRoleShareEngine(t)
	req := mkReq("user:olga", "chains:deploy", "prod/chains/triage")
	steps := []struct {
		what   string
		change Change
		want   bool
	}{
		{"olga loses operator", Change{Org: "acme", Op: OpDeleteBinding, ID: "b-olga"}, false},
		{"olga joins team ops", Change{Org: "acme", Op: OpPutTeam, Team: Team{Slug: "ops", Members: []string{"user:tina", "user:olga"}}}, true},
		{"the share goes", Change{Org: "acme", Op: OpDeleteBinding, ID: "s-op"}, false},
		{"shared again, to builders", Change{Org: "acme", Op: OpPutBinding, Binding: shareB("s-op", "role:builder", resScope("prod", "chains", "triage"), "deploy")}, false},
		{"ops become builders", Change{Org: "acme", Op: OpPutBinding, Binding: roleB("b-ops", "team:ops", "builder", orgScope())}, true},
		{"the policy loses builder", Change{Org: "acme", Op: OpSetPolicy, Policy: mustPolicy(t, "role operator level 30 {\n permission chains { run }\n}\n")}, false},
	}
	for i, s := range steps {
		if err := e.Apply(uint64(2+i), s.change); err != nil {
			t.Fatalf("%s: %v", s.what, err)
		}
		if got := e.Check(&req).Allowed; got != s.want {
			t.Errorf("after %q: olga deploy prod/chains/triage = %v, want %v", s.what, got, s.want)
		}
	}
}

func TestRoleShareOnlyAtResourceScope(t *testing.T) {
	e := newRoleShareEngine(t)
	for _, sc := range []Scope{orgScope(), nsScope("prod")} {
		err := e.Apply(2, Change{Org: "acme", Op: OpPutBinding, Binding: roleB("x", "role:operator", "viewer", sc)})
		if err == nil {
			t.Errorf("a binding of role:operator at %s was accepted", sc)
		}
	}
	for _, p := range []string{"role:", "role:bad name"} {
		err := e.Apply(2, Change{Org: "acme", Op: OpPutBinding, Binding: shareB("x", p, resScope("prod", "chains", "triage"), "run")})
		if err == nil {
			t.Errorf("a share to %q was accepted", p)
		}
	}
	// A role is no principal: it neither acts nor is looked up.
	runChecks(t, e, []checkCase{deny("role:operator", "chains:deploy", "prod/chains/triage")})
	if _, err := e.LookupResources(LookupResourcesRequest{Org: "acme", Principal: "role:operator", Type: "chains", Action: "deploy"}); err == nil {
		t.Error("LookupResources for role:operator: no error")
	}
}

func TestRoleShareLookups(t *testing.T) {
	e := newRoleShareEngine(t)
	for _, c := range []struct {
		principal string
		want      []ResourceRef
	}{
		{"user:olga", []ResourceRef{{"prod", "chains", "report"}, {"prod", "chains", "triage"}}},
		{"user:vic", []ResourceRef{{"prod", "chains", "report"}}},
		{"user:tina", []ResourceRef{{"prod", "chains", "report"}, {"prod", "chains", "triage"}}},
		{"user:dan", nil},
	} {
		page, err := e.LookupResources(LookupResourcesRequest{Org: "acme", Principal: c.principal, Type: "chains", Action: "deploy"})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(c.want, page.Resources); diff != "" {
			t.Errorf("what may %s deploy? (-want +got)\n%s", c.principal, diff)
		}
	}
	subs, _, err := e.LookupSubjects(LookupSubjectsRequest{Org: "acme", Namespace: "prod", Type: "chains", ID: "triage", Action: "deploy"})
	if err != nil {
		t.Fatal(err)
	}
	want := []Subject{
		{Principal: "user:bob", Via: []string{"role:operator"}},
		{Principal: "user:olga", Via: []string{"role:operator"}},
		{Principal: "user:tina", Via: []string{"role:operator"}},
	}
	if diff := cmp.Diff(want, subs); diff != "" {
		t.Errorf("who may deploy prod/chains/triage? (-want +got)\n%s", diff)
	}
}

func TestRoleShareExplain(t *testing.T) {
	e := newRoleShareEngine(t)
	req := mkReq("user:tina", "chains:deploy", "prod/chains/triage")
	ex := e.Explain(&req)
	if !ex.Decision.Allowed || len(ex.Grants) != 1 || ex.Grants[0].Via != "role:operator" || ex.Grants[0].Binding.ID != "s-op" {
		t.Errorf("tina: %+v", ex)
	}
	if !strings.Contains(ex.Summary, "through role:operator") {
		t.Errorf("tina's summary %q does not name the role", ex.Summary)
	}
	req = mkReq("user:vic", "chains:deploy", "prod/chains/triage")
	ex = e.Explain(&req)
	if ex.Decision.Allowed || !strings.Contains(ex.Summary, "shared with role:operator, which user:vic does not hold") {
		t.Errorf("vic: %s", ex.Summary)
	}
}

// A check that goes through the shares made to roles allocates nothing
// (without conditions), allowed or denied.
func TestRoleShareCheckAllocatesNothing(t *testing.T) {
	e := newRoleShareEngine(t)
	for _, c := range []checkCase{
		allow("user:olga", "chains:deploy", "prod/chains/triage"),
		allow("user:tina", "chains:deploy", "prod/chains/triage"),
		allow("user:bob", "chains:deploy", "prod/chains/report"),
		deny("user:vic", "chains:deploy", "prod/chains/triage"),
		deny("user:dan", "chains:deploy", "prod/chains/triage"),
	} {
		req := c.req
		if got := e.Check(&req).Allowed; got != c.want {
			t.Fatalf("%s: got %v", c, got)
		}
		if n := testing.AllocsPerRun(100, func() { e.Check(&req) }); n != 0 {
			t.Errorf("%s: %v allocs per Check, want 0", c, n)
		}
	}
}
