// Package cputime measures the CPU time a process has used, for
// benchmarks: on a machine shared with other work a benchmark's CPU time
// per operation is steadier than its wall time (docs/benchmarks.md, "CPU
// time per check"). Invariant: it only reads (getrusage); where the
// platform has no such counter it reports 0 and PerOp reports nothing.
package cputime

import "testing"

// PerOp starts measuring; the function it returns reports the process's
// CPU time per b.N operation as the benchmark metric "cpu-ns/op"
// (benchstat prints it as cpu-sec/op). It counts every goroutine of the
// process, background work included.
//
//	defer cputime.PerOp(b)()
func PerOp(b *testing.B) func() {
	c0 := Process()
	return func() {
		if c := Process() - c0; c > 0 && b.N > 0 {
			b.ReportMetric(float64(c.Nanoseconds())/float64(b.N), "cpu-ns/op")
		}
	}
}
