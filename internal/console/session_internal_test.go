package console

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestFullSessionTableEvictsTheLargest: many principals fill the session
// table (here bounded to 10): a further sign-in — by someone new, or by a
// principal already there — is never refused; it ends the oldest session
// of a principal holding the most, so the principals that filled the
// table lose their own sessions first and a person with one session keeps
// it as long as anyone holds more. docs/threat-model.md row 79.
func TestFullSessionTableEvictsTheLargest(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 7, 3, 0, 0, 0, time.UTC)
	later := now.Add(time.Hour)
	type signIn struct {
		principal string
		n         int
	}
	tests := []struct {
		name    string
		fill    []signIn // in order: the oldest sessions first
		next    []string // sign-ins once the table is full
		want    map[string]int
		evicted []string // "principal#k": its k-th session (from 0) ended
	}{
		{
			name:    "one principal holds the most",
			fill:    []signIn{{"user:alice", 1}, {"user:mallory", 6}, {"user:bob", 3}},
			next:    []string{"user:carol", "user:dave"},
			want:    map[string]int{"user:alice": 1, "user:mallory": 4, "user:bob": 3, "user:carol": 1, "user:dave": 1},
			evicted: []string{"user:mallory#0", "user:mallory#1"},
		},
		{
			name:    "the largest shrink to the next in line",
			fill:    []signIn{{"user:alice", 1}, {"user:m1", 5}, {"user:m2", 4}},
			next:    []string{"user:bob", "user:bob", "user:bob"},
			want:    map[string]int{"user:alice": 1, "user:m1": 3, "user:m2": 3, "user:bob": 3},
			evicted: []string{"user:m1#0", "user:m1#1", "user:m2#0"},
		},
		{
			name:    "a principal already there signs in again",
			fill:    []signIn{{"user:alice", 2}, {"user:mallory", 8}},
			next:    []string{"user:alice"},
			want:    map[string]int{"user:alice": 3, "user:mallory": 7},
			evicted: []string{"user:mallory#0"},
		},
		{
			name: "ten principals of one session each",
			fill: []signIn{{"user:a", 1}, {"user:b", 1}, {"user:c", 1}, {"user:d", 1}, {"user:e", 1}, {"user:f", 1}, {"user:g", 1}, {"user:h", 1}, {"user:i", 1}, {"user:j", 1}},
			next: []string{"user:k"},
			// any one of them (all hold the most): checked by the total below
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newSessionStore(func() time.Time { return now })
			s.max = 10
			ids := map[string][]string{}
			for _, f := range tt.fill {
				for range f.n {
					x := s.create("token", f.principal, later)
					ids[f.principal] = append(ids[f.principal], x.id)
				}
			}
			for _, p := range tt.next {
				x := s.create("token", p, later) // never refused: create has no error to return
				if s.get(x.id) == nil {
					t.Errorf("the new session of %s is not live", p)
				}
			}
			if len(s.sessions) != s.max {
				t.Errorf("%d sessions, want the table full (%d)", len(s.sessions), s.max)
			}
			if tt.want == nil {
				return
			}
			got := map[string]int{}
			for p, xs := range s.byPrincipal {
				got[p] = len(xs)
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("sessions per principal (-want +got):\n%s", d)
			}
			var evicted []string
			for _, f := range tt.fill {
				for k, id := range ids[f.principal] {
					if s.get(id) == nil {
						evicted = append(evicted, fmt.Sprintf("%s#%d", f.principal, k))
					}
				}
			}
			if d := cmp.Diff(tt.evicted, evicted); d != "" {
				t.Errorf("ended sessions (-want +got):\n%s", d)
			}
		})
	}
}
