package sqlcore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// reader implements store.Reader over a Querier: the backend's pool for
// Store, the open transaction for txn.
type reader struct {
	q Querier
	s *Store
}

// Column lists, in the order the scan functions read them.
const (
	orgCols       = `id, name, template, created_at, inactive_after, attest_every, approval_pending_ttl, approval_use_window`
	namespaceCols = `org, name, created_at`
	userCols      = `id, email, display_name, created_at`
	memberCols    = `org, user_id, attributes, created_at`
	agentCols     = `org, name, role, sponsor, expires_at, attributes, created_at, sponsors, suspended, attested_at, last_used_at`
	serviceCols   = `org, name, attributes, created_at, suspended, sponsors, require_sponsor, lifecycle, attested_at, last_used_at`
	teamCols      = `org, slug, name, created_at`
	bindingCols   = `org, id, principal, role, actions, scope_namespace, scope_type, scope_id, condition_name, created_by, created_at, expires_at`
	resourceCols  = `org, namespace, type, id, labels, attributes, version, updated_by, created_at, updated_at`
	versionCols   = `org, namespace, type, id, version, spec, labels, attributes, author, created_at`
	policyCols    = `org, version, body, author, created_at`
	// versionMetaCols reads a version without its spec.
	versionMetaCols = `org, namespace, type, id, version, NULL, labels, attributes, author, created_at`
)

func scanOrg(r Rows) (o store.Org, err error) {
	var inactive, attest, pending, window int64
	err = r.Scan(&o.ID, &o.Name, &o.Template, scanTime(&o.CreatedAt), &inactive, &attest, &pending, &window)
	o.Lifecycle = authz.LifecycleSettings{InactiveAfter: time.Duration(inactive) * time.Second, AttestEvery: time.Duration(attest) * time.Second}
	o.Approvals = store.ApprovalSettings{PendingTTL: time.Duration(pending) * time.Second, UseWindow: time.Duration(window) * time.Second}
	return o, err
}

func scanNamespace(r Rows) (n store.Namespace, err error) {
	err = r.Scan(&n.Org, &n.Name, scanTime(&n.CreatedAt))
	return n, err
}

func scanUser(r Rows) (u store.User, err error) {
	err = r.Scan(&u.ID, &u.Email, &u.DisplayName, scanTime(&u.CreatedAt))
	return u, err
}

func scanMember(r Rows) (m store.Member, err error) {
	var attrs []byte
	if err = r.Scan(&m.Org, &m.UserID, &attrs, scanTime(&m.CreatedAt)); err != nil {
		return m, err
	}
	m.Attributes, err = decodeObject[any](attrs)
	return m, err
}

func scanAgent(r Rows) (a store.Agent, err error) {
	var attrs []byte
	var sponsors []byte
	var suspended int64
	if err = r.Scan(&a.Org, &a.Name, &a.Role, &a.Sponsor, scanTime(&a.ExpiresAt), &attrs, scanTime(&a.CreatedAt),
		&sponsors, &suspended, scanTime(&a.AttestedAt), scanTime(&a.LastUsedAt)); err != nil {
		return a, err
	}
	a.Suspended = suspended != 0
	if a.Sponsors, err = decodeStrings(sponsors); err != nil {
		return a, err
	}
	a.Attributes, err = decodeObject[any](attrs)
	return a, err
}

func scanService(r Rows) (s store.Service, err error) {
	var attrs []byte
	var sponsors []byte
	var suspended, require, life int64
	if err = r.Scan(&s.Org, &s.Name, &attrs, scanTime(&s.CreatedAt), &suspended, &sponsors, &require, &life,
		scanTime(&s.AttestedAt), scanTime(&s.LastUsedAt)); err != nil {
		return s, err
	}
	s.Suspended, s.RequireSponsor, s.Lifecycle = suspended != 0, require != 0, life != 0
	if s.Sponsors, err = decodeStrings(sponsors); err != nil {
		return s, err
	}
	s.Attributes, err = decodeObject[any](attrs)
	return s, err
}

func scanTeam(r Rows) (t store.Team, err error) {
	err = r.Scan(&t.Org, &t.Slug, &t.Name, scanTime(&t.CreatedAt))
	return t, err
}

func scanBinding(r Rows) (b store.Binding, err error) {
	var actions []byte
	if err = r.Scan(&b.Org, &b.ID, &b.Principal, &b.Role, &actions, &b.Scope.Namespace, &b.Scope.Type, &b.Scope.ID,
		&b.Condition, &b.CreatedBy, scanTime(&b.CreatedAt), scanTime(&b.ExpiresAt)); err != nil {
		return b, err
	}
	b.Actions, err = decodeStrings(actions)
	return b, err
}

func scanResource(r Rows, withSpec bool) (x store.Resource, err error) {
	var labels, attrs, spec []byte
	var version int64
	dest := []any{&x.Org, &x.Namespace, &x.Type, &x.ID, &labels, &attrs, &version, &x.UpdatedBy,
		scanTime(&x.CreatedAt), scanTime(&x.UpdatedAt)}
	if withSpec {
		dest = append(dest, &spec)
	}
	if err = r.Scan(dest...); err != nil {
		return x, err
	}
	x.Version, x.Spec = uint64(version), rawJSON(spec)
	if x.Labels, err = decodeObject[string](labels); err != nil {
		return x, err
	}
	x.Attributes, err = decodeObject[any](attrs)
	return x, err
}

func scanVersion(r Rows) (v store.ResourceVersion, err error) {
	var labels, attrs, spec []byte
	var version int64
	if err = r.Scan(&v.Org, &v.Ref.Namespace, &v.Ref.Type, &v.Ref.ID, &version, &spec, &labels, &attrs, &v.Author,
		scanTime(&v.CreatedAt)); err != nil {
		return v, err
	}
	v.Version, v.Spec = uint64(version), rawJSON(spec)
	if v.Labels, err = decodeObject[string](labels); err != nil {
		return v, err
	}
	v.Attributes, err = decodeObject[any](attrs)
	return v, err
}

func scanPolicy(r Rows) (p store.Policy, err error) {
	var version int64
	err = r.Scan(&p.Org, &version, &p.Text, &p.Author, scanTime(&p.CreatedAt))
	p.Version = uint64(version)
	return p, err
}

func scanString(r Rows) (s string, err error) {
	err = r.Scan(&s)
	return s, err
}

// get runs a single-row query; ErrNotFound (with detail) if there is none.
func get[T any](ctx context.Context, r reader, op, detail string, scan func(Rows) (T, error), sql string, args ...any) (T, error) {
	var zero T
	if unstorable(args) {
		return zero, store.Errorf(store.ErrNotFound, op, detail, nil)
	}
	rows, err := r.q.Query(ctx, sql, args...)
	if err != nil {
		return zero, r.s.dbErr(ctx, op, detail, err)
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return zero, r.s.dbErr(ctx, op, detail, err)
		}
		return zero, store.Errorf(store.ErrNotFound, op, detail, nil)
	}
	v, err := scan(rows)
	if err != nil {
		return zero, r.s.dbErr(ctx, op, detail, err)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return zero, r.s.dbErr(ctx, op, detail, err)
	}
	return v, nil
}

// all runs a query and scans every row.
func all[T any](ctx context.Context, r reader, op, detail string, scan func(Rows) (T, error), sql string, args ...any) ([]T, error) {
	if unstorable(args) {
		return nil, nil
	}
	rows, err := r.q.Query(ctx, sql, args...)
	if err != nil {
		return nil, r.s.dbErr(ctx, op, detail, err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, r.s.dbErr(ctx, op, detail, err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, r.s.dbErr(ctx, op, detail, err)
	}
	return out, nil
}

// exists reports whether a query returns a row.
func (r reader) exists(ctx context.Context, op, detail, sql string, args ...any) (bool, error) {
	if unstorable(args) {
		return false, nil
	}
	var one int64
	err := queryRow(ctx, r.q, sql, args, &one)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, errNoRows):
		return false, nil
	default:
		return false, r.s.dbErr(ctx, op, detail, err)
	}
}

// listSpec describes a keyset-paginated list.
type listSpec[T any] struct {
	op, list, scope string
	sql             string // SELECT ... FROM ... WHERE ...; no ORDER BY, no LIMIT
	args            []any
	keyCols         []string
	desc            bool // newest first (integer keys)
	intKeys         bool // key columns are integers
	keys            func(T) []string
	scan            func(Rows) (T, error)
}

func list[T any](ctx context.Context, r reader, ls listSpec[T], p store.Page) ([]T, string, error) {
	size, after, err := pageArgs(ls.op, ls.list, ls.scope, p, len(ls.keyCols))
	if err != nil {
		return nil, "", err
	}
	var b strings.Builder
	b.WriteString(ls.sql)
	args := append([]any(nil), ls.args...)
	if after != nil {
		ph := make([]string, len(after))
		for i, k := range after {
			var v any = k
			if ls.intKeys {
				n, err := strconv.ParseInt(k, 10, 64)
				if err != nil || n < 0 {
					return nil, "", invalid(ls.op, "cursor is malformed")
				}
				v = n
			}
			args = append(args, v)
			ph[i] = "$" + strconv.Itoa(len(args))
		}
		cmp := " > "
		if ls.desc {
			cmp = " < "
		}
		b.WriteString(" AND (" + strings.Join(ls.keyCols, ", ") + ")" + cmp + "(" + strings.Join(ph, ", ") + ")")
	}
	b.WriteString(" ORDER BY ")
	for i, c := range ls.keyCols {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(c)
		if ls.desc {
			b.WriteString(" DESC")
		}
	}
	args = append(args, size+1)
	b.WriteString(" LIMIT $" + strconv.Itoa(len(args)))
	out, err := all(ctx, r, ls.op, "", ls.scan, b.String(), args...)
	if err != nil {
		return nil, "", err
	}
	if len(out) <= size {
		return out, "", nil
	}
	out = out[:size]
	return out, encodeCursor(ls.list, ls.scope, ls.keys(out[size-1])), nil
}

func u64s(v uint64) string { return strconv.FormatUint(v, 10) }

func q(s string) string { return strconv.Quote(s) }

// --- orgs

func (r reader) GetOrg(ctx context.Context, id string) (store.Org, error) {
	return get(ctx, r, "get org", "org "+q(id), scanOrg, `SELECT `+orgCols+` FROM orgs WHERE id = $1`, id)
}

func (r reader) ListOrgs(ctx context.Context, p store.Page) ([]store.Org, string, error) {
	return list(ctx, r, listSpec[store.Org]{
		op: "list orgs", list: "orgs",
		sql: `SELECT ` + orgCols + ` FROM orgs WHERE 1 = 1`, keyCols: []string{"id"},
		keys: func(o store.Org) []string { return []string{o.ID} }, scan: scanOrg,
	}, p)
}

// --- namespaces

func (r reader) GetNamespace(ctx context.Context, org, name string) (store.Namespace, error) {
	return get(ctx, r, "get namespace", fmt.Sprintf("namespace %q in org %q", name, org), scanNamespace,
		`SELECT `+namespaceCols+` FROM namespaces WHERE org = $1 AND name = $2`, org, name)
}

func (r reader) ListNamespaces(ctx context.Context, org string, p store.Page) ([]store.Namespace, string, error) {
	return list(ctx, r, listSpec[store.Namespace]{
		op: "list namespaces", list: "namespaces", scope: org,
		sql: `SELECT ` + namespaceCols + ` FROM namespaces WHERE org = $1`, args: []any{org}, keyCols: []string{"name"},
		keys: func(n store.Namespace) []string { return []string{n.Name} }, scan: scanNamespace,
	}, p)
}

// --- users

func (r reader) GetUser(ctx context.Context, id string) (store.User, error) {
	return get(ctx, r, "get user", "user "+q(id), scanUser, `SELECT `+userCols+` FROM users WHERE id = $1`, id)
}

func (r reader) GetUserByEmail(ctx context.Context, email string) (store.User, error) {
	email = strings.ToLower(strings.TrimSpace(email))
	if email == "" {
		return store.User{}, store.Errorf(store.ErrNotFound, "get user by email", "empty email", nil)
	}
	return get(ctx, r, "get user by email", "email "+q(email), scanUser, `SELECT `+userCols+` FROM users WHERE email = $1 AND email <> ''`, email) // users_email: see emailTakenSQL
}

func (r reader) ListUsers(ctx context.Context, p store.Page) ([]store.User, string, error) {
	return list(ctx, r, listSpec[store.User]{
		op: "list users", list: "users",
		sql: `SELECT ` + userCols + ` FROM users WHERE 1 = 1`, keyCols: []string{"id"},
		keys: func(u store.User) []string { return []string{u.ID} }, scan: scanUser,
	}, p)
}

// --- members

func (r reader) GetMember(ctx context.Context, org, userID string) (store.Member, error) {
	return get(ctx, r, "get member", fmt.Sprintf("member %q of org %q", userID, org), scanMember,
		`SELECT `+memberCols+` FROM members WHERE org = $1 AND user_id = $2`, org, userID)
}

func (r reader) ListMembers(ctx context.Context, org string, p store.Page) ([]store.Member, string, error) {
	return list(ctx, r, listSpec[store.Member]{
		op: "list members", list: "members", scope: org,
		sql: `SELECT ` + memberCols + ` FROM members WHERE org = $1`, args: []any{org}, keyCols: []string{"user_id"},
		keys: func(m store.Member) []string { return []string{m.UserID} }, scan: scanMember,
	}, p)
}

func (r reader) ListMemberships(ctx context.Context, userID string, p store.Page) ([]store.Member, string, error) {
	return list(ctx, r, listSpec[store.Member]{
		op: "list memberships", list: "memberships", scope: userID,
		sql: `SELECT ` + memberCols + ` FROM members WHERE user_id = $1`, args: []any{userID}, keyCols: []string{"org"},
		keys: func(m store.Member) []string { return []string{m.Org} }, scan: scanMember,
	}, p)
}

// --- agents

func (r reader) GetAgent(ctx context.Context, org, name string) (store.Agent, error) {
	return get(ctx, r, "get agent", fmt.Sprintf("agent %q in org %q", name, org), scanAgent,
		`SELECT `+agentCols+` FROM agents WHERE org = $1 AND name = $2`, org, name)
}

func (r reader) ListAgents(ctx context.Context, org string, p store.Page) ([]store.Agent, string, error) {
	return list(ctx, r, listSpec[store.Agent]{
		op: "list agents", list: "agents", scope: org,
		sql: `SELECT ` + agentCols + ` FROM agents WHERE org = $1`, args: []any{org}, keyCols: []string{"name"},
		keys: func(a store.Agent) []string { return []string{a.Name} }, scan: scanAgent,
	}, p)
}

// sponsorPattern is the LIKE pattern that finds sponsor in a JSON array
// of sponsors (a superset: callers keep the rows whose decoded list holds
// it).
func sponsorPattern(sponsor string) string {
	return `%"` + strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(sponsor) + `"%`
}

func (r reader) ListAgentsSponsoredBy(ctx context.Context, org, sponsor string) ([]store.Agent, error) {
	const op = "list agents sponsored by"
	as, err := all(ctx, r, op, "agents sponsored by "+q(sponsor), scanAgent,
		`SELECT `+agentCols+` FROM agents WHERE org = $1 AND sponsors LIKE $2 ESCAPE '\' ORDER BY name`, org, sponsorPattern(sponsor))
	return slices.DeleteFunc(as, func(a store.Agent) bool { return !slices.Contains(a.Sponsors, sponsor) }), err
}

// --- services

func (r reader) GetService(ctx context.Context, org, name string) (store.Service, error) {
	return get(ctx, r, "get service", fmt.Sprintf("service %q in org %q", name, org), scanService,
		`SELECT `+serviceCols+` FROM services WHERE org = $1 AND name = $2`, org, name)
}

func (r reader) ListServices(ctx context.Context, org string, p store.Page) ([]store.Service, string, error) {
	return list(ctx, r, listSpec[store.Service]{
		op: "list services", list: "services", scope: org,
		sql: `SELECT ` + serviceCols + ` FROM services WHERE org = $1`, args: []any{org}, keyCols: []string{"name"},
		keys: func(s store.Service) []string { return []string{s.Name} }, scan: scanService,
	}, p)
}

func (r reader) ListServicesSponsoredBy(ctx context.Context, org, sponsor string) ([]store.Service, error) {
	const op = "list services sponsored by"
	svcs, err := all(ctx, r, op, "services sponsored by "+q(sponsor), scanService,
		`SELECT `+serviceCols+` FROM services WHERE org = $1 AND sponsors LIKE $2 ESCAPE '\' ORDER BY name`, org, sponsorPattern(sponsor))
	return slices.DeleteFunc(svcs, func(sv store.Service) bool { return !slices.Contains(sv.Sponsors, sponsor) }), err
}

// --- teams

func (r reader) GetTeam(ctx context.Context, org, slug string) (store.Team, error) {
	const op = "get team"
	detail := fmt.Sprintf("team %q in org %q", slug, org)
	t, err := get(ctx, r, op, detail, scanTeam, `SELECT `+teamCols+` FROM teams WHERE org = $1 AND slug = $2`, org, slug)
	if err != nil {
		return t, err
	}
	t.Members, err = r.teamMembers(ctx, op, org, slug)
	return t, err
}

func (r reader) teamMembers(ctx context.Context, op, org, slug string) ([]string, error) {
	m, err := all(ctx, r, op, fmt.Sprintf("members of team %q in org %q", slug, org), scanString,
		`SELECT principal FROM team_members WHERE org = $1 AND team = $2 ORDER BY principal`, org, slug)
	if m == nil && err == nil {
		m = []string{}
	}
	return m, err
}

func (r reader) ListTeams(ctx context.Context, org string, p store.Page) ([]store.Team, string, error) {
	return list(ctx, r, listSpec[store.Team]{
		op: "list teams", list: "teams", scope: org,
		sql: `SELECT ` + teamCols + ` FROM teams WHERE org = $1`, args: []any{org}, keyCols: []string{"slug"},
		keys: func(t store.Team) []string { return []string{t.Slug} }, scan: scanTeam,
	}, p)
}

func (r reader) ListTeamsOf(ctx context.Context, org, principal string) ([]string, error) {
	return all(ctx, r, "list teams of", "teams of "+q(principal), scanString,
		`SELECT team FROM team_members WHERE org = $1 AND principal = $2 ORDER BY team`, org, principal)
}

func (r reader) ListTeamMembers(ctx context.Context, org, slug string, p store.Page) ([]string, string, error) {
	const op = "list team members"
	detail := fmt.Sprintf("team %q in org %q", slug, org)
	ok, err := r.exists(ctx, op, detail, `SELECT 1 FROM teams WHERE org = $1 AND slug = $2`, org, slug)
	if err != nil {
		return nil, "", err
	}
	if !ok {
		return nil, "", store.Errorf(store.ErrNotFound, op, detail, nil)
	}
	return list(ctx, r, listSpec[string]{
		op: op, list: "team_members", scope: org + "/" + slug,
		sql: `SELECT principal FROM team_members WHERE org = $1 AND team = $2`, args: []any{org, slug}, keyCols: []string{"principal"},
		keys: func(s string) []string { return []string{s} }, scan: scanString,
	}, p)
}

// --- bindings

func (r reader) GetBinding(ctx context.Context, org, id string) (store.Binding, error) {
	return get(ctx, r, "get binding", fmt.Sprintf("binding %q in org %q", id, org), scanBinding,
		`SELECT `+bindingCols+` FROM bindings WHERE org = $1 AND id = $2`, org, id)
}

func (r reader) ListBindings(ctx context.Context, org string, f store.BindingFilter, p store.Page) ([]store.Binding, string, error) {
	var b strings.Builder
	b.WriteString(`SELECT ` + bindingCols + ` FROM bindings WHERE org = $1`)
	args := []any{org}
	add := func(col, v string) {
		args = append(args, v)
		b.WriteString(" AND " + col + " = $" + strconv.Itoa(len(args)))
	}
	if f.Principal != "" {
		add("principal", f.Principal)
	}
	if f.Role != "" {
		add("role", f.Role)
	}
	if f.Namespace != "" {
		add("scope_namespace", f.Namespace)
	}
	if f.Scope == nil && f.OrgScopeOnly {
		f.Scope = &authz.Scope{}
	}
	if f.Scope != nil {
		add("scope_namespace", f.Scope.Namespace)
		add("scope_type", f.Scope.Type)
		add("scope_id", f.Scope.ID)
	}
	return list(ctx, r, listSpec[store.Binding]{
		op: "list bindings", list: "bindings", scope: org,
		sql: b.String(), args: args, keyCols: []string{"id"},
		keys: func(x store.Binding) []string { return []string{x.ID} }, scan: scanBinding,
	}, p)
}

// --- resources

func refDetail(org string, ref authz.ResourceRef) string {
	return fmt.Sprintf("resource %q in org %q", store.RefKey(ref), org)
}

const getResourceSQL = `SELECT r.org, r.namespace, r.type, r.id, r.labels, r.attributes, r.version, r.updated_by, r.created_at, r.updated_at, v.spec
FROM resources r JOIN resource_versions v
  ON v.org = r.org AND v.namespace = r.namespace AND v.type = r.type AND v.id = r.id AND v.version = r.version
WHERE r.org = $1 AND r.namespace = $2 AND r.type = $3 AND r.id = $4`

func (r reader) GetResource(ctx context.Context, org string, ref authz.ResourceRef) (store.Resource, error) {
	return get(ctx, r, "get resource", refDetail(org, ref), func(rows Rows) (store.Resource, error) { return scanResource(rows, true) },
		getResourceSQL, org, ref.Namespace, ref.Type, ref.ID)
}

func (r reader) ListResources(ctx context.Context, org string, f store.ResourceFilter, p store.Page) ([]store.Resource, string, error) {
	var b strings.Builder
	b.WriteString(`SELECT ` + resourceCols + ` FROM resources WHERE org = $1`)
	args := []any{org}
	if f.Namespace != "" {
		args = append(args, f.Namespace)
		b.WriteString(" AND namespace = $" + strconv.Itoa(len(args)))
	}
	if f.Type != "" {
		args = append(args, f.Type)
		b.WriteString(" AND type = $" + strconv.Itoa(len(args)))
	}
	return list(ctx, r, listSpec[store.Resource]{
		op: "list resources", list: "resources", scope: org,
		sql: b.String(), args: args, keyCols: []string{"namespace", "type", "id"},
		keys: func(x store.Resource) []string { return []string{x.Namespace, x.Type, x.ID} },
		scan: func(rows Rows) (store.Resource, error) { return scanResource(rows, false) },
	}, p)
}

func (r reader) GetResourceVersion(ctx context.Context, org string, ref authz.ResourceRef, version uint64) (store.ResourceVersion, error) {
	const op = "get resource version"
	detail := fmt.Sprintf("version %d of %s", version, refDetail(org, ref))
	if version == 0 || version > math.MaxInt64 {
		return store.ResourceVersion{}, store.Errorf(store.ErrNotFound, op, detail, nil)
	}
	return get(ctx, r, op, detail, scanVersion,
		`SELECT `+versionCols+` FROM resource_versions WHERE org = $1 AND namespace = $2 AND type = $3 AND id = $4 AND version = $5`,
		org, ref.Namespace, ref.Type, ref.ID, int64(version))
}

func (r reader) ListResourceVersions(ctx context.Context, org string, ref authz.ResourceRef, p store.Page) ([]store.ResourceVersion, string, error) {
	const op = "list resource versions"
	ok, err := r.exists(ctx, op, refDetail(org, ref),
		`SELECT 1 FROM resources WHERE org = $1 AND namespace = $2 AND type = $3 AND id = $4`, org, ref.Namespace, ref.Type, ref.ID)
	if err != nil {
		return nil, "", err
	}
	if !ok {
		return nil, "", store.Errorf(store.ErrNotFound, op, refDetail(org, ref), nil)
	}
	vs, next, err := list(ctx, r, listSpec[store.ResourceVersion]{
		op: op, list: "resource_versions", scope: org + "/" + store.RefKey(ref),
		sql:     `SELECT ` + versionMetaCols + ` FROM resource_versions WHERE org = $1 AND namespace = $2 AND type = $3 AND id = $4`,
		args:    []any{org, ref.Namespace, ref.Type, ref.ID},
		keyCols: []string{"version"}, desc: true, intKeys: true,
		keys: func(v store.ResourceVersion) []string { return []string{u64s(v.Version)} }, scan: scanVersion,
	}, p)
	return vs, next, err
}

func (r reader) DiffResourceVersions(ctx context.Context, org string, ref authz.ResourceRef, from, to uint64) ([]store.DiffEntry, error) {
	a, err := r.GetResourceVersion(ctx, org, ref, from)
	if err != nil {
		return nil, err
	}
	b, err := r.GetResourceVersion(ctx, org, ref, to)
	if err != nil {
		return nil, err
	}
	da, err := versionDoc(a)
	if err != nil {
		return nil, r.s.dbErr(ctx, "diff resource versions", refDetail(org, ref), err)
	}
	db, err := versionDoc(b)
	if err != nil {
		return nil, r.s.dbErr(ctx, "diff resource versions", refDetail(org, ref), err)
	}
	return store.Diff(da, db)
}

// versionDoc is the document a version diff compares:
// {"attributes": {...}, "labels": {...}, "spec": ...}.
func versionDoc(v store.ResourceVersion) ([]byte, error) {
	spec := v.Spec
	if spec == nil {
		spec = []byte("null")
	}
	labels := v.Labels
	if labels == nil {
		labels = map[string]string{}
	}
	attrs := v.Attributes
	if attrs == nil {
		attrs = map[string]any{}
	}
	return json.Marshal(struct {
		Attributes map[string]any    `json:"attributes"`
		Labels     map[string]string `json:"labels"`
		Spec       json.RawMessage   `json:"spec"`
	}{attrs, labels, spec})
}

// --- policies

func (r reader) GetPolicy(ctx context.Context, org string) (store.Policy, error) {
	return get(ctx, r, "get policy", fmt.Sprintf("policy of org %q", org), scanPolicy,
		`SELECT `+policyCols+` FROM policies WHERE org = $1 ORDER BY version DESC LIMIT 1`, org)
}

func (r reader) GetPolicyVersion(ctx context.Context, org string, version uint64) (store.Policy, error) {
	const op = "get policy version"
	detail := fmt.Sprintf("policy version %d of org %q", version, org)
	if version == 0 || version > math.MaxInt64 {
		return store.Policy{}, store.Errorf(store.ErrNotFound, op, detail, nil)
	}
	return get(ctx, r, op, detail, scanPolicy,
		`SELECT `+policyCols+` FROM policies WHERE org = $1 AND version = $2`, org, int64(version))
}

func (r reader) ListPolicyVersions(ctx context.Context, org string, p store.Page) ([]store.Policy, string, error) {
	return list(ctx, r, listSpec[store.Policy]{
		op: "list policy versions", list: "policies", scope: org,
		sql: `SELECT ` + policyCols + ` FROM policies WHERE org = $1`, args: []any{org},
		keyCols: []string{"version"}, desc: true, intKeys: true,
		keys: func(x store.Policy) []string { return []string{u64s(x.Version)} }, scan: scanPolicy,
	}, p)
}
