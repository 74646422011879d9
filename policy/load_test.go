package policy

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/policy/ast"
	"github.com/gatehouse-dev/gatehouse/policy/format"
	"github.com/gatehouse-dev/gatehouse/policy/parser"
	"github.com/gatehouse-dev/gatehouse/policy/token"
	"github.com/google/go-cmp/cmp"
)

// seed003Files lists the complete seed 003 examples (the parser's test
// data, minus the `{ ... }` placeholder example, which must not parse).
func seed003Files(t *testing.T) []string {
	t.Helper()
	all, err := filepath.Glob("testdata/parse/seed003_*.policy")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, f := range all {
		if !strings.HasSuffix(f, "_invalid.policy") {
			out = append(out, f)
		}
	}
	if len(out) < 10 {
		t.Fatalf("found only %d seed 003 examples in testdata/parse", len(out))
	}
	return out
}

func loadFile(t *testing.T, path string, opts LintOptions) (*Model, token.List) {
	t.Helper()
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return Load(filepath.Base(path), src, opts)
}

// TestSeed003 is the table in docs/policy-language.md: every complete seed
// 003 example compiles, and these are the warnings each one draws under
// the default options (line:code).
func TestSeed003(t *testing.T) {
	want := map[string][]string{
		"seed003_admin_role":                   nil,
		"seed003_basic_role":                   nil,
		"seed003_complete_example":             {"99:agent-rule-unknown-resource", "100:agent-rule-unknown-resource", "101:agent-rule-unknown-resource", "105:agent-rule-not-granted", "106:agent-rule-unknown-resource", "108:agent-rule-not-granted"},
		"seed003_content_management":           nil,
		"seed003_ecommerce_system":             nil,
		"seed003_group_related_permissions":    nil,
		"seed003_hierarchical_roles":           nil,
		"seed003_multi_resource_role":          nil,
		"seed003_project_management":           nil,
		"seed003_read_only_roles":              nil,
		"seed003_resource_specific_roles":      nil,
		"seed003_role_inheritance_with_agents": {"15:agent-rule-not-granted"},
		"seed003_syntax":                       {"2:naming-resource"},
		"seed003_with_agents":                  {"14:agent-rule-not-granted", "15:agent-rule-unknown-resource"},
		"seed003_with_types_and_workflows":     {"19:workflow-state-not-in-enum"},
	}
	files := seed003Files(t)
	if len(files) != len(want) {
		t.Errorf("%d seed 003 examples in testdata/parse, the table has %d", len(files), len(want))
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".policy")
		t.Run(name, func(t *testing.T) {
			m, diags := loadFile(t, f, LintOptions{})
			if m == nil || diags.HasErrors() {
				t.Fatalf("does not compile:\n%v", diags)
			}
			var got []string
			for _, d := range diags {
				got = append(got, fmt.Sprintf("%d:%s", d.Pos.Line, d.Code))
			}
			if diff := cmp.Diff(want[name], got); diff != "" {
				t.Errorf("warnings (-want +got):\n%s\n%v", diff, diags)
			}
		})
	}

	// The placeholder example is a parse error, and Load says so without
	// compiling.
	m, diags := loadFile(t, "testdata/parse/seed003_organize_by_resource_invalid.policy", LintOptions{})
	if m != nil || !diags.HasErrors() {
		t.Fatalf("placeholder example loaded: %v", diags)
	}
}

func TestLoad(t *testing.T) {
	tests := []struct {
		name      string
		src       string
		wantModel bool
		wantCodes []string // in order
	}{
		{
			name:      "valid, no warnings",
			src:       "role viewer level 10 { permission chains { read } }\n",
			wantModel: true,
		},
		{
			name:      "warnings keep the model",
			src:       "condition c = \"true\"\nrole viewer { permission chains { read, read } }\n",
			wantModel: true,
			wantCodes: []string{CodeUnusedCondition, CodeDuplicateAction},
		},
		{
			name:      "compile errors: no model, and no lint",
			src:       "role a: b { permission chains { read, read } }\ncondition c = \"true\"\n",
			wantCodes: []string{CodeUnknownParent},
		},
		{
			name: "syntax errors stop before compiling",
			// The unknown parent would be a compile error; it is not
			// reported because the file does not parse.
			src:       "role a: b { permission chains { read } }\nrole { }\n",
			wantCodes: []string{"*parse*"},
		},
		{
			name:      "empty source is an empty policy",
			src:       "",
			wantModel: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, diags := Load("t.policy", []byte(tt.src), LintOptions{})
			if (m != nil) != tt.wantModel {
				t.Errorf("model = %v, want model %v (%v)", m != nil, tt.wantModel, diags)
			}
			if (m == nil) != diags.HasErrors() {
				t.Errorf("model nil = %v but HasErrors = %v", m == nil, diags.HasErrors())
			}
			got := codes(diags)
			if len(tt.wantCodes) == 1 && tt.wantCodes[0] == "*parse*" {
				// Whatever codes the parser uses, none is the compiler's.
				for _, d := range diags {
					if d.Code == CodeUnknownParent {
						t.Errorf("compile error reported for a file that does not parse: %v", d)
					}
				}
				if len(diags) == 0 {
					t.Errorf("no diagnostics for a syntax error")
				}
				return
			}
			if diff := cmp.Diff(tt.wantCodes, got); diff != "" {
				t.Errorf("codes (-want +got):\n%s\n%v", diff, diags)
			}
			for i := 1; i < len(diags); i++ {
				if diags[i].Pos.Line < diags[i-1].Pos.Line {
					t.Errorf("diagnostics not sorted: %v", diags)
				}
			}
		})
	}
}

func TestMustLoad(t *testing.T) {
	const src = "role viewer level 10 { permission chains { read } }\n"
	if m := MustLoad("t.policy", src); len(m.Roles) != 1 {
		t.Errorf("MustLoad(string): %d roles", len(m.Roles))
	}
	if m := MustLoad("t.policy", []byte(src)); len(m.Roles) != 1 {
		t.Errorf("MustLoad([]byte): %d roles", len(m.Roles))
	}
	// Warnings do not make it panic.
	_ = MustLoad("t.policy", "condition unused = \"true\"\n")

	defer func() {
		r := recover()
		err, ok := r.(error)
		if !ok || !errors.Is(err, ErrInvalid) {
			t.Fatalf("recovered %v, want an error wrapping ErrInvalid", r)
		}
		if !strings.Contains(err.Error(), "unknown role") {
			t.Errorf("panic message %q does not list the error", err)
		}
	}()
	MustLoad("bad.policy", "agent A: nobody { }\n")
	t.Fatal("MustLoad did not panic")
}

// TestModelSharesNothingWithTheTree: changing the syntax tree after
// Compile does not change the Model.
func TestModelSharesNothingWithTheTree(t *testing.T) {
	src := []byte(`
role viewer { permission chains { read } }
agent A: viewer { can read chain when c }
enum E { a b }
workflow W { state a -> b }
`)
	f, diags := parser.ParseFile("t.policy", src)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	m, diags := Compile(f)
	if m == nil {
		t.Fatal(diags)
	}
	before := dumpModel(m)
	for _, d := range f.Decls {
		switch d := d.(type) {
		case *ast.RoleDecl:
			d.Name.Name = "x"
			d.Permissions[0].Actions[0].Name = "x"
			d.Permissions = nil
		case *ast.AgentDecl:
			d.Rules[0].Words[0].Name = "x"
			d.Rules = nil
		case *ast.EnumDecl:
			d.Values[0].Name = "x"
		case *ast.WorkflowDecl:
			d.States[0].From.Name = "x"
		}
	}
	if diff := cmp.Diff(before, dumpModel(m)); diff != "" {
		t.Errorf("model changed with the tree (-before +after):\n%s", diff)
	}
	if r, ok := m.Role("viewer"); !ok || !r.Grants("chains", "read") {
		t.Errorf("role index lost viewer")
	}
}

func TestCompileIsDeterministic(t *testing.T) {
	for _, f := range append(seed003Files(t), "testdata/compile/agents.policy", "testdata/compile/inheritance.policy") {
		m1, d1 := loadFile(t, f, LintOptions{})
		m2, d2 := loadFile(t, f, LintOptions{})
		if diff := cmp.Diff(dumpModel(m1)+dumpDiags(d1), dumpModel(m2)+dumpDiags(d2)); diff != "" {
			t.Errorf("%s: two loads differ:\n%s", f, diff)
		}
	}
}

// TestIndexes: the lookup methods agree with the slices.
func TestIndexes(t *testing.T) {
	m, _ := loadFile(t, "testdata/compile/agents.policy", LintOptions{})
	for _, r := range m.Roles {
		if got, ok := m.Role(r.Name); !ok || got != r {
			t.Errorf("Role(%q) = %v, %v", r.Name, got, ok)
		}
	}
	for _, a := range m.Agents {
		if got, ok := m.Agent(a.Name); !ok || got != a {
			t.Errorf("Agent(%q) = %v, %v", a.Name, got, ok)
		}
	}
	for _, c := range m.Conditions {
		if got, ok := m.Condition(c.Name); !ok || got != c {
			t.Errorf("Condition(%q) = %v, %v", c.Name, got, ok)
		}
	}
	for _, r := range m.Resources {
		if got, ok := m.ResourceType(r.Name); !ok || got != r {
			t.Errorf("ResourceType(%q) = %v, %v", r.Name, got, ok)
		}
	}
	for _, name := range []string{"", "nobody", "*"} {
		if _, ok := m.Role(name); ok {
			t.Errorf("Role(%q) found", name)
		}
		if _, ok := m.Agent(name); ok {
			t.Errorf("Agent(%q) found", name)
		}
	}
}

// TestCompiledConditionsEvaluate: conditions are compiled at load time and
// evaluated by name; undefined names are context flags (DESIGN §1.1.6).
func TestCompiledConditionsEvaluate(t *testing.T) {
	m := MustLoad("t.policy", `condition business_hours = "context.hour >= 9 && context.hour < 18"`)
	tests := []struct {
		name string
		ctx  map[string]any
		want bool
	}{
		{"business_hours", map[string]any{"hour": 10}, true},
		{"business_hours", map[string]any{"hour": 20}, false},
		{"business_hours", nil, false}, // missing key: evaluation error, fails closed
		{"approved", map[string]any{"approved": true}, true},
		{"approved", map[string]any{"approved": "true"}, false},
		{"approved", nil, false},
	}
	for _, tt := range tests {
		got, _ := m.EvalCondition(tt.name, Vars{Context: tt.ctx})
		if got != tt.want {
			t.Errorf("EvalCondition(%q, %v) = %v, want %v", tt.name, tt.ctx, got, tt.want)
		}
	}
}

// FuzzLoad: whatever the input, Load and Compile do not panic, a model
// comes back iff there is no error, and every error is positioned in the
// file. Compile also runs on the partial trees of files that do not parse.
func FuzzLoad(f *testing.F) {
	for _, pattern := range []string{"testdata/compile/*.policy", "testdata/compile/errors/*.policy", "testdata/lint/*.policy", "testdata/parse/*.policy"} {
		files, _ := filepath.Glob(pattern)
		for _, file := range files {
			src, err := os.ReadFile(file)
			if err == nil {
				f.Add(src)
			}
		}
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		m, diags := Load("f.policy", src, LintOptions{})
		if (m == nil) != diags.HasErrors() {
			t.Fatalf("model nil = %v but HasErrors = %v", m == nil, diags.HasErrors())
		}
		file, _ := parser.ParseFile("f.policy", src)
		m2, cdiags := Compile(file)
		if (m2 == nil) != cdiags.HasErrors() {
			t.Fatalf("Compile: model nil = %v but HasErrors = %v", m2 == nil, cdiags.HasErrors())
		}
		for _, d := range cdiags {
			if !d.Pos.IsValid() || d.Pos.File != "f.policy" {
				t.Fatalf("unpositioned compile diagnostic: %v", d)
			}
		}
		if m2 != nil {
			_ = Lint(file, m2, LintOptions{RoleNames: StylePascalRole, ResourceNames: StylePlural})
			_, _ = BuildMatrix(m2)

			// Compiled → formatted → parsed again: still compiles, means
			// the same, and formatting is idempotent.
			out := format.File(file)
			m3, diags3 := Load("f.policy", out, LintOptions{})
			if diags3.HasErrors() {
				t.Fatalf("formatted policy does not compile: %v\n%s", diags3.Errors(), out)
			}
			if a, b := fuzzMeaning(m2), fuzzMeaning(m3); a != b {
				t.Fatalf("formatting changed the meaning:\n%s\nvs\n%s", a, b)
			}
			if again, _ := format.Source("f.policy", out); !bytes.Equal(again, out) {
				t.Fatalf("format is not idempotent:\n%s\nvs\n%s", out, again)
			}
		}
	})
}

// fuzzMeaning renders what a model decides: roles with levels and
// flattened permissions, agents with their ceiling and conditional rules.
func fuzzMeaning(m *Model) string {
	var b strings.Builder
	for _, r := range m.Roles {
		fmt.Fprintf(&b, "role %s %d %v\n", r.Name, r.Level, r.Permissions)
	}
	for _, a := range m.Agents {
		fmt.Fprintf(&b, "agent %s %s %v %d %d\n", a.Name, a.Role, a.Conditional, len(a.Obligations), len(a.Advice))
	}
	for _, c := range m.Conditions {
		fmt.Fprintf(&b, "condition %s %q\n", c.Name, c.Expr)
	}
	return b.String()
}
