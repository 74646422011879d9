// Package authz is the Gatehouse decision engine: given compiled policies and
// each org's access data it answers checks, explains them, and answers
// lookups. It is pure: no I/O, no database, no network.
//
// Invariants (DESIGN §1.1, normative):
//   - Deny by default. Unknown org, principal, namespace, type, action,
//     role or condition denies; nothing here returns an error a caller could
//     mistake for allow. CheckWithReason gives a denied Decision a Reason
//     from a closed set (reason.go), computed only for denies and never
//     changing one; Check does not look for one, so a deny costs what an
//     allow does.
//   - Org isolation: data of one org never influences a decision, lookup or
//     explanation of another.
//   - Allow-only and monotonic: adding a binding, member or team membership
//     never removes access.
//   - Readers never block and never see a half-applied change: each Apply
//     builds a new immutable snapshot and swaps it in atomically.
//   - Revisions only grow; every answer says the revision it was made at.
//   - Fail closed: an org without a policy allows nothing; a condition that
//     errors is false; a malformed scope, or a binding with both or neither
//     of role and actions, grants nothing; no input panics.
//   - Approval required is not an allow: a request an `ask before` rule
//     applies to answers Allowed false with ApprovalRequired (asks.go); the
//     engine keeps no approvals, and a policy without ask rules decides as
//     if the feature did not exist (one flag test, no allocation).
//
// Design (docs/engine.md has the details): the engine holds one immutable
// snapshot behind an atomic pointer. Orgs, and inside an org its holders
// (a principal or team with its membership, team relations and the
// bindings naming it) and resources, live in sharded copy-on-write maps,
// so an Apply copies only the shards and holders it touches. Policies are
// compiled per org: resource types and actions interned to small ints and
// each role reduced to a `*:*` flag and sorted sets of types, actions and
// (type, action) pairs. A check resolves the org, namespace and principal
// with a few map lookups, then scans the principal's and its teams' grants
// for that scope; without conditions it allocates nothing.
//
// The check's cold path (issue 19): on a big engine every line a check
// reads is a cache miss, and what costs is the chain of misses that each
// wait for the one before. The snapshot's entry for an org (orgEntry)
// holds, beside the org, its holders' slot array when the holders map has
// one shard (up to 2·256 holders), and a check looks the principal up in
// it before reading the org, using the answer only when that array is the
// org's own. The dependent chain of a check is then: the orgs' shard
// array (shared by every check), the org's slot, the org and the
// principal's slot (together), the holder, its grant block (and, for a
// role grant, the compiled role, shared by the org's checks). Larger
// orgs add the holders' shard array after the org. Beside it the org's
// compiled policy interns the request's type and action from two inline
// tables (cpolicy.typesFast, actionsFast), read at once where a map
// lookup is three misses in a row.
//
// Role shares: a resource-scoped binding may name "role:<name>" as its
// subject; it reaches every principal holding that role (or a role
// inheriting it) at org scope or in the resource's namespace, directly or
// through a team, under a binding whose condition holds. Orgs keep such
// holders in a short list, so a check in an org without role shares pays
// one length test, and one with them scans it only after the principal's
// own and its teams' unconditional grants have failed.
//
// Identifiers: a principal id is "<kind>:<name>" with kind user, team,
// agent or service and name an identifier (policy.CheckIdent); namespaces,
// resource types and actions in requests are identifiers; resource ids are
// any non-empty string.
//
// Ownership: the engine keeps references to the maps (attributes, labels)
// and strings it is given; callers must not modify them afterwards.
package authz

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/gatehouse-dev/gatehouse/policy"
)

// Sentinel errors.
var (
	// ErrNotFound: the org (or, for lookups, the principal or resource) is
	// unknown to the engine.
	ErrNotFound = errors.New("not found")
	// ErrStaleRevision: Apply or LoadOrg was given a revision not greater
	// than the engine's current one.
	ErrStaleRevision = errors.New("revision is not newer than the engine's")
	// ErrInvalid: a change or request is malformed (missing org, unknown op,
	// binding with neither role nor actions, bad page token...).
	ErrInvalid = errors.New("invalid")
)

// Request asks: may Principal do Action on ResourceType/ResourceID in
// Namespace of Org, in this Context, optionally on behalf of a user?
type Request struct {
	Org          string
	Principal    string // "user:alice", "agent:Triage", "service:ci"
	Namespace    string // "" means "default"
	ResourceType string // "chains"
	ResourceID   string // "" asks about the type in the namespace (e.g. chains:create)
	Action       string // "run"
	Context      map[string]any
	// OnBehalfOf, when set, must be a "user:" principal; the request is
	// allowed iff Principal (an agent or service) and OnBehalfOf are both
	// allowed (DESIGN §1.1.5). Any other combination denies.
	OnBehalfOf string
	// Now is the time used for principal expiry; zero means time.Now().
	Now time.Time
}

// Decision is the answer to a Request.
type Decision struct {
	Allowed bool
	// ApprovalRequired: rules 1–6 allow the request, but the `ask before`
	// rules in Asks apply (DESIGN §1.1 item 8, asks.go). Allowed is false:
	// a caller that ignores this field stays fail-closed. Whether a
	// recorded approval lets the request through once is the caller's
	// business (the engine keeps no approvals). (Next to Allowed, it takes
	// no room.)
	ApprovalRequired bool
	Revision         uint64 // the engine revision the decision was made at
	// Obligations (must) and Advice (should) of the acting agent whose
	// conditions hold; only on allowed decisions for agents.
	Obligations []*policy.Rule
	Advice      []*policy.Rule
	// Reason says why a denied request was denied (reason.go), set by
	// CheckWithReason and Explain; "" when allowed, and always "" from
	// Check.
	Reason Reason
	// Asks are the `ask before` rules that apply when ApprovalRequired.
	Asks []*policy.AskRule
}

// Trace is one step of an explanation: a binding, the role or action list
// it grants, the pattern that matched and the condition that gated it.
type Trace struct {
	Binding       Binding
	Via           string            // "team:<slug>" when the binding reached the principal through a team
	Role          string            // role named by the binding ("" for action lists)
	Pattern       policy.Permission // the permission pattern that matched (or came closest)
	Condition     string            // the gating condition, if any
	ConditionHeld bool
	ConditionErr  string // why the condition could not be evaluated, if so
	// Note says, for a deny, why this trace came close but did not grant:
	// "role viewer has chains but not run", "binding is in namespace prod",
	// "condition business_hours is false", "agent ceiling role X lacks it"...
	Note string
}

// Explanation says why a decision came out as it did.
type Explanation struct {
	Decision Decision
	Grants   []Trace // allow: every grant that matched
	Near     []Trace // deny: what came closest, best first
	// Summary answers "why can (not) alice run this chain?" in a few
	// sentences for a person, naming bindings, roles and conditions.
	Summary string
}

// ResourceRef names a resource.
type ResourceRef struct {
	Namespace string `json:"namespace"`
	Type      string `json:"type"`
	ID        string `json:"id"`
}

// LookupResourcesRequest asks: which resources of Type may Principal do
// Action on (in Namespace, or in every namespace when empty)?
type LookupResourcesRequest struct {
	Org, Principal, Type, Action, Namespace string
	Context                                 map[string]any
	OnBehalfOf                              string
	Now                                     time.Time
	PageSize                                int    // 0 means 100; at most 10,000
	PageToken                               string // from the previous page's NextPageToken
	// IncludeConditional also lists the resources Check denies now but
	// would allow if conditions held (a binding's or an agent rule's),
	// marked in the page's Conditions, instead of leaving them out.
	IncludeConditional bool
	// NoApprovalMarks skips the ask rules: the same resources are listed
	// (those allowed with a person's approval among them) but none is
	// marked in ApprovalRequired, and no ask rule's condition is
	// evaluated. For callers that need only the set (the MCP gateway's
	// tools/list), where the rules' conditions dominate the cost.
	NoApprovalMarks bool
}

// LookupResourcesPage is one page of a resource lookup, ordered by
// (namespace, type, id). The lookup is complete: following NextPageToken to
// the end yields every resource for which Check allows, at Revision.
type LookupResourcesPage struct {
	Resources     []ResourceRef
	NextPageToken string // "" on the last page
	Revision      uint64
	// ApprovalRequired lists, in order, the resources of Resources for
	// which Check answers approval_required (DESIGN §1.1 item 8): "what can
	// Alice run" includes what she may run with a person's approval.
	ApprovalRequired []ResourceRef
	// Conditional (with IncludeConditional) lists, in page order, the
	// resources of Resources allowed only under conditions, each with one
	// set of conditions, false now, that together would allow. The other
	// resources are allowed now.
	Conditional []ConditionalResource
	// Reason is ReasonUnknownNamespace when the lookup names a namespace
	// the org does not have (the page is then empty), the reason Check
	// gives the same question; "" otherwise.
	Reason Reason
}

// ConditionalResource is a resource allowed only under conditions.
type ConditionalResource struct {
	ResourceRef
	Conditions []string `json:"conditions"`
}

// LookupSubjectsRequest asks: which principals may do Action on the
// resource (or on the type in the namespace when ID is empty)?
type LookupSubjectsRequest struct {
	Org, Namespace, Type, ID, Action string
	Context                          map[string]any
	Now                              time.Time
	// IncludeConditional also lists the principals Check denies now but
	// would allow if conditions held, with Subject.Conditions set.
	IncludeConditional bool
}

// Subject is a principal that may act, with the teams it got there through.
type Subject struct {
	Principal string `json:"principal"`
	// Via lists the teams, and the roles ("role:operator", for a share made
	// to a role the principal holds), that a grant came through.
	Via []string `json:"via,omitempty"`
	// ApprovalRequired: an `ask before` rule applies to this principal's
	// request (DESIGN §1.1 item 8); it may act only with an approval.
	ApprovalRequired bool `json:"approval_required,omitempty"`
	// Conditions, set only by a lookup with IncludeConditional, says the
	// principal is allowed only when these conditions (currently false)
	// hold: "agent:Triage — when business_hours". Via is then empty.
	Conditions []string `json:"conditions,omitempty"`
}

// ChangeOp is the kind of a Change.
type ChangeOp int

const (
	OpPutBinding      ChangeOp = iota + 1 // Binding (replace by ID)
	OpDeleteBinding                       // ID = binding id
	OpPutPrincipal                        // Principal (membership in the org)
	OpDeletePrincipal                     // ID = principal id
	OpPutTeam                             // Team (replace by slug, with members)
	OpDeleteTeam                          // ID = team slug
	OpPutResource                         // Resource
	OpDeleteResource                      // Resource (its namespace, type, id)
	OpPutNamespace                        // ID = namespace
	OpDeleteNamespace                     // ID = namespace
	OpSetPolicy                           // Policy
	OpPutOrg                              // Data (replace the org whole)
	OpDeleteOrg                           // the org itself
	OpSetLifecycle                        // Lifecycle (the org's suspension settings)
)

// Change is one mutation of one org.
type Change struct {
	Org       string
	Op        ChangeOp
	ID        string
	Binding   Binding
	Principal Principal
	Team      Team
	Resource  Resource
	Policy    *policy.Model
	Data      *OrgData
	Lifecycle *LifecycleSettings
}

// Engine answers decisions over immutable snapshots. The zero value is not
// usable; call New. All methods are safe for concurrent use.
type Engine struct {
	impl
}

// New returns an empty engine at revision 0.
func New() *Engine { return &Engine{impl: newImpl()} }

// Revision is the revision of the current snapshot.
func (e *Engine) Revision() uint64 { return e.revision() }

// WaitFor blocks until the engine is at revision ≥ rev or ctx is done
// (returning ctx.Err()). It is how a caller asks for "at least as fresh as".
func (e *Engine) WaitFor(ctx context.Context, rev uint64) error { return e.waitFor(ctx, rev) }

// LoadOrg replaces (or adds) one org whole, at revision rev.
func (e *Engine) LoadOrg(rev uint64, d OrgData) error {
	return e.Apply(rev, Change{Org: d.Org, Op: OpPutOrg, Data: &d})
}

// Fork returns a new engine that starts from e's current state (same
// revision, same decisions) and from then on is independent of e: changes
// applied to either are not seen by the other. It costs no copy — the
// two share e's immutable snapshot, and a later Apply copies only what it
// changes — so one engine built for a large org can be the start of many
// (point-in-time decisions apply the changes after a stored snapshot to a
// fork of the engine built from it).
func (e *Engine) Fork() *Engine { return &Engine{impl: e.fork()} }

// Apply applies changes atomically at revision rev (> Revision()): either
// all apply and readers see them together, or none does and the error says
// which change is wrong (wrapping ErrInvalid or ErrStaleRevision).
func (e *Engine) Apply(rev uint64, changes ...Change) error { return e.apply(rev, changes) }

// Check decides a request. It never errors: anything unknown denies. On the
// common path (no conditions, no agent rules) it allocates nothing. It does
// not say why a request is denied (Decision.Reason is ""): use
// CheckWithReason where the answer is shown to someone.
func (e *Engine) Check(req *Request) Decision { return e.check(req) }

// CheckWithReason is Check that, on a deny, also works out why
// (Decision.Reason), on the same snapshot the decision was made on. The
// extra work is done only for denies.
func (e *Engine) CheckWithReason(req *Request) Decision { return e.checkWithReason(req) }

// Explain decides a request and says why.
func (e *Engine) Explain(req *Request) Explanation { return e.explain(req) }

// LookupResources lists the resources the principal may act on. Errors:
// ErrNotFound for an unknown org or a principal that is not a member;
// ErrInvalid for a malformed principal id (or a team), type, action,
// namespace, page size or page token (a token is bound to its query). An
// expired principal, an unknown namespace or an on-behalf-of pair Check
// would refuse yield an empty page, not an error; an unknown namespace's
// page says so in Reason (ReasonUnknownNamespace), as Check would.
func (e *Engine) LookupResources(q LookupResourcesRequest) (LookupResourcesPage, error) {
	return e.lookupResources(q)
}

// LookupSubjects lists the principals (users, agents, services; teams
// expanded) that may act on a resource, sorted by principal id. Via lists,
// sorted, every team of the principal whose own grants would allow. The
// resource need not exist (org and namespace grants apply to any id, as in
// Check). Errors: ErrNotFound for an unknown org, ErrInvalid for a
// malformed type, action or namespace; an unknown namespace yields none.
func (e *Engine) LookupSubjects(q LookupSubjectsRequest) ([]Subject, uint64, error) {
	subs, _, rev, err := e.LookupSubjectsWithReason(q)
	return subs, rev, err
}

// LookupSubjectsWithReason is LookupSubjects that also says why no one is
// listed when the namespace is unknown (ReasonUnknownNamespace, as Check
// and LookupResources say; "" otherwise), read on the same snapshot.
func (e *Engine) LookupSubjectsWithReason(q LookupSubjectsRequest) ([]Subject, Reason, uint64, error) {
	subs, rev, err := e.lookupSubjects(q)
	if errors.Is(err, errUnknownNamespace) {
		return nil, ReasonUnknownNamespace, rev, nil
	}
	return subs, "", rev, err
}

// errUnknownNamespace is what the lookups of subjects and permissions say,
// inside the package, for a namespace the org does not have; the exported
// methods turn it into no items (and, WithReason, ReasonUnknownNamespace).
var errUnknownNamespace = errors.New("authz: unknown namespace")

// Permissions lists the concrete and wildcard patterns a principal holds
// in a namespace through org- and namespace-scoped grants (not per-resource
// shares), sorted; conditional grants are included with their condition.
// An agent's patterns are each binding pattern intersected with each
// pattern of its ceiling role (`*:*` ∩ `chains:run` = `chains:run`); an
// agent's conditional permission covered by a held pattern is listed on
// its own with its conditions — when only conditional grants cover it, an
// entry is the conjunction "grant-condition && rule-condition". Errors:
// ErrNotFound for an unknown org or a non-member, ErrInvalid for a
// malformed principal or namespace; an expired principal or an unknown
// namespace yields none.
func (e *Engine) Permissions(org, principal, namespace string) ([]Grant, uint64, error) {
	gs, _, rev, err := e.PermissionsWithReason(org, principal, namespace)
	return gs, rev, err
}

// PermissionsWithReason is Permissions that also says why nothing is
// listed when the namespace is unknown (ReasonUnknownNamespace; ""
// otherwise). A non-member is still ErrNotFound first.
func (e *Engine) PermissionsWithReason(org, principal, namespace string) ([]Grant, Reason, uint64, error) {
	gs, rev, err := e.permissions(org, principal, namespace)
	if errors.Is(err, errUnknownNamespace) {
		return nil, ReasonUnknownNamespace, rev, nil
	}
	return gs, "", rev, err
}

// Grant is one effective permission pattern of a principal.
type Grant struct {
	Permission policy.Permission `json:"permission"`
	Conditions []string          `json:"conditions,omitempty"` // any one must hold; empty = unconditional
}

// Policy is the org's compiled policy at the current revision; nil for an
// unknown org or one without a policy. It decides nothing: the server
// reads it for hints that never change a decision (unknown_action).
func (e *Engine) Policy(org string) *policy.Model {
	o, ok := e.cur.Load().org(org)
	if !ok || o == nil || o.pol.none {
		return nil
	}
	return o.pol.m
}

// HighestLevel is the highest role level the principal holds at scope,
// counting grants at the scope and every enclosing scope (org ⊃ namespace ⊃
// resource), directly or through teams; -1 when it holds no role there.
// Only unconditional role bindings count (a level held under a condition
// is not one to administer with); an agent's levels are capped at its
// ceiling role's; a resource scope counts only while the resource exists.
// A "team:" id stands for the team's own bindings (the target of a team
// binding). Non-members, the expired and unknown orgs give -1.
func (e *Engine) HighestLevel(org, principal string, scope Scope) int {
	return e.highestLevel(org, principal, scope, false)
}

// HighestLevelHeld is HighestLevel for a principal whatever its state: a
// member that is suspended, expired, sponsor_gone, inactive or due for
// attestation — for which HighestLevel is -1 — counts the unconditional
// role grants it holds as if it were active (an agent still capped at its
// ceiling). It is the level that resuming or re-enabling the principal
// would give back, which DESIGN §1.2's target rule compares before anyone
// may do that. Non-members and unknown orgs give -1. No decision uses it.
func (e *Engine) HighestLevelHeld(org, principal string, scope Scope) int {
	return e.highestLevel(org, principal, scope, true)
}

// ResourceScopesHeld lists the resource scopes at which the principal, or
// a team it is in, holds a grant (a role binding or a share), whatever the
// principal's state and whatever the grant's expiry or condition, sorted
// (namespace, type, id) and each once; a "team:" id lists the team's own.
// With the org and its namespaces (where every principal's level is
// defined) they are every scope at which what the principal holds can
// exceed what it holds at the enclosing scope: DESIGN §1.2's target rule
// compares an actor with a principal at all of them before the actor may
// manage the principal or act as it. Unknown orgs, non-members and
// malformed ids have none.
func (e *Engine) ResourceScopesHeld(org, principal string) []Scope {
	return e.resourceScopesHeld(org, principal)
}

// NextExpiry is the earliest instant after `after` at which something the
// principal holds in org ends by the clock alone, with no new revision:
// one of its grants or one of its teams' grants (role bindings and
// shares, at any scope, conditional or not) expires, or its membership
// does. Zero when nothing it holds expires after `after`. A verdict that
// compared the principal's levels or permissions (DESIGN §1.2, at a
// credential's use) holds at most until then; lifecycle suspensions that
// depend on time (inactive, attestation due) are not counted here:
// NextClockChange counts both.
func (e *Engine) NextExpiry(org, principal string, after time.Time) time.Time {
	return e.nextExpiry(org, principal, after)
}

// NextClockChange is the earliest instant after `after` at which the
// principal's standing or what it holds in org can change by the clock
// alone, with no new revision: NextExpiry's instants (its grants', its
// teams' grants', its membership's expiry) and the instants at which a
// lifecycle rule of the org that depends on the clock (DESIGN §1.1.9)
// suspends it — last recorded use + the org's InactiveAfter, last
// attestation + its AttestEvery, for a principal under the org's rules.
// Zero when nothing changes by the clock after `after`.
//
// Contract: at one revision, what the engine answers about the
// principal's standing and holdings — Standing, Suspension, HighestLevel,
// Missing, PatternsHeld, and whether it may act at all in a Check — is
// the same at every instant of [after, NextClockChange); it may also be
// the same past it (an instant is counted even when the principal is
// already suspended for another reason). A recorded use or
// an attestation is a new revision and only moves its deadline later. A
// verdict on the principal computed at `after` holds until then.
func (e *Engine) NextClockChange(org, principal string, after time.Time) time.Time {
	return e.nextClockChange(org, principal, after)
}

// ClockSuspends reports whether a lifecycle rule that depends on the
// clock (inactive, attestation due; DESIGN §1.1.9) applies to principal
// in org, so that its standing can change by the clock alone at an
// instant NextExpiry does not give (NextClockChange gives it).
func (e *Engine) ClockSuspends(org, principal string) bool {
	return e.clockSuspends(org, principal)
}

// Namespaces lists the org's namespaces ("default" among them), sorted;
// nil for an unknown org. It is the engine's view of what the store's
// ListNamespaces returns, for callers that must decide from the engine
// alone (DESIGN §1.2's rules compared at a credential's use: the org,
// each namespace and ResourceScopesHeld are every scope to compare).
func (e *Engine) Namespaces(org string) []string {
	o, ok := e.cur.Load().org(org)
	if !ok || o == nil {
		return nil
	}
	return slices.Clone(o.nsSorted)
}

// PatternsHeld lists the permission patterns that the principal's grants
// at scope, at its enclosing scopes and through its teams confer — role
// bindings and shares, conditional or not, that have not expired; an
// agent's capped by its ceiling role — whatever the principal's state,
// sorted and each once. It is what acting as the principal could use
// there (conditions aside), which DESIGN §1.2 requires an actor to hold
// (Missing) before it may mint the principal a credential. Unknown orgs,
// non-members and malformed ids hold none.
func (e *Engine) PatternsHeld(org, principal string, scope Scope) []policy.Permission {
	return e.patternsHeld(org, principal, scope)
}

// Missing returns the patterns of want that the principal's grants at scope
// (including enclosing scopes and teams; unconditional grants only) do not
// cover, in the order given. Empty means the principal could grant all of
// want without escalating (DESIGN §1.2).
func (e *Engine) Missing(org, principal string, scope Scope, want []policy.Permission) []policy.Permission {
	return e.missing(org, principal, scope, want)
}
