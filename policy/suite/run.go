package suite

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/policy"
)

// fixtureOrg is the org a suite's fixtures make.
const fixtureOrg = "policy-test"

// Engine loads the suite's fixtures, with the compiled policy, into a new
// engine. The error says which fixture the engine refused.
func (s *Suite) Engine(m *policy.Model) (*authz.Engine, error) {
	e := authz.New()
	d := s.Org
	d.Org, d.Policy = fixtureOrg, m
	if err := e.LoadOrg(1, d); err != nil {
		return nil, fmt.Errorf("%s: fixtures: %w", s.File, err)
	}
	return e, nil
}

// Run decides every case whose name matches run (nil: all) against the
// policy and returns one Result per case run, in file order.
func (s *Suite) Run(m *policy.Model, run *regexp.Regexp) ([]Result, error) {
	e, err := s.Engine(m)
	if err != nil {
		return nil, err
	}
	var out []Result
	for i := range s.Cases {
		c := &s.Cases[i]
		if run != nil && !run.MatchString(c.Name) {
			continue
		}
		out = append(out, runCase(e, c))
	}
	return out, nil
}

func runCase(e *authz.Engine, c *Case) Result {
	req := c.Request
	req.Org = fixtureOrg
	ex := e.Explain(&req)
	got := Deny
	if ex.Decision.Allowed {
		got = Allow
	}
	r := Result{Case: c, Got: string(got)}
	var fails []string
	if got != c.Expect {
		fails = append(fails, fmt.Sprintf("got %s, want %s: %s", got, c.Expect, ex.Summary))
	}
	if c.Obligations != nil {
		if d := setDiff("obligations", c.Obligations, ruleTexts(ex.Decision.Obligations)); d != "" {
			fails = append(fails, d)
		}
	}
	if c.Advice != nil {
		if d := setDiff("advice", c.Advice, ruleTexts(ex.Decision.Advice)); d != "" {
			fails = append(fails, d)
		}
	}
	if c.Reason != "" && string(ex.Decision.Reason) != c.Reason {
		fails = append(fails, fmt.Sprintf("reason %q, want %q", ex.Decision.Reason, c.Reason))
	}
	if c.Explain != "" && !strings.Contains(ex.Summary, c.Explain) {
		fails = append(fails, fmt.Sprintf("explanation %q does not contain %q", ex.Summary, c.Explain))
	}
	r.Passed = len(fails) == 0
	r.Failure = strings.Join(fails, "; ")
	return r
}

func ruleTexts(rs []*policy.Rule) []string {
	out := make([]string, 0, len(rs))
	for _, r := range rs {
		out = append(out, r.Text())
	}
	return out
}

// setDiff compares two lists as sets of strings, saying what is missing
// and what is extra.
func setDiff(what string, want, got []string) string {
	w, g := slices.Clone(want), slices.Clone(got)
	slices.Sort(w)
	slices.Sort(g)
	if slices.Equal(w, g) {
		return ""
	}
	var missing, extra []string
	for _, x := range w {
		if !slices.Contains(g, x) {
			missing = append(missing, x)
		}
	}
	for _, x := range g {
		if !slices.Contains(w, x) {
			extra = append(extra, x)
		}
	}
	return fmt.Sprintf("%s differ: missing %q, unexpected %q (got %q)", what, missing, extra, g)
}
