package postgres_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/internal/store"
	"github.com/gatehouse-dev/gatehouse/internal/store/postgres"
)

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

func benchStore(b *testing.B) (*postgres.Store, string) {
	b.Helper()
	dsn := freshSchema(b)
	s, err := postgres.Open(context.Background(), dsn, postgres.Options{})
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
	return s, dsn
}

// BenchmarkLoadOrg loads one org of N bindings (seeded with one SQL
// statement, bypassing the changelog) into a snapshot.
func BenchmarkLoadOrg(b *testing.B) {
	n := benchBindings(b)
	s, dsn := benchStore(b)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `INSERT INTO bindings (org, id, principal, role, actions, scope_namespace, scope_type, scope_id, condition_name, created_by, created_at)
		SELECT 'a', 'b' || lpad(i::text, 8, '0'), 'user:alice', (ARRAY['viewer', 'operator', 'builder'])[i % 3 + 1],
		       NULL, CASE WHEN i % 2 = 0 THEN 'default' ELSE '' END, '', '', '', '', now()
		FROM generate_series(0, $1::int - 1) AS i`, n); err != nil {
		b.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `ANALYZE bindings`); err != nil {
		b.Fatal(err)
	}
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

// BenchmarkWriteBinding is one binding write end to end: advisory lock,
// checks, insert, changelog row, notify, commit.
func BenchmarkWriteBinding(b *testing.B) {
	s, _ := benchStore(b)
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
}

// BenchmarkCatchUp: a second handle reads 10,000 single-binding revisions
// written by the first, from the changelog, page by page.
func BenchmarkCatchUp(b *testing.B) {
	s, _ := benchStore(b)
	ctx := context.Background()
	const changes = 10000
	start, err := s.CurrentRevision(ctx)
	if err != nil {
		b.Fatal(err)
	}
	for i := range changes {
		if _, err := s.Write(ctx, func(tx store.Tx) error {
			_, err := tx.CreateBinding(ctx, store.Binding{Org: "a", Binding: authz.Binding{ID: fmt.Sprint("c", i), Principal: "user:alice", Role: "viewer"}})
			return err
		}); err != nil {
			b.Fatal(err)
		}
	}
	s2, err := s.Reopen(ctx)
	if err != nil {
		b.Fatal(err)
	}
	defer s2.Close()
	b.ResetTimer()
	for b.Loop() {
		after, seen := start, 0
		for {
			cs, err := s2.ChangesSince(ctx, after, store.MaxChangesLimit)
			if err != nil {
				b.Fatal(err)
			}
			if len(cs) == 0 {
				break
			}
			for _, c := range cs {
				if _, err := c.Decode(); err != nil {
					b.Fatal(err)
				}
			}
			seen += len(cs)
			after = cs[len(cs)-1].Revision
		}
		if seen != changes {
			b.Fatalf("caught up %d changes, want %d", seen, changes)
		}
	}
}
