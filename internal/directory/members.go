package directory

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// AddMember makes an existing user a member of the org bound to role at
// org scope. Needs members:create and DESIGN §1.2 for the role.
func (d *Directory) AddMember(ctx context.Context, actor Actor, org, userID, role string) (store.Member, uint64, error) {
	if err := checkName("user", userID); err != nil {
		return store.Member{}, 0, err
	}
	var out store.Member
	rev, err := d.write(ctx, "add member", org, actor, func(o *op) error {
		var err error
		out, err = o.addMember(userID, role)
		return err
	})
	return out, rev, err
}

// addMember authorizes and adds an existing user with role at org scope
// inside a write (AddMember).
func (o *op) addMember(userID, role string) (store.Member, error) {
	if err := o.need("members:create", authz.Scope{}); err != nil {
		return store.Member{}, err
	}
	r, err := o.role("role", role)
	if err != nil {
		return store.Member{}, err
	}
	target := authz.KindUser + ":" + userID
	if err := o.mayChange(roleGrant(r), authz.Scope{}, target); err != nil {
		return store.Member{}, err
	}
	out, err := o.tx.AddMember(o.ctx, store.Member{Org: o.org, UserID: userID})
	if err != nil {
		return store.Member{}, err
	}
	// A member just added holds no binding: nothing to compare with.
	_, err = o.insertBinding(authz.Binding{Principal: target, Role: r.Name})
	return out, err
}

// Invitation is an invitation to join an org with a role. The checks are
// those of AddMember; accepting it (creating the user if needed, then
// AddMember as the inviter) is the server's job.
type Invitation struct {
	Org       string    `json:"org"`
	Email     string    `json:"email"`
	Role      string    `json:"role"`
	InvitedBy string    `json:"invited_by"`
	CreatedAt time.Time `json:"created_at"`
}

// Invite authorizes inviting email to the org with role (members:create and
// DESIGN §1.2 for the role) and, in the same transaction — so a permission
// revoked in between cannot be used — calls create with the invitation for
// the caller (internal/auth) to persist it (the token and its hash are
// the caller's); create returns the audit note of the "invite" entry the
// directory records with it. A refusal is recorded too. It returns the
// invitation as create saw it and the write's revision.
func (d *Directory) Invite(ctx context.Context, actor Actor, org, email, role string, create func(tx store.Tx, inv Invitation) (AuditNote, error)) (Invitation, uint64, error) {
	email = strings.ToLower(strings.TrimSpace(email))
	at := strings.IndexByte(email, '@')
	if at <= 0 || at == len(email)-1 || len(email) > 254 || strings.ContainsAny(email, " \t\r\n") {
		return Invitation{}, 0, invalid("email", "%q is not an email address", email)
	}
	var out Invitation
	rev, err := d.write(ctx, "invite", org, actor, func(o *op) error {
		if err := o.need("members:create", authz.Scope{}); err != nil {
			return err
		}
		r, err := o.role("role", role)
		if err != nil {
			return err
		}
		if err := o.mayChange(roleGrant(r), authz.Scope{}, ""); err != nil {
			return err
		}
		out = Invitation{Org: org, Email: email, Role: r.Name, InvitedBy: actor.Principal, CreatedAt: o.tx.Now()}
		note, err := create(o.tx, out)
		if err != nil {
			return err
		}
		o.note = note
		return nil
	})
	if err != nil {
		return Invitation{}, 0, err
	}
	return out, rev, nil
}

// MayGrantRole checks DESIGN §1.2 for actor handing out role at org scope
// (its level and permissions), as Invite does, for a write of another
// package (auth's invitation revocation: taking back a pending grant is
// allowed to those who may make it). r is the write's transaction; the
// caller has caught the engine up (CatchUp). A role the policy no longer
// has grants nothing: no check.
func (d *Directory) MayGrantRole(ctx context.Context, r store.Reader, org string, actor Actor, role string) error {
	o := &op{d: d, ctx: ctx, name: "grant role", r: r, org: org, actor: actor}
	rl, ok := o.pol().Role(role)
	if !ok {
		return o.finish(nil)
	}
	return o.finish(o.mayChange(roleGrant(rl), authz.Scope{}, ""))
}

// RemoveMember removes a user from the org with every binding and team
// membership it has there. A member may always leave; removing another
// needs members:delete and DESIGN §1.2 for everything the removal takes
// away (mayRemovePrincipal: the target's level at every scope, teams
// included, ≤ the actor's, what it holds there held by the actor, and each
// of its own bindings). The org must keep a holder
// of its top-level role.
func (d *Directory) RemoveMember(ctx context.Context, actor Actor, org, userID string) (uint64, error) {
	return d.write(ctx, "remove member", org, actor, func(o *op) error {
		target := authz.KindUser + ":" + userID
		o.note.Target = "member/" + target
		// members:delete is checked before the member is looked up, so
		// that a caller who may not remove others cannot learn who is a
		// member from 404 versus 403.
		self := o.self(target)
		if !self {
			if err := o.need("members:delete", authz.Scope{}); err != nil {
				return err
			}
		}
		if _, err := o.tx.GetMember(ctx, org, userID); err != nil {
			return err
		}
		if !self {
			// Its teams' grants go with its team memberships: compared
			// at every scope, as RemoveTeamMember would.
			if err := o.mayRemovePrincipal(target); err != nil {
				return err
			}
		}
		if err := o.tx.RemoveMember(ctx, org, userID); err != nil {
			return err
		}
		return o.keepsOwner(o.pol())
	})
}

// bindingsOf lists every binding naming principal in the org.
func (o *op) bindingsOf(principal string) ([]store.Binding, error) {
	return allPages(func(p store.Page) ([]store.Binding, string, error) {
		return o.r.ListBindings(o.ctx, o.org, store.BindingFilter{Principal: principal}, p)
	})
}

// ChangeMemberRole replaces a member's org-scope role bindings with one
// binding to role. Needs members:update and DESIGN §1.2 both for every
// binding it removes and for the one it creates (so an admin can neither
// promote anyone above itself nor demote an owner). The org must keep a
// holder of its top-level role.
func (d *Directory) ChangeMemberRole(ctx context.Context, actor Actor, org, userID, role string) (store.Binding, uint64, error) {
	var out store.Binding
	rev, err := d.write(ctx, "change member role", org, actor, func(o *op) error {
		target := authz.KindUser + ":" + userID
		o.note.Target = "member/" + target
		// members:update before the lookup: no oracle on who is a member.
		if err := o.need("members:update", authz.Scope{}); err != nil {
			return err
		}
		if _, err := o.tx.GetMember(ctx, org, userID); err != nil {
			return err
		}
		r, err := o.role("role", role)
		if err != nil {
			return err
		}
		old, err := allPages(func(p store.Page) ([]store.Binding, string, error) {
			return o.tx.ListBindings(ctx, org, orgScope(store.BindingFilter{Principal: target}), p)
		})
		if err != nil {
			return err
		}
		old = slices.DeleteFunc(old, func(b store.Binding) bool { return !b.Scope.IsOrg() })
		if err := o.mayRemoveBindings(old); err != nil {
			return err
		}
		if err := o.mayChange(roleGrant(r), authz.Scope{}, target); err != nil {
			return err
		}
		for _, b := range old {
			if err := o.tx.DeleteBinding(ctx, org, b.ID); err != nil {
				return err
			}
		}
		if out, err = o.createBinding(authz.Binding{Principal: target, Role: r.Name}); err != nil {
			return err
		}
		// The entry shows the change of role: the org-scope bindings
		// replaced and the one that replaces them.
		roles := make([]string, 0, len(old))
		for _, b := range old {
			roles = append(roles, b.Role)
		}
		o.note.Before = map[string]any{"roles": roles, "bindings": old}
		o.note.After = map[string]any{"role": r.Name, "binding": out}
		return o.keepsOwner(o.pol())
	})
	return out, rev, err
}

// GetMember returns a membership: the actor's own, or with members:read.
func (d *Directory) GetMember(ctx context.Context, actor Actor, org, userID string) (store.Member, error) {
	var out store.Member
	err := d.read(ctx, "get member", org, actor, func(o *op) error {
		if !o.self(authz.KindUser + ":" + userID) {
			if err := o.need("members:read", authz.Scope{}); err != nil {
				return err
			}
		}
		var err error
		out, err = o.r.GetMember(ctx, org, userID)
		return err
	})
	return out, err
}

// ListMembers lists the org's members. Needs members:list.
func (d *Directory) ListMembers(ctx context.Context, actor Actor, org string, p store.Page) ([]store.Member, string, error) {
	var out []store.Member
	var next string
	err := d.read(ctx, "list members", org, actor, func(o *op) error {
		if err := o.need("members:list", authz.Scope{}); err != nil {
			return err
		}
		var err error
		out, next, err = o.r.ListMembers(ctx, org, p)
		return err
	})
	return out, next, err
}
