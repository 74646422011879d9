package api

import "encoding/json"

// ProvisionUserRequest is the body of POST /v1/users: a new user, made a
// member of Org with Role at org scope (needs members:create there and
// DESIGN §1.2 for the role). No credential is returned: the user signs in
// through whatever the deployment uses (SSO, or a key its operator mints).
type ProvisionUserRequest struct {
	Org         string `json:"org"`
	ID          string `json:"id"`
	Email       string `json:"email"`
	DisplayName string `json:"display_name,omitempty"`
	Role        string `json:"role"`
}

// Operations of a WriteChange.
const (
	WriteNamespaceCreate = "namespace.create"
	WriteResourceCreate  = "resource.create"
	WriteUserCreate      = "user.create"
	WriteMemberAdd       = "member.add"
	WriteBindingCreate   = "binding.create"
	WriteBindingDelete   = "binding.delete"
	WriteShareCreate     = "share.create"
)

// MaxWrites is the most changes one POST /v1/orgs/{org}/writes takes.
const MaxWrites = 1000

// WriteChange is one change of a batch; Op says which fields it reads:
//
//	namespace.create  namespace
//	resource.create   namespace, type, id, labels, attributes, spec
//	user.create       user, email, display_name, role (a new user, as POST /v1/users)
//	member.add        user, role (an existing user)
//	binding.create    principal, role, scope, condition, expires_at | expires_in
//	binding.delete    binding
//	share.create      namespace, type, id, principal, actions, expires_at | expires_in
type WriteChange struct {
	Op          string            `json:"op"`
	Namespace   string            `json:"namespace,omitempty"`
	Type        string            `json:"type,omitempty"`
	ID          string            `json:"id,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	Attributes  map[string]any    `json:"attributes,omitempty"`
	Spec        json.RawMessage   `json:"spec,omitempty"`
	User        string            `json:"user,omitempty"`
	Email       string            `json:"email,omitempty"`
	DisplayName string            `json:"display_name,omitempty"`
	Role        string            `json:"role,omitempty"`
	Principal   string            `json:"principal,omitempty"`
	Scope       Scope             `json:"scope,omitzero"`
	Condition   string            `json:"condition,omitempty"`
	Binding     string            `json:"binding,omitempty"`
	Actions     []string          `json:"actions,omitempty"`
	// Lifetime (binding.create, share.create) makes the grant expire, as
	// on POST .../bindings and .../shares.
	Lifetime
}

// WriteRequest is the body of POST /v1/orgs/{org}/writes: 1 to MaxWrites
// changes made in one transaction (all or none), under one revision.
type WriteRequest struct {
	Changes []WriteChange `json:"changes"`
}

// WriteResult answers a batch: its revision and, per change in order, the
// key of what it made (a binding's id, a user's id, "ns/type/id" of a
// resource, a namespace's name; the deleted binding's id).
type WriteResult struct {
	Revision uint64   `json:"revision"`
	Keys     []string `json:"keys"`
	// Warnings: what the batch's bindings and shares stop (as
	// BindingWritten's).
	Warnings []WriteWarning `json:"warnings,omitempty"`
}

// OrgResourceRef is a resource with the org it is in.
type OrgResourceRef struct {
	Org string `json:"org"`
	ResourceRef
}

// MeLookupResourcesResponse answers GET /v1/me/lookup/resources: the
// resources the caller may do the action on, in every org it is a member
// of (org by org, in org id order, then as a per-org lookup orders them).
type MeLookupResourcesResponse struct {
	Items      []OrgResourceRef `json:"items"`
	NextCursor string           `json:"next_cursor"`
	Revision   uint64           `json:"revision"`
	// Reason is "unknown_namespace" when ?namespace= names a namespace
	// that none of the caller's orgs has (items is then empty). Absent
	// otherwise.
	Reason string `json:"reason,omitempty" openapi:"reason"`
}
