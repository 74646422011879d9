package authz

import (
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestStrArenaKeepsStrings: every string put into an arena (putBytes) reads back
// unchanged after many more puts (across blocks, big and empty strings),
// and the zero arena keeps strings as given.
func TestStrArenaKeepsStrings(t *testing.T) {
	for _, tc := range []struct {
		name string
		size int
	}{
		{"zero arena", 0},
		{"small blocks", 64},
		{"one block", 1 << 16},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var a strArena
			if tc.size > 0 {
				a = newStrArena(tc.size)
			}
			var want, got []string
			for i := range 2000 {
				s := "user:u" + strconv.Itoa(i)
				switch i % 97 {
				case 0:
					s = ""
				case 1:
					s = strings.Repeat("x", 100+i) // bigger than a quarter block
				}
				want = append(want, strings.Clone(s))
				got = append(got, a.putBytes([]byte(s)))
			}
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("strings changed (-want +got):\n%s", d)
			}
		})
	}
}
