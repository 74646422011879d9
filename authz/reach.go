package authz

import (
	"cmp"
	"errors"
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
// listed with their conditions (they hold only then). Entries covering an
// action an `ask before` rule applies to for the principal carry that
// rule (Asks): the action needs a person's approval, each time, when the
// rule's conditions hold. A principal that cannot act (not a member,
// expired, suspended) reaches nothing, and Status says why.
//
// The ask rules that apply are the engine's (asks.go): an agent's own and
// its ceiling role's, and those of the roles the principal or its teams
// hold through live bindings at org scope, in the namespace or (for an
// entry on one resource) on that resource. A rule is attached only where
// the engine would apply it, so a mark never hides an action the
// principal could take without approval; a conditional binding's
// condition is listed with the rule's.

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
	// Asks are the `ask before` rules that apply to actions this entry
	// covers (for a pattern such as chains:* only some of its actions may
	// need approval: each rule names its own).
	Asks []ReachAsk
}

// ReachAsk is an `ask before` rule that applies to the principal for
// some of an entry's actions.
type ReachAsk struct {
	Rule *policy.AskRule
	// When lists the conditions of the binding that makes the rule apply
	// (empty: it applies whenever the rule's own condition holds).
	When []string
}

// Covers reports whether entry permission p covers the rule's type:action.
func (a ReachAsk) Covers(p policy.Permission) bool {
	rp := a.Rule.Permission
	return (p.Resource == policy.Wildcard || p.Resource == rp.Resource) && (p.Action == policy.Wildcard || p.Action == rp.Action)
}

// Always reports whether the rule applies to exactly permission p with no
// condition: p is reachable only with approval.
func (a ReachAsk) Always(p policy.Permission) bool {
	return a.Rule.Permission == p && a.Rule.Condition == "" && len(a.When) == 0
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
	o, ok := snap.org(org)
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
		ev.setNS(ns)
		asks := ev.reachAsks()
		gs, _, err := e.permissions(org, principal, ns)
		if errors.Is(err, errUnknownNamespace) {
			err = nil // deleted since o was read: nothing held there
		}
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
			nr.Entries = append(nr.Entries, ReachEntry{Permission: g.Permission, Resources: n, Conditions: g.Conditions, Rank: actionRank(g.Permission.Action),
				Asks: covering(asks, g.Permission)})
		}
		nr.Entries = append(nr.Entries, ev.shares(ceil, asks)...)
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

// reachAsks lists the ask rules that apply to e's bound subject in e's
// namespace whatever the resource (asks.go, appendAsks): an agent's own
// and its ceiling role's, and those of the roles bound to the subject or
// its teams at org scope or in the namespace (live bindings; a
// conditional binding's condition goes in When). Nil for a policy
// without ask rules.
func (e *eval) reachAsks() []ReachAsk {
	if !e.p.hasAsk {
		return nil
	}
	var out []ReachAsk
	if e.kind == KindAgent {
		ag, ceil := e.ceiling()
		if ag != nil {
			out = addReachAsks(out, ag.a.Asks, "")
		}
		if ceil != nil {
			out = addReachAsks(out, ceil.r.Asks, "")
		}
	}
	for _, h := range e.subjectHolders() {
		for _, gs := range [2][]sgrant{h.orgGrants(), h.nsRange(e.nsID)} {
			for i := range gs {
				if g := h.view(&gs[i]); g.role >= 0 && e.live(&g) {
					out = addReachAsks(out, e.p.role[g.role].r.Asks, g.cond())
				}
			}
		}
	}
	return out
}

// subjectHolders is the bound subject and its teams.
func (e *eval) subjectHolders() []*holder {
	from := []*holder{e.h}
	for _, tid := range e.h.teams() {
		if th, ok := e.holder(tid); ok && th.isTeam() {
			from = append(from, th)
		}
	}
	return from
}

// addReachAsks adds rules (applying when cond holds, "" always) to out,
// each (rule, cond) once.
func addReachAsks(out []ReachAsk, rules []*policy.AskRule, cond string) []ReachAsk {
	for _, r := range rules {
		a := ReachAsk{Rule: r}
		if cond != "" {
			a.When = []string{cond}
		}
		if !slices.ContainsFunc(out, func(x ReachAsk) bool { return x.Rule == r && slices.Equal(x.When, a.When) }) {
			out = append(out, a)
		}
	}
	return out
}

// covering is the asks that cover permission p (nil if none).
func covering(asks []ReachAsk, p policy.Permission) []ReachAsk {
	var out []ReachAsk
	for _, a := range asks {
		if a.Covers(p) {
			out = append(out, a)
		}
	}
	return out
}

// shares lists the live grants on single existing resources of e's
// namespace that reach the subject: its own, its teams', and shares made
// to roles it may hold there (conditional when that role is). asks are
// the namespace's ask rules (reachAsks); the roles bound on a resource
// add theirs for that resource.
func (e *eval) shares(ceil *crole, asks []ReachAsk) []ReachEntry {
	var out []ReachEntry
	from := e.subjectHolders()
	// byRes holds, per resource, the ask rules of the roles bound to the
	// subject or its teams on it (one pass; nil without such bindings).
	var byRes map[[2]string][]ReachAsk
	if e.p.hasAsk {
		for _, x := range from {
			for i := range x.rs() {
				rg := &x.rs()[i]
				g := x.view(&rg.sgrant)
				if g.role < 0 || g.ns != e.nsID || len(e.p.role[g.role].r.Asks) == 0 || !e.live(&g) {
					continue
				}
				if byRes == nil {
					byRes = map[[2]string][]ReachAsk{}
				}
				k := [2]string{x.str(rg.typ), x.str(rg.rid)}
				byRes[k] = addReachAsks(byRes[k], e.p.role[g.role].r.Asks, g.cond())
			}
		}
	}
	// resAsks is asks plus those of the roles bound on (typ, rid).
	resAsks := func(typ, rid string) []ReachAsk {
		more := byRes[[2]string{typ, rid}]
		if len(more) == 0 {
			return asks
		}
		all := slices.Clip(asks)
		for _, a := range more {
			cond := "" // When holds the one binding condition, if any
			if len(a.When) > 0 {
				cond = a.When[0]
			}
			all = addReachAsks(all, []*policy.AskRule{a.Rule}, cond)
		}
		return all
	}
	add := func(h *holder, rg *resGrant, cond string) {
		g := h.view(&rg.sgrant)
		if g.ns != e.nsID || !e.live(&g) {
			return
		}
		typ, rid := h.str(rg.typ), h.str(rg.rid)
		if _, ok := e.o.resources.get(resKey{e.ns, typ, rid}); !ok {
			return
		}
		var pats []policy.Permission
		switch {
		case g.role >= 0:
			for _, p := range e.p.role[g.role].r.Permissions {
				if p.Resource == policy.Wildcard || p.Resource == typ {
					pats = append(pats, policy.Permission{Resource: typ, Action: p.Action})
				}
			}
		case g.x != nil && g.x.share:
			for _, a := range g.x.actions {
				pats = append(pats, policy.Permission{Resource: typ, Action: a})
			}
		}
		var conds []string
		for _, c := range []string{g.cond(), cond} {
			if c != "" {
				conds = append(conds, c)
			}
		}
		ra := resAsks(typ, rid)
		for _, p := range capped(pats, ceil) {
			out = append(out, ReachEntry{Permission: p, Resource: ResourceRef{Namespace: e.ns, Type: typ, ID: rid},
				Resources: 1, Conditions: conds, Rank: actionRank(p.Action), Asks: covering(ra, p)})
		}
	}
	for _, x := range from {
		for i := range x.rs() {
			add(x, &x.rs()[i], "")
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
		for j := range rs.h.rs() {
			add(rs.h, &rs.h.rs()[j], cond)
		}
	}
	return out
}
