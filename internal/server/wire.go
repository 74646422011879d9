package server

import (
	"github.com/gatehouse-dev/gatehouse/api"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/policy"
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

// MaxBatch is the largest batch /checks takes.
const MaxBatch = api.MaxBatch

func tracesOut(ts []authz.Trace) []TraceOut {
	out := make([]TraceOut, 0, len(ts))
	for _, t := range ts {
		pat := ""
		if t.Pattern != (policy.Permission{}) {
			pat = t.Pattern.String()
		}
		out = append(out, TraceOut{Binding: apiBindingCore(t.Binding), Via: t.Via, Role: t.Role, Pattern: pat, Condition: t.Condition,
			ConditionHeld: t.ConditionHeld, ConditionError: t.ConditionErr, Note: t.Note})
	}
	return out
}

func grantsOut(gs []authz.Grant) []GrantOut {
	out := make([]GrantOut, 0, len(gs))
	for _, g := range gs {
		out = append(out, GrantOut{Permission: g.Permission.String(), Conditions: g.Conditions})
	}
	return out
}

// --- administrative request bodies that are not directory types

// Wire types of package api under the names the server uses.
type (
	BatchCheckResponse      = api.BatchCheckResponse
	BatchResult             = api.BatchResult
	CheckRequest            = api.CheckRequest
	LookupResourcesRequest  = api.LookupResourcesRequest
	LookupSubjectsRequest   = api.LookupSubjectsRequest
	BatchCheckRequest       = api.BatchCheckRequest
	BatchItem               = api.BatchItem
	ValidateResponse        = api.ValidateResponse
	CheckResponse           = api.CheckResponse
	RuleOut                 = api.RuleOut
	ExplainResponse         = api.ExplainResponse
	TraceOut                = api.TraceOut
	LookupResourcesResponse = api.LookupResourcesResponse
	LookupSubjectsResponse  = api.LookupSubjectsResponse
	PermissionsResponse     = api.PermissionsResponse
	GrantOut                = api.GrantOut
	List[T any]             = api.List[T]
	Written[T any]          = api.Written[T]
	Revision                = api.Revision
	Consistency             = api.Consistency
	RenameRequest           = api.RenameRequest
	NamespaceRequest        = api.NamespaceRequest
	MemberRequest           = api.MemberRequest
	RoleRequest             = api.RoleRequest
	PrincipalRequest        = api.PrincipalRequest
	RoleBody                = api.RoleBody
	ShareRequest            = api.ShareRequest
	ServicePatch            = api.ServicePatch
	PolicyRequest           = api.PolicyRequest
	ValidateRequest         = api.ValidateRequest
	AgentPatch              = api.AgentPatch
	ResourcePatch           = api.ResourcePatch
	TeamRequest             = api.TeamRequest
)
