package client

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
)

// Identity, API keys, invitations and the meta endpoints.

// Me says who the caller is, its orgs and its permissions in each (in
// namespace; "" means "default").
func (c *Client) Me(ctx context.Context, namespace string) (Me, error) {
	var q url.Values
	if namespace != "" {
		q = url.Values{"namespace": {namespace}}
	}
	return get[Me](ctx, c, "/v1/me", q)
}

// CreateSession exchanges the client's user API key for a short-lived
// session token.
func (c *Client) CreateSession(ctx context.Context) (Session, error) {
	var out Session
	err := c.do(ctx, request{method: http.MethodPost, path: "/v1/sessions", idem: write}, &out)
	return out, err
}

// AcceptInvitation redeems an invitation token. A client without a
// credential accepts anonymously: the server creates a new user with the
// invited email and the membership, and the answer carries a session for
// that user (401 if a user already has the email). A client with a user's
// own credential (personal key or session) accepts as that user: the
// invited email must be the user's (403 otherwise), only the membership is
// added, and the answer carries no session. An unknown token is a 401, a
// used, revoked or expired one a 410 (IsGone).
func (c *Client) AcceptInvitation(ctx context.Context, req AcceptRequest) (Accepted, error) {
	var out Accepted
	err := c.do(ctx, request{method: http.MethodPost, path: "/v1/invitations/accept", body: req, idem: write}, &out)
	return out, err
}

func keysPath(org string) string {
	if org == "" {
		return "/v1/apikeys"
	}
	return orgPath(org) + "/apikeys"
}

// CreateKey creates an API key: a personal key of the caller (a user,
// valid in all its orgs) when org is "", else a key confined to org, for
// the caller or (apikeys:create) for a member user or a service. The
// token is in the answer only.
func (c *Client) CreateKey(ctx context.Context, org string, spec KeySpec) (KeyCreated, error) {
	var out KeyCreated
	err := c.do(ctx, request{method: http.MethodPost, path: keysPath(org), body: spec, idem: write}, &out)
	return out, err
}

// ListKeys lists API keys: the caller's personal keys (org ""), or the
// org's (principal "" for all, which needs apikeys:read).
func (c *Client) ListKeys(ctx context.Context, org, principal string, o *ListOptions) (List[APIKey], error) {
	q := url.Values{}
	if principal != "" && org != "" {
		q.Set("principal", principal)
	}
	return list[APIKey](ctx, c, keysPath(org), q, o)
}

// GetKey gets an API key's metadata.
func (c *Client) GetKey(ctx context.Context, org, id string) (APIKey, error) {
	return get[APIKey](ctx, c, keysPath(org)+"/"+seg(id), nil)
}

// RevokeKey revokes an API key; it stops working at once.
func (c *Client) RevokeKey(ctx context.Context, org, id string) (uint64, error) {
	return writeRev(ctx, c, http.MethodDelete, keysPath(org)+"/"+seg(id), nil, nil)
}

// Invite invites an email address to the org with a role; the token is in
// the answer only and expires in 7 days.
func (c *Client) Invite(ctx context.Context, org, email, role string) (InvitationCreated, error) {
	var out InvitationCreated
	err := c.do(ctx, request{method: http.MethodPost, path: orgPath(org) + "/invitations", body: map[string]string{"email": email, "role": role}, idem: write}, &out)
	return out, err
}

// ListInvitations lists the org's invitations.
func (c *Client) ListInvitations(ctx context.Context, org string, o *ListOptions) (List[Invitation], error) {
	return list[Invitation](ctx, c, orgPath(org)+"/invitations", nil, o)
}

// RevokeInvitation revokes a pending invitation.
func (c *Client) RevokeInvitation(ctx context.Context, org, id string) (uint64, error) {
	return writeRev(ctx, c, http.MethodDelete, orgPath(org)+"/invitations/"+seg(id), nil, nil)
}

// --- meta

// Healthz reports liveness.
func (c *Client) Healthz(ctx context.Context) (Health, error) {
	var out Health
	err := c.do(ctx, request{method: http.MethodGet, path: "/healthz", public: true}, &out)
	return out, err
}

// Readyz reports readiness. When the server is not ready the answer is a
// 503: the error is a *Error (IsUnavailable) and Health still carries what
// the server said.
func (c *Client) Readyz(ctx context.Context) (Health, error) {
	r := request{method: http.MethodGet, path: "/readyz", public: true}
	res, body, err := c.send(ctx, r)
	if err != nil {
		return Health{}, err
	}
	var h Health
	derr := json.Unmarshal(body, &h)
	if res.StatusCode != http.StatusOK {
		e := errorFrom(r, res, body)
		if derr == nil && h.Detail != "" {
			e.Detail = h.Detail
		}
		return h, e
	}
	return h, derr
}

// OpenAPI returns the server's OpenAPI 3.1 document.
func (c *Client) OpenAPI(ctx context.Context) (json.RawMessage, error) {
	var out json.RawMessage
	err := c.do(ctx, request{method: http.MethodGet, path: "/v1/openapi.json", public: true}, &out)
	return out, err
}

// Metrics returns the server's Prometheus metrics (text exposition
// format). The server serves them only to its metrics token (not to API
// keys): call it on c.WithToken(metricsToken).
func (c *Client) Metrics(ctx context.Context) (string, error) {
	r := request{method: http.MethodGet, path: "/metrics"}
	res, body, err := c.send(ctx, r)
	if err != nil {
		return "", err
	}
	if res.StatusCode != http.StatusOK {
		return "", errorFrom(r, res, body)
	}
	return string(body), nil
}
