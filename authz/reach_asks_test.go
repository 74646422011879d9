package authz

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const reachAskPolicy = `
condition in_prod = "resource.namespace == 'prod'"
condition business_hours = "context.hour >= 9 && context.hour < 18"

role viewer level 10 {
    permission chains { read }
    permission tools { read }
}
role operator: viewer level 30 {
    permission chains { run }
    permission tools { call }
    ask before run chains
}
role builder: operator level 50 {
    permission chains { create, update }
    ask before update chains when in_prod from operator quorum 2
}
role caller level 20 {
    permission tools { call }
    ask before call tools from operator
}
role owner level 100 {
    permission * { * }
}

agent Deployer: operator {
    can run chains
    can read chains
    ask before run chains when in_prod
}
`

// reachAsks renders every entry of r as "ns permission [on type/id]" and
// the ask rules marked on it ("rule" or "rule [when c]").
func reachAskView(r Reach) map[string][]string {
	out := map[string][]string{}
	for _, nr := range r.Namespaces {
		for _, e := range nr.Entries {
			k := nr.Namespace + " " + e.Permission.String()
			if e.Resource != (ResourceRef{}) {
				k += " on " + e.Resource.Type + "/" + e.Resource.ID
			}
			v := []string{}
			for _, a := range e.Asks {
				s := a.Rule.Text() + " (" + a.Rule.Owner + ")"
				if len(a.When) > 0 {
					s += " [when " + strings.Join(a.When, ", ") + "]"
				}
				v = append(v, s)
			}
			out[k] = v
		}
	}
	return out
}

// TestReachMarksApprovals: the blast radius says which reachable actions
// need approval and under which rule — the roles held at org scope, in
// the namespace, through a team or on one resource, an agent's own rules
// and its ceiling's — and marks nothing the engine would not ask for
// (an expired binding's role, a role held in another namespace).
func TestReachMarksApprovals(t *testing.T) {
	m := mustPolicy(t, reachAskPolicy)
	d := OrgData{
		Org: "acme", Policy: m, Namespaces: []string{"prod"},
		Principals: []Principal{{ID: "user:bob"}, {ID: "user:carl"}, {ID: "user:dan"}, {ID: "user:erin"}, {ID: "agent:Deployer"}},
		Teams:      []Team{{Slug: "callers", Members: []string{"user:dan"}}},
		Resources: []Resource{{Namespace: "prod", Type: "chains", ID: "x"}, {Namespace: "prod", Type: "tools", ID: "search"},
			{Namespace: "default", Type: "chains", ID: "z"}},
		Bindings: []Binding{
			roleB("b1", "user:bob", "builder", nsScope("prod")),
			condB("b2", "user:carl", "operator", orgScope(), "business_hours"),
			roleB("b3", "user:dan", "viewer", nsScope("prod")),
			roleB("b4", "user:dan", "operator", resScope("prod", "chains", "x")),
			roleB("b5", "team:callers", "caller", nsScope("prod")),
			until(roleB("b6", "user:dan", "builder", nsScope("prod")), past), // expired: its rules do not apply
			roleB("b7", "user:erin", "owner", nsScope("prod")),
			roleB("b8", "user:erin", "operator", nsScope("default")), // not in prod
			roleB("b9", "agent:Deployer", "operator", orgScope()),
		},
	}
	e := New()
	if err := e.LoadOrg(1, d); err != nil {
		t.Fatal(err)
	}
	const (
		runAsk    = "ask before run chains (role operator)"
		updateAsk = "ask before update chains when in_prod from operator quorum 2 (role builder)"
		callAsk   = "ask before call tools from operator (role caller)"
		agentAsk  = "ask before run chains when in_prod (agent Deployer)"
		carlsWhen = " [when business_hours]"
	)
	tests := []struct {
		principal string
		want      map[string][]string
	}{
		{"user:bob", map[string][]string{ // ask rules are not inherited: builder's own only
			"prod chains:run":    {},
			"prod chains:create": {},
			"prod chains:update": {updateAsk},
			"prod chains:read":   {},
			"prod tools:call":    {},
			"prod tools:read":    {},
		}},
		{"user:carl", map[string][]string{ // a conditional binding: the rule applies when it holds
			"default chains:run":  {runAsk + carlsWhen},
			"default chains:read": {},
			"default tools:call":  {},
			"default tools:read":  {},
			"prod chains:run":     {runAsk + carlsWhen},
			"prod chains:read":    {},
			"prod tools:call":     {},
			"prod tools:read":     {},
		}},
		{"user:dan", map[string][]string{ // operator on one chain; caller through a team
			"prod chains:read":             {},
			"prod tools:read":              {},
			"prod tools:call":              {callAsk},
			"prod chains:run on chains/x":  {runAsk},
			"prod chains:read on chains/x": {},
		}},
		{"user:erin", map[string][]string{ // every action in prod: no rule there; operator's only in default
			"prod *:*":            {},
			"default chains:run":  {runAsk},
			"default chains:read": {},
			"default tools:call":  {},
			"default tools:read":  {},
		}},
		{"agent:Deployer", map[string][]string{ // its own rule and its ceiling's
			"default chains:run":  {agentAsk, runAsk},
			"default chains:read": {},
			"default tools:call":  {},
			"default tools:read":  {},
			"prod chains:run":     {agentAsk, runAsk},
			"prod chains:read":    {},
			"prod tools:call":     {},
			"prod tools:read":     {},
		}},
	}
	for _, tc := range tests {
		r, err := e.Reach("acme", tc.principal, time.Time{})
		if err != nil {
			t.Fatalf("%s: %v", tc.principal, err)
		}
		if diff := cmp.Diff(tc.want, reachAskView(r)); diff != "" {
			t.Errorf("%s's reach with approvals (-want +got):\n%s", tc.principal, diff)
		}
	}
	// The marks agree with the engine's decisions.
	for _, c := range []struct {
		principal, perm, target string
		approval                bool
	}{
		{"user:bob", "chains:update", "prod/chains/x", true},
		{"user:bob", "chains:run", "prod/chains/x", false},
		{"user:dan", "chains:run", "prod/chains/x", true},
		{"user:dan", "tools:call", "prod/tools/search", true},
		{"user:erin", "chains:run", "prod/chains/x", false},
		{"user:erin", "chains:run", "default/chains/z", true},
		{"agent:Deployer", "chains:run", "default/chains/z", true},
	} {
		req := mkReq(c.principal, c.perm, c.target)
		if d := e.Check(&req); d.ApprovalRequired != c.approval || d.Allowed == c.approval {
			t.Errorf("%s %s %s: %+v, want approval required %v", c.principal, c.perm, c.target, d, c.approval)
		}
	}
}
