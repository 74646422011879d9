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
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// Audit (issue 7). Every write operation records one audit entry in its
// own store transaction, after the change and before commit: if the entry
// cannot be written the operation fails and nothing it changed is kept.
// The entry names the actor (principal, the roles it is bound to, key,
// session, client address, request id), the action (the operation's name,
// "create binding" → "binding.create"), the target (the first changelog
// entry's kind and key, "binding/b1"), and for changes to something that
// existed the before and after objects (read from the committed state and
// from the changelog payload). An operation refused for lack of
// permission, as an escalation or to keep an owner is recorded as denied
// in a transaction of its own; if that fails, the caller gets the audit
// error instead of the denial.

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

// committed returns what a put replaced, from the committed state (writers
// are serialized, so outside the transaction the store shows the state
// before it); nil for a creation.
func (d *Directory) committed(ctx context.Context, c store.Change) any {
	v, err := c.Decode()
	if err != nil {
		return nil
	}
	var (
		before any
		gerr   error
	)
	switch x := v.(type) {
	case store.Org:
		before, gerr = d.st.GetOrg(ctx, x.ID)
	case store.Member:
		before, gerr = d.st.GetMember(ctx, x.Org, x.UserID)
	case store.Agent:
		before, gerr = d.st.GetAgent(ctx, x.Org, x.Name)
	case store.Service:
		before, gerr = d.st.GetService(ctx, x.Org, x.Name)
	case store.Team:
		before, gerr = d.st.GetTeam(ctx, x.Org, x.Slug)
	case store.Resource:
		before, gerr = d.st.GetResource(ctx, x.Org, x.Ref())
	case store.Policy:
		before, gerr = d.st.GetPolicy(ctx, x.Org)
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

// recordSuccess records a successful write in tx (the op's own
// transaction). Operations that changed nothing are recorded too. edits
// complete the entry after it is described from the changelog.
func (d *Directory) recordSuccess(ctx context.Context, tx store.Tx, name, org string, actor Actor, edits ...func(*audit.Entry)) error {
	e := audit.Entry{Org: org, Actor: d.auditActor(ctx, tx, org, actor), Action: auditAction(name), Result: audit.Success}
	if org == "" {
		e.Org = audit.SystemOrg
	}
	changes := tx.Changes()
	if len(changes) > 0 {
		first := changes[0]
		e.Target = auditTarget(first)
		if strings.HasSuffix(string(first.Kind), ".delete") {
			e.Before = auditObject(first.Payload)
		} else {
			if before := d.committed(ctx, first); before != nil {
				e.Before = auditObject(before)
			}
			e.After = auditObject(first.Payload)
		}
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
		e.Details = auditObject(map[string]any{"changes": list})
	}
	for _, edit := range edits {
		edit(&e)
	}
	return d.rec.Record(ctx, tx, e)
}

// recordDenied records a refused write in a transaction of its own, for
// refusals a member earned (forbidden, escalation, last owner). It
// returns err, or the audit error if the record could not be written.
func (d *Directory) recordDenied(ctx context.Context, name, org string, actor Actor, err error) error {
	if !errors.Is(err, ErrForbidden) && !errors.Is(err, ErrEscalation) && !errors.Is(err, ErrLastOwner) {
		return err
	}
	e := audit.Entry{Org: org, Actor: d.auditActor(ctx, d.st, org, actor), Action: auditAction(name), Result: audit.Denied, Message: err.Error()}
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
	if _, werr := d.st.Write(ctx, func(tx store.Tx) error { return d.rec.Record(ctx, tx, e) }); werr != nil {
		return &Error{Op: name, Msg: "recording the denied attempt in the audit log failed", Kind: ErrUnavailable, Cause: werr}
	}
	return err
}

// --- reading the log (audit:read at org scope)

// Redaction on read. Entries are stored and hashed in full; what a reader
// sees of them is decided when they are read, by the AuditView the
// resource hook gives for the reader (the vault hides secret names from a
// reader without secrets:list in their namespace, seed 002: operators and
// viewers "don't know which API keys are being used"). Without a hook, or
// with one that does not implement AuditRedactor, every reader with
// audit:read sees the log as stored.
//
// A reader whose view is not complete (AuditView.Missing) gets no hashes
// at all, no checkpoints and no chain head from verification: a hash
// commits to its entry and, through the chain, to every entry before it,
// so together with the entries the reader does see it would let the reader
// test guessed names offline. Redacted entries carry Redacted.

// AuditRedactor is implemented by a ResourceHook that also hides parts of
// the audit log from some readers.
type AuditRedactor interface {
	// AuditView returns how actor may see org's log. It is called once
	// per read, after audit:read was checked.
	AuditView(actor Actor, org string) AuditView
}

// AuditView is one reader's view of an org's audit log.
type AuditView interface {
	// Missing is "" when the reader sees every entry of the log as stored
	// (then Redact never changes anything); else the permission, at org
	// scope, the reader lacks for that ("secrets:list").
	Missing() string
	// Hides reports whether f names something the reader may not see (a
	// secret of a namespace where it lacks secrets:list). No entry as the
	// reader sees it can match such a filter, and the answer must not
	// depend on whether the thing exists: the read answers no entries.
	Hides(f store.AuditFilter) bool
	// Redact rewrites e as the reader may see it and reports whether it
	// changed anything.
	Redact(e *audit.Entry) bool
}

// completeView is the view of a directory without an AuditRedactor.
type completeView struct{}

func (completeView) Missing() string              { return "" }
func (completeView) Hides(store.AuditFilter) bool { return false }
func (completeView) Redact(*audit.Entry) bool     { return false }

// auditView is actor's view of org's log.
func (d *Directory) auditView(actor Actor, org string) AuditView {
	if r, ok := d.resourceHook().(AuditRedactor); ok {
		if v := r.AuditView(actor, org); v != nil {
			return v
		}
	}
	return completeView{}
}

// present shows e as view's reader may see it.
func present(view AuditView, e *audit.Entry) {
	if view.Missing() == "" {
		return
	}
	if view.Redact(e) {
		e.MarkRedacted()
	}
	e.WithholdHash()
}

// ListAudit lists the org's audit entries matching f, with cursor
// pagination, as actor may see them (see AuditView: a filter naming what
// actor may not see matches nothing). Needs audit:read at org scope.
func (d *Directory) ListAudit(ctx context.Context, actor Actor, org string, f store.AuditFilter, p store.Page) ([]audit.Entry, string, error) {
	var (
		out  []audit.Entry
		next string
	)
	err := d.read(ctx, "list audit", org, actor, func(o *op) error {
		if err := o.need("audit:read", authz.Scope{}); err != nil {
			return err
		}
		view := d.auditView(actor, org)
		if view.Hides(f) {
			out = []audit.Entry{}
			return nil
		}
		recs, n, err := d.st.ListAudit(ctx, org, f, p)
		if err != nil {
			return err
		}
		out, next = make([]audit.Entry, 0, len(recs)), n
		for _, r := range recs {
			e, err := audit.FromRecord(r)
			if err != nil {
				return err
			}
			present(view, &e)
			out = append(out, e)
		}
		return nil
	})
	return out, next, err
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
		if d.auditView(actor, org).Missing() != "" {
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
		if missing := d.auditView(actor, org).Missing(); missing != "" {
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
// entry without an org goes to the deployment's log (audit.SystemOrg).
func (d *Directory) RecordEvent(ctx context.Context, e audit.Entry) error {
	if e.Org == "" {
		e.Org = audit.SystemOrg
	}
	_, err := d.st.Write(ctx, func(tx store.Tx) error { return d.rec.Record(ctx, tx, e) })
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
		return &Error{Op: "check", Msg: "reading the org's audit settings failed", Kind: ErrUnavailable, Cause: err}
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
		return &Error{Op: "check", Msg: "recording the decision in the audit log failed", Kind: ErrUnavailable, Cause: err}
	}
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
			e.Target = "audit/settings"
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
// (the diff through the ResourceHook, the entries through its AuditView).
// Needs read on the resource and audit:read at org scope.
func (d *Directory) ResourceHistory(ctx context.Context, actor Actor, org string, ref authz.ResourceRef) ([]VersionHistory, error) {
	var out []VersionHistory
	err := d.read(ctx, "resource history", org, actor, func(o *op) error {
		if _, err := o.readable(ref); err != nil {
			return err
		}
		if err := o.need("audit:read", authz.Scope{}); err != nil {
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
		view := d.auditView(actor, org)
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
				if hook := d.resourceHook(); hook != nil {
					h.Diff = hook.RedactDiff(actor, org, ref, h.Diff) // e.g. secret references (the vault)
				}
			}
			out = append(out, h)
		}
		return nil
	})
	return out, err
}
