package directory

import (
	"context"
	"errors"
	"fmt"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// Resource batches: several resources created, updated and deleted in one
// write (one transaction, one revision), each change authorized and
// audited exactly as the single-resource method authorizes and audits it
// (CreateResource, UpdateResource, DeleteResource). The MCP import
// (internal/mcp) records a server and its tools with it.

// Kinds of a ResourceWrite.
const (
	ResourceCreate = "create"
	ResourceUpdate = "update"
	ResourceDelete = "delete"
)

// ResourceWrite is one change of WriteResources. Create reads Resource;
// update reads Resource's reference and Spec (Labels and Attributes keep
// their value) and IfVersion; delete reads Resource's reference.
type ResourceWrite struct {
	Kind      string
	Resource  ResourceSpec
	IfVersion uint64 // update, delete: ErrConflict unless the current version is this
}

func (w ResourceWrite) ref() authz.ResourceRef {
	return authz.ResourceRef{Namespace: w.Resource.Namespace, Type: w.Resource.Type, ID: w.Resource.ID}
}

func (w ResourceWrite) name() string {
	switch w.Kind {
	case ResourceCreate:
		return "create resource"
	case ResourceUpdate:
		return "update resource"
	default:
		return "delete resource"
	}
}

func (w ResourceWrite) check() error {
	switch w.Kind {
	case ResourceCreate:
		return w.Resource.check()
	case ResourceUpdate, ResourceDelete:
		return checkRef(w.ref())
	default:
		return invalid("kind", "%q is not one of %s, %s, %s", w.Kind, ResourceCreate, ResourceUpdate, ResourceDelete)
	}
}

// errDryRun rolls back a dry run's transaction once every change passed.
var errDryRun = errors.New("directory: dry run")

// apply authorizes and makes w inside a write.
func (o *op) applyResource(w ResourceWrite) (store.Resource, error) {
	if w.Kind == ResourceCreate {
		return o.createResource(w.Resource)
	}
	ref := w.ref()
	o.note.Target = "resource/" + store.RefKey(ref)
	// The permission before the lookup: no existence oracle for a caller
	// who may not change it.
	if err := o.needResource(ref.Type, w.Kind, resourceScope(ref)); err != nil {
		return store.Resource{}, err
	}
	cur, err := o.tx.GetResource(o.ctx, o.org, ref)
	if err != nil {
		return store.Resource{}, err
	}
	if w.IfVersion != 0 && cur.Version != w.IfVersion {
		return store.Resource{}, &Error{Pkg: pkg, Op: w.name(), Kind: ErrConflict,
			Msg: fmt.Sprintf("resource %s is at version %d, not %d", store.RefKey(ref), cur.Version, w.IfVersion)}
	}
	if w.Kind == ResourceDelete {
		return cur, o.tx.DeleteResource(o.ctx, o.org, ref)
	}
	if err := o.checkSpec(ref, w.Resource.Spec); err != nil {
		return store.Resource{}, err
	}
	return o.tx.UpdateResource(o.ctx, store.ResourceUpdate{
		Org: o.org, Ref: ref, Spec: w.Resource.Spec, Author: o.actor.Principal, IfVersion: w.IfVersion,
	})
}

// WriteResources makes up to MaxBatch resource changes in org in one store
// transaction under one revision: all or none. Each is authorized as its
// single-resource method authorizes it (<type>:<kind> or
// resources:<kind>, the spec's secret references vetted) and audited with
// its own entry; authorization sees the org as it was before the batch,
// as Write's does. The first change that fails fails the batch (its error
// located as Write's). It returns each change's resource (a deleted one as
// it was).
//
// With dryRun, every change is authorized and made inside the
// transaction, which is then rolled back: nothing is written or audited
// (a refusal is audited, as any refused write) and the revision is 0. A
// dry run that succeeds says the same batch would have been accepted
// against the org as it is now.
func (d *Directory) WriteResources(ctx context.Context, actor Actor, org string, ws []ResourceWrite, dryRun bool) ([]store.Resource, uint64, error) {
	const name = "write resources"
	if len(ws) == 0 || len(ws) > MaxBatch {
		return nil, 0, invalid("changes", "a batch has 1 to %d changes, not %d", MaxBatch, len(ws))
	}
	for i, w := range ws {
		if err := w.check(); err != nil {
			return nil, 0, batchErr(i, err)
		}
	}
	out := make([]store.Resource, len(ws))
	rev, err := d.write(ctx, name, org, actor, func(o *op) error {
		o.unrecorded = true // each change is recorded below
		who := d.auditActor(ctx, o.tx, org, actor)
		for i, w := range ws {
			before := changeCount(o.tx)
			o.note = AuditNote{}
			r, err := o.applyResource(w)
			if err != nil {
				return batchErr(i, err)
			}
			out[i] = r
			o.note.created = w.Kind == ResourceCreate
			if dryRun {
				continue
			}
			if err := d.recordChanges(ctx, o.tx, w.name(), org, who, o.note, changesFrom(o.tx, before)); err != nil {
				return err
			}
		}
		if dryRun {
			return errDryRun
		}
		return nil
	})
	if dryRun && errors.Is(err, errDryRun) {
		return out, 0, nil
	}
	if err != nil {
		return nil, 0, err
	}
	return out, rev, nil
}
