package authz

import (
	"strings"
	"testing"
)

// nearWant describes an expected near miss: the binding and words its note
// must contain.
type nearWant struct {
	binding string
	note    string
}

func TestExplain(t *testing.T) {
	e, _ := newFixture(t)
	tests := []struct {
		name    string
		req     Request
		allowed bool
		grants  []string   // binding ids of Grants, in order
		near    []nearWant // the first near misses, in order
		summary []string   // substrings of Summary, in order
	}{
		{
			name: "role has the type but not the action; another namespace would",
			req:  mkReq("user:alice", "chains:run", "prod/chains/x"),
			near: []nearWant{
				{"b-alice-view", "has chains but not chains:run"},
				{"b-alice-build", "in namespace dev"},
			},
			summary: []string{
				"alice cannot run chains/x in prod",
				"role viewer (binding b-alice-view, org-wide) grants chains:read but not chains:run",
				"role builder (binding b-alice-build, in namespace dev) would, but only in namespace dev",
			},
		},
		{
			name:    "allowed through a team",
			req:     mkReq("user:bob", "chains:run", "prod/chains/x"),
			allowed: true,
			grants:  []string{"b-support"},
			summary: []string{"bob can run chains/x in prod: role operator (binding b-support, in namespace prod, through team:support) grants chains:run"},
		},
		{
			name:    "condition false",
			req:     mkReq("user:hank", "members:invite", "prod/members/m", ctx("hour", 20)),
			near:    []nearWant{{"b-hank", "condition business_hours is false"}},
			summary: []string{"would, but condition business_hours is false"},
		},
		{
			name:    "condition error fails closed",
			req:     mkReq("user:hank", "members:invite", "prod/members/m", ctx("hour", "ten")),
			near:    []nearWant{{"b-hank", "could not be evaluated"}},
			summary: []string{"business_hours could not be evaluated"},
		},
		{
			name:    "agent ceiling",
			req:     mkReq("agent:Triage", "chains:delete", "prod/chains/x"),
			near:    []nearWant{{"b-triage", "ceiling role operator lacks chains:delete"}},
			summary: []string{"Triage cannot delete chains/x in prod", "ceiling role operator lacks chains:delete"},
		},
		{
			name: "agent conditional rule",
			req:  mkReq("agent:Triage", "chains:run", "prod/chains/x", ctx("hour", 3)),
			near: []nearWant{
				{"b-oncall", "condition business_hours is false"},
				{"b-triage", "only when business_hours"},
			},
		},
		{
			name:    "a binding on a resource that does not exist",
			req:     mkReq("user:uma", "chains:read", "prod/chains/gone"),
			near:    []nearWant{{"b-uma", "does not exist"}},
			summary: []string{"prod/chains/gone does not exist"},
		},
		{
			name:    "a share of other actions",
			req:     mkReq("user:sam", "chains:update", "prod/chains/shared"),
			near:    []nearWant{{"b-sam", "shared for read, run, not update"}},
			summary: []string{"share of read, run (binding b-sam, on prod/chains/shared) does not grant chains:update"},
		},
		{
			name:    "a share of another resource",
			req:     mkReq("user:sam", "chains:run", "prod/chains/x"),
			near:    []nearWant{{"b-sam", "on prod/chains/shared only"}},
			summary: []string{"would, but only on prod/chains/shared"},
		},
		{
			name:    "an unknown role",
			req:     mkReq("user:alice", "audit:delete", "prod/audit/a"),
			near:    []nearWant{{"b-alice-view", "has audit but not audit:delete"}, {"b-alice-ghost", `role "ghost" is not defined`}},
			summary: []string{"grants audit:read but not audit:delete"},
		},
		{
			name:    "not a member",
			req:     mkReq("user:frank", "chains:read", "prod/chains/x"),
			summary: []string{"frank cannot read chains/x in prod: user:frank is not a member of org \"acme\""},
		},
		{
			name:    "expired",
			req:     mkReq("user:dave", "chains:read", "prod/chains/x"),
			summary: []string{"user:dave expired at 2020-01-01T00:00:00Z"},
		},
		{
			name:    "unknown namespace",
			req:     mkReq("user:root", "chains:read", "staging/chains/x"),
			summary: []string{`namespace "staging" does not exist in org "acme"`},
		},
		{
			name:    "unknown org",
			req:     mkReq("user:root", "chains:read", "prod/chains/x", inOrg("initech")),
			summary: []string{`org "initech" is unknown`},
		},
		{
			name:    "agent without a ceiling",
			req:     mkReq("agent:NoRole", "chains:read", "prod/chains/x"),
			summary: []string{"without a ceiling role can do nothing"},
		},
		{
			name:    "nothing at all",
			req:     mkReq("user:nobody", "widgets:read", "prod/widgets/w"),
			summary: []string{"no binding of user:nobody or of its teams grants anything close"},
		},
		{
			name:    "on behalf of: the user is the one denied",
			req:     mkReq("agent:Triage", "chains:run", "prod/chains/x", ctx("hour", 10), obo("user:alice")),
			near:    []nearWant{{"b-alice-view", "has chains but not chains:run"}},
			summary: []string{"denied: agent:Triage acts on behalf of user:alice", "Triage can run", "alice cannot run"},
		},
		{
			name:    "on behalf of: both allowed, both traced",
			req:     mkReq("agent:Triage", "chains:read", "prod/chains/x", obo("user:alice")),
			allowed: true,
			grants:  []string{"b-triage", "b-alice-view"},
			summary: []string{"allowed: agent:Triage acts on behalf of user:alice"},
		},
		{
			name:    "on behalf of, by a user",
			req:     mkReq("user:root", "chains:read", "prod/chains/x", obo("user:alice")),
			summary: []string{"only an agent or a service may act on behalf of someone"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ex := e.Explain(&tt.req)
			if ex.Decision.Allowed != tt.allowed {
				t.Fatalf("allowed = %v, want %v (%s)", ex.Decision.Allowed, tt.allowed, ex.Summary)
			}
			if check := e.Check(&tt.req); check.Allowed != ex.Decision.Allowed {
				t.Fatalf("Explain and Check disagree")
			}
			var got []string
			for _, g := range ex.Grants {
				got = append(got, g.Binding.ID)
			}
			if strings.Join(got, ",") != strings.Join(tt.grants, ",") {
				t.Errorf("grants %v, want %v", got, tt.grants)
			}
			if tt.allowed && len(ex.Near) > 0 {
				t.Errorf("an allowed decision lists near misses: %v", ex.Near)
			}
			for i, w := range tt.near {
				if i >= len(ex.Near) {
					t.Errorf("near[%d]: missing, want %s %q", i, w.binding, w.note)
					continue
				}
				n := ex.Near[i]
				if n.Binding.ID != w.binding || !strings.Contains(n.Note, w.note) {
					t.Errorf("near[%d] = %s %q, want %s %q", i, n.Binding.ID, n.Note, w.binding, w.note)
				}
			}
			rest := ex.Summary
			for _, s := range tt.summary {
				i := strings.Index(rest, s)
				if i < 0 {
					t.Errorf("summary lacks %q (in order):\n%s", s, ex.Summary)
					break
				}
				rest = rest[i+len(s):]
			}
		})
	}
}

func TestExplainTraceFields(t *testing.T) {
	e, _ := newFixture(t)
	req := mkReq("user:carol", "chains:create", "prod/chains", ctx("hour", 10))
	ex := e.Explain(&req)
	if !ex.Decision.Allowed || len(ex.Grants) != 1 {
		t.Fatalf("want one grant, got %+v", ex)
	}
	g := ex.Grants[0]
	want := Trace{
		Binding:       Binding{ID: "b-oncall", Principal: "team:oncall", Role: "builder", Scope: Scope{Namespace: "prod"}, Condition: "business_hours"},
		Via:           "team:oncall",
		Role:          "builder",
		Pattern:       g.Pattern,
		Condition:     "business_hours",
		ConditionHeld: true,
	}
	if g.Pattern.String() != "chains:create" {
		t.Errorf("pattern %s, want chains:create", g.Pattern)
	}
	if g.Binding.ID != want.Binding.ID || g.Binding.Principal != want.Binding.Principal || g.Binding.Scope != want.Binding.Scope ||
		g.Via != want.Via || g.Role != want.Role || g.Condition != want.Condition || !g.ConditionHeld || g.ConditionErr != "" {
		t.Errorf("trace %+v, want %+v", g, want)
	}
}
