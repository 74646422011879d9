package authz

import (
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/policy"
)

// testPolicy is the policy of the fixture orgs: a small agent-platform
// role ladder, conditions over context, principal and resource, and agents.
const testPolicy = `
condition business_hours = "context.hour >= 9 && context.hour < 18"
condition vip = "principal.attributes.tier == 'vip'"
condition prod_label = "resource.labels.env == 'prod'"
condition is_alice = "principal.id == 'user:alice' && principal.kind == 'user' && principal.name == 'alice'"
condition same_ns = "resource.namespace == 'prod' && resource.type == 'chains' && resource.id == 'x'"

role viewer level 10 {
    permission chains { read }
    permission audit { read }
}
role operator: viewer level 30 {
    permission chains { run }
    permission decisions { approve }
}
role builder: operator level 50 {
    permission chains { create, update }
    permission schedules { * }
}
role reader level 20 {
    permission * { read }
}
role owner level 100 {
    permission * { * }
}

agent Triage: operator {
    can run chains when business_hours
    must escalate ticket when critical
    should report issues
}
agent Auditor: viewer {
    can read chains
    should log access
}
`

func mustPolicy(t testing.TB, src string) *policy.Model {
	t.Helper()
	m, diags := policy.Load("test.policy", []byte(src), policy.LintOptions{})
	if m == nil {
		t.Fatalf("policy does not compile:\n%v", diags)
	}
	return m
}

var (
	past   = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	future = time.Date(2999, 1, 1, 0, 0, 0, 0, time.UTC)
)

// role / share / scope helpers for building bindings that read like data.
func orgScope() Scope                   { return Scope{} }
func nsScope(ns string) Scope           { return Scope{Namespace: ns} }
func resScope(ns, typ, id string) Scope { return Scope{Namespace: ns, Type: typ, ID: id} }

func roleB(id, principal, role string, sc Scope) Binding {
	return Binding{ID: id, Principal: principal, Role: role, Scope: sc}
}

func condB(id, principal, role string, sc Scope, cond string) Binding {
	return Binding{ID: id, Principal: principal, Role: role, Scope: sc, Condition: cond}
}

func shareB(id, principal string, sc Scope, actions ...string) Binding {
	return Binding{ID: id, Principal: principal, Actions: actions, Scope: sc}
}

// acmeData is the main fixture org. Each principal exists to exercise one
// rule; the comments say which.
func acmeData(m *policy.Model) OrgData {
	return OrgData{
		Org:        "acme",
		Policy:     m,
		Namespaces: []string{"prod", "dev"},
		Principals: []Principal{
			{ID: "user:alice"},                   // viewer org-wide, builder in dev
			{ID: "user:bob"},                     // operator in prod through team support
			{ID: "user:carol"},                   // support member, also expired? no: plain
			{ID: "user:dave", ExpiresAt: past},   // owner, expired
			{ID: "user:dora", ExpiresAt: future}, // owner, expires later
			{ID: "user:erin", Attributes: map[string]any{"tier": "vip"}}, // operator when vip
			{ID: "user:ezra", Attributes: map[string]any{"tier": "basic"}},
			{ID: "user:sam"},                     // share on prod/chains/shared
			{ID: "user:uma"},                     // viewer on a resource that does not exist
			{ID: "user:gina"},                    // share of every action on prod/chains/x
			{ID: "user:hank"},                    // owner during business hours
			{ID: "user:ivan"},                    // viewer on prod/chains/labeled if labelled prod
			{ID: "user:ivy"},                     // viewer on prod/chains/plain if labelled prod
			{ID: "user:root"},                    // owner org-wide
			{ID: "user:rita"},                    // reader (*:read) org-wide
			{ID: "user:flag"},                    // builder when context flag break_glass
			{ID: "user:vars"},                    // conditions over principal/resource vars
			{ID: "user:nobody"},                  // member with no bindings
			{ID: "agent:Triage"},                 // declared agent, ceiling operator, bound owner
			{ID: "agent:Auditor"},                // declared agent, ceiling viewer, bound owner
			{ID: "agent:Loose", Role: "builder"}, // undeclared agent, ceiling from data, owner in prod
			{ID: "agent:NoRole"},                 // undeclared agent without a role: nothing
			{ID: "agent:BadRole", Role: "ghost"}, // undeclared agent with an unknown role
			{ID: "agent:Old", Role: "owner", ExpiresAt: past}, // expired agent
			{ID: "service:ci"}, // builder org-wide
		},
		Teams: []Team{
			{Slug: "support", Members: []string{"user:bob", "user:carol"}},
			{Slug: "oncall", Members: []string{"user:carol", "agent:Triage"}},
			{Slug: "ghosts", Members: []string{"user:frank"}}, // frank is not a member
		},
		Bindings: []Binding{
			roleB("b-alice-view", "user:alice", "viewer", orgScope()),
			roleB("b-alice-build", "user:alice", "builder", nsScope("dev")),
			roleB("b-alice-ghost", "user:alice", "ghost", orgScope()), // role not in the policy
			roleB("b-support", "team:support", "operator", nsScope("prod")),
			condB("b-oncall", "team:oncall", "builder", nsScope("prod"), "business_hours"),
			roleB("b-dave", "user:dave", "owner", orgScope()),
			roleB("b-dora", "user:dora", "owner", orgScope()),
			condB("b-erin", "user:erin", "operator", orgScope(), "vip"),
			condB("b-ezra", "user:ezra", "operator", orgScope(), "vip"),
			shareB("b-sam", "user:sam", resScope("prod", "chains", "shared"), "read", "run"),
			roleB("b-uma", "user:uma", "viewer", resScope("prod", "chains", "gone")),
			shareB("b-gina", "user:gina", resScope("prod", "chains", "x"), "*"),
			condB("b-hank", "user:hank", "owner", orgScope(), "business_hours"),
			condB("b-ivan", "user:ivan", "viewer", resScope("prod", "chains", "labeled"), "prod_label"),
			condB("b-ivy", "user:ivy", "viewer", resScope("prod", "chains", "plain"), "prod_label"),
			roleB("b-root", "user:root", "owner", orgScope()),
			roleB("b-rita", "user:rita", "reader", orgScope()),
			condB("b-flag", "user:flag", "builder", orgScope(), "break_glass"),
			condB("b-vars1", "user:vars", "viewer", orgScope(), "same_ns"),
			condB("b-vars2", "user:vars", "owner", orgScope(), "is_alice"),
			condB("b-alice-y", "user:alice", "owner", resScope("dev", "chains", "y"), "is_alice"),
			roleB("b-frank", "user:frank", "owner", orgScope()), // not a member
			roleB("b-ghosts", "team:ghosts", "owner", orgScope()),
			roleB("b-triage", "agent:Triage", "owner", orgScope()),
			roleB("b-auditor", "agent:Auditor", "owner", orgScope()),
			roleB("b-loose", "agent:Loose", "owner", nsScope("prod")),
			roleB("b-norole", "agent:NoRole", "owner", orgScope()),
			roleB("b-badrole", "agent:BadRole", "owner", orgScope()),
			roleB("b-old", "agent:Old", "owner", orgScope()),
			roleB("b-ci", "service:ci", "builder", orgScope()),
			{ID: "b-both", Principal: "user:nobody", Role: "owner", Actions: []string{"read"}, Scope: resScope("prod", "chains", "x")},
		},
		Resources: []Resource{
			{Namespace: "prod", Type: "chains", ID: "x"},
			{Namespace: "prod", Type: "chains", ID: "shared"},
			{Namespace: "prod", Type: "chains", ID: "labeled", Labels: map[string]string{"env": "prod"}},
			{Namespace: "prod", Type: "chains", ID: "plain"},
			{Namespace: "dev", Type: "chains", ID: "y"},
			{Namespace: "prod", Type: "widgets", ID: "w"},
		},
	}
}

// globexData reuses acme's ids with different grants, to catch leaks.
func globexData(m *policy.Model) OrgData {
	return OrgData{
		Org:        "globex",
		Policy:     m,
		Namespaces: []string{"prod"},
		Principals: []Principal{{ID: "user:alice"}, {ID: "user:bob"}, {ID: "user:zed"}},
		Bindings: []Binding{
			roleB("b-alice-view", "user:alice", "operator", nsScope("prod")),
			roleB("b-bob", "user:bob", "owner", orgScope()),
		},
		Resources: []Resource{{Namespace: "prod", Type: "chains", ID: "x"}},
	}
}

// newFixture returns an engine with acme and globex loaded at revision 2.
func newFixture(t testing.TB) (*Engine, *policy.Model) {
	t.Helper()
	m := mustPolicy(t, testPolicy)
	e := New()
	if err := e.LoadOrg(1, acmeData(m)); err != nil {
		t.Fatalf("LoadOrg acme: %v", err)
	}
	if err := e.LoadOrg(2, globexData(m)); err != nil {
		t.Fatalf("LoadOrg globex: %v", err)
	}
	return e, m
}

// reqOpt adjusts a request.
type reqOpt func(*Request)

func ctx(kv ...any) reqOpt {
	return func(r *Request) {
		r.Context = map[string]any{}
		for i := 0; i+1 < len(kv); i += 2 {
			r.Context[kv[i].(string)] = kv[i+1]
		}
	}
}

func obo(user string) reqOpt  { return func(r *Request) { r.OnBehalfOf = user } }
func at(t time.Time) reqOpt   { return func(r *Request) { r.Now = t } }
func inOrg(org string) reqOpt { return func(r *Request) { r.Org = org } }

// mkReq builds a request of org acme from "type:action" and a target
// "namespace/type/id", "namespace/type" (type level) or "type/id" (default
// namespace).
func mkReq(principal, perm, target string, opts ...reqOpt) Request {
	typ, action, _ := strings.Cut(perm, ":")
	r := Request{Org: "acme", Principal: principal, ResourceType: typ, Action: action}
	parts := strings.Split(target, "/")
	switch len(parts) {
	case 3:
		r.Namespace, r.ResourceID = parts[0], parts[2]
	case 2:
		if parts[0] == typ {
			r.ResourceID = parts[1]
		} else {
			r.Namespace = parts[0]
		}
	}
	for _, o := range opts {
		o(&r)
	}
	return r
}

type checkCase struct {
	req  Request
	want bool
}

func (c checkCase) String() string {
	verb := "deny"
	if c.want {
		verb = "allow"
	}
	r := c.req
	s := verb + " " + r.Org + " " + r.Principal + " " + r.ResourceType + ":" + r.Action + " " + r.Namespace + "/" + r.ResourceType + "/" + r.ResourceID
	if r.OnBehalfOf != "" {
		s += " for " + r.OnBehalfOf
	}
	if r.Context != nil {
		s += " ctx"
	}
	return s
}

func allow(principal, perm, target string, opts ...reqOpt) checkCase {
	return checkCase{mkReq(principal, perm, target, opts...), true}
}

func deny(principal, perm, target string, opts ...reqOpt) checkCase {
	return checkCase{mkReq(principal, perm, target, opts...), false}
}

func runChecks(t *testing.T, e *Engine, cases []checkCase) {
	t.Helper()
	for _, c := range cases {
		req := c.req
		got := e.Check(&req)
		if got.Allowed != c.want {
			ex := e.Explain(&req)
			t.Errorf("%s: got allowed=%v\n  explain: %s", c, got.Allowed, ex.Summary)
			continue
		}
		if got.Revision != e.Revision() {
			t.Errorf("%s: decision revision %d, engine at %d", c, got.Revision, e.Revision())
		}
		// Explain must agree with Check.
		if ex := e.Explain(&req); ex.Decision.Allowed != got.Allowed {
			t.Errorf("%s: Explain says allowed=%v, Check %v", c, ex.Decision.Allowed, got.Allowed)
		} else if got.Allowed && len(ex.Grants) == 0 {
			t.Errorf("%s: allowed but Explain lists no grant", c)
		}
	}
}
