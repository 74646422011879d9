package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeSuite writes a policy and a suite into one directory.
func writeSuite(t *testing.T, policySrc, suiteSrc string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "p.policy"), []byte(policySrc), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "p_test.yaml"), []byte(suiteSrc), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

const passingSuite = `bindings:
  - {principal: user:ann, role: viewer}
  - {principal: agent:Bot, role: operator}
tests:
  - {name: ann reads, principal: user:ann, permission: chains:read, expect: allow}
  - {name: ann cannot run, principal: user:ann, permission: chains:run, expect: deny, reason: no_grant}
  - name: bot runs in hours
    principal: agent:Bot
    permission: chains:run
    context: {business_hours: true}
    expect: allow
    obligations: [must audit chains]
`

func TestPolicyTestExitCodes(t *testing.T) {
	pass := writeSuite(t, goodPolicy, passingSuite)
	fail := writeSuite(t, goodPolicy, strings.Replace(passingSuite, "chains:run, expect: deny, reason: no_grant", "chains:run, expect: allow", 1))
	badSuite := writeSuite(t, goodPolicy, "tests:\n  - {principal: user:ann, permission: chains:read, expect: alow}\n")
	badPolicy := writeSuite(t, "role r {\n  permission chain* { read }\n}\n", passingSuite)

	tests := []struct {
		name      string
		args      []string
		code      int
		stdout    []string
		stderr    []string
		notStdout []string
	}{
		{"pass", []string{pass}, 0, []string{"ok   " + filepath.Join(pass, "p_test.yaml") + " (p.policy): 3 passed, 0 failed"}, nil, []string{"FAIL"}},
		{"verbose", []string{pass, "-v"}, 0, []string{"ok   " + filepath.Join(pass, "p_test.yaml") + ":5:5: ann reads"}, nil, nil},
		{"fail", []string{fail}, 1, []string{
			"FAIL " + filepath.Join(fail, "p_test.yaml") + ":6:5: ann cannot run: got deny, want allow",
			"2 passed, 1 failed"}, nil, nil},
		{"run filter skips the failure", []string{fail, "--run", "^ann reads$"}, 0, []string{"1 passed, 0 failed"}, nil, nil},
		{"run filter matches nothing", []string{pass, "--run", "nobody"}, 0, []string{`no case matches --run "nobody"`}, nil, nil},
		{"bad run pattern", []string{pass, "--run", "("}, 2, nil, []string{"--run: error parsing regexp"}, nil},
		{"bad suite", []string{badSuite}, 2, nil, []string{filepath.Join(badSuite, "p_test.yaml") + `:2:60: error: expect "alow": want allow, deny or approval_required`}, nil},
		{"bad policy", []string{badPolicy}, 2, nil, []string{filepath.Join(badPolicy, "p.policy") + ":2:", "error: policy p.policy has 1 error(s)"}, nil},
		{"bad suite beats failures", []string{fail, badSuite}, 2, []string{"2 passed, 1 failed"}, []string{"alow"}, nil},
		{"no suites", []string{t.TempDir()}, 2, nil, []string{"no *_test.yaml suites in"}, nil},
		{"missing path", []string{filepath.Join(pass, "nope")}, 2, nil, []string{"no such file"}, nil},
		{"templates", []string{"../../templates"}, 0, []string{"mentiko_test.yaml (mentiko.policy): 304 passed, 0 failed"}, nil, []string{"FAIL"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := run(t, "", append([]string{"policy", "test"}, tc.args...)...)
			if r.code != tc.code {
				t.Errorf("exit %d, want %d\nstdout: %s\nstderr: %s", r.code, tc.code, r.stdout, r.stderr)
			}
			for _, w := range tc.stdout {
				if !strings.Contains(r.stdout, w) {
					t.Errorf("stdout lacks %q:\n%s", w, r.stdout)
				}
			}
			for _, w := range tc.notStdout {
				if strings.Contains(r.stdout, w) {
					t.Errorf("stdout has %q:\n%s", w, r.stdout)
				}
			}
			for _, w := range tc.stderr {
				if !strings.Contains(r.stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, r.stderr)
				}
			}
		})
	}
}

func TestPolicyTestTemplatePolicyAndJSON(t *testing.T) {
	dir := t.TempDir()
	suitePath := filepath.Join(dir, "m_test.yaml")
	src := "policy: template:mentiko\nbindings: [{principal: user:v, role: viewer}]\ntests:\n  - {principal: user:v, permission: chains:run, expect: deny}\n  - {principal: user:v, permission: chains:read, expect: deny}\n"
	if err := os.WriteFile(suitePath, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	r := run(t, "", "policy", "test", suitePath, "-o", "json")
	if r.code != 1 {
		t.Fatalf("exit %d, want 1: %s %s", r.code, r.stdout, r.stderr)
	}
	var sum testSummary
	if err := json.Unmarshal([]byte(r.stdout), &sum); err != nil {
		t.Fatal(err)
	}
	if sum.Passed != 1 || sum.Failed != 1 || len(sum.Cases) != 2 || sum.Cases[1].Passed || sum.Cases[1].Got != "allow" || sum.Cases[1].Line != 5 {
		t.Errorf("summary %+v", sum)
	}
}

func TestPolicyTestJUnit(t *testing.T) {
	fail := writeSuite(t, goodPolicy, strings.Replace(passingSuite, "chains:run, expect: deny, reason: no_grant", "chains:run, expect: allow", 1))
	xml := filepath.Join(t.TempDir(), "out.xml")
	r := run(t, "", "policy", "test", fail, "--junit", xml)
	if r.code != 1 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	b, err := os.ReadFile(xml)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{`<testsuites tests="3" failures="1">`, `<testcase name="ann cannot run"`, `<failure message="got deny, want allow`} {
		if !strings.Contains(string(b), w) {
			t.Errorf("JUnit lacks %q:\n%s", w, b)
		}
	}
}

func TestLintStrict(t *testing.T) {
	good := writeFile(t, "good.policy", goodPolicy)
	warn := writeFile(t, "warn.policy", "role r { permission chains { read } }\nagent A: r {\n    can delete chains\n}\n")
	for _, tc := range []struct {
		args []string
		code int
	}{
		{[]string{good}, 0},
		{[]string{good, "--strict"}, 0},
		{[]string{warn}, 0},
		{[]string{warn, "--strict"}, 2},
		{[]string{warn, "--strict", "--disable", "agent-rule-not-granted"}, 0},
	} {
		r := run(t, "", append([]string{"policy", "lint"}, tc.args...)...)
		if r.code != tc.code {
			t.Errorf("lint %v: exit %d, want %d (%s)", tc.args, r.code, tc.code, r.stdout)
		}
	}
}
