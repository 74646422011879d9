package client

import (
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gatehouse-dev/gatehouse/api"
)

// ProblemBase prefixes the server's problem type URIs.
const ProblemBase = api.ProblemBase

// Problem kinds: the stable last segment of a problem's type URI. Branch
// on these (Error.Kind), never on title or detail text.
const (
	KindUnauthenticated = api.ProblemUnauthenticated // 401
	KindForbidden       = api.ProblemForbidden       // 403, MissingPermission
	KindEscalation      = api.ProblemEscalation      // 403, Reason, MissingPermissions
	// KindOutranksMinter: the API key or agent token was minted by a
	// member who no longer outranks its principal; revoke it and have
	// someone who does mint another (a 403: ErrForbidden).
	KindOutranksMinter   = api.ProblemOutranksMinter   // 403, Scope
	KindNotFound         = api.ProblemNotFound         // 404 (absent, or another org's)
	KindMethodNotAllowed = api.ProblemMethodNotAllowed // 405
	KindConflict         = api.ProblemConflict         // 409
	KindLastOwner        = api.ProblemLastOwner        // 409
	KindGone             = api.ProblemGone             // 410
	KindInvalid          = api.ProblemInvalid          // 400, Field
	KindTooLarge         = api.ProblemTooLarge         // 413
	KindMediaType        = api.ProblemMediaType        // 415
	KindInvalidPolicy    = api.ProblemInvalidPolicy    // 422, Diagnostics
	KindRateLimited      = api.ProblemRateLimited      // 429
	KindInternal         = api.ProblemInternal         // 500
	KindNotCaughtUp      = api.ProblemNotCaughtUp      // 503
	KindUnavailable      = api.ProblemUnavailable      // 503
)

// Sentinels classify an *Error with errors.Is. Each matches by HTTP status
// (ErrNotCaughtUp and ErrEscalation by problem kind), so they also work
// for answers that are not problem documents.
var (
	ErrUnauthenticated = errors.New("gatehouse: unauthenticated")          // 401
	ErrForbidden       = errors.New("gatehouse: forbidden")                // 403 (escalations included)
	ErrEscalation      = errors.New("gatehouse: privilege escalation")     // 403 escalation
	ErrNotFound        = errors.New("gatehouse: not found")                // 404
	ErrConflict        = errors.New("gatehouse: conflict")                 // 409
	ErrGone            = errors.New("gatehouse: gone")                     // 410
	ErrInvalid         = errors.New("gatehouse: invalid request")          // 400, 413, 415, 422
	ErrInvalidPolicy   = errors.New("gatehouse: policy does not compile")  // 422
	ErrRateLimited     = errors.New("gatehouse: rate limited")             // 429
	ErrUnavailable     = errors.New("gatehouse: unavailable")              // 503 (not-caught-up included)
	ErrNotCaughtUp     = errors.New("gatehouse: revision not reached")     // 503 not-caught-up
	ErrServer          = errors.New("gatehouse: server error")             // other 5xx
	ErrUnexpected      = errors.New("gatehouse: unexpected answer status") // anything else
)

// Error is an answer other than 2xx, with the server's problem document
// (RFC 9457) when it sent one.
type Error struct {
	// Method and Path are the request's (Path without the query).
	Method string
	Path   string

	Status    int
	Type      string // full type URI; Kind() is its last segment
	Title     string
	Detail    string
	Instance  string
	RequestID string

	// Field names the offending request field (400).
	Field string
	// MissingPermission is the permission the caller lacks (403) and Scope
	// where it was needed.
	MissingPermission string
	Scope             string
	// Escalation details (403 escalation).
	Reason             string
	Role               string
	MissingPermissions []string
	Target             string
	// Diagnostics are a policy's positioned errors (422).
	Diagnostics []Diagnostic
	// RetryAfter is the server's Retry-After in seconds (429, 503), 0 when
	// absent.
	RetryAfter int
}

// Kind is the problem type's last segment ("forbidden", "not-found"...),
// or "" when the answer was not a Gatehouse problem document.
func (e *Error) Kind() string { return kindOf(e.Type) }

func kindOf(typ string) string {
	if k, ok := strings.CutPrefix(typ, ProblemBase); ok {
		return k
	}
	return ""
}

// Error renders "gatehouse: METHOD PATH: STATUS kind: detail".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("gatehouse: ")
	if e.Method != "" {
		b.WriteString(e.Method + " " + e.Path + ": ")
	}
	b.WriteString(strconv.Itoa(e.Status))
	if k := e.Kind(); k != "" {
		b.WriteString(" " + k)
	} else if e.Title != "" {
		b.WriteString(" " + e.Title)
	}
	if e.Detail != "" {
		b.WriteString(": " + e.Detail)
	}
	if e.MissingPermission != "" && !strings.Contains(e.Detail, e.MissingPermission) {
		b.WriteString(" (missing " + e.MissingPermission + ")")
	}
	if e.RequestID != "" {
		b.WriteString(" [request " + e.RequestID + "]")
	}
	return b.String()
}

// Is matches the package's sentinels.
func (e *Error) Is(target error) bool {
	switch target {
	case ErrUnauthenticated:
		return e.Status == http.StatusUnauthorized
	case ErrForbidden:
		return e.Status == http.StatusForbidden
	case ErrEscalation:
		return e.Status == http.StatusForbidden && e.Kind() == KindEscalation
	case ErrNotFound:
		return e.Status == http.StatusNotFound
	case ErrConflict:
		return e.Status == http.StatusConflict
	case ErrGone:
		return e.Status == http.StatusGone
	case ErrInvalid:
		switch e.Status {
		case http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType, http.StatusUnprocessableEntity:
			return true
		}
	case ErrInvalidPolicy:
		return e.Status == http.StatusUnprocessableEntity
	case ErrRateLimited:
		return e.Status == http.StatusTooManyRequests
	case ErrUnavailable:
		return e.Status == http.StatusServiceUnavailable
	case ErrNotCaughtUp:
		return e.Status == http.StatusServiceUnavailable && e.Kind() == KindNotCaughtUp
	case ErrServer:
		return e.Status >= 500 && e.Status != http.StatusServiceUnavailable
	case ErrUnexpected:
		return e.Status < 400 || e.Status > 599
	}
	return false
}

// IsUnauthenticated reports a 401: missing, invalid or expired credentials.
func IsUnauthenticated(err error) bool { return errors.Is(err, ErrUnauthenticated) }

// IsForbidden reports a 403: authenticated but not allowed (escalation
// refusals included).
func IsForbidden(err error) bool { return errors.Is(err, ErrForbidden) }

// IsEscalation reports a 403 refusing a privilege escalation (DESIGN §1.2).
func IsEscalation(err error) bool { return errors.Is(err, ErrEscalation) }

// IsNotFound reports a 404: absent, or belonging to another org.
func IsNotFound(err error) bool { return errors.Is(err, ErrNotFound) }

// IsConflict reports a 409.
func IsConflict(err error) bool { return errors.Is(err, ErrConflict) }

// IsGone reports a 410 (a used, revoked or expired invitation).
func IsGone(err error) bool { return errors.Is(err, ErrGone) }

// IsInvalid reports a request the server rejected as malformed (400, 413,
// 415, 422).
func IsInvalid(err error) bool { return errors.Is(err, ErrInvalid) }

// IsInvalidPolicy reports a policy that does not compile (422); the
// *Error's Diagnostics say where.
func IsInvalidPolicy(err error) bool { return errors.Is(err, ErrInvalidPolicy) }

// IsRateLimited reports a 429.
func IsRateLimited(err error) bool { return errors.Is(err, ErrRateLimited) }

// IsUnavailable reports a 503 (after the client's retries).
func IsUnavailable(err error) bool { return errors.Is(err, ErrUnavailable) }

// IsNotCaughtUp reports a 503 because an AtLeast revision was not reached
// in time.
func IsNotCaughtUp(err error) bool { return errors.Is(err, ErrNotCaughtUp) }

// errorOf is the *Error of a problem document.
func errorOf(p *api.Problem) *Error {
	return &Error{
		Status: p.Status, Type: p.Type, Title: p.Title, Detail: p.Detail, Instance: p.Instance, RequestID: p.RequestID,
		Field: p.Field, MissingPermission: p.MissingPermission, Scope: p.Scope,
		Reason: p.Reason, Role: p.Role, MissingPermissions: p.MissingPermissions, Target: p.Target,
		Diagnostics: p.Errors, RetryAfter: p.RetryAfter,
	}
}

// errorFrom builds the *Error of a non-2xx answer.
func errorFrom(r request, res *http.Response, body []byte) *Error {
	e := &Error{}
	mt, _, _ := mime.ParseMediaType(res.Header.Get("Content-Type"))
	if mt == "application/problem+json" {
		var p api.Problem
		if json.Unmarshal(body, &p) == nil {
			e = errorOf(&p)
		}
	}
	// The request and the status line are the truth; the body cannot
	// override them.
	e.Method, e.Path, e.Status = r.method, r.path, res.StatusCode
	if e.Title == "" {
		e.Title = http.StatusText(res.StatusCode)
	}
	if e.Detail == "" && e.Type == "" && len(body) > 0 {
		e.Detail = snippet(body)
	}
	if e.RequestID == "" {
		e.RequestID = res.Header.Get("X-Request-Id")
	}
	if ra, ok := parseRetryAfter(res.Header.Get("Retry-After")); ok {
		e.RetryAfter = int((ra + time.Second - 1) / time.Second)
	}
	return e
}

// snippet is a short, printable excerpt of a non-problem answer.
func snippet(b []byte) string {
	const n = 200
	if len(b) > n {
		b = b[:n]
	}
	s := strings.TrimSpace(strings.ToValidUTF8(string(b), string(utf8.RuneError)))
	return strings.Map(func(r rune) rune {
		if r < 0x20 {
			return ' '
		}
		return r
	}, s)
}
