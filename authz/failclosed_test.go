package authz

import (
	"strings"
	"testing"
)

// TestRulesThatGuardFailClosed (threat-model row 51): an agent's `must`
// rule and an `ask before` rule apply when their condition fails to
// evaluate (a key the caller left out, a value of another type), and not
// when it is false; a grant whose condition fails to evaluate denies. A
// caller cannot shed an obligation or an approval by breaking the
// condition that triggers it.
func TestRulesThatGuardFailClosed(t *testing.T) {
	src := strings.Replace(testPolicy, "must escalate ticket when critical", "must escalate ticket when big", 1)
	src = strings.Replace(src, "agent Auditor: viewer {\n", "agent Auditor: viewer {\n    ask before read chains when big\n", 1)
	src += "\ncondition big = \"context.amount > 1000\"\n"
	m := mustPolicy(t, src)
	e := New()
	if err := e.LoadOrg(1, acmeData(m)); err != nil {
		t.Fatal(err)
	}
	for _, row := range []struct {
		name     string
		context  reqOpt
		must     bool // Triage: "must escalate ticket" attached
		approval bool // Auditor: approval required
	}{
		{"small amount", ctx("amount", 5), false, false},
		{"large amount", ctx("amount", 5000), true, true},
		{"amount left out", ctx("other", 1), true, true},
		{"amount as a string", ctx("amount", "5000"), true, true},
	} {
		t.Run(row.name, func(t *testing.T) {
			req := mkReq("agent:Triage", "chains:read", "prod/chains/x", row.context)
			d := e.Check(&req)
			if !d.Allowed {
				t.Fatalf("Triage read: %+v", d)
			}
			if got := len(d.Obligations) == 1; got != row.must {
				t.Errorf("Triage's obligation attached = %v, want %v", got, row.must)
			}
			req = mkReq("agent:Auditor", "chains:read", "prod/chains/x", row.context)
			d = e.Check(&req)
			if d.ApprovalRequired != row.approval || d.Allowed == row.approval {
				t.Errorf("Auditor read: allowed %v, approval required %v; want approval required %v", d.Allowed, d.ApprovalRequired, row.approval)
			}
		})
	}
}
