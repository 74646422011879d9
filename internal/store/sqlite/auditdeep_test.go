package sqlite_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// BenchmarkAuditDeepTimePage lists one page of 50 of an org's audit log
// of 100,000 entries in 20,000 runs (5 entries a run, one second apart,
// four actors in turn), newest first with a time filter and no actor
// (the runs found by the time index), at the log's head ("first") and
// deep ("deep": a cursor 40,000 entries from the head for "since", 70,000
// for "until"). "since": since the log's 10 % mark (nearly all of it);
// "until": up to its 60 % mark (the first page starts 40 % deep).
func BenchmarkAuditDeepTimePage(b *testing.B) {
	const runs, perRun = 20000, 5
	s := benchStore(b, filepath.Join(b.TempDir(), "audit.db"))
	ctx := context.Background()
	const t0 = int64(1_700_000_000_000_000)
	seq := uint64(0)
	for tx := range runs / 500 {
		if _, err := s.Write(ctx, func(w store.Tx) error {
			for r := range 500 {
				run := tx*500 + r
				for range perRun {
					seq++
					h := sha256.Sum256(fmt.Appendf(nil, "%d", seq))
					if err := w.AppendAudit(ctx, store.AuditRecord{Org: "a", Seq: seq, At: t0 + int64(run)*1e6,
						Actor: fmt.Sprintf("user:u%d", run%4), Action: "bindings.create", Target: "bindings/b",
						Result: "success", Body: fmt.Appendf(nil, `{"n":%d}`, seq), Hash: h[:]}); err != nil {
						return err
					}
				}
			}
			return nil
		}); err != nil {
			b.Fatal(err)
		}
	}
	at := func(frac float64) time.Time { return time.UnixMicro(t0 + int64(frac*runs)*1e6) }
	// A cursor depth entries from the log's head: the unfiltered list's
	// (the entries' key; a cursor names only an entry, so the filtered
	// list takes it), so that the old code's deep pages do not make the
	// setup quadratic.
	deep := func(b *testing.B, depth int) string {
		cursor := ""
		for range depth / store.MaxPageSize {
			_, next, err := s.ListAudit(ctx, "a", store.AuditFilter{Newest: true}, store.Page{Size: store.MaxPageSize, Cursor: cursor})
			if err != nil || next == "" {
				b.Fatalf("ListAudit: %v (next %q)", err, next)
			}
			cursor = next
		}
		return cursor
	}
	for _, tc := range []struct {
		name  string
		f     store.AuditFilter
		depth int
	}{
		{"since/first", store.AuditFilter{Since: at(0.1), Newest: true}, 0},
		{"since/deep", store.AuditFilter{Since: at(0.1), Newest: true}, 40000},
		{"until/first", store.AuditFilter{Until: at(0.6), Newest: true}, 0},
		{"until/deep", store.AuditFilter{Until: at(0.6), Newest: true}, 70000},
	} {
		b.Run(tc.name, func(b *testing.B) {
			cursor := deep(b, tc.depth)
			b.ResetTimer()
			for range b.N {
				rs, _, err := s.ListAudit(ctx, "a", tc.f, store.Page{Size: 50, Cursor: cursor})
				if err != nil || len(rs) != 50 {
					b.Fatalf("ListAudit: %d entries, %v", len(rs), err)
				}
			}
		})
	}
}
