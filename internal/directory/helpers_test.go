package directory_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/internal/directory"
	"github.com/gatehouse-dev/gatehouse/internal/store"
	"github.com/gatehouse-dev/gatehouse/internal/store/sqlite"
)

// guard turns a hang into a failure; no correct run comes near it.
const guard = 120 * time.Second

func ctxT(t testing.TB) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), guard)
	t.Cleanup(cancel)
	return ctx
}

// openSQLite opens a store on a fresh file in t's temp dir.
func openSQLite(t testing.TB) *sqlite.Store {
	t.Helper()
	return openSQLiteAt(t, filepath.Join(t.TempDir(), "gatehouse.db"))
}

func openSQLiteAt(t testing.TB, path string) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), path, sqlite.Options{
		PollInterval: 20 * time.Millisecond,
		Synchronous:  "NORMAL",
	})
	if err != nil {
		t.Fatalf("sqlite.Open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// openDir opens a directory over st with a new engine.
func openDir(t testing.TB, st store.Store, opts directory.Options) *directory.Directory {
	t.Helper()
	d, err := directory.Open(ctxT(t), st, authz.New(), opts)
	if err != nil {
		t.Fatalf("directory.Open: %v", err)
	}
	t.Cleanup(func() { _ = d.Close() })
	return d
}

func user(id string) directory.Actor { return directory.Actor{Principal: "user:" + id} }

// mustUsers creates users.
func mustUsers(t testing.TB, d *directory.Directory, ids ...string) {
	t.Helper()
	for _, id := range ids {
		if _, _, err := d.CreateUser(ctxT(t), store.User{ID: id}); err != nil {
			t.Fatalf("CreateUser(%s): %v", id, err)
		}
	}
}

// acmeWithBob opens "process 1" of a two-process test over s1: users
// alice and bob (and more), the org acme made by alice, bob a viewer there.
func acmeWithBob(t testing.TB, s1 store.Store, more ...string) *directory.Directory {
	t.Helper()
	ctx := ctxT(t)
	d1 := openDir(t, s1, directory.Options{CatchUpTimeout: guard})
	mustUsers(t, d1, append([]string{"alice", "bob"}, more...)...)
	ok(t, "create org", third(d1.CreateOrg(ctx, alice, directory.OrgSpec{ID: "acme"})))
	ok(t, "add bob", third(d1.AddMember(ctx, alice, "acme", "bob", "viewer")))
	return d1
}

// ok fails the test on err.
func ok(t testing.TB, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// wantErr fails unless err wraps want (nil: no error).
func wantErr(t testing.TB, what string, err, want error) {
	t.Helper()
	switch {
	case want == nil && err != nil:
		t.Errorf("%s: unexpected error: %v", what, err)
	case want != nil && !errors.Is(err, want):
		t.Errorf("%s: error = %v, want %v", what, err, want)
	}
}

func second[A, B any](_ A, b B) B { return b }
func third[A, B, C any](_ A, _ B, c C) C {
	return c
}
