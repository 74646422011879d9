package directory_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/store/postgres/pgtest"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/internal/directory"
	"github.com/gatehouse-dev/gatehouse/internal/store"
	"github.com/gatehouse-dev/gatehouse/internal/store/postgres"
)

// --- PostgreSQL (GATEHOUSE_TEST_POSTGRES; required when
// GATEHOUSE_REQUIRE_POSTGRES is set, as in CI)

// pgSchemaDSN creates a schema with a random name for the test (dropped
// afterwards) and returns a DSN whose search_path is that schema.
func pgSchemaDSN(t testing.TB) string {
	t.Helper()
	return pgtest.FreshSchema(t, "gh_dir")
}

func openPostgresAt(t testing.TB, dsn string) *postgres.Store {
	t.Helper()
	s, err := postgres.Open(context.Background(), dsn, postgres.Options{PollInterval: 200 * time.Millisecond, MaxConns: 8})
	if err != nil {
		t.Fatalf("postgres.Open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// backends opens two independent handles on one fresh database of each
// kind, as two Gatehouse processes would.
var backends = []struct {
	name string
	open func(t testing.TB) (store.Store, store.Store)
}{
	{"sqlite", func(t testing.TB) (store.Store, store.Store) {
		path := filepath.Join(t.TempDir(), "shared.db")
		return openSQLiteAt(t, path), openSQLiteAt(t, path)
	}},
	{"postgres", func(t testing.TB) (store.Store, store.Store) {
		dsn := pgSchemaDSN(t)
		return openPostgresAt(t, dsn), openPostgresAt(t, dsn)
	}},
}

// TestTwoProcesses: two store+directory instances on one database. A write
// through one is visible to checks through the other, and a check that
// asks for at least a revision waits for it instead of answering from
// older data (the "new enemy" problem).
func TestTwoProcesses(t *testing.T) {
	t.Parallel()
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			t.Parallel()
			ctx := ctxT(t)
			s1, s2 := be.open(t)
			d1 := acmeWithBob(t, s1)
			// The second process starts after those writes: it loads them.
			d2 := openDir(t, s2, directory.Options{CatchUpTimeout: guard})

			runReq := authz.Request{Org: "acme", Principal: "user:bob", ResourceType: "chains", ResourceID: "triage", Action: "run"}
			check := func(d *directory.Directory, atLeast uint64) bool {
				t.Helper()
				dec, err := d.Check(ctx, bob, runReq, atLeast)
				ok(t, "check", err)
				if dec.Revision < atLeast {
					t.Errorf("decision at revision %d, asked for at least %d", dec.Revision, atLeast)
				}
				return dec.Allowed
			}
			if check(d2, d1.Revision()) {
				t.Fatal("bob (viewer) may run chains before any grant")
			}

			// A check through process 2 that asks for a revision not yet
			// written waits for it, then answers with the write in it.
			next := d1.Revision() + 1
			answer := make(chan bool, 1)
			go func() {
				dec, err := d2.Check(ctx, bob, runReq, next)
				if err != nil {
					t.Errorf("waiting check: %v", err)
				}
				answer <- dec.Allowed
			}()
			b, rev, err := d1.CreateBinding(ctx, alice, "acme", directory.BindingSpec{Principal: "user:bob", Role: "operator"})
			ok(t, "grant operator", err)
			if rev != next {
				t.Fatalf("the grant committed at revision %d, want %d", rev, next)
			}
			if !<-answer {
				t.Error("the check waiting for the grant's revision answered deny")
			}

			// Revoke through process 1, then rely on it through process 2.
			rev, err = d1.DeleteBinding(ctx, alice, "acme", b.ID)
			ok(t, "revoke", err)
			if check(d2, rev) {
				t.Error("process 2 allowed at the revocation's revision")
			}

			// And the other way round: administration through process 2.
			_, rev, err = d2.CreateBinding(ctx, alice, "acme", directory.BindingSpec{Principal: "user:bob", Role: "operator", Scope: authz.Scope{Namespace: "default"}})
			ok(t, "grant through process 2", err)
			if !check(d1, rev) {
				t.Error("process 1 denied at the revision of process 2's grant")
			}
		})
	}
}

// view is an engine's answers for a set of principals: permissions per
// namespace and highest level at org scope.
func view(t testing.TB, d *directory.Directory, org string, principals, namespaces []string) map[string]any {
	t.Helper()
	out := map[string]any{}
	for _, p := range principals {
		for _, ns := range namespaces {
			gs, _, err := directory.EngineForTest(d).Permissions(org, p, ns)
			out[p+"@"+ns] = fmt.Sprint(gs, err)
		}
		out[p+"#level"] = directory.EngineForTest(d).HighestLevel(org, p, authz.Scope{})
	}
	return out
}

// TestLoadJoinsChangelogUnderWrites opens a directory while another keeps
// writing to many orgs: the initial load (a snapshot per org, each at its
// own revision) must join the changelog with nothing lost and nothing
// applied twice, so once the writes stop it agrees with a directory opened
// afterwards.
func TestLoadJoinsChangelogUnderWrites(t *testing.T) {
	t.Parallel()
	ctx := ctxT(t)
	path := filepath.Join(t.TempDir(), "shared.db")
	s1 := openSQLiteAt(t, path)
	d1 := openDir(t, s1, directory.Options{CatchUpTimeout: guard})
	users := []string{"u0", "u1", "u2", "u3", "u4", "u5"}
	mustUsers(t, d1, users...)
	orgs := []string{"o1", "o2", "o3", "o4", "o5"}
	for _, org := range orgs {
		ok(t, "create "+org, third(d1.CreateOrg(ctx, user("u0"), directory.OrgSpec{ID: org})))
		ok(t, "namespace", third(d1.CreateNamespace(ctx, user("u0"), org, "prod")))
	}
	roles := []string{"viewer", "operator", "builder", "admin"}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	progress := make(chan int, 1000)
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case progress <- i:
			}
			org := orgs[i%len(orgs)]
			u := users[1+i%(len(users)-1)]
			var err error
			switch i % 4 {
			case 0:
				_, _, err = d1.AddMember(ctx, user("u0"), org, u, roles[i%len(roles)])
			case 1:
				_, _, err = d1.ChangeMemberRole(ctx, user("u0"), org, u, roles[(i/3)%len(roles)])
			case 2:
				_, _, err = d1.CreateBinding(ctx, user("u0"), org, directory.BindingSpec{Principal: "user:" + u, Role: roles[(i/5)%len(roles)], Scope: authz.Scope{Namespace: "prod"}})
			case 3:
				_, err = d1.RemoveMember(ctx, user("u0"), org, u)
			}
			_ = err // conflicts and not-found are expected in this random walk
		}
	})
	// Open (and re-open) while the writes go on: one directory after every
	// 25 writes.
	var late []*directory.Directory
	for i := range progress {
		if i > 0 && i%25 == 0 {
			late = append(late, openDir(t, openSQLiteAt(t, path), directory.Options{CatchUpTimeout: guard}))
		}
		if len(late) == 6 {
			break
		}
	}
	close(stop)
	wg.Wait()
	final := d1.Revision()
	fresh := openDir(t, openSQLiteAt(t, path), directory.Options{CatchUpTimeout: guard})
	principals := []string{"user:u0", "user:u1", "user:u2", "user:u3", "user:u4", "user:u5"}
	for i, d := range append(late, d1) {
		ok(t, "catch up", d.WaitFor(ctx, final))
		for _, org := range orgs {
			want := view(t, fresh, org, principals, []string{"default", "prod"})
			if diff := cmp.Diff(want, view(t, d, org, principals, []string{"default", "prod"})); diff != "" {
				t.Errorf("directory %d, org %s: engine differs from a fresh load (-fresh +got):\n%s", i, org, diff)
			}
		}
	}
}

// corruptingStore serves the changelog with the payloads of one org's
// binding.put entries garbled, as a damaged row would be.
type corruptingStore struct {
	store.Store
	org string
}

func (c corruptingStore) ChangesSince(ctx context.Context, after uint64, limit int) ([]store.Change, error) {
	chs, err := c.Store.ChangesSince(ctx, after, limit)
	for i := range chs {
		if chs[i].Org == c.org && chs[i].Kind == store.KindBindingPut {
			chs[i].Payload = json.RawMessage(`{"org":`)
		}
	}
	return chs, err
}

// TestUndecodableEntryReloadsOrg: an entry that does not decode makes the
// follower reload its org whole, so the engine still ends up exact.
func TestUndecodableEntryReloadsOrg(t *testing.T) {
	t.Parallel()
	ctx := ctxT(t)
	st := openSQLite(t)
	d := openDir(t, corruptingStore{Store: st, org: "acme"}, directory.Options{CatchUpTimeout: guard})
	mustUsers(t, d, "alice", "bob")
	ok(t, "create org", third(d.CreateOrg(ctx, alice, directory.OrgSpec{ID: "acme"})))
	ok(t, "add bob", third(d.AddMember(ctx, alice, "acme", "bob", "operator")))
	if directory.ReloadsForTest(d) == 0 {
		t.Error("the follower did not reload the org after undecodable entries")
	}
	req := authz.Request{Org: "acme", Principal: "user:bob", ResourceType: "chains", ResourceID: "x", Action: "run"}
	if dec, err := d.Check(ctx, bob, req, d.Revision()); err != nil || !dec.Allowed {
		t.Errorf("bob (operator, bound through an undecodable entry) check = %+v, %v; want allowed", dec, err)
	}
	// Alice's owner binding also came through a garbled entry.
	if lvl := directory.EngineForTest(d).HighestLevel("acme", "user:alice", authz.Scope{}); lvl != 100 {
		t.Errorf("alice's level = %d, want 100", lvl)
	}
}
