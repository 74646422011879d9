package api

import (
	"time"
)

// Secret is a secret's metadata (never its value).
type Secret struct {
	Org         string    `json:"org"`
	Namespace   string    `json:"namespace"`
	Name        string    `json:"name"`
	Description string    `json:"description,omitempty"`
	Version     uint64    `json:"version"`
	ExpiresAt   time.Time `json:"expires_at,omitzero"`
	ReferableBy []string  `json:"referable_by,omitempty"`
	CreatedBy   string    `json:"created_by"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedBy   string    `json:"updated_by"`
	UpdatedAt   time.Time `json:"updated_at"`
	RotatedAt   time.Time `json:"rotated_at,omitzero"`
	LastUsedAt  time.Time `json:"last_used_at,omitzero"`
}

// SecretVersion is one version of a secret (never its value).
type SecretVersion struct {
	Org       string    `json:"org"`
	Namespace string    `json:"namespace"`
	Name      string    `json:"name"`
	Version   uint64    `json:"version"`
	KeyID     uint32    `json:"key_id"` // the master key that wraps it
	CreatedBy string    `json:"created_by"`
	CreatedAt time.Time `json:"created_at"`
}

// SecretCreate creates a secret with its first value.
type SecretCreate struct {
	Name        string     `json:"name"` // [A-Z_][A-Z0-9_]*
	Value       *string    `json:"value"`
	Description string     `json:"description,omitempty"`
	ExpiresAt   *time.Time `json:"expires_at,omitempty"`
	// ReferableBy restricts who may reference it from a resource spec:
	// principals and roles ("role:builder"); empty means anyone with
	// secrets:list.
	ReferableBy []string `json:"referable_by,omitempty"`
}

// SecretPatch changes a secret; nil fields keep their value. A Value makes
// a new version (secrets:update).
type SecretPatch struct {
	Value       *string    `json:"value,omitempty"`
	Description *string    `json:"description,omitempty"`
	ExpiresAt   *time.Time `json:"expires_at,omitempty"`
	ClearExpiry bool       `json:"clear_expiry,omitempty"`
	ReferableBy *[]string  `json:"referable_by,omitempty"`
	IfVersion   uint64     `json:"if_version,omitempty"`
}

// SecretValue is a revealed value.
type SecretValue struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	Version   uint64 `json:"version"`
	Value     string `json:"value"`
}

// RunRequest asks for a run token.
type RunRequest struct {
	// Runtime, when set, is the only service principal that may exchange
	// the token ("service:runner").
	Runtime string `json:"runtime,omitempty"`
	// TTLSeconds shortens the token's life below the server's default.
	TTLSeconds int `json:"ttl_seconds,omitempty"`
}

// RunGrant is a run token: short-lived, single-use, releasing exactly the
// secrets the resource's spec references.
type RunGrant struct {
	Token           string      `json:"token"`
	TokenID         string      `json:"token_id"`
	Resource        ResourceRef `json:"resource"`
	ResourceVersion uint64      `json:"resource_version"`
	ExpiresAt       time.Time   `json:"expires_at"`
	Runtime         string      `json:"runtime,omitempty"`
	SecretCount     int         `json:"secret_count"`
	Secrets         []string    `json:"secrets,omitempty"`
}

// Release is what a run token's exchange hands the runtime.
type Release struct {
	Resource        ResourceRef `json:"resource"`
	ResourceVersion uint64      `json:"resource_version"`
	IssuedBy        string      `json:"issued_by"`
	Secrets         []Released  `json:"secrets"`
}

// Released is one secret of a release.
type Released struct {
	Name    string `json:"name"`
	Version uint64 `json:"version"`
	Value   string `json:"value"`
}
