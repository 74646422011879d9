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
	"path/filepath"
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
//	loadgen floor -data DIR -addr 127.0.0.1:18081 &
//	loadgen run -data DIR -url http://127.0.0.1:18081 -mode check
func cmdFloor(args []string) error {
	fs := flag.NewFlagSet("floor", flag.ContinueOnError)
	data := fs.String("data", "", "data directory written by `loadgen load`")
	addr := fs.String("addr", "127.0.0.1:18081", "listen address (loopback only)")
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
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	fmt.Printf("loadgen floor: serving %d labelled checks on http://%s\n", len(labels), ln.Addr())
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second, IdleTimeout: 120 * time.Second}
	return srv.Serve(ln)
}
