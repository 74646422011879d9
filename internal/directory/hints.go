package directory

import (
	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/policy"
)

// Decision warnings: notes on a decision for the integrator that asked.
//
// Invariants:
//   - A warning never changes a decision: it is computed after the engine
//     decided, from the same request, and only for a deny (an allow or
//     approval_required needs no hint).
//   - It tells nothing the caller could not read otherwise: whether the
//     org's policy names an action is the policy's text, so only a caller
//     holding policy:read at org scope gets it (threat-model row 57).

// CodeUnknownAction is the warning of a denied check whose type:action
// the org's policy never names (policy.Model.ActionsNamed): a misspelt
// action fails closed, and says so.
const CodeUnknownAction = "unknown_action"

// Warning is a note on a decision; it never changes the decision.
type Warning struct {
	Code    string
	Message string
}

var permPolicyRead = []policy.Permission{{Resource: "policy", Action: "read"}}

// DecisionWarnings returns the warnings of dec, the engine's decision of
// req, for actor (nil for none): unknown_action when dec is a deny, the
// org's policy names no action req.Action for req.ResourceType (no role,
// agent rule, ask rule or resource declaration; `*` names none) and actor
// holds policy:read at org scope. The message names the closest action
// the policy does name, if one is near. Such an action can still be
// granted by a share naming it, which the message says.
func (d *Directory) DecisionWarnings(actor Actor, req *authz.Request, dec authz.Decision) []Warning {
	return d.decisionWarnings(actor, req, dec, Gate{})
}

// DecisionWarnings is Directory.DecisionWarnings for a's actor, reading
// whether it holds policy:read from the org gate's finding (Asker.Gated)
// while that holds (the same revision, before its clock runs out).
func (a *Asker) DecisionWarnings(req *authz.Request, dec authz.Decision) []Warning {
	return a.d.decisionWarnings(a.actor, req, dec, a.gate)
}

// DecisionWarning is DecisionWarnings for a caller that takes at most
// one warning (there is one code today) without a slice: the warning and
// true, or false for none. The /check path answers it from storage of its
// own instead of allocating a slice per warned deny.
func (a *Asker) DecisionWarning(req *authz.Request, dec authz.Decision) (Warning, bool) {
	return a.d.decisionWarning(a.actor, req, dec, a.gate)
}

func (d *Directory) decisionWarnings(actor Actor, req *authz.Request, dec authz.Decision, g Gate) []Warning {
	w, ok := d.decisionWarning(actor, req, dec, g)
	if !ok {
		return nil
	}
	return []Warning{w}
}

func (d *Directory) decisionWarning(actor Actor, req *authz.Request, dec authz.Decision, g Gate) (Warning, bool) {
	if dec.Allowed || dec.ApprovalRequired || req == nil {
		return Warning{}, false
	}
	m := d.eng.Policy(req.Org)
	if m == nil {
		return Warning{}, false
	}
	if m.NamesAction(req.ResourceType, req.Action) || !d.holdsPolicyRead(req.Org, actor.Principal, g) {
		return Warning{}, false
	}
	return Warning{Code: CodeUnknownAction, Message: m.UnknownActionHint(req.ResourceType, req.Action)}, true
}

// holdsPolicyRead reports whether principal holds policy:read at org
// scope in org: g's finding when it has one, else the engine's.
func (d *Directory) holdsPolicyRead(org, principal string, g Gate) bool {
	if held, known := g.policyRead(org, principal, d.eng.Revision()); known {
		return held
	}
	return len(d.eng.Missing(org, principal, authz.Scope{}, permPolicyRead)) == 0
}
