package directory

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/internal/audit"
	"github.com/gatehouse-dev/gatehouse/internal/secretref"
	"github.com/gatehouse-dev/gatehouse/internal/store"
	"github.com/gatehouse-dev/gatehouse/policy"
)

// Audit (issue 7). Every write operation records one audit entry in its
// own store transaction, after the change and before commit: if the entry
// cannot be written the operation fails and nothing it changed is kept.
// The entry names the actor (principal, the roles it is bound to, key,
// session, client address, request id), the action (the operation's name,
// "create binding" → "binding.create"), the target (what the operation
// says it is about, else the first changelog entry's kind and key,
// "binding/b1"), and for changes to something that existed the before and
// after objects (of the target's change: read from the committed state and
// from the changelog payload). An operation refused for lack of
// permission, as an escalation or to keep an owner is recorded as denied
// in a transaction of its own; if that fails, the caller gets the audit
// error instead of the denial.
//
// Every entry has a target (the store refuses an entry without one, and
// the action then fails): the operation's own (AuditNote.Target), else its
// first change's, else the org ("org/acme"). A refusal's target is the
// scope it was refused at ("scope/ns/prod"), else what the operation was
// about (its AuditNote.Target), else the org.
//
// Reading: an entry belongs to a namespace when its target or objects say
// which (entryNamespace); every other entry is org-level. A reader holding
// audit:read at org scope reads the whole log; one holding it only in
// some namespaces reads the entries of those namespaces and no org-level
// entry; anyone else is refused.

// auditAction turns an operation name into an action: the first word is
// the verb, the rest the noun ("add team member" → "team_member.add").
func auditAction(name string) string {
	words := strings.Fields(name)
	if len(words) < 2 {
		return strings.Join(words, "")
	}
	return strings.Join(words[1:], "_") + "." + words[0]
}

// auditTarget names what a change touched: "binding/b1".
func auditTarget(c store.Change) string {
	noun, _, _ := strings.Cut(string(c.Kind), ".")
	return noun + "/" + c.Key
}

// maxAuditObject bounds before/after objects kept verbatim; larger ones
// (a policy text, a big spec) are kept as their SHA-256 and size.
const maxAuditObject = 32 << 10

func auditObject(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	if len(b) <= maxAuditObject {
		return b
	}
	sum := sha256.Sum256(b)
	out, _ := json.Marshal(map[string]any{"sha256": hex.EncodeToString(sum[:]), "bytes": len(b)})
	return out
}

// committed returns what a put replaced, from the committed state
// (tx.Committed: writers are serialized, so that is the state before the
// transaction; it never waits for a pooled connection, which the writers
// queued behind tx may all hold); nil for a creation.
func (d *Directory) committed(ctx context.Context, tx store.Tx, c store.Change) any {
	v, err := c.Decode()
	if err != nil {
		return nil
	}
	var (
		before any
		gerr   error
		st     = tx.Committed()
	)
	switch x := v.(type) {
	case store.Org:
		before, gerr = st.GetOrg(ctx, x.ID)
	case store.Member:
		before, gerr = st.GetMember(ctx, x.Org, x.UserID)
	case store.Agent:
		before, gerr = st.GetAgent(ctx, x.Org, x.Name)
	case store.Service:
		before, gerr = st.GetService(ctx, x.Org, x.Name)
	case store.Team:
		before, gerr = st.GetTeam(ctx, x.Org, x.Slug)
	case store.Resource:
		before, gerr = st.GetResource(ctx, x.Org, x.Ref())
	case store.Policy:
		before, gerr = st.GetPolicy(ctx, x.Org)
	case store.APIKey: // its hash is never marshalled (json:"-")
		before, gerr = st.GetAPIKey(ctx, x.ID)
	case store.Invitation:
		before, gerr = st.GetInvitation(ctx, x.ID)
	default:
		return nil
	}
	if gerr != nil {
		return nil
	}
	return before
}

// auditActor describes the actor with the roles it is bound to in org
// (directly; "role@namespace" or "role@namespace/type/id" below org
// scope).
func (d *Directory) auditActor(ctx context.Context, r store.Reader, org string, a Actor) audit.Actor {
	out := actorOf(a)
	out.Roles = rolesOf(ctx, r, org, a.Principal)
	return out
}

// actorOf is a's audit description without its roles.
func actorOf(a Actor) audit.Actor {
	return audit.Actor{Principal: a.Principal, KeyID: a.KeyID, SessionID: a.SessionID, ClientAddr: a.ClientAddr, RequestID: a.RequestID}
}

// rolesOf lists what principal is bound to in org, as audit entries name
// it ("admin", "viewer@prod", "run,read@prod/chains/x"); nil when org is
// "" or the bindings cannot be read (the entry is still written).
func rolesOf(ctx context.Context, r store.Reader, org, principal string) []string {
	if org == "" || principal == "" {
		return nil
	}
	bs, _, err := r.ListBindings(ctx, org, store.BindingFilter{Principal: principal}, store.Page{Size: 100})
	if err != nil {
		return nil
	}
	var roles []string
	for _, b := range bs {
		role := b.Role
		if role == "" {
			role = strings.Join(b.Actions, ",")
		}
		if !b.Scope.IsOrg() {
			role += "@" + b.Scope.Namespace
			if b.Scope.Type != "" {
				role += "/" + b.Scope.Type + "/" + b.Scope.ID
			}
		}
		roles = append(roles, role)
	}
	sort.Strings(roles)
	return roles
}

// rolesCache holds the roles of actors at one engine revision: a write
// that changes bindings changes the revision, and the cache starts over.
type rolesCache struct {
	mu  sync.Mutex
	rev uint64
	m   map[[2]string][]string // {org, principal} → roles
}

// decisionActor is auditActor for decision entries, which can be many per
// second: the actor's roles are read from the store once per actor and
// engine revision.
func (d *Directory) decisionActor(ctx context.Context, org string, a Actor) audit.Actor {
	out := actorOf(a)
	rev, k := d.eng.Revision(), [2]string{org, a.Principal}
	c := &d.droles
	c.mu.Lock()
	roles, ok := c.m[k]
	ok = ok && c.rev == rev
	c.mu.Unlock()
	if !ok {
		roles = rolesOf(ctx, d.st, org, a.Principal)
		c.mu.Lock()
		if c.rev != rev || c.m == nil || len(c.m) >= 4096 {
			c.rev, c.m = rev, map[[2]string][]string{}
		}
		c.m[k] = roles
		c.mu.Unlock()
	}
	out.Roles = slices.Clone(roles) // the cached slice is shared
	return out
}

// AuditActor describes actor as an audit entry of org records it: the
// principal with the roles it is bound to in org (as the directory's own
// entries do), its key, session, client address and request id. r reads
// the bindings (the caller's transaction, or the store). For other domain
// packages that record entries (the vault).
func (d *Directory) AuditActor(ctx context.Context, r store.Reader, org string, actor Actor) audit.Actor {
	return d.auditActor(ctx, r, org, actor)
}

// AuditNote is what a write's audit entry records beyond what its
// changes show. Zero fields are taken from the transaction's first change
// (target, before, after).
type AuditNote struct {
	// Target names what the write touched ("member/user:bob",
	// "apikey/k1"); for a refused write, what it was about (when the
	// refusal names no scope).
	Target        string
	Before, After any
	Details       map[string]any
}

// EmailDigest is how audit entries name an email address: the hex
// SHA-256 of the address, lowercased. The org's log is readable by every
// role with audit:read (a viewer), an address is personal data, and the
// invitation itself (target "invitation/<id>", listed with members:list)
// keeps the address for whoever may see it. A digest lets an
// investigator confirm a suspected address; it does not hide an address
// someone can guess.
func EmailDigest(email string) string {
	sum := sha256.Sum256([]byte(strings.ToLower(strings.TrimSpace(email))))
	return hex.EncodeToString(sum[:])
}

// invitationObject is an invitation as its audit entries show it: the
// email as its digest.
func invitationObject(v store.Invitation) map[string]any {
	m := map[string]any{"id": v.ID, "org": v.Org, "email_sha256": EmailDigest(v.Email), "role": v.Role,
		"invited_by": v.InvitedBy, "created_at": v.CreatedAt, "expires_at": v.ExpiresAt}
	if !v.AcceptedAt.IsZero() {
		m["accepted_at"], m["accepted_by"] = v.AcceptedAt, v.AcceptedBy
	}
	if !v.RevokedAt.IsZero() {
		m["revoked_at"] = v.RevokedAt
	}
	return m
}

// orgTarget is the target of an entry about the org as a whole.
func orgTarget(org string) string { return "org/" + org }

// recordSuccess records a successful write in tx (the op's own
// transaction). Operations that changed nothing are recorded too. edits
// complete the entry after it is described from the changelog and n.
func (d *Directory) recordSuccess(ctx context.Context, tx store.Tx, name, org string, actor Actor, n AuditNote, edits ...func(*audit.Entry)) error {
	e := audit.Entry{Org: org, Actor: d.auditActor(ctx, tx, org, actor), Action: auditAction(name), Result: audit.Success}
	if org == "" {
		e.Org = audit.SystemOrg
	}
	changes := tx.Changes()
	if len(changes) > 0 {
		// The change the entry is about: the one of the write's target
		// (a deletion that cascades changes other things first), else
		// the first.
		first := changes[0]
		for _, c := range changes {
			if n.Target != "" && auditTarget(c) == n.Target {
				first = c
				break
			}
		}
		e.Target = auditTarget(first)
		switch {
		case strings.HasSuffix(string(first.Kind), ".delete"):
			e.Before = auditObject(first.Payload)
		case first.Kind == store.KindInvitationPut:
			if before, ok := d.committed(ctx, tx, first).(store.Invitation); ok {
				e.Before = auditObject(invitationObject(before))
			}
			if after, err := first.Decode(); err == nil {
				e.After = auditObject(invitationObject(after.(store.Invitation)))
			}
		default:
			if before := d.committed(ctx, tx, first); before != nil {
				e.Before = auditObject(before)
			}
			e.After = auditObject(first.Payload)
		}
	}
	details := map[string]any{}
	for k, v := range n.Details {
		details[k] = v
	}
	if len(changes) > 1 {
		type ch struct {
			Kind string `json:"kind"`
			Key  string `json:"key"`
		}
		list := make([]ch, 0, len(changes))
		for _, c := range changes {
			list = append(list, ch{Kind: string(c.Kind), Key: c.Key})
		}
		details["changes"] = list
	}
	if len(details) > 0 {
		e.Details = auditObject(details)
	}
	if n.Target != "" {
		e.Target = n.Target
	}
	if n.Before != nil {
		e.Before = auditObject(n.Before)
	}
	if n.After != nil {
		e.After = auditObject(n.After)
	}
	if e.Target == "" {
		e.Target = orgTarget(e.Org)
	}
	for _, edit := range edits {
		edit(&e)
	}
	return d.rec.Record(ctx, tx, e)
}

// RecordWrite records a successful write by actor in tx, the write's own
// transaction, as the directory records its own (for other domain
// packages' administrative writes: API keys, invitations). name is the
// operation ("create apikey" → action "apikey.create"); org "" records
// it in the deployment's log. If it fails, tx must fail: return the error
// from the store.Write callback.
func (d *Directory) RecordWrite(ctx context.Context, tx store.Tx, name, org string, actor Actor, n AuditNote) error {
	if err := d.recordSuccess(ctx, tx, name, org, actor, n); err != nil {
		return &Error{Pkg: pkg, Op: name, Msg: "the audit entry could not be written", Kind: ErrUnavailable, Cause: err}
	}
	return nil
}

// RecordDenied records that a member's write was refused (forbidden,
// escalation) as the directory records its own refusals, in a transaction
// of its own, and returns err — or the audit error if the entry could not
// be written. target is what the write was about (used when the refusal
// names no scope). Other errors, and org "" (a personal write, refused
// before any org is involved), are returned as they are.
func (d *Directory) RecordDenied(ctx context.Context, name, org string, actor Actor, target string, err error) error {
	if org == "" {
		return err
	}
	return d.recordDenied(ctx, name, org, actor, target, err)
}

// recordDenied records a refused write in a transaction of its own, for
// refusals a member earned (forbidden, escalation, last owner). It
// returns err, or the audit error if the record could not be written.
func (d *Directory) recordDenied(ctx context.Context, name, org string, actor Actor, target string, err error) error {
	if !errors.Is(err, ErrForbidden) && !errors.Is(err, ErrEscalation) && !errors.Is(err, ErrLastOwner) {
		return err
	}
	e := audit.Entry{Org: org, Actor: d.auditActor(ctx, d.st, org, actor), Action: auditAction(name), Result: audit.Denied, Message: err.Error(), Target: target}
	var fe *ForbiddenError
	var ee *EscalationError
	switch {
	case errors.As(err, &fe):
		e.Target = "scope/" + fe.Scope.String()
		e.Details = auditObject(map[string]any{"permission": fe.Permission})
	case errors.As(err, &ee):
		e.Target = "scope/" + ee.Scope.String()
		e.Details = auditObject(ee)
	}
	if e.Target == "" {
		e.Target = orgTarget(org)
	}
	if _, werr := d.st.Write(ctx, func(tx store.Tx) error { return d.rec.Record(ctx, tx, e) }); werr != nil {
		return &Error{Pkg: pkg, Op: name, Msg: "recording the denied attempt in the audit log failed", Kind: ErrUnavailable, Cause: werr}
	}
	d.audited.fire() // committed without a new revision: Watch does not say so
	return err
}

// --- reading the log (audit:read at org scope)

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

// entryNamespace is the namespace an entry is about, or "" for an entry
// about the org as a whole (or whose namespace cannot be told, which is
// read as org-level: fail closed). From the target:
//
//   - "resource/<ns>/<type>[/<id>]" (a resource write, a decision);
//   - "scope/ns/<ns>" and "scope/<ns>/<type>/<id>" (a refusal there);
//   - "namespace/<ns>" (the namespace's creation or deletion);
//   - "<ns>/<type>/<id>" of the vault's "secrets.*" entries (a secret, the
//     resource of a run token);
//   - "binding/<id>": the scope of the binding in the entry's after (or
//     before) object; an org-scope binding is org-level.
func entryNamespace(e *audit.Entry) string {
	segs := strings.Split(e.Target, "/")
	ns := ""
	switch {
	case segs[0] == "resource" && len(segs) >= 3:
		ns = segs[1]
	case segs[0] == "scope" && len(segs) == 3 && segs[1] == "ns":
		ns = segs[2]
	case segs[0] == "scope" && len(segs) == 4:
		ns = segs[1]
	case segs[0] == "namespace" && len(segs) == 2:
		ns = segs[1]
	case strings.HasPrefix(e.Action, "secrets.") && len(segs) == 3:
		ns = segs[0]
	case segs[0] == "binding" && len(segs) == 2:
		obj := e.After
		if len(obj) == 0 {
			obj = e.Before
		}
		var b struct {
			Scope authz.Scope `json:"scope"`
		}
		if json.Unmarshal(obj, &b) == nil {
			ns = b.Scope.Namespace
		}
	}
	if checkSlugIdent("namespace", ns) != nil {
		return ""
	}
	return ns
}

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
	ns := entryNamespace(e)
	return ns != "" && r.reads(ns)
}

// auditScanBatch is how many entries a read for a reader confined to
// namespaces takes from the store at a time, after its first read.
const auditScanBatch = store.MaxPageSize

// ListAudit lists the org's audit entries matching f, with cursor
// pagination, as actor may see them (see AuditView: a filter naming what
// actor may not see matches nothing). Needs audit:read at org scope for
// the whole log; a reader holding it only in some namespaces reads their
// entries (entryNamespace) and no org-level entry.
//
// For such a reader the store is read past the entries it does not read
// until the page is full or the log ends, and the next cursor is always
// the store's cursor after an entry the page answers: neither a short
// page nor a cursor tells the reader anything about the entries it does
// not read (whether some match its filter, or where they are). A read
// that fills the page inside a batch reads that batch again, up to the
// last entry answered, for that cursor.
func (d *Directory) ListAudit(ctx context.Context, actor Actor, org string, f store.AuditFilter, p store.Page) ([]audit.Entry, string, error) {
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
			PublicKey() (audit.PublicKey, bool)
			MACKey() (audit.MACKey, bool)
		}); ok {
			if pk, ok := k.PublicKey(); ok {
				opts.Keys = append(opts.Keys, pk)
			}
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
// request's context values are not recorded.
func (d *Directory) logDecision(ctx context.Context, actor Actor, req *authz.Request, dec authz.Decision) error {
	want, err := d.dlog.Wanted(ctx, req.Org, dec.Allowed)
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
		// The entry has the settings before and after (they are not in the
		// changelog): the stored object, or the default (off).
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
		o.auditEdits = append(o.auditEdits, func(e *audit.Entry) {
			e.Target = "audit_settings/" + org
			e.Before, e.After = auditObject(json.RawMessage(before)), auditObject(after)
		})
		return nil
	})
	d.dlog.Invalidate(org)
	return rev, err
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
