package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// The runner sends the labelled mixes the loader wrote to a server on the
// loopback interface and checks every answer against its label. Closed
// loop (-rate 0): each connection sends its next request as soon as the
// previous answer is in — the throughput figure. Open loop (-rate R): the
// k-th request of connection w is due at start + (k·conns + w)/R and its
// latency is measured from that due time, so a server that falls behind
// is charged for the queueing it causes (no coordinated omission) — the
// latency figure.

// Limits that keep a run bounded whatever the flags say.
const (
	maxDuration = 10 * time.Minute
	maxRequests = 50_000_000
)

type runConfig struct {
	data, rawURL, mode string
	mix                string
	conns              int
	rate               float64
	duration, warmup   time.Duration
	maxReq             int64
	jsonOut            bool
	serverPID          int
}

// result summarises one run.
type result struct {
	Mode        string  `json:"mode"`
	Conns       int     `json:"conns"`
	TargetRate  float64 `json:"target_rate,omitempty"` // requests/s (open loop)
	Requests    int64   `json:"requests"`
	Decisions   int64   `json:"decisions"`
	Seconds     float64 `json:"seconds"`
	RequestsPS  float64 `json:"requests_per_s"`
	DecisionsPS float64 `json:"decisions_per_s"`
	Failures    int64   `json:"failures"` // wrong status, wrong answer or I/O error
	P50us       float64 `json:"p50_us"`
	P90us       float64 `json:"p90_us"`
	P99us       float64 `json:"p99_us"`
	P999us      float64 `json:"p999_us"`
	MaxUs       float64 `json:"max_us"`
	FirstError  string  `json:"first_error,omitempty"`
	// CPU accounting (with -server-pid): CPU time per request of the
	// server and of the load generator, the server's average busy cores,
	// and the request rate two otherwise idle cores would sustain at
	// those costs — a derived figure, not a measurement.
	ServerCPUus     float64 `json:"server_cpu_us_per_request,omitempty"`
	ServerCores     float64 `json:"server_cores,omitempty"`
	LoadgenCPUus    float64 `json:"loadgen_cpu_us_per_request,omitempty"`
	TwoCoreCapacity float64 `json:"two_core_capacity_per_s,omitempty"`
	LoadAvg         string  `json:"load_average,omitempty"`
}

// prepared is one prebuilt request with what its answer must say.
type prepared struct {
	raw  []byte
	want []bool // one per decision, in order
}

func cmdRun(args []string) error {
	var c runConfig
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.StringVar(&c.data, "data", "", "data directory written by `loadgen load` (token and mixes)")
	fs.StringVar(&c.rawURL, "url", "http://127.0.0.1:8080", "server base URL (loopback only)")
	fs.StringVar(&c.mode, "mode", "check", "check (POST /check, one decision per request) or batch (POST /checks)")
	fs.StringVar(&c.mix, "mix", "", "check mode: read checks-<mix>.json (from `loadgen mix`) instead of checks.json")
	fs.IntVar(&c.conns, "conns", 16, "concurrent keep-alive connections")
	fs.Float64Var(&c.rate, "rate", 0, "open loop at this many requests/s in total; 0: closed loop, as fast as answers come")
	fs.DurationVar(&c.duration, "duration", 20*time.Second, "measured duration (at most 10m)")
	fs.DurationVar(&c.warmup, "warmup", 3*time.Second, "closed-loop warm-up before measuring (not counted)")
	fs.Int64Var(&c.maxReq, "max-requests", 5_000_000, "stop after this many measured requests")
	fs.BoolVar(&c.jsonOut, "json", false, "print the result as JSON")
	fs.IntVar(&c.serverPID, "server-pid", 0, "also report the CPU time this process (the server) spent during the measured phase")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if c.data == "" {
		return errors.New("run: -data is required")
	}
	if c.conns < 1 || c.conns > 1024 {
		return errors.New("run: -conns must be 1..1024")
	}
	if c.duration <= 0 || c.duration > maxDuration {
		return fmt.Errorf("run: -duration must be in (0, %v]", maxDuration)
	}
	if c.maxReq <= 0 || c.maxReq > maxRequests {
		return fmt.Errorf("run: -max-requests must be 1..%d", maxRequests)
	}
	addr, host, err := loopbackAddr(c.rawURL)
	if err != nil {
		return err
	}
	tok, err := os.ReadFile(filepath.Join(c.data, "loadgen.token"))
	if err != nil {
		return err
	}
	token := strings.TrimSpace(string(tok))
	var reqs []prepared
	switch c.mode {
	case "check":
		var mix []Mix
		file := "checks.json"
		if c.mix != "" {
			file = "checks-" + c.mix + ".json"
		}
		if err := readJSONFile(filepath.Join(c.data, file), &mix); err != nil {
			return err
		}
		for _, m := range mix {
			body, _ := json.Marshal(map[string]string{"principal": m.Principal, "action": m.Action, "resource": m.Resource, "namespace": m.Namespace})
			reqs = append(reqs, prepared{raw: rawPost(host, "/v1/orgs/"+m.Org+"/check", token, body), want: []bool{m.Want}})
		}
	case "batch":
		var bs []Batch
		if err := readJSONFile(filepath.Join(c.data, "batches.json"), &bs); err != nil {
			return err
		}
		for _, b := range bs {
			items := make([]map[string]string, len(b.Checks))
			want := make([]bool, len(b.Checks))
			for i, m := range b.Checks {
				items[i] = map[string]string{"principal": m.Principal, "action": m.Action, "resource": m.Resource, "namespace": m.Namespace}
				want[i] = m.Want
			}
			body, _ := json.Marshal(map[string]any{"checks": items})
			reqs = append(reqs, prepared{raw: rawPost(host, "/v1/orgs/"+b.Org+"/checks", token, body), want: want})
		}
	default:
		return fmt.Errorf("run: -mode %q: want check or batch", c.mode)
	}
	if len(reqs) == 0 {
		return errors.New("run: the mix is empty")
	}

	if c.warmup > 0 {
		if _, err := phase(addr, reqs, c.conns, 0, c.warmup, maxRequests, false); err != nil {
			return fmt.Errorf("warm-up: %w", err)
		}
	}
	srv0, _ := procCPU(c.serverPID)
	self0 := selfCPU()
	res, err := phase(addr, reqs, c.conns, c.rate, c.duration, c.maxReq, true)
	if err != nil {
		return err
	}
	self1 := selfCPU()
	if res.Requests > 0 {
		res.LoadgenCPUus = float64(self1-self0) / 1e3 / float64(res.Requests)
		if srv1, ok := procCPU(c.serverPID); ok && c.serverPID > 0 {
			res.ServerCPUus = float64(srv1-srv0) / 1e3 / float64(res.Requests)
			res.ServerCores = float64(srv1-srv0) / 1e9 / res.Seconds
			// What two cores could serve if they did nothing else.
			res.TwoCoreCapacity = 2e6 / (res.ServerCPUus + res.LoadgenCPUus)
		}
		if la, err := os.ReadFile("/proc/loadavg"); err == nil {
			res.LoadAvg = strings.Join(strings.Fields(string(la))[:3], " ")
		}
	}
	res.Mode, res.Conns, res.TargetRate = c.mode, c.conns, c.rate
	if c.jsonOut {
		b, _ := json.MarshalIndent(res, "", "  ")
		fmt.Println(string(b))
	} else {
		fmt.Printf("mode=%s conns=%d rate=%s: %d requests (%d decisions) in %.2fs = %.0f req/s, %.0f decisions/s; failures %d\n",
			res.Mode, res.Conns, rateText(c.rate), res.Requests, res.Decisions, res.Seconds, res.RequestsPS, res.DecisionsPS, res.Failures)
		fmt.Printf("latency: p50 %.0fµs  p90 %.0fµs  p99 %.0fµs  p99.9 %.0fµs  max %.0fµs\n", res.P50us, res.P90us, res.P99us, res.P999us, res.MaxUs)
		if res.ServerCPUus > 0 {
			fmt.Printf("cpu: server %.1fµs/request (%.2f cores busy), loadgen %.1fµs/request; two idle cores would serve ≈ %.0f req/s; load average %s\n",
				res.ServerCPUus, res.ServerCores, res.LoadgenCPUus, res.TwoCoreCapacity, res.LoadAvg)
		}
		if res.FirstError != "" {
			fmt.Printf("first failure: %s\n", res.FirstError)
		}
	}
	if res.Failures > 0 {
		return fmt.Errorf("run: %d failed requests", res.Failures)
	}
	return nil
}

func rateText(r float64) string {
	if r <= 0 {
		return "closed-loop"
	}
	return strconv.FormatFloat(r, 'f', 0, 64) + "/s"
}

// loopbackAddr accepts only http://127.0.0.1:port (or localhost, or [::1]).
func loopbackAddr(raw string) (addr, host string, err error) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "http" || u.Port() == "" {
		return "", "", fmt.Errorf("run: -url %q: want http://127.0.0.1:<port>", raw)
	}
	h := u.Hostname()
	if h == "localhost" {
		h = "127.0.0.1"
	}
	ip := net.ParseIP(h)
	if ip == nil || !ip.IsLoopback() {
		return "", "", fmt.Errorf("run: -url %q: the load generator only targets the loopback interface", raw)
	}
	return net.JoinHostPort(h, u.Port()), u.Host, nil
}

func rawPost(host, path, token string, body []byte) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "POST %s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", path, host, token, len(body))
	b.Write(body)
	return b.Bytes()
}

// phase runs one closed- or open-loop phase.
func phase(addr string, reqs []prepared, conns int, rate float64, dur time.Duration, budget int64, measure bool) (result, error) {
	var (
		wg        sync.WaitGroup
		left      atomic.Int64
		failures  atomic.Int64
		decisions atomic.Int64
		firstErr  atomic.Pointer[string]
		lat       = make([][]int64, conns)
	)
	left.Store(budget)
	fail := func(msg string) {
		failures.Add(1)
		firstErr.CompareAndSwap(nil, &msg)
	}
	cs := make([]*conn, conns)
	for w := range cs {
		var err error
		if cs[w], err = dial(addr); err != nil {
			for _, c := range cs[:w] {
				c.close()
			}
			return result{}, err
		}
	}
	start := time.Now()
	end := start.Add(dur)
	for w := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := cs[w]
			defer func() { c.close() }()
			if measure {
				lat[w] = make([]int64, 0, 1<<16)
			}
			i := w % len(reqs)
			for k := 0; ; k++ {
				var due time.Time
				if rate > 0 {
					due = start.Add(time.Duration(float64(k*conns+w) / rate * float64(time.Second)))
					if !due.Before(end) {
						return
					}
					if d := time.Until(due); d > 0 {
						time.Sleep(d)
					}
				} else {
					due = time.Now()
					if !due.Before(end) {
						return
					}
				}
				if left.Add(-1) < 0 {
					return
				}
				p := &reqs[i]
				i += conns
				if i >= len(reqs) {
					i %= len(reqs)
				}
				status, body, err := c.do(p.raw, time.Now().Add(30*time.Second))
				done := time.Now()
				if err != nil && !errors.Is(err, errClosing) {
					fail("I/O: " + err.Error())
					c.close()
					if c, err = dial(addr); err != nil {
						fail("redial: " + err.Error())
						return
					}
					cs[w] = c
					continue
				}
				if status != 200 {
					fail(fmt.Sprintf("status %d: %.300s", status, body))
				} else if msg := verify(body, p.want); msg != "" {
					fail(msg)
				} else {
					decisions.Add(int64(len(p.want)))
				}
				if measure {
					lat[w] = append(lat[w], int64(done.Sub(due)))
				}
				if errors.Is(err, errClosing) {
					c.close()
					if c, err = dial(addr); err != nil {
						fail("redial: " + err.Error())
						return
					}
					cs[w] = c
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	var all []int64
	for _, l := range lat {
		all = append(all, l...)
	}
	slices.Sort(all)
	res := result{Requests: int64(len(all)), Decisions: decisions.Load(), Seconds: elapsed.Seconds(), Failures: failures.Load()}
	res.RequestsPS = float64(res.Requests) / res.Seconds
	res.DecisionsPS = float64(res.Decisions) / res.Seconds
	pct := func(q float64) float64 {
		if len(all) == 0 {
			return 0
		}
		i := int(q * float64(len(all)-1))
		return float64(all[i]) / 1e3
	}
	res.P50us, res.P90us, res.P99us, res.P999us = pct(0.5), pct(0.9), pct(0.99), pct(0.999)
	if len(all) > 0 {
		res.MaxUs = float64(all[len(all)-1]) / 1e3
	}
	if p := firstErr.Load(); p != nil {
		res.FirstError = *p
	}
	if !measure && res.Failures > 0 {
		return res, fmt.Errorf("%d failures, first: %s", res.Failures, res.FirstError)
	}
	return res, nil
}

var (
	allowedName = []byte(`"allowed"`)
	errorName   = []byte(`"error"`)
)

// verify checks an answer's decisions, in order, against want: exactly
// len(want) "allowed" members with the wanted values and no item error
// (no `"error":` anywhere in the body).
//
// It looks at the body's colons only: `"allowed":` and `"error":` each end
// in one, a colon is rare in an answer while a quote starts every key and
// string, so one IndexByte pass finds them with few false starts
// (searching each key with bytes.Index, whose first byte is a quote, cost
// a Gatehouse deny with a warning ≈ 350 ns more than the floor's answer:
// BenchmarkConnDo).
func verify(body []byte, want []bool) string {
	n := 0
	mismatch := ""
	for i := 0; ; {
		j := bytes.IndexByte(body[i:], ':')
		if j < 0 {
			break
		}
		k := i + j // the colon
		i = k + 1
		switch key := body[:k]; {
		case bytes.HasSuffix(key, errorName):
			return fmt.Sprintf("an item failed: %.300s", body)
		case bytes.HasSuffix(key, allowedName):
			if mismatch != "" {
				continue // still looking for an item error, which is reported first
			}
			rest := body[i:]
			if n >= len(want) {
				mismatch = fmt.Sprintf("more than %d decisions in the answer", len(want))
				continue
			}
			got := bytes.HasPrefix(rest, []byte("true"))
			if !got && !bytes.HasPrefix(rest, []byte("false")) {
				mismatch = "malformed allowed value"
			} else if got != want[n] {
				mismatch = fmt.Sprintf("decision %d is %v, the reference says %v", n, got, want[n])
			}
			n++
		}
	}
	if mismatch != "" {
		return mismatch
	}
	if n != len(want) {
		return fmt.Sprintf("%d decisions in the answer, want %d", n, len(want))
	}
	return ""
}

func readJSONFile(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// procCPU is the user+system CPU time of process pid, in nanoseconds, from
// /proc/<pid>/stat (clock ticks of 10ms).
func procCPU(pid int) (int64, bool) {
	if pid <= 0 {
		return 0, false
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, false
	}
	// The command name (field 2) may hold spaces; fields after ")" are
	// numbered from 3.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, false
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	const tick = int64(10 * time.Millisecond) // USER_HZ is 100 on Linux
	return (ut + st) * tick, true
}

// selfCPU is this process's user+system CPU time in nanoseconds.
func selfCPU() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
