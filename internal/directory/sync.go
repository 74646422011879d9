package directory

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/internal/store"
	"github.com/gatehouse-dev/gatehouse/policy"
)

// follower keeps an engine in step with a store: it loads every org at
// start, then applies the changelog in revision order.
//
// The engine's revision is the store's revision: after the follower applies
// a batch ending at revision N, every change of every revision ≤ N is in the
// engine and nothing newer is. A batch is applied with one engine.Apply, so
// readers see it whole.
//
// Orgs are (re)loaded whole from store snapshots ("pending" orgs): a
// snapshot taken at revision r already contains every change ≤ r of its
// org, so while merging it the follower drops that org's changelog entries
// ≤ r and applies the ones after. This is how the initial load (one
// snapshot per org, each at its own revision) and a reload after an
// undecodable entry join the changelog without a gap and without applying
// anything twice. A reload is merged in the same Apply as the revisions it
// spans, so there is no moment at which the engine claims a revision while
// answering for that org from older data.
//
// Two parties advance the engine, one batch at a time, each batch read
// (read) and then applied (applyLocked) under mu:
//
//   - The follower's own loop (catchUp) reads through the store's pool
//     WITHOUT holding mu, then takes mu and applies the batch only if
//     nobody applied anything in between (gen); otherwise it reads again.
//   - A writer inside its store transaction (catchUpTx), which holds the
//     store's write lock and needs the engine at its base revision to
//     authorize, reads over the transaction's own connection WHILE
//     holding mu.
//
// A third party only applies: a writer handing over the changes it
// committed (ownWrite), in revision order through the ready slots, with no
// lock held over its commit.
//
// So mu is never held while waiting for a pooled connection: a writer that
// waits for mu waits only for CPU work or for reads over a connection that
// is already in use (and those reads take no locks). On PostgreSQL the
// writers queued behind the write lock may hold every pooled connection;
// a write transaction must therefore never wait for anything that needs
// one (docs/directory.md, "Engine sync").
type follower struct {
	st   store.Store
	eng  *authz.Engine
	comp *compiler
	log  *slog.Logger

	mu     sync.Mutex      // guards the fields below and every engine.Apply
	gen    uint64          // bumped by every applied batch
	cursor uint64          // every revision ≤ cursor is applied (or the engine is at cursor)
	known  map[string]bool // orgs the engine holds
	reload map[string]bool // orgs to (re)load whole in the next batch

	hooks []func([]store.Change) // OnChanges; guarded by mu

	// ready holds own writes' batches (ownWrite) committed at a revision
	// the engine cannot show yet, because an earlier one is not applied:
	// whoever applies revision r-1 applies ready[r] next (drainLocked).
	// Guarded by mu.
	ready map[uint64]*batch
	// onApply, when set (tests), sees every batch the engine applied,
	// under mu, in the order applied.
	onApply func(b *batch)

	// The tails of this process's writes (ownWrite): a write takes a
	// ticket before its store commit and ends it after its hand-over.
	// Whoever would read the changelog for revisions such a write may
	// hold waits for the tails started before it (waitTails), so that
	// the writer hands them over rather than the follower reading them
	// back. Guarded by tmu, never held with mu.
	tmu       sync.Mutex
	tickets   uint64              // tickets handed out
	open      map[uint64]struct{} // tickets not yet ended
	tailEnded chan struct{}       // closed (and replaced) when a ticket ends

	kick    chan struct{}
	lastErr atomic.Pointer[syncError]
	reloads atomic.Uint64 // orgs reloaded after the initial load (for tests and metrics)
}

type pendingOrg struct {
	rev  uint64
	snap *store.OrgSnapshot // nil: the org does not exist as of rev
}

type syncError struct {
	at  time.Time
	err error
}

// changesPage is how many changelog entries one read fetches.
const changesPage = 2000

// source is what a batch is read from: the store (the follower's loop) or
// a write transaction (a writer catching up over its own connection).
type source interface {
	ChangesSince(ctx context.Context, after uint64, limit int) ([]store.Change, error)
	LoadOrg(ctx context.Context, org string) (*store.OrgSnapshot, error)
	CurrentRevision(ctx context.Context) (uint64, error)
}

// txSource reads inside a write transaction: under the write lock the
// current revision is the transaction's base.
type txSource struct{ store.Tx }

func (s txSource) CurrentRevision(context.Context) (uint64, error) { return s.Revision() - 1, nil }

// batch is what one read fetched: pending org snapshots, and the changelog
// after cursor up to at least every snapshot's revision (last revision n).
type batch struct {
	cursor  uint64
	n       uint64
	pending map[string]pendingOrg
	changes []store.Change
	// values, when set, are changes' decoded payloads as the writing
	// transaction had them (nil where it had none): see ownWrite.
	values []any
}

func newFollower(st store.Store, eng *authz.Engine, comp *compiler, log *slog.Logger) *follower {
	return &follower{
		st: st, eng: eng, comp: comp, log: log,
		known:     map[string]bool{},
		reload:    map[string]bool{},
		ready:     map[uint64]*batch{},
		open:      map[uint64]struct{}{},
		tailEnded: make(chan struct{}),
		kick:      make(chan struct{}, 1),
	}
}

// bootstrap loads every org of the store and catches up with the changelog.
func (f *follower) bootstrap(ctx context.Context) error {
	// Everything committed after h0 is in the changelog after h0; every org
	// that exists at h0 is listed below and loaded at a revision ≥ h0.
	h0, err := f.st.CurrentRevision(ctx)
	if err != nil {
		return err
	}
	f.mu.Lock()
	f.cursor = h0
	f.mu.Unlock()
	cursor := ""
	for {
		orgs, next, err := f.st.ListOrgs(ctx, store.Page{Size: store.MaxPageSize, Cursor: cursor})
		if err != nil {
			return err
		}
		f.mu.Lock()
		for _, o := range orgs {
			f.reload[o.ID] = true
		}
		f.mu.Unlock()
		if next == "" {
			break
		}
		cursor = next
	}
	return f.catchUp(ctx, 0)
}

// read fetches a batch from src: snapshots of the reload orgs, then the
// changelog after cursor, far enough to reach every snapshot's revision.
func (f *follower) read(ctx context.Context, src source, cursor uint64, reload []string) (*batch, error) {
	b := &batch{cursor: cursor, n: cursor, pending: map[string]pendingOrg{}}
	for _, org := range reload {
		snap, err := src.LoadOrg(ctx, org)
		if errors.Is(err, store.ErrNotFound) {
			// Gone: its deletion is committed at or before the current revision.
			rev, err := src.CurrentRevision(ctx)
			if err != nil {
				return nil, err
			}
			b.pending[org] = pendingOrg{rev: rev}
			continue
		}
		if err != nil {
			return nil, err
		}
		b.pending[org] = pendingOrg{rev: snap.Revision, snap: snap}
	}
	changes, err := src.ChangesSince(ctx, cursor, changesPage)
	if err != nil {
		return nil, err
	}
	if len(changes) > 0 {
		b.n = changes[len(changes)-1].Revision
	}
	// A pending snapshot is merged only into a batch that reaches its
	// revision.
	for b.maxPending() > b.n {
		more, err := src.ChangesSince(ctx, b.n, changesPage)
		if err != nil {
			return nil, err
		}
		if len(more) == 0 {
			b.n = b.maxPending() // cannot happen with a gapless changelog
			break
		}
		changes = append(changes, more...)
		b.n = more[len(more)-1].Revision
	}
	b.changes = changes
	return b, nil
}

func (b *batch) maxPending() uint64 {
	var m uint64
	for _, p := range b.pending {
		m = max(m, p.rev)
	}
	return m
}

// reloadList is the orgs to load whole in the next batch. f.mu is held.
func (f *follower) reloadList() []string {
	orgs := make([]string, 0, len(f.reload))
	for org := range f.reload {
		orgs = append(orgs, org)
	}
	slices.Sort(orgs)
	return orgs
}

// run follows the store until ctx ends: it wakes on the store's Watch, on
// kicks (a caller waiting for a revision) and, after a failure, on a retry
// timer.
func (f *follower) run(ctx context.Context, watch <-chan uint64) {
	retry := time.Duration(0)
	for {
		var timer <-chan time.Time
		if retry > 0 {
			timer = time.After(retry)
		}
		var target uint64 // the revision the store announced; 0: read in any case
		select {
		case <-ctx.Done():
			return
		case rev, ok := <-watch:
			if !ok {
				return // the store was closed
			}
			target = rev
		case <-f.kick:
		case <-timer:
		}
		if err := f.catchUp(ctx, target); err != nil {
			if ctx.Err() != nil {
				return
			}
			f.lastErr.Store(&syncError{time.Now(), err})
			f.log.Warn("directory: following the store failed; retrying", "err", err)
			retry = min(max(2*retry, 50*time.Millisecond), 2*time.Second)
			continue
		}
		retry = 0
	}
}

// poke asks the follower to read the changelog now (another process may
// have committed; SQLite handles only see that by polling).
func (f *follower) poke() {
	select {
	case f.kick <- struct{}{}:
	default:
	}
}

// catchUp applies batches read from the store until the changelog has
// nothing newer. It reads without holding mu (a read may wait for a pooled
// connection) and drops a batch if another party applied one meanwhile.
//
// It first lets this process's writes that are committing hand their
// revisions over (waitTails); then, if the engine has reached target (the
// revision the store announced, when it did: a later commit announces
// itself again) and no org awaits a reload, there is nothing to read.
func (f *follower) catchUp(ctx context.Context, target uint64) error {
	f.waitTails(ctx, f.tailsStarted(), target)
	if target > 0 {
		f.mu.Lock()
		done := f.eng.Revision() >= target && len(f.reload) == 0
		f.mu.Unlock()
		if done {
			return nil
		}
	}
	attempt := 0
	for {
		f.mu.Lock()
		gen, cursor, reload := f.gen, f.cursor, f.reloadList()
		f.mu.Unlock()
		b, err := f.read(ctx, f.st, cursor, reload)
		if err != nil {
			return err
		}
		f.mu.Lock()
		if f.gen != gen {
			f.mu.Unlock()
			continue // a writer caught the engine up meanwhile: read from where it is now
		}
		progressed, retry, err := f.applyLocked(b, attempt)
		if progressed {
			f.drainLocked()
		}
		f.mu.Unlock()
		switch {
		case err != nil:
			return err
		case retry:
			attempt++
		case !progressed:
			return nil
		default:
			attempt = 0
		}
	}
}

// catchUpTx brings the engine to the base revision of tx (Revision()-1),
// reading over the transaction's own connection: the caller holds the
// store's write lock, so every revision up to the base is committed and
// nothing newer can commit. mu is held throughout, so the follower's loop
// cannot apply anything in between (its reads do not hold mu).
//
// Revisions up to the base that this process's writes committed are
// handed over by those writes: it waits for the tails started before it
// first (waitTails; bounded), and reads only what is still missing.
func (f *follower) catchUpTx(ctx context.Context, tx store.Tx) error {
	base := tx.Revision() - 1
	if f.eng.Revision() < base {
		f.waitTails(ctx, f.tailsStarted(), base)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	attempt := 0
	for f.eng.Revision() < base {
		b, err := f.read(ctx, txSource{tx}, f.cursor, f.reloadList())
		if err != nil {
			return err
		}
		progressed, retry, err := f.applyLocked(b, attempt)
		if progressed {
			f.drainLocked()
		}
		switch {
		case err != nil:
			return err
		case retry:
			attempt++
		case !progressed:
			return fmt.Errorf("the changelog ends at revision %d, before the transaction's base %d", b.n, base)
		default:
			attempt = 0
		}
	}
	return nil
}

// applyLocked merges a batch's pending snapshots and applies it all at the
// batch's last revision. It reports whether it applied anything, and
// whether the batch must be read again because it marked orgs for reload
// (an undecodable entry, or a batch the engine refused; after 3 attempts
// the batch's orgs are dropped instead: fail closed). f.mu is held; it
// does no I/O.
func (f *follower) applyLocked(b *batch, attempt int) (progressed, retry bool, err error) {
	n := b.n
	if n <= f.eng.Revision() && len(b.pending) == 0 {
		return false, false, nil
	}
	// Before the engine shows the batch (and WaitFor releases the
	// writer): a hook's effect is in place when the write is answered.
	for _, h := range f.hooks {
		h(b.changes)
	}
	if n <= f.eng.Revision() {
		// Pending reloads at the engine's own revision (possible only
		// at start) must wait for the next revision to be applied.
		return false, false, nil
	}

	out, known, bad, err := f.build(b)
	if err != nil {
		return false, false, err
	}
	if len(bad) > 0 && attempt < 3 {
		// Undecodable entries: reload those orgs whole and rebuild.
		for _, org := range bad {
			f.log.Warn("directory: reloading org after an undecodable changelog entry", "org", org)
			f.reloads.Add(1)
			f.reload[org] = true
		}
		return false, true, nil
	}
	if err := f.eng.Apply(n, out...); err != nil {
		if attempt < 3 {
			// The engine refused something: reload every org the batch
			// touches (their snapshots are taken as is) and rebuild.
			f.log.Warn("directory: engine refused a batch; reloading its orgs", "revision", n, "err", err)
			for _, org := range touched(out, b.changes) {
				f.reloads.Add(1)
				f.reload[org] = true
			}
			return false, true, nil
		}
		// Fail closed: drop the orgs of the batch from the engine (their
		// checks deny) rather than answer from stale data.
		var drop []authz.Change
		for _, org := range touched(out, b.changes) {
			drop = append(drop, authz.Change{Org: org, Op: authz.OpDeleteOrg})
			known[org] = false
		}
		if err2 := f.eng.Apply(n, drop...); err2 != nil {
			return false, false, fmt.Errorf("apply revision %d: %w (and dropping its orgs: %v)", n, err, err2)
		}
		f.lastErr.Store(&syncError{time.Now(), fmt.Errorf("apply revision %d: %w; its orgs were unloaded", n, err)})
	}
	for org, k := range known {
		if k {
			f.known[org] = true
		} else {
			delete(f.known, org)
		}
	}
	for org := range b.pending {
		delete(f.reload, org)
	}
	f.cursor = n
	f.gen++
	if f.onApply != nil {
		f.onApply(b)
	}
	return true, false, nil
}

// build translates a batch: pending snapshots first (as whole-org puts),
// then each change not already in its org's snapshot. known is the set of
// orgs the engine will hold after the batch (true) or not (false), for
// orgs whose state the batch changes. bad lists orgs with entries that do
// not decode.
func (f *follower) build(b *batch) (out []authz.Change, known map[string]bool, bad []string, err error) {
	known = map[string]bool{}
	isKnown := func(org string) bool {
		if k, ok := known[org]; ok {
			return k
		}
		return f.known[org]
	}
	orgs := make([]string, 0, len(b.pending))
	for org := range b.pending {
		orgs = append(orgs, org)
	}
	slices.Sort(orgs)
	// Most changes translate to one engine change: room for them up
	// front, not a slice regrown (and copied) ~10 times for a bulk write.
	out = make([]authz.Change, 0, len(orgs)+len(b.changes))
	for _, org := range orgs {
		p := b.pending[org]
		if p.snap == nil {
			if isKnown(org) {
				out = append(out, authz.Change{Org: org, Op: authz.OpDeleteOrg})
			}
			known[org] = false
			continue
		}
		var m *policy.Model
		if p.snap.Policy.Version > 0 {
			m = f.comp.engineModel(p.snap.Policy.Text)
		}
		d := p.snap.OrgData(m)
		out = append(out, authz.Change{Org: org, Op: authz.OpPutOrg, Data: &d})
		known[org] = true
	}
	badSet := map[string]bool{}
	for i, c := range b.changes {
		if p, ok := b.pending[c.Org]; ok && c.Revision <= p.rev {
			continue // already in the snapshot
		}
		if badSet[c.Org] {
			continue
		}
		var pre any
		if len(b.values) == len(b.changes) {
			pre = b.values[i]
		}
		chs, err := f.translateValue(c, pre, isKnown, known)
		if err != nil {
			badSet[c.Org] = true
			bad = append(bad, c.Org)
			continue
		}
		out = append(out, chs...)
	}
	return out, known, bad, nil
}

// touched lists the orgs a batch changes.
func touched(out []authz.Change, changes []store.Change) []string {
	set := map[string]bool{}
	for _, c := range out {
		org := c.Org
		if org == "" && c.Data != nil {
			org = c.Data.Org
		}
		if org != "" {
			set[org] = true
		}
	}
	for _, c := range changes {
		if c.Org != "" {
			set[c.Org] = true
		}
	}
	orgs := make([]string, 0, len(set))
	for org := range set {
		orgs = append(orgs, org)
	}
	slices.Sort(orgs)
	return orgs
}

// translate turns one changelog entry into engine changes. Entries for orgs
// the engine does not hold (deleted ones) are dropped; an entry the engine
// could only hold inertly (an id that is not an identifier, which the
// directory never writes) is dropped too, so that one odd row cannot make
// the engine refuse a whole batch.
func (f *follower) translate(c store.Change, isKnown func(string) bool, known map[string]bool) ([]authz.Change, error) {
	return f.translateValue(c, nil, isKnown, known)
}

// translateValue is translate with c's payload already decoded as pre
// (what c.Decode returns), or nil to decode it.
func (f *follower) translateValue(c store.Change, pre any, isKnown func(string) bool, known map[string]bool) ([]authz.Change, error) {
	org := c.Org
	if org == "" {
		return nil, nil // users are deployment-wide; memberships carry them into orgs
	}
	v := pre
	if v == nil {
		var err error
		if v, err = c.Decode(); err != nil {
			return nil, err
		}
	}
	if po, ok := payloadOrg(v); ok && po != org {
		return nil, fmt.Errorf("changelog entry %d/%d of org %q carries a payload of org %q", c.Revision, c.Seq, org, po)
	}
	switch c.Kind {
	case store.KindOrgPut:
		life := v.(store.Org).Lifecycle
		if isKnown(org) {
			// A rename or new suspension rules: of the org's metadata
			// the engine holds only the rules.
			return []authz.Change{{Org: org, Op: authz.OpSetLifecycle, Lifecycle: &life}}, nil
		}
		known[org] = true
		return []authz.Change{{Org: org, Op: authz.OpPutOrg, Data: &authz.OrgData{Org: org, Lifecycle: life}}}, nil
	case store.KindOrgDelete:
		if !isKnown(org) {
			return nil, nil
		}
		known[org] = false
		return []authz.Change{{Org: org, Op: authz.OpDeleteOrg}}, nil
	}
	if !isKnown(org) {
		return nil, nil
	}
	one := func(ch authz.Change) ([]authz.Change, error) {
		ch.Org = org
		return []authz.Change{ch}, nil
	}
	switch x := v.(type) {
	case store.Namespace:
		if !policy.IsIdent(x.Name) {
			return nil, nil
		}
		if c.Kind == store.KindNamespaceDelete {
			if x.Name == authz.DefaultNamespace {
				return nil, nil
			}
			return one(authz.Change{Op: authz.OpDeleteNamespace, ID: x.Name})
		}
		return one(authz.Change{Op: authz.OpPutNamespace, ID: x.Name})
	case store.Member:
		return principalChange(org, c.Kind == store.KindMemberDelete, x.Principal())
	case store.Agent:
		return principalChange(org, c.Kind == store.KindAgentDelete, x.Principal())
	case store.Service:
		return principalChange(org, c.Kind == store.KindServiceDelete, x.Principal())
	case store.Team:
		if c.Kind == store.KindTeamDelete {
			return one(authz.Change{Op: authz.OpDeleteTeam, ID: x.Slug})
		}
		if !policy.IsIdent(x.Slug) {
			return nil, nil
		}
		members := make([]string, 0, len(x.Members))
		for _, m := range x.Members {
			if engineActor(m) {
				members = append(members, m)
			}
		}
		return one(authz.Change{Op: authz.OpPutTeam, Team: authz.Team{Slug: x.Slug, Members: members}})
	case store.Binding:
		if c.Kind == store.KindBindingDelete {
			if x.ID == "" {
				return nil, nil
			}
			return one(authz.Change{Op: authz.OpDeleteBinding, ID: x.ID})
		}
		if !engineBinding(x.Binding) {
			return nil, nil
		}
		return one(authz.Change{Op: authz.OpPutBinding, Binding: x.Binding})
	case store.Resource:
		r := x.Resource
		if !policy.IsIdent(r.Namespace) || !policy.IsIdent(r.Type) || r.ID == "" {
			return nil, nil
		}
		if c.Kind == store.KindResourceDelete {
			return one(authz.Change{Op: authz.OpDeleteResource, Resource: authz.Resource{Namespace: r.Namespace, Type: r.Type, ID: r.ID}})
		}
		return one(authz.Change{Op: authz.OpPutResource, Resource: r})
	case store.Policy:
		return one(authz.Change{Op: authz.OpSetPolicy, Policy: f.comp.engineModel(x.Text)})
	case store.AuditSettingsChange:
		// Not decision state: nothing for the engine, nor for the public
		// change feed, which carries what the engine applies (its revision
		// still moves on). The decision log follows it (followSettings).
		return nil, nil
	}
	return nil, nil
}

func principalChange(org string, del bool, p authz.Principal) ([]authz.Change, error) {
	if del {
		return []authz.Change{{Org: org, Op: authz.OpDeletePrincipal, ID: p.ID}}, nil
	}
	if !engineActor(p.ID) || (p.Role != "" && !policy.IsIdent(p.Role)) {
		return nil, nil
	}
	return []authz.Change{{Org: org, Op: authz.OpPutPrincipal, Principal: p}}, nil
}

// payloadOrg is the org a decoded payload names, if it names one.
func payloadOrg(v any) (string, bool) {
	switch x := v.(type) {
	case store.Org:
		return x.ID, true
	case store.Namespace:
		return x.Org, true
	case store.Member:
		return x.Org, true
	case store.Agent:
		return x.Org, true
	case store.Service:
		return x.Org, true
	case store.Team:
		return x.Org, true
	case store.Binding:
		return x.Org, true
	case store.Resource:
		return x.Org, true
	case store.Policy:
		return x.Org, true
	case store.AuditSettingsChange:
		return x.Org, true
	}
	return "", false
}

// engineActor reports whether p is a principal id the engine accepts for
// a user, agent or service.
func engineActor(p string) bool {
	kind, name, ok := splitPrincipal(p)
	return ok && kind != authz.KindTeam && policy.IsIdent(name)
}

// engineBinding reports whether the engine accepts b's shape.
func engineBinding(b authz.Binding) bool {
	kind, name, ok := splitPrincipal(b.Principal)
	if role, isRole := strings.CutPrefix(b.Principal, authz.KindRole+":"); isRole {
		kind, name, ok = authz.KindRole, role, b.Scope.IsResource() // a share made to a role
	}
	if !ok || !policy.IsIdent(name) || kind == "" || b.ID == "" {
		return false
	}
	if (b.Role == "") == (len(b.Actions) == 0) || (b.Role != "" && !policy.IsIdent(b.Role)) {
		return false
	}
	for _, a := range b.Actions {
		if a != policy.Wildcard && !policy.IsIdent(a) {
			return false
		}
	}
	if b.Condition != "" && !policy.IsIdent(b.Condition) {
		return false
	}
	sc := b.Scope
	switch {
	case sc.IsOrg():
		return len(b.Actions) == 0
	case sc.IsResource():
		return policy.IsIdent(sc.Namespace) && policy.IsIdent(sc.Type)
	default:
		return policy.IsIdent(sc.Namespace) && sc.Type == "" && len(b.Actions) == 0
	}
}

// ownWrite hands a write's committed changes to the engine from memory
// (issue 19): without it the follower reads them back from the changelog
// after the commit (a batch of 1,000 changes is some 3,000 rows) and
// decodes them, as it does for other processes' writes. At the end of the
// write's callback, or once its rows are sent (hold), the writer takes a
// tail ticket and copies the transaction's changes; once the store has
// committed them at rev, apply hands them over as the batch of revision
// rev — exactly what the follower would read from the changelog, which
// the store still writes for other processes — and ends the ticket.
//
// No lock is held over the commit (issue 19, branch writes12): the tails
// of concurrent org writes (sqlcore's WriteOrg), each a round trip to the
// database, overlap, and their commits return in any order. The engine
// still applies revisions strictly in order, each once: a batch whose
// revision rev is next (the engine at rev-1) is applied at once, and then
// any ready one after it; one that is not is kept in ready until whoever
// applies rev-1 — another writer's hand-over, the follower, or a writer
// catching up inside its transaction — applies it next (drainLocked). A
// ready batch at or below what the engine has applied (the follower read
// its revision back) is dropped. A write returns once the engine shows
// its revision (settle), so read-your-writes holds as before.
//
// A revision is taken and committed in one transaction (the store's
// UPDATE of its revision row, which a failed commit rolls back with the
// rest), so no revision is ever skipped: a tail that fails leaves no gap
// and hands nothing over; the ready batches after it are applied once the
// revision the failed write did not take is committed by someone else
// and applied. If the store's reply is lost after a commit (the outcome
// unknown to the writer), the follower reads that revision from the
// changelog: it waits for the tails started before it to end, so it never
// waits on one forever, and reads whatever they did not hand over.
type ownWrite struct {
	f       *follower
	ticket  uint64
	tx      store.Tx
	changes []store.Change
	values  []any // changes' decoded payloads, when the store keeps them (changeValues)
}

// hold takes a tail ticket and keeps tx's changes (once: a callback run
// again keeps the last run's).
func (w *ownWrite) hold(f *follower, tx store.Tx) {
	if w.f == nil {
		w.ticket = f.startTail()
		w.f = f
	}
	w.tx = tx
	w.changes = changeList(tx)
	w.values = changeValues(tx, len(w.changes))
}

// apply hands over the changes committed at rev and ends the ticket.
func (w *ownWrite) apply(rev uint64) {
	if w.f == nil {
		return
	}
	f := w.f
	defer w.release()
	if len(w.changes) == 0 || rev == 0 {
		return
	}
	if w.changes[0].Revision != rev && w.tx != nil {
		// An org-scoped write is numbered at its commit (sqlcore's
		// WriteOrg: a later revision than fn saw when other orgs' writes
		// committed meanwhile): its changes as committed.
		if cs := changeList(w.tx); len(cs) == len(w.changes) {
			w.changes = cs
		}
	}
	for _, c := range w.changes {
		if c.Revision != rev {
			return // not this commit's changes: leave them to the follower
		}
	}
	b := &batch{cursor: rev - 1, n: rev, pending: map[string]pendingOrg{}, changes: w.changes, values: w.values}
	f.mu.Lock()
	defer f.mu.Unlock()
	if rev > f.cursor {
		f.ready[rev] = b
	}
	f.drainLocked()
}

// release ends the ticket if taken.
func (w *ownWrite) release() {
	if w.f != nil {
		w.f.endTail(w.ticket)
		w.f = nil
	}
	w.tx = nil
}

// drainLocked applies the ready batches that are next in revision order,
// one revision at a time, and drops those the engine already has. f.mu
// is held.
func (f *follower) drainLocked() {
	for r := range f.ready {
		if r <= f.cursor {
			delete(f.ready, r)
		}
	}
	for {
		r := f.cursor + 1
		b, ok := f.ready[r]
		if !ok || f.eng.Revision() != r-1 || len(f.reload) > 0 {
			return
		}
		delete(f.ready, r)
		progressed, _, err := f.applyLocked(b, 0)
		if err != nil {
			f.log.Warn("directory: applying a write's own changes failed; the follower reads them back", "revision", r, "err", err)
			return
		}
		if !progressed {
			return // marked orgs for reload: the follower reads from here
		}
	}
}

// tailWait bounds how long a reader of the changelog waits for this
// process's committing writes to hand their revisions over (waitTails):
// about a round trip to the database; past it, reading them back is
// correct, only slower.
const tailWait = 100 * time.Millisecond

// startTail hands out a tail ticket.
func (f *follower) startTail() uint64 {
	f.tmu.Lock()
	defer f.tmu.Unlock()
	t := f.tickets
	f.tickets++
	f.open[t] = struct{}{}
	return t
}

// endTail ends ticket t.
func (f *follower) endTail(t uint64) {
	f.tmu.Lock()
	defer f.tmu.Unlock()
	delete(f.open, t)
	close(f.tailEnded)
	f.tailEnded = make(chan struct{})
}

// tailsStarted is the next ticket: every tail started so far has a lower
// one.
func (f *follower) tailsStarted() uint64 {
	f.tmu.Lock()
	defer f.tmu.Unlock()
	return f.tickets
}

// waitTails waits until every tail with a ticket below before has ended
// or the engine has reached revision until (when > 0), at most tailWait
// (or until ctx ends). It holds no lock while waiting.
func (f *follower) waitTails(ctx context.Context, before, until uint64) {
	var timer *time.Timer
	for {
		if until > 0 && f.eng.Revision() >= until {
			return
		}
		f.tmu.Lock()
		waiting := false
		for t := range f.open {
			if t < before {
				waiting = true
				break
			}
		}
		ended := f.tailEnded
		f.tmu.Unlock()
		if !waiting {
			return
		}
		if timer == nil {
			timer = time.NewTimer(tailWait)
			defer timer.Stop()
		}
		select {
		case <-ended:
		case <-timer.C:
			return
		case <-ctx.Done():
			return
		}
	}
}

// changeList returns all of tx's changes.
func changeList(tx store.Tx) []store.Change {
	return changesFrom(tx, 0)
}

// changeValuer is implemented by a store transaction that keeps its
// changes' decoded payloads (sqlcore's: a binding.put's store.Binding).
type changeValuer interface {
	ChangeValuesFrom(i int) []any
}

// changeValues returns tx's changes' decoded payloads (nil where tx has
// none), or nil unless there is one per change of the n changeList gave.
func changeValues(tx store.Tx, n int) []any {
	cv, ok := tx.(changeValuer)
	if !ok {
		return nil
	}
	if vs := cv.ChangeValuesFrom(0); len(vs) == n {
		return vs
	}
	return nil
}
