package store

import (
	"errors"
	"strings"
)

// Sentinel errors. Every error a Store returns wraps exactly one of them
// (or a context error when the context ended), so callers branch with
// errors.Is and never on message text.
var (
	// ErrNotFound: the thing does not exist in the org the call named. An id
	// that exists only in another org is not found too: nothing read or
	// written through org A can tell that an org-B row exists.
	ErrNotFound = errors.New("not found")
	// ErrConflict: the thing already exists (a unique key is taken), or an
	// optimistic-concurrency check (ResourceUpdate.IfVersion) failed.
	ErrConflict = errors.New("conflict")
	// ErrInvalid: the input is malformed (bad identifier, bad JSON, bad
	// cursor, page size out of range, binding with both or neither of role
	// and actions, use of a finished transaction...). Retrying the same call
	// cannot succeed.
	ErrInvalid = errors.New("invalid")
	// ErrRefused: the change would leave dangling references and the caller
	// did not ask for a cascade (deleting a namespace that still holds
	// resources or bindings), or it is never allowed (deleting the default
	// namespace).
	ErrRefused = errors.New("refused")
	// ErrBackend: the database failed (unreachable, I/O error, a constraint
	// the store did not expect). The cause is kept in the chain for logs
	// but never in the message. The write, if any, did not commit — except
	// for the unavoidable ambiguity of a failed COMMIT.
	ErrBackend = errors.New("storage backend error")
)

// Error is the error type of the store. Its message is built only from the
// operation, caller-supplied keys and the sentinel, never from driver text;
// the driver error stays reachable through errors.As / errors.Unwrap for
// logging.
type Error struct {
	Op     string // "create binding"
	Detail string // caller-supplied context: `binding "b1" in org "acme"`
	Kind   error  // one of the sentinels
	Cause  error  // underlying error for logs (driver error, context error); may be nil
}

// Error renders "store: <op>: <detail>: <kind>".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("store: ")
	b.WriteString(e.Op)
	if e.Detail != "" {
		b.WriteString(": ")
		b.WriteString(e.Detail)
	}
	if e.Kind != nil {
		b.WriteString(": ")
		b.WriteString(e.Kind.Error())
	}
	return b.String()
}

// Unwrap returns the sentinel and the cause.
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

// Errorf returns an *Error; detail is used verbatim. Backends use it; it is
// exported so that every store error has one shape.
func Errorf(kind error, op, detail string, cause error) error {
	return &Error{Op: op, Detail: detail, Kind: kind, Cause: cause}
}
