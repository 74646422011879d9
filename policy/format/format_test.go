package format_test

import (
	"flag"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/gatehouse-dev/gatehouse/policy/ast"
	"github.com/gatehouse-dev/gatehouse/policy/format"
	"github.com/gatehouse-dev/gatehouse/policy/parser"
	"github.com/gatehouse-dev/gatehouse/policy/scanner"
	"github.com/gatehouse-dev/gatehouse/policy/token"
)

var update = flag.Bool("update", false, "rewrite the .golden files of testdata/format")

// TestGolden formats every testdata/format/NAME.policy and compares the
// result with NAME.golden (rewrite with -update).
func TestGolden(t *testing.T) {
	files, err := filepath.Glob("../testdata/format/*.policy")
	if err != nil || len(files) == 0 {
		t.Fatalf("no files in ../testdata/format (err %v)", err)
	}
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			src, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			got, errs := format.Source(path, src)
			if len(errs) > 0 {
				t.Fatalf("parse errors:\n%v", errs)
			}
			checkFormatted(t, src, got)
			golden := strings.TrimSuffix(path, ".policy") + ".golden"
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./policy/format -update to create it)", err)
			}
			if diff := cmp.Diff(string(want), string(got)); diff != "" {
				t.Errorf("format differs from %s (-want +got):\n%s", golden, diff)
			}
		})
	}
}

// TestParseCorpus formats every file of the parser's corpus that parses
// without errors.
func TestParseCorpus(t *testing.T) {
	files, err := filepath.Glob("../testdata/parse/*.policy")
	if err != nil || len(files) == 0 {
		t.Fatalf("no files in ../testdata/parse (err %v)", err)
	}
	n := 0
	for _, path := range files {
		src, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		got, errs := format.Source(path, src)
		if errs.HasErrors() {
			continue
		}
		n++
		t.Run(filepath.Base(path), func(t *testing.T) { checkFormatted(t, src, got) })
	}
	if n < 15 {
		t.Errorf("only %d corpus files parse; expected the seed examples at least", n)
	}
}

// checkFormatted asserts the formatter's contract for src and its
// formatted form out: same tree, same comments, idempotent, tidy text.
func checkFormatted(t *testing.T, src, out []byte) {
	t.Helper()
	f1, errs := parser.ParseFile("in", src)
	if errs.HasErrors() {
		t.Fatalf("input does not parse: %v", errs)
	}
	f2, errs := parser.ParseFile("out", out)
	if errs.HasErrors() {
		t.Fatalf("formatted output does not parse: %v\n%s", errs, out)
	}
	if diff := DiffTrees(f1, f2); diff != "" {
		t.Errorf("formatting changed the tree (-in +out):\n%s\noutput:\n%s", diff, out)
	}
	if again := format.File(f2); string(again) != string(out) {
		t.Errorf("not idempotent (-once +twice):\n%s", cmp.Diff(string(out), string(again)))
	}
	for i, l := range strings.Split(string(out), "\n") {
		if strings.TrimRight(l, " \t") != l && !insideRawString(f2, i+1) {
			t.Errorf("line %d has trailing white space: %q", i+1, l)
		}
	}
	if len(out) > 0 && (out[len(out)-1] != '\n' || strings.HasSuffix(string(out), "\n\n")) {
		t.Errorf("output must end with exactly one newline: %q", out[max(0, len(out)-20):])
	}
}

func insideRawString(f *ast.File, line int) bool {
	for _, d := range f.Decls {
		if c, ok := d.(*ast.ConditionDecl); ok && c.Expr != nil {
			start := c.Expr.ValuePos.Line
			if line > start && line <= start+strings.Count(c.Expr.Raw, "\n") {
				return true
			}
		}
	}
	return false
}

// DiffTrees compares two parses ignoring positions: the declarations, and
// the comments' texts in order (trailing white space aside, which the
// formatter trims).
func DiffTrees(a, b *ast.File) string {
	if d := cmp.Diff(a.Decls, b.Decls, cmpopts.IgnoreTypes(token.Pos{})); d != "" {
		return d
	}
	return cmp.Diff(commentTexts(a), commentTexts(b))
}

func commentTexts(f *ast.File) []string {
	var out []string
	for _, c := range f.Comments {
		out = append(out, strings.TrimRight(c.Text, " \t\r\f\v"))
	}
	return out
}

// The seed's examples are written in the canonical layout already, so the
// formatter leaves them alone, byte for byte; the one the page indents
// loses its indentation only.
func TestSeedExamplesAreCanonical(t *testing.T) {
	files, _ := filepath.Glob("../testdata/parse/seed003_*.policy")
	n := 0
	for _, path := range files {
		if strings.Contains(path, "_invalid") {
			continue
		}
		n++
		src, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		got, errs := format.Source(path, src)
		if len(errs) > 0 {
			t.Errorf("%s: %v", path, errs)
			continue
		}
		want := string(src)
		if strings.HasPrefix(want, "    ") { // indented on the page
			var lines []string
			for _, l := range strings.Split(strings.TrimRight(want, " \n"), "\n") {
				lines = append(lines, strings.TrimPrefix(l, "    "))
			}
			want = strings.Join(lines, "\n") + "\n"
		}
		if diff := cmp.Diff(want, string(got)); diff != "" {
			t.Errorf("%s is not canonical (-seed +formatted):\n%s", path, diff)
		}
	}
	if n != 15 {
		t.Errorf("checked %d seed examples, want 15", n)
	}
}

func TestSourceReportsErrors(t *testing.T) {
	out, errs := format.Source("bad.policy", []byte("role r { permission p { ... } }"))
	if out != nil {
		t.Errorf("got output %q for a file with errors", out)
	}
	if len(errs) != 1 || errs[0].Code != "placeholder" {
		t.Errorf("got %v, want the placeholder error", errs)
	}
}

// File prints trees that did not come from the parser (no positions, no
// Raw text) and never panics on missing parts.
func TestFileOnBuiltTrees(t *testing.T) {
	id := func(s string) *ast.Ident { return &ast.Ident{Name: s} }
	tests := []struct {
		name string
		file *ast.File
		want string
	}{
		{"nil file", nil, ""},
		{"empty file", &ast.File{}, ""},
		{
			"built role and agent",
			&ast.File{Decls: []ast.Decl{
				&ast.RoleDecl{Name: id("viewer"), Level: &ast.IntLit{Value: 10},
					Permissions: []*ast.PermissionBlock{{Resource: id("chains"), Actions: []*ast.Ident{id("read"), nil, id("list")}}}},
				&ast.AgentDecl{Name: id("Bot"), Role: id("viewer"), Rules: []*ast.Rule{
					{Kind: ast.Must, Words: []*ast.Ident{id("log")}, Keyword: "if", Condition: id("c")},
					{Kind: ast.Should, Words: []*ast.Ident{id("ask")}, Condition: id("d")},
					nil,
				}},
				&ast.ConditionDecl{Name: id("c"), Expr: &ast.StringLit{Value: "a == \"b\"\n"}},
			}},
			"role viewer level 10 {\n    permission chains {\n        read,\n        list\n    }\n}\n\n" +
				"agent Bot: viewer {\n    must log if c\n    should ask when d\n}\n\n" +
				"condition c = \"a == \\\"b\\\"\\n\"\n",
		},
		{
			"missing parts",
			&ast.File{Decls: []ast.Decl{
				&ast.RoleDecl{}, &ast.AgentDecl{}, &ast.ConditionDecl{}, &ast.ResourceDecl{Clauses: []*ast.ActionsClause{nil}},
				&ast.EnumDecl{Values: []*ast.Ident{nil}}, &ast.WorkflowDecl{States: []*ast.StateDecl{{}, nil}}, nil,
			}, Comments: []*ast.Comment{nil, {Text: "# c"}}},
			"role  {\n}\n\nagent  {\n}\n\ncondition  = \n\nresource  {\n}\n\nenum  {\n}\n\nworkflow  {\n    state \n}\n\n# c\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := string(format.File(tt.file))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// Comments anywhere a comment can go survive formatting, in order, and the
// result is stable: every valid corpus file is tried with a comment at the
// end of every line, before every line, both, and with doubled blank
// lines.
func TestCommentsEverywhere(t *testing.T) {
	var files []string
	for _, pattern := range []string{"../testdata/parse/valid_*.policy", "../testdata/parse/seed003_*.policy", "../testdata/format/*.policy"} {
		m, _ := filepath.Glob(pattern)
		files = append(files, m...)
	}
	variants := []struct {
		name string
		edit func(i int, line string) string
	}{
		{"trailing", func(i int, l string) string { return l + fmt.Sprintf(" # t%d", i) }},
		{"own line", func(i int, l string) string { return fmt.Sprintf("// o%d\n", i) + l }},
		{"both", func(i int, l string) string { return fmt.Sprintf("# o%d\n%s // t%d", i, l, i) }},
		{"blank lines", func(i int, l string) string { return l + "\n" }},
		{"indented own line", func(i int, l string) string { return fmt.Sprintf("        # o%d\n", i) + l }},
	}
	for _, path := range files {
		src, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if _, errs := parser.ParseFile(path, src); errs.HasErrors() {
			continue
		}
		for _, v := range variants {
			t.Run(filepath.Base(path)+"/"+v.name, func(t *testing.T) {
				lines := strings.Split(strings.TrimSuffix(string(src), "\n"), "\n")
				for i, l := range lines {
					lines[i] = v.edit(i, l)
				}
				edited := []byte(strings.Join(lines, "\n") + "\n")
				out, errs := format.Source(path, edited)
				if errs.HasErrors() {
					// A comment marker inside a multi-line raw string is
					// string text; anything else must parse.
					t.Fatalf("edited file does not parse: %v", errs)
				}
				checkFormatted(t, edited, out)
			})
		}
	}
}

// Comments and blank lines inserted at random token boundaries (with a
// fixed seed, so failures reproduce) never break the formatter's contract.
func TestRandomCommentPlacement(t *testing.T) {
	var files []string
	for _, pattern := range []string{"../testdata/parse/valid_*.policy", "../testdata/format/*.policy"} {
		m, _ := filepath.Glob(pattern)
		files = append(files, m...)
	}
	r := rand.New(rand.NewSource(1))
	inserts := []string{"\n# c\n", " # c\n", "\n\n# c\n\n", "# c\n", "\n//x\n\n", "\n\n"}
	tried := 0
	for _, path := range files {
		src, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var offs []int // token starts and ends
		var s scanner.Scanner
		s.Init(path, src, nil)
		for {
			pos, tok, lit := s.Scan()
			if tok == scanner.EOF {
				break
			}
			offs = append(offs, pos.Offset, pos.Offset+len(lit))
		}
		for k := 0; k < 300; k++ {
			b := append([]byte(nil), src...)
			for j := 0; j < 1+r.Intn(4); j++ {
				o := min(offs[r.Intn(len(offs))], len(b))
				b = append(b[:o:o], append([]byte(inserts[r.Intn(len(inserts))]), b[o:]...)...)
			}
			out, errs := format.Source(path, b)
			if errs.HasErrors() {
				continue // e.g. a line break inside an agent rule
			}
			tried++
			checkFormatted(t, b, out)
			if t.Failed() {
				t.Fatalf("input:\n%s", b)
			}
		}
	}
	if tried < 1000 {
		t.Errorf("only %d variants parsed", tried)
	}
}
