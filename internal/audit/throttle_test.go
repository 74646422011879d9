package audit_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-dev/gatehouse/internal/audit"
)

// TestThrottle: one entry per key a window, each saying how many were
// left out since the previous one; a full table shares one overflow note,
// so no sender gets more than Max+1 entries a window through.
func TestThrottle(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	th := &audit.Throttle{Window: time.Minute, Max: 3, Now: func() time.Time { return now }}
	type step struct {
		advance time.Duration
		key     string
		want    audit.Noted
	}
	for i, s := range []step{
		{0, "a", audit.Noted{Record: true}},
		{time.Second, "a", audit.Noted{}},
		{time.Second, "a", audit.Noted{}},
		{0, "b", audit.Noted{Record: true}},
		{time.Minute, "a", audit.Noted{Record: true, Unrecorded: 2}},
		{0, "a", audit.Noted{}},
		{0, "c", audit.Noted{Record: true}},
		// The table is full (a, b, c); b's window has passed, so b goes
		// and d takes its place.
		{0, "d", audit.Noted{Record: true}},
		// Full again with live notes: e shares the overflow note.
		{0, "e", audit.Noted{Record: true, Overflow: true}},
		{0, "f", audit.Noted{}},
		{0, "g", audit.Noted{}},
		{time.Minute, "a", audit.Noted{Record: true, Unrecorded: 1}},
	} {
		now = now.Add(s.advance)
		if diff := cmp.Diff(s.want, th.Note(s.key)); diff != "" {
			t.Errorf("step %d (%s): (-want +got)\n%s", i, s.key, diff)
		}
	}
}

// TestThrottleBounded: a flood of distinct keys (a guesser varying what it
// sends, from many addresses) gets at most Max+1 entries a window.
func TestThrottleBounded(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	th := &audit.Throttle{Window: time.Minute, Max: 100, Now: func() time.Time { return now }}
	recorded, unrecorded := 0, int64(0)
	for i := range 10_000 {
		n := th.Note("k" + strconv.Itoa(i))
		if n.Record {
			recorded++
			unrecorded += n.Unrecorded
		}
	}
	if recorded != 101 {
		t.Errorf("%d entries for 10,000 distinct keys in one window, want 101", recorded)
	}
	now = now.Add(time.Minute)
	n := th.Note("one more")
	if !n.Record || n.Unrecorded+unrecorded != 10_000-101 {
		t.Errorf("next window: %+v; unrecorded so far %d, want the 9,899 left out counted", n, unrecorded)
	}
}
