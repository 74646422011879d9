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

	"github.com/gatehouse-dev/gatehouse/internal/audit"
	"github.com/gatehouse-dev/gatehouse/internal/store"
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
	if a, ok := batchActions[name]; ok {
		return a
	}
	return actionOf(name)
}

// batchActions holds the actions of a batch's operations (WriteChange's
// names), made once: a bulk write records up to MaxBatch entries.
var batchActions = func() map[string]string {
	m := map[string]string{}
	for _, op := range []string{OpNamespaceCreate, OpResourceCreate, OpUserCreate, OpMemberAdd, OpBindingCreate, OpBindingDelete, OpShareCreate} {
		name := WriteChange{Op: op}.name()
		m[name] = actionOf(name)
	}
	return m
}()

func actionOf(name string) string {
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

// auditPayload is auditObject for a change's changelog payload, which is
// already encoding/json's compact output of a store type (sqlcore's
// record): kept as it is instead of being compacted into a copy. The
// entry's body encoding still validates it.
func auditPayload(p json.RawMessage) json.RawMessage {
	if len(p) <= maxAuditObject {
		return p
	}
	return auditObject(p)
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
	// created: the write created what its entry is about, so there is no
	// "before" to read back from the committed state (a batch's
	// creations; the read was 7% of a bulk load's CPU).
	created bool
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
// transaction). Operations that changed nothing are recorded too; n says
// what the changelog cannot (a target, settings before and after).
func (d *Directory) recordSuccess(ctx context.Context, tx store.Tx, name, org string, actor Actor, n AuditNote) error {
	return d.recordChanges(ctx, tx, name, org, d.auditActor(ctx, tx, org, actor), n, tx.Changes())
}

// recordChanges records a successful write by who made of changes (all of
// a transaction's, or one change of a batch's) in tx.
func (d *Directory) recordChanges(ctx context.Context, tx store.Tx, name, org string, who audit.Actor, n AuditNote, changes []store.Change) error {
	e := audit.Entry{Org: org, Actor: who, Action: auditAction(name), Result: audit.Success}
	if org == "" {
		e.Org = audit.SystemOrg
	}
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
			e.Before = auditPayload(first.Payload)
		case first.Kind == store.KindInvitationPut:
			if before, ok := d.committed(ctx, tx, first).(store.Invitation); ok {
				e.Before = auditObject(invitationObject(before))
			}
			if after, err := first.Decode(); err == nil {
				e.After = auditObject(invitationObject(after.(store.Invitation)))
			}
		default:
			if !n.created {
				if before := d.committed(ctx, tx, first); before != nil {
					e.Before = auditObject(before)
				}
			}
			e.After = auditPayload(first.Payload)
		}
	}
	var list []changeRef
	if len(changes) > 1 {
		list = make([]changeRef, 0, len(changes))
		for _, c := range changes {
			list = append(list, changeRef{Kind: string(c.Kind), Key: c.Key})
		}
	}
	switch {
	case len(n.Details) == 0 && list != nil:
		// The map below with one key, without the map: the same bytes.
		e.Details = auditObject(changesDetail{Changes: list})
	case len(n.Details) > 0:
		details := make(map[string]any, len(n.Details)+1)
		for k, v := range n.Details {
			details[k] = v
		}
		if list != nil {
			details["changes"] = list
		}
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
	return d.rec.Record(ctx, tx, e)
}

// changeRef names one of an entry's changes in its details.
type changeRef struct {
	Kind string `json:"kind"`
	Key  string `json:"key"`
}

// changesDetail is the details of an entry of several changes and no other
// details: {"changes": [...]}, as a map with that one key encodes.
type changesDetail struct {
	Changes []changeRef `json:"changes"`
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
	if werr := d.RecordEvent(ctx, e); werr != nil {
		return &Error{Pkg: pkg, Op: name, Msg: "recording the denied attempt in the audit log failed", Kind: ErrUnavailable, Cause: werr}
	}
	return err
}

// --- reading the log (audit:read at org scope)
