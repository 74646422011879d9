package server_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/server"
)

// TestMeta: health, readiness, metrics, request ids, and problems for
// unknown routes and methods.
func TestMeta(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "sqlite", envOpts{cfg: func(c *server.Config) { c.MetricsToken = testMetricsToken }})
	w := buildWorld(t, e, "")
	var h server.Health
	e.must(200, "GET", "/healthz", "", nil, &h)
	if h.Status != "ok" {
		t.Errorf("healthz = %+v", h)
	}
	e.must(200, "GET", "/readyz", "", nil, &h)
	if h.Status != "ok" || h.EngineRevision < h.StoreRevision || h.StoreRevision == 0 {
		t.Errorf("readyz = %+v", h)
	}
	// Request ids: the server's own, after the client's and '~' when it
	// sent a plain one; on problems too.
	req, _ := http.NewRequest("GET", e.URL+"/v1/orgs/acme", nil)
	req.Header.Set("X-Request-Id", "client-chosen.id_1")
	res, err := e.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if got := res.Header.Get("X-Request-Id"); !strings.HasPrefix(got, "client-chosen.id_1~") || len(got) <= len("client-chosen.id_1~") {
		t.Errorf("echoed request id = %q", got)
	}
	r := e.do("GET", "/v1/orgs/acme", "", nil)
	if id := r.Header.Get("X-Request-Id"); id == "" || r.problem(t).RequestID != id {
		t.Errorf("request id %q, problem's %q", id, r.problem(t).RequestID)
	}
	// Unknown route → 404 problem; wrong method → 405 problem with Allow.
	r = e.do("GET", "/v1/nope", w.owner, nil)
	if r.Status != 404 || r.problem(t).Type != server.ProblemBase+server.ProblemNotFound {
		t.Errorf("unknown route: %d %s", r.Status, r.Body)
	}
	r = e.do("PUT", "/v1/orgs/acme/check", w.owner, "{}")
	if r.Status != 405 || r.problem(t).Type != server.ProblemBase+server.ProblemMethodNotAllowed || !strings.Contains(r.Header.Get("Allow"), "POST") {
		t.Errorf("wrong method: %d Allow %q %s", r.Status, r.Header.Get("Allow"), r.Body)
	}
	// Metrics: by route pattern and status, decisions by result, engine
	// revision and lag.
	e.must(200, "POST", "/v1/orgs/acme/check", w.owner, map[string]any{"action": "chains:run"}, nil)
	e.must(200, "POST", "/v1/orgs/acme/check", w.viewer, map[string]any{"action": "chains:run"}, nil)
	e.must(401, "GET", "/v1/me", "gth_nope", nil, nil)
	m := string(e.must(200, "GET", "/metrics", testMetricsToken, nil, nil).Body)
	for _, want := range []string{
		`gatehouse_http_requests_total{code="200",route="POST /v1/orgs/{org}/check"} 2`,
		`gatehouse_http_requests_total{code="401",route="GET /v1/orgs/{org}"}`,
		`gatehouse_decisions_total{endpoint="check",result="allow"} 1`,
		`gatehouse_decisions_total{endpoint="check",result="deny"} 1`,
		`gatehouse_auth_failures_total{reason="missing"} 2`, // the two anonymous requests above
		`gatehouse_auth_failures_total{reason="unauthenticated"} 1`,
		`gatehouse_http_request_duration_seconds_bucket{route="POST /v1/orgs/{org}/check"`,
		"gatehouse_engine_revision ",
		"gatehouse_engine_revision_lag 0",
		"gatehouse_audit_group_commit_entries_total ",
		"gatehouse_audit_group_commit_transactions_total ",
		"gatehouse_audit_settings_reads_total ",
	} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

// TestInternalErrorsDoNotLeak: with the store gone, writes answer 503 (or
// 500) problems that say nothing about the database, and readiness fails.
func TestInternalErrorsDoNotLeak(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "sqlite", envOpts{})
	w := buildWorld(t, e, "")
	if err := e.st.Close(); err != nil {
		t.Fatal(err)
	}
	r := e.do("POST", "/v1/orgs/acme/namespaces", w.owner, map[string]any{"name": "staging"})
	if r.Status != 503 && r.Status != 500 {
		t.Fatalf("write with the store closed: %d %s", r.Status, r.Body)
	}
	p := r.problem(t)
	for _, leak := range []string{"sql", "database", "closed", "store:", "directory:"} {
		if strings.Contains(strings.ToLower(p.Detail), leak) {
			t.Errorf("problem detail leaks %q: %q", leak, p.Detail)
		}
	}
	if p.RequestID == "" {
		t.Error("problem without request id")
	}
	var h server.Health
	e.must(503, "GET", "/readyz", "", nil, &h)
	if h.Status != "unavailable" {
		t.Errorf("readyz with the store closed: %+v", h)
	}
}
