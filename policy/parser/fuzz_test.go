package parser_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/gatehouse-dev/gatehouse/policy/ast"
	"github.com/gatehouse-dev/gatehouse/policy/format"
	"github.com/gatehouse-dev/gatehouse/policy/parser"
	"github.com/gatehouse-dev/gatehouse/policy/token"
)

// FuzzParse: any bytes → ParseFile never panics and keeps its diagnostic
// contract, and format.File does not panic on the (partial) tree; when
// there are no errors, the formatted file parses without
// errors to the same tree with the same comments, and formatting it again
// changes nothing. Crashers found by `go test -fuzz` are kept in
// testdata/fuzz/FuzzParse and replayed by every `go test`.
func FuzzParse(f *testing.F) {
	for _, pattern := range []string{"../testdata/parse/*.policy", "../testdata/format/*.policy"} {
		files, err := filepath.Glob(pattern)
		if err != nil {
			f.Fatal(err)
		}
		for _, path := range files {
			src, err := os.ReadFile(path)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(src)
		}
	}
	f.Add([]byte("role r { permission * { * } }\r\n# c\r\n"))
	f.Add([]byte("\xef\xbb\xbfagent a: r { can x when y # c\n}"))

	f.Fuzz(func(t *testing.T, src []byte) {
		file, errs := parser.ParseFile("fuzz.policy", src)
		if file == nil {
			t.Fatal("nil file")
		}
		checkDiagnostics(t, src, errs)
		if len(errs) > parser.MaxErrors+1 {
			t.Fatalf("%d diagnostics", len(errs))
		}
		if errs.HasErrors() {
			_ = format.File(file) // partial trees must not crash the printer either
			return
		}
		out := format.File(file)
		file2, errs2 := parser.ParseFile("fuzz.policy", out)
		if errs2.HasErrors() {
			t.Fatalf("formatted output does not parse: %v\ninput:\n%q\noutput:\n%s", errs2, src, out)
		}
		if d := cmp.Diff(file.Decls, file2.Decls, cmpopts.IgnoreTypes(token.Pos{})); d != "" {
			t.Fatalf("formatting changed the tree (-in +out):\n%s\ninput:\n%q\noutput:\n%s", d, src, out)
		}
		if d := cmp.Diff(commentTexts(file), commentTexts(file2)); d != "" {
			t.Fatalf("formatting changed the comments (-in +out):\n%s\ninput:\n%q\noutput:\n%s", d, src, out)
		}
		if again := format.File(file2); string(again) != string(out) {
			t.Fatalf("not idempotent (-once +twice):\n%s\ninput:\n%q", cmp.Diff(string(out), string(again)), src)
		}
	})
}

func commentTexts(f *ast.File) []string {
	var out []string
	for _, c := range f.Comments {
		out = append(out, strings.TrimRight(c.Text, " \t\r\f\v"))
	}
	return out
}
