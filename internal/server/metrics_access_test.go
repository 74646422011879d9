package server_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/server"
)

const testMetricsToken = "metrics-token-for-tests-0123456789"

// TestMetricsAccess: the metrics are never public on the API handler.
// Without a metrics token they are not served there at all (404, API
// credentials or not); with one, only that token opens them (401
// otherwise, an API key included). MetricsHandler, for a listener of
// its own, serves them openly or behind its token.
func TestMetricsAccess(t *testing.T) {
	t.Parallel()
	plain := newEnv(t, "sqlite", envOpts{})
	w := buildWorld(t, plain, "")
	withToken := newEnv(t, "sqlite", envOpts{cfg: func(c *server.Config) { c.MetricsToken = testMetricsToken }})
	tokenOwner := withToken.user("owner")
	tests := []struct {
		name   string
		e      *env
		token  string
		status int
	}{
		{"no token configured, anonymous", plain, "", 404},
		{"no token configured, an API key", plain, w.owner, 404},
		{"no token configured, a would-be token", plain, testMetricsToken, 404},
		{"token configured, anonymous", withToken, "", 401},
		{"token configured, wrong token", withToken, testMetricsToken + "x", 401},
		{"token configured, a prefix of it", withToken, testMetricsToken[:8], 401},
		{"token configured, an API key", withToken, tokenOwner, 401},
		{"token configured, the token", withToken, testMetricsToken, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.e.do("GET", "/metrics", tt.token, nil)
			if r.Status != tt.status {
				t.Fatalf("status %d, want %d: %.200s", r.Status, tt.status, r.Body)
			}
			switch tt.status {
			case 200:
				if !strings.Contains(string(r.Body), "gatehouse_http_requests_total") {
					t.Errorf("no metrics: %.200s", r.Body)
				}
			case 401:
				if p := r.problem(t); p.Type != server.ProblemBase+server.ProblemUnauthenticated || p.RequestID != r.Header.Get("X-Request-Id") {
					t.Errorf("problem %+v, request id header %q", p, r.Header.Get("X-Request-Id"))
				}
				if !strings.HasPrefix(r.Header.Get("WWW-Authenticate"), "Bearer") {
					t.Errorf("WWW-Authenticate = %q", r.Header.Get("WWW-Authenticate"))
				}
				if strings.Contains(string(r.Body), "gatehouse_") {
					t.Errorf("a refusal carries metrics: %.200s", r.Body)
				}
			case 404:
				if p := r.problem(t); p.Type != server.ProblemBase+server.ProblemNotFound {
					t.Errorf("problem %+v", p)
				}
			}
		})
	}
	// A refused token is counted.
	m := string(withToken.must(200, "GET", "/metrics", testMetricsToken, nil, nil).Body)
	if !strings.Contains(m, `gatehouse_auth_failures_total{reason="metrics_token"} 4`) {
		t.Errorf("metrics_token failures not counted:\n%s", grepLines(m, "auth_failures"))
	}

	// MetricsHandler, on a listener of its own.
	// The scheme is case-insensitive (RFC 9110 §11.1), as on the API.
	for _, tc := range []struct {
		name, handlerToken, sent string
		status                   int
	}{
		{"open", "", "", 200},
		{"token, none sent", testMetricsToken, "", 401},
		{"token, wrong one", testMetricsToken, "Bearer nope", 401},
		{"token, right one", testMetricsToken, "Bearer " + testMetricsToken, 200},
		{"token, lower-case scheme", testMetricsToken, "bearer " + testMetricsToken, 200},
		{"token, another scheme", testMetricsToken, "Basic " + testMetricsToken, 401},
		{"token, no scheme", testMetricsToken, testMetricsToken, 401},
	} {
		t.Run("MetricsHandler "+tc.name, func(t *testing.T) {
			hs := httptest.NewServer(plain.srv.MetricsHandler(tc.handlerToken))
			defer hs.Close()
			req, _ := http.NewRequest("GET", hs.URL+"/metrics", nil)
			if tc.sent != "" {
				req.Header.Set("Authorization", tc.sent)
			}
			res, err := hs.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != tc.status || (tc.status == 200) != strings.Contains(string(b), "gatehouse_http_requests_total") {
				t.Errorf("status %d, want %d: %.200s", res.StatusCode, tc.status, b)
			}
		})
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
