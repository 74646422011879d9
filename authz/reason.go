package authz

// Deny reasons. A denied Decision carries one machine-readable Reason so
// that an integration bug (a principal that is not a member, a misspelt
// namespace, a condition the context does not satisfy) is visible without
// an explanation. Reasons never change a decision: the engine decides
// first, and only a deny is then classified, on the same snapshot, by
// denyReason — the allow path computes nothing.
//
// Precedence: the first that applies, in this order — the request itself
// (invalid_request, no_policy, unknown_namespace, invalid_delegation),
// then the principal, then the user it acts on behalf of, each subject
// as: not_member, expired, suspended, sponsor_gone, inactive,
// attestation_due (lifecycle.go), agent_ceiling, then its grants: no_grant when
// no grant of the subject or its teams matches type:action in scope,
// expired when only expired ones do, else
// condition_error when a condition that gated a matching grant could not
// be evaluated, else condition_failed; then, for an agent whose grants
// hold, the agent's `can … when` rule: condition_error or
// condition_failed likewise.

// Reason says why a request was denied ("" for an allowed one).
type Reason string

// The closed set of deny reasons (docs/api.md describes each).
const (
	// ReasonInvalidRequest: a malformed principal, on_behalf_of,
	// namespace, type or action (the server answers those with a 400
	// before asking the engine).
	ReasonInvalidRequest Reason = "invalid_request"
	// ReasonNoPolicy: the org is unknown to the engine or has no policy.
	ReasonNoPolicy Reason = "no_policy"
	// ReasonUnknownNamespace: the namespace does not exist in the org.
	ReasonUnknownNamespace Reason = "unknown_namespace"
	// ReasonInvalidDelegation: on_behalf_of is set but the principal is
	// not an agent or service, or on_behalf_of is not a user.
	ReasonInvalidDelegation Reason = "invalid_delegation"
	// ReasonNotMember: the principal (or the user it acts for) is not a
	// member of the org.
	ReasonNotMember Reason = "not_member"
	// ReasonExpired: the principal's membership has expired (an agent's
	// expiry), or every grant that matched type:action in scope has
	// expired (expiry.go).
	ReasonExpired Reason = "expired"
	// ReasonAgentCeiling: the agent has no usable ceiling role, or its
	// ceiling role does not grant type:action.
	ReasonAgentCeiling Reason = "agent_ceiling"
	// ReasonNoGrant: no binding of the subject or its teams grants
	// type:action on this resource in this namespace.
	ReasonNoGrant Reason = "no_grant"
	// ReasonConditionFailed: a grant (or the agent's rule) matched, but
	// its condition is false.
	ReasonConditionFailed Reason = "condition_failed"
	// ReasonConditionError: a grant (or the agent's rule) matched, but its
	// condition could not be evaluated (e.g. a missing context key).
	ReasonConditionError Reason = "condition_error"
	// ReasonApprovalRequired: the request would be allowed, but an `ask
	// before` rule applies (Decision.ApprovalRequired): it needs a
	// person's approval first. Not a deny of the rules 1–6; it comes
	// before every other reason because nothing else failed.
	ReasonApprovalRequired Reason = "approval_required"
)

// Reasons lists every Reason, in precedence order.
func Reasons() []Reason {
	return []Reason{ReasonInvalidRequest, ReasonNoPolicy, ReasonUnknownNamespace, ReasonInvalidDelegation,
		ReasonNotMember, ReasonExpired, ReasonSuspended, ReasonSponsorGone, ReasonInactive, ReasonAttestationDue,
		ReasonAgentCeiling, ReasonNoGrant, ReasonConditionFailed, ReasonConditionError,
		ReasonApprovalRequired}
}

// denyReason classifies a request snap.decide denied. It is called only
// for denies, so it may re-scan and evaluate conditions.
func (snap *snapshot) denyReason(req *Request) Reason {
	if req == nil {
		return ReasonInvalidRequest
	}
	ns := req.Namespace
	if ns == "" {
		ns = DefaultNamespace
	}
	if !isIdent(ns) || !isIdent(req.ResourceType) || !isIdent(req.Action) {
		return ReasonInvalidRequest
	}
	if _, _, ok := parsePrincipal(req.Principal); !ok {
		return ReasonInvalidRequest
	}
	if req.OnBehalfOf != "" {
		if _, _, ok := parsePrincipal(req.OnBehalfOf); !ok {
			return ReasonInvalidRequest
		}
	}
	o, ok := snap.org(req.Org)
	if !ok || o == nil || o.pol.none {
		return ReasonNoPolicy
	}
	if _, exists := o.nsID(ns); !exists {
		return ReasonUnknownNamespace
	}
	if req.OnBehalfOf != "" {
		pk, _, _ := parsePrincipal(req.Principal)
		uk, _, _ := parsePrincipal(req.OnBehalfOf)
		if (pk != KindAgent && pk != KindService) || uk != KindUser {
			return ReasonInvalidDelegation
		}
	}
	if r := subjectReason(o, ns, req, req.Principal); r != "" {
		return r
	}
	if req.OnBehalfOf != "" {
		if r := subjectReason(o, ns, req, req.OnBehalfOf); r != "" {
			return r
		}
	}
	// Unreachable for a denied request: the engine and this classification
	// disagree. Say the least specific thing.
	return ReasonNoGrant
}

// subjectReason is why pid alone is denied ("" if it is allowed).
func subjectReason(o *orgSnap, ns string, req *Request, pid string) Reason {
	kind, _, ok := parsePrincipal(pid)
	if !ok || kind == KindTeam {
		return ReasonInvalidRequest
	}
	h, found := o.holders.get(skey(pid))
	if !found || !h.isMember() {
		return ReasonNotMember
	}
	e := newEval(o, ns, req)
	if r := e.lifeReason(h); r != "" {
		return r
	}
	if !e.subject(pid) {
		return ReasonExpired
	}
	ag, ceil := e.ceiling()
	if kind == KindAgent && (ceil == nil || !ceil.grants(e.tid, e.aid)) {
		return ReasonAgentCeiling
	}
	var c condTally
	if e.granted() {
		if conds, ok := ag.conditional(e.tid, e.aid); ok {
			for _, name := range conds {
				c.eval(&e, name)
			}
			return c.reason()
		}
		return ""
	}
	e.tallyConds(h, &c)
	for _, tid := range h.teams() {
		if th, ok := o.holders.get(skey(tid)); ok && th.isTeam() {
			e.tallyConds(th, &c)
		}
	}
	if c.n == 0 {
		if c.expired {
			return ReasonExpired
		}
		return ReasonNoGrant
	}
	return c.reason()
}

// condTally counts the conditions that gated a denied request.
type condTally struct {
	n, held int
	errored bool
	expired bool // a matching grant in scope had expired (and was not counted)
}

func (c *condTally) eval(e *eval, name string) {
	ok, err := e.evalCond(name)
	c.n++
	if ok {
		c.held++
	}
	if err != nil {
		c.errored = true
	}
}

// reason is condition_error if any gating condition errored, else
// condition_failed ("" when one held: the subject is allowed).
func (c *condTally) reason() Reason {
	switch {
	case c.held > 0:
		return ""
	case c.errored:
		return ReasonConditionError
	}
	return ReasonConditionFailed
}

// tallyConds evaluates the conditions of h's grants that match the request
// in scope (those scan would evaluate).
func (e *eval) tallyConds(h *holder, c *condTally) {
	visit := func(g *grant, typ string) {
		if !e.matches(g, typ) {
			return
		}
		if !e.live(g) {
			c.expired = true
			return
		}
		if cond := g.cond(); cond != "" {
			c.eval(e, cond)
		}
	}
	org := h.orgGrants()
	for i := range org {
		g := h.view(&org[i])
		visit(&g, "")
	}
	nsr := h.nsRange(e.nsID)
	for i := range nsr {
		g := h.view(&nsr[i])
		visit(&g, "")
	}
	if e.req.ResourceID == "" || len(h.rs()) == 0 {
		return
	}
	for i := range h.rs() {
		rg := &h.rs()[i]
		if e.onRequested(h, rg) && e.resource() {
			g := h.view(&rg.sgrant)
			visit(&g, e.req.ResourceType)
		}
	}
}
