package directory

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/policy"
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
		return &Error{Pkg: pkg, Op: name, Kind: ErrNotFound, Cause: err}
	case errors.Is(err, authz.ErrInvalid):
		return &Error{Pkg: pkg, Op: name, Msg: fmt.Sprint(err), Kind: ErrInvalid, Cause: err}
	}
	return &Error{Pkg: pkg, Op: name, Kind: ErrUnavailable, Cause: err}
}

// Check decides req (req.Org is the org asked about): it authorizes the
// question (decide, remembered per engine revision: see askCache), asks
// the engine and records the decision when the org's audit settings want
// it. Every decision goes through Check or an Asker, and both go through
// Asker.Check, so authorization and decision logging see them all.
func (d *Directory) Check(ctx context.Context, actor Actor, req authz.Request, atLeast uint64) (authz.Decision, error) {
	if atLeast > 0 {
		if err := d.WaitFor(ctx, atLeast); err != nil {
			return authz.Decision{}, err
		}
	}
	a := d.Asker(actor)
	return a.Check(ctx, &req)
}

// Asker answers one actor's checks, one after another (a request, or a
// batch of checks): it is Check without consistency.at_least, plus a
// memo of the questions the actor was found allowed to ask, so a batch
// asking many times about a few namespaces consults the shared cache
// once per namespace. An Asker is not safe for concurrent use; its zero
// value is not usable (make one with Directory.Asker).
type Asker struct {
	d     *Directory
	actor Actor
	rev   uint64 // the engine revision keys[:n] were found allowed at
	n     int
	keys  [askMemoMax]askKey // no lock, no shared map, no allocation
}

// askMemoMax bounds an Asker's memo (a batch asks about a few
// namespaces; beyond that the shared cache answers).
const askMemoMax = 8

// Asker returns an Asker for actor's checks.
func (d *Directory) Asker(actor Actor) Asker {
	return Asker{d: d, actor: actor}
}

// Check decides req as Directory.Check does (without waiting for a
// revision). The right to ask is decided by decide the first time a kind
// of question (askKey) is asked at an engine revision and then remembered
// until the revision moves — any write, a revocation included, moves it
// and so forgets every remembered answer.
func (a *Asker) Check(ctx context.Context, req *authz.Request) (authz.Decision, error) {
	d := a.d
	ns := req.Namespace
	if ns == "" {
		ns = authz.DefaultNamespace
	}
	k := askKey{org: req.Org, actor: a.actor.Principal, namespace: ns, self: req.Principal != "" && req.Principal == a.actor.Principal}
	rev := d.eng.Revision()
	switch {
	case a.has(k, rev):
	case d.asks.allowed(k, rev):
		a.add(k, rev)
	default:
		if err := d.decide(ctx, "check", req.Org, a.actor, req.Principal, req.Namespace, 0); err != nil {
			return authz.Decision{}, err
		}
		d.asks.remember(k, rev)
		a.add(k, rev)
	}
	dec := d.eng.CheckWithReason(req)
	if dec.Allowed && req.Now.IsZero() {
		d.uses.note(d, req.Org, req.Principal) // lifetimes.go: an agent's last use
	}
	if err := d.logDecision(ctx, a.actor, req, dec); err != nil { // audit.go
		return authz.Decision{}, err
	}
	return dec, nil
}

func (a *Asker) has(k askKey, rev uint64) bool {
	if a.rev != rev {
		return false
	}
	for i := range a.n {
		if a.keys[i] == k {
			return true
		}
	}
	return false
}

// add remembers k, which the memo does not hold.
func (a *Asker) add(k askKey, rev uint64) {
	if a.rev != rev {
		a.rev, a.n = rev, 0
	}
	if a.n < askMemoMax {
		a.keys[a.n] = k
		a.n++
	}
}

// askKey is what decides whether an actor may ask a question (decide):
// asking about itself needs membership, asking about anyone else
// bindings:read in the namespace — so the subject is not part of the key,
// only whether it is the actor. Both depend only on the engine's state,
// which a revision fixes.
type askKey struct {
	org, actor, namespace string
	self                  bool
}

// askCache remembers the keys found allowed at one engine revision (only
// allowed ones: a refusal is decided again, so it says why every time).
// It is the directory's, shared by every caller, and bounded: when full
// it starts again empty.
type askCache struct {
	mu  sync.RWMutex
	rev uint64
	ok  map[askKey]struct{}
}

const askCacheMax = 1 << 16

func (c *askCache) allowed(k askKey, rev uint64) bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.rev != rev {
		return false
	}
	_, ok := c.ok[k]
	return ok
}

func (c *askCache) remember(k askKey, rev uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.rev != rev || c.ok == nil || len(c.ok) >= askCacheMax {
		if rev < c.rev {
			return
		}
		c.rev, c.ok = rev, map[askKey]struct{}{}
	}
	// The key's strings may be substrings of a request body (the server
	// decodes without copying): copy them so that the cache does not keep
	// bodies alive.
	k.org, k.actor, k.namespace = strings.Clone(k.org), strings.Clone(k.actor), strings.Clone(k.namespace)
	c.ok[k] = struct{}{}
}

// IsMember reports whether the engine holds principal (a user, agent or
// service) as a member of org at its current revision — what decide and
// the server's org-member routes require (an agent's expiry is checked
// by the credential that names it, not here). Positive answers are
// remembered for the revision.
func (d *Directory) IsMember(org, principal string) bool {
	k := askKey{org: org, actor: principal}
	rev := d.eng.Revision()
	if d.members.allowed(k, rev) {
		return true
	}
	if _, _, err := d.eng.Permissions(org, principal, authz.DefaultNamespace); err != nil {
		return false
	}
	d.members.remember(k, rev)
	return true
}

// Standing says whether the engine holds principal as a member of org
// and, if so, why it cannot act at now (zero: the current time) — expired
// or suspended — or "" when it can (authz.Engine.Standing). Credentials
// that name a principal ask it at each use.
func (d *Directory) Standing(org, principal string, now time.Time) (member bool, why authz.Reason) {
	return d.eng.Standing(org, principal, now)
}

// Missing lists the permissions of perms that principal does not hold
// unconditionally at sc in org (an org-scope grant covers every
// namespace) — the test the directory's own administrative checks make.
// Nothing is missing only for a member holding them all.
func (d *Directory) Missing(org, principal string, sc authz.Scope, perms []policy.Permission) []policy.Permission {
	return d.eng.Missing(org, principal, sc, perms)
}

// HighestLevel is the highest role level principal holds at sc in org
// (0 for none): what the escalation rules compare.
func (d *Directory) HighestLevel(org, principal string, sc authz.Scope) int {
	return d.eng.HighestLevel(org, principal, sc)
}

// Grants lists what principal holds in namespace of org, without
// authorizing anyone to ask (the caller authorizes: Permissions is the
// authorized form). authz.ErrNotFound (wrapped) when principal is not a
// member.
func (d *Directory) Grants(org, principal, namespace string) ([]authz.Grant, error) {
	gs, _, err := d.eng.Permissions(org, principal, namespace)
	return gs, err
}

// Allows is the engine's decision on req, unrecorded and without
// authorizing anyone to ask: for a caller deciding whether to do
// something itself (the vault issuing a run token to req.Principal), not
// for answering a question (Check).
func (d *Directory) Allows(req *authz.Request) bool {
	return d.eng.Check(req).Allowed
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
	if err := d.mayLookupResources(ctx, actor, q, atLeast); err != nil {
		return authz.LookupResourcesPage{}, err
	}
	page, err := d.eng.LookupResources(q)
	return page, engineErr("lookup resources", err)
}

func (d *Directory) mayLookupResources(ctx context.Context, actor Actor, q authz.LookupResourcesRequest, atLeast uint64) error {
	if q.Namespace == "" && q.Principal != actor.Principal {
		// Every namespace: needs the org-wide grant.
		if err := d.decide(ctx, "lookup resources", q.Org, actor, "", authz.DefaultNamespace, atLeast); err != nil {
			return err
		}
		o := &op{d: d, ctx: ctx, name: "lookup resources", org: q.Org, actor: actor}
		return o.need("bindings:read", authz.Scope{})
	}
	return d.decide(ctx, "lookup resources", q.Org, actor, q.Principal, q.Namespace, atLeast)
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
