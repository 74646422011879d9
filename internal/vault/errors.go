package vault

import (
	"fmt"

	"github.com/gatehouse-dev/gatehouse/internal/errs"
)

// Sentinel errors. Every error the vault returns wraps exactly one of them
// (or a context error), so interfaces map them to status codes with
// errors.Is:
//
//	ErrNotFound → 404, ErrForbidden → 403, ErrInvalid → 400,
//	ErrConflict → 409, ErrTokenRefused → 403, ErrNotCaughtUp and
//	ErrUnavailable → 503, everything else → 500.
//
// No error message ever contains a secret value, a data key, a master key
// or a run token: messages are built from the org, namespace, secret name
// and version the caller supplied, and fixed text.
var (
	// ErrNotFound: the secret (or org, namespace, version, resource) does
	// not exist, or the actor may not learn that it does: a principal
	// without secrets:list in a namespace gets ErrNotFound for every secret
	// there, exactly as for one that does not exist.
	ErrNotFound = errs.NotFound
	// ErrForbidden: the actor may see that the secret exists (it holds
	// secrets:list) but lacks the permission the operation needs.
	ErrForbidden = errs.Forbidden
	// ErrInvalid: malformed input (a name that is not [A-Z_][A-Z0-9_]*, a
	// value too large or not text, a bad spec reference, ...).
	ErrInvalid = errs.Invalid
	// ErrConflict: the secret already exists, or an if-version check
	// failed, or it is still referenced.
	ErrConflict = errs.Conflict
	// ErrTokenRefused: the run token is unknown, expired, already used, of
	// another org, or bound to a resource version that changed. The cases
	// are indistinguishable on purpose.
	ErrTokenRefused = errs.TokenRefused
	// ErrNotCaughtUp: the decision engine did not reach the store's
	// revision in time; retry.
	ErrNotCaughtUp = errs.NotCaughtUp
	// ErrUnavailable: the storage backend failed.
	ErrUnavailable = errs.Unavailable

	// ErrNoMasterKey: no master key is configured.
	ErrNoMasterKey = errs.NewKind("no master key configured", errs.Internal)
	// ErrBadMasterKey: a configured master key is malformed.
	ErrBadMasterKey = errs.NewKind("malformed master key", errs.Internal)
	// ErrWrongMasterKey: a master key of the keyring is not the key the
	// database's secrets were sealed with (its key check fails).
	ErrWrongMasterKey = errs.NewKind("wrong master key", errs.Internal)
	// ErrKeyMissing: a ciphertext is wrapped by a master key the keyring
	// does not hold.
	ErrKeyMissing = errs.NewKind("master key missing from the keyring", errs.Internal)
	// ErrCorrupt: a ciphertext or wrapped key does not open: tampered with,
	// moved to another row, or sealed under another key.
	ErrCorrupt = errs.NewKind("ciphertext does not open", errs.Internal)
	// ErrCrypto: the system's random source or cipher failed.
	ErrCrypto = errs.NewKind("cryptographic failure", errs.Internal)
)

var errCorrupt = fmt.Errorf("%w (tampered, moved to another row, or sealed under another master key)", ErrCorrupt)

// Error is a vault error (Pkg "vault"): an operation, the keys the caller
// named, and a kind (one of the sentinels). Cause keeps a lower-level
// error for logs; it never holds a value either. Permission and Scope
// name, for ErrForbidden, what the actor lacks and where; Field names the
// malformed input, for ErrInvalid ("name", "value").
type Error = errs.Error

// pkg is the vault's errs.Error Pkg.
const pkg = "vault"

func errorf(kind error, op, format string, args ...any) error {
	return &Error{Pkg: pkg, Op: op, Msg: fmt.Sprintf(format, args...), Kind: kind}
}
