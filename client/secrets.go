package client

import (
	"context"
	"github.com/gatehouse-dev/gatehouse/api"
	"net/http"
	"net/url"
	"strconv"
)

// Secrets vault and run tokens (DESIGN §2). A value is sent only in the
// request that sets it and received only from RevealSecret (secrets:read)
// and ExchangeRunToken (the runtime); the types that carry values never
// print them (String), so a value logged by mistake shows as hidden.

type secretRotate = api.SecretRotate

type exchangeRequest = api.ExchangeRequest

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

// ForceDeleteSecret deletes a secret even when resource specs reference
// it (their runs will then fail; the audit entry records the force).
func (c *Client) ForceDeleteSecret(ctx context.Context, org, ns, name string) (uint64, error) {
	return writeRev(ctx, c, http.MethodDelete, secretPath(org, ns, name), url.Values{"force": {"true"}}, nil)
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
func (c *Client) RunToken(ctx context.Context, org string, ref ResourceRef, req RunRequest) (RunGrant, error) {
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
