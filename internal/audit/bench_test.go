package audit_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/audit"
	"github.com/gatehouse-dev/gatehouse/internal/store"
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
