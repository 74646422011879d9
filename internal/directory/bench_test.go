package directory_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/internal/directory"
	"github.com/gatehouse-dev/gatehouse/internal/store"
	"github.com/gatehouse-dev/gatehouse/internal/store/postgres"
	"github.com/gatehouse-dev/gatehouse/internal/store/sqlite"
)

// Benchmarks of the directory end to end (store + follower + engine):
//
//	BenchmarkLoadOrg/<backend>      directory.Open of one org of N bindings
//	                                (GATEHOUSE_BENCH_BINDINGS, default 100,000;
//	                                1000000 for the figure in the report)
//	BenchmarkWriteBinding/<backend> one CreateBinding: authorization in the
//	                                write, commit, engine update; p50/p99
//	BenchmarkCatchUp/<backend>      a second process's follower applying
//	                                10,000 changes written by another
//
// PostgreSQL runs need GATEHOUSE_TEST_POSTGRES.

func benchBindings(b *testing.B) int {
	if v := os.Getenv("GATEHOUSE_BENCH_BINDINGS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 10 {
			b.Fatalf("GATEHOUSE_BENCH_BINDINGS=%q", v)
		}
		return n
	}
	return 100000
}

// benchBackend opens a fresh database and returns the store and a function
// that runs bulk SQL on it (seeding bypasses the store, as a restore would).
type benchBackend struct {
	name string
	open func(b *testing.B, sync string) (store.Store, func(q string, args ...any))
}

var benchBackends = []benchBackend{
	{"sqlite", func(b *testing.B, sync string) (store.Store, func(string, ...any)) {
		path := filepath.Join(b.TempDir(), "bench.db")
		st, err := sqlite.Open(context.Background(), path, sqlite.Options{Synchronous: sync})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = st.Close() })
		db, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(10000)")
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = db.Close() })
		return st, func(q string, args ...any) {
			if _, err := db.Exec(q, args...); err != nil {
				b.Fatalf("seed: %v", err)
			}
		}
	}},
	{"postgres", func(b *testing.B, _ string) (store.Store, func(string, ...any)) {
		dsn := pgSchemaDSN(b)
		st, err := postgres.Open(context.Background(), dsn, postgres.Options{})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = st.Close() })
		conn, err := pgx.Connect(context.Background(), dsn)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = conn.Close(context.Background()) })
		return st, func(q string, args ...any) {
			if _, err := conn.Exec(context.Background(), q, args...); err != nil {
				b.Fatalf("seed: %v", err)
			}
		}
	}},
}

// seedOrg creates org acme (owner alice, namespaces default and prod)
// through the directory, then adds users members u0000000… and n bindings
// by bulk SQL: principal u(i mod users), role viewer/operator/builder/admin,
// scope org, default or prod.
func seedOrg(b *testing.B, be string, st store.Store, exec func(string, ...any), users, n int) {
	b.Helper()
	ctx := context.Background()
	d, err := directory.Open(ctx, st, authz.New(), directory.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	if _, _, err := d.CreateUser(ctx, store.User{ID: "alice"}); err != nil {
		b.Fatal(err)
	}
	if _, _, err := d.CreateOrg(ctx, alice, directory.OrgSpec{ID: "acme"}); err != nil {
		b.Fatal(err)
	}
	if _, _, err := d.CreateNamespace(ctx, alice, "acme", "prod"); err != nil {
		b.Fatal(err)
	}
	if be == "sqlite" {
		exec(`WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < $1 - 1)
			INSERT INTO users (id, email, display_name, created_at) SELECT printf('u%07d', i), '', '', 0 FROM n`, users)
		exec(`WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < $1 - 1)
			INSERT INTO members (org, user_id, attributes, created_at) SELECT 'acme', printf('u%07d', i), '{}', 0 FROM n`, users)
		if n > 0 {
			exec(`WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < $1 - 1)
				INSERT INTO bindings (org, id, principal, role, actions, scope_namespace, scope_type, scope_id, condition_name, created_by, created_at)
				SELECT 'acme', printf('s%08d', i), printf('user:u%07d', i % $2),
				       CASE i % 4 WHEN 0 THEN 'viewer' WHEN 1 THEN 'operator' WHEN 2 THEN 'builder' ELSE 'admin' END,
				       NULL, CASE i % 3 WHEN 0 THEN '' WHEN 1 THEN 'default' ELSE 'prod' END, '', '', '', 'user:alice', 0 FROM n`, n, users)
		}
		return
	}
	exec(`INSERT INTO users (id, email, display_name, created_at)
		SELECT 'u' || lpad(i::text, 7, '0'), '', '', now() FROM generate_series(0, $1::int - 1) AS i`, users)
	exec(`INSERT INTO members (org, user_id, attributes, created_at)
		SELECT 'acme', 'u' || lpad(i::text, 7, '0'), '{}', now() FROM generate_series(0, $1::int - 1) AS i`, users)
	if n > 0 {
		exec(`INSERT INTO bindings (org, id, principal, role, actions, scope_namespace, scope_type, scope_id, condition_name, created_by, created_at)
			SELECT 'acme', 's' || lpad(i::text, 8, '0'), 'user:u' || lpad((i % $2::int)::text, 7, '0'),
			       (ARRAY['viewer', 'operator', 'builder', 'admin'])[i % 4 + 1],
			       NULL, (ARRAY['', 'default', 'prod'])[i % 3 + 1], '', '', '', 'user:alice', now()
			FROM generate_series(0, $1::int - 1) AS i`, n, users)
	}
	exec(`ANALYZE`)
}

// BenchmarkLoadOrg: directory.Open over a store holding one org of N
// bindings — the store's snapshot read, the policy compile and the
// engine's build (goal for 1,000,000 on SQLite: ≤ 3 s).
func BenchmarkLoadOrg(b *testing.B) {
	for _, be := range benchBackends {
		b.Run(be.name, func(b *testing.B) {
			n := benchBindings(b)
			st, exec := be.open(b, "")
			seedOrg(b, be.name, st, exec, max(n/10, 1), n)
			ctx := context.Background()
			b.ResetTimer()
			for b.Loop() {
				d, err := directory.Open(ctx, st, authz.New(), directory.Options{})
				if err != nil {
					b.Fatal(err)
				}
				if lvl := directory.EngineForTest(d).HighestLevel("acme", "user:u0000003", authz.Scope{}); lvl != 80 {
					b.Fatalf("u0000003's level after the load = %d, want 80", lvl)
				}
				_ = d.Close()
			}
			b.StopTimer()
			start := time.Now()
			snap, err := st.LoadOrg(ctx, "acme")
			if err != nil || len(snap.Bindings) != n+1 {
				b.Fatalf("store load: %d bindings, %v", len(snap.Bindings), err)
			}
			b.ReportMetric(time.Since(start).Seconds(), "store-s")
			b.ReportMetric(float64(n), "bindings")
		})
	}
}

// BenchmarkWriteBinding: one CreateBinding end to end — the store write
// (the engine waited to the base revision, membership, bindings:create and
// the escalation rules checked inside it), the commit, and the follower
// applying it to the engine before the call returns. Reports p50 and p99
// (goal on SQLite: p50 ≤ 2 ms).
func BenchmarkWriteBinding(b *testing.B) {
	for _, be := range benchBackends {
		syncs := []string{""}
		if be.name == "sqlite" {
			syncs = []string{"FULL", "NORMAL"}
		}
		for _, sync := range syncs {
			name := be.name
			if sync != "" {
				name += "/synchronous=" + sync
			}
			b.Run(name, func(b *testing.B) {
				const users = 10000
				st, exec := be.open(b, sync)
				seedOrg(b, be.name, st, exec, users, 0)
				ctx := context.Background()
				d, err := directory.Open(ctx, st, authz.New(), directory.Options{})
				if err != nil {
					b.Fatal(err)
				}
				defer d.Close()
				roles := []string{"viewer", "operator", "builder", "admin"}
				nss := []string{"default", "prod"}
				var lat []time.Duration
				i := 0
				b.ResetTimer()
				for b.Loop() {
					spec := directory.BindingSpec{
						Principal: fmt.Sprintf("user:u%07d", i%users),
						Role:      roles[(i/users)%len(roles)],
						Scope:     authz.Scope{Namespace: nss[(i/(users*len(roles)))%len(nss)]},
					}
					i++
					start := time.Now()
					_, rev, err := d.CreateBinding(ctx, alice, "acme", spec)
					lat = append(lat, time.Since(start))
					if err != nil {
						b.Fatal(err)
					}
					if d.Revision() < rev {
						b.Fatalf("CreateBinding returned before the engine applied revision %d", rev)
					}
				}
				b.StopTimer()
				slices.Sort(lat)
				b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
				b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
			})
		}
	}
}

// BenchmarkCatchUp: a second process, its engine loaded before 10,000
// changes (one binding per revision) were written by the first, catches up
// from the changelog: read, decode, translate, apply.
func BenchmarkCatchUp(b *testing.B) {
	for _, be := range benchBackends {
		b.Run(be.name, func(b *testing.B) {
			const changes, users = 10000, 1000
			st, exec := be.open(b, "NORMAL")
			seedOrg(b, be.name, st, exec, users, 0)
			ctx := context.Background()
			snap, err := st.LoadOrg(ctx, "acme")
			if err != nil {
				b.Fatal(err)
			}
			roles := []string{"viewer", "operator", "builder", "admin"}
			for i := range changes {
				if _, err := st.Write(ctx, func(tx store.Tx) error {
					_, err := tx.CreateBinding(ctx, store.Binding{Org: "acme", Binding: authz.Binding{
						Principal: fmt.Sprintf("user:u%07d", i%users), Role: roles[i%len(roles)], Scope: authz.Scope{Namespace: "prod"},
					}})
					return err
				}); err != nil {
					b.Fatal(err)
				}
			}
			head, err := st.CurrentRevision(ctx)
			if err != nil {
				b.Fatal(err)
			}
			second, err := st.(interface {
				Reopen(context.Context) (store.Store, error)
			}).Reopen(ctx)
			if err != nil {
				b.Fatal(err)
			}
			defer second.Close()
			b.ResetTimer()
			for range b.N {
				b.StopTimer()
				eng, catchUp, err := directory.CatchUpForTest(second, snap)
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				rev, err := catchUp(ctx)
				b.StopTimer()
				if err != nil || rev != head {
					b.Fatalf("caught up to %d (%v), want %d", rev, err, head)
				}
				if lvl := eng.HighestLevel("acme", "user:u0000003", authz.Scope{Namespace: "prod"}); lvl != 80 {
					b.Fatalf("u0000003's level in prod after catch-up = %d, want 80", lvl)
				}
				b.StartTimer()
			}
			b.ReportMetric(changes, "changes")
		})
	}
}
