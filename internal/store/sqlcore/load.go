package sqlcore

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"time"

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

// StreamOrg implements store.Store: LoadOrg's reads, in its read
// transaction, handed over row by row.
func (s *Store) StreamOrg(ctx context.Context, org string) iter.Seq2[store.OrgRow, error] {
	return func(yield func(store.OrgRow, error) bool) {
		const op = "load org"
		detail := "org " + q(org)
		if unstorable([]any{org}) {
			yield(store.OrgRow{}, notFound(op, detail))
			return
		}
		c, err := s.b.BeginRead(ctx)
		if err != nil {
			yield(store.OrgRow{}, s.dbErr(ctx, op, detail, err))
			return
		}
		defer func() { _ = c.Rollback(context.WithoutCancel(ctx)) }()
		done := false
		err = s.streamOrg(ctx, c, org, func(r store.OrgRow) bool {
			if !yield(r, nil) {
				done = true
			}
			return !done
		})
		if err != nil && !done {
			yield(store.OrgRow{}, err)
		}
	}
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

// loadOrg reads the snapshot through c, which sees one consistent state,
// into slices sized by the header's counts.
func (s *Store) loadOrg(ctx context.Context, c Querier, org string) (*store.OrgSnapshot, error) {
	snap := &store.OrgSnapshot{}
	err := s.streamOrg(ctx, c, org, func(r store.OrgRow) bool {
		switch {
		case r.Header != nil:
			h := r.Header
			snap.Revision, snap.Org, snap.Policy, snap.Namespaces = h.Revision, h.Org, h.Policy, h.Namespaces
			snap.Principals = make([]authz.Principal, 0, h.Principals)
			snap.Teams = make([]authz.Team, 0, h.Teams)
			snap.Bindings = make([]authz.Binding, 0, h.Bindings)
			snap.Resources = make([]authz.Resource, 0, h.Resources)
		case r.Principal != nil:
			snap.Principals = append(snap.Principals, *r.Principal)
		case r.Team != nil:
			snap.Teams = append(snap.Teams, *r.Team)
		case r.Binding != nil:
			snap.Bindings = append(snap.Bindings, *r.Binding)
		case r.Resource != nil:
			snap.Resources = append(snap.Resources, *r.Resource)
		}
		return true
	})
	if err != nil {
		return nil, err
	}
	return snap, nil
}

// errStopped ends streamOrg's reads when yield returns false.
var errStopped = errors.New("stopped")

// streamOrg reads the org through c, which sees one consistent state, and
// hands each row to yield (store.Store.StreamOrg's order and contract).
// It returns nil when yield returns false.
func (s *Store) streamOrg(ctx context.Context, c Querier, org string, yield func(store.OrgRow) bool) error {
	err := s.streamOrgRows(ctx, c, org, yield)
	if errors.Is(err, errStopped) {
		return nil
	}
	return err
}

func (s *Store) streamOrgRows(ctx context.Context, c Querier, org string, yield func(store.OrgRow) bool) error {
	const op = "load org"
	detail := "org " + q(org)
	r := reader{q: c, s: s}
	var err error

	h := &store.OrgHeader{}
	var rev int64
	if err := queryRow(ctx, c, `SELECT revision FROM store_revision WHERE id = 1`, nil, &rev); err != nil {
		return s.dbErr(ctx, op, "read revision", err)
	}
	h.Revision = uint64(rev)
	if h.Org, err = r.GetOrg(ctx, org); err != nil {
		return err
	}
	if h.Policy, err = r.GetPolicy(ctx, org); err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if h.Namespaces, err = all(ctx, r, op, detail, scanString,
		`SELECT name FROM namespaces WHERE org = $1 ORDER BY name`, org); err != nil {
		return err
	}
	// The counts, in the same transaction as the rows: they are exact.
	var members, agents, services, teamCount, bindings, resources int64
	if err := queryRow(ctx, c, `SELECT
		(SELECT COUNT(*) FROM members WHERE org = $1), (SELECT COUNT(*) FROM agents WHERE org = $1),
		(SELECT COUNT(*) FROM services WHERE org = $1), (SELECT COUNT(*) FROM teams WHERE org = $1),
		(SELECT COUNT(*) FROM bindings WHERE org = $1), (SELECT COUNT(*) FROM resources WHERE org = $1)`,
		[]any{org}, &members, &agents, &services, &teamCount, &bindings, &resources); err != nil {
		return s.dbErr(ctx, op, "count rows of "+detail, err)
	}
	h.Principals = int(members + agents + services)
	h.Teams, h.Bindings, h.Resources = int(teamCount), int(bindings), int(resources)
	if !yield(store.OrgRow{Header: h}) {
		return errStopped
	}

	var p authz.Principal
	if err := each(ctx, r, op, detail, scanMember, func(m store.Member) bool {
		p = m.Principal()
		return yield(store.OrgRow{Principal: &p})
	}, `SELECT `+memberCols+` FROM members WHERE org = $1 ORDER BY user_id`, org); err != nil {
		return err
	}
	if err := each(ctx, r, op, detail, scanAgent, func(a store.Agent) bool {
		p = a.Principal()
		return yield(store.OrgRow{Principal: &p})
	}, `SELECT `+agentCols+` FROM agents WHERE org = $1 ORDER BY name`, org); err != nil {
		return err
	}
	if err := each(ctx, r, op, detail, scanService, func(sv store.Service) bool {
		p = sv.Principal()
		return yield(store.OrgRow{Principal: &p})
	}, `SELECT `+serviceCols+` FROM services WHERE org = $1 ORDER BY name`, org); err != nil {
		return err
	}

	// Teams are few: read them with their members, then hand them over.
	teams, err := all(ctx, r, op, detail, scanString, `SELECT slug FROM teams WHERE org = $1 ORDER BY slug`, org)
	if err != nil {
		return err
	}
	type pair struct{ team, principal string }
	tms, err := all(ctx, r, op, detail, func(rows Rows) (p pair, err error) {
		err = rows.Scan(&p.team, &p.principal)
		return p, err
	}, `SELECT team, principal FROM team_members WHERE org = $1 ORDER BY team, principal`, org)
	if err != nil {
		return err
	}
	j := 0
	for _, slug := range teams {
		t := authz.Team{Slug: slug, Members: []string{}}
		for ; j < len(tms) && tms[j].team == slug; j++ {
			t.Members = append(t.Members, tms[j].principal)
		}
		if !yield(store.OrgRow{Team: &t}) {
			return errStopped
		}
	}

	if err := streamBindings(ctx, r, org, func(b *authz.Binding) bool { return yield(store.OrgRow{Binding: b}) }); err != nil {
		return err
	}

	var x authz.Resource
	return each(ctx, r, op, detail, func(rows Rows) (x authz.Resource, err error) {
		var labels, attrs []byte
		if err = rows.Scan(&x.Namespace, &x.Type, &x.ID, &labels, &attrs); err != nil {
			return x, err
		}
		if x.Labels, err = decodeObject[string](labels); err != nil {
			return x, err
		}
		x.Attributes, err = decodeObject[any](attrs)
		return x, err
	}, func(v authz.Resource) bool {
		x = v
		return yield(store.OrgRow{Resource: &x})
	}, `SELECT namespace, type, id, labels, attributes FROM resources WHERE org = $1 ORDER BY namespace, type, id`, org)
}

// each runs a query and hands each scanned row to yield; errStopped when
// yield returns false.
func each[T any](ctx context.Context, r reader, op, detail string, scan func(Rows) (T, error), yield func(T) bool, sql string, args ...any) error {
	rows, err := r.q.Query(ctx, sql, args...)
	if err != nil {
		return r.s.dbErr(ctx, op, detail, err)
	}
	defer rows.Close()
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return r.s.dbErr(ctx, op, detail, err)
		}
		if !yield(v) {
			return errStopped
		}
	}
	if err := rows.Err(); err != nil {
		return r.s.dbErr(ctx, op, detail, err)
	}
	return nil
}

// streamBindings reads an org's bindings and hands each to yield (valid
// until it returns); errStopped when yield returns false.
//
// Most bindings are a role at org or namespace scope, without actions,
// resource scope, condition or expiry; and the driver's cost is per
// column of each row (SQLite: a mutex and a copy each). So the columns
// that are usually empty are read first, for the bindings where one is
// not ("rare", kept in memory), and the stream reads four columns a row,
// merging the rare ones in by id. Both queries run in the caller's one
// read transaction, in the same ORDER BY id, so the rare rows are a
// subsequence of the stream: a rare row left over at the end (impossible
// unless the two disagree) is an error, never a binding read without its
// actions, scope, condition or expiry.
func streamBindings(ctx context.Context, r reader, org string, yield func(*authz.Binding) bool) error {
	const op = "load org"
	detail := "bindings of org " + q(org)
	type rareRow struct {
		id, typ, rid, cond string
		actions            []string
		expires            time.Time
	}
	rare, err := all(ctx, r, op, detail, func(rows Rows) (x rareRow, err error) {
		var actions []byte
		if err = rows.Scan(&x.id, &actions, &x.typ, &x.rid, &x.cond, scanTime(&x.expires)); err != nil {
			return x, err
		}
		if actions != nil {
			x.actions, err = decodeStrings(actions)
		}
		return x, err
	}, `SELECT id, actions, scope_type, scope_id, condition_name, expires_at FROM bindings
		WHERE org = $1 AND (actions IS NOT NULL OR scope_type <> '' OR scope_id <> '' OR condition_name <> '' OR expires_at IS NOT NULL)
		ORDER BY id`, org)
	if err != nil {
		return err
	}
	rows, err := r.q.Query(ctx, `SELECT id, principal, role, scope_namespace FROM bindings WHERE org = $1 ORDER BY id`, org)
	if err != nil {
		return r.s.dbErr(ctx, op, detail, err)
	}
	defer rows.Close()
	var b, x authz.Binding
	dest := []any{&b.ID, &b.Principal, &b.Role, &b.Scope.Namespace}
	j := 0
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return r.s.dbErr(ctx, op, detail, err)
		}
		x = b
		if j < len(rare) && rare[j].id == b.ID {
			rr := &rare[j]
			x.Actions, x.Scope.Type, x.Scope.ID, x.Condition, x.ExpiresAt = rr.actions, rr.typ, rr.rid, rr.cond, rr.expires
			j++
		}
		if !yield(&x) {
			return errStopped
		}
	}
	if err := rows.Err(); err != nil {
		return r.s.dbErr(ctx, op, detail, err)
	}
	if j != len(rare) {
		return r.s.dbErr(ctx, op, detail, fmt.Errorf("%d bindings' actions, scopes, conditions or expiries were not matched to a binding in id order", len(rare)-j))
	}
	return nil
}
