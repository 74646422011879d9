package sqlcore

import (
	"context"
	"fmt"
	"slices"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// --- teams

// checkTeamMember validates a principal that is to join a team.
func (t *txn) checkTeamMember(ctx context.Context, op, org, p string) error {
	kind, _, ok := splitPrincipal(p)
	if !ok {
		return invalid(op, "principal %q is not user:<id>, agent:<name> or service:<name>", p)
	}
	if kind == authz.KindTeam {
		return invalid(op, "principal %q: teams cannot contain teams", p)
	}
	return t.requirePrincipal(ctx, op, org, p)
}

func (t *txn) CreateTeam(ctx context.Context, tm store.Team) (store.Team, error) {
	const op = "create team"
	if err := t.begin(op); err != nil {
		return store.Team{}, err
	}
	c := checks{op: op}
	c.org(tm.Org)
	c.need(validSlug(tm.Slug), "team slug %q is not a slug", tm.Slug)
	c.need(validText(tm.Name, 256), "team name is not printable text of at most 256 bytes")
	if c.err != nil {
		return store.Team{}, c.err
	}
	if err := t.requireOrg(ctx, op, tm.Org); err != nil {
		return store.Team{}, err
	}
	detail := fmt.Sprintf("team %q in org %q", tm.Slug, tm.Org)
	if ok, err := t.exists(ctx, op, detail, `SELECT 1 FROM teams WHERE org = $1 AND slug = $2`, tm.Org, tm.Slug); err != nil {
		return store.Team{}, err
	} else if ok {
		return store.Team{}, conflict(op, detail+" already exists")
	}
	members := slices.Clone(tm.Members)
	slices.Sort(members)
	members = slices.Compact(members)
	for _, p := range members {
		if err := t.checkTeamMember(ctx, op, tm.Org, p); err != nil {
			return store.Team{}, err
		}
	}
	if _, err := t.exec(ctx, op, detail, `INSERT INTO teams (`+teamCols+`) VALUES ($1, $2, $3, $4)`,
		tm.Org, tm.Slug, tm.Name, t.s.b.TimeArg(t.now)); err != nil {
		return store.Team{}, err
	}
	for _, p := range members {
		if _, err := t.exec(ctx, op, detail, `INSERT INTO team_members (org, team, principal, created_at) VALUES ($1, $2, $3, $4)`,
			tm.Org, tm.Slug, p, t.s.b.TimeArg(t.now)); err != nil {
			return store.Team{}, err
		}
	}
	if members == nil {
		members = []string{}
	}
	tm.Members, tm.CreatedAt = members, t.now
	return tm, t.record(ctx, op, store.KindTeamPut, tm.Org, tm.PrincipalID(), tm)
}

func (t *txn) UpdateTeam(ctx context.Context, tm store.Team) (store.Team, error) {
	const op = "update team"
	if err := t.begin(op); err != nil {
		return store.Team{}, err
	}
	if !validText(tm.Name, 256) {
		return store.Team{}, invalid(op, "team name is not printable text of at most 256 bytes")
	}
	cur, err := t.GetTeam(ctx, tm.Org, tm.Slug)
	if err != nil {
		return store.Team{}, err
	}
	cur.Name = tm.Name
	if _, err := t.exec(ctx, op, fmt.Sprintf("team %q in org %q", tm.Slug, tm.Org),
		`UPDATE teams SET name = $3 WHERE org = $1 AND slug = $2`, tm.Org, tm.Slug, tm.Name); err != nil {
		return store.Team{}, err
	}
	return cur, t.record(ctx, op, store.KindTeamPut, cur.Org, cur.PrincipalID(), cur)
}

func (t *txn) DeleteTeam(ctx context.Context, org, slug string) error {
	const op = "delete team"
	if err := t.begin(op); err != nil {
		return err
	}
	tm, err := t.GetTeam(ctx, org, slug)
	if err != nil {
		return err
	}
	if err := t.removePrincipalRefs(ctx, op, org, tm.PrincipalID()); err != nil {
		return err
	}
	if err := t.dropSponsor(ctx, op, org, tm.PrincipalID()); err != nil {
		return err
	}
	detail := fmt.Sprintf("team %q in org %q", slug, org)
	if _, err := t.exec(ctx, op, detail, `DELETE FROM team_members WHERE org = $1 AND team = $2`, org, slug); err != nil {
		return err
	}
	if _, err := t.exec(ctx, op, detail, `DELETE FROM teams WHERE org = $1 AND slug = $2`, org, slug); err != nil {
		return err
	}
	return t.record(ctx, op, store.KindTeamDelete, org, tm.PrincipalID(), tm)
}

func (t *txn) AddTeamMember(ctx context.Context, org, slug, p string) (store.Team, error) {
	const op = "add team member"
	if err := t.begin(op); err != nil {
		return store.Team{}, err
	}
	if _, err := t.GetTeam(ctx, org, slug); err != nil {
		return store.Team{}, err
	}
	if err := t.checkTeamMember(ctx, op, org, p); err != nil {
		return store.Team{}, err
	}
	detail := fmt.Sprintf("%q in team %q of org %q", p, slug, org)
	if ok, err := t.exists(ctx, op, detail, `SELECT 1 FROM team_members WHERE org = $1 AND team = $2 AND principal = $3`, org, slug, p); err != nil {
		return store.Team{}, err
	} else if ok {
		return store.Team{}, conflict(op, detail+" already exists")
	}
	if _, err := t.exec(ctx, op, detail, `INSERT INTO team_members (org, team, principal, created_at) VALUES ($1, $2, $3, $4)`,
		org, slug, p, t.s.b.TimeArg(t.now)); err != nil {
		return store.Team{}, err
	}
	if err := t.recordTeam(ctx, op, org, slug); err != nil {
		return store.Team{}, err
	}
	return t.GetTeam(ctx, org, slug)
}

func (t *txn) RemoveTeamMember(ctx context.Context, org, slug, p string) (store.Team, error) {
	const op = "remove team member"
	if err := t.begin(op); err != nil {
		return store.Team{}, err
	}
	if _, err := t.GetTeam(ctx, org, slug); err != nil {
		return store.Team{}, err
	}
	detail := fmt.Sprintf("%q in team %q of org %q", p, slug, org)
	if ok, err := t.exists(ctx, op, detail, `SELECT 1 FROM team_members WHERE org = $1 AND team = $2 AND principal = $3`, org, slug, p); err != nil {
		return store.Team{}, err
	} else if !ok {
		return store.Team{}, notFound(op, detail)
	}
	if _, err := t.exec(ctx, op, detail, `DELETE FROM team_members WHERE org = $1 AND team = $2 AND principal = $3`, org, slug, p); err != nil {
		return store.Team{}, err
	}
	if err := t.recordTeam(ctx, op, org, slug); err != nil {
		return store.Team{}, err
	}
	return t.GetTeam(ctx, org, slug)
}
