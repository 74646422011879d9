// The audit log's operations: reading with redaction, following,
// verifying, checkpoints, events, decision logging, settings and resource
// history. audit.go builds the entry each write records.

package directory

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/internal/audit"
	"github.com/gatehouse-dev/gatehouse/internal/secretref"
	"github.com/gatehouse-dev/gatehouse/internal/store"
	"github.com/gatehouse-dev/gatehouse/policy"
)

// Redaction on read. Entries are stored and hashed in full; what a reader
// sees of them is decided when they are read, by the reader's
// secretref.AuditView (AuditView below): secret names are hidden from a
// reader without secrets:list in their namespace (seed 002: operators and
// viewers "don't know which API keys are being used"). Every read of
// entries, checkpoints or the chain head goes through that view; there is
// no directory without it.
//
// A reader whose view is not complete (AuditView.Missing) gets no hashes
// at all, no checkpoints and no chain head from verification: a hash
// commits to its entry and, through the chain, to every entry before it,
// so together with the entries the reader does see it would let the reader
// test guessed names offline. Redacted entries carry Redacted.

// AuditView is actor's view of org's log, as the engine is now: the view
// ListAudit, VerifyAudit, AuditCheckpoints and ResourceHistory apply (it
// checks nothing else; those check audit:read).
func (d *Directory) AuditView(actor Actor, org string) *secretref.AuditView {
	return secretref.NewAuditView(func(ns string) bool {
		return len(d.eng.Missing(org, actor.Principal, authz.Scope{Namespace: ns}, []policy.Permission{secretref.PermList})) == 0
	})
}

// present shows e as view's reader may see it.
func present(view *secretref.AuditView, e *audit.Entry) {
	if view.Missing() == "" {
		return
	}
	if view.Redact(e) {
		e.MarkRedacted()
	}
	e.WithholdHash()
}

// --- which entries a reader reads (audit:read, by namespace)

var permAuditRead = policy.Permission{Resource: "audit", Action: "read"}

// auditReader is which entries of an org's log one reader reads: every
// entry with audit:read at org scope, else those of the namespaces where
// it holds audit:read (unconditionally, at namespace scope or above).
type auditReader struct {
	o   *op
	org bool
	ns  map[string]bool // namespace → audit:read there (a cache for one read)
}

// auditReader is the actor's reader, or ErrForbidden (audit:read at org
// scope) when it holds audit:read nowhere — in no namespace of the org.
func (o *op) auditReader() (*auditReader, error) {
	if o.holds(authz.Scope{}, permAuditRead) {
		return &auditReader{o: o, org: true}, nil
	}
	r := &auditReader{o: o, ns: map[string]bool{}}
	cursor := ""
	for {
		nss, next, err := o.r.ListNamespaces(o.ctx, o.org, store.Page{Size: store.MaxPageSize, Cursor: cursor})
		if err != nil {
			return nil, err
		}
		for _, n := range nss {
			if r.reads(n.Name) {
				return r, nil
			}
		}
		if next == "" {
			return nil, &ForbiddenError{Permission: permAuditRead.String(), Scope: authz.Scope{}}
		}
		cursor = next
	}
}

// reads reports whether the reader holds audit:read in namespace ns.
func (r *auditReader) reads(ns string) bool {
	if r.org {
		return true
	}
	ok, seen := r.ns[ns]
	if !seen {
		ok = r.o.holds(authz.Scope{Namespace: ns}, permAuditRead)
		r.ns[ns] = ok
	}
	return ok
}

// sees reports whether the reader reads e.
func (r *auditReader) sees(e *audit.Entry) bool {
	if r.org {
		return true
	}
	ns := secretref.EntryNamespace(e)
	return ns != "" && r.reads(ns)
}

// auditScanBatch is how many entries a read for a reader confined to
// namespaces takes from the store at a time, after its first read.
const auditScanBatch = store.MaxPageSize

// ListAudit lists the org's audit entries matching f, with cursor
// pagination, as actor may see them (see AuditView: a filter naming what
// actor may not see matches nothing). Needs audit:read at org scope for
// the whole log; a reader holding it only in some namespaces reads their
// entries (secretref.EntryNamespace) and no org-level entry.
//
// For such a reader the store is read past the entries it does not read
// until the page is full or the log ends, and the next cursor is always
// the store's cursor after an entry the page answers: neither a short
// page nor a cursor tells the reader anything about the entries it does
// not read (whether some match its filter, or where they are). A read
// that fills the page inside a batch reads that batch again, up to the
// last entry answered, for that cursor.
//
// The entries answered were committed no later than the engine state the
// reader was judged by: the store may hold a commit the engine has not
// applied yet (this process's follower, or another process's write), and
// an entry written in the same transaction as the reader's removal — its
// own removal among them — must not be answered to it on the strength of
// the membership the transaction ended. So the read is judged at an engine
// revision no older than the store's newest revision read after it; when
// the engine was behind, the engine catches up and the read is made again
// (ErrNotCaughtUp, as for at_least, if it cannot). A refusal judged while
// the engine moved is judged again, so that the reader gets the answer of
// one state (removed: not found, as for an org that does not exist).
func (d *Directory) ListAudit(ctx context.Context, actor Actor, org string, f store.AuditFilter, p store.Page) ([]audit.Entry, string, error) {
	for attempt := 0; ; attempt++ {
		judged := d.eng.Revision()
		out, next, err := d.listAudit(ctx, actor, org, f, p)
		if err != nil {
			if d.eng.Revision() != judged && attempt < auditCatchUpAttempts && ctx.Err() == nil {
				// Judged across a change (a member at the door, no
				// longer a reader inside): judge again at one state.
				continue
			}
			return nil, "", err
		}
		head, err := d.st.CurrentRevision(ctx)
		if err != nil {
			return nil, "", mapErr("list audit", err)
		}
		if judged >= head {
			return out, next, nil
		}
		if attempt == auditCatchUpAttempts {
			return nil, "", &Error{Pkg: pkg, Op: "list audit", Msg: fmt.Sprintf("the log moved past the engine %d times (engine at %d, store at %d)", attempt+1, d.eng.Revision(), head), Kind: ErrNotCaughtUp}
		}
		if err := d.WaitFor(ctx, head); err != nil {
			return nil, "", err
		}
	}
}

// auditCatchUpAttempts bounds how many times ListAudit reads again after
// the engine caught up with a store that kept moving.
const auditCatchUpAttempts = 3

func (d *Directory) listAudit(ctx context.Context, actor Actor, org string, f store.AuditFilter, p store.Page) ([]audit.Entry, string, error) {
	var (
		out  []audit.Entry
		next string
	)
	err := d.read(ctx, "list audit", org, actor, func(o *op) error {
		reader, err := o.auditReader()
		if err != nil {
			return err
		}
		view := d.AuditView(actor, org)
		if view.Hides(f) {
			out = []audit.Entry{}
			return nil
		}
		decode := func(r store.AuditRecord) (audit.Entry, bool, error) {
			e, err := audit.FromRecord(r)
			if err != nil || !reader.sees(&e) {
				return e, false, err
			}
			present(view, &e)
			return e, true, nil
		}
		size := p.Size
		if size == 0 {
			size = store.DefaultPageSize
		}
		if reader.org || size < 0 || size > store.MaxPageSize {
			recs, n, err := d.st.ListAudit(ctx, org, f, p) // a bad page size is the store's ErrInvalid
			if err != nil {
				return err
			}
			out, next = make([]audit.Entry, 0, len(recs)), n
			for _, r := range recs {
				e, ok, err := decode(r)
				if err != nil {
					return err
				}
				if ok {
					out = append(out, e)
				}
			}
			return nil
		}
		// The first read asks for no more than the page holds: it fills
		// the page only if every entry it reads is answered.
		out = []audit.Entry{}
		cursor, batch := p.Cursor, size
		for {
			recs, n, err := d.st.ListAudit(ctx, org, f, store.Page{Size: batch, Cursor: cursor})
			if err != nil {
				return err
			}
			for i, r := range recs {
				e, ok, err := decode(r)
				if err != nil {
					return err
				}
				if !ok {
					continue
				}
				out = append(out, e)
				if len(out) < size {
					continue
				}
				if i == len(recs)-1 {
					next = n
					return nil
				}
				_, next, err = d.st.ListAudit(ctx, org, f, store.Page{Size: i + 1, Cursor: cursor})
				return err
			}
			if n == "" {
				return nil
			}
			cursor, batch = n, auditScanBatch
		}
	})
	return out, next, err
}

// auditRecheck is how often FollowAudit reads the log again when nothing
// woke it: audit entries committed without a new revision by another
// process (a replica's denied attempts, decisions and authentication
// failures) or by a writer that records through the store directly (the
// vault's secret writes) do not show on store.Watch, and nothing else
// announces them.
const auditRecheck = time.Second

// FollowAudit is ListAudit for following the log: when the page would be
// empty it waits, until the time until at the latest, for entries to be
// committed, and returns as soon as the read finds some (or the empty
// page at until; or when ctx ends, the empty page and no error). It reads
// again when the store's revision moves (store.Watch: every write, from
// any process), when this directory commits audit entries without a new
// revision (denied attempts, decisions, events), and every auditRecheck
// for those it cannot be told about. Every read is a ListAudit: the
// actor's right to read, and what it may see, are checked each time —
// after a new revision, with the engine at that revision at least (or
// ErrNotCaughtUp, as WaitFor).
func (d *Directory) FollowAudit(ctx context.Context, actor Actor, org string, f store.AuditFilter, p store.Page, until time.Time) ([]audit.Entry, string, error) {
	if !d.clock().Before(until) {
		return d.ListAudit(ctx, actor, org, f, p)
	}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// Subscribe before reading, so that nothing committed after the read
	// goes unnoticed.
	watch := d.st.Watch(wctx)
	local := d.audited.wait()
	expired, stop := d.timer(until)
	defer stop()
	for {
		es, next, err := d.ListAudit(ctx, actor, org, f, p)
		if err != nil || len(es) > 0 {
			return es, next, err
		}
		recheck, stopRecheck := d.timer(d.clock().Add(auditRecheck))
		select {
		case <-ctx.Done():
			stopRecheck()
			return es, next, nil
		case <-expired:
			stopRecheck()
			return d.ListAudit(ctx, actor, org, f, p)
		case rev, ok := <-watch:
			if !ok {
				watch = nil // ctx ended (above) or the store was closed (its reads say so)
				break
			}
			// Read at the revision that woke us at least: a reader
			// removed by it is refused, not shown its own removal.
			if err := d.WaitFor(ctx, rev); err != nil {
				stopRecheck()
				if ctx.Err() != nil {
					return es, next, nil
				}
				return nil, "", err
			}
		case <-local:
			local = d.audited.wait()
		case <-recheck:
		}
		stopRecheck()
	}
}

// clock is FollowAudit's time source: nil in Directory.clk is the real
// one; tests set a fake to follow a log for "20 seconds" at once.
type clock interface {
	Now() time.Time
	// Timer returns a channel that receives once the time is at or after
	// until, and a function that stops it.
	Timer(until time.Time) (<-chan time.Time, func() bool)
}

func (d *Directory) clock() time.Time {
	if d.clk != nil {
		return d.clk.Now()
	}
	return time.Now()
}

func (d *Directory) timer(until time.Time) (<-chan time.Time, func() bool) {
	if d.clk != nil {
		return d.clk.Timer(until)
	}
	t := time.NewTimer(time.Until(until))
	return t.C, t.Stop
}

// signal wakes every waiter once per fire; waiting costs nothing when
// nobody fires, firing costs a lock when nobody waits.
type signal struct {
	mu sync.Mutex
	ch chan struct{}
}

// wait returns a channel closed by the next fire.
func (s *signal) wait() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ch == nil {
		s.ch = make(chan struct{})
	}
	return s.ch
}

func (s *signal) fire() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ch != nil {
		close(s.ch)
		s.ch = nil
	}
}

// VerifyAudit verifies the org's log with the directory's audit key (when
// its recorder is an *audit.Log that signs: checkpoint signatures and
// entry MACs) and the exported checkpoints given; the org exists, so an
// empty log is a missing one. Needs audit:read at org scope. A log that does not verify is a
// *audit.VerifyError.
func (d *Directory) VerifyAudit(ctx context.Context, actor Actor, org string, exported []audit.Checkpoint) (audit.Report, error) {
	var rep audit.Report
	err := d.read(ctx, "verify audit", org, actor, func(o *op) error {
		if err := o.need("audit:read", authz.Scope{}); err != nil {
			return err
		}
		// The org exists (the actor is a member): it must have a log.
		opts := audit.VerifyOptions{Checkpoints: exported, Orgs: []string{org}}
		if k, ok := d.rec.(interface {
			VerifyKeys() []audit.PublicKey
			MACKey() (audit.MACKey, bool)
		}); ok {
			// The signer's key and the earlier ones it trusts (after a
			// rotation): their checkpoints vouch for the entries they cover.
			opts.Keys = append(opts.Keys, k.VerifyKeys()...)
			if mk, ok := k.MACKey(); ok {
				opts.MACKeys = append(opts.MACKeys, mk)
			}
		}
		var err error
		rep, err = audit.Verify(ctx, d.st, org, opts)
		if d.AuditView(actor, org).Missing() != "" {
			rep.Head = audit.Hash{} // withheld: it commits to entries the reader sees redacted
		}
		return err
	})
	var ve *audit.VerifyError
	if errors.As(err, &ve) {
		return rep, ve // not a directory error: the caller reports it as a result
	}
	return rep, err
}

// AuditCheckpoints lists the org's checkpoints after `after` (for
// exporting them). Needs audit:read at org scope, and a complete view of
// the log (a signed chain head commits to every entry before it): a
// reader that sees entries redacted gets ErrForbidden naming the
// permission that would make its view complete (secrets:list at org scope,
// from the vault).
func (d *Directory) AuditCheckpoints(ctx context.Context, actor Actor, org string, after uint64) ([]audit.Checkpoint, error) {
	var out []audit.Checkpoint
	err := d.read(ctx, "list audit checkpoints", org, actor, func(o *op) error {
		if err := o.need("audit:read", authz.Scope{}); err != nil {
			return err
		}
		if missing := d.AuditView(actor, org).Missing(); missing != "" {
			return &ForbiddenError{Permission: missing, Scope: authz.Scope{}}
		}
		cps, err := d.st.ListAuditCheckpoints(ctx, org, after, store.MaxAuditBatch)
		for _, c := range cps {
			out = append(out, audit.CheckpointFromStore(c))
		}
		return err
	})
	return out, err
}

// RecordEvent records an event that changes nothing in the directory (an
// authentication failure, a decision) in a transaction of its own. An
// entry without an org goes to the deployment's log (audit.SystemOrg); one
// without a target is about its org ("org/<id>").
func (d *Directory) RecordEvent(ctx context.Context, e audit.Entry) error {
	if e.Org == "" {
		e.Org = audit.SystemOrg
	}
	if e.Target == "" {
		e.Target = orgTarget(e.Org)
	}
	_, err := d.st.Write(ctx, func(tx store.Tx) error { return d.rec.Record(ctx, tx, e) })
	if err == nil {
		d.audited.fire()
	}
	return err
}

// --- decisions (recorded by each org's audit settings)

// logDecision records a decision when the org's settings ask for it, and
// waits until it is durable; if that fails the decision fails
// (ErrUnavailable), as any action whose audit entry cannot be written. The
// request's context values are not recorded. slot, when not nil, is
// req.Org's settings slot (the org gate's, Gate.settings), read without
// finding it again.
func (d *Directory) logDecision(ctx context.Context, actor Actor, req *authz.Request, dec authz.Decision, slot *audit.OrgSettings) error {
	if slot == nil {
		slot = d.dlog.Slot(req.Org)
	}
	want, err := d.dlog.WantedBy(ctx, slot, dec.Allowed)
	if err != nil {
		return &Error{Pkg: pkg, Op: "check", Msg: "reading the org's audit settings failed", Kind: ErrUnavailable, Cause: err}
	}
	if !want {
		return nil
	}
	// The check path has no request deadline (server routes bound their
	// own waits): bound the store read of the actor's roles here; Record
	// bounds its own wait.
	ctx, cancel := context.WithTimeout(ctx, audit.StoreTimeout)
	defer cancel()
	ns := req.Namespace
	if ns == "" {
		ns = authz.DefaultNamespace
	}
	target := "resource/" + ns + "/" + req.ResourceType
	if req.ResourceID != "" {
		target += "/" + req.ResourceID
	}
	result := audit.Success
	if !dec.Allowed {
		result = audit.Denied
	}
	e := audit.Entry{
		Org: req.Org, Actor: d.decisionActor(ctx, req.Org, actor), Action: audit.DecisionAction, Target: target, Result: result,
		Details: auditObject(map[string]any{
			"principal": req.Principal, "action": req.Action, "on_behalf_of": req.OnBehalfOf,
			"allowed": dec.Allowed, "revision": dec.Revision,
		}),
	}
	if err := d.dlog.Record(ctx, e); err != nil {
		return &Error{Pkg: pkg, Op: "check", Msg: "recording the decision in the audit log failed", Kind: ErrUnavailable, Cause: err}
	}
	d.audited.fire()
	return nil
}

// AuditSettings returns the org's audit settings. Needs audit:read.
func (d *Directory) AuditSettings(ctx context.Context, actor Actor, org string) (audit.Settings, error) {
	var out audit.Settings
	err := d.read(ctx, "get audit settings", org, actor, func(o *op) error {
		if err := o.need("audit:read", authz.Scope{}); err != nil {
			return err
		}
		var err error
		out, err = audit.LoadSettings(ctx, d.st, org)
		return err
	})
	return out, err
}

// SetAuditSettings changes which decisions the org records. Needs
// audit:update at org scope; the change is itself audited.
func (d *Directory) SetAuditSettings(ctx context.Context, actor Actor, org string, s audit.Settings) (uint64, error) {
	if err := s.Check(); err != nil {
		return 0, invalid("settings", "%v", err)
	}
	rev, err := d.write(ctx, "update audit_settings", org, actor, func(o *op) error {
		if err := o.need("audit:update", authz.Scope{}); err != nil {
			return err
		}
		// The entry has the settings before and after (the changelog
		// has only after): the stored object, or the default (off).
		before, err := o.tx.AuditSettings(ctx, org)
		if err != nil {
			return err
		}
		if before == nil {
			before = auditObject(audit.Settings{Decisions: audit.DecisionsOff})
		}
		after := s
		if after.Decisions == "" {
			after.Decisions = audit.DecisionsOff
		}
		if err := audit.SaveSettings(ctx, o.tx, org, after); err != nil {
			return err
		}
		o.note = AuditNote{Target: "audit_settings/" + org, Before: json.RawMessage(before), After: after}
		return nil
	})
	d.dlog.Invalidate(org)
	return rev, err
}

// followSettings hands the decision log each audit-settings change of a
// batch the follower is applying (an OnChanges hook: quick, no store). The
// payload carries the settings as stored; one that does not decode makes
// the log forget the org's settings, so that its next lookup reads them.
func (d *Directory) followSettings(changes []store.Change) {
	for _, c := range changes {
		if c.Kind != store.KindAuditSettingsPut {
			continue
		}
		v, err := c.Decode()
		if x, ok := v.(store.AuditSettingsChange); err == nil && ok && x.Org == c.Org && x.Settings != nil {
			d.dlog.Changed(c.Org, x.Settings)
			continue
		}
		d.dlog.Invalidate(c.Org)
	}
}

// VersionHistory is one version of a resource's spec: who changed it,
// when, what changed from the version before, and the audit entry that
// recorded the change (nil once pruned).
type VersionHistory struct {
	Version   uint64            `json:"version"`
	Author    string            `json:"author"`
	CreatedAt time.Time         `json:"created_at"`
	Diff      []store.DiffEntry `json:"diff,omitempty"` // from the previous version
	Audit     *audit.Entry      `json:"audit,omitempty"`
}

// ResourceHistory lists every version of a resource, oldest first, joined
// with the audit entries that recorded them, both as actor may see them
// (secret references taken out of the diff, the entries through
// AuditView).
// Needs read on the resource and audit:read in its namespace (or at org
// scope).
func (d *Directory) ResourceHistory(ctx context.Context, actor Actor, org string, ref authz.ResourceRef) ([]VersionHistory, error) {
	var out []VersionHistory
	err := d.read(ctx, "resource history", org, actor, func(o *op) error {
		if _, err := o.readable(ref); err != nil {
			return err
		}
		// The entries are the resource's namespace's (entryNamespace).
		if err := o.need("audit:read", authz.Scope{Namespace: ref.Namespace}); err != nil {
			return err
		}
		vs, err := allPages(func(p store.Page) ([]store.ResourceVersion, string, error) {
			return d.st.ListResourceVersions(ctx, org, ref, p)
		})
		if err != nil {
			return err
		}
		target := "resource/" + store.RefKey(ref)
		recs, err := allPages(func(p store.Page) ([]store.AuditRecord, string, error) {
			return d.st.ListAudit(ctx, org, store.AuditFilter{Target: target, Result: string(audit.Success)}, p)
		})
		if err != nil {
			return err
		}
		view := d.AuditView(actor, org)
		byVersion := map[uint64]*audit.Entry{}
		for _, r := range recs {
			e, err := audit.FromRecord(r)
			if err != nil {
				return err
			}
			var after struct {
				Version uint64 `json:"version"`
			}
			ok := json.Unmarshal(e.After, &after) == nil && after.Version > 0
			present(view, &e)
			if ok {
				byVersion[after.Version] = &e // the newest entry for a version wins (a delete and re-create)
			}
		}
		slices.Reverse(vs) // oldest first
		for i, v := range vs {
			h := VersionHistory{Version: v.Version, Author: v.Author, CreatedAt: v.CreatedAt, Audit: byVersion[v.Version]}
			if i > 0 {
				if h.Diff, err = d.st.DiffResourceVersions(ctx, org, ref, vs[i-1].Version, v.Version); err != nil {
					return err
				}
				h.Diff = o.redactDiff(ref, h.Diff) // secret references
			}
			out = append(out, h)
		}
		return nil
	})
	return out, err
}

// DecisionLogStats reports the work of the decision log's writer (the
// group commit of decision and tool-call entries) since Open.
func (d *Directory) DecisionLogStats() audit.DecisionLogStats { return d.dlog.Stats() }

// RecordCall records e, an event of the data plane the directory does not
// decide itself (a tool call through the MCP gateway), with actor as
// decision entries name it (roles included), through the decision log's
// group commit: it returns once the entry is durable, or the error, which
// the caller treats as a failed call.
func (d *Directory) RecordCall(ctx context.Context, actor Actor, e audit.Entry) error {
	ctx, cancel := context.WithTimeout(ctx, audit.StoreTimeout)
	defer cancel()
	e.Actor = d.decisionActor(ctx, e.Org, actor)
	if err := d.dlog.Record(ctx, e); err != nil {
		return &Error{Pkg: pkg, Op: e.Action, Msg: "the audit entry could not be written", Kind: ErrUnavailable, Cause: err}
	}
	d.audited.fire()
	return nil
}
