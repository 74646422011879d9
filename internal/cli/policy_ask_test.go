package cli

import (
	"encoding/json"
	"strings"
	"testing"
)

const askPolicyText = `
condition in_prod = "context.env == 'prod'"
role admin level 100 {
    permission * { * }
}
role builder level 50 {
    permission chains { update, run }
    ask before update chains when in_prod from admin quorum 2
}
agent Deployer: builder {
    ask before run chains
}
`

// TestPolicyCheckApproval: `policy check` says approval_required (exit 7,
// JSON result) when an ask rule applies, and allow or deny otherwise; the
// matrix marks the cells ✓?.
func TestPolicyCheckApproval(t *testing.T) {
	p := writeFile(t, "ask.policy", askPolicyText)
	tests := []struct {
		name   string
		args   []string
		code   int
		result string
	}{
		{"role, condition holds", []string{"--subject", "role:builder", "--permission", "chains:update", "--context", "env=prod"}, ExitApproval, "approval_required"},
		{"role, condition false", []string{"--subject", "role:builder", "--permission", "chains:update", "--context", "env=dev"}, ExitOK, "allow"},
		{"agent", []string{"--subject", "agent:Deployer", "--permission", "chains:run"}, ExitApproval, "approval_required"},
		{"denied stays denied", []string{"--subject", "role:builder", "--permission", "chains:delete"}, ExitDeny, "deny"},
		{"admin", []string{"--subject", "role:admin", "--permission", "chains:update", "--context", "env=prod"}, ExitOK, "allow"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, "", append([]string{"policy", "check", p, "-o", "json"}, tt.args...)...)
			if r.code != tt.code {
				t.Fatalf("exit %d, want %d; stdout %q stderr %q", r.code, tt.code, r.stdout, r.stderr)
			}
			var got struct {
				Allowed bool
				Result  string
				Reason  string
			}
			if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
				t.Fatalf("%v: %s", err, r.stdout)
			}
			if got.Result != tt.result || got.Allowed != (tt.result == "allow") {
				t.Errorf("result %q allowed %v, want %q", got.Result, got.Allowed, tt.result)
			}
			if tt.result == "approval_required" && !strings.Contains(got.Reason, "ask before") {
				t.Errorf("reason %q does not name the rule", got.Reason)
			}
			text := run(t, "", append([]string{"policy", "check", p}, tt.args...)...)
			if first, _, _ := strings.Cut(text.stdout, "\n"); first != tt.result || text.code != tt.code {
				t.Errorf("text: first line %q exit %d, want %q %d", first, text.code, tt.result, tt.code)
			}
		})
	}
	m := run(t, "", "policy", "matrix", p)
	if m.code != 0 || !strings.Contains(m.stdout, "✓?") {
		t.Errorf("matrix: exit %d, no ✓? in\n%s", m.code, m.stdout)
	}
}
