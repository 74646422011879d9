package authz

import (
	"slices"
	"strings"

	"github.com/gatehouse-dev/gatehouse/policy"
)

// Near-miss kinds, best (closest to granting) first.
const (
	nearCondition   = iota // the grant matched but its condition failed
	nearExpired            // the grant matched but has expired
	nearCeiling            // the grant matched but the agent's ceiling lacks it
	nearAgentCond          // the grant matched but the agent's conditional rule failed
	nearNoResource         // a grant on this resource, which does not exist
	nearAction             // the role has the resource type but not the action
	nearNamespace          // the grant would match in another namespace
	nearResource           // the grant would match on another resource of the type
	nearNotInRole          // a share of this resource to a role the principal does not hold here
	nearUnknownRole        // the bound role is not in the policy
	nearInert              // the binding cannot grant (both/neither role and actions...)
)

// maxNear bounds an explanation's near misses (a principal may hold
// thousands of shares of other resources).
const maxNear = 20

type nearTrace struct {
	rank int
	t    Trace
}

// subjectExplanation is what explain found for one subject.
type subjectExplanation struct {
	pid     string
	allowed bool
	grants  []Trace
	near    []nearTrace
	reason  string // a subject-level reason (not a member, expired, no ceiling...)
	// agentCondErr is why the agent's `can … when` conditions for the
	// request could not be evaluated ("" if one held or all were false).
	agentCondErr string
}

func (s *state) explain(req *Request) Explanation {
	snap := s.cur.Load()
	d, o := snap.decide(req)
	if d.ApprovalRequired {
		d.Reason = ReasonApprovalRequired
	} else if !d.Allowed {
		d.Reason = snap.denyReason(req)
	}
	// granted: rules 1–6 allow (the grants are listed even when an ask
	// rule then requires approval).
	granted := d.Allowed || d.ApprovalRequired
	ex := Explanation{Decision: d}
	if req == nil {
		ex.Summary = "denied: no request"
		return ex
	}
	if o == nil {
		ex.Summary = "denied: " + unresolved(snap, req)
		return ex
	}
	ns := req.Namespace
	if ns == "" {
		ns = DefaultNamespace
	}
	what := describeRequest(req, ns)
	if req.OnBehalfOf != "" {
		pk, _, _ := parsePrincipal(req.Principal)
		uk, _, _ := parsePrincipal(req.OnBehalfOf)
		if (pk != KindAgent && pk != KindService) || uk != KindUser {
			ex.Summary = req.Principal + " cannot " + what + " on behalf of " + req.OnBehalfOf +
				": only an agent or a service may act on behalf of someone, and only of a user."
			return ex
		}
	}
	subjects := []subjectExplanation{explainSubject(o, ns, req, req.Principal)}
	if req.OnBehalfOf != "" {
		subjects = append(subjects, explainSubject(o, ns, req, req.OnBehalfOf))
	}
	var sum []string
	for _, se := range subjects {
		slices.SortStableFunc(se.near, func(a, b nearTrace) int { return a.rank - b.rank })
		if granted {
			ex.Grants = append(ex.Grants, se.grants...)
		} else if !se.allowed {
			for _, n := range se.near {
				if len(ex.Near) == maxNear {
					break
				}
				ex.Near = append(ex.Near, n.t)
			}
		}
		sum = append(sum, summarize(se, what, granted))
	}
	if req.OnBehalfOf != "" {
		verdict := "allowed"
		if !d.Allowed {
			verdict = "denied"
		}
		ex.Summary = verdict + ": " + req.Principal + " acts on behalf of " + req.OnBehalfOf +
			", so both must be allowed. " + strings.Join(sum, " ")
	} else {
		ex.Summary = sum[0]
	}
	if d.ApprovalRequired {
		ex.Summary = "approval required: " + ex.Summary + " " + describeAsks(d.Asks)
	}
	return ex
}

// describeAsks names the ask rules that require approval, with where they
// are written.
func describeAsks(asks []*policy.AskRule) string {
	var parts []string
	for _, a := range asks {
		parts = append(parts, "`"+a.Text()+"` ("+a.Owner+", "+a.Pos.String()+")")
	}
	return "But " + strings.Join(parts, " and ") + " requires a person's approval first."
}

// unresolved says why a request did not reach any principal's grants.
func unresolved(snap *snapshot, req *Request) string {
	o, ok := snap.org(req.Org)
	if !ok || o == nil {
		return "org " + quote(req.Org) + " is unknown."
	}
	if o.pol.none {
		return "org " + quote(req.Org) + " has no policy, so nothing is allowed."
	}
	ns := req.Namespace
	if ns == "" {
		ns = DefaultNamespace
	}
	switch {
	case !isIdent(req.ResourceType):
		return "resource type " + quote(req.ResourceType) + " is not an identifier."
	case !isIdent(req.Action):
		return "action " + quote(req.Action) + " is not an identifier."
	case !isIdent(ns):
		return "namespace " + quote(ns) + " is not an identifier."
	}
	return "namespace " + quote(ns) + " does not exist in org " + quote(req.Org) + "."
}

func quote(s string) string { return "\"" + s + "\"" }

func describeRequest(req *Request, ns string) string {
	target := req.ResourceType
	if req.ResourceID != "" {
		target += "/" + req.ResourceID
	}
	return req.Action + " " + target + " in " + ns
}

// describeScope renders a binding's scope for a person.
func describeScope(b Binding) string {
	switch {
	case b.Scope.IsOrg():
		return "org-wide"
	case b.Scope.IsResource():
		return "on " + b.Scope.String()
	default:
		return "in namespace " + b.Scope.Namespace
	}
}

func shortName(pid string) string {
	if _, name, ok := parsePrincipal(pid); ok {
		return name
	}
	return pid
}

// explainSubject traces every binding of pid and its teams against the
// request.
func explainSubject(o *orgSnap, ns string, req *Request, pid string) subjectExplanation {
	se := subjectExplanation{pid: pid}
	e := newEval(o, ns, req)
	kind, _, ok := parsePrincipal(pid)
	switch {
	case !ok:
		se.reason = quote(pid) + " is not a principal id (want user:, agent: or service:<name>)"
		return se
	case kind == KindTeam:
		se.reason = "a team cannot act; its members do"
		return se
	}
	h, found := o.holders.get(skey(pid))
	if !found || !h.isMember() {
		se.reason = pid + " is not a member of org " + quote(o.name)
		return se
	}
	if r := e.lifeReason(h); r != "" && r != ReasonExpired {
		se.reason = describeLife(pid, r, h.x.life)
		return se
	}
	if !e.subject(pid) {
		se.reason = pid + " expired at " + h.expires().UTC().Format(timeFormat)
		return se
	}
	ag, ceil := e.ceiling()
	if kind == KindAgent && ceil == nil {
		if ag != nil {
			se.reason = "agent " + shortName(pid) + "'s ceiling role " + quote(ag.a.Role) + " is not in the policy"
		} else if h.role() == "" {
			se.reason = "agent " + shortName(pid) + " is not declared in the policy and has no role: an agent without a ceiling role can do nothing"
		} else {
			se.reason = "agent " + shortName(pid) + "'s role " + quote(h.role()) + " is not in the policy"
		}
		return se
	}
	ceilingOK := ceil == nil || ceil.grants(e.tid, e.aid)
	agentConds, hasAgentCond := ag.conditional(e.tid, e.aid)
	agentCondOK := true
	if hasAgentCond {
		agentCondOK, se.agentCondErr = agentCondsHold(&e, agentConds)
	}

	visit := func(from *holder, fromID string) {
		via := ""
		if from != h {
			via = fromID
		}
		for i := range from.gs() {
			g := from.view(&from.gs()[i])
			explainGrant(&se, &e, &g, o.binding(fromID, from, &g, "", ""), via, "", g.ns < 0 || g.ns == e.nsID, ceil, ceilingOK, agentCondOK, agentConds)
		}
		for i := range from.rs() {
			rg := &from.rs()[i]
			typ, rid := from.str(rg.typ), from.str(rg.rid)
			g := from.view(&rg.sgrant)
			b := o.binding(fromID, from, &g, typ, rid)
			inScope := req.ResourceID != "" && rg.ns == e.nsID && typ == req.ResourceType && rid == req.ResourceID
			if inScope {
				if _, exists := o.resources.get(resKey{ns, typ, rid}); !exists {
					if e.matches(&g, typ) {
						se.near = append(se.near, nearTrace{nearNoResource, Trace{Binding: b, Via: via, Role: b.Role,
							Note: "resource " + b.Scope.String() + " does not exist; a binding on a resource applies only while it exists"}})
					}
					continue
				}
			}
			explainGrant(&se, &e, &g, b, via, typ, inScope, ceil, ceilingOK, agentCondOK, agentConds)
		}
	}
	visit(h, pid)
	for _, tid := range h.teams() {
		if th, ok := o.holders.get(skey(tid)); ok && th.isTeam() {
			visit(th, tid)
		}
	}
	if req.ResourceID != "" {
		explainRoleShares(&se, &e, o, ns, pid, ceil, ceilingOK, agentCondOK, agentConds)
	}
	se.allowed = len(se.grants) > 0
	return se
}

// explainRoleShares traces the shares of the requested resource made to
// roles: through the role, when the subject holds it here; a near miss
// naming the role, when it does not.
func explainRoleShares(se *subjectExplanation, e *eval, o *orgSnap, ns, pid string,
	ceil *crole, ceilingOK, agentCondOK bool, agentConds []string) {
	req := e.req
	for i := range o.roleShares {
		rs := &o.roleShares[i]
		for j := range rs.h.rs() {
			rg := &rs.h.rs()[j]
			if !rs.h.isRes(rg, e.nsID, req.ResourceType, req.ResourceID) {
				continue
			}
			typ, rid := req.ResourceType, req.ResourceID
			g := rs.h.view(&rg.sgrant)
			b := o.binding(rs.id, rs.h, &g, typ, rid)
			if _, exists := o.resources.get(resKey{ns, typ, rid}); !exists {
				continue // as for the subject's own shares, reported there
			}
			if rs.role < 0 || !e.holdsRole(rs.role, true) {
				if !e.matches(&g, typ) {
					continue
				}
				t := Trace{Binding: b, Role: b.Role, Condition: g.cond(),
					Pattern: matchedPattern(&g, e.p, typ, req)}
				if rs.role < 0 {
					t.Note = "shared with " + rs.id + ", which is not a role of the policy"
				} else {
					t.Note = "shared with " + rs.id + ", which " + pid + " does not hold org-wide or in namespace " + ns +
						" (directly, through a team, or through a role inheriting it)"
				}
				se.near = append(se.near, nearTrace{nearNotInRole, t})
				continue
			}
			explainGrant(se, e, &g, b, rs.id, typ, true, ceil, ceilingOK, agentCondOK, agentConds)
		}
	}
}

// explainGrant classifies one grant: a trace of what granted, or a near
// miss, or nothing worth saying.
func explainGrant(se *subjectExplanation, e *eval, g *grant, b Binding, via, shareTyp string, inScope bool,
	ceil *crole, ceilingOK, agentCondOK bool, agentConds []string) {
	t := Trace{Binding: b, Via: via, Role: b.Role, Condition: g.cond()}
	p := e.p
	req := e.req
	if !e.matches(g, shareTyp) {
		if !inScope {
			return
		}
		switch {
		case g.x != nil && g.x.inert:
			t.Note = "binding " + b.ID + " grants nothing: it needs a role or an action list (not both), and an action list only on one resource"
			se.near = append(se.near, nearTrace{nearInert, t})
		case g.role < 0 && (g.x == nil || !g.x.share):
			t.Note = "role " + quote(b.Role) + " is not defined in the policy: binding " + b.ID + " grants nothing"
			se.near = append(se.near, nearTrace{nearUnknownRole, t})
		case g.role >= 0:
			cr := &p.role[g.role]
			if !cr.grantsType(e.tid) {
				return
			}
			t.Pattern = closestPattern(cr.r, req.ResourceType)
			t.Note = "role " + b.Role + " has " + req.ResourceType + " but not " + req.ResourceType + ":" + req.Action
			se.near = append(se.near, nearTrace{nearAction, t})
		default: // a share with other actions or another type
			if shareTyp != req.ResourceType && shareTyp != policy.Wildcard {
				return
			}
			t.Note = "shared for " + strings.Join(b.Actions, ", ") + ", not " + req.Action
			se.near = append(se.near, nearTrace{nearAction, t})
		}
		return
	}
	t.Pattern = matchedPattern(g, p, shareTyp, req)
	t.Note = ""
	if !inScope {
		switch {
		case b.Scope.IsResource():
			if b.Scope.Type != req.ResourceType {
				return // a grant on another type of resource is not close
			}
			t.Note = "binding " + b.ID + " is on " + b.Scope.String() + " only"
			se.near = append(se.near, nearTrace{nearResource, t})
		default:
			t.Note = "binding " + b.ID + " is in namespace " + b.Scope.Namespace + ", but this request is in " + e.ns
			se.near = append(se.near, nearTrace{nearNamespace, t})
		}
		return
	}
	if !e.live(g) {
		t.Note = "binding " + b.ID + " expired at " + g.expires().UTC().Format(timeFormat)
		se.near = append(se.near, nearTrace{nearExpired, t})
		return
	}
	if c := t.Condition; c != "" {
		ok, err := e.evalCond(c)
		t.ConditionHeld = ok
		if err != nil {
			t.ConditionErr = err.Error()
		}
		if !ok {
			if err != nil {
				t.Note = "condition " + c + " could not be evaluated: " + err.Error()
			} else {
				t.Note = "condition " + c + " is false"
			}
			se.near = append(se.near, nearTrace{nearCondition, t})
			return
		}
	}
	if !ceilingOK {
		t.Note = "the agent's ceiling role " + ceil.r.Name + " lacks " + req.ResourceType + ":" + req.Action
		se.near = append(se.near, nearTrace{nearCeiling, t})
		return
	}
	if !agentCondOK {
		t.Note = "the agent may " + req.Action + " " + req.ResourceType + " only when " + strings.Join(agentConds, " or ") + ", which does not hold"
		if se.agentCondErr != "" {
			t.Note = "the agent may " + req.Action + " " + req.ResourceType + " only when " + strings.Join(agentConds, " or ") +
				", which could not be evaluated: " + se.agentCondErr
		}
		se.near = append(se.near, nearTrace{nearAgentCond, t})
		return
	}
	se.grants = append(se.grants, t)
}

// agentCondsHold evaluates an agent's conditions for a permission (any one
// suffices, as in anyCond) and keeps the first evaluation error, which
// anyCond drops.
func agentCondsHold(e *eval, names []string) (bool, string) {
	first := ""
	for _, c := range names {
		ok, err := e.evalCond(c)
		if ok {
			return true, ""
		}
		if err != nil && first == "" {
			first = err.Error()
		}
	}
	return false, first
}

// matchedPattern is the first pattern of the grant that matches.
func matchedPattern(g *grant, p *cpolicy, shareTyp string, req *Request) policy.Permission {
	if g.role >= 0 {
		for _, pp := range p.role[g.role].r.Permissions {
			if pp.Matches(req.ResourceType, req.Action) {
				return pp
			}
		}
		return policy.Permission{}
	}
	if g.x != nil {
		for _, a := range g.x.actions {
			pp := policy.Permission{Resource: shareTyp, Action: a}
			if pp.Matches(req.ResourceType, req.Action) {
				return pp
			}
		}
	}
	return policy.Permission{}
}

// closestPattern is a pattern of r on typ (or on every type).
func closestPattern(r *policy.Role, typ string) policy.Permission {
	var wild policy.Permission
	for _, pp := range r.Permissions {
		if pp.Resource == typ {
			return pp
		}
		if pp.Resource == policy.Wildcard && wild == (policy.Permission{}) {
			wild = pp
		}
	}
	return wild
}

// summarize renders one subject's part of the summary.
func summarize(se subjectExplanation, what string, allowed bool) string {
	who := shortName(se.pid)
	if se.reason != "" {
		return who + " cannot " + what + ": " + se.reason + "."
	}
	if se.allowed {
		var parts []string
		for _, t := range se.grants {
			parts = append(parts, describeTrace(t)+" grants "+t.Pattern.String())
			if len(parts) == 3 {
				break
			}
		}
		more := ""
		if n := len(se.grants) - len(parts); n > 0 {
			more = " (and " + itoa(n) + " more)"
		}
		return who + " can " + what + ": " + strings.Join(parts, "; ") + more + "."
	}
	if len(se.near) == 0 {
		return who + " cannot " + what + ": no binding of " + se.pid + " or of its teams grants anything close."
	}
	var parts []string
	for _, n := range se.near {
		parts = append(parts, describeNear(n, what))
		if len(parts) == 3 {
			break
		}
	}
	more := ""
	if n := len(se.near) - len(parts); n > 0 {
		more = " (" + itoa(n) + " more in the explanation)"
	}
	return who + " cannot " + what + ": " + strings.Join(parts, "; ") + more + "."
}

// describeNear renders one near miss for a person.
func describeNear(n nearTrace, what string) string {
	t := n.t
	d := describeTrace(t)
	switch n.rank {
	case nearAction:
		if t.Pattern != (policy.Permission{}) {
			return d + " grants " + t.Pattern.String() + " but not " + wantedPerm(what)
		}
		return d + " does not grant " + wantedPerm(what)
	case nearNamespace:
		return d + " would, but only in namespace " + t.Binding.Scope.Namespace
	case nearResource:
		return d + " would, but only on " + t.Binding.Scope.String()
	case nearCondition, nearExpired, nearCeiling, nearAgentCond:
		return d + " would, but " + t.Note
	}
	return d + ": " + t.Note
}

// wantedPerm recovers "type:action" from describeRequest's "action
// type[/id] in ns".
func wantedPerm(what string) string {
	action, rest, _ := strings.Cut(what, " ")
	target, _, _ := strings.Cut(rest, " in ")
	typ, _, _ := strings.Cut(target, "/")
	return typ + ":" + action
}

// describeTrace renders "role viewer (binding b1, org-wide, through
// team:support, when cond)".
func describeTrace(t Trace) string {
	var sb strings.Builder
	if t.Role != "" {
		sb.WriteString("role " + t.Role)
	} else {
		sb.WriteString("share of " + strings.Join(t.Binding.Actions, ", "))
	}
	sb.WriteString(" (binding " + t.Binding.ID + ", " + describeScope(t.Binding))
	if t.Via != "" {
		sb.WriteString(", through " + t.Via)
	}
	if t.Condition != "" {
		sb.WriteString(", when " + t.Condition)
	}
	sb.WriteString(")")
	return sb.String()
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b[i:])
}
