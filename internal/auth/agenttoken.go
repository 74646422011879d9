package auth

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/internal/directory"
	"github.com/gatehouse-dev/gatehouse/internal/errs"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// Agent tokens (issue 16; docs/agents.md, "Agent tokens"): a host
// platform obtains a short-lived token for agent:X, optionally acting on
// behalf of user:Y, bound to one audience — the absolute URL of the one
// endpoint that may accept it (an MCP gateway endpoint,
// <base>/mcp/{org}/{namespace}/{server}), in the manner of RFC 8707's
// resource indicators.
//
// Form: "gha_" followed by an EdDSA JWT signed by the session key set,
// with header typ "gatehouse-agent+jwt", iss "gatehouse", aud [the
// audience], sub "agent:<name>", a jti, iat/nbf/exp, and private claims:
// org, obo (the on_behalf_of user), the agent's and the user's
// incarnations (created_at, so a deleted-and-recreated agent or user of
// the same name does not inherit the token) and the minter. It can never
// pass for a session: the prefix, the typ, the audience (a session's is
// "gatehouse-api") and the subject kind all differ, and each verifier
// checks its own.
//
// Rules:
//
//   - Authenticate (every API route) refuses agent tokens: 401.
//     AuthenticateAudience accepts one only when its audience equals the
//     endpoint's exactly (no prefix matching, no normalisation beyond
//     what the minting route checked).
//   - It stops at once — checked at each use against this process's
//     engine and caches, which the change follower keeps current, never
//     cached past a change — when the agent is suspended for any reason
//     (by hand, sponsor_gone, inactive, attestation_due), expires or is
//     deleted, or the on_behalf_of user leaves the org or is deleted.
//   - Minting (MintAgentToken) needs, in the agent's org: apikeys:create
//     at org scope (it is a credential for another principal, like a
//     service's key) and the escalation rules for acting as the agent
//     (mayActAs: the minter's level is not below the agent's at org scope
//     or in any namespace, and the minter holds every permission the
//     agent holds). The agent must be able to act now. on_behalf_of must
//     be a member user; a user may name only itself (nobody acts for
//     another person through a token; a service — the host platform that
//     authenticated its user — may name any member). Agents never mint:
//     their tokens authenticate nowhere but their audience. Minting is
//     audited (agent_token.create) with the token's id, never the token.

// Agent token limits.
const (
	AgentTokenPrefix     = "gha_"
	DefaultAgentTokenTTL = 5 * time.Minute
	MaxAgentTokenTTL     = time.Hour
	agentTokenType       = "gatehouse-agent+jwt"
	maxAudience          = 2048
)

// AgentTokenSpec asks for an agent token.
type AgentTokenSpec struct {
	// OnBehalfOf is "user:<id>", a member of the org, or "".
	OnBehalfOf string
	// Audience is the absolute http(s) URL of the endpoint that will
	// accept the token.
	Audience string
	// TTL is the token's life, a Go duration ("5m"): "" means
	// DefaultAgentTokenTTL; at most MaxAgentTokenTTL.
	TTL string
}

// check validates the spec and returns its TTL.
func (spec AgentTokenSpec) check() (time.Duration, error) {
	if err := checkAudience(spec.Audience); err != nil {
		return 0, err
	}
	ttl := DefaultAgentTokenTTL
	if spec.TTL != "" {
		d, err := time.ParseDuration(spec.TTL)
		if err != nil || d <= 0 || d > MaxAgentTokenTTL {
			return 0, invalid("ttl", "ttl must be a positive Go duration such as \"5m\", at most %s (got %.40q)", MaxAgentTokenTTL, spec.TTL)
		}
		ttl = d
	}
	if spec.OnBehalfOf != "" && !isUser(spec.OnBehalfOf) {
		return 0, invalid("on_behalf_of", "on_behalf_of must be user:<id>, a member of the org (got %.100q)", spec.OnBehalfOf)
	}
	return ttl, nil
}

// AgentToken is a minted agent token. Token is shown once.
type AgentToken struct {
	Token      string
	ID         string // the jti
	Agent      string // "agent:<name>"
	OnBehalfOf string
	Audience   string
	ExpiresAt  time.Time
}

// String never prints the token.
func (t AgentToken) String() string {
	return fmt.Sprintf("agent token %s for %s (audience %s; token hidden)", t.ID, t.Agent, t.Audience)
}

// GoString is String.
func (t AgentToken) GoString() string { return t.String() }

type agentClaims struct {
	jwt.RegisteredClaims
	Org          string `json:"org"`
	OnBehalfOf   string `json:"obo,omitempty"`
	AgentCreated int64  `json:"ac"`
	UserCreated  int64  `json:"uc,omitempty"`
	MintedBy     string `json:"mb"`
}

// checkAudience validates an audience: an absolute http(s) URL with a
// host, no user info, no fragment.
func checkAudience(aud string) error {
	if aud == "" {
		return invalid("audience", "audience is required: the absolute URL of the endpoint that will accept the token, e.g. https://gatehouse.example.com/mcp/acme/default/github")
	}
	if len(aud) > maxAudience {
		return invalid("audience", "audience is longer than %d bytes", maxAudience)
	}
	u, err := url.Parse(aud)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil || u.Fragment != "" || u.Opaque != "" {
		return invalid("audience", "audience %.100q is not an absolute http(s) URL without user info or fragment", aud)
	}
	return nil
}

// issueAgent signs an agent token.
func (ks *KeySet) issueAgent(c agentClaims) (string, error) {
	ks.mu.RLock()
	if len(ks.keys) == 0 {
		ks.mu.RUnlock()
		return "", errors.New("auth: the session key set is empty")
	}
	k := ks.keys[len(ks.keys)-1]
	ks.mu.RUnlock()
	t := jwt.NewWithClaims(jwt.SigningMethodEdDSA, c)
	t.Header["kid"] = k.ID
	t.Header["typ"] = agentTokenType
	s, err := t.SignedString(k.Private)
	if err != nil {
		return "", fmt.Errorf("auth: sign agent token: %w", err)
	}
	return AgentTokenPrefix + s, nil
}

// verifyAgent checks an agent token's form, signature, type, issuer,
// lifetime and audience (exactly one, equal to audience). Every failure
// is ErrUnauthenticated. It does not check that the agent can act.
func (ks *KeySet) verifyAgent(token, audience string, now time.Time) (agentClaims, error) {
	c, _, err := ks.verifyAgentKid(token, audience, now)
	return c, err
}

// verifyAgentKid is verifyAgent that also returns the id of the key that
// signed the token.
func (ks *KeySet) verifyAgentKid(token, audience string, now time.Time) (agentClaims, string, error) {
	var claims agentClaims
	body, ok := strings.CutPrefix(token, AgentTokenPrefix)
	if !ok || len(token) > 8192 || audience == "" {
		return claims, "", ErrUnauthenticated
	}
	kid, err := ks.parseSigned(body, audience, agentTokenType, now, &claims)
	if err != nil {
		return agentClaims{}, "", err
	}
	kind, _, okp := cutPrincipal(claims.Subject)
	if !okp || kind != authz.KindAgent || len(claims.Audience) != 1 || claims.Audience[0] != audience ||
		claims.ID == "" || claims.Org == "" || claims.AgentCreated == 0 || claims.ExpiresAt == nil ||
		(claims.OnBehalfOf != "" && (!isUser(claims.OnBehalfOf) || claims.UserCreated == 0)) {
		return agentClaims{}, "", ErrUnauthenticated
	}
	return claims, kid, nil
}

// hasKey reports whether the key set still holds key id kid.
func (ks *KeySet) hasKey(kid string) bool {
	ks.mu.RLock()
	defer ks.mu.RUnlock()
	for _, k := range ks.keys {
		if k.ID == kid {
			return true
		}
	}
	return false
}

// verifiedAgent is an agent token whose signature and claims verified:
// the gateway meets the same token on every request of a session, and an
// Ed25519 verification costs some 50 µs. Only the verification is
// remembered (by the token's SHA-256, never the token): whether the agent
// and the user can act is checked at every use.
type verifiedAgent struct {
	claims   agentClaims
	kid      string
	audience string
}

// maxVerified bounds the remembered verifications; past it they are
// forgotten all at once (a token is then verified again).
const maxVerified = 10000

// verifyAgentCached is verifyAgent through the remembered verifications.
// A remembered one holds only for the same audience, before the token's
// expiry, and while its signing key is still in the key set.
func (s *Service) verifyAgentCached(ctx context.Context, token, audience string, now time.Time) (agentClaims, error) {
	key := sha256.Sum256([]byte(token))
	if v, ok := s.verified.Load(key); ok {
		va := v.(*verifiedAgent)
		exp := va.claims.ExpiresAt.Time
		if va.audience == audience && now.Before(exp) && (va.claims.NotBefore == nil || !now.Before(va.claims.NotBefore.Time)) && s.keys.hasKey(va.kid) {
			if s.revoked.has(va.claims.ID) {
				return agentClaims{}, errRevoked
			}
			return va.claims, nil
		}
		if !now.Before(exp) {
			s.verified.Delete(key)
			s.nVerified.Add(-1)
		}
	}
	c, kid, err := s.keys.verifyAgentKid(token, audience, now)
	if err != nil {
		return c, err
	}
	// First verification here: a revocation committed before this
	// process followed the change feed is in the store.
	// The verification is remembered even for a revoked token, so that
	// its holder's retries cost a lookup in memory, not the store.
	if err := s.checkStoredRevocation(ctx, c, now); err != nil {
		return agentClaims{}, err
	}
	if s.nVerified.Add(1) > maxVerified {
		s.verified.Range(func(k, _ any) bool { s.verified.Delete(k); return true })
		s.nVerified.Store(1)
	}
	if _, loaded := s.verified.Swap(key, &verifiedAgent{claims: c, kid: kid, audience: audience}); loaded {
		s.nVerified.Add(-1)
	}
	if s.revoked.has(c.ID) {
		return agentClaims{}, errRevoked
	}
	return c, nil
}

// MintAgentToken mints an agent token for agent name of org (rules in the
// comment at the top of this file). Errors: not found (org, agent — the
// caller is not a member, or its credential is confined to another org),
// invalid (audience, ttl, on_behalf_of), forbidden (apikeys:create,
// someone else's behalf), escalation, conflict (the agent cannot act now:
// expired or suspended). Refusals the caller earned are audited.
func (s *Service) MintAgentToken(ctx context.Context, c Caller, org, name string, spec AgentTokenSpec) (AgentToken, uint64, error) {
	const op = "create agent_token"
	if err := s.enter(c, op, org); err != nil {
		return AgentToken{}, 0, err
	}
	if _, _, ok := cutPrincipal(authz.KindAgent + ":" + name); !ok {
		return AgentToken{}, 0, notFound(op, "agent %q", name)
	}
	agent := authz.KindAgent + ":" + name
	jti := newAgentTokenID(s.opts.Now())
	target := "agent/" + agent
	refuse := func(msg string) error {
		return &errs.Error{Pkg: pkg, Op: op, Kind: errs.Forbidden, Msg: msg}
	}
	var out AgentToken
	rev, err := s.st.Write(ctx, func(tx store.Tx) error {
		if err := s.dir.CatchUp(ctx, tx); err != nil {
			return err
		}
		now := s.opts.Now()
		if !s.member(org, c.Principal) {
			return notFound(op, "org %q", org)
		}
		// Who may mint at all is settled before the agent is looked up,
		// so that a member who may not mint cannot learn from 404 versus
		// 403 which agents exist.
		if kind, _, _ := cutPrincipal(c.Principal); kind != authz.KindUser && kind != authz.KindService {
			return refuse("only users and services mint agent tokens")
		}
		if isUser(c.Principal) && spec.OnBehalfOf != "" && spec.OnBehalfOf != c.Principal {
			return refuse("a user mints agent tokens only on its own behalf (on_behalf_of " + c.Principal +
				" or none); tokens on behalf of others come from the host platform's service")
		}
		if err := s.need(org, c.Principal, "apikeys:create"); err != nil {
			return err
		}
		a, err := tx.GetAgent(ctx, org, name)
		if errors.Is(err, store.ErrNotFound) {
			return notFound(op, "agent %q", name)
		} else if err != nil {
			return err
		}
		ttl, err := spec.check()
		if err != nil {
			return err
		}
		if err := s.mayActAs(ctx, tx, org, c.Principal, agent); err != nil {
			return err
		}
		member, why := s.dir.Standing(org, agent, now)
		if !member {
			return notFound(op, "agent %q", name)
		}
		if why != "" {
			return &errs.Error{Pkg: pkg, Op: op, Kind: errs.Conflict,
				Msg: fmt.Sprintf("%s cannot act now (%s): no token is minted for it until that is resolved", agent, why)}
		}
		claims := agentClaims{Org: org, AgentCreated: a.CreatedAt.UnixMicro(), MintedBy: c.Principal}
		if spec.OnBehalfOf != "" {
			_, uid, _ := cutPrincipal(spec.OnBehalfOf)
			u, err := tx.GetUser(ctx, uid)
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				return err
			}
			if err != nil || !s.member(org, spec.OnBehalfOf) {
				return invalid("on_behalf_of", "%s is not a member of org %q", spec.OnBehalfOf, org)
			}
			claims.OnBehalfOf, claims.UserCreated = spec.OnBehalfOf, u.CreatedAt.UnixMicro()
		}
		iat := now.UTC().Truncate(time.Second)
		exp := iat.Add(ttl)
		if !a.ExpiresAt.IsZero() && a.ExpiresAt.Before(exp) {
			exp = a.ExpiresAt.UTC() // never outlive the agent
		}
		claims.RegisteredClaims = jwt.RegisteredClaims{
			Issuer: SessionIssuer, Subject: agent, Audience: jwt.ClaimStrings{spec.Audience},
			IssuedAt: jwt.NewNumericDate(iat), NotBefore: jwt.NewNumericDate(iat), ExpiresAt: jwt.NewNumericDate(exp), ID: jti,
		}
		tok, err := s.keys.issueAgent(claims)
		if err != nil {
			return err
		}
		out = AgentToken{Token: tok, ID: jti, Agent: agent, OnBehalfOf: claims.OnBehalfOf, Audience: spec.Audience, ExpiresAt: claims.ExpiresAt.Time}
		// Its metadata, never the token, in the same Write as its audit
		// entry (agenttokenrevoke.go): listed and revocable by id.
		if _, err := tx.CreateAgentToken(ctx, store.AgentToken{Org: org, ID: jti, Agent: agent, OnBehalfOf: claims.OnBehalfOf,
			Audience: spec.Audience, CreatedBy: c.Principal, ExpiresAt: out.ExpiresAt}); err != nil {
			return err
		}
		return s.dir.RecordWrite(ctx, tx, op, org, c.Actor(), directory.AuditNote{Target: target, Details: map[string]any{
			"token_id": jti, "on_behalf_of": claims.OnBehalfOf, "audience": spec.Audience, "expires_at": out.ExpiresAt,
		}})
	})
	if err != nil {
		return AgentToken{}, 0, storeErr(op, s.dir.RecordDenied(ctx, op, org, c.Actor(), target, err))
	}
	return out, rev, nil
}

// AuthenticateAudience resolves a bearer credential presented to the
// endpoint whose absolute URL is audience: an agent token bound to that
// audience (checked as the comment at the top of this file says), or any
// credential Authenticate accepts. The identity of an agent token is the
// agent, confined to its org, with OnBehalfOf set when the token names a
// user; SessionID is the token's id. Errors as Authenticate's; failed
// attempts count against the client address the same way.
func (s *Service) AuthenticateAudience(ctx context.Context, credential, audience, clientAddr string) (Identity, error) {
	if !strings.HasPrefix(credential, AgentTokenPrefix) {
		return s.Authenticate(ctx, credential, clientAddr)
	}
	wait, allowed := s.limiter.Allow(clientAddr)
	id, err := s.authAgent(ctx, credential, audience)
	if err == nil {
		// Its minter must still outrank the agent (minter.go); a real
		// token, so not counted as a failure.
		if err := s.minterStands(id, "agent token", "agent/"+id.SessionID, s.opts.Now()); err != nil {
			return Identity{}, err
		}
	}
	switch {
	case err == nil:
		return id, nil
	case errors.Is(err, errCannotAct):
		return Identity{}, ErrUnauthenticated // a real token of an agent that cannot act: not a guess
	case !allowed && errors.Is(err, ErrUnauthenticated):
		return Identity{}, &RateLimitError{RetryAfter: wait}
	case errors.Is(err, ErrUnauthenticated):
		s.limiter.Fail(clientAddr)
		return Identity{}, ErrUnauthenticated
	}
	return Identity{}, err
}

// errCannotAct: the token verified but its agent or user cannot act now.
var errCannotAct = fmt.Errorf("%w: the principal cannot act now", ErrUnauthenticated)

// errRevoked: the token verified but was revoked (agenttokenrevoke.go); a
// real token, so not counted as a guess.
var errRevoked = fmt.Errorf("%w: the agent token was revoked", errCannotAct)

// authAgent verifies an agent token for audience and that its agent and
// user can act now.
func (s *Service) authAgent(ctx context.Context, token, audience string) (Identity, error) {
	now := s.opts.Now()
	c, err := s.verifyAgentCached(ctx, token, audience, now)
	if err != nil {
		return Identity{}, err
	}
	if member, why := s.dir.Standing(c.Org, c.Subject, now); !member || why != "" {
		return Identity{}, errCannotAct
	}
	_, name, _ := cutPrincipal(c.Subject)
	created, err := s.agentIncarnation(ctx, c.Org, name, now)
	if err != nil {
		return Identity{}, err
	}
	if created.IsZero() || created.UnixMicro() != c.AgentCreated {
		return Identity{}, errCannotAct
	}
	if c.OnBehalfOf != "" {
		if !s.member(c.Org, c.OnBehalfOf) {
			return Identity{}, errCannotAct
		}
		_, uid, _ := cutPrincipal(c.OnBehalfOf)
		uc, err := s.userIncarnation(ctx, uid, now)
		if err != nil {
			return Identity{}, err
		}
		if uc.IsZero() || uc.UnixMicro() != c.UserCreated {
			return Identity{}, errCannotAct
		}
	}
	return Identity{Principal: c.Subject, Org: c.Org, OnBehalfOf: c.OnBehalfOf, SessionID: c.ID, Expires: c.ExpiresAt.Time, MintedBy: mintedBy(c.Subject, c.MintedBy)}, nil
}

// agentIncarnation is the agent's created_at (zero when there is no such
// agent), from the cache or the store; forgetChanged drops it on any
// change to the agent.
func (s *Service) agentIncarnation(ctx context.Context, org, name string, now time.Time) (time.Time, error) {
	k := org + "/" + name
	if v, ok := s.agents.Load(k); ok {
		if c := v.(*cachedUser); now.Sub(c.fetched) < s.opts.KeyCacheTTL {
			return c.createdAt, nil
		}
	}
	ctx, cancel := context.WithTimeout(ctx, s.opts.StoreTimeout)
	defer cancel()
	gen := s.forgets.Load()
	a, err := s.st.GetAgent(ctx, org, name)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return time.Time{}, unavailable("authenticate", err)
	}
	if s.forgets.Load() == gen {
		s.agents.Store(k, &cachedUser{createdAt: a.CreatedAt, fetched: now})
	}
	return a.CreatedAt, nil
}
