package server_test

import (
	"net/http"
	"net/netip"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/server"
)

// TestConsoleMount: a configured console gets /console/ and its subtree,
// with RemoteAddr set to the client address the API would use (a trusted
// proxy's X-Forwarded-For applied); /console redirects there; the API's
// routes are untouched; without a console, /console/ is the API's 404.
func TestConsoleMount(t *testing.T) {
	var seen []string
	console := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = append(seen, r.URL.Path+" from "+r.RemoteAddr)
		_, _ = w.Write([]byte("console"))
	})
	e := newEnv(t, "sqlite", envOpts{cfg: func(c *server.Config) {
		c.Console = console
		c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
	}})
	req, _ := http.NewRequest("GET", e.URL+"/console/orgs/acme/", nil)
	req.Header.Set("X-Forwarded-For", "203.0.113.9")
	resp, err := e.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || len(seen) != 1 || seen[0] != "/console/orgs/acme/ from 203.0.113.9:0" {
		t.Errorf("status %d, console saw %q", resp.StatusCode, seen)
	}
	if r := e.do("GET", "/console", "", nil); r.Status != 200 || !strings.Contains(string(r.Body), "console") {
		t.Errorf("/console: %d %s (want the redirect to /console/ followed)", r.Status, r.Body)
	}
	if r := e.do("GET", "/healthz", "", nil); r.Status != 200 {
		t.Errorf("/healthz with a console: %d", r.Status)
	}

	bare := newEnv(t, "sqlite", envOpts{})
	if r := bare.do("GET", "/console/", "", nil); r.Status != 404 || !strings.HasSuffix(r.problem(t).Type, server.ProblemNotFound) {
		t.Errorf("/console/ without a console: %d %s", r.Status, r.Body)
	}
}
