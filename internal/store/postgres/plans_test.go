package postgres

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gatehouse-dev/gatehouse/internal/store"
	"github.com/gatehouse-dev/gatehouse/internal/store/postgres/pgtest"
	"github.com/gatehouse-dev/gatehouse/internal/store/sqlcore/querylog"
	"github.com/gatehouse-dev/gatehouse/internal/store/storetest"
)

// TestQueryPlans runs the conformance suite through a recording backend,
// then asks PostgreSQL (EXPLAIN of the generic plan, with sequential
// scans disabled so that the planner picks an index whenever one can
// serve the statement, even on empty tables) how it would run every distinct statement the store
// issued, and fails on any sequential scan of a table that grows with
// tenants.
func TestQueryPlans(t *testing.T) {
	var log querylog.Log
	wrap := log.Wrap
	open := func(t *testing.T) store.Store {
		t.Helper()
		s, err := open(context.Background(), pgtest.FreshSchema(t, "gh_plans"), Options{PollInterval: 50 * time.Millisecond, MaxConns: 8}, wrap)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return s
	}
	t.Run("Conformance", func(t *testing.T) { storetest.RunConformance(t, open) })

	ctx := context.Background()
	dsn := pgtest.FreshSchema(t, "gh_plans")
	s, err := Open(ctx, dsn, Options{})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	// Generic plans, as a prepared statement gets after a few runs: the
	// planner must find an index without knowing the arguments (a partial
	// index WHERE email <> '' cannot serve email = $1 then).
	for _, set := range []string{`SET enable_seqscan = off`, `SET plan_cache_mode = force_generic_plan`} {
		if _, err := conn.Exec(ctx, set); err != nil {
			t.Fatal(err)
		}
	}
	// EXPLAIN of the statement itself would plan it with its arguments
	// (a custom plan); EXPLAIN EXECUTE of a prepared statement under
	// force_generic_plan shows the plan every later run reuses, whatever
	// the arguments (so NULLs will do).
	n := 0
	explain := func(st querylog.Statement) ([]string, error) {
		n++
		name := fmt.Sprintf("plan_%d", n)
		sd, err := conn.Prepare(ctx, name, st.SQL)
		if err != nil {
			return nil, err
		}
		defer conn.Deallocate(ctx, name)
		nulls := strings.TrimSuffix(strings.Repeat("NULL, ", len(sd.ParamOIDs)), ", ")
		execute := "EXECUTE " + name
		if nulls != "" {
			execute += "(" + nulls + ")"
		}
		rows, err := conn.Query(ctx, "EXPLAIN "+execute)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		var lines []string
		for rows.Next() {
			var line string
			if err := rows.Scan(&line); err != nil {
				return nil, err
			}
			lines = append(lines, strings.TrimSpace(line))
		}
		return lines, rows.Err()
	}
	// "Seq Scan on t" or "Seq Scan on t alias"; with enable_seqscan off
	// the planner chooses one only when no index can serve the statement.
	scanned := func(line string) (string, bool) {
		_, rest, ok := strings.Cut(line, "Seq Scan on ")
		if !ok {
			return "", false
		}
		f := strings.Fields(rest)
		if len(f) > 1 && f[1] != "" && f[1][0] != '(' {
			return f[1], true // the alias, resolved against the statement
		}
		return f[0], true
	}
	var tables []string
	for table := range storetest.Schema {
		tables = append(tables, table)
	}
	stmts := log.Statements()
	querylog.CheckPlans(t, tables, stmts, explain, scanned)
	// A Sort node; an index searched on the org alone, or the org and a
	// range ("Index Cond: (org = $1)", "Index Cond: ((org = $1) AND (id
	// < $3))"): the org's rows as a whole.
	sorts := regexp.MustCompile(`^(?:->\s+)?(?:Incremental )?Sort\b`)
	tenantWide := regexp.MustCompile(`^Index Cond: (?:\((?:\w+\.)?org = \$1\)|\(\((?:\w+\.)?org = \$1\) AND \((?:\w+\.)?\w+ [<>]=? \$\d+\)\))$`)
	querylog.CheckIndexedLists(t, stmts, explain, sorts.MatchString, tenantWide.MatchString)
}
