package cli

import (
	"strings"
	"testing"
)

// applyDiff applies a unified diff produced by unifiedDiff to a, so the
// test checks the diff's meaning rather than its exact text.
func applyDiff(t *testing.T, a, diff string) string {
	t.Helper()
	src := splitLines(a)
	var out []string
	pos := 0
	for _, line := range strings.Split(strings.TrimSuffix(diff, "\n"), "\n") {
		switch {
		case strings.HasPrefix(line, "---"), strings.HasPrefix(line, "+++"):
		case strings.HasPrefix(line, "@@"):
			var aStart, aN int
			spec := strings.Fields(line)[1][1:]
			if strings.Contains(spec, ",") {
				parts := strings.SplitN(spec, ",", 2)
				aStart, aN = atoi(t, parts[0]), atoi(t, parts[1])
			} else {
				aStart, aN = atoi(t, spec), 1
			}
			if aN == 0 {
				aStart++ // "N,0" names the line before the insertion
			}
			for pos < aStart-1 {
				out = append(out, src[pos])
				pos++
			}
		case line[0] == ' ':
			if src[pos] != line[1:] {
				t.Fatalf("context mismatch at line %d: %q vs %q", pos+1, src[pos], line[1:])
			}
			out = append(out, src[pos])
			pos++
		case line[0] == '-':
			if src[pos] != line[1:] {
				t.Fatalf("deleted line mismatch at %d: %q vs %q", pos+1, src[pos], line[1:])
			}
			pos++
		case line[0] == '+':
			out = append(out, line[1:])
		}
	}
	out = append(out, src[pos:]...)
	if len(out) == 0 {
		return ""
	}
	return strings.Join(out, "\n") + "\n"
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	n := 0
	for _, c := range s {
		if c < '0' || c > '9' {
			t.Fatalf("bad number %q", s)
		}
		n = n*10 + int(c-'0')
	}
	return n
}

func TestUnifiedDiffApplies(t *testing.T) {
	lines := func(ss ...string) string { return strings.Join(ss, "\n") + "\n" }
	tests := []struct{ name, a, b string }{
		{"change middle", lines("a", "b", "c", "d", "e", "f", "g", "h", "i", "j"), lines("a", "b", "c", "d", "X", "f", "g", "h", "i", "j")},
		{"insert start", lines("a", "b"), lines("new", "a", "b")},
		{"delete end", lines("a", "b", "c"), lines("a", "b")},
		{"two far hunks", lines("1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12", "13", "14", "15", "16"),
			lines("one", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12", "13", "14", "15", "sixteen")},
		{"from empty", "", lines("a")},
		{"to empty", lines("a", "b"), ""},
		{"reindent", lines("role a {", "permission x { read }", "}"), lines("role a {", "    permission x {", "        read", "    }", "}")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := unifiedDiff("f.policy", tt.a, tt.b)
			if !strings.HasPrefix(d, "--- f.policy.orig\n+++ f.policy\n") {
				t.Fatalf("missing header:\n%s", d)
			}
			if got := applyDiff(t, tt.a, d); got != tt.b {
				t.Errorf("applying the diff gave\n%q\nwant\n%q\ndiff:\n%s", got, tt.b, d)
			}
		})
	}
	if d := unifiedDiff("f", "same\n", "same\n"); d != "" {
		t.Errorf("equal inputs gave a diff: %q", d)
	}
}
