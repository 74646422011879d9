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

// MintAgentToken mints a short-lived token for agent name, bound to
// req.Audience (the absolute URL of the one endpoint that will accept it,
// e.g. an MCP gateway endpoint), optionally on behalf of a member user.
// The token is shown once; every API route refuses it.
func (c *Client) MintAgentToken(ctx context.Context, org, name string, req AgentTokenRequest) (AgentToken, error) {
	var out AgentToken
	err := c.do(ctx, request{method: http.MethodPost, path: orgPath(org) + "/agents/" + seg(name) + "/tokens", body: req, idem: write}, &out)
	return out, err
}

// ListAgentTokens lists agent name's unexpired tokens, newest first, with
// their revocation if any; never a token itself (apikeys:read). name ""
// lists every agent's tokens in the org.
func (c *Client) ListAgentTokens(ctx context.Context, org, name string, o *ListOptions) (List[AgentTokenInfo], error) {
	if name == "" {
		return list[AgentTokenInfo](ctx, c, orgPath(org)+"/agent-tokens", nil, o)
	}
	return list[AgentTokenInfo](ctx, c, orgPath(org)+"/agents/"+seg(name)+"/tokens", nil, o)
}

// RevokeAgentToken revokes agent name's token id (the token_id minting
// returned): it is refused at its next use. Revoking it again is a
// conflict (apikeys:delete, and the agent not above the caller).
func (c *Client) RevokeAgentToken(ctx context.Context, org, name, id string) (uint64, error) {
	return writeRev(ctx, c, http.MethodDelete, orgPath(org)+"/agents/"+seg(name)+"/tokens/"+seg(id), nil, nil)
}

// PatchService changes a service's attributes, sponsors or lifecycle
// opt-in (nil fields keep their value).
func (c *Client) PatchService(ctx context.Context, org, name string, p ServicePatch) (Service, uint64, error) {
	return writeItem[Service](ctx, c, http.MethodPatch, orgPath(org)+"/services/"+seg(name), p)
}

// AttestService records that the caller, a sponsor of the service, vouches
// for it now (lifting attestation_due and inactive).
func (c *Client) AttestService(ctx context.Context, org, name string) (Service, uint64, error) {
	return writeItem[Service](ctx, c, http.MethodPost, orgPath(org)+"/services/"+seg(name)+"/attest", nil)
}

// ListServicesByStatus lists the services in status: "active",
// "suspended" (any reason), or one reason ("sponsor_gone", "inactive",
// "attestation_due").
func (c *Client) ListServicesByStatus(ctx context.Context, org, status string, o *ListOptions) (List[Service], error) {
	return list[Service](ctx, c, orgPath(org)+"/services", url.Values{"status": {status}}, o)
}

// SuspendService suspends a service by hand: every decision for it is
// deny (reason suspended) and its API keys and run-token exchanges are
// refused until ResumeService.
func (c *Client) SuspendService(ctx context.Context, org, name string) (Service, uint64, error) {
	return writeItem[Service](ctx, c, http.MethodPost, orgPath(org)+"/services/"+seg(name)+"/suspend", nil)
}

// ResumeService lifts a service's suspension.
func (c *Client) ResumeService(ctx context.Context, org, name string) (Service, uint64, error) {
	return writeItem[Service](ctx, c, http.MethodPost, orgPath(org)+"/services/"+seg(name)+"/resume", nil)
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
