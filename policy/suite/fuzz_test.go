package suite_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/gatehouse-dev/gatehouse/policy"
	"github.com/gatehouse-dev/gatehouse/policy/suite"
)

// FuzzDecode: Decode never panics, returns a suite iff there are no
// errors, positions every diagnostic, and a decoded suite runs.
func FuzzDecode(f *testing.F) {
	seeds, _ := filepath.Glob("../../templates/*_test.yaml")
	seeds = append(seeds, "../../examples/agents_test.yaml")
	for _, p := range seeds {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{
		"", "tests: [", "tests:\n  - {principal: user:a, permission: a:b, expect: allow}\n",
		"a: &x [*x]\n", "tables:\n  - principals: [user:a]\n    rows:\n      - {permissions: a:b c:d, expect: ✓}\n",
		"bindings:\n  - {principal: role:r, actions: ['*'], resource: t/i}\ntests: []\n",
	} {
		f.Add([]byte(s))
	}
	m := policy.MustLoad("f.policy", "role viewer level 10 { permission chains { read } }\nagent A: viewer { must log runs }\n")
	f.Fuzz(func(t *testing.T, src []byte) {
		s, diags := suite.Decode("f_test.yaml", src)
		if (s == nil) != diags.HasErrors() {
			t.Fatalf("suite %v with diagnostics %v", s != nil, diags)
		}
		for _, d := range diags {
			if !d.Pos.IsValid() || d.Pos.File != "f_test.yaml" {
				t.Fatalf("unpositioned diagnostic %v", d)
			}
		}
		if s != nil {
			if _, err := s.Run(m, nil); err != nil {
				t.Logf("fixtures refused: %v", err) // the engine checks what Decode does not
			}
		}
	})
}
