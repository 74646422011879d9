package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/cputime"
)

// cmdInproc is BenchmarkCheckServeHTTP on a `loadgen load` data directory:
// the server of `loadgen serve` (the same packages and defaults as
// gatehouse serve) loaded from -data, and the check mix's questions
// passed to its ServeHTTP in this goroutine, without sockets. "cold"
// cycles through the whole mix (4,096 questions over 1,000 orgs, as
// `loadgen run` asks them); "hot" asks the same questions in the same
// proportions but each hotRepeat times in a row, so that what it reads
// is in the caches, as in the handler benchmark. The difference between the two is what
// orgs1m's size costs a request (cache and TLB misses), apart from
// net/http, the scheduler and the generator. CPU is the process's (the
// server's background goroutines included), per request.
func cmdInproc(args []string) error {
	fs := flag.NewFlagSet("inproc", flag.ContinueOnError)
	data := fs.String("data", "", "data directory written by `loadgen load`")
	n := fs.Int("n", 200000, "requests a measurement")
	rounds := fs.Int("rounds", 3, "rounds of cold then hot")
	cpuprofile := fs.String("cpuprofile", "", "write each measurement's CPU profile to PREFIX-cold-ROUND.pprof or PREFIX-hot-ROUND.pprof")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *data == "" {
		return errors.New("inproc: -data is required")
	}
	ctx := context.Background()
	srv, closeTwin, err := openTwin(ctx, *data, "loadgen-inproc")
	if err != nil {
		return err
	}
	defer closeTwin()
	tok, err := os.ReadFile(filepath.Join(*data, "loadgen.token"))
	if err != nil {
		return err
	}
	authz := "Bearer " + strings.TrimSpace(string(tok))
	var mix []Mix
	if err := readJSONFile(filepath.Join(*data, "checks.json"), &mix); err != nil {
		return err
	}
	type question struct {
		req  *http.Request
		body []byte
		want string
	}
	qs := make([]question, len(mix))
	for i, m := range mix {
		body, _ := json.Marshal(map[string]string{"principal": m.Principal, "action": m.Action, "resource": m.Resource, "namespace": m.Namespace})
		r, err := http.NewRequest(http.MethodPost, "http://127.0.0.1/v1/orgs/"+m.Org+"/check", nil)
		if err != nil {
			return err
		}
		r.Header.Set("Authorization", authz)
		r.Header.Set("Content-Type", "application/json")
		r.RemoteAddr = "127.0.0.1:40000"
		qs[i] = question{req: r, body: body, want: fmt.Sprintf(`"allowed":%t`, m.Want)}
	}
	w := &sinkWriter{h: http.Header{}}
	var br bytes.Reader
	ask := func(q *question) error {
		clear(w.h)
		w.status, w.body = 0, w.body[:0]
		br.Reset(q.body)
		q.req.Body = io.NopCloser(&br)
		q.req.ContentLength = int64(len(q.body))
		srv.ServeHTTP(w, q.req)
		if w.status != http.StatusOK || !bytes.Contains(w.body, []byte(q.want)) {
			return fmt.Errorf("inproc: %s: %d %s, want %s", q.req.URL.Path, w.status, w.body, q.want)
		}
		return nil
	}
	for i := range qs { // verify every answer once, and warm the caches
		if err := ask(&qs[i]); err != nil {
			return err
		}
	}
	measure := func(name string, round int, pick func(i int) *question) error {
		if *cpuprofile != "" {
			f, err := os.Create(fmt.Sprintf("%s-%s-%d.pprof", *cpuprofile, name, round))
			if err != nil {
				return err
			}
			defer f.Close()
			if err := pprof.StartCPUProfile(f); err != nil {
				return err
			}
			defer pprof.StopCPUProfile()
		}
		c0, t0 := cputime.Process(), time.Now()
		for i := 0; i < *n; i++ {
			if err := ask(pick(i)); err != nil {
				return err
			}
		}
		c1, t1 := cputime.Process(), time.Now()
		fmt.Printf("inproc %s: %d requests, %.3f µs CPU a request, %.3f µs wall | load average %s\n", name, *n,
			float64(c1-c0)/1e3/float64(*n), float64(t1.Sub(t0))/1e3/float64(*n), loadAverage())
		return nil
	}
	for r := 0; r < *rounds; r++ {
		if err := measure("cold", r, func(i int) *question { return &qs[i%len(qs)] }); err != nil {
			return err
		}
		if err := measure("hot", r, func(i int) *question { return &qs[(i/hotRepeat)%len(qs)] }); err != nil {
			return err
		}
	}
	return nil
}

// hotRepeat is how many times in a row "hot" asks each question.
const hotRepeat = 64

// sinkWriter keeps an answer's status and body, reused across requests.
type sinkWriter struct {
	h      http.Header
	status int
	body   []byte
}

func (w *sinkWriter) Header() http.Header { return w.h }
func (w *sinkWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
}
func (w *sinkWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	w.body = append(w.body, b...)
	return len(b), nil
}

// loadAverage is /proc/loadavg's first three fields ("?" where unreadable).
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); err == nil && len(f) >= 3 {
		return strings.Join(f[:3], " ")
	}
	return "?"
}
