package client

import (
	"context"
	"net/http"

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
	return out, err
}
