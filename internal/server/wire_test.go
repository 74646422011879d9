package server_test

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/server"
)

// rawDo sends one request and returns the response with its body read.
func rawDo(t *testing.T, e *env, method, path, token, body string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctxT(t), method, e.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := e.hc.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	out, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, out
}

// Every JSON answer carries a Content-Length and is not chunked: small
// ones get it from net/http when the handler returns (writeJSON leaves it
// to net/http up to 1 KiB), larger ones from writeJSON.
func TestAnswersCarryContentLength(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "sqlite", envOpts{})
	w := buildWorld(t, e, "")
	check := `{"principal":"user:member","action":"chains:run","resource":"chains/triage","namespace":"prod"}`
	items := strings.TrimSuffix(strings.Repeat(check+",", 300), ",")
	for _, tc := range []struct {
		name, method, path, token, body string
		status, minLen                  int
	}{
		{"check", "POST", "/v1/orgs/acme/check", w.owner, check, 200, 10},
		{"batch over 2 KiB", "POST", "/v1/orgs/acme/checks", w.owner, `{"checks":[` + items + `]}`, 200, 4097},
		{"problem", "POST", "/v1/orgs/acme/check", "", check, 401, 10},
		{"list", "GET", "/v1/orgs/acme/members", w.owner, "", 200, 10},
	} {
		res, body := rawDo(t, e, tc.method, tc.path, tc.token, tc.body)
		if res.StatusCode != tc.status {
			t.Errorf("%s: status %d, want %d: %.200s", tc.name, res.StatusCode, tc.status, body)
			continue
		}
		if len(body) < tc.minLen {
			t.Errorf("%s: %d bytes, want at least %d", tc.name, len(body), tc.minLen)
		}
		if res.ContentLength != int64(len(body)) || len(res.TransferEncoding) != 0 {
			t.Errorf("%s: Content-Length %d, transfer encoding %v for a %d-byte body", tc.name, res.ContentLength, res.TransferEncoding, len(body))
		}
	}
}

// The hand-written decoders read the body themselves: a body of exactly
// the route's limit is read whole, one byte more is 413 — whatever the
// size of the reads underneath.
func TestFastBodyLimitBoundary(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "sqlite", envOpts{})
	w := buildWorld(t, e, "")
	check := `{"principal":"user:member","action":"chains:run","resource":"chains/triage","namespace":"prod"}`
	pad := func(n int) string { return check + strings.Repeat(" ", n-len(check)) }
	for _, tc := range []struct {
		name   string
		body   string
		status int
	}{
		{"at the limit", pad(server.DefaultMaxBody), 200},
		{"one byte over", pad(server.DefaultMaxBody + 1), 413},
		{"far over", pad(3 * server.DefaultMaxBody), 413},
	} {
		res, body := rawDo(t, e, "POST", "/v1/orgs/acme/check", w.owner, tc.body)
		if res.StatusCode != tc.status {
			t.Errorf("%s: status %d, want %d: %.200s", tc.name, res.StatusCode, tc.status, body)
		}
		if tc.status == 200 && !bytes.Contains(body, []byte(`"allowed":true`)) {
			t.Errorf("%s: %s", tc.name, body)
		}
	}
}
