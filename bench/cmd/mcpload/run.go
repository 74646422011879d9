package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Limits that keep a run bounded whatever the flags say.
const (
	maxWindow = time.Minute
	maxRounds = 20
	maxRate   = 20_000
	maxSerial = 1_000_000
)

type config struct {
	direct, directToken   string
	proxy, proxyToken     string // optional: the bare SDK proxy (bench/cmd/mcpproxy)
	gateway, gatewayToken string
	tool                  string
	args                  json.RawMessage
	rate                  float64
	window                time.Duration
	rounds                int
	serial                int
	warmup                int
	conns                 int
	gatewayPID, upPID     int
	proxyPID              int
	cpuProfile            string
}

// errUsage: the flags do not make a run.
var errUsage = errors.New("usage")

func parseFlags(argv []string) (config, error) {
	var c config
	var args string
	fs := flag.NewFlagSet("mcpload", flag.ContinueOnError)
	fs.StringVar(&c.direct, "direct", "", "the upstream MCP endpoint, e.g. http://127.0.0.1:8090/mcp (loopback only)")
	fs.StringVar(&c.directToken, "direct-token", "", "bearer token for the upstream (what the gateway injects)")
	fs.StringVar(&c.proxy, "proxy", "", "optional: the same server through a bare SDK proxy (bench/cmd/mcpproxy), measured as a third side (loopback only)")
	fs.StringVar(&c.proxyToken, "proxy-token", "", "bearer credential for the proxy (mcpproxy needs none)")
	fs.StringVar(&c.gateway, "gateway", "", "the same server through the gateway, e.g. http://127.0.0.1:8080/mcp/demo/prod/sample (loopback only)")
	fs.StringVar(&c.gatewayToken, "gateway-token", "", "bearer credential for the gateway (an API key or agent token)")
	fs.StringVar(&c.tool, "tool", "search", "tool to call (its name upstream, which the gateway serves under the same name)")
	fs.StringVar(&args, "args", `{"query":"invoice"}`, "the call's arguments (a JSON object)")
	fs.Float64Var(&c.rate, "rate", 1000, "open loop: calls per second (0: serial, one call at a time alternating direct and gateway)")
	fs.DurationVar(&c.window, "window", 5*time.Second, "open loop: length of each side's window")
	fs.IntVar(&c.rounds, "rounds", 3, "rounds: each is a window of each side (order alternating round by round)")
	fs.IntVar(&c.serial, "serial", 2000, "serial: calls of each side per round")
	fs.IntVar(&c.warmup, "warmup", 500, "calls of each side before the first round (not measured)")
	fs.IntVar(&c.conns, "conns", 256, "idle keep-alive connections kept per side")
	fs.IntVar(&c.gatewayPID, "gateway-pid", 0, "PID of gatehouse serve: report its CPU time per call")
	fs.IntVar(&c.upPID, "upstream-pid", 0, "PID of the upstream server: report its CPU time per call")
	fs.IntVar(&c.proxyPID, "proxy-pid", 0, "PID of the proxy: report its CPU time per call")
	fs.StringVar(&c.cpuProfile, "cpuprofile", "", "write the generator's own CPU profile to this file")
	if err := fs.Parse(argv); err != nil {
		return c, err
	}
	c.args = json.RawMessage(args)
	switch {
	case c.direct == "" || c.gateway == "":
		return c, fmt.Errorf("%w: -direct and -gateway are required", errUsage)
	case !json.Valid(c.args) || (len(args) > 0 && args[0] != '{'):
		return c, fmt.Errorf("%w: -args is not a JSON object", errUsage)
	case c.rate < 0 || c.rate > maxRate:
		return c, fmt.Errorf("%w: -rate %v is not in [0, %d]", errUsage, c.rate, maxRate)
	case c.rate > 0 && (c.window <= 0 || c.window > maxWindow):
		return c, fmt.Errorf("%w: -window %v is not in (0, %v]", errUsage, c.window, maxWindow)
	case c.rounds < 1 || c.rounds > maxRounds:
		return c, fmt.Errorf("%w: -rounds %d is not in [1, %d]", errUsage, c.rounds, maxRounds)
	case c.rate == 0 && (c.serial < 1 || c.serial > maxSerial):
		return c, fmt.Errorf("%w: -serial %d is not in [1, %d]", errUsage, c.serial, maxSerial)
	case c.warmup < 0 || c.warmup > maxSerial:
		return c, fmt.Errorf("%w: -warmup %d is not in [0, %d]", errUsage, c.warmup, maxSerial)
	case c.conns < 1 || c.conns > 10_000:
		return c, fmt.Errorf("%w: -conns %d is not in [1, 10000]", errUsage, c.conns)
	}
	for _, u := range []string{c.direct, c.gateway, c.proxy} {
		if u == "" {
			continue // -proxy is optional
		}
		if err := loopbackURL(u); err != nil {
			return c, fmt.Errorf("%w: %w", errUsage, err)
		}
	}
	return c, nil
}

// side is one of the paths to the tool: direct, through the bare SDK
// proxy (when -proxy is given), through the gateway.
type side struct {
	name string
	s    *session
	lat  []time.Duration // every measured call, all rounds
	fail atomic.Int64
	cpu  procs        // the servers' CPU during its windows
	n    int          // calls measured
	err  atomic.Value // first error
}

// procs is a CPU time per server process: gateway, upstream, proxy.
type procs [3]time.Duration

func (c config) pids() [3]int { return [3]int{c.gatewayPID, c.upPID, c.proxyPID} }

// cpuNow reads the servers' CPU time so far.
func cpuNow(c config) procs {
	var p procs
	for i, pid := range c.pids() {
		p[i] = procCPU(pid)
	}
	return p
}

func (p procs) sub(o procs) procs {
	for i := range p {
		p[i] -= o[i]
	}
	return p
}

func (p procs) add(o procs) procs {
	for i := range p {
		p[i] += o[i]
	}
	return p
}

func (sd *side) failed(err error) {
	sd.fail.Add(1)
	sd.err.CompareAndSwap(nil, err)
}

// roundOrder is the sides' order in round r: rotated by one each round,
// so that each side follows each other side equally often.
func roundOrder(sides []*side, r int) []*side {
	out := make([]*side, len(sides))
	for i := range sides {
		out[i] = sides[(i+r)%len(sides)]
	}
	return out
}

func run(c config, out io.Writer) error {
	ctx := context.Background()
	if c.cpuProfile != "" {
		f, err := os.Create(c.cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	tmpl, err := newCallTemplate(c.tool, c.args)
	if err != nil {
		return err
	}
	var ids atomic.Int64
	body := func(dst []byte) []byte { return tmpl.body(dst, ids.Add(1)) }
	type target struct{ name, url, token string }
	targets := []target{{"direct", c.direct, c.directToken}}
	if c.proxy != "" {
		targets = append(targets, target{"proxy", c.proxy, c.proxyToken})
	}
	targets = append(targets, target{"gateway", c.gateway, c.gatewayToken})
	var sides []*side
	for _, t := range targets {
		s, err := open(ctx, newHTTPClient(c.conns), t.url, t.token)
		if err != nil {
			return err
		}
		sides = append(sides, &side{name: t.name, s: s})
	}
	direct, gateway := sides[0], sides[len(sides)-1]
	var proxy *side
	if len(sides) == 3 {
		proxy = sides[1]
	}
	for _, sd := range sides { // warm connections, caches, upstream sessions
		var buf bytes.Buffer
		var b []byte
		for range c.warmup {
			b = body(b)
			if err := sd.s.call(ctx, b, &buf); err != nil {
				return fmt.Errorf("warm-up call %s: %w", sd.name, err)
			}
		}
	}
	mode := "serial"
	if c.rate > 0 {
		mode = fmt.Sprintf("open loop %.0f calls/s, %v windows", c.rate, c.window)
	}
	fmt.Fprintf(out, "mcpload: %s, %d rounds, tool %s | load average %s\n", mode, c.rounds, c.tool, loadavg())
	fmt.Fprintf(out, "%-5s %-7s %7s %6s %9s %9s %9s %9s %11s %11s %11s\n", "round", "side", "calls", "fails", "p50 ms", "p99 ms", "p99.9 ms", "max ms", "gw cpu µs", "up cpu µs", "px cpu µs")
	self0 := selfCPU()
	for r := range c.rounds {
		order := roundOrder(sides, r)
		if c.rate == 0 {
			// Serial: one call of each side in turn, so that the machine's
			// moments hit all alike.
			lat := make([][]time.Duration, len(order))
			p0 := cpuNow(c)
			var buf bytes.Buffer
			var b []byte
			f0 := make([]int64, len(order))
			for i, sd := range order {
				f0[i] = sd.fail.Load()
			}
			for range c.serial {
				for i, sd := range order {
					b = body(b)
					t0 := time.Now()
					if err := sd.s.call(ctx, b, &buf); err != nil {
						sd.failed(err)
						continue
					}
					lat[i] = append(lat[i], time.Since(t0))
				}
			}
			// All sides ran in the same minutes: the CPU is shared out by
			// nothing finer, so each process's is reported on the row of
			// the side it serves (gateway, proxy), the upstream's on the
			// direct row, per call of every side (it serves them all).
			p := cpuNow(c).sub(p0)
			for i, sd := range order {
				sd.lat = append(sd.lat, lat[i]...)
				sd.n += c.serial
				var cpu procs
				switch sd {
				case gateway:
					cpu[0] = p[0]
				case proxy:
					cpu[2] = p[2]
				case direct:
					cpu[1] = p[1] / time.Duration(len(order))
				}
				sd.cpu = sd.cpu.add(cpu)
				report(out, r+1, sd.name, lat[i], c.serial, sd.fail.Load()-f0[i], cpu, c)
			}
			continue
		}
		for _, sd := range order {
			p0, f0 := cpuNow(c), sd.fail.Load()
			lat, n := openLoop(ctx, sd, body, c.rate, c.window)
			cpu := cpuNow(c).sub(p0)
			sd.lat = append(sd.lat, lat...)
			sd.n += n
			sd.cpu = sd.cpu.add(cpu)
			report(out, r+1, sd.name, lat, n, sd.fail.Load()-f0, cpu, c)
		}
	}
	total := 0
	for _, sd := range sides {
		report(out, 0, sd.name, sd.lat, sd.n, sd.fail.Load(), sd.cpu, c)
		total += sd.n
	}
	added := func(what string, a, b *side) {
		fmt.Fprintf(out, "added by %s: p50 %+.3f ms, p99 %+.3f ms, p99.9 %+.3f ms\n", what,
			ms(q(b.lat, .50)-q(a.lat, .50)), ms(q(b.lat, .99)-q(a.lat, .99)), ms(q(b.lat, .999)-q(a.lat, .999)))
	}
	if proxy != nil {
		added("the bare SDK proxy (proxy - direct)", direct, proxy)
		added("gatehouse over the SDK proxy (gateway - proxy)", proxy, gateway)
	}
	added("the gateway", direct, gateway)
	fmt.Fprintf(out, "generator CPU %.1f µs/call | load average %s\n",
		float64((selfCPU()-self0).Microseconds())/float64(max(1, total)), loadavg())
	var errs []error
	for _, sd := range sides {
		if n := sd.fail.Load(); n > 0 {
			e, _ := sd.err.Load().(error)
			errs = append(errs, fmt.Errorf("%s: %d failed calls, the first: %w", sd.name, n, e))
		}
	}
	return errors.Join(errs...)
}

// openLoop sends the call at rate for d, each at its due time whatever the
// others do, and returns the latencies of the calls that succeeded,
// measured from their due times, and the number sent.
func openLoop(ctx context.Context, sd *side, body func([]byte) []byte, rate float64, d time.Duration) ([]time.Duration, int) {
	n := int(d.Seconds() * rate)
	interval := time.Duration(float64(time.Second) / rate)
	lat := make([]time.Duration, n)
	ok := make([]bool, n)
	var wg sync.WaitGroup
	bufs := sync.Pool{New: func() any { return new(bytes.Buffer) }}
	bodies := make([][]byte, n)
	for i := range bodies {
		bodies[i] = body(nil) // made before the clock starts
	}
	start := time.Now().Add(10 * time.Millisecond)
	for i := range n {
		due := start.Add(time.Duration(i) * interval)
		if w := time.Until(due); w > 0 {
			time.Sleep(w)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			buf := bufs.Get().(*bytes.Buffer)
			defer bufs.Put(buf)
			if err := sd.s.call(cctx, bodies[i], buf); err != nil {
				sd.failed(err)
				return
			}
			lat[i], ok[i] = time.Since(due), true
		}()
	}
	wg.Wait()
	out := lat[:0]
	for i, l := range lat {
		if ok[i] {
			out = append(out, l)
		}
	}
	return out, n
}

// report prints one row: a round's window of a side (round 0: all of
// them, "all").
func report(out io.Writer, round int, name string, lat []time.Duration, n int, fails int64, cpu procs, c config) {
	r := "all"
	if round > 0 {
		r = fmt.Sprint(round)
	}
	pids := c.pids()
	fmt.Fprintf(out, "%-5s %-7s %7d %6d %9.3f %9.3f %9.3f %9.3f %11s %11s %11s\n", r, name, n, fails,
		ms(q(lat, .50)), ms(q(lat, .99)), ms(q(lat, .999)), ms(q(lat, 1)),
		perCall(cpu[0], n, pids[0]), perCall(cpu[1], n, pids[1]), perCall(cpu[2], n, pids[2]))
}

func perCall(cpu time.Duration, n, pid int) string {
	if pid <= 0 || n == 0 {
		return "-"
	}
	return fmt.Sprintf("%.0f", float64(cpu.Microseconds())/float64(n))
}

// q is the q-quantile of ds (nearest rank; 0 for none).
func q(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[min(len(s)-1, int(p*float64(len(s))))]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func loadavg() string {
	b, err := readFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := bytes.Fields(b)
	if len(f) < 3 {
		return "?"
	}
	return string(bytes.Join(f[:3], []byte(" ")))
}

func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func readFile(name string) ([]byte, error) { return os.ReadFile(name) }
