package store

import "github.com/gatehouse-dev/gatehouse/internal/errs"

// Sentinel errors. Every error a Store returns wraps exactly one of them
// (or a context error when the context ended), so callers branch with
// errors.Is and never on message text. They are the kinds of package errs,
// shared with the directory, the vault and auth.
var (
	// ErrNotFound: the thing does not exist in the org the call named. An id
	// that exists only in another org is not found too: nothing read or
	// written through org A can tell that an org-B row exists.
	ErrNotFound = errs.NotFound
	// ErrConflict: the thing already exists (a unique key is taken), or an
	// optimistic-concurrency check (ResourceUpdate.IfVersion) failed.
	ErrConflict = errs.Conflict
	// ErrInvalid: the input is malformed (bad identifier, bad JSON, bad
	// cursor, page size out of range, binding with both or neither of role
	// and actions, use of a finished transaction...). Retrying the same call
	// cannot succeed.
	ErrInvalid = errs.Invalid
	// ErrRefused: the change would leave dangling references and the caller
	// did not ask for a cascade (deleting a namespace that still holds
	// resources or bindings), or it is never allowed (deleting the default
	// namespace). It is also an ErrConflict.
	ErrRefused = errs.Refused
	// ErrBackend: the database failed (unreachable, I/O error, a constraint
	// the store did not expect). The cause is kept in the chain for logs
	// but never in the message. The write, if any, did not commit — except
	// for the unavoidable ambiguity of a failed COMMIT.
	ErrBackend = errs.Unavailable
)

// Error is the error type of the store (Pkg "store"). Its message is built
// only from the operation, caller-supplied keys (Msg) and the kind, never
// from driver text; the driver error stays reachable through errors.As /
// errors.Unwrap for logging.
type Error = errs.Error

// Errorf returns an *Error of kind (a sentinel or a context error); detail
// is used verbatim. Backends use it; it is exported so that every store
// error has one shape.
func Errorf(kind error, op, detail string, cause error) error {
	return &Error{Pkg: "store", Op: op, Msg: detail, Kind: kind, Cause: cause}
}
