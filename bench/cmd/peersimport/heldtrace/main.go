// heldtrace reads a runtime/trace of a server built with region.patch and
// prints, for the goroutine inside region "writerheld" (the SQLite
// writer between BEGIN and the end of COMMIT): its time by state
// (running, GC assist, runnable, waiting and why, syscall, with the stack
// at each transition), what else runs meanwhile and while it is runnable
// (by goroutine start function), what runs while no writer holds the
// lock, the goroutines created and the non-goroutine ranges (GC).
package main

import (
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"golang.org/x/exp/trace"
)

type gst struct {
	state  trace.GoState
	reason string
	held   int // depth of writerheld regions
	assist bool
	label  string
	stk    string
}

func frames(s trace.Stack, n int) string {
	var names []string
	for f := range s.Frames() {
		if strings.HasPrefix(f.Func, "runtime.") || strings.HasPrefix(f.Func, "syscall.") || strings.HasPrefix(f.Func, "internal/") {
			continue
		}
		names = append(names, f.Func)
		if len(names) >= n {
			break
		}
	}
	return strings.Join(names, " < ")
}

func top(s trace.Stack) string {
	var names []string
	for f := range s.Frames() {
		names = append(names, f.Func)
	}
	if len(names) == 0 {
		return "?"
	}
	// the starting function (last frame), skipping runtime.goexit
	for i := len(names) - 1; i >= 0; i-- {
		if names[i] != "runtime.goexit" {
			return names[i]
		}
	}
	return names[0]
}

func main() {
	f, err := os.Open(os.Args[1])
	if err != nil {
		panic(err)
	}
	r, err := trace.NewReader(f)
	if err != nil {
		panic(err)
	}
	gs := map[trace.GoID]*gst{}
	get := func(id trace.GoID) *gst {
		g := gs[id]
		if g == nil {
			g = &gst{state: trace.GoUndetermined}
			gs[id] = g
		}
		return g
	}
	var last trace.Time
	started := false
	var tot, heldTot, runnableTot float64
	heldBy := map[string]float64{}              // writer state -> ns
	others := map[string]float64{}              // label -> ns running while held
	othersWhileRunnable := map[string]float64{} // label -> ns running while writer runnable
	gcRunning := 0.0
	offStacks := map[string]float64{}
	notHeld := map[string]float64{}
	notHeldN := map[string]float64{}
	var notHeldTot float64
	creates := map[string]float64{}
	gcs := map[string]int{}
	nregions := 0
	for {
		ev, err := r.ReadEvent()
		if err == io.EOF {
			break
		}
		if err != nil {
			panic(err)
		}
		now := ev.Time()
		if started {
			dt := float64(now - last)
			tot += dt
			// find held writers
			var w *gst
			for _, g := range gs {
				if g.held > 0 {
					w = g
					break
				}
			}
			if w == nil {
				n := 0
				for _, g := range gs {
					if g.state == trace.GoRunning {
						notHeld[g.label] += dt
						n++
					}
				}
				notHeldN[fmt.Sprint(n, " running")] += dt
				notHeldTot += dt
			}
			if w != nil {
				heldTot += dt
				k := w.state.String()
				if w.state == trace.GoWaiting || w.state == trace.GoRunnable {
					k += "[" + w.reason + "]"
				}
				if w.assist && w.state == trace.GoRunning {
					k = "Running(GC assist)"
				}
				heldBy[k] += dt
				if w.stk != "" {
					offStacks[w.stk] += dt
				}
				if w.state == trace.GoRunnable {
					runnableTot += dt
				}
				for _, g := range gs {
					if g == w || g.state != trace.GoRunning {
						continue
					}
					others[g.label] += dt
					if w.state == trace.GoRunnable {
						othersWhileRunnable[g.label] += dt
					}
				}
			}
		}
		started = true
		last = now
		switch ev.Kind() {
		case trace.EventStateTransition:
			st := ev.StateTransition()
			if st.Resource.Kind != trace.ResourceGoroutine {
				break
			}
			id := st.Resource.Goroutine()
			g := get(id)
			from, to := st.Goroutine()
			if from == trace.GoNotExist {
				creates[top(st.Stack)]++
			}
			if g.label == "" || from == trace.GoNotExist || from == trace.GoUndetermined {
				if l := top(st.Stack); l != "?" {
					g.label = l
				}
			}
			if g.held > 0 && to != trace.GoRunning && to != trace.GoNotExist {
				g.stk = to.String() + "[" + st.Reason + "] " + frames(st.Stack, 6)
			}
			if to == trace.GoRunning {
				g.stk = ""
			}
			g.state = to
			g.reason = st.Reason
			if to == trace.GoNotExist {
				delete(gs, id)
			}
		case trace.EventRegionBegin:
			if ev.Region().Type == "writerheld" {
				get(ev.Goroutine()).held++
				nregions++
			}
		case trace.EventRegionEnd:
			if ev.Region().Type == "writerheld" {
				g := get(ev.Goroutine())
				if g.held > 0 {
					g.held--
				}
			}
		case trace.EventRangeBegin, trace.EventRangeActive:
			rg := ev.Range()
			if rg.Scope.Kind == trace.ResourceGoroutine && strings.Contains(rg.Name, "assist") {
				get(rg.Scope.Goroutine()).assist = true
			}
			gcs[rg.Name+"/"+rg.Scope.Kind.String()]++
		case trace.EventRangeEnd:
			rg := ev.Range()
			if rg.Scope.Kind == trace.ResourceGoroutine && strings.Contains(rg.Name, "assist") {
				get(rg.Scope.Goroutine()).assist = false
			}
		}
	}
	_ = gcRunning
	fmt.Printf("trace %.2f s; writer held %.2f s (%.0f %%), %d regions begun\n", tot/1e9, heldTot/1e9, 100*heldTot/tot, nregions)
	pr := func(title string, m map[string]float64, base float64, n int) {
		fmt.Println(title)
		type kv struct {
			k string
			v float64
		}
		var l []kv
		for k, v := range m {
			l = append(l, kv{k, v})
		}
		sort.Slice(l, func(i, j int) bool { return l[i].v > l[j].v })
		for i, x := range l {
			if i >= n {
				break
			}
			fmt.Printf("  %6.1f %%  %8.1f ms  %s\n", 100*x.v/base, x.v/1e6, x.k)
		}
	}
	pr("writer's state while holding (share of held wall):", heldBy, heldTot, 20)
	pr("other goroutines running while the writer holds (share of held wall; 2 Ps → ≤ 200 %):", others, heldTot, 15)
	pr("while no writer holds: goroutines running (share of that time)", notHeld, notHeldTot, 8)
	pr("while no writer holds: how many running", notHeldN, notHeldTot, 4)
	pr("where the holder is off Running (stack at the transition):", offStacks, heldTot, 12)
	pr("goroutines created in the trace (count, as 'ms' column ×1e6):", creates, float64(nregions), 8)
	fmt.Println("ranges begun (not goroutine-scoped):", gcs)
	pr("other goroutines running while the holder is runnable (share of its runnable time):", othersWhileRunnable, runnableTot, 15)
}
