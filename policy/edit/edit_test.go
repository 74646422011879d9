package edit_test

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/gatehouse-dev/gatehouse/policy/ast"
	"github.com/gatehouse-dev/gatehouse/policy/edit"
	"github.com/gatehouse-dev/gatehouse/policy/format"
	"github.com/gatehouse-dev/gatehouse/policy/parser"
	"github.com/gatehouse-dev/gatehouse/policy/token"
)

var update = flag.Bool("update", false, "rewrite the .golden files of testdata/edit")

// An edit script (NAME.edit) holds one edit per line:
//
//	remove NAME
//	set role NAME ... { ... }     (a declaration on one line)
//
// '#' lines are comments. A line "whole-file" says that the edit may
// change more than the role's lines (duplicates removed, a file formatted
// because a role shares a line); otherwise every edit is checked to change
// only the edited role's lines and the blank lines next to them.
type script struct {
	edits     []step
	wholeFile bool
}

type step struct {
	remove string        // role to remove, or
	set    *ast.RoleDecl // declaration to set
}

func (s step) role() string {
	if s.set != nil {
		return s.set.Name.Name
	}
	return s.remove
}

func readScript(t *testing.T, path string) script {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var sc script
	for _, l := range strings.Split(string(data), "\n") {
		l = strings.TrimSpace(l)
		switch {
		case l == "" || strings.HasPrefix(l, "#"):
		case l == "whole-file":
			sc.wholeFile = true
		case strings.HasPrefix(l, "remove "):
			sc.edits = append(sc.edits, step{remove: strings.TrimSpace(strings.TrimPrefix(l, "remove "))})
		case strings.HasPrefix(l, "set "):
			sc.edits = append(sc.edits, step{set: roleDecl(t, strings.TrimPrefix(l, "set "))})
		default:
			t.Fatalf("%s: bad line %q", path, l)
		}
	}
	if len(sc.edits) == 0 {
		t.Fatalf("%s: no edits", path)
	}
	return sc
}

// roleDecl parses one role declaration.
func roleDecl(t *testing.T, src string) *ast.RoleDecl {
	t.Helper()
	f, errs := parser.ParseFile("script", []byte(src))
	if errs.HasErrors() || len(f.Decls) != 1 {
		t.Fatalf("script declaration %q: %v", src, errs)
	}
	rd, ok := f.Decls[0].(*ast.RoleDecl)
	if !ok {
		t.Fatalf("script declaration %q is not a role", src)
	}
	return rd
}

// TestGolden applies every testdata/edit/NAME.edit to NAME.policy and
// compares the result with NAME.golden (rewrite with -update).
func TestGolden(t *testing.T) {
	files, err := filepath.Glob("../testdata/edit/*.policy")
	if err != nil || len(files) == 0 {
		t.Fatalf("no files in ../testdata/edit (err %v)", err)
	}
	for _, path := range files {
		base := strings.TrimSuffix(path, ".policy")
		t.Run(filepath.Base(base), func(t *testing.T) {
			src, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			sc := readScript(t, base+".edit")
			f, errs := edit.Parse(path, src)
			if f == nil {
				t.Fatalf("parse errors:\n%v", errs)
			}
			for _, s := range sc.edits {
				before := f.Bytes()
				applyStep(t, f, s)
				checkStep(t, before, f.Bytes(), s, sc.wholeFile)
			}
			got := f.Bytes()
			if *update {
				if err := os.WriteFile(base+".golden", got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(base + ".golden")
			if err != nil {
				t.Fatalf("%v (run go test ./policy/edit -update to create it)", err)
			}
			if d := cmp.Diff(string(want), string(got)); d != "" {
				t.Errorf("result differs from %s.golden (-want +got):\n%s", base, d)
			}
		})
	}
}

func applyStep(t *testing.T, f *edit.File, s step) {
	t.Helper()
	var err error
	if s.set != nil {
		_, err = f.SetRole(s.set)
	} else {
		_, err = f.RemoveRole(s.remove)
	}
	if err != nil {
		t.Fatalf("edit of role %q: %v", s.role(), err)
	}
}

// checkStep checks one edit of before into after: the result parses; the
// role is there exactly once, as set, or gone; every other declaration and
// every comment outside the role is unchanged; a formatted input stays
// formatted; doing the edit again changes nothing; and unless wholeFile,
// the lines that differ are only the role's and the blank lines next to
// it (in the input, and in the output).
func checkStep(t *testing.T, before, after []byte, s step, wholeFile bool) {
	t.Helper()
	in, errs := parser.ParseFile("in", before)
	if errs.HasErrors() {
		t.Fatalf("input: %v", errs)
	}
	out, errs := parser.ParseFile("out", after)
	if errs.HasErrors() {
		t.Fatalf("output does not parse: %v\n%s", errs, after)
	}
	name := s.role()
	roles := declsNamed(out, name)
	switch {
	case s.set != nil && len(roles) != 1:
		t.Fatalf("after setting %q it is declared %d times:\n%s", name, len(roles), after)
	case s.set != nil:
		if d := cmp.Diff(s.set, roles[0], ignorePos); d != "" {
			t.Errorf("role %q as set (-want +got):\n%s", name, d)
		}
	case len(roles) != 0:
		t.Fatalf("after removing %q it is still declared:\n%s", name, after)
	}
	if d := cmp.Diff(otherDecls(in, name), otherDecls(out, name), ignorePos); d != "" {
		t.Errorf("other declarations changed (-before +after):\n%s", d)
	}
	if d := cmp.Diff(commentsOutside(t, in, before, name), commentsOutside(t, out, after, name)); d != "" && s.set == nil && !wholeFile {
		t.Errorf("comments outside the role changed (-before +after):\n%s", d)
	}
	if bytes.Equal(format.File(in), before) && !bytes.Equal(format.File(out), after) {
		t.Errorf("a formatted input gave an unformatted output (-output +formatted):\n%s", cmp.Diff(string(after), string(format.File(out))))
	}
	again, errs := edit.Parse("again", after)
	if again == nil {
		t.Fatal(errs)
	}
	applyStep(t, again, s)
	if d := cmp.Diff(string(after), string(again.Bytes())); d != "" {
		t.Errorf("doing the edit again changed the text (-once +twice):\n%s", d)
	}
	if wholeFile {
		return
	}
	bl, al := lines(before), lines(after)
	p := 0
	for p < len(bl) && p < len(al) && bl[p] == al[p] {
		p++
	}
	q := 0
	for q < len(bl)-p && q < len(al)-p && bl[len(bl)-1-q] == al[len(al)-1-q] {
		q++
	}
	lo, hi := span(t, in, bl, name)
	checkHunk(t, "input", bl, p, len(bl)-q, lo, hi)
	lo, hi = span(t, out, al, name)
	checkHunk(t, "output", al, p, len(al)-q, lo, hi)
}

// checkHunk fails unless lines [from, to) lie in the role's span [lo, hi),
// widened by the blank lines around it.
func checkHunk(t *testing.T, what string, ls []string, from, to int, lo, hi int) {
	t.Helper()
	if from >= to {
		return
	}
	for lo > 0 && strings.TrimSpace(ls[lo-1]) == "" {
		lo--
	}
	for hi < len(ls) && strings.TrimSpace(ls[hi]) == "" {
		hi++
	}
	if from < lo || to > hi {
		t.Errorf("the edit changed %s lines %d..%d, outside the role's lines %d..%d:\n%s",
			what, from+1, to, lo+1, hi, strings.Join(ls[from:to], "\n"))
	}
}

// span is the role's lines [lo, hi), 0-based: its declaration, and the
// comment-only lines directly above it. Without the role, it is empty.
func span(t *testing.T, f *ast.File, ls []string, name string) (lo, hi int) {
	t.Helper()
	rs := declsNamed(f, name)
	if len(rs) == 0 {
		return 0, 0
	}
	lo, hi = rs[0].Role.Line-1, rs[0].Rbrace.Line
	for lo > 0 {
		l := strings.TrimSpace(ls[lo-1])
		if !strings.HasPrefix(l, "#") && !strings.HasPrefix(l, "//") {
			break
		}
		lo--
	}
	return lo, hi
}

// lines splits src into lines without their endings.
func lines(src []byte) []string {
	s := strings.TrimSuffix(string(src), "\n")
	if s == "" {
		return nil
	}
	ls := strings.Split(s, "\n")
	for i := range ls {
		ls[i] = strings.TrimSuffix(ls[i], "\r")
	}
	return ls
}

var ignorePos = cmpopts.IgnoreTypes(token.Pos{})

func declsNamed(f *ast.File, name string) []*ast.RoleDecl {
	var out []*ast.RoleDecl
	for _, d := range f.Decls {
		if rd, ok := d.(*ast.RoleDecl); ok && rd.Name != nil && rd.Name.Name == name {
			out = append(out, rd)
		}
	}
	return out
}

func otherDecls(f *ast.File, name string) []ast.Decl {
	var out []ast.Decl
	for _, d := range f.Decls {
		if rd, ok := d.(*ast.RoleDecl); ok && rd.Name != nil && rd.Name.Name == name {
			continue
		}
		out = append(out, d)
	}
	return out
}

// commentsOutside lists the texts of the comments outside every
// declaration of the role and its comment lines above.
func commentsOutside(t *testing.T, f *ast.File, src []byte, name string) []string {
	t.Helper()
	ls := lines(src)
	type r struct{ lo, hi int }
	var spans []r
	for _, rd := range declsNamed(f, name) {
		lo, hi := rd.Role.Line-1, rd.Rbrace.Line
		for lo > 0 && strings.HasPrefix(strings.TrimSpace(ls[lo-1]), "#") {
			lo--
		}
		spans = append(spans, r{lo, hi})
	}
	var out []string
next:
	for _, c := range f.Comments {
		for _, s := range spans {
			if c.Slash.Line-1 >= s.lo && c.Slash.Line-1 < s.hi {
				continue next
			}
		}
		out = append(out, strings.TrimSpace(c.Text))
	}
	return out
}

// TestSetRoleKeepsAllComments: replacing a role keeps every comment of
// the file, in order, whatever parts of the role the new declaration drops.
func TestSetRoleKeepsAllComments(t *testing.T) {
	src, err := os.ReadFile("../testdata/edit/replace_keeps_comments.policy")
	if err != nil {
		t.Fatal(err)
	}
	for _, decl := range []string{
		"role support level 1 { }",
		"role support: viewer level 25 { permission results { read } permission chains { approve } }",
		"role support level 2 { permission tickets { update, read } permission chains { run, read } }",
	} {
		t.Run(decl, func(t *testing.T) {
			f, errs := edit.Parse("in", src)
			if f == nil {
				t.Fatal(errs)
			}
			want := commentTexts(f.Tree())
			if _, err := f.SetRole(roleDecl(t, decl)); err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(want, commentTexts(f.Tree())); d != "" {
				t.Errorf("comments (-before +after):\n%s\n%s", d, f.Bytes())
			}
		})
	}
}

func commentTexts(f *ast.File) []string {
	var out []string
	for _, c := range f.Comments {
		out = append(out, strings.TrimSpace(c.Text))
	}
	return out
}

// TestSetRoleRefusesWhatDoesNotPrintBack: a declaration that would not
// parse back to itself is refused with ErrInvalidRole and leaves the file
// unchanged.
func TestSetRoleRefusesWhatDoesNotPrintBack(t *testing.T) {
	const src = "role a level 1 {\n    permission t {\n        r\n    }\n}\n"
	id := func(s string) *ast.Ident { return &ast.Ident{Name: s} }
	for _, tc := range []struct {
		name string
		decl *ast.RoleDecl
	}{
		{"nil", nil},
		{"no name", &ast.RoleDecl{}},
		{"empty name", &ast.RoleDecl{Name: id("")}},
		{"name with a space", &ast.RoleDecl{Name: id("a b")}},
		{"name with a brace", &ast.RoleDecl{Name: id("a{")}},
		{"replacing with a bad parent", &ast.RoleDecl{Name: id("a"), Parents: []*ast.Ident{id("x y")}}},
		{"empty resource", &ast.RoleDecl{Name: id("z"), Permissions: []*ast.PermissionBlock{{Resource: id(""), Actions: []*ast.Ident{id("r")}}}}},
		{"action with a comma", &ast.RoleDecl{Name: id("z"), Permissions: []*ast.PermissionBlock{{Resource: id("t"), Actions: []*ast.Ident{id("r,s")}}}}},
		{"comment in a name", &ast.RoleDecl{Name: id("z#x")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, errs := edit.Parse("in", []byte(src))
			if f == nil {
				t.Fatal(errs)
			}
			if _, err := f.SetRole(tc.decl); !errors.Is(err, edit.ErrInvalidRole) {
				t.Errorf("SetRole: err = %v, want ErrInvalidRole", err)
			}
			if got := string(f.Bytes()); got != src {
				t.Errorf("the file changed:\n%s", got)
			}
		})
	}
}

// TestReport: SetRole and RemoveRole report what they did.
func TestReport(t *testing.T) {
	f, errs := edit.Parse("in", []byte("role a level 1 {\n}\n"))
	if f == nil {
		t.Fatal(errs)
	}
	b := &ast.RoleDecl{Name: &ast.Ident{Name: "b"}}
	for _, tc := range []struct {
		what string
		do   func() (bool, error)
		want bool
	}{
		{"set new b", func() (bool, error) { return f.SetRole(b) }, false},
		{"set b again", func() (bool, error) { return f.SetRole(b) }, true},
		{"remove b", func() (bool, error) { return f.RemoveRole("b") }, true},
		{"remove b again", func() (bool, error) { return f.RemoveRole("b") }, false},
	} {
		got, err := tc.do()
		if err != nil || got != tc.want {
			t.Errorf("%s = %v, %v; want %v, nil", tc.what, got, err, tc.want)
		}
	}
	if f.Role("a") == nil || f.Role("b") != nil {
		t.Errorf("roles after the edits:\n%s", f.Bytes())
	}
}
