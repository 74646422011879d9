// Package auth authenticates callers of the Gatehouse HTTP API: API keys
// (for programs and people), signed session tokens (for people, obtained by
// exchanging an API key or accepting an invitation), invitation tokens, and
// per-address rate limiting of failed attempts.
//
// Invariants:
//
//   - Fail closed. Anything malformed, unknown, expired, revoked, signed
//     with another algorithm or by an unknown key is ErrUnauthenticated;
//     only a fully verified credential yields an Identity.
//   - Secrets are never stored. API keys and invitation tokens carry a
//     public id and a 256-bit secret from crypto/rand; the store keeps the
//     SHA-256 of the whole token, and a presented token is hashed and
//     compared in constant time (crypto/subtle). SHA-256 rather than a
//     password hash (bcrypt, argon2) is deliberate: the secrets are uniformly
//     random with 256 bits of entropy, so there is nothing for a slow hash to
//     protect against brute force, and a fast hash keeps the check path
//     cheap.
//   - A credential is only ever its holder's. No call yields a credential
//     whose principal is not the caller, except a key for a service of an
//     org the caller may administer: accepting an invitation yields a
//     session only for the new user it creates (an existing user accepts
//     with its own credential and gets none), a session comes only from
//     the caller's own API key, and nobody mints a key for another user.
//   - Revocation is prompt. A key that is revoked, or whose user, service
//     or org is deleted, is dropped from the cache as soon as this
//     process's directory follows that change (Directory.OnChanges): at
//     once for a change made here (before the write is answered), within
//     the follower's lag for one made by another process sharing the
//     database. The cache TTL (KeyCacheTTL, 5 s by default) bounds it if
//     the follower stalls.
//   - A session is bound to the account and the key it came from: it
//     carries the user's incarnation (created_at) and the key id, and is
//     refused once the user is deleted (or deleted and created again) or
//     the key is revoked — promptly, in the sense above, through a user
//     cache fed by the same change feed. A cached session check does not
//     touch the store.
//   - Rate limiting cannot lock real users out. Failed attempts are
//     limited per client address (behind a trusted proxy, the address it
//     forwards), and a limited address is refused only what would reach
//     the store: credentials that verify from memory still pass, and so
//     does a session whose signature verified (its binding may be read
//     from the store: no guesser can produce such a token).
//   - A credential bound to an org (an org API key, or a session obtained
//     from one) authenticates only for that org: Identity.Org says which.
//   - Agent tokens (agenttoken.go) authenticate only at the one audience
//     they were minted for (AuthenticateAudience), never on the API, and
//     stop at their next use once the agent cannot act (suspended,
//     expired, deleted) or their on_behalf_of user left the org.
//   - A suspended service's API keys are refused (401) at their next use,
//     as soon as this process's engine follows the suspension.
//   - A credential minted for another principal (a service's key, an
//     agent token) works only while its minter outranks its principal by
//     the rule that minted it (minter.go): otherwise ErrOutranksMinter
//     (403) at its next use after this process's engine follows the
//     change.
//   - Error messages never contain secrets or the presented token.
//   - Nothing panics on any input.
package auth

import (
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/errs"
)

// Sentinel errors. Callers branch with errors.Is. They are kinds of package
// errs (ErrGone is an errs.Gone; ErrCredentialRequired is a kind of its
// own, not an ErrUnauthenticated, answered 401 with its text).
var (
	// ErrUnauthenticated: no usable credential: missing, malformed, unknown,
	// wrong secret, expired, revoked, or for a principal that no longer
	// exists. The HTTP answer is 401 and never says which.
	ErrUnauthenticated = errs.Unauthenticated
	// ErrRateLimited: too many failed attempts from this client address;
	// wrapped by *RateLimitError with the time to wait.
	ErrRateLimited = errs.RateLimited
	// ErrGone: an invitation that was already accepted, was revoked, or has
	// expired.
	ErrGone = errs.NewKind("invitation is no longer valid", errs.Gone)
	// ErrCredentialRequired: an invitation addressed to an existing user
	// was presented without credentials; that user must accept it
	// authenticated with its own (HTTP 401).
	ErrCredentialRequired = errs.NewKind("this invitation is for an existing user: accept it authenticated as that user", nil)
)

// RateLimitError says how long to wait before trying again.
type RateLimitError struct {
	RetryAfter time.Duration
}

func (e *RateLimitError) Error() string {
	return "too many failed authentication attempts; retry in " + e.RetryAfter.Round(time.Second).String()
}

// Unwrap returns ErrRateLimited.
func (e *RateLimitError) Unwrap() error { return ErrRateLimited }

// Identity is an authenticated caller.
type Identity struct {
	// Principal is "user:<id>" or "service:<name>" — or "agent:<name>"
	// for an agent token (AuthenticateAudience only).
	Principal string
	// OnBehalfOf is the user an agent token acts for ("" otherwise):
	// decisions for this identity are made on behalf of that user (the
	// intersection of DESIGN §1.1 item 5).
	OnBehalfOf string
	// Org, when set, confines the credential to one org: requests about any
	// other org are answered as for a non-member (404).
	Org string
	// KeyID is the API key used ("" for a session).
	KeyID string
	// SessionID is the session used, or the agent token's id ("" for an
	// API key).
	SessionID string
	// Expires is when the credential stops working (zero: never).
	Expires time.Time
	// MintedBy is who minted the credential for a principal other than
	// itself: the creator of a service's API key, the minter of an agent
	// token ("" for a user's own credentials). Approvals keep it from
	// approving what the principal asks (directory.Actor.MintedBy).
	MintedBy string
}

// AllowsOrg reports whether the identity may act in org.
func (id Identity) AllowsOrg(org string) bool { return id.Org == "" || id.Org == org }

// mintedBy is the minter of a credential of principal when it is someone
// else ("" when the principal minted it itself).
func mintedBy(principal, minter string) string {
	if minter == principal {
		return ""
	}
	return minter
}
