package templates_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/policy/suite"
	"github.com/gatehouse-dev/gatehouse/templates"
)

// Every template ships a `<name>_test.yaml` suite encoding its seed's
// matrix (the same cells TestXxxMatrix checks in Go); `gatehouse policy
// test templates/` runs them, and so does this test, against the embedded
// template.
func TestTemplateSuites(t *testing.T) {
	for _, name := range templates.Names() {
		t.Run(name, func(t *testing.T) {
			file := name + "_test.yaml"
			src, err := os.ReadFile(file)
			if err != nil {
				t.Fatalf("template %s ships no test suite: %v", name, err)
			}
			s, diags := suite.Decode(file, src)
			if diags.HasErrors() {
				t.Fatalf("%s: %v", file, diags.Errors())
			}
			if want := name + ".policy"; filepath.Clean(s.Policy) != want {
				t.Errorf("%s tests %s, want %s", file, s.Policy, want)
			}
			m, err := templates.Model(name)
			if err != nil {
				t.Fatal(err)
			}
			results, err := s.Run(m, nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(results) < 40 {
				t.Errorf("%s runs only %d cases", file, len(results))
			}
			for _, r := range results {
				if !r.Passed {
					t.Errorf("%s: %s: %s", r.Case.Pos, r.Case.Name, r.Failure)
				}
			}
		})
	}
}

// The suites are a second statement of the seed matrices: a suite that
// no longer fails when the policy changes tests nothing. Flipping the
// top role's binding to the bottom role must fail cases.
func TestTemplateSuitesCanFail(t *testing.T) {
	src, err := os.ReadFile("mentiko_test.yaml")
	if err != nil {
		t.Fatal(err)
	}
	broken := strings.Replace(string(src), "{principal: user:admin, role: admin}", "{principal: user:admin, role: viewer}", 1)
	s, diags := suite.Decode("mentiko_test.yaml", []byte(broken))
	if diags.HasErrors() {
		t.Fatal(diags.Errors())
	}
	m, err := templates.Model("mentiko")
	if err != nil {
		t.Fatal(err)
	}
	results, err := s.Run(m, nil)
	if err != nil {
		t.Fatal(err)
	}
	failed := 0
	for _, r := range results {
		if !r.Passed {
			failed++
		}
	}
	if failed == 0 {
		t.Error("a suite run with the admin bound as viewer passed")
	}
}
