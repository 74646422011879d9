package authz

import "github.com/gatehouse-dev/gatehouse/policy"

// Approval required (DESIGN §1.1 item 8). A request that rules 1–6 allow
// is answered ApprovalRequired instead when an `ask before` rule for its
// exact type:action applies and its condition holds. The rules that apply
// to a subject are:
//   - an agent's own ask rules (when the policy declares it), and those of
//     its ceiling role;
//   - the ask rules (own and inherited) of every role the subject holds in
//     the request's scope: a role binding of the subject or one of its
//     teams at org scope, in the request's namespace, or on the requested
//     resource (while it exists), whose condition holds.
//
// An ask rule applies whether or not the role that carries it is the one
// that granted the request: holding the role is enough (a principal
// cannot escape a role's approval rule by also holding another role).
// With on_behalf_of, the rules of both the acting principal and the user
// apply, each evaluated with its own subject's variables, so an agent
// cannot launder a user's approval requirement.
//
// Cost: a policy without ask rules pays one boolean test per allowed
// check (cpolicy.hasAsk); the rest runs only for policies that have some.

// appendAsks appends to out the ask rules that apply to e's bound subject
// for the request (each once) and returns it.
func (e *eval) appendAsks(out []*policy.AskRule) []*policy.AskRule {
	if e.kind == KindAgent {
		ag, ceil := e.ceiling()
		if ag != nil {
			out = e.appendMatching(out, ag.a.Asks)
		}
		if ceil != nil {
			out = e.appendMatching(out, ceil.r.Asks)
		}
	}
	out = e.appendHeld(out, e.h)
	for _, tid := range e.h.teams() {
		if th, ok := e.holder(tid); ok && th.isTeam() {
			out = e.appendHeld(out, th)
		}
	}
	return out
}

// appendHeld adds the applicable ask rules of the roles h's bindings give
// in the request's scope.
func (e *eval) appendHeld(out []*policy.AskRule, h *holder) []*policy.AskRule {
	for _, gs := range [2][]sgrant{h.orgGrants(), h.nsRange(e.nsID)} {
		for i := range gs {
			g := h.view(&gs[i])
			out = e.appendGrant(out, &g)
		}
	}
	if e.req.ResourceID == "" || len(h.rs()) == 0 {
		return out
	}
	for _, rg := range e.requestedResGrants(h) {
		if e.onRequested(h, &rg) && e.resource() {
			g := h.view(&rg.sgrant)
			out = e.appendGrant(out, &g)
		}
	}
	return out
}

// requestedResGrants is h's bucket of resource grants for the requested
// resource's hash (it may hold collisions: see onRequested).
func (e *eval) requestedResGrants(h *holder) []resGrant {
	if !e.hkSet {
		e.hk, e.hkSet = resHash(e.nsID, e.req.ResourceType, e.req.ResourceID), true
	}
	return h.resRange(e.hk)
}

// onRequested reports whether rg, one of h's resource grants, is on the
// requested resource (not a hash collision).
func (e *eval) onRequested(h *holder, rg *resGrant) bool {
	return h.isRes(rg, e.nsID, e.req.ResourceType, e.req.ResourceID)
}

// appendGrant adds the applicable ask rules of the role g binds, when its
// condition holds.
func (e *eval) appendGrant(out []*policy.AskRule, g *grant) []*policy.AskRule {
	if g.role < 0 {
		return out
	}
	asks := e.p.role[g.role].r.Asks
	if len(asks) == 0 || !e.anyMatching(asks) {
		return out
	}
	if c := g.cond(); c != "" {
		if ok, _ := e.evalCond(c); !ok {
			return out
		}
	}
	return e.appendMatching(out, asks)
}

// anyMatching reports whether one of asks names the request's type:action
// (ignoring conditions).
func (e *eval) anyMatching(asks []*policy.AskRule) bool {
	for _, a := range asks {
		if a.Permission.Resource == e.req.ResourceType && a.Permission.Action == e.req.Action {
			return true
		}
	}
	return false
}

// appendMatching adds the rules of asks that name the request's
// type:action and whose condition holds, skipping rules out has.
func (e *eval) appendMatching(out, asks []*policy.AskRule) []*policy.AskRule {
	for _, a := range asks {
		if a.Permission.Resource != e.req.ResourceType || a.Permission.Action != e.req.Action {
			continue
		}
		if containsAskRule(out, a) {
			continue
		}
		if a.Condition != "" {
			// A condition that fails to evaluate (an error, the CEL cost
			// limit) makes the rule apply: an approval rule fails closed,
			// or a caller could lift it by sending a context that breaks
			// its condition (threat-model row 51).
			if ok, err := e.evalCond(a.Condition); !ok && err == nil {
				continue
			}
		}
		out = append(out, a)
	}
	return out
}

func containsAskRule(list []*policy.AskRule, a *policy.AskRule) bool {
	for _, x := range list {
		if x == a {
			return true
		}
	}
	return false
}

// Approval summarizes what the ask rules of a decision require: the most
// distinct approvers any rule asks for, and, per rule that restricts its
// approvers, the roles of which an approver must hold one (every such
// list must be satisfied). A caller that records approvals uses it to
// decide who may approve.
type Approval struct {
	Quorum int
	From   [][]string
}

// ApprovalOf combines the ask rules of a decision (nil when there are
// none).
func ApprovalOf(asks []*policy.AskRule) *Approval {
	if len(asks) == 0 {
		return nil
	}
	ap := &Approval{Quorum: 1}
	for _, a := range asks {
		ap.Quorum = max(ap.Quorum, a.Quorum)
		if len(a.From) > 0 {
			ap.From = append(ap.From, a.From)
		}
	}
	return ap
}

// HoldsRole reports whether principal holds role in namespace: a binding
// of the role, or of a role inheriting it, at org scope or in the
// namespace, naming the principal or one of its teams, unconditional or
// with a condition that holds without a request context. It is how an
// approval's `from` roles are checked (DESIGN §1.1 item 8). Unknown org,
// principal, namespace or role: false.
func (e *Engine) HoldsRole(org, principal, namespace, role string) bool {
	snap := e.cur.Load()
	req := &Request{Org: org, Principal: principal, Namespace: namespace, ResourceType: "roles", Action: "hold"}
	o, ns, ok := snap.resolve(req)
	if !ok {
		return false
	}
	ri := o.pol.roleIdx(role)
	if ri < 0 {
		return false
	}
	ev := newEval(o, ns, req)
	if !ev.subject(principal) {
		return false
	}
	return ev.holdsRole(ri, true)
}
