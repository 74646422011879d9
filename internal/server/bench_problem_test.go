package server_test

import (
	"bytes"
	"net/http"
	"testing"
)

// BenchmarkProblemServeHTTP is one refused request through the server's
// handler in-process: the owner asks for an API key that does not exist
// (404, a problem document), by its id and by a pasted credential (whose
// path segment is redacted from the detail and the log).
//
//	go test ./internal/server -run '^$' -bench ProblemServeHTTP -benchmem
func BenchmarkProblemServeHTTP(b *testing.B) {
	for _, bc := range []struct{ name, key string }{
		{"id", "0123456789abcdef"},
		{"pasted", "gth_0123456789abcdef_" + string(bytes.Repeat([]byte("a"), 52))},
	} {
		b.Run(bc.name, func(b *testing.B) {
			e := newEnv(b, "sqlite", envOpts{})
			w := buildWorldTB(b, e, "")
			req, err := http.NewRequest("GET", "/v1/orgs/acme/apikeys/"+bc.key, nil)
			if err != nil {
				b.Fatal(err)
			}
			req.RemoteAddr = "127.0.0.1:40000"
			req.Header.Set("Authorization", "Bearer "+w.owner)
			rw := &nullWriter{h: http.Header{}}
			serve := func() { rw.serve(e.srv, req) }
			serve()
			if rw.status != 404 {
				b.Fatalf("%d %s", rw.status, rw.body)
			}
			benchServe(b, serve)
		})
	}
}
