package directory

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/internal/audit"
	"github.com/gatehouse-dev/gatehouse/internal/ident"
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

// principalErr is engineErr for a question about principal's own
// permissions: the engine's ErrNotFound there is a principal that is not
// a member (the org was found when the question was authorized), said as
// reach says it, naming the principal and the org the caller gave.
func principalErr(name, org, principal string, err error) error {
	if errors.Is(err, authz.ErrNotFound) {
		return &Error{Pkg: pkg, Op: name, Msg: fmt.Sprintf("%s is not a member of org %s", principal, org), Kind: ErrNotFound, Cause: err}
	}
	return engineErr(name, err)
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
	// until: the questions about others in keys[:n] hold while the clock
	// is before it (the least of their gateEntry.until).
	until int64
	n     int
	keys  [askMemoMax]askKey // no lock, no shared map, no allocation
	// gate: what the org gate found for the actor (Gated), read before
	// the shared cache; it counts only for its org, actor and revision.
	gate Gate
}

// Gated gives a the org gate's finding (Directory.Member) for its actor,
// so that a check in that org at the same engine revision finds the
// right to ask there instead of in the shared cache. A Gate of another
// actor, org or revision is never used.
func (a *Asker) Gated(g Gate) { a.gate = g }

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
// and so forgets every remembered answer — and, for a question about
// another principal, no later than the first expiry of what it read
// (gateEntry.until).
func (a *Asker) Check(ctx context.Context, req *authz.Request) (authz.Decision, error) {
	d := a.d
	// A malformed question is refused before anything is recorded (no
	// decision entry, no approval) — the server validates its bodies, but
	// not every caller is the server (runs, the console).
	if err := checkRequest(req); err != nil {
		return authz.Decision{}, err
	}
	ns := req.Namespace
	if ns == "" {
		ns = authz.DefaultNamespace
	}
	k := askKey{org: req.Org, actor: a.actor.Principal, namespace: ns, self: req.Principal != "" && req.Principal == a.actor.Principal}
	rev := d.eng.Revision()
	if !a.has(k, rev) {
		e := a.gate.of(k)
		if !e.holds(k, rev) {
			e = d.gates.entry(k.org, k.actor, rev)
		}
		if e.holds(k, rev) {
			a.add(k, rev, e.until)
		} else {
			at := time.Now() // before decide: what it reads holds from then on (gateCache.remember)
			if err := d.decide(ctx, "check", req.Org, a.actor, req.Principal, req.Namespace, 0); err != nil {
				return authz.Decision{}, err
			}
			a.add(k, rev, d.gates.remember(k, rev, at))
		}
	}
	dec := d.eng.CheckWithReason(req)
	if dec.Allowed && req.Now.IsZero() && req.Principal == a.actor.Principal {
		// lifetimes.go: an agent's last use — its own authenticated
		// question only: someone asking about it is not its use, and would
		// keep an idle agent from ever becoming inactive (row 87).
		d.uses.note(d, req.Org, req.Principal)
	}
	if err := d.logDecision(ctx, a.actor, req, dec, a.gate.settings(req.Org)); err != nil { // audit.go
		return authz.Decision{}, err
	}
	return dec, nil
}

func (a *Asker) has(k askKey, rev uint64) bool {
	if a.rev != rev || !k.self && !liveAt(a.until) {
		return false
	}
	for i := range a.n {
		if a.keys[i] == k {
			return true
		}
	}
	return false
}

// add remembers k, which the memo does not hold, found allowed at rev
// until until (gateEntry.until; a question about the actor itself holds
// whatever the clock).
func (a *Asker) add(k askKey, rev uint64, until int64) {
	if a.rev != rev || !liveAt(a.until) {
		a.rev, a.n, a.until = rev, 0, forever
	}
	if a.n < askMemoMax {
		a.keys[a.n] = k
		a.n++
		if !k.self {
			a.until = min(a.until, until)
		}
	}
}

// forever is an until that no clock reaches: nothing read expires.
const forever = math.MaxInt64

// liveAt reports whether the wall clock is before until (Unix
// nanoseconds); it reads the clock only for an until that is not forever.
func liveAt(until int64) bool {
	return until == forever || time.Now().UnixNano() < until
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

// gateCache remembers, at one engine revision, the members found and the
// keys they were found allowed to ask (only allowed ones: a refusal is
// decided again, so it says why every time). It is the directory's,
// shared by every caller, and bounded: when full it starts again empty.
// One entry per (org, actor): the org gate (IsMember, Member) and the
// right to ask (Asker.Check) read the same entry, and a caller that passed
// the gate hands it to its Asker (Asker.Gated), which then finds the
// right to ask in it without a second lookup.
type gateCache struct {
	// slot finds an org's decision-log settings slot for a new entry
	// (set by Open; nil: entries carry none).
	slot func(org string) *audit.OrgSettings
	// facts finds what a new entry knows by the clock (gateEntry.until,
	// policyRead) from the instant at on (set by Open; nil: entries know
	// no policyRead and hold forever).
	facts func(org, actor string, at time.Time) gateFacts
	// off: nothing is remembered (tests compare answers with and without
	// the cache; set before use).
	off bool

	mu  sync.RWMutex
	rev uint64
	m   map[orgActor]*gateEntry
	n   int // entries plus remembered questions, bounded by askCacheMax
}

const askCacheMax = 1 << 16

// orgActor keys the gate cache.
type orgActor struct{ org, actor string }

// gateEntry: actor is a member of org at rev and was found allowed to ask
// the questions it holds at rev. Immutable once in the cache: remembering
// a question replaces the entry.
//
// Its layout is for a check on a large directory, where the entry and
// its strings are not in the processor's caches: what a check reads (the
// revision, until, the settings slot, the inline questions) is in the
// entry's first 64 bytes, and the entry is padded to 128 bytes so that
// the allocator puts it at a 64-byte boundary (TestGateEntryLayout);
// org, actor and the inline questions' namespaces are one string (names),
// so that the map's key comparison and the namespace comparisons read one
// more line, not one for each string (checkcpu7 in docs/benchmarks.md).
type gateEntry struct {
	rev uint64
	// until (Unix nanoseconds) bounds what the entry knows by the clock:
	// the questions about others (bindings:read) and policyRead hold while
	// the wall clock is before it; membership and questions about the
	// actor itself do not depend on the clock. It is the first instant,
	// after the findings were made, at which anything they read changes
	// by the clock (the actor's grants, its teams', its membership
	// expire, or a clock-based lifecycle rule — inactive, attestation
	// due — suspends it: authz.Engine.NextClockChange), or forever.
	until int64
	// settings is the org's slot in the decision log's settings cache
	// (stable for the directory's lifetime, whatever the revision), so
	// that a check the gate let in reads the settings without a second
	// per-org lookup (Gate.settings); nil in caches without a decision
	// log (tests).
	settings *audit.OrgSettings
	// names is org, then actor, then the namespaces of the inline
	// questions, one after another (the cache's own copy: the request's
	// strings may be substrings of its body); orgEnd and actorEnd end
	// the first two.
	names            string
	orgEnd, actorEnd uint32
	// The questions: the first n inline, as the offset (after actorEnd)
	// and length in names of their namespace, and whether each is about
	// the actor itself (bit i of self); the rest in more.
	ns   [gateInline]nsRef
	n    uint8
	self uint8
	// policyRead: the actor holds policy:read unconditionally at org
	// scope (what DecisionWarnings asks), known when known is set.
	policyRead, known bool
	more              []askQ
	_                 [128 - 88]byte // to the 128-byte size class
}

// gateInline: questions kept in a gateEntry itself (orgs1m's actors ask
// about 4 namespaces).
const gateInline = 4

// nsRef is where in a gateEntry's names an inline question's namespace
// is: offset after actorEnd, and length. A namespace that does not fit
// (longer than maxInlineNS, or past the 255th byte) is kept in more.
type nsRef struct{ off, len uint8 }

// maxInlineNS: the longest namespace kept inline (a namespace name is at
// most 63 bytes; four of them fit in 255).
const maxInlineNS = 63

// org and actor are the entry's org and actor.
func (e *gateEntry) org() string   { return e.names[:e.orgEnd] }
func (e *gateEntry) actor() string { return e.names[e.orgEnd:e.actorEnd] }

// asks returns e's questions (a copy: for remember, not for a check).
func (e *gateEntry) asks() []askQ {
	qs := make([]askQ, 0, int(e.n)+len(e.more))
	for i := range int(e.n) {
		r := e.ns[i]
		qs = append(qs, askQ{namespace: e.names[int(e.actorEnd)+int(r.off):][:r.len], self: e.self&(1<<i) != 0})
	}
	return append(qs, e.more...)
}

// askQ is an askKey without its org and actor.
type askQ struct {
	namespace string
	self      bool
}

// allows reports whether e, at rev, says k may be asked.
func (e *gateEntry) allows(k askKey, rev uint64) bool {
	return e != nil && e.org() == k.org && e.actor() == k.actor && e.holds(k, rev)
}

// holds reports whether e, at rev, holds k's question (k's org and actor
// are the caller's to compare). A nil e holds nothing.
func (e *gateEntry) holds(k askKey, rev uint64) bool {
	if e == nil || e.rev != rev || !k.self && !liveAt(e.until) {
		return false
	}
	var self uint8
	if k.self {
		self = 1
	}
	base := e.names[e.actorEnd:]
	for i := range int(e.n) {
		r := e.ns[i]
		if (e.self>>i)&1 == self && int(r.len) == len(k.namespace) && base[r.off:][:r.len] == k.namespace {
			return true
		}
	}
	for _, q := range e.more {
		if q.namespace == k.namespace && q.self == k.self {
			return true
		}
	}
	return false
}

// newGateEntry makes the entry of org and actor holding qs, copying every
// string (they may be substrings of a request body, which the cache must
// not keep alive): org, actor and the namespaces that fit inline in one
// string of at least 64 bytes (one size class aligned to a cache line),
// the rest in more. ok is false when org and actor are too long to keep
// (beyond any request body the server takes).
func newGateEntry(org, actor string, qs []askQ) (e *gateEntry, ok bool) {
	if len(org)+len(actor) > 1<<24 {
		return nil, false
	}
	e = &gateEntry{orgEnd: uint32(len(org)), actorEnd: uint32(len(org) + len(actor))}
	b := make([]byte, 0, 64)
	b = append(append(b, org...), actor...)
	for _, q := range qs {
		off := len(b) - int(e.actorEnd)
		if int(e.n) < gateInline && len(q.namespace) <= maxInlineNS && off+len(q.namespace) <= 255 {
			e.ns[e.n] = nsRef{off: uint8(off), len: uint8(len(q.namespace))}
			if q.self {
				e.self |= 1 << e.n
			}
			e.n++
			b = append(b, q.namespace...)
			continue
		}
		e.more = append(e.more, askQ{namespace: strings.Clone(q.namespace), self: q.self})
	}
	e.names = string(b[:max(len(b), 64)])[:len(b)]
	return e, true
}

// gateFacts: what a gate entry knows that the clock can end.
type gateFacts struct {
	until      int64
	policyRead bool
}

// gateFacts is gateCache.facts: the findings on actor in org made from
// at on hold until the first instant after at at which anything they
// read changes by the clock: an expiry, or a clock-based lifecycle rule
// suspending the actor (authz.Engine.NextClockChange).
func (d *Directory) gateFacts(org, actor string, at time.Time) gateFacts {
	f := gateFacts{until: forever}
	if x := d.eng.NextClockChange(org, actor, at); !x.IsZero() {
		f.until = x.UnixNano()
	}
	f.policyRead = len(d.eng.Missing(org, actor, authz.Scope{}, permPolicyRead)) == 0
	return f
}

// entry returns the entry of (org, actor) at rev, or nil.
func (c *gateCache) entry(org, actor string, rev uint64) *gateEntry {
	if c.off {
		return nil
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.rev != rev {
		return nil
	}
	return c.m[orgActor{org, actor}]
}

// remember records that k.actor is a member of k.org at rev and, unless
// k.namespace is "" (a membership alone), that it may ask k — found so
// by reading the engine from the instant at on (taken before the
// reading, so that an expiry during it ends what it found). It returns
// the entry's until (0 when nothing was remembered).
func (c *gateCache) remember(k askKey, rev uint64, at time.Time) int64 {
	if c.off {
		return 0
	}
	var slot *audit.OrgSettings
	if c.slot != nil {
		slot = c.slot(k.org) // before c.mu: the decision log's lock is never taken under it
	}
	f, known := gateFacts{until: forever}, false
	if c.facts != nil {
		f, known = c.facts(k.org, k.actor, at), true // before c.mu, as slot
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.rev != rev || c.m == nil || c.n >= askCacheMax {
		if rev < c.rev {
			return 0
		}
		c.rev, c.m, c.n = rev, map[orgActor]*gateEntry{}, 0
	}
	old := c.m[orgActor{k.org, k.actor}]
	if old == nil {
		// newGateEntry copies the key's strings: they may be substrings of
		// a request body (the server decodes without copying), which the
		// cache must not keep alive.
		e, ok := newGateEntry(k.org, k.actor, nil)
		if !ok {
			return 0
		}
		e.rev, e.settings, e.until, e.policyRead, e.known = rev, slot, f.until, f.policyRead, known
		old = e
		c.m[orgActor{e.org(), e.actor()}] = e
		c.n++
	}
	if k.namespace == "" || old.allows(k, rev) {
		return old.until
	}
	// A new question: the entry is made again with the facts just found,
	// and, when the old one's clock has run out, without its questions
	// about others (found before an expiry the new facts no longer see).
	stale := !liveAt(old.until)
	var qs []askQ
	for _, q := range old.asks() {
		if q.self || !stale {
			qs = append(qs, q)
		}
	}
	qs = append(qs, askQ{namespace: k.namespace, self: k.self})
	e, _ := newGateEntry(old.org(), old.actor(), qs) // old's were kept
	e.rev, e.settings, e.until, e.policyRead, e.known = rev, old.settings, old.until, old.policyRead, old.known
	if stale {
		e.until, e.policyRead, e.known = f.until, f.policyRead, known
	}
	// The map's key is replaced with the new entry's strings (a string
	// key is rewritten on assignment), so the old names are not kept.
	c.m[orgActor{e.org(), e.actor()}] = e
	c.n++
	return e.until
}

// Gate is what the org gate found: principal's membership of org at one
// engine revision, with the questions it was then known to be allowed to
// ask (Asker.Gated). Its zero value is "nothing found".
type Gate struct {
	e *gateEntry
	// org and actor: the strings e was found under (equal to e.org and
	// e.actor, the cache's copies). A check compares its own org and
	// actor with these, which are usually the very same strings (the
	// server passes the path's org and the credential's principal to
	// both), so the comparison reads no memory of the entry's.
	org, actor string
}

// of is g's entry when g is of k's org and actor, else nil.
func (g Gate) of(k askKey) *gateEntry {
	if g.e == nil || g.org != k.org || g.actor != k.actor {
		return nil
	}
	return g.e
}

// policyRead reports what g knows of whether actor holds policy:read at
// org scope in org at rev: known is false when g is not of org and actor
// at rev or its clock has run out (gateEntry.until).
func (g Gate) policyRead(org, actor string, rev uint64) (held, known bool) {
	e := g.of(askKey{org: org, actor: actor})
	if e == nil || !e.known || e.rev != rev || !liveAt(e.until) {
		return false, false
	}
	return e.policyRead, true
}

// settings is the decision-log settings slot of org when g is a gate of
// org, else nil. The slot is the org's whatever the revision: an entry of
// an older revision still names the right one.
func (g Gate) settings(org string) *audit.OrgSettings {
	if g.e == nil || g.org != org {
		return nil
	}
	return g.e.settings
}

// IsMember reports whether the engine holds principal (a user, agent or
// service) as a member of org at its current revision — what decide and
// the server's org-member routes require (an agent's expiry is checked
// by the credential that names it, not here). Positive answers are
// remembered for the revision.
func (d *Directory) IsMember(org, principal string) bool {
	_, ok := d.Member(org, principal)
	return ok
}

// Member is IsMember that also returns what it found, for the caller's
// Asker (Asker.Gated).
func (d *Directory) Member(org, principal string) (Gate, bool) {
	rev := d.eng.Revision()
	if e := d.gates.entry(org, principal, rev); e != nil {
		return Gate{e: e, org: org, actor: principal}, true
	}
	at := time.Now()
	if _, _, err := d.eng.Permissions(org, principal, authz.DefaultNamespace); err != nil {
		return Gate{}, false
	}
	d.gates.remember(askKey{org: org, actor: principal}, rev, at)
	return Gate{}, true
}

// Standing says whether the engine holds principal as a member of org
// and, if so, why it cannot act at now (zero: the current time) — expired
// or suspended — or "" when it can (authz.Engine.Standing). Credentials
// that name a principal ask it at each use.
func (d *Directory) Standing(org, principal string, now time.Time) (member bool, why authz.Reason) {
	return d.live().Standing(org, principal, now)
}

// Missing lists the permissions of perms that principal does not hold
// unconditionally at sc in org (an org-scope grant covers every
// namespace) — the test the directory's own administrative checks make.
// Nothing is missing only for a member holding them all.
func (d *Directory) Missing(org, principal string, sc authz.Scope, perms []policy.Permission) []policy.Permission {
	return d.live().Missing(org, principal, sc, perms)
}

// HighestLevel is the highest role level principal holds at sc in org
// (0 for none): what the escalation rules compare.
func (d *Directory) HighestLevel(org, principal string, sc authz.Scope) int {
	return d.live().HighestLevel(org, principal, sc)
}

// NextClockChange is the earliest instant after `after` at which
// principal's standing or holdings in org change by the clock alone — a
// grant of its own or of one of its teams expires, its membership does,
// or a clock-based lifecycle rule suspends it (Engine.NextClockChange);
// zero for none.
func (d *Directory) NextClockChange(org, principal string, after time.Time) time.Time {
	return d.eng.NextClockChange(org, principal, after)
}

// Grants lists what principal holds in namespace of org, without
// authorizing anyone to ask (the caller authorizes: Permissions is the
// authorized form). authz.ErrNotFound (wrapped) when principal is not a
// member.
func (d *Directory) Grants(org, principal, namespace string) ([]authz.Grant, error) {
	return d.live().Grants(org, principal, namespace)
}

// Allows is the engine's decision on req, unrecorded and without
// authorizing anyone to ask: for a caller deciding whether to do
// something itself (the vault issuing a run token to req.Principal), not
// for answering a question (Check).
func (d *Directory) Allows(req *authz.Request) bool {
	return d.eng.Check(req).Allowed
}

// AllowsApproved is Allows for a caller that has consumed a person's
// approval of req (the vault issuing a run's token in the write that
// consumes it): approval_required counts as allowed, nothing else does.
func (d *Directory) AllowsApproved(req *authz.Request) bool {
	dec := d.eng.Check(req)
	return dec.Allowed || dec.ApprovalRequired
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
	return page, principalErr("lookup resources", q.Org, q.Principal, err)
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
	subs, _, rev, err := d.lookupSubjects(ctx, actor, q, atLeast)
	return subs, rev, err
}

// lookupSubjects is LookupSubjects with the reason for an unknown
// namespace, given only once the caller may ask (decide): a non-member has
// the org gate's ErrNotFound, a member without bindings:read the same
// ErrForbidden whether the namespace exists or not (row 80's order).
func (d *Directory) lookupSubjects(ctx context.Context, actor Actor, q authz.LookupSubjectsRequest, atLeast uint64) ([]authz.Subject, authz.Reason, uint64, error) {
	if err := d.decide(ctx, "lookup subjects", q.Org, actor, "", q.Namespace, atLeast); err != nil {
		return nil, "", 0, err
	}
	subs, reason, rev, err := d.eng.LookupSubjectsWithReason(q)
	return subs, reason, rev, engineErr("lookup subjects", err)
}

// Permissions lists what principal holds in namespace (for UIs that hide
// what a user cannot do).
func (d *Directory) Permissions(ctx context.Context, actor Actor, org, principal, namespace string, atLeast uint64) ([]authz.Grant, uint64, error) {
	gs, _, rev, err := d.PermissionsWithReason(ctx, actor, org, principal, namespace, atLeast)
	return gs, rev, err
}

// PermissionsWithReason is Permissions that also says, once the caller
// may ask (decide: a non-member ErrNotFound, a member asking about another
// without bindings:read ErrForbidden, whether the namespace exists or
// not), that the namespace is unknown (authz.ReasonUnknownNamespace).
func (d *Directory) PermissionsWithReason(ctx context.Context, actor Actor, org, principal, namespace string, atLeast uint64) ([]authz.Grant, authz.Reason, uint64, error) {
	if err := d.decide(ctx, "permissions", org, actor, principal, namespace, atLeast); err != nil {
		return nil, "", 0, err
	}
	gs, reason, rev, err := d.eng.PermissionsWithReason(org, principal, namespace)
	return gs, reason, rev, principalErr("permissions", org, principal, err)
}

// CheckRequest is checkRequest, for a caller that must judge a request's
// shape before it reads anything the answer could reveal (starting a run
// of a resource that may not exist).
func CheckRequest(req *authz.Request) error { return checkRequest(req) }

// checkRequest validates a question's shape: an acting principal (user,
// agent or service), a namespace name, an action and resource type
// without wildcards, a resource id, and on_behalf_of a user for an agent
// or service. No allocation unless it fails.
func checkRequest(req *authz.Request) error {
	kind, _, _ := splitPrincipal(req.Principal)
	switch {
	case !engineActor(req.Principal):
		return invalid("principal", "%q is not a user, agent or service (user:<id>, agent:<name>, service:<name>)", req.Principal)
	case req.Namespace != "" && (len(req.Namespace) > 63 || !ident.IsSlug(req.Namespace)):
		return invalid("namespace", "%q is not a namespace name", req.Namespace)
	case !policy.IsIdent(req.ResourceType) || !policy.IsIdent(req.Action):
		return invalid("action", "%q is not <type>:<action> without wildcards", req.ResourceType+":"+req.Action)
	case req.ResourceID != "":
		if err := checkResourceID("resource", req.ResourceID); err != nil {
			return err
		}
	}
	if req.OnBehalfOf != "" {
		okind, name, _ := splitPrincipal(req.OnBehalfOf)
		if okind != authz.KindUser || !policy.IsIdent(name) || (kind != authz.KindAgent && kind != authz.KindService) {
			return invalid("on_behalf_of", "on_behalf_of is the user an agent or service acts for (got %q for %q)", req.OnBehalfOf, req.Principal)
		}
	}
	return nil
}
