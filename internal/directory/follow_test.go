package directory_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/audit"
	"github.com/gatehouse-dev/gatehouse/internal/directory"
	"github.com/gatehouse-dev/gatehouse/internal/store"
	"github.com/google/go-cmp/cmp"
)

// fakeClock is a clock that moves only when told, and reports every
// timer made: FollowAudit makes its deadline timer, then one recheck timer
// each time it is about to wait, so a test that has seen both knows the
// follower has subscribed and read, and waits.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*fakeTimer
	made   chan struct{}
}

type fakeTimer struct {
	until time.Time
	ch    chan time.Time
	done  bool
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), made: make(chan struct{}, 64)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Timer(until time.Time) (<-chan time.Time, func() bool) {
	c.mu.Lock()
	tm := &fakeTimer{until: until, ch: make(chan time.Time, 1)}
	c.timers = append(c.timers, tm)
	c.fireLocked()
	c.mu.Unlock()
	c.made <- struct{}{}
	return tm.ch, func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		was := !tm.done
		tm.done = true
		return was
	}
}

// Advance moves the clock by d and fires the timers due.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	c.fireLocked()
}

func (c *fakeClock) fireLocked() {
	for _, tm := range c.timers {
		if !tm.done && !c.now.Before(tm.until) {
			tm.done = true
			tm.ch <- c.now
		}
	}
}

// waitTimers waits until n more timers were made.
func (c *fakeClock) waitTimers(t *testing.T, ctx context.Context, n int) {
	t.Helper()
	for range n {
		select {
		case <-c.made:
		case <-ctx.Done():
			t.Fatalf("FollowAudit did not wait: %v", ctx.Err())
		}
	}
}

// TestFollowAuditReturnsWhatArrivesWhileItWaits: a follower waits, on a
// clock that only the test moves, for entries after the log's head, and
// returns as soon as one is committed — by a write (the store's revision
// moves), by an audit-only commit of the directory (a denied attempt:
// no revision), or found on a recheck (an audit-only commit nobody
// announces, as another process's) — or the empty page at its deadline.
// A follow of 20 s still returns an entry committed after 16 s.
func TestFollowAuditReturnsWhatArrivesWhileItWaits(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		advance time.Duration // before the commit
		commit  func(t *testing.T, f *fixture)
		then    time.Duration // after the commit
		want    []string      // actions returned
	}{
		{
			name:    "a write after 16 s of a 20 s wait",
			advance: 16 * time.Second,
			commit: func(t *testing.T, f *fixture) {
				ok(t, "create namespace", third(f.d.CreateNamespace(f.ctx, alice, "acme", "followed")))
			},
			want: []string{"namespace.create"},
		},
		{
			name: "a denied attempt (no new revision)",
			commit: func(t *testing.T, f *fixture) {
				_, _, err := f.d.CreateNamespace(f.ctx, dave, "acme", "refused")
				wantErr(t, "viewer creates a namespace", err, directory.ErrForbidden)
			},
			want: []string{"namespace.create"},
		},
		{
			name: "an entry nobody announces, on the recheck",
			commit: func(t *testing.T, f *fixture) {
				_, err := f.st.Write(f.ctx, func(tx store.Tx) error {
					return audit.Append.Record(f.ctx, tx, audit.Entry{Org: "acme", Action: "secret.put", Target: "secret/default/k", Result: audit.Success})
				})
				ok(t, "unannounced entry", err)
			},
			then: directory.AuditRecheck,
			want: []string{"secret.put"},
		},
		{
			name:    "nothing by the deadline",
			advance: 20 * time.Second,
			want:    []string{},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			clk := newFakeClock()
			directory.SetClockForTest(f.d, clk)
			head := auditLog(t, f.st, "acme", 0)
			after := head[len(head)-1].Seq

			type result struct {
				es  []audit.Entry
				err error
			}
			res := make(chan result, 1)
			go func() {
				es, _, err := f.d.FollowAudit(f.ctx, alice, "acme", store.AuditFilter{After: after}, store.Page{}, clk.Now().Add(20*time.Second))
				res <- result{es, err}
			}()
			clk.waitTimers(t, f.ctx, 2) // the deadline, then the first recheck: waiting
			if tc.advance > 0 {
				clk.Advance(tc.advance)
			}
			if tc.commit != nil {
				tc.commit(t, f)
			}
			if tc.then > 0 {
				clk.Advance(tc.then)
			}
			var r result
			select {
			case r = <-res:
			case <-f.ctx.Done():
				t.Fatalf("FollowAudit did not return: %v", f.ctx.Err())
			}
			if r.err != nil {
				t.Fatalf("FollowAudit: %v", r.err)
			}
			got := []string{}
			for _, e := range r.es {
				if e.Seq <= after {
					t.Errorf("entry %d is not after %d", e.Seq, after)
				}
				got = append(got, e.Action)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("actions returned (-want +got):\n%s", diff)
			}
		})
	}
}

// TestFollowAuditChecksTheReaderEveryTime: following is reading — a
// non-member is refused as for an org that does not exist, before any
// wait, and so is a reader removed while it follows (at the read after the
// removal wakes it).
func TestFollowAuditChecksTheReaderEveryTime(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	clk := newFakeClock()
	directory.SetClockForTest(f.d, clk)
	_, _, err := f.d.FollowAudit(f.ctx, erin, "acme", store.AuditFilter{}, store.Page{}, clk.Now().Add(20*time.Second))
	wantErr(t, "non-member follows", err, directory.ErrNotFound)

	head := auditLog(t, f.st, "acme", 0)
	errc := make(chan error, 1)
	go func() {
		_, _, err := f.d.FollowAudit(f.ctx, dave, "acme", store.AuditFilter{After: head[len(head)-1].Seq}, store.Page{}, clk.Now().Add(20*time.Second))
		errc <- err
	}()
	clk.waitTimers(t, f.ctx, 2)
	ok(t, "remove dave", second(f.d.RemoveMember(f.ctx, alice, "acme", "dave")))
	select {
	case err := <-errc:
		wantErr(t, "removed member follows", err, directory.ErrNotFound)
	case <-f.ctx.Done():
		t.Fatalf("FollowAudit did not return: %v", f.ctx.Err())
	}
}
