package vault

import (
	"errors"
	"fmt"
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
	ErrNotFound = errors.New("not found")
	// ErrForbidden: the actor may see that the secret exists (it holds
	// secrets:list) but lacks the permission the operation needs.
	ErrForbidden = errors.New("forbidden")
	// ErrInvalid: malformed input (a name that is not [A-Z_][A-Z0-9_]*, a
	// value too large or not text, a bad spec reference, ...).
	ErrInvalid = errors.New("invalid")
	// ErrConflict: the secret already exists, or an if-version check
	// failed, or it is still referenced.
	ErrConflict = errors.New("conflict")
	// ErrTokenRefused: the run token is unknown, expired, already used, of
	// another org, or bound to a resource version that changed. The cases
	// are indistinguishable on purpose.
	ErrTokenRefused = errors.New("run token refused")
	// ErrNotCaughtUp: the decision engine did not reach the store's
	// revision in time; retry.
	ErrNotCaughtUp = errors.New("engine has not caught up")
	// ErrUnavailable: the storage backend failed.
	ErrUnavailable = errors.New("vault unavailable")

	// ErrNoMasterKey: no master key is configured.
	ErrNoMasterKey = errors.New("no master key configured")
	// ErrBadMasterKey: a configured master key is malformed.
	ErrBadMasterKey = errors.New("malformed master key")
	// ErrWrongMasterKey: a master key of the keyring is not the key the
	// database's secrets were sealed with (its key check fails).
	ErrWrongMasterKey = errors.New("wrong master key")
	// ErrKeyMissing: a ciphertext is wrapped by a master key the keyring
	// does not hold.
	ErrKeyMissing = errors.New("master key missing from the keyring")
	// ErrCorrupt: a ciphertext or wrapped key does not open: tampered with,
	// moved to another row, or sealed under another key.
	ErrCorrupt = errors.New("ciphertext does not open")
	// ErrCrypto: the system's random source or cipher failed.
	ErrCrypto = errors.New("cryptographic failure")
)

var errCorrupt = fmt.Errorf("%w (tampered, moved to another row, or sealed under another master key)", ErrCorrupt)

// Error is a vault error: an operation, the keys the caller named, and a
// kind (one of the sentinels). Cause keeps a lower-level error for logs;
// it never holds a value either.
type Error struct {
	Op    string // "reveal secret"
	Msg   string // `secret "OPENAI_API_KEY" in namespace "prod"`
	Kind  error
	Cause error
	// Permission and Namespace name, for ErrForbidden, what the actor
	// lacks and where ("secrets:read", "prod").
	Permission, Namespace string
	// Field names the malformed input, for ErrInvalid ("name", "value").
	Field string
}

func (e *Error) Error() string {
	s := "vault: " + e.Op
	if e.Msg != "" {
		s += ": " + e.Msg
	}
	return s + ": " + e.Kind.Error()
}

// Unwrap returns the kind and the cause.
func (e *Error) Unwrap() []error {
	if e.Cause != nil {
		return []error{e.Kind, e.Cause}
	}
	return []error{e.Kind}
}

func errorf(kind error, op, format string, args ...any) error {
	return &Error{Op: op, Msg: fmt.Sprintf(format, args...), Kind: kind}
}
