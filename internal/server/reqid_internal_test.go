package server

import (
	"math"
	"math/rand/v2"
	"strconv"
	"testing"
)

// TestAppendBase36: appendBase36 writes what strconv.AppendUint(b, n, 36)
// does, after what b holds, at every digit-count boundary and at random.
func TestAppendBase36(t *testing.T) {
	ns := []uint64{0, 1, 35, 36, 37, 1295, 1296, 1297, math.MaxUint32, math.MaxUint64 - 1, math.MaxUint64}
	for p := uint64(36); p < math.MaxUint64/36; p *= 36 {
		ns = append(ns, p-1, p, p+1)
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 10000 {
		ns = append(ns, r.Uint64(), r.Uint64N(1<<32), r.Uint64N(1<<16))
	}
	for _, n := range ns {
		want := string(strconv.AppendUint([]byte("pre-"), n, 36))
		if got := string(appendBase36([]byte("pre-"), n)); got != want {
			t.Fatalf("appendBase36(%d) = %q, want %q", n, got, want)
		}
	}
}
