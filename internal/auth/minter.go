package auth

import (
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/internal/directory"
	"github.com/gatehouse-dev/gatehouse/internal/errs"
	"github.com/gatehouse-dev/gatehouse/policy"
)

// A credential minted for someone else — a service's API key created by
// a member, an agent token — must not outgrow its minter (DESIGN §1.2: a
// key for P lets its holder act as P). Minting checks it once (mayActAs);
// since the principal may be raised, or the minter demoted, removed or
// deleted, afterwards, every use checks it again (minterStands) with the
// same comparison (outranks) against the engine's current state, which
// every other authorization of the request reads. A credential that
// fails is refused, 403 credential-outranks-minter, until the minter
// stands behind it again (re-promoted): nothing is revoked.
//
// The verdict is remembered per credential and engine revision: a new
// revision always recomputes it (a stale allow is the hole this closes),
// and so does a verdict past its lifetime, because a grant's expiry or a
// time-based suspension (DESIGN §1.1.9, lifecycle: inactive, attestation
// due) changes standing and levels without a new revision. The lifetime
// ends at the first instant, after the verdict was computed, at which
// anything the comparison read changes by the clock — a grant of the
// minter's or the principal's own or of their teams expires, their
// membership does, or a clock-based lifecycle rule suspends one of them
// (authz.Engine.NextClockChange: verdictUntil) — and never later than
// verdictTTL, which only what the engine cannot foresee still needs
// (a step of the system clock): a minter whose grant expires, or who
// becomes inactive, at T is refused from T on.

// ErrOutranksMinter: the credential's principal now outranks the member
// that minted the credential for it, or that member can no longer act in
// the org (left, deleted, suspended). A kind of errs.Forbidden; the error
// is an *OutrankedError.
var ErrOutranksMinter = errs.NewKind("the credential's principal outranks its minter", errs.Forbidden)

// OutrankedError says which credential may not be used and what to do.
// Its text names only what the credential's holder can read anyway: the
// minter (a principal may list its own keys, with their creator), the
// principal, the org, the scope and the principal's own level there.
type OutrankedError struct {
	Credential string // "API key" or "agent token"
	Minter     string
	Principal  string
	Org        string
	// MinterGone: the minter is no longer a member of Org that can act.
	MinterGone bool
	// Permissions: the levels compare, but the principal holds
	// permissions at Scope that the minter does not.
	Permissions bool
	Scope       authz.Scope
	// Level is the principal's highest level at Scope (-1: none).
	Level int

	// For the audit log, never in the text (the holder knows its
	// credential; the log's readers need its id, never its secret):
	// ID is the refused credential's id (an API key's id, an agent
	// token's id). Record is set on the first refusal of the credential
	// at an engine revision: the caller records that one in the org's
	// audit log, and the others of that revision only count, in the
	// next recorded one's Unrecorded — so a holder replaying a refused
	// credential adds at most one entry per revision (row 85).
	ID         string
	Record     bool
	Unrecorded int64
}

func (e *OutrankedError) Error() string {
	why := fmt.Sprintf("%s outranks it at %s (level %d there)", e.Principal, e.Scope, e.Level)
	switch {
	case e.MinterGone:
		why = "who can no longer act in the org"
	case e.Permissions:
		why = fmt.Sprintf("who lacks permissions %s holds at %s", e.Principal, e.Scope)
	}
	what := "revoke this API key and have"
	if e.Credential == "agent token" {
		what = "stop using this agent token and have"
	}
	return fmt.Sprintf("this %s of %s in org %q was minted by %s, %s: %s someone at level %d or above at %s, holding every permission %s holds, mint a new one",
		e.Credential, e.Principal, e.Org, e.Minter, why, what, max(e.Level, 0), e.Scope, e.Principal)
}

// Unwrap returns ErrOutranksMinter.
func (e *OutrankedError) Unwrap() error { return ErrOutranksMinter }

// verdictTTL bounds how long a remembered verdict holds at one revision.
// Every change by the clock alone that the engine knows of ends the
// verdict at its instant (verdictUntil); the bound remains for what it
// cannot foresee: the comparison reads levels at the engine's own clock
// (authz's fast clock), which lags a forward step of the system clock
// for up to a second, so a change stepped over in that second is not one
// NextClockChange(now) gives. A verdict made then is corrected within
// verdictTTL, as the engine's own decisions are (authz/expiry.go). Its
// cost is one recomputation per credential per second of use.
const verdictTTL = time.Second

// maxVerdicts bounds the remembered verdicts: past maxVerdicts stores
// since the last clearing (a credential's verdict stored again at a new
// revision counts again, so this over-counts entries) they are forgotten
// all at once (each is then computed again).
const maxVerdicts = 10000

// minterVerdict is minterStands' answer for one credential at one engine
// revision, computed at at, which holds until until (verdictUntil).
type minterVerdict struct {
	rev       uint64
	at, until time.Time
	err       error
}

// minterStands refuses the use of a credential (id, whose id is cred)
// whose minter no longer outranks its principal (*OutrankedError). A
// credential its principal minted (MintedBy "") is not affected.
func (s *Service) minterStands(id Identity, kind, cred string, now time.Time) error {
	if id.MintedBy == "" {
		return nil
	}
	if id.Org == "" {
		// Only org credentials are minted for others: fail closed.
		return ErrUnauthenticated
	}
	rev := s.dir.Revision()
	if v, ok := s.verdicts.Load(cred); ok {
		if mv := v.(*minterVerdict); mv.rev == rev && !now.Before(mv.at) && now.Before(mv.until) {
			if mv.err != nil {
				return s.refused(mv.err, cred, rev)
			}
			return nil
		}
	}
	err := s.standsBehind(s.dir, id.Org, id.MintedBy, id.Principal, kind, now)
	if s.dir.Revision() == rev { // else the engine moved while reading: do not remember it
		if s.nVerdicts.Add(1) > maxVerdicts {
			s.verdicts.Clear()
			s.nVerdicts.Store(1)
		}
		s.verdicts.Store(cred, &minterVerdict{rev: rev, at: now, until: s.verdictUntil(id, now), err: err})
	}
	if err != nil {
		return s.refused(err, cred, rev)
	}
	return nil
}

// refusalNote is what minterStands remembers of one credential's
// refusals: the engine revision of the last one Record was set on, and
// how many were refused since without it.
type refusalNote struct {
	rev     uint64
	skipped atomic.Int64
}

// refused is err, a refusal of credential cred at engine revision rev,
// as this use's own *OutrankedError: with the credential's id (cred
// without its "agent/" prefix) and Record set on the first refusal of
// cred at rev (with Unrecorded, the refusals counted since the previous
// one). The notes are bounded as the verdicts are (maxVerdicts), so a
// clearing may record a credential's refusal once more at a revision.
func (s *Service) refused(err error, cred string, rev uint64) error {
	oe, ok := err.(*OutrankedError)
	if !ok {
		return err
	}
	c := *oe
	c.ID = strings.TrimPrefix(cred, "agent/")
	n := &refusalNote{rev: rev}
	for {
		v, ok := s.refusals.Load(cred)
		if !ok {
			if _, loaded := s.refusals.LoadOrStore(cred, n); loaded {
				continue
			}
			if s.nRefusals.Add(1) > maxVerdicts {
				s.refusals.Clear()
				s.refusals.Store(cred, n)
				s.nRefusals.Store(1)
			}
			c.Record = true
			return &c
		}
		old := v.(*refusalNote)
		if old.rev == rev {
			old.skipped.Add(1)
			return &c
		}
		if s.refusals.CompareAndSwap(cred, v, n) {
			c.Record, c.Unrecorded = true, old.skipped.Load()
			return &c
		}
	}
}

// engineState is the state of the engine a comparison of minter and
// principal reads: the directory's live engine (s.dir) or a state pinned
// before a write (directory.View).
type engineState interface {
	Standing(org, principal string, now time.Time) (member bool, why authz.Reason)
	HighestLevel(org, principal string, sc authz.Scope) int
	Missing(org, principal string, sc authz.Scope, perms []policy.Permission) []policy.Permission
	Grants(org, principal, namespace string) ([]authz.Grant, error)
	PatternsHeld(org, principal string, sc authz.Scope) []policy.Permission
	EngineTargetScopes(org, target string) []authz.Scope
}

// verdictUntil is when a verdict on id computed at now stops holding: the
// first instant after now at which the standing or holdings of the minter
// or the principal in the org change by the clock alone (a grant of its
// own or of one of its teams expires, at any scope, or its membership
// does, or a clock-based lifecycle rule suspends it:
// Directory.NextClockChange) — the comparison read their standing,
// levels and permissions as they were — and at the latest
// now+verdictTTL. A minter whose grant expires, or who becomes inactive
// or due for attestation, at T is refused from T on, not up to
// verdictTTL later.
func (s *Service) verdictUntil(id Identity, now time.Time) time.Time {
	until := now.Add(verdictTTL)
	for _, p := range [...]string{id.MintedBy, id.Principal} {
		if x := s.dir.NextClockChange(id.Org, p, now); !x.IsZero() && x.Before(until) {
			until = x
		}
	}
	return until
}

// standsBehind is minterStands' computation: the minter can act in org,
// and outranks the principal at every scope the engine knows for it —
// in the engine's state e (the live one, s.dir, or one pinned before a
// write: Before).
func (s *Service) standsBehind(e engineState, org, minter, principal, kind string, now time.Time) error {
	oe := &OutrankedError{Credential: kind, Minter: minter, Principal: principal, Org: org}
	if member, why := e.Standing(org, minter, now); !member || why != "" {
		oe.MinterGone, oe.Level = true, e.HighestLevel(org, principal, authz.Scope{})
		return oe
	}
	err := outranks(e, org, minter, principal, e.EngineTargetScopes(org, principal))
	var ee *directory.EscalationError
	if !errors.As(err, &ee) {
		return err
	}
	oe.Scope, oe.Permissions = ee.Scope, ee.Reason == directory.ReasonPermissions
	oe.Level = e.HighestLevel(org, principal, ee.Scope)
	return oe
}
