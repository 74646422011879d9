package directory_test

import (
	"context"
	"fmt"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/internal/audit"
	"github.com/gatehouse-dev/gatehouse/internal/directory"
)

// BenchmarkWriteBatchShares is one bulk write (POST /v1/orgs/{org}/writes)
// of MaxBatch share changes on SQLite, audited and signed as in
// production: the bulk load's commonest fact (issue 19, goal 4). ns/op is
// per batch; the fact metric is per change. The org has 1,000 users and
// 1,000 resources; iteration k shares resource (i+k) mod 1,000 with user
// i, so every share is new (b.N ≤ 999). cpu-ns/fact is the process's
// CPU per change (getrusage), steadier than the wall time on a shared
// machine.
func BenchmarkWriteBatchShares(b *testing.B) {
	ctx, d := bulkBenchDir(b)
	const n = 1000
	setup := []directory.WriteChange{{Op: directory.OpNamespaceCreate, Namespace: "bulk"}}
	for i := range n {
		setup = append(setup, directory.WriteChange{Op: directory.OpResourceCreate,
			Resource: directory.ResourceSpec{Namespace: "bulk", Type: "chains", ID: fmt.Sprintf("c%d", i)}})
		setup = append(setup, directory.WriteChange{Op: directory.OpUserCreate,
			User: directory.UserSpec{ID: fmt.Sprintf("u%d", i), Email: fmt.Sprintf("u%d@example.com", i), Role: "viewer"}})
	}
	for len(setup) > 0 {
		k := min(len(setup), directory.MaxBatch)
		_, _, err := d.Write(ctx, alice, "acme", setup[:k])
		ok(b, "setup", err)
		setup = setup[k:]
	}
	if b.N >= n {
		b.Fatalf("b.N = %d: at most %d batches of new shares", b.N, n-1)
	}
	batches := make([][]directory.WriteChange, b.N)
	for k := range batches {
		for i := range directory.MaxBatch {
			batches[k] = append(batches[k], directory.WriteChange{Op: directory.OpShareCreate, Principal: fmt.Sprintf("user:u%d", i%n), Actions: []string{"run"},
				Ref: authz.ResourceRef{Namespace: "bulk", Type: "chains", ID: fmt.Sprintf("c%d", (i+k+1)%n)}})
		}
	}
	writeBatches(b, d, batches)
}

// bulkBenchDir is a directory on a fresh SQLite file, audited and signed
// as in production, with user alice owning org acme.
func bulkBenchDir(b *testing.B) (context.Context, *directory.Directory) {
	b.Helper()
	ctx := ctxT(b)
	st := openSQLiteAt(b, filepath.Join(b.TempDir(), "bench.db"))
	signer, err := audit.GenerateSigner()
	ok(b, "GenerateSigner", err)
	l, err := audit.New(st, audit.Options{Signer: signer})
	ok(b, "audit.New", err)
	d := openDir(b, st, directory.Options{Audit: l, CatchUpTimeout: guard})
	mustUsers(b, d, "alice")
	ok(b, "create acme", third(d.CreateOrg(ctx, alice, directory.OrgSpec{ID: "acme"})))
	return ctx, d
}

// writeBatches times alice writing batches (one per iteration, each of
// MaxBatch changes) to acme and reports wall and process CPU per fact.
func writeBatches(b *testing.B, d *directory.Directory, batches [][]directory.WriteChange) {
	b.Helper()
	ctx := ctxT(b)
	cpu0 := processCPU(b)
	b.ResetTimer()
	for k := range b.N {
		if _, _, err := d.Write(ctx, alice, "acme", batches[k]); err != nil {
			b.Fatalf("batch %d: %v", k, err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*directory.MaxBatch), "ns/fact")
	b.ReportMetric(float64(processCPU(b)-cpu0)/float64(b.N*directory.MaxBatch), "cpu-ns/fact")
}

// processCPU is the process's user and system CPU time so far, in
// nanoseconds: a batch's CPU, collector and SQLite included, is what the
// bulk load's "server CPU per fact" counts.
func processCPU(b *testing.B) int64 {
	b.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// BenchmarkWriteBatchUsers is one bulk write of MaxBatch user.create
// changes on SQLite, audited and signed as in production: each makes a
// user, its membership and its org role (a binding), as the first 100 of
// the peers' 260 fact batches do (issue 19, goal 4). Every iteration
// creates new users. cpu-ns/fact is the process's CPU per change
// (getrusage).
func BenchmarkWriteBatchUsers(b *testing.B) {
	_, d := bulkBenchDir(b)
	batches := make([][]directory.WriteChange, b.N)
	for k := range batches {
		for i := range directory.MaxBatch {
			id := fmt.Sprintf("u%d-%d", k, i)
			batches[k] = append(batches[k], directory.WriteChange{Op: directory.OpUserCreate,
				User: directory.UserSpec{ID: id, Email: id + "@example.com", Role: "viewer"}})
		}
	}
	writeBatches(b, d, batches)
}
