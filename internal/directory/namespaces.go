package directory

import (
	"context"
	"fmt"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// CreateNamespace creates a namespace. Needs namespaces:create at org
// scope.
func (d *Directory) CreateNamespace(ctx context.Context, actor Actor, org, ns string) (store.Namespace, uint64, error) {
	if err := checkSlugIdent("namespace", ns); err != nil {
		return store.Namespace{}, 0, err
	}
	var out store.Namespace
	rev, err := d.write(ctx, "create namespace", org, actor, func(o *op) error {
		var err error
		out, err = o.createNamespace(ns)
		return err
	})
	return out, rev, err
}

// createNamespace authorizes and creates a namespace inside a write.
func (o *op) createNamespace(ns string) (store.Namespace, error) {
	if err := o.need("namespaces:create", authz.Scope{}); err != nil {
		return store.Namespace{}, err
	}
	return o.tx.CreateNamespace(o.ctx, o.org, ns)
}

// GetNamespace returns a namespace to any member: namespaces are the org's
// structure, which every member needs to find its way.
func (d *Directory) GetNamespace(ctx context.Context, actor Actor, org, ns string) (store.Namespace, error) {
	var out store.Namespace
	err := d.read(ctx, "get namespace", org, actor, func(o *op) error {
		var err error
		out, err = o.r.GetNamespace(ctx, org, ns)
		return err
	})
	return out, err
}

// ListNamespaces lists the org's namespaces to any member.
func (d *Directory) ListNamespaces(ctx context.Context, actor Actor, org string, p store.Page) ([]store.Namespace, string, error) {
	var out []store.Namespace
	var next string
	err := d.read(ctx, "list namespaces", org, actor, func(o *op) error {
		var err error
		out, next, err = o.r.ListNamespaces(ctx, org, p)
		return err
	})
	return out, next, err
}

// DeleteNamespace deletes a namespace. Needs namespaces:delete at org
// scope. A namespace that still holds resources or bindings is refused
// (ErrConflict, *InUseError) unless cascade, and a cascade needs the
// permissions for what it deletes: <type>:delete or resources:delete on
// each resource, and bindings:delete in the namespace if it holds any
// binding, with DESIGN §1.2 for each binding it removes (mayRemoveBindings:
// an admin does not take away an owner's grants there). "default" cannot
// be deleted.
func (d *Directory) DeleteNamespace(ctx context.Context, actor Actor, org, ns string, cascade bool) (uint64, error) {
	if ns == authz.DefaultNamespace {
		return 0, invalid("namespace", "the default namespace cannot be deleted")
	}
	return d.write(ctx, "delete namespace", org, actor, func(o *op) error {
		o.note.Target = "namespace/" + ns
		if err := o.need("namespaces:delete", authz.Scope{}); err != nil {
			return err
		}
		if _, err := o.tx.GetNamespace(ctx, org, ns); err != nil {
			return err
		}
		bs, _, err := o.tx.ListBindings(ctx, org, store.BindingFilter{Namespace: ns}, store.Page{Size: 3})
		if err != nil {
			return err
		}
		rs, _, err := o.tx.ListResources(ctx, org, store.ResourceFilter{Namespace: ns}, store.Page{Size: 3})
		if err != nil {
			return err
		}
		if len(bs)+len(rs) > 0 && !cascade {
			var used []string
			for _, r := range rs {
				used = append(used, fmt.Sprintf("resource %s/%s", r.Type, r.ID))
			}
			for _, b := range bs {
				used = append(used, fmt.Sprintf("binding %s", b.ID))
			}
			return &InUseError{What: fmt.Sprintf("namespace %q", ns), UsedBy: used, Hint: "delete them first, or delete with cascade"}
		}
		if cascade {
			if len(bs) > 0 {
				if err := o.need("bindings:delete", authz.Scope{Namespace: ns}); err != nil {
					return err
				}
				// Each binding the cascade removes is a removal under
				// DESIGN §1.2: what it grants and its principal's level
				// at its scope (as DeleteBinding).
				all, err := allPages(func(p store.Page) ([]store.Binding, string, error) {
					return o.tx.ListBindings(ctx, org, store.BindingFilter{Namespace: ns}, p)
				})
				if err != nil {
					return err
				}
				if err := o.mayRemoveBindings(all); err != nil {
					return err
				}
			}
			all, err := allPages(func(p store.Page) ([]store.Resource, string, error) {
				return o.tx.ListResources(ctx, org, store.ResourceFilter{Namespace: ns}, p)
			})
			if err != nil {
				return err
			}
			for _, r := range all {
				if err := o.needAny(resourceScope(r.Ref()), r.Type+":delete", "resources:delete"); err != nil {
					return err
				}
			}
		}
		return o.tx.DeleteNamespace(ctx, org, ns, store.DeleteOptions{Cascade: cascade})
	})
}

func resourceScope(r authz.ResourceRef) authz.Scope {
	return authz.Scope(r)
}
