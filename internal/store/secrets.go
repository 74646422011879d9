package store

import (
	"context"
	"time"

	"github.com/gatehouse-dev/gatehouse/authz"
)

// The secrets vault as the store keeps it (internal/vault seals, opens and
// authorizes; the store never sees a plaintext value or a key).
//
//   - Ciphertext only. A SecretVersion carries the sealed value, the
//     wrapped data key and the id of the master key that wraps it; none of
//     them is ever in a changelog payload, an error message or JSON
//     (json:"-"). Changelog entries of secrets (secret.put, secret.delete)
//     carry the metadata (Secret) only.
//   - Versions are dense from 1 and immutable except for re-wrapping:
//     RewrapSecretVersion replaces a version's wrapped data key and key id
//     and never touches its ciphertext. A secret's current version is its
//     newest.
//   - Secrets live in a namespace: creating one in a namespace that does
//     not exist is ErrNotFound; deleting a namespace that still holds
//     secrets is ErrRefused even with DeleteOptions.Cascade (credentials
//     are deleted one by one, through the vault, never as a side effect);
//     deleting the org deletes them.
//   - Bookkeeping writes (TouchSecrets, run tokens, vault keys, re-wraps)
//     are unlogged: they commit without a changelog entry or a new
//     revision, like audit rows.
//   - Run tokens are stored by the SHA-256 of the token, never the token.

// Secret is a vault secret's metadata: everything about it except its
// value.
type Secret struct {
	Org         string    `json:"org"`
	Namespace   string    `json:"namespace"`
	Name        string    `json:"name"` // [A-Z_][A-Z0-9_]*, at most 128 bytes
	Description string    `json:"description,omitempty"`
	Version     uint64    `json:"version"` // current (newest) version, from 1
	ExpiresAt   time.Time `json:"expires_at,omitzero"`
	// ReferableBy restricts who may reference the secret from a resource
	// spec: principal ids ("user:bob", "team:builders", "agent:x",
	// "service:y") and roles ("role:builder"). Empty: anyone who may list
	// secrets in its namespace.
	ReferableBy []string  `json:"referable_by,omitempty"`
	CreatedBy   string    `json:"created_by"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedBy   string    `json:"updated_by"`
	UpdatedAt   time.Time `json:"updated_at"`
	RotatedAt   time.Time `json:"rotated_at,omitzero"`
	LastUsedAt  time.Time `json:"last_used_at,omitzero"`
}

// SecretKey renders a secret's changelog key, "<namespace>/<name>".
func SecretKey(namespace, name string) string { return namespace + "/" + name }

// SecretVersion is one sealed version of a secret.
type SecretVersion struct {
	Org       string `json:"org"`
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	Version   uint64 `json:"version"`
	// KeyID is the master key that wraps WrappedKey.
	KeyID uint32 `json:"key_id"`
	// WrappedKey and Ciphertext are opaque to the store (the vault's
	// envelope format); nil in lists.
	WrappedKey []byte    `json:"-"`
	Ciphertext []byte    `json:"-"`
	CreatedBy  string    `json:"created_by"`
	CreatedAt  time.Time `json:"created_at"`
}

// SealedSecret is a secret's metadata with its current sealed version.
type SealedSecret struct {
	Secret  Secret
	Current SecretVersion
}

// SecretUpdate changes a secret. Nil fields keep their value.
type SecretUpdate struct {
	Org, Namespace, Name string
	Description          *string
	ExpiresAt            *time.Time // the zero time clears the expiry
	ReferableBy          *[]string
	// NewVersion, when set, is stored as the next version: its Version must
	// be the current version + 1 (ErrConflict otherwise), since the vault
	// seals for a known version number.
	NewVersion *SecretVersion
	// Rotated stamps RotatedAt (a rotation rather than an edit).
	Rotated bool
	Author  string
	// IfVersion, when not 0, makes the update ErrConflict unless the
	// current version is IfVersion.
	IfVersion uint64
}

// SecretFilter narrows ListSecrets; zero fields match everything.
type SecretFilter struct {
	Namespace string
}

// SecretVersionKey names one secret version (for paging through every
// version, deployment-wide, when re-wrapping).
type SecretVersionKey struct {
	Org, Namespace, Name string
	Version              uint64
}

// RunToken is a single-use grant to release a resource's referenced
// secrets to a runtime.
type RunToken struct {
	Org string `json:"org"`
	// ID is the lower-case hex SHA-256 of the token; the token itself is
	// never stored.
	ID              string            `json:"id"`
	Resource        authz.ResourceRef `json:"resource"`
	ResourceVersion uint64            `json:"resource_version"`
	Secrets         []string          `json:"secrets"` // names released, sorted, unique
	IssuedBy        string            `json:"issued_by"`
	// Runtime, when set, is the only principal that may exchange it.
	Runtime   string    `json:"runtime,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"`
	UsedAt    time.Time `json:"used_at,omitzero"`
	UsedBy    string    `json:"used_by,omitempty"`
	// ApprovalID is the approval the token's run consumed ("" for none):
	// the issuer's right to run is then the policy's allow but for an
	// `ask before` rule (the approval lifted it), at exchange as at issue.
	ApprovalID string `json:"approval_id,omitempty"`
	// OnBehalfOf is the user the issuer acted for ("" for none): an
	// exchange checks the issuer's right to run on that user's behalf.
	OnBehalfOf string `json:"on_behalf_of,omitempty"`
}

// VaultKey records a master key id the deployment has used, with a key
// check value (a known plaintext sealed under that key) so that a wrong
// key is found before anything is written. The key itself is never
// stored.
type VaultKey struct {
	ID        uint32    `json:"id"`
	Check     []byte    `json:"-"`
	CreatedAt time.Time `json:"created_at"`
	RetiredAt time.Time `json:"retired_at,omitzero"`
}

// SecretReader reads secrets, run tokens and vault keys.
type SecretReader interface {
	// GetSecret returns a secret's metadata. ErrNotFound.
	GetSecret(ctx context.Context, org, namespace, name string) (Secret, error)
	// ListSecrets lists secrets matching f ordered by (namespace, name).
	ListSecrets(ctx context.Context, org string, f SecretFilter, p Page) ([]Secret, string, error)
	// GetSecretVersion returns one sealed version (0: the current one).
	// ErrNotFound if the secret or version does not exist.
	GetSecretVersion(ctx context.Context, org, namespace, name string, version uint64) (SecretVersion, error)
	// ListSecretVersions lists versions newest first, without the sealed
	// bytes. ErrNotFound if the secret does not exist.
	ListSecretVersions(ctx context.Context, org, namespace, name string, p Page) ([]SecretVersion, string, error)
	// GetSealedSecrets returns, in one read, the named secrets of the
	// namespace with their current sealed versions, ordered by name; names
	// that do not exist are left out.
	GetSealedSecrets(ctx context.Context, org, namespace string, names []string) ([]SealedSecret, error)
	// GetRunToken returns a run token by id. ErrNotFound.
	GetRunToken(ctx context.Context, org, id string) (RunToken, error)
	// ListVaultKeys lists the recorded master key ids, ascending.
	ListVaultKeys(ctx context.Context) ([]VaultKey, error)
	// CountSecretVersionsByKey counts, deployment-wide, the versions each
	// master key id wraps.
	CountSecretVersionsByKey(ctx context.Context) (map[uint32]int64, error)
	// ListSecretVersionsByKey returns, deployment-wide and with the sealed
	// bytes, up to limit versions wrapped by keyID that sort after `after`
	// (the zero key: from the start), ordered by (org, namespace, name,
	// version). ErrInvalid for a limit outside 1..MaxPageSize.
	ListSecretVersionsByKey(ctx context.Context, keyID uint32, after SecretVersionKey, limit int) ([]SecretVersion, error)
}

// SecretWriter changes secrets, run tokens and vault keys.
type SecretWriter interface {
	// CreateSecret creates a secret with its first version v (v.Version
	// must be 1; s.Version is ignored). ErrNotFound if the org or namespace
	// does not exist; ErrConflict if the name is taken in the namespace;
	// ErrInvalid for malformed fields or sealed bytes that are empty or
	// larger than MaxSealedBytes. Changelog: secret.put.
	CreateSecret(ctx context.Context, s Secret, v SecretVersion) (Secret, error)
	// UpdateSecret applies u. ErrNotFound, ErrInvalid, ErrConflict (see
	// SecretUpdate). Changelog: secret.put.
	UpdateSecret(ctx context.Context, u SecretUpdate) (Secret, error)
	// DeleteSecret deletes a secret and every version. ErrNotFound.
	// Changelog: secret.delete with the metadata as it was.
	DeleteSecret(ctx context.Context, org, namespace, name string) error
	// TouchSecrets sets LastUsedAt of the named secrets to the
	// transaction's time (names that do not exist are skipped). Unlogged.
	TouchSecrets(ctx context.Context, org, namespace string, names []string) error
	// CreateRunToken stores t (CreatedAt is the transaction's time) and
	// deletes the org's tokens that expired before it. ErrInvalid;
	// ErrConflict if the id exists. Unlogged.
	CreateRunToken(ctx context.Context, t RunToken) (RunToken, error)
	// UseRunToken marks the token used by usedBy now and returns it as it
	// is after the change. ErrNotFound if it does not exist; ErrConflict if
	// it was used already. It does not check expiry (the caller does, under
	// the same write lock). Unlogged.
	UseRunToken(ctx context.Context, org, id, usedBy string) (RunToken, error)
	// PutVaultKey records a master key id and its key check. ErrConflict
	// if the id is recorded; ErrInvalid. Unlogged.
	PutVaultKey(ctx context.Context, k VaultKey) error
	// RetireVaultKey marks a key id retired. ErrNotFound if it is not
	// recorded; ErrRefused while some version is still wrapped by it.
	// Unlogged.
	RetireVaultKey(ctx context.Context, id uint32) error
	// RewrapSecretVersion replaces the key id and wrapped data key of the
	// version v names, keeping its ciphertext. ErrNotFound; ErrInvalid.
	// Unlogged.
	RewrapSecretVersion(ctx context.Context, v SecretVersion) error
}

// Vault size limits, enforced with ErrInvalid.
const (
	MaxSecretNameBytes = 128
	MaxSecretDescBytes = 1024
	MaxSealedBytes     = 128 << 10 // one sealed value or wrapped key
	MaxReferableBy     = 64        // entries of Secret.ReferableBy
	MaxRunTokenSecrets = 256       // names one run token releases
)

// Changelog kinds of secrets.
const (
	KindSecretPut    Kind = "secret.put"    // Secret (metadata only)
	KindSecretDelete Kind = "secret.delete" // Secret (metadata as it was)
)
