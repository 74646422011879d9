// Package directory is Gatehouse's domain layer: every interface (HTTP
// server, CLI, console) administers orgs, namespaces, members, teams, roles,
// bindings, agents, services and resources, and asks for decisions, through
// it. It owns a store.Store and an *authz.Engine and keeps the engine in
// step with the store's changelog.
//
// Invariants:
//
//   - Org isolation. A principal that is not a member of an org gets
//     ErrNotFound for everything about that org, exactly as for an org that
//     does not exist; ids are always resolved inside the org the call
//     names, so another org's id is ErrNotFound too. Error messages carry
//     only the org and keys the caller supplied.
//   - Deny by default, fail closed. Every operation is authorized with the
//     engine on Gatehouse's system types (see docs/directory.md for the
//     table) before it changes anything; administrative permissions count
//     only when held unconditionally. Anything unknown, expired, not yet
//     caught up or not compiling denies.
//   - Escalation prevention (DESIGN §1.2). Creating, changing or removing a
//     binding or a role — directly, or through a member, team, agent,
//     policy or role operation — requires the role's level ≤ the actor's
//     highest level at the scope, every permission it grants held by the
//     actor at the scope, and the target's level ≤ the actor's; and the org
//     always keeps a user holding its top-level role at org scope.
//   - Race-free authorization. A write is authorized inside its store
//     transaction, against an engine that includes every revision before
//     the write's own (writers are serialized by the store), so a
//     concurrent revocation of the actor's access either committed before
//     (and is seen) or commits after (and cannot have been relied on).
//   - No write transaction waits for anything that needs another pooled
//     connection (the writers queued on the store's write lock may hold
//     them all). The engine is caught up to the transaction's base
//     revision by the transaction itself (CatchUp: the changelog read over
//     its own connection, applied under the follower's mutex, which is
//     never held while waiting for the pool); committed state is read
//     through tx.Committed.
//   - The engine follows the store. Its revision is the store's revision:
//     at revision N it holds every change ≤ N and nothing newer. A write
//     returns its revision after the engine has applied it (bounded wait);
//     WaitFor(rev) waits (bounded) or fails with ErrNotCaughtUp, never
//     answering from older data.
//   - Secret names stay hidden, with nothing to install. Every resource
//     write checks its spec's secret references (secrets:list in the
//     namespace, the secrets exist, their referable_by admits the writer)
//     and every read of a spec, version, diff, history or audit entry,
//     checkpoint or chain head hides secret names from a reader without
//     secrets:list where they live (package secretref; resources.go,
//     audit.go). There is no directory without this: no hook, no option.
//   - Every decision is authorized and recorded here. A question is
//     answered only to a member, about itself or, with bindings:read in
//     the namespace, about another (remembered per engine revision, so a
//     revocation is seen at once); the decision is recorded when the org's
//     audit settings want it, and fails if that fails. The engine is not
//     exported: other packages ask what they mean (IsMember, Missing, ...).
//   - Nothing panics on any input.
package directory

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/internal/audit"
	"github.com/gatehouse-dev/gatehouse/internal/ident"
	"github.com/gatehouse-dev/gatehouse/internal/store"
	"github.com/gatehouse-dev/gatehouse/policy"
)

// Actor is the authenticated principal an operation is done by, with the
// request details a later audit log records.
type Actor struct {
	Principal  string // "user:alice", "agent:Triage", "service:ci"
	KeyID      string // API key used, if any
	SessionID  string // console session, if any
	ClientAddr string
	RequestID  string
	// MintedBy is who minted the credential used, when it is not the
	// principal's own: a service key's creator, an agent token's minter.
	// Such a minter stands behind the principal and may not approve its
	// requests (approvals.go, standsBehind).
	MintedBy string
}

// Options tune a Directory. The zero value is fine.
type Options struct {
	// CatchUpTimeout bounds every wait for the engine to reach a revision
	// (WaitFor, a write's authorization and its read-your-writes wait);
	// 0 means 5s.
	CatchUpTimeout time.Duration
	// Logger receives follower warnings; nil discards them.
	Logger *slog.Logger
	// Audit records every write (see audit.go); nil means audit.Append
	// (entries without checkpoints). Auditing cannot be switched off.
	Audit audit.Recorder
	// Approvals tune approval lifetimes (approvals.go).
	Approvals ApprovalOptions
	// SnapshotEvery is how many of an org's changes separate two of its
	// engine snapshots, written in the background for point-in-time
	// decisions (pointintime.go); 0 means DefaultSnapshotEvery, negative
	// writes none (existing snapshots are still read).
	SnapshotEvery int
	// AuditCommitWindow is the decision log's commit window
	// (audit.DecisionLogOptions.Window: entries of decisions and tool
	// calls arriving within it share a transaction while they arrive
	// often); 0 means audit.DefaultCommitWindow, negative none.
	AuditCommitWindow time.Duration
	// ChangeRetention is how old the changes after a revision may be for
	// the change feed to serve them (changefeed.go); 0 means
	// DefaultChangeRetention (24h).
	ChangeRetention time.Duration
	// NoGateMemo turns off the memo of each caller's org gate, right to
	// ask and policy:read per engine revision (gateCache): every check
	// finds them again. The answers are the same either way; tests and
	// measurements compare the two.
	NoGateMemo bool
}

// Directory is the domain layer. All methods are safe for concurrent use.
type Directory struct {
	// afterPrefetchOutside, set by tests only, runs between a batch's read
	// of its facts before the write lock and the write (to commit another
	// write in between).
	afterPrefetchOutside func()

	st   store.Store
	eng  *authz.Engine
	comp *compiler
	fol  *follower
	opts Options
	rec  audit.Recorder
	dlog *audit.DecisionLog // decisions, by each org's audit settings
	// droles remembers, per engine revision, the roles decision entries
	// name for an actor (audit.go).
	droles rolesCache
	// gates remembers, per engine revision, the members found and the
	// questions each was found allowed to ask (decisions.go).
	gates gateCache
	// audited wakes FollowAudit when this process commits audit entries
	// without a new revision (audit.go).
	audited signal
	// apv wakes approval waiters when this process changes an approval
	// (approvals.go; other processes' changes are found by polling).
	apv signal
	// clk is FollowAudit's clock (nil: the real one; tests set a fake).
	clk clock
	// uses records agents' last use (lifetimes.go).
	uses useRecorder
	// pit caches recently built past engines; snaps writes engine
	// snapshots (snapshotter.go); snapBad counts snapshots that did not
	// decode; noSnapshots makes point-in-time reads replay from the
	// start (tests compare the two).
	pit         pitCache
	snaps       *snapshotter
	snapBad     atomic.Uint64
	pitReplayed atomic.Uint64 // changelog entries replayed for points in time
	noSnapshots bool

	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once

	// disabled switches off escalation rules; only tests set it (to show
	// the property tests can fail).
	disabled map[rule]bool
}

type rule int

const (
	ruleLevel rule = iota + 1
	ruleSubset
	ruleTarget
	ruleLastOwner
)

// Open loads every org of st into eng (which must be new: revision 0, fed
// by nothing else) and starts following st's changelog. Close stops it.
func Open(ctx context.Context, st store.Store, eng *authz.Engine, opts Options) (*Directory, error) {
	if st == nil || eng == nil {
		return nil, errorf(ErrInvalid, "open", "a store and an engine are required")
	}
	if eng.Revision() != 0 {
		return nil, errorf(ErrInvalid, "open", "the engine must be new (it is at revision %d)", eng.Revision())
	}
	if opts.CatchUpTimeout <= 0 {
		opts.CatchUpTimeout = 5 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if opts.Audit == nil {
		opts.Audit = audit.Append
	}
	d := &Directory{st: st, eng: eng, comp: &compiler{}, opts: opts, rec: opts.Audit, done: make(chan struct{})}
	d.dlog = audit.NewDecisionLog(st, opts.Audit, audit.DecisionLogOptions{Window: opts.AuditCommitWindow})
	d.gates.slot = d.dlog.Slot  // a gate entry carries its org's settings slot (Gate.settings)
	d.gates.facts = d.gateFacts // and what it knows by the clock (gateEntry.until)
	d.gates.off = opts.NoGateMemo
	d.fol = newFollower(st, eng, d.comp, opts.Logger)
	// Audit settings changes, whichever process made them, reach the
	// decision log as the follower sees them (before the engine shows
	// their revision): no store re-read on a TTL while nothing changes.
	d.fol.hooks = append(d.fol.hooks, d.followSettings)
	runCtx, cancel := context.WithCancel(context.Background())
	// Watch before the initial load so that nothing committed during it
	// goes unnoticed.
	watch := st.Watch(runCtx)
	if err := d.fol.bootstrap(ctx); err != nil {
		cancel()
		d.dlog.Close()
		return nil, mapErr("open", err)
	}
	d.cancel = cancel
	if opts.SnapshotEvery >= 0 {
		d.snaps = newSnapshotter(d)
		d.fol.mu.Lock()
		d.fol.hooks = append(d.fol.hooks, d.snaps.observe)
		d.fol.mu.Unlock()
		d.snaps.wg.Add(1)
		go d.snaps.run(runCtx)
	}
	go func() {
		defer close(d.done)
		d.fol.run(runCtx, watch)
	}()
	return d, nil
}

// Close stops following the store. It does not close the store.
func (d *Directory) Close() error {
	d.once.Do(func() {
		d.cancel()
		<-d.done
		if d.snaps != nil {
			d.snaps.wg.Wait()
		}
		d.uses.wg.Wait()
		d.dlog.Close()
	})
	return nil
}

// The engine is not exported: callers ask the directory questions that
// say what they decide (Check, IsMember, Missing, ...), so every decision
// and authorization check goes through its rules (decisions.go).

// Revision is the revision the engine is at.
func (d *Directory) Revision() uint64 { return d.eng.Revision() }

// SyncError is the last error the follower met (nil if none); the
// follower retries on its own.
func (d *Directory) SyncError() error {
	if e := d.fol.lastErr.Load(); e != nil {
		return e.err
	}
	return nil
}

// WaitFor waits until the engine is at revision ≥ rev: "at least as fresh
// as R" (DESIGN §1.3). It waits at most Options.CatchUpTimeout, then fails
// with ErrNotCaughtUp; a ctx that ends first returns ctx's error.
func (d *Directory) WaitFor(ctx context.Context, rev uint64) error {
	if d.eng.Revision() >= rev {
		return nil
	}
	d.fol.poke()
	wctx, cancel := context.WithTimeout(ctx, d.opts.CatchUpTimeout)
	defer cancel()
	if err := d.eng.WaitFor(wctx, rev); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return &Error{Pkg: pkg, Op: "wait for revision", Msg: fmt.Sprintf("revision %d (engine is at %d)", rev, d.eng.Revision()), Kind: ErrNotCaughtUp}
	}
	return nil
}

// CatchUp brings the engine to tx's base revision (tx.Revision()-1), so
// that a write authorizes against every change committed before it (DESIGN
// §1.2: no stale allow). Every write transaction that authorizes with the
// engine calls it first. It reads the missing changelog entries over tx's
// own connection and applies them itself: it never waits for the follower,
// whose reads need a pooled connection that the writers queued behind tx
// on the store's write lock may all hold. Bounded by
// Options.CatchUpTimeout; it fails with ErrNotCaughtUp (or ctx's error),
// and then the write must fail: nothing is authorized against an engine
// that is behind.
func (d *Directory) CatchUp(ctx context.Context, tx store.Tx) error {
	base := tx.Revision() - 1
	if d.eng.Revision() >= base {
		return nil
	}
	cctx, cancel := context.WithTimeout(ctx, d.opts.CatchUpTimeout)
	defer cancel()
	if err := d.fol.catchUpTx(cctx, tx); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return &Error{Pkg: pkg, Op: "catch up", Msg: fmt.Sprintf("revision %d (engine is at %d)", base, d.eng.Revision()), Kind: ErrNotCaughtUp, Cause: err}
	}
	return nil
}

// splitPrincipal splits "kind:name" for the four kinds.
func splitPrincipal(p string) (kind, name string, ok bool) {
	kind, name, found := strings.Cut(p, ":")
	if !found || name == "" {
		return "", "", false
	}
	switch kind {
	case authz.KindUser, authz.KindTeam, authz.KindAgent, authz.KindService:
		return kind, name, true
	}
	return "", "", false
}

// checkPrincipal validates a principal id as the directory writes them:
// a known kind and an identifier name (what both the store and the engine
// accept). teamOK allows "team:<slug>".
func checkPrincipal(field, p string, teamOK bool) error {
	kind, name, ok := splitPrincipal(p)
	if !ok {
		return invalid(field, "%q is not user:<id>, team:<slug>, agent:<name> or service:<name>", p)
	}
	if kind == authz.KindTeam && !teamOK {
		return invalid(field, "%q: a team cannot act", p)
	}
	if kind == authz.KindTeam {
		return checkSlugIdent(field, name)
	}
	return checkName(field, name)
}

// checkSlugIdent validates org ids, namespaces and team slugs:
// lower-case identifiers (a letter, then a-z, 0-9, '-', '_'; ≤ 63 bytes).
func checkSlugIdent(field, s string) error {
	if len(s) == 0 || len(s) > 63 {
		return invalid(field, "%q must be 1 to 63 bytes", s)
	}
	if !ident.IsSlug(s) {
		return invalid(field, "%q must be a lower-case identifier (a letter, then a-z, 0-9, '-' or '_')", s)
	}
	return nil
}

// checkName validates user ids, agent and service names, role names and
// resource types: identifiers of at most 128 bytes (what both the store and
// the engine accept).
func checkName(field, s string) error {
	if len(s) > 128 {
		return invalid(field, "%q is longer than 128 bytes", s)
	}
	if err := policy.CheckIdent(s); err != nil {
		return invalid(field, "%v", err)
	}
	return nil
}

// systemTypes are Gatehouse's own administrative types (DESIGN §1.2): no
// resource may be created with one of these types.
var systemTypes = map[string]bool{
	"org": true, "namespaces": true, "members": true, "teams": true, "roles": true,
	"bindings": true, "agents": true, "services": true, "apikeys": true, "secrets": true,
	"audit": true, "policy": true, "resources": true, "billing": true, "integrations": true,
}

// --- operation context

// op is one operation by an actor on an org: in a write transaction (tx
// set) or a read.
type op struct {
	d     *Directory
	ctx   context.Context
	name  string
	r     store.Reader
	tx    store.Tx // nil for reads
	org   string
	actor Actor
	// The org's policy at the operation's base revision, loaded on first
	// use (pol, polText); a load error is kept in polErr and returned by the
	// operation in preference to whatever it caused.
	model   *policy.Model
	text    string
	polErr  error
	polDone bool
	// note is what the write's audit entry records beyond its changes;
	// unrecorded is set by a write whose entry another package records
	// in the transaction that makes the change (an invitation).
	note       AuditNote
	unrecorded bool
}

// write runs fn as one store write by actor on org: the engine is caught up
// to the transaction's base revision (CatchUp, over the transaction's own
// connection), the actor is checked to be a member,
// and fn authorizes and performs the change. After commit it waits
// (bounded, best effort) for the engine to apply the new revision, so the
// caller reads its own write.
func (d *Directory) write(ctx context.Context, name, org string, actor Actor, fn func(o *op) error) (uint64, error) {
	return d.writeIn(ctx, name, org, actor, false, fn)
}

// orgWriter is implemented by a store whose writes that change one org
// only may run concurrently with other orgs' (sqlcore's WriteOrg, on
// PostgreSQL with postgres.Options.OrgWrites; anywhere else it is Write).
// A WriteOrg fails if fn changes anything of another org or global data
// other than a new user.
type orgWriter interface {
	WriteOrg(ctx context.Context, org string, fn func(tx store.Tx) error) (uint64, error)
}

// beforeTailer is a store transaction that can run a function after the
// callback's rows are sent and before the revision is taken and committed
// (sqlcore's BeforeTail).
type beforeTailer interface{ BeforeTail(func()) }

// writeIn is write; with orgOnly, fn changes org only (no other org, and
// nothing global but new users) and the store may run it beside other
// orgs' writes.
// CatchUp's argument still holds: the transaction's base revision is read
// under org's lock and the shared structure lock, so every change of org
// and every global change committed before it is applied to the engine
// before fn authorizes, and none can commit until it ends but other orgs'
// new users, on which no decision of org rests (sqlcore/orgwrite.go).
func (d *Directory) writeIn(ctx context.Context, name, org string, actor Actor, orgOnly bool, fn func(o *op) error) (uint64, error) {
	if err := checkOrgID(org); err != nil {
		return 0, orgNotFound(name, org)
	}
	var about string // what a refused write was about (its AuditNote.Target)
	var own ownWrite
	defer own.release()
	stWrite := d.st.Write
	if ow, ok := d.st.(orgWriter); ok && orgOnly {
		stWrite = func(ctx context.Context, fn func(tx store.Tx) error) (uint64, error) {
			return ow.WriteOrg(ctx, org, fn)
		}
	}
	rev, err := stWrite(ctx, func(tx store.Tx) error {
		if err := d.CatchUp(ctx, tx); err != nil {
			return err
		}
		o := &op{d: d, ctx: ctx, name: name, r: tx, tx: tx, org: org, actor: actor}
		if err := o.enter(); err != nil {
			return err
		}
		err := o.finish(fn(o))
		about = o.note.Target
		if err != nil {
			return err
		}
		if !o.unrecorded {
			if err := d.recordSuccess(ctx, tx, name, org, actor, o.note); err != nil {
				return err
			}
		}
		if bt, ok := tx.(beforeTailer); ok && orgOnly {
			// Hold the follower only once the rows are sent: the next
			// write of this process may send its own meanwhile.
			bt.BeforeTail(func() { own.hold(d.fol, tx) })
		} else {
			own.hold(d.fol, tx)
		}
		return nil
	})
	if err != nil {
		own.release()
		return 0, mapErr(name, d.recordDenied(ctx, name, org, actor, about, err))
	}
	own.apply(rev)
	d.settle(ctx, rev)
	return rev, nil
}

// OnChanges registers h to see every batch of committed changes this
// directory follows — its own writes and other processes' alike — before
// the engine shows them (so before a write through this directory is
// answered). A batch may be seen more than once. h runs on the follower,
// or on a writer catching the engine up inside its transaction: it must be
// quick, must not call the directory and must not wait on the store. Authentication uses it
// to drop the cached keys of deleted principals and orgs and of changed
// keys.
func (d *Directory) OnChanges(h func([]store.Change)) {
	d.fol.mu.Lock()
	defer d.fol.mu.Unlock()
	d.fol.hooks = append(d.fol.hooks, h)
}

// settle waits (bounded) for the engine to apply rev, for read-your-writes.
// The write is committed either way.
func (d *Directory) settle(ctx context.Context, rev uint64) {
	_ = d.WaitFor(ctx, rev)
}

// read runs fn as a read by actor on org, outside any transaction.
func (d *Directory) read(ctx context.Context, name, org string, actor Actor, fn func(o *op) error) error {
	if err := checkOrgID(org); err != nil {
		return orgNotFound(name, org)
	}
	o := &op{d: d, ctx: ctx, name: name, r: d.st, org: org, actor: actor}
	if err := o.enter(); err != nil {
		return mapErr(name, err)
	}
	return mapErr(name, o.finish(fn(o)))
}

func checkOrgID(org string) error { return checkSlugIdent("org", org) }

// enter checks that the actor is a current member of the org (else
// ErrNotFound, as for an org that does not exist).
func (o *op) enter() error {
	if !o.isMember(o.actor.Principal) {
		return orgNotFound(o.name, o.org)
	}
	return nil
}

// pol is the org's compiled policy (denyAll when it has none, or when it
// could not be read: see polErr).
func (o *op) pol() *policy.Model {
	if !o.polDone {
		o.polDone = true
		o.model = denyAll
		p, err := o.r.GetPolicy(o.ctx, o.org)
		switch {
		case errors.Is(err, store.ErrNotFound):
		case err != nil:
			o.polErr = err
		default:
			o.text = p.Text
			o.model = o.d.comp.engineModel(p.Text)
		}
	}
	return o.model
}

// polText is the org's policy text.
func (o *op) polText() string {
	o.pol()
	return o.text
}

// finish returns the operation's error, preferring a policy load error.
func (o *op) finish(err error) error {
	if o.polErr != nil {
		return o.polErr
	}
	return err
}

// template returns the org's template name.
func (o *op) template() (string, error) {
	org, err := o.r.GetOrg(o.ctx, o.org)
	if err != nil {
		return "", err
	}
	return org.Template, nil
}

// isMember reports whether p is a member of the org: a user or service the
// engine holds as a member, or an agent of the store that has not expired.
// Inside a write the engine is at the transaction's base revision, so its
// answer is the store's; for a read it is the engine's current revision.
func (o *op) isMember(p string) bool {
	kind, name, ok := splitPrincipal(p)
	if !ok || !engineActor(p) {
		return false
	}
	if kind == authz.KindAgent {
		a, err := o.r.GetAgent(o.ctx, o.org, name)
		if err != nil || (!a.ExpiresAt.IsZero() && !time.Now().Before(a.ExpiresAt)) {
			return false
		}
	}
	_, _, err := o.d.eng.Permissions(o.org, p, authz.DefaultNamespace)
	return err == nil
}

func (o *op) off(r rule) bool { return o.d.disabled[r] }

// holds reports whether the actor holds every permission unconditionally
// at sc.
func (o *op) holds(sc authz.Scope, perms ...policy.Permission) bool {
	return len(o.d.eng.Missing(o.org, o.actor.Principal, sc, perms)) == 0
}

// need requires the actor to hold perm ("bindings:create") at sc.
func (o *op) need(perm string, sc authz.Scope) error {
	p, err := policy.ParsePermission(perm)
	if err != nil {
		return err
	}
	if !o.holds(sc, p) {
		return &ForbiddenError{Permission: perm, Scope: sc}
	}
	return nil
}

// needAny requires one of perms at sc; the error names the first.
func (o *op) needAny(sc authz.Scope, perms ...string) error {
	for _, perm := range perms {
		p, err := policy.ParsePermission(perm)
		if err == nil && o.holds(sc, p) {
			return nil
		}
	}
	return &ForbiddenError{Permission: perms[0], Scope: sc}
}

// self reports whether principal is the actor.
func (o *op) self(principal string) bool { return principal == o.actor.Principal }

// role resolves a role name in the org's policy.
func (o *op) role(field, name string) (*policy.Role, error) {
	if err := checkName(field, name); err != nil {
		return nil, err
	}
	r, ok := o.pol().Role(name)
	if !ok {
		return nil, invalid(field, "the org's policy has no role %q", name)
	}
	return r, nil
}

// grant is what a binding hands out: a role, or an action list on a
// resource's type.
type grant struct {
	role  *policy.Role // nil for an action list (or a role the policy lost)
	name  string       // role name as bound ("" for an action list)
	perms []policy.Permission
}

func roleGrant(r *policy.Role) grant {
	return grant{role: r, name: r.Name, perms: r.Permissions}
}

// bindingGrant is what an existing binding hands out under the current
// policy (a binding whose role the policy no longer has hands out nothing).
func (o *op) bindingGrant(b authz.Binding) grant {
	if b.Role != "" {
		if r, ok := o.pol().Role(b.Role); ok {
			return roleGrant(r)
		}
		return grant{name: b.Role}
	}
	g := grant{}
	for _, a := range b.Actions {
		g.perms = append(g.perms, policy.Permission{Resource: b.Scope.Type, Action: a})
	}
	return g
}

// mayChange enforces DESIGN §1.2 for creating or removing a binding of g
// for target at sc (target "" when there is none yet, e.g. a new agent):
// the role's level ≤ the actor's highest level at sc; every permission g
// grants held by the actor at sc; the target's level at sc ≤ the actor's.
func (o *op) mayChange(g grant, sc authz.Scope, target string) error {
	eng := o.d.eng
	actorLvl := eng.HighestLevel(o.org, o.actor.Principal, sc)
	if g.role != nil && !o.off(ruleLevel) && g.role.Level > actorLvl {
		return &EscalationError{Reason: ReasonLevel, Scope: sc, Role: g.name, RoleLevel: g.role.Level, ActorLevel: actorLvl}
	}
	if !o.off(ruleSubset) && len(g.perms) > 0 {
		if missing := eng.Missing(o.org, o.actor.Principal, sc, g.perms); len(missing) > 0 {
			return &EscalationError{Reason: ReasonPermissions, Scope: sc, Role: g.name, ActorLevel: actorLvl, Missing: missing}
		}
	}
	if role, ok := strings.CutPrefix(target, authz.KindRole+":"); ok && !o.off(ruleTarget) {
		// A share made to a role reaches every holder of it: the role
		// stands for them, as a role granted in a binding would.
		if r, found := o.pol().Role(role); found && r.Level > actorLvl {
			return &EscalationError{Reason: ReasonTarget, Scope: sc, Role: g.name, ActorLevel: actorLvl, Target: target, TargetLevel: r.Level}
		}
		return nil
	}
	if target != "" && !o.off(ruleTarget) {
		if tl := eng.HighestLevel(o.org, target, sc); tl > actorLvl {
			return &EscalationError{Reason: ReasonTarget, Scope: sc, Role: g.name, ActorLevel: actorLvl, Target: target, TargetLevel: tl}
		}
	}
	return nil
}

// mayRoleChange enforces the role rules for defining, changing or
// removing a role (roles are org-wide, so the scope is the org): the
// role's level ≤ the actor's org level and its permissions held at org
// scope.
func (o *op) mayRoleChange(r *policy.Role) error {
	return o.mayChange(roleGrant(r), authz.Scope{}, "")
}

// keepsOwner checks, inside the write, that the org still has a user
// holding a top-level role of model at org scope, unconditionally, directly
// or through a team.
func (o *op) keepsOwner(model *policy.Model) error {
	if o.off(ruleLastOwner) {
		return nil
	}
	ok, err := hasOwner(o.ctx, o.r, o.org, model)
	if err != nil {
		return err
	}
	if !ok {
		return errorf(ErrLastOwner, o.name, "org %q would have no user holding its top-level role (%s)", o.org, strings.Join(topRoles(model), ", "))
	}
	return nil
}

func hasOwner(ctx context.Context, r store.Reader, org string, model *policy.Model) (bool, error) {
	for _, role := range topRoles(model) {
		cursor := ""
		for {
			bs, next, err := r.ListBindings(ctx, org, orgScope(store.BindingFilter{Role: role}), store.Page{Size: store.MaxPageSize, Cursor: cursor})
			if err != nil {
				return false, err
			}
			for _, b := range bs {
				if b.Condition != "" || !b.Scope.IsOrg() {
					continue
				}
				kind, name, _ := splitPrincipal(b.Principal)
				switch kind {
				case authz.KindUser:
					return true, nil
				case authz.KindTeam:
					members, _, err := r.ListTeamMembers(ctx, org, name, store.Page{Size: store.MaxPageSize})
					if err != nil && !errors.Is(err, store.ErrNotFound) {
						return false, err
					}
					for _, m := range members {
						if strings.HasPrefix(m, authz.KindUser+":") {
							return true, nil
						}
					}
				}
			}
			if next == "" {
				break
			}
			cursor = next
		}
	}
	return false, nil
}

// orgScope narrows a binding filter to org-scoped bindings.
func orgScope(f store.BindingFilter) store.BindingFilter {
	f.OrgScopeOnly = true
	return f
}

// allPages collects every row of a paged store list (bounded by what the
// org holds).
func allPages[T any](list func(p store.Page) ([]T, string, error)) ([]T, error) {
	var out []T
	cursor := ""
	for {
		rows, next, err := list(store.Page{Size: store.MaxPageSize, Cursor: cursor})
		if err != nil {
			return nil, err
		}
		out = append(out, rows...)
		if next == "" {
			return out, nil
		}
		cursor = next
	}
}
