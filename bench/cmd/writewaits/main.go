// Command writewaits reads a runtime/trace of a Gatehouse server taken
// during a bulk load (bench/cmd/peersimport/load.sh TRACE=FILE) and prints,
// per half second, the bulk writes in flight and the goroutines running,
// and where the bulk writes' goroutines spent their time (the stack at
// each state change, sorted into the write path's steps) by state:
//
//	go run ./cmd/writewaits TRACE
//
// Issue 19 goal 4, branch writes17.
package main

import (
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"golang.org/x/exp/trace"
)

type gstate struct {
	state   trace.GoState
	since   trace.Time
	inWrite bool
	cat     string
}

var cats = []struct{ name, fn string }{
	{"org lock (BeginOrgWrite)", "BeginOrgWrite"},
	{"tail: revision lock + commit (CommitRevision)", "CommitRevision"},
	{"follower held (ownWrite)", "ownWrite"},
	{"CatchUp", "CatchUp"},
	{"settle (WaitFor)", "WaitFor"},
	{"prefetch outside", "prefetchOutside"},
	{"SealRun checkpoint", "SealRun"},
	{"flushQueue", "flushQueue"},
	{"audit (recordChanges)", "recordChanges"},
	{"apply", "op).apply"},
	{"prefetch in tx", "Prefetch"},
	{"store write other", "sqlcore.(*Store).write"},
	{"request decode", "decode"},
	{"directory.Write other", "directory.(*Directory).Write"},
}

func classify(st trace.Stack) (string, bool) {
	var fns []string
	for f := range st.Frames() {
		fns = append(fns, f.Func)
	}
	all := strings.Join(fns, "\n")
	in := strings.Contains(all, "writeRoutes") || strings.Contains(all, "directory.(*Directory).Write")
	if !in {
		return "", false
	}
	for _, c := range cats {
		if strings.Contains(all, c.fn) {
			return c.name, true
		}
	}
	return "handler other", true
}

func main() {
	f, _ := os.Open(os.Args[1])
	r, err := trace.NewReader(f)
	if err != nil {
		panic(err)
	}
	gs := map[trace.GoID]*gstate{}
	wait := map[string]map[string]float64{} // cat -> state -> seconds
	add := func(cat, state string, d float64) {
		if wait[cat] == nil {
			wait[cat] = map[string]float64{}
		}
		wait[cat][state] += d
	}
	var t0, tEnd trace.Time
	inflight := 0
	var hist = map[int]float64{}
	var lastT trace.Time
	// running goroutines count (any) per time, for utilisation of Ps
	running := 0
	runHist := map[int]float64{}
	const bucket = 0.5
	var bIn, bRun []float64
	for {
		ev, err := r.ReadEvent()
		if err == io.EOF {
			break
		}
		if err != nil {
			fmt.Println("(trace cut:", err, ")")
			break
		}
		if t0 == 0 {
			t0 = ev.Time()
			lastT = t0
		}
		now := ev.Time()
		if now > lastT {
			b := int(float64(now-t0) / 1e9 / bucket)
			for len(bIn) <= b {
				bIn = append(bIn, 0)
				bRun = append(bRun, 0)
			}
			bIn[b] += float64(inflight) * float64(now-lastT) / 1e9 / bucket
			bRun[b] += float64(running) * float64(now-lastT) / 1e9 / bucket
			hist[inflight] += float64(now-lastT) / 1e9
			runHist[running] += float64(now-lastT) / 1e9
			lastT = now
		}
		tEnd = now
		if ev.Kind() != trace.EventStateTransition {
			continue
		}
		stt := ev.StateTransition()
		if stt.Resource.Kind != trace.ResourceGoroutine {
			continue
		}
		id := stt.Resource.Goroutine()
		from, to := stt.Goroutine()
		g := gs[id]
		if g == nil {
			g = &gstate{state: from, since: t0}
			gs[id] = g
		}
		// account the interval ending now
		if g.inWrite {
			add(g.cat, g.state.String(), float64(now-g.since)/1e9)
		}
		if from == trace.GoRunning {
			running--
		}
		if to == trace.GoRunning {
			running++
		}
		// the stack at the transition (where it blocks or where it was when preempted)
		st := stt.Stack
		if st == trace.NoStack {
			st = ev.Stack()
		}
		if to == trace.GoWaiting || to == trace.GoRunnable || to == trace.GoSyscall {
			cat, in := classify(st)
			if in != g.inWrite {
				if in {
					inflight++
				} else {
					inflight--
				}
			}
			g.inWrite, g.cat = in, cat
		}
		if to == trace.GoNotExist && g.inWrite {
			inflight--
			g.inWrite = false
		}
		g.state, g.since = to, now
	}
	total := float64(tEnd-t0) / 1e9
	fmt.Printf("trace %.2f s\n", total)
	fmt.Printf("per %.1f s: mean bulk writes in flight / goroutines running:", bucket)
	for i := range bIn {
		if i%10 == 0 {
			fmt.Printf("\n  %4.1f s:", float64(i)*bucket)
		}
		fmt.Printf(" %.1f/%.1f", bIn[i], bRun[i])
	}
	fmt.Println()
	fmt.Println("time by number of goroutines inside a bulk write (handler stack seen at their last transition):")
	var ks []int
	for k := range hist {
		ks = append(ks, k)
	}
	sort.Ints(ks)
	mean := 0.0
	for _, k := range ks {
		fmt.Printf("  %2d: %5.1f %%\n", k, 100*hist[k]/total)
		mean += float64(k) * hist[k] / total
	}
	fmt.Printf("  mean %.2f\n", mean)
	fmt.Println("time by number of goroutines running (of GOMAXPROCS):")
	ks = ks[:0]
	mr := 0.0
	for k := range runHist {
		ks = append(ks, k)
	}
	sort.Ints(ks)
	for _, k := range ks {
		fmt.Printf("  %2d: %5.1f %%\n", k, 100*runHist[k]/total)
		mr += float64(k) * runHist[k] / total
	}
	fmt.Printf("  mean %.2f\n", mr)
	fmt.Println("bulk-write goroutine-seconds by where (stack at the state change) and state:")
	type row struct {
		k string
		m map[string]float64
		s float64
	}
	var rows []row
	for k, m := range wait {
		s := 0.0
		for _, v := range m {
			s += v
		}
		rows = append(rows, row{k, m, s})
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].s > rows[j].s })
	for _, r := range rows {
		fmt.Printf("  %-48s %6.3f s (%.2f in flight):", r.k, r.s, r.s/total)
		var ss []string
		for st, v := range r.m {
			ss = append(ss, fmt.Sprintf(" %s %.3f", st, v))
		}
		sort.Strings(ss)
		fmt.Println(strings.Join(ss, ","))
	}
}
