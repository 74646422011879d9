package sqlite_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/internal/store"
	"github.com/gatehouse-dev/gatehouse/internal/store/sqlite"
)

// benchBindings is the org size of BenchmarkLoadOrg: GATEHOUSE_BENCH_BINDINGS
// or 100,000 (run with 1000000 for the figure in docs/storage.md).
func benchBindings(b *testing.B) int {
	if v := os.Getenv("GATEHOUSE_BENCH_BINDINGS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			b.Fatalf("GATEHOUSE_BENCH_BINDINGS=%q", v)
		}
		return n
	}
	return 100000
}

func benchStore(b *testing.B, path string) *sqlite.Store {
	b.Helper()
	s, err := sqlite.Open(context.Background(), path, sqlite.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Close() })
	ctx := context.Background()
	if _, err := s.Write(ctx, func(tx store.Tx) error {
		if _, err := tx.CreateOrg(ctx, store.Org{ID: "a"}); err != nil {
			return err
		}
		if _, err := tx.CreateUser(ctx, store.User{ID: "alice"}); err != nil {
			return err
		}
		_, err := tx.AddMember(ctx, store.Member{Org: "a", UserID: "alice"})
		return err
	}); err != nil {
		b.Fatal(err)
	}
	return s
}

// BenchmarkLoadOrg loads one org of N bindings (seeded with one SQL
// statement, bypassing the changelog) into a snapshot.
func BenchmarkLoadOrg(b *testing.B) {
	n := benchBindings(b)
	path := filepath.Join(b.TempDir(), "bench.db")
	s := benchStore(b, path)
	db, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < $1 - 1)
		INSERT INTO bindings (org, id, principal, role, actions, scope_namespace, scope_type, scope_id, condition_name, created_by, created_at)
		SELECT 'a', printf('b%08d', i), 'user:alice', CASE i % 3 WHEN 0 THEN 'viewer' WHEN 1 THEN 'operator' ELSE 'builder' END,
		       NULL, CASE WHEN i % 2 = 0 THEN 'default' ELSE '' END, '', '', '', '', 0 FROM n`, n); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		snap, err := s.LoadOrg(ctx, "a")
		if err != nil {
			b.Fatal(err)
		}
		if len(snap.Bindings) != n {
			b.Fatalf("loaded %d bindings, want %d", len(snap.Bindings), n)
		}
	}
	b.ReportMetric(float64(n), "bindings")
}

// BenchmarkWriteBinding is one binding write end to end: one Write with
// its checks, the insert, the changelog row and the commit.
func BenchmarkWriteBinding(b *testing.B) {
	for _, sync := range []string{"FULL", "NORMAL"} {
		b.Run("synchronous="+sync, func(b *testing.B) {
			path := filepath.Join(b.TempDir(), "bench.db")
			benchStore(b, path).Close()
			s, err := sqlite.Open(context.Background(), path, sqlite.Options{Synchronous: sync})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			ctx := context.Background()
			i := 0
			b.ResetTimer()
			for b.Loop() {
				i++
				if _, err := s.Write(ctx, func(tx store.Tx) error {
					_, err := tx.CreateBinding(ctx, store.Binding{Org: "a", Binding: authz.Binding{ID: fmt.Sprint("b", i), Principal: "user:alice", Role: "viewer"}})
					return err
				}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
