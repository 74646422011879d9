package client

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/gatehouse-dev/gatehouse/authz"
)

// Secrets vault and run tokens (DESIGN §2). A value is sent only in the
// request that sets it and received only from RevealSecret (secrets:read)
// and ExchangeRunToken (the runtime); the types that carry values never
// print them (String), so a value logged by mistake shows as hidden.

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

// SecretSpec creates a secret with its first value.
type SecretSpec struct {
	Name        string     `json:"name"` // [A-Z_][A-Z0-9_]*
	Value       *string    `json:"value"`
	Description string     `json:"description,omitempty"`
	ExpiresAt   *time.Time `json:"expires_at,omitempty"`
	// ReferableBy restricts who may reference it from a resource spec:
	// principals and roles ("role:builder"); empty means anyone with
	// secrets:list.
	ReferableBy []string `json:"referable_by,omitempty"`
}

// String hides the value.
func (s SecretSpec) String() string { return fmt.Sprintf("secret %s (value hidden)", s.Name) }

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

// String hides the value.
func (p SecretPatch) String() string { return "secret patch (value hidden)" }

type secretRotate struct {
	Value     *string `json:"value"`
	IfVersion uint64  `json:"if_version,omitempty"`
}

// SecretValue is a revealed value.
type SecretValue struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	Version   uint64 `json:"version"`
	Value     string `json:"value"`
}

// String hides the value.
func (v SecretValue) String() string {
	return fmt.Sprintf("secret %s/%s version %d (value hidden)", v.Namespace, v.Name, v.Version)
}

// GoString hides the value.
func (v SecretValue) GoString() string { return v.String() }

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
	Token           string            `json:"token"`
	TokenID         string            `json:"token_id"`
	Resource        authz.ResourceRef `json:"resource"`
	ResourceVersion uint64            `json:"resource_version"`
	ExpiresAt       time.Time         `json:"expires_at"`
	Runtime         string            `json:"runtime,omitempty"`
	SecretCount     int               `json:"secret_count"`
	Secrets         []string          `json:"secrets,omitempty"`
}

// String hides the token.
func (g RunGrant) String() string {
	return fmt.Sprintf("run token %s for %s/%s/%s version %d (token hidden)", g.TokenID, g.Resource.Namespace, g.Resource.Type, g.Resource.ID, g.ResourceVersion)
}

// GoString hides the token.
func (g RunGrant) GoString() string { return g.String() }

type exchangeRequest struct {
	Token string `json:"token"`
}

// Release is what a run token's exchange hands the runtime.
type Release struct {
	Resource        authz.ResourceRef `json:"resource"`
	ResourceVersion uint64            `json:"resource_version"`
	IssuedBy        string            `json:"issued_by"`
	Secrets         []Released        `json:"secrets"`
}

// Released is one secret of a release.
type Released struct {
	Name    string `json:"name"`
	Version uint64 `json:"version"`
	Value   string `json:"value"`
}

// String hides the values.
func (r Release) String() string {
	return fmt.Sprintf("release of %s/%s/%s version %d: %d secrets (values hidden)", r.Resource.Namespace, r.Resource.Type, r.Resource.ID, r.ResourceVersion, len(r.Secrets))
}

// GoString hides the values.
func (r Release) GoString() string { return r.String() }

// String hides the value.
func (r Released) String() string {
	return fmt.Sprintf("%s version %d (value hidden)", r.Name, r.Version)
}

// GoString hides the value.
func (r Released) GoString() string { return r.String() }

func secretsPath(org, ns string) string { return orgPath(org) + "/namespaces/" + seg(ns) + "/secrets" }

func secretPath(org, ns, name string) string { return secretsPath(org, ns) + "/" + seg(name) }

// ListAllSecrets lists secrets' metadata in every namespace where the
// caller holds secrets:list.
func (c *Client) ListAllSecrets(ctx context.Context, org string, o *ListOptions) (List[Secret], error) {
	return list[Secret](ctx, c, orgPath(org)+"/secrets", nil, o)
}

// ListSecrets lists a namespace's secrets' metadata (secrets:list).
func (c *Client) ListSecrets(ctx context.Context, org, ns string, o *ListOptions) (List[Secret], error) {
	return list[Secret](ctx, c, secretsPath(org, ns), nil, o)
}

// CreateSecret creates a secret with its first value.
func (c *Client) CreateSecret(ctx context.Context, org, ns string, spec SecretSpec) (Secret, uint64, error) {
	return writeItem[Secret](ctx, c, http.MethodPost, secretsPath(org, ns), spec)
}

// GetSecret gets a secret's metadata.
func (c *Client) GetSecret(ctx context.Context, org, ns, name string) (Secret, error) {
	return get[Secret](ctx, c, secretPath(org, ns, name), nil)
}

// UpdateSecret changes a secret's metadata or value.
func (c *Client) UpdateSecret(ctx context.Context, org, ns, name string, p SecretPatch) (Secret, uint64, error) {
	return writeItem[Secret](ctx, c, http.MethodPatch, secretPath(org, ns, name), p)
}

// DeleteSecret deletes a secret and every version. A secret that a
// resource spec references is refused with a conflict (IsConflict) naming
// the resources; the API's ?force=true (gatehouse secret delete --force)
// deletes it anyway.
func (c *Client) DeleteSecret(ctx context.Context, org, ns, name string) (uint64, error) {
	return writeRev(ctx, c, http.MethodDelete, secretPath(org, ns, name), nil, nil)
}

// RotateSecret replaces a secret's value with a new version (secrets:rotate);
// ifVersion, when not 0, must be the current version.
func (c *Client) RotateSecret(ctx context.Context, org, ns, name, value string, ifVersion uint64) (Secret, uint64, error) {
	return writeItem[Secret](ctx, c, http.MethodPost, secretPath(org, ns, name)+"/rotate", secretRotate{Value: &value, IfVersion: ifVersion})
}

// RevealSecret reveals a secret's value (secrets:read; audited): the
// current version, or version when not 0.
func (c *Client) RevealSecret(ctx context.Context, org, ns, name string, version uint64) (SecretValue, error) {
	var q url.Values
	if version > 0 {
		q = url.Values{"version": {strconv.FormatUint(version, 10)}}
	}
	return get[SecretValue](ctx, c, secretPath(org, ns, name)+"/value", q)
}

// ListSecretVersions lists a secret's versions, newest first (never values).
func (c *Client) ListSecretVersions(ctx context.Context, org, ns, name string, o *ListOptions) (List[SecretVersion], error) {
	return list[SecretVersion](ctx, c, secretPath(org, ns, name)+"/versions", nil, o)
}

// RunToken gets a run token for a resource the caller may run.
func (c *Client) RunToken(ctx context.Context, org string, ref authz.ResourceRef, req RunRequest) (RunGrant, error) {
	var out RunGrant
	err := c.do(ctx, request{method: http.MethodPost, path: resourcePath(org, ref) + "/runs", body: req, idem: write}, &out)
	return out, err
}

// ExchangeRunToken exchanges a run token for its secrets' values (a
// service principal allowed to run the resource; single use, so never
// retried after an ambiguous failure).
func (c *Client) ExchangeRunToken(ctx context.Context, org, token string) (Release, error) {
	var out Release
	err := c.do(ctx, request{method: http.MethodPost, path: orgPath(org) + "/runs/exchange", body: exchangeRequest{Token: token}, idem: write}, &out)
	return out, err
}
