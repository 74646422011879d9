package sqlite

import (
	"context"
	"errors"
	"path/filepath"
	"runtime/metrics"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/store/sqlcore"
)

// goroutinesCreated is the number of goroutines the process has created.
func goroutinesCreated(t *testing.T) uint64 {
	t.Helper()
	s := []metrics.Sample{{Name: "/sched/goroutines-created:goroutines"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		t.Fatalf("runtime/metrics has no %s", s[0].Name)
	}
	return s[0].Value.Uint64()
}

func openQuietBackend(t *testing.T) *backend {
	t.Helper()
	b, err := openBackend(context.Background(), filepath.Join(t.TempDir(), "q.db"), Options{BusyTimeout: time.Second, Synchronous: "NORMAL", Readers: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}

const (
	quietExec  = `UPDATE store_revision SET revision = revision WHERE id = 1`
	quietQuery = `SELECT revision FROM store_revision WHERE id = $1`
)

// TestWriteTxStartsNoGoroutinePerStatement checks that the statements of
// a write transaction whose context can be cancelled start no goroutine
// to watch it (BeginWrite's quietCtx): the driver started one for every
// statement and database/sql one more for every query's rows, and a bulk
// write runs a few statements a change while it holds the write lock
// (issue 19, branch writes16). database/sql still starts one for a
// query's rows (it watches the transaction's own context, which it makes
// cancellable): one a query, not two.
func TestWriteTxStartsNoGoroutinePerStatement(t *testing.T) {
	b := openQuietBackend(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	const n = 200
	for _, tc := range []struct {
		name string
		run  func(c sqlcore.Conn) error
		max  uint64 // goroutines created by n runs, at most
	}{
		{"exec", func(c sqlcore.Conn) error {
			_, err := c.Exec(ctx, quietExec)
			return err
		}, n / 10},
		{"query", func(c sqlcore.Conn) error {
			rows, err := c.Query(ctx, quietQuery, 1)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
			}
			return rows.Err()
		}, n + n/10},
	} {
		// The first transaction runs the statement plain; BeginWrite
		// prepares it before the second, which runs it kept.
		for _, kept := range []string{"plain", "kept"} {
			t.Run(tc.name+"/"+kept, func(t *testing.T) {
				c, err := b.BeginWrite(ctx)
				if err != nil {
					t.Fatal(err)
				}
				defer c.Rollback(context.Background())
				before := goroutinesCreated(t)
				for range n {
					if err := tc.run(c); err != nil {
						t.Fatal(err)
					}
				}
				if got := goroutinesCreated(t) - before; got > tc.max {
					t.Errorf("%d statements in a write transaction created %d goroutines, want at most %d", n, got, tc.max)
				}
			})
		}
	}
}

// TestWriteTxCancelled checks that a write transaction whose context ends
// runs no further statement and does not commit (what database/sql did
// for a transaction begun under that context), and that the writer
// connection is released for the next write either way.
func TestWriteTxCancelled(t *testing.T) {
	b := openQuietBackend(t)
	for _, tc := range []struct {
		name string
		// cancelAt: before the first statement (0), or before the commit (1).
		cancelAt int
	}{
		{"before a statement", 0},
		{"before the commit", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			c, err := b.BeginWrite(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if tc.cancelAt == 0 {
				cancel()
			}
			_, err = c.Exec(ctx, `UPDATE store_revision SET revision = revision + 100 WHERE id = 1`)
			if tc.cancelAt == 0 {
				if !errors.Is(err, context.Canceled) {
					t.Errorf("statement after cancel: %v, want context.Canceled", err)
				}
				if err := c.Rollback(context.Background()); err != nil {
					t.Errorf("rollback: %v", err)
				}
			} else {
				if err != nil {
					t.Fatal(err)
				}
				cancel()
				if err := c.Commit(ctx); !errors.Is(err, context.Canceled) {
					t.Errorf("commit after cancel: %v, want context.Canceled", err)
				}
			}
			// Not committed, and the writer is free: a new write begins.
			next, cancelNext := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancelNext()
			c2, err := b.BeginWrite(next)
			if err != nil {
				t.Fatalf("the next write could not begin: %v", err)
			}
			defer c2.Rollback(context.Background())
			rows, err := c2.Query(next, quietQuery, 1)
			if err != nil {
				t.Fatal(err)
			}
			var rev int64
			for rows.Next() {
				if err := rows.Scan(&rev); err != nil {
					t.Fatal(err)
				}
			}
			rows.Close()
			if rev != 0 {
				t.Errorf("revision %d after a cancelled write, want 0 (nothing committed)", rev)
			}
		})
	}
}

// TestWriteTxRunQuietOnce checks that a write transaction's statements
// run under its own context reuse the quiet context BeginWrite made
// (context.WithoutCancel allocates: one allocation a statement of a bulk
// write), and that the checks sqlTx.run makes are still made for them: a
// statement after the context ends is refused.
func TestWriteTxRunQuietOnce(t *testing.T) {
	b := openQuietBackend(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c, err := b.BeginWrite(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Rollback(context.Background())
	tx := c.(sqlTx)
	if allocs := testing.AllocsPerRun(100, func() {
		if _, err := tx.run(ctx); err != nil {
			t.Fatal(err)
		}
	}); allocs != 0 {
		t.Errorf("run(the transaction's ctx) allocates %v times, want 0", allocs)
	}
	q, err := tx.run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if q.Done() != nil {
		t.Error("run(the transaction's ctx) returned a context that can be done")
	}
	cancel()
	if _, err := tx.run(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("run after cancel: %v, want context.Canceled", err)
	}
}

// mapCtx is a context whose type is not comparable: == on two of them
// panics.
type mapCtx struct {
	context.Context
	m map[string]int
}

// TestWriteTxRunNonComparableCtx: a write transaction begun and used with
// a context of a type == cannot compare runs its statements; it does not
// panic.
func TestWriteTxRunNonComparableCtx(t *testing.T) {
	b := openQuietBackend(t)
	ctx := mapCtx{context.Background(), map[string]int{}}
	c, err := b.BeginWrite(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Rollback(context.Background())
	q, err := c.(sqlTx).run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if q.Done() != nil {
		t.Error("run returned a context that can be done")
	}
}
