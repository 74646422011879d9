package authz_test

// Applying changes to the reference's world, and the reference standing in
// for the engine (refDecider), which the differential test uses to check
// its own harness.

import (
	stdcmp "cmp"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/policy"
)

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
	if c.Org == "" || c.Op < authz.OpPutBinding || c.Op > authz.OpSetLifecycle {
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
		roleShare := strings.HasPrefix(b.Principal, authz.KindRole+":") && isIdent(strings.TrimPrefix(b.Principal, authz.KindRole+":")) && b.Scope.ID != ""
		if b.ID == "" || b.Role != "" && len(b.Actions) > 0 || !wellFormedPrincipal(b.Principal, true) && !roleShare ||
			!wellFormedScope(b.Scope) || len(b.Actions) > 0 && b.Scope.ID == "" {
			return mayReject
		}
		for _, a := range b.Actions {
			if !isPatternPart(a) {
				return mayReject
			}
		}
	case authz.OpPutPrincipal:
		if !wellFormedPrincipal(c.Principal.ID, false) {
			return mayReject
		}
	case authz.OpPutTeam:
		if !isIdent(c.Team.Slug) {
			return mayReject
		}
	case authz.OpPutResource:
		r := c.Resource
		if !isIdent(r.Type) || r.ID == "" || !hasNamespace(w[c.Org], r.Namespace) {
			return mayReject
		}
	case authz.OpPutNamespace, authz.OpDeleteNamespace:
		if !isIdent(c.ID) || c.ID == authz.DefaultNamespace {
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
	if !ok || !isIdent(name) {
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
		return isIdent(s.Namespace)
	}
	return isIdent(s.Namespace) && isIdent(s.Type) && s.ID != ""
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
		// Deleting a namespace drops the resources in it and the bindings
		// scoped in it (the directory refuses this upstream), whether or
		// not the org has the namespace: nothing that names it survives to
		// come back if the namespace is created again.
		d.Namespaces = deleteBy(d.Namespaces, func(ns string) bool { return ns == c.ID })
		d.Resources = deleteBy(d.Resources, func(r authz.Resource) bool { return r.Namespace == c.ID })
		d.Bindings = deleteBy(d.Bindings, func(b authz.Binding) bool { return b.Scope.Namespace == c.ID })
	case authz.OpSetPolicy:
		if c.Policy == nil {
			return nil, fmt.Errorf("%w: set policy without a policy", errRefApply)
		}
		d.Policy = c.Policy
	case authz.OpSetLifecycle:
		if c.Lifecycle == nil {
			return nil, fmt.Errorf("%w: set lifecycle without settings", errRefApply)
		}
		d.Lifecycle = *c.Lifecycle
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
	HighestLevelHeld(org, principal string, scope authz.Scope) int
	ResourceScopesHeld(org, principal string) []authz.Scope
	Missing(org, principal string, scope authz.Scope, want []policy.Permission) []policy.Permission
	NextClockChange(org, principal string, after time.Time) time.Time
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
	dec := authz.Decision{Allowed: d.Allowed, Revision: e.rev, ApprovalRequired: d.ApprovalRequired}
	if org := e.w[req.Org]; d.ApprovalRequired && org != nil {
		for _, a := range allAsks(org.Policy) {
			if slices.Contains(d.Asks, askKey(a)) && !slices.Contains(dec.Asks, a) {
				dec.Asks = append(dec.Asks, a)
			}
		}
	}
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
	if d.Allowed || d.ApprovalRequired {
		x.Summary = fmt.Sprintf("reference: allowed (approval required: %v) by %d binding(s)", d.ApprovalRequired, len(d.Grants))
	}
	return x
}

func (e *refDecider) LookupResources(q authz.LookupResourcesRequest) (authz.LookupResourcesPage, error) {
	if e.w[q.Org] == nil {
		return authz.LookupResourcesPage{}, authz.ErrNotFound
	}
	all := e.ref.LookupResources(e.w, q)
	var conditional []authz.ResourceRef
	if q.IncludeConditional {
		conditional = e.ref.ConditionalResources(e.w, q)
		all = append(all, conditional...)
		slices.SortFunc(all, compareRefs)
	}
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
	for _, r := range page.Resources {
		if slices.Contains(conditional, r) {
			page.Conditional = append(page.Conditional, authz.ConditionalResource{ResourceRef: r, Conditions: []string{"?"}})
		}
		req := authz.Request{Org: q.Org, Principal: q.Principal, Namespace: r.Namespace, ResourceType: r.Type, ResourceID: r.ID,
			Action: q.Action, Context: q.Context, OnBehalfOf: q.OnBehalfOf, Now: q.Now}
		if e.ref.Check(e.w, &req).ApprovalRequired {
			page.ApprovalRequired = append(page.ApprovalRequired, r)
		}
	}
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
		id, approval := strings.CutSuffix(p, "?")
		out = append(out, authz.Subject{Principal: id, ApprovalRequired: approval})
	}
	if q.IncludeConditional {
		// The reference knows that some conditions would allow, not which:
		// it names them "?".
		for _, p := range e.ref.ConditionalSubjects(e.w, q) {
			out = append(out, authz.Subject{Principal: p, Conditions: []string{"?"}})
		}
		slices.SortFunc(out, func(a, b authz.Subject) int { return strings.Compare(a.Principal, b.Principal) })
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

func (e *refDecider) HighestLevelHeld(org, principal string, scope authz.Scope) int {
	return e.ref.HighestLevelHeld(e.w, org, principal, scope)
}

func (e *refDecider) ResourceScopesHeld(org, principal string) []authz.Scope {
	return e.ref.ResourceScopesHeld(e.w, org, principal)
}

func (e *refDecider) Missing(org, principal string, scope authz.Scope, want []policy.Permission) []policy.Permission {
	return e.ref.Missing(e.w, org, principal, scope, want)
}

func (e *refDecider) NextClockChange(org, principal string, after time.Time) time.Time {
	return e.ref.NextClockChange(e.w, org, principal, after)
}

// allAsks lists every ask rule of a policy: the roles' own, then the
// agents'.
func allAsks(m *policy.Model) []*policy.AskRule {
	var out []*policy.AskRule
	for _, r := range m.Roles {
		out = append(out, r.OwnAsks...)
	}
	for _, a := range m.Agents {
		out = append(out, a.Asks...)
	}
	return out
}
