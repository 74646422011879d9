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
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/policy"
	"github.com/google/go-cmp/cmp"
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
	mutLeakAcrossOrgs                 // bindings of every org count
	mutWildcardRequest                // a request for action "*" matches wildcard patterns
	mutOnBehalfOfIgnored              // OnBehalfOf is not intersected
	mutIgnoreNamespaceExists          // unknown namespaces are not denied
)

var mutationNames = map[mutation]string{
	refOK:                    "correct",
	mutIgnoreTeams:           "ignore-teams",
	mutIgnoreCeiling:         "ignore-agent-ceiling",
	mutSharesOnDeleted:       "shares-on-deleted-resources",
	mutIgnoreConditions:      "ignore-binding-conditions",
	mutIgnoreExpiry:          "ignore-expiry",
	mutLeakAcrossOrgs:        "leak-bindings-across-orgs",
	mutWildcardRequest:       "wildcard-in-request",
	mutOnBehalfOfIgnored:     "ignore-on-behalf-of",
	mutIgnoreNamespaceExists: "ignore-namespace-existence",
}

func (m mutation) String() string { return mutationNames[m] }

// reference is the naive evaluator.
type reference struct{ mut mutation }

// refDecision is the reference's answer to a Check.
type refDecision struct {
	Allowed     bool
	Grants      []authz.Binding // bindings that matched (acting principal, then the user it acts for)
	Obligations []string        // ruleKey of each obligation
	Advice      []string
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
		return ref.decide(w, d, req.Principal, req, now)
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
	return acting
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
	typ, action := req.ResourceType, req.Action
	validPart := policy.IsIdent
	if ref.mut == mutWildcardRequest {
		validPart = func(s string) bool { return policy.CheckPatternPart(s) == nil }
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
			role, ok := d.Policy.Role(ceiling)
			if !ok || !role.Grants(typ, action) {
				return deny
			}
			if agent != nil {
				for _, cp := range agent.Conditional {
					if cp.Permission == (policy.Permission{Resource: typ, Action: action}) &&
						!anyHolds(d.Policy, cp.Conditions, vars) {
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
	var dec refDecision
	for _, b := range bindings {
		if !slices.Contains(subjects, b.Principal) ||
			!ref.scopeContains(d, b.Scope, ns, typ, req.ResourceID) ||
			!bindingGrants(d.Policy, b, typ, action) {
			continue
		}
		if b.Condition != "" && ref.mut != mutIgnoreConditions {
			if ok, _ := d.Policy.EvalCondition(b.Condition, vars); !ok {
				continue
			}
		}
		dec.Grants = append(dec.Grants, b)
	}
	dec.Allowed = len(dec.Grants) > 0

	// 8. Obligations and advice of a declared agent, on allow only.
	if dec.Allowed && agent != nil {
		for _, r := range agent.Obligations {
			if r.Condition == "" || holds(d.Policy, r.Condition, vars) {
				dec.Obligations = append(dec.Obligations, ruleKey(r))
			}
		}
		for _, r := range agent.Advice {
			if r.Condition == "" || holds(d.Policy, r.Condition, vars) {
				dec.Advice = append(dec.Advice, ruleKey(r))
			}
		}
	}
	return dec
}

// member finds a well-formed member principal ("user:", "agent:" or
// "service:" and an identifier) listed in the org.
func member(d *authz.OrgData, id string) (p authz.Principal, kind, name string, ok bool) {
	kind, name, ok = strings.Cut(id, ":")
	if !ok || !policy.IsIdent(name) {
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
func bindingGrants(pol *policy.Model, b authz.Binding, typ, action string) bool {
	switch {
	case b.Role != "" && len(b.Actions) == 0:
		role, ok := pol.Role(b.Role)
		return ok && role.Grants(typ, action)
	case b.Role == "" && len(b.Actions) > 0:
		for _, a := range b.Actions {
			if (policy.Permission{Resource: b.Scope.Type, Action: a}).Matches(typ, action) {
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
		if ref.Check(w, req).Allowed {
			out = append(out, authz.ResourceRef{Namespace: r.Namespace, Type: r.Type, ID: r.ID})
		}
	}
	slices.SortFunc(out, compareRefs)
	return out
}

// LookupSubjects is, by definition, every member principal that Check
// allows, sorted by id.
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
		if ref.Check(w, req).Allowed {
			out = append(out, p.ID)
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

// intersect is the pattern granting exactly what both p and q grant.
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

// ceilingOf returns an agent's ceiling role and declaration (nil, nil,
// true for users and services; ok false when an agent has no usable role).
func ceilingOf(d *authz.OrgData, p authz.Principal, kind, name string) (ceiling *policy.Role, agent *policy.Agent, ok bool) {
	if kind != authz.KindAgent {
		return nil, nil, true
	}
	roleName := p.Role
	if a, found := d.Policy.Agent(name); found {
		agent, roleName = a, a.Role
	}
	ceiling, ok = d.Policy.Role(roleName)
	return ceiling, agent, ok
}

// adminActor resolves a principal for the administrative queries, which
// take no time: a well-formed member not expired by the real clock, with
// its agent ceiling. ok is false for anyone else (who holds nothing).
func adminActor(d *authz.OrgData, principal string) (ceiling *policy.Role, agent *policy.Agent, ok bool) {
	p, kind, name, ok := member(d, principal)
	if !ok || !p.ExpiresAt.IsZero() && !p.ExpiresAt.After(time.Now()) {
		return nil, nil, false
	}
	return ceilingOf(d, p, kind, name)
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
	if _, _, _, ok := member(d, principal); !ok || !policy.IsIdent(ns) {
		return nil, false
	}
	out := map[policy.Permission]refGrant{}
	ceiling, agent, ok := adminActor(d, principal)
	if !ok || !hasNamespace(d, ns) {
		return out, true
	}
	var list []authz.Grant
	for _, b := range d.Bindings {
		if !slices.Contains(subjectsOf(d, principal), b.Principal) || b.Role == "" || len(b.Actions) > 0 {
			continue
		}
		if !(b.Scope == authz.Scope{}) && b.Scope != (authz.Scope{Namespace: ns}) {
			continue
		}
		role, ok := d.Policy.Role(b.Role)
		if !ok {
			continue
		}
		var conds []string
		if b.Condition != "" {
			conds = []string{b.Condition}
		}
		for _, pat := range role.Permissions {
			if ceiling == nil {
				list = append(list, authz.Grant{Permission: pat, Conditions: conds})
				continue
			}
			for _, c := range ceiling.Permissions {
				if i, ok := intersect(pat, c); ok {
					list = append(list, authz.Grant{Permission: i, Conditions: conds})
				}
			}
		}
	}
	out = normalizeGrants(list)
	if agent != nil {
		for _, cp := range agent.Conditional {
			for p := range out {
				if p.Covers(cp.Permission) {
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

// adminBindings lists the unconditional bindings that reach principal (or,
// for a team id, the team's own) at scope s or an enclosing scope; a
// resource scope counts only for a resource that exists, as in Check.
func adminBindings(d *authz.OrgData, principal string, s authz.Scope) []authz.Binding {
	subjects := []string{principal}
	if !strings.HasPrefix(principal, authz.KindTeam+":") {
		subjects = subjectsOf(d, principal)
	}
	if s.ID != "" && findResource(d, s.Namespace, s.Type, s.ID) == nil {
		s = authz.Scope{Namespace: s.Namespace} // the resource's own bindings are void
	}
	var out []authz.Binding
	for _, b := range d.Bindings {
		if slices.Contains(subjects, b.Principal) && b.Condition == "" && scopeWithin(b.Scope, s) {
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
	d := w[org]
	if d == nil || d.Policy == nil {
		return -1
	}
	var ceiling *policy.Role
	if slug, isTeam := strings.CutPrefix(principal, authz.KindTeam+":"); isTeam {
		if !policy.IsIdent(slug) {
			return -1
		}
	} else {
		c, _, ok := adminActor(d, principal)
		if !ok {
			return -1
		}
		ceiling = c
	}
	best := -1
	for _, b := range adminBindings(d, principal, s) {
		if b.Role == "" || len(b.Actions) > 0 {
			continue
		}
		if role, ok := d.Policy.Role(b.Role); ok {
			level := role.Level
			if ceiling != nil {
				level = min(level, ceiling.Level)
			}
			best = max(best, level)
		}
	}
	return best
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
	for _, b := range adminBindings(d, principal, s) {
		switch {
		case b.Role != "" && len(b.Actions) == 0:
			if role, ok := d.Policy.Role(b.Role); ok {
				held = append(held, role.Permissions...)
			}
		case b.Role == "" && len(b.Actions) > 0 && b.Scope.ID != "":
			for _, a := range b.Actions {
				held = append(held, policy.Permission{Resource: b.Scope.Type, Action: a})
			}
		}
	}
	covered := func(pats []policy.Permission, q policy.Permission) bool {
		return slices.ContainsFunc(pats, func(p policy.Permission) bool { return p.Covers(q) })
	}
	var missing []policy.Permission
	for _, q := range want {
		ok := covered(held, q)
		if ok && ceiling != nil {
			ok = covered(ceiling.Permissions, q)
		}
		if ok && agent != nil {
			for _, cp := range agent.Conditional {
				if q.Covers(cp.Permission) {
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
// Applying changes to a world.

// changeClass says how an engine must react to a change.
type changeClass int

const (
	mustAccept changeClass = iota // well-formed: Apply must accept it
	mayReject                     // questionable: Apply may reject it (ErrInvalid) or accept it
	mustReject                    // malformed by the api.go contract: Apply must reject it
)

func (c changeClass) String() string {
	return [...]string{"must-accept", "may-reject", "must-reject"}[c]
}

// classify says how Apply must treat a change to world w. The contract
// (api.go) makes a missing org, an unknown op and a binding with neither
// role nor actions invalid; the rest of what is odd may go either way.
func classify(w world, c authz.Change) changeClass {
	if c.Org == "" || c.Op < authz.OpPutBinding || c.Op > authz.OpDeleteOrg {
		return mustReject
	}
	if c.Op == authz.OpPutBinding && c.Binding.Role == "" && len(c.Binding.Actions) == 0 {
		return mustReject
	}
	if w[c.Org] == nil && c.Op != authz.OpPutOrg && c.Op != authz.OpDeleteOrg {
		return mayReject
	}
	switch c.Op {
	case authz.OpPutBinding:
		b := c.Binding
		if b.ID == "" || b.Role != "" && len(b.Actions) > 0 || !wellFormedPrincipal(b.Principal, true) ||
			!wellFormedScope(b.Scope) || len(b.Actions) > 0 && b.Scope.ID == "" {
			return mayReject
		}
		for _, a := range b.Actions {
			if policy.CheckPatternPart(a) != nil {
				return mayReject
			}
		}
	case authz.OpPutPrincipal:
		if !wellFormedPrincipal(c.Principal.ID, false) {
			return mayReject
		}
	case authz.OpPutTeam:
		if !policy.IsIdent(c.Team.Slug) {
			return mayReject
		}
	case authz.OpPutResource:
		r := c.Resource
		if !policy.IsIdent(r.Type) || r.ID == "" || !hasNamespace(w[c.Org], r.Namespace) {
			return mayReject
		}
	case authz.OpPutNamespace, authz.OpDeleteNamespace:
		if !policy.IsIdent(c.ID) || c.ID == authz.DefaultNamespace {
			return mayReject
		}
	case authz.OpSetPolicy:
		if c.Policy == nil {
			return mayReject
		}
	case authz.OpPutOrg:
		if c.Data == nil || c.Data.Org != c.Org || c.Data.Policy == nil {
			return mayReject
		}
	}
	return mustAccept
}

func wellFormedPrincipal(id string, teamOK bool) bool {
	kind, name, ok := strings.Cut(id, ":")
	if !ok || !policy.IsIdent(name) {
		return false
	}
	switch kind {
	case authz.KindUser, authz.KindAgent, authz.KindService:
		return true
	case authz.KindTeam:
		return teamOK
	}
	return false
}

func wellFormedScope(s authz.Scope) bool {
	switch {
	case s == authz.Scope{}:
		return true
	case s.Type == "" && s.ID == "":
		return policy.IsIdent(s.Namespace)
	}
	return policy.IsIdent(s.Namespace) && policy.IsIdent(s.Type) && s.ID != ""
}

var errRefApply = errors.New("reference cannot apply change")

// applyChange returns the world after c, leaving w untouched. It applies
// whatever is structurally possible (an odd change an engine accepted must
// still be reflected); deleting something absent is a no-op.
func applyChange(w world, c authz.Change) (world, error) {
	out := make(world, len(w))
	for k, v := range w {
		out[k] = v
	}
	if c.Op == authz.OpPutOrg {
		if c.Data == nil {
			return nil, fmt.Errorf("%w: put org without data", errRefApply)
		}
		d := *c.Data
		d.Org = c.Org
		out[c.Org] = &d
		return out, nil
	}
	if c.Op == authz.OpDeleteOrg {
		delete(out, c.Org)
		return out, nil
	}
	old := w[c.Org]
	if old == nil {
		return nil, fmt.Errorf("%w: org %q is unknown", errRefApply, c.Org)
	}
	d := *old // the slices are replaced below, never written in place
	switch c.Op {
	case authz.OpPutBinding:
		d.Bindings = putBy(d.Bindings, c.Binding, func(b authz.Binding) bool { return b.ID == c.Binding.ID })
	case authz.OpDeleteBinding:
		d.Bindings = deleteBy(d.Bindings, func(b authz.Binding) bool { return b.ID == c.ID })
	case authz.OpPutPrincipal:
		d.Principals = putBy(d.Principals, c.Principal, func(p authz.Principal) bool { return p.ID == c.Principal.ID })
	case authz.OpDeletePrincipal:
		d.Principals = deleteBy(d.Principals, func(p authz.Principal) bool { return p.ID == c.ID })
	case authz.OpPutTeam:
		d.Teams = putBy(d.Teams, c.Team, func(t authz.Team) bool { return t.Slug == c.Team.Slug })
	case authz.OpDeleteTeam:
		d.Teams = deleteBy(d.Teams, func(t authz.Team) bool { return t.Slug == c.ID })
	case authz.OpPutResource:
		same := func(r authz.Resource) bool {
			return r.Namespace == c.Resource.Namespace && r.Type == c.Resource.Type && r.ID == c.Resource.ID
		}
		d.Resources = putBy(d.Resources, c.Resource, same)
	case authz.OpDeleteResource:
		d.Resources = deleteBy(d.Resources, func(r authz.Resource) bool {
			return r.Namespace == c.Resource.Namespace && r.Type == c.Resource.Type && r.ID == c.Resource.ID
		})
	case authz.OpPutNamespace:
		if !hasNamespace(&d, c.ID) {
			d.Namespaces = append(slices.Clip(d.Namespaces), c.ID)
		}
	case authz.OpDeleteNamespace:
		// The engine drops the namespace's resources and the bindings
		// scoped in it (the directory refuses this upstream).
		d.Namespaces = deleteBy(d.Namespaces, func(ns string) bool { return ns == c.ID })
		d.Resources = deleteBy(d.Resources, func(r authz.Resource) bool { return r.Namespace == c.ID })
		d.Bindings = deleteBy(d.Bindings, func(b authz.Binding) bool { return b.Scope.Namespace == c.ID })
	case authz.OpSetPolicy:
		if c.Policy == nil {
			return nil, fmt.Errorf("%w: set policy without a policy", errRefApply)
		}
		d.Policy = c.Policy
	default:
		return nil, fmt.Errorf("%w: unknown op %d", errRefApply, c.Op)
	}
	out[c.Org] = &d
	return out, nil
}

func putBy[T any](s []T, v T, same func(T) bool) []T {
	out := make([]T, 0, len(s)+1)
	replaced := false
	for _, x := range s {
		if same(x) {
			if !replaced {
				out = append(out, v)
			}
			replaced = true
			continue
		}
		out = append(out, x)
	}
	if !replaced {
		out = append(out, v)
	}
	return out
}

func deleteBy[T any](s []T, drop func(T) bool) []T {
	out := make([]T, 0, len(s))
	for _, x := range s {
		if !drop(x) {
			out = append(out, x)
		}
	}
	return out
}

// ---------------------------------------------------------------------------
// The reference as an engine: a decider over a world. The differential test
// runs its harness against it to prove the harness itself is sound (zero
// mismatches against the correct reference) and sharp (mismatches against
// each mutation).

// decider is the public surface of *authz.Engine the differential uses.
type decider interface {
	Revision() uint64
	Apply(rev uint64, changes ...authz.Change) error
	Check(req *authz.Request) authz.Decision
	Explain(req *authz.Request) authz.Explanation
	LookupResources(q authz.LookupResourcesRequest) (authz.LookupResourcesPage, error)
	LookupSubjects(q authz.LookupSubjectsRequest) ([]authz.Subject, uint64, error)
	Permissions(org, principal, namespace string) ([]authz.Grant, uint64, error)
	HighestLevel(org, principal string, scope authz.Scope) int
	Missing(org, principal string, scope authz.Scope, want []policy.Permission) []policy.Permission
}

var _ decider = (*authz.Engine)(nil)

// refDecider answers with the reference over a world it updates itself.
// It is single-goroutine (the harness is).
type refDecider struct {
	ref reference
	w   world
	rev uint64
}

func newRefDecider(m mutation) *refDecider { return &refDecider{ref: reference{mut: m}, w: world{}} }

func (e *refDecider) Revision() uint64 { return e.rev }

func (e *refDecider) Apply(rev uint64, changes ...authz.Change) error {
	if rev <= e.rev {
		return authz.ErrStaleRevision
	}
	w := e.w
	for i, c := range changes {
		if classify(w, c) != mustAccept {
			return fmt.Errorf("change %d: %w", i, authz.ErrInvalid)
		}
		var err error
		if w, err = applyChange(w, c); err != nil {
			return fmt.Errorf("change %d: %w: %v", i, authz.ErrInvalid, err)
		}
	}
	e.w, e.rev = w, rev
	return nil
}

func (e *refDecider) Check(req *authz.Request) authz.Decision {
	d := e.ref.Check(e.w, req)
	dec := authz.Decision{Allowed: d.Allowed, Revision: e.rev}
	if org := e.w[req.Org]; d.Allowed && org != nil {
		_, name, _ := strings.Cut(req.Principal, ":")
		if a, ok := org.Policy.Agent(name); ok {
			for _, r := range a.Obligations {
				if slices.Contains(d.Obligations, ruleKey(r)) {
					dec.Obligations = append(dec.Obligations, r)
				}
			}
			for _, r := range a.Advice {
				if slices.Contains(d.Advice, ruleKey(r)) {
					dec.Advice = append(dec.Advice, r)
				}
			}
		}
	}
	return dec
}

func (e *refDecider) Explain(req *authz.Request) authz.Explanation {
	d := e.ref.Check(e.w, req)
	x := authz.Explanation{Decision: e.Check(req), Summary: "reference: denied"}
	for _, b := range d.Grants {
		x.Grants = append(x.Grants, authz.Trace{Binding: b, Role: b.Role})
	}
	if d.Allowed {
		x.Summary = fmt.Sprintf("reference: allowed by %d binding(s)", len(d.Grants))
	}
	return x
}

func (e *refDecider) LookupResources(q authz.LookupResourcesRequest) (authz.LookupResourcesPage, error) {
	if e.w[q.Org] == nil {
		return authz.LookupResourcesPage{}, authz.ErrNotFound
	}
	all := e.ref.LookupResources(e.w, q)
	start := 0
	if q.PageToken != "" {
		n, err := strconv.Atoi(strings.TrimPrefix(q.PageToken, "ref:"))
		if err != nil || n < 0 || n > len(all) || !strings.HasPrefix(q.PageToken, "ref:") {
			return authz.LookupResourcesPage{}, authz.ErrInvalid
		}
		start = n
	}
	size := q.PageSize
	if size <= 0 {
		size = 100
	}
	end := min(start+size, len(all))
	page := authz.LookupResourcesPage{Resources: all[start:end], Revision: e.rev}
	if end < len(all) {
		page.NextPageToken = "ref:" + strconv.Itoa(end)
	}
	return page, nil
}

func (e *refDecider) LookupSubjects(q authz.LookupSubjectsRequest) ([]authz.Subject, uint64, error) {
	if e.w[q.Org] == nil {
		return nil, e.rev, authz.ErrNotFound
	}
	var out []authz.Subject
	for _, p := range e.ref.LookupSubjects(e.w, q) {
		out = append(out, authz.Subject{Principal: p})
	}
	return out, e.rev, nil
}

func (e *refDecider) Permissions(org, principal, namespace string) ([]authz.Grant, uint64, error) {
	m, ok := e.ref.Permissions(e.w, org, principal, namespace)
	if !ok {
		return nil, e.rev, authz.ErrNotFound
	}
	var out []authz.Grant
	for _, p := range slices.SortedFunc(func(yield func(policy.Permission) bool) {
		for p := range m {
			if !yield(p) {
				return
			}
		}
	}, comparePerms) {
		out = append(out, authz.Grant{Permission: p, Conditions: m[p].Conds})
	}
	return out, e.rev, nil
}

func comparePerms(a, b policy.Permission) int {
	return stdcmp.Or(stdcmp.Compare(a.Resource, b.Resource), stdcmp.Compare(a.Action, b.Action))
}

func (e *refDecider) HighestLevel(org, principal string, scope authz.Scope) int {
	return e.ref.HighestLevel(e.w, org, principal, scope)
}

func (e *refDecider) Missing(org, principal string, scope authz.Scope, want []policy.Permission) []policy.Permission {
	return e.ref.Missing(e.w, org, principal, scope, want)
}

// ---------------------------------------------------------------------------
// The reference checked by hand: a table that reads like DESIGN §1.1, run
// against the reference and against the engine. If the reference were
// wrong, the differential would be comparing against nonsense.

const specPolicy = `
condition business_hours = "context.hour >= 9 && context.hour < 18"
condition owns = "resource.attributes.owner == principal.id"

role viewer level 10 {
    permission chains { read }
}
role operator: viewer level 30 {
    permission chains { run }
}
role admin level 80 {
    permission * { * }
}

agent Triage: operator {
    can run chains when business_hours
    must escalate ticket when critical
    should report issues
}
`

func specWorld(t *testing.T) world {
	t.Helper()
	pol, diags := policy.Load("spec.policy", []byte(specPolicy), policy.LintOptions{})
	if diags.HasErrors() {
		t.Fatalf("spec policy: %v", diags.Errors())
	}
	expired := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	acme := &authz.OrgData{
		Org: "acme", Policy: pol, Namespaces: []string{"dev", "prod"},
		Principals: []authz.Principal{
			{ID: "user:alice"}, {ID: "user:bob"}, {ID: "user:carol"}, {ID: "user:erin"}, {ID: "user:root"},
			{ID: "user:dave", ExpiresAt: expired},
			{ID: "agent:Triage", Role: "admin"}, // declared: the policy's role (operator) is the ceiling
			{ID: "agent:Loose", Role: "viewer"}, // undeclared: its Role is the ceiling
			{ID: "agent:NoRole"},                // undeclared, no role: nothing
			{ID: "service:ci"},
			{ID: "user:al ice"}, // not an identifier: a malformed id, whatever the data says
		},
		Teams: []authz.Team{{Slug: "support", Members: []string{"user:carol"}}},
		Bindings: []authz.Binding{
			{ID: "b1", Principal: "user:alice", Role: "viewer"},
			{ID: "b2", Principal: "user:bob", Role: "operator", Scope: authz.Scope{Namespace: "dev"}},
			{ID: "b3", Principal: "team:support", Actions: []string{"run", "read"}, Scope: authz.Scope{Namespace: "prod", Type: "chains", ID: "x"}},
			{ID: "b4", Principal: "team:support", Actions: []string{"*"}, Scope: authz.Scope{Namespace: "prod", Type: "chains", ID: "gone"}},
			{ID: "b5", Principal: "user:erin", Role: "admin", Condition: "owns"},
			{ID: "b6", Principal: "user:root", Role: "admin"},
			{ID: "b7", Principal: "user:dave", Role: "admin"},
			{ID: "b8", Principal: "agent:Triage", Role: "admin"},
			{ID: "b9", Principal: "agent:Loose", Role: "admin"},
			{ID: "b10", Principal: "agent:NoRole", Role: "admin"},
			{ID: "b11", Principal: "service:ci", Role: "operator"},
			{ID: "b12", Principal: "user:carol", Role: "nosuchrole"},
			{ID: "b13", Principal: "user:carol", Role: "viewer", Scope: authz.Scope{Namespace: "dev"}, Condition: "flag"},
			{ID: "b14", Principal: "user:al ice", Role: "admin"},
		},
		Resources: []authz.Resource{
			{Namespace: "prod", Type: "chains", ID: "x"},
			{Namespace: "prod", Type: "chains", ID: "mine", Attributes: map[string]any{"owner": "user:erin"}},
			{Namespace: "dev", Type: "chains", ID: "y"},
		},
	}
	globex := &authz.OrgData{ // the same ids, more access: must never leak into acme
		Org: "globex", Policy: pol,
		Principals: []authz.Principal{{ID: "user:alice"}, {ID: "user:zed"}},
		Bindings:   []authz.Binding{{ID: "b1", Principal: "user:alice", Role: "admin"}, {ID: "b2", Principal: "user:zed", Role: "admin"}},
	}
	return world{"acme": acme, "globex": globex}
}

func TestReferenceSpec(t *testing.T) {
	w := specWorld(t)
	now := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	req := func(principal, perm, where string, ctx map[string]any) *authz.Request {
		typ, action, _ := strings.Cut(perm, ":")
		r := &authz.Request{Org: "acme", Principal: principal, ResourceType: typ, Action: action, Context: ctx, Now: now}
		parts := strings.Split(where, "/") // "ns" or "ns/id"
		r.Namespace = parts[0]
		if len(parts) > 1 {
			r.ResourceID = parts[1]
		}
		return r
	}
	hour := func(h int) map[string]any { return map[string]any{"hour": h} }
	allow := func(r *authz.Request) decisionView { return decisionView{Allowed: true} }
	deny := func(*authz.Request) decisionView { return decisionView{} }
	tests := []struct {
		name string
		req  *authz.Request
		want func(*authz.Request) decisionView
	}{
		{"org-wide role grants in every namespace", req("user:alice", "chains:read", "prod/x", nil), allow},
		{"the role lacks the action", req("user:alice", "chains:run", "prod/x", nil), deny},
		{"namespace role in its namespace", req("user:bob", "chains:run", "dev/y", nil), allow},
		{"namespace role, unknown id", req("user:bob", "chains:run", "dev/nope", nil), allow},
		{"namespace role, type level", req("user:bob", "chains:run", "dev", nil), allow},
		{"namespace role in another namespace", req("user:bob", "chains:run", "prod/x", nil), deny},
		{"inherited permission", req("user:bob", "chains:read", "dev/y", nil), allow},
		{"unknown namespace", req("user:alice", "chains:read", "staging/x", nil), deny},
		{"empty namespace is default", req("user:alice", "chains:read", "", nil), allow},
		{"team share reaches a member", req("user:carol", "chains:run", "prod/x", nil), allow},
		{"share grants only its actions", req("user:carol", "chains:delete", "prod/x", nil), deny},
		{"share does not reach other resources", req("user:carol", "chains:run", "prod/mine", nil), deny},
		{"share on a resource that does not exist", req("user:carol", "chains:run", "prod/gone", nil), deny},
		{"share is not type level", req("user:carol", "chains:run", "prod", nil), deny},
		{"unknown role grants nothing", req("user:carol", "chains:read", "prod", nil), deny},
		{"condition as a context flag holds", req("user:carol", "chains:read", "dev/y", map[string]any{"flag": true}), allow},
		{"context flag must be the boolean true", req("user:carol", "chains:read", "dev/y", map[string]any{"flag": "true"}), deny},
		{"condition holds for the owner", req("user:erin", "chains:delete", "prod/mine", nil), allow},
		{"condition fails for another resource", req("user:erin", "chains:delete", "prod/x", nil), deny},
		{"wildcard grants unknown types and actions", req("user:root", "ghosts:zap", "prod/anything", nil), allow},
		{"a wildcard in the request is no wildcard", req("user:root", "chains:*", "prod/x", nil), deny},
		{"empty action", req("user:root", "chains:", "prod/x", nil), deny},
		{"expired principal", req("user:dave", "chains:read", "prod/x", nil), deny},
		{"not a member", req("user:zed", "chains:read", "prod/x", nil), deny},
		{"a team cannot act", req("team:support", "chains:run", "prod/x", nil), deny},
		{"malformed principal", req("alice", "chains:read", "prod/x", nil), deny},
		{"unknown kind", req("robot:alice", "chains:read", "prod/x", nil), deny},
		{"principal name that is not an identifier", req("user:al ice", "chains:read", "prod/x", nil), deny},
		{"agent capped by its declared ceiling", req("agent:Triage", "chains:delete", "prod/x", nil), deny},
		{"agent within its ceiling, with advice", req("agent:Triage", "chains:read", "prod/x", nil),
			func(*authz.Request) decisionView {
				return decisionView{Allowed: true, Advice: []string{"should report issues"}}
			}},
		{"agent conditional rule holds, with obligations", req("agent:Triage", "chains:run", "prod/x", map[string]any{"hour": 10, "critical": true}),
			func(*authz.Request) decisionView {
				return decisionView{Allowed: true, Obligations: []string{"must escalate ticket [when critical]"}, Advice: []string{"should report issues"}}
			}},
		{"agent conditional rule fails", req("agent:Triage", "chains:run", "prod/x", hour(20)), deny},
		{"undeclared agent capped by its Role", req("agent:Loose", "chains:run", "prod/x", nil), deny},
		{"undeclared agent within its Role", req("agent:Loose", "chains:read", "prod/x", nil), allow},
		{"agent without a ceiling", req("agent:NoRole", "chains:read", "prod/x", nil), deny},
	}
	obo := func(actor, user, perm string) *authz.Request {
		r := req(actor, perm, "prod/x", hour(10))
		r.OnBehalfOf = user
		return r
	}
	tests = append(tests, []struct {
		name string
		req  *authz.Request
		want func(*authz.Request) decisionView
	}{
		{"on behalf: both allowed", obo("service:ci", "user:alice", "chains:read"), allow},
		{"on behalf: the user is not", obo("service:ci", "user:alice", "chains:run"), deny},
		{"on behalf: the agent is not", obo("agent:Loose", "user:root", "chains:run"), deny},
		{"on behalf: agent with obligations", obo("agent:Triage", "user:root", "chains:run"),
			func(*authz.Request) decisionView {
				return decisionView{Allowed: true, Advice: []string{"should report issues"}}
			}},
		{"on behalf: a user cannot act for a user", obo("user:root", "user:alice", "chains:read"), deny},
		{"on behalf of a team", obo("service:ci", "team:support", "chains:read"), deny},
		{"on behalf of a non-member", obo("service:ci", "user:zed", "chains:read"), deny},
	}...)
	tests = append(tests, struct {
		name string
		req  *authz.Request
		want func(*authz.Request) decisionView
	}{"unknown org", &authz.Request{Org: "umbrella", Principal: "user:alice", ResourceType: "chains", Action: "read", Now: now}, deny})

	engine := authz.New()
	for i, org := range sortedKeys(w) {
		if err := engine.LoadOrg(uint64(i+1), *w[org]); err != nil {
			t.Fatalf("LoadOrg(%s): %v", org, err)
		}
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := tt.want(tt.req)
			if diff := cmp.Diff(want, refView(reference{}.Check(w, tt.req))); diff != "" {
				t.Errorf("reference: %s (-want +got):\n%s", describeRequest(tt.req), diff)
			}
			if diff := cmp.Diff(want, viewOf(engine.Check(tt.req))); diff != "" {
				t.Errorf("engine: %s (-want +got):\n%s", describeRequest(tt.req), diff)
			}
		})
	}
}
