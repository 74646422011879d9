package server_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-dev/gatehouse/internal/server"
)

// serverPart is the server's part of a request id after the client's
// (handler.go requestID).
var serverPart = regexp.MustCompile(`~[0-9a-f]{8}-[0-9a-z]+`)

// TestCheckFastPathAnswersAsTheMux: POST /v1/orgs/{org}/check answered by
// ServeHTTP's fast path (a plain path) and by the mux (the same org with a
// letter percent-escaped, which the fast path leaves to the mux) carry the
// same status, body, problem type and headers — Cache-Control: no-store,
// the client's X-Request-Id, Content-Type, Content-Length, and
// WWW-Authenticate on a 401 — and both count in the route's metrics.
func TestCheckFastPathAnswersAsTheMux(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "sqlite", envOpts{cfg: func(c *server.Config) { c.MetricsToken = testMetricsToken }})
	w := buildWorld(t, e, "")
	escaped := fmt.Sprintf("%%%02X", w.org[0]) + w.org[1:] // "acme" → "%61cme"
	allowed := `{"action":"chains:run","resource":"chains/triage","namespace":"prod"}`
	denied := `{"action":"chains:delete","resource":"chains/triage","namespace":"prod"}`
	// An answer's revision is the engine's when it was made: a background
	// write between the two requests (this package's tests run in
	// parallel, and a loaded machine stretches the gap) may move it, so the
	// body is compared with the revision's digits blanked, and the
	// Content-Length by whether it is the body's length.
	type answer struct {
		Status                               int
		Body                                 string
		CacheControl, RequestID, ContentType string
		ContentLengthIsBodys                 bool
		Challenge                            string
	}
	send := func(t *testing.T, org, token, body string) answer {
		t.Helper()
		req, err := http.NewRequestWithContext(ctxT(t), "POST", e.URL+"/v1/orgs/"+org+"/check", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Request-Id", "fast-path-test")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		res, err := e.hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		if err != nil {
			t.Fatal(err)
		}
		return answer{
			Status: res.StatusCode, Body: serverPart.ReplaceAllString(revisionDigits.ReplaceAllString(string(b), `"revision":N`), "~S"),
			CacheControl: res.Header.Get("Cache-Control"), RequestID: serverPart.ReplaceAllString(res.Header.Get("X-Request-Id"), "~S"),
			ContentType: res.Header.Get("Content-Type"), ContentLengthIsBodys: res.Header.Get("Content-Length") == strconv.Itoa(len(b)),
			Challenge: res.Header.Get("WWW-Authenticate"),
		}
	}
	tests := []struct {
		name, token, body string
		org               func(plain bool) string
		wantStatus        int
	}{
		{"allowed", w.mkey, allowed, func(plain bool) string { return pick(plain, w.org, escaped) }, 200},
		{"denied", w.mkey, denied, func(plain bool) string { return pick(plain, w.org, escaped) }, 200},
		{"no credential", "", allowed, func(plain bool) string { return pick(plain, w.org, escaped) }, 401},
		{"a bad credential", "gth_nope", allowed, func(plain bool) string { return pick(plain, w.org, escaped) }, 401},
		{"an org the caller is not in", w.mkey, allowed, func(plain bool) string { return pick(plain, "nowhere", "%6Eowhere") }, 404},
		{"a malformed body", w.mkey, `{"action":`, func(plain bool) string { return pick(plain, w.org, escaped) }, 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fast := send(t, tt.org(true), tt.token, tt.body)
			viaMux := send(t, tt.org(false), tt.token, tt.body)
			if fast.Status != tt.wantStatus {
				t.Fatalf("fast path: status %d, want %d; body %s", fast.Status, tt.wantStatus, fast.Body)
			}
			if fast.CacheControl != "no-store" || fast.RequestID != "fast-path-test~S" || !fast.ContentLengthIsBodys {
				t.Errorf("fast path headers: %+v", fast)
			}
			if tt.wantStatus == 401 && fast.Challenge == "" {
				t.Errorf("fast path 401 without WWW-Authenticate: %+v", fast)
			}
			if diff := cmp.Diff(viaMux, fast); diff != "" {
				t.Errorf("the fast path answers unlike the mux (-mux +fast):\n%s", diff)
			}
		})
	}
	m := string(e.must(200, "GET", "/metrics", testMetricsToken, nil, nil).Body)
	for _, want := range []string{
		`gatehouse_http_requests_total{code="200",route="POST /v1/orgs/{org}/check"} 4`,
		`gatehouse_http_requests_total{code="401",route="POST /v1/orgs/{org}/check"} 4`,
		`gatehouse_http_requests_total{code="404",route="POST /v1/orgs/{org}/check"} 2`,
		`gatehouse_http_requests_total{code="400",route="POST /v1/orgs/{org}/check"} 2`,
		`gatehouse_decisions_total{endpoint="check",result="allow"} 2`,
		`gatehouse_decisions_total{endpoint="check",result="deny"} 2`,
	} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

// revisionDigits is an answer's revision field.
var revisionDigits = regexp.MustCompile(`"revision":[0-9]+`)

func pick(plain bool, a, b string) string {
	if plain {
		return a
	}
	return b
}

// TestCheckAnswerBytes: the bytes of a /check answer on the wire — status
// line, every header in its order, and the body — are the same from the
// fast path and from the mux, and are exactly the documented answer: no
// header more or less (Cache-Control, Content-Type, X-Request-Id, Date,
// Content-Length), the body on one line and exactly Content-Length long.
// Date, the revision's digits and so the length are blanked (they move
// between two requests). The table covers every kind of answer the /check
// path writes (an allow, a deny, the unknown_action warning, the problems
// of a bad or missing credential, a malformed body, an unknown field, a
// missing action), so that a change to how the answer is built (its
// storage, its headers) shows as a changed byte here; the table passes
// unchanged on the code before branch checkcpu5's.
func TestCheckAnswerBytes(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "sqlite", envOpts{})
	w := buildWorld(t, e, "")
	escaped := fmt.Sprintf("%%%02X", w.org[0]) + w.org[1:]
	host := strings.TrimPrefix(e.URL, "http://")
	send := func(t *testing.T, org, token, body string) string {
		t.Helper()
		conn, err := net.DialTimeout("tcp", host, 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
		req := "POST /v1/orgs/" + org + "/check HTTP/1.1\r\nHost: " + host + "\r\nAuthorization: Bearer " + token +
			"\r\nContent-Type: application/json\r\nX-Request-Id: answer-bytes\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body
		if _, err := io.WriteString(conn, req); err != nil {
			t.Fatal(err)
		}
		br := bufio.NewReader(conn)
		var head strings.Builder
		n := -1
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				t.Fatalf("reading the answer's head: %v (so far %q)", err, head.String())
			}
			if v, ok := strings.CutPrefix(line, "Content-Length: "); ok {
				if n, err = strconv.Atoi(strings.TrimSpace(v)); err != nil {
					t.Fatalf("Content-Length %q", v)
				}
				line = "Content-Length: L\r\n" // the body's length, which ReadFull holds
			}
			if strings.HasPrefix(line, "Date: ") {
				line = "Date: D\r\n"
			}
			if strings.HasPrefix(line, "X-Request-Id: ") {
				line = serverPart.ReplaceAllString(strings.TrimSuffix(line, "\r\n"), "~S") + "\r\n"
			}
			head.WriteString(line)
			if line == "\r\n" {
				break
			}
		}
		if n < 0 {
			t.Fatalf("no Content-Length in %q", head.String())
		}
		b := make([]byte, n)
		if _, err := io.ReadFull(br, b); err != nil {
			t.Fatal(err)
		}
		if rest := br.Buffered(); rest != 0 {
			t.Fatalf("%d bytes after the body's Content-Length", rest)
		}
		return head.String() + serverPart.ReplaceAllString(revisionDigits.ReplaceAllString(string(b), `"revision":N`), "~S")
	}
	answer := func(body string) string {
		return "HTTP/1.1 200 OK\r\nCache-Control: no-store\r\nContent-Type: application/json\r\nX-Content-Type-Options: nosniff\r\nX-Request-Id: answer-bytes~S\r\n" +
			"Date: D\r\nContent-Length: L\r\n\r\n" + body
	}
	problem := func(status, extra, body string) string {
		return "HTTP/1.1 " + status + "\r\nCache-Control: no-store\r\nContent-Type: application/problem+json\r\n" + extra +
			"X-Content-Type-Options: nosniff\r\nX-Request-Id: answer-bytes~S\r\nDate: D\r\nContent-Length: L\r\n\r\n" + body + "\n"
	}
	const challenge = "Www-Authenticate: Bearer realm=\"gatehouse\"\r\n"
	tests := []struct {
		name, token, body, want string
	}{
		{"allowed", w.mkey, `{"action":"chains:run","resource":"chains/triage","namespace":"prod"}`,
			answer(`{"allowed":true,"revision":N}` + "\n")},
		{"denied", w.mkey, `{"action":"chains:delete","resource":"chains/triage","namespace":"prod"}`,
			answer(`{"allowed":false,"revision":N,"reason":"no_grant"}` + "\n")},
		{"asked about another", w.owner, `{"principal":"user:member","action":"chains:run","resource":"chains/triage","namespace":"prod"}`,
			answer(`{"allowed":true,"revision":N}` + "\n")},
		{"unknown action, no policy:read", w.mkey, `{"action":"chains:frobnicate","resource":"chains/triage","namespace":"prod"}`,
			answer(`{"allowed":false,"revision":N,"reason":"no_grant"}` + "\n")},
		{"unknown action, warned", w.owner, `{"principal":"user:member","action":"chains:frobnicate","resource":"chains/triage","namespace":"prod"}`,
			answer(`{"allowed":false,"revision":N,"reason":"no_grant","warnings":[{"code":"unknown_action","message":"the org's policy names no action frobnicate for chains (no role, agent rule, ask rule or resource declaration; only a wildcard or a share can grant it)"}]}` + "\n")},
		{"a bad credential", "gth_nope", `{"action":"chains:run"}`, problem("401 Unauthorized", challenge,
			`{"type":"https://gatehouse.dev/problems/unauthenticated","title":"Authentication required","status":401,"detail":"missing, invalid or expired credentials","request_id":"answer-bytes~S"}`)},
		{"no credential", "", `{"action":"chains:run"}`, problem("401 Unauthorized", challenge,
			`{"type":"https://gatehouse.dev/problems/unauthenticated","title":"Authentication required","status":401,"detail":"an Authorization: Bearer <API key or session token> header is required","request_id":"answer-bytes~S"}`)},
		{"malformed", w.mkey, `{"action":`, problem("400 Bad Request", "",
			`{"type":"https://gatehouse.dev/problems/invalid-request","title":"Invalid request","status":400,"detail":"the request body is truncated JSON","request_id":"answer-bytes~S"}`)},
		{"unknown field", w.mkey, `{"action":"chains:run","princpal":"user:x"}`, problem("400 Bad Request", "",
			`{"type":"https://gatehouse.dev/problems/invalid-request","title":"Invalid request","status":400,"detail":"unknown field \"princpal\"","request_id":"answer-bytes~S","field":"princpal"}`)},
		{"no action", w.mkey, `{}`, problem("400 Bad Request", "",
			`{"type":"https://gatehouse.dev/problems/invalid-request","title":"Invalid request","status":400,"detail":"action must be <type>:<action> without wildcards, e.g. \"chains:run\" (got \"\")","request_id":"answer-bytes~S","field":"action"}`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fast := send(t, w.org, tt.token, tt.body)
			viaMux := send(t, escaped, tt.token, tt.body)
			if diff := cmp.Diff(tt.want, fast); diff != "" {
				t.Errorf("the fast path's answer (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(viaMux, fast); diff != "" {
				t.Errorf("the fast path answers unlike the mux (-mux +fast):\n%s", diff)
			}
		})
	}
}
