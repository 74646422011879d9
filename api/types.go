package api

import (
	"encoding/json"
	"time"
)

// List is one page of a list. NextCursor is "" on the last page; pass it
// back as ListOptions.Cursor for the next one.
type List[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor"`
}

// Consistency asks for an answer at least as fresh as a revision.
type Consistency struct {
	AtLeast uint64 `json:"at_least"`
}

// Org is a tenant.
type Org struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Template  string    `json:"template,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	// Lifecycle is the org's suspension rules for agents (nil: none).
	Lifecycle *OrgLifecycle `json:"lifecycle,omitempty"`
	// Approvals is the lifetimes the org's approvals get: its own
	// settings, else the server's defaults (the *_default fields say
	// which).
	Approvals *OrgApprovalSettings `json:"approvals,omitempty"`
}

// OrgApprovalSettings is how long an org's approvals live (DESIGN §1.1
// item 8): a pending approval expires PendingTTL after it is asked for; a
// granted one must be used within UseWindow. Durations are Go durations
// or whole days ("24h", "15m", "7d"). PUT .../approval-settings replaces
// them: "" or "0" is the server's default; bounds 1m to 30d (pending) and
// 1m to 24h (window). New approvals get the new times.
type OrgApprovalSettings struct {
	PendingTTL string `json:"pending_ttl,omitempty"`
	UseWindow  string `json:"use_window,omitempty"`
	// In answers: true when the org sets nothing and the server's default
	// applies.
	PendingTTLDefault bool `json:"pending_ttl_default,omitempty"`
	UseWindowDefault  bool `json:"use_window_default,omitempty"`
}

// OrgLifecycle is an org's suspension rules for agents: suspend those
// unused for InactiveDays, and those no sponsor attested for
// AttestationDays (0: off). PUT .../lifecycle replaces them.
type OrgLifecycle struct {
	InactiveDays    int `json:"inactive_days,omitempty"`
	AttestationDays int `json:"attestation_days,omitempty"`
}

// CreateOrgRequest creates an org from a template; the caller (a user)
// becomes its owner.
type CreateOrgRequest struct {
	ID       string `json:"id"`
	Name     string `json:"name,omitempty"`
	Template string `json:"template,omitempty"` // "" means the server's default (agent-platform)
}

// Namespace is a partition of an org.
type Namespace struct {
	Org       string    `json:"org"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
}

// User is a person, global to the deployment.
type User struct {
	ID          string    `json:"id"`
	Email       string    `json:"email,omitempty"`
	DisplayName string    `json:"display_name,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
}

// Member is a user's membership of an org (its role is a binding).
type Member struct {
	Org        string         `json:"org"`
	UserID     string         `json:"user_id"`
	Attributes map[string]any `json:"attributes,omitempty"`
	CreatedAt  time.Time      `json:"created_at"`
}

// Team is a set of principals of an org.
type Team struct {
	Org       string    `json:"org"`
	Slug      string    `json:"slug"`
	Name      string    `json:"name,omitempty"`
	Members   []string  `json:"members"` // filled by GetTeam only
	CreatedAt time.Time `json:"created_at"`
}

// TeamRequest creates a team.
type TeamRequest struct {
	Slug    string   `json:"slug"`
	Name    string   `json:"name,omitempty"`
	Members []string `json:"members,omitempty"` // principal ids
}

// Role is one role of an org's policy.
type Role struct {
	Name        string   `json:"name"`
	Level       int      `json:"level"`
	Parents     []string `json:"parents,omitempty"`
	Permissions []string `json:"permissions"` // flattened, sorted
	Custom      bool     `json:"custom"`
}

// RoleSpec defines a custom role.
type RoleSpec struct {
	Name        string   `json:"name"`
	Level       int      `json:"level"`
	Parents     []string `json:"parents,omitempty"`
	Permissions []string `json:"permissions"` // "chains:run", "tickets:*"
}

// Policy is one version of an org's policy text.
type Policy struct {
	Org       string    `json:"org"`
	Version   uint64    `json:"version"`
	Text      string    `json:"text"`
	Author    string    `json:"author"`
	CreatedAt time.Time `json:"created_at"`
}

// ValidateResponse is the outcome of compiling and linting a policy text.
type ValidateResponse struct {
	Valid       bool         `json:"valid"` // no errors (warnings allowed)
	Diagnostics []Diagnostic `json:"diagnostics"`
}

// Binding is a role (or, on one resource, an action list) granted to a
// principal at a scope.
type Binding struct {
	BindingCore
	Org       string    `json:"org"`
	CreatedBy string    `json:"created_by,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

// BindingSpec creates a binding. A zero Scope is the whole org.
type BindingSpec struct {
	Principal string `json:"principal"`
	Role      string `json:"role"`
	Scope     Scope  `json:"scope"`
	Condition string `json:"condition,omitempty"`
	Lifetime
}

// Lifetime limits a grant in time: it stops granting at ExpiresAt, or
// ExpiresIn (a Go duration: "30m", "2h") after the server's clock when it
// is created. At most one is set; neither means never.
type Lifetime struct {
	ExpiresAt time.Time `json:"expires_at,omitzero"`
	ExpiresIn string    `json:"expires_in,omitempty"`
}

// Agent is an AI agent identity of an org.
type Agent struct {
	Org        string         `json:"org"`
	Name       string         `json:"name"`
	Role       string         `json:"role"`
	Sponsor    string         `json:"sponsor,omitempty"`
	ExpiresAt  time.Time      `json:"expires_at,omitzero"`
	Attributes map[string]any `json:"attributes,omitempty"`
	CreatedAt  time.Time      `json:"created_at"`
	// Sponsors are the "user:" members and "team:" teams answerable for
	// the agent; when the last one leaves, the agent is suspended.
	Sponsors   []string  `json:"sponsors,omitempty"`
	Suspended  bool      `json:"suspended,omitempty"` // suspended by hand
	AttestedAt time.Time `json:"attested_at,omitzero"`
	LastUsedAt time.Time `json:"last_used_at,omitzero"`
	// Status is "active", or why every decision for the agent is denied
	// now: expired, suspended, sponsor_gone, inactive, attestation_due.
	Status string `json:"status,omitempty"`
}

// AgentSpec creates an agent bound to its role (its ceiling) at Namespace,
// or the org when empty.
type AgentSpec struct {
	Name       string         `json:"name"`
	Role       string         `json:"role"`
	Namespace  string         `json:"namespace,omitempty"`
	Sponsor    string         `json:"sponsor,omitempty"`
	ExpiresAt  time.Time      `json:"expires_at,omitzero"`
	Attributes map[string]any `json:"attributes,omitempty"`
	// Sponsors ("user:<id>", "team:<slug>"); empty: Sponsor, else the
	// creating user.
	Sponsors []string `json:"sponsors,omitempty"`
}

// AgentPatch changes an agent; nil fields keep their value.
type AgentPatch struct {
	Role    *string `json:"role,omitempty"`
	Sponsor *string `json:"sponsor,omitempty"`
	// Sponsors replaces the sponsors (assigning one lifts sponsor_gone).
	Sponsors *[]string `json:"sponsors,omitempty"`
	// Suspended suspends (true) or lifts a suspension by hand (false).
	Suspended *bool `json:"suspended,omitempty"`
	// ExpiresAt is an RFC 3339 time, or "" for never.
	ExpiresAt  *string         `json:"expires_at,omitempty"`
	Attributes *map[string]any `json:"attributes,omitempty"`
}

// Service is a runtime or CI account of an org.
type Service struct {
	Org        string         `json:"org"`
	Name       string         `json:"name"`
	Attributes map[string]any `json:"attributes,omitempty"`
	CreatedAt  time.Time      `json:"created_at"`
	// Suspended: suspended by hand (POST …/services/{service}/suspend);
	// every decision for it is deny with reason "suspended" and its API
	// keys and run-token exchanges are refused until it is resumed.
	Suspended bool `json:"suspended,omitempty"`
	// Status is "active" or why every decision for it is denied now:
	// "suspended", "sponsor_gone", "inactive", "attestation_due".
	Status string `json:"status"`
	// Sponsors ("user:<id>", "team:<slug>") answer for the service; none
	// by default. A service given sponsors is sponsor_gone once the last
	// one leaves the org or is deleted, until new ones are assigned.
	Sponsors []string `json:"sponsors,omitempty"`
	// Lifecycle: the service opted in to the org's inactivity and
	// attestation rules (PUT /v1/orgs/{org}/lifecycle).
	Lifecycle bool `json:"lifecycle,omitempty"`
	// AttestedAt and LastUsedAt: the last attestation and recorded use
	// (absent: none since the creation or the opt-in).
	AttestedAt time.Time `json:"attested_at,omitzero"`
	LastUsedAt time.Time `json:"last_used_at,omitzero"`
}

// ServiceSpec creates a service, optionally bound to a role.
type ServiceSpec struct {
	Name       string         `json:"name"`
	Attributes map[string]any `json:"attributes,omitempty"`
	Role       string         `json:"role,omitempty"`
	Namespace  string         `json:"namespace,omitempty"`
	// Sponsors ("user:<id>" members, "team:<slug>" teams; at most 16),
	// optional.
	Sponsors []string `json:"sponsors,omitempty"`
	// Lifecycle opts the service in to the org's inactivity and
	// attestation rules; it needs sponsors.
	Lifecycle bool `json:"lifecycle,omitempty"`
}

// Resource is a resource with its current spec.
type Resource struct {
	ResourceCore
	Org       string          `json:"org"`
	Spec      json.RawMessage `json:"spec,omitempty"`
	Version   uint64          `json:"version"`
	UpdatedBy string          `json:"updated_by"`
	CreatedAt time.Time       `json:"created_at"`
	UpdatedAt time.Time       `json:"updated_at"`
}

// Ref is the resource's identity.
func (r Resource) Ref() ResourceRef {
	return ResourceRef{Namespace: r.Namespace, Type: r.Type, ID: r.ID}
}

// ResourceSpec creates a resource at version 1.
type ResourceSpec struct {
	Namespace  string            `json:"namespace"`
	Type       string            `json:"type"`
	ID         string            `json:"id"`
	Labels     map[string]string `json:"labels,omitempty"`
	Attributes map[string]any    `json:"attributes,omitempty"`
	Spec       json.RawMessage   `json:"spec,omitempty"`
}

// ResourcePatch changes a resource and records a new version; nil fields
// keep their value, Spec "null" clears the spec.
type ResourcePatch struct {
	Labels     *map[string]string `json:"labels,omitempty"`
	Attributes *map[string]any    `json:"attributes,omitempty"`
	Spec       json.RawMessage    `json:"spec,omitempty"`
	// IfVersion, when set, makes the update fail with 409 unless the
	// current version is this one.
	IfVersion uint64 `json:"if_version,omitempty"`
}

// ResourceVersion is one recorded version of a resource.
type ResourceVersion struct {
	Org        string            `json:"org"`
	Ref        ResourceRef       `json:"ref"`
	Version    uint64            `json:"version"`
	Spec       json.RawMessage   `json:"spec,omitempty"`
	Labels     map[string]string `json:"labels,omitempty"`
	Attributes map[string]any    `json:"attributes,omitempty"`
	Author     string            `json:"author"`
	CreatedAt  time.Time         `json:"created_at"`
}

// DiffEntry is one difference between two versions (a JSON Pointer path).
type DiffEntry struct {
	Path string          `json:"path"`
	Op   string          `json:"op"` // "added", "removed", "changed"
	Old  json.RawMessage `json:"old,omitempty"`
	New  json.RawMessage `json:"new,omitempty"`
}

// APIKey is an API key's metadata (never its secret).
type APIKey struct {
	ID         string    `json:"id"`
	Org        string    `json:"org,omitempty"` // "" for a personal key
	Principal  string    `json:"principal"`
	Name       string    `json:"name,omitempty"`
	CreatedBy  string    `json:"created_by"`
	CreatedAt  time.Time `json:"created_at"`
	ExpiresAt  time.Time `json:"expires_at,omitzero"`
	RevokedAt  time.Time `json:"revoked_at,omitzero"`
	LastUsedAt time.Time `json:"last_used_at,omitzero"`
}

// KeySpec creates an API key.
type KeySpec struct {
	// Principal is "user:<id>" or "service:<name>"; empty means the caller.
	Principal string    `json:"principal,omitempty"`
	Name      string    `json:"name,omitempty"`
	ExpiresAt time.Time `json:"expires_at,omitzero"`
}

// KeyCreated is a new API key with its token, shown this once.
type KeyCreated struct {
	Revision uint64 `json:"revision"`
	Item     APIKey `json:"item"`
	Token    string `json:"token"`
}

// AgentTokenRequest asks for an audience-bound agent token
// (POST /v1/orgs/{org}/agents/{agent}/tokens).
type AgentTokenRequest struct {
	// OnBehalfOf is the member user the agent acts for ("user:<id>"),
	// optional; a user may name only itself.
	OnBehalfOf string `json:"on_behalf_of,omitempty"`
	// Audience is the absolute URL of the one endpoint that will accept
	// the token (an MCP gateway endpoint: <base>/mcp/{org}/{namespace}/{server}).
	Audience string `json:"audience"`
	// TTL is a Go duration ("5m"), default 5m, at most 1h.
	TTL string `json:"ttl,omitempty"`
}

// AgentToken is a minted agent token, shown this once.
type AgentToken struct {
	Revision   uint64    `json:"revision"`
	Token      string    `json:"token"`
	TokenType  string    `json:"token_type"`
	TokenID    string    `json:"token_id"`
	Agent      string    `json:"agent"`
	OnBehalfOf string    `json:"on_behalf_of,omitempty"`
	Audience   string    `json:"audience"`
	ExpiresAt  time.Time `json:"expires_at"`
}

// AgentTokenInfo is a minted agent token's metadata, as listed
// (GET /v1/orgs/{org}/agents/{agent}/tokens): never the token.
type AgentTokenInfo struct {
	ID         string    `json:"id"` // the token_id minting returned
	Agent      string    `json:"agent"`
	OnBehalfOf string    `json:"on_behalf_of,omitempty"`
	Audience   string    `json:"audience"`
	CreatedBy  string    `json:"created_by"`
	CreatedAt  time.Time `json:"created_at"`
	ExpiresAt  time.Time `json:"expires_at"`
	RevokedAt  time.Time `json:"revoked_at,omitzero"`
	RevokedBy  string    `json:"revoked_by,omitempty"`
}

// Invitation invites an email address to an org with a role.
type Invitation struct {
	ID         string    `json:"id"`
	Org        string    `json:"org"`
	Email      string    `json:"email"`
	Role       string    `json:"role"`
	InvitedBy  string    `json:"invited_by"`
	CreatedAt  time.Time `json:"created_at"`
	ExpiresAt  time.Time `json:"expires_at"`
	AcceptedAt time.Time `json:"accepted_at,omitzero"`
	AcceptedBy string    `json:"accepted_by,omitempty"`
	RevokedAt  time.Time `json:"revoked_at,omitzero"`
}

// InvitationCreated is a new invitation with its token, shown this once.
type InvitationCreated struct {
	Revision uint64     `json:"revision"`
	Item     Invitation `json:"item"`
	Token    string     `json:"token"`
}

// AcceptRequest redeems an invitation token.
type AcceptRequest struct {
	Token       string `json:"token"`
	UserID      string `json:"user_id,omitempty"` // for a new user; default derived from the email
	DisplayName string `json:"display_name,omitempty"`
}

// SessionResponse is a short-lived session token.
type SessionResponse struct {
	Token     string    `json:"token"`
	TokenType string    `json:"token_type"`
	ExpiresAt time.Time `json:"expires_at"`
	Principal string    `json:"principal"`
	Org       string    `json:"org,omitempty"`
}

// AcceptResponse is the outcome of accepting an invitation.
type AcceptResponse struct {
	Revision uint64 `json:"revision"`
	User     User   `json:"user"`
	Org      string `json:"org"`
	Role     string `json:"role"`
	// Session is set only for an anonymous acceptance that created the
	// user; an authenticated acceptance mints no credential.
	Session *SessionResponse `json:"session,omitempty"`
}

// Health is the answer of /healthz and /readyz.
type Health struct {
	Status          string `json:"status"` // "ok" or "unavailable"
	Version         string `json:"version,omitempty"`
	EngineRevision  uint64 `json:"engine_revision"`
	StoreRevision   uint64 `json:"store_revision,omitempty"`
	Detail          string `json:"detail,omitempty"`
	RevisionLagMax  uint64 `json:"revision_lag_max,omitempty"`
	FollowerHealthy bool   `json:"follower_healthy"`
}

// Me describes the caller.
type Me struct {
	Principal string  `json:"principal"`
	Org       string  `json:"org,omitempty"` // set when the credential is confined to one org
	Via       string  `json:"via"`           // "api_key" or "session"
	KeyID     string  `json:"key_id,omitempty"`
	Expires   string  `json:"expires_at,omitempty"`
	User      *User   `json:"user,omitempty"`
	Orgs      []MeOrg `json:"orgs"`
}

// MeOrg is an org of the caller with what it may do there.
type MeOrg struct {
	ID          string     `json:"id"`
	Name        string     `json:"name"`
	Namespace   string     `json:"namespace"`
	Permissions []GrantOut `json:"permissions"`
}

// BatchItem asks: may Principal do Action on Resource in Namespace?
type BatchItem struct {
	// Principal defaults to the caller; asking about another principal
	// needs bindings:read in the namespace.
	Principal string `json:"principal,omitempty"`
	// Action is "<type>:<action>", e.g. "chains:run" (no wildcards).
	Action string `json:"action"`
	// Resource is "<type>/<id>", or "" to ask about the type in the
	// namespace ("chains:create").
	Resource   string         `json:"resource,omitempty"`
	Namespace  string         `json:"namespace,omitempty"` // default "default"
	Context    map[string]any `json:"context,omitempty"`
	OnBehalfOf string         `json:"on_behalf_of,omitempty"`
	// Arguments are the request's arguments (any JSON): an approval is
	// bound to the SHA-256 of their canonical form (DESIGN §1.1 item 8).
	Arguments json.RawMessage `json:"arguments,omitempty"`
	// ApprovalID presents a granted approval of exactly this question; the
	// request is then allowed once.
	ApprovalID string `json:"approval_id,omitempty"`
}

// CheckResponse is the answer to a check.
type CheckResponse struct {
	Allowed     bool      `json:"allowed"`
	Revision    uint64    `json:"revision"`
	Obligations []RuleOut `json:"obligations,omitempty"`
	Advice      []RuleOut `json:"advice,omitempty"`
	// Reason says why a deny is a deny, from a closed set (not_member,
	// unknown_namespace, no_grant, condition_failed, condition_error...;
	// docs/api.md lists them and authz.Reasons returns them); "" when
	// allowed. It never turns a deny into anything else: branch on Allowed.
	Reason string `json:"reason,omitempty" openapi:"reason"`
	// Result is "approval_required" when the request would be allowed but
	// needs a person's approval first (Allowed is false; Approval says
	// which); absent otherwise.
	Result   string    `json:"result,omitempty"`
	Approval *Approval `json:"approval,omitempty"`
	// Warnings are notes on the decision that never change it: today
	// unknown_action, to a caller holding policy:read (docs/api.md).
	Warnings []CheckWarning `json:"warnings,omitempty"`
}

// CheckWarning is a note on a decision for the integrator; it never
// changes the decision.
type CheckWarning struct {
	// Code is machine-readable: "unknown_action".
	Code    string `json:"code"`
	Message string `json:"message"`
}

// RuleOut is an agent's obligation (must) or advice (should).
type RuleOut struct {
	Kind      string `json:"kind"` // "must" or "should"
	Text      string `json:"text"`
	Action    string `json:"action,omitempty"`
	Resource  string `json:"resource,omitempty"`
	Condition string `json:"condition,omitempty"`
}

// BatchResult is one answer of a batch: Error is set iff the item could not
// be decided (then Allowed is false).
type BatchResult struct {
	Allowed     bool      `json:"allowed"`
	Obligations []RuleOut `json:"obligations,omitempty"`
	Advice      []RuleOut `json:"advice,omitempty"`
	Reason      string    `json:"reason,omitempty" openapi:"reason"` // as CheckResponse.Reason
	// Result and Approval: as CheckResponse's (approval_required, and the
	// approval it needs or the one this allow consumed).
	Result   string    `json:"result,omitempty"`
	Approval *Approval `json:"approval,omitempty"`
	// Warnings: as CheckResponse's.
	Warnings []CheckWarning `json:"warnings,omitempty"`
	Error    *Problem       `json:"error,omitempty"`
}

// BatchCheckResponse is the answer to a batch of checks, in request order.
type BatchCheckResponse struct {
	Results  []BatchResult `json:"results"`
	Revision uint64        `json:"revision"`
}

// ExplainResponse is a decision with the reasons.
type ExplainResponse struct {
	Allowed     bool       `json:"allowed"`
	Revision    uint64     `json:"revision"`
	Reason      string     `json:"reason,omitempty" openapi:"reason"` // as CheckResponse.Reason
	Summary     string     `json:"summary"`
	Grants      []TraceOut `json:"grants"`
	Near        []TraceOut `json:"near"`
	Obligations []RuleOut  `json:"obligations,omitempty"`
	Advice      []RuleOut  `json:"advice,omitempty"`
}

// TraceOut is one step of an explanation.
type TraceOut struct {
	Binding        BindingCore `json:"binding"`
	Via            string      `json:"via,omitempty"`
	Role           string      `json:"role,omitempty"`
	Pattern        string      `json:"pattern,omitempty"`
	Condition      string      `json:"condition,omitempty"`
	ConditionHeld  bool        `json:"condition_held,omitempty"`
	ConditionError string      `json:"condition_error,omitempty"`
	Note           string      `json:"note,omitempty"`
}

// LookupResourcesQuery asks which resources Principal may do Action on.
type LookupResourcesQuery struct {
	Principal string `json:"principal,omitempty"` // default: the caller
	Action    string `json:"action"`
	// Namespace limits the lookup; empty means every namespace.
	Namespace  string         `json:"namespace,omitempty"`
	Context    map[string]any `json:"context,omitempty"`
	OnBehalfOf string         `json:"on_behalf_of,omitempty"`
	PageSize   int            `json:"page_size,omitempty"` // default 100, at most 10,000
	Cursor     string         `json:"cursor,omitempty"`
	// IncludeConditional also lists the resources allowed only when
	// conditions hold, instead of leaving them out (see Conditional).
	IncludeConditional bool `json:"include_conditional,omitempty"`
}

// LookupResourcesResponse is one page of a resource lookup, in (namespace, type, id)
// order.
type LookupResourcesResponse struct {
	Items      []ResourceRef `json:"items"`
	NextCursor string        `json:"next_cursor"`
	Revision   uint64        `json:"revision"`
	// Reason is "unknown_namespace" when the lookup names a namespace the
	// org does not have (items is then empty): what a check of the same
	// question answers. Absent otherwise.
	Reason string `json:"reason,omitempty" openapi:"reason"`
	// ApprovalRequired lists the items that need a person's approval first.
	ApprovalRequired []ResourceRef `json:"approval_required,omitempty"`
	// Conditional (only with include_conditional) marks the items of this
	// page allowed only when conditions, false now, hold; the other items
	// are allowed now.
	Conditional []ConditionalRef `json:"conditional,omitempty"`
}

// ConditionalRef is a resource allowed only under conditions.
type ConditionalRef struct {
	ResourceRef
	Conditions []string `json:"conditions"`
}

// LookupSubjectsQuery asks who may do Action on Resource.
type LookupSubjectsQuery struct {
	Action    string         `json:"action"`
	Resource  string         `json:"resource,omitempty"` // "<type>/<id>"; empty: the type in the namespace
	Namespace string         `json:"namespace,omitempty"`
	Context   map[string]any `json:"context,omitempty"`
	// IncludeConditional also lists principals allowed only when
	// conditions hold, with Subject.Conditions set.
	IncludeConditional bool `json:"include_conditional,omitempty"`
}

// LookupSubjectsResponse lists principals (teams expanded, with the teams they got there
// through).
type LookupSubjectsResponse struct {
	Items    []Subject `json:"items"`
	Revision uint64    `json:"revision"`
	// Reason is "unknown_namespace" when the lookup names a namespace the
	// org does not have (items is then empty): what a check of the same
	// question answers. Absent otherwise.
	Reason string `json:"reason,omitempty" openapi:"reason"`
}

// PermissionsResponse lists what a principal holds in a namespace.
type PermissionsResponse struct {
	Principal string     `json:"principal"`
	Namespace string     `json:"namespace"`
	Items     []GrantOut `json:"items"`
	Revision  uint64     `json:"revision"`
	// Reason is "unknown_namespace" when the namespace is not the org's
	// (items is then empty). Absent otherwise.
	Reason string `json:"reason,omitempty" openapi:"reason"`
}

// GrantOut is one effective permission pattern.
type GrantOut struct {
	Permission string   `json:"permission"`
	Conditions []string `json:"conditions,omitempty"` // any one must hold; none: unconditional
}
