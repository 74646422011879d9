// Command tracewait reads a Go execution trace (e.g. gatehouse's
// /debug/pprof/trace, which bench/cmd/mcpload/run.sh fetches with TRACE=
// SECONDS) and prints where goroutines waited, as distributions: the time
// from runnable to running (CPU queueing) over all goroutines; the
// runtime's ranges (GC mark phases, mark assists, stop-the-world pauses);
// system calls by call site; and blocked waits by reason and call site
// (the innermost frames outside the runtime, sync and the standard
// library's plumbing). It answers "what do the slowest calls wait on?" in
// docs/benchmarks.md, "MCP gateway: the SDK's floor":
//
//	tracewait [-depth 2] [-n 25] [-min 500us] gateway.trace
//
// Invariants: it reads the file only; it decides nothing, it reports.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strings"
	"time"

	"golang.org/x/exp/trace"
)

func main() {
	depth := flag.Int("depth", 2, "frames that name a site")
	n := flag.Int("n", 25, "sites printed per table")
	minP99 := flag.Duration("min", 500*time.Microsecond, "print only sites whose p99 is at least this")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: tracewait [-depth 2] [-n 25] [-min 500us] FILE")
		os.Exit(2)
	}
	f, err := os.Open(flag.Arg(0))
	if err != nil {
		fmt.Fprintln(os.Stderr, "tracewait:", err)
		os.Exit(1)
	}
	defer f.Close()
	rep, err := analyze(f, *depth)
	if err != nil {
		fmt.Fprintln(os.Stderr, "tracewait:", err)
		os.Exit(1)
	}
	rep.print(os.Stdout, *n, *minP99)
}

// dist is a set of durations.
type dist struct{ d []time.Duration }

func (x *dist) add(v time.Duration) { x.d = append(x.d, v) }

// q is the p-quantile (nearest rank; 0 for none).
func (x *dist) q(p float64) time.Duration {
	if len(x.d) == 0 {
		return 0
	}
	slices.Sort(x.d)
	return x.d[min(len(x.d)-1, int(p*float64(len(x.d))))]
}

func (x *dist) sum() (s time.Duration) {
	for _, v := range x.d {
		s += v
	}
	return s
}

// report is what a trace says about waiting.
type report struct {
	span     time.Duration
	runnable dist             // runnable → running, every goroutine
	ranges   map[string]*dist // GC and STW ranges by name
	syscalls map[string]*dist // by site
	waits    map[string]*dist // blocked, by "reason @ site"
}

func (r *report) at(m map[string]*dist, k string) *dist {
	if m[k] == nil {
		m[k] = &dist{}
	}
	return m[k]
}

// plumbing: frames that do not name a site.
var plumbing = []string{"runtime.", "sync.", "internal/", "syscall.", "modernc.org/libc", "modernc.org/sqlite/lib."}

// site names a stack by its innermost depth frames outside plumbing.
func site(st trace.Stack, depth int) string {
	var parts []string
	for f := range st.Frames() {
		skip := false
		for _, p := range plumbing {
			if strings.HasPrefix(f.Func, p) {
				skip = true
				break
			}
		}
		if skip {
			continue
		}
		parts = append(parts, f.Func)
		if len(parts) >= depth {
			break
		}
	}
	if len(parts) == 0 {
		return "?"
	}
	return strings.Join(parts, " < ")
}

// analyze reads a trace and measures every goroutine's time in each state
// it leaves, by the site where it entered it.
func analyze(in io.Reader, depth int) (*report, error) {
	r, err := trace.NewReader(in)
	if err != nil {
		return nil, err
	}
	type gstate struct {
		since time.Duration
		state trace.GoState
		site  string
	}
	rep := &report{ranges: map[string]*dist{}, syscalls: map[string]*dist{}, waits: map[string]*dist{}}
	gs := map[trace.GoID]gstate{}
	open := map[string]time.Duration{}
	var first, last time.Duration
	seen := false
	for {
		ev, err := r.ReadEvent()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		t := time.Duration(ev.Time())
		if !seen {
			first, seen = t, true
		}
		last = t
		switch ev.Kind() {
		case trace.EventStateTransition:
			st := ev.StateTransition()
			if st.Resource.Kind != trace.ResourceGoroutine {
				continue
			}
			id := st.Resource.Goroutine()
			from, to := st.Goroutine()
			if g, ok := gs[id]; ok && g.state == from {
				d := t - g.since
				switch from {
				case trace.GoWaiting:
					rep.at(rep.waits, g.site).add(d)
				case trace.GoRunnable:
					rep.runnable.add(d)
				case trace.GoSyscall:
					rep.at(rep.syscalls, g.site).add(d)
				}
			}
			s := ""
			switch to {
			case trace.GoWaiting:
				s = st.Reason + " @ " + site(ev.Stack(), depth)
			case trace.GoSyscall:
				s = site(ev.Stack(), depth)
			}
			gs[id] = gstate{since: t, state: to, site: s}
		case trace.EventRangeBegin:
			open[ev.Range().Name] = t
		case trace.EventRangeEnd:
			name := ev.Range().Name
			if b, ok := open[name]; ok {
				rep.at(rep.ranges, name).add(t - b)
				delete(open, name)
			}
		}
	}
	rep.span = last - first
	return rep, nil
}

func (r *report) print(w io.Writer, n int, minP99 time.Duration) {
	us := func(d time.Duration) time.Duration { return d.Round(time.Microsecond) }
	fmt.Fprintf(w, "trace span %v\n", r.span.Round(time.Millisecond))
	fmt.Fprintf(w, "\nrunnable → running (CPU queueing), all goroutines: n %d, p50 %v, p99 %v, p99.9 %v, max %v\n",
		len(r.runnable.d), us(r.runnable.q(.5)), us(r.runnable.q(.99)), us(r.runnable.q(.999)), us(r.runnable.q(1)))
	table := func(title string, m map[string]*dist, min time.Duration) {
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Slice(keys, func(i, j int) bool { return m[keys[i]].q(.99) > m[keys[j]].q(.99) })
		fmt.Fprintf(w, "\n%s, by p99\n%8s %10s %10s %10s %10s %11s  %s\n", title, "count", "p50", "p99", "p99.9", "max", "sum", "site")
		for i, k := range keys {
			d := m[k]
			if i >= n || d.q(.99) < min {
				break
			}
			fmt.Fprintf(w, "%8d %10v %10v %10v %10v %11v  %s\n", len(d.d), us(d.q(.5)), us(d.q(.99)), us(d.q(.999)), us(d.q(1)), d.sum().Round(time.Millisecond), k)
		}
	}
	table("runtime ranges (GC, stop-the-world)", r.ranges, 0)
	table("system calls", r.syscalls, minP99)
	table("blocked waits", r.waits, minP99)
}
