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

// The org's policy text in the store is the single source of its roles:
// it starts as the template's text, and custom-role operations edit it
// through the syntax tree and the compiler (build the role's declaration,
// set or remove it with policy/edit, which changes only that role's lines,
// compile the whole policy, store the new version). So a custom role is exactly a
// role declaration of the org's policy whose name is not one of its
// template's roles.

// RoleInfo describes a role of an org's policy.
type RoleInfo struct {
	Name        string   `json:"name"`
	Level       int      `json:"level"`
	Parents     []string `json:"parents,omitempty"`
	Permissions []string `json:"permissions"` // flattened, sorted
	Custom      bool     `json:"custom"`      // not one of the template's roles
}

// ListRoles lists the roles of the org's policy. Needs roles:list.
func (d *Directory) ListRoles(ctx context.Context, actor Actor, org string) ([]RoleInfo, error) {
	var out []RoleInfo
	err := d.read(ctx, "list roles", org, actor, func(o *op) error {
		if err := o.need("roles:list", authz.Scope{}); err != nil {
			return err
		}
		name, err := o.template()
		if err != nil {
			return err
		}
		tmpl := templateRoleNames(name)
		for _, r := range o.pol().Roles {
			out = append(out, roleInfo(r, tmpl))
		}
		return nil
	})
	return out, err
}

// roleInfo describes r; tmpl holds the lower-cased names of the
// template's roles.
func roleInfo(r *policy.Role, tmpl map[string]bool) RoleInfo {
	ri := RoleInfo{Name: r.Name, Level: r.Level, Parents: r.Parents, Custom: !tmpl[strings.ToLower(r.Name)]}
	for _, p := range r.Permissions {
		ri.Permissions = append(ri.Permissions, p.String())
	}
	return ri
}

// GetPolicy returns the org's current policy text and version. Needs
// policy:read.
func (d *Directory) GetPolicy(ctx context.Context, actor Actor, org string) (store.Policy, error) {
	var out store.Policy
	err := d.read(ctx, "get policy", org, actor, func(o *op) error {
		if err := o.need("policy:read", authz.Scope{}); err != nil {
			return err
		}
		var err error
		out, err = o.r.GetPolicy(ctx, org)
		return err
	})
	return out, err
}

// CreateRole adds a custom role to the org's policy. Needs roles:create;
// the name may not be taken nor reuse (in any case) a role name of the
// org's template; its level must be below the policy's top level; the
// policy must still compile (*PolicyError); the role's
// level must be ≤ the actor's org level and its permissions (with its
// parents') held by the actor at org scope.
func (d *Directory) CreateRole(ctx context.Context, actor Actor, org string, spec RoleSpec) (uint64, error) {
	_, rev, err := d.CreateRoleInfo(ctx, actor, org, spec)
	return rev, err
}

// CreateRoleInfo is CreateRole that also returns the role as created, as
// ListRoles describes it (flattened permissions), for the API's
// {revision, item} answer.
func (d *Directory) CreateRoleInfo(ctx context.Context, actor Actor, org string, spec RoleSpec) (RoleInfo, uint64, error) {
	decl, err := spec.decl()
	if err != nil {
		return RoleInfo{}, 0, err
	}
	var info RoleInfo
	rev, err := d.write(ctx, "create role", org, actor, func(o *op) error {
		if err := o.need("roles:create", authz.Scope{}); err != nil {
			return err
		}
		tmpl, err := o.template()
		if err != nil {
			return err
		}
		if templateRoleNames(tmpl)[strings.ToLower(spec.Name)] {
			return invalid("name", "%q is a role of the org's template %q; custom roles cannot shadow it", spec.Name, tmpl)
		}
		if _, exists := o.pol().Role(spec.Name); exists {
			return errorf(ErrConflict, o.name, "role %q already exists", spec.Name)
		}
		if err := o.belowTop(spec); err != nil {
			return err
		}
		text, err := withRole(o.polText(), spec.Name, decl)
		if err != nil {
			return err
		}
		if err := o.changePolicy(text, false); err != nil {
			return err
		}
		if m, _ := o.d.comp.load(text); m != nil { // compiled by changePolicy: cached
			if r, ok := m.Role(spec.Name); ok {
				info = roleInfo(r, templateRoleNames(tmpl))
			}
		}
		return nil
	})
	if err != nil {
		return RoleInfo{}, 0, err
	}
	return info, rev, nil
}

// customRole resolves a role that role operations may change: declared in
// the policy and not a template role.
func (o *op) customRole(name string) error {
	if err := checkName("name", name); err != nil {
		return err
	}
	if _, ok := o.pol().Role(name); !ok {
		return errorf(ErrNotFound, o.name, "role %q", name)
	}
	tmpl, err := o.template()
	if err != nil {
		return err
	}
	if templateRoleNames(tmpl)[strings.ToLower(name)] {
		return invalid("name", "%q is a role of the org's template %q; change template roles by replacing the policy", name, tmpl)
	}
	return nil
}

// belowTop keeps custom roles below the policy's top level: the top level
// is the owner's, so "a holder of the top-level role" (the last-owner rule)
// always means a real owner, never a custom role that happens to share its
// level.
func (o *op) belowTop(spec RoleSpec) error {
	if top := o.pol().TopLevel(); spec.Level >= top {
		return invalid("level", "a custom role's level must be below the policy's top level %d", top)
	}
	return nil
}

// UpdateRole redefines a custom role. Needs roles:update; the escalation
// rules apply to the role before and after the change, and to every role
// whose effect the change alters (roles inheriting from it).
func (d *Directory) UpdateRole(ctx context.Context, actor Actor, org string, spec RoleSpec) (uint64, error) {
	decl, err := spec.decl()
	if err != nil {
		return 0, err
	}
	return d.write(ctx, "update role", org, actor, func(o *op) error {
		if err := o.need("roles:update", authz.Scope{}); err != nil {
			return err
		}
		if err := o.customRole(spec.Name); err != nil {
			return err
		}
		if err := o.belowTop(spec); err != nil {
			return err
		}
		text, err := withRole(o.polText(), spec.Name, decl)
		if err != nil {
			return err
		}
		return o.changePolicy(text, false)
	})
}

// DeleteRole removes a custom role. Needs roles:delete and the escalation
// rules for the role; a role still bound (or an agent's role) is refused
// with *InUseError, and a role another role inherits from with
// *PolicyError.
func (d *Directory) DeleteRole(ctx context.Context, actor Actor, org, name string) (uint64, error) {
	return d.write(ctx, "delete role", org, actor, func(o *op) error {
		if err := o.need("roles:delete", authz.Scope{}); err != nil {
			return err
		}
		if err := o.customRole(name); err != nil {
			return err
		}
		text, err := withRole(o.polText(), name, nil)
		if err != nil {
			return err
		}
		return o.changePolicy(text, false)
	})
}

// ReplacePolicy replaces the org's policy text. Needs policy:update. The
// text must compile (*PolicyError with positioned diagnostics otherwise).
// The actor must be at or above the level of, and hold every permission
// of, every role the new text adds, removes or changes (before and after;
// its level, permissions or approval rules), and of the ceiling role of
// every agent declaration it adds, removes or changes (its role, rules,
// conditions or approval rules).
// Dropping a role that is still bound, or that an agent has, is refused
// (*InUseError) unless force, which deletes those bindings — each under
// the target rule of DESIGN §1.2. The org must keep a user holding its
// (new) top-level role.
func (d *Directory) ReplacePolicy(ctx context.Context, actor Actor, org, text string, force bool) (uint64, error) {
	if len(text) > store.MaxPolicyBytes {
		return 0, invalid("policy", "larger than %d bytes", store.MaxPolicyBytes)
	}
	return d.write(ctx, "replace policy", org, actor, func(o *op) error {
		if err := o.need("policy:update", authz.Scope{}); err != nil {
			return err
		}
		return o.changePolicy(text, force)
	})
}

// mayAgentChange enforces the role rules for declaring, changing or
// dropping agent declaration a of model m: its ceiling role's level ≤ the
// actor's org level and the role's permissions held at org scope (an
// agent declared with the owner's role is changed only by an owner).
func (o *op) mayAgentChange(m *policy.Model, a *policy.Agent) error {
	r, ok := m.Role(a.Role)
	if !ok { // a compiled agent always names a role of its model
		return errorf(ErrInvalid, o.name, "agent %s names no role of the policy", a.Name)
	}
	return o.mayRoleChange(r)
}

// changePolicy validates and stores a new policy text inside a write.
func (o *op) changePolicy(text string, force bool) error {
	m1, diags := o.d.comp.load(text)
	if m1 == nil {
		return &PolicyError{Diagnostics: diags}
	}
	m0 := o.pol()
	conds := changedConditions(m0, m1)
	// Every role whose effect changes, before and after.
	for _, r1 := range m1.Roles {
		r0, existed := m0.Role(r1.Name)
		if existed && !roleChanged(r0, r1) && !roleUses(r1, conds) {
			continue
		}
		if err := o.mayRoleChange(r1); err != nil {
			return err
		}
		if existed {
			if err := o.mayRoleChange(r0); err != nil {
				return err
			}
		}
	}
	// Every role whose approval rules the change lifts: a level above it.
	for _, r0 := range m0.Roles {
		if r1, kept := m1.Role(r0.Name); kept {
			if err := o.mayRelaxAsks(m0, r0, r1, conds); err != nil {
				return err
			}
		}
	}
	// Every agent declaration whose effect changes, before and after, and
	// every one dropped: its conditions, obligations and approval rules
	// are what its ceiling role lets it do (mayAgentChange).
	for _, a1 := range m1.Agents {
		a0, existed := m0.Agent(a1.Name)
		if existed && !agentChanged(a0, a1) && !agentUses(a1, conds) {
			continue
		}
		if err := o.mayAgentChange(m1, a1); err != nil {
			return err
		}
		if existed {
			if err := o.mayAgentChange(m0, a0); err != nil {
				return err
			}
		}
	}
	for _, a0 := range m0.Agents {
		if _, kept := m1.Agent(a0.Name); !kept {
			if err := o.mayAgentChange(m0, a0); err != nil {
				return err
			}
		}
	}
	// Every binding naming a condition whose definition changes grants
	// something else from now on: as if it were removed and created again
	// (DESIGN §1.2 for its grant and its principal, at its scope).
	if len(conds) > 0 {
		all, err := allPages(func(p store.Page) ([]store.Binding, string, error) {
			return o.tx.ListBindings(o.ctx, o.org, store.BindingFilter{}, p)
		})
		if err != nil {
			return err
		}
		for _, b := range all {
			if conds[b.Condition] {
				if err := o.mayChange(o.bindingGrant(b.Binding), b.Scope, b.Principal); err != nil {
					return err
				}
			}
		}
	}
	var dropped []*policy.Role
	for _, r0 := range m0.Roles {
		if _, kept := m1.Role(r0.Name); !kept {
			if err := o.mayRoleChange(r0); err != nil {
				return err
			}
			dropped = append(dropped, r0)
		}
	}
	for _, r0 := range dropped {
		bs, err := allPages(func(p store.Page) ([]store.Binding, string, error) {
			return o.tx.ListBindings(o.ctx, o.org, store.BindingFilter{Role: r0.Name}, p)
		})
		if err != nil {
			return err
		}
		// Shares made to the role go with it: left behind, they would
		// grant again to whoever holds a role of that name defined later.
		shares, err := allPages(func(p store.Page) ([]store.Binding, string, error) {
			return o.tx.ListBindings(o.ctx, o.org, store.BindingFilter{Principal: authz.KindRole + ":" + r0.Name}, p)
		})
		if err != nil {
			return err
		}
		bs = append(bs, shares...)
		agents, err := allPages(func(p store.Page) ([]store.Agent, string, error) {
			return o.tx.ListAgents(o.ctx, o.org, p)
		})
		if err != nil {
			return err
		}
		var used []string
		for _, a := range agents {
			if a.Role == r0.Name {
				used = append(used, a.PrincipalID())
			}
		}
		if !force || len(used) > 0 {
			for _, b := range bs {
				used = append(used, "binding "+b.ID)
			}
			if len(used) > 0 {
				more := 0
				if len(used) > 5 {
					more, used = len(used)-5, used[:5]
				}
				hint := "rebind them first, or replace the policy with force"
				if force {
					hint = "change the agents' role first"
				}
				return &InUseError{What: fmt.Sprintf("role %q", r0.Name), UsedBy: used, MoreThan: more, Hint: hint}
			}
		}
		for _, b := range bs {
			if err := o.mayChange(grant{name: r0.Name}, b.Scope, b.Principal); err != nil {
				return err
			}
			if err := o.tx.DeleteBinding(o.ctx, o.org, b.ID); err != nil {
				return err
			}
		}
	}
	if _, err := o.tx.SetPolicy(o.ctx, o.org, text, o.actor.Principal); err != nil {
		return err
	}
	return o.keepsOwner(m1)
}

// mayRelaxAsks checks a change of role r0 (in m0) into r1 that drops or
// alters one of its `ask before` rules — or changes the definition of a
// condition one names (conds) — needs the actor above r0's level at org
// scope. DESIGN §1.2 lets an actor change a role at its own level, but an
// approval rule is a control on the role's holders: at its level they
// are the actor itself and its peers (a peer role it could then bind
// itself to), so lifting it is for the level above, as granting above
// one's level is. Adding a rule needs nothing more (it constrains). The
// top level's rules are its own (nobody is above to ask): an owner may
// lift them (row 88).
func (o *op) mayRelaxAsks(m0 *policy.Model, r0, r1 *policy.Role, conds map[string]bool) error {
	if o.off(ruleLevel) || r0.Level >= m0.TopLevel() || !asksRelaxed(r0, r1, conds) {
		return nil
	}
	lvl := o.d.eng.HighestLevel(o.org, o.actor.Principal, authz.Scope{})
	if lvl > r0.Level {
		return nil
	}
	return &EscalationError{Reason: ReasonApprovals, Scope: authz.Scope{}, Role: r0.Name, RoleLevel: r0.Level, ActorLevel: lvl}
}

// asksRelaxed reports whether r1 lacks one of r0's ask rules as written,
// or one of r0's rules names a condition whose definition changes.
func asksRelaxed(r0, r1 *policy.Role, conds map[string]bool) bool {
	now := asksText(r1.OwnAsks)
	for i, a := range asksText(r0.OwnAsks) {
		if conds[r0.OwnAsks[i].Condition] || !slices.Contains(now, a) {
			return true
		}
	}
	return false
}
