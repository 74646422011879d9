package suite_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-dev/gatehouse/policy"
	"github.com/gatehouse-dev/gatehouse/policy/suite"
	"github.com/gatehouse-dev/gatehouse/policy/token"
	"github.com/gatehouse-dev/gatehouse/templates"
)

// seedSuitesDir holds one suite per policy-language example of seed 003
// (its policies are the parser's test data, policy/testdata/parse/
// seed003_*.policy) and seed 002's scoping rules (on template:mentiko; its
// matrix is templates/mentiko_test.yaml); `gatehouse policy test
// examples/seeds/` runs them too.
const seedSuitesDir = "../../examples/seeds"

// runSeedSuite decodes file, loads the policy it names and runs it.
func runSeedSuite(t *testing.T, file string, src []byte) (*suite.Suite, []suite.Result) {
	t.Helper()
	s, diags := suite.Decode(file, src)
	if diags.HasErrors() {
		t.Fatalf("%s: %v", file, diags.Errors())
	}
	var err error
	var m *policy.Model
	if name, ok := strings.CutPrefix(s.Policy, "template:"); ok {
		if m, err = templates.Model(name); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
	} else {
		psrc, err := os.ReadFile(filepath.Join(filepath.Dir(file), filepath.FromSlash(s.Policy)))
		if err != nil {
			t.Fatalf("%s: policy: %v", file, err)
		}
		var pdiags token.List
		if m, pdiags = policy.Load(s.Policy, psrc, policy.LintOptions{}); pdiags.HasErrors() {
			t.Fatalf("%s: policy %s: %v", file, s.Policy, pdiags.Errors())
		}
	}
	results, err := s.Run(m, nil)
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return s, results
}

// TestSeedSuites: seed 002's scoping rules hold, and every role,
// permission rule and agent rule of seed 003's examples is decided as the example means it — each listed
// permission allowed to its role, what it does not list denied, an
// agent's rule outside its role's ceiling denied, a `when`/`if` rule
// allowed only when its condition holds — and every valid seed 003
// example has a suite, so a new example cannot go untested.
func TestSeedSuites(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(seedSuitesDir, "seed*_test.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var tested []string
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			src, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			s, results := runSeedSuite(t, file, src)
			if strings.HasPrefix(filepath.Base(file), "seed003_") {
				tested = append(tested, filepath.Base(s.Policy))
			}
			allows, denies := 0, 0
			for _, r := range results {
				if !r.Passed {
					t.Errorf("%s: %s: %s", r.Case.Pos, r.Case.Name, r.Failure)
				}
				switch r.Case.Expect {
				case suite.Allow:
					allows++
				case suite.Deny:
					denies++
				}
			}
			if allows == 0 || denies == 0 {
				t.Errorf("%s: %d allowed and %d denied cases; a seed suite states both what a role may do and what it may not", file, allows, denies)
			}
		})
	}
	examples, err := filepath.Glob("../testdata/parse/seed003_*.policy")
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, p := range examples {
		if !strings.HasSuffix(p, "_invalid.policy") { // refused by the parser: nothing to decide
			want = append(want, filepath.Base(p))
		}
	}
	slices.Sort(tested)
	if len(want) == 0 {
		t.Fatal("no seed 003 examples found")
	}
	if diff := cmp.Diff(want, tested); diff != "" {
		t.Errorf("seed 003 examples with a suite in %s (-examples +suites):\n%s", seedSuitesDir, diff)
	}
}

// TestSeedSuitesCanFail: the suites decide something — granting a role
// one more action, or lifting an agent rule's condition, fails cases.
func TestSeedSuitesCanFail(t *testing.T) {
	tests := []struct {
		name, suite, from, to string
	}{
		{"a role granted an unlisted action", "seed003_basic_role_test.yaml",
			"{principal: user:customer, role: CustomerRole}", "{principal: user:customer, role: CustomerRole}\n  - {principal: user:customer, actions: [create], resource: products/some-id}\n" +
				"resources:\n  - {type: products, id: some-id}"},
		{"a condition taken as holding", "seed003_role_inheritance_with_agents_test.yaml",
			"context: {valid: false}", "context: {valid: true}"},
		{"support scoped to its namespace instead of its chains", "seed002_scoping_test.yaml",
			"{principal: team:support, role: operator, namespace: prod, resource: chains/escalation-triage}", "{principal: team:support, role: operator, namespace: prod}"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			file := filepath.Join(seedSuitesDir, tc.suite)
			src, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			broken := strings.Replace(string(src), tc.from, tc.to, 1)
			if broken == string(src) {
				t.Fatalf("%s does not contain %q", tc.suite, tc.from)
			}
			_, results := runSeedSuite(t, file, []byte(broken))
			if !slices.ContainsFunc(results, func(r suite.Result) bool { return !r.Passed }) {
				t.Errorf("%s with %s passed", tc.suite, tc.name)
			}
		})
	}
}
