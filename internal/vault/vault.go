// Package vault is Gatehouse's secrets vault: secrets per (org, namespace,
// name) with versions and metadata, sealed with envelope encryption under a
// numbered master keyring that never touches the database; permissions
// through the decision engine; and use without reveal — run tokens that
// release exactly the secrets a resource's spec references to a runtime,
// so that an operator can run a chain whose secrets it can never read.
// docs/secrets.md explains the model, the key handling and the threat
// model.
//
// Invariants:
//
//   - Ciphertext at rest. A value is sealed with AES-256-GCM under a data
//     key of its own (one per secret version), wrapped with AES-256-GCM by
//     the active master key; the additional data of both binds them to
//     (org, namespace, name, version) and the master key id, so a
//     ciphertext moved to another row does not open. The store and its
//     changelog hold only ciphertexts, wrapped keys and metadata.
//   - The master keyring comes from GATEHOUSE_MASTER_KEY_FILE or
//     GATEHOUSE_MASTER_KEY (or, with --dev, a generated file beside the
//     database), never from the database. Open refuses a keyring whose
//     keys do not match the database's key checks, or that lacks a key
//     some secret is wrapped by, before it writes anything.
//   - Deny by default, through the engine, unconditional grants only (as
//     for every administrative permission): secrets:list sees names and
//     metadata; secrets:read reveals values; secrets:create, update,
//     rotate and delete manage. Without secrets:list in a namespace a
//     principal cannot learn that a secret exists there: every operation
//     on a named secret answers ErrNotFound, exactly as for a secret that
//     does not exist. A non-member gets ErrNotFound for everything.
//   - Values never leak: no error message, log line, audit entry (names
//     and versions only), changelog entry or metadata answer contains a
//     value, a data key, a master key or a run token. Values leave the
//     vault only as the result of Reveal (secrets:read) and Exchange (a
//     service principal holding a valid run token).
//   - Run tokens are random 256-bit bearer strings, stored by SHA-256,
//     short-lived, single-use, bound to one resource version, releasing
//     exactly the secrets that version's spec referenced, and only to a
//     service principal allowed to run the resource while the issuer still
//     is.
//   - Every create, update, rotate, delete, reveal, run-token issue and
//     exchange is an audit entry written in the same transaction (if it
//     cannot be written, the action fails), naming the actor's roles as
//     the directory's entries do; refusals are recorded too.
//   - Names stay hidden in resource specs and the audit log too: the
//     directory checks every spec's secret references when it is written
//     and hides them, and the names in audit entries, from a reader
//     without secrets:list in their namespace (package secretref, which
//     both import; auditview.go). Nothing has to be installed for that:
//     the vault is not a hook of the directory.
//   - Nothing panics on any input.
package vault

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/internal/audit"
	"github.com/gatehouse-dev/gatehouse/internal/directory"
	"github.com/gatehouse-dev/gatehouse/internal/errs"
	"github.com/gatehouse-dev/gatehouse/internal/secretref"
	"github.com/gatehouse-dev/gatehouse/internal/store"
	"github.com/gatehouse-dev/gatehouse/policy"
)

// Actor is who performs an operation (the directory's actor).
type Actor = directory.Actor

// Options configure a Vault.
type Options struct {
	Store store.Store
	// Directory authorizes; nil opens the vault for key maintenance only
	// (Keys, RotateMaster, RetireKey): every other operation then fails
	// with ErrUnavailable.
	Directory *directory.Directory
	Keyring   *Keyring
	// Audit records every operation in the operation's transaction; nil
	// means audit.Append (entries without checkpoints).
	Audit audit.Recorder
	// RunTokenTTL is how long a run token lives when the caller asks for
	// no shorter; 0 means DefaultRunTokenTTL. At most MaxRunTokenTTL.
	RunTokenTTL time.Duration
	// Logger receives warnings (failed denial records); nil discards.
	Logger *slog.Logger
	// Clock is the time used for expiry decisions; nil means time.Now.
	// Tests move it forward.
	Clock func() time.Time
}

// Run token lifetimes.
const (
	DefaultRunTokenTTL = 2 * time.Minute
	MaxRunTokenTTL     = 15 * time.Minute
)

// Vault is the secrets vault. All methods are safe for concurrent use.
type Vault struct {
	st    store.Store
	dir   *directory.Directory
	eng   authorizer // the directory's; nil when opened for key maintenance only
	keys  *Keyring
	audit audit.Recorder
	ttl   time.Duration
	log   *slog.Logger
	clock func() time.Time
}

// Open checks the keyring against the database (see CheckKeyring) and
// returns the vault.
func Open(ctx context.Context, opts Options) (*Vault, error) {
	if opts.Store == nil || opts.Keyring == nil {
		return nil, errorf(ErrInvalid, "open", "a store and a keyring are required")
	}
	v := &Vault{
		st: opts.Store, dir: opts.Directory, keys: opts.Keyring,
		audit: opts.Audit, ttl: opts.RunTokenTTL, log: opts.Logger, clock: opts.Clock,
	}
	if opts.Directory != nil {
		v.eng = opts.Directory
	}
	if v.audit == nil {
		v.audit = audit.Append
	}
	if v.ttl <= 0 {
		v.ttl = DefaultRunTokenTTL
	}
	v.ttl = min(v.ttl, MaxRunTokenTTL)
	if v.log == nil {
		v.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if v.clock == nil {
		v.clock = time.Now
	}
	if err := CheckKeyring(ctx, opts.Store, opts.Keyring); err != nil {
		return nil, err
	}
	return v, nil
}

// Keyring is the vault's master keyring.
func (v *Vault) Keyring() *Keyring { return v.keys }

func (v *Vault) now() time.Time { return v.clock() }

// Permissions of the vault (DESIGN §2).
var (
	permList   = secretref.PermList
	permRead   = policy.Permission{Resource: "secrets", Action: "read"}
	permCreate = policy.Permission{Resource: "secrets", Action: "create"}
	permUpdate = policy.Permission{Resource: "secrets", Action: "update"}
	permRotate = policy.Permission{Resource: "secrets", Action: "rotate"}
	permDelete = policy.Permission{Resource: "secrets", Action: "delete"}
)

// op is one operation of an actor on an org.
type op struct {
	v      *Vault
	ctx    context.Context
	name   string // "reveal secret"
	action string // audit action, "secrets.read"
	org    string
	actor  Actor
	r      store.Reader
	tx     store.Tx // nil for reads
	// member: the actor passed the membership check (refusals after it
	// are recorded); hidden: an ErrNotFound stands for a missing
	// secrets:list; target: the audit target.
	member bool
	hidden bool
	target string
}

// write runs fn in one store write by actor on org, after the engine has
// caught up to the transaction's base revision, so that authorization sees
// every change committed before it. Refusals are recorded afterwards in a
// transaction of their own.
func (v *Vault) write(ctx context.Context, name, action, org string, actor Actor, fn func(o *op) error) (uint64, error) {
	o := &op{v: v, ctx: ctx, name: name, action: action, org: org, actor: actor}
	if v.eng == nil {
		return 0, errMaintenance(name)
	}
	if err := checkOrg(org); err != nil {
		return 0, errorf(ErrNotFound, name, "org %q", org)
	}
	rev, err := v.st.Write(ctx, func(tx store.Tx) error {
		if err := v.dir.CatchUp(ctx, tx); err != nil {
			return err
		}
		o.r, o.tx = tx, tx
		if err := o.enter(); err != nil {
			return err
		}
		return fn(o)
	})
	if err != nil {
		err = mapErr(name, err)
		v.recordRefusal(o, err)
		return 0, err
	}
	return rev, nil
}

// read runs fn as a read by actor on org, outside any transaction.
func (v *Vault) read(ctx context.Context, name, org string, actor Actor, fn func(o *op) error) error {
	o := &op{v: v, ctx: ctx, name: name, org: org, actor: actor, r: v.st}
	if v.eng == nil {
		return errMaintenance(name)
	}
	if err := checkOrg(org); err != nil {
		return errorf(ErrNotFound, name, "org %q", org)
	}
	if err := o.enter(); err != nil {
		return mapErr(name, err)
	}
	return mapErr(name, fn(o))
}

func errMaintenance(name string) error {
	return errorf(ErrUnavailable, name, "the vault was opened for key maintenance only")
}

func checkOrg(org string) error {
	if len(org) == 0 || len(org) > 63 {
		return errInvalidOrg
	}
	for i := 0; i < len(org); i++ {
		c := org[i]
		if !(c >= 'a' && c <= 'z' || i > 0 && (c >= '0' && c <= '9' || c == '-' || c == '_')) {
			return errInvalidOrg
		}
	}
	return nil
}

var errInvalidOrg = errors.New("malformed org id")

// enter checks that the actor is a current member of the org: a user or
// service the engine holds, or an agent that has not expired. Anything
// else is ErrNotFound, as for an org that does not exist.
func (o *op) enter() error {
	if !o.v.isMember(o.ctx, o.r, o.org, o.actor.Principal) {
		return errorf(ErrNotFound, o.name, "org %q", o.org)
	}
	o.member = true
	return nil
}

func (v *Vault) isMember(ctx context.Context, r store.Reader, org, p string) bool {
	if v.eng == nil {
		return false
	}
	kind, name, ok := strings.Cut(p, ":")
	if !ok || name == "" || policy.CheckIdent(name) != nil {
		return false
	}
	switch kind {
	case authz.KindUser, authz.KindService:
	case authz.KindAgent:
		a, err := r.GetAgent(ctx, org, name)
		if err != nil || (!a.ExpiresAt.IsZero() && !v.now().Before(a.ExpiresAt)) {
			return false
		}
	default:
		return false
	}
	return v.eng.IsMember(org, p)
}

// authorizer is what the vault asks the directory (which answers from the
// engine it feeds, with its own rules: unconditional grants for Missing).
type authorizer interface {
	IsMember(org, principal string) bool
	Missing(org, principal string, sc authz.Scope, perms []policy.Permission) []policy.Permission
	Allows(req *authz.Request) bool
	// AllowsApproved is Allows where approval_required counts as allowed
	// (the caller consumed the approval).
	AllowsApproved(req *authz.Request) bool
}

// holds reports whether p holds perm unconditionally in namespace ns (a
// grant at org scope counts in every namespace).
func (v *Vault) holds(org, p, ns string, perm policy.Permission) bool {
	if v.eng == nil {
		return false
	}
	return len(v.eng.Missing(org, p, authz.Scope{Namespace: ns}, []policy.Permission{perm})) == 0
}

// mayList is secrets:list in ns.
func (o *op) mayList(ns string) bool { return o.v.holds(o.org, o.actor.Principal, ns, permList) }

// need requires perm in ns: ErrForbidden naming it.
func (o *op) need(ns string, perm policy.Permission) error {
	if !o.v.holds(o.org, o.actor.Principal, ns, perm) {
		return &Error{Pkg: pkg, Op: o.name, Msg: fmt.Sprintf("requires %s in namespace %q", perm, ns), Kind: ErrForbidden, Permission: perm.String(), Scope: authz.Scope{Namespace: ns}.String()}
	}
	return nil
}

// visible resolves a named secret the actor may know about: without
// secrets:list in ns it is ErrNotFound whether or not the secret exists;
// with it, the secret (ErrNotFound if missing).
func (o *op) visible(ns, name string) (store.Secret, error) {
	o.target = secretTarget(ns, name)
	if err := checkNamespace(ns); err != nil {
		return store.Secret{}, err
	}
	if err := CheckName(name); err != nil {
		return store.Secret{}, err
	}
	if !o.mayList(ns) {
		o.hidden = true
		return store.Secret{}, o.notFound(ns, name)
	}
	s, err := o.r.GetSecret(o.ctx, o.org, ns, name)
	if errors.Is(err, store.ErrNotFound) {
		return store.Secret{}, o.notFound(ns, name)
	}
	return s, err
}

func (o *op) notFound(ns, name string) error {
	return errorf(ErrNotFound, o.name, "secret %q in namespace %q", name, ns)
}

func secretTarget(ns, name string) string { return ns + "/secrets/" + name }

// record appends a success entry for the operation in its transaction.
func (o *op) record(target string, before, after any, details map[string]any) error {
	e := audit.Entry{
		Org: o.org, Actor: o.v.dir.AuditActor(o.ctx, o.tx, o.org, o.actor), Action: o.action, Target: target, Result: audit.Success,
		Before: rawJSON(before), After: rawJSON(after), Details: rawJSON(details),
	}
	if err := o.v.audit.Record(o.ctx, o.tx, e); err != nil {
		return &Error{Pkg: pkg, Op: o.name, Msg: "the audit entry could not be written", Kind: ErrUnavailable, Cause: err}
	}
	return nil
}

// rawJSON marshals v for an audit entry (nil for nil). Only metadata is
// ever passed here.
func rawJSON(v any) json.RawMessage {
	if v == nil {
		return nil
	}
	switch x := v.(type) {
	case map[string]any:
		if x == nil {
			return nil
		}
	case *store.Secret:
		if x == nil {
			return nil
		}
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	return b
}

// recordRefusal records a refused operation (forbidden, hidden not-found,
// refused run token) by a member, in a transaction of its own. A failure
// to record is logged; the operation has failed either way.
func (v *Vault) recordRefusal(o *op, err error) {
	if o.action == "" || !o.member {
		return
	}
	hiddenNotFound := o.hidden && errors.Is(err, ErrNotFound)
	if !errors.Is(err, ErrForbidden) && !errors.Is(err, ErrTokenRefused) && !hiddenNotFound {
		return
	}
	target := o.target
	if target == "" {
		target = o.org
	}
	msg := err.Error()
	var ve *Error
	if errors.As(err, &ve) && ve.Cause != nil && errors.Is(err, ErrTokenRefused) {
		msg += ": " + ve.Cause.Error() // the specific reason, for the audit reader only
	}
	ctx := context.WithoutCancel(o.ctx)
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	// The actor as the directory records it, roles included (read from
	// the committed state: the refused transaction is gone).
	e := audit.Entry{Org: o.org, Actor: v.dir.AuditActor(ctx, v.st, o.org, o.actor), Action: o.action, Target: target, Result: audit.Denied, Message: msg}
	if _, werr := v.st.Write(ctx, func(tx store.Tx) error { return v.audit.Record(ctx, tx, e) }); werr != nil {
		v.log.Warn("vault: recording a refusal in the audit log failed", "org", o.org, "action", o.action, "err", werr)
	}
}

// mapErr puts store and directory errors under the vault's op, keeping
// their kind (a refusal is a conflict) and message; vault and context
// errors pass through, and so do typed errors carrying a kind; any other
// error carrying a kind (a sealing failure) becomes a vault error of that
// kind.
func mapErr(name string, err error) error {
	err = errs.In(pkg, name, err, false)
	var ve *Error
	if k := errs.KindOf(err); k != nil && !errors.As(err, &ve) {
		return &Error{Pkg: pkg, Op: name, Kind: k, Cause: err}
	}
	return err
}
