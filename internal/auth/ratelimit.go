package auth

import (
	"sync"
	"sync/atomic"
	"time"
)

// Limiter rate-limits failed authentications per client address with a
// token bucket: each address may fail Burst times in a row, then once per
// 1/Rate seconds. While an address has no token left, Service.Authenticate
// refuses every attempt from it that would reach the store (credentials
// verifiable from memory still pass; see Authenticate). Successes cost
// nothing, and the
// check for an address that never failed takes no lock.
//
// Memory is bounded: full buckets are swept, and past MaxAddresses new
// addresses share one overflow bucket.
type Limiter struct {
	Rate         float64 // tokens per second
	Burst        float64
	MaxAddresses int
	Now          func() time.Time

	buckets  sync.Map // string → *bucket
	count    atomic.Int64
	overflow bucket
	sweepMu  sync.Mutex
	swept    time.Time
}

type bucket struct {
	mu     sync.Mutex
	tokens float64
	last   time.Time
	init   bool
}

// NewLimiter returns a limiter allowing burst failures, then rate per
// second.
func NewLimiter(rate, burst float64) *Limiter {
	return &Limiter{Rate: rate, Burst: burst, MaxAddresses: 100_000, Now: time.Now}
}

// refill brings b up to date; b.mu is held.
func (l *Limiter) refill(b *bucket, now time.Time) {
	if !b.init {
		b.tokens, b.last, b.init = l.Burst, now, true
		return
	}
	if el := now.Sub(b.last).Seconds(); el > 0 {
		b.tokens = min(l.Burst, b.tokens+el*l.Rate)
		b.last = now
	}
}

func (l *Limiter) wait(b *bucket) time.Duration {
	if b.tokens >= 1 || l.Rate <= 0 {
		return 0
	}
	return time.Duration((1 - b.tokens) / l.Rate * float64(time.Second))
}

func (l *Limiter) lookup(addr string) *bucket {
	if v, ok := l.buckets.Load(addr); ok {
		return v.(*bucket)
	}
	return nil
}

// Allow reports whether addr may attempt to authenticate now; if not, how
// long until it may.
func (l *Limiter) Allow(addr string) (time.Duration, bool) {
	b := l.lookup(addr)
	if b == nil {
		if l.count.Load() < int64(l.MaxAddresses) {
			return 0, true
		}
		b = &l.overflow
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	l.refill(b, l.Now())
	if b.tokens >= 1 {
		return 0, true
	}
	return l.wait(b), false
}

// Fail records a failed attempt from addr.
func (l *Limiter) Fail(addr string) {
	now := l.Now()
	b := l.lookup(addr)
	if b == nil {
		l.sweep(now)
		if l.count.Load() >= int64(l.MaxAddresses) {
			b = &l.overflow
		} else {
			v, loaded := l.buckets.LoadOrStore(addr, &bucket{})
			if !loaded {
				l.count.Add(1)
			}
			b = v.(*bucket)
		}
	}
	b.mu.Lock()
	l.refill(b, now)
	b.tokens = max(0, b.tokens-1)
	b.mu.Unlock()
}

// sweep drops full buckets, at most once a minute (or when at capacity).
func (l *Limiter) sweep(now time.Time) {
	full := l.count.Load() >= int64(l.MaxAddresses)
	l.sweepMu.Lock()
	defer l.sweepMu.Unlock()
	if !full && now.Sub(l.swept) < time.Minute {
		return
	}
	l.swept = now
	l.buckets.Range(func(k, v any) bool {
		b := v.(*bucket)
		b.mu.Lock()
		l.refill(b, now)
		idle := b.tokens >= l.Burst
		b.mu.Unlock()
		if idle {
			l.buckets.Delete(k)
			l.count.Add(-1)
		}
		return true
	})
}

// Reset forgets every address (tests, and an operator's escape hatch).
func (l *Limiter) Reset() {
	l.buckets.Range(func(k, _ any) bool {
		l.buckets.Delete(k)
		l.count.Add(-1)
		return true
	})
}
