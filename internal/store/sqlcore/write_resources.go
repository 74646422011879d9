package sqlcore

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

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
	t.noteFound(resourceExistsSQL, r.Org, r.Namespace, r.Type, r.ID)
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
