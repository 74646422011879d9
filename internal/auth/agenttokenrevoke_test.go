package auth

import (
	"fmt"
	"testing"
	"time"
)

// TestRevokedSet: an id is in the set once added, until its expiry has
// passed and a later addition prunes it; adding an id again keeps it.
func TestRevokedSet(t *testing.T) {
	var r revokedSet
	now := time.Unix(1_900_000_000, 0)
	if r.has("a") {
		t.Fatal("an empty set has a")
	}
	r.add("a", now.Add(time.Minute), now)
	r.add("b", now.Add(time.Hour), now)
	r.add("a", now.Add(time.Minute), now)
	for _, id := range []string{"a", "b"} {
		if !r.has(id) {
			t.Errorf("%s not revoked", id)
		}
	}
	if r.has("c") {
		t.Error("c revoked")
	}
	r.add("c", now.Add(time.Hour), now.Add(2*time.Minute)) // a has expired: pruned
	for id, want := range map[string]bool{"a": false, "b": true, "c": true} {
		if r.has(id) != want {
			t.Errorf("after pruning, has(%s) = %v, want %v", id, !want, want)
		}
	}
}

// TestNewAgentTokenID: 32 lower-case hex digits that sort by time.
func TestNewAgentTokenID(t *testing.T) {
	now := time.Unix(1_900_000_000, 0)
	a, b := newAgentTokenID(now), newAgentTokenID(now.Add(time.Microsecond))
	if len(a) != 32 || a >= b {
		t.Errorf("ids %q, %q: want 32 hex digits, the later one greater", a, b)
	}
}

// BenchmarkRevokedSetHas: the revocation check every agent token's use
// pays, with no revocations and with 1,000 (an id absent and present).
func BenchmarkRevokedSetHas(b *testing.B) {
	now := time.Now()
	const id = "0006620b2b2c4604e7765c72d1b1e205"
	var empty, full revokedSet
	for i := range 1000 {
		full.add(fmt.Sprintf("%032x", i), now.Add(time.Hour), now)
	}
	revokedID := fmt.Sprintf("%032x", 500)
	for _, c := range []struct {
		name string
		set  *revokedSet
		id   string
		want bool
	}{{"empty", &empty, id, false}, {"1000_absent", &full, id, false}, {"1000_present", &full, revokedID, true}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if c.set.has(c.id) != c.want {
					b.Fatal("wrong answer")
				}
			}
		})
	}
}
