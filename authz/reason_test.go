package authz

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestDenyReason pins the reason of each kind of deny, and that Check and
// Explain give the same one.
func TestDenyReason(t *testing.T) {
	e, _ := newFixture(t)
	tests := []struct {
		name string
		req  Request
		want Reason
	}{
		{"allowed: no reason", mkReq("user:root", "chains:read", "prod/chains/x"), ""},
		{"malformed principal", mkReq("bob", "chains:read", "prod/chains/x"), ReasonInvalidRequest},
		{"a team cannot act", mkReq("team:support", "chains:read", "prod/chains/x"), ReasonInvalidRequest},
		{"malformed on_behalf_of", mkReq("agent:Triage", "chains:read", "prod/chains/x", obo("alice")), ReasonInvalidRequest},
		{"malformed namespace", mkReq("user:root", "chains:read", "pr od/chains/x"), ReasonInvalidRequest},
		{"unknown org", mkReq("user:root", "chains:read", "prod/chains/x", inOrg("initech")), ReasonNoPolicy},
		{"unknown namespace", mkReq("user:root", "chains:read", "staging/chains/x"), ReasonUnknownNamespace},
		{"unknown namespace before not a member", mkReq("user:frank", "chains:read", "staging/chains/x"), ReasonUnknownNamespace},
		{"on behalf of, by a user", mkReq("user:root", "chains:read", "prod/chains/x", obo("user:alice")), ReasonInvalidDelegation},
		{"on behalf of an agent", mkReq("agent:Triage", "chains:read", "prod/chains/x", obo("agent:Auditor")), ReasonInvalidDelegation},
		{"not a member", mkReq("user:frank", "chains:read", "prod/chains/x"), ReasonNotMember},
		{"unknown principal", mkReq("user:bob2", "chains:read", "prod/chains/x"), ReasonNotMember},
		{"expired", mkReq("user:dave", "chains:read", "prod/chains/x"), ReasonExpired},
		{"expired agent", mkReq("agent:Old", "chains:read", "prod/chains/x"), ReasonExpired},
		{"agent without a ceiling", mkReq("agent:NoRole", "chains:read", "prod/chains/x"), ReasonAgentCeiling},
		{"agent ceiling lacks it", mkReq("agent:Triage", "chains:delete", "prod/chains/x"), ReasonAgentCeiling},
		{"no grant", mkReq("user:nobody", "widgets:read", "prod/widgets/w"), ReasonNoGrant},
		{"no grant: the role lacks the action", mkReq("user:alice", "chains:run", "prod/chains/x"), ReasonNoGrant},
		{"no grant: unknown action", mkReq("user:alice", "chains:frobnicate", "prod/chains/x"), ReasonNoGrant},
		{"no grant: the resource does not exist", mkReq("user:uma", "chains:read", "prod/chains/gone"), ReasonNoGrant},
		{"unknown namespace, though a conditional grant would match", mkReq("user:hank", "chains:read", "staging2/chains/x"), ReasonUnknownNamespace},
		{"condition false", mkReq("user:hank", "members:invite", "prod/members/m", ctx("hour", 20)), ReasonConditionFailed},
		{"condition error", mkReq("user:hank", "members:invite", "prod/members/m", ctx("hour", "ten")), ReasonConditionError},
		{"condition error: missing key", mkReq("user:hank", "members:invite", "prod/members/m"), ReasonConditionError},
		{"context flag absent", mkReq("user:flag", "chains:create", "prod/chains"), ReasonConditionFailed},
		{"condition through a team", mkReq("user:carol", "chains:create", "prod/chains", ctx("hour", 3)), ReasonConditionFailed},
		{"agent rule false", mkReq("agent:Triage", "chains:run", "prod/chains/x", ctx("hour", 3)), ReasonConditionFailed},
		{"agent rule error", mkReq("agent:Triage", "chains:run", "prod/chains/x"), ReasonConditionError},
		{"on behalf of: the user is not a member", mkReq("agent:Triage", "chains:read", "prod/chains/x", obo("user:frank")), ReasonNotMember},
		{"on behalf of: the principal first", mkReq("agent:Triage", "chains:delete", "prod/chains/x", obo("user:frank")), ReasonAgentCeiling},
		{"on behalf of: the user lacks it", mkReq("agent:Triage", "chains:run", "prod/chains/x", ctx("hour", 10), obo("user:alice")), ReasonNoGrant},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := e.CheckWithReason(&tt.req)
			if d.Allowed != (tt.want == "") {
				t.Fatalf("allowed = %v, want %v", d.Allowed, tt.want == "")
			}
			if d.Reason != tt.want {
				t.Errorf("CheckWithReason reason = %q, want %q", d.Reason, tt.want)
			}
			// Check decides the same and does not look for a reason.
			if c := e.Check(&tt.req); c.Allowed != d.Allowed || c.Reason != "" {
				t.Errorf("Check = allowed %v reason %q, want allowed %v and no reason", c.Allowed, c.Reason, d.Allowed)
			}
			if ex := e.Explain(&tt.req); ex.Decision.Reason != tt.want {
				t.Errorf("Explain reason = %q, want %q (%s)", ex.Decision.Reason, tt.want, ex.Summary)
			}
		})
	}
}

// TestDenyReasonsClosedSet: Reasons lists each constant once.
func TestDenyReasonsClosedSet(t *testing.T) {
	seen := map[Reason]bool{}
	for _, r := range Reasons() {
		if seen[r] || r == "" {
			t.Errorf("reason %q listed twice or empty", r)
		}
		seen[r] = true
	}
	if diff := cmp.Diff(15, len(seen)); diff != "" {
		t.Errorf("number of reasons (-want +got):\n%s", diff)
	}
}

// TestExplainKeepsAgentConditionError: an agent's `can … when` condition
// that cannot be evaluated says why, as a binding's condition does.
func TestExplainKeepsAgentConditionError(t *testing.T) {
	e, _ := newFixture(t)
	req := mkReq("agent:Triage", "chains:run", "prod/chains/x") // no "hour" in the context
	ex := e.Explain(&req)
	if ex.Decision.Allowed {
		t.Fatal("allowed without business_hours")
	}
	var note string
	for _, n := range ex.Near {
		if n.Binding.ID == "b-triage" {
			note = n.Note
		}
	}
	for _, want := range []string{"only when business_hours, which could not be evaluated", "hour"} {
		if !strings.Contains(note, want) {
			t.Errorf("b-triage note %q lacks %q", note, want)
		}
		if !strings.Contains(ex.Summary, want) {
			t.Errorf("summary %q lacks %q", ex.Summary, want)
		}
	}
}
