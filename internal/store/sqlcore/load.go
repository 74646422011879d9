package sqlcore

import (
	"context"
	"errors"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// LoadOrg implements store.Store: one read transaction, one streaming query
// per table, no per-row queries.
func (s *Store) LoadOrg(ctx context.Context, org string) (*store.OrgSnapshot, error) {
	const op = "load org"
	detail := "org " + q(org)
	if unstorable([]any{org}) {
		return nil, notFound(op, detail)
	}
	c, err := s.b.BeginRead(ctx)
	if err != nil {
		return nil, s.dbErr(ctx, op, detail, err)
	}
	defer func() { _ = c.Rollback(context.WithoutCancel(ctx)) }()
	return s.loadOrg(ctx, c, org)
}

// LoadOrg implements store.CatchUpReader: the org as the transaction sees
// it, over its own connection. Under the write lock nothing else commits,
// so that is the base revision plus the transaction's own writes.
func (t *txn) LoadOrg(ctx context.Context, org string) (*store.OrgSnapshot, error) {
	if t.done {
		return nil, errFinished
	}
	if unstorable([]any{org}) {
		return nil, notFound("load org", "org "+q(org))
	}
	return t.s.loadOrg(ctx, txQuerier{t}, org)
}

// loadOrg reads the snapshot through c, which sees one consistent state.
func (s *Store) loadOrg(ctx context.Context, c Querier, org string) (*store.OrgSnapshot, error) {
	const op = "load org"
	detail := "org " + q(org)
	r := reader{q: c, s: s}
	var err error

	snap := &store.OrgSnapshot{}
	var rev int64
	if err := queryRow(ctx, c, `SELECT revision FROM store_revision WHERE id = 1`, nil, &rev); err != nil {
		return nil, s.dbErr(ctx, op, "read revision", err)
	}
	snap.Revision = uint64(rev)
	if snap.Org, err = r.GetOrg(ctx, org); err != nil {
		return nil, err
	}
	if snap.Policy, err = r.GetPolicy(ctx, org); err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	if snap.Namespaces, err = all(ctx, r, op, detail, scanString,
		`SELECT name FROM namespaces WHERE org = $1 ORDER BY name`, org); err != nil {
		return nil, err
	}

	members, err := all(ctx, r, op, detail, scanMember, `SELECT `+memberCols+` FROM members WHERE org = $1 ORDER BY user_id`, org)
	if err != nil {
		return nil, err
	}
	agents, err := all(ctx, r, op, detail, scanAgent, `SELECT `+agentCols+` FROM agents WHERE org = $1 ORDER BY name`, org)
	if err != nil {
		return nil, err
	}
	services, err := all(ctx, r, op, detail, scanService, `SELECT `+serviceCols+` FROM services WHERE org = $1 ORDER BY name`, org)
	if err != nil {
		return nil, err
	}
	snap.Principals = make([]authz.Principal, 0, len(members)+len(agents)+len(services))
	for _, m := range members {
		snap.Principals = append(snap.Principals, m.Principal())
	}
	for _, a := range agents {
		snap.Principals = append(snap.Principals, a.Principal())
	}
	for _, sv := range services {
		snap.Principals = append(snap.Principals, sv.Principal())
	}

	teams, err := all(ctx, r, op, detail, scanString, `SELECT slug FROM teams WHERE org = $1 ORDER BY slug`, org)
	if err != nil {
		return nil, err
	}
	type pair struct{ team, principal string }
	tms, err := all(ctx, r, op, detail, func(rows Rows) (p pair, err error) {
		err = rows.Scan(&p.team, &p.principal)
		return p, err
	}, `SELECT team, principal FROM team_members WHERE org = $1 ORDER BY team, principal`, org)
	if err != nil {
		return nil, err
	}
	snap.Teams = make([]authz.Team, len(teams))
	j := 0
	for i, slug := range teams {
		snap.Teams[i] = authz.Team{Slug: slug, Members: []string{}}
		for ; j < len(tms) && tms[j].team == slug; j++ {
			snap.Teams[i].Members = append(snap.Teams[i].Members, tms[j].principal)
		}
	}

	if snap.Bindings, err = loadBindings(ctx, r, org); err != nil {
		return nil, err
	}

	if snap.Resources, err = all(ctx, r, op, detail, func(rows Rows) (x authz.Resource, err error) {
		var labels, attrs []byte
		if err = rows.Scan(&x.Namespace, &x.Type, &x.ID, &labels, &attrs); err != nil {
			return x, err
		}
		if x.Labels, err = decodeObject[string](labels); err != nil {
			return x, err
		}
		x.Attributes, err = decodeObject[any](attrs)
		return x, err
	}, `SELECT namespace, type, id, labels, attributes FROM resources WHERE org = $1 ORDER BY namespace, type, id`, org); err != nil {
		return nil, err
	}
	return snap, nil
}

// loadBindings streams an org's bindings into a slice sized by a count
// taken in the same snapshot, scanning into reused variables so that the
// only per-row allocations are the strings themselves.
func loadBindings(ctx context.Context, r reader, org string) ([]authz.Binding, error) {
	const op = "load org"
	detail := "bindings of org " + q(org)
	var n int64
	if err := queryRow(ctx, r.q, `SELECT COUNT(*) FROM bindings WHERE org = $1`, []any{org}, &n); err != nil {
		return nil, r.s.dbErr(ctx, op, detail, err)
	}
	out := make([]authz.Binding, 0, n)
	rows, err := r.q.Query(ctx, `SELECT id, principal, role, actions, scope_namespace, scope_type, scope_id, condition_name, expires_at
		FROM bindings WHERE org = $1 ORDER BY id`, org)
	if err != nil {
		return nil, r.s.dbErr(ctx, op, detail, err)
	}
	defer rows.Close()
	var (
		b       authz.Binding
		actions []byte
	)
	dest := []any{&b.ID, &b.Principal, &b.Role, &actions, &b.Scope.Namespace, &b.Scope.Type, &b.Scope.ID, &b.Condition, scanTime(&b.ExpiresAt)}
	for rows.Next() {
		actions = nil
		if err := rows.Scan(dest...); err != nil {
			return nil, r.s.dbErr(ctx, op, detail, err)
		}
		x := b
		x.Actions = nil
		if actions != nil {
			if x.Actions, err = decodeStrings(actions); err != nil {
				return nil, r.s.dbErr(ctx, op, detail, err)
			}
		}
		out = append(out, x)
	}
	if err := rows.Err(); err != nil {
		return nil, r.s.dbErr(ctx, op, detail, err)
	}
	return out, nil
}
