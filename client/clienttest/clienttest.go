// Package clienttest runs a real Gatehouse server in-process, on a
// loopback port over a fresh SQLite store in the test's temporary
// directory, for tests of code built on package client: the SDK itself,
// the middleware, host applications and the admin CLI. It is to Gatehouse
// what net/http/httptest is to a handler, except that nothing is faked:
// the server, the directory, the engine, authentication and the secrets
// vault (under a random master key) are the ones `gatehouse serve` runs.
//
// Invariants: every Server listens on 127.0.0.1 only, owns its store, and
// is shut down (gracefully, its Serve error reported to the test) by the
// test's cleanup; nothing is shared between Servers.
package clienttest

import (
	"context"
	"crypto/rand"
	"errors"
	"net"
	"net/http"
	"net/netip"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/client"
	"github.com/gatehouse-dev/gatehouse/internal/auth"
	"github.com/gatehouse-dev/gatehouse/internal/directory"
	"github.com/gatehouse-dev/gatehouse/internal/mcp"
	"github.com/gatehouse-dev/gatehouse/internal/server"
	"github.com/gatehouse-dev/gatehouse/internal/store"
	"github.com/gatehouse-dev/gatehouse/internal/store/sqlite"
	"github.com/gatehouse-dev/gatehouse/internal/vault"
)

// Options tune a Server. The zero value is fine.
type Options struct {
	// Demo seeds the quickstart's demo org (DESIGN's agent-platform
	// template: alice owner; bob builder in dev, operator in prod; carol
	// viewer in team support, which may run prod chains/escalation-triage;
	// agent Triage operator in prod).
	Demo bool
	// ConsistencyTimeout bounds the server's wait for consistency.at_least
	// (default 2s).
	ConsistencyTimeout time.Duration
	// RecordRoutes counts the requests each route receives (Hits).
	RecordRoutes bool
	// FailureBurst is how many failed authentications a client address may
	// make before it is rate limited (default 1,000,000: tests that send
	// bad credentials on purpose are not limited).
	FailureBurst float64
	// TrustedProxies are believed when they send X-Forwarded-For (the
	// server's --trusted-proxy).
	TrustedProxies []netip.Prefix
	// MetricsToken is the bearer token GET /metrics requires; empty, the
	// server does not serve /metrics (404), as gatehouse serve by default.
	MetricsToken string
	// ChangeRetention is how old the change feed's changes may be (the
	// server's --change-retention; default 24h).
	ChangeRetention time.Duration
}

// Demo is the seeded demo org: its id and each user's API key.
type Demo struct {
	Org      string
	Keys     map[string]string // "alice", "bob", "carol" → personal API key
	Revision uint64
}

// Server is a running Gatehouse server.
type Server struct {
	// URL is the base URL, "http://127.0.0.1:<port>".
	URL string
	// Demo is set when Options.Demo asked for it.
	Demo Demo

	t    testing.TB
	st   store.Store
	dir  *directory.Directory
	eng  *authz.Engine // the engine dir was opened with (and feeds)
	auth *auth.Service
	srv  *server.Server

	mu       sync.Mutex
	hits     map[string]int
	patterns *http.ServeMux
}

// guard turns a hang into a failure; no correct setup comes near it.
const guard = 60 * time.Second

// Start starts a server for the test; the test's cleanup stops it.
func Start(t testing.TB, o Options) *Server {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), guard)
	defer cancel()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "gatehouse.db"), sqlite.Options{PollInterval: 20 * time.Millisecond, Synchronous: "NORMAL"})
	if err != nil {
		t.Fatalf("clienttest: sqlite: %v", err)
	}
	t.Cleanup(func() { _ = st.Close() })
	eng := authz.New()
	dir, err := directory.Open(ctx, st, eng, directory.Options{ChangeRetention: o.ChangeRetention})
	if err != nil {
		t.Fatalf("clienttest: directory: %v", err)
	}
	t.Cleanup(func() { _ = dir.Close() })
	if o.FailureBurst <= 0 {
		o.FailureBurst = 1e6
	}
	as := auth.New(st, dir, auth.NewKeySet(), auth.Options{FailureBurst: o.FailureBurst})
	t.Cleanup(func() { _ = as.Close() })
	// The secrets vault, under a fresh random master key.
	mk := make([]byte, 32)
	if _, err := rand.Read(mk); err != nil {
		t.Fatalf("clienttest: master key: %v", err)
	}
	kr, err := vault.NewKeyring(map[uint32][]byte{1: mk})
	if err != nil {
		t.Fatalf("clienttest: keyring: %v", err)
	}
	v, err := vault.Open(ctx, vault.Options{Store: st, Directory: dir, Keyring: kr})
	if err != nil {
		t.Fatalf("clienttest: vault: %v", err)
	}
	s := &Server{t: t, st: st, dir: dir, eng: eng, auth: as}
	if o.Demo {
		d, err := server.SeedDemo(ctx, dir, as)
		if err != nil {
			t.Fatalf("clienttest: demo: %v", err)
		}
		s.Demo = Demo{Org: d.Org, Keys: d.Keys, Revision: d.Revision}
	}
	// Tests' MCP servers are httptest servers on loopback, which the
	// server refuses unless its upstream policy lists loopback (as
	// `gatehouse serve --dev` does).
	srv, err := server.New(server.Config{Directory: dir, Store: st, Auth: as, Vault: v, ConsistencyTimeout: o.ConsistencyTimeout, Version: "clienttest", TrustedProxies: o.TrustedProxies, MetricsToken: o.MetricsToken,
		MCPUpstreamAllow: mcp.LoopbackPrefixes})
	if err != nil {
		t.Fatalf("clienttest: server: %v", err)
	}
	// Close stops the MCP gateway's janitor and its upstream connections;
	// cleanups run last-registered first, so this runs after Shutdown.
	t.Cleanup(func() { _ = srv.Close() })
	s.srv = srv
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("clienttest: listen: %v", err)
	}
	hs := srv.HTTPServer()
	if o.RecordRoutes {
		s.hits = map[string]int{}
		s.patterns = http.NewServeMux()
		for _, rt := range srv.Routes() {
			s.patterns.Handle(rt.Pattern(), http.NotFoundHandler())
		}
		hs.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if _, pat := s.patterns.Handler(r); pat != "" {
				s.mu.Lock()
				s.hits[pat]++
				s.mu.Unlock()
			}
			srv.ServeHTTP(w, r)
		})
	}
	done := make(chan error, 1)
	go func() { done <- hs.Serve(ln) }()
	t.Cleanup(func() {
		// net/http's Shutdown treats a connection that has not sent its
		// first request as busy until it is 5 seconds old (Go issue
		// 22682): a client transport that dialed a spare connection just
		// before the test ended holds Shutdown that long. The deadline
		// leaves room for it, so a slow machine is not a failed test.
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		if err := hs.Shutdown(ctx); err != nil {
			t.Errorf("clienttest: shutdown: %v", err)
		}
		if err := <-done; err != nil && !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("clienttest: Serve: %v", err)
		}
	})
	s.URL = "http://" + ln.Addr().String()
	return s
}

// User creates a user (if absent) with a new personal API key and returns
// the key.
func (s *Server) User(id string) string {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), guard)
	defer cancel()
	_, tok, err := s.auth.Bootstrap(ctx, store.User{ID: id, Email: id + "@example.com"}, "clienttest")
	if err != nil {
		s.t.Fatalf("clienttest: user %s: %v", id, err)
	}
	return tok
}

// Client returns a client of the server with token (no retry waits longer
// than 50ms, so that tests of 503 answers stay quick).
func (s *Server) Client(token string, opts ...client.Option) *client.Client {
	s.t.Helper()
	all := append([]client.Option{
		client.WithToken(token),
		client.WithRetry(client.RetryPolicy{MaxAttempts: 3, BaseDelay: time.Millisecond, MaxDelay: 50 * time.Millisecond}),
		client.WithHTTPClient(&http.Client{Timeout: guard}),
	}, opts...)
	c, err := client.New(s.URL, all...)
	if err != nil {
		s.t.Fatalf("clienttest: client: %v", err)
	}
	return c
}

// Engine is the server's decision engine (for the middleware's embedded
// mode and for differential tests): it holds exactly what the server
// decides with.
func (s *Server) Engine() *authz.Engine { return s.eng }

// Routes lists the server's routes as "METHOD PATTERN" with their OpenAPI
// tag, for coverage tests.
func (s *Server) Routes() []Route {
	var out []Route
	for _, rt := range s.srv.Routes() {
		out = append(out, Route{Method: rt.Method, Path: rt.Path, Tag: rt.Tag})
	}
	return out
}

// Route is one route of the server.
type Route struct {
	Method, Path, Tag string
}

// Pattern is the net/http ServeMux pattern "METHOD /path/{var}".
func (r Route) Pattern() string { return r.Method + " " + r.Path }

// Hits returns how many requests each route pattern received so far
// (Options.RecordRoutes; nil otherwise).
func (s *Server) Hits() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.hits == nil {
		return nil
	}
	out := make(map[string]int, len(s.hits))
	for k, v := range s.hits {
		out[k] = v
	}
	return out
}
