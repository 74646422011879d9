package directory

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// MaxBatch is the most changes one Write takes.
const MaxBatch = 1000

// Operations of a WriteChange.
const (
	OpNamespaceCreate = "namespace.create"
	OpResourceCreate  = "resource.create"
	OpUserCreate      = "user.create"
	OpMemberAdd       = "member.add"
	OpBindingCreate   = "binding.create"
	OpBindingDelete   = "binding.delete"
	OpShareCreate     = "share.create"
)

// UserSpec provisions a new user into an org with a role at org scope.
type UserSpec struct {
	ID          string
	Email       string
	DisplayName string
	Role        string
}

// WriteChange is one change of a batch (Write): Op says which, and which
// fields it reads.
type WriteChange struct {
	Op        string
	Namespace string            // namespace.create
	Resource  ResourceSpec      // resource.create
	User      UserSpec          // user.create; member.add (ID, Role)
	Binding   BindingSpec       // binding.create; its Lifetime also for share.create
	BindingID string            // binding.delete
	Ref       authz.ResourceRef // share.create
	Principal string            // share.create
	Actions   []string          // share.create
}

// name is the change's operation as the single-change methods name it,
// so that its audit entry reads the same as theirs.
func (c WriteChange) name() string {
	switch c.Op {
	case OpNamespaceCreate:
		return "create namespace"
	case OpResourceCreate:
		return "create resource"
	case OpUserCreate:
		return "provision user"
	case OpMemberAdd:
		return "add member"
	case OpBindingCreate:
		return "create binding"
	case OpBindingDelete:
		return "delete binding"
	default:
		return "share"
	}
}

// check validates the change's shape (what the single-change method
// checks before its write) and normalizes a share's actions.
func (c *WriteChange) check() error {
	if l := c.Binding.Lifetime; c.Op != OpBindingCreate && c.Op != OpShareCreate && (!l.ExpiresAt.IsZero() || l.For != 0) {
		field := "expires_at"
		if l.For != 0 {
			field = "expires_in"
		}
		return invalid(field, "only %s and %s grants expire; %s takes no %s", OpBindingCreate, OpShareCreate, c.Op, field)
	}
	switch c.Op {
	case OpNamespaceCreate:
		return checkSlugIdent("namespace", c.Namespace)
	case OpResourceCreate:
		return c.Resource.check()
	case OpUserCreate:
		return c.User.check()
	case OpMemberAdd:
		return checkName("user", c.User.ID)
	case OpBindingCreate:
		return c.Binding.check()
	case OpBindingDelete:
		if c.BindingID == "" {
			return invalid("binding", "the binding id is required")
		}
		return nil
	case OpShareCreate:
		acts, err := checkShare(c.Ref, c.Principal, c.Actions)
		c.Actions = acts
		if err != nil {
			return err
		}
		return c.Binding.Lifetime.check()
	default:
		return invalid("op", "%q is not one of %s, %s, %s, %s, %s, %s, %s", c.Op,
			OpNamespaceCreate, OpResourceCreate, OpUserCreate, OpMemberAdd, OpBindingCreate, OpBindingDelete, OpShareCreate)
	}
}

// apply authorizes and makes the change inside a write, as the
// single-change method does, and returns the key of what it made.
func (o *op) apply(c WriteChange) (string, error) {
	switch c.Op {
	case OpNamespaceCreate:
		n, err := o.createNamespace(c.Namespace)
		return n.Name, err
	case OpResourceCreate:
		r, err := o.createResource(c.Resource)
		return store.RefKey(r.Ref()), err
	case OpUserCreate:
		u, err := o.provisionUser(c.User)
		return u.ID, err
	case OpMemberAdd:
		m, err := o.addMember(c.User.ID, c.User.Role)
		return m.UserID, err
	case OpBindingCreate:
		b, err := o.bind(c.Binding.Principal, c.Binding.Role, c.Binding.Scope, c.Binding.Condition, c.Binding.Lifetime)
		return b.ID, err
	case OpBindingDelete:
		return c.BindingID, o.deleteBinding(c.BindingID)
	default:
		b, err := o.share(c.Ref, c.Principal, c.Actions, c.Binding.Lifetime)
		return b.ID, err
	}
}

// BatchError says which change of a batch failed; it unwraps to the
// change's error, so its kind is that error's.
type BatchError struct {
	Index int
	Err   error
}

func (e *BatchError) Error() string { return fmt.Sprintf("change %d: %v", e.Index, e.Err) }

// Unwrap returns the change's error.
func (e *BatchError) Unwrap() error { return e.Err }

// ChangeField is field of change i of a batch, as errors name it:
// "changes[i].field" (the request's JSON path).
func ChangeField(i int, field string) string { return fmt.Sprintf("changes[%d].%s", i, field) }

// batchErr locates err at change i: an invalid field becomes
// ChangeField(i, field), anything else a *BatchError.
func batchErr(i int, err error) error {
	var ie *InvalidError
	if errors.As(err, &ie) {
		located := *ie
		located.Field = ChangeField(i, ie.Field)
		return &located
	}
	return &BatchError{Index: i, Err: err}
}

// Write makes up to MaxBatch changes to org in one store transaction, so
// under one revision: all of them or none. Each change is authorized as
// the single-change method authorizes it (its permission and DESIGN §1.2)
// and audited with its own entry, as if sent alone; the first that fails
// fails the batch (its error located by batchErr). It returns the key of
// what each change made (a binding's id, a user's id, a resource's key).
//
// Authorization sees the org as it was before the batch (the engine at the
// transaction's base revision): a change never relies on a grant made
// earlier in the same batch, so a batch can do nothing that the same
// changes sent one at a time by the same actor, from the same start,
// could not. Existence checks (a namespace, a resource, a member) read the
// transaction, so they do see the batch's earlier changes. After the
// changes, the org must keep a holder of its top-level role.
func (d *Directory) Write(ctx context.Context, actor Actor, org string, changes []WriteChange) ([]string, uint64, error) {
	const name = "write batch"
	if len(changes) == 0 || len(changes) > MaxBatch {
		return nil, 0, invalid("changes", "a batch has 1 to %d changes, not %d", MaxBatch, len(changes))
	}
	cs := make([]WriteChange, len(changes))
	copy(cs, changes)
	for i := range cs {
		if err := cs[i].check(); err != nil {
			return nil, 0, batchErr(i, err)
		}
	}
	keys := make([]string, len(cs))
	facts := batchFacts(cs)
	early := d.prefetchOutside(ctx, name, org, actor, facts)
	// A batch changes only org, but for the users it creates (new rows,
	// whose ids and emails the store's unique indexes keep unique: see
	// sqlcore/orgwrite.go): the store may make it beside other orgs'
	// batches (writeIn).
	rev, err := d.writeIn(ctx, name, org, actor, true, func(o *op) error {
		if bw, ok := o.tx.(bulkWriter); ok {
			bw.BulkWrite()
		}
		if !installPrefetched(o, early) {
			if err := prefetch(o, facts); err != nil {
				return err
			}
		}
		o.unrecorded = true // each change is recorded below
		who := d.auditActor(ctx, o.tx, org, actor)
		deleted := false
		for i, c := range cs {
			before := changeCount(o.tx)
			o.note = AuditNote{}
			key, err := o.apply(c)
			if err != nil {
				return batchErr(i, err)
			}
			keys[i] = key
			deleted = deleted || c.Op == OpBindingDelete
			// Every other operation creates its target (an existing one
			// is a conflict): its entry has no "before".
			o.note.created = c.Op != OpBindingDelete
			if err := d.recordChanges(ctx, o.tx, c.name(), org, who, o.note, changesFrom(o.tx, before)); err != nil {
				return err
			}
		}
		if deleted {
			if err := o.keepsOwner(o.pol()); err != nil {
				return err
			}
		}
		// The batch's entries, checkpointed while the audit log still
		// knows it wrote them: the next batch need not read them back.
		if s, ok := d.rec.(runSealer); ok {
			return s.SealRun(ctx, o.tx, org)
		}
		return nil
	})
	if err != nil {
		return nil, 0, err
	}
	return keys, rev, nil
}

// runSealer is implemented by an audit recorder that can checkpoint the
// run of entries a transaction appended (audit.Log's SealRun).
type runSealer interface {
	SealRun(ctx context.Context, tx store.Tx, org string) error
}

// changeCounter is implemented by a store transaction that can say how
// many changes it has made and hand out only the later ones (sqlcore's);
// Tx.Changes copies all of them, which a batch of n changes would do n
// times.
type changeCounter interface {
	ChangeCount() int
	ChangesFrom(i int) []store.Change
}

// bulkWriter is implemented by a store transaction that can pipeline the
// INSERTs of a batch (sqlcore's on PostgreSQL: sqlcore.txn.BulkWrite).
type bulkWriter interface{ BulkWrite() }

// prefetcher is implemented by a store transaction that can read, in a
// few statements per kind, the facts a batch's changes will check, and
// answer those checks from memory (sqlcore's Prefetch).
type prefetcher interface {
	Prefetch(ctx context.Context, org string, f store.BatchFacts) error
}

// bindingsAtReader is implemented by a store transaction that may know
// every binding of a principal at a scope without a statement (after
// Prefetch; sqlcore's BindingsAt).
type bindingsAtReader interface {
	BindingsAt(org, principal string, sc authz.Scope) ([]store.Binding, bool)
}

// outsidePrefetcher is implemented by a store that can read a batch's
// facts before the write transaction, in a snapshot, and say at which
// revision (sqlcore's PrefetchOutside).
type outsidePrefetcher interface {
	PrefetchOutside(ctx context.Context, org string, f store.BatchFacts) (store.PrefetchedFacts, error)
}

// prefetchInstaller is implemented by a write transaction that can take
// the facts PrefetchOutside read if, and only if, nothing that can change
// them committed since they were read (sqlcore's InstallPrefetched).
type prefetchInstaller interface {
	InstallPrefetched(ctx context.Context, org string, p store.PrefetchedFacts) bool
}

// prefetchOutside reads the batch's facts before the write lock, so that
// the transaction need not read them while holding it (issue 19, branch
// lockout): nil when the store cannot, when the read fails (the
// transaction reads them itself), or when the actor is not a member of
// the org now (the transaction refuses it anyway; no reads on its behalf
// before that). Nothing is decided here: the transaction uses the answers
// only if nothing that can change them committed since they were read
// (installPrefetched).
func (d *Directory) prefetchOutside(ctx context.Context, name, org string, actor Actor, f store.BatchFacts) store.PrefetchedFacts {
	pre, ok := d.st.(outsidePrefetcher)
	if !ok || checkOrgID(org) != nil {
		return nil
	}
	if (&op{d: d, ctx: ctx, name: name, r: d.st, org: org, actor: actor}).enter() != nil {
		return nil
	}
	p, err := pre.PrefetchOutside(ctx, org, f)
	if err != nil {
		return nil
	}
	if d.afterPrefetchOutside != nil {
		d.afterPrefetchOutside()
	}
	return p
}

// installPrefetched hands the transaction the facts read before its lock
// and reports whether it took them (only if no write of the org, or
// global, committed since they were read; else the caller prefetches, as
// if none had been read).
func installPrefetched(o *op, p store.PrefetchedFacts) bool {
	if p == nil {
		return false
	}
	in, ok := o.tx.(prefetchInstaller)
	return ok && in.InstallPrefetched(o.ctx, o.org, p)
}

// prefetch tells the transaction which facts the batch's changes will
// check (batchFacts). It changes no answer, only how many statements the
// answers take.
func prefetch(o *op, f store.BatchFacts) error {
	p, ok := o.tx.(prefetcher)
	if !ok {
		return nil
	}
	return p.Prefetch(o.ctx, o.org, f)
}

// batchFacts are the facts the batch's changes will check: the users they
// create (ids and emails) and make members, the memberships, the
// principals' bindings at the scopes they bind and share at (the
// duplicate check), the resources they share.
func batchFacts(cs []WriteChange) store.BatchFacts {
	var f store.BatchFacts
	user := func(principal string) {
		if id, isUser := strings.CutPrefix(principal, authz.KindUser+":"); isUser {
			f.Members = append(f.Members, id)
		}
	}
	for _, c := range cs {
		switch c.Op {
		case OpUserCreate:
			f.UserIDs = append(f.UserIDs, c.User.ID)
			f.NewUsers = append(f.NewUsers, store.User{ID: c.User.ID, Email: c.User.Email, DisplayName: c.User.DisplayName})
			f.Members = append(f.Members, c.User.ID)
		case OpMemberAdd:
			f.UserIDs = append(f.UserIDs, c.User.ID)
			f.Members = append(f.Members, c.User.ID)
		case OpBindingCreate:
			user(c.Binding.Principal)
			f.Bindings = append(f.Bindings, store.BindingAt{Principal: c.Binding.Principal, Scope: c.Binding.Scope})
		case OpShareCreate:
			user(c.Principal)
			f.Bindings = append(f.Bindings, store.BindingAt{Principal: c.Principal, Scope: resourceScope(c.Ref)})
			f.Resources = append(f.Resources, c.Ref)
		}
	}
	return f
}

// resourceRequirer is implemented by a store transaction that can check
// that a resource exists without reading it, remembering the answer for
// the rest of the transaction (sqlcore's): a batch sharing many chains
// checks each once.
type resourceRequirer interface {
	RequireResource(ctx context.Context, org string, ref authz.ResourceRef) error
}

// requireResource returns GetResource's error for ref, or nil.
func (o *op) requireResource(ref authz.ResourceRef) error {
	if rr, ok := o.tx.(resourceRequirer); ok {
		return rr.RequireResource(o.ctx, o.org, ref)
	}
	_, err := o.tx.GetResource(o.ctx, o.org, ref)
	return err
}

func changeCount(tx store.Tx) int {
	if cc, ok := tx.(changeCounter); ok {
		return cc.ChangeCount()
	}
	return len(tx.Changes())
}

func changesFrom(tx store.Tx, i int) []store.Change {
	if cc, ok := tx.(changeCounter); ok {
		return cc.ChangesFrom(i)
	}
	return tx.Changes()[i:]
}

// check validates a user's id, email and role name.
func (u UserSpec) check() error {
	if err := checkName("id", u.ID); err != nil {
		return err
	}
	if u.Email == "" {
		return invalid("email", "a provisioned user needs an email address")
	}
	return checkName("role", u.Role)
}

// ProvisionUser creates a new user and makes it a member of org with a
// role at org scope, in one write: no invitation, and no credential for
// anyone (the user signs in through whatever the deployment uses: SSO,
// or a key its operator mints). Needs members:create in org and DESIGN
// §1.2 for the role, as AddMember. It never touches an existing user: an
// id or email already taken is ErrConflict. The audit entry names the
// email by its digest (EmailDigest), as invitations do.
func (d *Directory) ProvisionUser(ctx context.Context, actor Actor, org string, spec UserSpec) (store.User, uint64, error) {
	if err := spec.check(); err != nil {
		return store.User{}, 0, err
	}
	var out store.User
	rev, err := d.write(ctx, "provision user", org, actor, func(o *op) error {
		var err error
		out, err = o.provisionUser(spec)
		return err
	})
	return out, rev, err
}

// provisionUser authorizes (members:create first, so that a caller who may
// not add members learns nothing about which ids and emails are taken),
// creates the user and adds it (addMember: the role and §1.2).
func (o *op) provisionUser(spec UserSpec) (store.User, error) {
	if err := o.need("members:create", authz.Scope{}); err != nil {
		return store.User{}, err
	}
	if _, err := o.role("role", spec.Role); err != nil {
		return store.User{}, err
	}
	u, err := o.tx.CreateUser(o.ctx, store.User{ID: spec.ID, Email: spec.Email, DisplayName: spec.DisplayName})
	if errors.Is(err, ErrConflict) {
		u, err = o.createWithoutTakenEmail(spec)
	}
	if err != nil {
		return store.User{}, err
	}
	if _, err := o.addMember(u.ID, spec.Role); err != nil {
		return store.User{}, err
	}
	// The digest of the address asked for, attached or not: the entry is
	// read by the org's auditors, who must not learn from it that the
	// address belongs to someone (createWithoutTakenEmail).
	o.note = AuditNote{Target: "user/" + u.ID, After: provisioned{
		ID: u.ID, EmailSHA256: EmailDigest(spec.Email), DisplayName: u.DisplayName, Org: o.org, Role: spec.Role,
	}}
	return u, nil
}

// createWithoutTakenEmail is provisionUser's answer to a conflict. An id
// taken is the conflict it was (ids are handles: POST .../members names
// existing users by id, and answers whether one exists, to the same
// permission). An email taken — by anyone, a user the caller cannot see
// included — must not be observable (docs/threat-model.md row 90): the
// user is created as asked but without the address, which stays its
// owner's (never attached to a second user, never handing out the
// existing one), and the answer, audit entry and membership are those of
// a fresh address. Only the server's log, the operator's, says so.
func (o *op) createWithoutTakenEmail(spec UserSpec) (store.User, error) {
	if _, err := o.tx.GetUser(o.ctx, spec.ID); !errors.Is(err, ErrNotFound) {
		if err == nil {
			err = fmt.Errorf("%w: user %q already exists", ErrConflict, spec.ID)
		}
		return store.User{}, err
	}
	u, err := o.tx.CreateUser(o.ctx, store.User{ID: spec.ID, DisplayName: spec.DisplayName})
	if err != nil {
		return store.User{}, err
	}
	o.d.fol.log.Info("provision user: the email belongs to another user; the new user was created without it",
		"org", o.org, "user", u.ID, "email_sha256", EmailDigest(spec.Email))
	return u, nil
}

// provisioned is a provisioned user's audit "after": its fields in the
// order of their names, so it encodes as the map[string]any it replaced
// did (json.Marshal sorts a map's keys), without the map (a bulk write
// records up to MaxBatch).
type provisioned struct {
	DisplayName string `json:"display_name"`
	EmailSHA256 string `json:"email_sha256"`
	ID          string `json:"id"`
	Org         string `json:"org"`
	Role        string `json:"role"`
}
