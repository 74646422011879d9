package server

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/gatehouse-dev/gatehouse/internal/auth"
)

// OIDCProvider lets an org's people sign in with its identity provider
// (docs/oidc.md): OpenID Connect authorization code flow with PKCE.
type OIDCProvider struct {
	Org          string // the org it signs people in to
	Issuer       string // discovery at Issuer + "/.well-known/openid-configuration"
	ClientID     string
	ClientSecret string
	// RedirectURL is this server's callback as registered with the
	// provider: https://HOST/v1/auth/oidc/{org}/callback.
	RedirectURL string
	Scopes      []string // default: openid, email, profile
	// Provision, when set, creates a user on first sign-in (the org
	// setting "provision users"); nil signs in existing members only.
	Provision *auth.OIDCProvisioning
	// HTTPClient is used for discovery, keys and the token exchange (nil:
	// http.DefaultClient with a 10 s timeout).
	HTTPClient *http.Client
}

const (
	oidcCookie     = "gatehouse_oidc"
	oidcPendingTTL = 10 * time.Minute
	oidcMaxPending = 10_000
)

// oidcSignIn holds the providers and the sign-ins under way. A pending
// sign-in lives in this process's memory: with several replicas, the
// load balancer must send the callback to the replica that started it
// (session affinity), or the callback fails closed (docs/oidc.md).
type oidcSignIn struct {
	mu        sync.Mutex
	providers map[string]*OIDCProvider // by org
	ready     map[string]*oidcReady
	pending   map[string]oidcPending // by state
}

type oidcReady struct {
	verifier *oidc.IDTokenVerifier
	conf     oauth2.Config
	client   *http.Client
}

type oidcPending struct {
	org, nonce, verifier string
	binding              [32]byte // sha256 of the browser cookie's value
	expires              time.Time
}

func newOIDCSignIn(ps []OIDCProvider) (*oidcSignIn, error) {
	o := &oidcSignIn{providers: map[string]*OIDCProvider{}, ready: map[string]*oidcReady{}, pending: map[string]oidcPending{}}
	for i := range ps {
		p := ps[i]
		if p.Org == "" || p.Issuer == "" || p.ClientID == "" || p.RedirectURL == "" {
			return nil, errors.New("server: an OIDC provider needs an org, an issuer, a client id and a redirect URL")
		}
		if _, dup := o.providers[p.Org]; dup {
			return nil, errors.New("server: two OIDC providers for org " + p.Org)
		}
		o.providers[p.Org] = &p
	}
	return o, nil
}

// provider discovers (once) the org's provider.
func (o *oidcSignIn) provider(ctx context.Context, org string) (*oidcReady, *OIDCProvider, error) {
	o.mu.Lock()
	p, ok := o.providers[org]
	r := o.ready[org]
	o.mu.Unlock()
	if !ok {
		return nil, nil, problem(ProblemNotFound, "org %q has no single sign-on", org)
	}
	if r != nil {
		return r, p, nil
	}
	hc := p.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 10 * time.Second}
	}
	dctx := oidc.ClientContext(ctx, hc)
	prov, err := oidc.NewProvider(dctx, p.Issuer)
	if err != nil {
		return nil, nil, problem(ProblemUnavailable, "the identity provider of org %q cannot be reached: %v", org, err)
	}
	scopes := p.Scopes
	if len(scopes) == 0 {
		scopes = []string{oidc.ScopeOpenID, "email", "profile"}
	}
	r = &oidcReady{
		verifier: prov.Verifier(&oidc.Config{ClientID: p.ClientID}),
		conf: oauth2.Config{ClientID: p.ClientID, ClientSecret: p.ClientSecret, RedirectURL: p.RedirectURL,
			Endpoint: prov.Endpoint(), Scopes: scopes},
		client: hc,
	}
	o.mu.Lock()
	o.ready[org] = r
	o.mu.Unlock()
	return r, p, nil
}

func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// add remembers a pending sign-in, dropping expired ones; false when too
// many are under way.
func (o *oidcSignIn) add(state string, p oidcPending, now time.Time) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.pending) >= oidcMaxPending {
		for k, v := range o.pending {
			if now.After(v.expires) {
				delete(o.pending, k)
			}
		}
		if len(o.pending) >= oidcMaxPending {
			return false
		}
	}
	o.pending[state] = p
	return true
}

// take removes and returns a pending sign-in: a state is good once.
func (o *oidcSignIn) take(state string) (oidcPending, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	p, ok := o.pending[state]
	delete(o.pending, state)
	return p, ok
}

func (s *Server) oidcRoutes() []*Route {
	return []*Route{
		rawRoute("GET", "/v1/auth/oidc/{org}/start", "auth",
			"Start signing in to the org with its identity provider: redirects (302) to the provider, with state, nonce and a PKCE challenge.",
			"text/html", http.HandlerFunc(s.oidcStart)),
		rawRoute("GET", "/v1/auth/oidc/{org}/callback", "auth",
			"Finish signing in: the provider redirects here with code and state; answers a session for the user with the verified email ({\"session\", \"principal\", \"org\", \"expires_at\", \"provisioned\"}).",
			"application/json", http.HandlerFunc(s.oidcCallback)),
	}
}

func (s *Server) oidcStart(w http.ResponseWriter, r *http.Request) {
	reqID := s.answerID(w, r)
	org := r.PathValue("org")
	ready, p, err := s.oidc.provider(r.Context(), org)
	if err != nil {
		s.writeProblem(w, r, reqID, toProblem(err))
		return
	}
	state, nonce, verifier, binding := randomToken(), randomToken(), oauth2.GenerateVerifier(), randomToken()
	now := time.Now()
	if !s.oidc.add(state, oidcPending{org: org, nonce: nonce, verifier: verifier, binding: sha256.Sum256([]byte(binding)), expires: now.Add(oidcPendingTTL)}, now) {
		s.writeProblem(w, r, reqID, problem(ProblemUnavailable, "too many sign-ins under way; try again shortly"))
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name: oidcCookie, Value: binding, Path: "/v1/auth/oidc/" + org + "/", MaxAge: int(oidcPendingTTL / time.Second),
		HttpOnly: true, Secure: r.TLS != nil || isHTTPS(p.RedirectURL), SameSite: http.SameSiteLaxMode,
	})
	url := ready.conf.AuthCodeURL(state, oidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier))
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, url, http.StatusFound)
}

func isHTTPS(u string) bool { return len(u) > 8 && u[:8] == "https://" }

// SignInResponse is the answer of a finished sign-in.
type SignInResponse struct {
	Session     string    `json:"session"` // a session token: Authorization: Bearer <session>
	Principal   string    `json:"principal"`
	Org         string    `json:"org"` // the session is confined to this org
	ExpiresAt   time.Time `json:"expires_at"`
	Provisioned bool      `json:"provisioned"` // the user was created by this sign-in
}

func (s *Server) oidcCallback(w http.ResponseWriter, r *http.Request) {
	reqID := s.answerID(w, r)
	fail := func(p *Problem) { s.writeProblem(w, r, reqID, p) }
	org := r.PathValue("org")
	q := r.URL.Query()
	if e := q.Get("error"); e != "" {
		fail(problem(ProblemUnauthenticated, "the identity provider refused the sign-in: %.200s", e))
		return
	}
	state, code := q.Get("state"), q.Get("code")
	if state == "" || code == "" {
		fail(problem(ProblemUnauthenticated, "the callback needs code and state from the identity provider"))
		return
	}
	pend, ok := s.oidc.take(state)
	cookie, cerr := r.Cookie(oidcCookie)
	switch {
	case !ok || time.Now().After(pend.expires) || pend.org != org:
		fail(problem(ProblemUnauthenticated, "unknown or expired sign-in; start again"))
		return
	case cerr != nil:
		fail(problem(ProblemUnauthenticated, "this browser did not start the sign-in (no sign-in cookie)"))
		return
	}
	if h := sha256.Sum256([]byte(cookie.Value)); subtle.ConstantTimeCompare(h[:], pend.binding[:]) != 1 {
		fail(problem(ProblemUnauthenticated, "this browser did not start the sign-in"))
		return
	}
	ready, p, err := s.oidc.provider(r.Context(), org)
	if err != nil {
		fail(toProblem(err))
		return
	}
	ctx := oidc.ClientContext(r.Context(), ready.client)
	tok, err := ready.conf.Exchange(ctx, code, oauth2.VerifierOption(pend.verifier))
	if err != nil {
		fail(problem(ProblemUnauthenticated, "the identity provider did not accept the code"))
		return
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		fail(problem(ProblemUnauthenticated, "the identity provider returned no ID token"))
		return
	}
	idt, err := ready.verifier.Verify(ctx, raw)
	if err != nil {
		fail(problem(ProblemUnauthenticated, "the ID token is not valid: %v", err))
		return
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(pend.nonce)) != 1 {
		fail(problem(ProblemUnauthenticated, "the ID token was not issued for this sign-in (nonce)"))
		return
	}
	var claims struct {
		Email         string `json:"email"`
		EmailVerified *bool  `json:"email_verified"`
		Name          string `json:"name"`
	}
	if err := idt.Claims(&claims); err != nil {
		fail(problem(ProblemUnauthenticated, "the ID token's claims do not decode"))
		return
	}
	if claims.Email == "" || claims.EmailVerified == nil || !*claims.EmailVerified {
		// auth.SignInOIDC refuses this too; here the answer can say why.
		fail(problem(ProblemUnauthenticated, "the identity provider did not vouch for a verified email"))
		return
	}
	in, err := s.auth.SignInOIDC(r.Context(), auth.OIDCLogin{
		Org: org, Issuer: idt.Issuer, Subject: idt.Subject, Email: claims.Email,
		EmailVerified: claims.EmailVerified != nil && *claims.EmailVerified, Name: claims.Name,
	}, p.Provision, reqID, s.clientAddr(r))
	if err != nil {
		fail(toProblem(err))
		return
	}
	http.SetCookie(w, &http.Cookie{Name: oidcCookie, Value: "", Path: "/v1/auth/oidc/" + org + "/", MaxAge: -1, HttpOnly: true})
	w.Header().Set("Cache-Control", "no-store")
	_ = writeJSON(w, http.StatusOK, "application/json", SignInResponse{
		Session: in.Session, Principal: in.Identity.Principal, Org: in.Identity.Org,
		ExpiresAt: in.Identity.Expires, Provisioned: in.Provisioned,
	})
}
