package server

import (
	"github.com/gatehouse-dev/gatehouse/api"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/policy"
	"github.com/gatehouse-dev/gatehouse/policy/token"
)

// Wire shapes shared by every route, so that a typed client needs one
// generic type per shape:
//
//   - a read answers the object itself;
//   - a list answers List[T]: {"items": [...], "next_cursor": "..."}
//     ("" on the last page; pass it back as ?cursor=);
//   - a write answers Written[T]: {"revision": N, "item": {...}}, or
//     Revision {"revision": N} when nothing is returned (deletes);
//   - an error answers a Problem (application/problem+json).

func listOf[T any](items []T, next string) List[T] {
	if items == nil {
		items = []T{}
	}
	return List[T]{Items: items, NextCursor: next}
}

// CheckRequest asks: may principal do action on resource in namespace?
type CheckRequest struct {
	// Principal defaults to the caller. Asking about another principal
	// needs bindings:read in the namespace.
	Principal string `json:"principal,omitempty"`
	// Action is the permission asked about: "<type>:<action>", e.g.
	// "chains:run". Wildcards are not allowed.
	Action string `json:"action"`
	// Resource is "<type>/<id>" (the type must be the action's), or empty
	// to ask about the type in the namespace (e.g. "chains:create").
	Resource string `json:"resource,omitempty"`
	// Namespace defaults to "default".
	Namespace   string         `json:"namespace,omitempty"`
	Context     map[string]any `json:"context,omitempty"`
	OnBehalfOf  string         `json:"on_behalf_of,omitempty"`
	Consistency *Consistency   `json:"consistency,omitempty"`
}

// CheckResponse is a decision.
type CheckResponse struct {
	Allowed     bool      `json:"allowed"`
	Revision    uint64    `json:"revision"`
	Obligations []RuleOut `json:"obligations,omitempty"`
	Advice      []RuleOut `json:"advice,omitempty"`
	// Reason says why a deny is a deny (one of authz.Reasons(); see
	// docs/api.md); absent when allowed.
	Reason authz.Reason `json:"reason,omitempty"`
}

// RuleOut is an agent's obligation (must) or advice (should).
type RuleOut struct {
	Kind      string `json:"kind"` // "must" or "should"
	Text      string `json:"text"` // as written, without its condition
	Action    string `json:"action,omitempty"`
	Resource  string `json:"resource,omitempty"`
	Condition string `json:"condition,omitempty"`
}

func rulesOut(rs []*policy.Rule) []RuleOut {
	if len(rs) == 0 {
		return nil
	}
	out := make([]RuleOut, 0, len(rs))
	for _, r := range rs {
		out = append(out, RuleOut{Kind: r.Kind.String(), Text: r.Text(), Action: r.Action, Resource: r.Resource, Condition: r.Condition})
	}
	return out
}

// BatchCheckRequest holds up to MaxBatch checks, answered independently.
type BatchCheckRequest struct {
	Checks      []BatchItem  `json:"checks"`
	Consistency *Consistency `json:"consistency,omitempty"`
}

// BatchItem is one check of a batch (CheckRequest without consistency).
type BatchItem struct {
	Principal  string         `json:"principal,omitempty"`
	Action     string         `json:"action"`
	Resource   string         `json:"resource,omitempty"`
	Namespace  string         `json:"namespace,omitempty"`
	Context    map[string]any `json:"context,omitempty"`
	OnBehalfOf string         `json:"on_behalf_of,omitempty"`
}

// MaxBatch is the largest batch /checks takes.
const MaxBatch = 1000

// BatchCheckResponse answers each check in order: a decision, or the
// problem that item had (the others are unaffected).
type BatchCheckResponse struct {
	Results  []BatchResult `json:"results"`
	Revision uint64        `json:"revision"`
}

// BatchResult is one answer of a batch: Error is set iff the item could
// not be decided (then Allowed is false).
type BatchResult struct {
	Allowed     bool         `json:"allowed"`
	Obligations []RuleOut    `json:"obligations,omitempty"`
	Advice      []RuleOut    `json:"advice,omitempty"`
	Reason      authz.Reason `json:"reason,omitempty"` // as CheckResponse.Reason
	Error       *Problem     `json:"error,omitempty"`
}

// ExplainResponse is a decision with the reasons.
type ExplainResponse struct {
	Allowed     bool         `json:"allowed"`
	Revision    uint64       `json:"revision"`
	Reason      authz.Reason `json:"reason,omitempty"` // as CheckResponse.Reason
	Summary     string       `json:"summary"`
	Grants      []TraceOut   `json:"grants"`
	Near        []TraceOut   `json:"near"`
	Obligations []RuleOut    `json:"obligations,omitempty"`
	Advice      []RuleOut    `json:"advice,omitempty"`
}

// TraceOut is one step of an explanation.
type TraceOut struct {
	Binding        authz.Binding `json:"binding"`
	Via            string        `json:"via,omitempty"`
	Role           string        `json:"role,omitempty"`
	Pattern        string        `json:"pattern,omitempty"`
	Condition      string        `json:"condition,omitempty"`
	ConditionHeld  bool          `json:"condition_held,omitempty"`
	ConditionError string        `json:"condition_error,omitempty"`
	Note           string        `json:"note,omitempty"`
}

func tracesOut(ts []authz.Trace) []TraceOut {
	out := make([]TraceOut, 0, len(ts))
	for _, t := range ts {
		pat := ""
		if t.Pattern != (policy.Permission{}) {
			pat = t.Pattern.String()
		}
		out = append(out, TraceOut{Binding: t.Binding, Via: t.Via, Role: t.Role, Pattern: pat, Condition: t.Condition,
			ConditionHeld: t.ConditionHeld, ConditionError: t.ConditionErr, Note: t.Note})
	}
	return out
}

// LookupResourcesRequest asks which resources principal may do action on.
type LookupResourcesRequest struct {
	Principal string `json:"principal,omitempty"` // default: the caller
	Action    string `json:"action"`              // "chains:run"
	// Namespace limits the lookup; empty means every namespace (asking
	// about another principal then needs bindings:read at org scope).
	Namespace   string         `json:"namespace,omitempty"`
	Context     map[string]any `json:"context,omitempty"`
	OnBehalfOf  string         `json:"on_behalf_of,omitempty"`
	PageSize    int            `json:"page_size,omitempty"` // default 100, at most 10,000
	Cursor      string         `json:"cursor,omitempty"`
	Consistency *Consistency   `json:"consistency,omitempty"`
}

// LookupResourcesResponse is one page of resources, in (namespace, type,
// id) order.
type LookupResourcesResponse struct {
	Items      []authz.ResourceRef `json:"items"`
	NextCursor string              `json:"next_cursor"`
	Revision   uint64              `json:"revision"`
}

// LookupSubjectsRequest asks who may do action on resource.
type LookupSubjectsRequest struct {
	Action      string         `json:"action"`             // "chains:run"
	Resource    string         `json:"resource,omitempty"` // "chains/x"; empty: the type in the namespace
	Namespace   string         `json:"namespace,omitempty"`
	Context     map[string]any `json:"context,omitempty"`
	Consistency *Consistency   `json:"consistency,omitempty"`
}

// LookupSubjectsResponse lists principals (teams expanded, with the teams
// they got there through).
type LookupSubjectsResponse struct {
	Items    []authz.Subject `json:"items"`
	Revision uint64          `json:"revision"`
}

// PermissionsResponse lists what a principal holds in a namespace.
type PermissionsResponse struct {
	Principal string     `json:"principal"`
	Namespace string     `json:"namespace"`
	Items     []GrantOut `json:"items"`
	Revision  uint64     `json:"revision"`
}

// GrantOut is one effective permission pattern.
type GrantOut struct {
	Permission string   `json:"permission"`           // "chains:run", "chains:*"
	Conditions []string `json:"conditions,omitempty"` // any one must hold; none: unconditional
}

func grantsOut(gs []authz.Grant) []GrantOut {
	out := make([]GrantOut, 0, len(gs))
	for _, g := range gs {
		out = append(out, GrantOut{Permission: g.Permission.String(), Conditions: g.Conditions})
	}
	return out
}

// --- administrative request bodies that are not directory types

// ValidateResponse is the outcome of compiling and linting a policy.
type ValidateResponse struct {
	Valid       bool               `json:"valid"` // no errors (warnings allowed)
	Diagnostics []token.Diagnostic `json:"diagnostics"`
}

// Wire types of package api under the names the server uses.
type (
	List[T any]      = api.List[T]
	Written[T any]   = api.Written[T]
	Revision         = api.Revision
	Consistency      = api.Consistency
	RenameRequest    = api.RenameRequest
	NamespaceRequest = api.NamespaceRequest
	MemberRequest    = api.MemberRequest
	RoleRequest      = api.RoleRequest
	PrincipalRequest = api.PrincipalRequest
	RoleBody         = api.RoleBody
	ShareRequest     = api.ShareRequest
	ServicePatch     = api.ServicePatch
	PolicyRequest    = api.PolicyRequest
	ValidateRequest  = api.ValidateRequest
	AgentPatch       = api.AgentPatch
	ResourcePatch    = api.ResourcePatch
	TeamRequest      = api.TeamRequest
)
