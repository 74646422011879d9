package authz

import (
	"github.com/gatehouse-dev/gatehouse/policy"
)

// eval decides one subject (the acting principal, or the user it acts for)
// against one request in one org snapshot. It lives on the stack; the
// condition variables are built only when a condition must be evaluated.
type eval struct {
	o    *orgSnap
	p    *cpolicy
	req  *Request
	ns   string // request namespace, "default" for ""
	nsID int32  // its id in the org
	tid  int32  // interned type, -1 if the policy never names it
	aid  int32  // interned action, -1 likewise

	// the subject
	pid        string
	kind, name string
	h          *holder

	// hs is the org's holders' slot array when the org's entry in the
	// snapshot held it (orgEntry.sameHolders), nil otherwise; pre is the
	// request's principal's holder found in it (preOK) by resolveHinted.
	hs    []cowSlot[skey, *holder]
	pre   *holder
	preOK bool
	flags uint8 // pre's flags, read early (see resolveHinted)

	resOK     bool // the resource is known (see resource); res is it
	resLooked bool
	res       resVal
	hk        uint64 // resHash of the requested resource, if hkSet
	hkSet     bool
	vars      policy.Vars
	varsBuilt bool
	// assume, when set (lookups that include conditional answers), makes
	// every condition that does not hold count as holding, recording its
	// name: the decision then says whether some conditions would allow.
	assume *condAssume
	// clk is the request's time once read (expiry.go); a decision hands
	// it from one subject's eval to the next, so it is read once.
	clk reqClock
}

// resolve validates the request fields every subject shares and resolves
// the org and namespace. It returns false for anything malformed or
// unknown.
func (s *snapshot) resolve(req *Request) (o *orgSnap, ns string, ok bool) {
	if req == nil {
		return nil, "", false
	}
	o, ok = s.org(req.Org)
	if !ok || o.pol.none {
		return nil, "", false
	}
	ns, ok = resolveNS(o, req)
	return o, ns, ok
}

// resolveNS is the rest of resolve once the org is known.
func resolveNS(o *orgSnap, req *Request) (ns string, ok bool) {
	ns = req.Namespace
	if ns == "" {
		ns = DefaultNamespace
	}
	if !isIdent(ns) || !isIdent(req.ResourceType) || !isIdent(req.Action) {
		return "", false
	}
	if _, exists := o.nsID(ns); !exists {
		return "", false
	}
	return ns, true
}

// resolveHinted is resolve for a check: it also fills e's hs, pre and
// preOK (e must be zero). On orgs1m every line a check reads is a cache
// miss and each waits for the one before it (issue 19): org slot, org,
// holders' shard array, holder slot, holder, grants. Here the request's
// principal is looked up in the org entry's copy of the holders' slot
// array, and its holder's first line read, before anything reads the
// org, so those loads are in flight with the org's; the copy is used
// only once sameHolders has found it to be the org's own array.
func (s *snapshot) resolveHinted(req *Request, e *eval) (o *orgSnap, ns string, ok bool) {
	if req == nil {
		return nil, "", false
	}
	ent, ok := s.orgs.get(skey(req.Org))
	if len(ent.hs) > 0 {
		if h, found := lookupSlots(ent.hs, skey(req.Principal)); found && h != nil {
			e.pre, e.preOK, e.flags = h, true, h.flags
		}
	}
	o = ent.o
	if !ok || o == nil || o.pol.none {
		return nil, "", false
	}
	if e.hs = ent.sameHolders(); e.hs == nil {
		e.pre, e.preOK = nil, false
	}
	ns, ok = resolveNS(o, req)
	return o, ns, ok
}

// holder returns the holder of principal or team id in e's org.
func (e *eval) holder(id string) (*holder, bool) {
	if e.hs == nil {
		return e.o.holders.get(skey(id))
	}
	if e.preOK && id == e.req.Principal {
		return e.pre, true
	}
	return lookupSlots(e.hs, skey(id))
}

func newEval(o *orgSnap, ns string, req *Request) eval {
	var e eval
	e.init(o, ns, req)
	return e
}

// init sets e's request fields (and leaves the hint fields of
// resolveHinted).
func (e *eval) init(o *orgSnap, ns string, req *Request) {
	e.o, e.p, e.req, e.ns = o, o.pol, req, ns
	e.nsID, _ = o.nsID(ns)
	e.tid, e.aid = o.pol.typeID(req.ResourceType), o.pol.actionID(req.Action)
}

// setNS points e at another namespace of the same org (lookups).
func (e *eval) setNS(ns string) {
	e.ns = ns
	e.nsID, _ = e.o.nsID(ns)
	e.hkSet, e.resLooked, e.varsBuilt = false, false, false
}

// subject binds e to principal pid and applies rule 1 (membership, kind,
// expiry). It returns false when pid may do nothing at all.
func (e *eval) subject(pid string) bool {
	kind, name, ok := parsePrincipal(pid)
	if !ok || kind == KindTeam {
		return false
	}
	h, ok := e.holder(pid)
	if !ok || !h.isMember() {
		return false
	}
	if h.x != nil && (!h.x.expires.IsZero() && !e.clock().Before(h.x.expires) ||
		h.x.life != nil && e.suspension(h.x.life) != "") {
		return false
	}
	e.pid, e.kind, e.name, e.h = pid, kind, name, h
	e.resLooked, e.varsBuilt = false, false
	return true
}

// ceiling returns, for an agent subject, its policy declaration (nil for an
// undeclared agent) and ceiling role (nil: no usable ceiling, deny all).
// For other kinds it returns nil, nil.
func (e *eval) ceiling() (*cagent, *crole) {
	if e.kind != KindAgent {
		return nil, nil
	}
	ri := int32(-1)
	ag := e.p.agents[e.name]
	if ag != nil {
		ri = ag.ceiling
	} else if r := e.h.role(); r != "" {
		ri = e.p.roleIdx(r)
	}
	if ri < 0 {
		return ag, nil
	}
	return ag, &e.p.role[ri]
}

// resource returns the requested resource if it is known.
// resource reports whether the requested resource is known (then e.res is
// it).
func (e *eval) resource() bool {
	if !e.resLooked {
		e.resLooked = true
		e.resOK = false
		if e.req.ResourceID != "" {
			e.res, e.resOK = e.o.resources.get(resKey{e.ns, e.req.ResourceType, e.req.ResourceID})
		}
	}
	return e.resOK
}

// matches reports whether grant g (ignoring its condition) grants the
// request's type:action. typ is the resource type of a resource grant ("" for
// other scopes), the pattern type of a share.
func (e *eval) matches(g *grant, typ string) bool {
	if g.role >= 0 {
		return e.p.role[g.role].grants(e.tid, e.aid)
	}
	x := g.x
	if x == nil || !x.share {
		return false // unknown role, or neither/both role and actions
	}
	if typ != e.req.ResourceType {
		return false
	}
	for _, a := range x.actions {
		if a == policy.Wildcard || a == e.req.Action {
			return true
		}
	}
	return false
}

// scan looks through the grants of h that apply to the request. With
// conds false it reports whether an unconditional grant matches, and
// whether some conditional one would (pending); with conds true it
// evaluates the conditions of matching conditional grants.
func (e *eval) scan(h *holder, conds bool) (allowed, pending bool) {
	org := h.orgGrants()
	for i := range org {
		g := h.view(&org[i])
		if e.matches(&g, "") {
			if a, p := e.gate(&g, conds); a {
				return true, false
			} else if p {
				pending = true
			}
		}
	}
	nsr := h.nsRange(e.nsID)
	for i := range nsr {
		g := h.view(&nsr[i])
		if e.matches(&g, "") {
			if a, p := e.gate(&g, conds); a {
				return true, false
			} else if p {
				pending = true
			}
		}
	}
	if e.req.ResourceID != "" && len(h.rs()) > 0 {
		if !e.hkSet {
			e.hk, e.hkSet = resHash(e.nsID, e.req.ResourceType, e.req.ResourceID), true
		}
		rr := h.resRange(e.hk)
		for i := range rr {
			rg := &rr[i]
			if !e.onRequested(h, rg) {
				continue // a hash collision
			}
			g := h.view(&rg.sgrant)
			if !e.matches(&g, e.req.ResourceType) || !e.resource() {
				continue
			}
			if a, p := e.gate(&g, conds); a {
				return true, false
			} else if p {
				pending = true
			}
		}
	}
	return false, pending
}

// gate applies a matching grant's expiry and condition.
func (e *eval) gate(g *grant, conds bool) (allowed, pending bool) {
	if g.x == nil {
		return true, false
	}
	if !e.live(g) {
		return false, false
	}
	c := g.x.cond
	if c == "" {
		return true, false
	}
	if !conds {
		return false, true
	}
	ok, _ := e.evalCond(c)
	return ok, false
}

// granted applies rules 3–4 for the bound subject: a grant from the
// subject or one of its teams matches and its condition holds.
func (e *eval) granted() bool {
	h := e.h
	a, pending := e.scan(h, false)
	if a {
		return true
	}
	for _, tid := range h.teams() {
		if th, ok := e.holder(tid); ok && th.isTeam() {
			a, p := e.scan(th, false)
			if a {
				return true
			}
			pending = pending || p
		}
	}
	if len(e.o.roleShares) > 0 && e.req.ResourceID != "" && e.roleShared() {
		return true
	}
	if !pending {
		return false
	}
	if a, _ := e.scan(h, true); a {
		return true
	}
	for _, tid := range h.teams() {
		if th, ok := e.holder(tid); ok && th.isTeam() {
			if a, _ := e.scan(th, true); a {
				return true
			}
		}
	}
	return false
}

// roleShared reports whether a share of the requested resource made to a
// role the subject holds grants the request (conditions included). Only
// orgs with role shares get here, after the subject's own and its teams'
// unconditional grants have failed.
func (e *eval) roleShared() bool {
	for i := range e.o.roleShares {
		if e.roleShareGrants(&e.o.roleShares[i]) {
			return true
		}
	}
	return false
}

// roleShareGrants reports whether one role's shares of the requested
// resource grant the request to the subject.
func (e *eval) roleShareGrants(rs *roleShare) bool {
	if rs.role < 0 {
		return false
	}
	if !e.hkSet {
		e.hk, e.hkSet = resHash(e.nsID, e.req.ResourceType, e.req.ResourceID), true
	}
	rr := rs.h.resRange(e.hk)
	for i := range rr {
		rg := &rr[i]
		if !e.onRequested(rs.h, rg) {
			continue // a hash collision
		}
		// Cheap tests first: conditions (which build the condition
		// variables) only for a share the subject may hold the role for.
		g := rs.h.view(&rg.sgrant)
		if !e.matches(&g, e.req.ResourceType) || !e.live(&g) || !e.resource() || !e.holdsRole(rs.role, false) {
			continue
		}
		if c := g.cond(); c != "" {
			if ok, _ := e.evalCond(c); !ok {
				continue
			}
		}
		if e.holdsRole(rs.role, true) {
			return true
		}
	}
	return false
}

// holdsRole reports whether the subject holds role ri in the request's
// namespace: a binding of ri, or of a role inheriting it, at org scope or
// in the namespace, naming the subject or one of its teams. With conds,
// a binding's condition must hold; without, a conditional binding counts
// (lookups use that to find candidates, then check).
func (e *eval) holdsRole(ri int32, conds bool) bool {
	if e.holderHolds(e.h, ri, conds) {
		return true
	}
	for _, tid := range e.h.teams() {
		if th, ok := e.holder(tid); ok && th.isTeam() && e.holderHolds(th, ri, conds) {
			return true
		}
	}
	return false
}

// holderHolds reports whether a grant of h (org or namespace scope) makes
// its holder hold role ri.
func (e *eval) holderHolds(h *holder, ri int32, conds bool) bool {
	for _, gs := range [2][]sgrant{h.orgGrants(), h.nsRange(e.nsID)} {
		for i := range gs {
			if gs[i].role < 0 || !e.p.role[gs[i].role].holdsRole(ri) {
				continue
			}
			g := h.view(&gs[i])
			if !e.live(&g) {
				continue
			}
			if c := g.cond(); c != "" && conds {
				if ok, _ := e.evalCond(c); !ok {
					continue
				}
			}
			return true
		}
	}
	return false
}

// allowsThrough reports whether the grants of h alone (a team of the bound
// subject) grant the request, conditions included.
func (e *eval) allowsThrough(h *holder) bool {
	a, pending := e.scan(h, false)
	if !a && pending {
		a, _ = e.scan(h, true)
	}
	return a
}

// decide applies rules 1–5 to principal pid; e must be fresh from newEval.
func (e *eval) decide(pid string) (bool, *cagent) {
	if !e.subject(pid) {
		return false, nil
	}
	ag, ceil := e.ceiling()
	if e.kind == KindAgent {
		if ceil == nil || !ceil.grants(e.tid, e.aid) {
			return false, nil
		}
	}
	if !e.granted() {
		return false, nil
	}
	if conds, ok := ag.conditional(e.tid, e.aid); ok && !e.anyCond(conds) {
		return false, nil
	}
	return true, ag
}

func (e *eval) anyCond(names []string) bool {
	for _, c := range names {
		if ok, _ := e.evalCond(c); ok {
			return true
		}
	}
	return false
}

// evalCond evaluates a named condition for the bound subject; errors fail
// closed.
func (e *eval) evalCond(name string) (bool, error) {
	if !e.varsBuilt {
		e.vars = e.buildVars()
		e.varsBuilt = true
	}
	ok, err := e.p.m.EvalCondition(name, e.vars)
	if !ok && e.assume != nil {
		e.assume.add(name)
		return true, nil
	}
	return ok, err
}

func (e *eval) buildVars() policy.Vars {
	attrs := e.h.attrs()
	if attrs == nil {
		attrs = map[string]any{}
	}
	pv := map[string]any{"id": e.pid, "kind": e.kind, "name": e.name, "attributes": attrs}
	rv := map[string]any{"namespace": e.ns, "type": e.req.ResourceType, "id": e.req.ResourceID}
	labels := map[string]any{}
	rattrs := map[string]any{}
	if e.resource() {
		r := &e.res
		for k, v := range r.labels {
			labels[k] = v
		}
		if r.attrs != nil {
			rattrs = r.attrs
		}
	}
	rv["labels"] = labels
	rv["attributes"] = rattrs
	return policy.Vars{Principal: pv, Resource: rv, Context: e.req.Context}
}

// rulesHolding returns the rules whose condition is empty or holds, or
// fails to evaluate: an obligation fails closed.
func (e *eval) rulesHolding(rs []*policy.Rule) []*policy.Rule {
	var out []*policy.Rule
	for _, r := range rs {
		if r == nil {
			continue
		}
		if r.Condition == "" {
			out = append(out, r)
		} else if ok, err := e.evalCond(r.Condition); ok || err != nil {
			out = append(out, r) // an obligation whose condition fails to evaluate applies (row 51)
		}
	}
	return out
}

func (s *state) check(req *Request) (d Decision) {
	s.cur.Load().decideInto(&d, req, nil, false)
	return d
}

func (s *state) checkWithReason(req *Request) (d Decision) {
	snap := s.cur.Load()
	snap.decideInto(&d, req, nil, false)
	if d.ApprovalRequired {
		d.Reason = ReasonApprovalRequired
	} else if !d.Allowed {
		d.Reason = snap.denyReason(req)
	}
	return d
}

// decide is Check on one snapshot. It also returns the org (nil if the
// request did not resolve).
func (snap *snapshot) decide(req *Request) (d Decision, o *orgSnap) {
	o = snap.decideInto(&d, req, nil, false)
	return d, o
}

// decideSkippingAsks is decide without the ask rules: a request they
// would turn into approval_required is answered allowed, and no ask
// rule's condition is evaluated. Only for callers that want the set of
// what may be done with approval or without (LookupResourcesRequest's
// NoApprovalMarks), never for a decision anyone acts on.
func (snap *snapshot) decideSkippingAsks(req *Request) (d Decision, o *orgSnap) {
	o = snap.decideInto(&d, req, nil, true)
	return d, o
}

// decideAssuming is decide where, when a is set, conditions that do not
// hold are assumed to and recorded in a (conditional.go); the decision's
// obligations and advice are then not meaningful.
func (snap *snapshot) decideAssuming(req *Request, a *condAssume) (d Decision, o *orgSnap) {
	o = snap.decideInto(&d, req, a, false)
	return d, o
}

// decideInto is the one decision body (decide, decideAssuming): it fills
// *d, which must be zero, in place — a Decision is a dozen words, and the
// hot path of Check must not copy it from level to level — and returns
// the org (nil if the request did not resolve).
func (snap *snapshot) decideInto(d *Decision, req *Request, a *condAssume, skipAsks bool) *orgSnap {
	d.Revision = snap.rev
	var e eval
	o, ns, ok := snap.resolveHinted(req, &e)
	if !ok {
		return nil
	}
	e.init(o, ns, req)
	e.assume = a
	var userAsks []*policy.AskRule
	if req.OnBehalfOf != "" {
		pk, _, _ := parsePrincipal(req.Principal)
		uk, _, _ := parsePrincipal(req.OnBehalfOf)
		if (pk != KindAgent && pk != KindService) || uk != KindUser {
			return o
		}
		u := newEval(o, ns, req)
		u.hs, u.assume = e.hs, a
		if ok, _ := u.decide(req.OnBehalfOf); !ok {
			return o
		}
		if o.pol.hasAsk && !skipAsks {
			userAsks = u.appendAsks(nil)
		}
		e.clk = u.clk // the clock, if u read it: once per check
	}
	allowed, ag := e.decide(req.Principal)
	if !allowed {
		return o
	}
	if o.pol.hasAsk && !skipAsks { // asks.go
		asks := e.appendAsks(nil)
		for _, a := range userAsks {
			if !containsAskRule(asks, a) {
				asks = append(asks, a)
			}
		}
		if len(asks) > 0 {
			d.ApprovalRequired, d.Asks = true, asks
			return o
		}
	}
	d.Allowed = true
	if a != nil {
		return o // rules' conditions are not the decision's
	}
	if ag != nil {
		if ag.hasCondRules {
			d.Obligations = e.rulesHolding(ag.a.Obligations)
			d.Advice = e.rulesHolding(ag.a.Advice)
		} else {
			d.Obligations, d.Advice = ag.staticOblig, ag.staticAdvice
		}
	}
	return o
}
