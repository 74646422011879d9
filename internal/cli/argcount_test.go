package cli

import (
	"sort"
	"strings"
	"testing"
)

// TestWrongArgumentCountShowsUsage: a command given the wrong number of
// arguments exits 2 with an error that shows how to call it (its usage
// line), not only cobra's "accepts 1 arg(s), received 2" — for every
// command of the tree that takes a fixed number of arguments.
func TestWrongArgumentCountShowsUsage(t *testing.T) {
	tree := leaves(newRoot(strings.NewReader(""), nil, nil))
	var paths []string
	for p := range tree {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	tooMany := strings.Fields("a b c d e f g h i")
	checked := 0
	for _, p := range paths {
		c := tree[p]
		if c.Args == nil || c.Args(c, tooMany) == nil {
			continue // takes any number of arguments
		}
		checked++
		args := append(strings.Fields(p), tooMany...)
		r := run(t, "", args...)
		if r.code != ExitBadInput {
			t.Errorf("%s with 9 arguments: exit %d, want %d\n%s", p, r.code, ExitBadInput, r.stderr)
			continue
		}
		if want := "usage: gatehouse " + p; !strings.Contains(r.stderr, want) {
			t.Errorf("%s with 9 arguments: %q does not show %q", p, strings.TrimSpace(r.stderr), want)
		}
	}
	if checked < 30 {
		t.Errorf("only %d commands checked", checked)
	}
}
