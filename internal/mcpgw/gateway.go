// Package mcpgw is Gatehouse's MCP gateway (DESIGN §9): each MCP server
// registered as the resource mcp_servers/<name> in a namespace is served
// at /mcp/{org}/{namespace}/{name} (streamable HTTP, the official Go SDK
// on both sides), and every tool call through it is a Gatehouse decision.
//
// Invariants:
//
//   - Authenticated or nothing: a request without a credential the
//     Authenticator accepts is answered 401 with the RFC 9728
//     WWW-Authenticate challenge naming the endpoint's protected
//     resource metadata, which the gateway publishes.
//   - No existence leak: a caller that is not a member of the org (or
//     whose credential is confined to another org), an unknown namespace
//     or server, and a malformed path are one answer, 404.
//   - tools/list shows a tool only when it is imported as the resource
//     tools/<server>.<tool> in the namespace, the upstream lists it, and
//     the caller may call it under some context (conditional and
//     approval-gated tools are listed; their calls are decided one by one).
//   - tools/call is decided as tools:call on tools/<server>.<tool> with
//     context.input = the arguments, for the caller and the user it acts
//     for; nothing reaches the upstream unless the decision is an allow
//     (or a granted approval of exactly this question, consumed once).
//     Deny and approval_required are tool results with isError set that
//     say why; a decision that cannot be made (or audited) fails closed.
//   - The upstream credential comes from the vault (Vault.Inject, its own
//     rules and audit entry), is put on the upstream requests only, and is
//     replaced by [REDACTED:<NAME>] in everything the upstream answers
//     before the agent sees it. It is never in an audit entry or a log.
//   - Every call is an audit entry (mcp.call), written durably before the
//     answer: denials and approval_required included.
//   - A request body is one JSON value that every parser reads alike (no
//     member named twice or twice but for case, nothing after it, at
//     most maxNesting deep, at most maxBody bytes), or it is refused
//     before the SDK reads it (args.go): the arguments decided are the
//     arguments forwarded.
package mcpgw

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	mcpauth "github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/modelcontextprotocol/go-sdk/oauthex"

	"github.com/gatehouse-dev/gatehouse/internal/directory"
	mcpspec "github.com/gatehouse-dev/gatehouse/internal/mcp"
	"github.com/gatehouse-dev/gatehouse/internal/store"
	"github.com/gatehouse-dev/gatehouse/internal/vault"
)

// Caller is who calls through the gateway: a principal of Org (empty:
// any org its credential may act in), acting for OnBehalfOf when set.
type Caller struct {
	Principal, Org, OnBehalfOf string
	// MintedBy is who minted the caller's credential for it (an agent
	// token's minter): it may not approve what the caller asks.
	MintedBy string
}

// Authenticator resolves a request's credential for the endpoint whose
// absolute URL is audience. An error wrapping ErrUnauthenticated is a
// 401, a *RefusedError a 403; any other error is a 503 (fail closed,
// no detail).
type Authenticator func(ctx context.Context, r *http.Request, audience string) (Caller, error)

// ErrUnauthenticated: the request carries no credential the gateway
// accepts for the endpoint.
var ErrUnauthenticated = errors.New("mcpgw: unauthenticated")

// ErrRateLimited: too many failed attempts from the client (429).
var ErrRateLimited = errors.New("mcpgw: rate limited")

// RefusedError: the credential verified but may not be used (403, with
// Code and Detail, which the Authenticator vouches are safe to show the
// credential's holder).
type RefusedError struct{ Code, Detail string }

func (e *RefusedError) Error() string { return "mcpgw: refused: " + e.Detail }

// Paths.
const (
	// Prefix starts every gateway endpoint: /mcp/{org}/{namespace}/{server}.
	Prefix = "/mcp/"
	// MetadataPrefix starts every endpoint's protected resource metadata
	// (RFC 9728 §3.1: the well-known name inserted before the path).
	MetadataPrefix = "/.well-known/oauth-protected-resource/mcp/"
)

// Config configures a Gateway.
type Config struct {
	Directory *directory.Directory
	// Store is read on the server's own behalf: the mcp_servers and tools
	// resources of a namespace.
	Store store.Store
	// Vault releases upstream credentials; nil: a server whose spec names
	// a credential cannot be reached (its calls fail closed).
	Vault *vault.Vault
	// Authenticate resolves callers (required).
	Authenticate Authenticator
	// BaseURL is the public URL of the server for a request (no trailing
	// slash), e.g. "https://gatehouse.example.com": endpoint audiences and
	// metadata documents are built from it (required).
	BaseURL func(r *http.Request) string
	// ClientAddr is the client address of a request for the audit log
	// (nil: RemoteAddr's host).
	ClientAddr func(r *http.Request) string
	// RequestID names a request in audit entries (nil: none).
	RequestID func(r *http.Request) string
	// Upstream makes the requests to MCP servers (its Transport is
	// wrapped to inject credentials); nil: a client with a 60s timeout
	// over mcp.UpstreamTransport(UpstreamPolicy).
	Upstream *http.Client
	// UpstreamPolicy says which addresses inside the server's networks
	// MCP servers may be at when Upstream is nil (the zero policy: none).
	UpstreamPolicy mcpspec.UpstreamPolicy
	// IdleTimeout closes an upstream connection (and an MCP session)
	// unused this long; 0 means 10 minutes.
	IdleTimeout time.Duration
	// Logger receives warnings; nil discards.
	Logger *slog.Logger
	// HoldWait, when set, takes one of principal's long-poll slots before
	// a tools/call waits for a pending approval (a server's
	// wait_for_approval), and its release gives the slot back when the
	// wait ends, however it ends. An error refuses the wait: a *BusyError
	// is answered as such (CodeBusy), anything else as an internal error.
	// nil: waits are not bounded by the gateway.
	HoldWait func(principal string) (release func(), err error)
}

// CodeBusy is the JSON-RPC error code of a tools/call refused because its
// caller already holds as many waits (and long polls) as it may: the
// MCP form of the API's 429 (JSON-RPC leaves -32000 to -32099 to
// servers). Its data is {"status": 429, "type", "retry_after" (seconds)}
// and, when the call created or found one, "approval": the pending
// approval to come back for.
const CodeBusy = -32029

// BusyError refuses a wait (Config.HoldWait): Detail is said to the
// caller, Type is the API's problem type for the same refusal, and
// RetryAfter when to try again.
type BusyError struct {
	Type, Detail string
	RetryAfter   time.Duration
}

func (e *BusyError) Error() string { return "mcpgw: busy: " + e.Detail }

// Gateway serves the MCP endpoints. It is an http.Handler for the paths
// under Prefix and MetadataPrefix. Close releases its upstream
// connections.
type Gateway struct {
	cfg  Config
	log  *slog.Logger
	mcp  *mcp.Server
	h    http.Handler
	cats *catalogs
	pool *pool
	// callables remembers tool lookups per caller and revision.
	callables callableCache
	idle      time.Duration

	closeOnce sync.Once
	stop      chan struct{}
}

// New builds a gateway.
func New(cfg Config) (*Gateway, error) {
	if cfg.Directory == nil || cfg.Store == nil || cfg.Authenticate == nil || cfg.BaseURL == nil {
		return nil, errors.New("mcpgw: a directory, a store, an authenticator and a base URL are required")
	}
	g := &Gateway{cfg: cfg, log: cfg.Logger, idle: cfg.IdleTimeout, stop: make(chan struct{})}
	if g.log == nil {
		g.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if g.idle <= 0 {
		g.idle = 10 * time.Minute
	}
	base := cfg.Upstream
	if base == nil {
		base = defaultUpstreamClient(cfg.UpstreamPolicy)
	}
	g.cats = newCatalogs(cfg.Store, cfg.Directory)
	g.pool = newPool(g, base)
	g.mcp = mcp.NewServer(&mcp.Implementation{Name: "gatehouse-mcp-gateway", Version: "1"}, &mcp.ServerOptions{
		Capabilities: &mcp.ServerCapabilities{Tools: &mcp.ToolCapabilities{}},
		Instructions: "Tools behind a Gatehouse gateway: every call is authorized, and may be refused with an explanation or held for a person's approval.",
		Logger:       g.log,
	})
	g.mcp.AddReceivingMiddleware(g.middleware)
	sh := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return g.mcp }, &mcp.StreamableHTTPOptions{
		JSONResponse:   true,
		SessionTimeout: g.idle,
		Logger:         g.log,
		// The gateway is an API server behind its own authentication; a
		// loopback listener reached through a proxy keeps working.
		DisableLocalhostProtection: true,
	})
	// The SDK reads the caller from its own context key (and binds every
	// MCP session to the caller that opened it); the caller was resolved
	// by serveEndpoint, so the verifier only hands it over.
	g.h = mcpauth.RequireBearerToken(func(ctx context.Context, _ string, _ *http.Request) (*mcpauth.TokenInfo, error) {
		in, ok := ctx.Value(reqKey{}).(*request)
		if !ok {
			return nil, mcpauth.ErrInvalidToken
		}
		return &mcpauth.TokenInfo{UserID: in.binding(), Extra: map[string]any{extraKey: in}}, nil
	}, &mcpauth.RequireBearerTokenOptions{AllowMissingExpiration: true})(sh)
	go g.pool.janitor(g.stop)
	return g, nil
}

// Upstream connection reuse. Calls of many agents to one upstream run
// concurrently, each on a connection of its own; a connection that finds
// no room among the idle ones when its call ends is closed, and the next
// call over that many dials again. The transport therefore keeps as many
// idle as calls were recently in flight, up to upstreamIdlePerHost (and
// upstreamIdleTotal over all upstreams; idle ones close after
// upstreamIdleTimeout). With Go's defaults (2 per host, 100 in all) or
// the 64 this replaced, a burst above that — exactly when the gateway is
// behind — turned into a dial per call: 11 % of gatehouse's CPU in a
// profile of a gateway overloaded at 700 calls/s (docs/benchmarks.md,
// "MCP gateway: the SDK's floor"), which kept it behind longer.
const (
	upstreamIdlePerHost = 1024
	upstreamIdleTotal   = 4096
	upstreamIdleTimeout = 90 * time.Second
)

// defaultUpstreamClient is the client of Config.Upstream's nil default.
func defaultUpstreamClient(p mcpspec.UpstreamPolicy) *http.Client {
	tr := mcpspec.UpstreamTransport(p) // refuses what p does not allow
	tr.MaxIdleConnsPerHost = upstreamIdlePerHost
	tr.MaxIdleConns = upstreamIdleTotal
	tr.IdleConnTimeout = upstreamIdleTimeout
	return &http.Client{Timeout: 60 * time.Second, Transport: tr}
}

// Close closes every upstream connection.
func (g *Gateway) Close() error {
	g.closeOnce.Do(func() {
		close(g.stop)
		g.pool.closeAll()
	})
	return nil
}

// endpoint names one gateway endpoint.
type endpoint struct{ org, ns, server string }

func (e endpoint) path() string { return Prefix + e.org + "/" + e.ns + "/" + e.server }
func (e endpoint) key() string  { return e.org + "/" + e.ns + "/" + e.server }

// parseEndpoint reads {org}/{namespace}/{server} (rest is what follows
// the prefix).
func parseEndpoint(rest string) (endpoint, bool) {
	parts := strings.Split(rest, "/")
	if len(parts) != 3 {
		return endpoint{}, false
	}
	for _, p := range parts {
		if !validSegment(p) {
			return endpoint{}, false
		}
	}
	return endpoint{org: parts[0], ns: parts[1], server: parts[2]}, true
}

// validSegment: an org, namespace or server name (a slug or a resource
// id without '/': 1 to 128 bytes of letters, digits, '-', '_', '.').
func validSegment(s string) bool {
	if len(s) == 0 || len(s) > 128 || s == "." || s == ".." {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// ServeHTTP serves an endpoint or its metadata document.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if rest, ok := strings.CutPrefix(r.URL.Path, MetadataPrefix); ok {
		g.serveMetadata(w, r, rest)
		return
	}
	if rest, ok := strings.CutPrefix(r.URL.Path, Prefix); ok {
		g.serveEndpoint(w, r, rest)
		return
	}
	notFound(w)
}

// Audience is the absolute URL of an endpoint: what an audience-bound
// token for it names.
func (g *Gateway) audience(r *http.Request, e endpoint) string {
	return strings.TrimRight(g.cfg.BaseURL(r), "/") + e.path()
}

func (g *Gateway) metadataURL(r *http.Request, e endpoint) string {
	return strings.TrimRight(g.cfg.BaseURL(r), "/") + MetadataPrefix + e.key()
}

// serveMetadata publishes the endpoint's protected resource metadata
// (RFC 9728). It is public and says nothing about whether the server
// exists (the same document for any well-formed path).
func (g *Gateway) serveMetadata(w http.ResponseWriter, r *http.Request, rest string) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeError(w, http.StatusMethodNotAllowed, "method_not_allowed", "the metadata document is read with GET")
		return
	}
	e, ok := parseEndpoint(rest)
	if !ok {
		notFound(w)
		return
	}
	if !strictBody(w, r) {
		return
	}
	base := strings.TrimRight(g.cfg.BaseURL(r), "/")
	doc := oauthex.ProtectedResourceMetadata{
		Resource:               base + e.path(),
		AuthorizationServers:   []string{base},
		BearerMethodsSupported: []string{"header"},
		ResourceName:           "Gatehouse MCP gateway " + e.key(),
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	_ = json.NewEncoder(w).Encode(doc)
}

// request is an authenticated request to an endpoint, handed to the MCP
// handlers through the SDK's token info.
type request struct {
	ep         endpoint
	caller     Caller
	clientAddr string
	requestID  string
}

// binding ties an MCP session to the caller and endpoint that opened it:
// a session id presented by anyone else, or at another endpoint, is
// refused by the SDK (403).
func (in *request) binding() string {
	return in.caller.Principal + "\x00" + in.caller.OnBehalfOf + "\x00" + in.ep.key()
}

func (in *request) actor() directory.Actor {
	return directory.Actor{Principal: in.caller.Principal, ClientAddr: in.clientAddr, RequestID: in.requestID, MintedBy: in.caller.MintedBy}
}

type reqKey struct{}

const extraKey = "gatehouse/request"

func (g *Gateway) serveEndpoint(w http.ResponseWriter, r *http.Request, rest string) {
	e, ok := parseEndpoint(rest)
	if !ok {
		notFound(w)
		return
	}
	c, err := g.cfg.Authenticate(r.Context(), r, g.audience(r, e))
	if errors.Is(err, ErrUnauthenticated) {
		w.Header().Set("WWW-Authenticate", fmt.Sprintf("Bearer resource_metadata=%q", g.metadataURL(r, e)))
		writeError(w, http.StatusUnauthorized, "unauthenticated", "an Authorization: Bearer credential for this endpoint is required; see the resource_metadata URL in WWW-Authenticate")
		return
	}
	if errors.Is(err, ErrRateLimited) {
		w.Header().Set("Retry-After", "60")
		writeError(w, http.StatusTooManyRequests, "rate_limited", "too many failed authentication attempts; retry later")
		return
	}
	if re := (*RefusedError)(nil); errors.As(err, &re) {
		writeError(w, http.StatusForbidden, re.Code, re.Detail)
		return
	}
	if err != nil {
		g.log.Warn("mcpgw: authentication failed", "endpoint", e.key(), "err", err)
		writeError(w, http.StatusServiceUnavailable, "unavailable", "authentication is unavailable; retry")
		return
	}
	// Not a member of the org, a credential confined elsewhere, an
	// unknown namespace or server: one answer.
	if (c.Org != "" && c.Org != e.org) || !g.cfg.Directory.IsMember(e.org, c.Principal) {
		notFound(w)
		return
	}
	cat, err := g.cats.server(r.Context(), e)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			notFound(w)
			return
		}
		g.log.Warn("mcpgw: reading the server failed", "endpoint", e.key(), "err", err)
		writeError(w, http.StatusServiceUnavailable, "unavailable", "the gateway cannot read its configuration; retry")
		return
	}
	if cat.srv != nil && cat.srv.wait > 0 {
		// A call may wait for an approval longer than the API's write
		// timeout allows an answer.
		_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(cat.srv.wait + 30*time.Second))
	}
	if !strictBody(w, r) {
		return
	}
	in := &request{ep: e, caller: c}
	if g.cfg.ClientAddr != nil {
		in.clientAddr = g.cfg.ClientAddr(r)
	}
	if g.cfg.RequestID != nil {
		in.requestID = g.cfg.RequestID(r)
	}
	g.h.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), reqKey{}, in)))
}

func notFound(w http.ResponseWriter) {
	writeError(w, http.StatusNotFound, "not_found", "no MCP server here")
}

// writeError answers a plain HTTP error as a small JSON document.
func writeError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": msg})
}
