package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/gatehouse-dev/gatehouse/api"
	"github.com/gatehouse-dev/gatehouse/internal/auth"
	"github.com/gatehouse-dev/gatehouse/internal/directory"
	"github.com/gatehouse-dev/gatehouse/internal/errs"
)

// ProblemBase prefixes every problem type URI. The types are stable: a
// client branches on them, never on title or detail text.
const ProblemBase = api.ProblemBase

// Problem types (RFC 9457 "type" members, without ProblemBase): package
// api's, under the names the server uses.
const (
	ProblemUnauthenticated  = api.ProblemUnauthenticated
	ProblemForbidden        = api.ProblemForbidden
	ProblemEscalation       = api.ProblemEscalation
	ProblemOutranksMinter   = api.ProblemOutranksMinter
	ProblemNotFound         = api.ProblemNotFound
	ProblemMethodNotAllowed = api.ProblemMethodNotAllowed
	ProblemConflict         = api.ProblemConflict
	ProblemLastOwner        = api.ProblemLastOwner
	ProblemGone             = api.ProblemGone
	ProblemInvalid          = api.ProblemInvalid
	ProblemTooLarge         = api.ProblemTooLarge
	ProblemMediaType        = api.ProblemMediaType
	ProblemInvalidPolicy    = api.ProblemInvalidPolicy
	ProblemRateLimited      = api.ProblemRateLimited
	ProblemInternal         = api.ProblemInternal
	ProblemNotCaughtUp      = api.ProblemNotCaughtUp
	ProblemUnavailable      = api.ProblemUnavailable
	ProblemUpstream         = api.ProblemUpstream
)

// problemStatus is each type's HTTP status and title.
var problemStatus = map[string]struct {
	status int
	title  string
}{
	ProblemUnauthenticated:  {http.StatusUnauthorized, "Authentication required"},
	ProblemForbidden:        {http.StatusForbidden, "Permission denied"},
	ProblemEscalation:       {http.StatusForbidden, "Privilege escalation refused"},
	ProblemOutranksMinter:   {http.StatusForbidden, "Credential outranks its minter"},
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
	ProblemUpstream:         {http.StatusBadGateway, "Upstream MCP server failed"},
}

// Problem is an RFC 9457 problem document with Gatehouse's extensions:
// package api's Problem (the wire type) and, for the log only, the error
// behind a 500.
type Problem struct {
	api.Problem
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
	return &Problem{Problem: api.Problem{Type: ProblemBase + kind, Title: st.title, Status: st.status, Detail: detail}}
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

// kindProblems is the one table from an error's kind (errs.KindOf) to the
// problem type a client sees; problemStatus gives the type's status and
// title. A kind not in the table is looked up by its parent (errs.Refused
// is a conflict, vault.ErrCorrupt an internal error); an error with no
// kind at all is a 500 (a context error: 503).
var kindProblems = map[*errs.Kind]string{
	errs.NotFound:              ProblemNotFound,
	errs.Conflict:              ProblemConflict,
	errs.LastOwner:             ProblemLastOwner,
	errs.Invalid:               ProblemInvalid,
	errs.InvalidPolicy:         ProblemInvalidPolicy,
	errs.Forbidden:             ProblemForbidden,
	errs.Escalation:            ProblemEscalation,
	auth.ErrOutranksMinter:     ProblemOutranksMinter,
	errs.TokenRefused:          ProblemForbidden,
	errs.Unauthenticated:       ProblemUnauthenticated,
	auth.ErrCredentialRequired: ProblemUnauthenticated,
	errs.RateLimited:           ProblemRateLimited,
	errs.Gone:                  ProblemGone,
	errs.NotCaughtUp:           ProblemNotCaughtUp,
	errs.Unavailable:           ProblemUnavailable,
	errs.Internal:              ProblemInternal,
}

// problemType is the problem type of kind k, "" if neither k nor any of
// its ancestors is in kindProblems.
func problemType(k *errs.Kind) string {
	for ; k != nil; k = k.Parent() {
		if t, ok := kindProblems[k]; ok {
			return t
		}
	}
	return ""
}

// toProblem maps any error to the problem a client sees: its kind through
// kindProblems, with the details the error carries (the field, the missing
// permission and scope, the escalation, the policy's diagnostics, the
// time to wait). An error of no known kind is a 500 whose detail says only
// "internal error" (the cause is logged); so are the vault's cryptographic
// failures.
func toProblem(err error) *Problem {
	var p *Problem
	if errors.As(err, &p) {
		return p
	}
	k := errs.KindOf(err)
	typ := problemType(k)
	if typ == "" && k == nil && (errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)) {
		typ = ProblemUnavailable
	}
	switch typ {
	case "", ProblemInternal:
		p = problem(ProblemInternal, "internal error")
		p.cause = err
	case ProblemUnavailable:
		p = problem(ProblemUnavailable, "the service is temporarily unavailable; retry")
		p.RetryAfter = 1
		p.cause = err
	case ProblemNotCaughtUp:
		p = problem(ProblemNotCaughtUp, "the requested revision was not reached in time; retry")
		p.RetryAfter = 1
	case ProblemRateLimited:
		p = problem(ProblemRateLimited, "too many failed authentication attempts from this address")
		p.RetryAfter = 1
		var re *auth.RateLimitError
		if errors.As(err, &re) {
			p.RetryAfter = max(1, int((re.RetryAfter+time.Second-1)/time.Second))
		}
	case ProblemUnauthenticated:
		if k == auth.ErrCredentialRequired {
			p = problem(ProblemUnauthenticated, "%s", k.Error())
		} else {
			p = problem(ProblemUnauthenticated, "missing, invalid or expired credentials")
		}
	case ProblemGone:
		p = problem(ProblemGone, "the invitation was already used, was revoked, or has expired")
	default:
		p = problem(typ, "%s", userText(err, k))
		details(p, err, k)
	}
	return p
}

// details copies what err says beyond its kind into p: the typed
// directory errors' fields, and an *errs.Error's field, permission and
// scope. A typed error counts only when it is of err's kind.
func details(p *Problem, err error, k *errs.Kind) {
	var (
		fe *directory.ForbiddenError
		ee *directory.EscalationError
		ie *directory.InvalidError
		pe *directory.PolicyError
		ue *directory.InUseError
		oe *auth.OutrankedError
		e  *errs.Error
	)
	switch {
	case k == errs.InvalidPolicy && errors.As(err, &pe):
		p.Errors = each(pe.Diagnostics, apiDiagnostic)
		if len(p.Errors) == 0 {
			p.Errors = []api.Diagnostic{}
		}
		p.Detail = fmt.Sprintf("the policy has %d error(s)", len(pe.Diagnostics.Errors()))
		if errs := pe.Diagnostics.Errors(); len(errs) > 0 {
			p.Detail = errs[0].Error()
			if len(errs) > 1 {
				p.Detail += fmt.Sprintf(" (and %d more)", len(errs)-1)
			}
		}
	case k == errs.Forbidden && errors.As(err, &fe):
		p.Detail = fmt.Sprintf("requires %s at %s", fe.Permission, fe.Scope)
		p.MissingPermission, p.Scope = fe.Permission, fe.Scope.String()
	case k == errs.Escalation && errors.As(err, &ee):
		p.Detail = ee.Error()
		p.Reason, p.Role, p.Scope, p.Target = ee.Reason, ee.Role, ee.Scope.String(), ee.Target
		for _, m := range ee.Missing {
			p.MissingPermissions = append(p.MissingPermissions, m.String())
		}
		if len(p.MissingPermissions) > 0 {
			p.MissingPermission = p.MissingPermissions[0]
		}
	case k == auth.ErrOutranksMinter && errors.As(err, &oe):
		p.Detail, p.Scope = oe.Error(), oe.Scope.String()
	case k == errs.Invalid && errors.As(err, &ie):
		p.Field, p.Detail = ie.Field, ie.Error()
	case k == errs.Conflict && errors.As(err, &ue):
		p.Detail = ue.Error()
	case errors.As(err, &e):
		p.Field = e.Field
		p.MissingPermission, p.Scope = e.Permission, e.Scope
		if k == errs.TokenRefused {
			p.cause = err
		}
	}
}

// userText is the message of an error of kind k that a client may see.
// An *errs.Error's message is built only from the keys the caller
// supplied (the invariant of package errs), so it is safe to show: its op
// and message, and its kind's text — except that the vault names the kind
// only for a not-found, and says nothing but its message for a refused run
// token.
func userText(err error, k *errs.Kind) string {
	var e *errs.Error
	if errors.As(err, &e) {
		switch {
		case k == errs.TokenRefused:
			return e.Msg
		case e.Pkg == "vault" && k != errs.NotFound:
			return e.Text()
		case e.Kind == nil:
			return e.Text()
		}
		return e.Text() + ": " + e.Kind.Error()
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
