package authz

import (
	"strings"
	"time"
)

// Lifecycles (DESIGN §1.1.9; docs/agents.md): a principal with a
// Lifecycle — every agent the directory knows, and a service on request —
// is suspended, and denied everything with the reason why, when
//
//   - it was suspended by hand (ReasonSuspended);
//   - it requires a sponsor and none of its sponsors is present any more:
//     a "user:" sponsor that is not a member, a "team:" sponsor that does
//     not exist or has no members (ReasonSponsorGone);
//   - the org suspends principals unused for InactiveAfter and it has not
//     been used for that long (ReasonInactive);
//   - the org requires attestation every AttestEvery and it has not been
//     attested for that long (ReasonAttestationDue).
//
// The last two — the org's rules — apply to every agent, and to a service
// only when it opted in (NoOrgRules false); a service may have sponsors
// (and be sponsor_gone) without opting in.
//
// All of it is evaluated at decision time from stored instants and the
// request's time, so no background job is needed for correctness, and a
// suspended principal can do nothing anywhere: checks, lookups, levels,
// the escalation test. Suspension never grants; lifting it only restores
// what the principal's grants give.

// Lifecycle is what decides a principal's suspension.
type Lifecycle struct {
	// Sponsors are "user:<id>" or "team:<slug>" ids answerable for the
	// principal.
	Sponsors []string `json:"sponsors,omitempty"`
	// RequireSponsor: with no sponsor present, the principal is
	// suspended (agents; a service only when asked).
	RequireSponsor bool `json:"require_sponsor,omitempty"`
	// Suspended: suspended by hand until lifted.
	Suspended bool `json:"suspended,omitempty"`
	// AttestedAt is the last attestation (or the creation).
	AttestedAt time.Time `json:"attested_at,omitzero"`
	// LastUsedAt is the last recorded use (or the creation).
	LastUsedAt time.Time `json:"last_used_at,omitzero"`
	// NoOrgRules: the org's inactivity and attestation rules do not
	// apply (a service that has not opted in to them). The zero value —
	// they apply — is what agents have.
	NoOrgRules bool `json:"no_org_rules,omitempty"`
}

// LifecycleSettings are an org's suspension rules; zero durations switch
// a rule off.
type LifecycleSettings struct {
	InactiveAfter time.Duration `json:"inactive_after,omitempty"`
	AttestEvery   time.Duration `json:"attest_every,omitempty"`
}

// More deny reasons (reason.go): why a principal with a Lifecycle is
// suspended, in precedence order.
const (
	// ReasonSuspended: the principal was suspended by hand.
	ReasonSuspended Reason = "suspended"
	// ReasonSponsorGone: the principal needs a sponsor and its last one
	// has left the org or been deleted.
	ReasonSponsorGone Reason = "sponsor_gone"
	// ReasonInactive: unused for longer than the org allows.
	ReasonInactive Reason = "inactive"
	// ReasonAttestationDue: not attested by a sponsor for longer than the
	// org allows.
	ReasonAttestationDue Reason = "attestation_due"
)

// Suspension says whether a principal with lifecycle l in an org with
// settings s would be suspended at now, and why ("" when it is not). The
// directory uses it to report status; the engine decides with the same
// rules (orgSnap.suspension), plus the presence of sponsors.
func (s LifecycleSettings) Suspension(l *Lifecycle, sponsorPresent func(string) bool, now time.Time) Reason {
	if l == nil {
		return ""
	}
	if r := s.untimed(l, sponsorPresent); r != "" {
		return r
	}
	return s.timed(l, now)
}

// untimed is the part of Suspension that needs no clock: by hand, or no
// sponsor present.
func (s LifecycleSettings) untimed(l *Lifecycle, sponsorPresent func(string) bool) Reason {
	switch {
	case l.Suspended:
		return ReasonSuspended
	case l.RequireSponsor && !anyPresent(l.Sponsors, sponsorPresent):
		return ReasonSponsorGone
	}
	return ""
}

// timed is the part of Suspension that compares stored instants with now.
func (s LifecycleSettings) timed(l *Lifecycle, now time.Time) Reason {
	switch {
	case l.NoOrgRules:
		return ""

	case s.InactiveAfter > 0 && !now.Before(l.LastUsedAt.Add(s.InactiveAfter)):
		return ReasonInactive
	case s.AttestEvery > 0 && !now.Before(l.AttestedAt.Add(s.AttestEvery)):
		return ReasonAttestationDue
	}
	return ""
}

// deadlines are the instants at which the org's clock-based rules
// suspend a principal with lifecycle l (timed's comparisons): inactive
// from LastUsedAt+InactiveAfter on, attestation due from
// AttestedAt+AttestEvery on; zero for a rule that is off or does not
// apply to l (NoOrgRules). Each is a flip from standing to suspended
// only: nothing but a new revision (a recorded use, an attestation, new
// settings) moves it, and a recorded use or an attestation only later.
func (s LifecycleSettings) deadlines(l *Lifecycle) (inactive, unattested time.Time) {
	if l.NoOrgRules {
		return time.Time{}, time.Time{}
	}
	if s.InactiveAfter > 0 {
		inactive = l.LastUsedAt.Add(s.InactiveAfter)
	}
	if s.AttestEvery > 0 {
		unattested = l.AttestedAt.Add(s.AttestEvery)
	}
	return inactive, unattested
}

// timeless reports whether no suspension rule of s depends on the time.
func (s LifecycleSettings) timeless() bool { return s.InactiveAfter <= 0 && s.AttestEvery <= 0 }

func anyPresent(ids []string, present func(string) bool) bool {
	for _, id := range ids {
		if present(id) {
			return true
		}
	}
	return false
}

// suspension is why a principal with lifecycle l is suspended at now in
// this org ("" if it is not).
func (o *orgSnap) suspension(l *Lifecycle, now time.Time) Reason {
	return o.life.Suspension(l, o.sponsorPresent, now)
}

// sponsorPresent reports whether a sponsor id names a current member (a
// user) or an existing team with members.
func (o *orgSnap) sponsorPresent(id string) bool {
	h, ok := o.holders.get(skey(id))
	if !ok {
		return false
	}
	kind, _, _ := parsePrincipal(id)
	switch kind {
	case KindUser:
		return h.isMember()
	case KindTeam:
		return h.isTeam() && len(h.members()) > 0
	}
	return false
}

// lifeReason is why member h cannot act at the request's time for its
// lifetime: expired, or suspended ("" if neither).
func (e *eval) lifeReason(h *holder) Reason {
	if exp := h.expires(); !exp.IsZero() && !e.clock().Before(exp) {
		return ReasonExpired
	}
	if h.x != nil && h.x.life != nil {
		return e.suspension(h.x.life)
	}
	return ""
}

// suspension is why a principal with lifecycle l is suspended at the
// request's time ("" if it is not), reading the clock only when the org
// has a rule that depends on it.
func (e *eval) suspension(l *Lifecycle) Reason {
	s := &e.o.life
	if r := s.untimed(l, e.o.sponsorPresent); r != "" || l.NoOrgRules || s.timeless() {
		return r
	}
	return s.timed(l, e.clock())
}

// describeLife says for a person why pid is suspended.
func describeLife(pid string, r Reason, l *Lifecycle) string {
	switch r {
	case ReasonSuspended:
		return pid + " is suspended"
	case ReasonSponsorGone:
		if len(l.Sponsors) == 0 {
			return pid + " is suspended (sponsor_gone): it has no sponsor; an admin must assign one"
		}
		return pid + " is suspended (sponsor_gone): none of its sponsors (" + joinComma(l.Sponsors) + ") is in the org any more; an admin must assign a new one"
	case ReasonInactive:
		return pid + " is suspended (inactive): unused since " + l.LastUsedAt.UTC().Format(timeFormat)
	case ReasonAttestationDue:
		return pid + " is suspended (attestation_due): last attested " + l.AttestedAt.UTC().Format(timeFormat) + "; a sponsor must attest it"
	}
	return pid + " cannot act (" + string(r) + ")"
}

func joinComma(s []string) string { return strings.Join(s, ", ") }

// Suspension says why principal is suspended at now (zero: time.Now())
// in org, "" when it is not or has no lifecycle. Unknown orgs and
// non-members give "".
func (e *Engine) Suspension(org, principal string, now time.Time) Reason {
	o, ok := e.cur.Load().org(org)
	if !ok || o == nil {
		return ""
	}
	h, ok := o.holders.get(skey(principal))
	if !ok || !h.isMember() || h.x == nil || h.x.life == nil {
		return ""
	}
	return o.suspension(h.x.life, nowOr(now))
}

// UnderOrgRules reports whether principal, a member of org, is under the
// org's inactivity and attestation rules (every agent; a service that
// opted in), so that its uses are worth recording.
func (e *Engine) UnderOrgRules(org, principal string) bool {
	o, ok := e.cur.Load().org(org)
	if !ok || o == nil {
		return false
	}
	h, ok := o.holders.get(skey(principal))
	return ok && h.isMember() && h.x != nil && h.x.life != nil && !h.x.life.NoOrgRules
}

// Standing says whether principal can act in org at now (zero:
// time.Now()): member is false when the engine does not hold it as a
// member of org (unknown org, unknown or deleted principal); otherwise
// why every decision for it is denied — ReasonExpired, or a suspension
// reason — or "" when it can act. Credentials that name a principal
// (agent tokens, a service's API keys) ask it at each use, so that they
// stop as soon as this engine follows the change that ends the principal.
func (e *Engine) Standing(org, principal string, now time.Time) (member bool, r Reason) {
	o, ok := e.cur.Load().org(org)
	if !ok || o == nil {
		return false, ""
	}
	h, ok := o.holders.get(skey(principal))
	if !ok || !h.isMember() {
		return false, ""
	}
	now = nowOr(now)
	if exp := h.expires(); !exp.IsZero() && !now.Before(exp) {
		return true, ReasonExpired
	}
	if h.x != nil && h.x.life != nil {
		return true, o.suspension(h.x.life, now)
	}
	return true, ""
}
