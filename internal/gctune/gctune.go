// Package gctune gives the garbage collector a minimum heap headroom.
//
// With GOGC=100 the collector runs each time the heap grows by its live
// size. A server whose live heap is small — the MCP gateway, a
// deployment with few bindings — but which allocates a lot per request
// (the MCP SDK decodes every message into a fresh 32 KiB buffer) then
// collects dozens of times a second, and the collector takes a quarter of
// its CPU (docs/benchmarks.md, "MCP gateway"). Go has no minimum-heap
// setting, so Tuner sets GOGC after every collection to
//
//	max(100, headroom / live heap × 100)
//
// so that the next collection starts when the heap has grown by at least
// headroom bytes, and by the live heap when that is larger (GOGC=100 as
// before). Memory use is bounded: at most headroom bytes more than the
// default policy. Invariants: it never lowers GOGC below 100, never
// disables the collector, and does nothing when the operator set GOGC
// (the environment wins); GOMEMLIMIT, if set, still bounds the heap.
package gctune

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"sync/atomic"
)

// maxPercent bounds the GOGC the tuner sets: with a tiny live heap the
// ratio would be huge, and headroom already bounds the heap.
const maxPercent = 10000

// Tuner keeps the collector's headroom at least its Headroom bytes.
type Tuner struct {
	headroom uint64
	stopped  atomic.Bool
	mu       sync.Mutex
	percent  int // the GOGC last set
	sample   []metrics.Sample
}

// Start returns a Tuner that adjusts GOGC after every collection, or nil
// when headroom is 0 or the environment sets GOGC (getenv("GOGC") != "").
func Start(headroom uint64, getenv func(string) string) *Tuner {
	if headroom == 0 || getenv("GOGC") != "" {
		return nil
	}
	t := &Tuner{headroom: headroom, percent: 100, sample: []metrics.Sample{{Name: "/gc/heap/live:bytes"}}}
	t.adjust()
	t.arm()
	return t
}

// Stop ends the tuning and restores GOGC=100. A nil Tuner is a no-op.
func (t *Tuner) Stop() {
	if t == nil || t.stopped.Swap(true) {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	debug.SetGCPercent(100)
	t.percent = 100
}

// Percent is the GOGC the tuner last set (100 before any collection).
func (t *Tuner) Percent() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.percent
}

// sentinel is an object whose finalizer runs after the collection that
// found it unreachable: once per cycle, as long as each one arms the next.
// It is larger than the tiny-allocator's 16 bytes so that it is not
// batched with other objects.
type sentinel struct{ _ [32]byte }

func (t *Tuner) arm() {
	runtime.SetFinalizer(&sentinel{}, func(*sentinel) {
		if t.stopped.Load() {
			return
		}
		t.adjust()
		t.arm()
	})
}

// adjust sets GOGC from the live heap the last collection measured.
func (t *Tuner) adjust() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stopped.Load() {
		return
	}
	metrics.Read(t.sample)
	live := uint64(0)
	if t.sample[0].Value.Kind() == metrics.KindUint64 {
		live = t.sample[0].Value.Uint64()
	}
	if live == 0 {
		return // no collection yet: keep the default until one measures the heap
	}
	p := Percent(t.headroom, live)
	// Small changes are not worth a call into the runtime.
	if p != t.percent && (p > t.percent*11/10 || p < t.percent*9/10 || p == 100) {
		debug.SetGCPercent(p)
		t.percent = p
	}
}

// Percent is the GOGC that gives a heap of live bytes at least headroom
// bytes of growth before the next collection: at least 100, at most
// 10,000.
func Percent(headroom, live uint64) int {
	if live == 0 {
		return maxPercent
	}
	p := headroom * 100 / live
	switch {
	case p <= 100:
		return 100
	case p >= maxPercent:
		return maxPercent
	}
	return int(p)
}
