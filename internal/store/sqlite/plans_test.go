package sqlite

import (
	"context"
	"path/filepath"
	"regexp"
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
	// read every row of t (or of one of its indexes).
	// "SEARCH t USING PRIMARY KEY (org=?)" (or an index searched on org
	// alone) reads the whole tenant's rows: a scan when the statement
	// filters on more than the org, which an index could serve.
	tenantWide := regexp.MustCompile(`^SEARCH (\S+) USING (?:PRIMARY KEY|(?:COVERING )?INDEX \S+) \(org=\?(?: AND \w+[<>]\?)?\)$`)
	moreFilters := regexp.MustCompile(`WHERE (?:\w+\.)?org = \$1 AND (?:\w+\.)?\w+ = \$`)
	scanned := func(line string) (string, bool) {
		if rest, ok := strings.CutPrefix(line, "SCAN "); ok {
			table, _, _ := strings.Cut(rest, " ")
			return table, true
		}
		return "", false
	}
	var tables []string
	for table := range storetest.Schema {
		tables = append(tables, table)
	}
	stmts := log.Statements()
	querylog.CheckPlans(t, tables, stmts, explain, scanned)
	querylog.CheckIndexedLists(t, stmts, explain,
		func(line string) bool { return strings.HasPrefix(line, "USE TEMP B-TREE") },
		tenantWide.MatchString)
	for _, st := range stmts {
		if !moreFilters.MatchString(st.SQL) || tenantScanAllowed(st.SQL) {
			continue
		}
		lines, err := explain(st)
		if err != nil {
			continue // reported by CheckPlans
		}
		for _, line := range lines {
			if m := tenantWide.FindStringSubmatch(line); m != nil {
				t.Errorf("tenant-wide search of %s (%q) in:\n\t%s", m[1], line, st.SQL)
			}
		}
	}
}

// tenantScanAllowed lists the statements that filter an org's rows on a
// column no index serves, on purpose (their cost is the tenant's size).
func tenantScanAllowed(sql string) bool {
	for _, frag := range []string{
		// Bindings by role or by namespace: each matches a large share of
		// the org's bindings (five namespaces, a few roles), so walking
		// the key in order is the right plan for a page.
		"FROM bindings WHERE org = $1 AND role = $2",
		"FROM bindings WHERE org = $1 AND scope_namespace = $2 ORDER BY",
		// Resources of a type: a type is most of an org's resources; the
		// key order serves the page's order.
		"FROM resources WHERE org = $1 AND type = $2 ORDER BY",
		// The audit log filtered by action (GET .../audit?action=): an
		// index per filter would cost every append; the filter reads the
		// org's log.
		"FROM audit_entries WHERE org = $1 AND action = $2",
		// ... or by result (success, denied, error: each a large share
		// of the log), alone or with an action.
		"FROM audit_entries WHERE org = $1 AND result = $2",
	} {
		if strings.Contains(sql, frag) {
			return true
		}
	}
	return false
}
