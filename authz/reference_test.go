package authz_test

// This file is the reference model of the decision engine: a deliberately
// naive evaluator written straight from DESIGN §1.1 and the doc comments of
// authz/api.go. It loops over every binding and every team on every call,
// keeps no index and no cache, and recomputes everything. It exists so that
// the differential test (differential_test.go) can compare the real engine
// with something short enough to be obviously right.
//
// Invariants of the reference:
//   - It reads a world (org → OrgData) and never modifies it; applying a
//     change builds new slices (copy on write), so data handed to the
//     engine is never mutated behind its back.
//   - Every rule of the semantics is one visible step in decide; a
//     mutation (used only by TestDifferentialDetects) switches exactly one
//     step off, to prove that the differential notices.

import (
	stdcmp "cmp"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/policy"
	"github.com/gatehouse-dev/gatehouse/policy/ast"
)

// world is what the reference knows: every org's data. OrgData values are
// treated as immutable.
type world map[string]*authz.OrgData

// mutation names one deliberate mistake in the reference (refOK = none).
type mutation int

const (
	refOK                    mutation = iota
	mutIgnoreTeams                    // team bindings do not reach members
	mutIgnoreCeiling                  // agents are not capped by their role
	mutSharesOnDeleted                // resource bindings apply to resources that do not exist
	mutIgnoreConditions               // binding conditions always hold
	mutIgnoreExpiry                   // expired principals keep acting
	mutIgnoreGrantExpiry              // expired bindings keep granting
	mutIgnoreLifecycle                // suspended principals keep acting
	mutLeakAcrossOrgs                 // bindings of every org count
	mutWildcardRequest                // a request for action "*" matches wildcard patterns
	mutOnBehalfOfIgnored              // OnBehalfOf is not intersected
	mutIgnoreNamespaceExists          // unknown namespaces are not denied
	mutRoleSharesToAll                // a share made to a role reaches every member
	mutIgnoreAsks                     // ask before rules never require approval
	mutAskIgnoresTeams                // roles held through a team bring no ask rules
	mutOrgRulesForAll                 // the org's inactivity and attestation rules apply to services that did not opt in

	// Mistakes in the policy semantics the reference computes itself
	// (see "Naive policy semantics"): the engine gets these from the
	// policy compiler and its own matching code.
	mutWildcardActionAnyResource // a pattern "x:*" grants every resource
	mutInheritOneLevelShort      // a role inherits from its parents but not their parents
	mutIntersectKeepsWider       // intersecting "*" with a name keeps "*"
	mutCoversIgnoresAction       // a pattern covers another of the same resource, whatever the action
	mutLevelNotInherited         // a role without a level does not take its parents'
)

var mutationNames = map[mutation]string{
	refOK:                    "correct",
	mutIgnoreTeams:           "ignore-teams",
	mutIgnoreCeiling:         "ignore-agent-ceiling",
	mutSharesOnDeleted:       "shares-on-deleted-resources",
	mutIgnoreConditions:      "ignore-binding-conditions",
	mutIgnoreExpiry:          "ignore-expiry",
	mutIgnoreGrantExpiry:     "ignore-grant-expiry",
	mutIgnoreLifecycle:       "ignore-suspension",
	mutLeakAcrossOrgs:        "leak-bindings-across-orgs",
	mutWildcardRequest:       "wildcard-in-request",
	mutOnBehalfOfIgnored:     "ignore-on-behalf-of",
	mutIgnoreNamespaceExists: "ignore-namespace-existence",
	mutRoleSharesToAll:       "role-shares-to-everyone",
	mutIgnoreAsks:            "ignore-ask-rules",
	mutAskIgnoresTeams:       "ask-rules-ignore-teams",
	mutOrgRulesForAll:        "org-rules-for-every-service",

	mutWildcardActionAnyResource: "wildcard-action-matches-any-resource",
	mutInheritOneLevelShort:      "inheritance-one-level-short",
	mutIntersectKeepsWider:       "intersection-keeps-wildcard",
	mutCoversIgnoresAction:       "covers-ignores-action",
	mutLevelNotInherited:         "level-not-inherited",
}

func (m mutation) String() string { return mutationNames[m] }

// reference is the naive evaluator. With assumeConds every condition
// (a binding's, an agent rule's) holds: the reference of the conditional
// answers of lookups.
type reference struct {
	mut         mutation
	assumeConds bool
}

// refDecision is the reference's answer to a Check.
type refDecision struct {
	Allowed     bool
	Grants      []authz.Binding // bindings that matched (acting principal, then the user it acts for)
	Obligations []string        // ruleKey of each obligation
	Advice      []string
	// ApprovalRequired: rules 1–6 allow, but the ask rules Asks (askKey,
	// sorted) apply; Allowed is then false (DESIGN §1.1 item 8).
	ApprovalRequired bool
	Asks             []string
}

// askKey identifies an ask rule in comparisons.
func askKey(a *policy.AskRule) string {
	return a.Owner + ": " + a.Text() + " @" + a.Pos.String()
}

// ruleKey identifies an obligation or advice rule in comparisons.
func ruleKey(r *policy.Rule) string {
	if r == nil {
		return "<nil rule>"
	}
	if r.Condition == "" {
		return r.Text()
	}
	return r.Text() + " [" + r.Keyword + " " + r.Condition + "]"
}

// Check decides a request (DESIGN §1.1).
func (ref reference) Check(w world, req *authz.Request) refDecision {
	d := w[req.Org]
	if d == nil || d.Policy == nil {
		return refDecision{} // 1. unknown org
	}
	now := req.Now
	if now.IsZero() {
		now = time.Now()
	}
	if req.OnBehalfOf == "" || ref.mut == mutOnBehalfOfIgnored {
		return approvalOf(ref.decide(w, d, req.Principal, req, now))
	}
	// 6. On behalf of: agent or service acting for a user; both must be allowed.
	kind, _, _ := strings.Cut(req.Principal, ":")
	userKind, _, _ := strings.Cut(req.OnBehalfOf, ":")
	if kind != authz.KindAgent && kind != authz.KindService || userKind != authz.KindUser {
		return refDecision{}
	}
	acting := ref.decide(w, d, req.Principal, req, now)
	user := ref.decide(w, d, req.OnBehalfOf, req, now)
	if !acting.Allowed || !user.Allowed {
		return refDecision{}
	}
	acting.Grants = append(acting.Grants, user.Grants...)
	acting.Asks = append(acting.Asks, user.Asks...)
	return approvalOf(acting)
}

// approvalOf turns an allowed decision with applicable ask rules into
// approval required: not allowed, no obligations, the rules once each.
func approvalOf(d refDecision) refDecision {
	if !d.Allowed || len(d.Asks) == 0 {
		d.Asks = nil
		return d
	}
	slices.Sort(d.Asks)
	return refDecision{ApprovalRequired: true, Asks: slices.Compact(d.Asks), Grants: d.Grants}
}

// decide is Check for one principal, without OnBehalfOf.
func (ref reference) decide(w world, d *authz.OrgData, principal string, req *authz.Request, now time.Time) refDecision {
	deny := refDecision{}
	// 1. The principal must be a well-formed member of the org, unexpired.
	p, kind, name, ok := member(d, principal)
	if !ok {
		return deny
	}
	if !p.ExpiresAt.IsZero() && !p.ExpiresAt.After(now) && ref.mut != mutIgnoreExpiry {
		return deny
	}
	if ref.suspended(d, p, now) {
		return deny
	}
	typ, action := req.ResourceType, req.Action
	validPart := isIdent
	if ref.mut == mutWildcardRequest {
		validPart = isPatternPart
	}
	if !validPart(typ) || !validPart(action) {
		return deny
	}
	// 2. The namespace must exist.
	ns := req.Namespace
	if ns == "" {
		ns = authz.DefaultNamespace
	}
	if !hasNamespace(d, ns) && ref.mut != mutIgnoreNamespaceExists {
		return deny
	}
	res := findResource(d, ns, typ, req.ResourceID)
	vars := policy.Vars{
		Principal: principalVars(p, kind, name),
		Resource:  resourceVars(ns, typ, req.ResourceID, res),
		Context:   req.Context,
	}

	// 5. Agents: the ceiling role must grant type:action, and a
	// conditional permission needs one of its conditions.
	var agent *policy.Agent
	if kind == authz.KindAgent {
		ceiling := p.Role
		if a, ok := d.Policy.Agent(name); ok {
			agent, ceiling = a, a.Role
		}
		if ref.mut != mutIgnoreCeiling {
			if !ref.roleGrants(d.Policy, ceiling, typ, action) {
				return deny
			}
			if agent != nil {
				for _, cp := range ref.conditionalOf(d.Policy, agent) {
					if cp.Permission == (policy.Permission{Resource: typ, Action: action}) &&
						!ref.assumeConds && !anyHolds(d.Policy, cp.Conditions, vars) {
						return deny
					}
				}
			}
		}
	}

	// 3. Collect the grants of the principal and of its teams whose scope
	// contains the request; 4. allow iff one matches and its condition holds.
	subjects := []string{principal}
	if ref.mut != mutIgnoreTeams {
		for _, t := range d.Teams {
			if slices.Contains(t.Members, principal) {
				subjects = append(subjects, authz.KindTeam+":"+t.Slug)
			}
		}
	}
	bindings := d.Bindings
	if ref.mut == mutLeakAcrossOrgs {
		bindings = nil
		for _, org := range sortedKeys(w) {
			bindings = append(bindings, w[org].Bindings...)
		}
	}
	// A share of one resource made to "role:<name>" reaches the principal
	// when it holds that role here: a binding of the role, or of a role
	// inheriting it, at org scope or in the namespace, naming the principal
	// or one of its teams, whose condition holds.
	for _, r := range ref.rolesHeld(d, subjects, ns, vars, now) {
		subjects = append(subjects, authz.KindRole+":"+r)
	}
	var dec refDecision
	for _, b := range bindings {
		isRoleShare := strings.HasPrefix(b.Principal, authz.KindRole+":")
		if isRoleShare && b.Scope.ID == "" {
			continue // a role is the subject of shares of one resource only
		}
		reaches := slices.Contains(subjects, b.Principal) || isRoleShare && ref.mut == mutRoleSharesToAll
		if !reaches || ref.expired(b, now) ||
			!ref.scopeContains(d, b.Scope, ns, typ, req.ResourceID) ||
			!ref.bindingGrants(d.Policy, b, typ, action) {
			continue
		}
		if b.Condition != "" && ref.mut != mutIgnoreConditions && !ref.assumeConds {
			if ok, _ := d.Policy.EvalCondition(b.Condition, vars); !ok {
				continue
			}
		}
		dec.Grants = append(dec.Grants, b)
	}
	dec.Allowed = len(dec.Grants) > 0
	if dec.Allowed && ref.mut != mutIgnoreAsks {
		dec.Asks = ref.asksOf(d, p, kind, name, subjects, req, ns, vars)
	}

	// 8. Obligations and advice of a declared agent, on allow only.
	if dec.Allowed && agent != nil {
		for _, r := range rulesOf(agent, ast.Must) {
			if r.Condition == "" || holdsOrFails(d.Policy, r.Condition, vars) {
				dec.Obligations = append(dec.Obligations, ruleKey(r))
			}
		}
		for _, r := range rulesOf(agent, ast.Should) {
			if r.Condition == "" || holdsOrFails(d.Policy, r.Condition, vars) {
				dec.Advice = append(dec.Advice, ruleKey(r))
			}
		}
	}
	return dec
}

// reachedBy lists the binding subjects that reach principal for req: the
// principal, its teams and "role:<name>" for each role it holds there.
func (ref reference) reachedBy(d *authz.OrgData, req *authz.Request, principal string) []string {
	ns := req.Namespace
	if ns == "" {
		ns = authz.DefaultNamespace
	}
	p, kind, name, _ := member(d, principal)
	vars := policy.Vars{
		Principal: principalVars(p, kind, name),
		Resource:  resourceVars(ns, req.ResourceType, req.ResourceID, findResource(d, ns, req.ResourceType, req.ResourceID)),
		Context:   req.Context,
	}
	now := req.Now
	if now.IsZero() {
		now = time.Now()
	}
	subjects := subjectsOf(d, principal)
	for _, r := range ref.rolesHeld(d, subjects, ns, vars, now) {
		subjects = append(subjects, authz.KindRole+":"+r)
	}
	return subjects
}

// rolesHeld lists the roles that subjects (a principal and its teams) hold
// in namespace ns: each role bound to one of them at org scope or in ns,
// with a condition that holds, unexpired at now, and every role it
// inherits, transitively.
func (ref reference) rolesHeld(d *authz.OrgData, subjects []string, ns string, vars policy.Vars, now time.Time) []string {
	var held []string
	for _, b := range d.Bindings {
		if !slices.Contains(subjects, b.Principal) || b.Role == "" || len(b.Actions) > 0 || ref.expired(b, now) {
			continue
		}
		if b.Scope != (authz.Scope{}) && b.Scope != (authz.Scope{Namespace: ns}) {
			continue
		}
		if b.Condition != "" && ref.mut != mutIgnoreConditions && !ref.assumeConds && !holds(d.Policy, b.Condition, vars) {
			continue
		}
		for _, r := range ref.lineage(d.Policy, b.Role) {
			if !slices.Contains(held, r.Name) {
				held = append(held, r.Name)
			}
		}
	}
	return held
}

// suspended reports whether principal p is suspended at now (DESIGN
// §1.1.9): by hand; needing a sponsor when none of its sponsors is a
// user member or a team with members; unused for the org's InactiveAfter;
// unattested for its AttestEvery — those two only when it is under the
// org's rules (every agent; a service that opted in).
func (ref reference) suspended(d *authz.OrgData, p authz.Principal, now time.Time) bool {
	l := p.Lifecycle
	if l == nil || ref.mut == mutIgnoreLifecycle {
		return false
	}
	present := func(s string) bool {
		if _, kind, _, ok := member(d, s); ok {
			return kind == authz.KindUser
		}
		slug, isTeam := strings.CutPrefix(s, authz.KindTeam+":")
		return isTeam && slices.ContainsFunc(d.Teams, func(t authz.Team) bool { return t.Slug == slug && len(t.Members) > 0 })
	}
	sponsored := false
	for _, s := range l.Sponsors {
		sponsored = sponsored || present(s)
	}
	rules := !l.NoOrgRules || ref.mut == mutOrgRulesForAll // a service opts in to the org's rules
	inactive := rules && d.Lifecycle.InactiveAfter > 0 && !now.Before(l.LastUsedAt.Add(d.Lifecycle.InactiveAfter))
	unattested := rules && d.Lifecycle.AttestEvery > 0 && !now.Before(l.AttestedAt.Add(d.Lifecycle.AttestEvery))
	return l.Suspended || l.RequireSponsor && !sponsored || inactive || unattested
}

// NextClockChange is the naive computation of Engine.NextClockChange:
// every instant the data gives at which something principal holds ends —
// its membership's expiry, the expiry of each binding or share naming it
// or a team it is in — or at which a clock-based lifecycle rule of the
// org suspends it (last use + InactiveAfter, last attestation +
// AttestEvery, when the rules apply to it); the earliest after `after`.
func (ref reference) NextClockChange(w world, org, principal string, after time.Time) time.Time {
	d := w[org]
	if d == nil {
		return time.Time{}
	}
	var at []time.Time
	if p, _, _, ok := member(d, principal); ok {
		at = append(at, p.ExpiresAt)
		if l := p.Lifecycle; l != nil && (!l.NoOrgRules || ref.mut == mutOrgRulesForAll) {
			if d.Lifecycle.InactiveAfter > 0 {
				at = append(at, l.LastUsedAt.Add(d.Lifecycle.InactiveAfter))
			}
			if d.Lifecycle.AttestEvery > 0 {
				at = append(at, l.AttestedAt.Add(d.Lifecycle.AttestEvery))
			}
		}
	}
	subjects := subjectsOf(d, principal)
	for _, b := range d.Bindings {
		if slices.Contains(subjects, b.Principal) {
			at = append(at, b.ExpiresAt)
		}
	}
	var next time.Time
	for _, t := range at {
		if !t.IsZero() && t.After(after) && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	return next
}

// expired reports whether binding b has expired at now: from its
// ExpiresAt on, a binding grants nothing (DESIGN §1.1.9).
func (ref reference) expired(b authz.Binding, now time.Time) bool {
	return !b.ExpiresAt.IsZero() && !now.Before(b.ExpiresAt) && ref.mut != mutIgnoreGrantExpiry
}

// member finds a well-formed member principal ("user:", "agent:" or
// "service:" and an identifier) listed in the org.
func member(d *authz.OrgData, id string) (p authz.Principal, kind, name string, ok bool) {
	kind, name, ok = strings.Cut(id, ":")
	if !ok || !isIdent(name) {
		return p, "", "", false
	}
	switch kind {
	case authz.KindUser, authz.KindAgent, authz.KindService:
	default:
		return p, "", "", false
	}
	for _, q := range d.Principals {
		if q.ID == id {
			return q, kind, name, true
		}
	}
	return p, "", "", false
}

func hasNamespace(d *authz.OrgData, ns string) bool {
	return ns == authz.DefaultNamespace || slices.Contains(d.Namespaces, ns)
}

// findResource returns the known resource, or nil for a type-level request
// or an unknown id.
func findResource(d *authz.OrgData, ns, typ, id string) *authz.Resource {
	if id == "" {
		return nil
	}
	for i := range d.Resources {
		r := &d.Resources[i]
		if r.Namespace == ns && r.Type == typ && r.ID == id {
			return r
		}
	}
	return nil
}

// scopeContains reports whether a binding at scope s applies to the
// request's (namespace, type, id).
func (ref reference) scopeContains(d *authz.OrgData, s authz.Scope, ns, typ, id string) bool {
	switch {
	case s == authz.Scope{}: // org
		return true
	case s.Namespace != "" && s.Type == "" && s.ID == "": // namespace
		return s.Namespace == ns
	case s.Namespace != "" && s.Type != "" && s.ID != "": // resource
		if s != (authz.Scope{Namespace: ns, Type: typ, ID: id}) {
			return false
		}
		return ref.mut == mutSharesOnDeleted || findResource(d, ns, typ, id) != nil
	}
	return false // malformed scope: applies nowhere
}

// bindingGrants reports whether the binding's role, or its action list,
// has a pattern matching typ:action. Both or neither grants nothing.
func (ref reference) bindingGrants(pol *policy.Model, b authz.Binding, typ, action string) bool {
	switch {
	case b.Role != "" && len(b.Actions) == 0:
		return ref.roleGrants(pol, b.Role, typ, action)
	case b.Role == "" && len(b.Actions) > 0:
		for _, a := range b.Actions {
			if ref.matches(policy.Permission{Resource: b.Scope.Type, Action: a}, typ, action) {
				return true
			}
		}
	}
	return false
}

func holds(pol *policy.Model, cond string, vars policy.Vars) bool {
	ok, _ := pol.EvalCondition(cond, vars)
	return ok
}

// holdsOrFails: an ask rule's or an obligation's condition applies when it
// holds or fails to evaluate (they fail closed: threat-model row 51).
func holdsOrFails(pol *policy.Model, cond string, vars policy.Vars) bool {
	ok, err := pol.EvalCondition(cond, vars)
	return ok || err != nil
}

func anyHolds(pol *policy.Model, conds []string, vars policy.Vars) bool {
	for _, c := range conds {
		if holds(pol, c, vars) {
			return true
		}
	}
	return false
}

// principalVars is the `principal` map of a condition (§1.1 rule 7).
func principalVars(p authz.Principal, kind, name string) map[string]any {
	attrs := p.Attributes
	if attrs == nil {
		attrs = map[string]any{}
	}
	return map[string]any{"id": p.ID, "kind": kind, "name": name, "attributes": attrs}
}

// resourceVars is the `resource` map of a condition (§1.1 rule 7).
func resourceVars(ns, typ, id string, r *authz.Resource) map[string]any {
	labels, attrs := map[string]any{}, map[string]any{}
	if r != nil {
		for k, v := range r.Labels {
			labels[k] = v
		}
		if r.Attributes != nil {
			attrs = r.Attributes
		}
	}
	return map[string]any{"namespace": ns, "type": typ, "id": id, "labels": labels, "attributes": attrs}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func compareRefs(a, b authz.ResourceRef) int {
	return stdcmp.Or(stdcmp.Compare(a.Namespace, b.Namespace), stdcmp.Compare(a.Type, b.Type), stdcmp.Compare(a.ID, b.ID))
}

// LookupResources is, by definition, every known resource of the type (in
// the namespace, if given) that Check allows, ordered by (namespace, type, id).
func (ref reference) LookupResources(w world, q authz.LookupResourcesRequest) []authz.ResourceRef {
	d := w[q.Org]
	if d == nil {
		return nil
	}
	var out []authz.ResourceRef
	for _, r := range d.Resources {
		if r.Type != q.Type || q.Namespace != "" && r.Namespace != q.Namespace {
			continue
		}
		req := &authz.Request{
			Org: q.Org, Principal: q.Principal, Namespace: r.Namespace,
			ResourceType: r.Type, ResourceID: r.ID, Action: q.Action,
			Context: q.Context, OnBehalfOf: q.OnBehalfOf, Now: q.Now,
		}
		if c := ref.Check(w, req); c.Allowed || c.ApprovalRequired { // with approval or without
			out = append(out, authz.ResourceRef{Namespace: r.Namespace, Type: r.Type, ID: r.ID})
		}
	}
	slices.SortFunc(out, compareRefs)
	return out
}

// LookupSubjects is, by definition, every member principal that Check
// allows or answers approval required (then its id ends in "?"), sorted
// by id.
func (ref reference) LookupSubjects(w world, q authz.LookupSubjectsRequest) []string {
	d := w[q.Org]
	if d == nil {
		return nil
	}
	var out []string
	for _, p := range d.Principals {
		req := &authz.Request{
			Org: q.Org, Principal: p.ID, Namespace: q.Namespace,
			ResourceType: q.Type, ResourceID: q.ID, Action: q.Action,
			Context: q.Context, Now: q.Now,
		}
		switch c := ref.Check(w, req); {
		case c.Allowed:
			out = append(out, p.ID)
		case c.ApprovalRequired:
			out = append(out, p.ID+"?")
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// refGrant is the normalized meaning of a set of Grants for one pattern:
// unconditional, or held under any one of Conds.
type refGrant struct {
	Unconditional bool
	Conds         []string // sorted; empty when Unconditional
}

// normalizeGrants folds a list of grants into pattern → refGrant, so that
// two lists that mean the same compare equal whatever their grouping.
func normalizeGrants(gs []authz.Grant) map[policy.Permission]refGrant {
	out := map[policy.Permission]refGrant{}
	for _, g := range gs {
		cur := out[g.Permission]
		switch {
		case cur.Unconditional:
		case len(g.Conditions) == 0:
			cur = refGrant{Unconditional: true}
		default:
			cur.Conds = append(cur.Conds, g.Conditions...)
			slices.Sort(cur.Conds)
			cur.Conds = slices.Compact(cur.Conds)
		}
		out[g.Permission] = cur
	}
	return out
}

// subjectsOf is the principal and the teams it belongs to.
func subjectsOf(d *authz.OrgData, principal string) []string {
	subjects := []string{principal}
	for _, t := range d.Teams {
		if slices.Contains(t.Members, principal) {
			subjects = append(subjects, authz.KindTeam+":"+t.Slug)
		}
	}
	return subjects
}

// ceilingOf returns an agent's ceiling role name and declaration ("", nil,
// true for users and services; ok false when an agent has no usable role).
func ceilingOf(d *authz.OrgData, p authz.Principal, kind, name string) (ceiling string, agent *policy.Agent, ok bool) {
	if kind != authz.KindAgent {
		return "", nil, true
	}
	ceiling = p.Role
	if a, found := d.Policy.Agent(name); found {
		agent, ceiling = a, a.Role
	}
	_, ok = d.Policy.Role(ceiling)
	return ceiling, agent, ok
}

// adminActor resolves a principal for the administrative queries, which
// take no time: a well-formed member not expired by the real clock, with
// its agent ceiling. ok is false for anyone else (who holds nothing).
func adminActor(d *authz.OrgData, principal string) (ceiling string, agent *policy.Agent, ok bool) {
	p, kind, name, ok := member(d, principal)
	if !ok || !p.ExpiresAt.IsZero() && !p.ExpiresAt.After(time.Now()) || (reference{}).suspended(d, p, time.Now()) {
		return "", nil, false
	}
	return ceilingOf(d, p, kind, name)
}

// dormantActor is adminActor whatever the member's state: its ceiling
// role (an agent's) and whether it is a member at all.
func dormantActor(d *authz.OrgData, principal string) (ceiling string, ok bool) {
	p, kind, name, ok := member(d, principal)
	if !ok {
		return "", false
	}
	ceiling, _, ok = ceilingOf(d, p, kind, name)
	return ceiling, ok
}

// Permissions is the reference for Engine.Permissions: the patterns of
// every role bound to the principal or its teams at org scope or in the
// namespace (shares excluded), an agent's patterns intersected pairwise
// with its ceiling role's, each with its binding's condition. isMember is
// false when the query is about no one: unknown org or principal, or a
// malformed id or namespace (the engine may answer with an error).
//
// An agent's conditional permission (its `can ... when`) is listed as a
// pattern of its own when a held pattern covers it; see agentConditional.
func (ref reference) Permissions(w world, org, principal, ns string) (grants map[policy.Permission]refGrant, isMember bool) {
	d := w[org]
	if d == nil || d.Policy == nil {
		return nil, false
	}
	if ns == "" {
		ns = authz.DefaultNamespace
	}
	if _, _, _, ok := member(d, principal); !ok || !isIdent(ns) {
		return nil, false
	}
	out := map[policy.Permission]refGrant{}
	ceiling, agent, ok := adminActor(d, principal)
	if !ok || !hasNamespace(d, ns) {
		return out, true
	}
	var list []authz.Grant
	now := time.Now()
	for _, b := range d.Bindings {
		if !slices.Contains(subjectsOf(d, principal), b.Principal) || b.Role == "" || len(b.Actions) > 0 || ref.expired(b, now) {
			continue
		}
		if !(b.Scope == authz.Scope{}) && b.Scope != (authz.Scope{Namespace: ns}) {
			continue
		}
		var conds []string
		if b.Condition != "" {
			conds = []string{b.Condition}
		}
		for _, pat := range ref.patternsOf(d.Policy, b.Role) {
			if ceiling == "" {
				list = append(list, authz.Grant{Permission: pat, Conditions: conds})
				continue
			}
			for _, c := range ref.patternsOf(d.Policy, ceiling) {
				if i, ok := ref.intersection(pat, c); ok {
					list = append(list, authz.Grant{Permission: i, Conditions: conds})
				}
			}
		}
	}
	out = normalizeGrants(list)
	if agent != nil {
		for _, cp := range ref.conditionalOf(d.Policy, agent) {
			for p := range out {
				if ref.covers(p, cp.Permission) {
					out[cp.Permission] = refGrant{Conds: cp.Conditions}
					break
				}
			}
		}
	}
	return out, true
}

// scopeWithin reports whether a binding at scope b counts at scope s
// (org ⊃ namespace ⊃ resource).
func scopeWithin(b, s authz.Scope) bool {
	switch {
	case b == authz.Scope{}:
		return true
	case b.Namespace != "" && b.Type == "" && b.ID == "":
		return s.Namespace == b.Namespace
	case b.Namespace != "" && b.Type != "" && b.ID != "":
		return b == s
	}
	return false
}

// adminBindings lists the unconditional bindings, unexpired by the real
// clock, that reach principal (or, for a team id, the team's own) at scope
// s or an enclosing scope; a resource scope counts only for a resource that
// exists, as in Check.
func (ref reference) adminBindings(d *authz.OrgData, principal string, s authz.Scope) []authz.Binding {
	subjects := []string{principal}
	if !strings.HasPrefix(principal, authz.KindTeam+":") {
		subjects = subjectsOf(d, principal)
	}
	if s.ID != "" && findResource(d, s.Namespace, s.Type, s.ID) == nil {
		s = authz.Scope{Namespace: s.Namespace} // the resource's own bindings are void
	}
	var out []authz.Binding
	for _, b := range d.Bindings {
		if slices.Contains(subjects, b.Principal) && b.Condition == "" && scopeWithin(b.Scope, s) && !ref.expired(b, time.Now()) {
			out = append(out, b)
		}
	}
	return out
}

// HighestLevel is the reference for Engine.HighestLevel: the highest level
// of a policy role bound unconditionally to the principal or its teams at s
// or an enclosing scope, an agent's capped at its ceiling role's level; -1
// when none. A team id stands for the team's own bindings (the target of a
// team binding), whether or not the team currently exists. Conditional bindings do not count: a level held only
// under a condition is not a level to administer with (as Missing).
func (ref reference) HighestLevel(w world, org, principal string, s authz.Scope) int {
	return ref.highestLevel(w, org, principal, s, false)
}

// HighestLevelHeld is the reference for Engine.HighestLevelHeld:
// HighestLevel for a member whatever its state (expired, suspended,
// sponsor_gone, inactive, attestation due), as if it were active.
func (ref reference) HighestLevelHeld(w world, org, principal string, s authz.Scope) int {
	return ref.highestLevel(w, org, principal, s, true)
}

func (ref reference) highestLevel(w world, org, principal string, s authz.Scope, dormant bool) int {
	d := w[org]
	if d == nil || d.Policy == nil {
		return -1
	}
	ceiling := ""
	if slug, isTeam := strings.CutPrefix(principal, authz.KindTeam+":"); isTeam {
		if !isIdent(slug) {
			return -1
		}
	} else {
		c, _, ok := adminActor(d, principal)
		if dormant {
			c, ok = dormantActor(d, principal)
		}
		if !ok {
			return -1
		}
		ceiling = c
	}
	best := -1
	for _, b := range ref.adminBindings(d, principal, s) {
		if b.Role == "" || len(b.Actions) > 0 {
			continue
		}
		if level := ref.levelOf(d.Policy, b.Role); level >= 0 {
			if ceiling != "" {
				level = min(level, ref.levelOf(d.Policy, ceiling))
			}
			best = max(best, level)
		}
	}
	return best
}

// ResourceScopesHeld is the reference for Engine.ResourceScopesHeld: the
// resource scopes of every binding naming the principal or a team it is
// in (a team id: the team's own), whatever the binding's expiry,
// condition or kind, for a member in any state; sorted, each once.
func (ref reference) ResourceScopesHeld(w world, org, principal string) []authz.Scope {
	d := w[org]
	if d == nil {
		return nil
	}
	subjects := []string{principal}
	if slug, isTeam := strings.CutPrefix(principal, authz.KindTeam+":"); isTeam {
		if !isIdent(slug) {
			return nil
		}
	} else {
		if _, ok := dormantActor(d, principal); !ok {
			return nil
		}
		subjects = subjectsOf(d, principal)
	}
	var out []authz.Scope
	for _, b := range d.Bindings {
		if b.Scope.ID != "" && slices.Contains(subjects, b.Principal) {
			out = append(out, b.Scope)
		}
	}
	slices.SortFunc(out, func(a, b authz.Scope) int {
		return stdcmp.Or(strings.Compare(a.Namespace, b.Namespace), strings.Compare(a.Type, b.Type), strings.Compare(a.ID, b.ID))
	})
	return slices.Compact(out)
}

// Missing is the reference for Engine.Missing: the wanted patterns not
// covered (policy.Permission.Covers) by an unconditional grant at s or an
// enclosing scope. For an agent a wanted pattern must also be covered by
// its ceiling role and must not cover one of its conditional permissions.
// Teams and non-members miss everything.
func (ref reference) Missing(w world, org, principal string, s authz.Scope, want []policy.Permission) []policy.Permission {
	d := w[org]
	if d == nil || d.Policy == nil {
		return want
	}
	ceiling, agent, ok := adminActor(d, principal)
	if !ok {
		return want
	}
	var held []policy.Permission
	for _, b := range ref.adminBindings(d, principal, s) {
		switch {
		case b.Role != "" && len(b.Actions) == 0:
			held = append(held, ref.patternsOf(d.Policy, b.Role)...)
		case b.Role == "" && len(b.Actions) > 0 && b.Scope.ID != "":
			for _, a := range b.Actions {
				held = append(held, policy.Permission{Resource: b.Scope.Type, Action: a})
			}
		}
	}
	covered := func(pats []policy.Permission, q policy.Permission) bool {
		return slices.ContainsFunc(pats, func(p policy.Permission) bool { return ref.covers(p, q) })
	}
	var missing []policy.Permission
	for _, q := range want {
		ok := covered(held, q)
		if ok && ceiling != "" {
			ok = covered(ref.patternsOf(d.Policy, ceiling), q)
		}
		if ok && agent != nil {
			for _, cp := range ref.conditionalOf(d.Policy, agent) {
				if ref.covers(q, cp.Permission) {
					ok = false
				}
			}
		}
		if !ok {
			missing = append(missing, q)
		}
	}
	return missing
}

// ---------------------------------------------------------------------------
// Naive policy semantics.
//
// The reference reads the policy model only as data: a role's own patterns
// (Role.Own), its parents, its level if the source gave one, an agent's
// ceiling role name and its rules as written. Everything the policy
// compiler or the engine derives from that data (flattened Role.Permissions,
// inherited levels, Permission.Matches/Covers, Role.Grants, Agent.Conditional,
// the engine's pattern intersection) is recomputed here from DESIGN §1.1 and
// docs/policy-language.md, with plain loops, so that a bug there shows up
// as a disagreement instead of being shared by both sides. Conditions are
// still evaluated by policy.Model.EvalCondition: the expression language is
// a program of its own, tested by its own tests.

// isIdent: a letter, then letters, digits, '_' or '-' (ASCII only).
func isIdent(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range []byte(s) {
		letter := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
		other := '0' <= c && c <= '9' || c == '_' || c == '-'
		if !letter && (i == 0 || !other) {
			return false
		}
	}
	return true
}

// isPatternPart: "*" or an identifier.
func isPatternPart(s string) bool { return s == "*" || isIdent(s) }

// partAllows reports whether one part of a pattern ("*" or a name) stands
// for value.
func partAllows(part, value string) bool { return part == "*" || part == value }

// matches reports whether pattern p grants the concrete resource:action.
func (ref reference) matches(p policy.Permission, resource, action string) bool {
	if ref.mut == mutWildcardActionAnyResource && p.Action == "*" {
		return true
	}
	return partAllows(p.Resource, resource) && partAllows(p.Action, action)
}

// covers reports whether pattern p grants everything pattern q grants: each
// part of p is "*" or equal to q's.
func (ref reference) covers(p, q policy.Permission) bool {
	if ref.mut == mutCoversIgnoresAction {
		return partAllows(p.Resource, q.Resource)
	}
	return partAllows(p.Resource, q.Resource) && partAllows(p.Action, q.Action)
}

// intersection is the pattern granting exactly what both p and q grant:
// in each part the narrower of the two when one covers the other, and
// nothing when the parts are two different names.
func (ref reference) intersection(p, q policy.Permission) (policy.Permission, bool) {
	narrower := func(a, b string) (string, bool) {
		if ref.mut == mutIntersectKeepsWider && (a == "*" || b == "*") {
			return "*", true
		}
		for _, c := range []string{a, b} {
			if partAllows(a, c) && partAllows(b, c) {
				return c, true
			}
		}
		return "", false
	}
	r, ok := narrower(p.Resource, q.Resource)
	if !ok {
		return policy.Permission{}, false
	}
	a, ok := narrower(p.Action, q.Action)
	if !ok {
		return policy.Permission{}, false
	}
	return policy.Permission{Resource: r, Action: a}, true
}

// lineage is the role and every role it inherits from, transitively
// (parents the policy lacks are skipped), each once.
func (ref reference) lineage(pol *policy.Model, name string) []*policy.Role {
	var out []*policy.Role
	var seen []string
	var visit func(name string, depth int)
	visit = func(name string, depth int) {
		r, ok := pol.Role(name)
		if !ok || slices.Contains(seen, name) {
			return
		}
		seen = append(seen, name)
		out = append(out, r)
		if ref.mut == mutInheritOneLevelShort && depth == 1 {
			return // grandparents are forgotten
		}
		for _, p := range r.Parents {
			visit(p, depth+1)
		}
	}
	visit(name, 0)
	return out
}

// patternsOf is every pattern the role declares or inherits (duplicates
// kept; they mean nothing more).
func (ref reference) patternsOf(pol *policy.Model, role string) []policy.Permission {
	var out []policy.Permission
	for _, r := range ref.lineage(pol, role) {
		out = append(out, r.Own...)
	}
	return out
}

// roleGrants reports whether the role (with what it inherits) grants the
// concrete resource:action; false for a role the policy lacks.
func (ref reference) roleGrants(pol *policy.Model, role, resource, action string) bool {
	for _, p := range ref.patternsOf(pol, role) {
		if ref.matches(p, resource, action) {
			return true
		}
	}
	return false
}

// levelOf is the role's level: as written, else the highest level among its
// parents (themselves resolved the same way), else 0.
func (ref reference) levelOf(pol *policy.Model, name string) int {
	r, ok := pol.Role(name)
	if !ok {
		return -1
	}
	if r.HasLevel {
		return r.Level
	}
	level := 0
	if ref.mut != mutLevelNotInherited {
		for _, p := range r.Parents {
			level = max(level, ref.levelOf(pol, p))
		}
	}
	return level
}

// conditionalOf lists the agent's conditional permissions: a concrete
// resource:action named by a `can ... when/if` rule that the ceiling role
// grants, and by no unconditional `can` rule the ceiling grants. Each
// comes with the conditions of those rules (any one suffices), sorted.
func (ref reference) conditionalOf(pol *policy.Model, a *policy.Agent) []policy.ConditionalPermission {
	granted := func(r *policy.Rule) bool {
		return r != nil && r.Kind == ast.Can && r.Resource != "" && ref.roleGrants(pol, a.Role, r.Resource, r.Action)
	}
	var out []policy.ConditionalPermission
	for _, r := range a.Rules {
		if !granted(r) || r.Condition == "" {
			continue
		}
		perm := policy.Permission{Resource: r.Resource, Action: r.Action}
		unconditional := false
		var conds []string
		for _, s := range a.Rules {
			if !granted(s) || s.Resource != perm.Resource || s.Action != perm.Action {
				continue
			}
			if s.Condition == "" {
				unconditional = true
			}
			conds = append(conds, s.Condition)
		}
		if unconditional || slices.ContainsFunc(out, func(c policy.ConditionalPermission) bool { return c.Permission == perm }) {
			continue
		}
		slices.Sort(conds)
		out = append(out, policy.ConditionalPermission{Permission: perm, Conditions: slices.Compact(conds)})
	}
	return out
}

// rulesOf is the agent's rules of one kind (must: obligations, should:
// advice), in source order.
func rulesOf(a *policy.Agent, kind ast.RuleKind) []*policy.Rule {
	var out []*policy.Rule
	for _, r := range a.Rules {
		if r != nil && r.Kind == kind {
			out = append(out, r)
		}
	}
	return out
}

// ConditionalSubjects is, by definition, the principals Check denies but
// would allow were every condition to hold, sorted.
// Whether approval would be needed is not part of it (ids carry no "?").
func (ref reference) ConditionalSubjects(w world, q authz.LookupSubjectsRequest) []string {
	strip := func(ids []string) []string {
		out := make([]string, 0, len(ids))
		for _, id := range ids {
			out = append(out, strings.TrimSuffix(id, "?"))
		}
		return out
	}
	now := strip(ref.LookupSubjects(w, q))
	var out []string
	for _, p := range strip((reference{mut: ref.mut, assumeConds: true}).LookupSubjects(w, q)) {
		if !slices.Contains(now, p) {
			out = append(out, p)
		}
	}
	return out
}

// ConditionalResources is ConditionalSubjects for a resource lookup.
func (ref reference) ConditionalResources(w world, q authz.LookupResourcesRequest) []authz.ResourceRef {
	now := ref.LookupResources(w, q)
	var out []authz.ResourceRef
	for _, r := range (reference{mut: ref.mut, assumeConds: true}).LookupResources(w, q) {
		if !slices.Contains(now, r) {
			out = append(out, r)
		}
	}
	return out
}

// asksOf lists (askKey) the ask rules that apply to an allowed subject
// (DESIGN §1.1 item 8): an agent's own and its ceiling role's, and those
// of every role (its own rules only: they are not inherited) bound to the
// subject or one of its teams — subjects lists them, with any "role:"
// entries ignored — whose scope contains the request and whose condition
// holds; each naming exactly type:action, with a condition that holds.
func (ref reference) asksOf(d *authz.OrgData, p authz.Principal, kind, name string, subjects []string, req *authz.Request, ns string, vars policy.Vars) []string {
	var rules []*policy.AskRule
	roleAsks := func(role string) { // the role's own: ask rules are not inherited
		if r, ok := d.Policy.Role(role); ok {
			rules = append(rules, r.OwnAsks...)
		}
	}
	if kind == authz.KindAgent {
		ceiling := p.Role
		if a, ok := d.Policy.Agent(name); ok {
			rules = append(rules, a.Asks...)
			ceiling = a.Role
		}
		roleAsks(ceiling)
	}
	for _, b := range d.Bindings {
		if b.Principal != p.ID && (ref.mut == mutAskIgnoresTeams || !strings.HasPrefix(b.Principal, authz.KindTeam+":") || !slices.Contains(subjects, b.Principal)) {
			continue
		}
		if b.Role == "" || len(b.Actions) > 0 || !ref.scopeContains(d, b.Scope, ns, req.ResourceType, req.ResourceID) {
			continue
		}
		if b.Condition != "" && !holds(d.Policy, b.Condition, vars) {
			continue
		}
		roleAsks(b.Role)
	}
	var out []string
	for _, a := range rules {
		if a.Permission != (policy.Permission{Resource: req.ResourceType, Action: req.Action}) {
			continue
		}
		if a.Condition != "" && !holdsOrFails(d.Policy, a.Condition, vars) {
			continue
		}
		out = append(out, askKey(a))
	}
	return out
}
