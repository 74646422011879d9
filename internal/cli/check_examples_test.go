package cli

import (
	"strings"
	"testing"
)

// TestPolicyCheckExamples: every example in `policy check --help` runs
// and allows, as an example of how to ask should.
func TestPolicyCheckExamples(t *testing.T) {
	cmd := newCheckCmd(&env{})
	lines := strings.Split(strings.TrimSpace(cmd.Example), "\n")
	if len(lines) < 2 {
		t.Fatalf("examples: %q", cmd.Example)
	}
	for _, line := range lines {
		args := strings.Fields(line)
		if len(args) < 3 || args[0] != "gatehouse" {
			t.Fatalf("example %q does not start with gatehouse", line)
		}
		for i, a := range args {
			if strings.HasPrefix(a, "examples/") {
				args[i] = "../../" + a // the tests run in internal/cli
			}
		}
		if r := run(t, "", args[1:]...); r.code != ExitOK {
			t.Errorf("%s: exit %d\n%s%s", line, r.code, r.stdout, r.stderr)
		}
	}
}
