package client

import (
	"context"
	"net/http"
	"net/url"
	"strconv"

	"github.com/gatehouse-dev/gatehouse/api"
)

// Bulk writes and user provisioning.
type (
	WriteChange          = api.WriteChange
	WriteResult          = api.WriteResult
	ProvisionUserRequest = api.ProvisionUserRequest
)

// MaxWrites is the most changes one Write sends.
const MaxWrites = api.MaxWrites

// ProvisionUser creates a new user as a member of req.Org with req.Role,
// without an invitation (members:create in that org). It never reaches an
// existing user (a conflict when the id or email is taken) and returns no
// credential.
func (c *Client) ProvisionUser(ctx context.Context, req ProvisionUserRequest) (User, uint64, error) {
	return writeItem[User](ctx, c, http.MethodPost, "/v1/users", req)
}

// Write makes 1 to MaxWrites changes in org in one transaction under one
// revision, all or none; each is authorized and audited as if sent alone.
// A failed change's error says which ("change N: …", or the field
// "changes[N].…").
func (c *Client) Write(ctx context.Context, org string, changes []WriteChange) (WriteResult, error) {
	var out WriteResult
	err := c.do(ctx, request{method: http.MethodPost, path: orgPath(org) + "/writes", body: api.WriteRequest{Changes: changes}, idem: write}, &out)
	if err == nil {
		noteWarnings(ctx, out.Warnings)
	}
	return out, err
}

// MyResourcesPage is one page of LookupMyResources.
type MyResourcesPage = api.MeLookupResourcesResponse

// LookupMyResources lists the resources the caller may do action
// ("chains:run") on in every org it is a member of (a key confined to an
// org: that org), optionally in one namespace of each, one page at a time:
// pass the previous page's NextCursor as cursor ("" to start).
func (c *Client) LookupMyResources(ctx context.Context, action, namespace string, pageSize int, cursor string, opts ...CallOption) (MyResourcesPage, error) {
	o := applyCall(opts)
	q := url.Values{"action": {action}}
	if namespace != "" {
		q.Set("namespace", namespace)
	}
	if pageSize > 0 {
		q.Set("page_size", strconv.Itoa(pageSize))
	}
	if cursor != "" {
		q.Set("cursor", cursor)
	}
	if o.atLeast > 0 {
		q.Set("at_least", strconv.FormatUint(o.atLeast, 10))
	}
	var out MyResourcesPage
	err := c.do(ctx, request{method: http.MethodGet, path: "/v1/me/lookup/resources", query: q, idem: safe}, &out)
	return out, err
}
