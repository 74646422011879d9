package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/api"
	"github.com/gatehouse-dev/gatehouse/internal/ident"
)

// Middleware for host platforms: Require("chains:run", ...) wraps a
// handler so that it runs only when Gatehouse allows the caller the
// permission on the request's resource.
//
//	guard, err := client.NewGuard(client.Remote(gh), client.InOrg("demo"))
//	mux.Handle("POST /chains/{ns}/{id}/run", guard.Require("chains:run",
//	    client.ResourceFrom(func(r *http.Request) (ns, typ, id string) {
//	        return r.PathValue("ns"), "chains", r.PathValue("id")
//	    }))(runHandler))
//
// The caller is resolved, by default, from the request's own bearer token
// (a Gatehouse API key or session): the check is made with that token and
// asks about its own principal, so it needs no other credential and
// resolves and decides in one round trip. With PrincipalFrom the host
// resolves the caller itself (its own sessions) and the check is made with
// the Remote client's credential, which then needs bindings:read in the
// namespaces it asks about. With Local the decision is made in-process by
// a LocalDecider, such as package client/embedded's Engine (no network;
// PrincipalFrom is required).
//
// Answers, fail closed:
//
//   - 401 (with WWW-Authenticate) when there is no caller: no or an
//     invalid token, or PrincipalFrom found none;
//   - DeniedStatus (default 403) when Gatehouse denies, when the caller is
//     not a member of the org (token mode), or when the request names a
//     resource Gatehouse rejects as malformed;
//   - 503 when no decision could be made: the server is unreachable, slow
//     (CheckTimeout), rate limiting, refuses the guard's own credential,
//     or the guard is misconfigured. Never a pass-through.
//
// The handler receives the decision (obligations and advice of agents) in
// the request context: DecisionFrom(r.Context()).
//
// Rate limiting in token mode: the server limits failed authentications
// per client address, and every check of the token mode comes from the
// host. The guard therefore sends the end user's address in
// X-Forwarded-For (the incoming chain plus the peer it saw); run the
// server with --trusted-proxy naming the host (and its load balancers) and
// the limit applies per end user. Without that, a burst of well-formed but
// forged tokens sent to the host limits the host's address — which then
// costs only store lookups: tokens the server verifies from memory (cached
// keys, sessions) keep working, and new ones wait out the limit (the
// middleware answers 503, failing closed). Tokens that are not even shaped
// like Gatehouse credentials are answered 401 locally and never count; for
// hosts exposed to untrusted callers, PrincipalFrom (the host
// authenticates, Gatehouse decides) avoids the question entirely.

// Guard holds the middleware's configuration; its Require methods wrap
// handlers. A Guard is safe for concurrent use.
type Guard struct {
	remote     *Client
	engine     LocalDecider
	org        func(*http.Request) string
	principal  func(*http.Request) (string, bool)
	resource   func(*http.Request) (ns, typ, id string)
	context    func(*http.Request) map[string]any
	onBehalfOf func(*http.Request) string
	denied     int
	approval   int // status of an approval_required answer (0: 403)
	timeout    time.Duration
	onError    func(*http.Request, error)
}

// MiddlewareOption configures a Guard or one Require.
type MiddlewareOption func(*Guard)

// Remote decides through the Gatehouse server c talks to.
func Remote(c *Client) MiddlewareOption { return func(g *Guard) { g.remote = c } }

// LocalCheck is the question a LocalDecider answers: may Principal do
// Action on Type/ID (ID "": the type) in Namespace of Org?
type LocalCheck struct {
	Org, Principal, Namespace, Type, ID, Action string
	Context                                     map[string]any
	OnBehalfOf                                  string
}

// LocalDecider decides in-process. Package client/embedded adapts an
// authz engine (embedded.Engine); it lives apart so that this package
// does not link the policy engine.
type LocalDecider interface {
	DecideLocal(LocalCheck) Decision
}

// LocalContextDecider is a LocalDecider that may need the request's
// context: embedded.EngineWithApprovals asks a server for the approval
// an approval_required answer needs. The middleware calls it instead of
// DecideLocal, with the request's context bounded by the guard's timeout.
type LocalContextDecider interface {
	LocalDecider
	DecideLocalContext(ctx context.Context, c LocalCheck) Decision
}

// Local decides with an in-process decider (no network); it needs
// PrincipalFrom. See package client/embedded.
func Local(d LocalDecider) MiddlewareOption { return func(g *Guard) { g.engine = d } }

// InOrg sets the org every check is about.
func InOrg(org string) MiddlewareOption {
	return func(g *Guard) { g.org = func(*http.Request) string { return org } }
}

// OrgFrom derives the org from the request (a host serving several orgs).
func OrgFrom(f func(*http.Request) string) MiddlewareOption { return func(g *Guard) { g.org = f } }

// PrincipalFrom resolves the caller ("user:alice") from the request; ok
// false (or "") answers 401. Without it the caller is the request's bearer
// token (Remote only).
func PrincipalFrom(f func(*http.Request) (principal string, ok bool)) MiddlewareOption {
	return func(g *Guard) { g.principal = f }
}

// ResourceFrom names the resource the request acts on: its namespace
// ("" = "default"), type ("" = the permission's type, which it must
// otherwise equal) and id ("" asks about the type in the namespace, as for
// chains:create).
func ResourceFrom(f func(*http.Request) (ns, typ, id string)) MiddlewareOption {
	return func(g *Guard) { g.resource = f }
}

// ContextFrom supplies the condition context (DESIGN §1.1.6) of a request.
func ContextFrom(f func(*http.Request) map[string]any) MiddlewareOption {
	return func(g *Guard) { g.context = f }
}

// OnBehalfOfFrom names the user an agent or service caller acts for (the
// decision is then the intersection, DESIGN §1.1.5); "" for none.
func OnBehalfOfFrom(f func(*http.Request) string) MiddlewareOption {
	return func(g *Guard) { g.onBehalfOf = f }
}

// DeniedStatus sets the status of a denial: 403 by default; Letta's
// documented behaviour is 401 (DeniedStatus(http.StatusUnauthorized)).
// Only 401, 403 and 404 are accepted.
func DeniedStatus(code int) MiddlewareOption { return func(g *Guard) { g.denied = code } }

// ApprovalStatus sets the status of an answer that needs a person's
// approval (DESIGN §1.1 item 8): 403 by default; 202 or 409 suit hosts
// whose clients wait and retry. The body is a problem of type
// approval-required whose approval_id names the approval to wait for.
// Only 202, 403, 409 and 428 are accepted.
func ApprovalStatus(code int) MiddlewareOption { return func(g *Guard) { g.approval = code } }

// CheckTimeout bounds a remote decision (default 5s); past it the answer
// is 503.
func CheckTimeout(d time.Duration) MiddlewareOption { return func(g *Guard) { g.timeout = d } }

// OnError receives every error that made the middleware answer 503 (and
// configuration errors), for logging. It must not write to the response.
func OnError(f func(*http.Request, error)) MiddlewareOption { return func(g *Guard) { g.onError = f } }

// ErrGuardConfig: a Guard or Require was configured inconsistently; every
// request it guards is answered 503.
var ErrGuardConfig = errors.New("client: middleware configuration")

// NewGuard validates the options common to a set of routes.
func NewGuard(opts ...MiddlewareOption) (*Guard, error) {
	g := &Guard{denied: http.StatusForbidden, timeout: 5 * time.Second}
	for _, o := range opts {
		if o != nil {
			o(g)
		}
	}
	return g, g.validate()
}

func (g *Guard) validate() error {
	switch {
	case g.remote == nil && g.engine == nil:
		return fmt.Errorf("%w: neither Remote nor Local (embedded.Engine)", ErrGuardConfig)
	case g.remote != nil && g.engine != nil:
		return fmt.Errorf("%w: both Remote and Local", ErrGuardConfig)
	case g.engine != nil && g.principal == nil:
		return fmt.Errorf("%w: Local needs PrincipalFrom (an engine cannot resolve tokens)", ErrGuardConfig)
	case g.org == nil:
		return fmt.Errorf("%w: no InOrg or OrgFrom", ErrGuardConfig)
	case g.denied != http.StatusUnauthorized && g.denied != http.StatusForbidden && g.denied != http.StatusNotFound:
		return fmt.Errorf("%w: DeniedStatus %d is not 401, 403 or 404", ErrGuardConfig, g.denied)
	case g.timeout <= 0:
		return fmt.Errorf("%w: CheckTimeout must be positive", ErrGuardConfig)
	case g.approval != 0 && g.approval != http.StatusAccepted && g.approval != http.StatusForbidden &&
		g.approval != http.StatusConflict && g.approval != http.StatusPreconditionRequired:
		return fmt.Errorf("%w: ApprovalStatus %d is not 202, 403, 409 or 428", ErrGuardConfig, g.approval)
	}
	return nil
}

// Require is the package-level form of Guard.Require: all options at once.
// A configuration error does not panic: every request is answered 503 and
// the error is passed to OnError.
func Require(permission string, opts ...MiddlewareOption) func(http.Handler) http.Handler {
	g := &Guard{denied: http.StatusForbidden, timeout: 5 * time.Second}
	return g.Require(permission, opts...)
}

// Require returns middleware that lets a request through only when the
// caller holds permission ("chains:run") on the request's resource. opts
// override the guard's for these routes.
func (g *Guard) Require(permission string, opts ...MiddlewareOption) func(http.Handler) http.Handler {
	rg := *g
	for _, o := range opts {
		if o != nil {
			o(&rg)
		}
	}
	err := rg.validate()
	perm, ok := parsePermission(permission)
	if err == nil && !ok {
		err = fmt.Errorf("%w: permission %q is not <type>:<action> without wildcards", ErrGuardConfig, permission)
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if err != nil {
				rg.fail(w, r, err)
				return
			}
			rg.serve(w, r, perm, next)
		})
	}
}

type decisionKey struct{}

// DecisionFrom returns the decision that let the request through (its
// obligations and advice, for an agent), when the request passed a
// Require.
func DecisionFrom(ctx context.Context) (Decision, bool) {
	d, ok := ctx.Value(decisionKey{}).(Decision)
	return d, ok
}

// outcome is what the middleware answers.
type outcome int

const (
	allow outcome = iota
	deny
	unauthenticated
	failed
	needsApproval // a deny that a person's approval would lift
)

func (g *Guard) serve(w http.ResponseWriter, r *http.Request, perm permission, next http.Handler) {
	org := g.org(r)
	ns, typ, id := "", perm.typ, ""
	if g.resource != nil {
		ns, typ, id = g.resource(r)
		if typ == "" {
			typ = perm.typ
		}
	}
	if org == "" {
		g.fail(w, r, fmt.Errorf("%w: no org for %s %s", ErrGuardConfig, r.Method, r.URL.Path))
		return
	}
	if typ != perm.typ {
		g.fail(w, r, fmt.Errorf("%w: resource type %q does not match permission %s", ErrGuardConfig, typ, perm))
		return
	}
	var (
		d   Decision
		out outcome
		err error
	)
	if g.engine != nil {
		d, out = g.embedded(r, org, ns, typ, id, perm.action)
	} else {
		d, out, err = g.remoteCheck(r, org, ns, typ, id, perm.String())
	}
	switch out {
	case allow:
		if !d.Allowed { // belt and braces: never pass without an allow
			g.fail(w, r, errors.New("client: internal: allow outcome without an allowed decision"))
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), decisionKey{}, d)))
	case deny:
		writeDenied(w, g.denied, perm.String())
	case needsApproval:
		writeApprovalRequired(w, g.approval, perm.String(), d.Approval)
	case unauthenticated:
		writeUnauthenticated(w)
	default:
		g.fail(w, r, err)
	}
}

// embedded decides in-process.
func (g *Guard) embedded(r *http.Request, org, ns, typ, id, action string) (Decision, outcome) {
	p, ok := g.principal(r)
	if !ok || p == "" {
		return Decision{}, unauthenticated
	}
	req := LocalCheck{Org: org, Principal: p, Namespace: ns, Type: typ, ID: id, Action: action}
	if g.context != nil {
		req.Context = g.context(r)
	}
	if g.onBehalfOf != nil {
		req.OnBehalfOf = g.onBehalfOf(r)
	}
	if req.Namespace == "" {
		req.Namespace = "default"
	}
	var d Decision
	if cd, ok := g.engine.(LocalContextDecider); ok {
		ctx, cancel := context.WithTimeout(r.Context(), g.timeout)
		d = cd.DecideLocalContext(ctx, req)
		cancel()
	} else {
		d = g.engine.DecideLocal(req)
	}
	if NeedsApproval(d) {
		return d, needsApproval
	}
	if !d.Allowed {
		return Decision{}, deny
	}
	return d, allow
}

// permission is "<type>:<action>" without wildcards.
type permission struct{ typ, action string }

func (p permission) String() string { return p.typ + ":" + p.action }

// parsePermission accepts "<type>:<action>", each an identifier (a
// letter, then letters, digits, '_' or '-'), as policy.ParsePermission
// does, and refuses wildcards.
func parsePermission(s string) (permission, bool) {
	typ, act, ok := strings.Cut(s, ":")
	if !ok || !isIdent(typ) || !isIdent(act) {
		return permission{}, false
	}
	return permission{typ, act}, true
}

func isIdent(s string) bool { return ident.IsIdent(s) }

// remoteCheck decides through the server.
func (g *Guard) remoteCheck(r *http.Request, org, ns, typ, id, action string) (Decision, outcome, error) {
	req := CheckRequest{Action: action, Namespace: ns}
	if id != "" {
		req.Resource = typ + "/" + id
	}
	if g.context != nil {
		req.Context = g.context(r)
	}
	if g.onBehalfOf != nil {
		req.OnBehalfOf = g.onBehalfOf(r)
	}
	c := g.remote
	tokenMode := g.principal == nil
	if tokenMode {
		tok, ok := bearer(r)
		if !ok || !plausibleToken(tok) {
			return Decision{}, unauthenticated, nil
		}
		c = c.WithToken(tok).ForwardingFor(forwardedChain(r))
	} else {
		p, ok := g.principal(r)
		if !ok || p == "" {
			return Decision{}, unauthenticated, nil
		}
		req.Principal = p
	}
	ctx, cancel := context.WithTimeout(r.Context(), g.timeout)
	defer cancel()
	d, err := c.Check(ctx, org, req)
	switch {
	case err == nil && d.Allowed:
		return d, allow, nil
	case err == nil && NeedsApproval(d):
		return d, needsApproval, nil
	case err == nil:
		return Decision{}, deny, nil
	case IsUnauthenticated(err) && tokenMode:
		return Decision{}, unauthenticated, nil
	case IsNotFound(err) && tokenMode:
		// The caller is not a member of the org: a denial.
		return Decision{}, deny, nil
	case IsInvalid(err):
		// The request names something that cannot exist (a malformed id
		// or namespace): nothing can be allowed on it.
		return Decision{}, deny, nil
	}
	// No decision: the guard's own credential was refused (401, 403, 404
	// in PrincipalFrom mode), rate limiting, unavailability, transport.
	return Decision{}, failed, err
}

// forwardedChain is the X-Forwarded-For the guard sends: the chain the
// request arrived with, then the address of the peer that sent it.
func forwardedChain(r *http.Request) string {
	peer, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		peer = r.RemoteAddr
	}
	if _, err := netip.ParseAddr(peer); err != nil {
		peer = "" // not an IP (a test's or a unix socket's RemoteAddr)
	}
	prev := strings.Join(r.Header.Values("X-Forwarded-For"), ", ")
	switch {
	case prev == "":
		return peer
	case peer == "":
		return prev
	}
	return prev + ", " + peer
}

// plausibleToken is a loose shape check of a Gatehouse credential: an API
// key ("gth_…") or a session token (a JWT: three base64url parts). It is
// no validation — the server decides — but garbage is answered 401 here
// without a round trip, so that it does not count against the host's
// address in the server's failed-authentication limit (see the package
// documentation of Require).
func plausibleToken(tok string) bool {
	if len(tok) > 8192 {
		return false
	}
	for i := 0; i < len(tok); i++ {
		c := tok[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.') {
			return false
		}
	}
	return strings.HasPrefix(tok, "gth_") || strings.Count(tok, ".") == 2
}

// bearer extracts "Authorization: Bearer <token>".
func bearer(r *http.Request) (string, bool) {
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	tok = strings.TrimSpace(tok)
	if !ok || !strings.EqualFold(scheme, "Bearer") || tok == "" || strings.ContainsAny(tok, " \t\r\n") {
		return "", false
	}
	return tok, true
}

func (g *Guard) fail(w http.ResponseWriter, r *http.Request, err error) {
	if err == nil {
		err = errors.New("client: no decision")
	}
	if g.onError != nil {
		g.onError(r, err)
	}
	w.Header().Set("Retry-After", "1")
	writeProblem(w, http.StatusServiceUnavailable, KindUnavailable, "Service unavailable", "the authorization service could not decide; retry", "")
}

func writeDenied(w http.ResponseWriter, status int, perm string) {
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="gatehouse"`)
	}
	switch status {
	case http.StatusNotFound:
		writeProblem(w, status, KindNotFound, "Not found", "not found", "")
	default:
		writeProblem(w, status, KindForbidden, "Permission denied", "requires "+perm, perm)
	}
}

func writeUnauthenticated(w http.ResponseWriter) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="gatehouse"`)
	writeProblem(w, http.StatusUnauthorized, KindUnauthenticated, "Authentication required", "missing, invalid or expired credentials", "")
}

func writeProblem(w http.ResponseWriter, status int, kind, title, detail, missing string) {
	b, _ := json.Marshal(struct {
		Type              string `json:"type"`
		Title             string `json:"title"`
		Status            int    `json:"status"`
		Detail            string `json:"detail"`
		MissingPermission string `json:"missing_permission,omitempty"`
	}{ProblemBase + kind, title, status, detail, missing})
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

// writeApprovalRequired answers a request that needs approval: a problem of
// type approval-required naming the approval (none from an embedded
// engine, which keeps no approvals).
func writeApprovalRequired(w http.ResponseWriter, status int, perm string, ap *Approval) {
	if status == 0 {
		status = http.StatusForbidden
	}
	body := struct {
		Type              string `json:"type"`
		Title             string `json:"title"`
		Status            int    `json:"status"`
		Detail            string `json:"detail"`
		MissingPermission string `json:"missing_permission,omitempty"`
		ApprovalID        string `json:"approval_id,omitempty"`
		ApprovalStatus    string `json:"approval_status,omitempty"`
	}{Type: ProblemBase + api.ProblemApprovalRequired, Title: "Approval required", Status: status,
		Detail: perm + " needs a person's approval first", MissingPermission: perm}
	if ap != nil {
		body.ApprovalID, body.ApprovalStatus = ap.ID, ap.Status
		body.Detail += "; wait for approval " + ap.ID + " and retry presenting it"
	}
	b, _ := json.Marshal(body)
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}
