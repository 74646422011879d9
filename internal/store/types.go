package store

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/policy"
)

// Page asks for one page of a list. The zero value asks for the first page
// of DefaultPageSize rows.
type Page struct {
	// Size is the maximum number of rows; 0 means DefaultPageSize. A
	// negative size or one above MaxPageSize is ErrInvalid.
	Size int
	// Cursor is "" for the first page, else the next cursor returned by the
	// previous page of the same list in the same org. A cursor is opaque;
	// one that was not produced by that list is ErrInvalid.
	Cursor string
}

// Page size limits.
const (
	DefaultPageSize = 100
	MaxPageSize     = 1000
)

// Changelog read limits.
const (
	DefaultChangesLimit = 1000
	MaxChangesLimit     = 10000
)

// The rows' json tags are a storage format, not the API: the changelog
// records rows as JSON payloads (sqlcore's txn.record, read back by
// followers) and the audit log keeps them as before/after objects. The
// server never serves a row; it maps rows to package api's types. Changing
// a tag changes stored data.

// Org is a tenant.
type Org struct {
	ID        string    `json:"id"` // slug; the org key everywhere else
	Name      string    `json:"name"`
	Template  string    `json:"template,omitempty"` // the template it was created from
	CreatedAt time.Time `json:"created_at"`
	// Lifecycle is the org's suspension rules for agents (whole seconds;
	// zero: off). Changed only by SetOrgLifecycle.
	Lifecycle authz.LifecycleSettings `json:"lifecycle,omitzero"`
	// Approvals is the org's approval lifetimes (whole seconds; zero: the
	// server's default). Changed only by SetOrgApprovalSettings.
	Approvals ApprovalSettings `json:"approval_lifetimes,omitzero"`
}

// ApprovalSettings is how long an org's approvals live (DESIGN §1.1 item
// 8). A zero field means the server's default.
type ApprovalSettings struct {
	// PendingTTL: a pending approval expires this long after it is asked for.
	PendingTTL time.Duration `json:"pending_ttl,omitempty"`
	// UseWindow: a granted approval must be used within this long.
	UseWindow time.Duration `json:"use_window,omitempty"`
}

// Namespace is a partition of an org. "default" exists in every org.
type Namespace struct {
	Org       string    `json:"org"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
}

// User is a person, global to the deployment; orgs see users through
// memberships.
type User struct {
	ID          string    `json:"id"`
	Email       string    `json:"email,omitempty"` // lower-cased; unique when set
	DisplayName string    `json:"display_name,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
}

// Member is the fact that a user belongs to an org. The user's org role is
// a binding, not a field here.
type Member struct {
	Org        string         `json:"org"`
	UserID     string         `json:"user_id"`
	Attributes map[string]any `json:"attributes,omitempty"`
	CreatedAt  time.Time      `json:"created_at"`
}

// PrincipalID is "user:<id>".
func (m Member) PrincipalID() string { return authz.KindUser + ":" + m.UserID }

// Principal is the member as the engine sees it.
func (m Member) Principal() authz.Principal {
	return authz.Principal{ID: m.PrincipalID(), Attributes: m.Attributes}
}

// Agent is an AI agent identity of an org.
type Agent struct {
	Org        string         `json:"org"`
	Name       string         `json:"name"`
	Role       string         `json:"role"`              // ceiling role
	Sponsor    string         `json:"sponsor,omitempty"` // user id of the first sponsoring user (legacy; see Sponsors)
	ExpiresAt  time.Time      `json:"expires_at,omitzero"`
	Attributes map[string]any `json:"attributes,omitempty"`
	CreatedAt  time.Time      `json:"created_at"`
	// Sponsors are "user:<id>" members and "team:<slug>" teams answerable
	// for the agent, sorted. A write that gives only Sponsor means
	// ["user:<Sponsor>"]; the store keeps Sponsor the first user's id.
	// Leaving the org or deleting the team removes a sponsor.
	Sponsors []string `json:"sponsors,omitempty"`
	// Suspended is a suspension by hand.
	Suspended bool `json:"suspended,omitempty"`
	// AttestedAt and LastUsedAt: the last attestation and recorded use
	// (zero: none since the creation).
	AttestedAt time.Time `json:"attested_at,omitzero"`
	LastUsedAt time.Time `json:"last_used_at,omitzero"`
}

// PrincipalID is "agent:<name>".
func (a Agent) PrincipalID() string { return authz.KindAgent + ":" + a.Name }

// Principal is the agent as the engine sees it.
func (a Agent) Principal() authz.Principal {
	return authz.Principal{ID: a.PrincipalID(), Attributes: a.Attributes, Role: a.Role, ExpiresAt: a.ExpiresAt, Lifecycle: a.Lifecycle()}
}

// Lifecycle is what decides the agent's suspension (authz/lifecycle.go):
// it always needs a sponsor; the creation counts as an attestation and a
// use.
func (a Agent) Lifecycle() *authz.Lifecycle {
	l := &authz.Lifecycle{Sponsors: a.Sponsors, RequireSponsor: true, Suspended: a.Suspended, AttestedAt: a.AttestedAt, LastUsedAt: a.LastUsedAt}
	if len(l.Sponsors) == 0 && a.Sponsor != "" {
		l.Sponsors = []string{authz.KindUser + ":" + a.Sponsor}
	}
	if l.AttestedAt.Before(a.CreatedAt) {
		l.AttestedAt = a.CreatedAt
	}
	if l.LastUsedAt.Before(a.CreatedAt) {
		l.LastUsedAt = a.CreatedAt
	}
	return l
}

// Service is a runtime or CI account of an org.
type Service struct {
	Org        string         `json:"org"`
	Name       string         `json:"name"`
	Attributes map[string]any `json:"attributes,omitempty"`
	CreatedAt  time.Time      `json:"created_at"`
	// Suspended is a suspension by hand.
	Suspended bool `json:"suspended,omitempty"`
	// Sponsors are "user:<id>" members and "team:<slug>" teams answerable
	// for the service, sorted; none by default (a service, unlike an
	// agent, needs no sponsor). Leaving the org or deleting the team
	// removes a sponsor.
	Sponsors []string `json:"sponsors,omitempty"`
	// RequireSponsor is set while an admin has assigned sponsors: when the
	// last one is gone the service is sponsor_gone, until an admin assigns
	// new ones (or clears them, which clears this).
	RequireSponsor bool `json:"require_sponsor,omitempty"`
	// Lifecycle: the service opted in to the org's inactivity and
	// attestation rules (authz.Lifecycle.NoOrgRules is its negation).
	Lifecycle bool `json:"lifecycle,omitempty"`
	// AttestedAt and LastUsedAt: the last attestation and recorded use
	// (zero: none since the creation).
	AttestedAt time.Time `json:"attested_at,omitzero"`
	LastUsedAt time.Time `json:"last_used_at,omitzero"`
}

// PrincipalID is "service:<name>".
func (s Service) PrincipalID() string { return authz.KindService + ":" + s.Name }

// Principal is the service as the engine sees it: with a Lifecycle only
// when something can suspend it — by hand, sponsors, or the org's rules it
// opted in to — so that a plain service costs a check nothing.
func (s Service) Principal() authz.Principal {
	return authz.Principal{ID: s.PrincipalID(), Attributes: s.Attributes, Lifecycle: s.LifecycleOf()}
}

// LifecycleOf is what decides the service's suspension (nil: nothing
// can). The creation counts as an attestation and a use.
func (s Service) LifecycleOf() *authz.Lifecycle {
	if !s.Suspended && !s.RequireSponsor && !s.Lifecycle {
		return nil
	}
	l := &authz.Lifecycle{Sponsors: s.Sponsors, RequireSponsor: s.RequireSponsor, Suspended: s.Suspended,
		AttestedAt: s.AttestedAt, LastUsedAt: s.LastUsedAt, NoOrgRules: !s.Lifecycle}
	if l.AttestedAt.Before(s.CreatedAt) {
		l.AttestedAt = s.CreatedAt
	}
	if l.LastUsedAt.Before(s.CreatedAt) {
		l.LastUsedAt = s.CreatedAt
	}
	return l
}

// Team is a set of principals of an org.
type Team struct {
	Org  string `json:"org"`
	Slug string `json:"slug"`
	Name string `json:"name,omitempty"`
	// Members are principal ids ("user:alice", "agent:Triage",
	// "service:ci"), sorted. Filled by GetTeam, in team.put changelog
	// payloads and by CreateTeam's input; empty in ListTeams.
	Members   []string  `json:"members"`
	CreatedAt time.Time `json:"created_at"`
}

// PrincipalID is "team:<slug>".
func (t Team) PrincipalID() string { return authz.KindTeam + ":" + t.Slug }

// Binding is an authz.Binding of an org with its provenance.
type Binding struct {
	authz.Binding
	Org       string    `json:"org"`
	CreatedBy string    `json:"created_by,omitempty"` // principal id of the author
	CreatedAt time.Time `json:"created_at"`
}

// Resource is a resource of an org with its current spec.
type Resource struct {
	authz.Resource
	Org string `json:"org"`
	// Spec is the current spec (JSON); nil when the resource has none. List
	// methods leave it nil.
	Spec      json.RawMessage `json:"spec,omitempty"`
	Version   uint64          `json:"version"`    // current version, from 1
	UpdatedBy string          `json:"updated_by"` // author of the current version
	CreatedAt time.Time       `json:"created_at"`
	UpdatedAt time.Time       `json:"updated_at"`
}

// Ref is the resource's identity.
func (r Resource) Ref() authz.ResourceRef {
	return authz.ResourceRef{Namespace: r.Namespace, Type: r.Type, ID: r.ID}
}

// RefKey renders a resource ref as "<namespace>/<type>/<id>", the changelog
// key of resources.
func RefKey(r authz.ResourceRef) string { return r.Namespace + "/" + r.Type + "/" + r.ID }

// ResourceUpdate changes a resource and records a new version. Nil fields
// keep their current value.
type ResourceUpdate struct {
	Org        string
	Ref        authz.ResourceRef
	Labels     *map[string]string
	Attributes *map[string]any
	Spec       json.RawMessage // nil keeps the spec; JSON null clears it
	Author     string
	// IfVersion, when not 0, makes the update fail with ErrConflict unless
	// the current version is IfVersion (optimistic concurrency).
	IfVersion uint64
}

// ResourceVersion is one recorded version of a resource: the state after
// the create or update that made it.
type ResourceVersion struct {
	Org        string            `json:"org"`
	Ref        authz.ResourceRef `json:"ref"`
	Version    uint64            `json:"version"`
	Spec       json.RawMessage   `json:"spec,omitempty"` // nil in ListResourceVersions
	Labels     map[string]string `json:"labels,omitempty"`
	Attributes map[string]any    `json:"attributes,omitempty"`
	Author     string            `json:"author"`
	CreatedAt  time.Time         `json:"created_at"`
}

// Policy is one version of an org's policy text.
type Policy struct {
	Org       string    `json:"org"`
	Version   uint64    `json:"version"` // from 1
	Text      string    `json:"text"`
	Author    string    `json:"author"`
	CreatedAt time.Time `json:"created_at"`
}

// BindingFilter narrows ListBindings; zero fields match everything.
type BindingFilter struct {
	Principal string // exact principal id
	Role      string // exact role
	// Namespace matches namespace- and resource-scoped bindings in it.
	Namespace string
	// Scope, when set, matches bindings at exactly this scope (the org
	// scope is the zero Scope, so OrgScopeOnly selects it).
	Scope        *authz.Scope
	OrgScopeOnly bool
}

// ResourceFilter narrows ListResources; zero fields match everything.
type ResourceFilter struct {
	Namespace string
	Type      string
}

// DeleteOptions modify a delete.
type DeleteOptions struct {
	// Cascade deletes what depends on the thing (a namespace's resources,
	// their versions and every binding scoped inside it) instead of
	// refusing with ErrRefused.
	Cascade bool
}

// OrgSnapshot is everything the engine needs about one org, read in one
// read transaction: it is the org exactly as of Revision.
type OrgSnapshot struct {
	Revision   uint64
	Org        Org
	Policy     Policy   // Version 0 when the org has no policy yet
	Namespaces []string // sorted; includes "default"
	Principals []authz.Principal
	Teams      []authz.Team
	Bindings   []authz.Binding
	Resources  []authz.Resource
}

// OrgHeader is the first row of Store.StreamOrg: the org as of Revision
// and how many of each kind of row follow it.
type OrgHeader struct {
	Revision   uint64
	Org        Org
	Policy     Policy   // Version 0 when the org has no policy yet
	Namespaces []string // sorted; includes "default"
	Principals int
	Teams      int
	Bindings   int
	Resources  int
}

// OrgRow is one element of Store.StreamOrg: exactly one field is set.
type OrgRow struct {
	Header    *OrgHeader
	Principal *authz.Principal
	Team      *authz.Team
	Binding   *authz.Binding
	Resource  *authz.Resource
}

// OrgData returns the engine's view of the snapshot with the compiled
// policy m (the store does not compile policies).
func (s *OrgSnapshot) OrgData(m *policy.Model) authz.OrgData {
	return authz.OrgData{
		Org:        s.Org.ID,
		Policy:     m,
		Namespaces: s.Namespaces,
		Principals: s.Principals,
		Teams:      s.Teams,
		Bindings:   s.Bindings,
		Resources:  s.Resources,
		Lifecycle:  s.Org.Lifecycle,
	}
}

// Kind names what a changelog entry changed and how.
type Kind string

// Changelog kinds. The payload of each is the JSON of the type named.
const (
	KindOrgPut          Kind = "org.put"          // Org
	KindOrgDelete       Kind = "org.delete"       // Org (as it was); everything of the org is gone
	KindNamespacePut    Kind = "namespace.put"    // Namespace
	KindNamespaceDelete Kind = "namespace.delete" // Namespace
	KindUserPut         Kind = "user.put"         // User (Change.Org is "")
	KindUserDelete      Kind = "user.delete"      // User (Change.Org is "")
	KindMemberPut       Kind = "member.put"       // Member
	KindMemberDelete    Kind = "member.delete"    // Member
	KindAgentPut        Kind = "agent.put"        // Agent
	KindAgentDelete     Kind = "agent.delete"     // Agent
	KindServicePut      Kind = "service.put"      // Service
	KindServiceDelete   Kind = "service.delete"   // Service
	KindTeamPut         Kind = "team.put"         // Team, with its full member list
	KindTeamDelete      Kind = "team.delete"      // Team
	KindBindingPut      Kind = "binding.put"      // Binding
	KindBindingDelete   Kind = "binding.delete"   // Binding (as it was)
	KindResourcePut     Kind = "resource.put"     // Resource, with spec
	KindResourceDelete  Kind = "resource.delete"  // Resource (as it was, without spec)
	KindPolicyPut       Kind = "policy.put"       // Policy
)

// Change is one changelog entry. One write transaction commits one revision
// with one or more entries, numbered by Seq from 0 in the order they were
// made.
type Change struct {
	Revision  uint64          `json:"revision"`
	Seq       int             `json:"seq"`
	Org       string          `json:"org"`  // "" for deployment-wide kinds (users)
	Kind      Kind            `json:"kind"` // what changed
	Key       string          `json:"key"`  // the changed thing's key within the org
	Payload   json.RawMessage `json:"payload"`
	CreatedAt time.Time       `json:"created_at"`
}

// Decode decodes the payload into the type its kind names (Org, Member,
// Binding, ...), returned by value. An unknown kind or malformed payload is
// ErrInvalid.
func (c Change) Decode() (any, error) {
	var v any
	switch c.Kind {
	case KindOrgPut, KindOrgDelete:
		v = &Org{}
	case KindNamespacePut, KindNamespaceDelete:
		v = &Namespace{}
	case KindUserPut, KindUserDelete:
		v = &User{}
	case KindMemberPut, KindMemberDelete:
		v = &Member{}
	case KindAgentPut, KindAgentDelete:
		v = &Agent{}
	case KindServicePut, KindServiceDelete:
		v = &Service{}
	case KindTeamPut, KindTeamDelete:
		v = &Team{}
	case KindBindingPut, KindBindingDelete:
		v = &Binding{}
	case KindResourcePut, KindResourceDelete:
		v = &Resource{}
	case KindPolicyPut:
		v = &Policy{}
	case KindAPIKeyPut:
		v = &APIKey{}
	case KindInvitationPut:
		v = &Invitation{}
	case KindAgentTokenPut:
		v = &AgentToken{}
	case KindSecretPut, KindSecretDelete:
		v = &Secret{}
	case KindAuditSettingsPut:
		v = &AuditSettingsChange{}
	default:
		return nil, Errorf(ErrInvalid, "decode change", fmt.Sprintf("unknown kind %q", c.Kind), nil)
	}
	if err := json.Unmarshal(c.Payload, v); err != nil {
		return nil, Errorf(ErrInvalid, "decode change", fmt.Sprintf("payload of %s at revision %d", c.Kind, c.Revision), err)
	}
	switch x := v.(type) {
	case *Org:
		return *x, nil
	case *Namespace:
		return *x, nil
	case *User:
		return *x, nil
	case *Member:
		return *x, nil
	case *Agent:
		return *x, nil
	case *Service:
		return *x, nil
	case *Team:
		return *x, nil
	case *Binding:
		return *x, nil
	case *Resource:
		return *x, nil
	case *APIKey:
		return *x, nil
	case *Invitation:
		return *x, nil
	case *AgentToken:
		return *x, nil
	case *Secret:
		return *x, nil
	case *AuditSettingsChange:
		return *x, nil
	default:
		return *(v.(*Policy)), nil
	}
}

// BatchFacts names the rows a batch of changes in one org will check, so
// that a store transaction can read them up front in a few statements
// (sqlcore's Prefetch, through an optional interface of the directory);
// reading them changes no answer.
type BatchFacts struct {
	UserIDs   []string            // users whose existence the batch checks
	NewUsers  []User              // users it creates: their emails must be free
	Members   []string            // user ids whose membership in the org it checks
	Bindings  []BindingAt         // principals' bindings at a scope (the duplicate check)
	Resources []authz.ResourceRef // resources it checks exist
}

// PrefetchedFacts is a batch's facts read before its write transaction
// (sqlcore's PrefetchOutside), at a revision; a write transaction takes
// them only if it starts from that revision (sqlcore's InstallPrefetched).
type PrefetchedFacts interface {
	Revision() uint64
}

// BindingAt is a principal at one exact scope.
type BindingAt struct {
	Principal string
	Scope     authz.Scope
}
