package api

import "time"

// ResourceRef names a resource: its namespace, type and id.
type ResourceRef struct {
	Namespace string `json:"namespace"`
	Type      string `json:"type"`
	ID        string `json:"id"`
}

// Scope is where a binding applies: the whole org (zero), a namespace,
// or one resource (Namespace, Type and ID).
type Scope struct {
	Namespace string `json:"namespace,omitempty"`
	Type      string `json:"type,omitempty"`
	ID        string `json:"id,omitempty"`
}

// BindingCore is a binding as the engine sees it: a role (or, on one
// resource, an action list) granted to a principal at a scope.
type BindingCore struct {
	ID        string   `json:"id"`                  // unique within the org
	Principal string   `json:"principal"`           // "user:alice", "team:support", "agent:Triage", "service:ci", or "role:operator" (resource scope only)
	Role      string   `json:"role,omitempty"`      // empty iff Actions is set
	Actions   []string `json:"actions,omitempty"`   // sharing: actions on Scope.Type; "*" allowed
	Scope     Scope    `json:"scope"`               // where it applies
	Condition string   `json:"condition,omitempty"` // optional named condition that must hold
	// ExpiresAt, when set, is when the binding stops granting anything.
	ExpiresAt time.Time `json:"expires_at,omitzero"`
}

// ResourceCore is a resource as the engine sees it.
type ResourceCore struct {
	Namespace  string            `json:"namespace"`
	Type       string            `json:"type"`
	ID         string            `json:"id"`
	Labels     map[string]string `json:"labels,omitempty"`
	Attributes map[string]any    `json:"attributes,omitempty"`
}

// Subject is a principal that may do something, with the teams (and the
// roles, "role:operator", for a share made to a role it holds) that the
// grant came through.
type Subject struct {
	Principal string   `json:"principal"`
	Via       []string `json:"via,omitempty"`
	// ApprovalRequired: an `ask before` rule applies to this principal
	// (DESIGN §1.1 item 8): it may act only with an approval.
	ApprovalRequired bool `json:"approval_required,omitempty"`
	// Conditions (only with include_conditional): the principal is allowed
	// only when these conditions, false now, hold ("agent:Triage — when
	// business_hours").
	Conditions []string `json:"conditions,omitempty"`
}

// String renders "org", "ns/<namespace>" or "<namespace>/<type>/<id>".
func (s Scope) String() string {
	switch {
	case s == Scope{}:
		return "org"
	case s.ID != "":
		return s.Namespace + "/" + s.Type + "/" + s.ID
	default:
		return "ns/" + s.Namespace
	}
}
