package main

import (
	"bufio"
	"io"
	"net"
	"strconv"
	"testing"
	"time"
)

// Answers as each server writes them on the wire (captured from
// `loadgen floor` and `gatehouse serve` on orgs1m), for what reading and
// verifying one costs the generator.
var (
	floorAllow     = answer("Content-Type: application/json\r\n", `{"allowed":true,"revision":1}`)
	gatehouseAllow = answer("Cache-Control: no-store\r\nContent-Type: application/json\r\nX-Request-Id: 42c682de-1\r\n",
		`{"allowed":true,"revision":1002}`+"\n")
	gatehouseWarnedDeny = answer("Cache-Control: no-store\r\nContent-Type: application/json\r\nX-Request-Id: 42c682de-2\r\n",
		`{"allowed":false,"revision":1002,"reason":"no_grant","warnings":[{"code":"unknown_action","message":"the org's policy names no action approve for chains (no role, agent rule, ask rule or resource declaration; only a wildcard or a share can grant it)"}]}`+"\n")
)

// answer is an HTTP/1.1 200 answer with the given headers (before Date and
// Content-Length, as net/http orders them) and body.
func answer(headers, body string) string {
	return "HTTP/1.1 200 OK\r\n" + headers + "Date: Mon, 07 Dec 2026 03:02:30 GMT\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body
}

// repeating reads the same bytes forever.
type repeating struct {
	b []byte
	i int
}

func (r *repeating) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		c := copy(p[n:], r.b[r.i:])
		n += c
		r.i = (r.i + c) % len(r.b)
	}
	return n, nil
}

// BenchmarkConnDo is the generator's own work for one answer — write the
// prebuilt request into its buffer, parse the status line and headers,
// read the body, verify the decision — with the network taken away, for
// the floor's answer and Gatehouse's two kinds.
//
//	go test ./cmd/loadgen -run '^$' -bench ConnDo -benchmem   (in bench/)
func BenchmarkConnDo(b *testing.B) {
	req := rawPost("127.0.0.1:1", "/v1/orgs/org-0911/check", "tok", []byte(`{"principal":"user:o911-u143","action":"chains:read","resource":"chains/c19","namespace":"prod"}`))
	for _, bc := range []struct {
		name, answer string
		want         bool
	}{{"floor", floorAllow, true}, {"gatehouse-allow", gatehouseAllow, true}, {"gatehouse-warned-deny", gatehouseWarnedDeny, false}} {
		b.Run(bc.name, func(b *testing.B) {
			a, z := net.Pipe()
			defer a.Close()
			defer z.Close()
			c := &conn{c: a, r: bufio.NewReaderSize(&repeating{b: []byte(bc.answer)}, 64<<10), w: bufio.NewWriterSize(io.Discard, 64<<10)}
			want := []bool{bc.want}
			dl := time.Now().Add(time.Hour)
			b.ReportAllocs()
			for b.Loop() {
				status, body, err := c.do(req, dl)
				if err != nil || status != 200 {
					b.Fatal(status, err)
				}
				if msg := verify(body, want); msg != "" {
					b.Fatal(msg)
				}
			}
		})
	}
}
