package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"github.com/gatehouse-dev/gatehouse/internal/store/postgres/pgtest"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/internal/auth"
	"github.com/gatehouse-dev/gatehouse/internal/directory"
	mcpspec "github.com/gatehouse-dev/gatehouse/internal/mcp"
	"github.com/gatehouse-dev/gatehouse/internal/server"
	"github.com/gatehouse-dev/gatehouse/internal/store"
	"github.com/gatehouse-dev/gatehouse/internal/store/postgres"
	"github.com/gatehouse-dev/gatehouse/internal/store/sqlite"
)

// guard turns a hang into a failure; no correct run comes near it.
const guard = 60 * time.Second

func ctxT(t testing.TB) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), guard)
	t.Cleanup(cancel)
	return ctx
}

// env is a real server on a loopback port over a fresh store.
type env struct {
	t    testing.TB
	URL  string
	st   store.Store
	dir  *directory.Directory
	auth *auth.Service
	srv  *server.Server
	hc   *http.Client
}

// backends are the stores the end-to-end tests run on: SQLite always,
// PostgreSQL when GATEHOUSE_TEST_POSTGRES holds a connection URL.
// GATEHOUSE_REQUIRE_POSTGRES (set by CI) makes a missing URL a failure.
func backends(t testing.TB) []string {
	t.Helper()
	bs := []string{"sqlite"}
	switch {
	case os.Getenv("GATEHOUSE_TEST_POSTGRES") != "":
		bs = append(bs, "postgres")
	case os.Getenv("GATEHOUSE_REQUIRE_POSTGRES") != "":
		t.Fatal("GATEHOUSE_REQUIRE_POSTGRES is set but GATEHOUSE_TEST_POSTGRES is not: the PostgreSQL runs must happen")
	}
	return bs
}

func openStore(t testing.TB, backend string) store.Store {
	t.Helper()
	switch backend {
	case "postgres":
		st, err := postgres.Open(ctxT(t), freshSchema(t), postgres.Options{PollInterval: 20 * time.Millisecond, MaxConns: 8})
		if err != nil {
			t.Fatalf("postgres: %v", err)
		}
		t.Cleanup(func() { _ = st.Close() })
		return st
	default:
		st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "gatehouse.db"), sqlite.Options{PollInterval: 20 * time.Millisecond, Synchronous: "NORMAL"})
		if err != nil {
			t.Fatalf("sqlite: %v", err)
		}
		t.Cleanup(func() { _ = st.Close() })
		return st
	}
}

// freshSchema creates a schema with a random name on
// GATEHOUSE_TEST_POSTGRES, dropped when the test ends, and returns a DSN
// whose search_path is that schema.
func freshSchema(t testing.TB) string {
	t.Helper()
	return pgtest.FreshSchema(t, "gh_srv")
}

type envOpts struct {
	authOpts auth.Options
	cfg      func(*server.Config)
	wrap     func(store.Store) store.Store // wraps the store everything runs on (to observe it)
	dirOpts  directory.Options
}

func newEnv(t testing.TB, backend string, o envOpts) *env {
	t.Helper()
	st := openStore(t, backend)
	if o.wrap != nil {
		st = o.wrap(st)
	}
	dir, err := directory.Open(ctxT(t), st, authz.New(), o.dirOpts)
	if err != nil {
		t.Fatalf("directory.Open: %v", err)
	}
	t.Cleanup(func() { _ = dir.Close() })
	as := auth.New(st, dir, auth.NewKeySet(), o.authOpts)
	t.Cleanup(func() { _ = as.Close() })
	// Test MCP servers are httptest servers on loopback, which the
	// server's upstream policy refuses unless it lists them.
	cfg := server.Config{Directory: dir, Store: st, Auth: as, MCPUpstreamAllow: mcpspec.LoopbackPrefixes}
	for _, h := range envHooks {
		h(t, &cfg)
	}
	if o.cfg != nil {
		o.cfg(&cfg)
	}
	srv, err := server.New(cfg)
	if err != nil {
		t.Fatalf("server.New: %v", err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln, server.ServeOptions{ShutdownTimeout: 5 * time.Second}) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return &env{t: t, URL: "http://" + ln.Addr().String(), st: st, dir: dir, auth: as, srv: srv,
		hc: &http.Client{Timeout: guard, Transport: &http.Transport{MaxIdleConnsPerHost: 16}}}
}

// user creates a user with a personal API key and returns the key.
func (e *env) user(id string) string {
	e.t.Helper()
	_, tok, err := e.auth.Bootstrap(ctxT(e.t), store.User{ID: id}, "test")
	if err != nil {
		e.t.Fatalf("Bootstrap(%s): %v", id, err)
	}
	return tok
}

// resp is an answer: status, headers, body.
type resp struct {
	Status int
	Header http.Header
	Body   []byte
}

func (r resp) json(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decode %s: %v", r.Body, err)
	}
}

// problem decodes a problem document.
func (r resp) problem(t testing.TB) server.Problem {
	t.Helper()
	if ct := r.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("status %d Content-Type %q, want application/problem+json; body %s", r.Status, ct, r.Body)
	}
	var p server.Problem
	r.json(t, &p)
	return p
}

// do sends a request; body is JSON-encoded unless it is a string or []byte
// (sent verbatim with Content-Type application/json).
func (e *env) do(method, path, token string, body any) resp {
	e.t.Helper()
	return e.doCT(method, path, token, "application/json", body)
}

func (e *env) doCT(method, path, token, ct string, body any) resp {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		buf, err := json.Marshal(b)
		if err != nil {
			e.t.Fatalf("encode: %v", err)
		}
		rd = bytes.NewReader(buf)
	}
	req, err := http.NewRequestWithContext(ctxT(e.t), method, e.URL+path, rd)
	if err != nil {
		e.t.Fatalf("request: %v", err)
	}
	if rd != nil && ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := e.hc.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatalf("read: %v", err)
	}
	return resp{Status: res.StatusCode, Header: res.Header, Body: b}
}

// must sends a request and fails unless the status is want; it decodes the
// answer into out when out is not nil.
func (e *env) must(want int, method, path, token string, body, out any) resp {
	e.t.Helper()
	r := e.do(method, path, token, body)
	if r.Status != want {
		e.t.Fatalf("%s %s: status %d, want %d; body %s", method, path, r.Status, want, r.Body)
	}
	if out != nil {
		r.json(e.t, out)
	}
	return r
}

// must returns v or fails the test with err.
func must[T any](v T, err error) func(testing.TB) T {
	return func(t testing.TB) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

// call is one row of an allow/deny table: who makes which request, and
// the status it must get.
type call struct {
	name, method, path, by string
	body                   any
	want                   int
}

// expect makes each call in order and reports every one whose status is
// not its want.
func (e *env) expect(t *testing.T, calls []call) {
	t.Helper()
	for _, c := range calls {
		if r := e.do(c.method, c.path, c.by, c.body); r.Status != c.want {
			t.Errorf("%s: %s %s = %d %s, want %d", c.name, c.method, c.path, r.Status, r.Body, c.want)
		}
	}
}
