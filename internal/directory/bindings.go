package directory

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/internal/store"
	"github.com/gatehouse-dev/gatehouse/policy"
)

// BindingSpec asks to bind a principal to a role at a scope.
type BindingSpec struct {
	Principal string      `json:"principal"` // user:, team:, agent: or service:
	Role      string      `json:"role"`
	Scope     authz.Scope `json:"scope"`               // zero: the whole org
	Condition string      `json:"condition,omitempty"` // optional named condition
	// Lifetime: the binding stops granting at ExpiresAt, or For after the
	// write's own clock (at most one of them; neither: never). See
	// Lifetime.
	Lifetime
}

// checkScope validates a scope's shape.
func checkScope(sc authz.Scope) error {
	switch {
	case sc.IsOrg():
		return nil
	case sc.Type == "" && sc.ID == "":
		return checkSlugIdent("scope.namespace", sc.Namespace)
	case sc.Type != "" && sc.ID != "":
		if err := checkSlugIdent("scope.namespace", sc.Namespace); err != nil {
			return err
		}
		if err := checkName("scope.type", sc.Type); err != nil {
			return err
		}
		return checkResourceID("scope.id", sc.ID)
	default:
		return invalid("scope", "a resource scope needs a namespace, a type and an id")
	}
}

// CreateBinding binds a principal to a role at a scope. Needs
// bindings:create at the scope, and DESIGN §1.2: the role's level ≤ the
// actor's highest level there, every permission of the role held by the
// actor there, and the principal's current level there ≤ the actor's. An
// identical binding (principal, role, scope, condition) is ErrConflict.
func (d *Directory) CreateBinding(ctx context.Context, actor Actor, org string, spec BindingSpec) (store.Binding, uint64, error) {
	if err := spec.check(); err != nil {
		return store.Binding{}, 0, err
	}
	var out store.Binding
	rev, err := d.write(ctx, "create binding", org, actor, func(o *op) error {
		var err error
		out, err = o.bind(spec.Principal, spec.Role, spec.Scope, spec.Condition, spec.Lifetime)
		return err
	})
	return out, rev, err
}

// check validates the spec's shape.
func (spec BindingSpec) check() error {
	if err := checkPrincipal("principal", spec.Principal, true); err != nil {
		return err
	}
	if err := checkScope(spec.Scope); err != nil {
		return err
	}
	if spec.Scope.ID != "" {
		if err := checkNewResourceID("scope.id", spec.Scope.ID); err != nil {
			return err
		}
	}
	if spec.Condition != "" {
		if err := checkName("condition", spec.Condition); err != nil {
			return err
		}
	}
	return spec.Lifetime.check()
}

// bind authorizes and creates a role binding inside a write.
func (o *op) bind(principal, roleName string, sc authz.Scope, cond string, life Lifetime) (store.Binding, error) {
	if err := o.need("bindings:create", sc); err != nil {
		return store.Binding{}, err
	}
	r, err := o.role("role", roleName)
	if err != nil {
		return store.Binding{}, err
	}
	if err := checkBindingCondition(o.pol(), cond); err != nil {
		return store.Binding{}, err
	}
	if err := o.mayChange(roleGrant(r), sc, principal); err != nil {
		return store.Binding{}, err
	}
	exp, err := o.expiry(life)
	if err != nil {
		return store.Binding{}, err
	}
	return o.createBinding(authz.Binding{Principal: principal, Role: r.Name, Scope: sc, Condition: cond, ExpiresAt: exp})
}

// createBinding creates b unless an identical binding (expiry included)
// exists and has not expired.
func (o *op) createBinding(b authz.Binding) (store.Binding, error) {
	existing, err := o.bindingsAt(b.Principal, b.Scope)
	if err != nil {
		return store.Binding{}, err
	}
	for _, x := range existing {
		if x.Role == b.Role && x.Condition == b.Condition && slices.Equal(x.Actions, b.Actions) && x.Scope == b.Scope &&
			x.ExpiresAt.Equal(b.ExpiresAt) && (x.ExpiresAt.IsZero() || x.ExpiresAt.After(o.tx.Now())) {
			return store.Binding{}, errorf(ErrConflict, o.name, "%s already has this binding (%s)", b.Principal, x.ID)
		}
	}
	return o.insertBinding(b)
}

// bindingsAt returns every binding of principal at exactly sc: from the
// transaction's memory when it knows them (a batch's Prefetch), else
// listed.
func (o *op) bindingsAt(principal string, sc authz.Scope) ([]store.Binding, error) {
	if br, ok := o.tx.(bindingsAtReader); ok {
		if bs, known := br.BindingsAt(o.org, principal, sc); known {
			return bs, nil
		}
	}
	return allPages(func(p store.Page) ([]store.Binding, string, error) {
		return o.tx.ListBindings(o.ctx, o.org, store.BindingFilter{Principal: principal, Scope: &sc}, p)
	})
}

// insertBinding creates b with no duplicate check: for a principal that
// cannot hold a binding yet (a member just added: the store refuses a
// binding of a user who is not a member and deletes a member's bindings
// with the membership).
func (o *op) insertBinding(b authz.Binding) (store.Binding, error) {
	return o.tx.CreateBinding(o.ctx, store.Binding{Org: o.org, Binding: b, CreatedBy: o.actor.Principal})
}

// DeleteBinding removes a binding. Needs bindings:delete at its scope and
// DESIGN §1.2 for what it hands out (its role's level and permissions, or
// its action list) and for its principal's level; the org must keep a
// holder of its top-level role.
func (d *Directory) DeleteBinding(ctx context.Context, actor Actor, org, id string) (uint64, error) {
	return d.write(ctx, "delete binding", org, actor, func(o *op) error {
		if err := o.deleteBinding(id); err != nil {
			return err
		}
		return o.keepsOwner(o.pol())
	})
}

// deleteBinding authorizes and deletes the binding id inside a write; the
// caller checks keepsOwner once its changes are done.
func (o *op) deleteBinding(id string) error {
	b, err := o.tx.GetBinding(o.ctx, o.org, id)
	if err != nil {
		return err
	}
	return o.unbind(b.Binding)
}

// unbind authorizes and deletes one binding inside a write.
func (o *op) unbind(b authz.Binding) error {
	if err := o.need("bindings:delete", b.Scope); err != nil {
		return err
	}
	if err := o.mayChange(o.bindingGrant(b), b.Scope, b.Principal); err != nil {
		return err
	}
	return o.tx.DeleteBinding(o.ctx, o.org, b.ID)
}

// mayRemoveBindings checks DESIGN §1.2 for every binding in bs, as their
// removal by a cascade (a member, team, agent or service going) would take
// them away. No extra permission on bindings is needed: the operation's
// own permission covers its cascade.
func (o *op) mayRemoveBindings(bs []store.Binding) error {
	for _, b := range bs {
		if err := o.mayChange(o.bindingGrant(b.Binding), b.Scope, b.Principal); err != nil {
			return err
		}
	}
	return nil
}

// GetBinding returns a binding: the actor's own, or with bindings:read at
// its scope.
func (d *Directory) GetBinding(ctx context.Context, actor Actor, org, id string) (store.Binding, error) {
	var out store.Binding
	err := d.read(ctx, "get binding", org, actor, func(o *op) error {
		b, err := o.r.GetBinding(ctx, org, id)
		if err != nil {
			return err
		}
		if !o.self(b.Principal) {
			if err := o.need("bindings:read", b.Scope); err != nil {
				return err
			}
		}
		out = b
		return nil
	})
	return out, err
}

// BindingFilter narrows ListBindings.
type BindingFilter struct {
	Principal string // exact principal
	Role      string // exact role
	Namespace string // namespace- and resource-scoped bindings in it
}

// ListBindings lists bindings. The actor may always list its own
// (Principal = the actor); otherwise it needs bindings:list at org scope,
// or in the namespace when Namespace is set.
func (d *Directory) ListBindings(ctx context.Context, actor Actor, org string, f BindingFilter, p store.Page) ([]store.Binding, string, error) {
	var out []store.Binding
	var next string
	err := d.read(ctx, "list bindings", org, actor, func(o *op) error {
		if f.Namespace != "" {
			if err := checkSlugIdent("namespace", f.Namespace); err != nil {
				return err
			}
		}
		if !o.self(f.Principal) {
			if err := o.need("bindings:list", authz.Scope{Namespace: f.Namespace}); err != nil {
				return err
			}
		}
		var err error
		out, next, err = o.r.ListBindings(ctx, org, store.BindingFilter{Principal: f.Principal, Role: f.Role, Namespace: f.Namespace}, p)
		return err
	})
	return out, next, err
}

// Share grants a principal an action list on one resource ("share
// chains/escalation-triage with team:support for run,read"). Needs
// bindings:create at the resource and, for each action, <type>:<action>
// held by the actor on that resource (DESIGN §1.2); the principal's level
// there must not exceed the actor's. When the policy declares the type's
// actions, each action must be one of them.
//
// The principal may be "role:<name>" (seed 002: "share specific chains
// with specific users or roles"): the share reaches every principal
// holding that role in the resource's scope (docs/engine.md). The role
// must be one of the org's policy, and it stands for the target: its
// level must not exceed the actor's at the resource (mayChange), so an
// actor shares only with roles it could grant.
func (d *Directory) Share(ctx context.Context, actor Actor, org string, ref authz.ResourceRef, principal string, actions []string) (store.Binding, uint64, error) {
	return d.ShareFor(ctx, actor, org, ref, principal, actions, Lifetime{})
}

// ShareFor is Share for a limited time: the share stops granting when life
// says (docs/agents.md, "Grants that expire").
func (d *Directory) ShareFor(ctx context.Context, actor Actor, org string, ref authz.ResourceRef, principal string, actions []string, life Lifetime) (store.Binding, uint64, error) {
	if err := life.check(); err != nil {
		return store.Binding{}, 0, err
	}
	acts, err := checkShare(ref, principal, actions)
	if err != nil {
		return store.Binding{}, 0, err
	}
	var out store.Binding
	rev, err := d.write(ctx, "share", org, actor, func(o *op) error {
		var err error
		out, err = o.share(ref, principal, acts, life)
		return err
	})
	return out, rev, err
}

// checkShare validates a share's shape and returns its actions sorted,
// without duplicates.
func checkShare(ref authz.ResourceRef, principal string, actions []string) ([]string, error) {
	if roleName, toRole := strings.CutPrefix(principal, authz.KindRole+":"); toRole {
		if err := checkName("principal", roleName); err != nil {
			return nil, err
		}
	} else if err := checkPrincipal("principal", principal, true); err != nil {
		return nil, err
	}
	if err := checkScope(resourceScope(ref)); err != nil {
		return nil, err
	}
	if err := checkNewResourceID("id", ref.ID); err != nil {
		return nil, err
	}
	if len(actions) == 0 || len(actions) > 64 {
		return nil, invalid("actions", "share 1 to 64 actions")
	}
	acts := slices.Clone(actions)
	slices.Sort(acts)
	acts = slices.Compact(acts)
	for _, a := range acts {
		if a != policy.Wildcard && policy.CheckIdent(a) != nil {
			return nil, invalid("actions", "%q is not an action or *", a)
		}
	}
	return acts, nil
}

// share authorizes and creates a share (acts checked by checkShare)
// inside a write.
func (o *op) share(ref authz.ResourceRef, principal string, acts []string, life Lifetime) (store.Binding, error) {
	sc := resourceScope(ref)
	// The permission before the lookup: no existence oracle for a caller
	// who may not share.
	if err := o.need("bindings:create", sc); err != nil {
		return store.Binding{}, err
	}
	if err := o.requireResource(ref); err != nil {
		return store.Binding{}, err
	}
	if rt, ok := o.pol().ResourceType(ref.Type); ok {
		for _, a := range acts {
			if a != policy.Wildcard && !slices.Contains(rt.Actions, a) {
				return store.Binding{}, invalid("actions", "%s has no action %q (declared: %v)", ref.Type, a, rt.Actions)
			}
		}
	}
	if roleName, toRole := strings.CutPrefix(principal, authz.KindRole+":"); toRole {
		if _, err := o.role("principal", roleName); err != nil {
			return store.Binding{}, err
		}
	}
	exp, err := o.expiry(life)
	if err != nil {
		return store.Binding{}, err
	}
	b := authz.Binding{Principal: principal, Actions: acts, Scope: sc, ExpiresAt: exp}
	if err := o.mayChange(o.bindingGrant(b), sc, principal); err != nil {
		return store.Binding{}, err
	}
	return o.createBinding(b)
}

// checkResourceID validates a resource id: 1–256 printable bytes without
// '/' and without surrounding spaces (the store's rule).
func checkResourceID(field, id string) error {
	if id == "" || len(id) > 256 {
		return invalid(field, "a resource id is 1 to 256 bytes")
	}
	for _, r := range id {
		if r == '/' || r < 0x20 || r == 0x7f || r == '\uFFFD' {
			return invalid(field, "%q contains %q", id, r)
		}
	}
	if id[0] == ' ' || id[len(id)-1] == ' ' {
		return invalid(field, "%q has surrounding spaces", id)
	}
	return nil
}

// checkBindingCondition refuses a binding condition that names nothing the
// policy knows: neither a declared `condition` nor a context flag the
// policy itself names (an agent rule's `when`/`if`). Such a name would be
// read from the request context at decision time and, being a typo
// (busines_hours) far more often than a flag, silently fail closed
// forever. It is checked after bindings:create, so the policy's names are
// shown only to a caller who may bind. A policy edit that later drops the
// name makes the binding grant nothing (fail closed), as before.
func checkBindingCondition(m *policy.Model, cond string) error {
	if cond == "" {
		return nil
	}
	known := conditionNames(m)
	if slices.Contains(known, cond) {
		return nil
	}
	msg := fmt.Sprintf("%q (characters 1-%d of the condition) is neither a condition the org's policy declares nor a context flag it names", cond, len(cond))
	if s := policy.Closest(cond, known); s != "" {
		msg += fmt.Sprintf("; did you mean %s?", s)
	} else if len(known) == 0 {
		msg += "; the policy declares none"
	}
	return invalid("condition", "%s", msg)
}

// conditionNames lists the declared conditions of m, then the context
// flags its agents' rules name.
func conditionNames(m *policy.Model) []string {
	if m == nil {
		return nil
	}
	var out []string
	for _, c := range m.Conditions {
		out = append(out, c.Name)
	}
	for _, a := range m.Agents {
		for _, r := range a.Rules {
			if r.Condition != "" && !slices.Contains(out, r.Condition) {
				out = append(out, r.Condition)
			}
		}
	}
	return out
}
