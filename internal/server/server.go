// Package server is Gatehouse's HTTP API (`gatehouse serve`): JSON over
// net/http pattern routing, authentication by API key or session token,
// RFC 9457 problem documents for every error, an OpenAPI 3.1 document
// built from the route table, health and readiness probes, and Prometheus
// metrics.
//
// Invariants:
//
//   - One route table (Server.Routes) is the single source of the mux, the
//     OpenAPI document and the route-driven tests; every route goes through
//     one generic handler (request id → authentication → org confinement →
//     bounded, strict JSON decoding → the route's function under a
//     deadline → JSON or a problem document). The mux routes every
//     request except a plain POST /v1/orgs/{org}/check, which ServeHTTP
//     hands to that route's same handler itself, and only when the mux
//     would route it there unchanged (checkPathOrg).
//   - Domain operations go through internal/directory only; the server adds
//     authentication (internal/auth) and wire shapes, never authorization
//     rules of its own, except for the API-key and invitation operations it
//     owns, which apply the same rules (DESIGN §1.2) through the engine the
//     directory feeds.
//   - Fail closed: no credential → 401; a member without the permission →
//     403 naming it; anything about an org the caller is not a member of,
//     or another org's ids → 404, indistinguishable from absence.
//   - Errors never leak internals: a 500 says "internal error" and the
//     request id; the cause goes to the log under the same id.
//   - Every write answers with the revision it committed; every decision
//     endpoint honours consistency.at_least (bounded wait, then 503, never
//     an answer from older data).
//   - A decision route answers a malformed principal, on_behalf_of,
//     namespace or resource id with a 400 naming the field, never a deny
//     (badinput.go); a deny carries the engine's reason, given only to a
//     caller the directory lets ask the question.
//   - Nothing panics on any input; a panic in a handler would be a bug and
//     is answered as a 500 by net/http's recovery, never as an allow.
package server

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/gatehouse-dev/gatehouse/internal/audit"
	"github.com/gatehouse-dev/gatehouse/internal/auth"
	"github.com/gatehouse-dev/gatehouse/internal/directory"
	"github.com/gatehouse-dev/gatehouse/internal/mcp"
	"github.com/gatehouse-dev/gatehouse/internal/mcpgw"
	"github.com/gatehouse-dev/gatehouse/internal/store"
	"github.com/gatehouse-dev/gatehouse/internal/vault"
)

// Config configures a Server.
type Config struct {
	// OIDC lists the orgs whose people sign in with an identity provider
	// (docs/oidc.md); empty: no single sign-on routes answer but 404.
	OIDC      []OIDCProvider
	Directory *directory.Directory
	// Store is the store the directory runs on; the server reads only its
	// revision (readiness, lag) and the authentication tables through Auth.
	Store store.Store
	// Auth authenticates callers and owns API keys, sessions and
	// invitations.
	Auth *auth.Service
	// Vault serves the secret and run-token routes; nil answers them 503.
	Vault *vault.Vault
	// Logger receives structured request and error logs; nil discards.
	Logger *slog.Logger
	// ConsistencyTimeout bounds a decision's wait for consistency.at_least
	// (default 2s); past it the answer is 503 not-caught-up.
	ConsistencyTimeout time.Duration
	// RequestTimeout bounds each request's work, store calls included
	// (default 15s).
	RequestTimeout time.Duration
	// MaxBodyBytes is the default request body limit (default 1 MiB).
	MaxBodyBytes int64
	// Version is reported by /healthz.
	Version string
	// TrustedProxies are the reverse proxies and host platforms whose
	// X-Forwarded-For header is believed when they connect (see
	// clientAddr). Empty: the header is ignored and every client is
	// known by the address it connects from.
	TrustedProxies []netip.Prefix
	// MetricsToken is the bearer token GET /metrics on the API handler
	// requires. Empty (the default): the API handler does not serve the
	// metrics at all (404); serve MetricsHandler on a listener of its own
	// instead. The metrics describe the whole deployment's traffic and
	// failures, so they are never public where the API is.
	MetricsToken string
	// PublicURL is the URL clients reach the server at (e.g.
	// https://gatehouse.example.com): the MCP gateway's endpoint URLs
	// (token audiences) and metadata documents are built from it. Empty:
	// each request's own scheme and Host.
	PublicURL string
	// MCPAuthenticate, when set, replaces the MCP gateway's authenticator
	// (tests; see mcpAuthenticate).
	MCPAuthenticate mcpgw.Authenticator
	// MaxLongPolls bounds the long polls and event streams (?wait= on the
	// change feed, the audit log and approvals; the change feed's
	// server-sent events) one principal holds open on this server at once:
	// one more is 429 with Retry-After (longpoll.go). 0 means
	// DefaultMaxLongPolls (64); negative, no bound.
	MaxLongPolls int
	// MCPUpstreamAllow lists the loopback, private and link-local networks
	// MCP servers may be at (gatehouse serve --mcp-upstream-allow): the
	// import and the gateway dial nothing else inside the server's
	// networks, and never a metadata address (mcp.UpstreamPolicy;
	// docs/threat-model.md row 65). Empty: none.
	MCPUpstreamAllow []netip.Prefix
	// MCPUpstreamPorts, when not empty, are the only ports MCP servers
	// may be at inside MCPUpstreamAllow's networks (gatehouse serve
	// --mcp-upstream-ports; mcp.UpstreamPolicy.Ports).
	MCPUpstreamPorts []uint16
	// Console, when set, serves /console/ (the web console, package
	// internal/console): it is handed each request with RemoteAddr set to
	// the resolved client address (trusted proxies applied).
	Console http.Handler
}

// Server serves the API. Create it with New; it is an http.Handler.
type Server struct {
	dir            *directory.Directory
	store          store.Store
	auth           *auth.Service
	vault          *vault.Vault
	log            *slog.Logger
	consistency    time.Duration
	requestTimeout time.Duration
	maxBody        int64
	version        string
	trusted        []netip.Prefix
	metricsToken   string
	oidc           *oidcSignIn
	publicURL      string
	// https: the public URL is https (securityHeaders).
	https bool
	mcp   *mcpgw.Gateway
	// authRefusals is the flood control of auth.failure entries (API
	// routes and the MCP gateway).
	authRefusals audit.Throttle
	// mcpClient is the imports' client to MCP servers (over
	// mcp.UpstreamTransport with Config.MCPUpstreamAllow).
	mcpClient *http.Client

	mux *http.ServeMux
	top *http.ServeMux
	// patterns are top's, in registration order (Patterns).
	patterns []string
	// checkH is /check's handler, which ServeHTTP calls without the mux
	// (never nil once New returns).
	checkH  *routeHandler
	routes  []*Route
	metrics *metrics
	dm      map[string]decisionMetrics
	// dmCheck is dm["check"], read by every /check without the map
	// lookup (its string hash and a probe of the map's lines).
	dmCheck decisionMetrics

	reqPrefix string
	// reqSeq is written by every request that makes its own id: on a
	// cache line of its own, so that those writes do not take the lines
	// of the read-only fields every request reads (dir, auth, metrics…)
	// from the other cores.
	_      [64]byte
	reqSeq atomic.Uint64
	_      [56]byte

	openapi []byte

	// snapshots bounds the org snapshots being read and sent at once
	// (each holds its whole org in memory; changes.go).
	snapshots chan struct{}
	// longPolls bounds each principal's long polls and streams.
	longPolls *longPolls
}

// New builds a server from cfg.
func New(cfg Config) (*Server, error) {
	if cfg.Directory == nil || cfg.Store == nil || cfg.Auth == nil {
		return nil, errors.New("server: a directory, a store and an auth service are required")
	}
	s := &Server{
		dir: cfg.Directory, store: cfg.Store, auth: cfg.Auth, vault: cfg.Vault, log: cfg.Logger,
		consistency: cfg.ConsistencyTimeout, requestTimeout: cfg.RequestTimeout,
		maxBody: cfg.MaxBodyBytes, version: cfg.Version, trusted: cfg.TrustedProxies,
		metricsToken: cfg.MetricsToken, mux: http.NewServeMux(), publicURL: strings.TrimRight(cfg.PublicURL, "/"),
		snapshots: make(chan struct{}, maxSnapshots), longPolls: newLongPolls(cfg.MaxLongPolls),
		mcpClient: &http.Client{Transport: mcp.UpstreamTransport(mcp.UpstreamPolicy{Allow: cfg.MCPUpstreamAllow, Ports: cfg.MCPUpstreamPorts})},
	}
	s.https = strings.HasPrefix(strings.ToLower(s.publicURL), "https://")
	if s.log == nil {
		s.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if s.consistency <= 0 {
		s.consistency = 2 * time.Second
	}
	if s.requestTimeout <= 0 {
		s.requestTimeout = 15 * time.Second
	}
	if s.maxBody <= 0 {
		s.maxBody = DefaultMaxBody
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	s.reqPrefix = hex.EncodeToString(b[:]) + "-"
	s.metrics = newMetrics(s)
	s.dm = map[string]decisionMetrics{}
	for _, e := range []string{"check", "checks", "explain", "lookup_resources", "lookup_subjects", "permissions"} {
		s.dm[e] = s.metrics.forDecisions(e)
	}
	s.dmCheck = s.dm["check"]
	oidc, err := newOIDCSignIn(cfg.OIDC)
	if err != nil {
		return nil, err
	}
	s.oidc = oidc
	s.routes = s.routeTable()
	// s.mux holds the routes alone (Match, and telling 404 from 405);
	// s.top holds them plus a catch-all, so that a request is matched
	// once on its way to its route.
	s.top = http.NewServeMux()
	for _, rt := range s.routes {
		h := s.handler(rt)
		s.mux.Handle(rt.Pattern(), h)
		s.handle(rt.Pattern(), h)
		if rh, ok := h.(*routeHandler); ok && rt.Pattern() == checkRoutePattern {
			s.checkH = rh
		}
	}
	if s.checkH == nil {
		return nil, fmt.Errorf("server: the route table has no JSON route %q for the fast path", checkRoutePattern)
	}
	if cfg.Console != nil {
		s.handle("/console/", s.mounted(cfg.Console))
		s.handle("GET /console", http.RedirectHandler("/console/", http.StatusMovedPermanently))
	}
	if err := s.mountMCP(cfg); err != nil {
		return nil, err
	}
	s.handle("/", http.HandlerFunc(s.noRoute))
	doc, err := s.buildOpenAPI()
	if err != nil {
		return nil, fmt.Errorf("server: openapi: %w", err)
	}
	s.openapi = doc
	return s, nil
}

// Routes returns the route table (for documentation and tests).
func (s *Server) Routes() []*Route { return s.routes }

// handle registers h for pattern on the mux every request goes through,
// and remembers the pattern (Patterns).
func (s *Server) handle(pattern string, h http.Handler) {
	s.top.Handle(pattern, h)
	s.patterns = append(s.patterns, pattern)
}

// Patterns returns every pattern the server's mux serves, in the order
// they were registered: the route table's, then what is mounted beside it
// (the console, the MCP gateway, the catch-all). Tests walk it so that a
// mount added later is covered or named.
func (s *Server) Patterns() []string { return slices.Clone(s.patterns) }

// Match is the mux pattern a request would be routed to ("" for none).
func (s *Server) Match(r *http.Request) string {
	_, pattern := s.mux.Handler(r)
	return pattern
}

// ServeHTTP dispatches to the route table; unknown paths and methods are
// answered with problem documents (404, 405). POST /v1/orgs/{org}/check,
// the hot path, goes to its route's handler without the mux's match when
// its path is one the mux would route there unchanged (checkPathOrg); every
// other request, and every doubtful /check, goes through the mux.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.securityHeaders(w.Header(), r)
	if org, ok := checkPathOrg(r); ok {
		s.checkH.serve(w, r, org)
		return
	}
	s.top.ServeHTTP(w, r)
}

// Shared values of the security headers: read-only (their capacity is
// their length, so an Add elsewhere copies instead of writing into them).
var (
	hdrNosniff = []string{"nosniff"}[:1:1]
	hdrHSTS    = []string{"max-age=31536000"}[:1:1]
)

// securityHeaders sets the headers every answer carries, whatever answers
// it (a route, a problem, the health probes, the metrics, the MCP
// gateway, the console, the catch-all): X-Content-Type-Options: nosniff,
// so that no browser renders a JSON or problem document (which may quote
// what a caller sent) as anything else; and Strict-Transport-Security
// when the server is reached over HTTPS — the request came over TLS, or
// the public URL is https (a TLS-terminating proxy in front), the same
// test that makes the console's cookies Secure. A browser ignores HSTS on
// a plain-HTTP answer (RFC 6797 §8.1), so sending it behind a proxy is
// right. Not includeSubDomains: sibling hosts are not ours to pin.
// docs/threat-model.md row 77.
func (s *Server) securityHeaders(h http.Header, r *http.Request) {
	h["X-Content-Type-Options"] = hdrNosniff
	if s.https || r.TLS != nil {
		h["Strict-Transport-Security"] = hdrHSTS
	}
}

// checkRoutePattern is the route the fast path of ServeHTTP serves.
const checkRoutePattern = "POST /v1/orgs/{org}/check"

// checkPathOrg reports whether r is a POST to /v1/orgs/{org}/check that the
// mux would route to that pattern as it is (no redirect, no cleaning, no
// escapes to undo), and its {org}. Anything else is false and left to the
// mux: an empty org, "." or "..", a '/' or '%' in it, a raw (escaped) path,
// another method.
func checkPathOrg(r *http.Request) (string, bool) {
	if r.Method != http.MethodPost || r.URL.RawPath != "" {
		return "", false
	}
	rest, ok := strings.CutPrefix(r.URL.Path, "/v1/orgs/")
	if !ok {
		return "", false
	}
	org, ok := strings.CutSuffix(rest, "/check")
	if !ok || org == "" || org == "." || org == ".." || strings.ContainsAny(org, "/%") {
		return "", false
	}
	return org, true
}

// noRoute answers what no route matches: the routes-only mux decides
// between 404 and 405 (and its Allow header), then a problem is written.
func (s *Server) noRoute(w http.ResponseWriter, r *http.Request) {
	rec := &statusRecorder{header: http.Header{}}
	h, _ := s.mux.Handler(r)
	h.ServeHTTP(rec, r)
	reqID := s.requestID(r)
	w.Header().Set("X-Request-Id", reqID)
	if rec.status == http.StatusMethodNotAllowed {
		if allow := rec.header.Get("Allow"); allow != "" {
			w.Header().Set("Allow", allow)
		}
		s.writeProblem(w, r, reqID, problem(ProblemMethodNotAllowed, "%s is not allowed on %s", r.Method, r.URL.Path))
		return
	}
	s.writeProblem(w, r, reqID, problem(ProblemNotFound, "no route for %s %s", r.Method, r.URL.Path))
}

type statusRecorder struct {
	header http.Header
	status int
}

func (r *statusRecorder) Header() http.Header { return r.header }
func (r *statusRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
}
func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return len(b), nil
}

// ServeOptions tune Serve.
type ServeOptions struct {
	// ShutdownTimeout bounds draining in-flight requests (default 20s).
	ShutdownTimeout time.Duration
}

// writeMargin is how long past a request's own deadline the connection
// may still take to write its answer.
const writeMargin = 15 * time.Second

// HTTPServer returns an http.Server for s with conservative timeouts.
func (s *Server) HTTPServer() *http.Server {
	return &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      s.requestTimeout + writeMargin,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
}

// Serve serves on ln until ctx ends, then stops accepting and drains
// in-flight requests (bounded by opts.ShutdownTimeout). It returns nil
// after a clean shutdown.
func (s *Server) Serve(ctx context.Context, ln net.Listener, opts ServeOptions) error {
	if opts.ShutdownTimeout <= 0 {
		opts.ShutdownTimeout = 20 * time.Second
	}
	hs := s.HTTPServer()
	hs.BaseContext = func(net.Listener) context.Context { return context.WithoutCancel(ctx) }
	defer s.Close()
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	s.log.Info("shutting down: draining requests", "timeout", opts.ShutdownTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), opts.ShutdownTimeout)
	defer cancel()
	err := hs.Shutdown(sctx)
	if errors.Is(err, context.DeadlineExceeded) {
		// Draining took too long (or clients hold connections open without
		// sending a request): cut what is left. Not a failure of the server.
		s.log.Warn("shutdown: drain deadline passed; closing remaining connections", "timeout", opts.ShutdownTimeout)
		err = hs.Close()
	}
	if serr := <-errc; serr != nil && !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	if err != nil {
		return fmt.Errorf("server: shutdown: %w", err)
	}
	return nil
}

// metricsHandler serves /metrics on the API handler: only with the
// configured metrics token, and not at all without one.
func (s *Server) metricsHandler() http.Handler {
	if s.metricsToken == "" {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s.writeProblem(w, r, s.answerID(w, r), problem(ProblemNotFound,
				"metrics are not served on the API listener unless a metrics token is configured"))
		})
	}
	return s.MetricsHandler(s.metricsToken)
}

// MetricsHandler serves the Prometheus metrics, for a listener of their
// own (gatehouse serve --metrics-addr). With a token, a request must carry
// it as "Authorization: Bearer <token>" (compared in constant time) or is
// answered 401; without one, it serves anyone who can reach the listener.
func (s *Server) MetricsHandler(token string) http.Handler {
	h := promhttp.HandlerFor(s.metrics.reg, promhttp.HandlerOpts{})
	if token == "" {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s.securityHeaders(w.Header(), r)
			h.ServeHTTP(w, r)
		})
	}
	want := sha256.Sum256([]byte(token))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.securityHeaders(w.Header(), r)
		got, ok := bearerToken(r)
		gotSum := sha256.Sum256([]byte(got))
		if !ok || subtle.ConstantTimeCompare(gotSum[:], want[:]) != 1 {
			s.metrics.authFails.WithLabelValues("metrics_token").Inc()
			w.Header().Set("WWW-Authenticate", `Bearer realm="gatehouse metrics"`)
			s.writeProblem(w, r, s.answerID(w, r), problem(ProblemUnauthenticated, "the metrics need the metrics token as Authorization: Bearer <token>"))
			return
		}
		h.ServeHTTP(w, r)
	})
}

// answerID is the request id of a raw handler's answer: the one the route
// wrapper already set, or a new one (on a listener of its own).
func (s *Server) answerID(w http.ResponseWriter, r *http.Request) string {
	if id := w.Header().Get("X-Request-Id"); id != "" {
		return id
	}
	id := s.requestID(r)
	w.Header().Set("X-Request-Id", id)
	return id
}

// mounted hands a request to a handler mounted beside the API with
// RemoteAddr set to the client address the API would use (clientAddr),
// so that its rate limiting and audit entries see the same client.
func (s *Server) mounted(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r2 := *r
		r2.RemoteAddr = net.JoinHostPort(s.clientAddr(r), "0")
		h.ServeHTTP(w, &r2)
	})
}
