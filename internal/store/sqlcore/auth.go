package sqlcore

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// API keys and invitations (store/auth.go). Both tables are
// deployment-wide: found by id alone; their changelog entries have org "".

const (
	apiKeyCols = `id, org, principal, name, hash, principal_created_at, org_created_at, created_by, created_at, expires_at, revoked_at, last_used_at`
	inviteCols = `id, org, email, role, invited_by, hash, org_created_at, created_at, expires_at, accepted_at, accepted_by, revoked_at`
)

func scanAPIKey(r Rows) (k store.APIKey, err error) {
	err = r.Scan(&k.ID, &k.Org, &k.Principal, &k.Name, &k.Hash, scanTime(&k.PrincipalCreatedAt), scanTime(&k.OrgCreatedAt),
		&k.CreatedBy, scanTime(&k.CreatedAt), scanTime(&k.ExpiresAt), scanTime(&k.RevokedAt), scanTime(&k.LastUsedAt))
	k.Hash = append([]byte(nil), k.Hash...)
	return k, err
}

func scanInvitation(r Rows) (v store.Invitation, err error) {
	err = r.Scan(&v.ID, &v.Org, &v.Email, &v.Role, &v.InvitedBy, &v.Hash, scanTime(&v.OrgCreatedAt), scanTime(&v.CreatedAt),
		scanTime(&v.ExpiresAt), scanTime(&v.AcceptedAt), &v.AcceptedBy, scanTime(&v.RevokedAt))
	v.Hash = append([]byte(nil), v.Hash...)
	return v, err
}

// validTokenID: API key and invitation ids are 8 to 64 bytes of a-z, 0-9.
func validTokenID(s string) bool {
	if len(s) < 8 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

func (r reader) GetAPIKey(ctx context.Context, id string) (store.APIKey, error) {
	return get(ctx, r, "get api key", "api key "+q(id), scanAPIKey, `SELECT `+apiKeyCols+` FROM api_keys WHERE id = $1`, id)
}

func (r reader) ListAPIKeys(ctx context.Context, f store.APIKeyFilter, p store.Page) ([]store.APIKey, string, error) {
	sql := `SELECT ` + apiKeyCols + ` FROM api_keys WHERE org = $1`
	args := []any{f.Org}
	if f.Principal != "" {
		args = append(args, f.Principal)
		sql += fmt.Sprintf(` AND principal = $%d`, len(args))
	}
	if f.CreatedBy != "" {
		args = append(args, f.CreatedBy)
		sql += fmt.Sprintf(` AND created_by = $%d`, len(args))
	}
	scope := f.Org + "/" + f.Principal // a cursor is valid only for its filter
	if f.Minted {
		sql += ` AND created_by <> '' AND created_by <> principal`
		scope += "/minted"
	}
	if f.CreatedBy != "" {
		scope += "/by/" + f.CreatedBy
	}
	ks, next, err := list(ctx, r, listSpec[store.APIKey]{
		op: "list api keys", list: "apikeys", scope: scope,
		sql: sql, args: args, keyCols: []string{"id"},
		keys: func(k store.APIKey) []string { return []string{k.ID} }, scan: scanAPIKey,
	}, p)
	for i := range ks {
		ks[i].Hash = nil
	}
	return ks, next, err
}

func (t *txn) CreateAPIKey(ctx context.Context, k store.APIKey) (store.APIKey, error) {
	const op = "create api key"
	if err := t.begin(op); err != nil {
		return store.APIKey{}, err
	}
	c := checks{op: op}
	c.need(validTokenID(k.ID), "api key id %q is not 8 to 64 bytes of a-z, 0-9", k.ID)
	if k.Org != "" {
		c.org(k.Org)
	}
	kind, _, ok := splitPrincipal(k.Principal)
	c.need(ok && (kind == "user" || kind == "service"), "principal %q is not user:<id> or service:<name>", k.Principal)
	c.need(kind != "service" || k.Org != "", "a service key must belong to an org")
	c.need(validText(k.Name, 200), "name is not printable text of at most 200 bytes")
	c.need(len(k.Hash) == 32, "hash must be 32 bytes")
	c.need(k.CreatedBy == "" || validText(k.CreatedBy, 300), "created_by is malformed")
	c.need(!k.PrincipalCreatedAt.IsZero(), "principal_created_at is required")
	c.need(k.Org == "" || !k.OrgCreatedAt.IsZero(), "org_created_at is required for an org key")
	if c.err != nil {
		return store.APIKey{}, c.err
	}
	detail := "api key " + q(k.ID)
	if ok, err := t.exists(ctx, op, detail, `SELECT 1 FROM api_keys WHERE id = $1`, k.ID); err != nil {
		return store.APIKey{}, err
	} else if ok {
		return store.APIKey{}, conflict(op, detail+" already exists")
	}
	k.CreatedAt, k.RevokedAt, k.LastUsedAt = t.now, time.Time{}, time.Time{}
	k.PrincipalCreatedAt = k.PrincipalCreatedAt.UTC().Truncate(time.Microsecond)
	k.OrgCreatedAt = k.OrgCreatedAt.UTC().Truncate(time.Microsecond)
	k.ExpiresAt = k.ExpiresAt.UTC().Truncate(time.Microsecond)
	if _, err := t.exec(ctx, op, detail, `INSERT INTO api_keys (`+apiKeyCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, NULL, NULL)`,
		k.ID, k.Org, k.Principal, k.Name, k.Hash, t.s.b.TimeArg(k.PrincipalCreatedAt), t.s.nullTime(k.OrgCreatedAt),
		k.CreatedBy, t.s.b.TimeArg(t.now), t.s.nullTime(k.ExpiresAt)); err != nil {
		return store.APIKey{}, err
	}
	return k, t.record(ctx, op, store.KindAPIKeyPut, "", "apikey:"+k.ID, k)
}

func (t *txn) RevokeAPIKey(ctx context.Context, id string) (store.APIKey, error) {
	const op = "revoke api key"
	if err := t.begin(op); err != nil {
		return store.APIKey{}, err
	}
	k, err := t.GetAPIKey(ctx, id)
	if err != nil {
		return store.APIKey{}, err
	}
	detail := "api key " + q(id)
	if !k.RevokedAt.IsZero() {
		return store.APIKey{}, conflict(op, detail+" is already revoked")
	}
	k.RevokedAt = t.now
	if _, err := t.exec(ctx, op, detail, `UPDATE api_keys SET revoked_at = $2 WHERE id = $1`, id, t.s.b.TimeArg(t.now)); err != nil {
		return store.APIKey{}, err
	}
	return k, t.record(ctx, op, store.KindAPIKeyPut, "", "apikey:"+id, k)
}

// RecordAPIKeyUse implements store.APIKeyUsage: one short write
// transaction, outside the revision counter and the changelog.
func (s *Store) RecordAPIKeyUse(ctx context.Context, uses map[string]time.Time) error {
	const op = "record api key use"
	if len(uses) == 0 {
		return nil
	}
	if s.closed.Load() {
		return store.Errorf(store.ErrBackend, op, "store is closed", nil)
	}
	c, err := s.b.BeginWrite(ctx)
	if err != nil {
		return s.dbErr(ctx, op, "begin", err)
	}
	done := false
	defer func() {
		if !done {
			_ = c.Rollback(context.WithoutCancel(ctx))
		}
	}()
	for id, at := range uses {
		if !validTokenID(id) {
			continue
		}
		ts := s.b.TimeArg(at.UTC().Truncate(time.Microsecond))
		if _, err := c.Exec(ctx, `UPDATE api_keys SET last_used_at = $2 WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < $2)`, id, ts); err != nil {
			return s.dbErr(ctx, op, "", err)
		}
	}
	done = true
	if err := c.Commit(ctx); err != nil {
		return s.dbErr(ctx, op, "commit", err)
	}
	return nil
}

// --- invitations

func (r reader) GetInvitation(ctx context.Context, id string) (store.Invitation, error) {
	return get(ctx, r, "get invitation", "invitation "+q(id), scanInvitation, `SELECT `+inviteCols+` FROM invitations WHERE id = $1`, id)
}

func (r reader) ListInvitations(ctx context.Context, org string, p store.Page) ([]store.Invitation, string, error) {
	vs, next, err := list(ctx, r, listSpec[store.Invitation]{
		op: "list invitations", list: "invitations", scope: org,
		sql: `SELECT ` + inviteCols + ` FROM invitations WHERE org = $1`, args: []any{org}, keyCols: []string{"id"},
		keys: func(v store.Invitation) []string { return []string{v.ID} }, scan: scanInvitation,
	}, p)
	for i := range vs {
		vs[i].Hash = nil
	}
	return vs, next, err
}

func (t *txn) CreateInvitation(ctx context.Context, v store.Invitation) (store.Invitation, error) {
	const op = "create invitation"
	if err := t.begin(op); err != nil {
		return store.Invitation{}, err
	}
	v.Email = strings.ToLower(v.Email)
	c := checks{op: op}
	c.need(validTokenID(v.ID), "invitation id %q is not 8 to 64 bytes of a-z, 0-9", v.ID)
	c.org(v.Org)
	c.need(v.Email != "" && validEmail(v.Email), "email %q is not an email address", v.Email)
	c.need(validName(v.Role), "role %q is not a name", v.Role)
	_, _, ok := splitPrincipal(v.InvitedBy)
	c.need(ok, "invited_by %q is not a principal", v.InvitedBy)
	c.need(len(v.Hash) == 32, "hash must be 32 bytes")
	c.need(!v.ExpiresAt.IsZero(), "expires_at is required")
	c.need(!v.OrgCreatedAt.IsZero(), "org_created_at is required")
	if c.err != nil {
		return store.Invitation{}, c.err
	}
	if err := t.requireOrg(ctx, op, v.Org); err != nil {
		return store.Invitation{}, err
	}
	detail := "invitation " + q(v.ID)
	if ok, err := t.exists(ctx, op, detail, `SELECT 1 FROM invitations WHERE id = $1`, v.ID); err != nil {
		return store.Invitation{}, err
	} else if ok {
		return store.Invitation{}, conflict(op, detail+" already exists")
	}
	v.CreatedAt, v.AcceptedAt, v.AcceptedBy, v.RevokedAt = t.now, time.Time{}, "", time.Time{}
	v.ExpiresAt = v.ExpiresAt.UTC().Truncate(time.Microsecond)
	v.OrgCreatedAt = v.OrgCreatedAt.UTC().Truncate(time.Microsecond)
	if _, err := t.exec(ctx, op, detail, `INSERT INTO invitations (`+inviteCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, NULL, '', NULL)`,
		v.ID, v.Org, v.Email, v.Role, v.InvitedBy, v.Hash, t.s.b.TimeArg(v.OrgCreatedAt), t.s.b.TimeArg(t.now), t.s.b.TimeArg(v.ExpiresAt)); err != nil {
		return store.Invitation{}, err
	}
	return v, t.recordInvitation(ctx, op, v)
}

func (t *txn) recordInvitation(ctx context.Context, op string, v store.Invitation) error {
	return t.record(ctx, op, store.KindInvitationPut, "", "invitation:"+v.ID, v)
}

func (t *txn) AcceptInvitation(ctx context.Context, id, userID string) (store.Invitation, error) {
	const op = "accept invitation"
	if err := t.begin(op); err != nil {
		return store.Invitation{}, err
	}
	if !validKey(userID) {
		return store.Invitation{}, invalid(op, "user id %q is malformed", userID)
	}
	return t.changeInvitation(ctx, op, id, func(v *store.Invitation, detail string) error {
		switch {
		case !v.RevokedAt.IsZero():
			return conflict(op, detail+" is revoked")
		case !v.AcceptedAt.IsZero():
			return conflict(op, detail+" is already accepted")
		}
		v.AcceptedAt, v.AcceptedBy = t.now, userID
		return nil
	}, `accepted_at = $2, accepted_by = $3`, t.s.b.TimeArg(t.now), userID)
}

func (t *txn) ReleaseInvitation(ctx context.Context, id string) (store.Invitation, error) {
	const op = "release invitation"
	return t.changeInvitation(ctx, op, id, func(v *store.Invitation, detail string) error {
		if v.AcceptedAt.IsZero() {
			return conflict(op, detail+" is not accepted")
		}
		v.AcceptedAt, v.AcceptedBy = time.Time{}, ""
		return nil
	}, `accepted_at = NULL, accepted_by = ''`)
}

func (t *txn) RevokeInvitation(ctx context.Context, id string) (store.Invitation, error) {
	const op = "revoke invitation"
	return t.changeInvitation(ctx, op, id, func(v *store.Invitation, detail string) error {
		switch {
		case !v.RevokedAt.IsZero():
			return conflict(op, detail+" is already revoked")
		case !v.AcceptedAt.IsZero():
			return conflict(op, fmt.Sprintf("%s was accepted by %q", detail, v.AcceptedBy))
		}
		v.RevokedAt = t.now
		return nil
	}, `revoked_at = $2`, t.s.b.TimeArg(t.now))
}

// changeInvitation is every invitation state change: read the
// invitation, let change refuse (a conflict) or apply it, write the
// columns of set (arguments from $2), record the change.
func (t *txn) changeInvitation(ctx context.Context, op, id string, change func(v *store.Invitation, detail string) error, set string, args ...any) (store.Invitation, error) {
	if err := t.begin(op); err != nil {
		return store.Invitation{}, err
	}
	v, err := t.GetInvitation(ctx, id)
	if err != nil {
		return store.Invitation{}, err
	}
	detail := "invitation " + q(id)
	if err := change(&v, detail); err != nil {
		return store.Invitation{}, err
	}
	if _, err := t.exec(ctx, op, detail, `UPDATE invitations SET `+set+` WHERE id = $1`, append([]any{id}, args...)...); err != nil {
		return store.Invitation{}, err
	}
	return v, t.recordInvitation(ctx, op, v)
}
