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

// auditBenchConfig is one way of recording a binding write.
type auditBenchConfig struct {
	name string
	rec  func(st store.Store) audit.Recorder
}

// auditBenchConfigs are the configurations both benchmarks compare: no
// entry, an entry, an entry through a signing audit.Log (checkpoints every
// 1000 entries).
func auditBenchConfigs(b *testing.B) []auditBenchConfig {
	b.Helper()
	signer, err := audit.GenerateSigner()
	if err != nil {
		b.Fatal(err)
	}
	return []auditBenchConfig{
		{"no-audit", func(store.Store) audit.Recorder { return nopRecorder{} }},
		{"audit", func(store.Store) audit.Recorder { return audit.Append }},
		{"audit+checkpoints", func(st store.Store) audit.Recorder {
			l, err := audit.New(st, audit.Options{Signer: signer})
			if err != nil {
				b.Fatal(err)
			}
			return l
		}},
	}
}

const (
	auditBenchUsers      = 50
	auditBenchNamespaces = 40
)

// openAuditBench opens a directory on a new SQLite file (synchronous=FULL,
// as in production) with org acme, 50 members and 40 namespaces.
func openAuditBench(b *testing.B, c auditBenchConfig) *directory.Directory {
	b.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), c.name+".db"), sqlite.Options{PollInterval: 20 * time.Millisecond})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = st.Close() })
	d := openDir(b, st, directory.Options{Audit: c.rec(st)})
	ids := []string{"alice"}
	for i := 0; i < auditBenchUsers; i++ {
		ids = append(ids, fmt.Sprintf("u%d", i))
	}
	mustUsers(b, d, ids...)
	ok(b, "create acme", third(d.CreateOrg(ctx, alice, directory.OrgSpec{ID: "acme"})))
	for i := 0; i < auditBenchUsers; i++ {
		ok(b, "add member", third(d.AddMember(ctx, alice, "acme", fmt.Sprintf("u%d", i), "viewer")))
	}
	for i := 0; i < auditBenchNamespaces; i++ {
		ok(b, "create namespace", third(d.CreateNamespace(ctx, alice, "acme", fmt.Sprintf("ns%d", i))))
	}
	return d
}

// bindingWritePair creates binding number i (by the owner) and deletes it:
// two binding writes, whose latencies it returns.
func bindingWritePair(ctx context.Context, d *directory.Directory, i int) (create, del time.Duration, err error) {
	start := time.Now()
	bd, _, err := d.CreateBinding(ctx, alice, "acme", directory.BindingSpec{
		Principal: fmt.Sprintf("user:u%d", i%auditBenchUsers), Role: "builder",
		Scope: authz.Scope{Namespace: fmt.Sprintf("ns%d", (i/auditBenchUsers)%auditBenchNamespaces)},
	})
	mid := time.Now()
	if err == nil {
		_, err = d.DeleteBinding(ctx, alice, "acme", bd.ID)
	}
	return mid.Sub(start), time.Since(mid), err
}

// percentile returns the q-th percentile of sorted latencies in µs.
func percentile(sorted []time.Duration, q int) float64 {
	if len(sorted) == 0 {
		return 0
	}
	return float64(sorted[len(sorted)*q/100].Microseconds())
}

// BenchmarkBindingWriteAudit measures a binding write (CreateBinding by an
// owner, 4 concurrent writers, SQLite with synchronous=FULL as in
// production) without an audit entry, with one, and with one through a
// signing audit.Log (checkpoints every 1000 entries); it reports the p50
// and p95 latency of one write. The configurations run one after the
// other, so load that drifts on a shared machine skews their ratio:
// BenchmarkAuditOverhead interleaves them.
func BenchmarkBindingWriteAudit(b *testing.B) {
	for _, c := range auditBenchConfigs(b) {
		b.Run(c.name, func(b *testing.B) {
			ctx := context.Background()
			d := openAuditBench(b, c)
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
					create, del, err := bindingWritePair(ctx, d, i)
					if err != nil {
						b.Error(err)
						return
					}
					mu.Lock()
					lats = append(lats, create, del)
					mu.Unlock()
				}
			})
			b.StopTimer()
			slices.Sort(lats)
			if len(lats) > 0 {
				b.ReportMetric(percentile(lats, 50), "p50-µs")
				b.ReportMetric(percentile(lats, 95), "p95-µs")
			}
		})
	}
}

// BenchmarkAuditOverhead runs the configurations of
// BenchmarkBindingWriteAudit side by side, each on its own database, in
// interleaved blocks: each block is 25 create-and-delete pairs per writer
// in one configuration, and the order of the configurations rotates from
// round to round, so that load drifting on a shared machine hits all of
// them alike. With 4 writers (as BenchmarkBindingWriteAudit) a write's
// latency is mostly its wait for the others; with 1 writer it is the
// write alone. b.N is the number of create-and-delete pairs per
// configuration (rounded up to whole blocks; one more block of each,
// first, warms up). It reports each configuration's p50 and the overhead
// of the two audited ones over no-audit, in percent.
func BenchmarkAuditOverhead(b *testing.B) {
	for _, writers := range []int{4, 1} {
		b.Run(fmt.Sprintf("writers=%d", writers), func(b *testing.B) { benchAuditOverhead(b, writers) })
	}
}

func benchAuditOverhead(b *testing.B, writers int) {
	const perBlock = 25 // pairs per writer per block
	ctx := context.Background()
	configs := auditBenchConfigs(b)
	dirs := make([]*directory.Directory, len(configs))
	lats := make([][]time.Duration, len(configs))
	next := make([]int, len(configs))
	for k, c := range configs {
		dirs[k] = openAuditBench(b, c)
	}
	rounds := 1 + (b.N+writers*perBlock-1)/(writers*perBlock)
	b.ResetTimer()
	for r := 0; r < rounds; r++ {
		for j := range configs {
			k := (j + r) % len(configs)
			var (
				mu sync.Mutex
				wg sync.WaitGroup
			)
			for w := 0; w < writers; w++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for p := 0; p < perBlock; p++ {
						mu.Lock()
						next[k]++
						i := next[k]
						mu.Unlock()
						create, del, err := bindingWritePair(ctx, dirs[k], i)
						if err != nil {
							b.Error(err)
							return
						}
						if r > 0 { // round 0 warms up
							mu.Lock()
							lats[k] = append(lats[k], create, del)
							mu.Unlock()
						}
					}
				}()
			}
			wg.Wait()
		}
	}
	b.StopTimer()
	p50 := make([]float64, len(configs))
	for k, c := range configs {
		slices.Sort(lats[k])
		p50[k] = percentile(lats[k], 50)
		b.ReportMetric(p50[k], c.name+"-p50-µs")
	}
	if p50[0] > 0 {
		for k := 1; k < len(configs); k++ {
			b.ReportMetric(100*(p50[k]/p50[0]-1), configs[k].name+"-%")
		}
	}
}
