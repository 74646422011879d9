package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// streamed is what one StreamOrg run handed over, copied, with the kinds
// in the order they came.
type streamed struct {
	header *store.OrgHeader
	snap   store.OrgSnapshot
	kinds  []string
	errs   []error
	after  int // elements yielded after an error (must be 0)
}

// collect runs StreamOrg to its end (or until stop says to break) and
// copies every row.
func collect(ctx context.Context, s store.Store, org string, stop func(n int) bool) streamed {
	var out streamed
	n := 0
	for r, err := range s.StreamOrg(ctx, org) {
		if len(out.errs) > 0 {
			out.after++
		}
		if err != nil {
			out.errs = append(out.errs, err)
			continue
		}
		kind := ""
		set := 0
		if r.Header != nil {
			h := *r.Header
			out.header = &h
			out.snap.Revision, out.snap.Org, out.snap.Policy, out.snap.Namespaces = h.Revision, h.Org, h.Policy, h.Namespaces
			kind, set = "header", set+1
		}
		if r.Principal != nil {
			out.snap.Principals = append(out.snap.Principals, *r.Principal)
			kind, set = "principal", set+1
		}
		if r.Team != nil {
			out.snap.Teams = append(out.snap.Teams, *r.Team)
			kind, set = "team", set+1
		}
		if r.Binding != nil {
			out.snap.Bindings = append(out.snap.Bindings, *r.Binding)
			kind, set = "binding", set+1
		}
		if r.Resource != nil {
			out.snap.Resources = append(out.snap.Resources, *r.Resource)
			kind, set = "resource", set+1
		}
		if set != 1 {
			kind = fmt.Sprintf("a row with %d fields set", set)
		}
		if n := len(out.kinds); n == 0 || out.kinds[n-1] != kind {
			out.kinds = append(out.kinds, kind)
		}
		n++
		if stop != nil && stop(n) {
			break
		}
	}
	return out
}

// testStreamOrg: StreamOrg hands over exactly what LoadOrg returns, in
// its documented order, with exact counts, from one consistent read; its
// errors come once and last.
func testStreamOrg(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	f := seed(t, s, "a")
	seed(t, s, "b")

	// Bindings with each of the usually empty columns set, between plain
	// ones in id order: each must come back whole, checked against
	// GetBinding (a read path of its own).
	write(t, s, func(ctx context.Context, tx store.Tx) error {
		for _, b := range []authz.Binding{
			{ID: "m-cond", Principal: "user:bob", Role: "viewer", Scope: authz.Scope{Namespace: "prod"}, Condition: "business_hours"},
			{ID: "m-exp", Principal: "user:bob", Role: "viewer", ExpiresAt: time.Date(2999, 1, 2, 3, 4, 5, 6000, time.UTC)},
			{ID: "m-plain", Principal: "user:alice", Role: "viewer", Scope: authz.Scope{Namespace: "prod"}},
			{ID: "m-share", Principal: "user:alice", Actions: []string{"read"}, Scope: authz.Scope{Namespace: "prod", Type: "chains", ID: "triage"}},
		} {
			if _, err := tx.CreateBinding(ctx, store.Binding{Org: f.org, Binding: b}); err != nil {
				return err
			}
		}
		return nil
	})
	t.Run("EveryBindingWhole", func(t *testing.T) {
		got := collect(ctx, s, f.org, nil)
		if len(got.errs) > 0 {
			t.Fatalf("StreamOrg: %v", got.errs)
		}
		if len(got.snap.Bindings) != got.header.Bindings {
			t.Fatalf("%d bindings, the header says %d", len(got.snap.Bindings), got.header.Bindings)
		}
		for _, b := range got.snap.Bindings {
			want := must(s.GetBinding(ctx, f.org, b.ID)).get(t)
			diff(t, "binding "+b.ID, want.Binding, b)
		}
	})

	t.Run("SameAsLoadOrg", func(t *testing.T) {
		want := must(s.LoadOrg(ctx, f.org)).get(t)
		got := collect(ctx, s, f.org, nil)
		if len(got.errs) > 0 {
			t.Fatalf("StreamOrg: %v", got.errs)
		}
		diff(t, "snapshot", *want, got.snap)
		diff(t, "order", []string{"header", "principal", "team", "binding", "resource"}, got.kinds)
		h := got.header
		diff(t, "counts", [4]int{len(want.Principals), len(want.Teams), len(want.Bindings), len(want.Resources)},
			[4]int{h.Principals, h.Teams, h.Bindings, h.Resources})
	})

	for _, c := range []struct {
		name string
		org  string
		ctx  func() context.Context
		want error
	}{
		{"AbsentOrg", "nope", func() context.Context { return ctx }, store.ErrNotFound},
		{"UnstorableOrg", "a\x00b", func() context.Context { return ctx }, store.ErrNotFound},
		{"CanceledContext", f.org, func() context.Context {
			c, cancel := context.WithCancel(ctx)
			cancel()
			return c
		}, context.Canceled},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := collect(c.ctx(), s, c.org, nil)
			if len(got.errs) != 1 || got.after != 0 {
				t.Fatalf("errors %v, %d elements after the first: want exactly one error, last", got.errs, got.after)
			}
			if !errors.Is(got.errs[0], c.want) {
				t.Errorf("error = %v, want %v", got.errs[0], c.want)
			}
			if got.header != nil {
				t.Errorf("a header before %v", got.errs[0])
			}
		})
	}

	t.Run("CanceledWhileReading", func(t *testing.T) {
		c, cancel := context.WithCancel(ctx)
		defer cancel()
		got := collect(c, s, f.org, func(n int) bool {
			if n == 2 {
				cancel()
			}
			return false
		})
		// The rows may have been read before the cancel was seen, but an
		// error, if any, is one and last, and it is the context's.
		if len(got.errs) > 1 || got.after != 0 || len(got.errs) == 1 && !errors.Is(got.errs[0], context.Canceled) {
			t.Errorf("errors %v, %d elements after the first: want at most one, context.Canceled, last", got.errs, got.after)
		}
	})

	t.Run("BreakEndsTheRead", func(t *testing.T) {
		for stopAt := 1; stopAt <= 7; stopAt++ {
			got := collect(ctx, s, f.org, func(n int) bool { return n == stopAt })
			if len(got.errs) > 0 {
				t.Fatalf("break after %d: %v", stopAt, got.errs)
			}
		}
		// The transactions are over: a write commits, and a new stream
		// sees it.
		rev := write(t, s, func(ctx context.Context, tx store.Tx) error {
			_, err := tx.CreateBinding(ctx, store.Binding{Org: f.org, Binding: authz.Binding{ID: "after-break", Principal: "user:bob", Role: "viewer"}})
			return err
		})
		got := collect(ctx, s, f.org, nil)
		if got.header == nil || got.header.Revision != rev || len(got.snap.Bindings) != got.header.Bindings {
			t.Errorf("after the write at %d: header %+v, %d bindings", rev, got.header, len(got.snap.Bindings))
		}
	})

	// Consistency: each write adds one binding and one revision, so every
	// stream, read while they run, holds exactly base bindings +
	// (its revision - base revision), and as many as its header says.
	t.Run("OneConsistentRead", func(t *testing.T) {
		first := collect(ctx, s, f.org, nil)
		if first.header == nil {
			t.Fatalf("StreamOrg: %v", first.errs)
		}
		base, baseN := first.header.Revision, len(first.snap.Bindings)
		const writes = 40
		var wg sync.WaitGroup
		wg.Go(func() {
			for i := range writes {
				_, err := s.Write(ctx, func(tx store.Tx) error {
					_, err := tx.CreateBinding(ctx, store.Binding{Org: f.org, Binding: authz.Binding{ID: fmt.Sprintf("s%03d", i), Principal: "user:bob", Role: "viewer"}})
					return err
				})
				if err != nil {
					t.Errorf("write %d: %v", i, err)
					return
				}
			}
		})
		defer wg.Wait()
		for {
			got := collect(ctx, s, f.org, nil)
			if got.header == nil || len(got.errs) > 0 {
				t.Fatalf("StreamOrg: %v", got.errs)
			}
			want := baseN + int(got.header.Revision-base)
			if len(got.snap.Bindings) != want || got.header.Bindings != want {
				t.Fatalf("stream at revision %d has %d bindings (header: %d), want %d: not one consistent read",
					got.header.Revision, len(got.snap.Bindings), got.header.Bindings, want)
			}
			if got.header.Revision >= base+writes {
				break
			}
		}
	})
}
