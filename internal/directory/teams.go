package directory

import (
	"context"
	"errors"
	"slices"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// CreateTeam creates a team with initial members (users, agents or
// services of the org). Needs teams:create. A new team has no bindings,
// so its members gain nothing by joining it; they do become sponsors of
// any agent or service that names the team as a sponsor (deleting a team
// drops it from every sponsor list, but a list may name a team before it
// exists), so creating it with members needs the right to manage each of
// those (mayLendSponsorship).
func (d *Directory) CreateTeam(ctx context.Context, actor Actor, org, slug, name string, members []string) (store.Team, uint64, error) {
	if err := checkSlugIdent("slug", slug); err != nil {
		return store.Team{}, 0, err
	}
	for _, m := range members {
		if err := checkPrincipal("members", m, false); err != nil {
			return store.Team{}, 0, err
		}
	}
	var out store.Team
	rev, err := d.write(ctx, "create team", org, actor, func(o *op) error {
		if err := o.need("teams:create", authz.Scope{}); err != nil {
			return err
		}
		if len(members) > 0 {
			if err := o.mayLendSponsorship(authz.KindTeam + ":" + slug); err != nil {
				return err
			}
		}
		var err error
		out, err = o.tx.CreateTeam(ctx, store.Team{Org: org, Slug: slug, Name: name, Members: slices.Clone(members)})
		return err
	})
	return out, rev, err
}

// RenameTeam changes a team's display name. Needs teams:update.
func (d *Directory) RenameTeam(ctx context.Context, actor Actor, org, slug, name string) (uint64, error) {
	return d.write(ctx, "rename team", org, actor, func(o *op) error {
		if err := o.need("teams:update", authz.Scope{}); err != nil {
			return err
		}
		t, err := o.tx.GetTeam(ctx, org, slug)
		if err != nil {
			return err
		}
		t.Name = name
		_, err = o.tx.UpdateTeam(ctx, t)
		return err
	})
}

// teamBindings lists the bindings naming the team.
func (o *op) teamBindings(slug string) ([]store.Binding, error) {
	return o.bindingsOf(authz.KindTeam + ":" + slug)
}

// DeleteTeam deletes a team and every binding naming it. Needs
// teams:delete, DESIGN §1.2 for each of those bindings, and that the actor
// may suspend every agent and service the team is the last present
// sponsor of (mayOrphan); the org must keep a holder of its top-level
// role.
func (d *Directory) DeleteTeam(ctx context.Context, actor Actor, org, slug string) (uint64, error) {
	return d.write(ctx, "delete team", org, actor, func(o *op) error {
		o.note.Target = "team/" + authz.KindTeam + ":" + slug
		if err := o.need("teams:delete", authz.Scope{}); err != nil {
			return err
		}
		if _, err := o.tx.GetTeam(ctx, org, slug); err != nil {
			return err
		}
		bs, err := o.teamBindings(slug)
		if err != nil {
			return err
		}
		if err := o.mayRemoveBindings(bs); err != nil {
			return err
		}
		// Members lose what the team's bindings gave them.
		members, err := allPages(func(p store.Page) ([]string, string, error) {
			return o.tx.ListTeamMembers(ctx, org, slug, p)
		})
		if err != nil {
			return err
		}
		for _, m := range members {
			if err := o.mayMembership(bs, m); err != nil {
				return err
			}
		}
		// Whom the team sponsors goes without a sponsor if it was the
		// last: as much as suspending them.
		if err := o.mayOrphan(sponsorLoss{team: slug, teamGone: true}); err != nil {
			return err
		}
		if err := o.tx.DeleteTeam(ctx, org, slug); err != nil {
			return err
		}
		return o.keepsOwner(o.pol())
	})
}

// mayMembership checks DESIGN §1.2 for a principal joining or leaving a
// team with bindings bs: for the principal it is as if each binding were
// created or removed for it directly.
func (o *op) mayMembership(bs []store.Binding, principal string) error {
	for _, b := range bs {
		if err := o.mayChange(o.bindingGrant(b.Binding), b.Scope, principal); err != nil {
			return err
		}
	}
	return nil
}

// AddTeamMember adds a user, agent or service to a team. Needs
// teams:update and, since the principal gains every binding of the team,
// DESIGN §1.2 for each of them with the principal as target; and, since it
// becomes a sponsor of whatever the team sponsors, the right to manage
// each of those (mayLendSponsorship).
func (d *Directory) AddTeamMember(ctx context.Context, actor Actor, org, slug, principal string) (uint64, error) {
	if err := checkPrincipal("principal", principal, false); err != nil {
		return 0, err
	}
	return d.write(ctx, "add team member", org, actor, func(o *op) error {
		if err := o.mayChangeTeamMembership(slug, principal); err != nil {
			return err
		}
		if err := o.mayLendSponsorship(authz.KindTeam + ":" + slug); err != nil {
			return err
		}
		_, err := o.tx.AddTeamMember(ctx, org, slug, principal)
		return err
	})
}

// mayChangeTeamMembership: the actor holds teams:update, the team exists,
// and DESIGN §1.2 allows each of the team's bindings with principal as
// the target (it gains or loses them all).
func (o *op) mayChangeTeamMembership(slug, principal string) error {
	if err := o.need("teams:update", authz.Scope{}); err != nil {
		return err
	}
	if _, err := o.tx.GetTeam(o.ctx, o.org, slug); err != nil {
		return err
	}
	bs, err := o.teamBindings(slug)
	if err != nil {
		return err
	}
	return o.mayMembership(bs, principal)
}

// RemoveTeamMember removes a principal from a team. A principal may always
// leave a team; removing another needs teams:update, DESIGN §1.2 for each
// binding of the team it loses, and that the actor may suspend every
// agent and service the change leaves without a present sponsor
// (mayOrphan) — which a service or agent leaving by itself needs too
// (only a person leaves a sponsoring team regardless). The org must keep a holder of its
// top-level role.
func (d *Directory) RemoveTeamMember(ctx context.Context, actor Actor, org, slug, principal string) (uint64, error) {
	if err := checkPrincipal("principal", principal, false); err != nil {
		return 0, err
	}
	return d.write(ctx, "remove team member", org, actor, func(o *op) error {
		self := o.self(principal)
		if !self {
			if err := o.mayChangeTeamMembership(slug, principal); err != nil {
				return err
			}
		}
		// The last member of a sponsoring team leaving it leaves whom the
		// team sponsors without a sponsor. A person may leave anyway; a
		// service or agent leaving "by itself" is whoever holds its
		// credential — an admin may mint one for a service it outranks —
		// so it needs what removing it would.
		if kind, _, _ := splitPrincipal(principal); !self || kind != authz.KindUser {
			if err := o.mayOrphan(sponsorLoss{team: slug, teamMember: principal}); err != nil {
				return err
			}
		}
		if _, err := o.tx.RemoveTeamMember(ctx, org, slug, principal); err != nil {
			return err
		}
		return o.keepsOwner(o.pol())
	})
}

// GetTeam returns a team with its members: to its members, or with
// teams:read.
func (d *Directory) GetTeam(ctx context.Context, actor Actor, org, slug string) (store.Team, error) {
	var out store.Team
	err := d.read(ctx, "get team", org, actor, func(o *op) error {
		t, err := o.r.GetTeam(ctx, org, slug)
		if errors.Is(err, store.ErrNotFound) {
			// A missing team is, to a caller without teams:read, the
			// same refusal as another's team: no oracle on which exist.
			if nerr := o.need("teams:read", authz.Scope{}); nerr != nil {
				return nerr
			}
		}
		if err != nil {
			return err
		}
		if !slices.Contains(t.Members, actor.Principal) {
			if err := o.need("teams:read", authz.Scope{}); err != nil {
				return err
			}
		}
		out = t
		return nil
	})
	return out, err
}

// ListTeams lists the org's teams (without members). Needs teams:list.
func (d *Directory) ListTeams(ctx context.Context, actor Actor, org string, p store.Page) ([]store.Team, string, error) {
	var out []store.Team
	var next string
	err := d.read(ctx, "list teams", org, actor, func(o *op) error {
		if err := o.need("teams:list", authz.Scope{}); err != nil {
			return err
		}
		var err error
		out, next, err = o.r.ListTeams(ctx, org, p)
		return err
	})
	return out, next, err
}
