package api

import (
	"encoding/json"
	"time"
)

// Written is the answer to a write that returns what it wrote, and what
// the write stops (Warnings: a minted credential whose principal now
// outranks its minter; omitted when none).
type Written[T any] struct {
	Revision uint64         `json:"revision"`
	Item     T              `json:"item"`
	Warnings []WriteWarning `json:"warnings,omitempty"`
}

// BindingWritten is the answer to POST .../bindings: Written's fields,
// and what the binding stops (a minted credential of its principal that
// now outranks its minter).
type BindingWritten struct {
	Revision uint64         `json:"revision"`
	Item     Binding        `json:"item"`
	Warnings []WriteWarning `json:"warnings,omitempty"`
}

// WarningCredentialsOutranked is WriteWarning.Code for a write after
// which some principal outranks the minter of API keys or agent tokens it
// holds — it was raised, its minter lowered, or a role or the policy
// changed: every use of them is refused 403 credential-outranks-minter.
const WarningCredentialsOutranked = "credentials-outrank-minter"

// WriteWarning says what a write that succeeded will stop. Credentials
// lists them when the caller may read their metadata (apikeys:read, or
// they are its own); otherwise only Count says how many (never an id the
// caller could not read).
type WriteWarning struct {
	Code string `json:"code"`
	// Org is the org of the keys, on a route whose path names none
	// (DELETE /v1/me: one warning per org the user left).
	Org         string                `json:"org,omitempty"`
	Message     string                `json:"message"`
	Count       int                   `json:"count"`
	Truncated   bool                  `json:"truncated,omitempty"` // Count is a lower bound
	Credentials []OutrankedCredential `json:"credentials,omitempty"`
}

// OutrankedCredential is an API key or an agent token (Kind) that its
// minter no longer stands behind: its id (an API key's token starts
// "gth_<id>_"; an agent token's id is its token_id, as GET
// …/agent-tokens lists it; never the secret), its principal (a service,
// or the agent) and minter, the scope where the principal outranks the
// minter, and the refusal its next use will get.
type OutrankedCredential struct {
	Kind      string `json:"kind"` // CredentialAPIKey or CredentialAgentToken
	ID        string `json:"id"`
	Principal string `json:"principal"`
	Minter    string `json:"minter"`
	Scope     string `json:"scope,omitempty"`
	Reason    string `json:"reason"`
}

// Kinds of OutrankedCredential.
const (
	CredentialAPIKey     = "api_key"
	CredentialAgentToken = "agent_token"
)

// Revision is the answer to a write that returns nothing else but what
// it stops (Warnings, as Written's).
type Revision struct {
	Revision uint64         `json:"revision"`
	Warnings []WriteWarning `json:"warnings,omitempty"`
}

// PolicyApplied is the answer to PUT .../policy: the revision, and
// warnings only the server can give because they need the org's members
// (an ask rule whose quorum is more than the people who could approve
// it, code quorum-unreachable).
type PolicyApplied struct {
	Revision uint64       `json:"revision"`
	Warnings []Diagnostic `json:"warnings,omitempty"`
	// WriteWarnings: what the new policy stops (a minted credential whose
	// principal now outranks its minter), as other writes' Warnings.
	WriteWarnings []WriteWarning `json:"write_warnings,omitempty"`
}

// CheckRequest is the body of POST .../check and .../explain: a BatchItem
// with the consistency it needs (an answer at least as fresh as a
// revision some write answered).
type CheckRequest struct {
	Principal   string         `json:"principal,omitempty"`
	Action      string         `json:"action"`
	Resource    string         `json:"resource,omitempty"`
	Namespace   string         `json:"namespace,omitempty"`
	Context     map[string]any `json:"context,omitempty"`
	OnBehalfOf  string         `json:"on_behalf_of,omitempty"`
	Consistency *Consistency   `json:"consistency,omitempty"`
	// AtTime or AtRevision asks about the past: the decision as it would
	// have been then, rebuilt from the changelog (check and explain only).
	AtTime     time.Time `json:"at_time,omitzero"`
	AtRevision uint64    `json:"at_revision,omitempty"`
	// Arguments are the request's arguments (any JSON): an approval is
	// bound to the SHA-256 of their canonical form (DESIGN §1.1 item 8).
	Arguments json.RawMessage `json:"arguments,omitempty"`
	// ApprovalID presents a granted approval of exactly this question; the
	// request is then allowed once.
	ApprovalID string `json:"approval_id,omitempty"`
}

// Check is the body of a check of it at consistency c (nil: any).
func (it BatchItem) Check(c *Consistency) CheckRequest {
	return CheckRequest{Principal: it.Principal, Action: it.Action, Resource: it.Resource, Namespace: it.Namespace,
		Context: it.Context, OnBehalfOf: it.OnBehalfOf, Consistency: c, Arguments: it.Arguments, ApprovalID: it.ApprovalID}
}

// BatchCheckRequest holds up to MaxBatch checks, answered independently.
type BatchCheckRequest struct {
	Checks      []BatchItem  `json:"checks"`
	Consistency *Consistency `json:"consistency,omitempty"`
}

// MaxBatch is the most checks one batch takes.
const MaxBatch = 1000

// LookupResourcesRequest is the body of POST .../lookup/resources: a
// LookupResourcesQuery with its consistency.
type LookupResourcesRequest struct {
	Principal   string         `json:"principal,omitempty"`
	Action      string         `json:"action"`
	Namespace   string         `json:"namespace,omitempty"`
	Context     map[string]any `json:"context,omitempty"`
	OnBehalfOf  string         `json:"on_behalf_of,omitempty"`
	PageSize    int            `json:"page_size,omitempty"`
	Cursor      string         `json:"cursor,omitempty"`
	Consistency *Consistency   `json:"consistency,omitempty"`
	// IncludeConditional also lists resources allowed only under
	// conditions (see LookupResourcesResponse.Conditional).
	IncludeConditional bool `json:"include_conditional,omitempty"`
	// AtTime or AtRevision asks about the past: the lookup as it would
	// have been then, rebuilt from the changelog (a cursor is for the
	// same point only).
	AtTime     time.Time `json:"at_time,omitzero"`
	AtRevision uint64    `json:"at_revision,omitempty"`
}

// Request is the body of the query at consistency c (nil: any).
func (q LookupResourcesQuery) Request(c *Consistency) LookupResourcesRequest {
	return LookupResourcesRequest{Principal: q.Principal, Action: q.Action, Namespace: q.Namespace, Context: q.Context,
		OnBehalfOf: q.OnBehalfOf, PageSize: q.PageSize, Cursor: q.Cursor, Consistency: c, IncludeConditional: q.IncludeConditional}
}

// LookupSubjectsRequest is the body of POST .../lookup/subjects: a
// LookupSubjectsQuery with its consistency.
type LookupSubjectsRequest struct {
	Action      string         `json:"action"`
	Resource    string         `json:"resource,omitempty"`
	Namespace   string         `json:"namespace,omitempty"`
	Context     map[string]any `json:"context,omitempty"`
	Consistency *Consistency   `json:"consistency,omitempty"`
	// IncludeConditional also lists principals allowed only under
	// conditions, with Subject.Conditions set.
	IncludeConditional bool `json:"include_conditional,omitempty"`
	// AtTime or AtRevision asks about the past, as in
	// LookupResourcesRequest.
	AtTime     time.Time `json:"at_time,omitzero"`
	AtRevision uint64    `json:"at_revision,omitempty"`
}

// Request is the body of the query at consistency c (nil: any).
func (q LookupSubjectsQuery) Request(c *Consistency) LookupSubjectsRequest {
	return LookupSubjectsRequest{Action: q.Action, Resource: q.Resource, Namespace: q.Namespace, Context: q.Context, Consistency: c,
		IncludeConditional: q.IncludeConditional}
}

// RenameRequest changes a display name.
type RenameRequest struct {
	Name string `json:"name"`
}

// NamespaceRequest creates a namespace.
type NamespaceRequest struct {
	Name string `json:"name"`
}

// MemberRequest adds an existing user to the org with a role at org scope.
type MemberRequest struct {
	UserID string `json:"user_id"`
	Role   string `json:"role"`
}

// RoleRequest changes a member's org-scope role.
type RoleRequest struct {
	Role string `json:"role"`
}

// PrincipalRequest names a principal (team membership).
type PrincipalRequest struct {
	Principal string `json:"principal"`
}

// RoleBody redefines a custom role (its name is in the path).
type RoleBody struct {
	Level       int      `json:"level"`
	Parents     []string `json:"parents,omitempty"`
	Permissions []string `json:"permissions"`
}

// ShareRequest shares one resource with a principal, or with every holder
// of a role in the resource's scope ("role:operator"), for an action list.
type ShareRequest struct {
	Principal string   `json:"principal"`
	Actions   []string `json:"actions"`
	Lifetime
}

// ServicePatch changes a service; absent fields keep their value.
type ServicePatch struct {
	Attributes *map[string]any `json:"attributes,omitempty"`
	// Sponsors replaces the sponsors: a non-empty list lifts
	// sponsor_gone; [] makes the service need none.
	Sponsors *[]string `json:"sponsors,omitempty"`
	// Lifecycle opts in to (true) or out of (false) the org's inactivity
	// and attestation rules; opting in counts as a use and an attestation.
	Lifecycle *bool `json:"lifecycle,omitempty"`
}

// PolicyRequest replaces the org's policy text. Force drops bindings and
// agents of roles the new text removes instead of refusing with 409.
type PolicyRequest struct {
	Text  string `json:"text"`
	Force bool   `json:"force,omitempty"`
}

// ValidateRequest is a policy text to check without storing it.
type ValidateRequest struct {
	Text string `json:"text"`
}

// InviteRequest invites an email address with a role.
type InviteRequest struct {
	Email string `json:"email"`
	Role  string `json:"role"`
}

// SecretRotate sets a new value (a new version).
type SecretRotate struct {
	Value     *string `json:"value"`
	IfVersion uint64  `json:"if_version,omitempty"`
}

// ExchangeRequest redeems a run token for its release.
type ExchangeRequest struct {
	Token string `json:"token"`
}

// AuditVerifyRequest verifies the org's audit log, optionally against
// checkpoints kept elsewhere.
type AuditVerifyRequest struct {
	Checkpoints []Checkpoint `json:"checkpoints,omitempty"`
}
