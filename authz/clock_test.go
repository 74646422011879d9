package authz

import (
	"math"
	"testing"
	"time"
)

// countClock replaces the wall clock for the test with one that answers
// now and counts its reads. Tests using it must not run in parallel.
func countClock(t *testing.T, now time.Time) *int {
	t.Helper()
	n := new(int)
	old := readClock
	readClock = func() int64 { *n++; return now.UnixNano() }
	t.Cleanup(func() { readClock = old })
	return n
}

// TestClockReadLazily: a check (Request.Now zero) reads the wall clock
// only when it meets a grant or principal whose answer depends on the
// time — an expiring grant, or a lifecycle in an org with time-based
// suspension rules — and then once, even when both the principal and the
// user it acts for need it. Everything else reads no clock at all.
func TestClockReadLazily(t *testing.T) {
	day := 24 * time.Hour
	expiring := newExpiryFixture(t)
	plain, _ := newFixture(t)
	lifeTimed := newLifecycleFixture(t)
	lifeUntimed := newLifecycleFixtureWith(t, LifecycleSettings{})
	tests := []struct {
		name  string
		e     *Engine
		c     checkCase
		now   time.Time // what the wall clock answers
		reads int
	}{
		{"no expiry anywhere, allowed", plain, allow("user:bob", "chains:run", "prod/chains/x"), lifeT, 0},
		{"no expiry anywhere, denied", plain, deny("user:bob", "secrets:delete", "prod/secrets/s"), lifeT, 0},
		{"an org with expiring grants, this grant without", expiring, allow("user:perm", "chains:read", "prod/chains/x"), expiryT.Add(time.Hour), 0},
		{"a share to a role, no expiring grant met", expiring, deny("user:perm", "chains:update", "prod/chains/y"), expiryT.Add(time.Hour), 0},
		{"an agent with a lifecycle, no time rule", lifeUntimed, allow("agent:Ok", "chains:run", "prod/chains/x"), lifeT.Add(1000 * day), 0},
		{"suspended by hand, no time rule", lifeUntimed, deny("agent:Paused", "chains:run", "prod/chains/x"), lifeT, 0},
		{"sponsor gone, no time rule", lifeUntimed, deny("agent:Orphan", "chains:run", "prod/chains/x"), lifeT, 0},
		{"an expiring grant, before", expiring, allow("user:alice", "chains:read", "prod/chains/x"), expiryT.Add(-time.Second), 1},
		{"an expiring grant, at its expiry", expiring, deny("user:alice", "chains:read", "prod/chains/x"), expiryT, 1},
		{"an expiring team grant, after", expiring, deny("user:bob", "chains:run", "prod/chains/x"), expiryT.Add(time.Hour), 1},
		{"an expiring share to a role", expiring, allow("user:olga", "chains:update", "prod/chains/y"), expiryT.Add(-time.Hour), 1},
		{"agent and user both expiring: one read", expiring, allow("agent:Auditor", "chains:read", "prod/chains/x", obo("user:alice")), expiryT.Add(-time.Hour), 1},
		{"agent and user both expiring, after: one read", expiring, deny("agent:Auditor", "chains:read", "prod/chains/x", obo("user:alice")), expiryT, 1},
		{"a lifecycle with time rules, fresh", lifeTimed, allow("agent:Ok", "chains:run", "prod/chains/x"), lifeT.Add(day), 1},
		{"a lifecycle with time rules, inactive", lifeTimed, deny("agent:Ok", "chains:run", "prod/chains/x"), lifeT.Add(30 * day), 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			reads := countClock(t, tc.now)
			req := tc.c.req
			if !req.Now.IsZero() {
				t.Fatalf("%s: the case sets Request.Now; it must leave the clock to the engine", tc.c)
			}
			if got := tc.e.Check(&req).Allowed; got != tc.c.want {
				t.Errorf("%s at %s: allowed %v, want %v", tc.c, tc.now.Format(time.RFC3339), got, tc.c.want)
			}
			if *reads != tc.reads {
				t.Errorf("%s: the wall clock was read %d times, want %d", tc.c, *reads, tc.reads)
			}
			// A request with its own time never reads the wall clock.
			*reads = 0
			req.Now = tc.now
			if got := tc.e.Check(&req).Allowed; got != tc.c.want {
				t.Errorf("%s with Now %s: allowed %v, want %v", tc.c, tc.now.Format(time.RFC3339), got, tc.c.want)
			}
			if *reads != 0 {
				t.Errorf("%s with Request.Now: the wall clock was read %d times", tc.c, *reads)
			}
		})
	}
}

// TestFastNowFollowsTheWallClock: the decision clock agrees with
// time.Now to well under a millisecond (between re-anchorings it is the
// monotonic clock, which advances with the wall clock), never goes
// backwards, and re-anchors when its anchor is older than anchorEvery.
func TestFastNowFollowsTheWallClock(t *testing.T) {
	prev := time.Unix(0, fastNowNs())
	for i := 0; i < 1000; i++ {
		before := time.Now()
		got := time.Unix(0, fastNowNs())
		after := time.Now()
		if got.Before(before.Add(-time.Millisecond)) || got.After(after.Add(time.Millisecond)) {
			t.Fatalf("fastNowNs() = %v, time.Now() was %v … %v", got, before, after)
		}
		if got.Before(prev) {
			t.Fatalf("fastNowNs went backwards: %v after %v", got, prev)
		}
		prev = got
	}
	// An anchor from long ago (as after a step of the system clock, or a
	// process idle for a while) is replaced at the next read.
	stale := &clockAnchor{wall: time.Now().Add(-time.Hour).UnixNano(), mono: nanotime() - 2*anchorEvery}
	anchor.Store(stale)
	if got := time.Unix(0, fastNowNs()); got.Before(time.Now().Add(-time.Millisecond)) {
		t.Fatalf("fastNowNs() = %v after a stale anchor, want about %v", got, time.Now())
	}
	if anchor.Load() == stale {
		t.Fatal("the stale anchor was kept")
	}
	if n := testing.AllocsPerRun(1000, func() { _ = fastNowNs() }); n > 0.01 {
		t.Fatalf("fastNowNs allocates %v times per call", n)
	}
}

// TestUnixNsSaturates: instants outside int64 nanoseconds compare as the
// extremes, so an expiry in the year 9999 is "never" for a check, and a
// Request.Now that far out sees every expiring grant expired.
func TestUnixNsSaturates(t *testing.T) {
	for _, tc := range []struct {
		t    time.Time
		want int64
	}{
		{time.Time{}, 0},
		{time.Unix(1_800_000_000, 5), 1_800_000_000_000_000_005},
		{time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC), math.MaxInt64},
		{time.Date(1000, 1, 1, 0, 0, 0, 0, time.UTC), math.MinInt64},
	} {
		if got := unixNs(tc.t); got != tc.want {
			t.Errorf("unixNs(%v) = %d, want %d", tc.t, got, tc.want)
		}
	}
}
