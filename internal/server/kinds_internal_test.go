package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-dev/gatehouse/api"
	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/internal/auth"
	"github.com/gatehouse-dev/gatehouse/internal/directory"
	"github.com/gatehouse-dev/gatehouse/internal/errs"
	"github.com/gatehouse-dev/gatehouse/internal/secretref"
	"github.com/gatehouse-dev/gatehouse/internal/store"
	"github.com/gatehouse-dev/gatehouse/internal/vault"
)

// TestEveryKindHasItsStatus: every sentinel and typed error of the store,
// the directory, the vault and auth gets its documented status and problem
// type (docs/api.md "Errors") straight from toProblem — bare, wrapped by
// fmt.Errorf, or as the package's *Error — so an error a handler forgets
// to wrap is answered as the kind says, never as a 500 (except the
// vault's cryptographic failures, which are 500s on purpose).
func TestEveryKindHasItsStatus(t *testing.T) {
	tests := []struct {
		name   string
		err    error
		status int
		typ    string
	}{
		{"store.ErrNotFound", store.ErrNotFound, http.StatusNotFound, ProblemNotFound},
		{"store.ErrConflict", store.ErrConflict, http.StatusConflict, ProblemConflict},
		{"store.ErrInvalid", store.ErrInvalid, http.StatusBadRequest, ProblemInvalid},
		{"store.ErrRefused", store.ErrRefused, http.StatusConflict, ProblemConflict},
		{"store.ErrBackend", store.ErrBackend, http.StatusServiceUnavailable, ProblemUnavailable},
		{"store.Errorf", store.Errorf(store.ErrRefused, "delete namespace", `namespace "p"`, errors.New("driver")), http.StatusConflict, ProblemConflict},
		{"store.Errorf context", store.Errorf(context.DeadlineExceeded, "get org", "", context.DeadlineExceeded), http.StatusServiceUnavailable, ProblemUnavailable},

		{"directory.ErrNotFound", directory.ErrNotFound, http.StatusNotFound, ProblemNotFound},
		{"directory.ErrForbidden", directory.ErrForbidden, http.StatusForbidden, ProblemForbidden},
		{"directory.ErrEscalation", directory.ErrEscalation, http.StatusForbidden, ProblemEscalation},
		{"directory.ErrLastOwner", directory.ErrLastOwner, http.StatusConflict, ProblemLastOwner},
		{"auth.ErrOutranksMinter", auth.ErrOutranksMinter, http.StatusForbidden, ProblemOutranksMinter},
		{"auth.OutrankedError", &auth.OutrankedError{Credential: "API key", Minter: "user:a", Principal: "service:s", Org: "o"}, http.StatusForbidden, ProblemOutranksMinter},
		{"directory.ErrConflict", directory.ErrConflict, http.StatusConflict, ProblemConflict},
		{"directory.ErrInvalid", directory.ErrInvalid, http.StatusBadRequest, ProblemInvalid},
		{"directory.ErrNotCaughtUp", directory.ErrNotCaughtUp, http.StatusServiceUnavailable, ProblemNotCaughtUp},
		{"directory.ErrUnavailable", directory.ErrUnavailable, http.StatusServiceUnavailable, ProblemUnavailable},
		{"directory.ForbiddenError", &directory.ForbiddenError{Permission: "bindings:read"}, http.StatusForbidden, ProblemForbidden},
		{"directory.EscalationError", &directory.EscalationError{Reason: directory.ReasonLevel}, http.StatusForbidden, ProblemEscalation},
		{"directory.InvalidError", &directory.InvalidError{Field: "role"}, http.StatusBadRequest, ProblemInvalid},
		{"directory.PolicyError", &directory.PolicyError{}, http.StatusUnprocessableEntity, ProblemInvalidPolicy},
		{"directory.InUseError", &directory.InUseError{What: "role r"}, http.StatusConflict, ProblemConflict},
		{"directory.Error", &directory.Error{Pkg: "directory", Op: "get role", Kind: directory.ErrNotFound}, http.StatusNotFound, ProblemNotFound},

		{"vault.ErrNotFound", vault.ErrNotFound, http.StatusNotFound, ProblemNotFound},
		{"vault.ErrForbidden", vault.ErrForbidden, http.StatusForbidden, ProblemForbidden},
		{"vault.ErrInvalid", vault.ErrInvalid, http.StatusBadRequest, ProblemInvalid},
		{"vault.ErrConflict", vault.ErrConflict, http.StatusConflict, ProblemConflict},
		{"vault.ErrTokenRefused", vault.ErrTokenRefused, http.StatusForbidden, ProblemForbidden},
		{"vault.ErrNotCaughtUp", vault.ErrNotCaughtUp, http.StatusServiceUnavailable, ProblemNotCaughtUp},
		{"vault.ErrUnavailable", vault.ErrUnavailable, http.StatusServiceUnavailable, ProblemUnavailable},
		{"vault.ErrNoMasterKey", vault.ErrNoMasterKey, http.StatusInternalServerError, ProblemInternal},
		{"vault.ErrBadMasterKey", vault.ErrBadMasterKey, http.StatusInternalServerError, ProblemInternal},
		{"vault.ErrWrongMasterKey", vault.ErrWrongMasterKey, http.StatusInternalServerError, ProblemInternal},
		{"vault.ErrKeyMissing", vault.ErrKeyMissing, http.StatusInternalServerError, ProblemInternal},
		{"vault.ErrCorrupt", vault.ErrCorrupt, http.StatusInternalServerError, ProblemInternal},
		{"vault.ErrCrypto", vault.ErrCrypto, http.StatusInternalServerError, ProblemInternal},
		{"vault.Error", &vault.Error{Pkg: "vault", Op: "reveal secret", Kind: vault.ErrForbidden, Permission: "secrets:read"}, http.StatusForbidden, ProblemForbidden},

		{"secretref.ErrInvalid", secretref.ErrInvalid, http.StatusBadRequest, ProblemInvalid},
		{"secretref.InvalidError", &secretref.InvalidError{Field: "name"}, http.StatusBadRequest, ProblemInvalid},

		{"auth.ErrUnauthenticated", auth.ErrUnauthenticated, http.StatusUnauthorized, ProblemUnauthenticated},
		{"auth.ErrCredentialRequired", auth.ErrCredentialRequired, http.StatusUnauthorized, ProblemUnauthenticated},
		{"auth.ErrRateLimited", auth.ErrRateLimited, http.StatusTooManyRequests, ProblemRateLimited},
		{"auth.RateLimitError", &auth.RateLimitError{RetryAfter: time.Second}, http.StatusTooManyRequests, ProblemRateLimited},
		{"auth.ErrGone", auth.ErrGone, http.StatusGone, ProblemGone},

		{"context.Canceled", context.Canceled, http.StatusServiceUnavailable, ProblemUnavailable},
		{"context.DeadlineExceeded", context.DeadlineExceeded, http.StatusServiceUnavailable, ProblemUnavailable},
		{"no kind", errors.New("boom"), http.StatusInternalServerError, ProblemInternal},
	}
	for _, tt := range tests {
		for _, err := range []error{tt.err, fmt.Errorf("handler: %w", tt.err)} {
			p := toProblem(err)
			if p.Status != tt.status || p.Type != ProblemBase+tt.typ {
				t.Errorf("%s: toProblem(%v) = %d %s, want %d %s", tt.name, err, p.Status, p.Type, tt.status, ProblemBase+tt.typ)
			}
		}
	}
}

// TestKindTableIsComplete: every root kind of package errs and every type
// in kindProblems has a status and title.
func TestKindTableIsComplete(t *testing.T) {
	roots := []*errs.Kind{errs.NotFound, errs.Conflict, errs.Refused, errs.LastOwner, errs.Invalid, errs.InvalidPolicy,
		errs.Forbidden, errs.Escalation, errs.TokenRefused, errs.Unauthenticated, errs.RateLimited, errs.Gone,
		errs.NotCaughtUp, errs.Unavailable, errs.Internal}
	for _, k := range roots {
		if problemType(k) == "" {
			t.Errorf("kind %q has no problem type", k)
		}
	}
	for k, typ := range kindProblems {
		if st, ok := problemStatus[typ]; !ok || st.status == 0 || st.title == "" {
			t.Errorf("kind %q: problem type %q has no status and title", k, typ)
		}
	}
}

// TestProblemDetails: the details an error carries reach the problem, as
// the wire documents them, and nothing of a 500's cause does.
func TestProblemDetails(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want api.Problem // compared on the fields set here
	}{
		{"vault forbidden", &vault.Error{Pkg: "vault", Op: "reveal secret", Msg: `requires secrets:read in namespace "prod"`, Kind: vault.ErrForbidden,
			Permission: "secrets:read", Scope: authz.Scope{Namespace: "prod"}.String()},
			api.Problem{Detail: `reveal secret: requires secrets:read in namespace "prod"`, MissingPermission: "secrets:read", Scope: "ns/prod"}},
		{"vault not found", &vault.Error{Pkg: "vault", Op: "get secret", Msg: `secret "A" in namespace "p"`, Kind: vault.ErrNotFound},
			api.Problem{Detail: `get secret: secret "A" in namespace "p": not found`}},
		{"vault invalid", &vault.Error{Pkg: "vault", Op: "check name", Msg: "bad", Kind: vault.ErrInvalid, Field: "name"},
			api.Problem{Detail: "check name: bad", Field: "name"}},
		{"vault token refused", &vault.Error{Pkg: "vault", Op: "exchange", Msg: "the run token is refused", Kind: vault.ErrTokenRefused, Cause: errors.New("expired")},
			api.Problem{Detail: "the run token is refused"}},
		{"directory", &directory.Error{Pkg: "directory", Op: "get role", Msg: `role "r"`, Kind: directory.ErrNotFound},
			api.Problem{Detail: `get role: role "r": not found`}},
		{"store under a handler", fmt.Errorf("x: %w", store.Errorf(store.ErrConflict, "create org", `org "a"`, errors.New("driver text"))),
			api.Problem{Detail: `create org: org "a": conflict`}},
		{"forbidden", &directory.ForbiddenError{Permission: "bindings:read", Scope: authz.Scope{Namespace: "prod"}},
			api.Problem{Detail: "requires bindings:read at ns/prod", MissingPermission: "bindings:read", Scope: "ns/prod"}},
		{"invalid field", &directory.InvalidError{Field: "role", Reason: "bad"}, api.Problem{Detail: "invalid role: bad", Field: "role"}},
		{"rate limited", &auth.RateLimitError{RetryAfter: 1500 * time.Millisecond}, api.Problem{Detail: "too many failed authentication attempts from this address", RetryAfter: 2}},
		{"credential required", auth.ErrCredentialRequired, api.Problem{Detail: auth.ErrCredentialRequired.Error()}},
		{"unauthenticated", auth.ErrUnauthenticated, api.Problem{Detail: "missing, invalid or expired credentials"}},
		{"crypto", &vault.Error{Pkg: "vault", Op: "reveal secret", Msg: `secret "A"`, Kind: vault.ErrCorrupt}, api.Problem{Detail: "internal error"}},
		{"unavailable", store.Errorf(store.ErrBackend, "get org", `org "a"`, errors.New("driver text")), api.Problem{Detail: "the service is temporarily unavailable; retry", RetryAfter: 1}},
	}
	for _, tt := range tests {
		p := toProblem(tt.err)
		got := api.Problem{Detail: p.Detail, Field: p.Field, MissingPermission: p.MissingPermission, Scope: p.Scope, RetryAfter: p.RetryAfter}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%s: toProblem (-want +got):\n%s", tt.name, diff)
		}
		if strings.Contains(p.Detail, "driver text") {
			t.Errorf("%s: detail %q leaks the cause", tt.name, p.Detail)
		}
	}
}
