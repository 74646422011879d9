package gctune

import (
	"runtime"
	"runtime/debug"
	"testing"
)

func TestPercent(t *testing.T) {
	for _, tc := range []struct {
		headroom, live uint64
		want           int
	}{
		{128 << 20, 16 << 20, 800},
		{128 << 20, 128 << 20, 100},
		{128 << 20, 512 << 20, 100}, // a large heap keeps GOGC=100
		{128 << 20, 1 << 10, 10000}, // bounded
		{128 << 20, 0, 10000},
		{64 << 20, 40 << 20, 160},
	} {
		if got := Percent(tc.headroom, tc.live); got != tc.want {
			t.Errorf("Percent(%d, %d) = %d, want %d", tc.headroom, tc.live, got, tc.want)
		}
	}
}

// TestTunerFollowsCollections: with a small live heap the tuner raises
// GOGC after collections so the headroom is at least what it was given;
// Stop restores 100. An operator's GOGC turns it off.
func TestTunerFollowsCollections(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	if tu := Start(1<<30, func(string) string { return "200" }); tu != nil {
		t.Fatal("the tuner started although GOGC is set")
	}
	if tu := Start(0, func(string) string { return "" }); tu != nil {
		t.Fatal("the tuner started with no headroom")
	}
	tu := Start(1<<30, func(string) string { return "" })
	for i := 0; i < 4 && tu.Percent() <= 100; i++ {
		runtime.GC()
		runtime.GC() // the finalizer of the first cycle runs after it
	}
	p := tu.Percent()
	if p <= 100 {
		t.Fatalf("GOGC after collections with 1 GiB of headroom: %d, want more than 100", p)
	}
	if cur := debug.SetGCPercent(p); cur != p {
		t.Errorf("the runtime's GOGC is %d, the tuner says %d", cur, p)
	}
	tu.Stop()
	if cur := debug.SetGCPercent(100); cur != 100 {
		t.Errorf("GOGC after Stop: %d, want 100", cur)
	}
	runtime.GC()
	runtime.GC()
	if cur := debug.SetGCPercent(100); cur != 100 {
		t.Errorf("a stopped tuner changed GOGC to %d", cur)
	}
}
