package sqlite

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/store"
	"github.com/gatehouse-dev/gatehouse/internal/store/sqlcore"
	"github.com/gatehouse-dev/gatehouse/internal/store/sqlcore/querylog"
	"github.com/gatehouse-dev/gatehouse/internal/store/storetest"
)

// TestQueryPlans runs the conformance suite through a recording backend,
// then asks SQLite (EXPLAIN QUERY PLAN) how it would run every distinct
// statement the store issued, and fails on any full scan of a table that
// grows with tenants: such a statement gets slower with every org, user
// or fact, and a load made of them is quadratic.
func TestQueryPlans(t *testing.T) {
	var log querylog.Log
	opts := Options{PollInterval: 20 * time.Millisecond, Synchronous: "NORMAL", BusyTimeout: 10 * time.Second, Readers: 4}
	open := func(t *testing.T) store.Store {
		t.Helper()
		ctx := context.Background()
		path := filepath.Join(t.TempDir(), "gatehouse.db")
		b, err := openBackend(ctx, path, opts)
		if err != nil {
			t.Fatal(err)
		}
		core, err := sqlcore.New(ctx, log.Wrap(b), sqlcore.Options{PollInterval: opts.PollInterval})
		if err != nil {
			t.Fatal(err)
		}
		s := &Store{Store: core, path: path, opts: opts}
		t.Cleanup(func() { _ = s.Close() })
		return s
	}
	t.Run("Conformance", func(t *testing.T) { storetest.RunConformance(t, open) })

	ctx := context.Background()
	b, err := openBackend(ctx, filepath.Join(t.TempDir(), "plans.db"), opts)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	explain := func(st querylog.Statement) ([]string, error) {
		rows, err := b.w.QueryContext(ctx, "EXPLAIN QUERY PLAN "+st.SQL, st.Args...)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		var lines []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				return nil, err
			}
			lines = append(lines, detail)
		}
		return lines, rows.Err()
	}
	// "SCAN t", "SCAN t USING INDEX i" and "SCAN t USING COVERING INDEX i"
	// read every row of t (or of one of its indexes); "SEARCH t …" does not.
	scanned := func(line string) (string, bool) {
		rest, ok := strings.CutPrefix(line, "SCAN ")
		if !ok {
			return "", false
		}
		table, _, _ := strings.Cut(rest, " ")
		return table, true
	}
	var tables []string
	for table := range storetest.Schema {
		tables = append(tables, table)
	}
	querylog.CheckPlans(t, tables, log.Statements(), explain, scanned)
}
