package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"syscall"
	"testing"

	sqlite "modernc.org/sqlite"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/internal/audit"
	"github.com/gatehouse-dev/gatehouse/internal/directory"
)

// BenchmarkBulkWritePages writes b.N batches of 1,000 new shares into one
// org (1,000 users, 1,000 resources), audited and signed as in
// production, and reports the writer's page-cache counters per share:
// pages fetched (SQLite's B-tree descents and walks: hits and misses) and
// pages written at commits. Unlike time on a shared machine these do not
// depend on the load, so they compare schemas (issue 19, branch
// writes10: the audit log and the changelog WITHOUT ROWID).
func BenchmarkBulkWritePages(b *testing.B) {
	ctx := context.Background()
	st, be := openTestStore(b, 4, nil)
	d, alice := openAuditedOrg(b, st, audit.Options{})
	const n = directory.MaxBatch
	if b.N >= n {
		b.Fatalf("b.N = %d: at most %d batches of new shares", b.N, n-1)
	}
	seedBulkOrg(ctx, b, d, alice, n)
	batches := make([][]directory.WriteChange, b.N)
	for k := range batches {
		for i := range n {
			batches[k] = append(batches[k], directory.WriteChange{Op: directory.OpShareCreate, Principal: fmt.Sprintf("user:u%d", i), Actions: []string{"run"},
				Ref: authz.ResourceRef{Namespace: "bulk", Type: "chains", ID: fmt.Sprintf("c%d", (i+1+k)%n)}})
		}
	}
	ops := []sqlite.DBStatusOp{sqlite.DBStatusCacheHit, sqlite.DBStatusCacheMiss, sqlite.DBStatusCacheWrite}
	cacheStatus(ctx, b, be.w, ops) // reset
	cpu0 := processCPU(b)
	b.ResetTimer()
	for k := range b.N {
		if _, _, err := d.Write(ctx, alice, "acme", batches[k]); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	cpu := processCPU(b) - cpu0
	got := cacheStatus(ctx, b, be.w, ops)
	facts := float64(b.N * n)
	b.ReportMetric(float64(cpu)/facts, "cpu-ns/fact")
	b.ReportMetric(float64(got[0]+got[1])/facts, "pages-read/fact")
	b.ReportMetric(float64(got[2])/facts, "pages-written/fact")
}

// BenchmarkSingleWritePages is BenchmarkBulkWritePages with one share a
// write, as the API writes them: each write is a transaction of one
// change and one audit entry (one run of the audit log, migration
// 00019), so it shows what the audit log's trees cost a single write.
func BenchmarkSingleWritePages(b *testing.B) {
	ctx := context.Background()
	st, be := openTestStore(b, 4, nil)
	d, alice := openAuditedOrg(b, st, audit.Options{})
	const n = directory.MaxBatch
	if b.N >= n*(n-1) {
		b.Fatalf("b.N = %d: at most %d new shares", b.N, n*(n-1)-1)
	}
	seedBulkOrg(ctx, b, d, alice, n)
	ops := []sqlite.DBStatusOp{sqlite.DBStatusCacheHit, sqlite.DBStatusCacheMiss, sqlite.DBStatusCacheWrite}
	cacheStatus(ctx, b, be.w, ops) // reset
	cpu0 := processCPU(b)
	b.ResetTimer()
	for k := range b.N {
		c := []directory.WriteChange{{Op: directory.OpShareCreate, Principal: fmt.Sprintf("user:u%d", k%n), Actions: []string{"run"},
			Ref: authz.ResourceRef{Namespace: "bulk", Type: "chains", ID: fmt.Sprintf("c%d", (k%n+1+k/n)%n)}}}
		if _, _, err := d.Write(ctx, alice, "acme", c); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	cpu := processCPU(b) - cpu0
	got := cacheStatus(ctx, b, be.w, ops)
	b.ReportMetric(float64(cpu)/float64(b.N), "cpu-ns/write")
	b.ReportMetric(float64(got[0]+got[1])/float64(b.N), "pages-read/write")
	b.ReportMetric(float64(got[2])/float64(b.N), "pages-written/write")
}

// cacheStatus returns the writer connection's counters ops and resets
// them.
func cacheStatus(ctx context.Context, tb testing.TB, w *sql.DB, ops []sqlite.DBStatusOp) []int {
	tb.Helper()
	c, err := w.Conn(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	defer c.Close()
	out := make([]int, len(ops))
	if err := c.Raw(func(dc any) error {
		for i, op := range ops {
			cur, _, err := dc.(sqlite.DBStatus).Status(op, true)
			if err != nil {
				return err
			}
			out[i] = cur
		}
		return nil
	}); err != nil {
		tb.Fatal(err)
	}
	return out
}

// processCPU is the process's user and system CPU time so far, in ns.
func processCPU(tb testing.TB) int64 {
	tb.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
