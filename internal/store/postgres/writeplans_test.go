package postgres

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gatehouse-dev/gatehouse/internal/store"
	"github.com/gatehouse-dev/gatehouse/internal/store/postgres/pgtest"
	"github.com/gatehouse-dev/gatehouse/internal/store/sqlcore/querylog"
)

// TestWritePlansUseIndexes: a bulk write's prefetch of users (by id, and
// by email for the users it creates) must look them up by index inside a
// write transaction, on a users table of 20,000 rows, before and after
// ANALYZE. With PostgreSQL's default costs the planner chose a
// sequential scan of users for the 100-email prefetch (a bulk load's
// auto_explain showed it taking 21-26 ms, under the write lock), whether
// planned with its arguments or generically, with statistics or without:
// a write transaction turns sequential scans off (writeSettings). The
// plans are asked for as the backend runs the statements: on the write
// transaction's connection, with the recorded arguments.
func TestWritePlansUseIndexes(t *testing.T) {
	ctx := context.Background()
	var log querylog.Log
	dsn := pgtest.FreshSchema(t, "gh_wplans")
	s, err := open(ctx, dsn, Options{PollInterval: 50 * time.Millisecond}, log.Wrap)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `INSERT INTO users (id, email, display_name, created_at)
		SELECT 'u' || i, 'u' || i || '@grown.test', '', now() FROM generate_series(1, 20000) AS i`); err != nil {
		t.Fatal(err)
	}
	// A batch's prefetch: 100 users it names, 100 it creates.
	var facts store.BatchFacts
	for i := range 100 {
		facts.UserIDs = append(facts.UserIDs, fmt.Sprintf("u%d", 1+i*150))
		facts.NewUsers = append(facts.NewUsers, store.User{ID: fmt.Sprintf("n%d", i), Email: fmt.Sprintf("n%d@grown.test", i)})
	}
	if _, err := s.Write(ctx, func(tx store.Tx) error {
		p, ok := tx.(interface {
			Prefetch(context.Context, string, store.BatchFacts) error
		})
		if !ok {
			t.Fatal("the write transaction has no Prefetch")
		}
		return p.Prefetch(ctx, "acme", facts)
	}); err != nil {
		t.Fatalf("Write: %v", err)
	}
	var stmts []querylog.Statement
	for _, st := range log.Statements() {
		if strings.Contains(st.SQL, "FROM users WHERE") && strings.Contains(st.SQL, " IN (") {
			stmts = append(stmts, st)
		}
	}
	if len(stmts) != 2 {
		t.Fatalf("recorded %d prefetch statements of users, want 2 (by id, by email): %v", len(stmts), stmts)
	}
	for _, analyzed := range []bool{false, true} {
		if analyzed {
			if _, err := conn.Exec(ctx, `ANALYZE users`); err != nil {
				t.Fatal(err)
			}
		}
		for _, st := range stmts {
			plan := writePlan(t, s, st)
			if strings.Contains(plan, "Seq Scan") {
				t.Errorf("analyzed %v: %.60s… scans users sequentially in a write transaction:\n%s", analyzed, st.SQL, plan)
			}
		}
	}
}

// writePlan is st's plan in a write transaction of s's backend.
func writePlan(t *testing.T, s *Store, st querylog.Statement) string {
	t.Helper()
	ctx := context.Background()
	c, err := s.b.BeginWrite(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Rollback(ctx) }()
	rows, err := c.Query(ctx, "EXPLAIN "+st.SQL, st.Args...)
	if err != nil {
		t.Fatalf("EXPLAIN %s: %v", st.SQL, err)
	}
	defer rows.Close()
	var lines []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			t.Fatal(err)
		}
		lines = append(lines, line)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return strings.Join(lines, "\n")
}
