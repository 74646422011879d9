package directory

import (
	"context"
	"errors"
	"fmt"

	"github.com/gatehouse-dev/gatehouse/authz"
)

// Decisions. A principal may always ask about itself (an agent acting on
// behalf of a user asks about itself, with the user in the request).
// Asking about another principal, or asking "who can" (LookupSubjects),
// reveals bindings, so it needs bindings:read in the namespace the question
// is about (an org-scope grant covers every namespace). The actor must be a
// member of the org (else ErrNotFound). Every method takes atLeast: when
// not 0, the answer is made at a revision ≥ atLeast (or ErrNotCaughtUp).
// Membership and permissions are read from the engine, so a decision
// costs no store round trip.

// decide authorizes a decision query about principal in namespace.
func (d *Directory) decide(ctx context.Context, name, org string, actor Actor, about, namespace string, atLeast uint64) error {
	if atLeast > 0 {
		if err := d.WaitFor(ctx, atLeast); err != nil {
			return err
		}
	}
	if checkOrgID(org) != nil || !engineActor(actor.Principal) {
		return orgNotFound(name, org)
	}
	if _, _, err := d.eng.Permissions(org, actor.Principal, authz.DefaultNamespace); err != nil {
		return orgNotFound(name, org)
	}
	if about != "" && about == actor.Principal {
		return nil
	}
	if namespace == "" {
		namespace = authz.DefaultNamespace
	}
	if checkSlugIdent("namespace", namespace) != nil {
		return invalid("namespace", "%q is not a namespace name", namespace)
	}
	o := &op{d: d, ctx: ctx, name: name, org: org, actor: actor}
	return o.need("bindings:read", authz.Scope{Namespace: namespace})
}

// engineErr maps an engine error.
func engineErr(name string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, authz.ErrNotFound):
		return &Error{Op: name, Kind: ErrNotFound, Cause: err}
	case errors.Is(err, authz.ErrInvalid):
		return &Error{Op: name, Msg: fmt.Sprint(err), Kind: ErrInvalid, Cause: err}
	}
	return &Error{Op: name, Kind: ErrUnavailable, Cause: err}
}

// Check decides req (req.Org is the org asked about).
func (d *Directory) Check(ctx context.Context, actor Actor, req authz.Request, atLeast uint64) (authz.Decision, error) {
	if err := d.decide(ctx, "check", req.Org, actor, req.Principal, req.Namespace, atLeast); err != nil {
		return authz.Decision{}, err
	}
	dec := d.eng.Check(&req)
	if err := d.logDecision(ctx, actor, &req, dec); err != nil { // audit.go
		return authz.Decision{}, err
	}
	return dec, nil
}

// CheckAsked decides req for an actor whose right to ask it is already
// established at the engine's current revision — the server remembers,
// per revision, that a caller passed Check's authorization for an org,
// namespace and subject — and records the decision in the audit log when
// the org's settings want it, exactly as Check does. Every decision goes
// through Check or CheckAsked, so decision logging sees them all.
func (d *Directory) CheckAsked(ctx context.Context, actor Actor, req *authz.Request) (authz.Decision, error) {
	dec := d.eng.Check(req)
	if err := d.logDecision(ctx, actor, req, dec); err != nil { // audit.go
		return authz.Decision{}, err
	}
	return dec, nil
}

// Explain decides req and says why.
func (d *Directory) Explain(ctx context.Context, actor Actor, req authz.Request, atLeast uint64) (authz.Explanation, error) {
	if err := d.decide(ctx, "explain", req.Org, actor, req.Principal, req.Namespace, atLeast); err != nil {
		return authz.Explanation{}, err
	}
	return d.eng.Explain(&req), nil
}

// LookupResources lists the resources q.Principal may act on. Asking
// about another principal needs bindings:read in q.Namespace (at org scope
// when q.Namespace is empty: all namespaces).
func (d *Directory) LookupResources(ctx context.Context, actor Actor, q authz.LookupResourcesRequest, atLeast uint64) (authz.LookupResourcesPage, error) {
	if q.Namespace == "" && q.Principal != actor.Principal {
		// Every namespace: needs the org-wide grant.
		if err := d.decide(ctx, "lookup resources", q.Org, actor, "", authz.DefaultNamespace, atLeast); err != nil {
			return authz.LookupResourcesPage{}, err
		}
		o := &op{d: d, ctx: ctx, name: "lookup resources", org: q.Org, actor: actor}
		if err := o.need("bindings:read", authz.Scope{}); err != nil {
			return authz.LookupResourcesPage{}, err
		}
	} else if err := d.decide(ctx, "lookup resources", q.Org, actor, q.Principal, q.Namespace, atLeast); err != nil {
		return authz.LookupResourcesPage{}, err
	}
	page, err := d.eng.LookupResources(q)
	return page, engineErr("lookup resources", err)
}

// LookupSubjects lists who may do q.Action on a resource (or its type in
// the namespace). Needs bindings:read in q.Namespace.
func (d *Directory) LookupSubjects(ctx context.Context, actor Actor, q authz.LookupSubjectsRequest, atLeast uint64) ([]authz.Subject, uint64, error) {
	if err := d.decide(ctx, "lookup subjects", q.Org, actor, "", q.Namespace, atLeast); err != nil {
		return nil, 0, err
	}
	subs, rev, err := d.eng.LookupSubjects(q)
	return subs, rev, engineErr("lookup subjects", err)
}

// Permissions lists what principal holds in namespace (for UIs that hide
// what a user cannot do).
func (d *Directory) Permissions(ctx context.Context, actor Actor, org, principal, namespace string, atLeast uint64) ([]authz.Grant, uint64, error) {
	if err := d.decide(ctx, "permissions", org, actor, principal, namespace, atLeast); err != nil {
		return nil, 0, err
	}
	gs, rev, err := d.eng.Permissions(org, principal, namespace)
	return gs, rev, engineErr("permissions", err)
}
