package authz

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"github.com/gatehouse-dev/gatehouse/policy"
)

// Reach ("blast radius", docs/agents.md): everything a principal could do
// if its credentials were stolen, per namespace — the patterns it holds
// there through org and namespace grants with the number of existing
// resources each covers, and the resources shared with it one by one —
// ranked with the most destructive actions first. Conditional grants are
// listed with their conditions (they hold only then). A principal that
// cannot act (not a member, expired, suspended) reaches nothing, and
// Status says why.

// Reach is a principal's reach at one revision.
type Reach struct {
	Principal  string
	Revision   uint64
	Status     Reason // "" when the principal can act
	Namespaces []NamespaceReach
}

// NamespaceReach is what the principal reaches in one namespace.
type NamespaceReach struct {
	Namespace string
	Entries   []ReachEntry
}

// ReachEntry is one pattern the principal holds, on every resource it
// covers (Resource zero) or on one shared resource.
type ReachEntry struct {
	Permission policy.Permission
	Resource   ResourceRef // set for a grant on one resource
	// Resources is how many existing resources the pattern covers.
	Resources int
	// Conditions: the entry holds only when one of them does (empty:
	// always).
	Conditions []string
	// Rank orders entries: 0 every action ("*"), 1 destructive (delete,
	// destroy, ...), 2 changing (create, update, run, ...), 3 reading.
	Rank int
}

// actionRanks ranks the actions that are not reads; anything unknown
// ranks as changing (2), reads as 3.
var actionRanks = map[string]int{
	policy.Wildcard: 0,
	"delete":        1, "destroy": 1, "remove": 1, "purge": 1, "drop": 1, "revoke": 1, "rotate": 1, "reveal": 1,
	"read": 3, "list": 3, "get": 3, "view": 3, "describe": 3,
}

func actionRank(a string) int {
	if r, ok := actionRanks[a]; ok {
		return r
	}
	return 2
}

// Reach computes the principal's reach (now: time.Now() when zero).
// Errors: ErrNotFound for an unknown org or a non-member, ErrInvalid for a
// malformed principal id.
func (e *Engine) Reach(org, principal string, now time.Time) (Reach, error) {
	snap := e.cur.Load()
	out := Reach{Principal: principal, Revision: snap.rev}
	kind, _, ok := parsePrincipal(principal)
	if !ok || kind == KindTeam {
		return out, fmt.Errorf("%w: principal %q is not a user, agent or service id", ErrInvalid, principal)
	}
	o, ok := snap.orgs.get(skey(org))
	if !ok || o == nil {
		return out, fmt.Errorf("org %q: %w", org, ErrNotFound)
	}
	h, ok := o.holders.get(skey(principal))
	if !ok || !h.isMember() {
		return out, fmt.Errorf("principal %q: %w", principal, ErrNotFound)
	}
	now = nowOr(now)
	ev := newEval(o, DefaultNamespace, &Request{Org: org, Now: now})
	if r := ev.lifeReason(h); r != "" {
		out.Status = r
		return out, nil
	}
	if !ev.subject(principal) || o.pol.none {
		return out, nil
	}
	_, ceil := ev.ceiling()
	if kind == KindAgent && ceil == nil {
		out.Status = ReasonAgentCeiling
		return out, nil
	}
	counts := map[nsType]int{}
	for k, ids := range o.index.all() {
		counts[k] = ids.len()
	}
	for _, ns := range o.nsSorted {
		nr := NamespaceReach{Namespace: ns}
		gs, _, err := e.permissions(org, principal, ns)
		if err != nil {
			return out, err
		}
		for _, g := range gs {
			n := 0
			for k, c := range counts {
				if k.ns == ns && (g.Permission.Resource == policy.Wildcard || g.Permission.Resource == k.typ) {
					n += c
				}
			}
			nr.Entries = append(nr.Entries, ReachEntry{Permission: g.Permission, Resources: n, Conditions: g.Conditions, Rank: actionRank(g.Permission.Action)})
		}
		ev.setNS(ns)
		nr.Entries = append(nr.Entries, ev.shares(h, ceil)...)
		if len(nr.Entries) == 0 {
			continue
		}
		slices.SortFunc(nr.Entries, func(a, b ReachEntry) int {
			return cmp.Or(cmp.Compare(a.Rank, b.Rank), cmpPerm(a.Permission, b.Permission),
				cmp.Compare(a.Resource.Type, b.Resource.Type), cmp.Compare(a.Resource.ID, b.Resource.ID))
		})
		out.Namespaces = append(out.Namespaces, nr)
	}
	return out, nil
}

// shares lists the live grants on single existing resources of e's
// namespace that reach the subject: its own, its teams', and shares made
// to roles it may hold there (conditional when that role is).
func (e *eval) shares(h *holder, ceil *crole) []ReachEntry {
	var out []ReachEntry
	add := func(g *resGrant, cond string) {
		if g.ns != e.nsID || !e.live(&g.grant) {
			return
		}
		if _, ok := e.o.resources.get(resKey{e.ns, g.typ, g.rid}); !ok {
			return
		}
		var pats []policy.Permission
		switch {
		case g.role >= 0:
			for _, p := range e.p.role[g.role].r.Permissions {
				if p.Resource == policy.Wildcard || p.Resource == g.typ {
					pats = append(pats, policy.Permission{Resource: g.typ, Action: p.Action})
				}
			}
		case g.x != nil && g.x.share:
			for _, a := range g.x.actions {
				pats = append(pats, policy.Permission{Resource: g.typ, Action: a})
			}
		}
		var conds []string
		for _, c := range []string{g.cond(), cond} {
			if c != "" {
				conds = append(conds, c)
			}
		}
		for _, p := range capped(pats, ceil) {
			out = append(out, ReachEntry{Permission: p, Resource: ResourceRef{Namespace: e.ns, Type: g.typ, ID: g.rid},
				Resources: 1, Conditions: conds, Rank: actionRank(p.Action)})
		}
	}
	from := []*holder{h}
	for _, tid := range h.teams() {
		if th, ok := e.o.holders.get(skey(tid)); ok && th.isTeam() {
			from = append(from, th)
		}
	}
	for _, x := range from {
		for i := range x.res {
			add(&x.res[i], "")
		}
	}
	for i := range e.o.roleShares {
		rs := &e.o.roleShares[i]
		if rs.role < 0 || !e.holdsRole(rs.role, false) {
			continue
		}
		cond := ""
		if !e.holdsRole(rs.role, true) {
			cond = "(while holding " + rs.id + ")"
		}
		for j := range rs.h.res {
			add(&rs.h.res[j], cond)
		}
	}
	return out
}
