// Package store is Gatehouse's durable directory: orgs, namespaces, users,
// memberships, agents, services, teams, bindings, resources with versioned
// specs, and each org's versioned policy text, behind one interface with two
// backends (internal/store/sqlite, internal/store/postgres) that pass one
// conformance suite (internal/store/storetest).
//
// Invariants every backend keeps (the conformance suite checks each):
//
//   - Org isolation. Every org-scoped read and write names its org and
//     touches only that org's rows: an id that exists only in another org
//     is ErrNotFound, and no list through org A returns an org-B row.
//   - One write, one transaction, one revision. Store.Write runs its
//     callback in one database transaction; everything the callback changed
//     commits together with its changelog entries and the new revision, or
//     nothing does (no rows, no changelog, no revision bump). A callback that
//     changes nothing commits nothing and returns the current revision.
//   - Revisions are dense, unique and committed in order across every
//     process sharing the database: writers are serialized (an advisory
//     transaction lock on PostgreSQL, a single writer with BEGIN IMMEDIATE
//     on SQLite), so a reader that has seen revision R has seen every
//     revision below R, and ChangesSince can never skip one.
//   - The changelog is the truth; notifications (Watch) only wake. Every
//     changelog payload carries enough to update an in-memory engine
//     without re-reading the store.
//   - Referential integrity with explicit cascades: a binding, team member
//     or resource names things that exist in the same org; deleting a
//     principal deletes its bindings and team memberships, deleting a
//     resource deletes the bindings scoped to it, deleting an org deletes
//     everything of the org; deleting a namespace that still holds
//     resources or bindings is ErrRefused unless DeleteOptions.Cascade.
//     Every cascaded deletion is its own changelog entry (an org deletion is
//     one org.delete entry).
//   - Errors wrap exactly one sentinel (ErrNotFound, ErrConflict,
//     ErrInvalid, ErrRefused, ErrBackend) or a context error; messages never
//     carry driver text (the driver error stays in the chain for logs).
//   - Nothing panics on any input; malformed input is ErrInvalid.
//
// The store stores; it does not authorize and does not interpret policies.
// Role names, conditions and escalation rules are checked above it (the
// directory), in the same Write when they must be atomic with the change.
//
// Later capabilities (API keys, invitations, secrets, audit entries) are
// added as new small reader/writer interfaces embedded in Tx and Reader,
// backed by new forward-only migrations; an audit entry written through Tx
// commits or rolls back with the change it records.
package store

import (
	"context"
	"iter"
	"time"

	"github.com/gatehouse-dev/gatehouse/authz"
)

// Store is the durable directory. All methods are safe for concurrent use.
type Store interface {
	Reader
	ChangelogReader
	APIKeyUsage
	SnapshotStore
	// Write runs fn in one write transaction and commits it as one new
	// revision, returned. If fn returns an error (or panics), the
	// transaction is rolled back, Write returns fn's error unchanged (or
	// re-panics), and nothing is visible: no rows, no changelog, no revision
	// bump. If fn changed nothing, nothing is committed and Write returns
	// the current revision. Writers are serialized across every handle on
	// the database, so reads inside fn see the latest committed state and a
	// read-modify-write in fn cannot lose an update. fn must not retain tx.
	// Errors: fn's error; ErrBackend when the database fails; a context
	// error when ctx ends first.
	Write(ctx context.Context, fn func(tx Tx) error) (uint64, error)
	// LoadOrg reads everything the engine needs about the org in one read
	// transaction, at one revision (OrgSnapshot.Revision). ErrNotFound if
	// the org does not exist.
	LoadOrg(ctx context.Context, org string) (*OrgSnapshot, error)
	// StreamOrg reads what LoadOrg reads, in one read transaction at one
	// revision, and hands it over as it is read (a replica's snapshot is
	// sent while the store still reads; nothing holds the whole org).
	//
	// The sequence yields, in this order: one OrgRow with the Header (the
	// revision, org, policy, namespaces, and how many of each kind
	// follow); the principals (members by user id, then agents, then
	// services by name); the teams (by slug); the bindings (by id); the
	// resources (by namespace, type, id) — exactly the header's counts,
	// the same values LoadOrg returns, each row with exactly one field
	// set. The pointers are valid only until yield returns (the store
	// reuses them): copy what you keep.
	//
	// Error contract: the sequence yields at most one error, as its last
	// element, with a zero OrgRow; nothing follows it. ErrNotFound (before
	// the header) if the org does not exist; ErrBackend when the database
	// fails; a context error when ctx ends. Rows yielded before an error
	// are part of an incomplete org: discard them. Breaking out of the
	// loop ends the transaction; so does the end of the sequence. The
	// transaction stays open while the loop body runs (on SQLite it holds
	// the WAL from being checkpointed past it): do not block in it
	// without a deadline.
	StreamOrg(ctx context.Context, org string) iter.Seq2[OrgRow, error]
	// Close releases the store's connections and ends every Watch channel.
	Close() error
}

// Tx is an open write transaction. Its readers see the transaction's own
// writes; nobody else sees them before commit. A Tx must only be used
// inside the Write callback that received it, from one goroutine; using it
// afterwards is ErrInvalid.
//
// Each write method is all-or-nothing. ErrInvalid, ErrNotFound,
// ErrConflict and ErrRefused are found before anything is changed, so after
// them the transaction is intact and the callback may go on (for example,
// create-if-absent). Any other error (ErrBackend, a context error) may
// leave the method half done; it poisons the transaction: every later call
// and Write itself fail with it, and nothing commits, even if the callback
// ignores the error.
type Tx interface {
	Reader
	OrgWriter
	NamespaceWriter
	UserWriter
	MemberWriter
	AgentWriter
	ServiceWriter
	TeamWriter
	BindingWriter
	ResourceWriter
	PolicyWriter
	AuditWriter
	SecretWriter
	APIKeyWriter
	AgentTokenWriter
	InvitationWriter
	ApprovalWriter
	CatchUpReader
	// Revision is the revision this transaction commits as, if it commits.
	Revision() uint64
	// Now is the transaction's timestamp (UTC, microsecond precision),
	// used for every created_at / updated_at it writes.
	Now() time.Time
	// Changes returns the changelog entries recorded so far, in order.
	Changes() []Change
	// Committed reads the committed state, without the transaction's own
	// writes: under the write lock nothing else commits, so that is the
	// state at the base revision (what the transaction replaces). Its
	// reads never wait for a connection that the writers queued behind
	// the transaction may hold (PostgreSQL: a connection reserved for the
	// write-lock holder). Like the Tx, it must only be used inside the
	// Write callback.
	Committed() Reader
}

// CatchUpReader is what a write transaction offers to bring an in-memory
// engine up to its base revision (Revision()-1) over the transaction's own
// connection. The directory does so before authorizing a write: waiting
// instead for a follower that reads through the pool could wait forever,
// since the writers queued behind the transaction may hold every pooled
// connection (see docs/directory.md, "Engine sync").
type CatchUpReader interface {
	// ChangesSince is ChangelogReader.ChangesSince inside the transaction:
	// it returns committed revisions only (the transaction's own entries
	// are written when it commits).
	ChangesSince(ctx context.Context, after uint64, limit int) ([]Change, error)
	// LoadOrg is Store.LoadOrg inside the transaction: the org at the
	// transaction's base revision (OrgSnapshot.Revision = Revision()-1),
	// plus whatever the transaction itself has written so far (so call it
	// before writing).
	LoadOrg(ctx context.Context, org string) (*OrgSnapshot, error)
}

// Reader is every read of the directory.
type Reader interface {
	OrgReader
	NamespaceReader
	UserReader
	MemberReader
	AgentReader
	ServiceReader
	TeamReader
	BindingReader
	ResourceReader
	PolicyReader
	AuditReader
	SecretReader
	APIKeyReader
	AgentTokenReader
	InvitationReader
	ApprovalReader
}

// OrgReader reads orgs.
type OrgReader interface {
	// GetOrg returns the org. ErrNotFound if it does not exist.
	GetOrg(ctx context.Context, id string) (Org, error)
	// ListOrgs lists orgs ordered by id. ErrInvalid for a bad page.
	ListOrgs(ctx context.Context, p Page) ([]Org, string, error)
}

// OrgWriter changes orgs.
type OrgWriter interface {
	// CreateOrg creates the org and its "default" namespace (changelog:
	// org.put, namespace.put). ErrInvalid for a malformed id, name or
	// template; ErrConflict if the id is taken.
	CreateOrg(ctx context.Context, o Org) (Org, error)
	// UpdateOrg changes the org's name and template. ErrNotFound if it
	// does not exist; ErrInvalid for malformed fields.
	UpdateOrg(ctx context.Context, o Org) (Org, error)
	// DeleteOrg deletes the org and everything in it (changelog: one
	// org.delete). ErrNotFound if it does not exist.
	DeleteOrg(ctx context.Context, id string) error
	// SetOrgLifecycle replaces the org's suspension rules (whole seconds,
	// not negative; changelog: org.put). ErrNotFound if it does not exist.
	SetOrgLifecycle(ctx context.Context, org string, s authz.LifecycleSettings) (Org, error)
	// SetOrgApprovalSettings replaces the org's approval lifetimes (whole
	// seconds, not negative; zero: the server's default; changelog:
	// org.put). ErrNotFound if it does not exist; ErrInvalid otherwise.
	SetOrgApprovalSettings(ctx context.Context, org string, s ApprovalSettings) (Org, error)
}

// NamespaceReader reads namespaces.
type NamespaceReader interface {
	// GetNamespace returns the namespace. ErrNotFound if it, or the org,
	// does not exist.
	GetNamespace(ctx context.Context, org, name string) (Namespace, error)
	// ListNamespaces lists the org's namespaces ordered by name. An org
	// that does not exist has none.
	ListNamespaces(ctx context.Context, org string, p Page) ([]Namespace, string, error)
}

// NamespaceWriter changes namespaces.
type NamespaceWriter interface {
	// CreateNamespace creates a namespace. ErrNotFound if the org does not
	// exist; ErrInvalid for a malformed name; ErrConflict if it exists.
	CreateNamespace(ctx context.Context, org, name string) (Namespace, error)
	// DeleteNamespace deletes a namespace. ErrNotFound if it does not
	// exist; ErrRefused for "default", and when it still holds resources or
	// bindings scoped inside it unless opts.Cascade, in which case those are
	// deleted first, each with its changelog entry.
	DeleteNamespace(ctx context.Context, org, name string, opts DeleteOptions) error
}

// UserReader reads users (global to the deployment).
type UserReader interface {
	// GetUser returns the user. ErrNotFound if it does not exist.
	GetUser(ctx context.Context, id string) (User, error)
	// GetUserByEmail returns the user with this email (compared lower-case).
	// ErrNotFound if none.
	GetUserByEmail(ctx context.Context, email string) (User, error)
	// ListUsers lists users ordered by id.
	ListUsers(ctx context.Context, p Page) ([]User, string, error)
}

// UserWriter changes users.
type UserWriter interface {
	// CreateUser creates a user. ErrInvalid for a malformed id, email or
	// display name; ErrConflict if the id or email is taken.
	CreateUser(ctx context.Context, u User) (User, error)
	// UpdateUser changes email and display name. ErrNotFound, ErrInvalid,
	// ErrConflict (email taken) as above.
	UpdateUser(ctx context.Context, u User) (User, error)
	// DeleteUser deletes the user and, in every org, its membership with
	// everything RemoveMember removes. ErrNotFound if it does not exist.
	DeleteUser(ctx context.Context, id string) error
}

// MemberReader reads org memberships.
type MemberReader interface {
	// GetMember returns the membership. ErrNotFound if the user is not a
	// member of the org.
	GetMember(ctx context.Context, org, userID string) (Member, error)
	// ListMembers lists the org's members ordered by user id.
	ListMembers(ctx context.Context, org string, p Page) ([]Member, string, error)
	// ListMemberships lists the user's memberships ordered by org.
	ListMemberships(ctx context.Context, userID string, p Page) ([]Member, string, error)
}

// MemberWriter changes org memberships.
type MemberWriter interface {
	// AddMember makes an existing user a member. ErrNotFound if the org or
	// user does not exist; ErrConflict if already a member; ErrInvalid for
	// attributes that are not JSON.
	AddMember(ctx context.Context, m Member) (Member, error)
	// UpdateMember replaces the membership's attributes. ErrNotFound if not
	// a member.
	UpdateMember(ctx context.Context, m Member) (Member, error)
	// RemoveMember removes the membership, every binding naming the user in
	// the org, its team memberships (team.put for each team), and clears it
	// as sponsor of the org's agents (agent.put for each). ErrNotFound if
	// not a member.
	RemoveMember(ctx context.Context, org, userID string) error
}

// AgentReader reads agents.
type AgentReader interface {
	// GetAgent returns the agent. ErrNotFound if it does not exist in org.
	GetAgent(ctx context.Context, org, name string) (Agent, error)
	// ListAgents lists the org's agents ordered by name.
	ListAgents(ctx context.Context, org string, p Page) ([]Agent, string, error)
	// ListAgentsSponsoredBy lists the org's agents whose sponsors include
	// sponsor ("user:<id>" or "team:<slug>"), ordered by name.
	ListAgentsSponsoredBy(ctx context.Context, org, sponsor string) ([]Agent, error)
}

// AgentWriter changes agents.
type AgentWriter interface {
	// CreateAgent creates an agent. ErrNotFound if the org, or the sponsor
	// as a member, does not exist; ErrInvalid for a malformed name or role
	// or attributes; ErrConflict if the name is taken in the org. The role
	// is not checked against the policy (the directory does that).
	CreateAgent(ctx context.Context, a Agent) (Agent, error)
	// UpdateAgent replaces role, sponsor, expiry and attributes. Errors as
	// CreateAgent, ErrNotFound if the agent does not exist.
	UpdateAgent(ctx context.Context, a Agent) (Agent, error)
	// DeleteAgent deletes the agent, its bindings and team memberships.
	// ErrNotFound if it does not exist.
	DeleteAgent(ctx context.Context, org, name string) error
	// RecordAgentUse moves the agent's last use to at if that is later
	// (changelog: agent.put) and reports whether it did. ErrNotFound if
	// the agent does not exist.
	RecordAgentUse(ctx context.Context, org, name string, at time.Time) (bool, error)
}

// ServiceReader reads services.
type ServiceReader interface {
	// GetService returns the service. ErrNotFound if it does not exist.
	GetService(ctx context.Context, org, name string) (Service, error)
	// ListServices lists the org's services ordered by name.
	ListServices(ctx context.Context, org string, p Page) ([]Service, string, error)
	// ListServicesSponsoredBy lists the org's services whose sponsors
	// include sponsor ("user:<id>" or "team:<slug>"), ordered by name.
	ListServicesSponsoredBy(ctx context.Context, org, sponsor string) ([]Service, error)
}

// ServiceWriter changes services.
type ServiceWriter interface {
	// CreateService creates a service. ErrNotFound if the org does not
	// exist; ErrInvalid; ErrConflict if the name is taken in the org.
	CreateService(ctx context.Context, s Service) (Service, error)
	// UpdateService replaces the attributes, the suspension, the sponsors
	// (each a member or an existing team; ErrNotFound otherwise; any
	// sponsor sets RequireSponsor), the lifecycle opt-in and its instants.
	// ErrNotFound, ErrInvalid.
	UpdateService(ctx context.Context, s Service) (Service, error)
	// DeleteService deletes the service, its bindings and team
	// memberships. ErrNotFound if it does not exist.
	DeleteService(ctx context.Context, org, name string) error
	// RecordServiceUse moves the service's last use to at if that is
	// later (changelog: service.put) and reports whether it did.
	// ErrNotFound if the service does not exist.
	RecordServiceUse(ctx context.Context, org, name string, at time.Time) (bool, error)
}

// TeamReader reads teams.
type TeamReader interface {
	// GetTeam returns the team with its members. ErrNotFound.
	GetTeam(ctx context.Context, org, slug string) (Team, error)
	// ListTeams lists the org's teams ordered by slug, without members.
	ListTeams(ctx context.Context, org string, p Page) ([]Team, string, error)
	// ListTeamMembers lists a team's member principal ids, sorted.
	// ErrNotFound if the team does not exist.
	ListTeamMembers(ctx context.Context, org, slug string, p Page) ([]string, string, error)
	// ListTeamsOf lists the slugs of the org's teams principal is a
	// member of, sorted.
	ListTeamsOf(ctx context.Context, org, principal string) ([]string, error)
}

// TeamWriter changes teams. Every change to a team's membership is one
// team.put changelog entry carrying the full member list.
type TeamWriter interface {
	// CreateTeam creates a team with t.Members (may be empty). ErrNotFound
	// if the org or a member principal does not exist; ErrInvalid for a
	// malformed slug or a member that is not a user, agent or service;
	// ErrConflict if the slug is taken.
	CreateTeam(ctx context.Context, t Team) (Team, error)
	// UpdateTeam changes the team's name. ErrNotFound, ErrInvalid.
	UpdateTeam(ctx context.Context, t Team) (Team, error)
	// DeleteTeam deletes the team, its memberships and every binding naming
	// "team:<slug>". ErrNotFound if it does not exist.
	DeleteTeam(ctx context.Context, org, slug string) error
	// AddTeamMember adds a principal to a team. ErrNotFound if the team or
	// principal does not exist; ErrInvalid for a team principal;
	// ErrConflict if it is already a member.
	AddTeamMember(ctx context.Context, org, slug, principal string) (Team, error)
	// RemoveTeamMember removes a principal from a team. ErrNotFound if the
	// team does not exist or the principal is not in it.
	RemoveTeamMember(ctx context.Context, org, slug, principal string) (Team, error)
}

// BindingReader reads bindings.
type BindingReader interface {
	// GetBinding returns the binding. ErrNotFound if it does not exist in
	// the org.
	GetBinding(ctx context.Context, org, id string) (Binding, error)
	// ListBindings lists the org's bindings matching f, ordered by id.
	ListBindings(ctx context.Context, org string, f BindingFilter, p Page) ([]Binding, string, error)
}

// BindingWriter changes bindings. Bindings are immutable: to change one,
// delete it and create another.
type BindingWriter interface {
	// CreateBinding creates a binding; an empty ID is generated. ErrInvalid
	// when the shape is wrong (neither or both of role and actions, actions
	// outside a resource scope, a scope with a type but no id, malformed
	// names); ErrNotFound if the org, the principal, the scope's namespace
	// or the scope's resource does not exist; ErrConflict if the id is
	// taken. Role and condition names are not checked against the policy.
	CreateBinding(ctx context.Context, b Binding) (Binding, error)
	// DeleteBinding deletes a binding. ErrNotFound if it does not exist.
	DeleteBinding(ctx context.Context, org, id string) error
	// DeleteExpiredBindings deletes up to limit (1–10,000) of the org's
	// bindings whose expires_at is at or before `before`, soonest expired
	// first, each recorded as a binding.delete entry, and returns how many
	// it deleted. The engine already ignores an expired binding at decision
	// time; this only reclaims the space.
	DeleteExpiredBindings(ctx context.Context, org string, before time.Time, limit int) (int, error)
}

// ResourceReader reads resources and their versions.
type ResourceReader interface {
	// GetResource returns the resource with its current spec. ErrNotFound.
	GetResource(ctx context.Context, org string, ref authz.ResourceRef) (Resource, error)
	// ListResources lists resources matching f ordered by (namespace, type,
	// id), without specs.
	ListResources(ctx context.Context, org string, f ResourceFilter, p Page) ([]Resource, string, error)
	// GetResourceVersion returns one version. ErrNotFound if the resource
	// or the version does not exist.
	GetResourceVersion(ctx context.Context, org string, ref authz.ResourceRef, version uint64) (ResourceVersion, error)
	// ListResourceVersions lists versions newest first, without specs.
	// ErrNotFound if the resource does not exist.
	ListResourceVersions(ctx context.Context, org string, ref authz.ResourceRef, p Page) ([]ResourceVersion, string, error)
	// DiffResourceVersions returns what changed from version `from` to
	// version `to` (see Diff). ErrNotFound if either does not exist.
	DiffResourceVersions(ctx context.Context, org string, ref authz.ResourceRef, from, to uint64) ([]DiffEntry, error)
}

// ResourceWriter changes resources.
type ResourceWriter interface {
	// CreateResource creates a resource at version 1 with author as its
	// author. ErrNotFound if the org or namespace does not exist;
	// ErrInvalid for malformed keys, labels, attributes or spec; ErrConflict
	// if (namespace, type, id) is taken.
	CreateResource(ctx context.Context, r Resource, author string) (Resource, error)
	// UpdateResource applies u and records the result as the next version;
	// the previous versions are kept. ErrNotFound if the resource does not
	// exist; ErrConflict if u.IfVersion is set and is not current;
	// ErrInvalid.
	UpdateResource(ctx context.Context, u ResourceUpdate) (Resource, error)
	// DeleteResource deletes the resource, its versions and the bindings
	// scoped to it. ErrNotFound if it does not exist.
	DeleteResource(ctx context.Context, org string, ref authz.ResourceRef) error
}

// PolicyReader reads policy versions.
type PolicyReader interface {
	// GetPolicy returns the org's current policy. ErrNotFound if the org
	// has none.
	GetPolicy(ctx context.Context, org string) (Policy, error)
	// GetPolicyVersion returns one version. ErrNotFound.
	GetPolicyVersion(ctx context.Context, org string, version uint64) (Policy, error)
	// ListPolicyVersions lists versions newest first, with text.
	ListPolicyVersions(ctx context.Context, org string, p Page) ([]Policy, string, error)
}

// PolicyWriter changes policies. The store keeps the text; validating and
// compiling it is the caller's job, in the same Write.
type PolicyWriter interface {
	// SetPolicy records text as the org's next policy version. ErrNotFound
	// if the org does not exist; ErrInvalid if text is not UTF-8 or larger
	// than MaxPolicyBytes.
	SetPolicy(ctx context.Context, org, text, author string) (Policy, error)
}

// ChangelogReader follows the deployment-wide changelog.
type ChangelogReader interface {
	// CurrentRevision is the newest committed revision (0 for an empty
	// store). ErrBackend.
	CurrentRevision(ctx context.Context) (uint64, error)
	// ChangesSince returns the changelog entries of revisions after `after`,
	// ordered by (revision, seq), whole revisions only: it stops after about
	// limit entries (0 means DefaultChangesLimit) but never splits a
	// revision, so the last entry's Revision is a safe next `after`. Empty
	// means caught up. ErrInvalid for a limit outside 0..MaxChangesLimit.
	ChangesSince(ctx context.Context, after uint64, limit int) ([]Change, error)
	// Watch returns a channel that receives a revision whenever the store's
	// revision may have advanced past what it last sent: on this handle's
	// own commits at once, on other handles' commits via notifications
	// (PostgreSQL) or polling. Values are hints that coalesce (a slow
	// reader gets the newest); read the changes with ChangesSince. The
	// channel is closed when ctx ends or the store is closed. To follow
	// without gaps: Watch first, then ChangesSince until empty, then wait.
	Watch(ctx context.Context) <-chan uint64
}

// Size limits, enforced with ErrInvalid.
const (
	MaxPolicyBytes = 1 << 20 // policy text
	MaxSpecBytes   = 1 << 20 // one resource spec
	MaxJSONBytes   = 64 << 10
)
