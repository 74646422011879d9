package directory_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/internal/auth"
	"github.com/gatehouse-dev/gatehouse/internal/directory"
	"github.com/gatehouse-dev/gatehouse/internal/store"
	"github.com/gatehouse-dev/gatehouse/internal/store/postgres"
	"github.com/gatehouse-dev/gatehouse/internal/vault"
)

// Concurrent writers on a store whose PostgreSQL pool is smaller than the
// number of writers. Every write authorizes inside its transaction, which
// holds the store's write lock, against an engine caught up to the
// transaction's base revision. That catch-up must not need a pooled
// connection: the writers queued on the lock hold them all.

// poolBackends are the stores of the concurrency tests: SQLite (one writer
// connection), and PostgreSQL with a pool of poolConns connections.
var poolBackends = []struct {
	name string
	open func(t testing.TB, poolConns int32) store.Store
}{
	{"sqlite", func(t testing.TB, _ int32) store.Store { return openSQLite(t) }},
	{"postgres", func(t testing.TB, poolConns int32) store.Store {
		st, err := postgres.Open(context.Background(), pgSchemaDSN(t), postgres.Options{PollInterval: 200 * time.Millisecond, MaxConns: poolConns})
		if err != nil {
			t.Fatalf("postgres.Open: %v", err)
		}
		t.Cleanup(func() { _ = st.Close() })
		return st
	}},
	// Batches of one org run beside other orgs' (postgres.Options.OrgWrites).
	{"postgres-orgwrites", func(t testing.TB, poolConns int32) store.Store {
		st, err := postgres.Open(context.Background(), pgSchemaDSN(t), postgres.Options{PollInterval: 200 * time.Millisecond, MaxConns: poolConns, OrgWrites: true})
		if err != nil {
			t.Fatalf("postgres.Open: %v", err)
		}
		t.Cleanup(func() { _ = st.Close() })
		return st
	}},
}

// propStore is the store of the property tests (TestNoEscalation,
// TestTenantIsolation and their detectors): SQLite, or, with
// GATEHOUSE_PROP_BACKEND=postgres, PostgreSQL with a pool of 2
// connections (the escalation and isolation invariants must hold however
// the write path catches the engine up).
func propStore(t testing.TB) store.Store {
	t.Helper()
	switch be := os.Getenv("GATEHOUSE_PROP_BACKEND"); be {
	case "", "sqlite":
		return openSQLite(t)
	case "postgres":
		return poolBackends[1].open(t, 2)
	default:
		t.Fatalf("GATEHOUSE_PROP_BACKEND=%q: want sqlite or postgres", be)
		return nil
	}
}

// writeWorld is a directory, authentication and a vault over one store,
// with org acme of owner alice and members m00…: what the server wires.
type writeWorld struct {
	st   store.Store
	dir  *directory.Directory
	auth *auth.Service
	v    *vault.Vault
}

func newWriteWorld(t testing.TB, st store.Store, members int) *writeWorld {
	t.Helper()
	ctx := ctxT(t)
	d := openDir(t, st, directory.Options{})
	as := auth.New(st, d, auth.NewKeySet(), auth.Options{})
	t.Cleanup(func() { _ = as.Close() })
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	kr, err := vault.NewKeyring(map[uint32][]byte{1: key})
	ok(t, "NewKeyring", err)
	v, err := vault.Open(ctx, vault.Options{Store: st, Directory: d, Keyring: kr})
	ok(t, "vault.Open", err)
	mustUsers(t, d, "alice")
	ok(t, "create acme", third(d.CreateOrg(ctx, alice, directory.OrgSpec{ID: "acme"})))
	for i := range members {
		id := fmt.Sprintf("m%02d", i)
		mustUsers(t, d, id)
		ok(t, "add "+id, third(d.AddMember(ctx, alice, "acme", id, "viewer")))
	}
	return &writeWorld{st: st, dir: d, auth: as, v: v}
}

// writeKinds are the writes a concurrent writer cycles through: every
// write path that authorizes inside its transaction (directory, API keys,
// vault), and a team (whose audit entry records what it replaced).
var writeKinds = []string{"namespace", "binding", "apikey", "secret", "team"}

// write does writer w's j-th write (of kind writeKinds[j%4]) as alice. A
// binding is scoped to the namespace the writer created just before.
func (ww *writeWorld) write(ctx context.Context, w, j int) error {
	ns := fmt.Sprintf("w%02d-%03d", w, j/len(writeKinds))
	member := fmt.Sprintf("user:m%02d", w)
	var err error
	switch writeKinds[j%len(writeKinds)] {
	case "namespace":
		_, _, err = ww.dir.CreateNamespace(ctx, alice, "acme", ns)
	case "binding":
		_, _, err = ww.dir.CreateBinding(ctx, alice, "acme", directory.BindingSpec{Principal: member, Role: "builder", Scope: authz.Scope{Namespace: ns}})
	case "apikey":
		c := auth.Caller{Identity: auth.Identity{Principal: alice.Principal, Org: "acme"}}
		_, _, _, err = ww.auth.CreateKey(ctx, c, "acme", auth.KeySpec{Principal: "user:alice", Name: ns})
	case "team":
		_, _, err = ww.dir.CreateTeam(ctx, alice, "acme", "t"+ns, "Team "+ns, []string{member})
	case "secret":
		_, _, err = ww.v.Create(ctx, vault.Actor{Principal: alice.Principal}, "acme", "default", secretName(ns), []byte("value"), vault.Meta{})
	}
	return err
}

// concurrentWrites runs writers goroutines doing perWriter writes each and
// returns every error, labelled.
func (ww *writeWorld) concurrentWrites(ctx context.Context, writers, perWriter int) []string {
	var (
		mu   sync.Mutex
		errs []string
		wg   sync.WaitGroup
	)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range perWriter {
				if err := ww.write(ctx, w, j); err != nil {
					mu.Lock()
					errs = append(errs, fmt.Sprintf("writer %d, write %d (%s): %v", w, j, writeKinds[j%len(writeKinds)], err))
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	sort.Strings(errs)
	return errs
}

// TestConcurrentWritersSmallPool: 16 writers, 10 writes each (namespaces,
// bindings, API keys, secrets, teams), on a PostgreSQL pool of 2 connections (and
// on SQLite). Every write succeeds — none fails with ErrNotCaughtUp while
// its transaction waits for a follower that cannot get a connection — and
// the end state holds exactly what was written. Regression test: before
// the write path caught the engine up over the transaction's own
// connection, the PostgreSQL run failed with "not caught up" errors.
func TestConcurrentWritersSmallPool(t *testing.T) {
	const writers, perWriter, poolConns = 16, 10, 2
	for _, be := range poolBackends {
		t.Run(be.name, func(t *testing.T) {
			ww := newWriteWorld(t, be.open(t, poolConns), writers)
			ctx := ctxT(t)
			if errs := ww.concurrentWrites(ctx, writers, perWriter); len(errs) > 0 {
				t.Fatalf("%d of %d writes failed:\n%s", len(errs), writers*perWriter, joinLines(errs, 10))
			}
			ww.checkEndState(t, writers, perWriter)
		})
	}
}

// checkEndState compares what the store holds with what the writers wrote,
// and checks that the engine followed (each member holds builder in its
// namespaces).
func (ww *writeWorld) checkEndState(t *testing.T, writers, perWriter int) {
	t.Helper()
	ctx := ctxT(t)
	var wantNS, wantBind, wantKeys, wantSecrets, wantTeams []string
	wantNS = append(wantNS, "default")
	for w := range writers {
		for j := range perWriter {
			ns := fmt.Sprintf("w%02d-%03d", w, j/len(writeKinds))
			switch writeKinds[j%len(writeKinds)] {
			case "namespace":
				wantNS = append(wantNS, ns)
			case "binding":
				wantBind = append(wantBind, fmt.Sprintf("user:m%02d builder %s", w, ns))
			case "apikey":
				wantKeys = append(wantKeys, ns)
			case "secret":
				wantSecrets = append(wantSecrets, secretName(ns))
			case "team":
				wantTeams = append(wantTeams, "t"+ns)
			}
		}
	}
	nss, err := directory.AllPages(func(p store.Page) ([]store.Namespace, string, error) {
		return ww.dir.ListNamespaces(ctx, alice, "acme", p)
	})
	ok(t, "ListNamespaces", err)
	var gotNS []string
	for _, n := range nss {
		gotNS = append(gotNS, n.Name)
	}
	bs, err := directory.AllPages(func(p store.Page) ([]store.Binding, string, error) {
		return ww.dir.ListBindings(ctx, alice, "acme", directory.BindingFilter{Role: "builder"}, p)
	})
	ok(t, "ListBindings", err)
	var gotBind []string
	for _, b := range bs {
		gotBind = append(gotBind, fmt.Sprintf("%s %s %s", b.Principal, b.Role, b.Scope.Namespace))
	}
	ks, err := directory.AllPages(func(p store.Page) ([]store.APIKey, string, error) {
		return ww.st.ListAPIKeys(ctx, store.APIKeyFilter{Org: "acme"}, p)
	})
	ok(t, "ListAPIKeys", err)
	var gotKeys []string
	for _, k := range ks {
		gotKeys = append(gotKeys, k.Name)
	}
	ss, err := directory.AllPages(func(p store.Page) ([]store.Secret, string, error) {
		return ww.v.List(ctx, vault.Actor{Principal: alice.Principal}, "acme", "default", p)
	})
	ok(t, "List secrets", err)
	var gotSecrets []string
	for _, s := range ss {
		gotSecrets = append(gotSecrets, s.Name)
	}
	ts, err := directory.AllPages(func(p store.Page) ([]store.Team, string, error) {
		return ww.dir.ListTeams(ctx, alice, "acme", p)
	})
	ok(t, "ListTeams", err)
	var gotTeams []string
	for _, tm := range ts {
		gotTeams = append(gotTeams, tm.Slug)
	}
	for _, c := range []struct {
		what      string
		got, want []string
	}{
		{"namespaces", gotNS, wantNS},
		{"builder bindings", gotBind, wantBind},
		{"API keys", gotKeys, wantKeys},
		{"secrets", gotSecrets, wantSecrets},
		{"teams", gotTeams, wantTeams},
	} {
		sort.Strings(c.got)
		sort.Strings(c.want)
		if diff := cmp.Diff(c.want, c.got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", c.what, diff)
		}
	}
	// The engine is at the store's revision and answers from it.
	rev, err := ww.st.CurrentRevision(ctx)
	ok(t, "CurrentRevision", err)
	ok(t, "WaitFor", ww.dir.WaitFor(ctx, rev))
	for w := range writers {
		p := directory.Actor{Principal: fmt.Sprintf("user:m%02d", w)}
		dec, err := ww.dir.Check(ctx, p, authz.Request{Org: "acme", Principal: p.Principal, Namespace: fmt.Sprintf("w%02d-000", w), ResourceType: "chains", ResourceID: "x", Action: "update"}, rev)
		ok(t, "Check", err)
		if !dec.Allowed {
			t.Errorf("%s may not update chains in its namespace: the engine missed its binding", p.Principal)
		}
	}
}

// secretName is the secret a writer creates with namespace ns's name
// (secret names are environment variable names).
func secretName(ns string) string {
	return "S_" + strings.ToUpper(strings.ReplaceAll(ns, "-", "_"))
}

// joinLines joins up to max lines, saying how many were left out.
func joinLines(lines []string, max int) string {
	s := ""
	for i, l := range lines {
		if i == max {
			return s + fmt.Sprintf("… and %d more", len(lines)-max)
		}
		s += l + "\n"
	}
	return s
}

// BenchmarkConcurrentWriters: 64 goroutines share b.N writes (namespaces,
// bindings, API keys, secrets, teams, in turn) through the directory,
// authentication and the vault, on SQLite and on PostgreSQL with pgx's
// default pool (max(4, GOMAXPROCS) connections). Every write must succeed.
// Reported: writes/s (wall clock) and p50/p99 latency of one write.
//
//	go test ./internal/directory -run '^$' -bench BenchmarkConcurrentWriters -benchtime 2000x -count 3
func BenchmarkConcurrentWriters(b *testing.B) {
	const writers = 64
	for _, be := range poolBackends {
		b.Run(be.name, func(b *testing.B) {
			ww := newWriteWorld(b, be.open(b, 0), writers)
			ctx := ctxT(b)
			lat := make([][]time.Duration, writers)
			var (
				mu   sync.Mutex
				errs []string
				wg   sync.WaitGroup
			)
			b.ResetTimer()
			start := time.Now()
			for w := range writers {
				n := b.N / writers
				if w < b.N%writers {
					n++
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					for j := range n {
						t0 := time.Now()
						err := ww.write(ctx, w, j)
						lat[w] = append(lat[w], time.Since(t0))
						if err != nil {
							mu.Lock()
							errs = append(errs, fmt.Sprintf("writer %d, write %d (%s): %v", w, j, writeKinds[j%len(writeKinds)], err))
							mu.Unlock()
						}
					}
				}()
			}
			wg.Wait()
			elapsed := time.Since(start)
			b.StopTimer()
			if len(errs) > 0 {
				sort.Strings(errs)
				b.Fatalf("%d of %d writes failed:\n%s", len(errs), b.N, joinLines(errs, 10))
			}
			var all []time.Duration
			for _, l := range lat {
				all = append(all, l...)
			}
			slices.Sort(all)
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "writes/s")
			b.ReportMetric(float64(all[len(all)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(all[(len(all)*99)/100].Microseconds())/1000, "p99-ms")
		})
	}
}

// TestConcurrentRevocationIsSeen: while 8 writers act as bob (admin),
// alice removes bob from the org. A write is authorized against every
// revision before its own, so no write of bob's commits after the removal:
// each success has a revision below the removal's, and each writer ends
// refused (ErrNotFound: bob is no longer a member). Run on a PostgreSQL
// pool of 2 connections and on SQLite.
func TestConcurrentRevocationIsSeen(t *testing.T) {
	const writers, maxWrites = 8, 300
	for _, be := range poolBackends {
		t.Run(be.name, func(t *testing.T) {
			ww := newWriteWorld(t, be.open(t, 2), 0)
			ctx := ctxT(t)
			mustUsers(t, ww.dir, "bob")
			ok(t, "add bob", third(ww.dir.AddMember(ctx, alice, "acme", "bob", "admin")))
			type result struct {
				rev uint64
				err error
			}
			results := make([][]result, writers)
			started := make(chan struct{}, writers)
			var wg sync.WaitGroup
			for w := range writers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for j := range maxWrites {
						_, rev, err := ww.dir.CreateNamespace(ctx, bob, "acme", fmt.Sprintf("b%d-%03d", w, j))
						results[w] = append(results[w], result{rev, err})
						if j == 0 {
							started <- struct{}{}
						}
						if err != nil {
							return
						}
					}
				}()
			}
			for range writers {
				<-started // every writer has written once: the removal lands among their writes
			}
			removed, err := ww.dir.RemoveMember(ctx, alice, "acme", "bob")
			ok(t, "remove bob", err)
			wg.Wait()
			for w, rs := range results {
				for j, r := range rs {
					switch {
					case r.err == nil && r.rev >= removed:
						t.Errorf("writer %d, write %d: bob's write committed at revision %d, after his removal at %d", w, j, r.rev, removed)
					case r.err != nil && !errors.Is(r.err, directory.ErrNotFound):
						t.Errorf("writer %d, write %d: %v, want success or ErrNotFound", w, j, r.err)
					}
				}
				if last := rs[len(rs)-1]; last.err == nil {
					t.Errorf("writer %d: %d writes succeeded and none was refused after bob's removal", w, len(rs))
				}
			}
		})
	}
}
