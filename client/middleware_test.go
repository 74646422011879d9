package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/client"
	"github.com/gatehouse-dev/gatehouse/client/clienttest"
	"github.com/gatehouse-dev/gatehouse/client/embedded"
)

// hostRoutes is a host platform's API guarded by the middleware: the
// handler answers "ran <ns>/<id>" and the obligations it was given.
func hostRoutes(t *testing.T, g *client.Guard, calls *atomic.Int64, extra ...client.MiddlewareOption) http.Handler {
	t.Helper()
	chain := client.ResourceFrom(func(r *http.Request) (string, string, string) {
		return r.PathValue("ns"), "chains", r.PathValue("id")
	})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		d, ok := client.DecisionFrom(r.Context())
		if !ok || !d.Allowed {
			http.Error(w, "handler reached without a decision", http.StatusInternalServerError)
			return
		}
		var rules []string
		for _, o := range d.Obligations {
			rules = append(rules, o.Text)
		}
		for _, a := range d.Advice {
			rules = append(rules, a.Text)
		}
		fmt.Fprintf(w, "%s %s/%s %s", r.Method, r.PathValue("ns"), r.PathValue("id"), strings.Join(rules, "; "))
	})
	mux := http.NewServeMux()
	mux.Handle("GET /chains/{ns}/{id}", g.Require("chains:read", append([]client.MiddlewareOption{chain}, extra...)...)(h))
	mux.Handle("POST /chains/{ns}/{id}/run", g.Require("chains:run", append([]client.MiddlewareOption{chain}, extra...)...)(h))
	mux.Handle("PUT /chains/{ns}/{id}", g.Require("chains:update", append([]client.MiddlewareOption{chain}, extra...)...)(h))
	return mux
}

// hit sends one request to h and returns the status.
func hit(h http.Handler, method, path string, hdr map[string]string) (int, string) {
	r := httptest.NewRequest(method, path, nil)
	for k, v := range hdr {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w.Code, w.Body.String()
}

// TestRequireWithCallersToken: the default mode resolves the caller from
// its own bearer token against the demo org of the quickstart.
func TestRequireWithCallersToken(t *testing.T) {
	srv := clienttest.Start(t, clienttest.Options{Demo: true})
	keys := srv.Demo.Keys
	mallory := srv.User("mallory") // a user of no org
	gh := srv.Client("")
	guard := must[*client.Guard](t, "guard")(client.NewGuard(client.Remote(gh), client.InOrg(srv.Demo.Org)))
	var calls atomic.Int64
	h := hostRoutes(t, guard, &calls)
	h401 := hostRoutes(t, must[*client.Guard](t, "guard")(client.NewGuard(client.Remote(gh), client.InOrg(srv.Demo.Org), client.DeniedStatus(http.StatusUnauthorized))), &calls)

	tests := []struct {
		name, method, path, token string
		want, want401             int // status with the default guard and with DeniedStatus(401)
	}{
		{"no token", "POST", "/chains/prod/escalation-triage/run", "", 401, 401},
		{"a made-up token", "POST", "/chains/prod/escalation-triage/run", "gth_bogus_0123456789abcdef0123456789abcdef", 401, 401},
		{"a session-shaped garbage token", "POST", "/chains/prod/escalation-triage/run", "a.b.c", 401, 401},
		{"bob (operator in prod) runs a prod chain", "POST", "/chains/prod/ticket-summarizer/run", keys["bob"], 200, 200},
		{"bob (operator in prod) cannot edit it", "PUT", "/chains/prod/ticket-summarizer", keys["bob"], 403, 401},
		{"bob (builder in dev) edits a dev chain", "PUT", "/chains/dev/eval-harness", keys["bob"], 200, 200},
		{"carol (viewer) reads a prod chain", "GET", "/chains/prod/ticket-summarizer", keys["carol"], 200, 200},
		{"carol runs the chain shared with her team", "POST", "/chains/prod/escalation-triage/run", keys["carol"], 200, 200},
		{"carol cannot run another chain", "POST", "/chains/prod/ticket-summarizer/run", keys["carol"], 403, 401},
		{"alice (owner) edits anything", "PUT", "/chains/prod/database-migration", keys["alice"], 200, 200},
		{"a user of another org is denied, not told more", "GET", "/chains/prod/ticket-summarizer", mallory, 403, 401},
		{"a namespace that does not exist denies", "GET", "/chains/nope/x", keys["alice"], 403, 401},
		{"a malformed namespace denies", "GET", "/chains/Not%20A%20Name/x", keys["alice"], 403, 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hdr := map[string]string{}
			if tt.token != "" {
				hdr["Authorization"] = "Bearer " + tt.token
			}
			for _, c := range []struct {
				h    http.Handler
				want int
			}{{h, tt.want}, {h401, tt.want401}} {
				before := calls.Load()
				got, body := hit(c.h, tt.method, tt.path, hdr)
				if got != c.want {
					t.Errorf("status %d, want %d (%s)", got, c.want, body)
				}
				if reached := calls.Load() > before; reached != (c.want == 200) {
					t.Errorf("handler reached: %v, want %v", reached, c.want == 200)
				}
			}
		})
	}
}

// TestRequireFailsClosed: when no decision can be made the answer is 503
// and the handler never runs.
func TestRequireFailsClosed(t *testing.T) {
	srv := clienttest.Start(t, clienttest.Options{Demo: true})
	ctx := ctxT(t)
	alice := srv.Client(srv.Demo.Keys["alice"])
	// A service that may not ask about others (viewer: no bindings:read).
	must2[client.Service](t, "viewer service")(alice.CreateService(ctx, "demo", client.ServiceSpec{Name: "weak", Role: "viewer"}))
	weak := must[client.KeyCreated](t, "weak key")(alice.CreateKey(ctx, "demo", client.KeySpec{Principal: "service:weak"}))

	down, err := client.New("http://127.0.0.1:1", client.WithRetry(client.RetryPolicy{MaxAttempts: 1}))
	if err != nil {
		t.Fatal(err)
	}
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(300 * time.Millisecond)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"allowed":true,"revision":1}`)
	}))
	defer slow.Close()
	slowC := must[*client.Client](t, "slow client")(client.New(slow.URL))
	garbled := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"allowed":true`)
	}))
	defer garbled.Close()
	garbledC := must[*client.Client](t, "garbled client")(client.New(garbled.URL))
	bobAs := func(*http.Request) (string, bool) { return "user:bob", true }

	tests := []struct {
		name string
		opts []client.MiddlewareOption
		perm string
	}{
		{"the server is down", []client.MiddlewareOption{client.Remote(down), client.InOrg("demo")}, "chains:run"},
		{"the server is slower than CheckTimeout", []client.MiddlewareOption{client.Remote(slowC), client.InOrg("demo"), client.CheckTimeout(50 * time.Millisecond)}, "chains:run"},
		{"the answer is garbled", []client.MiddlewareOption{client.Remote(garbledC), client.InOrg("demo")}, "chains:run"},
		{"the guard's credential may not ask about others", []client.MiddlewareOption{client.Remote(srv.Client(weak.Token)), client.InOrg("demo"), client.PrincipalFrom(bobAs)}, "chains:run"},
		{"the guard's credential is invalid", []client.MiddlewareOption{client.Remote(srv.Client("gth_bogus_0123456789abcdef0123456789abcdef")), client.InOrg("demo"), client.PrincipalFrom(bobAs)}, "chains:run"},
		{"no backend configured", []client.MiddlewareOption{client.InOrg("demo")}, "chains:run"},
		{"no org configured", []client.MiddlewareOption{client.Remote(alice)}, "chains:run"},
		{"an empty org from OrgFrom", []client.MiddlewareOption{client.Remote(alice), client.OrgFrom(func(*http.Request) string { return "" })}, "chains:run"},
		{"embedded without PrincipalFrom", []client.MiddlewareOption{embedded.Engine(srv.Engine()), client.InOrg("demo")}, "chains:run"},
		{"a wildcard permission", []client.MiddlewareOption{client.Remote(alice), client.InOrg("demo")}, "chains:*"},
		{"a malformed permission", []client.MiddlewareOption{client.Remote(alice), client.InOrg("demo")}, "run"},
		{"a resource of another type than the permission", []client.MiddlewareOption{client.Remote(alice), client.InOrg("demo"),
			client.ResourceFrom(func(*http.Request) (string, string, string) { return "prod", "tools", "x" })}, "chains:run"},
		{"an unsupported DeniedStatus", []client.MiddlewareOption{client.Remote(alice), client.InOrg("demo"), client.DeniedStatus(http.StatusTeapot)}, "chains:run"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var reached atomic.Bool
			var logged []error
			opts := append(tt.opts, client.OnError(func(_ *http.Request, err error) { logged = append(logged, err) }))
			h := client.Require(tt.perm, opts...)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { reached.Store(true) }))
			got, body := hit(h, "POST", "/run", map[string]string{"Authorization": "Bearer " + srv.Demo.Keys["alice"]})
			if got != http.StatusServiceUnavailable || reached.Load() {
				t.Errorf("status %d, handler reached %v; want 503 and no handler (%s)", got, reached.Load(), body)
			}
			if len(logged) != 1 {
				t.Errorf("OnError got %v, want one error", logged)
			}
		})
	}
	if _, err := client.NewGuard(client.InOrg("demo")); !errors.Is(err, client.ErrGuardConfig) {
		t.Errorf("NewGuard without a backend: want ErrGuardConfig, got %v", err)
	}
}

// TestRequireEmbeddedAgreesWithRemote: the embedded engine and the server
// give every (principal, route) the same answer, and an agent's
// obligations and advice reach the handler either way.
func TestRequireEmbeddedAgreesWithRemote(t *testing.T) {
	srv := clienttest.Start(t, clienttest.Options{Demo: true})
	ctx := ctxT(t)
	alice := srv.Client(srv.Demo.Keys["alice"])
	pol := must[client.Policy](t, "policy")(alice.GetPolicy(ctx, "demo"))
	rev := mustRev(t, "declare agent", must[uint64](t, "")(alice.PutPolicy(ctx, "demo", pol.Text+`
agent Triage: operator {
    can run chains
    must log chains
    should report issues
}
`, false)), nil)
	// The host's own service credential: it may ask about anyone (admin
	// holds bindings:read).
	must2[client.Service](t, "host service")(alice.CreateService(ctx, "demo", client.ServiceSpec{Name: "host", Role: "admin"}))
	hostKey := must[client.KeyCreated](t, "host key")(alice.CreateKey(ctx, "demo", client.KeySpec{Principal: "service:host"}))
	if err := srv.Engine().WaitFor(ctx, rev); err != nil {
		t.Fatal(err)
	}
	fromHeader := client.PrincipalFrom(func(r *http.Request) (string, bool) {
		p := r.Header.Get("X-Principal")
		return p, p != ""
	})
	var calls atomic.Int64
	remote := hostRoutes(t, must[*client.Guard](t, "remote")(client.NewGuard(client.Remote(srv.Client(hostKey.Token)), client.InOrg("demo"), fromHeader)), &calls)
	embedded := hostRoutes(t, must[*client.Guard](t, "embedded")(client.NewGuard(embedded.Engine(srv.Engine()), client.InOrg("demo"), fromHeader)), &calls)

	principals := []string{"", "user:alice", "user:bob", "user:carol", "agent:Triage", "service:host", "user:nobody", "team:support"}
	routes := []struct{ method, path string }{
		{"GET", "/chains/prod/escalation-triage"}, {"POST", "/chains/prod/escalation-triage/run"}, {"PUT", "/chains/prod/escalation-triage"},
		{"GET", "/chains/dev/eval-harness"}, {"POST", "/chains/dev/eval-harness/run"}, {"PUT", "/chains/dev/eval-harness"},
		{"POST", "/chains/default/x/run"},
	}
	allowed := 0
	for _, p := range principals {
		for _, rt := range routes {
			hdr := map[string]string{"X-Principal": p}
			rs, rb := hit(remote, rt.method, rt.path, hdr)
			es, eb := hit(embedded, rt.method, rt.path, hdr)
			if rs != es || rb != eb {
				t.Errorf("%s %s as %q: remote %d %q, embedded %d %q", rt.method, rt.path, p, rs, rb, es, eb)
			}
			if rs == 200 {
				allowed++
			}
			if p == "" && rs != 401 {
				t.Errorf("no principal: %d, want 401", rs)
			}
		}
	}
	if allowed == 0 || allowed == len(principals)*len(routes) {
		t.Errorf("%d of %d allowed: the matrix does not discriminate", allowed, len(principals)*len(routes))
	}
	// The agent's obligation and advice reach the handler.
	for name, h := range map[string]http.Handler{"remote": remote, "embedded": embedded} {
		st, body := hit(h, "POST", "/chains/prod/ticket-summarizer/run", map[string]string{"X-Principal": "agent:Triage"})
		if st != 200 || body != "POST prod/ticket-summarizer must log chains; should report issues" {
			t.Errorf("%s: agent run: %d %q", name, st, body)
		}
		if st, _ := hit(h, "PUT", "/chains/prod/ticket-summarizer", map[string]string{"X-Principal": "agent:Triage"}); st != 403 {
			t.Errorf("%s: the agent's role is its ceiling: edit answered %d", name, st)
		}
	}
}

// TestDenialIsAProblemDocument: what a denied caller receives.
func TestDenialIsAProblemDocument(t *testing.T) {
	srv := clienttest.Start(t, clienttest.Options{Demo: true})
	h := client.Require("chains:update", client.Remote(srv.Client("")), client.InOrg("demo"),
		client.ResourceFrom(func(*http.Request) (string, string, string) { return "prod", "", "ticket-summarizer" }))(http.NotFoundHandler())
	r := httptest.NewRequest("PUT", "/x", nil)
	r.Header.Set("Authorization", "Bearer "+srv.Demo.Keys["carol"])
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	var p map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"type": client.ProblemBase + "forbidden", "title": "Permission denied", "status": float64(403),
		"detail": "requires chains:update", "missing_permission": "chains:update"}
	if diff := cmp.Diff(want, p); diff != "" || w.Code != 403 || w.Header().Get("Content-Type") != "application/problem+json" {
		t.Errorf("denial %d %s (-want +got):\n%s", w.Code, w.Header().Get("Content-Type"), diff)
	}
	// The DecisionFrom of a request that passed no guard is absent.
	if _, ok := client.DecisionFrom(context.Background()); ok {
		t.Errorf("DecisionFrom on a bare context reports a decision")
	}
	_ = authz.DefaultNamespace
}

// TestGarbageTokensDoNotLockTheHostOut: tokens that are not shaped like
// Gatehouse credentials are refused locally, so they never count against
// the host's address in the server's failed-authentication limit.
func TestGarbageTokensDoNotLockTheHostOut(t *testing.T) {
	srv := clienttest.Start(t, clienttest.Options{Demo: true, FailureBurst: 3})
	var calls atomic.Int64
	guard := must[*client.Guard](t, "guard")(client.NewGuard(client.Remote(srv.Client("")), client.InOrg("demo")))
	h := hostRoutes(t, guard, &calls)
	for _, tok := range []string{"x", "password123", "Basic Zm9v", "gth_has space", "a.b", strings.Repeat("a", 9000), "tok\u00e9n", "<script>"} {
		for range 3 {
			if st, _ := hit(h, "GET", "/chains/prod/ticket-summarizer", map[string]string{"Authorization": "Bearer " + tok}); st != 401 {
				t.Errorf("token %.20q: %d, want 401", tok, st)
			}
		}
	}
	if st, body := hit(h, "GET", "/chains/prod/ticket-summarizer", map[string]string{"Authorization": "Bearer " + srv.Demo.Keys["carol"]}); st != 200 {
		t.Errorf("carol after a burst of garbage: %d %s, want 200", st, body)
	}
}

// TestForgedTokensDoNotLockOtherUsersOut: well-formed but forged tokens
// relayed by the guard count against the end user who sent them (the
// server trusts the host as a proxy), so another user's first request —
// a key the server has never seen — still passes; and with the host not
// trusted, a user whose key the server has cached is not locked out
// either.
func TestForgedTokensDoNotLockOtherUsersOut(t *testing.T) {
	for _, tc := range []struct {
		name    string
		trusted []netip.Prefix
		warm    bool // carol's key is used once before the burst
	}{
		{"host trusted as a proxy", []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}, false},
		{"host not trusted, key cached", nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := clienttest.Start(t, clienttest.Options{Demo: true, FailureBurst: 3, TrustedProxies: tc.trusted})
			var calls atomic.Int64
			guard := must[*client.Guard](t, "guard")(client.NewGuard(client.Remote(srv.Client("")), client.InOrg("demo")))
			h := hostRoutes(t, guard, &calls)
			from := func(addr, tok string) int {
				r := httptest.NewRequest("GET", "/chains/prod/ticket-summarizer", nil)
				r.RemoteAddr = addr + ":40000"
				r.Header.Set("Authorization", "Bearer "+tok)
				w := httptest.NewRecorder()
				h.ServeHTTP(w, r)
				return w.Code
			}
			carol := srv.Demo.Keys["carol"]
			if tc.warm && from("198.51.100.20", carol) != 200 {
				t.Fatal("carol refused before any forgery")
			}
			for i := range 6 {
				forged := fmt.Sprintf("gth_%016x_%s", i, strings.Repeat("A", 52))
				if st := from("203.0.113.66", forged); st != 401 && st != 503 {
					t.Fatalf("forged token %d: %d, want 401 (then 503 once limited)", i, st)
				}
			}
			if st := from("198.51.100.20", carol); st != 200 {
				t.Errorf("carol after another user's forgeries: %d, want 200", st)
			}
		})
	}
}
