package postgres

import (
	"context"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/store/postgres/pgtest"
	"github.com/gatehouse-dev/gatehouse/internal/store/sqlcore"
)

// TestCommitRevisionCounts: the tail of a concurrent org write commits
// only if the renumbering moved exactly the changelog rows the write
// sent; otherwise nothing commits (the revision stays, no row is left
// under a placeholder or a new revision). When it commits, the rows carry
// the new revision and none is left under the placeholder.
func TestCommitRevisionCounts(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := Open(ctx, pgtest.FreshSchema(t, "gh_test"), Options{OrgWrites: true})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	renumber := sqlcore.Stmt{SQL: `UPDATE changelog SET revision = ` + sqlcore.RevisionSQL + ` WHERE revision = $1`, Args: []any{int64(-42)}}
	count := func(sql string, args ...any) int64 {
		t.Helper()
		var n int64
		if err := s.b.pool.QueryRow(ctx, sql, args...).Scan(&n); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
		return n
	}
	tail := func(rows int, want int64) (int64, error) {
		t.Helper()
		c, err := s.b.BeginOrgWrite(ctx, "a")
		if err != nil {
			t.Fatalf("BeginOrgWrite: %v", err)
		}
		for i := range rows {
			if _, err := c.Exec(ctx, `INSERT INTO changelog (revision, seq, org, kind, change_key, payload, created_at) VALUES (-42, $1, 'a', 'namespace.put', 'n', '{}', now())`, i); err != nil {
				t.Fatalf("insert: %v", err)
			}
		}
		rev, err := s.b.CommitRevision(ctx, c, renumber, want)
		if err != nil {
			_ = c.Rollback(ctx)
		}
		return rev, err
	}
	base := count(`SELECT revision FROM store_revision WHERE id = 1`)
	tests := []struct {
		name     string
		rows     int
		want     int64
		ok       bool
		revision int64 // store_revision after
		placed   int64 // changelog rows at that revision after
	}{
		{"fewer rows than sent", 2, 3, false, base, 0},
		{"more rows than sent", 3, 2, false, base, 0},
		{"the rows sent", 3, 3, true, base + 1, 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rev, err := tail(tc.rows, tc.want)
			if (err == nil) != tc.ok {
				t.Fatalf("CommitRevision: %v, want ok %v", err, tc.ok)
			}
			if tc.ok && rev != tc.revision {
				t.Errorf("CommitRevision returned revision %d, want %d", rev, tc.revision)
			}
			if got := count(`SELECT revision FROM store_revision WHERE id = 1`); got != tc.revision {
				t.Errorf("revision %d after, want %d", got, tc.revision)
			}
			if got := count(`SELECT count(*) FROM changelog WHERE revision = $1`, tc.revision); tc.ok && got != tc.placed {
				t.Errorf("%d changelog rows at revision %d, want %d", got, tc.revision, tc.placed)
			}
			if got := count(`SELECT count(*) FROM changelog WHERE revision < 0`); got != 0 {
				t.Errorf("%d changelog rows left under a placeholder", got)
			}
		})
	}
}
