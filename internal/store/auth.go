package store

import (
	"context"
	"time"
)

// Authentication data: API keys and invitations. They are deployment-wide
// rows (an API key is found by its id alone, before anyone is known), so
// their changelog entries have Change.Org "" like users, and the engine
// never sees them. The store keeps only hashes of their secrets; the
// meaning of a key (who it acts as, whether it is still good) is decided
// by internal/auth.
//
// Invariants the conformance suite checks:
//
//   - Secrets are never stored: Hash is 32 bytes (a SHA-256) and is
//     returned by GetAPIKey and GetInvitation only; list methods and
//     changelog payloads leave it out.
//   - Keys and invitations are never deleted, only revoked (and, for
//     invitations, accepted), so an id is never reused.
//   - Acceptance is single-use: AcceptInvitation succeeds once, under the
//     write lock, until ReleaseInvitation undoes it.

// APIKey is a credential of a user or a service. The secret itself is not
// stored; Hash is its SHA-256.
type APIKey struct {
	ID string `json:"id"` // public key id, part of the token
	// Org confines the key to one org; "" is a personal user key that
	// acts as the user in every org it is a member of.
	Org       string `json:"org,omitempty"`
	Principal string `json:"principal"` // "user:<id>" or "service:<name>"
	Name      string `json:"name,omitempty"`
	Hash      []byte `json:"-"`
	// PrincipalCreatedAt and OrgCreatedAt bind the key to the incarnation
	// of its principal and org: a principal or org deleted and created
	// again under the same name has another creation time, and the old
	// key no longer authenticates.
	PrincipalCreatedAt time.Time `json:"-"`
	OrgCreatedAt       time.Time `json:"-"`
	CreatedBy          string    `json:"created_by"`
	CreatedAt          time.Time `json:"created_at"`
	ExpiresAt          time.Time `json:"expires_at,omitzero"` // zero: never
	RevokedAt          time.Time `json:"revoked_at,omitzero"`
	LastUsedAt         time.Time `json:"last_used_at,omitzero"` // recorded in batches
}

// APIKeyFilter narrows ListAPIKeys. Org is exact: "" lists personal keys.
type APIKeyFilter struct {
	Org       string
	Principal string // exact principal; "" matches every principal
	// Minted: only keys minted for their principal by someone else
	// (CreatedBy set and not the principal: a service's key created by a
	// member), whose use depends on their minter (DESIGN §1.2).
	Minted bool
	// CreatedBy: only keys created by this principal; "" matches any.
	CreatedBy string
}

// Invitation is an invitation to join an org with a role. The token's
// secret is not stored; Hash is its SHA-256.
type Invitation struct {
	ID           string    `json:"id"`
	Org          string    `json:"org"`
	Email        string    `json:"email"`
	Role         string    `json:"role"`
	InvitedBy    string    `json:"invited_by"` // principal id
	Hash         []byte    `json:"-"`
	OrgCreatedAt time.Time `json:"-"`
	CreatedAt    time.Time `json:"created_at"`
	ExpiresAt    time.Time `json:"expires_at"`
	AcceptedAt   time.Time `json:"accepted_at,omitzero"`
	AcceptedBy   string    `json:"accepted_by,omitempty"` // user id
	RevokedAt    time.Time `json:"revoked_at,omitzero"`
}

// Changelog kinds of authentication data (Change.Org is "").
const (
	KindAPIKeyPut     Kind = "apikey.put"     // APIKey (without hash)
	KindInvitationPut Kind = "invitation.put" // Invitation (without hash)
)

// APIKeyReader reads API keys.
type APIKeyReader interface {
	// GetAPIKey returns the key with its hash. ErrNotFound.
	GetAPIKey(ctx context.Context, id string) (APIKey, error)
	// ListAPIKeys lists keys matching f ordered by id, without hashes.
	ListAPIKeys(ctx context.Context, f APIKeyFilter, p Page) ([]APIKey, string, error)
}

// APIKeyWriter changes API keys.
type APIKeyWriter interface {
	// CreateAPIKey stores a key; CreatedAt is the transaction's time.
	// ErrInvalid for a malformed id, principal, name or a hash that is not
	// 32 bytes; ErrConflict if the id is taken.
	CreateAPIKey(ctx context.Context, k APIKey) (APIKey, error)
	// RevokeAPIKey marks the key revoked now. ErrNotFound; ErrConflict if
	// it is already revoked.
	RevokeAPIKey(ctx context.Context, id string) (APIKey, error)
}

// APIKeyUsage records when keys were last used. It is bookkeeping, not a
// change of the directory: it runs outside Write, commits no revision and
// writes no changelog entry.
type APIKeyUsage interface {
	// RecordAPIKeyUse sets each key's last-used time to the given time if
	// it is later than the recorded one; unknown ids are ignored.
	RecordAPIKeyUse(ctx context.Context, uses map[string]time.Time) error
}

// InvitationReader reads invitations.
type InvitationReader interface {
	// GetInvitation returns the invitation with its hash. ErrNotFound.
	GetInvitation(ctx context.Context, id string) (Invitation, error)
	// ListInvitations lists the org's invitations ordered by id, without
	// hashes.
	ListInvitations(ctx context.Context, org string, p Page) ([]Invitation, string, error)
}

// InvitationWriter changes invitations. Expiry is the caller's to check.
type InvitationWriter interface {
	// CreateInvitation stores an invitation; CreatedAt is the
	// transaction's time. ErrNotFound if the org does not exist;
	// ErrInvalid for malformed fields or a hash that is not 32 bytes;
	// ErrConflict if the id is taken.
	CreateInvitation(ctx context.Context, inv Invitation) (Invitation, error)
	// AcceptInvitation marks the invitation accepted by userID now.
	// ErrNotFound; ErrConflict if it is already accepted or revoked.
	AcceptInvitation(ctx context.Context, id, userID string) (Invitation, error)
	// ReleaseInvitation undoes an acceptance whose follow-up failed.
	// ErrNotFound; ErrConflict if it is not accepted.
	ReleaseInvitation(ctx context.Context, id string) (Invitation, error)
	// RevokeInvitation marks the invitation revoked now. ErrNotFound;
	// ErrConflict if it is already accepted or revoked.
	RevokeInvitation(ctx context.Context, id string) (Invitation, error)
}
