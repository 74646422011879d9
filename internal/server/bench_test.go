package server_test

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/cputime"
	"github.com/gatehouse-dev/gatehouse/internal/server"
)

// Benchmarks of the decision path over real HTTP on loopback (the client
// shares the machine). Throughput goals are measured with the load tool
// (docs/benchmarks.md); these are for profiling:
//
//	go test ./internal/server -run '^$' -bench Check -cpuprofile cpu.out

func BenchmarkCheckHTTP(b *testing.B) {
	e := newEnv(b, "sqlite", envOpts{})
	w := buildWorldTB(b, e, "")
	body := []byte(`{"principal":"user:member","action":"chains:run","resource":"chains/triage","namespace":"prod"}`)
	url := e.URL + "/v1/orgs/acme/check"
	tr := &http.Transport{MaxIdleConnsPerHost: 256, MaxConnsPerHost: 256}
	hc := &http.Client{Transport: tr}
	defer tr.CloseIdleConnections()
	b.SetParallelism(16)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req, _ := http.NewRequest("POST", url, bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+w.owner)
			res, err := hc.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			out, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != 200 || !bytes.Contains(out, []byte(`"allowed":true`)) {
				b.Fatalf("%d %s", res.StatusCode, out)
			}
		}
	})
}

func BenchmarkChecksBatchHTTP(b *testing.B) {
	e := newEnv(b, "sqlite", envOpts{})
	w := buildWorldTB(b, e, "")
	item := `{"principal":"user:member","action":"chains:run","resource":"chains/triage","namespace":"prod"}`
	items := make([]string, server.MaxBatch)
	for i := range items {
		items[i] = item
	}
	body := []byte(`{"checks":[` + strings.Join(items, ",") + `]}`)
	url := e.URL + "/v1/orgs/acme/checks"
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr}
	b.SetParallelism(2)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req, _ := http.NewRequest("POST", url, bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+w.owner)
			res, err := hc.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode != 200 {
				b.Fatalf("%d", res.StatusCode)
			}
		}
	})
	b.ReportMetric(float64(b.N*server.MaxBatch)/b.Elapsed().Seconds(), "decisions/s")
}

// nullWriter is a ResponseWriter that keeps only the status and a small
// body, reused across iterations: what BenchmarkCheckServeHTTP measures is
// the server's own work per /check, not net/http's or a client's.
type nullWriter struct {
	h      http.Header
	status int
	body   []byte
}

func (w *nullWriter) Header() http.Header { return w.h }
func (w *nullWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
}
func (w *nullWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	w.body = append(w.body, b...)
	return len(b), nil
}

// serve runs req through h into w, emptied first.
func (w *nullWriter) serve(h http.Handler, req *http.Request) {
	clear(w.h)
	w.status, w.body = 0, w.body[:0]
	h.ServeHTTP(w, req)
}

// benchServe times serve (whose first answer the caller has checked),
// reporting allocations and CPU per request.
func benchServe(b *testing.B, serve func()) {
	b.Helper()
	b.ReportAllocs()
	b.ResetTimer()
	defer cputime.PerOp(b)()
	for b.Loop() {
		serve()
	}
}

// BenchmarkCheckServeHTTP is one POST /v1/orgs/{org}/check through the
// server's handler in-process (authentication, the org gate, decoding,
// the asker's right to ask, the decision and its log, metrics, encoding),
// without sockets: its allocs/op and B/op are the server's per request.
//
//	go test ./internal/server -run '^$' -bench CheckServeHTTP -benchmem -cpuprofile cpu.out -memprofile mem.out
func BenchmarkCheckServeHTTP(b *testing.B) {
	benchCheckServe(b, "chains:run", `"allowed":true`)
}

// benchCheckServe is BenchmarkCheckServeHTTP's loop for one action: the
// owner's key asks whether user:member may do it on chains/triage in prod,
// and the first answer must contain want.
func benchCheckServe(b *testing.B, action, want string) {
	b.Helper()
	benchCheckServeWith(b, action, want, "", ownerKey)
}

// ownerKey is the world's owner's own key.
func ownerKey(_ *env, w *world) string { return w.owner }

// BenchmarkCheckServeHTTPUnknownAction is BenchmarkCheckServeHTTP for
// a deny of an action the org's policy does not name: the owner holds
// policy:read, so the answer carries the unknown_action warning
// (directory.DecisionWarnings), as 38 % of loadgen's mix does.
//
//	go test ./internal/server -run '^$' -bench CheckServeHTTPUnknownAction -benchmem
func BenchmarkCheckServeHTTPUnknownAction(b *testing.B) {
	benchCheckServe(b, "chains:frobnicate", `"unknown_action"`)
}

// BenchmarkCheckServeHTTPClientRequestID is BenchmarkCheckServeHTTP with
// the client's own X-Request-Id, which the request's id then starts with
// (requestID: the client's, '~', the server's).
func BenchmarkCheckServeHTTPClientRequestID(b *testing.B) {
	benchCheckServeWith(b, "chains:run", `"allowed":true`, "loadgen-1234", ownerKey)
}

// BenchmarkCheckServeHTTPMintedKey is BenchmarkCheckServeHTTP asked with
// a service's API key that the owner minted (Identity.MintedBy set): the
// key's every use also asks whether its minter still outranks it
// (auth.minterStands, remembered per engine revision).
//
//	go test ./internal/server -run '^$' -bench CheckServeHTTPMintedKey -benchmem
func BenchmarkCheckServeHTTPMintedKey(b *testing.B) {
	benchCheckServeWith(b, "chains:run", `"allowed":true`, "", func(e *env, w *world) string {
		org := "/v1/orgs/" + w.org
		e.must(201, "POST", org+"/services", w.owner, map[string]any{"name": "deploy", "role": "admin"}, nil)
		var kc server.KeyCreated
		e.must(201, "POST", org+"/apikeys", w.owner, map[string]any{"principal": "service:deploy"}, &kc)
		return kc.Token
	})
}

// BenchmarkCheckServeHTTPLifecycleKey is BenchmarkCheckServeHTTPMintedKey
// asked by a service under the org's clock-based lifecycle rules
// (inactive after 30 days, opted in, sponsored by the owner): its right
// to ask about others and its minter's verdict are remembered until the
// instant those rules would suspend it (authz.Engine.NextClockChange),
// where before branch clockflip the gate decided again on every request.
//
//	go test ./internal/server -run '^$' -bench CheckServeHTTPLifecycleKey -benchmem
func BenchmarkCheckServeHTTPLifecycleKey(b *testing.B) {
	benchCheckServeWith(b, "chains:run", `"allowed":true`, "", func(e *env, w *world) string {
		org := "/v1/orgs/" + w.org
		e.must(200, "PUT", org+"/lifecycle", w.owner, map[string]any{"inactive_days": 30}, nil)
		e.must(201, "POST", org+"/services", w.owner, map[string]any{"name": "deploy", "role": "admin",
			"sponsors": []string{"user:" + w.ownerID}, "lifecycle": true}, nil)
		var kc server.KeyCreated
		e.must(201, "POST", org+"/apikeys", w.owner, map[string]any{"principal": "service:deploy"}, &kc)
		return kc.Token
	})
}

// benchCheckServeWith is benchCheckServe with the client's X-Request-Id
// reqID ("" for none), asked with the key token returns.
func benchCheckServeWith(b *testing.B, action, want, reqID string, token func(*env, *world) string) {
	b.Helper()
	e := newEnv(b, "sqlite", envOpts{})
	w := buildWorldTB(b, e, "")
	tok := token(e, w)
	body := []byte(`{"principal":"user:member","action":"` + action + `","resource":"chains/triage","namespace":"prod"}`)
	rd := bytes.NewReader(body)
	req, err := http.NewRequest("POST", "/v1/orgs/acme/check", io.NopCloser(rd))
	if err != nil {
		b.Fatal(err)
	}
	req.RemoteAddr = "127.0.0.1:40000"
	req.ContentLength = int64(len(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+tok)
	if reqID != "" {
		req.Header.Set("X-Request-Id", reqID)
	}
	rw := &nullWriter{h: http.Header{}}
	serve := func() {
		rd.Reset(body)
		rw.serve(e.srv, req)
	}
	serve()
	if rw.status != 200 || !bytes.Contains(rw.body, []byte(want)) {
		b.Fatalf("%d %s", rw.status, rw.body)
	}
	benchServe(b, serve)
}

// BenchmarkCheckServeHTTPParallel is BenchmarkCheckServeHTTP from every
// P at once (-cpu 2 on this machine): what the per-request shared state
// (metrics, caches' locks, request ids, the key's last use) costs when the
// cores contend for it, as they do under load.
func BenchmarkCheckServeHTTPParallel(b *testing.B) {
	e := newEnv(b, "sqlite", envOpts{})
	w := buildWorldTB(b, e, "")
	body := []byte(`{"principal":"user:member","action":"chains:run","resource":"chains/triage","namespace":"prod"}`)
	b.ReportAllocs()
	b.ResetTimer()
	defer cputime.PerOp(b)()
	b.RunParallel(func(pb *testing.PB) {
		rd := bytes.NewReader(body)
		req, err := http.NewRequest("POST", "/v1/orgs/acme/check", io.NopCloser(rd))
		if err != nil {
			b.Error(err)
			return
		}
		req.RemoteAddr = "127.0.0.1:40000"
		req.ContentLength = int64(len(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+w.owner)
		rw := &nullWriter{h: http.Header{}}
		for pb.Next() {
			rd.Reset(body)
			rw.serve(e.srv, req)
			if rw.status != 200 {
				b.Errorf("%d %s", rw.status, rw.body)
				return
			}
		}
	})
}

// BenchmarkCheckHTTPConn is one POST /v1/orgs/{org}/check after another
// on one keep-alive loopback connection, from a client that writes the
// request's bytes and reads the answer's without net/http's client: its
// allocs/op and B/op are the server's per request with net/http's
// connection loop around the handler (BenchmarkCheckServeHTTP has only
// the handler), and cpu-ns/op is the process's (server and this small
// client).
//
//	go test ./internal/server -run '^$' -bench CheckHTTPConn -benchmem -count 6
func BenchmarkCheckHTTPConn(b *testing.B) {
	e := newEnv(b, "sqlite", envOpts{})
	w := buildWorldTB(b, e, "")
	body := `{"principal":"user:member","action":"chains:run","resource":"chains/triage","namespace":"prod"}`
	host := strings.TrimPrefix(e.URL, "http://")
	req := []byte("POST /v1/orgs/acme/check HTTP/1.1\r\nHost: " + host + "\r\nContent-Type: application/json\r\nAuthorization: Bearer " + w.owner +
		"\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body)
	conn, err := net.Dial("tcp", host)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	br := bufio.NewReader(conn)
	var out []byte
	ask := func() {
		if _, err := conn.Write(req); err != nil {
			b.Fatal(err)
		}
		n := -1
		status, err := br.ReadSlice('\n')
		if err != nil || !bytes.HasPrefix(status, []byte("HTTP/1.1 200 ")) {
			b.Fatalf("status line %q: %v", status, err)
		}
		for {
			line, err := br.ReadSlice('\n')
			if err != nil {
				b.Fatal(err)
			}
			if len(line) == 2 {
				break
			}
			if v, ok := bytes.CutPrefix(line, []byte("Content-Length: ")); ok {
				n, _ = strconv.Atoi(string(bytes.TrimSpace(v)))
			}
		}
		if n < 0 {
			b.Fatal("no Content-Length")
		}
		out = slices.Grow(out[:0], n)[:n]
		if _, err := io.ReadFull(br, out); err != nil {
			b.Fatal(err)
		}
	}
	ask()
	if !bytes.Contains(out, []byte(`"allowed":true`)) {
		b.Fatalf("answer %s", out)
	}
	b.ReportAllocs()
	b.ResetTimer()
	defer cputime.PerOp(b)()
	for b.Loop() {
		ask()
	}
}
