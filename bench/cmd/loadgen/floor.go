package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// cmdFloor serves the single-check mix with no decision engine at all: a
// plain net/http server (read and write timeouts set, as gatehouse serve
// has) that looks each request body up in the mix and answers the label.
// Pointed at it, `loadgen run -mode check` measures what HTTP on this
// machine costs with this generator — the ceiling of any Go HTTP server
// here — so that the server's own figures can be read against it. With
// -engine each check is decided by Gatehouse's engine instead
// (floorengine.go): the ceiling of a server that only decides.
//
// Two knobs separate what a Gatehouse answer costs the generator from
// what a slower server costs it: -mimic URL asks that Gatehouse server
// each question of the mix once at start and then answers every request
// with its bytes (the same body, warnings included, and the same header
// set), and -spin D burns D of CPU in each request before answering, so
// the floor's rate can be brought down to Gatehouse's with the floor's
// own bytes (docs/benchmarks.md, branch checkcpu3).
//
//	loadgen floor -data DIR -addr 127.0.0.1:18081 &
//	loadgen run -data DIR -url http://127.0.0.1:18081 -mode check
func cmdFloor(args []string) error {
	fs := flag.NewFlagSet("floor", flag.ContinueOnError)
	data := fs.String("data", "", "data directory written by `loadgen load`")
	addr := fs.String("addr", "127.0.0.1:18081", "listen address (loopback only)")
	mimic := fs.String("mimic", "", "answer with the bytes this Gatehouse server (base URL, loopback) gives each question of the mix, and its header set")
	spin := fs.Duration("spin", 0, "burn this much CPU in each request before answering")
	debugAddr := fs.String("debug-addr", "", "also serve /debug/pprof/ here (loopback), as gatehouse serve --debug-addr does")
	withEngine := fs.Bool("engine", false, "decide each check with Gatehouse's engine loaded from -data's store (floor + engine: no auth, no logging; floorengine.go)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *data == "" {
		return errors.New("floor: -data is required")
	}
	if _, _, err := loopbackAddr("http://" + *addr); err != nil {
		return err
	}
	var mix []Mix
	if err := readJSONFile(filepath.Join(*data, "checks.json"), &mix); err != nil {
		return err
	}
	labels := make(map[string]bool, len(mix))
	for _, m := range mix {
		body, _ := json.Marshal(map[string]string{"principal": m.Principal, "action": m.Action, "resource": m.Resource, "namespace": m.Namespace})
		labels[string(body)] = m.Want
	}
	answers, err := mimicAnswers(*mimic, *data, mix)
	if err != nil {
		return err
	}
	var (
		yes  = []byte(`{"allowed":true,"revision":1}`)
		no   = []byte(`{"allowed":false,"revision":1}`)
		ct   = []string{"application/json"}
		pool = sync.Pool{New: func() any { return new(bytes.Buffer) }}
	)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		buf := pool.Get().(*bytes.Buffer)
		defer pool.Put(buf)
		buf.Reset()
		if _, err := io.Copy(buf, io.LimitReader(r.Body, 1<<16)); err != nil {
			http.Error(w, "read", http.StatusBadRequest)
			return
		}
		allowed, ok := labels[string(buf.Bytes())] // no allocation: the conversion is only a map key
		if !ok {
			http.Error(w, "not in the mix", http.StatusNotFound)
			return
		}
		if *spin > 0 {
			for t0 := time.Now(); time.Since(t0) < *spin; {
			}
		}
		if answers != nil {
			h := w.Header()
			h["Content-Type"], h["Cache-Control"], h["X-Content-Type-Options"], h["X-Request-Id"] = ct, mimicNoStore, mimicNosniff, mimicReqID
			_, _ = w.Write(answers[string(buf.Bytes())])
			return
		}
		w.Header()["Content-Type"] = ct
		if allowed {
			_, _ = w.Write(yes)
		} else {
			_, _ = w.Write(no)
		}
	})
	if *withEngine {
		eh, stop, err := engineHandler(*data)
		if err != nil {
			return err
		}
		defer stop()
		h = eh.ServeHTTP
	}
	if *debugAddr != "" {
		if _, _, err := loopbackAddr("http://" + *debugAddr); err != nil {
			return err
		}
		dln, err := net.Listen("tcp", *debugAddr)
		if err != nil {
			return err
		}
		dm := http.NewServeMux()
		dm.HandleFunc("/debug/pprof/", pprof.Index)
		dm.HandleFunc("/debug/pprof/profile", pprof.Profile)
		go func() { _ = (&http.Server{Handler: dm, ReadHeaderTimeout: 5 * time.Second}).Serve(dln) }()
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	fmt.Printf("loadgen floor: serving %d labelled checks on http://%s\n", len(labels), ln.Addr())
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second, IdleTimeout: 120 * time.Second}
	return srv.Serve(ln)
}

// The header values a mimicking floor sends besides Content-Type: those
// Gatehouse sends on /check (the request id as long as a server's tenth
// million request's).
var (
	mimicNoStore = []string{"no-store"}
	mimicNosniff = []string{"nosniff"}
	mimicReqID   = []string{"8d282117-9999999"}
)

// mimicAnswers asks the Gatehouse server at base each question of the mix
// once, with the data's token, and returns its answers' bodies keyed by
// the request body the floor is sent (nil when base is "").
func mimicAnswers(base, data string, mix []Mix) (map[string][]byte, error) {
	if base == "" {
		return nil, nil
	}
	if _, _, err := loopbackAddr(base); err != nil {
		return nil, err
	}
	tok, err := os.ReadFile(filepath.Join(data, "loadgen.token"))
	if err != nil {
		return nil, err
	}
	out := make(map[string][]byte, len(mix))
	for _, m := range mix {
		body, _ := json.Marshal(map[string]string{"principal": m.Principal, "action": m.Action, "resource": m.Resource, "namespace": m.Namespace})
		req, err := http.NewRequest(http.MethodPost, base+"/v1/orgs/"+m.Org+"/check", bytes.NewReader(body))
		if err != nil {
			return nil, err
		}
		req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(tok)))
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, err
		}
		b, err := io.ReadAll(res.Body)
		res.Body.Close()
		if err != nil {
			return nil, err
		}
		if res.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("mimic: %s: status %d: %.300s", m.Org, res.StatusCode, b)
		}
		out[string(body)] = b
	}
	return out, nil
}
