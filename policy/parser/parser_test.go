package parser_test

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-dev/gatehouse/policy/ast"
	"github.com/gatehouse-dev/gatehouse/policy/parser"
	"github.com/gatehouse-dev/gatehouse/policy/token"
)

var update = flag.Bool("update", false, "rewrite the .golden files of testdata/parse")

const corpusDir = "../testdata/parse"

// TestCorpus parses every file of testdata/parse. Expected errors are
// written in the files themselves, go/parser style: a comment
// `ERROR "regexp"` on a line requires an error on that line matching the
// regexp (inside the quotes only \" is an escape), and `ERROR-NEXT
// "regexp"` one on the next line (for lines whose own comment would be
// swallowed by a broken string). One comment may hold several. Every error must be
// expected; a file without ERROR comments must parse cleanly. The tree,
// comments and diagnostics are also compared with NAME.golden (rewrite
// with -update).
func TestCorpus(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(corpusDir, "*.policy"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no corpus files in %s (err %v)", corpusDir, err)
	}
	for _, path := range files {
		name := filepath.Base(path)
		t.Run(name, func(t *testing.T) {
			src, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			f, errs := parser.ParseFile(name, src)
			checkDiagnostics(t, src, errs)
			checkExpectedErrors(t, src, errs)
			if strings.HasPrefix(name, "valid_") || strings.HasPrefix(name, "seed003_") && !strings.Contains(name, "_invalid") {
				if len(errs) != 0 {
					t.Errorf("valid file has diagnostics:\n%v", errs)
				}
				if len(f.Decls) == 0 {
					t.Errorf("valid file parsed to no declarations")
				}
			}
			got := Dump(f, errs)
			golden := strings.TrimSuffix(path, ".policy") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./policy/parser -update to create it)", err)
			}
			if diff := cmp.Diff(string(want), got); diff != "" {
				t.Errorf("tree differs from %s (-want +got):\n%s", golden, diff)
			}
		})
	}
}

var (
	errorComment = regexp.MustCompile(`(?:#|//)\s*(ERROR(?:-NEXT)?)\s+(.*)$`)
	quoted       = regexp.MustCompile(`^\s*(?:ERROR(?:-NEXT)?\s+)?("(?:[^"\\]|\\.)*")`)
)

// expectations maps a line number to the regexps expected there.
func expectations(t *testing.T, src []byte) map[int][]*regexp.Regexp {
	t.Helper()
	want := map[int][]*regexp.Regexp{}
	for i, text := range strings.Split(string(src), "\n") {
		m := errorComment.FindStringSubmatch(text)
		if m == nil {
			continue
		}
		line := i + 1
		if m[1] == "ERROR-NEXT" {
			line++
		}
		rest := m[2]
		n := 0
		for {
			q := quoted.FindStringSubmatch(rest)
			if q == nil {
				break
			}
			rest = rest[len(q[0]):]
			// Inside the quotes only \" is an escape; every other backslash
			// belongs to the regexp.
			s := strings.ReplaceAll(q[1][1:len(q[1])-1], `\"`, `"`)
			re, err := regexp.Compile(s)
			if err != nil {
				t.Fatalf("line %d: bad ERROR regexp %q: %v", i+1, s, err)
			}
			want[line] = append(want[line], re)
			n++
		}
		if n == 0 {
			t.Fatalf("line %d: ERROR comment without a quoted regexp", i+1)
		}
	}
	return want
}

func checkExpectedErrors(t *testing.T, src []byte, errs token.List) {
	t.Helper()
	want := expectations(t, src)
	matched := map[*regexp.Regexp]bool{}
	for _, d := range errs {
		ok := false
		for _, re := range want[d.Pos.Line] {
			if re.MatchString(d.Message) {
				matched[re] = true
				ok = true
			}
		}
		if !ok {
			t.Errorf("unexpected error %s [%s]", d.Error(), d.Code)
		}
	}
	for line, res := range want {
		for _, re := range res {
			if !matched[re] {
				t.Errorf("line %d: no error matching %q", line, re)
			}
		}
	}
}

var knownCodes = map[string]bool{
	"syntax": true, "bad-ident": true, "partial-wildcard": true, "unterminated": true,
	"encoding": true, "too-large": true, "placeholder": true, "agent-no-role": true,
	"too-many-errors": true,
}

// checkDiagnostics asserts the contract every diagnostic list obeys.
func checkDiagnostics(t *testing.T, src []byte, errs token.List) {
	t.Helper()
	lines := strings.Count(string(src), "\n") + 1
	for i, d := range errs {
		if d.Severity != token.Error {
			t.Errorf("%s: severity %v, want error", d.Error(), d.Severity)
		}
		if !knownCodes[d.Code] {
			t.Errorf("%s: unknown code %q", d.Error(), d.Code)
		}
		if d.Message == "" {
			t.Errorf("diagnostic %d has no message", i)
		}
		if d.Code != "too-large" {
			if !d.Pos.IsValid() || d.Pos.Line > lines || d.Pos.Col < 1 || d.Pos.Offset < 0 || d.Pos.Offset > len(src) {
				t.Errorf("%s: position outside the file (%d lines, %d bytes)", d.Error(), lines, len(src))
			}
		}
		if i > 0 {
			a, b := errs[i-1].Pos, d.Pos
			if a.Line > b.Line || a.Line == b.Line && a.Col > b.Col {
				t.Errorf("diagnostics not sorted: %s before %s", errs[i-1].Error(), d.Error())
			}
		}
	}
}

func TestSeedExamplesAreAllPresentAndValid(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(corpusDir, "seed003_*.policy"))
	valid, invalid := 0, 0
	for _, path := range files {
		src, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		_, errs := parser.ParseFile(path, src)
		if strings.Contains(path, "_invalid") {
			invalid++
			for _, d := range errs {
				if d.Code != "placeholder" {
					t.Errorf("%s: want only placeholder errors, got %s", path, d.Error())
				}
			}
			if len(errs) != 4 {
				t.Errorf("%s: got %d errors, want 4 (one per { ... })", path, len(errs))
			}
			continue
		}
		valid++
		if len(errs) > 0 {
			t.Errorf("%s:\n%v", path, errs)
		}
	}
	// Seed 003 has 15 complete examples and one placeholder example.
	if valid != 15 || invalid != 1 {
		t.Errorf("found %d valid and %d invalid seed examples, want 15 and 1", valid, invalid)
	}
}

func TestInputLimits(t *testing.T) {
	big := make([]byte, parser.MaxFileSize+1)
	for i := range big {
		big[i] = ' '
	}
	atLimit := append([]byte("role r {\n}\n#"), make([]byte, parser.MaxFileSize-12)...)
	for i := 12; i < len(atLimit); i++ {
		atLimit[i] = 'x'
	}
	tests := []struct {
		name  string
		src   []byte
		want  []string // "line:col code" of each diagnostic
		decls int
	}{
		{"empty", nil, nil, 0},
		{"invalid UTF-8 in a name", []byte("role r {\n    permission a\xffb { read }\n}\n"), []string{"2:17 encoding"}, 0},
		{"invalid UTF-8 in a comment", []byte("# caf\xe9\nrole r {\n}\n"), []string{"1:6 encoding"}, 0},
		{"truncated UTF-8 at EOF", []byte("role r {\n}\n\xe2\x82"), []string{"3:1 encoding"}, 0},
		{"NUL byte", []byte("role r {\n  permission a\x00 { read }\n}\n"), []string{"2:15 encoding"}, 0},
		{"NUL and invalid UTF-8", []byte("\x00\n\xff"), []string{"1:1 encoding", "2:1 encoding"}, 0},
		{"over the size limit", big, []string{"- too-large"}, 0},
		{"exactly at the size limit", atLimit, nil, 1},
		{"byte order mark", []byte("\xef\xbb\xbfrole r {\n}\n"), nil, 1},
		{"byte order mark then error", []byte("\xef\xbb\xbf}"), []string{"1:1 syntax"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, errs := parser.ParseFile("limits.policy", tt.src)
			if f == nil {
				t.Fatal("ParseFile returned a nil file")
			}
			var got []string
			for _, d := range errs {
				p := "-"
				if d.Pos.IsValid() {
					p = fmt.Sprintf("%d:%d", d.Pos.Line, d.Pos.Col)
				}
				got = append(got, p+" "+d.Code)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("diagnostics (-want +got):\n%s\n%v", diff, errs)
			}
			if len(f.Decls) != tt.decls {
				t.Errorf("got %d declarations, want %d", len(f.Decls), tt.decls)
			}
			checkDiagnostics(t, tt.src, errs)
		})
	}
}

func TestTooLargeSaysWhy(t *testing.T) {
	_, errs := parser.ParseFile("big.policy", make([]byte, parser.MaxFileSize+10))
	if len(errs) != 1 || !strings.Contains(errs[0].Message, "at most 1048576 bytes") || errs[0].Pos.File != "big.policy" {
		t.Fatalf("got %v", errs)
	}
	if got := errs[0].Error(); !strings.HasPrefix(got, "big.policy: error: file is 1048586 bytes") {
		t.Errorf("rendered as %q", got)
	}
}

// Hostile input must not make ParseFile recurse, loop, or return an
// unbounded list.
func TestHostileInput(t *testing.T) {
	tests := []struct {
		name string
		src  string
	}{
		{"deep braces", strings.Repeat("{", 200000)},
		{"deep closing braces", strings.Repeat("}", 200000)},
		{"role with deep braces", "role r " + strings.Repeat("{ ", 100000)},
		{"many bad words", strings.Repeat("a$ ", 100000)},
		{"many partial wildcards", "role r { permission x { " + strings.Repeat("a*, ", 50000) + "} }"},
		{"many unterminated strings", strings.Repeat("\"x\n", 50000)},
		{"long identifier", "role " + strings.Repeat("a", 500000) + " {"},
		{"many rules", "agent a: r {\n" + strings.Repeat("can\n", 50000) + "}"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, errs := parser.ParseFile("hostile.policy", []byte(tt.src))
			if f == nil {
				t.Fatal("nil file")
			}
			if len(errs) == 0 {
				t.Fatal("no errors for invalid input")
			}
			if len(errs) > parser.MaxErrors+1 {
				t.Errorf("%d diagnostics, want at most %d", len(errs), parser.MaxErrors+1)
			}
			for _, d := range errs {
				if len(d.Message) > 300 {
					t.Errorf("message of %d bytes: %.100s...", len(d.Message), d.Message)
				}
			}
			checkDiagnostics(t, []byte(tt.src), errs)
		})
	}
}

func TestTooManyErrorsIsSaid(t *testing.T) {
	src := strings.Repeat("}\n", 500)
	_, errs := parser.ParseFile("x.policy", []byte(src))
	if len(errs) != parser.MaxErrors+1 {
		t.Fatalf("got %d diagnostics, want %d", len(errs), parser.MaxErrors+1)
	}
	if last := errs[len(errs)-1]; last.Code != "too-many-errors" {
		t.Errorf("last diagnostic is %s, want too-many-errors", last.Error())
	}
	if errs[0].Pos.Line != 1 || errs[parser.MaxErrors-1].Pos.Line != parser.MaxErrors {
		t.Errorf("the first errors by position must be the ones kept: %v ... %v", errs[0], errs[parser.MaxErrors-1])
	}
}

// CRLF line endings parse to the same tree at the same lines and columns.
func TestCRLF(t *testing.T) {
	lf := "# c\nrole r level 1 { # t\n    permission x { read,\n write }\n}\nagent a: r {\n    can read x when y\n}\n"
	crlf := strings.ReplaceAll(lf, "\n", "\r\n")
	f1, e1 := parser.ParseFile("f", []byte(lf))
	f2, e2 := parser.ParseFile("f", []byte(crlf))
	if len(e1)+len(e2) > 0 {
		t.Fatalf("errors: %v %v", e1, e2)
	}
	d1, d2 := Dump(f1, nil), Dump(f2, nil)
	if diff := cmp.Diff(d1, d2); diff != "" {
		t.Errorf("CRLF tree differs (-lf +crlf):\n%s", diff)
	}
}

// Agent rules are line-based: a rule never continues on the next line.
func TestRulesAreLineBased(t *testing.T) {
	src := "agent a: r {\n    can read\n    docs when x\n    can write docs\n}\n"
	f, errs := parser.ParseFile("f", []byte(src))
	if len(errs) != 1 || errs[0].Pos.Line != 3 {
		t.Fatalf("want one error on line 3 (a line that is not a rule), got %v", errs)
	}
	a := f.Decls[0].(*ast.AgentDecl)
	var got []string
	for _, r := range a.Rules {
		var w []string
		for _, x := range r.Words {
			w = append(w, x.Name)
		}
		got = append(got, r.Kind.String()+" "+strings.Join(w, " "))
	}
	if diff := cmp.Diff([]string{"can read", "can write docs"}, got); diff != "" {
		t.Errorf("rules (-want +got):\n%s", diff)
	}
}

func TestErrorsCarryHints(t *testing.T) {
	tests := []struct {
		src, code, hint string
	}{
		{"agent Triage {\n}", "agent-no-role", `write "agent Triage: RoleName {"`},
		{"role r { permission p { ... } }", "placeholder", "list the actions, e.g. { read, update }"},
		{"role r { permission chain* { read } }", "partial-wildcard", `use "*" alone to mean every resource or action, or list the names`},
		{"role r { permission p { read write } }", "syntax", "separate actions with commas: read, update"},
		{"role 1abc {}", "bad-ident", "an identifier is an ASCII letter followed by letters, digits, '_' or '-'"},
	}
	for _, tt := range tests {
		_, errs := parser.ParseFile("f", []byte(tt.src))
		if len(errs) != 1 {
			t.Errorf("%q: want 1 error, got %v", tt.src, errs)
			continue
		}
		if errs[0].Code != tt.code || errs[0].Hint != tt.hint {
			t.Errorf("%q: got code %q hint %q, want %q %q", tt.src, errs[0].Code, errs[0].Hint, tt.code, tt.hint)
		}
	}
}

// When scanner and parser errors together overflow, the kept ones are
// exactly the first MaxErrors by position.
func TestTooManyErrorsKeepsAPrefix(t *testing.T) {
	var b strings.Builder
	for i := 0; i < 300; i++ {
		if i%2 == 0 {
			b.WriteString("}\n") // a parser error
		} else {
			b.WriteString("a$\n") // a scanner error
		}
	}
	_, errs := parser.ParseFile("x.policy", []byte(b.String()))
	if len(errs) != parser.MaxErrors+1 {
		t.Fatalf("got %d diagnostics, want %d", len(errs), parser.MaxErrors+1)
	}
	for i, d := range errs[:parser.MaxErrors] {
		if d.Pos.Line != i+1 {
			t.Fatalf("diagnostic %d is on line %d, want %d: the kept errors must be a prefix", i, d.Pos.Line, i+1)
		}
	}
}
