package authz

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/policy"
)

// heldGrant is one grant a principal holds at a scope.
type heldGrant struct {
	from     *holder // the principal itself or one of its teams
	g        grant
	shareTyp string // pattern type of a share
}

// patterns returns the permission patterns a grant confers ("" role or
// inert bindings confer none).
func (hg heldGrant) patterns(p *cpolicy) []policy.Permission {
	g := hg.g
	if g.role >= 0 {
		return p.role[g.role].r.Permissions
	}
	if g.x == nil || !g.x.share {
		return nil
	}
	out := make([]policy.Permission, 0, len(g.x.actions))
	for _, a := range g.x.actions {
		out = append(out, policy.Permission{Resource: hg.shareTyp, Action: a})
	}
	return out
}

// actor resolves a principal for the administrative queries: a member that
// has not expired. For agents it also returns the ceiling role (nil: the
// agent can do nothing) and its declaration.
type actor struct {
	h     *holder
	kind  string
	agent *cagent
	ceil  *crole
}

func (o *orgSnap) actor(principal string, now time.Time) (actor, bool) {
	a, ok := o.dormantActor(principal)
	if !ok {
		return actor{}, false
	}
	h := a.h
	if exp := h.expires(); !exp.IsZero() {
		if now.IsZero() {
			now = time.Now()
		}
		if !now.Before(exp) {
			return actor{}, false
		}
	}
	if h.x != nil && h.x.life != nil && o.suspension(h.x.life, nowOr(now)) != "" {
		return actor{}, false
	}
	return a, true
}

// dormantActor is actor whatever the principal's state: an expired,
// suspended or otherwise inactive member resolves as if it were active
// (its holder and, for an agent, its ceiling). Only HighestLevelHeld uses
// it; no decision does.
func (o *orgSnap) dormantActor(principal string) (actor, bool) {
	kind, name, ok := parsePrincipal(principal)
	if !ok || kind == KindTeam {
		return actor{}, false
	}
	h, ok := o.holders.get(skey(principal))
	if !ok || !h.isMember() {
		return actor{}, false
	}
	a := actor{h: h, kind: kind}
	if kind == KindAgent {
		ri := int32(-1)
		a.agent = o.pol.agents[name]
		if a.agent != nil {
			ri = a.agent.ceiling
		} else if r := h.role(); r != "" {
			ri = o.pol.roleIdx(r)
		}
		if ri < 0 {
			return actor{}, false
		}
		a.ceil = &o.pol.role[ri]
	}
	return a, true
}

// grantsAt lists the grants of h and its teams whose scope contains sc:
// org grants always, namespace grants when sc is in that namespace, and
// resource grants when sc is that (existing) resource.
// A team's own grants are just its own (teams do not nest). Grants expired
// at now (time.Now() when zero) are left out.
func (o *orgSnap) grantsAt(h *holder, isTeam bool, sc Scope, withResources bool, now time.Time) []heldGrant {
	var out []heldGrant
	now = nowOr(now)
	add := func(from *holder) {
		org := from.orgGrants()
		for i := range org {
			if g := from.view(&org[i]); g.liveAt(now) {
				out = append(out, heldGrant{from, g, ""})
			}
		}
		if sc.IsOrg() {
			return
		}
		nsID, _ := o.nsID(sc.Namespace)
		if nsID < 0 {
			return // nothing is bound in a namespace no binding names
		}
		nsr := from.nsRange(nsID)
		for i := range nsr {
			if g := from.view(&nsr[i]); g.liveAt(now) {
				out = append(out, heldGrant{from, g, ""})
			}
		}
		if !withResources || !sc.IsResource() {
			return
		}
		if _, ok := o.resources.get(resKey{sc.Namespace, sc.Type, sc.ID}); !ok {
			return
		}
		rr := from.resRange(resHash(nsID, sc.Type, sc.ID))
		for i := range rr {
			if g := from.view(&rr[i].sgrant); from.isRes(&rr[i], nsID, sc.Type, sc.ID) && g.liveAt(now) {
				out = append(out, heldGrant{from, g, sc.Type})
			}
		}
	}
	add(h)
	if isTeam {
		return out
	}
	for _, tid := range h.teams() {
		if th, ok := o.holders.get(skey(tid)); ok && th.isTeam() {
			add(th)
		}
	}
	return out
}

// intersect returns the largest pattern both p and q grant.
func intersect(p, q policy.Permission) (policy.Permission, bool) {
	part := func(a, b string) (string, bool) {
		switch {
		case a == policy.Wildcard:
			return b, true
		case b == policy.Wildcard || a == b:
			return a, true
		}
		return "", false
	}
	r, ok1 := part(p.Resource, q.Resource)
	a, ok2 := part(p.Action, q.Action)
	return policy.Permission{Resource: r, Action: a}, ok1 && ok2
}

func cmpPerm(a, b policy.Permission) int {
	if c := strings.Compare(a.Resource, b.Resource); c != 0 {
		return c
	}
	return strings.Compare(a.Action, b.Action)
}

// capped applies an agent's ceiling to patterns: each pattern intersected
// with each ceiling pattern.
func capped(ps []policy.Permission, ceil *crole) []policy.Permission {
	if ceil == nil {
		return ps
	}
	var out []policy.Permission
	for _, p := range ps {
		for _, c := range ceil.r.Permissions {
			if x, ok := intersect(p, c); ok {
				out = append(out, x)
			}
		}
	}
	return out
}

func (s *state) permissions(org, principal, namespace string) ([]Grant, uint64, error) {
	snap := s.cur.Load()
	o, ok := snap.org(org)
	if !ok {
		return nil, snap.rev, fmt.Errorf("org %q: %w", org, ErrNotFound)
	}
	if namespace == "" {
		namespace = DefaultNamespace
	}
	if !isIdent(namespace) {
		return nil, snap.rev, fmt.Errorf("%w: namespace %q is not an identifier", ErrInvalid, namespace)
	}
	if kind, _, ok := parsePrincipal(principal); !ok || kind == KindTeam {
		return nil, snap.rev, fmt.Errorf("%w: principal %q is not a user, agent or service id", ErrInvalid, principal)
	}
	if h, ok := o.holders.get(skey(principal)); !ok || !h.isMember() {
		return nil, snap.rev, fmt.Errorf("principal %q: %w", principal, ErrNotFound)
	}
	if o.pol.none {
		return nil, snap.rev, nil // an org without a policy grants nothing
	}
	if _, exists := o.nsID(namespace); !exists {
		return nil, snap.rev, errUnknownNamespace
	}
	a, ok := o.actor(principal, time.Time{})
	if !ok {
		return nil, snap.rev, nil // expired, or an agent without a ceiling
	}
	type acc struct {
		uncond bool
		conds  []string
	}
	held := map[policy.Permission]*acc{}
	var order []policy.Permission
	add := func(p policy.Permission, cond string) {
		x := held[p]
		if x == nil {
			x = &acc{}
			held[p] = x
			order = append(order, p)
		}
		if cond == "" {
			x.uncond = true
		} else {
			x.conds = append(x.conds, cond)
		}
	}
	for _, hg := range o.grantsAt(a.h, false, Scope{Namespace: namespace}, false, time.Time{}) {
		for _, p := range capped(hg.patterns(o.pol), a.ceil) {
			add(p, hg.g.cond())
		}
	}
	// An agent's conditional permission is usable only under its
	// conditions, whatever pattern covers it: list it with them (for a
	// conditional grant, each entry is "grant-condition && agent-condition").
	if a.agent != nil {
		type cpEntry struct {
			p     policy.Permission
			conds []string
		}
		var cps []cpEntry
		for _, cp := range a.agent.a.Conditional {
			var conds []string
			covered, uncond := false, false
			for _, p := range order {
				if !p.Covers(cp.Permission) {
					continue
				}
				covered = true
				x := held[p]
				uncond = uncond || x.uncond
				for _, gc := range x.conds {
					for _, c := range cp.Conditions {
						if gc == c {
							conds = append(conds, c)
						} else {
							conds = append(conds, gc+" && "+c)
						}
					}
				}
			}
			if uncond {
				// c ∨ (g ∧ c) is c: the conjunctions add nothing.
				conds = slices.Clone(cp.Conditions)
			}
			if covered {
				cps = append(cps, cpEntry{cp.Permission, conds})
			}
		}
		for _, cp := range cps {
			x := held[cp.p]
			if x == nil {
				x = &acc{}
				held[cp.p] = x
				order = append(order, cp.p)
			}
			x.uncond = false
			x.conds = cp.conds
			if len(x.conds) == 0 {
				// No condition can ever hold: the permission is unusable.
				delete(held, cp.p)
			}
		}
	}
	out := make([]Grant, 0, len(held))
	for p, x := range held {
		g := Grant{Permission: p}
		if !x.uncond {
			g.Conditions = slices.Clone(x.conds)
			slices.Sort(g.Conditions)
			g.Conditions = slices.Compact(g.Conditions)
		}
		out = append(out, g)
	}
	slices.SortFunc(out, func(a, b Grant) int { return cmpPerm(a.Permission, b.Permission) })
	return out, snap.rev, nil
}

// levelHolder resolves the principal for HighestLevel and Missing (and,
// with dormant, HighestLevelHeld: whatever the principal's state). A team
// id stands for the team's own bindings (the target of a team binding).
func (o *orgSnap) levelHolder(principal string, dormant bool) (actor, bool) {
	kind, _, ok := parsePrincipal(principal)
	if !ok {
		return actor{}, false
	}
	if kind == KindTeam {
		h, ok := o.holders.get(skey(principal))
		if !ok {
			return actor{}, false
		}
		return actor{h: h, kind: kind}, true
	}
	if dormant {
		return o.dormantActor(principal)
	}
	return o.actor(principal, time.Time{})
}

func (s *state) highestLevel(org, principal string, scope Scope, dormant bool) int {
	snap := s.cur.Load()
	o, ok := snap.org(org)
	if !ok || o.pol.none {
		return -1
	}
	a, ok := o.levelHolder(principal, dormant)
	if !ok {
		return -1
	}
	top := -1
	for _, hg := range o.grantsAt(a.h, a.kind == KindTeam, scope, true, time.Time{}) {
		g := hg.g
		if g.role < 0 || g.cond() != "" {
			continue
		}
		lvl := o.pol.role[g.role].r.Level
		if a.ceil != nil {
			lvl = min(lvl, a.ceil.r.Level)
		}
		top = max(top, lvl)
	}
	return top
}

func (s *state) missing(org, principal string, scope Scope, want []policy.Permission) []policy.Permission {
	snap := s.cur.Load()
	o, ok := snap.org(org)
	if !ok || o.pol.none {
		return slices.Clone(want)
	}
	a, ok := o.levelHolder(principal, false)
	if !ok || a.kind == KindTeam {
		return slices.Clone(want)
	}
	grants := o.grantsAt(a.h, a.kind == KindTeam, scope, true, time.Time{})
	var out []policy.Permission
	for _, w := range want {
		if !heldBy(w, grants, o.pol, a.ceil) || agentConditional(a.agent, w) {
			out = append(out, w)
		}
	}
	return out
}

// heldBy reports whether an unconditional grant of grants covers w, its
// patterns capped by ceil (an agent's ceiling; nil for none). It walks the
// grants in place rather than collecting every held pattern first: a role
// grant's patterns are its role's slice, so for a user or a team nothing
// is allocated (the server asks it on every deny of an unnamed action,
// directory.DecisionWarnings).
func heldBy(w policy.Permission, grants []heldGrant, p *cpolicy, ceil *crole) bool {
	for _, hg := range grants {
		if hg.g.cond() == "" && coveredBy(w, capped(hg.patterns(p), ceil)) {
			return true
		}
	}
	return false
}

func coveredBy(w policy.Permission, held []policy.Permission) bool {
	for _, h := range held {
		if h.Covers(w) {
			return true
		}
	}
	return false
}

// agentConditional reports whether w includes a permission the agent may
// use only under a condition (so it does not hold all of w unconditionally).
func agentConditional(ag *cagent, w policy.Permission) bool {
	if ag == nil {
		return false
	}
	for _, cp := range ag.a.Conditional {
		if w.Covers(cp.Permission) {
			return true
		}
	}
	return false
}

// resourceScopesHeld lists, sorted and each once, the resource scopes of
// the grants the principal and the teams it is in hold, whatever the
// principal's state or the grants' expiry, condition or kind.
func (s *state) resourceScopesHeld(org, principal string) []Scope {
	snap := s.cur.Load()
	o, ok := snap.org(org)
	if !ok {
		return nil
	}
	a, ok := o.levelHolder(principal, true)
	if !ok {
		return nil
	}
	var out []Scope
	add := func(h *holder) {
		rs := h.rs()
		for i := range rs {
			out = append(out, Scope{Namespace: o.nsName(rs[i].ns), Type: h.str(rs[i].typ), ID: h.str(rs[i].rid)})
		}
	}
	add(a.h)
	if a.kind != KindTeam {
		for _, tid := range a.h.teams() {
			if th, ok := o.holders.get(skey(tid)); ok && th.isTeam() {
				add(th)
			}
		}
	}
	slices.SortFunc(out, cmpScope)
	return slices.Compact(out)
}

func cmpScope(a, b Scope) int {
	if c := strings.Compare(a.Namespace, b.Namespace); c != 0 {
		return c
	}
	if c := strings.Compare(a.Type, b.Type); c != 0 {
		return c
	}
	return strings.Compare(a.ID, b.ID)
}

// patternsHeld is PatternsHeld.
func (s *state) patternsHeld(org, principal string, sc Scope) []policy.Permission {
	snap := s.cur.Load()
	o, ok := snap.org(org)
	if !ok || o.pol.none {
		return nil
	}
	a, ok := o.levelHolder(principal, true)
	if !ok {
		return nil
	}
	var out []policy.Permission
	for _, hg := range o.grantsAt(a.h, a.kind == KindTeam, sc, true, time.Time{}) {
		out = append(out, capped(hg.patterns(o.pol), a.ceil)...)
	}
	slices.SortFunc(out, cmpPerm)
	return slices.Compact(out)
}
