package authz_test

import (
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/policy"
	"github.com/google/go-cmp/cmp"
)

// ---------------------------------------------------------------------------
// The reference checked by hand: a table that reads like DESIGN §1.1, run
// against the reference and against the engine. If the reference were
// wrong, the differential would be comparing against nonsense.

const specPolicy = `
condition business_hours = "context.hour >= 9 && context.hour < 18"
condition owns = "resource.attributes.owner == principal.id"

role viewer level 10 {
    permission chains { read }
}
role operator: viewer level 30 {
    permission chains { run }
}
role admin level 80 {
    permission * { * }
}

agent Triage: operator {
    can run chains when business_hours
    must escalate ticket when critical
    should report issues
}
`

func specWorld(t *testing.T) world {
	t.Helper()
	pol, diags := policy.Load("spec.policy", []byte(specPolicy), policy.LintOptions{})
	if diags.HasErrors() {
		t.Fatalf("spec policy: %v", diags.Errors())
	}
	expired := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	acme := &authz.OrgData{
		Org: "acme", Policy: pol, Namespaces: []string{"dev", "prod"},
		Principals: []authz.Principal{
			{ID: "user:alice"}, {ID: "user:bob"}, {ID: "user:carol"}, {ID: "user:erin"}, {ID: "user:root"},
			{ID: "user:dave", ExpiresAt: expired},
			{ID: "agent:Triage", Role: "admin"}, // declared: the policy's role (operator) is the ceiling
			{ID: "agent:Loose", Role: "viewer"}, // undeclared: its Role is the ceiling
			{ID: "agent:NoRole"},                // undeclared, no role: nothing
			{ID: "service:ci"},
			{ID: "user:al ice"}, // not an identifier: a malformed id, whatever the data says
		},
		Teams: []authz.Team{{Slug: "support", Members: []string{"user:carol"}}},
		Bindings: []authz.Binding{
			{ID: "b1", Principal: "user:alice", Role: "viewer"},
			{ID: "b2", Principal: "user:bob", Role: "operator", Scope: authz.Scope{Namespace: "dev"}},
			{ID: "b3", Principal: "team:support", Actions: []string{"run", "read"}, Scope: authz.Scope{Namespace: "prod", Type: "chains", ID: "x"}},
			{ID: "b4", Principal: "team:support", Actions: []string{"*"}, Scope: authz.Scope{Namespace: "prod", Type: "chains", ID: "gone"}},
			{ID: "b5", Principal: "user:erin", Role: "admin", Condition: "owns"},
			{ID: "b6", Principal: "user:root", Role: "admin"},
			{ID: "b7", Principal: "user:dave", Role: "admin"},
			{ID: "b8", Principal: "agent:Triage", Role: "admin"},
			{ID: "b9", Principal: "agent:Loose", Role: "admin"},
			{ID: "b10", Principal: "agent:NoRole", Role: "admin"},
			{ID: "b11", Principal: "service:ci", Role: "operator"},
			{ID: "b12", Principal: "user:carol", Role: "nosuchrole"},
			{ID: "b13", Principal: "user:carol", Role: "viewer", Scope: authz.Scope{Namespace: "dev"}, Condition: "flag"},
			{ID: "b14", Principal: "user:al ice", Role: "admin"},
		},
		Resources: []authz.Resource{
			{Namespace: "prod", Type: "chains", ID: "x"},
			{Namespace: "prod", Type: "chains", ID: "mine", Attributes: map[string]any{"owner": "user:erin"}},
			{Namespace: "dev", Type: "chains", ID: "y"},
		},
	}
	globex := &authz.OrgData{ // the same ids, more access: must never leak into acme
		Org: "globex", Policy: pol,
		Principals: []authz.Principal{{ID: "user:alice"}, {ID: "user:zed"}},
		Bindings:   []authz.Binding{{ID: "b1", Principal: "user:alice", Role: "admin"}, {ID: "b2", Principal: "user:zed", Role: "admin"}},
	}
	return world{"acme": acme, "globex": globex}
}

func TestReferenceSpec(t *testing.T) {
	w := specWorld(t)
	now := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	req := func(principal, perm, where string, ctx map[string]any) *authz.Request {
		typ, action, _ := strings.Cut(perm, ":")
		r := &authz.Request{Org: "acme", Principal: principal, ResourceType: typ, Action: action, Context: ctx, Now: now}
		parts := strings.Split(where, "/") // "ns" or "ns/id"
		r.Namespace = parts[0]
		if len(parts) > 1 {
			r.ResourceID = parts[1]
		}
		return r
	}
	hour := func(h int) map[string]any { return map[string]any{"hour": h} }
	allow := func(r *authz.Request) decisionView { return decisionView{Allowed: true} }
	deny := func(*authz.Request) decisionView { return decisionView{} }
	tests := []struct {
		name string
		req  *authz.Request
		want func(*authz.Request) decisionView
	}{
		{"org-wide role grants in every namespace", req("user:alice", "chains:read", "prod/x", nil), allow},
		{"the role lacks the action", req("user:alice", "chains:run", "prod/x", nil), deny},
		{"namespace role in its namespace", req("user:bob", "chains:run", "dev/y", nil), allow},
		{"namespace role, unknown id", req("user:bob", "chains:run", "dev/nope", nil), allow},
		{"namespace role, type level", req("user:bob", "chains:run", "dev", nil), allow},
		{"namespace role in another namespace", req("user:bob", "chains:run", "prod/x", nil), deny},
		{"inherited permission", req("user:bob", "chains:read", "dev/y", nil), allow},
		{"unknown namespace", req("user:alice", "chains:read", "staging/x", nil), deny},
		{"empty namespace is default", req("user:alice", "chains:read", "", nil), allow},
		{"team share reaches a member", req("user:carol", "chains:run", "prod/x", nil), allow},
		{"share grants only its actions", req("user:carol", "chains:delete", "prod/x", nil), deny},
		{"share does not reach other resources", req("user:carol", "chains:run", "prod/mine", nil), deny},
		{"share on a resource that does not exist", req("user:carol", "chains:run", "prod/gone", nil), deny},
		{"share is not type level", req("user:carol", "chains:run", "prod", nil), deny},
		{"unknown role grants nothing", req("user:carol", "chains:read", "prod", nil), deny},
		{"condition as a context flag holds", req("user:carol", "chains:read", "dev/y", map[string]any{"flag": true}), allow},
		{"context flag must be the boolean true", req("user:carol", "chains:read", "dev/y", map[string]any{"flag": "true"}), deny},
		{"condition holds for the owner", req("user:erin", "chains:delete", "prod/mine", nil), allow},
		{"condition fails for another resource", req("user:erin", "chains:delete", "prod/x", nil), deny},
		{"wildcard grants unknown types and actions", req("user:root", "ghosts:zap", "prod/anything", nil), allow},
		{"a wildcard in the request is no wildcard", req("user:root", "chains:*", "prod/x", nil), deny},
		{"empty action", req("user:root", "chains:", "prod/x", nil), deny},
		{"expired principal", req("user:dave", "chains:read", "prod/x", nil), deny},
		{"not a member", req("user:zed", "chains:read", "prod/x", nil), deny},
		{"a team cannot act", req("team:support", "chains:run", "prod/x", nil), deny},
		{"malformed principal", req("alice", "chains:read", "prod/x", nil), deny},
		{"unknown kind", req("robot:alice", "chains:read", "prod/x", nil), deny},
		{"principal name that is not an identifier", req("user:al ice", "chains:read", "prod/x", nil), deny},
		{"agent capped by its declared ceiling", req("agent:Triage", "chains:delete", "prod/x", nil), deny},
		{"agent within its ceiling, with advice", req("agent:Triage", "chains:read", "prod/x", nil),
			func(*authz.Request) decisionView {
				return decisionView{Allowed: true, Advice: []string{"should report issues"}}
			}},
		{"agent conditional rule holds, with obligations", req("agent:Triage", "chains:run", "prod/x", map[string]any{"hour": 10, "critical": true}),
			func(*authz.Request) decisionView {
				return decisionView{Allowed: true, Obligations: []string{"must escalate ticket [when critical]"}, Advice: []string{"should report issues"}}
			}},
		{"agent conditional rule fails", req("agent:Triage", "chains:run", "prod/x", hour(20)), deny},
		{"undeclared agent capped by its Role", req("agent:Loose", "chains:run", "prod/x", nil), deny},
		{"undeclared agent within its Role", req("agent:Loose", "chains:read", "prod/x", nil), allow},
		{"agent without a ceiling", req("agent:NoRole", "chains:read", "prod/x", nil), deny},
	}
	obo := func(actor, user, perm string) *authz.Request {
		r := req(actor, perm, "prod/x", hour(10))
		r.OnBehalfOf = user
		return r
	}
	tests = append(tests, []struct {
		name string
		req  *authz.Request
		want func(*authz.Request) decisionView
	}{
		{"on behalf: both allowed", obo("service:ci", "user:alice", "chains:read"), allow},
		{"on behalf: the user is not", obo("service:ci", "user:alice", "chains:run"), deny},
		{"on behalf: the agent is not", obo("agent:Loose", "user:root", "chains:run"), deny},
		{"on behalf: agent with obligations", obo("agent:Triage", "user:root", "chains:run"),
			func(*authz.Request) decisionView {
				return decisionView{Allowed: true, Advice: []string{"should report issues"}}
			}},
		{"on behalf: a user cannot act for a user", obo("user:root", "user:alice", "chains:read"), deny},
		{"on behalf of a team", obo("service:ci", "team:support", "chains:read"), deny},
		{"on behalf of a non-member", obo("service:ci", "user:zed", "chains:read"), deny},
	}...)
	tests = append(tests, struct {
		name string
		req  *authz.Request
		want func(*authz.Request) decisionView
	}{"unknown org", &authz.Request{Org: "umbrella", Principal: "user:alice", ResourceType: "chains", Action: "read", Now: now}, deny})

	engine := authz.New()
	for i, org := range sortedKeys(w) {
		if err := engine.LoadOrg(uint64(i+1), *w[org]); err != nil {
			t.Fatalf("LoadOrg(%s): %v", org, err)
		}
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := tt.want(tt.req)
			if diff := cmp.Diff(want, refView(reference{}.Check(w, tt.req))); diff != "" {
				t.Errorf("reference: %s (-want +got):\n%s", describeRequest(tt.req), diff)
			}
			if diff := cmp.Diff(want, viewOf(engine.Check(tt.req))); diff != "" {
				t.Errorf("engine: %s (-want +got):\n%s", describeRequest(tt.req), diff)
			}
		})
	}
}
