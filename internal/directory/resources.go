package directory

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/internal/secretref"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// Resource permissions. A resource of type T is managed with T:<action>
// (the permission the platform itself checks, e.g. chains:create) or with
// the generic resources:<action>; either suffices, at the resource's scope
// (its namespace for create and list; the resource itself, shares
// included, for the others). Reading versions and diffs is T:read.

// Secret references (package secretref). A spec names secrets of its
// resource's namespace in its top-level "secrets" member. The directory
// checks them on every write, inside the write's transaction: the writer
// needs secrets:list in the namespace, each secret must exist there, and
// each one's referable_by restriction must admit the writer. On every read
// a principal without secrets:list in the namespace sees specs and diffs
// without them. Neither is optional: nothing is installed for it.

// listsSecrets reports whether the actor holds secrets:list in ns (at org
// scope for "").
func (o *op) listsSecrets(ns string) bool {
	return o.holds(authz.Scope{Namespace: ns}, secretref.PermList)
}

// checkSpec vets the secret references of a spec being written to ref.
// Errors wrap ErrInvalid or ErrForbidden (400 or 403), or are the store's.
func (o *op) checkSpec(ref authz.ResourceRef, spec json.RawMessage) error {
	if spec == nil {
		return nil
	}
	names, err := secretref.Names(spec)
	if err != nil {
		return &InvalidError{Field: "spec.secrets", Reason: err.Error()}
	}
	if err := secretref.CheckCredential(spec, names); err != nil {
		return &InvalidError{Field: "spec.credential", Reason: err.Error()}
	}
	if len(names) == 0 {
		return nil
	}
	if !o.listsSecrets(ref.Namespace) {
		return &ForbiddenError{Permission: secretref.PermList.String(), Scope: authz.Scope{Namespace: ref.Namespace}}
	}
	// One read for every name; only the metadata is used.
	found, err := o.r.GetSealedSecrets(o.ctx, o.org, ref.Namespace, names)
	if err != nil {
		return err
	}
	byName := make(map[string]store.Secret, len(found))
	for _, s := range found {
		byName[s.Secret.Name] = s.Secret
	}
	for _, n := range names {
		s, ok := byName[n]
		if !ok {
			return &InvalidError{Field: "spec.secrets", Reason: fmt.Sprintf("secret %q does not exist in namespace %q", n, ref.Namespace)}
		}
		ok, err := secretref.Admits(o.ctx, o.r, s, o.actor.Principal)
		if err != nil {
			return err
		}
		if !ok {
			return &Error{Pkg: pkg, Op: "check spec", Kind: ErrForbidden,
				Msg: fmt.Sprintf("secret %q in namespace %q may be referenced only by %s", n, ref.Namespace, strings.Join(s.ReferableBy, ", "))}
		}
	}
	return nil
}

// redactSpec returns a spec of ref as the actor may see it.
func (o *op) redactSpec(ref authz.ResourceRef, spec json.RawMessage) json.RawMessage {
	if spec == nil || o.listsSecrets(ref.Namespace) {
		return spec
	}
	return secretref.RedactSpec(spec)
}

// redactDiff returns a version diff of ref as the actor may see it.
func (o *op) redactDiff(ref authz.ResourceRef, d []store.DiffEntry) []store.DiffEntry {
	if o.listsSecrets(ref.Namespace) {
		return d
	}
	return secretref.RedactDiff(d)
}

// ResourceSpec describes a new resource.
type ResourceSpec struct {
	Namespace  string            `json:"namespace"`
	Type       string            `json:"type"`
	ID         string            `json:"id"`
	Labels     map[string]string `json:"labels,omitempty"`
	Attributes map[string]any    `json:"attributes,omitempty"`
	Spec       json.RawMessage   `json:"spec,omitempty"`
}

func checkRef(ref authz.ResourceRef) error {
	if err := checkSlugIdent("namespace", ref.Namespace); err != nil {
		return err
	}
	if err := checkName("type", ref.Type); err != nil {
		return err
	}
	return checkResourceID("id", ref.ID)
}

// needResource requires T:<action> or resources:<action> at sc.
func (o *op) needResource(typ, action string, sc authz.Scope) error {
	return o.needAny(sc, typ+":"+action, "resources:"+action)
}

// CreateResource creates a resource at version 1. Needs <type>:create or
// resources:create in its namespace. Gatehouse's system types (members,
// bindings, secrets, ...) are not resource types.
func (d *Directory) CreateResource(ctx context.Context, actor Actor, org string, spec ResourceSpec) (store.Resource, uint64, error) {
	if err := spec.check(); err != nil {
		return store.Resource{}, 0, err
	}
	var out store.Resource
	rev, err := d.write(ctx, "create resource", org, actor, func(o *op) error {
		var err error
		out, err = o.createResource(spec)
		return err
	})
	return out, rev, err
}

// check validates the spec's reference.
func (spec ResourceSpec) check() error {
	if err := checkRef(authz.ResourceRef{Namespace: spec.Namespace, Type: spec.Type, ID: spec.ID}); err != nil {
		return err
	}
	if systemTypes[spec.Type] {
		return invalid("type", "%q is one of Gatehouse's own types", spec.Type)
	}
	return checkNewResourceID("id", spec.ID)
}

// createResource authorizes and creates a resource (spec checked) inside a
// write.
func (o *op) createResource(spec ResourceSpec) (store.Resource, error) {
	ref := authz.ResourceRef{Namespace: spec.Namespace, Type: spec.Type, ID: spec.ID}
	o.note.Target = "resource/" + store.RefKey(ref)
	if err := o.needResource(spec.Type, "create", authz.Scope{Namespace: spec.Namespace}); err != nil {
		return store.Resource{}, err
	}
	if err := o.checkSpec(ref, spec.Spec); err != nil {
		return store.Resource{}, err
	}
	return o.tx.CreateResource(o.ctx, store.Resource{
		Resource: authz.Resource{Namespace: spec.Namespace, Type: spec.Type, ID: spec.ID, Labels: spec.Labels, Attributes: spec.Attributes},
		Org:      o.org,
		Spec:     spec.Spec,
	}, o.actor.Principal)
}

// ResourceChange changes a resource and records a new version; nil fields
// keep their value (Spec: JSON null clears it).
type ResourceChange struct {
	Labels     *map[string]string
	Attributes *map[string]any
	Spec       json.RawMessage
	IfVersion  uint64 // when set, ErrConflict unless the current version is this
}

// UpdateResource changes a resource. Needs <type>:update or
// resources:update on it.
func (d *Directory) UpdateResource(ctx context.Context, actor Actor, org string, ref authz.ResourceRef, c ResourceChange) (store.Resource, uint64, error) {
	if err := checkRef(ref); err != nil {
		return store.Resource{}, 0, err
	}
	var out store.Resource
	rev, err := d.write(ctx, "update resource", org, actor, func(o *op) error {
		o.note.Target = "resource/" + store.RefKey(ref)
		// The permission before the lookup: no existence oracle.
		if err := o.needResource(ref.Type, "update", resourceScope(ref)); err != nil {
			return err
		}
		if _, err := o.tx.GetResource(ctx, org, ref); err != nil {
			return err
		}
		if err := o.checkSpec(ref, c.Spec); err != nil {
			return err
		}
		var err error
		out, err = o.tx.UpdateResource(ctx, store.ResourceUpdate{
			Org: org, Ref: ref, Labels: c.Labels, Attributes: c.Attributes, Spec: c.Spec,
			Author: actor.Principal, IfVersion: c.IfVersion,
		})
		return err
	})
	return out, rev, err
}

// DeleteResource deletes a resource with its versions and the bindings
// scoped to it (its shares). Needs <type>:delete or resources:delete on it.
func (d *Directory) DeleteResource(ctx context.Context, actor Actor, org string, ref authz.ResourceRef) (uint64, error) {
	if err := checkRef(ref); err != nil {
		return 0, err
	}
	return d.write(ctx, "delete resource", org, actor, func(o *op) error {
		o.note.Target = "resource/" + store.RefKey(ref)
		// The permission before the lookup: no existence oracle.
		if err := o.needResource(ref.Type, "delete", resourceScope(ref)); err != nil {
			return err
		}
		if _, err := o.tx.GetResource(ctx, org, ref); err != nil {
			return err
		}
		return o.tx.DeleteResource(ctx, org, ref)
	})
}

// readable resolves a resource the actor may read.
func (o *op) readable(ref authz.ResourceRef) (store.Resource, error) {
	if err := checkRef(ref); err != nil {
		return store.Resource{}, err
	}
	// The permission first: a caller who may not read it gets the same
	// refusal whether or not it exists (no existence oracle).
	if err := o.needResource(ref.Type, "read", resourceScope(ref)); err != nil {
		return store.Resource{}, err
	}
	return o.r.GetResource(o.ctx, o.org, ref)
}

// GetResource returns a resource with its current spec. Needs <type>:read
// or resources:read on it.
func (d *Directory) GetResource(ctx context.Context, actor Actor, org string, ref authz.ResourceRef) (store.Resource, error) {
	var out store.Resource
	err := d.read(ctx, "get resource", org, actor, func(o *op) error {
		var err error
		out, err = o.readable(ref)
		out.Spec = o.redactSpec(ref, out.Spec)
		return err
	})
	return out, err
}

// ResourceFilter narrows ListResources.
type ResourceFilter struct {
	Namespace string
	Type      string
}

// ListResources lists, in (namespace, type, id) order, the resources the
// actor may read (<type>:read or resources:read on each, shares included).
// A page holds at most p.Size resources and may hold fewer (even none)
// while more follow: continue while the next cursor is not "".
func (d *Directory) ListResources(ctx context.Context, actor Actor, org string, f ResourceFilter, p store.Page) ([]store.Resource, string, error) {
	var out []store.Resource
	var next string
	err := d.read(ctx, "list resources", org, actor, func(o *op) error {
		if f.Namespace != "" {
			if err := checkSlugIdent("namespace", f.Namespace); err != nil {
				return err
			}
		}
		if f.Type != "" {
			if err := checkName("type", f.Type); err != nil {
				return err
			}
		}
		rs, n, err := o.r.ListResources(ctx, org, store.ResourceFilter{Namespace: f.Namespace, Type: f.Type}, p)
		if err != nil {
			return err
		}
		next = n
		for _, r := range rs {
			if o.needResource(r.Type, "read", resourceScope(r.Ref())) == nil {
				out = append(out, r)
			}
		}
		return nil
	})
	return out, next, err
}

// ListResourceVersions lists a resource's versions, newest first, without
// specs. Needs read on the resource.
func (d *Directory) ListResourceVersions(ctx context.Context, actor Actor, org string, ref authz.ResourceRef, p store.Page) ([]store.ResourceVersion, string, error) {
	var out []store.ResourceVersion
	var next string
	err := d.read(ctx, "list resource versions", org, actor, func(o *op) error {
		if _, err := o.readable(ref); err != nil {
			return err
		}
		var err error
		out, next, err = o.r.ListResourceVersions(ctx, org, ref, p)
		return err
	})
	return out, next, err
}

// GetResourceVersion returns one version of a resource, with its spec and
// author. Needs read on the resource.
func (d *Directory) GetResourceVersion(ctx context.Context, actor Actor, org string, ref authz.ResourceRef, version uint64) (store.ResourceVersion, error) {
	var out store.ResourceVersion
	err := d.read(ctx, "get resource version", org, actor, func(o *op) error {
		if _, err := o.readable(ref); err != nil {
			return err
		}
		var err error
		out, err = o.r.GetResourceVersion(ctx, org, ref, version)
		out.Spec = o.redactSpec(ref, out.Spec)
		return err
	})
	return out, err
}

// DiffResourceVersions says what changed from version from to version to
// ("what changed in this chain, and who changed it": the versions carry
// their authors). Needs read on the resource.
func (d *Directory) DiffResourceVersions(ctx context.Context, actor Actor, org string, ref authz.ResourceRef, from, to uint64) ([]store.DiffEntry, error) {
	var out []store.DiffEntry
	err := d.read(ctx, "diff resource versions", org, actor, func(o *op) error {
		if _, err := o.readable(ref); err != nil {
			return err
		}
		var err error
		out, err = o.r.DiffResourceVersions(ctx, org, ref, from, to)
		if err == nil {
			out = o.redactDiff(ref, out)
		}
		return err
	})
	return out, err
}
