package auth_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/internal/auth"
	"github.com/gatehouse-dev/gatehouse/internal/directory"
	"github.com/gatehouse-dev/gatehouse/internal/store"
	"github.com/gatehouse-dev/gatehouse/internal/store/sqlite"
)

// TestKeysDieEverywhere: two processes share one database. A key cached
// in one stops working there as soon as that process follows the change
// that revoked it or deleted its user — made in the other process — not
// when its cache entry expires (the clock is frozen, so it never would).
func TestKeysDieEverywhere(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "gatehouse.db")
	now := time.Unix(1_800_000_000, 0)
	open := func() (*directory.Directory, *auth.Service) {
		t.Helper()
		st, err := sqlite.Open(ctx, path, sqlite.Options{PollInterval: 10 * time.Millisecond, Synchronous: "NORMAL"})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = st.Close() })
		dir, err := directory.Open(ctx, st, authz.New(), directory.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = dir.Close() })
		as := auth.New(st, dir, auth.NewKeySet(), auth.Options{Now: func() time.Time { return now }})
		t.Cleanup(func() { _ = as.Close() })
		return dir, as
	}
	dirA, a := open()
	dirB, b := open()
	follow := func(rev uint64) {
		t.Helper()
		wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if err := dirB.WaitFor(wctx, rev); err != nil {
			t.Fatalf("B follows revision %d: %v", rev, err)
		}
	}
	authB := func(tok string) error {
		_, err := b.Authenticate(ctx, tok, "192.0.2.1")
		return err
	}

	_, ann, err := a.Bootstrap(ctx, store.User{ID: "ann"}, "laptop")
	if err != nil {
		t.Fatal(err)
	}
	_, bob, err := a.Bootstrap(ctx, store.User{ID: "bob"}, "laptop")
	if err != nil {
		t.Fatal(err)
	}
	follow(dirA.Revision())
	for _, tok := range []string{ann, bob} {
		if err := authB(tok); err != nil {
			t.Fatalf("B before any change: %v", err)
		}
	}

	// Revoked in A.
	id, err := a.Authenticate(ctx, ann, "192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	rev, err := a.RevokeKey(ctx, auth.Caller{Identity: id}, "", id.KeyID)
	if err != nil {
		t.Fatal(err)
	}
	follow(rev)
	if err := authB(ann); !errors.Is(err, auth.ErrUnauthenticated) {
		t.Errorf("B after A revoked ann's key: %v, want ErrUnauthenticated", err)
	}

	// User deleted in A.
	rev, err = dirA.DeleteUser(ctx, directory.Actor{Principal: "user:bob"}, "bob")
	if err != nil {
		t.Fatal(err)
	}
	follow(rev)
	if err := authB(bob); !errors.Is(err, auth.ErrUnauthenticated) {
		t.Errorf("B after A deleted bob: %v, want ErrUnauthenticated", err)
	}
}

// TestSessionsDieEverywhere: as TestKeysDieEverywhere, for sessions. A
// session obtained in A from an API key, verified (and cached) in B,
// stops working in B as soon as B follows A's revocation of the key, or
// A's deletion of the user — on a frozen clock, so no cache expires.
func TestSessionsDieEverywhere(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "gatehouse.db")
	now := time.Unix(1_800_000_000, 0)
	keys := auth.NewKeySet() // both processes load the same key file
	open := func() (*directory.Directory, *auth.Service) {
		t.Helper()
		st, err := sqlite.Open(ctx, path, sqlite.Options{PollInterval: 10 * time.Millisecond, Synchronous: "NORMAL"})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = st.Close() })
		dir, err := directory.Open(ctx, st, authz.New(), directory.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = dir.Close() })
		as := auth.New(st, dir, keys, auth.Options{Now: func() time.Time { return now }})
		t.Cleanup(func() { _ = as.Close() })
		return dir, as
	}
	dirA, a := open()
	dirB, b := open()
	follow := func(rev uint64) {
		t.Helper()
		wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if err := dirB.WaitFor(wctx, rev); err != nil {
			t.Fatalf("B follows revision %d: %v", rev, err)
		}
	}
	session := func(user string) (string, auth.Identity) {
		t.Helper()
		_, key, err := a.Bootstrap(ctx, store.User{ID: user}, "laptop")
		if err != nil {
			t.Fatal(err)
		}
		id, err := a.Authenticate(ctx, key, "192.0.2.1")
		if err != nil {
			t.Fatal(err)
		}
		tok, _, err := a.Session(ctx, auth.Caller{Identity: id})
		if err != nil {
			t.Fatal(err)
		}
		return tok, id
	}
	ann, annKey := session("ann")
	bob, _ := session("bob")
	follow(dirA.Revision())
	for _, tok := range []string{ann, bob} {
		if _, err := b.Authenticate(ctx, tok, "192.0.2.1"); err != nil {
			t.Fatalf("B before any change: %v", err)
		}
	}

	rev, err := a.RevokeKey(ctx, auth.Caller{Identity: annKey}, "", annKey.KeyID)
	if err != nil {
		t.Fatal(err)
	}
	follow(rev)
	if _, err := b.Authenticate(ctx, ann, "192.0.2.1"); !errors.Is(err, auth.ErrUnauthenticated) {
		t.Errorf("B: ann's session after A revoked its key: %v, want ErrUnauthenticated", err)
	}
	if _, err := a.Authenticate(ctx, ann, "192.0.2.1"); !errors.Is(err, auth.ErrUnauthenticated) {
		t.Errorf("A: ann's session after A revoked its key: %v, want ErrUnauthenticated", err)
	}

	rev, err = dirA.DeleteUser(ctx, directory.Actor{Principal: "user:bob"}, "bob")
	if err != nil {
		t.Fatal(err)
	}
	follow(rev)
	if _, err := b.Authenticate(ctx, bob, "192.0.2.1"); !errors.Is(err, auth.ErrUnauthenticated) {
		t.Errorf("B: bob's session after A deleted bob: %v, want ErrUnauthenticated", err)
	}
	// A new bob is another account: the old session stays dead.
	if _, _, err := a.Bootstrap(ctx, store.User{ID: "bob"}, "laptop"); err != nil {
		t.Fatal(err)
	}
	follow(dirA.Revision())
	if _, err := b.Authenticate(ctx, bob, "192.0.2.1"); !errors.Is(err, auth.ErrUnauthenticated) {
		t.Errorf("B: the old bob's session after a new bob was created: %v, want ErrUnauthenticated", err)
	}
}

// countingStore counts the reads a session verification could make.
type countingStore struct {
	store.Store
	reads atomic.Int64
}

func (c *countingStore) GetUser(ctx context.Context, id string) (store.User, error) {
	c.reads.Add(1)
	return c.Store.GetUser(ctx, id)
}

func (c *countingStore) GetAPIKey(ctx context.Context, id string) (store.APIKey, error) {
	c.reads.Add(1)
	return c.Store.GetAPIKey(ctx, id)
}

// TestCachedSessionsStayInMemory: once a session's binding is cached, its
// verification reads nothing from the store; and a session still passes
// from an address that is rate limited, cached or not (only a validly
// signed token reaches the store, so a guesser cannot use that).
func TestCachedSessionsStayInMemory(t *testing.T) {
	ctx := context.Background()
	now := time.Unix(1_800_000_000, 0)
	cs := &countingStore{}
	_, as := openAuth(t, func(st store.Store) store.Store { cs.Store = st; return cs },
		auth.Options{Now: func() time.Time { return now }, FailureBurst: 3})

	session := func(user string) string {
		t.Helper()
		_, key, err := as.Bootstrap(ctx, store.User{ID: user}, "laptop")
		if err != nil {
			t.Fatal(err)
		}
		id, err := as.Authenticate(ctx, key, "192.0.2.1")
		if err != nil {
			t.Fatal(err)
		}
		tok, _, err := as.Session(ctx, auth.Caller{Identity: id})
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	ann, bob := session("ann"), session("bob")
	if _, err := as.Authenticate(ctx, ann, "192.0.2.1"); err != nil {
		t.Fatal(err)
	}
	before := cs.reads.Load()
	for range 100 {
		if _, err := as.Authenticate(ctx, ann, "192.0.2.1"); err != nil {
			t.Fatal(err)
		}
	}
	if n := cs.reads.Load() - before; n != 0 {
		t.Errorf("100 verifications of a cached session read the store %d times, want 0", n)
	}

	// Rate limited: forged keys trip the limit; sessions still pass.
	const addr = "198.51.100.9"
	for range 10 {
		_, _ = as.Authenticate(ctx, "gth_0123456789abcdef_"+strings.Repeat("a", 52), addr)
	}
	if _, err := as.Authenticate(ctx, "gth_0123456789abcdef_"+strings.Repeat("a", 52), addr); !errors.Is(err, auth.ErrRateLimited) {
		t.Fatalf("forged key from a limited address: %v, want ErrRateLimited", err)
	}
	for name, tok := range map[string]string{"cached": ann, "not cached": bob} {
		if _, err := as.Authenticate(ctx, tok, addr); err != nil {
			t.Errorf("%s session from a limited address: %v", name, err)
		}
	}
}

// BenchmarkAuthenticateSession: a cached session verification (the check
// hot path with a session) against the bare signature check it adds to.
func BenchmarkAuthenticateSession(b *testing.B) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "gatehouse.db"), sqlite.Options{Synchronous: "NORMAL"})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = st.Close() })
	dir, err := directory.Open(ctx, st, authz.New(), directory.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = dir.Close() })
	as := auth.New(st, dir, auth.NewKeySet(), auth.Options{KeyCacheTTL: time.Hour})
	b.Cleanup(func() { _ = as.Close() })
	_, key, err := as.Bootstrap(ctx, store.User{ID: "ann"}, "laptop")
	if err != nil {
		b.Fatal(err)
	}
	id, err := as.Authenticate(ctx, key, "192.0.2.1")
	if err != nil {
		b.Fatal(err)
	}
	tok, _, err := as.Session(ctx, auth.Caller{Identity: id})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := as.Authenticate(ctx, tok, "192.0.2.1"); err != nil {
		b.Fatal(err)
	}
	b.Run("Authenticate", func(b *testing.B) {
		for b.Loop() {
			if _, err := as.Authenticate(ctx, tok, "192.0.2.1"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("signature only", func(b *testing.B) {
		for b.Loop() {
			if _, err := as.Keys().Verify(tok, time.Now()); err != nil {
				b.Fatal(err)
			}
		}
	})
}
