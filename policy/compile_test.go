package policy

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/policy/ast"
	"github.com/gatehouse-dev/gatehouse/policy/token"
	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files of TestCompileGolden")

// TestCompileGolden loads every testdata/compile/*.policy and every seed
// 003 example of testdata/parse (those without ERROR expectations), dumps
// the model and the diagnostics, and compares the dump with the .golden
// file next to it (seed 003 goldens live in testdata/compile/seed003/).
// Run with -update to rewrite the goldens, then read the diff: a golden is
// a claim about what the policy means.
func TestCompileGolden(t *testing.T) {
	type tcase struct{ src, golden string }
	var cases []tcase
	own, err := filepath.Glob("testdata/compile/*.policy")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range own {
		cases = append(cases, tcase{p, strings.TrimSuffix(p, ".policy") + ".golden"})
	}
	seeds, err := filepath.Glob("testdata/parse/seed003_*.policy")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range seeds {
		src, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(src, []byte("ERROR")) {
			continue // the `{ ... }` placeholder example: a parse error by design
		}
		cases = append(cases, tcase{p, filepath.Join("testdata/compile/seed003", strings.TrimSuffix(filepath.Base(p), ".policy")+".golden")})
	}
	if len(own) == 0 || len(seeds) == 0 {
		t.Fatalf("no test data: %d own files, %d seed files", len(own), len(seeds))
	}
	for _, c := range cases {
		t.Run(c.src, func(t *testing.T) {
			src, err := os.ReadFile(c.src)
			if err != nil {
				t.Fatal(err)
			}
			m, diags := Load(filepath.Base(c.src), src, LintOptions{})
			if diags.HasErrors() {
				t.Errorf("%s does not compile:\n%v", c.src, diags)
			}
			got := dumpModel(m) + dumpDiags(diags)
			if *update {
				if err := os.MkdirAll(filepath.Dir(c.golden), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(c.golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(c.golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if diff := cmp.Diff(string(want), got); diff != "" {
				t.Errorf("%s: dump differs from %s (-want +got):\n%s", c.src, c.golden, diff)
			}
		})
	}
}

// TestCompileErrors checks testdata/compile/errors/*.policy: every
// diagnostic must match an `// ERROR "regexp"` (or `// WARN "regexp"`)
// comment on its line, and every such comment must match one diagnostic.
// The regexp is matched against "code: message (hint: ...)".
func TestCompileErrors(t *testing.T) {
	runExpectations(t, "testdata/compile/errors/*.policy", true)
}

// TestLint checks testdata/lint/*.policy the same way; those files must
// compile, and a `# lint: key=value ...` line sets the LintOptions
// (roles=, resources=, actions=, disable=code,code).
func TestLint(t *testing.T) {
	runExpectations(t, "testdata/lint/*.policy", false)
}

var expectRE = regexp.MustCompile(`(ERROR|WARN) ("[^"]*"|` + "`[^`]*`" + `)`)

type expectation struct {
	line    int
	sev     token.Severity
	re      *regexp.Regexp
	matched bool
}

func runExpectations(t *testing.T, pattern string, wantErrors bool) {
	t.Helper()
	files, err := filepath.Glob(pattern)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no files match %s", pattern)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			src, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			opts, exps := parseExpectations(t, src)
			m, diags := Load(filepath.Base(file), src, opts)
			if wantErrors != diags.HasErrors() {
				t.Errorf("has errors = %v, want %v", diags.HasErrors(), wantErrors)
			}
			if (m == nil) != diags.HasErrors() {
				t.Errorf("model nil = %v, but has errors = %v", m == nil, diags.HasErrors())
			}
			for _, d := range diags {
				text := d.Code + ": " + d.Message
				if d.Hint != "" {
					text += " (hint: " + d.Hint + ")"
				}
				found := false
				for _, e := range exps {
					if e.line == d.Pos.Line && e.sev == d.Severity && !e.matched && e.re.MatchString(text) {
						e.matched, found = true, true
						break
					}
				}
				if !found {
					t.Errorf("%s: unexpected %s: %s", d.Pos, d.Severity, text)
				}
			}
			for _, e := range exps {
				if !e.matched {
					t.Errorf("%s:%d: no %s matching %q", file, e.line, e.sev, e.re)
				}
			}
		})
	}
}

func parseExpectations(t *testing.T, src []byte) (LintOptions, []*expectation) {
	t.Helper()
	var opts LintOptions
	var exps []*expectation
	for i, line := range strings.Split(string(src), "\n") {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(line), "# lint:"); ok {
			for _, kv := range strings.Fields(rest) {
				k, v, _ := strings.Cut(kv, "=")
				switch k {
				case "roles":
					opts.RoleNames = NameStyle(v)
				case "resources":
					opts.ResourceNames = NameStyle(v)
				case "actions":
					opts.ActionNames = NameStyle(v)
				case "disable":
					opts.Disable = strings.Split(v, ",")
				default:
					t.Fatalf("line %d: unknown lint option %q", i+1, k)
				}
			}
		}
		_, comment, ok := strings.Cut(line, "//")
		if !ok {
			continue
		}
		for _, m := range expectRE.FindAllStringSubmatch(comment, -1) {
			// The pattern is the text between the quotes, taken as is (no
			// string escapes), so `\(` in the file is the regexp `\(`.
			re, err := regexp.Compile(m[2][1 : len(m[2])-1])
			if err != nil {
				t.Fatalf("line %d: %v", i+1, err)
			}
			sev := token.Error
			if m[1] == "WARN" {
				sev = token.Warning
			}
			exps = append(exps, &expectation{line: i + 1, sev: sev, re: re})
		}
	}
	return opts, exps
}

// dumpModel renders a Model deterministically for golden files.
func dumpModel(m *Model) string {
	if m == nil {
		return "no model\n"
	}
	var b strings.Builder
	at := func(p token.Pos) string { return fmt.Sprintf("@%d:%d", p.Line, p.Col) }
	for _, r := range m.Roles {
		fmt.Fprintf(&b, "role %s %s\n", r.Name, at(r.Pos))
		if r.HasLevel {
			fmt.Fprintf(&b, "  level %d\n", r.Level)
		} else {
			fmt.Fprintf(&b, "  level %d (implicit)\n", r.Level)
		}
		if len(r.Parents) > 0 {
			fmt.Fprintf(&b, "  parents %s\n", strings.Join(r.Parents, ", "))
		}
		fmt.Fprintf(&b, "  own\n%s", dumpPerms(r.Own))
		fmt.Fprintf(&b, "  permissions\n%s", dumpPerms(r.Permissions))
		for _, a := range r.Asks {
			fmt.Fprintf(&b, "  %s\n", dumpAsk(a))
		}
	}
	for _, a := range m.Agents {
		fmt.Fprintf(&b, "agent %s: %s %s\n", a.Name, a.Role, at(a.Pos))
		for _, r := range a.Rules {
			text := r.Text()
			if r.Condition != "" {
				text += " " + r.Keyword + " " + r.Condition
			}
			res := "(no resource)"
			if r.Resource != "" {
				res = r.Resource + ":" + r.Action
			}
			verdict := ""
			switch {
			case r.Kind == ast.Can && r.Granted:
				verdict = " granted"
			case r.Kind == ast.Can:
				verdict = " NOT granted"
			}
			fmt.Fprintf(&b, "  %s %s => %s%s\n", at(r.Pos), text, res, verdict)
		}
		for _, cp := range a.Conditional {
			fmt.Fprintf(&b, "  conditional %s when %s\n", cp.Permission, strings.Join(cp.Conditions, " or "))
		}
		for _, r := range a.Obligations {
			fmt.Fprintf(&b, "  obligation %s %s\n", at(r.Pos), r.Text())
		}
		for _, r := range a.Advice {
			fmt.Fprintf(&b, "  advice %s %s\n", at(r.Pos), r.Text())
		}
		for _, r := range a.Asks {
			fmt.Fprintf(&b, "  %s\n", dumpAsk(r))
		}
	}
	for _, c := range m.Conditions {
		fmt.Fprintf(&b, "condition %s %s = %q compiled=%v\n", c.Name, at(c.Pos), c.Expr, c.prg != nil)
	}
	for _, r := range m.Resources {
		fmt.Fprintf(&b, "resource %s %s actions %s\n", r.Name, at(r.Pos), strings.Join(r.Actions, ", "))
	}
	for _, e := range m.Enums {
		fmt.Fprintf(&b, "enum %s %s values %s\n", e.Name, at(e.Pos), strings.Join(e.Values, ", "))
	}
	for _, w := range m.Workflows {
		fmt.Fprintf(&b, "workflow %s %s states %s\n", w.Name, at(w.Pos), strings.Join(w.States, ", "))
		for _, tr := range w.Transitions {
			fmt.Fprintf(&b, "  %s -> %s\n", tr.From, tr.To)
		}
	}
	return b.String()
}

// dumpPerms groups patterns by resource, in order of first appearance.
func dumpPerms(ps []Permission) string {
	if len(ps) == 0 {
		return "    (none)\n"
	}
	var order []string
	acts := map[string][]string{}
	for _, p := range ps {
		if _, ok := acts[p.Resource]; !ok {
			order = append(order, p.Resource)
		}
		acts[p.Resource] = append(acts[p.Resource], p.Action)
	}
	var b strings.Builder
	for _, r := range order {
		fmt.Fprintf(&b, "    %s { %s }\n", r, strings.Join(acts[r], ", "))
	}
	return b.String()
}

func dumpDiags(l token.List) string {
	if len(l) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("diagnostics\n")
	for _, d := range l {
		fmt.Fprintf(&b, "  %s [%s]\n", d.Error(), d.Code)
	}
	return b.String()
}

func TestPluralForms(t *testing.T) {
	tests := []struct {
		word string
		want []string
	}{
		{"product", []string{"products"}},
		{"key", []string{"keys"}},
		{"day", []string{"days"}},
		{"box", []string{"boxes"}},
		{"status", []string{"statuses"}},
		{"match", []string{"matches"}},
		{"dish", []string{"dishes"}},
		{"quiz", []string{"quizes"}},
		{"category", []string{"categories"}},
		{"policy", []string{"policies"}},
		{"analysis", []string{"analyses", "analysises"}},
		{"knife", []string{"knives", "knifes"}},
		{"shelf", []string{"shelves", "shelfs"}},
		{"photo", []string{"photos", "photoes"}},
		{"person", []string{"people", "persons"}},
		{"child", []string{"children", "childs"}},
		{"datum", []string{"data", "datums"}},
		{"medium", []string{"media", "mediums"}},
		{"index", []string{"indices", "indexes"}},
		{"data_source", []string{"data_sources"}},
		{"api-key", []string{"api-keys"}},
		{"team_member_category", []string{"team_member_categories"}},
		{"Person", []string{"People", "Persons"}},
		{"y", []string{"ys"}},
		{"s", []string{"ses"}},
		{"", nil},
		{"trailing_", nil},
	}
	for _, tt := range tests {
		t.Run(tt.word, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, pluralForms(tt.word)); diff != "" {
				t.Errorf("pluralForms(%q) (-want +got):\n%s", tt.word, diff)
			}
		})
	}
}

func TestResolveResource(t *testing.T) {
	role := &Role{Name: "r", Permissions: []Permission{
		{Resource: "boxes", Action: "read"},
		{Resource: "categories", Action: "read"},
		{Resource: "machines", Action: "operate"},
		{Resource: "people", Action: "read"},
		{Resource: "status", Action: "read"},
		{Resource: "statuses", Action: "read"},
		{Resource: "*", Action: "list"},
	}}
	idx := newRoleIndex(role)
	known := func(res string) bool { return res == "chains" || idx.resources[res] } // chains is declared
	tests := []struct {
		word, want string
	}{
		{"machine", "machines"},    // singular → the role's plural
		{"machines", "machines"},   // exact
		{"box", "boxes"},           // -es
		{"category", "categories"}, // -ies
		{"person", "people"},       // irregular
		{"status", "status"},       // exact wins over the plural
		{"chain", "chains"},        // a declared resource counts too
		{"product", "product"},     // unknown: the word itself
		{"list", "list"},           // a "*" resource names nothing
		{"Machine", "Machine"},     // case matters
	}
	for _, tt := range tests {
		if got := resolveResource(tt.word, known); got != tt.want {
			t.Errorf("resolveResource(%q) = %q, want %q", tt.word, got, tt.want)
		}
	}
}

// TestRoleIndexAgreesWithRole: the compiler's constant-time index answers
// exactly as Role.Grants, the engine's contract, for every combination of
// patterns and queries drawn from a small alphabet.
func TestRoleIndexAgreesWithRole(t *testing.T) {
	parts := []string{"a", "b", Wildcard}
	var all []Permission
	for _, r := range parts {
		for _, a := range parts {
			all = append(all, Permission{Resource: r, Action: a})
		}
	}
	// Every subset of the 9 patterns.
	for mask := 0; mask < 1<<len(all); mask++ {
		role := &Role{Name: "r"}
		for i, p := range all {
			if mask&(1<<i) != 0 {
				role.Permissions = append(role.Permissions, p)
			}
		}
		idx := newRoleIndex(role)
		for _, res := range []string{"a", "b", "c"} {
			for _, act := range []string{"a", "b", "c"} {
				if got, want := idx.grants(res, act), role.Grants(res, act); got != want {
					t.Fatalf("patterns %v: index grants(%s, %s) = %v, Role.Grants = %v", role.Permissions, res, act, got, want)
				}
			}
		}
	}
	idx := newRoleIndex(&Role{Permissions: []Permission{{"m", "run"}, {"m", "read"}, {"*", "list"}, {"m", "read"}, {"n", "x"}}})
	if diff := cmp.Diff([]string{"list", "read", "run"}, idx.actionsOn("m")); diff != "" {
		t.Errorf("actionsOn(m) (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"m", "n"}, idx.names); diff != "" {
		t.Errorf("names (-want +got):\n%s", diff)
	}
}

func TestShortList(t *testing.T) {
	var long []string
	for i := 0; i < 15; i++ {
		long = append(long, string(rune('a'+i)))
	}
	tests := []struct {
		in   []string
		want string
	}{
		{nil, ""},
		{[]string{"read"}, "read"},
		{long[:12], "a, b, c, d, e, f, g, h, i, j, k, l"},
		{long, "a, b, c, d, e, f, g, h, i, j, k, l and 3 more"},
	}
	for _, tt := range tests {
		if got := shortList(tt.in); got != tt.want {
			t.Errorf("shortList(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestClosest(t *testing.T) {
	known := []string{"viewer", "operator", "admin", "Owner"}
	tests := []struct {
		name, want string
	}{
		{"viewr", "viewer"},
		{"opertor", "operator"},
		{"admn", "admin"},
		{"owner", "Owner"}, // case only
		{"adm", "admin"},
		{"root", ""},
		{"x", ""},
		{"viewer", ""}, // itself is not a suggestion
	}
	for _, tt := range tests {
		if got := closest(tt.name, known); got != tt.want {
			t.Errorf("closest(%q) = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func id(name string, line, col int) *ast.Ident {
	return &ast.Ident{NamePos: token.Pos{File: "t.policy", Line: line, Col: col}, Name: name}
}

// TestCompileMalformedTrees feeds trees with the nil parts error recovery
// can leave, and trees no parser would build, and requires Compile to
// report errors without panicking and without returning a model.
func TestCompileMalformedTrees(t *testing.T) {
	p := token.Pos{File: "t.policy", Line: 1, Col: 1}
	tests := []struct {
		name  string
		file  *ast.File
		codes []string
	}{
		{"nil file", nil, []string{CodeMalformed}},
		{"nil decls", &ast.File{Decls: []ast.Decl{nil, (*ast.RoleDecl)(nil), (*ast.AgentDecl)(nil),
			(*ast.ConditionDecl)(nil), (*ast.ResourceDecl)(nil), (*ast.EnumDecl)(nil), (*ast.WorkflowDecl)(nil)}}, nil},
		{"role without name", &ast.File{Decls: []ast.Decl{&ast.RoleDecl{Role: p}}}, []string{CodeMalformed}},
		{"role with nil parts", &ast.File{Decls: []ast.Decl{&ast.RoleDecl{Role: p, Name: id("r", 1, 6),
			Parents:     []*ast.Ident{nil},
			Permissions: []*ast.PermissionBlock{nil, {Permission: p}, {Permission: p, Resource: id("x", 1, 9), Actions: []*ast.Ident{nil}}},
		}}}, []string{CodeMalformed, CodeMalformed, CodeMalformed}},
		{"wildcard role name", &ast.File{Decls: []ast.Decl{&ast.RoleDecl{Role: p, Name: id("*", 1, 6)}}}, []string{CodeInvalidName}},
		{"partial wildcards", &ast.File{Decls: []ast.Decl{&ast.RoleDecl{Role: p, Name: id("r", 1, 6),
			Permissions: []*ast.PermissionBlock{
				{Permission: p, Resource: id("chain*", 2, 12), Actions: []*ast.Ident{id("read", 2, 20)}},
				{Permission: p, Resource: id("chains", 3, 12), Actions: []*ast.Ident{id("re*", 3, 20)}},
			}}}}, []string{CodeBadPattern, CodeBadPattern}},
		{"agent with nil parts", &ast.File{Decls: []ast.Decl{
			&ast.RoleDecl{Role: p, Name: id("r", 1, 6)},
			&ast.AgentDecl{Agent: p, Name: id("a", 2, 7), Role: id("r", 2, 10), Rules: []*ast.Rule{
				nil,
				{KindPos: p},                           // no words
				{KindPos: p, Words: []*ast.Ident{nil}}, // nil word
				{KindPos: p, Words: []*ast.Ident{id("*", 3, 5)}},                                             // wildcard word
				{KindPos: p, Words: []*ast.Ident{id("run", 4, 5)}, Keyword: "when"},                          // when without a name
				{KindPos: p, Words: []*ast.Ident{id("run", 5, 5)}, Condition: id("c", 5, 9)},                 // name without when
				{KindPos: p, Kind: ast.RuleKind(7), Words: []*ast.Ident{id("run", 6, 5)}},                    // unknown kind
				{KindPos: p, Words: []*ast.Ident{id("run", 7, 5)}, Keyword: "when", Condition: id("", 7, 9)}, // empty name
			}},
		}}, []string{CodeMalformed, CodeMalformed, CodeInvalidName, CodeMalformed, CodeMalformed, CodeMalformed, CodeInvalidName}},
		{"agent without role", &ast.File{Decls: []ast.Decl{&ast.AgentDecl{Agent: p, Name: id("a", 1, 7)}}}, []string{CodeMissingRole}},
		{"agent without name", &ast.File{Decls: []ast.Decl{&ast.AgentDecl{Agent: p}}}, []string{CodeMalformed, CodeMissingRole}},
		{"condition with nil parts", &ast.File{Decls: []ast.Decl{&ast.ConditionDecl{Condition: p}}}, []string{CodeMalformed, CodeMalformed}},
		{"resource with nil parts", &ast.File{Decls: []ast.Decl{&ast.ResourceDecl{Resource: p, Name: id("*", 1, 10),
			Clauses: []*ast.ActionsClause{nil, {ActionsPos: p, Actions: []*ast.Ident{nil, id("*", 2, 13)}}}}}},
			[]string{CodeInvalidName, CodeMalformed, CodeInvalidName}},
		{"enum and workflow with nil parts", &ast.File{Decls: []ast.Decl{
			&ast.EnumDecl{Enum: p, Name: id("E", 1, 6), Values: []*ast.Ident{nil}},
			&ast.WorkflowDecl{Workflow: p, Name: id("W", 2, 10), States: []*ast.StateDecl{nil, {State: p}, {State: p, From: id("a", 3, 7), To: []*ast.Ident{nil}}}},
		}}, []string{CodeMalformed, CodeMalformed, CodeMalformed}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, diags := Compile(tt.file)
			var codes []string
			for _, d := range diags {
				if d.Severity != token.Error {
					t.Errorf("unexpected warning from Compile: %v", d)
				}
				codes = append(codes, d.Code)
			}
			if diff := cmp.Diff(sortedCopy(tt.codes), sortedCopy(codes)); diff != "" {
				t.Errorf("codes (-want +got):\n%s\n%v", diff, diags)
			}
			if (m == nil) != diags.HasErrors() {
				t.Errorf("model nil = %v, but HasErrors = %v", m == nil, diags.HasErrors())
			}
			if m != nil {
				_ = Lint(tt.file, m, LintOptions{}) // must not panic either
			}
		})
	}
}

func sortedCopy(s []string) []string {
	out := append([]string{}, s...)
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j] < out[j-1]; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// TestCompileTooComplex: inheritance that would flatten to more than
// maxFlatPermissions entries is an error, not minutes of work and
// gigabytes of memory (a chain of n roles flattens to n²/2 entries).
func TestCompileTooComplex(t *testing.T) {
	chain := func(n int) []byte {
		var b strings.Builder
		for i := 0; i < n; i++ {
			parent := ""
			if i+1 < n {
				parent = fmt.Sprintf(": r%d", i+1)
			}
			fmt.Fprintf(&b, "role r%d%s { permission p%d { a } }\n", i, parent, i)
		}
		return []byte(b.String())
	}
	// 1400 roles flatten to 980,700 entries: under the bound.
	if m, diags := Load("ok.policy", chain(1400), LintOptions{}); m == nil {
		t.Fatalf("1400-role chain: %v", diags)
	}
	// 1500 roles flatten to 1,125,750: over it.
	m, diags := Load("big.policy", chain(1500), LintOptions{})
	if m != nil {
		t.Fatal("1500-role chain compiled")
	}
	if diff := cmp.Diff([]string{CodeTooComplex}, codes(diags)); diff != "" {
		t.Errorf("codes (-want +got):\n%s", diff)
	}
}

// BenchmarkLoad measures Load on a realistic policy and on large inputs
// that would be quadratic without the compiler's indexes.
func BenchmarkLoad(b *testing.B) {
	design, err := os.ReadFile("testdata/compile/design.policy")
	if err != nil {
		b.Fatal(err)
	}
	var rules strings.Builder
	rules.WriteString("role r { permission p { ")
	for i := 0; i < 20000; i++ {
		fmt.Fprintf(&rules, "a%d, ", i)
	}
	rules.WriteString("} }\nagent A: r {\n")
	for i := 0; i < 10000; i++ {
		fmt.Fprintf(&rules, "can x%d p\n", i)
	}
	rules.WriteString("}\n")
	var flow strings.Builder
	flow.WriteString("workflow W {\n")
	for i := 0; i < 20000; i++ {
		fmt.Fprintf(&flow, "state s%d -> s%d\n", i, i+1)
	}
	flow.WriteString("}\n")
	for _, bc := range []struct {
		name string
		src  []byte
	}{
		{"design", design},
		{"10k-ungranted-rules", []byte(rules.String())},
		{"20k-state-workflow", []byte(flow.String())},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				Load("b.policy", bc.src, LintOptions{})
			}
		})
	}
}

func TestObjectWord(t *testing.T) {
	tests := []struct {
		words []string
		want  string
	}{
		{[]string{"run", "chains"}, "chains"},
		{[]string{"assist", "with", "issues"}, "issues"},
		{[]string{"assign", "tasks", "to", "members"}, "tasks"},
		{[]string{"view", "user", "accounts"}, "user"},
		{[]string{"report", "on", "the", "incidents"}, "incidents"},
		{[]string{"escalate"}, ""},
		{[]string{"escalate", "to", "the"}, ""},
		{nil, ""},
	}
	for _, tt := range tests {
		if got := objectWord(tt.words); got != tt.want {
			t.Errorf("objectWord(%q) = %q, want %q", tt.words, got, tt.want)
		}
	}
}

// dumpAsk renders a compiled ask rule: where it is written, what it needs
// approval for, and whether its owner grants that at all.
func dumpAsk(a *AskRule) string {
	verdict := "granted"
	if !a.Granted {
		verdict = "NOT granted"
	}
	return fmt.Sprintf("ask @%d:%d (%s) %s => %s quorum %d from [%s] %s",
		a.Pos.Line, a.Pos.Col, a.Owner, a.Text(), a.Permission, a.Quorum, strings.Join(a.From, " "), verdict)
}
