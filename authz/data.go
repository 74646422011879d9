package authz

import (
	"time"

	"github.com/gatehouse-dev/gatehouse/policy"
)

// Principal kinds, the part before ':' in a principal id.
const (
	KindUser    = "user"
	KindTeam    = "team"
	KindAgent   = "agent"
	KindService = "service"
	// KindRole is not a principal: "role:<name>" is the subject of a share
	// (a resource-scoped binding) made to every principal that holds the
	// role in the resource's scope — a binding of the role, or of a role
	// inheriting it, at org scope or in the resource's namespace, held
	// directly or through a team, whose condition holds.
	KindRole = "role"
)

// DefaultNamespace exists in every org.
const DefaultNamespace = "default"

// Scope is where a binding applies: the whole org (zero value), one
// namespace (Namespace set), or one resource (Namespace, Type and ID set).
type Scope struct {
	Namespace string `json:"namespace,omitempty"`
	Type      string `json:"type,omitempty"`
	ID        string `json:"id,omitempty"`
}

// IsOrg reports whether the scope is the whole org.
func (s Scope) IsOrg() bool { return s == Scope{} }

// IsResource reports whether the scope is a single resource.
func (s Scope) IsResource() bool { return s.ID != "" }

// String renders "org", "ns/<namespace>" or "<namespace>/<type>/<id>".
func (s Scope) String() string {
	switch {
	case s.IsOrg():
		return "org"
	case s.IsResource():
		return s.Namespace + "/" + s.Type + "/" + s.ID
	default:
		return "ns/" + s.Namespace
	}
}

// Binding grants a principal a role, or (resource scope only) a list of
// actions on the resource's type, at a scope.
type Binding struct {
	ID        string   `json:"id"`                  // unique within the org
	Principal string   `json:"principal"`           // "user:alice", "team:support", "agent:Triage", "service:ci", or "role:operator" (resource scope only)
	Role      string   `json:"role,omitempty"`      // empty iff Actions is set
	Actions   []string `json:"actions,omitempty"`   // sharing: actions on Scope.Type; "*" allowed
	Scope     Scope    `json:"scope"`               // where it applies
	Condition string   `json:"condition,omitempty"` // optional named condition that must hold
	// ExpiresAt, when set, is when the binding stops granting anything
	// (expiry.go); it is ignored from that instant on.
	ExpiresAt time.Time `json:"expires_at,omitzero"`
}

// Principal is a member of an org that can act: a user, agent or service.
// Teams are not principals that act; they are listed in OrgData.Teams.
type Principal struct {
	ID         string         `json:"id"` // "user:alice", "agent:Triage", "service:ci"
	Attributes map[string]any `json:"attributes,omitempty"`
	// Role is the ceiling role of an agent that the policy does not
	// declare; an agent declared in the policy uses the policy's role and
	// this field is ignored. Unused for users and services.
	Role string `json:"role,omitempty"`
	// ExpiresAt, when set, is when the principal stops being able to do
	// anything (agents with an expiry).
	ExpiresAt time.Time `json:"expires_at,omitzero"`
	// Lifecycle, when set, subjects the principal to sponsorship and
	// suspension (lifecycle.go): agents always, services on request.
	Lifecycle *Lifecycle `json:"lifecycle,omitempty"`
}

// Team is a set of principals (normally users) that bindings can name as
// "team:<slug>".
type Team struct {
	Slug    string   `json:"slug"`
	Members []string `json:"members"` // principal ids
}

// Resource is something acted on: <type>/<id> in one namespace. Its
// identity is (namespace, type, id).
type Resource struct {
	Namespace  string            `json:"namespace"`
	Type       string            `json:"type"`
	ID         string            `json:"id"`
	Labels     map[string]string `json:"labels,omitempty"`
	Attributes map[string]any    `json:"attributes,omitempty"`
}

// OrgData is everything the engine knows about one org.
type OrgData struct {
	Org        string
	Policy     *policy.Model
	Namespaces []string // "default" is implied
	Principals []Principal
	Teams      []Team
	Bindings   []Binding
	Resources  []Resource
	// Lifecycle is the org's suspension settings (lifecycle.go).
	Lifecycle LifecycleSettings
}
