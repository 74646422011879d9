package storetest

import (
	"context"
	"errors"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// testEarlyPrefetch: a store that reads a batch's facts before the write
// lock (sqlcore's PrefetchOutside) hands them to a write transaction
// (InstallPrefetched) when nothing was written since, or only another
// org's rows; never after a write in the org or a global one (a user).
// Skipped for a store without it. Its statements run here, so the plan
// tests check them too.
func testEarlyPrefetch(t *testing.T, s store.Store) {
	type early interface {
		PrefetchOutside(ctx context.Context, org string, f store.BatchFacts) (store.PrefetchedFacts, error)
	}
	type installer interface {
		InstallPrefetched(ctx context.Context, org string, p store.PrefetchedFacts) bool
	}
	pre, ok := s.(early)
	if !ok {
		t.Skipf("%T does not prefetch before the write lock", s)
	}
	ctx := ctxT(t)
	write(t, s, func(ctx context.Context, tx store.Tx) error {
		for _, org := range []string{"a", "b"} {
			if _, err := tx.CreateOrg(ctx, store.Org{ID: org, Name: org}); err != nil {
				return err
			}
		}
		_, err := tx.CreateUser(ctx, store.User{ID: "alice", Email: "alice@example.com"})
		return err
	})
	facts := store.BatchFacts{
		UserIDs: []string{"alice", "bob"}, NewUsers: []store.User{{ID: "bob", Email: "bob@example.com"}},
		Members: []string{"alice", "bob"}, Bindings: []store.BindingAt{{Principal: "user:alice"}},
	}
	read := func() store.PrefetchedFacts {
		t.Helper()
		p, err := pre.PrefetchOutside(ctx, "a", facts)
		if err != nil {
			t.Fatalf("PrefetchOutside: %v", err)
		}
		return p
	}
	install := func(p store.PrefetchedFacts) bool {
		t.Helper()
		var got bool
		_, err := s.Write(ctx, func(tx store.Tx) error {
			in, ok := tx.(installer)
			if !ok {
				t.Fatalf("%T has no InstallPrefetched", tx)
			}
			got = in.InstallPrefetched(ctx, "a", p)
			return errors.New("roll back")
		})
		if err == nil {
			t.Fatal("the write committed")
		}
		return got
	}
	if !install(read()) {
		t.Error("facts read at the base revision were not installed")
	}
	// Facts read before a write still hold unless that write was in
	// their org or global (a user).
	for _, w := range []struct {
		what  string
		write func(ctx context.Context, tx store.Tx) error
		holds bool
	}{
		{"a write of another org only", func(ctx context.Context, tx store.Tx) error {
			_, err := tx.AddMember(ctx, store.Member{Org: "b", UserID: "alice"})
			return err
		}, true},
		{"a write of their org", func(ctx context.Context, tx store.Tx) error {
			_, err := tx.AddMember(ctx, store.Member{Org: "a", UserID: "alice"})
			return err
		}, false},
		{"a user was created", func(ctx context.Context, tx store.Tx) error {
			_, err := tx.CreateUser(ctx, store.User{ID: "bob", Email: "bob@example.com"})
			return err
		}, false},
	} {
		p := read()
		write(t, s, w.write)
		if got := install(p); got != w.holds {
			t.Errorf("facts read before %s: installed %v, want %v", w.what, got, w.holds)
		}
	}
}
