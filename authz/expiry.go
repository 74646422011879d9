package authz

import (
	"math"
	"sync/atomic"
	"time"
	_ "unsafe" // go:linkname of runtime.nanotime, below
)

// Expiring grants (DESIGN §1.1.9): a binding or share may carry ExpiresAt;
// from that instant on it grants nothing — not to checks, lookups, role
// shares, levels nor the escalation test — exactly as if it had been
// deleted, and explanations say "expired at …". Expiry is evaluated at
// decision time against Request.Now (time.Now() when zero), so no
// background job is needed for correctness; the store removes expired
// bindings later only to save space.
//
// The clock is read lazily: a check reads it only when it meets a grant
// with an expiry, a principal with an expiry, or a principal under a
// lifecycle in an org whose suspension rules depend on time (inactive,
// attestation due) — and then once per check at most, however many evals
// (the principal and the user it acts for) need it. A grant without
// expiry keeps x == nil on the common path, so checks of such grants read
// no clock at all (TestClockReadLazily).

// timeFormat renders instants in explanations.
const timeFormat = "2006-01-02T15:04:05Z07:00"

// expires is when the grant stops granting (zero: never).
func (g *grant) expires() time.Time {
	if g.x == nil {
		return time.Time{}
	}
	return g.x.expires
}

// liveAt reports whether the grant has not expired at now.
func (g *grant) liveAt(now time.Time) bool {
	return g.x == nil || g.x.expires.IsZero() || now.Before(g.x.expires)
}

// readClock reads the current time (Unix nanoseconds) when a request has
// no Now. Tests replace it to count reads (never concurrently with checks).
var readClock = fastNowNs

// wallClock is readClock as a time.Time.
func wallClock() time.Time { return time.Unix(0, readClock()) }

// The decision clock. time.Now reads two clocks (the wall clock and the
// monotonic one, one vDSO call each); a check that meets an expiring grant
// needs only "now" on the wall clock's scale, so fastNowNs reads the
// monotonic clock once and adds it to a wall-clock anchor taken at most
// anchorEvery ago. The two clocks advance at the same rate (NTP slews
// both), so the answer differs from time.Now only after a step of the
// system clock, and then for at most anchorEvery: a grant whose expiry
// falls inside a clock step may end up to a second early or late, never
// later than that. That halves the clock's cost on the check path, which
// is what keeps checks of expiring grants within 10 % of checks of plain
// ones (issue 20; docs/benchmarks.md "Expiring grants and the clock").
const anchorEvery = int64(time.Second)

type clockAnchor struct {
	wall int64 // the wall clock, Unix nanoseconds
	mono int64 // nanotime() at the same instant
}

var anchor atomic.Pointer[clockAnchor]

// nanotime is the runtime's monotonic clock (the one time.Now uses for
// its monotonic reading): one vDSO call. The runtime keeps this symbol
// available to go:linkname (go.dev/issue/67401).
//
//go:linkname nanotime runtime.nanotime
func nanotime() int64

// fastNowNs is the current wall-clock time, in Unix nanoseconds, as
// described above.
func fastNowNs() int64 {
	m := nanotime()
	a := anchor.Load()
	if a == nil || m-a.mono >= anchorEvery || m < a.mono {
		a = newAnchor()
		anchor.Store(a)
	}
	return a.wall + (m - a.mono)
}

// newAnchor pairs a wall-clock reading with the monotonic clock, taking
// the midpoint of two monotonic reads around it.
func newAnchor() *clockAnchor {
	m1 := nanotime()
	w := time.Now().UnixNano()
	m2 := nanotime()
	return &clockAnchor{wall: w, mono: m1 + (m2-m1)/2}
}

// unixNs is t in Unix nanoseconds, saturated to the int64 range (an
// instant after 2262 compares as the largest one): 0 for the zero time.
func unixNs(t time.Time) int64 {
	switch {
	case t.IsZero():
		return 0
	case t.After(maxNsTime):
		return math.MaxInt64
	case t.Before(minNsTime):
		return math.MinInt64
	}
	return t.UnixNano()
}

var (
	maxNsTime = time.Unix(0, math.MaxInt64)
	minNsTime = time.Unix(0, math.MinInt64)
)

// reqClock is a request's time, read at most once: Request.Now, else the
// wall clock on first use; kept as Unix nanoseconds, what expiring grants
// are compared with.
type reqClock struct {
	ns  int64
	set bool
}

func (c *reqClock) at(req *Request) int64 {
	if !c.set {
		c.set = true
		if req.Now.IsZero() {
			c.ns = readClock()
		} else {
			c.ns = unixNs(req.Now)
		}
	}
	return c.ns
}

// clockNs is the request's time in Unix nanoseconds, read on first use.
func (e *eval) clockNs() int64 { return e.clk.at(e.req) }

// clock is the request's time: Request.Now exactly, else the wall clock
// read on first use (the same reading as clockNs).
func (e *eval) clock() time.Time {
	if !e.req.Now.IsZero() {
		return e.req.Now
	}
	return time.Unix(0, e.clockNs())
}

// live reports whether grant g has not expired at the request's time.
func (e *eval) live(g *grant) bool {
	return g.x == nil || g.x.expNs == 0 || e.clockNs() < g.x.expNs
}

// nowOr is now, or the current time when now is zero.
func nowOr(now time.Time) time.Time {
	if now.IsZero() {
		return wallClock()
	}
	return now
}

// nextExpiry is NextExpiry.
func (s *state) nextExpiry(org, principal string, after time.Time) time.Time {
	return s.nextChange(org, principal, after, false)
}

// nextClockChange is NextClockChange.
func (s *state) nextClockChange(org, principal string, after time.Time) time.Time {
	return s.nextChange(org, principal, after, true)
}

// nextChange is the earliest instant after `after` at which something
// the principal holds expires — with life, also at which a clock-based
// lifecycle rule of the org suspends it (lifeDeadlines) — zero for none.
func (s *state) nextChange(org, principal string, after time.Time, life bool) time.Time {
	o, ok := s.cur.Load().org(org)
	if !ok {
		return time.Time{}
	}
	h, ok := o.holders.get(skey(principal))
	if !ok {
		return time.Time{}
	}
	var next time.Time
	note := func(t time.Time) {
		if !t.IsZero() && t.After(after) && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	add := func(h *holder) {
		gs := h.gs()
		for i := range gs {
			g := h.view(&gs[i])
			note(g.expires())
		}
		rs := h.rs()
		for i := range rs {
			g := h.view(&rs[i].sgrant)
			note(g.expires())
		}
	}
	note(h.expires())
	if life && h.x != nil && h.x.life != nil {
		inactive, unattested := o.life.deadlines(h.x.life)
		note(inactive)
		note(unattested)
	}
	add(h)
	for _, tid := range h.teams() {
		if th, ok := o.holders.get(skey(tid)); ok && th.isTeam() {
			add(th)
		}
	}
	return next
}

// clockSuspends is ClockSuspends.
func (s *state) clockSuspends(org, principal string) bool {
	o, ok := s.cur.Load().org(org)
	if !ok {
		return false
	}
	h, ok := o.holders.get(skey(principal))
	if !ok || h.x == nil || h.x.life == nil {
		return false
	}
	return !h.x.life.NoOrgRules && !o.life.timeless()
}
