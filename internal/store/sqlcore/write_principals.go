package sqlcore

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// --- users

func checkUser(op string, u *store.User) error {
	u.Email = strings.ToLower(strings.TrimSpace(u.Email))
	c := checks{op: op}
	if !validKey(u.ID) { // the message's arguments boxed only on failure (a bulk write creates up to 1,000 users)
		c.fail("user id %q is malformed", u.ID)
	}
	if !validEmail(u.Email) {
		c.fail("email %q is malformed", u.Email)
	}
	c.need(validText(u.DisplayName, 256), "display name is not printable text of at most 256 bytes")
	return c.err
}

func (t *txn) emailTaken(ctx context.Context, op, email, except string) error {
	if email == "" {
		return nil
	}
	ok, err := t.existsStrings(ctx, op, func() string { return "email " + q(email) }, emailTakenSQL, email, except)
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
	if ok, err := t.exists(ctx, op, detail, userExistsSQL, u.ID); err != nil {
		return store.User{}, err
	} else if ok {
		return store.User{}, conflict(op, detail+" already exists")
	}
	if err := t.emailTaken(ctx, op, u.Email, u.ID); err != nil {
		return store.User{}, err
	}
	u.CreatedAt = t.now
	if err := t.execLater(ctx, op, detail, `INSERT INTO users (`+userCols+`) VALUES ($1, $2, $3, $4)`,
		u.ID, u.Email, u.DisplayName, t.s.b.TimeArg(t.now)); err != nil {
		return store.User{}, err
	}
	t.noteFound(userExistsSQL, u.ID)
	t.forgetEmail(u.Email)
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
	if !validKey(m.UserID) { // boxed only on failure, as above
		c.fail("user id %q is malformed", m.UserID)
	}
	attrs := c.attributes(m.Attributes)
	if c.err != nil {
		return store.Member{}, c.err
	}
	if err := t.requireOrg(ctx, op, m.Org); err != nil {
		return store.Member{}, err
	}
	if ok, err := t.existsStrings(ctx, op, func() string { return "user " + q(m.UserID) }, userExistsSQL, m.UserID); err != nil {
		return store.Member{}, err
	} else if !ok {
		return store.Member{}, notFound(op, "user "+q(m.UserID))
	}
	detail := "member " + q(m.UserID) + " of org " + q(m.Org) // fmt's %q, without fmt
	if ok, err := t.existsStrings(ctx, op, func() string { return detail }, memberExistsSQL, m.Org, m.UserID); err != nil {
		return store.Member{}, err
	} else if ok {
		return store.Member{}, conflict(op, detail+" already exists")
	}
	m.CreatedAt = t.now
	if err := t.execLater(ctx, op, detail, `INSERT INTO members (`+memberCols+`) VALUES ($1, $2, $3, $4)`,
		m.Org, m.UserID, attrs, t.s.b.TimeArg(t.now)); err != nil {
		return store.Member{}, err
	}
	t.noteFound(memberExistsSQL, m.Org, m.UserID)
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
	if err := t.dropSponsor(ctx, op, org, m.PrincipalID()); err != nil {
		return err
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
	if err := t.checkSponsors(ctx, op, a); err != nil {
		return "", err
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
	if _, err := t.exec(ctx, op, detail, `INSERT INTO agents (`+agentCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		a.Org, a.Name, a.Role, a.Sponsor, t.s.nullTime(a.ExpiresAt), attrs, t.s.b.TimeArg(t.now),
		sponsorsArg(a.Sponsors), boolInt(a.Suspended), t.s.nullTime(a.AttestedAt), t.s.nullTime(a.LastUsedAt)); err != nil {
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
		`UPDATE agents SET role = $3, sponsor = $4, expires_at = $5, attributes = $6, sponsors = $7, suspended = $8, attested_at = $9, last_used_at = $10
		WHERE org = $1 AND name = $2`,
		a.Org, a.Name, a.Role, a.Sponsor, t.s.nullTime(a.ExpiresAt), attrs,
		sponsorsArg(a.Sponsors), boolInt(a.Suspended), t.s.nullTime(a.AttestedAt), t.s.nullTime(a.LastUsedAt)); err != nil {
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
	ss, err := t.normSponsors(ctx, op, s.Org, s.Sponsors)
	if err != nil {
		return "", err
	}
	s.Sponsors = ss
	if len(ss) > 0 {
		s.RequireSponsor = true
	}
	s.AttestedAt, s.LastUsedAt = microUTC(s.AttestedAt), microUTC(s.LastUsedAt)
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
	if _, err := t.exec(ctx, op, detail, `INSERT INTO services (`+serviceCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		s.Org, s.Name, attrs, t.s.b.TimeArg(t.now), boolInt(s.Suspended), sponsorsArg(s.Sponsors), boolInt(s.RequireSponsor),
		boolInt(s.Lifecycle), t.s.nullTime(s.AttestedAt), t.s.nullTime(s.LastUsedAt)); err != nil {
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
		`UPDATE services SET attributes = $3, suspended = $4, sponsors = $5, require_sponsor = $6, lifecycle = $7, attested_at = $8, last_used_at = $9
		WHERE org = $1 AND name = $2`,
		s.Org, s.Name, attrs, boolInt(s.Suspended), sponsorsArg(s.Sponsors), boolInt(s.RequireSponsor), boolInt(s.Lifecycle),
		t.s.nullTime(s.AttestedAt), t.s.nullTime(s.LastUsedAt)); err != nil {
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
