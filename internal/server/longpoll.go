package server

import (
	"sync"
	"time"
)

// Long polls and event streams per caller. A long poll (?wait= on the
// change feed, the audit log and an approval) and an event stream (the
// change feed's server-sent events) each hold a goroutine, a timer and a
// connection for up to a minute — a stream for as long as its client
// stays — and re-read the store as they go. The MCP gateway's waits for
// an approval (a server's wait_for_approval) count here too
// (docs/threat-model.md row 78). Each principal may hold at most
// Config.MaxLongPolls of them on this server at once (every
// credential of the principal counts: its keys, its sessions); one more
// is answered 429 with Retry-After before it waits, and a slot is given
// back when its request ends, the client going away included. A request
// that does not wait (no wait, or wait=0) is not counted. The bound is
// per server process: replicas behind one load balancer each allow it.

// DefaultMaxLongPolls is Config.MaxLongPolls's default: far more than a
// client needs (a replica holds one stream per org it follows), few
// enough that one credential cannot hold a server's goroutines and
// connections.
const DefaultMaxLongPolls = 64

// longPollRetryAfter is the Retry-After of a refused long poll: the
// caller's own polls end within maxFeedWait (streams send a keep-alive
// as often), so a slot is usually back well before.
const longPollRetryAfter = 5 * time.Second

// longPolls counts the long polls each principal holds.
type longPolls struct {
	max int // < 0: no bound
	mu  sync.Mutex
	n   map[string]int
	// total is the sum of n (the gatehouse_long_polls_held gauge).
	total int
}

// held is how many long polls, streams and gateway waits are held on
// this server now, by everyone.
func (l *longPolls) held() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.total
}

func newLongPolls(max int) *longPolls {
	if max == 0 {
		max = DefaultMaxLongPolls
	}
	return &longPolls{max: max, n: map[string]int{}}
}

// hold takes a slot for principal, or answers the 429 problem; release
// gives it back (once, however often it is called).
func (l *longPolls) hold(principal string) (release func(), err error) {
	if l.max < 0 {
		return func() {}, nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.n[principal] >= l.max {
		p := problem(ProblemRateLimited, "%s already holds %d long polls or event streams on this server, its limit (gatehouse serve --max-long-polls); retry when one has ended", principal, l.max)
		p.RetryAfter = int(longPollRetryAfter / time.Second)
		return nil, p
	}
	l.n[principal]++
	l.total++
	return sync.OnceFunc(func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		l.total--
		if l.n[principal]--; l.n[principal] <= 0 {
			delete(l.n, principal)
		}
	}), nil
}
