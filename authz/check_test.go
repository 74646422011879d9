package authz

import (
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/policy"
	"github.com/google/go-cmp/cmp"
)

// Each test below is one numbered rule of DESIGN §1.1 as the engine brief
// states it; the cases read as the spec.

func TestRule1Membership(t *testing.T) {
	e, _ := newFixture(t)
	runChecks(t, e, []checkCase{
		allow("user:alice", "chains:read", "prod/chains/x"),
		deny("user:alice", "chains:read", "prod/chains/x", inOrg("initech")), // unknown org
		deny("user:frank", "chains:read", "prod/chains/x"),                   // bound owner, not a member
		deny("user:ghost", "chains:read", "prod/chains/x"),                   // unknown principal
		deny("team:support", "chains:run", "prod/chains/x"),                  // teams do not act
		deny("alice", "chains:read", "prod/chains/x"),                        // malformed ids
		deny("user:", "chains:read", "prod/chains/x"),
		deny("robot:alice", "chains:read", "prod/chains/x"),
		deny("", "chains:read", "prod/chains/x"),
		deny("user:root", ":read", "prod/chains/x"),   // empty type
		deny("user:root", "chains:", "prod/chains/x"), // empty action
		deny("user:root", "chains!:read", "prod/chains/x"),
		deny("user:root", "chains:re ad", "prod/chains/x"),
		deny("user:root", "*:*", "prod/chains/x"), // a request names a concrete permission
		deny("user:root", "chains:*", "prod/chains/x"),
		deny("user:root", "1chains:read", "prod/chains/x"),
		// Expiry: ExpiresAt <= Now denies; zero Now is the wall clock.
		deny("user:dave", "chains:read", "prod/chains/x"),
		allow("user:dave", "chains:read", "prod/chains/x", at(past.Add(-time.Hour))),
		deny("user:dave", "chains:read", "prod/chains/x", at(past)),
		allow("user:dora", "chains:read", "prod/chains/x"),
		deny("user:dora", "chains:read", "prod/chains/x", at(future)),
		deny("agent:Old", "chains:read", "prod/chains/x"),
	})
}

func TestRule2Namespace(t *testing.T) {
	e, _ := newFixture(t)
	runChecks(t, e, []checkCase{
		allow("user:root", "chains:read", "prod/chains/x"),
		allow("user:root", "chains:read", "chains/x"), // "" is default
		allow("user:root", "chains:read", "default/chains/x"),
		deny("user:root", "chains:read", "staging/chains/x"), // unknown namespace
		deny("user:root", "chains:read", "Prod!/chains/x"),   // not an identifier
		allow("user:root", "chains:read", "prod/chains"),     // type level
		deny("user:root", "chains:read", "staging/chains"),
	})
}

func TestRule3Scopes(t *testing.T) {
	e, _ := newFixture(t)
	runChecks(t, e, []checkCase{
		// Org scope: any namespace, any id, known or not, and type level.
		allow("user:alice", "chains:read", "prod/chains/x"),
		allow("user:alice", "chains:read", "dev/chains/y"),
		allow("user:alice", "chains:read", "prod/chains/never-created"),
		allow("user:alice", "chains:read", "prod/chains"),
		allow("user:alice", "audit:read", "audit/log"),
		deny("user:alice", "chains:run", "prod/chains/x"),
		// Namespace scope: that namespace only, any id.
		allow("user:alice", "chains:create", "dev/chains"),
		allow("user:alice", "chains:update", "dev/chains/unknown"),
		deny("user:alice", "chains:create", "prod/chains"),
		deny("user:alice", "chains:create", "chains"),
		// Teams: the binding of team:support applies to its members.
		allow("user:bob", "chains:run", "prod/chains/x"),
		allow("user:carol", "decisions:approve", "prod/decisions/d1"),
		deny("user:bob", "chains:run", "dev/chains/y"),
		deny("user:nobody", "chains:run", "prod/chains/x"),
		// Resource scope: that resource only, and only while it exists.
		allow("user:sam", "chains:run", "prod/chains/shared"),
		allow("user:sam", "chains:read", "prod/chains/shared"),
		deny("user:sam", "chains:update", "prod/chains/shared"),
		deny("user:sam", "chains:run", "prod/chains/x"),
		deny("user:sam", "chains:run", "prod/chains"), // type level is not the resource
		deny("user:sam", "widgets:run", "prod/widgets/shared"),
		deny("user:sam", "chains:run", "dev/chains/shared"),
		deny("user:uma", "chains:read", "prod/chains/gone"), // never existed
		// A share of "*" is every action on that resource.
		allow("user:gina", "chains:delete", "prod/chains/x"),
		allow("user:gina", "chains:frobnicate", "prod/chains/x"),
		deny("user:gina", "chains:delete", "prod/chains/shared"),
		// Unknown roles and role+actions bindings grant nothing.
		deny("user:alice", "chains:delete", "prod/chains/x"),
		deny("user:nobody", "chains:read", "prod/chains/x"),
	})
}

func TestRule4Matching(t *testing.T) {
	e, _ := newFixture(t)
	runChecks(t, e, []checkCase{
		// Wildcards match types and actions the policy never names.
		allow("user:root", "spaceships:launch", "prod/spaceships/s1"),
		allow("user:rita", "spaceships:read", "prod/spaceships/s1"),
		deny("user:rita", "spaceships:launch", "prod/spaceships/s1"),
		allow("user:alice", "schedules:read", "dev/schedules/nightly"), // schedules:* via builder in dev
		allow("user:alice", "schedules:anything", "dev/schedules/nightly"),
		deny("user:alice", "schedules:anything", "prod/schedules/nightly"),
		// Concrete patterns match exactly.
		deny("user:bob", "chains:runs", "prod/chains/x"),
		deny("user:bob", "Chains:run", "prod/chains/x"),
		// Conditions: CEL over principal attributes.
		allow("user:erin", "chains:run", "prod/chains/x"),
		deny("user:ezra", "chains:run", "prod/chains/x"),
		// CEL over context; errors fail closed.
		allow("user:hank", "members:invite", "prod/members/m", ctx("hour", 10)),
		deny("user:hank", "members:invite", "prod/members/m", ctx("hour", 20)),
		deny("user:hank", "members:invite", "prod/members/m"),
		deny("user:hank", "members:invite", "prod/members/m", ctx("hour", "ten")),
		// CEL over resource labels: known resources only.
		allow("user:ivan", "chains:read", "prod/chains/labeled"),
		deny("user:ivy", "chains:read", "prod/chains/plain"),
		// CEL over principal id/kind/name and resource namespace/type/id.
		allow("user:vars", "chains:read", "prod/chains/x"),
		deny("user:vars", "chains:read", "prod/chains/shared"),
		deny("user:vars", "chains:delete", "prod/chains/x"), // is_alice is false for vars
		allow("user:alice", "chains:delete", "dev/chains/y"),
		// An undefined condition name is a context boolean.
		allow("user:flag", "chains:create", "prod/chains", ctx("break_glass", true)),
		deny("user:flag", "chains:create", "prod/chains", ctx("break_glass", "true")),
		deny("user:flag", "chains:create", "prod/chains", ctx("break_glass", false)),
		deny("user:flag", "chains:create", "prod/chains"),
		// A team binding's condition gates every member.
		allow("user:carol", "chains:create", "prod/chains", ctx("hour", 12)),
		deny("user:carol", "chains:create", "prod/chains", ctx("hour", 22)),
	})
}

func TestRule5Agents(t *testing.T) {
	e, _ := newFixture(t)
	runChecks(t, e, []checkCase{
		// Triage is bound owner but its ceiling is operator.
		allow("agent:Triage", "chains:read", "prod/chains/x"),
		allow("agent:Triage", "decisions:approve", "dev/decisions/d"),
		deny("agent:Triage", "chains:delete", "prod/chains/x"),
		deny("agent:Triage", "spaceships:launch", "prod/spaceships/s"),
		// "can run chains when business_hours" makes chains:run conditional.
		allow("agent:Triage", "chains:run", "prod/chains/x", ctx("hour", 10)),
		deny("agent:Triage", "chains:run", "prod/chains/x", ctx("hour", 3)),
		deny("agent:Triage", "chains:run", "prod/chains/x"),
		// Auditor: ceiling viewer; its unconditional can rule changes nothing.
		allow("agent:Auditor", "chains:read", "prod/chains/x"),
		deny("agent:Auditor", "chains:run", "prod/chains/x"),
		// Undeclared agent: ceiling from Principal.Role, grants from bindings.
		allow("agent:Loose", "chains:create", "prod/chains"),
		deny("agent:Loose", "chains:delete", "prod/chains/x"),
		deny("agent:Loose", "chains:create", "dev/chains"),
		// No ceiling, or an unknown one: nothing.
		deny("agent:NoRole", "chains:read", "prod/chains/x"),
		deny("agent:BadRole", "chains:read", "prod/chains/x"),
		// A ceiling alone grants nothing: the agent needs a binding too.
		// (Triage through team oncall gets builder in prod when in hours,
		// still capped by operator.)
		deny("agent:Triage", "chains:create", "prod/chains", ctx("hour", 10)),
	})
}

func TestRule6OnBehalfOf(t *testing.T) {
	e, _ := newFixture(t)
	runChecks(t, e, []checkCase{
		allow("agent:Triage", "chains:read", "prod/chains/x", obo("user:alice")),
		deny("agent:Triage", "chains:run", "prod/chains/x", ctx("hour", 10), obo("user:alice")), // alice cannot run
		allow("agent:Triage", "chains:run", "prod/chains/x", ctx("hour", 10), obo("user:bob")),
		deny("agent:Triage", "chains:run", "prod/chains/x", ctx("hour", 2), obo("user:bob")), // the agent cannot
		allow("service:ci", "chains:create", "dev/chains", obo("user:alice")),
		deny("service:ci", "chains:create", "prod/chains", obo("user:alice")),
		deny("service:ci", "chains:read", "prod/chains/x", obo("user:frank")), // not a member
		deny("service:ci", "chains:read", "prod/chains/x", obo("user:dave")),  // expired
		// Only agents and services act for someone, and only for users.
		deny("user:root", "chains:read", "prod/chains/x", obo("user:alice")),
		deny("agent:Triage", "chains:read", "prod/chains/x", obo("agent:Auditor")),
		deny("agent:Triage", "chains:read", "prod/chains/x", obo("service:ci")),
		deny("agent:Triage", "chains:read", "prod/chains/x", obo("team:support")),
		deny("agent:Triage", "chains:read", "prod/chains/x", obo("alice")),
	})
}

func TestRule8Obligations(t *testing.T) {
	e, _ := newFixture(t)
	rules := func(rs []*policy.Rule) []string {
		var out []string
		for _, r := range rs {
			out = append(out, r.Text())
		}
		return out
	}
	tests := []struct {
		name             string
		req              Request
		allowed          bool
		obligations, adv []string
	}{
		{"condition holds", mkReq("agent:Triage", "chains:read", "prod/chains/x", ctx("critical", true)), true,
			[]string{"must escalate ticket"}, []string{"should report issues"}},
		{"condition false", mkReq("agent:Triage", "chains:read", "prod/chains/x", ctx("critical", false)), true,
			nil, []string{"should report issues"}},
		{"denied: nothing", mkReq("agent:Triage", "chains:delete", "prod/chains/x", ctx("critical", true)), false, nil, nil},
		{"unconditional advice", mkReq("agent:Auditor", "chains:read", "prod/chains/x"), true, nil, []string{"should log access"}},
		{"undeclared agent: none", mkReq("agent:Loose", "chains:read", "prod/chains/x"), true, nil, nil},
		{"users: none", mkReq("user:root", "chains:read", "prod/chains/x"), true, nil, nil},
		{"on behalf of: the agent's", mkReq("agent:Triage", "chains:read", "prod/chains/x", ctx("critical", true), obo("user:alice")), true,
			[]string{"must escalate ticket"}, []string{"should report issues"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := e.Check(&tt.req)
			if d.Allowed != tt.allowed {
				t.Fatalf("allowed = %v, want %v", d.Allowed, tt.allowed)
			}
			if diff := cmp.Diff(tt.obligations, rules(d.Obligations)); diff != "" {
				t.Errorf("obligations (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.adv, rules(d.Advice)); diff != "" {
				t.Errorf("advice (-want +got):\n%s", diff)
			}
		})
	}
}

func TestOrgIsolation(t *testing.T) {
	e, _ := newFixture(t)
	runChecks(t, e, []checkCase{
		// Same principal and binding ids, different grants per org.
		allow("user:alice", "chains:run", "prod/chains/x", inOrg("globex")),
		deny("user:alice", "chains:run", "prod/chains/x"),
		deny("user:alice", "chains:read", "dev/chains/y", inOrg("globex")), // no dev namespace there
		deny("user:alice", "chains:read", "chains/x", inOrg("globex")),     // operator only in prod
		allow("user:bob", "chains:delete", "prod/chains/x", inOrg("globex")),
		deny("user:bob", "chains:delete", "prod/chains/x"),
		// Membership is per org.
		deny("user:root", "chains:read", "prod/chains/x", inOrg("globex")),
		deny("user:zed", "chains:read", "prod/chains/x"),
		// Teams are per org: bob is in acme's support only.
		deny("user:carol", "chains:run", "prod/chains/x", inOrg("globex")),
	})
}

func TestTeamlessPrincipalNotInTeamOfOtherOrg(t *testing.T) {
	// A team of one org never adds members of another, even with the same slug.
	m := mustPolicy(t, testPolicy)
	e := New()
	a := OrgData{Org: "a", Policy: m, Principals: []Principal{{ID: "user:x"}},
		Teams:    []Team{{Slug: "t", Members: []string{"user:x"}}},
		Bindings: []Binding{roleB("b", "team:t", "viewer", orgScope())}}
	b := OrgData{Org: "b", Policy: m, Principals: []Principal{{ID: "user:x"}},
		Bindings: []Binding{roleB("b", "team:t", "owner", orgScope())}}
	if err := e.Apply(1, Change{Org: "a", Op: OpPutOrg, Data: &a}, Change{Org: "b", Op: OpPutOrg, Data: &b}); err != nil {
		t.Fatal(err)
	}
	runChecks(t, e, []checkCase{
		allow("user:x", "chains:read", "chains/c", inOrg("a")),
		deny("user:x", "chains:delete", "chains/c", inOrg("a")),
		deny("user:x", "chains:read", "chains/c", inOrg("b")),
	})
}

func TestNilRequestAndNoPolicy(t *testing.T) {
	e := New()
	if d := e.Check(nil); d.Allowed {
		t.Fatal("nil request allowed")
	}
	// An org without a policy denies everything, shares included: there
	// is nothing to decide with, so the engine fails closed.
	d := OrgData{Org: "np", Principals: []Principal{{ID: "user:a"}},
		Bindings:  []Binding{roleB("b1", "user:a", "owner", orgScope()), shareB("b2", "user:a", resScope("default", "docs", "d"), "read")},
		Resources: []Resource{{Namespace: "default", Type: "docs", ID: "d"}}}
	if err := e.LoadOrg(1, d); err != nil {
		t.Fatal(err)
	}
	runChecks(t, e, []checkCase{
		deny("user:a", "docs:write", "docs/d", inOrg("np")),
		deny("user:a", "docs:read", "docs/d", inOrg("np")),
	})
}
