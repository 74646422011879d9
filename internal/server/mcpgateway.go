package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/auth"
	"github.com/gatehouse-dev/gatehouse/internal/mcp"
	"github.com/gatehouse-dev/gatehouse/internal/mcpgw"
)

// The MCP gateway (package mcpgw, docs/mcp-gateway.md) is mounted beside
// the API, not in the route table: /mcp/{org}/{namespace}/{server} speaks
// the MCP streamable HTTP transport (JSON-RPC), not the API's JSON and
// problem documents, so it is not an OpenAPI operation. Its protected
// resource metadata (RFC 9728) is at
// /.well-known/oauth-protected-resource/mcp/{org}/{namespace}/{server}.

func (s *Server) mountMCP(cfg Config) error {
	authn := cfg.MCPAuthenticate
	if authn == nil {
		authn = s.mcpAuthenticate
	}
	gw, err := mcpgw.New(mcpgw.Config{
		Directory: s.dir, Store: s.store, Vault: s.vault, Authenticate: authn,
		BaseURL: s.publicBase, ClientAddr: s.clientAddr, RequestID: s.mountedRequestID, Logger: s.log,
		UpstreamPolicy: mcp.UpstreamPolicy{Allow: cfg.MCPUpstreamAllow, Ports: cfg.MCPUpstreamPorts},
		HoldWait:       s.holdMCPWait,
	})
	if err != nil {
		return err
	}
	s.mcp = gw
	s.handle(mcpgw.Prefix, s.withRequestID(gw))
	s.handle(mcpgw.MetadataPrefix, s.withRequestID(gw))
	return nil
}

type requestIDKey struct{}

// withRequestID gives a request to a handler mounted beside the route
// table an id, as the routes do: in its answer's X-Request-Id, and in its
// context for mountedRequestID (its audit entries).
func (s *Server) withRequestID(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := s.requestID(r)
		w.Header().Set("X-Request-Id", id)
		h.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), requestIDKey{}, id)))
	})
}

// mountedRequestID is the id withRequestID gave r (a new one if none).
func (s *Server) mountedRequestID(r *http.Request) string {
	if id, ok := r.Context().Value(requestIDKey{}).(string); ok {
		return id
	}
	return s.requestID(r)
}

// holdMCPWait takes one of principal's long-poll slots for a gateway
// call that waits for an approval (wait_for_approval): those waits hold a
// goroutine and a connection as the API's long polls do, and count toward
// the same --max-long-polls (docs/threat-model.md row 78).
func (s *Server) holdMCPWait(principal string) (func(), error) {
	release, err := s.longPolls.hold(principal)
	if p, ok := errors.AsType[*Problem](err); ok {
		return nil, &mcpgw.BusyError{Type: p.Type, Detail: p.Detail, RetryAfter: time.Duration(p.RetryAfter) * time.Second}
	}
	return release, err
}

// mcpAuthenticate authenticates a gateway caller: an agent token minted
// for this endpoint's URL (audience; docs/agents.md "Agent tokens"),
// acting on behalf of its user, or any credential the API accepts (a
// service's API key, a session). An agent token for another audience, or
// of an agent that cannot act now, is 401.
func (s *Server) mcpAuthenticate(ctx context.Context, r *http.Request, audience string) (mcpgw.Caller, error) {
	cred, ok := bearerToken(r)
	if !ok {
		s.metrics.authFails.WithLabelValues("missing").Inc()
		return mcpgw.Caller{}, mcpgw.ErrUnauthenticated
	}
	addr := s.clientAddr(r)
	id, err := s.auth.AuthenticateAudience(ctx, cred, audience, addr)
	switch {
	case errors.Is(err, auth.ErrRateLimited):
		s.metrics.authFails.WithLabelValues("rate_limited").Inc()
		s.recordRefusedCredential(ctx, "route/mcp", addr, s.mountedRequestID(r), "", cred, err)
		return mcpgw.Caller{}, fmt.Errorf("%w: %w", mcpgw.ErrRateLimited, err)
	case errors.Is(err, auth.ErrUnauthenticated):
		s.metrics.authFails.WithLabelValues("unauthenticated").Inc()
		s.recordRefusedCredential(ctx, "route/mcp", addr, s.mountedRequestID(r), "", cred, err)
		return mcpgw.Caller{}, fmt.Errorf("%w: %w", mcpgw.ErrUnauthenticated, err)
	case errors.Is(err, auth.ErrOutranksMinter):
		s.recordOutranked(ctx, err, "mcp", addr, s.mountedRequestID(r))
		return mcpgw.Caller{}, &mcpgw.RefusedError{Code: "credential_outranks_minter", Detail: err.Error()}
	case err != nil:
		return mcpgw.Caller{}, err
	}
	return mcpgw.Caller{Principal: id.Principal, Org: id.Org, OnBehalfOf: id.OnBehalfOf, MintedBy: id.MintedBy}, nil
}

// publicBase is the URL clients reach the server at: Config.PublicURL, or
// else the request's own scheme and host (X-Forwarded-Proto believed from
// a trusted proxy only).
func (s *Server) publicBase(r *http.Request) string {
	if s.publicURL != "" {
		return s.publicURL
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	} else if p := r.Header.Get("X-Forwarded-Proto"); (p == "https" || p == "http") && s.fromTrustedProxy(r) {
		scheme = p
	}
	return scheme + "://" + r.Host
}

func (s *Server) fromTrustedProxy(r *http.Request) bool {
	host := r.RemoteAddr
	if i := strings.LastIndexByte(host, ':'); i >= 0 {
		host = strings.Trim(host[:i], "[]")
	}
	return len(s.trusted) > 0 && s.isTrusted(host)
}

// Close releases what the server holds beyond its listener (the MCP
// gateway's and the imports' upstream connections). Serve calls it when
// it returns.
func (s *Server) Close() error {
	s.mcpClient.CloseIdleConnections() // the imports' upstream connections
	if s.mcp != nil {
		return s.mcp.Close()
	}
	return nil
}
