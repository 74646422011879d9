package server

import (
	"github.com/gatehouse-dev/gatehouse/api"

	"github.com/gatehouse-dev/gatehouse/internal/auth"
)

// Authentication routes: sessions, API keys, invitations.

func (c *call) caller() auth.Caller {
	return auth.Caller{Identity: c.id, ClientAddr: c.addr, RequestID: c.reqID}
}

func (s *Server) authRoutes() []*Route {
	keyList := func(org func(c *call) string) func(c *call, _ *noBody) (List[api.APIKey], error) {
		return func(c *call, _ *noBody) (List[api.APIKey], error) {
			p, err := c.page()
			if err != nil {
				return List[api.APIKey]{}, err
			}
			ks, next, err := s.auth.ListKeys(c.ctx, c.caller(), org(c), c.r.URL.Query().Get("principal"), p)
			return listOf(each(ks, apiAPIKey), next), err
		}
	}
	personal := func(*call) string { return "" }
	inOrg := func(c *call) string { return c.org() }
	return []*Route{
		route("POST", "/v1/sessions", "identity", "Exchange a user's API key (the bearer credential) for a short-lived session token (EdDSA JWT).",
			func(c *call, _ *noBody) (SessionResponse, error) {
				tok, id, err := s.auth.Session(c.ctx, c.caller())
				if err != nil {
					return SessionResponse{}, err
				}
				return SessionResponse{Token: tok, TokenType: "Bearer", ExpiresAt: id.Expires, Principal: id.Principal, Org: id.Org}, nil
			}).created(),
		route("POST", "/v1/invitations/accept", "identity", "Redeem an invitation token. Without credentials: creates a new user with the invited email and the membership, and returns a session for the new user (401 if a user already has the email: that user must accept it authenticated). With a user's own credential (personal key or session): adds the membership for the caller, whose email must be the invited one (403 otherwise), and returns no credential (user_id and display_name are then refused: 400). 401 for an unknown token, 410 for a used, revoked or expired one.",
			func(c *call, req *AcceptRequest) (AcceptResponse, error) {
				if c.r.Header.Get("Authorization") != "" {
					// Optional credentials: when one is presented it must be
					// valid (never a fallback to anonymous).
					id, err := s.authenticate(c)
					if err != nil {
						return AcceptResponse{}, err
					}
					c.id = id
				}
				acc, err := s.auth.AcceptInvitation(c.ctx, c.caller(), req.Token, req.UserID, req.DisplayName)
				if err != nil {
					return AcceptResponse{}, err
				}
				out := AcceptResponse{Revision: acc.Revision, User: apiUser(acc.User), Org: acc.Invitation.Org, Role: acc.Invitation.Role}
				if acc.Session != "" {
					out.Session = &SessionResponse{Token: acc.Session, TokenType: "Bearer", ExpiresAt: acc.Identity.Expires, Principal: acc.Identity.Principal}
				}
				return out, nil
			}).public().optionalAuth().created(),

		route("POST", "/v1/apikeys", "apikeys", "Create a personal API key (a user's own, valid in all its orgs; needs apikeys:create in every org the user is a member of); the token is shown once.",
			func(c *call, req *api.KeySpec) (KeyCreated, error) {
				k, tok, rev, err := s.auth.CreateKey(c.ctx, c.caller(), "", auth.KeySpec(*req))
				return KeyCreated{Revision: rev, Item: apiAPIKey(k), Token: tok}, err
			}).created(),
		route("GET", "/v1/apikeys", "apikeys", "List your personal API keys.", keyList(personal)).query(pageParams...),
		route("GET", "/v1/apikeys/{key}", "apikeys", "Get one of your personal API keys.",
			func(c *call, _ *noBody) (api.APIKey, error) {
				return one(apiAPIKey)(s.auth.GetKey(c.ctx, c.caller(), "", c.path("key")))
			}),
		route("DELETE", "/v1/apikeys/{key}", "apikeys", "Revoke one of your personal API keys (at once).",
			func(c *call, _ *noBody) (Revision, error) {
				rev, err := s.auth.RevokeKey(c.ctx, c.caller(), "", c.path("key"))
				return Revision{Revision: rev}, err
			}),

		route("POST", "/v1/orgs/{org}/apikeys", "apikeys", "Create an API key confined to the org (apikeys:create), for yourself or (escalation rules) for a service; never for another user. The token is shown once.",
			func(c *call, req *api.KeySpec) (KeyCreated, error) {
				k, tok, rev, err := s.auth.CreateKey(c.ctx, c.caller(), c.org(), auth.KeySpec(*req))
				return KeyCreated{Revision: rev, Item: apiAPIKey(k), Token: tok}, err
			}).created(),
		route("GET", "/v1/orgs/{org}/apikeys", "apikeys", "List the org's API keys (your own with principal=<you>, else apikeys:read).", keyList(inOrg)).
			query(append([]Param{{"principal", "string", "only keys of this principal"}}, pageParams...)...),
		route("GET", "/v1/orgs/{org}/apikeys/{key}", "apikeys", "Get an API key of the org (your own, or with apikeys:read).",
			func(c *call, _ *noBody) (api.APIKey, error) {
				return one(apiAPIKey)(s.auth.GetKey(c.ctx, c.caller(), c.org(), c.path("key")))
			}),
		route("DELETE", "/v1/orgs/{org}/apikeys/{key}", "apikeys", "Revoke an API key of the org (your own, or with apikeys:delete and its principal's level not above yours at any scope); it stops working at once.",
			func(c *call, _ *noBody) (Revision, error) {
				rev, err := s.auth.RevokeKey(c.ctx, c.caller(), c.org(), c.path("key"))
				return Revision{Revision: rev}, err
			}),

		route("POST", "/v1/orgs/{org}/invitations", "invitations", "Invite an email address with a role (members:create and the escalation rules for the role); the token is shown once and expires in 7 days.",
			func(c *call, req *InviteRequest) (InvitationCreated, error) {
				inv, tok, rev, err := s.auth.Invite(c.ctx, c.caller(), c.org(), req.Email, req.Role)
				return InvitationCreated{Revision: rev, Item: apiInvitation(inv), Token: tok}, err
			}).perm("members:create").created(),
		route("GET", "/v1/orgs/{org}/invitations", "invitations", "List the org's invitations.",
			func(c *call, _ *noBody) (List[api.Invitation], error) {
				p, err := c.page()
				if err != nil {
					return List[api.Invitation]{}, err
				}
				vs, next, err := s.auth.ListInvitations(c.ctx, c.caller(), c.org(), p)
				return listOf(each(vs, apiInvitation), next), err
			}).perm("members:list").query(pageParams...),
		route("DELETE", "/v1/orgs/{org}/invitations/{invitation}", "invitations", "Revoke a pending invitation (members:create; another's also needs the escalation rules for its role, as inviting does).",
			func(c *call, _ *noBody) (Revision, error) {
				rev, err := s.auth.RevokeInvitation(c.ctx, c.caller(), c.org(), c.path("invitation"))
				return Revision{Revision: rev}, err
			}).perm("members:create"),
	}
}

// Wire types of package api under the names the server uses.
type (
	SessionResponse   = api.SessionResponse
	KeyCreated        = api.KeyCreated
	InvitationCreated = api.InvitationCreated
	AcceptRequest     = api.AcceptRequest
	AcceptResponse    = api.AcceptResponse
	InviteRequest     = api.InviteRequest
)
