package sqlcore

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

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
	ok, err := t.exists(ctx, op, "org "+q(org), `SELECT 1 FROM orgs WHERE id = $1`, org)
	if err != nil {
		return err
	}
	if !ok {
		return notFound(op, "org "+q(org))
	}
	return nil
}

func (t *txn) requireNamespace(ctx context.Context, op, org, ns string) error {
	detail := fmt.Sprintf("namespace %q in org %q", ns, org)
	ok, err := t.exists(ctx, op, detail, `SELECT 1 FROM namespaces WHERE org = $1 AND name = $2`, org, ns)
	if err != nil {
		return err
	}
	if !ok {
		return notFound(op, detail)
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
		sql = `SELECT 1 FROM members WHERE org = $1 AND user_id = $2`
	case authz.KindTeam:
		sql = `SELECT 1 FROM teams WHERE org = $1 AND slug = $2`
	case authz.KindAgent:
		sql = `SELECT 1 FROM agents WHERE org = $1 AND name = $2`
	default:
		sql = `SELECT 1 FROM services WHERE org = $1 AND name = $2`
	}
	detail := fmt.Sprintf("principal %q in org %q", p, org)
	found, err := t.exists(ctx, op, detail, sql, org, name)
	if err != nil {
		return err
	}
	if !found {
		return notFound(op, detail)
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

// --- orgs

func (t *txn) CreateOrg(ctx context.Context, o store.Org) (store.Org, error) {
	const op = "create org"
	if err := t.begin(op); err != nil {
		return store.Org{}, err
	}
	c := checks{op: op}
	c.org(o.ID)
	c.need(validText(o.Name, 256), "org name is not printable text of at most 256 bytes")
	c.need(o.Template == "" || validName(o.Template), "template %q is not a name", o.Template)
	if c.err != nil {
		return store.Org{}, c.err
	}
	if o.Name == "" {
		o.Name = o.ID
	}
	o.CreatedAt = t.now
	detail := "org " + q(o.ID)
	if ok, err := t.exists(ctx, op, detail, `SELECT 1 FROM orgs WHERE id = $1`, o.ID); err != nil {
		return store.Org{}, err
	} else if ok {
		return store.Org{}, conflict(op, detail+" already exists")
	}
	if _, err := t.exec(ctx, op, detail, `INSERT INTO orgs (`+orgCols+`) VALUES ($1, $2, $3, $4)`,
		o.ID, o.Name, o.Template, t.s.b.TimeArg(t.now)); err != nil {
		return store.Org{}, err
	}
	ns := store.Namespace{Org: o.ID, Name: authz.DefaultNamespace, CreatedAt: t.now}
	if _, err := t.exec(ctx, op, detail, `INSERT INTO namespaces (`+namespaceCols+`) VALUES ($1, $2, $3)`,
		ns.Org, ns.Name, t.s.b.TimeArg(t.now)); err != nil {
		return store.Org{}, err
	}
	if err := t.record(ctx, op, store.KindOrgPut, o.ID, o.ID, o); err != nil {
		return store.Org{}, err
	}
	if err := t.record(ctx, op, store.KindNamespacePut, o.ID, ns.Name, ns); err != nil {
		return store.Org{}, err
	}
	return o, nil
}

func (t *txn) UpdateOrg(ctx context.Context, o store.Org) (store.Org, error) {
	const op = "update org"
	if err := t.begin(op); err != nil {
		return store.Org{}, err
	}
	c := checks{op: op}
	c.need(validText(o.Name, 256), "org name is not printable text of at most 256 bytes")
	c.need(o.Template == "" || validName(o.Template), "template %q is not a name", o.Template)
	if c.err != nil {
		return store.Org{}, c.err
	}
	cur, err := t.GetOrg(ctx, o.ID)
	if err != nil {
		return store.Org{}, err
	}
	if o.Name == "" {
		o.Name = o.ID
	}
	cur.Name, cur.Template = o.Name, o.Template
	if _, err := t.exec(ctx, op, "org "+q(o.ID), `UPDATE orgs SET name = $2, template = $3 WHERE id = $1`,
		cur.ID, cur.Name, cur.Template); err != nil {
		return store.Org{}, err
	}
	return cur, t.record(ctx, op, store.KindOrgPut, cur.ID, cur.ID, cur)
}

// orgTables are deleted in this order when an org is deleted (children
// before parents). A migration that adds an org-scoped table adds it here.
var orgTables = []string{
	"secret_versions", "secrets", "run_tokens",
	"resource_versions", "resources", "bindings", "team_members", "teams",
	"agents", "services", "members", "policies", "namespaces",
}

func (t *txn) DeleteOrg(ctx context.Context, id string) error {
	const op = "delete org"
	if err := t.begin(op); err != nil {
		return err
	}
	o, err := t.GetOrg(ctx, id)
	if err != nil {
		return err
	}
	for _, table := range orgTables {
		if _, err := t.exec(ctx, op, "org "+q(id), `DELETE FROM `+table+` WHERE org = $1`, id); err != nil {
			return err
		}
	}
	if _, err := t.exec(ctx, op, "org "+q(id), `DELETE FROM orgs WHERE id = $1`, id); err != nil {
		return err
	}
	return t.record(ctx, op, store.KindOrgDelete, id, id, o)
}

// --- namespaces

func (t *txn) CreateNamespace(ctx context.Context, org, name string) (store.Namespace, error) {
	const op = "create namespace"
	if err := t.begin(op); err != nil {
		return store.Namespace{}, err
	}
	c := checks{op: op}
	c.org(org)
	c.need(validSlug(name), "namespace %q is not a slug", name)
	if c.err != nil {
		return store.Namespace{}, c.err
	}
	if err := t.requireOrg(ctx, op, org); err != nil {
		return store.Namespace{}, err
	}
	detail := fmt.Sprintf("namespace %q in org %q", name, org)
	if ok, err := t.exists(ctx, op, detail, `SELECT 1 FROM namespaces WHERE org = $1 AND name = $2`, org, name); err != nil {
		return store.Namespace{}, err
	} else if ok {
		return store.Namespace{}, conflict(op, detail+" already exists")
	}
	ns := store.Namespace{Org: org, Name: name, CreatedAt: t.now}
	if _, err := t.exec(ctx, op, detail, `INSERT INTO namespaces (`+namespaceCols+`) VALUES ($1, $2, $3)`,
		org, name, t.s.b.TimeArg(t.now)); err != nil {
		return store.Namespace{}, err
	}
	return ns, t.record(ctx, op, store.KindNamespacePut, org, name, ns)
}

func (t *txn) DeleteNamespace(ctx context.Context, org, name string, opts store.DeleteOptions) error {
	const op = "delete namespace"
	if err := t.begin(op); err != nil {
		return err
	}
	ns, err := t.GetNamespace(ctx, org, name)
	if err != nil {
		return err
	}
	detail := fmt.Sprintf("namespace %q in org %q", name, org)
	if name == authz.DefaultNamespace {
		return refused(op, detail+": the default namespace cannot be deleted")
	}
	bs, err := all(ctx, t.reader, op, detail, scanBinding,
		`SELECT `+bindingCols+` FROM bindings WHERE org = $1 AND scope_namespace = $2 ORDER BY id`, org, name)
	if err != nil {
		return err
	}
	rs, err := all(ctx, t.reader, op, detail, func(r Rows) (store.Resource, error) { return scanResource(r, false) },
		`SELECT `+resourceCols+` FROM resources WHERE org = $1 AND namespace = $2 ORDER BY type, id`, org, name)
	if err != nil {
		return err
	}
	if err := t.refuseSecretsIn(ctx, op, org, name, detail); err != nil {
		return err
	}
	if (len(bs) > 0 || len(rs) > 0) && !opts.Cascade {
		return refused(op, fmt.Sprintf("%s still holds %d resources and %d bindings (delete them first or cascade)", detail, len(rs), len(bs)))
	}
	if len(bs) > 0 {
		if _, err := t.exec(ctx, op, detail, `DELETE FROM bindings WHERE org = $1 AND scope_namespace = $2`, org, name); err != nil {
			return err
		}
		for _, b := range bs {
			if err := t.record(ctx, op, store.KindBindingDelete, org, b.ID, b); err != nil {
				return err
			}
		}
	}
	if len(rs) > 0 {
		for _, table := range []string{"resource_versions", "resources"} {
			if _, err := t.exec(ctx, op, detail, `DELETE FROM `+table+` WHERE org = $1 AND namespace = $2`, org, name); err != nil {
				return err
			}
		}
		for _, r := range rs {
			if err := t.record(ctx, op, store.KindResourceDelete, org, store.RefKey(r.Ref()), r); err != nil {
				return err
			}
		}
	}
	if _, err := t.exec(ctx, op, detail, `DELETE FROM namespaces WHERE org = $1 AND name = $2`, org, name); err != nil {
		return err
	}
	return t.record(ctx, op, store.KindNamespaceDelete, org, name, ns)
}

// --- users

func checkUser(op string, u *store.User) error {
	u.Email = strings.ToLower(strings.TrimSpace(u.Email))
	c := checks{op: op}
	c.need(validKey(u.ID), "user id %q is malformed", u.ID)
	c.need(validEmail(u.Email), "email %q is malformed", u.Email)
	c.need(validText(u.DisplayName, 256), "display name is not printable text of at most 256 bytes")
	return c.err
}

func (t *txn) emailTaken(ctx context.Context, op, email, except string) error {
	if email == "" {
		return nil
	}
	ok, err := t.exists(ctx, op, "email "+q(email), `SELECT 1 FROM users WHERE email = $1 AND id <> $2`, email, except)
	if err != nil {
		return err
	}
	if ok {
		return conflict(op, "email "+q(email)+" is taken")
	}
	return nil
}

func (t *txn) CreateUser(ctx context.Context, u store.User) (store.User, error) {
	const op = "create user"
	if err := t.begin(op); err != nil {
		return store.User{}, err
	}
	if err := checkUser(op, &u); err != nil {
		return store.User{}, err
	}
	detail := "user " + q(u.ID)
	if ok, err := t.exists(ctx, op, detail, `SELECT 1 FROM users WHERE id = $1`, u.ID); err != nil {
		return store.User{}, err
	} else if ok {
		return store.User{}, conflict(op, detail+" already exists")
	}
	if err := t.emailTaken(ctx, op, u.Email, u.ID); err != nil {
		return store.User{}, err
	}
	u.CreatedAt = t.now
	if _, err := t.exec(ctx, op, detail, `INSERT INTO users (`+userCols+`) VALUES ($1, $2, $3, $4)`,
		u.ID, u.Email, u.DisplayName, t.s.b.TimeArg(t.now)); err != nil {
		return store.User{}, err
	}
	return u, t.record(ctx, op, store.KindUserPut, "", u.ID, u)
}

func (t *txn) UpdateUser(ctx context.Context, u store.User) (store.User, error) {
	const op = "update user"
	if err := t.begin(op); err != nil {
		return store.User{}, err
	}
	if err := checkUser(op, &u); err != nil {
		return store.User{}, err
	}
	cur, err := t.GetUser(ctx, u.ID)
	if err != nil {
		return store.User{}, err
	}
	if err := t.emailTaken(ctx, op, u.Email, u.ID); err != nil {
		return store.User{}, err
	}
	cur.Email, cur.DisplayName = u.Email, u.DisplayName
	if _, err := t.exec(ctx, op, "user "+q(u.ID), `UPDATE users SET email = $2, display_name = $3 WHERE id = $1`,
		cur.ID, cur.Email, cur.DisplayName); err != nil {
		return store.User{}, err
	}
	return cur, t.record(ctx, op, store.KindUserPut, "", cur.ID, cur)
}

func (t *txn) DeleteUser(ctx context.Context, id string) error {
	const op = "delete user"
	if err := t.begin(op); err != nil {
		return err
	}
	u, err := t.GetUser(ctx, id)
	if err != nil {
		return err
	}
	orgs, err := all(ctx, t.reader, op, "memberships of user "+q(id), scanString,
		`SELECT org FROM members WHERE user_id = $1 ORDER BY org`, id)
	if err != nil {
		return err
	}
	for _, org := range orgs {
		if err := t.removeMember(ctx, op, org, id); err != nil {
			return err
		}
	}
	if _, err := t.exec(ctx, op, "user "+q(id), `DELETE FROM users WHERE id = $1`, id); err != nil {
		return err
	}
	return t.record(ctx, op, store.KindUserDelete, "", id, u)
}

// --- members

func (t *txn) AddMember(ctx context.Context, m store.Member) (store.Member, error) {
	const op = "add member"
	if err := t.begin(op); err != nil {
		return store.Member{}, err
	}
	c := checks{op: op}
	c.org(m.Org)
	c.need(validKey(m.UserID), "user id %q is malformed", m.UserID)
	attrs := c.attributes(m.Attributes)
	if c.err != nil {
		return store.Member{}, c.err
	}
	if err := t.requireOrg(ctx, op, m.Org); err != nil {
		return store.Member{}, err
	}
	if _, err := t.GetUser(ctx, m.UserID); err != nil {
		return store.Member{}, err
	}
	detail := fmt.Sprintf("member %q of org %q", m.UserID, m.Org)
	if ok, err := t.exists(ctx, op, detail, `SELECT 1 FROM members WHERE org = $1 AND user_id = $2`, m.Org, m.UserID); err != nil {
		return store.Member{}, err
	} else if ok {
		return store.Member{}, conflict(op, detail+" already exists")
	}
	m.CreatedAt = t.now
	if _, err := t.exec(ctx, op, detail, `INSERT INTO members (`+memberCols+`) VALUES ($1, $2, $3, $4)`,
		m.Org, m.UserID, attrs, t.s.b.TimeArg(t.now)); err != nil {
		return store.Member{}, err
	}
	m.Attributes = normAttrs(m.Attributes)
	return m, t.record(ctx, op, store.KindMemberPut, m.Org, m.PrincipalID(), m)
}

func (t *txn) UpdateMember(ctx context.Context, m store.Member) (store.Member, error) {
	const op = "update member"
	if err := t.begin(op); err != nil {
		return store.Member{}, err
	}
	c := checks{op: op}
	attrs := c.attributes(m.Attributes)
	if c.err != nil {
		return store.Member{}, c.err
	}
	cur, err := t.GetMember(ctx, m.Org, m.UserID)
	if err != nil {
		return store.Member{}, err
	}
	if _, err := t.exec(ctx, op, fmt.Sprintf("member %q of org %q", m.UserID, m.Org),
		`UPDATE members SET attributes = $3 WHERE org = $1 AND user_id = $2`, m.Org, m.UserID, attrs); err != nil {
		return store.Member{}, err
	}
	cur.Attributes = normAttrs(m.Attributes)
	return cur, t.record(ctx, op, store.KindMemberPut, cur.Org, cur.PrincipalID(), cur)
}

func (t *txn) RemoveMember(ctx context.Context, org, userID string) error {
	const op = "remove member"
	if err := t.begin(op); err != nil {
		return err
	}
	return t.removeMember(ctx, op, org, userID)
}

func (t *txn) removeMember(ctx context.Context, op, org, userID string) error {
	m, err := t.GetMember(ctx, org, userID)
	if err != nil {
		return err
	}
	if err := t.removePrincipalRefs(ctx, op, org, m.PrincipalID()); err != nil {
		return err
	}
	sponsored, err := all(ctx, t.reader, op, "agents sponsored by "+q(userID), scanAgent,
		`SELECT `+agentCols+` FROM agents WHERE org = $1 AND sponsor = $2 ORDER BY name`, org, userID)
	if err != nil {
		return err
	}
	if len(sponsored) > 0 {
		if _, err := t.exec(ctx, op, "clear sponsor "+q(userID), `UPDATE agents SET sponsor = '' WHERE org = $1 AND sponsor = $2`, org, userID); err != nil {
			return err
		}
		for _, a := range sponsored {
			a.Sponsor = ""
			if err := t.record(ctx, op, store.KindAgentPut, org, a.PrincipalID(), a); err != nil {
				return err
			}
		}
	}
	if _, err := t.exec(ctx, op, fmt.Sprintf("member %q of org %q", userID, org),
		`DELETE FROM members WHERE org = $1 AND user_id = $2`, org, userID); err != nil {
		return err
	}
	return t.record(ctx, op, store.KindMemberDelete, org, m.PrincipalID(), m)
}

// normAttrs makes an empty map nil, as reads return it.
func normAttrs[V any](m map[string]V) map[string]V {
	if len(m) == 0 {
		return nil
	}
	// Round-trip through JSON so the payload and the return value hold
	// exactly what a later read returns (numbers as float64...).
	b, err := json.Marshal(m)
	if err != nil {
		return m
	}
	var out map[string]V
	if json.Unmarshal(b, &out) != nil {
		return m
	}
	return out
}

// --- agents

func (t *txn) checkAgent(ctx context.Context, op string, a *store.Agent) (string, error) {
	c := checks{op: op}
	c.org(a.Org)
	c.need(validName(a.Name), "agent name %q is not a name", a.Name)
	c.need(validName(a.Role), "role %q is not a name", a.Role)
	c.need(a.Sponsor == "" || validKey(a.Sponsor), "sponsor %q is not a user id", a.Sponsor)
	attrs := c.attributes(a.Attributes)
	if c.err != nil {
		return "", c.err
	}
	if err := t.requireOrg(ctx, op, a.Org); err != nil {
		return "", err
	}
	if a.Sponsor != "" {
		if _, err := t.GetMember(ctx, a.Org, a.Sponsor); err != nil {
			return "", err
		}
	}
	a.Attributes = normAttrs(a.Attributes)
	if !a.ExpiresAt.IsZero() {
		a.ExpiresAt = a.ExpiresAt.UTC().Truncate(time.Microsecond)
	}
	return attrs, nil
}

func (t *txn) CreateAgent(ctx context.Context, a store.Agent) (store.Agent, error) {
	const op = "create agent"
	if err := t.begin(op); err != nil {
		return store.Agent{}, err
	}
	attrs, err := t.checkAgent(ctx, op, &a)
	if err != nil {
		return store.Agent{}, err
	}
	detail := fmt.Sprintf("agent %q in org %q", a.Name, a.Org)
	if ok, err := t.exists(ctx, op, detail, `SELECT 1 FROM agents WHERE org = $1 AND name = $2`, a.Org, a.Name); err != nil {
		return store.Agent{}, err
	} else if ok {
		return store.Agent{}, conflict(op, detail+" already exists")
	}
	a.CreatedAt = t.now
	if _, err := t.exec(ctx, op, detail, `INSERT INTO agents (`+agentCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		a.Org, a.Name, a.Role, a.Sponsor, t.s.nullTime(a.ExpiresAt), attrs, t.s.b.TimeArg(t.now)); err != nil {
		return store.Agent{}, err
	}
	return a, t.record(ctx, op, store.KindAgentPut, a.Org, a.PrincipalID(), a)
}

func (t *txn) UpdateAgent(ctx context.Context, a store.Agent) (store.Agent, error) {
	const op = "update agent"
	if err := t.begin(op); err != nil {
		return store.Agent{}, err
	}
	attrs, err := t.checkAgent(ctx, op, &a)
	if err != nil {
		return store.Agent{}, err
	}
	cur, err := t.GetAgent(ctx, a.Org, a.Name)
	if err != nil {
		return store.Agent{}, err
	}
	a.CreatedAt = cur.CreatedAt
	if _, err := t.exec(ctx, op, fmt.Sprintf("agent %q in org %q", a.Name, a.Org),
		`UPDATE agents SET role = $3, sponsor = $4, expires_at = $5, attributes = $6 WHERE org = $1 AND name = $2`,
		a.Org, a.Name, a.Role, a.Sponsor, t.s.nullTime(a.ExpiresAt), attrs); err != nil {
		return store.Agent{}, err
	}
	return a, t.record(ctx, op, store.KindAgentPut, a.Org, a.PrincipalID(), a)
}

func (t *txn) DeleteAgent(ctx context.Context, org, name string) error {
	const op = "delete agent"
	if err := t.begin(op); err != nil {
		return err
	}
	a, err := t.GetAgent(ctx, org, name)
	if err != nil {
		return err
	}
	if err := t.removePrincipalRefs(ctx, op, org, a.PrincipalID()); err != nil {
		return err
	}
	if _, err := t.exec(ctx, op, fmt.Sprintf("agent %q in org %q", name, org),
		`DELETE FROM agents WHERE org = $1 AND name = $2`, org, name); err != nil {
		return err
	}
	return t.record(ctx, op, store.KindAgentDelete, org, a.PrincipalID(), a)
}

// --- services

func (t *txn) checkService(ctx context.Context, op string, s *store.Service) (string, error) {
	c := checks{op: op}
	c.org(s.Org)
	c.need(validName(s.Name), "service name %q is not a name", s.Name)
	attrs := c.attributes(s.Attributes)
	if c.err != nil {
		return "", c.err
	}
	if err := t.requireOrg(ctx, op, s.Org); err != nil {
		return "", err
	}
	s.Attributes = normAttrs(s.Attributes)
	return attrs, nil
}

func (t *txn) CreateService(ctx context.Context, s store.Service) (store.Service, error) {
	const op = "create service"
	if err := t.begin(op); err != nil {
		return store.Service{}, err
	}
	attrs, err := t.checkService(ctx, op, &s)
	if err != nil {
		return store.Service{}, err
	}
	detail := fmt.Sprintf("service %q in org %q", s.Name, s.Org)
	if ok, err := t.exists(ctx, op, detail, `SELECT 1 FROM services WHERE org = $1 AND name = $2`, s.Org, s.Name); err != nil {
		return store.Service{}, err
	} else if ok {
		return store.Service{}, conflict(op, detail+" already exists")
	}
	s.CreatedAt = t.now
	if _, err := t.exec(ctx, op, detail, `INSERT INTO services (`+serviceCols+`) VALUES ($1, $2, $3, $4)`,
		s.Org, s.Name, attrs, t.s.b.TimeArg(t.now)); err != nil {
		return store.Service{}, err
	}
	return s, t.record(ctx, op, store.KindServicePut, s.Org, s.PrincipalID(), s)
}

func (t *txn) UpdateService(ctx context.Context, s store.Service) (store.Service, error) {
	const op = "update service"
	if err := t.begin(op); err != nil {
		return store.Service{}, err
	}
	attrs, err := t.checkService(ctx, op, &s)
	if err != nil {
		return store.Service{}, err
	}
	cur, err := t.GetService(ctx, s.Org, s.Name)
	if err != nil {
		return store.Service{}, err
	}
	s.CreatedAt = cur.CreatedAt
	if _, err := t.exec(ctx, op, fmt.Sprintf("service %q in org %q", s.Name, s.Org),
		`UPDATE services SET attributes = $3 WHERE org = $1 AND name = $2`, s.Org, s.Name, attrs); err != nil {
		return store.Service{}, err
	}
	return s, t.record(ctx, op, store.KindServicePut, s.Org, s.PrincipalID(), s)
}

func (t *txn) DeleteService(ctx context.Context, org, name string) error {
	const op = "delete service"
	if err := t.begin(op); err != nil {
		return err
	}
	s, err := t.GetService(ctx, org, name)
	if err != nil {
		return err
	}
	if err := t.removePrincipalRefs(ctx, op, org, s.PrincipalID()); err != nil {
		return err
	}
	if _, err := t.exec(ctx, op, fmt.Sprintf("service %q in org %q", name, org),
		`DELETE FROM services WHERE org = $1 AND name = $2`, org, name); err != nil {
		return err
	}
	return t.record(ctx, op, store.KindServiceDelete, org, s.PrincipalID(), s)
}

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

// --- bindings

var idEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// newBindingID returns "b" and 16 random base32 characters (80 bits).
func newBindingID() string {
	var b [10]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go ≥ 1.24)
	return "b" + idEncoding.EncodeToString(b[:])
}

func checkBinding(op string, b *store.Binding) error {
	c := checks{op: op}
	c.org(b.Org)
	c.need(validKey(b.ID), "binding id %q is malformed", b.ID)
	_, _, ok := splitPrincipal(b.Principal)
	if role, isRole := strings.CutPrefix(b.Principal, authz.KindRole+":"); isRole {
		ok = validName(role) && b.Scope.IsResource() // a share made to a role
	}
	c.need(ok, "principal %q is not user:<id>, team:<slug>, agent:<name>, service:<name> or, on one resource, role:<name>", b.Principal)
	s := b.Scope
	switch {
	case s.IsOrg():
	case s.Type == "" && s.ID == "":
		c.need(validSlug(s.Namespace), "scope namespace %q is not a slug", s.Namespace)
	case s.Type != "" && s.ID != "":
		c.ref(authz.ResourceRef(s))
	default:
		c.need(false, "scope %q names a type without an id or an id without a type", s.String())
	}
	c.need((b.Role == "") != (len(b.Actions) == 0), "a binding grants either a role or an action list, not both or neither")
	c.need(b.Role == "" || validName(b.Role), "role %q is not a name", b.Role)
	c.need(len(b.Actions) == 0 || s.IsResource(), "an action list is only allowed at resource scope")
	c.need(len(b.Actions) <= 64, "more than 64 actions")
	for _, a := range b.Actions {
		c.need(a == "*" || validName(a), "action %q is not a name or *", a)
	}
	c.need(b.Condition == "" || validName(b.Condition), "condition %q is not a name", b.Condition)
	c.need(validText(b.CreatedBy, 256), "created_by is not printable text of at most 256 bytes")
	return c.err
}

func (t *txn) CreateBinding(ctx context.Context, b store.Binding) (store.Binding, error) {
	const op = "create binding"
	if err := t.begin(op); err != nil {
		return store.Binding{}, err
	}
	if b.ID == "" {
		b.ID = newBindingID()
	}
	b.Actions = slices.Clone(b.Actions)
	if err := checkBinding(op, &b); err != nil {
		return store.Binding{}, err
	}
	if err := t.requireOrg(ctx, op, b.Org); err != nil {
		return store.Binding{}, err
	}
	if !strings.HasPrefix(b.Principal, authz.KindRole+":") { // a role is checked against the policy by the directory
		if err := t.requirePrincipal(ctx, op, b.Org, b.Principal); err != nil {
			return store.Binding{}, err
		}
	}
	if b.Scope.Namespace != "" {
		if err := t.requireNamespace(ctx, op, b.Org, b.Scope.Namespace); err != nil {
			return store.Binding{}, err
		}
	}
	if b.Scope.IsResource() {
		ref := authz.ResourceRef{Namespace: b.Scope.Namespace, Type: b.Scope.Type, ID: b.Scope.ID}
		ok, err := t.exists(ctx, op, refDetail(b.Org, ref),
			`SELECT 1 FROM resources WHERE org = $1 AND namespace = $2 AND type = $3 AND id = $4`, b.Org, ref.Namespace, ref.Type, ref.ID)
		if err != nil {
			return store.Binding{}, err
		}
		if !ok {
			return store.Binding{}, notFound(op, refDetail(b.Org, ref))
		}
	}
	detail := fmt.Sprintf("binding %q in org %q", b.ID, b.Org)
	if ok, err := t.exists(ctx, op, detail, `SELECT 1 FROM bindings WHERE org = $1 AND id = $2`, b.Org, b.ID); err != nil {
		return store.Binding{}, err
	} else if ok {
		return store.Binding{}, conflict(op, detail+" already exists")
	}
	var actions any
	if len(b.Actions) > 0 {
		raw, _ := json.Marshal(b.Actions) // strings: cannot fail
		actions = string(raw)
	}
	b.CreatedAt = t.now
	if _, err := t.exec(ctx, op, detail, `INSERT INTO bindings (`+bindingCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		b.Org, b.ID, b.Principal, b.Role, actions, b.Scope.Namespace, b.Scope.Type, b.Scope.ID, b.Condition, b.CreatedBy,
		t.s.b.TimeArg(t.now)); err != nil {
		return store.Binding{}, err
	}
	return b, t.record(ctx, op, store.KindBindingPut, b.Org, b.ID, b)
}

func (t *txn) DeleteBinding(ctx context.Context, org, id string) error {
	const op = "delete binding"
	if err := t.begin(op); err != nil {
		return err
	}
	b, err := t.GetBinding(ctx, org, id)
	if err != nil {
		return err
	}
	if _, err := t.exec(ctx, op, fmt.Sprintf("binding %q in org %q", id, org),
		`DELETE FROM bindings WHERE org = $1 AND id = $2`, org, id); err != nil {
		return err
	}
	return t.record(ctx, op, store.KindBindingDelete, org, id, b)
}

// --- resources

func (t *txn) insertVersion(ctx context.Context, op string, r store.Resource, spec any, labels, attrs string) error {
	_, err := t.exec(ctx, op, refDetail(r.Org, r.Ref()),
		`INSERT INTO resource_versions (`+versionCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		r.Org, r.Namespace, r.Type, r.ID, int64(r.Version), spec, labels, attrs, r.UpdatedBy, t.s.b.TimeArg(t.now))
	return err
}

func (t *txn) CreateResource(ctx context.Context, r store.Resource, author string) (store.Resource, error) {
	const op = "create resource"
	if err := t.begin(op); err != nil {
		return store.Resource{}, err
	}
	c := checks{op: op}
	c.org(r.Org)
	c.ref(r.Ref())
	labels := c.labels(r.Labels)
	attrs := c.attributes(r.Attributes)
	spec, null := c.spec(r.Spec)
	c.need(validText(author, 256), "author is not printable text of at most 256 bytes")
	if c.err != nil {
		return store.Resource{}, c.err
	}
	if err := t.requireOrg(ctx, op, r.Org); err != nil {
		return store.Resource{}, err
	}
	if err := t.requireNamespace(ctx, op, r.Org, r.Namespace); err != nil {
		return store.Resource{}, err
	}
	detail := refDetail(r.Org, r.Ref())
	if ok, err := t.exists(ctx, op, detail, `SELECT 1 FROM resources WHERE org = $1 AND namespace = $2 AND type = $3 AND id = $4`,
		r.Org, r.Namespace, r.Type, r.ID); err != nil {
		return store.Resource{}, err
	} else if ok {
		return store.Resource{}, conflict(op, detail+" already exists")
	}
	r.Version, r.UpdatedBy, r.CreatedAt, r.UpdatedAt = 1, author, t.now, t.now
	r.Labels, r.Attributes = normAttrs(r.Labels), normAttrs(r.Attributes)
	var specArg any
	r.Spec = nil
	if !null {
		r.Spec, specArg = json.RawMessage(spec), spec
	}
	if _, err := t.exec(ctx, op, detail, `INSERT INTO resources (`+resourceCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		r.Org, r.Namespace, r.Type, r.ID, labels, attrs, int64(1), author, t.s.b.TimeArg(t.now), t.s.b.TimeArg(t.now)); err != nil {
		return store.Resource{}, err
	}
	if err := t.insertVersion(ctx, op, r, specArg, labels, attrs); err != nil {
		return store.Resource{}, err
	}
	return r, t.record(ctx, op, store.KindResourcePut, r.Org, store.RefKey(r.Ref()), r)
}

func (t *txn) UpdateResource(ctx context.Context, u store.ResourceUpdate) (store.Resource, error) {
	const op = "update resource"
	if err := t.begin(op); err != nil {
		return store.Resource{}, err
	}
	c := checks{op: op}
	c.need(validText(u.Author, 256), "author is not printable text of at most 256 bytes")
	var labels, attrs string
	if u.Labels != nil {
		labels = c.labels(*u.Labels)
	}
	if u.Attributes != nil {
		attrs = c.attributes(*u.Attributes)
	}
	spec, null := "", true
	if u.Spec != nil {
		spec, null = c.spec(u.Spec)
	}
	if c.err != nil {
		return store.Resource{}, c.err
	}
	r, err := t.GetResource(ctx, u.Org, u.Ref)
	if err != nil {
		return store.Resource{}, err
	}
	detail := refDetail(u.Org, u.Ref)
	if u.IfVersion != 0 && u.IfVersion != r.Version {
		return store.Resource{}, conflict(op, fmt.Sprintf("%s is at version %d, not %d", detail, r.Version, u.IfVersion))
	}
	if u.Labels != nil {
		r.Labels = normAttrs(*u.Labels)
	} else {
		labels = encodeObject(&c, "labels", r.Labels)
	}
	if u.Attributes != nil {
		r.Attributes = normAttrs(*u.Attributes)
	} else {
		attrs = encodeObject(&c, "attributes", r.Attributes)
	}
	if u.Spec != nil {
		r.Spec = nil
		if !null {
			r.Spec = json.RawMessage(spec)
		}
	}
	var specArg any
	if r.Spec != nil {
		specArg = string(r.Spec)
	}
	r.Version++
	r.UpdatedBy, r.UpdatedAt = u.Author, t.now
	if _, err := t.exec(ctx, op, detail,
		`UPDATE resources SET labels = $5, attributes = $6, version = $7, updated_by = $8, updated_at = $9
		 WHERE org = $1 AND namespace = $2 AND type = $3 AND id = $4`,
		r.Org, r.Namespace, r.Type, r.ID, labels, attrs, int64(r.Version), r.UpdatedBy, t.s.b.TimeArg(t.now)); err != nil {
		return store.Resource{}, err
	}
	if err := t.insertVersion(ctx, op, r, specArg, labels, attrs); err != nil {
		return store.Resource{}, err
	}
	return r, t.record(ctx, op, store.KindResourcePut, r.Org, store.RefKey(r.Ref()), r)
}

func (t *txn) DeleteResource(ctx context.Context, org string, ref authz.ResourceRef) error {
	const op = "delete resource"
	if err := t.begin(op); err != nil {
		return err
	}
	r, err := t.GetResource(ctx, org, ref)
	if err != nil {
		return err
	}
	detail := refDetail(org, ref)
	bs, err := all(ctx, t.reader, op, detail, scanBinding,
		`SELECT `+bindingCols+` FROM bindings WHERE org = $1 AND scope_namespace = $2 AND scope_type = $3 AND scope_id = $4 ORDER BY id`,
		org, ref.Namespace, ref.Type, ref.ID)
	if err != nil {
		return err
	}
	if len(bs) > 0 {
		if _, err := t.exec(ctx, op, detail, `DELETE FROM bindings WHERE org = $1 AND scope_namespace = $2 AND scope_type = $3 AND scope_id = $4`,
			org, ref.Namespace, ref.Type, ref.ID); err != nil {
			return err
		}
		for _, b := range bs {
			if err := t.record(ctx, op, store.KindBindingDelete, org, b.ID, b); err != nil {
				return err
			}
		}
	}
	for _, table := range []string{"resource_versions", "resources"} {
		if _, err := t.exec(ctx, op, detail, `DELETE FROM `+table+` WHERE org = $1 AND namespace = $2 AND type = $3 AND id = $4`,
			org, ref.Namespace, ref.Type, ref.ID); err != nil {
			return err
		}
	}
	r.Spec = nil
	return t.record(ctx, op, store.KindResourceDelete, org, store.RefKey(ref), r)
}

// --- policies

func (t *txn) SetPolicy(ctx context.Context, org, text, author string) (store.Policy, error) {
	const op = "set policy"
	if err := t.begin(op); err != nil {
		return store.Policy{}, err
	}
	c := checks{op: op}
	c.org(org)
	c.need(utf8.ValidString(text) && !strings.ContainsRune(text, 0), "policy text is not UTF-8 text")
	c.need(len(text) <= store.MaxPolicyBytes, "policy text is larger than %d bytes", store.MaxPolicyBytes)
	c.need(validText(author, 256), "author is not printable text of at most 256 bytes")
	if c.err != nil {
		return store.Policy{}, c.err
	}
	if err := t.requireOrg(ctx, op, org); err != nil {
		return store.Policy{}, err
	}
	var cur int64
	if err := queryRow(ctx, t.q, `SELECT COALESCE(MAX(version), 0) FROM policies WHERE org = $1`, []any{org}, &cur); err != nil {
		return store.Policy{}, t.s.dbErr(ctx, op, "policy of org "+q(org), err)
	}
	p := store.Policy{Org: org, Version: uint64(cur) + 1, Text: text, Author: author, CreatedAt: t.now}
	if _, err := t.exec(ctx, op, "policy of org "+q(org), `INSERT INTO policies (`+policyCols+`) VALUES ($1, $2, $3, $4, $5)`,
		org, int64(p.Version), text, author, t.s.b.TimeArg(t.now)); err != nil {
		return store.Policy{}, err
	}
	return p, t.record(ctx, op, store.KindPolicyPut, org, u64s(p.Version), p)
}
