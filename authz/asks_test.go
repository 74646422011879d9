package authz

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// askPolicy is the example: approval rules in an agent and in a
// role, conditional ones, an inherited one and a `from` with a quorum.
const askPolicy = `
condition in_prod = "resource.namespace == 'prod'"

role viewer level 10 {
    permission chains { read }
}
role operator: viewer level 30 {
    permission chains { run }
    permission decisions { approve }
    ask before run chains when night
}
role builder: viewer level 50 {
    permission chains { create, update, run }
    ask before update chains when in_prod from admin quorum 2
}
role lead: builder level 60 {
}
role admin level 100 {
    permission * { * }
}

agent Deployer: admin {
    can run chains
    ask before run chains when in_prod
}
agent Helper: builder {
}
`

func askEngine(t testing.TB) *Engine {
	t.Helper()
	m := mustPolicy(t, askPolicy)
	e := New()
	d := OrgData{
		Org:        "acme",
		Policy:     m,
		Namespaces: []string{"prod", "dev"},
		Principals: []Principal{
			{ID: "user:bea"}, {ID: "user:lee"}, {ID: "user:ann"}, {ID: "user:ops"}, {ID: "user:tim"}, {ID: "user:res"},
			{ID: "user:both"}, {ID: "agent:Deployer"}, {ID: "agent:Helper"}, {ID: "service:ci"},
		},
		Teams: []Team{{Slug: "builders", Members: []string{"user:tim"}}},
		Bindings: []Binding{
			roleB("b-bea", "user:bea", "builder", orgScope()),
			roleB("b-lee", "user:lee", "lead", nsScope("prod")),
			roleB("b-ann", "user:ann", "admin", orgScope()),
			roleB("b-ops", "user:ops", "operator", orgScope()),
			roleB("b-tim", "team:builders", "builder", nsScope("prod")),
			roleB("b-res", "user:res", "builder", resScope("prod", "chains", "x")),
			roleB("b-both1", "user:both", "admin", orgScope()),
			condB("b-both2", "user:both", "builder", orgScope(), "builder_today"),
			roleB("b-dep", "agent:Deployer", "admin", orgScope()),
			roleB("b-help", "agent:Helper", "admin", orgScope()),
			roleB("b-ci", "service:ci", "admin", orgScope()),
		},
		Resources: []Resource{{Namespace: "prod", Type: "chains", ID: "x"}, {Namespace: "dev", Type: "chains", ID: "y"}},
	}
	if err := e.LoadOrg(1, d); err != nil {
		t.Fatal(err)
	}
	return e
}

// askTexts renders a decision: "allow", "deny", or "approval: <rules>".
func askTexts(d Decision) string {
	switch {
	case d.Allowed && d.ApprovalRequired:
		return "BOTH allowed and approval required"
	case d.Allowed:
		return "allow"
	case !d.ApprovalRequired:
		if len(d.Asks) > 0 {
			return "deny WITH asks"
		}
		return "deny"
	}
	var s []string
	for _, a := range d.Asks {
		s = append(s, a.Owner+": "+a.Text())
	}
	return "approval: " + strings.Join(s, " | ")
}

func TestAskBeforeDecisions(t *testing.T) {
	e := askEngine(t)
	const (
		builderUpdate = "role builder: ask before update chains when in_prod from admin quorum 2"
		deployerRun   = "agent Deployer: ask before run chains when in_prod"
		operatorRun   = "role operator: ask before run chains when night"
	)
	tests := []struct {
		name string
		req  Request
		want string
	}{
		{"builder in prod needs approval", mkReq("user:bea", "chains:update", "prod/chains/x"), "approval: " + builderUpdate},
		{"builder in dev does not", mkReq("user:bea", "chains:update", "dev/chains/y"), "allow"},
		{"another action is not asked", mkReq("user:bea", "chains:create", "prod/chains/x"), "allow"},
		{"not inherited by lead", mkReq("user:lee", "chains:update", "prod/chains/x"), "allow"},
		{"through a team", mkReq("user:tim", "chains:update", "prod/chains/x"), "approval: " + builderUpdate},
		{"through a resource binding", mkReq("user:res", "chains:update", "prod/chains/x"), "approval: " + builderUpdate},
		{"a resource binding elsewhere does not", mkReq("user:res", "chains:update", "prod/chains/z"), "deny"},
		{"admin is not asked", mkReq("user:ann", "chains:update", "prod/chains/x"), "allow"},
		{"a denied request stays a deny", mkReq("user:ops", "chains:update", "prod/chains/x"), "deny"},
		{"context flag condition false", mkReq("user:ops", "chains:run", "prod/chains/x"), "allow"},
		{"context flag condition true", mkReq("user:ops", "chains:run", "prod/chains/x", ctx("night", true)), "approval: " + operatorRun},
		{"a conditional binding that does not hold brings no ask", mkReq("user:both", "chains:update", "prod/chains/x"), "allow"},
		{"a conditional binding that holds brings its ask", mkReq("user:both", "chains:update", "prod/chains/x", ctx("builder_today", true)), "approval: " + builderUpdate},
		{"agent's own rule", mkReq("agent:Deployer", "chains:run", "prod/chains/x"), "approval: " + deployerRun},
		{"agent's own rule, condition false", mkReq("agent:Deployer", "chains:run", "dev/chains/y"), "allow"},
		{"agent's ceiling role's rule", mkReq("agent:Helper", "chains:update", "prod/chains/x"), "approval: " + builderUpdate},
		{"on behalf of a user who must ask", mkReq("service:ci", "chains:update", "prod/chains/x", obo("user:bea")), "approval: " + builderUpdate},
		{"on behalf: both rules, principal's first", mkReq("agent:Deployer", "chains:run", "prod/chains/x", obo("user:ops"), ctx("night", true)), "approval: " + deployerRun + " | " + operatorRun},
		{"on behalf of a user who may not: deny", mkReq("service:ci", "chains:delete", "prod/chains/x", obo("user:bea")), "deny"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := tt.req
			if got := askTexts(e.Check(&req)); got != tt.want {
				t.Errorf("Check = %s, want %s", got, tt.want)
			}
			d := e.CheckWithReason(&req)
			if got := askTexts(d); got != tt.want {
				t.Errorf("CheckWithReason = %s, want %s", got, tt.want)
			}
			if d.ApprovalRequired != (d.Reason == ReasonApprovalRequired) {
				t.Errorf("reason %q with ApprovalRequired %v", d.Reason, d.ApprovalRequired)
			}
			ex := e.Explain(&req)
			if got := askTexts(ex.Decision); got != tt.want {
				t.Errorf("Explain = %s, want %s", got, tt.want)
			}
			if ex.Decision.ApprovalRequired {
				if !strings.HasPrefix(ex.Summary, "approval required: ") || !strings.Contains(ex.Summary, "test.policy:") || len(ex.Grants) == 0 {
					t.Errorf("Explain summary %q (grants %d): want the rule and where it is written, and the grants", ex.Summary, len(ex.Grants))
				}
			}
		})
	}
}

// TestAskLookups: who-can lists principals that need approval, marked;
// what-can lists resources they may act on with approval.
func TestAskLookups(t *testing.T) {
	e := askEngine(t)
	subs, _, err := e.LookupSubjects(LookupSubjectsRequest{Org: "acme", Namespace: "prod", Type: "chains", ID: "x", Action: "update"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range subs {
		if s.ApprovalRequired {
			got = append(got, s.Principal)
		}
	}
	want := []string{"agent:Helper", "user:bea", "user:res", "user:tim"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("subjects needing approval (-want +got):\n%s", diff)
	}
	if !slices.ContainsFunc(subs, func(s Subject) bool { return s.Principal == "user:ann" && !s.ApprovalRequired }) {
		t.Errorf("user:ann (admin) missing or marked: %v", subs)
	}
	page, err := e.LookupResources(LookupResourcesRequest{Org: "acme", Principal: "user:res", Type: "chains", Action: "update"})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]ResourceRef{{Namespace: "prod", Type: "chains", ID: "x"}}, page.Resources); diff != "" {
		t.Errorf("resources user:res may update with approval (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(page.Resources, page.ApprovalRequired); diff != "" {
		t.Errorf("resources marked approval required (-want +got):\n%s", diff)
	}
	page, err = e.LookupResources(LookupResourcesRequest{Org: "acme", Principal: "user:bea", Type: "chains", Action: "update"})
	if err != nil {
		t.Fatal(err)
	}
	wantMarked := []ResourceRef{{Namespace: "prod", Type: "chains", ID: "x"}} // dev/chains/y is not in prod: no approval
	if len(page.Resources) != 2 || !cmp.Equal(wantMarked, page.ApprovalRequired) {
		t.Errorf("user:bea: resources %v, marked %v (want %v)", page.Resources, page.ApprovalRequired, wantMarked)
	}
}

// TestLookupNoApprovalMarks: skipping the ask rules lists the same
// resources — those allowed only with approval among them — marking none,
// for every principal of the ask world, with and without conditionals.
func TestLookupNoApprovalMarks(t *testing.T) {
	e := askEngine(t)
	marked := 0
	for _, p := range []string{"user:ann", "user:bea", "user:res", "user:tim", "agent:Helper"} {
		for _, action := range []string{"update", "run", "read"} {
			for _, cond := range []bool{false, true} {
				q := LookupResourcesRequest{Org: "acme", Principal: p, Type: "chains", Action: action, IncludeConditional: cond, PageSize: 1000}
				with, err := e.LookupResources(q)
				if err != nil {
					t.Fatal(err)
				}
				q.NoApprovalMarks = true
				without, err := e.LookupResources(q)
				if err != nil {
					t.Fatal(err)
				}
				marked += len(with.ApprovalRequired)
				if diff := cmp.Diff(with.Resources, without.Resources); diff != "" {
					t.Errorf("%s %s (conditional %v): the set changed without approval marks (-with +without):\n%s", p, action, cond, diff)
				}
				if len(without.ApprovalRequired) != 0 {
					t.Errorf("%s %s: marked %v with NoApprovalMarks", p, action, without.ApprovalRequired)
				}
			}
		}
	}
	if marked == 0 {
		t.Fatal("the ask world marks nothing: the test compares nothing")
	}
	// A check is not affected: the request still needs approval.
	d := e.Check(&Request{Org: "acme", Principal: "user:res", Namespace: "prod", ResourceType: "chains", ResourceID: "x", Action: "update"})
	if d.Allowed || !d.ApprovalRequired {
		t.Errorf("check after lookups: %+v", d)
	}
}

// TestNoAskNoCost: in a policy without ask rules nothing changes and a
// check allocates nothing; with ask rules, a check they do not concern
// allocates nothing either.
func TestNoAskNoCost(t *testing.T) {
	e, _ := newFixture(t)
	req := mkReq("user:root", "chains:run", "prod/chains/x")
	if n := testing.AllocsPerRun(100, func() { e.Check(&req) }); n != 0 {
		t.Errorf("Check without ask rules: %v allocs, want 0", n)
	}
	a := askEngine(t)
	req = mkReq("user:ann", "chains:update", "prod/chains/x")
	if d := a.Check(&req); !d.Allowed {
		t.Fatal("admin denied")
	}
	if n := testing.AllocsPerRun(100, func() { a.Check(&req) }); n != 0 {
		t.Errorf("Check not concerned by ask rules: %v allocs, want 0", n)
	}
}
