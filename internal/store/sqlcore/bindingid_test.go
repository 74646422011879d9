package sqlcore

import (
	"strings"
	"sync"
	"testing"
	"time"
)

// TestBindingIDsIncrease checks newBindingID's ids: the shape they always
// had ("b" and 16 base32 characters), unique, and increasing as strings
// (a B-tree keyed by them grows at its right edge), within a millisecond,
// across milliseconds and from concurrent callers.
func TestBindingIDsIncrease(t *testing.T) {
	const n = 20000
	ids := make([]string, 0, n)
	for i := range n {
		ids = append(ids, newBindingID())
		if i == n/2 {
			time.Sleep(2 * time.Millisecond)
		}
	}
	seen := make(map[string]bool, n)
	for i, id := range ids {
		if len(id) != 17 || id[0] != 'b' || strings.Trim(id[1:], "234567abcdefghijklmnopqrstuvwxyz") != "" || !validKey(id) {
			t.Fatalf("id %q is not b and 16 base32 characters", id)
		}
		if seen[id] {
			t.Fatalf("id %q handed out twice", id)
		}
		seen[id] = true
		if i > 0 && id <= ids[i-1] {
			t.Fatalf("id %d %q does not sort after id %d %q", i, id, i-1, ids[i-1])
		}
	}

	var (
		mu  sync.Mutex
		all = map[string]bool{}
		wg  sync.WaitGroup
	)
	for range 4 {
		wg.Go(func() {
			var mine []string
			for range n / 4 {
				mine = append(mine, newBindingID())
			}
			mu.Lock()
			defer mu.Unlock()
			for i, id := range mine {
				if all[id] || (i > 0 && id <= mine[i-1]) {
					t.Errorf("concurrent id %q repeated or out of order", id)
				}
				all[id] = true
			}
		})
	}
	wg.Wait()
}

// TestIDEncodingKeepsOrder checks that idEncoding sorts as the bytes it
// encodes: newBindingID's order is the order of its 80-bit numbers.
func TestIDEncodingKeepsOrder(t *testing.T) {
	tests := []struct {
		a, b [10]byte
	}{
		{[10]byte{0}, [10]byte{9: 1}},
		{[10]byte{9: 0x1f}, [10]byte{9: 0x20}},                                     // the last character's digit 31 → the next's carry
		{[10]byte{0, 0, 0, 0, 0, 0x0f, 0xff, 0xff, 0xff, 0xff}, [10]byte{5: 0x10}}, // the counter carries into the time
		{[10]byte{0: 0x7f, 9: 0xff}, [10]byte{0: 0x80}},
	}
	for _, tt := range tests {
		ea, eb := idEncoding.EncodeToString(tt.a[:]), idEncoding.EncodeToString(tt.b[:])
		if ea >= eb {
			t.Errorf("%x encodes as %q, not before %x's %q", tt.a, ea, tt.b, eb)
		}
	}
}
