package sqlcore

import (
	"context"
	"fmt"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// Every write method follows the same shape: begin (refuse a finished or
// poisoned transaction), validate, check existence and uniqueness with
// reads (race-free: the write lock is held), then mutate with t.exec
// (poisoning on error) and record changelog entries.

func notFound(op, detail string) error { return store.Errorf(store.ErrNotFound, op, detail, nil) }
func conflict(op, detail string) error { return store.Errorf(store.ErrConflict, op, detail, nil) }
func refused(op, detail string) error  { return store.Errorf(store.ErrRefused, op, detail, nil) }

func (t *txn) requireOrg(ctx context.Context, op, org string) error {
	ok, err := t.existsStrings(ctx, op, func() string { return "org " + q(org) }, `SELECT 1 FROM orgs WHERE id = $1`, org)
	if err != nil {
		return err
	}
	if !ok {
		return notFound(op, "org "+q(org))
	}
	return nil
}

func (t *txn) requireNamespace(ctx context.Context, op, org, ns string) error {
	detail := func() string { return fmt.Sprintf("namespace %q in org %q", ns, org) }
	ok, err := t.existsStrings(ctx, op, detail, namespaceExistsSQL, org, ns)
	if err != nil {
		return err
	}
	if !ok {
		return notFound(op, detail())
	}
	return nil
}

// requirePrincipal checks that a principal id is well-formed and exists in
// the org: a member user, a team, an agent or a service.
func (t *txn) requirePrincipal(ctx context.Context, op, org, p string) error {
	kind, name, ok := splitPrincipal(p)
	if !ok {
		return invalid(op, "principal %q is not user:<id>, team:<slug>, agent:<name> or service:<name>", p)
	}
	var sql string
	switch kind {
	case authz.KindUser:
		sql = memberExistsSQL
	case authz.KindTeam:
		sql = `SELECT 1 FROM teams WHERE org = $1 AND slug = $2`
	case authz.KindAgent:
		sql = `SELECT 1 FROM agents WHERE org = $1 AND name = $2`
	default:
		sql = `SELECT 1 FROM services WHERE org = $1 AND name = $2`
	}
	detail := func() string { return fmt.Sprintf("principal %q in org %q", p, org) }
	found, err := t.existsStrings(ctx, op, detail, sql, org, name)
	if err != nil {
		return err
	}
	if !found {
		return notFound(op, detail())
	}
	return nil
}

// removePrincipalRefs deletes every binding naming p and p's team
// memberships in org, recording binding.delete and team.put entries.
func (t *txn) removePrincipalRefs(ctx context.Context, op, org, p string) error {
	bs, err := all(ctx, t.reader, op, "bindings of "+q(p), scanBinding,
		`SELECT `+bindingCols+` FROM bindings WHERE org = $1 AND principal = $2 ORDER BY id`, org, p)
	if err != nil {
		return err
	}
	teams, err := all(ctx, t.reader, op, "teams of "+q(p), scanString,
		`SELECT team FROM team_members WHERE org = $1 AND principal = $2 ORDER BY team`, org, p)
	if err != nil {
		return err
	}
	if len(bs) > 0 {
		if _, err := t.exec(ctx, op, "delete bindings of "+q(p), `DELETE FROM bindings WHERE org = $1 AND principal = $2`, org, p); err != nil {
			return err
		}
		for _, b := range bs {
			if err := t.record(ctx, op, store.KindBindingDelete, org, b.ID, b); err != nil {
				return err
			}
		}
	}
	if len(teams) > 0 {
		if _, err := t.exec(ctx, op, "delete team memberships of "+q(p), `DELETE FROM team_members WHERE org = $1 AND principal = $2`, org, p); err != nil {
			return err
		}
		for _, slug := range teams {
			if err := t.recordTeam(ctx, op, org, slug); err != nil {
				return err
			}
		}
	}
	return nil
}

// recordTeam records team.put with the team's current members.
func (t *txn) recordTeam(ctx context.Context, op, org, slug string) error {
	team, err := t.GetTeam(ctx, org, slug)
	if err != nil {
		return t.fail(ctx, op, "re-read team "+q(slug), err)
	}
	return t.record(ctx, op, store.KindTeamPut, org, team.PrincipalID(), team)
}
