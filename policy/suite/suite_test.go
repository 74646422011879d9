package suite_test

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/policy"
	"github.com/gatehouse-dev/gatehouse/policy/suite"
	"github.com/google/go-cmp/cmp"
)

func loadExample(t *testing.T) (*suite.Suite, *policy.Model) {
	t.Helper()
	src, err := os.ReadFile("../../examples/agents_test.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s, diags := suite.Decode("agents_test.yaml", src)
	if diags.HasErrors() {
		t.Fatal(diags.Errors())
	}
	psrc, err := os.ReadFile("../../examples/" + s.Policy)
	if err != nil {
		t.Fatal(err)
	}
	return s, policy.MustLoad(s.Policy, psrc)
}

func TestExampleSuitePasses(t *testing.T) {
	s, m := loadExample(t)
	results, err := s.Run(m, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(results) != 7+6 {
		t.Errorf("ran %d cases, want 13", len(results))
	}
	for _, r := range results {
		if !r.Passed {
			t.Errorf("%s: %s: %s", r.Case.Pos, r.Case.Name, r.Failure)
		}
	}
}

// Every kind of expectation can fail, and says how.
func TestExpectationsFail(t *testing.T) {
	_, m := loadExample(t)
	const fixtures = `
namespaces: [prod]
bindings:
  - {principal: agent:Triage, role: operator}
  - {principal: user:alice, role: viewer}
`
	tests := []struct {
		name, test, want string
	}{
		{"decision", `{principal: user:alice, permission: chains:run, expect: allow}`, "got deny, want allow"},
		{"decision allow", `{principal: user:alice, permission: chains:read, expect: deny}`, "got allow, want deny"},
		{"obligations", `{principal: agent:Triage, permission: chains:run, context: {hour: 10}, expect: allow, obligations: [must escalate ticket]}`, `obligations differ: missing ["must escalate ticket"]`},
		{"advice", `{principal: agent:Triage, permission: chains:run, context: {hour: 10}, expect: allow, advice: []}`, `advice differ: missing [], unexpected ["should report issues"]`},
		{"reason", `{principal: user:alice, permission: chains:run, expect: deny, reason: not_member}`, `reason "no_grant", want "not_member"`},
		{"explain", `{principal: user:alice, permission: chains:read, expect: allow, explain: "team:nobody"}`, `does not contain "team:nobody"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, diags := suite.Decode("x_test.yaml", []byte(fixtures+"tests:\n  - "+tc.test+"\n"))
			if diags.HasErrors() {
				t.Fatal(diags.Errors())
			}
			res, err := s.Run(m, nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(res) != 1 || res[0].Passed {
				t.Fatalf("results %+v: want one failure", res)
			}
			if !strings.Contains(res[0].Failure, tc.want) {
				t.Errorf("failure %q does not say %q", res[0].Failure, tc.want)
			}
		})
	}
}

func TestRunFilter(t *testing.T) {
	s, m := loadExample(t)
	res, err := s.Run(m, regexp.MustCompile(`^operators at night/.*/agent:Triage/`))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range res {
		names = append(names, r.Case.Name)
	}
	want := []string{
		"operators at night/chains:read/agent:Triage/chains:read",
		"operators at night/decisions:approve/agent:Triage/decisions:approve",
	}
	if diff := cmp.Diff(want, names); diff != "" {
		t.Errorf("cases run (-want +got):\n%s", diff)
	}
}

// A bad test file gets every mistake back, each at its file:line:col.
func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		name, src string
		want      []string
	}{
		{"not yaml", "tests: [\n", []string{"x_test.yaml:1:1: error: not valid YAML"}},
		{"empty", "", []string{"x_test.yaml:1:1: error: empty test file"}},
		{"not a mapping", "- a\n", []string{"x_test.yaml:1:1: error: test file: want a mapping, got a list"}},
		{"no tests", "name: x\n", []string{"x_test.yaml:1:1: error: test file has no tests and no tables"}},
		{"unknown key", "tests: []\nexpct: allow\n", []string{`x_test.yaml:2:1: error: test file: unknown key "expct"`}},
		{"misspelt expect", "tests:\n  - {principal: user:a, permission: a:b, expct: allow}\n", []string{
			`x_test.yaml:2:5: error: test: principal, permission and expect are required`,
			`x_test.yaml:2:42: error: test: unknown key "expct"`}},
		{"bad expect", "tests:\n  - {principal: user:a, permission: a:b, expect: maybe}\n", []string{
			`x_test.yaml:2:50: error: expect "maybe": want allow, deny or approval_required`}},
		{"approval reserved", "tests:\n  - {principal: user:a, permission: a:b, expect: approval_required}\n", []string{
			`x_test.yaml:2:50: error: expect: approval_required is reserved`}},
		{"wildcard", "tests:\n  - {principal: user:a, permission: 'a:*', expect: deny}\n", []string{
			`x_test.yaml:2:37: error: permission "a:*": a test asks about one concrete permission`}},
		{"bad reason", "tests:\n  - {principal: user:a, permission: a:b, expect: deny, reason: nope}\n", []string{
			`x_test.yaml:2:64: error: reason "nope" is not a deny reason`}},
		{"reason on allow", "tests:\n  - {principal: user:a, permission: a:b, expect: allow, reason: no_grant}\n", []string{
			`x_test.yaml:2:65: error: reason is for a test that expects deny`}},
		{"binding both", "bindings:\n  - {principal: user:a, role: r, actions: [x], resource: a/b}\ntests: []\n", []string{
			`x_test.yaml:2:5: error: binding for user:a: give exactly one of role and actions`}},
		{"share without resource", "bindings:\n  - {principal: user:a, actions: [x]}\ntests: []\n", []string{
			`x_test.yaml:2:5: error: binding for user:a: actions are for a resource-scoped share`}},
		{"bad principal", "bindings:\n  - {principal: alice, role: r}\ntests: []\n", []string{
			`x_test.yaml:2:17: error: binding principal "alice": want user:NAME`}},
		{"role share at org", "bindings:\n  - {principal: role:viewer, role: r}\ntests: []\n", []string{
			`x_test.yaml:2:17: error: binding principal "role:viewer"`}},
		{"duplicate principal", "principals:\n  - {id: user:a}\n  - {id: user:a}\ntests: []\n", []string{
			`x_test.yaml:3:10: error: principal user:a is listed twice`}},
		{"bad expiry", "principals:\n  - {id: agent:a, expires_at: tomorrow}\ntests: []\n", []string{
			`x_test.yaml:2:5: error: principal agent:a: expires_at "tomorrow"`}},
		{"row marks", "tables:\n  - principals: [user:a, user:b]\n    rows:\n      - {permissions: a:b, expect: \"✓\"}\n", []string{
			`x_test.yaml:4:36: error: row expect "✓" has 1 marks for 2 principals`}},
		{"row mark", "tables:\n  - principals: [user:a]\n    rows:\n      - {permissions: a:b, expect: \"x\"}\n", []string{
			`x_test.yaml:4:36: error: mark "x": want ✓ or allow, - or deny`}},
		{"table principal", "tables:\n  - principals: [team:a]\n    rows: []\n", []string{
			`x_test.yaml:2:18: error: table principal "team:a"`}},
		{"wrong type", "namespaces: prod\ntests: []\n", []string{`x_test.yaml:1:13: error: namespaces: want a list, got "prod"`}},
		{"bad namespace", "namespaces: [Prod!]\ntests: []\n", []string{`x_test.yaml:1:14: error: namespace "Prod!"`}},
		{"context number", "tests:\n  - {principal: user:a, permission: a:b, expect: deny, context: {h: .inf}}\n", []string{
			`x_test.yaml:2:69: error: context.h: ".inf" is not a finite number`}},
		{"duplicate key", "tests: []\ntests: []\n", []string{`x_test.yaml:2:1: error: test file: key "tests" given twice`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, diags := suite.Decode("x_test.yaml", []byte(tc.src))
			if s != nil {
				t.Fatalf("decoded a bad file: %+v", s)
			}
			var got []string
			for _, d := range diags {
				got = append(got, d.Error())
			}
			if len(got) != len(tc.want) {
				t.Fatalf("diagnostics:\n%s\nwant %d", strings.Join(got, "\n"), len(tc.want))
			}
			for i := range got {
				if !strings.HasPrefix(got[i], tc.want[i]) {
					t.Errorf("diagnostic %d:\n got %s\nwant %s…", i, got[i], tc.want[i])
				}
			}
		})
	}
}

func TestDefaultPolicy(t *testing.T) {
	for in, want := range map[string]string{
		"templates/mentiko_test.yaml": "mentiko.policy",
		"a/b_test.yml":                "b.policy",
		"suite.yaml":                  "suite.policy",
	} {
		if got := suite.DefaultPolicy(in); got != want {
			t.Errorf("DefaultPolicy(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestJUnit(t *testing.T) {
	s, m := loadExample(t)
	s.Cases[0].Expect = suite.Deny // make one fail
	res, err := s.Run(m, regexp.MustCompile(`^support runs|^but not`))
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := suite.WriteJUnit(&b, []suite.Report{{Suite: s, Results: res}}); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		`<testsuites tests="2" failures="1">`,
		`<testsuite name="agents example" file="agents_test.yaml" tests="2" failures="1">`,
		`<testcase name="support runs chains in prod through the team" classname="agents example" file="agents_test.yaml" line="24">`,
		`<failure message="got allow, want deny: `,
		`<testcase name="but not in staging" classname="agents example" file="agents_test.yaml" line="30"></testcase>`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("JUnit output lacks %s:\n%s", want, out)
		}
	}
}
