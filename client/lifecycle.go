package client

import (
	"context"
	"net/http"
	"net/url"

	"github.com/gatehouse-dev/gatehouse/api"
)

// Agent lifecycles (docs/agents.md): sponsors, attestation, suspension.

// AttestAgent records that the caller, a sponsor of the agent, vouches for
// it now (lifting attestation_due and inactive).
func (c *Client) AttestAgent(ctx context.Context, org, name string) (Agent, uint64, error) {
	return writeItem[Agent](ctx, c, http.MethodPost, orgPath(org)+"/agents/"+seg(name)+"/attest", nil)
}

// SetOrgLifecycle replaces the org's suspension rules for agents (days;
// 0: off).
func (c *Client) SetOrgLifecycle(ctx context.Context, org string, l OrgLifecycle) (Org, uint64, error) {
	return writeItem[Org](ctx, c, http.MethodPut, orgPath(org)+"/lifecycle", l)
}

// ListAgentsByStatus lists the agents in status: "active", "suspended"
// (any reason), or one reason ("sponsor_gone", "inactive",
// "attestation_due", "expired").
func (c *Client) ListAgentsByStatus(ctx context.Context, org, status string, o *ListOptions) (List[Agent], error) {
	return list[Agent](ctx, c, orgPath(org)+"/agents", url.Values{"status": {status}}, o)
}

// Reach is a principal's blast radius: everything it could do if
// hijacked ("agent:Triage", "user:bob", "service:ci").
func (c *Client) Reach(ctx context.Context, org, principal string) (Reach, error) {
	return get[Reach](ctx, c, orgPath(org)+"/principals/"+seg(principal)+"/reach", nil)
}

// asOf adds the point in time of AsOf / AsOfRevision to a check body.
func (o callOptions) asOf(b api.CheckRequest) api.CheckRequest {
	b.AtTime, b.AtRevision = o.atTime, o.atRevision
	return b
}
