package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"testing"

	sqlite "modernc.org/sqlite"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/internal/audit"
	"github.com/gatehouse-dev/gatehouse/internal/directory"
)

// TestBulkWriteKeepsPagesInCache writes full batches of shares, audited
// and signed as in production, and fails if the writer's page cache
// spilled dirty pages into the WAL before a commit: a spilled page that
// the batch writes again is written twice, and SQLite recomputes the
// checksum of every WAL frame after it (issue 19: 15 % of a bulk write's
// CPU at SQLite's defaults).
func TestBulkWriteKeepsPagesInCache(t *testing.T) {
	ctx := context.Background()
	st, b := openTestStore(t, 4, nil)
	d, alice := openAuditedOrg(t, st, audit.Options{})
	const n = directory.MaxBatch
	seedBulkOrg(ctx, t, d, alice, n)

	// Batches of new shares: each touches pages all over the bindings'
	// indexes, the audit log's and the changelog's. At SQLite's default
	// cache_spill the six spill 326 pages (when this test was written);
	// with writerSpillPages none does.
	const batches = 6
	spills(ctx, t, b.w, true)
	for k := range batches {
		var shares []directory.WriteChange
		for i := range n {
			shares = append(shares, directory.WriteChange{Op: directory.OpShareCreate, Principal: fmt.Sprintf("user:u%d", i), Actions: []string{"run"},
				Ref: authz.ResourceRef{Namespace: "bulk", Type: "chains", ID: fmt.Sprintf("c%d", (i+1+k)%n)}})
		}
		if _, _, err := d.Write(ctx, alice, "acme", shares); err != nil {
			t.Fatal(err)
		}
	}
	if got := spills(ctx, t, b.w, false); got != 0 {
		t.Errorf("%d batches of %d shares spilled %d pages from the writer's cache before their commits, want 0", batches, n, got)
	}
}

// spills is the writer connection's count of pages spilled from its cache
// (SQLITE_DBSTATUS_CACHE_SPILL), reset to 0 with reset.
func spills(ctx context.Context, t *testing.T, w *sql.DB, reset bool) int {
	t.Helper()
	c, err := w.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var n int
	if err := c.Raw(func(dc any) error {
		cur, _, err := dc.(sqlite.DBStatus).Status(sqlite.DBStatusCacheSpill, reset)
		n = cur
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return n
}

// seedBulkOrg gives org acme of d a namespace "bulk" holding n chains
// (c0…) and n viewer users (u0…), written by alice in full batches: the
// ground that the bulk-write test and benchmark write new shares on.
func seedBulkOrg(ctx context.Context, tb testing.TB, d *directory.Directory, alice directory.Actor, n int) {
	tb.Helper()
	setup := []directory.WriteChange{{Op: directory.OpNamespaceCreate, Namespace: "bulk"}}
	for i := range n {
		setup = append(setup,
			directory.WriteChange{Op: directory.OpResourceCreate, Resource: directory.ResourceSpec{Namespace: "bulk", Type: "chains", ID: fmt.Sprintf("c%d", i)}},
			directory.WriteChange{Op: directory.OpUserCreate, User: directory.UserSpec{ID: fmt.Sprintf("u%d", i), Email: fmt.Sprintf("u%d@example.com", i), Role: "viewer"}})
	}
	for len(setup) > 0 {
		k := min(len(setup), directory.MaxBatch)
		if _, _, err := d.Write(ctx, alice, "acme", setup[:k]); err != nil {
			tb.Fatal(err)
		}
		setup = setup[k:]
	}
}
