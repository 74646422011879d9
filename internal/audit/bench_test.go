package audit_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/audit"
	"github.com/gatehouse-dev/gatehouse/internal/store"
	"github.com/gatehouse-dev/gatehouse/internal/store/sqlite"
)

// BenchmarkRecord appends entries from concurrent writers, each in its own
// write transaction (SQLite, synchronous=NORMAL), with checkpoints every
// 1000 entries.
func BenchmarkRecord(b *testing.B) {
	s := openStore(b, filepath.Join(b.TempDir(), "bench.db"))
	l := newTestLog(b, s, audit.Options{Signer: testSigner(b)})
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			i++
			if _, err := l.RecordAlone(ctx, fixtureEntry("acme", i)); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkVerify verifies one org's log of GATEHOUSE_BENCH_ENTRIES
// entries (default 1,000,000) read from SQLite, checkpointed every 1000.
// The database is built once per run (it takes a while) in the temp dir.
func BenchmarkVerify(b *testing.B) {
	n := 1_000_000
	if v := os.Getenv("GATEHOUSE_BENCH_ENTRIES"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1 {
			b.Fatalf("GATEHOUSE_BENCH_ENTRIES=%q", v)
		}
	}
	// "macs": written with entry MACs (since migration 00006); an older
	// file would verify as forged with the MAC key.
	path := filepath.Join(os.TempDir(), fmt.Sprintf("gatehouse-verify-bench-macs-%d.db", n))
	if _, err := os.Stat(path); err != nil {
		buildBig(b, path+".tmp", n)
		if err := os.Rename(path+".tmp", path); err != nil {
			b.Fatal(err)
		}
		_ = os.Remove(path + ".tmp-wal")
		_ = os.Remove(path + ".tmp-shm")
	}
	s := openStore(b, path)
	ctx := context.Background()
	// keyless: signatures and the chain (the CLI with a public key);
	// keyed: also every entry's MAC and the recorded head (the server).
	for _, tc := range []struct {
		name string
		opts audit.VerifyOptions
	}{
		{"keyless", audit.VerifyOptions{Keys: []audit.PublicKey{testSigner(b).Public()}}},
		{"keyed", audit.VerifyOptions{Keys: []audit.PublicKey{testSigner(b).Public()}, MACKeys: []audit.MACKey{testSigner(b).MACKey()}}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			cpu0 := cpuTime()
			for i := 0; i < b.N; i++ {
				rep, err := audit.Verify(ctx, s, "acme", tc.opts)
				if err != nil || rep.Entries != uint64(n) {
					b.Fatalf("verify: %+v, %v", rep, err)
				}
			}
			// On a shared machine wall time overstates the cost; CPU time
			// (user + system of the whole process) is reported beside it.
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/entry")
			b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(b.N)/float64(n), "cpu-ns/entry")
		})
	}
}

// cpuTime is the process's user + system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// buildBig writes n fixture entries in transactions of 5000.
func buildBig(b *testing.B, path string, n int) {
	b.Helper()
	s := openStore(b, path)
	l := newTestLog(b, s, audit.Options{Signer: testSigner(b)})
	ctx := context.Background()
	for i := 0; i < n; i += 5000 {
		if _, err := s.Write(ctx, func(tx store.Tx) error {
			for j := i; j < min(i+5000, n); j++ {
				if err := l.Record(ctx, tx, fixtureEntry("acme", j)); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := l.Checkpoint(ctx, "acme", true); err != nil {
		b.Fatal(err)
	}
	s.Close()
}

// BenchmarkDecisionLogPaced records tool-call entries through the
// decision log's group commit as the MCP gateway does, arriving at a
// steady GATEHOUSE_BENCH_RATE per second (default 1,000; entry k is due
// at k/rate and waits for its entry to be durable), on SQLite with
// synchronous=FULL (gatehouse serve's setting) and a MAC-keyed log with
// checkpoints. Sub-benchmarks: without a commit window, and with one.
// It reports the process's CPU per entry (cpu-ns/op: the figure a loaded
// machine distorts least), entries per transaction, and the median and
// 99th and 99.9th percentile and the longest wait from an entry's due
// time until Record returned, and the longest wait of an entry that made
// a checkpoint due (due-max-ms; 0 below 1,001 entries) and of the 50
// entries from it on (near-max-ms).
func BenchmarkDecisionLogPaced(b *testing.B) {
	rate := 1000
	if v, err := strconv.Atoi(os.Getenv("GATEHOUSE_BENCH_RATE")); err == nil && v > 0 {
		rate = v
	}
	for _, w := range []time.Duration{-1, time.Millisecond, 2 * time.Millisecond} {
		name := "window=" + w.String()
		if w < 0 {
			name = "window=none"
		}
		b.Run(name, func(b *testing.B) {
			s, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "paced.db"), sqlite.Options{Synchronous: "FULL"})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			d := audit.NewDecisionLog(s, newTestLog(b, s, audit.Options{Signer: testSigner(b)}), audit.DecisionLogOptions{Window: w})
			defer d.Close()
			ctx := context.Background()
			waits := make([]time.Duration, b.N)
			var wg sync.WaitGroup
			b.ResetTimer()
			cpu0, start := cpuTime(), time.Now()
			for i := range b.N {
				due := start.Add(time.Duration(i) * time.Second / time.Duration(rate))
				time.Sleep(time.Until(due))
				wg.Add(1)
				go func() {
					defer wg.Done()
					if err := d.Record(ctx, callEntry(i)); err != nil {
						b.Error(err)
					}
					waits[i] = time.Since(due)
				}()
			}
			wg.Wait()
			b.StopTimer()
			st := d.Stats()
			// The entries that made a checkpoint due (entry 1001, 2001, …:
			// index 1000, 2000, …; the default CheckpointEvery), and the
			// longest wait among them.
			var dueMax, nearMax time.Duration
			for i := audit.DefaultCheckpointEvery; i < len(waits); i += audit.DefaultCheckpointEvery {
				dueMax = max(dueMax, waits[i])
				for _, w := range waits[i:min(i+50, len(waits))] {
					nearMax = max(nearMax, w) // it and the 49 entries after it
				}
			}
			slices.Sort(waits)
			b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/op")
			b.ReportMetric(float64(st.Entries)/float64(max(st.Transactions, 1)), "entries/tx")
			b.ReportMetric(float64(waits[len(waits)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(waits[len(waits)*99/100].Microseconds())/1000, "p99-ms")
			b.ReportMetric(float64(waits[len(waits)*999/1000].Microseconds())/1000, "p999-ms")
			b.ReportMetric(float64(waits[len(waits)-1].Microseconds())/1000, "max-ms")
			b.ReportMetric(float64(dueMax.Microseconds())/1000, "due-max-ms")
			b.ReportMetric(float64(nearMax.Microseconds())/1000, "near-max-ms")
		})
	}
}

// BenchmarkDecisionLogSerial records tool-call entries through the
// decision log one after the other (one caller: each Record waits for its
// entry to be durable before the next is queued), on SQLite with
// synchronous=FULL and a MAC-keyed log checkpointing every 1,000 entries,
// so that every transaction holds one entry and the one that made a
// checkpoint due can be told apart. It reports the median Record latency
// (p50-ms), the median latency of the entries that made a checkpoint due
// (due-ms: entries 1001, 2001, …), of the entry right after each of them
// (next-ms), and the longest (max-ms). Run it with -benchtime=Nx, N a few
// thousand.
func BenchmarkDecisionLogSerial(b *testing.B) {
	s, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "serial.db"), sqlite.Options{Synchronous: "FULL"})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	d := audit.NewDecisionLog(s, newTestLog(b, s, audit.Options{Signer: testSigner(b)}), audit.DecisionLogOptions{Window: -1})
	defer d.Close()
	ctx := context.Background()
	lat := make([]time.Duration, b.N)
	b.ResetTimer()
	for i := range b.N {
		t0 := time.Now()
		if err := d.Record(ctx, callEntry(i)); err != nil {
			b.Fatal(err)
		}
		lat[i] = time.Since(t0)
	}
	b.StopTimer()
	median := func(ds []time.Duration) float64 {
		if len(ds) == 0 {
			return 0
		}
		ds = slices.Clone(ds)
		slices.Sort(ds)
		return float64(ds[len(ds)/2].Microseconds()) / 1000
	}
	var due, next []time.Duration
	for i := audit.DefaultCheckpointEvery; i < len(lat); i += audit.DefaultCheckpointEvery {
		due = append(due, lat[i])
		if i+1 < len(lat) {
			next = append(next, lat[i+1])
		}
	}
	b.ReportMetric(median(lat), "p50-ms")
	b.ReportMetric(median(due), "due-ms")
	b.ReportMetric(median(next), "next-ms")
	b.ReportMetric(float64(slices.Max(lat).Microseconds())/1000, "max-ms")
}
