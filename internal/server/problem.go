package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/auth"
	"github.com/gatehouse-dev/gatehouse/internal/directory"
	"github.com/gatehouse-dev/gatehouse/policy/token"
)

// ProblemBase prefixes every problem type URI. The types are stable: a
// client branches on them, never on title or detail text.
const ProblemBase = "https://gatehouse.dev/problems/"

// Problem types (RFC 9457 "type" members, without ProblemBase).
const (
	ProblemUnauthenticated  = "unauthenticated"        // 401
	ProblemForbidden        = "forbidden"              // 403, missing_permission
	ProblemEscalation       = "escalation"             // 403, reason and what is missing
	ProblemNotFound         = "not-found"              // 404
	ProblemMethodNotAllowed = "method-not-allowed"     // 405
	ProblemConflict         = "conflict"               // 409
	ProblemLastOwner        = "last-owner"             // 409
	ProblemGone             = "gone"                   // 410
	ProblemInvalid          = "invalid-request"        // 400, field
	ProblemTooLarge         = "payload-too-large"      // 413
	ProblemMediaType        = "unsupported-media-type" // 415
	ProblemInvalidPolicy    = "invalid-policy"         // 422, errors
	ProblemRateLimited      = "rate-limited"           // 429
	ProblemInternal         = "internal"               // 500
	ProblemNotCaughtUp      = "not-caught-up"          // 503, Retry-After
	ProblemUnavailable      = "unavailable"            // 503, Retry-After
)

// problemStatus is each type's HTTP status and title.
var problemStatus = map[string]struct {
	status int
	title  string
}{
	ProblemUnauthenticated:  {http.StatusUnauthorized, "Authentication required"},
	ProblemForbidden:        {http.StatusForbidden, "Permission denied"},
	ProblemEscalation:       {http.StatusForbidden, "Privilege escalation refused"},
	ProblemNotFound:         {http.StatusNotFound, "Not found"},
	ProblemMethodNotAllowed: {http.StatusMethodNotAllowed, "Method not allowed"},
	ProblemConflict:         {http.StatusConflict, "Conflict"},
	ProblemLastOwner:        {http.StatusConflict, "The org must keep an owner"},
	ProblemGone:             {http.StatusGone, "Gone"},
	ProblemInvalid:          {http.StatusBadRequest, "Invalid request"},
	ProblemTooLarge:         {http.StatusRequestEntityTooLarge, "Request body too large"},
	ProblemMediaType:        {http.StatusUnsupportedMediaType, "Unsupported media type"},
	ProblemInvalidPolicy:    {http.StatusUnprocessableEntity, "Policy does not compile"},
	ProblemRateLimited:      {http.StatusTooManyRequests, "Too many requests"},
	ProblemInternal:         {http.StatusInternalServerError, "Internal error"},
	ProblemNotCaughtUp:      {http.StatusServiceUnavailable, "Revision not reached"},
	ProblemUnavailable:      {http.StatusServiceUnavailable, "Service unavailable"},
}

// Problem is an RFC 9457 problem document with Gatehouse's extensions.
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
	Errors []token.Diagnostic `json:"errors,omitempty"`
	// RetryAfter is the Retry-After header in seconds (429, 503).
	RetryAfter int `json:"retry_after,omitempty"`

	// internal: the error behind a 500, for the log only.
	cause error
}

func (p *Problem) Error() string {
	return fmt.Sprintf("%d %s: %s", p.Status, p.Type, p.Detail)
}

// problem builds a Problem of kind (one of the Problem* constants).
func problem(kind, format string, args ...any) *Problem {
	st := problemStatus[kind]
	detail := format
	if len(args) > 0 {
		detail = fmt.Sprintf(format, args...)
	}
	return &Problem{Type: ProblemBase + kind, Title: st.title, Status: st.status, Detail: detail}
}

func invalidField(field, format string, args ...any) *Problem {
	p := problem(ProblemInvalid, format, args...)
	p.Field = field
	return p
}

// requestField renames the field of a directory.InvalidError from the
// directory's name for an argument (from) to the request member that
// carried it (to): AddMember's "user" is POST /members' "user_id". Other
// errors pass unchanged.
func requestField(err error, from, to string) error {
	var ie *directory.InvalidError
	if err == nil || !errors.As(err, &ie) || ie.Field != from {
		return err
	}
	renamed := *ie
	renamed.Field = to
	return &renamed
}

// toProblem maps any error to the problem a client sees. Directory and auth
// errors map through their sentinels with errors.Is/As; everything else is
// a 500 whose detail says only "internal error" (the cause is logged).
func toProblem(err error) *Problem {
	var p *Problem
	if errors.As(err, &p) {
		return p
	}
	var (
		fe *directory.ForbiddenError
		ee *directory.EscalationError
		ie *directory.InvalidError
		pe *directory.PolicyError
		ue *directory.InUseError
		re *auth.RateLimitError
	)
	switch {
	case errors.As(err, &pe):
		p = problem(ProblemInvalidPolicy, "the policy has %d error(s)", len(pe.Diagnostics.Errors()))
		p.Errors = pe.Diagnostics
		if len(p.Errors) == 0 {
			p.Errors = []token.Diagnostic{}
		}
		if errs := pe.Diagnostics.Errors(); len(errs) > 0 {
			p.Detail = errs[0].Error()
			if len(errs) > 1 {
				p.Detail += fmt.Sprintf(" (and %d more)", len(errs)-1)
			}
		}
		return p
	case errors.As(err, &fe):
		p = problem(ProblemForbidden, "requires %s at %s", fe.Permission, fe.Scope)
		p.MissingPermission, p.Scope = fe.Permission, fe.Scope.String()
		return p
	case errors.As(err, &ee):
		p = problem(ProblemEscalation, "%s", ee.Error())
		p.Reason, p.Role, p.Scope, p.Target = ee.Reason, ee.Role, ee.Scope.String(), ee.Target
		for _, m := range ee.Missing {
			p.MissingPermissions = append(p.MissingPermissions, m.String())
		}
		if len(p.MissingPermissions) > 0 {
			p.MissingPermission = p.MissingPermissions[0]
		}
		return p
	case errors.Is(err, directory.ErrForbidden):
		return problem(ProblemForbidden, "%s", userText(err))
	case errors.Is(err, directory.ErrEscalation):
		return problem(ProblemEscalation, "%s", userText(err))
	case errors.As(err, &ie):
		return invalidField(ie.Field, "%s", ie.Error())
	case errors.Is(err, directory.ErrNotFound):
		return problem(ProblemNotFound, "%s", userText(err))
	case errors.Is(err, directory.ErrLastOwner):
		return problem(ProblemLastOwner, "%s", userText(err))
	case errors.As(err, &ue):
		return problem(ProblemConflict, "%s", ue.Error())
	case errors.Is(err, directory.ErrConflict):
		return problem(ProblemConflict, "%s", userText(err))
	case errors.Is(err, directory.ErrInvalid):
		return problem(ProblemInvalid, "%s", userText(err))
	case errors.Is(err, directory.ErrNotCaughtUp):
		p = problem(ProblemNotCaughtUp, "the requested revision was not reached in time; retry")
		p.RetryAfter = 1
		return p
	case errors.As(err, &re):
		p = problem(ProblemRateLimited, "too many failed authentication attempts from this address")
		p.RetryAfter = max(1, int((re.RetryAfter+time.Second-1)/time.Second))
		return p
	case errors.Is(err, auth.ErrCredentialRequired):
		return problem(ProblemUnauthenticated, "%s", auth.ErrCredentialRequired.Error())
	case errors.Is(err, auth.ErrUnauthenticated):
		return problem(ProblemUnauthenticated, "missing, invalid or expired credentials")
	case errors.Is(err, auth.ErrGone):
		return problem(ProblemGone, "the invitation was already used, was revoked, or has expired")
	case errors.Is(err, directory.ErrUnavailable), errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		p = problem(ProblemUnavailable, "the service is temporarily unavailable; retry")
		p.RetryAfter = 1
		p.cause = err
		return p
	}
	p = problem(ProblemInternal, "internal error")
	p.cause = err
	return p
}

// userText is a directory error's message. Directory messages are built
// only from the org and keys the caller supplied (its package invariant),
// so they are safe to show.
func userText(err error) string {
	var de *directory.Error
	if errors.As(err, &de) {
		s := de.Op
		if de.Msg != "" {
			s += ": " + de.Msg
		}
		return s + ": " + de.Kind.Error()
	}
	var ie *directory.InvalidError
	if errors.As(err, &ie) {
		return ie.Error()
	}
	return "request refused"
}

// retryAfterHeader renders Retry-After.
func retryAfterHeader(p *Problem) string {
	if p.RetryAfter <= 0 {
		return ""
	}
	return strconv.Itoa(p.RetryAfter)
}
