package sqlcore

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// The vault's tables (migration 00003): secrets, secret_versions,
// run_tokens, vault_keys. Sealed bytes go in and out as opaque blobs; no
// message built here ever includes them.

var (
	_ store.SecretReader = reader{}
	_ store.SecretWriter = (*txn)(nil)
)

const (
	secretCols        = `org, namespace, name, description, version, expires_at, referable_by, created_by, created_at, updated_by, updated_at, rotated_at, last_used_at`
	secretVersionCols = `org, namespace, name, version, key_id, wrapped_key, ciphertext, created_by, created_at`
	// secretVersionMetaCols reads a version without its sealed bytes.
	secretVersionMetaCols = `org, namespace, name, version, key_id, NULL, NULL, created_by, created_at`
	runTokenCols          = `org, id, namespace, type, resource_id, resource_version, secrets, issued_by, runtime, created_at, expires_at, used_at, used_by, approval_id, on_behalf_of`
	vaultKeyCols          = `id, key_check, created_at, retired_at`
)

func scanSecret(r Rows) (s store.Secret, err error) {
	var version int64
	var refs []byte
	if err = r.Scan(&s.Org, &s.Namespace, &s.Name, &s.Description, &version, scanTime(&s.ExpiresAt), &refs,
		&s.CreatedBy, scanTime(&s.CreatedAt), &s.UpdatedBy, scanTime(&s.UpdatedAt), scanTime(&s.RotatedAt), scanTime(&s.LastUsedAt)); err != nil {
		return s, err
	}
	s.Version = uint64(version)
	s.ReferableBy, err = decodeStrings(refs)
	if len(s.ReferableBy) == 0 {
		s.ReferableBy = nil
	}
	return s, err
}

func scanSecretVersion(r Rows) (v store.SecretVersion, err error) {
	var version, keyID int64
	if err = r.Scan(&v.Org, &v.Namespace, &v.Name, &version, &keyID, &v.WrappedKey, &v.Ciphertext, &v.CreatedBy, scanTime(&v.CreatedAt)); err != nil {
		return v, err
	}
	if keyID < 1 || keyID > int64(^uint32(0)) {
		return v, fmt.Errorf("key id %d is out of range", keyID)
	}
	v.Version, v.KeyID = uint64(version), uint32(keyID)
	return v, nil
}

func scanRunToken(r Rows) (t store.RunToken, err error) {
	var version int64
	var secrets []byte
	if err = r.Scan(&t.Org, &t.ID, &t.Resource.Namespace, &t.Resource.Type, &t.Resource.ID, &version, &secrets,
		&t.IssuedBy, &t.Runtime, scanTime(&t.CreatedAt), scanTime(&t.ExpiresAt), scanTime(&t.UsedAt), &t.UsedBy, &t.ApprovalID, &t.OnBehalfOf); err != nil {
		return t, err
	}
	t.ResourceVersion = uint64(version)
	t.Secrets, err = decodeStrings(secrets)
	return t, err
}

func scanVaultKey(r Rows) (k store.VaultKey, err error) {
	var id int64
	if err = r.Scan(&id, &k.Check, scanTime(&k.CreatedAt), scanTime(&k.RetiredAt)); err != nil {
		return k, err
	}
	if id < 1 || id > int64(^uint32(0)) {
		return k, fmt.Errorf("key id %d is out of range", id)
	}
	k.ID = uint32(id)
	return k, nil
}

// validSecretName: environment-variable names, [A-Z_][A-Z0-9_]*.
func validSecretName(s string) bool {
	if len(s) == 0 || len(s) > store.MaxSecretNameBytes {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'A' && c <= 'Z', c == '_':
		case c >= '0' && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

// validRunTokenID: 64 lower-case hex digits.
func validRunTokenID(s string) bool { return lowerHex(s, 64) }

// lowerHex reports whether s is n lower-case hex digits.
func lowerHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

func (c *checks) secretKey(org, ns, name string) {
	c.org(org)
	c.need(validSlug(ns), "namespace %q is not a slug", ns)
	c.need(validSecretName(name), "secret name %q is not an environment variable name ([A-Z_][A-Z0-9_]*, at most %d bytes)", name, store.MaxSecretNameBytes)
}

func (c *checks) principalText(field, p string) {
	c.need(p != "" && validText(p, 256), "%s %q is not printable text of 1 to 256 bytes", field, p)
}

// referableBy validates and normalizes (sorted, unique) a reference
// restriction, returning its JSON.
func (c *checks) referableBy(refs []string) ([]string, string) {
	c.need(len(refs) <= store.MaxReferableBy, "referable_by has more than %d entries", store.MaxReferableBy)
	out := slices.Clone(refs)
	slices.Sort(out)
	out = slices.Compact(out)
	for _, r := range out {
		if role, ok := strings.CutPrefix(r, "role:"); ok {
			c.need(validName(role), "referable_by entry %q: role name is malformed", r)
			continue
		}
		_, _, ok := splitPrincipal(r)
		c.need(ok, "referable_by entry %q is not user:<id>, team:<slug>, agent:<name>, service:<name> or role:<name>", r)
	}
	if len(out) == 0 {
		return nil, "[]"
	}
	b, _ := json.Marshal(out) // strings only: cannot fail
	return out, string(b)
}

func (c *checks) sealed(v store.SecretVersion) {
	c.need(v.KeyID >= 1, "key id must be at least 1")
	c.need(len(v.WrappedKey) > 0 && len(v.WrappedKey) <= store.MaxSealedBytes, "wrapped key must be 1 to %d bytes", store.MaxSealedBytes)
	c.need(len(v.Ciphertext) > 0 && len(v.Ciphertext) <= store.MaxSealedBytes, "ciphertext must be 1 to %d bytes", store.MaxSealedBytes)
}

func secretDetail(org, ns, name string) string {
	return fmt.Sprintf("secret %q in namespace %q of org %q", name, ns, org)
}

// --- reads

func (r reader) GetSecret(ctx context.Context, org, namespace, name string) (store.Secret, error) {
	return get(ctx, r, "get secret", secretDetail(org, namespace, name), scanSecret,
		`SELECT `+secretCols+` FROM secrets WHERE org = $1 AND namespace = $2 AND name = $3`, org, namespace, name)
}

func (r reader) ListSecrets(ctx context.Context, org string, f store.SecretFilter, p store.Page) ([]store.Secret, string, error) {
	ls := listSpec[store.Secret]{
		op: "list secrets", list: "secrets", scope: org,
		sql: `SELECT ` + secretCols + ` FROM secrets WHERE org = $1`, args: []any{org},
		keyCols: []string{"namespace", "name"},
		keys:    func(s store.Secret) []string { return []string{s.Namespace, s.Name} },
		scan:    scanSecret,
	}
	if f.Namespace != "" {
		ls.sql += ` AND namespace = $2`
		ls.args = append(ls.args, f.Namespace)
		ls.list = "secrets-ns"
		ls.scope = org + "/" + f.Namespace
	}
	return list(ctx, r, ls, p)
}

func (r reader) GetSecretVersion(ctx context.Context, org, namespace, name string, version uint64) (store.SecretVersion, error) {
	const op = "get secret version"
	detail := secretDetail(org, namespace, name)
	if version == 0 {
		return get(ctx, r, op, detail, scanSecretVersion,
			`SELECT v.`+strings.ReplaceAll(secretVersionCols, ", ", ", v.")+` FROM secret_versions v JOIN secrets s
			 ON s.org = v.org AND s.namespace = v.namespace AND s.name = v.name AND s.version = v.version
			 WHERE s.org = $1 AND s.namespace = $2 AND s.name = $3`, org, namespace, name)
	}
	if version > maxInt64 {
		return store.SecretVersion{}, store.Errorf(store.ErrNotFound, op, fmt.Sprintf("version %d of %s", version, detail), nil)
	}
	return get(ctx, r, op, fmt.Sprintf("version %d of %s", version, detail), scanSecretVersion,
		`SELECT `+secretVersionCols+` FROM secret_versions WHERE org = $1 AND namespace = $2 AND name = $3 AND version = $4`,
		org, namespace, name, int64(version))
}

const maxInt64 = 1<<63 - 1

func (r reader) ListSecretVersions(ctx context.Context, org, namespace, name string, p store.Page) ([]store.SecretVersion, string, error) {
	const op = "list secret versions"
	detail := secretDetail(org, namespace, name)
	ok, err := r.exists(ctx, op, detail, `SELECT 1 FROM secrets WHERE org = $1 AND namespace = $2 AND name = $3`, org, namespace, name)
	if err != nil {
		return nil, "", err
	}
	if !ok {
		return nil, "", store.Errorf(store.ErrNotFound, op, detail, nil)
	}
	return list(ctx, r, listSpec[store.SecretVersion]{
		op: op, list: "secret-versions", scope: org + "/" + namespace + "/" + name,
		sql:  `SELECT ` + secretVersionMetaCols + ` FROM secret_versions WHERE org = $1 AND namespace = $2 AND name = $3`,
		args: []any{org, namespace, name}, keyCols: []string{"version"}, desc: true, intKeys: true,
		keys: func(v store.SecretVersion) []string { return []string{u64s(v.Version)} }, scan: scanSecretVersion,
	}, p)
}

func (r reader) GetSealedSecrets(ctx context.Context, org, namespace string, names []string) ([]store.SealedSecret, error) {
	const op = "get sealed secrets"
	if len(names) == 0 {
		return nil, nil
	}
	if len(names) > store.MaxRunTokenSecrets {
		return nil, invalid(op, "more than %d names", store.MaxRunTokenSecrets)
	}
	var b strings.Builder
	b.WriteString(`SELECT s.` + strings.ReplaceAll(secretCols, ", ", ", s.") + `, v.` + strings.ReplaceAll(secretVersionCols, ", ", ", v.") +
		` FROM secrets s JOIN secret_versions v
		 ON v.org = s.org AND v.namespace = s.namespace AND v.name = s.name AND v.version = s.version
		 WHERE s.org = $1 AND s.namespace = $2 AND s.name IN (`)
	args := []any{org, namespace}
	for i, n := range names {
		if i > 0 {
			b.WriteString(", ")
		}
		args = append(args, n)
		fmt.Fprintf(&b, "$%d", len(args))
	}
	b.WriteString(") ORDER BY s.name")
	return all(ctx, r, op, fmt.Sprintf("namespace %q of org %q", namespace, org), scanSealedSecret, b.String(), args...)
}

func scanSealedSecret(r Rows) (x store.SealedSecret, err error) {
	var version, vversion, keyID int64
	var refs []byte
	s, v := &x.Secret, &x.Current
	if err = r.Scan(&s.Org, &s.Namespace, &s.Name, &s.Description, &version, scanTime(&s.ExpiresAt), &refs,
		&s.CreatedBy, scanTime(&s.CreatedAt), &s.UpdatedBy, scanTime(&s.UpdatedAt), scanTime(&s.RotatedAt), scanTime(&s.LastUsedAt),
		&v.Org, &v.Namespace, &v.Name, &vversion, &keyID, &v.WrappedKey, &v.Ciphertext, &v.CreatedBy, scanTime(&v.CreatedAt)); err != nil {
		return x, err
	}
	if keyID < 1 || keyID > int64(^uint32(0)) {
		return x, fmt.Errorf("key id %d is out of range", keyID)
	}
	s.Version, v.Version, v.KeyID = uint64(version), uint64(vversion), uint32(keyID)
	if s.ReferableBy, err = decodeStrings(refs); len(s.ReferableBy) == 0 {
		s.ReferableBy = nil
	}
	return x, err
}

func (r reader) GetRunToken(ctx context.Context, org, id string) (store.RunToken, error) {
	return get(ctx, r, "get run token", fmt.Sprintf("run token in org %q", org), scanRunToken,
		`SELECT `+runTokenCols+` FROM run_tokens WHERE org = $1 AND id = $2`, org, id)
}

func (r reader) ListVaultKeys(ctx context.Context) ([]store.VaultKey, error) {
	return all(ctx, r, "list vault keys", "", scanVaultKey, `SELECT `+vaultKeyCols+` FROM vault_keys ORDER BY id`)
}

func (r reader) CountSecretVersionsByKey(ctx context.Context) (map[uint32]int64, error) {
	type count struct {
		id, n int64
	}
	rows, err := all(ctx, r, "count secret versions by key", "", func(r Rows) (c count, err error) {
		err = r.Scan(&c.id, &c.n)
		return c, err
	}, `SELECT key_id, COUNT(*) FROM secret_versions GROUP BY key_id ORDER BY key_id`)
	if err != nil {
		return nil, err
	}
	out := make(map[uint32]int64, len(rows))
	for _, c := range rows {
		if c.id >= 1 && c.id <= int64(^uint32(0)) {
			out[uint32(c.id)] = c.n
		}
	}
	return out, nil
}

func (r reader) ListSecretVersionsByKey(ctx context.Context, keyID uint32, after store.SecretVersionKey, limit int) ([]store.SecretVersion, error) {
	const op = "list secret versions by key"
	if limit < 1 || limit > store.MaxPageSize {
		return nil, invalid(op, "limit %d is outside 1..%d", limit, store.MaxPageSize)
	}
	if after.Version > maxInt64 {
		return nil, invalid(op, "version %d is out of range", after.Version)
	}
	return all(ctx, r, op, fmt.Sprintf("key %d", keyID), scanSecretVersion,
		`SELECT `+secretVersionCols+` FROM secret_versions WHERE key_id = $1 AND (org, namespace, name, version) > ($2, $3, $4, $5)
		 ORDER BY org, namespace, name, version LIMIT $6`,
		int64(keyID), after.Org, after.Namespace, after.Name, int64(after.Version), limit)
}

// --- writes

func (t *txn) CreateSecret(ctx context.Context, s store.Secret, v store.SecretVersion) (store.Secret, error) {
	const op = "create secret"
	if err := t.begin(op); err != nil {
		return store.Secret{}, err
	}
	c := checks{op: op}
	c.secretKey(s.Org, s.Namespace, s.Name)
	c.need(validText(s.Description, store.MaxSecretDescBytes), "description is not printable text of at most %d bytes", store.MaxSecretDescBytes)
	c.principalText("created_by", s.CreatedBy)
	refs, refsJSON := c.referableBy(s.ReferableBy)
	c.need(v.Org == s.Org && v.Namespace == s.Namespace && v.Name == s.Name, "the version names another secret")
	c.need(v.Version == 1, "the first version must be version 1, not %d", v.Version)
	c.sealed(v)
	if c.err != nil {
		return store.Secret{}, c.err
	}
	if err := t.requireNamespace(ctx, op, s.Org, s.Namespace); err != nil {
		return store.Secret{}, err
	}
	detail := secretDetail(s.Org, s.Namespace, s.Name)
	if ok, err := t.exists(ctx, op, detail, `SELECT 1 FROM secrets WHERE org = $1 AND namespace = $2 AND name = $3`, s.Org, s.Namespace, s.Name); err != nil {
		return store.Secret{}, err
	} else if ok {
		return store.Secret{}, conflict(op, detail+" already exists")
	}
	out := store.Secret{
		Org: s.Org, Namespace: s.Namespace, Name: s.Name, Description: s.Description, Version: 1,
		ExpiresAt: truncTime(s.ExpiresAt), ReferableBy: refs,
		CreatedBy: s.CreatedBy, CreatedAt: t.now, UpdatedBy: s.CreatedBy, UpdatedAt: t.now,
	}
	if _, err := t.exec(ctx, op, detail, `INSERT INTO secrets (`+secretCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
		out.Org, out.Namespace, out.Name, out.Description, int64(1), t.s.nullTime(out.ExpiresAt), refsJSON,
		out.CreatedBy, t.s.b.TimeArg(t.now), out.UpdatedBy, t.s.b.TimeArg(t.now), nil, nil); err != nil {
		return store.Secret{}, err
	}
	if err := t.insertSecretVersion(ctx, op, detail, v, s.CreatedBy); err != nil {
		return store.Secret{}, err
	}
	return out, t.record(ctx, op, store.KindSecretPut, out.Org, store.SecretKey(out.Namespace, out.Name), out)
}

func (t *txn) insertSecretVersion(ctx context.Context, op, detail string, v store.SecretVersion, author string) error {
	_, err := t.exec(ctx, op, detail, `INSERT INTO secret_versions (`+secretVersionCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		v.Org, v.Namespace, v.Name, int64(v.Version), int64(v.KeyID), v.WrappedKey, v.Ciphertext, author, t.s.b.TimeArg(t.now))
	return err
}

func truncTime(x time.Time) time.Time {
	if x.IsZero() {
		return time.Time{}
	}
	return x.UTC().Truncate(time.Microsecond)
}

func (t *txn) UpdateSecret(ctx context.Context, u store.SecretUpdate) (store.Secret, error) {
	const op = "update secret"
	if err := t.begin(op); err != nil {
		return store.Secret{}, err
	}
	c := checks{op: op}
	c.secretKey(u.Org, u.Namespace, u.Name)
	c.principalText("author", u.Author)
	if u.Description != nil {
		c.need(validText(*u.Description, store.MaxSecretDescBytes), "description is not printable text of at most %d bytes", store.MaxSecretDescBytes)
	}
	var refs []string
	refsJSON := ""
	if u.ReferableBy != nil {
		refs, refsJSON = c.referableBy(*u.ReferableBy)
	}
	if u.NewVersion != nil {
		v := *u.NewVersion
		c.need(v.Org == u.Org && v.Namespace == u.Namespace && v.Name == u.Name, "the version names another secret")
		c.sealed(v)
	}
	c.need(!u.Rotated || u.NewVersion != nil, "a rotation needs a new version")
	if c.err != nil {
		return store.Secret{}, c.err
	}
	cur, err := t.GetSecret(ctx, u.Org, u.Namespace, u.Name)
	if err != nil {
		return store.Secret{}, err
	}
	detail := secretDetail(u.Org, u.Namespace, u.Name)
	if u.IfVersion != 0 && u.IfVersion != cur.Version {
		return store.Secret{}, conflict(op, fmt.Sprintf("%s is at version %d, not %d", detail, cur.Version, u.IfVersion))
	}
	if u.NewVersion != nil && u.NewVersion.Version != cur.Version+1 {
		return store.Secret{}, conflict(op, fmt.Sprintf("%s is at version %d; the new version must be %d, not %d", detail, cur.Version, cur.Version+1, u.NewVersion.Version))
	}
	if u.Description != nil {
		cur.Description = *u.Description
	}
	if u.ExpiresAt != nil {
		cur.ExpiresAt = truncTime(*u.ExpiresAt)
	}
	if u.ReferableBy != nil {
		cur.ReferableBy = refs
	} else {
		_, refsJSON = c.referableBy(cur.ReferableBy)
	}
	if u.NewVersion != nil {
		cur.Version = u.NewVersion.Version
		if u.Rotated {
			cur.RotatedAt = t.now
		}
	}
	cur.UpdatedBy, cur.UpdatedAt = u.Author, t.now
	if _, err := t.exec(ctx, op, detail, `UPDATE secrets SET description = $4, version = $5, expires_at = $6, referable_by = $7,
		updated_by = $8, updated_at = $9, rotated_at = $10 WHERE org = $1 AND namespace = $2 AND name = $3`,
		u.Org, u.Namespace, u.Name, cur.Description, int64(cur.Version), t.s.nullTime(cur.ExpiresAt), refsJSON,
		cur.UpdatedBy, t.s.b.TimeArg(t.now), t.s.nullTime(cur.RotatedAt)); err != nil {
		return store.Secret{}, err
	}
	if u.NewVersion != nil {
		if err := t.insertSecretVersion(ctx, op, detail, *u.NewVersion, u.Author); err != nil {
			return store.Secret{}, err
		}
	}
	return cur, t.record(ctx, op, store.KindSecretPut, cur.Org, store.SecretKey(cur.Namespace, cur.Name), cur)
}

func (t *txn) DeleteSecret(ctx context.Context, org, namespace, name string) error {
	const op = "delete secret"
	if err := t.begin(op); err != nil {
		return err
	}
	cur, err := t.GetSecret(ctx, org, namespace, name)
	if err != nil {
		return err
	}
	detail := secretDetail(org, namespace, name)
	for _, table := range []string{"secret_versions", "secrets"} {
		if _, err := t.exec(ctx, op, detail, `DELETE FROM `+table+` WHERE org = $1 AND namespace = $2 AND name = $3`, org, namespace, name); err != nil {
			return err
		}
	}
	return t.record(ctx, op, store.KindSecretDelete, org, store.SecretKey(namespace, name), cur)
}

func (t *txn) TouchSecrets(ctx context.Context, org, namespace string, names []string) error {
	const op = "touch secrets"
	if err := t.begin(op); err != nil {
		return err
	}
	c := checks{op: op}
	c.org(org)
	c.need(validSlug(namespace), "namespace %q is not a slug", namespace)
	c.need(len(names) <= store.MaxRunTokenSecrets, "more than %d names", store.MaxRunTokenSecrets)
	for _, n := range names {
		c.need(validSecretName(n), "secret name %q is malformed", n)
	}
	if c.err != nil || len(names) == 0 {
		return c.err
	}
	var b strings.Builder
	args := []any{org, namespace, t.s.b.TimeArg(t.now)}
	b.WriteString(`UPDATE secrets SET last_used_at = $3 WHERE org = $1 AND namespace = $2 AND name IN (`)
	for i, n := range names {
		if i > 0 {
			b.WriteString(", ")
		}
		args = append(args, n)
		fmt.Fprintf(&b, "$%d", len(args))
	}
	b.WriteString(")")
	if _, err := t.exec(ctx, op, fmt.Sprintf("namespace %q of org %q", namespace, org), b.String(), args...); err != nil {
		return err
	}
	t.unlogged = true
	return nil
}

func (t *txn) CreateRunToken(ctx context.Context, rt store.RunToken) (store.RunToken, error) {
	const op = "create run token"
	if err := t.begin(op); err != nil {
		return store.RunToken{}, err
	}
	c := checks{op: op}
	c.org(rt.Org)
	c.need(validRunTokenID(rt.ID), "run token id is not 64 lower-case hex digits")
	c.ref(rt.Resource)
	c.need(rt.ResourceVersion >= 1 && rt.ResourceVersion <= maxInt64, "resource version %d is out of range", rt.ResourceVersion)
	c.need(len(rt.Secrets) <= store.MaxRunTokenSecrets, "more than %d secrets", store.MaxRunTokenSecrets)
	names := slices.Clone(rt.Secrets)
	slices.Sort(names)
	names = slices.Compact(names)
	for _, n := range names {
		c.need(validSecretName(n), "secret name %q is malformed", n)
	}
	c.principalText("issued_by", rt.IssuedBy)
	if rt.Runtime != "" {
		_, _, ok := splitPrincipal(rt.Runtime)
		c.need(ok, "runtime %q is not a principal id", rt.Runtime)
	}
	c.need(rt.ExpiresAt.After(t.now), "the token expires before it is created")
	if c.err != nil {
		return store.RunToken{}, c.err
	}
	detail := fmt.Sprintf("run token in org %q", rt.Org)
	if err := t.requireOrg(ctx, op, rt.Org); err != nil {
		return store.RunToken{}, err
	}
	if ok, err := t.exists(ctx, op, detail, `SELECT 1 FROM run_tokens WHERE org = $1 AND id = $2`, rt.Org, rt.ID); err != nil {
		return store.RunToken{}, err
	} else if ok {
		return store.RunToken{}, conflict(op, detail+" already exists")
	}
	if names == nil {
		names = []string{}
	}
	out := rt
	out.Secrets, out.CreatedAt, out.ExpiresAt, out.UsedAt, out.UsedBy = names, t.now, truncTime(rt.ExpiresAt), time.Time{}, ""
	if _, err := t.exec(ctx, op, detail, `DELETE FROM run_tokens WHERE org = $1 AND expires_at < $2`, rt.Org, t.s.b.TimeArg(t.now)); err != nil {
		return store.RunToken{}, err
	}
	secretsJSON, _ := json.Marshal(names) // strings only: cannot fail
	if _, err := t.exec(ctx, op, detail, `INSERT INTO run_tokens (`+runTokenCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`,
		out.Org, out.ID, out.Resource.Namespace, out.Resource.Type, out.Resource.ID, int64(out.ResourceVersion), string(secretsJSON),
		out.IssuedBy, out.Runtime, t.s.b.TimeArg(t.now), t.s.b.TimeArg(out.ExpiresAt), nil, "", out.ApprovalID, out.OnBehalfOf); err != nil {
		return store.RunToken{}, err
	}
	t.unlogged = true
	return out, nil
}

func (t *txn) UseRunToken(ctx context.Context, org, id, usedBy string) (store.RunToken, error) {
	const op = "use run token"
	if err := t.begin(op); err != nil {
		return store.RunToken{}, err
	}
	c := checks{op: op}
	c.principalText("used_by", usedBy)
	if c.err != nil {
		return store.RunToken{}, c.err
	}
	rt, err := t.GetRunToken(ctx, org, id)
	if err != nil {
		return store.RunToken{}, err
	}
	detail := fmt.Sprintf("run token in org %q", org)
	if !rt.UsedAt.IsZero() {
		return store.RunToken{}, conflict(op, detail+" was used already")
	}
	n, err := t.exec(ctx, op, detail, `UPDATE run_tokens SET used_at = $3, used_by = $4 WHERE org = $1 AND id = $2 AND used_at IS NULL`,
		org, id, t.s.b.TimeArg(t.now), usedBy)
	if err != nil {
		return store.RunToken{}, err
	}
	if n != 1 { // cannot happen under the write lock
		return store.RunToken{}, t.fail(ctx, op, detail, fmt.Errorf("marked %d rows used", n))
	}
	t.unlogged = true
	rt.UsedAt, rt.UsedBy = t.now, usedBy
	return rt, nil
}

func (t *txn) PutVaultKey(ctx context.Context, k store.VaultKey) error {
	const op = "put vault key"
	if err := t.begin(op); err != nil {
		return err
	}
	c := checks{op: op}
	c.need(k.ID >= 1, "key id must be at least 1")
	c.need(len(k.Check) > 0 && len(k.Check) <= 1024, "key check must be 1 to 1024 bytes")
	if c.err != nil {
		return c.err
	}
	detail := fmt.Sprintf("vault key %d", k.ID)
	if ok, err := t.exists(ctx, op, detail, `SELECT 1 FROM vault_keys WHERE id = $1`, int64(k.ID)); err != nil {
		return err
	} else if ok {
		return conflict(op, detail+" is recorded already")
	}
	if _, err := t.exec(ctx, op, detail, `INSERT INTO vault_keys (`+vaultKeyCols+`) VALUES ($1, $2, $3, $4)`,
		int64(k.ID), k.Check, t.s.b.TimeArg(t.now), t.s.nullTime(k.RetiredAt)); err != nil {
		return err
	}
	t.unlogged = true
	return nil
}

func (t *txn) RetireVaultKey(ctx context.Context, id uint32) error {
	const op = "retire vault key"
	if err := t.begin(op); err != nil {
		return err
	}
	detail := fmt.Sprintf("vault key %d", id)
	if ok, err := t.exists(ctx, op, detail, `SELECT 1 FROM vault_keys WHERE id = $1`, int64(id)); err != nil {
		return err
	} else if !ok {
		return notFound(op, detail)
	}
	if used, err := t.exists(ctx, op, detail, `SELECT 1 FROM secret_versions WHERE key_id = $1 LIMIT 1`, int64(id)); err != nil {
		return err
	} else if used {
		return refused(op, detail+" still wraps data keys (run rotate-master first)")
	}
	if _, err := t.exec(ctx, op, detail, `UPDATE vault_keys SET retired_at = $2 WHERE id = $1 AND retired_at IS NULL`,
		int64(id), t.s.b.TimeArg(t.now)); err != nil {
		return err
	}
	t.unlogged = true
	return nil
}

func (t *txn) RewrapSecretVersion(ctx context.Context, v store.SecretVersion) error {
	const op = "rewrap secret version"
	if err := t.begin(op); err != nil {
		return err
	}
	c := checks{op: op}
	c.secretKey(v.Org, v.Namespace, v.Name)
	c.need(v.Version >= 1 && v.Version <= maxInt64, "version %d is out of range", v.Version)
	c.need(v.KeyID >= 1, "key id must be at least 1")
	c.need(len(v.WrappedKey) > 0 && len(v.WrappedKey) <= store.MaxSealedBytes, "wrapped key must be 1 to %d bytes", store.MaxSealedBytes)
	if c.err != nil {
		return c.err
	}
	detail := fmt.Sprintf("version %d of %s", v.Version, secretDetail(v.Org, v.Namespace, v.Name))
	n, err := t.exec(ctx, op, detail, `UPDATE secret_versions SET key_id = $5, wrapped_key = $6
		WHERE org = $1 AND namespace = $2 AND name = $3 AND version = $4`,
		v.Org, v.Namespace, v.Name, int64(v.Version), int64(v.KeyID), v.WrappedKey)
	if err != nil {
		return err
	}
	if n == 0 {
		return notFound(op, detail)
	}
	t.unlogged = true
	return nil
}

// refuseSecretsIn is DeleteNamespace's check: a namespace that still holds
// secrets is never deleted, cascade or not.
func (t *txn) refuseSecretsIn(ctx context.Context, op, org, ns, detail string) error {
	ok, err := t.exists(ctx, op, detail, `SELECT 1 FROM secrets WHERE org = $1 AND namespace = $2 LIMIT 1`, org, ns)
	if err != nil {
		return err
	}
	if ok {
		return refused(op, detail+" still holds secrets (delete them through the vault first)")
	}
	return nil
}
