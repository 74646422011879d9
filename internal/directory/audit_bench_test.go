package directory_test

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/internal/audit"
	"github.com/gatehouse-dev/gatehouse/internal/directory"
	"github.com/gatehouse-dev/gatehouse/internal/store"
	"github.com/gatehouse-dev/gatehouse/internal/store/sqlite"
)

// nopRecorder records nothing: the baseline of what auditing costs.
type nopRecorder struct{}

func (nopRecorder) Record(context.Context, store.Tx, audit.Entry) error { return nil }

// BenchmarkBindingWriteAudit measures a binding write (CreateBinding by an
// owner, 4 concurrent writers, SQLite with synchronous=FULL as in
// production) without an audit entry, with one, and with one through a
// signing audit.Log (checkpoints every 1000 entries); it reports the p50
// and p95 latency of one write.
func BenchmarkBindingWriteAudit(b *testing.B) {
	signer, err := audit.GenerateSigner()
	if err != nil {
		b.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		rec  func(st store.Store) audit.Recorder
	}{
		{"no-audit", func(store.Store) audit.Recorder { return nopRecorder{} }},
		{"audit", func(store.Store) audit.Recorder { return audit.Append }},
		{"audit+checkpoints", func(st store.Store) audit.Recorder {
			l, err := audit.New(st, audit.Options{Signer: signer})
			if err != nil {
				b.Fatal(err)
			}
			return l
		}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			ctx := context.Background()
			st, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "bench.db"), sqlite.Options{PollInterval: 20 * time.Millisecond})
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			d := openDir(b, st, directory.Options{Audit: tc.rec(st)})
			const users = 50
			ids := []string{"alice"}
			for i := 0; i < users; i++ {
				ids = append(ids, fmt.Sprintf("u%d", i))
			}
			mustUsers(b, d, ids...)
			ok(b, "create acme", third(d.CreateOrg(ctx, alice, directory.OrgSpec{ID: "acme"})))
			for i := 0; i < users; i++ {
				ok(b, "add member", third(d.AddMember(ctx, alice, "acme", fmt.Sprintf("u%d", i), "viewer")))
			}
			const namespaces = 40
			for i := 0; i < namespaces; i++ {
				ok(b, "create namespace", third(d.CreateNamespace(ctx, alice, "acme", fmt.Sprintf("ns%d", i))))
			}
			var (
				mu   sync.Mutex
				lats = make([]time.Duration, 0, 2*b.N)
				next int
			)
			b.SetParallelism(2) // 2 × GOMAXPROCS writers
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					mu.Lock()
					next++
					i := next
					mu.Unlock()
					// Create a binding, then delete it: two binding writes.
					start := time.Now()
					bd, _, err := d.CreateBinding(ctx, alice, "acme", directory.BindingSpec{
						Principal: fmt.Sprintf("user:u%d", i%users), Role: "builder",
						Scope: authz.Scope{Namespace: fmt.Sprintf("ns%d", (i/users)%namespaces)},
					})
					mid := time.Now()
					if err == nil {
						_, err = d.DeleteBinding(ctx, alice, "acme", bd.ID)
					}
					end := time.Now()
					if err != nil {
						b.Error(err)
						return
					}
					mu.Lock()
					lats = append(lats, mid.Sub(start), end.Sub(mid))
					mu.Unlock()
				}
			})
			b.StopTimer()
			slices.Sort(lats)
			if len(lats) > 0 {
				b.ReportMetric(float64(lats[len(lats)/2].Microseconds()), "p50-µs")
				b.ReportMetric(float64(lats[len(lats)*95/100].Microseconds()), "p95-µs")
			}
		})
	}
}
