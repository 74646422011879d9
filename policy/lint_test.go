package policy

import (
	"fmt"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/policy/parser"
	"github.com/gatehouse-dev/gatehouse/policy/token"
	"github.com/google/go-cmp/cmp"
)

// The lints themselves are specified by testdata/lint/*.policy (see
// TestLint in compile_test.go); these tests cover the API around them.

func TestParseNameStyle(t *testing.T) {
	tests := []struct {
		in      string
		want    NameStyle
		wantErr bool
	}{
		{"", StyleAuto, false},
		{"auto", StyleAuto, false},
		{"off", StyleOff, false},
		{"lower", StyleLower, false},
		{"pascal", StylePascal, false},
		{"pascal-role", StylePascalRole, false},
		{"plural", StylePlural, false},
		{"Pascal", "", true},
		{"camel", "", true},
	}
	for _, tt := range tests {
		got, err := ParseNameStyle(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ParseNameStyle(%q) = %q, %v; want %q, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func codes(l token.List) []string {
	var out []string
	for _, d := range l {
		out = append(out, d.Code)
	}
	return out
}

// TestLintOptionsMisuse: a style that does not exist, or does not apply to
// that kind of name, is reported once and treated as auto.
func TestLintOptionsMisuse(t *testing.T) {
	src := "role Viewer { permission chains { read } }\nrole admin { }\n"
	f, _ := parser.ParseFile("t.policy", []byte(src))
	m, _ := Compile(f)
	got := Lint(f, m, LintOptions{RoleNames: "plural", ResourceNames: "pascal", ActionNames: "bogus"})
	want := []string{CodeLintOptions, CodeLintOptions, CodeLintOptions, CodeNamingRole}
	if diff := cmp.Diff(want, codes(got)); diff != "" {
		t.Errorf("codes (-want +got):\n%s\n%v", diff, got)
	}
	for _, d := range got {
		if d.Severity != token.Warning {
			t.Errorf("Lint returned a non-warning: %v", d)
		}
	}
}

func TestLintWithoutModelOrFile(t *testing.T) {
	src := `
condition unused = "true"
role r { permission chains { read, read } }
agent A: r { can run chains }
`
	f, _ := parser.ParseFile("t.policy", []byte(src))
	m, _ := Compile(f)
	if got := Lint(f, nil, LintOptions{}); got != nil {
		t.Errorf("Lint with a nil model = %v, want nil", got)
	}
	// Without the file, the source-position lints (duplicates, naming)
	// are skipped and the model-based ones still run.
	got := codes(Lint(nil, m, LintOptions{}))
	want := []string{CodeUnusedCondition, CodeAgentRuleNotGranted}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("codes (-want +got):\n%s", diff)
	}
	// With it, the duplicate action is found too.
	got = codes(Lint(f, m, LintOptions{}))
	want = []string{CodeUnusedCondition, CodeDuplicateAction, CodeAgentRuleNotGranted}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("codes (-want +got):\n%s", diff)
	}
}

// TestLintNeverChangesTheModel: linting is read-only.
func TestLintNeverChangesTheModel(t *testing.T) {
	src := `
role r { permission products { read } }
agent A: r {
    can read product when c
    can read product
    can write product
}
`
	f, _ := parser.ParseFile("t.policy", []byte(src))
	m, _ := Compile(f)
	before := dumpModel(m)
	_ = Lint(f, m, LintOptions{RoleNames: StylePascalRole, ResourceNames: StylePlural})
	if diff := cmp.Diff(before, dumpModel(m)); diff != "" {
		t.Errorf("Lint changed the model (-before +after):\n%s", diff)
	}
}

func TestFamily(t *testing.T) {
	tests := []struct{ name, want string }{
		{"DocumentFlow", "document"},
		{"DocumentStatus", "document"},
		{"DocumentState", "document"},
		{"DocumentWorkflow", "document"},
		{"document_status", "document"},
		{"document-flow", "document"},
		{"ORDERSTATUS", "order"},
		{"Status", ""},
		{"Workflow", ""},
		{"Document", ""},
		{"Overflow", "over"}, // a suffix is a suffix: documented
	}
	for _, tt := range tests {
		if got := family(tt.name); got != tt.want {
			t.Errorf("family(%q) = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestLooksPlural(t *testing.T) {
	tests := []struct {
		name string
		want bool
	}{
		{"products", true},
		{"categories", true},
		{"statuses", true},
		{"analytics", true},
		{"data_sources", true},
		{"data", true},
		{"media", true},
		{"people", true},
		{"product", false},
		{"status", false},
		{"access", false},
		{"analysis", false},
		{"inventory", false},
		{"system", false},
		{"data_source", false},
	}
	for _, tt := range tests {
		if got := looksPlural(tt.name); got != tt.want {
			t.Errorf("looksPlural(%q) = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestNameClasses(t *testing.T) {
	tests := []struct {
		name          string
		lower, pascal bool
		snake         string
	}{
		{"viewer", true, false, "viewer"},
		{"data_sources", true, false, "data_sources"},
		{"export-csv", true, false, "export-csv"},
		{"v2", true, false, "v2"},
		{"Admin", false, true, "admin"},
		{"DataAnalyst", false, true, "data_analyst"},
		{"AdminRole2", false, true, "admin_role2"},
		{"adminRole", false, false, "admin_role"},
		{"Power_User", false, false, "power_user"},
		{"HTTPRoutes", false, true, "httproutes"},
	}
	for _, tt := range tests {
		if got := isLowerName(tt.name); got != tt.lower {
			t.Errorf("isLowerName(%q) = %v, want %v", tt.name, got, tt.lower)
		}
		if got := isPascalName(tt.name); got != tt.pascal {
			t.Errorf("isPascalName(%q) = %v, want %v", tt.name, got, tt.pascal)
		}
		if got := lowerSnake(tt.name); got != tt.snake {
			t.Errorf("lowerSnake(%q) = %q, want %q", tt.name, got, tt.snake)
		}
	}
}

// TestLintSeed003NamingAuto: under the default options, no complete seed
// 003 example draws a naming warning except the syntax template's
// camelCase `resourceName` (the seed's own rule says lower case).
func TestLintSeed003NamingAuto(t *testing.T) {
	for _, name := range seed003Files(t) {
		_, diags := loadFile(t, name, LintOptions{})
		for _, d := range diags {
			if d.Code == CodeNamingRole || d.Code == CodeNamingAction ||
				(d.Code == CodeNamingResource && d.Message != "resource name resourceName is not lower case") {
				t.Errorf("%v", d)
			}
		}
	}
}

// TestApproverLevelHint: the ask-approver-below warning tells the author
// which `from` keeps the rule among approvers at its role's level — the
// lowest role granting decisions:approve at that level or above — and
// what to do when no role there approves.
func TestApproverLevelHint(t *testing.T) {
	const base = "role approver level 40 { permission decisions { approve } permission chains { read } }\n"
	tests := []struct {
		name, src string
		want      []string // hints, in order
	}{
		{"the owner approves", base + "role owner: approver level 100 { permission * { * } ask before delete chains }\n",
			[]string{"write `ask before delete chains from owner` if only approvers at role owner's level should approve it"}},
		{"a higher approving role than the rule's", base + "role admin level 80 { permission chains { delete } ask before delete chains }\n" +
			"role owner: approver level 100 { permission * { * } }\n",
			[]string{"write `ask before delete chains from owner` if only approvers at role admin's level should approve it"}},
		{"no approver at the rule's level", base + "role admin level 80 { permission chains { delete } ask before delete chains }\n",
			[]string{"grant decisions:approve to a role at level 80 or above and name it with `from`"}},
		{"from given", base + "role owner: approver level 100 { permission * { * } ask before delete chains from owner }\n", nil},
		{"at the lowest approver's level", base + "role clerk level 40 { permission chains { run } ask before run chains }\n", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, diags := Load("t.policy", []byte(tt.src), LintOptions{})
			if m == nil {
				t.Fatalf("does not compile: %v", diags)
			}
			var got []string
			for _, d := range ApproverLevelWarnings(m) {
				got = append(got, d.Hint)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("hints (-want +got):\n%s", diff)
			}
		})
	}
}

// TestActionsNamed: the actions a policy names for a type — in roles'
// permissions (the type's and `*`'s), agents' rules, ask rules and the
// type's resource declaration — and never `*`.
func TestActionsNamed(t *testing.T) {
	src := `resource docs {
    actions read, write, publish
}
role viewer level 10 { permission chains { read } permission * { list } }
role owner level 100 { permission * { * } permission tools { * } }
role runner: viewer level 20 { permission chains { run } ask before run chains }
agent Bot: runner {
    can run chains
    must escalate ticket
}
`
	m, diags := Load("t.policy", []byte(src), LintOptions{})
	if m == nil {
		t.Fatalf("does not compile: %v", diags)
	}
	tests := []struct {
		typ    string
		want   []string
		absent []string
	}{
		{"chains", []string{"list", "read", "run"}, []string{"rnu", "*", "write"}},
		{"docs", []string{"list", "publish", "read", "write"}, []string{"delete"}},
		{"tools", []string{"list"}, []string{"call", "*"}},
		{"ticket", []string{"escalate", "list"}, nil},
		{"*", nil, []string{"list", "*"}},
	}
	for _, tt := range tests {
		t.Run(tt.typ, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, m.ActionsNamed(tt.typ)); diff != "" {
				t.Errorf("ActionsNamed (-want +got):\n%s", diff)
			}
			for _, a := range tt.want {
				if !m.NamesAction(tt.typ, a) {
					t.Errorf("NamesAction(%s, %s) = false", tt.typ, a)
				}
			}
			for _, a := range tt.absent {
				if m.NamesAction(tt.typ, a) {
					t.Errorf("NamesAction(%s, %s) = true", tt.typ, a)
				}
			}
		})
	}
}

// TestUnknownActionHint: the deny path's hint names the closest action the
// model names, is the same text however often it is asked (memoized), and
// stays right past the memo's bound.
func TestUnknownActionHint(t *testing.T) {
	m, diags := Load("t.policy", []byte("role viewer level 10 { permission chains { read, run } }\n"), LintOptions{})
	if m == nil {
		t.Fatalf("does not compile: %v", diags)
	}
	const prefix = "the org's policy names no action rnu for chains ("
	h := m.UnknownActionHint("chains", "rnu")
	if !strings.HasPrefix(h, prefix) || !strings.HasSuffix(h, ": did you mean chains:run?") {
		t.Fatalf("hint = %q", h)
	}
	if again := m.UnknownActionHint("chains", "rnu"); again != h {
		t.Errorf("second hint = %q, first %q", again, h)
	}
	if far := m.UnknownActionHint("chains", "zzzzzzzz"); strings.Contains(far, "did you mean") {
		t.Errorf("hint for a far action suggests one: %q", far)
	}
	for i := range maxHints + 10 {
		m.UnknownActionHint("chains", fmt.Sprintf("x%d", i))
	}
	if n := len(m.hints); n > maxHints {
		t.Errorf("memo holds %d hints, bound %d", n, maxHints)
	}
	if late := m.UnknownActionHint("chains", "rdea"); !strings.HasSuffix(late, ": did you mean chains:read?") {
		t.Errorf("hint past the bound = %q", late)
	}
}
