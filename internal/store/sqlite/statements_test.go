package sqlite

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/internal/audit"
	"github.com/gatehouse-dev/gatehouse/internal/directory"
	"github.com/gatehouse-dev/gatehouse/internal/store/sqlcore/querylog"
	"github.com/gatehouse-dev/gatehouse/internal/store/storetest"
)

// TestBulkWriteStatements counts the statements a bulk write runs per
// change (each a round trip on PostgreSQL, which runs the same sqlcore
// code), for each kind of change the peers' load makes, audited and
// signed as in production, and fails if a kind needs more than it did
// when the transaction learned to remember what it found and to buffer
// its audit rows (issue 19): a regression there multiplies the load time
// on PostgreSQL.
func TestBulkWriteStatements(t *testing.T) {
	ctx := context.Background()
	var log querylog.Log
	st, b := openTestStore(t, 4, log.Wrap)
	d, alice := openAuditedOrg(t, st, audit.Options{CheckpointInterval: 24 * time.Hour}) // checkpoints by count only: the same statements however slow the run
	const n = 500
	var ns, res, users, members, binds, shares []directory.WriteChange
	for i := range n {
		ns = append(ns, directory.WriteChange{Op: directory.OpNamespaceCreate, Namespace: fmt.Sprintf("ns%d", i)})
		res = append(res, directory.WriteChange{Op: directory.OpResourceCreate, Resource: directory.ResourceSpec{Namespace: "ns0", Type: "chains", ID: fmt.Sprintf("c%d", i)}})
		users = append(users, directory.WriteChange{Op: directory.OpUserCreate, User: directory.UserSpec{ID: fmt.Sprintf("u%d", i), Email: fmt.Sprintf("u%d@example.com", i), Role: "viewer"}})
		binds = append(binds, directory.WriteChange{Op: directory.OpBindingCreate, Binding: directory.BindingSpec{Principal: fmt.Sprintf("user:u%d", i), Role: "builder", Scope: authz.Scope{Namespace: fmt.Sprintf("ns%d", i%3)}}})
		shares = append(shares, directory.WriteChange{Op: directory.OpShareCreate, Principal: fmt.Sprintf("user:u%d", i), Actions: []string{"run"},
			Ref: authz.ResourceRef{Namespace: "ns0", Type: "chains", ID: fmt.Sprintf("c%d", (i+1)%n)}})
	}
	// Members of a second org: users that exist already.
	if _, _, err := d.CreateOrg(ctx, alice, directory.OrgSpec{ID: "globex"}); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		members = append(members, directory.WriteChange{Op: directory.OpMemberAdd, User: directory.UserSpec{ID: fmt.Sprintf("u%d", i), Role: "viewer"}})
	}
	for _, tc := range []struct {
		name    string
		org     string
		changes []directory.WriteChange
		max     float64 // statements per change, measured when this test was written (2.03, 3.04, 3.08, 0.12, 0.12, 2.06; before a batch's INSERTs were queued and merged on SQLite too: 1.08 for bindings and shares; before the batch's facts were read up front: 2, 3, 6, 2, 3, 4; before issue 19: 6, 8, 15, 9, 11, 12), plus a margin for checkpoints
	}{
		{"namespace.create", "acme", ns, 2.3},
		{"resource.create", "acme", res, 3.3},
		{"user.create", "acme", users, 3.3},
		{"binding.create", "acme", binds, 0.3},
		{"share.create", "acme", shares, 0.3},
		{"member.add", "globex", members, 2.3},
	} {
		before := log.WriteCount()
		if _, _, err := d.Write(ctx, alice, tc.org, tc.changes); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		per := float64(log.WriteCount()-before) / float64(len(tc.changes))
		t.Logf("%-16s %.2f statements per change", tc.name, per)
		if per > tc.max {
			t.Errorf("%s: %.2f statements per change in a batch of %d, want at most %.1f", tc.name, per, len(tc.changes), tc.max)
		}
	}

	// The statements a bulk write adds (the membership prefetch, the
	// multi-row audit INSERTs) are served by indexes, as TestQueryPlans
	// requires of the conformance suite's.
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
	scanned := func(line string) (string, bool) {
		if rest, ok := strings.CutPrefix(line, "SCAN "); ok {
			table, _, _ := strings.Cut(rest, " ")
			return table, true
		}
		return "", false
	}
	stmts := log.Statements()
	for _, st := range stmts {
		lines, err := explain(st)
		if err != nil {
			t.Fatalf("EXPLAIN %s: %v", st.SQL, err)
		}
		for _, line := range lines {
			if table, ok := scanned(line); ok && storetest.Schema[table] != nil && !querylog.FixedTables[table] && !allowedScan(st.SQL) {
				t.Errorf("%s\nscans %s: %q", st.SQL, table, lines)
			}
		}
	}
	// Each prefetch of a batch's facts (sqlcore/prefetch.go) searches the
	// key or index its single-row check uses, once per key asked about.
	for _, pc := range []struct {
		name, prefix, search string
	}{
		{"membership", "SELECT user_id FROM members WHERE org = $1 AND user_id IN (", "SEARCH members USING COVERING INDEX sqlite_autoindex_members_1 (org=? AND user_id=?)"},
		{"user", "SELECT id FROM users WHERE id IN (", "SEARCH users USING COVERING INDEX sqlite_autoindex_users_1 (id=?)"},
		{"email", "SELECT email, id FROM users WHERE email <> '' AND email IN (", "SEARCH users USING INDEX users_email (email=?)"},
		{"binding", "SELECT org, id, principal, role, actions, scope_namespace, scope_type, scope_id, condition_name, created_by, created_at, expires_at FROM bindings WHERE org = $1 AND ((principal",
			"SEARCH bindings USING INDEX bindings_principal_scope (org=? AND principal=? AND scope_namespace=? AND scope_type=? AND scope_id=?)"},
		{"resource", "SELECT r.namespace, r.type, r.id FROM (VALUES ", "SEARCH r USING COVERING INDEX sqlite_autoindex_resources_1 (org=? AND namespace=? AND type=? AND id=?)"},
	} {
		ran := false
		for _, st := range stmts {
			if !strings.HasPrefix(st.SQL, pc.prefix) {
				continue
			}
			ran = true
			lines, err := explain(st)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Contains(lines, pc.search) && !slices.ContainsFunc(lines, func(l string) bool { return strings.HasSuffix(l, pc.search) }) {
				t.Errorf("the %s prefetch runs as %q, want %q", pc.name, lines, pc.search)
			}
		}
		if !ran {
			t.Errorf("no %s prefetch ran", pc.name)
		}
	}
}

func allowedScan(sql string) bool {
	for frag := range querylog.AllowedScans {
		if strings.Contains(sql, frag) {
			return true
		}
	}
	return false
}
