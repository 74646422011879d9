package api

import (
	"fmt"
)

// ProblemBase prefixes the server's problem type URIs.
const ProblemBase = "https://gatehouse.dev/problems/"

// Problem types: the RFC 9457 "type" member of each problem, without
// ProblemBase. Clients branch on these, never on title or detail.
const (
	ProblemUnauthenticated = "unauthenticated" // 401
	ProblemForbidden       = "forbidden"       // 403, missing_permission
	ProblemEscalation      = "escalation"      // 403, reason and what is missing
	// ProblemOutranksMinter: a credential minted for another principal (a
	// service's API key, an agent token) whose principal now outranks the
	// member that minted it, or whose minter can no longer act in the org:
	// revoke it and have someone who outranks the principal mint another.
	ProblemOutranksMinter   = "credential-outranks-minter" // 403, scope
	ProblemNotFound         = "not-found"                  // 404
	ProblemMethodNotAllowed = "method-not-allowed"         // 405
	ProblemConflict         = "conflict"                   // 409
	ProblemLastOwner        = "last-owner"                 // 409
	ProblemGone             = "gone"                       // 410
	ProblemInvalid          = "invalid-request"            // 400, field
	ProblemTooLarge         = "payload-too-large"          // 413
	ProblemMediaType        = "unsupported-media-type"     // 415
	ProblemInvalidPolicy    = "invalid-policy"             // 422, errors
	ProblemRateLimited      = "rate-limited"               // 429
	ProblemInternal         = "internal"                   // 500
	ProblemNotCaughtUp      = "not-caught-up"              // 503, Retry-After
	ProblemUnavailable      = "unavailable"                // 503, Retry-After
)

// Problem is an error answer: an RFC 9457 problem document
// (application/problem+json) with Gatehouse's extension members.
type Problem struct {
	Type      string `json:"type"`
	Title     string `json:"title"`
	Status    int    `json:"status"`
	Detail    string `json:"detail,omitempty"`
	Instance  string `json:"instance,omitempty"`
	RequestID string `json:"request_id,omitempty"`

	// Field names the offending request field (400).
	Field string `json:"field,omitempty"`
	// MissingPermission is the permission the caller lacks (403), with the
	// scope it was needed at.
	MissingPermission string `json:"missing_permission,omitempty"`
	Scope             string `json:"scope,omitempty"`
	// Escalation details (403 escalation): the rule that refused, the role
	// handed out, the permissions the caller lacks, the protected target.
	Reason             string   `json:"reason,omitempty"`
	Role               string   `json:"role,omitempty"`
	MissingPermissions []string `json:"missing_permissions,omitempty"`
	Target             string   `json:"target,omitempty"`
	// Errors are a policy's positioned diagnostics (422).
	Errors []Diagnostic `json:"errors,omitempty"`
	// RetryAfter is the Retry-After header in seconds (429, 503).
	RetryAfter int `json:"retry_after,omitempty"`
}

// Diagnostic is one positioned policy finding (policy/token.Diagnostic on
// the wire).
type Diagnostic struct {
	Pos      Pos    `json:"pos"`
	Severity string `json:"severity"` // "error" or "warning"
	Code     string `json:"code"`
	Message  string `json:"message"`
	Hint     string `json:"hint,omitempty"`
}

// Pos is a position in a policy text.
type Pos struct {
	File   string `json:"file,omitempty"`
	Offset int    `json:"offset"`
	Line   int    `json:"line"`
	Col    int    `json:"col"`
}

// String renders "file:line:col: severity: message (hint)", as the
// gatehouse CLI prints diagnostics.
func (d Diagnostic) String() string {
	pos := d.Pos.File
	if d.Pos.Line > 0 {
		if pos != "" {
			pos += ":"
		}
		pos += fmt.Sprintf("%d:%d", d.Pos.Line, d.Pos.Col)
	}
	if pos == "" {
		pos = "-"
	}
	s := pos + ": " + d.Severity + ": " + d.Message
	if d.Hint != "" {
		s += " (" + d.Hint + ")"
	}
	return s
}
