package server_test

import (
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-dev/gatehouse/internal/mcpgw"
	"github.com/gatehouse-dev/gatehouse/internal/server"
)

// The attacks of branch redteam5 (docs/threat-model.md rows 75–): the
// open items of the earlier reviews.

// securityHeaders is what TestEveryAnswerCarriesSecurityHeaders reads of
// an answer.
type securityHeaders struct {
	Nosniff, HSTS string
}

func securityHeadersOf(h http.Header) securityHeaders {
	return securityHeaders{Nosniff: h.Get("X-Content-Type-Options"), HSTS: h.Get("Strict-Transport-Security")}
}

// TestEveryAnswerCarriesSecurityHeaders walks every pattern the server's
// mux serves (Server.Patterns, so a route or mount added later is walked
// too) and sends each, anonymously and as the org's owner with a body the
// route refuses and with a valid one: every answer — successes, 401s,
// 400s, 404s, 405s, problems — carries X-Content-Type-Options: nosniff;
// Strict-Transport-Security only where the server is reached over HTTPS
// (an https public URL, or a request over TLS), never on plain HTTP.
func TestEveryAnswerCarriesSecurityHeaders(t *testing.T) {
	t.Parallel()
	console := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("console"))
	})
	tests := []struct {
		name      string
		publicURL string
		want      securityHeaders
	}{
		{"plain http", "", securityHeaders{Nosniff: "nosniff"}},
		{"an http public url", "http://gatehouse.example", securityHeaders{Nosniff: "nosniff"}},
		{"an https public url", "https://gatehouse.example", securityHeaders{Nosniff: "nosniff", HSTS: "max-age=31536000"}},
		{"an HTTPS public url in capitals", "HTTPS://gatehouse.example", securityHeaders{Nosniff: "nosniff", HSTS: "max-age=31536000"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, "sqlite", envOpts{cfg: func(c *server.Config) {
				c.PublicURL = tt.publicURL
				c.Console = console
				c.MetricsToken = "metrics-token"
			}})
			w := buildWorld(t, e, "")
			check := func(what string, r resp) {
				t.Helper()
				if diff := cmp.Diff(tt.want, securityHeadersOf(r.Header)); diff != "" {
					t.Errorf("%s: status %d, security headers (-want +got):\n%s", what, r.Status, diff)
				}
			}
			table := map[string]*server.Route{}
			for _, rt := range e.srv.Routes() {
				table[rt.Pattern()] = rt
			}
			mounted := map[string]string{
				mcpgw.Prefix:         mcpgw.Prefix + w.org + "/nowhere",
				mcpgw.MetadataPrefix: mcpgw.MetadataPrefix + w.org + "/nowhere",
				"/":                  "/v1/nowhere",
				"/console/":          "/console/",
				"GET /console":       "/console",
			}
			statuses := map[int]bool{}
			n := 0
			for _, p := range e.srv.Patterns() {
				rt, ok := table[p]
				if !ok {
					path, ok := mounted[p]
					if !ok {
						t.Errorf("the mux serves %q, neither a route nor a known mount: add it to this walk", p)
						continue
					}
					for _, m := range []string{"GET", "POST", "DELETE"} {
						r := e.doCT(m, path, w.owner, "application/json", `{}`)
						check(m+" "+path, r)
						statuses[r.Status] = true
						n++
					}
					continue
				}
				path := fill(t, rt.Path, w.params) + query(rt)
				tok := w.owner
				if rt.Pattern() == "GET /metrics" {
					tok = "metrics-token"
				}
				for _, c := range []struct {
					name, key string
					body      any
				}{
					{"anonymous", "", nil},
					{"a bad credential", "gth_0000000000000000_" + strings.Repeat("a", 52), nil},
					{"a field twice", tok, `{"a":1,"a":1}`},
					{"a valid body", tok, example(w, rt)},
				} {
					r := e.do(rt.Method, path, c.key, c.body)
					check(rt.Pattern()+" "+c.name, r)
					statuses[r.Status] = true
					n++
				}
				// Another method on the same path: 405 from the catch-all.
				if rt.Method != "PATCH" {
					r := e.do("PATCH", path, w.owner, nil)
					check("PATCH "+path, r)
					statuses[r.Status] = true
				}
				e.auth.ResetLimits()
			}
			for _, st := range []int{200, 201, 400, 401, 404, 405} {
				if !statuses[st] {
					t.Errorf("no answer of status %d seen in %d requests: the walk does not reach what it claims", st, n)
				}
			}
			// The metrics on a listener of their own.
			for _, token := range []string{"", "metrics-token"} {
				rec := httptest.NewRecorder()
				req := httptest.NewRequest("GET", "/metrics", nil)
				e.srv.MetricsHandler(token).ServeHTTP(rec, req)
				check("MetricsHandler("+token+")", resp{Status: rec.Code, Header: rec.Header()})
			}
		})
	}

	// A request that came over TLS gets HSTS whatever the public URL.
	e := newEnv(t, "sqlite", envOpts{})
	for _, path := range []string{"/healthz", "/v1/nowhere", "/v1/orgs/acme/check"} {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("POST", path, strings.NewReader(`{}`))
		req.TLS = &tls.ConnectionState{}
		e.srv.ServeHTTP(rec, req)
		want := securityHeaders{Nosniff: "nosniff", HSTS: "max-age=31536000"}
		if diff := cmp.Diff(want, securityHeadersOf(rec.Header())); diff != "" {
			t.Errorf("POST %s over TLS: status %d, security headers (-want +got):\n%s", path, rec.Code, diff)
		}
	}
}
