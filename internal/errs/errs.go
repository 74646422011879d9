// Package errs is the one error vocabulary of Gatehouse's internal
// packages: the kinds of failure (NotFound, Conflict, Invalid, ...) and the
// one error type, *Error, that the store, the directory, the vault and auth
// return.
//
// Invariants:
//
//   - Every error those packages return has exactly one outermost kind,
//     found with KindOf (or a context error when the context ended), so
//     interfaces map errors to answers from the kind alone, through one
//     table (the HTTP server's), and never look at message text.
//   - The packages' sentinels are these kinds (store.ErrNotFound,
//     directory.ErrNotFound and vault.ErrNotFound are errs.NotFound), so
//     errors.Is(err, store.ErrNotFound) holds for a not-found of any
//     layer; a sentinel with its own text (auth.ErrGone,
//     vault.ErrCorrupt) is a kind whose parent is one of these, made with
//     NewKind, and matches its parent with errors.Is.
//   - An *Error's message is built only from its package, operation, the
//     keys the caller supplied and the kind's text, never from Cause,
//     which keeps a lower-level error (a driver error, a context error)
//     for logs only.
package errs

import (
	"context"
	"errors"
)

// Kind is a class of failure. A kind is itself an error (a sentinel): test
// for one with errors.Is(err, errs.NotFound).
type Kind struct {
	text   string
	parent *Kind
}

// NewKind returns a kind with its own text whose errors are also of kind
// parent (nil: a kind with no parent, answered as Internal).
func NewKind(text string, parent *Kind) *Kind { return &Kind{text: text, parent: parent} }

func (k *Kind) Error() string { return k.text }

// Is reports whether target is one of k's ancestors.
func (k *Kind) Is(target error) bool {
	for p := k.parent; p != nil; p = p.parent {
		if target == error(p) {
			return true
		}
	}
	return false
}

// Parent is the kind k specializes (nil for a root kind).
func (k *Kind) Parent() *Kind { return k.parent }

// The root kinds. Each has one HTTP status and problem type (the server's
// table; docs/api.md "Errors").
var (
	// NotFound: the thing does not exist, or the caller may not learn that
	// it does (an other org's row, a secret without secrets:list). 404.
	NotFound = &Kind{text: "not found"}
	// Conflict: the thing already exists, an optimistic-concurrency check
	// failed, or it is still in use. 409.
	Conflict = &Kind{text: "conflict"}
	// Refused: a store change that would leave dangling references (or is
	// never allowed). A Conflict. 409.
	Refused = &Kind{text: "refused", parent: Conflict}
	// LastOwner: the change would leave an org without a holder of its
	// top-level role. 409 last-owner.
	LastOwner = &Kind{text: "the org must keep a holder of its top-level role"}
	// Invalid: the input is malformed; retrying cannot succeed. 400.
	Invalid = &Kind{text: "invalid"}
	// InvalidPolicy: a policy text that does not compile, with positioned
	// diagnostics (directory.PolicyError). An Invalid. 422.
	InvalidPolicy = &Kind{text: "invalid policy", parent: Invalid}
	// Forbidden: the caller may see the thing but lacks the permission
	// the operation needs (Error.Permission at Error.Scope). 403.
	Forbidden = &Kind{text: "forbidden"}
	// Escalation: the change would hand out or take away more than the
	// caller holds. 403 escalation.
	Escalation = &Kind{text: "privilege escalation refused"}
	// TokenRefused: a run token is unknown, expired, used, of another org
	// or bound to a changed resource; the cases are indistinguishable.
	// 403 forbidden.
	TokenRefused = &Kind{text: "run token refused"}
	// Unauthenticated: no usable credential. 401.
	Unauthenticated = &Kind{text: "unauthenticated"}
	// RateLimited: too many failed attempts from the caller's address.
	// 429.
	RateLimited = &Kind{text: "too many failed authentication attempts"}
	// Gone: the thing existed but can no longer be used. 410.
	Gone = &Kind{text: "gone"}
	// NotCaughtUp: the decision engine did not reach the revision asked
	// for in time; retry. 503 not-caught-up.
	NotCaughtUp = &Kind{text: "engine has not caught up to the requested revision"}
	// Unavailable: the storage backend (or another dependency) failed.
	// 503.
	Unavailable = &Kind{text: "unavailable"}
	// Internal: a failure the caller can do nothing about (a cryptographic
	// failure, a wrong master key). 500, with nothing of it shown.
	Internal = &Kind{text: "internal error"}
)

// Error is the error type of the store, the directory, the vault and auth.
type Error struct {
	Pkg  string // the package that made it: "store", "directory", "vault"
	Op   string // "create binding"
	Kind error  // a *Kind, or a context error
	// Msg is built only from the keys the caller supplied:
	// `binding "b1" in org "acme"`.
	Msg string
	// Field names the malformed input, for Invalid ("name", "value").
	Field string
	// Permission and Scope name, for Forbidden, what the caller lacks and
	// where ("secrets:read", "namespace prod").
	Permission, Scope string
	// Cause is a lower-level error for logs; may be nil. Never shown.
	Cause error
}

// Error renders "<pkg>: <op>: <msg>: <kind>".
func (e *Error) Error() string {
	s := e.Text()
	if e.Kind != nil {
		s += ": " + e.Kind.Error()
	}
	if e.Pkg != "" {
		s = e.Pkg + ": " + s
	}
	return s
}

// Text is "<op>: <msg>", the part of the message a caller may be shown.
func (e *Error) Text() string {
	s := e.Op
	if e.Msg != "" {
		if s != "" {
			s += ": "
		}
		s += e.Msg
	}
	return s
}

// Unwrap returns the kind and the cause.
func (e *Error) Unwrap() []error {
	errs := make([]error, 0, 2)
	if e.Kind != nil {
		errs = append(errs, e.Kind)
	}
	if e.Cause != nil {
		errs = append(errs, e.Cause)
	}
	return errs
}

// KindOf is err's outermost kind, nil if it has none. The first *Kind or
// *Error met walking err's chain (depth first) decides: an *Error whose
// Kind is a context error has no kind, whatever its cause carries.
func KindOf(err error) *Kind {
	for err != nil {
		switch x := err.(type) {
		case *Kind:
			return x
		case *Error:
			if k, ok := x.Kind.(*Kind); ok {
				return k
			}
			if x.Kind != nil {
				return nil
			}
		}
		switch u := err.(type) {
		case interface{ Unwrap() error }:
			err = u.Unwrap()
		case interface{ Unwrap() []error }:
			for _, e := range u.Unwrap() {
				if k := KindOf(e); k != nil {
					return k
				}
			}
			return nil
		default:
			return nil
		}
	}
	return nil
}

// In returns err as an error of package pkg's operation op. Errors of pkg,
// errors with a kind that are not an *Error (typed errors such as a
// directory.ForbiddenError keep their details) and context errors pass
// through. An *Error of another package keeps its kind (Refused becomes
// Conflict), message, field, permission and scope under pkg's op; with
// keepOp, its own op is kept in front of its message when it differs from
// op. An error without a kind is Unavailable.
func In(pkg, op string, err error, keepOp bool) error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		if e.Pkg == pkg {
			return err
		}
		kind := e.Kind
		if kind == error(Refused) {
			kind = Conflict
		}
		msg := e.Msg
		if keepOp && e.Op != "" && e.Op != op {
			msg = e.Op
			if e.Msg != "" {
				msg += ": " + e.Msg
			}
		}
		if kind == nil {
			kind = Unavailable
		}
		return &Error{Pkg: pkg, Op: op, Kind: kind, Msg: msg, Field: e.Field, Permission: e.Permission, Scope: e.Scope, Cause: err}
	}
	if KindOf(err) != nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return &Error{Pkg: pkg, Op: op, Kind: Unavailable, Cause: err}
}
