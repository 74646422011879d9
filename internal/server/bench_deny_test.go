package server_test

import (
	"bytes"
	"io"
	"net/http"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/cputime"
)

// BenchmarkCheckServeHTTPDeny is BenchmarkCheckServeHTTP for denies: of
// an action the policy names (the common deny), and of one it does not,
// asked by the owner (who may read the policy, so the answer carries the
// unknown_action warning where the server gives it).
//
//	go test ./internal/server -run '^$' -bench CheckServeHTTPDeny -benchmem
func BenchmarkCheckServeHTTPDeny(b *testing.B) {
	for _, bc := range []struct{ name, action string }{{"named", "chains:delete"}, {"unknown", "chains:rnu"}} {
		b.Run(bc.name, func(b *testing.B) {
			e := newEnv(b, "sqlite", envOpts{})
			w := buildWorldTB(b, e, "")
			body := []byte(`{"principal":"user:member","action":"` + bc.action + `","resource":"chains/triage","namespace":"prod"}`)
			rd := bytes.NewReader(body)
			req, err := http.NewRequest("POST", "/v1/orgs/acme/check", io.NopCloser(rd))
			if err != nil {
				b.Fatal(err)
			}
			req.RemoteAddr = "127.0.0.1:40000"
			req.ContentLength = int64(len(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+w.owner)
			rw := &nullWriter{h: http.Header{}}
			serve := func() {
				rd.Reset(body)
				clear(rw.h)
				rw.status, rw.body = 0, rw.body[:0]
				e.srv.ServeHTTP(rw, req)
			}
			serve()
			if rw.status != 200 || !bytes.Contains(rw.body, []byte(`"allowed":false`)) {
				b.Fatalf("%d %s", rw.status, rw.body)
			}
			b.ReportAllocs()
			b.ResetTimer()
			defer cputime.PerOp(b)()
			for b.Loop() {
				serve()
			}
		})
	}
}
