package directory

import (
	"context"
	"errors"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/internal/store"
	"github.com/gatehouse-dev/gatehouse/templates"
)

// CreateUser creates a deployment-wide user. It is for the authentication
// layer (sign-up, SSO provisioning), not for principals: users are not org
// data, and an org only sees a user once it is made a member. The id must
// be an identifier (a letter, then letters, digits, '_' or '-').
func (d *Directory) CreateUser(ctx context.Context, u store.User) (store.User, uint64, error) {
	const name = "create user"
	if err := checkName("id", u.ID); err != nil {
		return store.User{}, 0, err
	}
	var out store.User
	rev, err := d.st.Write(ctx, func(tx store.Tx) error {
		var err error
		if out, err = tx.CreateUser(ctx, u); err != nil {
			return err
		}
		return d.recordSuccess(ctx, tx, name, "", Actor{Principal: authz.KindUser + ":" + u.ID}, AuditNote{Target: "user/" + u.ID})
	})
	if err != nil {
		return store.User{}, 0, mapErr(name, err)
	}
	return out, rev, nil
}

// DeleteUser deletes the actor's own user and every membership it has. It
// is ErrLastOwner if the user is the last holder of the top-level role of
// any org (hand the org over, or delete it, first).
func (d *Directory) DeleteUser(ctx context.Context, actor Actor, userID string) (uint64, error) {
	_, rev, err := d.DeleteUserOrgs(ctx, actor, userID)
	return rev, err
}

// DeleteUserOrgs is DeleteUser answering also the orgs the user was a
// member of, read in the deleting transaction: those where the keys it
// minted stop (threat-model row 99).
func (d *Directory) DeleteUserOrgs(ctx context.Context, actor Actor, userID string) (orgs []string, rev uint64, err error) {
	const name = "delete user"
	if actor.Principal != authz.KindUser+":"+userID {
		return nil, 0, errorf(ErrNotFound, name, "user %q", userID)
	}
	rev, err = d.st.Write(ctx, func(tx store.Tx) error {
		orgs = orgs[:0]
		if err := d.CatchUp(ctx, tx); err != nil {
			return err
		}
		memberships, err := allPages(func(p store.Page) ([]store.Member, string, error) {
			return tx.ListMemberships(ctx, userID, p)
		})
		if err != nil {
			return err
		}
		if err := tx.DeleteUser(ctx, userID); err != nil {
			return err
		}
		for _, m := range memberships {
			orgs = append(orgs, m.Org)
			o := &op{d: d, ctx: ctx, name: name, r: tx, tx: tx, org: m.Org, actor: actor}
			pol, err := tx.GetPolicy(ctx, m.Org)
			if err != nil {
				if errors.Is(err, store.ErrNotFound) {
					continue
				}
				return err
			}
			if err := o.keepsOwner(d.comp.engineModel(pol.Text)); err != nil {
				return err
			}
			if err := d.recordSuccess(ctx, tx, name, m.Org, actor, AuditNote{Target: "user/" + userID}); err != nil {
				return err
			}
		}
		return d.recordSuccess(ctx, tx, name, "", actor, AuditNote{Target: "user/" + userID})
	})
	if err != nil {
		return nil, 0, mapErr(name, err)
	}
	d.settle(ctx, rev)
	return orgs, rev, nil
}

// OrgSpec describes a new org.
type OrgSpec struct {
	ID       string `json:"id"`                 // slug: a letter, then a-z, 0-9, '-', '_'
	Name     string `json:"name,omitempty"`     // display name
	Template string `json:"template,omitempty"` // "" means templates.Default
}

// CreateOrg creates an org from a template: its "default" namespace, its
// policy (the template's text, which custom roles and policy edits change
// from then on), and the actor — who must be a user — as a member bound to
// the template's top-level role at org scope. Any existing user may create
// an org. Org ids are global, so a taken id is ErrConflict.
func (d *Directory) CreateOrg(ctx context.Context, actor Actor, spec OrgSpec) (store.Org, uint64, error) {
	const name = "create org"
	kind, userID, ok := splitPrincipal(actor.Principal)
	if !ok || kind != authz.KindUser {
		return store.Org{}, 0, errorf(ErrForbidden, name, "only users create orgs")
	}
	if err := checkSlugIdent("id", spec.ID); err != nil { // OrgSpec's member, not the "org" of a path
		return store.Org{}, 0, err
	}
	if spec.Template == "" {
		spec.Template = templates.Default
	}
	src, err := templates.Source(spec.Template)
	if err != nil {
		return store.Org{}, 0, invalid("template", "%q is not a template (have %v)", spec.Template, templates.Names())
	}
	model, diags := d.comp.load(string(src))
	if model == nil {
		return store.Org{}, 0, &PolicyError{Diagnostics: diags}
	}
	top, ok := topRole(model)
	if !ok {
		return store.Org{}, 0, invalid("template", "template %q has no roles", spec.Template)
	}
	var out store.Org
	rev, err := d.st.Write(ctx, func(tx store.Tx) error {
		if _, err := tx.GetUser(ctx, userID); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return errorf(ErrForbidden, name, "only existing users create orgs")
			}
			return err
		}
		var err error
		if out, err = tx.CreateOrg(ctx, store.Org{ID: spec.ID, Name: spec.Name, Template: spec.Template}); err != nil {
			return err
		}
		if _, err := tx.SetPolicy(ctx, spec.ID, string(src), actor.Principal); err != nil {
			return err
		}
		if _, err := tx.AddMember(ctx, store.Member{Org: spec.ID, UserID: userID}); err != nil {
			return err
		}
		if _, err = tx.CreateBinding(ctx, store.Binding{
			Org:       spec.ID,
			Binding:   authz.Binding{Principal: actor.Principal, Role: top.Name},
			CreatedBy: actor.Principal,
		}); err != nil {
			return err
		}
		return d.recordSuccess(ctx, tx, name, spec.ID, actor, AuditNote{Target: orgTarget(spec.ID)})
	})
	if err != nil {
		return store.Org{}, 0, mapErr(name, err)
	}
	d.settle(ctx, rev)
	return out, rev, nil
}

// GetOrg returns the org to any member.
func (d *Directory) GetOrg(ctx context.Context, actor Actor, org string) (store.Org, error) {
	var out store.Org
	err := d.read(ctx, "get org", org, actor, func(o *op) error {
		var err error
		out, err = o.r.GetOrg(ctx, org)
		return err
	})
	return out, err
}

// ListOrgs lists the orgs the actor (a user) is a member of; agents and
// services see their own org only through GetOrg.
func (d *Directory) ListOrgs(ctx context.Context, actor Actor) ([]store.Org, error) {
	const name = "list orgs"
	kind, userID, ok := splitPrincipal(actor.Principal)
	if !ok || kind != authz.KindUser {
		return nil, nil
	}
	ms, err := allPages(func(p store.Page) ([]store.Member, string, error) {
		return d.st.ListMemberships(ctx, userID, p)
	})
	if err != nil {
		return nil, mapErr(name, err)
	}
	out := make([]store.Org, 0, len(ms))
	for _, m := range ms {
		o, err := d.st.GetOrg(ctx, m.Org)
		if errors.Is(err, store.ErrNotFound) {
			continue // deleted meanwhile
		}
		if err != nil {
			return nil, mapErr(name, err)
		}
		out = append(out, o)
	}
	return out, nil
}

// RenameOrg changes the org's display name. Needs org:update.
func (d *Directory) RenameOrg(ctx context.Context, actor Actor, org, newName string) (uint64, error) {
	return d.write(ctx, "rename org", org, actor, func(o *op) error {
		o.note.Target = orgTarget(org)
		if err := o.need("org:update", authz.Scope{}); err != nil {
			return err
		}
		cur, err := o.tx.GetOrg(ctx, org)
		if err != nil {
			return err
		}
		cur.Name = newName
		_, err = o.tx.UpdateOrg(ctx, cur)
		return err
	})
}

// DeleteOrg deletes the org and everything in it. Needs org:delete and the
// actor's org-scope level at the policy's top level: deleting the org
// removes its owners, which only an owner may do.
func (d *Directory) DeleteOrg(ctx context.Context, actor Actor, org string) (uint64, error) {
	return d.write(ctx, "delete org", org, actor, func(o *op) error {
		o.note.Target = orgTarget(org)
		if err := o.need("org:delete", authz.Scope{}); err != nil {
			return err
		}
		if lvl, top := d.eng.HighestLevel(org, actor.Principal, authz.Scope{}), o.pol().TopLevel(); lvl < top && !o.off(ruleTarget) {
			return &EscalationError{Reason: ReasonTarget, Scope: authz.Scope{}, ActorLevel: lvl, Target: "the org's owners", TargetLevel: top}
		}
		return o.tx.DeleteOrg(ctx, org)
	})
}
