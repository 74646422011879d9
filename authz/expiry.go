package authz

import "time"

// Expiring grants (DESIGN §1.1.9): a binding or share may carry ExpiresAt;
// from that instant on it grants nothing — not to checks, lookups, role
// shares, levels nor the escalation test — exactly as if it had been
// deleted, and explanations say "expired at …". Expiry is evaluated at
// decision time against Request.Now (time.Now() when zero), so no
// background job is needed for correctness; the store removes expired
// bindings later only to save space.
//
// A grant without expiry keeps x == nil on the common path, so checks of
// such grants read no clock; a check that meets an expiring grant reads
// the clock once.

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

// clock is the request's time, read once per eval.
func (e *eval) clock() time.Time {
	if !e.nowSet {
		e.now, e.nowSet = e.req.Now, true
		if e.now.IsZero() {
			e.now = time.Now()
		}
	}
	return e.now
}

// live reports whether grant g has not expired at the request's time.
func (e *eval) live(g *grant) bool {
	return g.x == nil || g.x.expires.IsZero() || e.clock().Before(g.x.expires)
}

// nowOr is now, or the current time when now is zero.
func nowOr(now time.Time) time.Time {
	if now.IsZero() {
		return time.Now()
	}
	return now
}
