package sqlcore

import (
	"context"
	"fmt"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

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
	o.Lifecycle = authz.LifecycleSettings{}
	if _, err := t.exec(ctx, op, detail, `INSERT INTO orgs (`+orgCols+`) VALUES ($1, $2, $3, $4, 0, 0, 0, 0)`,
		o.ID, o.Name, o.Template, t.s.b.TimeArg(t.now)); err != nil {
		return store.Org{}, err
	}
	ns := store.Namespace{Org: o.ID, Name: authz.DefaultNamespace, CreatedAt: t.now}
	if _, err := t.exec(ctx, op, detail, `INSERT INTO namespaces (`+namespaceCols+`) VALUES ($1, $2, $3)`,
		ns.Org, ns.Name, t.s.b.TimeArg(t.now)); err != nil {
		return store.Org{}, err
	}
	t.noteFound(namespaceExistsSQL, ns.Org, ns.Name)
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
	"secret_versions", "secrets", "run_tokens", "agent_tokens",
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
	if ok, err := t.exists(ctx, op, detail, namespaceExistsSQL, org, name); err != nil {
		return store.Namespace{}, err
	} else if ok {
		return store.Namespace{}, conflict(op, detail+" already exists")
	}
	ns := store.Namespace{Org: org, Name: name, CreatedAt: t.now}
	if _, err := t.exec(ctx, op, detail, `INSERT INTO namespaces (`+namespaceCols+`) VALUES ($1, $2, $3)`,
		org, name, t.s.b.TimeArg(t.now)); err != nil {
		return store.Namespace{}, err
	}
	t.noteFound(namespaceExistsSQL, org, name)
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
