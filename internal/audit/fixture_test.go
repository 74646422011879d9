package audit_test

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/audit"
	"github.com/gatehouse-dev/gatehouse/internal/store"
	"github.com/gatehouse-dev/gatehouse/internal/store/sqlite"
)

// testSigner is a fixed key, so fixtures are reproducible.
func testSigner(t testing.TB) *audit.Signer {
	t.Helper()
	seed := make([]byte, ed25519.SeedSize)
	for i := range seed {
		seed[i] = byte(i + 1)
	}
	s, err := audit.NewSigner(ed25519.NewKeyFromSeed(seed))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// otherSigner is a key nobody trusts.
func otherSigner(t testing.TB) *audit.Signer {
	t.Helper()
	seed := make([]byte, ed25519.SeedSize)
	for i := range seed {
		seed[i] = byte(200 - i)
	}
	s, err := audit.NewSigner(ed25519.NewKeyFromSeed(seed))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func ctxT(t testing.TB) context.Context {
	t.Helper()
	return context.Background()
}

// fixtureEntry is the i-th entry of the standard fixture: every kind of
// field, varied.
func fixtureEntry(org string, i int) audit.Entry {
	actions := []string{"bindings.create", "bindings.delete", "members.add", "resources.update", "policy.set", "auth.failure", "secrets.read"}
	e := audit.Entry{
		Org:    org,
		Actor:  audit.Actor{Principal: fmt.Sprintf("user:u%d", i%7)},
		Action: actions[i%len(actions)],
		Target: fmt.Sprintf("b/%d", i),
		Result: audit.Success,
	}
	switch i % 5 {
	case 1:
		e.Result = audit.Denied
		e.Message = "no"
	case 2:
		e.Actor.RequestID = fmt.Sprintf("r%d", i)
	case 3:
		e.Before = json.RawMessage(`{"v":1}`)
		e.After = json.RawMessage(`{"v":2}`)
	case 4:
		e.Actor.Roles = []string{"admin"}
		e.Actor.KeyID = "k1"
	}
	return e
}

// buildFixture writes n entries of org to a new SQLite file at path with
// checkpoints every `every` entries and a final forced checkpoint, and
// closes the store.
func buildFixture(t testing.TB, path, org string, n int, every uint64) {
	t.Helper()
	ctx := ctxT(t)
	s, err := sqlite.Open(ctx, path, sqlite.Options{Synchronous: "NORMAL"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	l, err := audit.New(s, audit.Options{Signer: testSigner(t), CheckpointEvery: every})
	if err != nil {
		t.Fatal(err)
	}
	const perWrite = 50
	for i := 0; i < n; i += perWrite {
		if _, err := s.Write(ctx, func(tx store.Tx) error {
			for j := i; j < min(i+perWrite, n); j++ {
				if err := l.Record(ctx, tx, fixtureEntry(org, j)); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := l.Checkpoint(ctx, org, true); err != nil {
		t.Fatal(err)
	}
}

func openStore(t testing.TB, path string) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(ctxT(t), path, sqlite.Options{Synchronous: "NORMAL"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func newTestLog(t testing.TB, s store.Store, opts audit.Options) *audit.Log {
	t.Helper()
	l, err := audit.New(s, opts)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func fixturePath(t testing.TB) string { return filepath.Join(t.TempDir(), "fixture.db") }

// listAllAudit is every entry of org that f selects, read from s a page of
// size at a time (at most 1,000 pages).
func listAllAudit(t testing.TB, ctx context.Context, s store.Store, org string, f store.AuditFilter, size int) []store.AuditRecord {
	t.Helper()
	var out []store.AuditRecord
	cursor := ""
	for range 1000 {
		rs, next, err := s.ListAudit(ctx, org, f, store.Page{Size: size, Cursor: cursor})
		if err != nil {
			t.Fatalf("ListAudit(%s, %+v): %v", org, f, err)
		}
		out = append(out, rs...)
		if next == "" {
			break
		}
		cursor = next
	}
	return out
}

// verifyOrgs verifies each org's log in s with signer's keys and MAC key;
// when says at which point of the test.
func verifyOrgs(t testing.TB, ctx context.Context, s store.Store, signer *audit.Signer, orgs []string, when string) {
	t.Helper()
	for _, org := range orgs {
		if _, err := audit.Verify(ctx, s, org, audit.VerifyOptions{Keys: []audit.PublicKey{signer.Public()}, MACKeys: []audit.MACKey{signer.MACKey()}}); err != nil {
			t.Errorf("Verify(%s) %s: %v", org, when, err)
		}
	}
}
