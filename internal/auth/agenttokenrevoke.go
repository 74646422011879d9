package auth

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/internal/directory"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// Listing and revoking agent tokens one by one (threat-model row 101;
// docs/agents.md, "Listing and revoking tokens").
//
// Each mint stores the token's metadata (store.AgentToken: id, agent,
// on_behalf_of, audience, minter, times; never the token) in the Write
// that records its agent_token.create entry. An admin lists an agent's
// unexpired tokens (apikeys:read, as for another's API keys) and revokes
// one (apikeys:delete and the escalation rule for managing the agent, as
// for a service's API key); the revocation is an agent_token.put change.
//
// A revoked token is refused at its next use, with no stale allow, in
// every process:
//
//   - Each process keeps the set of revoked, unexpired token ids
//     (revokedSet): a copy-on-write map behind an atomic pointer, so the
//     check on every use is one atomic load and one map lookup, without
//     a lock or an allocation.
//   - The set is kept current by the change follower (forgetChanged, a
//     Directory.OnChanges hook, which runs before the engine shows the
//     revision): a revocation made through another process is in the set
//     before any request waiting for its revision (consistency at_least)
//     is answered, and the revoking process adds it itself at once.
//   - A token this process has not yet verified (its first use here,
//     after a restart, or after the verification cache was cleared) is
//     read from the store once, when its signature is verified: a
//     revocation committed before this process started is found there.
//     A token with no row (minted before migration 00018) is accepted
//     until it expires, at most an hour; a store failure refuses it
//     (fail closed).
//
// Entries leave the set once their token has expired (it no longer
// verifies), at the next revocation.

// revokedSet is the set of revoked, unexpired agent token ids.
type revokedSet struct {
	mu  sync.Mutex                           // serializes writers
	cur atomic.Pointer[map[string]time.Time] // id → the token's expiry; never modified once stored
}

// has reports whether id is revoked. Safe for concurrent use; no lock, no
// allocation.
func (r *revokedSet) has(id string) bool {
	m := r.cur.Load()
	if m == nil {
		return false
	}
	_, ok := (*m)[id]
	return ok
}

// add records id as revoked until exp, dropping entries expired at now.
func (r *revokedSet) add(id string, exp, now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	old := r.cur.Load()
	if old != nil {
		if _, ok := (*old)[id]; ok {
			return
		}
	}
	next := make(map[string]time.Time, 1)
	if old != nil {
		for k, e := range *old {
			if now.Before(e) {
				next[k] = e
			}
		}
	}
	next[id] = exp
	r.cur.Store(&next)
}

// newAgentTokenID is a token id: 32 lower-case hex digits, the first 16 the
// time in microseconds (so ids sort by creation, newest first in lists),
// the rest random.
func newAgentTokenID(now time.Time) string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(now.UnixMicro()))
	_, _ = rand.Read(b[8:])
	return hex.EncodeToString(b[:])
}

// checkStoredRevocation reads token id's row once, at its verification:
// a revoked row enters the set. No row is not a refusal (see above).
func (s *Service) checkStoredRevocation(ctx context.Context, c agentClaims, now time.Time) error {
	ctx, cancel := context.WithTimeout(ctx, s.opts.StoreTimeout)
	defer cancel()
	t, err := s.st.GetAgentToken(ctx, c.Org, c.ID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil
	case err != nil:
		return unavailable("authenticate", err)
	case !t.RevokedAt.IsZero():
		s.revoked.add(c.ID, t.ExpiresAt, now)
	}
	return nil
}

// noteAgentTokenChange is forgetChanged's part for agent tokens: a revoked
// token's id enters the set.
func (s *Service) noteAgentTokenChange(c store.Change) {
	v, err := c.Decode()
	if err != nil {
		// Undecodable: the directory reloads the org; what this hook can
		// do is forget every verification, so that each token's next
		// use reads its row from the store (fail closed).
		s.verified.Range(func(k, _ any) bool { s.verified.Delete(k); return true })
		s.nVerified.Store(0)
		return
	}
	if t := v.(store.AgentToken); !t.RevokedAt.IsZero() {
		s.revoked.add(t.ID, t.ExpiresAt, s.opts.Now())
	}
}

// ListAgentTokens lists the unexpired tokens of agent name of org ("" for
// every agent of the org), newest first, revoked ones with their
// revocation. Needs apikeys:read at org scope, checked before the agent is
// looked up. Errors: not found (org; the agent when name is set),
// forbidden, invalid (a bad page).
func (s *Service) ListAgentTokens(ctx context.Context, c Caller, org, name string, p store.Page) ([]store.AgentToken, string, error) {
	const op = "list agent tokens"
	if err := s.enter(c, op, org); err != nil {
		return nil, "", err
	}
	if err := s.need(org, c.Principal, "apikeys:read"); err != nil {
		return nil, "", err
	}
	f := store.AgentTokenFilter{ExpiresAfter: s.opts.Now()}
	if name != "" {
		if _, _, ok := cutPrincipal(authz.KindAgent + ":" + name); !ok {
			return nil, "", notFound(op, "agent %q", name)
		}
		if _, err := s.st.GetAgent(ctx, org, name); errors.Is(err, store.ErrNotFound) {
			return nil, "", notFound(op, "agent %q", name)
		} else if err != nil {
			return nil, "", storeErr(op, err)
		}
		f.Agent = authz.KindAgent + ":" + name
	}
	ts, next, err := s.st.ListAgentTokens(ctx, org, f, p)
	return ts, next, storeErr(op, err)
}

// RevokeAgentToken revokes token id of agent name of org. Needs
// apikeys:delete at org scope (checked before the token is looked up)
// and the escalation rule for managing the agent (its level not above the
// caller's at any scope, as revoking a service's key needs). The token is
// refused at its next use in this process at once, and in every other
// process once the change reaches it. Errors: not found (org; a token id
// that is not this agent's in this org, expired and pruned, or minted
// before tokens were stored), forbidden, escalation, conflict (already
// revoked, as for API keys). Audited agent_token.revoke with the token id
// and the revoker.
func (s *Service) RevokeAgentToken(ctx context.Context, c Caller, org, name, id string) (uint64, error) {
	const op = "revoke agent_token"
	if err := s.enter(c, op, org); err != nil {
		return 0, err
	}
	target := "agent_token/" + id
	var revoked store.AgentToken
	rev, err := s.st.Write(ctx, func(tx store.Tx) error {
		// Authorized in the transaction that revokes, against the engine
		// caught up to its base revision (as RevokeKey does).
		if err := s.dir.CatchUp(ctx, tx); err != nil {
			return err
		}
		if !s.member(org, c.Principal) {
			return notFound(op, "org %q", org)
		}
		if err := s.need(org, c.Principal, "apikeys:delete"); err != nil {
			return err
		}
		t, err := tx.GetAgentToken(ctx, org, id)
		if errors.Is(err, store.ErrNotFound) || (err == nil && t.Agent != authz.KindAgent+":"+name) {
			return notFound(op, "agent token %q of agent %q", id, name)
		}
		if err != nil {
			return err
		}
		if err := s.dir.MayManage(ctx, tx, org, c.Principal, t.Agent); err != nil {
			return err
		}
		if revoked, err = tx.RevokeAgentToken(ctx, org, id, c.Principal); err != nil {
			return err
		}
		return s.dir.RecordWrite(ctx, tx, op, org, c.Actor(), directory.AuditNote{Target: target, Details: map[string]any{
			"token_id": id, "agent": t.Agent, "revoked_by": c.Principal,
		}})
	})
	if err != nil {
		return 0, storeErr(op, s.dir.RecordDenied(ctx, op, org, c.Actor(), target, err))
	}
	s.revoked.add(id, revoked.ExpiresAt, s.opts.Now())
	s.settle(ctx, rev)
	return rev, nil
}
