package authz

import (
	"strconv"
	"strings"
	"testing"
	"unsafe"

	"github.com/google/go-cmp/cmp"
)

// TestStrArenaBlocks: every block alloc returns (holder.pack's) is
// 8-aligned (a resGrant holds a uint64), zeroed, and keeps what was
// written into it after many more allocations (across arena blocks, big
// and odd sizes), for the zero arena too.
func TestStrArenaBlocks(t *testing.T) {
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
			var blocks [][]byte
			for i := range 2000 {
				s := "user:u" + strconv.Itoa(i)
				if i%97 == 1 {
					s = strings.Repeat("x", 100+i) // bigger than a quarter block
				}
				b := a.alloc(len(s))
				if p := uintptr(unsafe.Pointer(&b[0])); p%8 != 0 {
					t.Fatalf("block %d at %#x: not 8-aligned", i, p)
				}
				if len(b) != len(s) || cap(b) != len(s) {
					t.Fatalf("block %d: len %d cap %d, want %d", i, len(b), cap(b), len(s))
				}
				if strings.Trim(string(b), "\x00") != "" {
					t.Fatalf("block %d not zeroed: %q", i, b)
				}
				copy(b, s)
				want, blocks = append(want, s), append(blocks, b)
			}
			for _, b := range blocks {
				got = append(got, string(b))
			}
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("blocks changed (-want +got):\n%s", d)
			}
		})
	}
}
