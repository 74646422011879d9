package edit_test

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-dev/gatehouse/policy/ast"
	"github.com/gatehouse-dev/gatehouse/policy/edit"
	"github.com/gatehouse-dev/gatehouse/policy/parser"
)

// FuzzEdit: for any source that parses, setting or removing any role
// never panics; a removal always succeeds, a set succeeds unless the
// declaration does not print back to itself (ErrInvalidRole, file
// unchanged). After a successful edit the source parses, the role is
// declared exactly once as set (or not at all), every other declaration
// is unchanged, comments are only ever dropped (none added or reordered),
// and a set keeps every comment when the role was declared at most once.
//
// The role set is `role NAME[: PARENTS] level 3 { permission R { A ... } ... }`
// with PERMS a comma-separated list of R:A.
func FuzzEdit(f *testing.F) {
	for _, pattern := range []string{"../testdata/edit/*.policy", "../testdata/format/*.policy"} {
		files, err := filepath.Glob(pattern)
		if err != nil {
			f.Fatal(err)
		}
		for _, path := range files {
			src, err := os.ReadFile(path)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(src, "b", "a", "tickets:read,chains:run", false)
			f.Add(src, "support", "", "chains:read,chains:approve,results:read", false)
			f.Add(src, "b", "", "", true)
			f.Add(src, "a", "", "", true)
		}
	}
	f.Add([]byte("role r { permission * { * } }\r\n# c\r\n"), "r", "", "*:*", false)
	f.Add([]byte("\xef\xbb\xbfrole b {} # c\n"), "b", "", "", true)
	f.Add([]byte("role a {}\nrole b {} role c {}\n"), "b", "", "x:y", false)
	f.Add([]byte("role a {}"), "bad name", "", "x:y", false)

	f.Fuzz(func(t *testing.T, src []byte, name, parents, perms string, remove bool) {
		file, errs := edit.Parse("fuzz.policy", src)
		if file == nil {
			if !errs.HasErrors() {
				t.Fatal("no file and no errors")
			}
			return
		}
		before := file.Tree()
		declared := len(declsNamed(before, name))
		if remove {
			if _, err := file.RemoveRole(name); err != nil {
				t.Fatalf("RemoveRole(%q): %v\ninput:\n%q", name, err, src)
			}
		} else {
			decl := fuzzDecl(name, parents, perms)
			if _, err := file.SetRole(decl); err != nil {
				if !errors.Is(err, edit.ErrInvalidRole) {
					t.Fatalf("SetRole: %v\ninput:\n%q", err, src)
				}
				if string(file.Bytes()) != string(src) {
					t.Fatalf("a refused SetRole changed the file")
				}
				return
			}
		}
		out := file.Bytes()
		after, errs := parser.ParseFile("fuzz.policy", out)
		if errs.HasErrors() {
			t.Fatalf("the edited source does not parse: %v\ninput:\n%q\noutput:\n%q", errs, src, out)
		}
		got := declsNamed(after, name)
		switch {
		case remove && len(got) != 0:
			t.Fatalf("role %q still declared after RemoveRole:\n%q", name, out)
		case !remove && len(got) != 1:
			t.Fatalf("role %q declared %d times after SetRole:\n%q", name, len(got), out)
		case !remove:
			if d := cmp.Diff(fuzzDecl(name, parents, perms), got[0], ignorePos); d != "" {
				t.Fatalf("role as set (-want +got):\n%s\noutput:\n%q", d, out)
			}
		}
		if d := cmp.Diff(otherDecls(before, name), otherDecls(after, name), ignorePos); d != "" {
			t.Fatalf("other declarations changed (-before +after):\n%s\ninput:\n%q\noutput:\n%q", d, src, out)
		}
		cb, ca := trimmedComments(before), trimmedComments(after)
		if !remove && declared <= 1 && !slices.Equal(cb, ca) {
			t.Fatalf("SetRole changed the comments (-before +after):\n%s\ninput:\n%q\noutput:\n%q", cmp.Diff(cb, ca), src, out)
		}
		if !isSubsequence(ca, cb) {
			t.Fatalf("the edit added or reordered comments (-before +after):\n%s", cmp.Diff(cb, ca))
		}
	})
}

// fuzzDecl builds the role FuzzEdit sets.
func fuzzDecl(name, parents, perms string) *ast.RoleDecl {
	d := &ast.RoleDecl{Name: &ast.Ident{Name: name}, Level: &ast.IntLit{Raw: "3", Value: 3}}
	if parents != "" {
		for _, p := range strings.Split(parents, ",") {
			d.Parents = append(d.Parents, &ast.Ident{Name: p})
		}
	}
	if perms != "" {
		for _, p := range strings.Split(perms, ",") {
			r, a, _ := strings.Cut(p, ":")
			d.Permissions = append(d.Permissions, &ast.PermissionBlock{Resource: &ast.Ident{Name: r}, Actions: []*ast.Ident{{Name: a}}})
		}
	}
	return d
}

func trimmedComments(f *ast.File) []string {
	var out []string
	for _, c := range f.Comments {
		out = append(out, strings.TrimRight(c.Text, " \t\r\f\v"))
	}
	return out
}

// isSubsequence reports whether sub is s with some elements left out.
func isSubsequence(sub, s []string) bool {
	i := 0
	for _, x := range s {
		if i < len(sub) && sub[i] == x {
			i++
		}
	}
	return i == len(sub)
}
