package console

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/audit"
	"github.com/gatehouse-dev/gatehouse/internal/auth"
)

// Why a sign-in was refused, as its audit entry's details say
// (docs/console.md, "Sign-in refusals").
const (
	refusedOrigin      = "cross_origin"    // a POST from another site
	refusedCSRF        = "csrf"            // a stale or forged form
	refusedRateLimited = "rate_limited"    // too many failures from the address
	refusedCredential  = "unauthenticated" // unknown, revoked or expired key, or not a key
	refusedNotUserKey  = "not_a_user_key"  // a service's key (only a user's own signs in)
)

var refusalMessages = map[string]string{
	refusedOrigin:      "console sign-in from another site refused",
	refusedCSRF:        "console sign-in with a stale or forged form refused (CSRF)",
	refusedRateLimited: "console sign-in refused: too many failed attempts from this address",
	refusedCredential:  "console sign-in with an invalid, expired or revoked credential",
	refusedNotUserKey:  "console sign-in with a key that is not a user's own",
}

// recordSigninRefusal records a refused sign-in in the deployment's audit
// log, as the API records a refused bearer credential (auth.failure):
// why, the client address as the server sees it, and of the credential
// only the digest of an API key's id (auth.KeyIDDigest) — never the key,
// never text that is not a key — or, for a key that authenticated but may
// not sign in, its principal and id. Flood control (audit.Throttle): one
// entry per reason, account and address a minute, the next one counting
// those left out (unrecorded_refusals); a rate-limited address is one
// key whatever it sends.
func (c *Console) recordSigninRefusal(r *http.Request, reason, credential string, id auth.Identity) {
	addr := clientAddr(r)
	digest := ""
	if reason != refusedRateLimited {
		digest = auth.KeyIDDigest(credential)
	}
	account := digest
	if id.Principal != "" {
		account = id.Principal + "/" + id.KeyID
	}
	n := c.refusals.Note(reason + "|" + account + "|" + addr)
	if !n.Record {
		return
	}
	e := audit.AuthFailure(audit.Actor{Principal: id.Principal, KeyID: id.KeyID, ClientAddr: addr, RequestID: "console-" + randomID()[:12]},
		"route/POST "+Prefix+"signin", reason, "", digest, refusalMessages[reason], n)
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 5*time.Second)
	defer cancel()
	if err := c.dir.RecordEvent(ctx, e); err != nil {
		c.log.Error("console: recording a refused sign-in failed", "reason", reason, "err", err)
	}
}

// retryAfter sets Retry-After to wait, in whole seconds rounded up (at
// least 1).
func retryAfter(w http.ResponseWriter, wait time.Duration) {
	s := int((wait + time.Second - 1) / time.Second)
	w.Header().Set("Retry-After", strconv.Itoa(max(1, s)))
}
