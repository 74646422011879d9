package auth

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/internal/directory"
	"github.com/gatehouse-dev/gatehouse/internal/errs"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// OIDC sign-in (docs/oidc.md). The server verifies the identity
// provider's ID token (signature, issuer, audience, expiry, nonce) and
// hands the claims here; this decides whose session it is.
//
// Invariants: a session is only ever issued for the user whose email
// equals the token's email, and only when the provider says the email is
// verified; the session is confined to the org whose provider signed the
// user in; a user is provisioned only when that org's provider allows it,
// and then the role is granted under the authority of the admin who set
// the provider up (as an invitation's role is under its inviter's), so
// provisioning escalates nothing.

// OIDCLogin is what a verified ID token says.
type OIDCLogin struct {
	Org           string // the org whose provider signed the user in
	Issuer        string
	Subject       string
	Email         string
	EmailVerified bool
	Name          string
}

// OIDCProvisioning allows creating a user on first sign-in: a member of
// Org with Role, granted by GrantedBy (a user principal of the org who
// may grant it).
type OIDCProvisioning struct {
	Role      string
	GrantedBy string
}

// SignedIn is the outcome of an OIDC sign-in.
type SignedIn struct {
	Session     string
	Identity    Identity
	User        store.User
	Provisioned bool
}

// errNoAccount: the provider vouched for an email Gatehouse cannot sign in.
var errNoAccount = errs.NewKind("no account for this identity", errs.Forbidden)

// SignInOIDC issues a session for the user with the login's verified
// email who is a member of the login's org, provisioning one when prov
// allows. Errors: 401 for an unverified or missing email; 403 when no
// user has the email (without provisioning) or the user is not a member
// of the org (a sign-in never adds an existing user to an org).
func (s *Service) SignInOIDC(ctx context.Context, l OIDCLogin, prov *OIDCProvisioning, requestID, addr string) (SignedIn, error) {
	email := strings.ToLower(strings.TrimSpace(l.Email))
	if email == "" || !l.EmailVerified {
		return SignedIn{}, &errs.Error{Pkg: pkg, Op: "oidc sign-in", Msg: "the identity provider did not vouch for a verified email", Kind: errs.Unauthenticated}
	}
	u, err := s.st.GetUserByEmail(ctx, email)
	provisioned := false
	switch {
	case errors.Is(err, store.ErrNotFound):
		if prov == nil {
			return SignedIn{}, &errs.Error{Pkg: pkg, Op: "oidc sign-in", Msg: "no user has the email " + email + " and org " + l.Org + " does not provision users; ask for an invitation", Kind: errs.Forbidden, Cause: errNoAccount}
		}
		if u, err = s.provisionOIDC(ctx, l, email, prov, requestID, addr); err != nil {
			return SignedIn{}, err
		}
		provisioned = true
	case err != nil:
		return SignedIn{}, storeErr("oidc sign-in", err)
	}
	p := authz.KindUser + ":" + u.ID
	if !s.member(l.Org, p) {
		return SignedIn{}, &errs.Error{Pkg: pkg, Op: "oidc sign-in", Msg: "the user with the email " + email + " is not a member of org " + l.Org, Kind: errs.Forbidden, Cause: errNoAccount}
	}
	id := Identity{Principal: p, Org: l.Org}
	tok, sid, exp, err := s.keys.Issue(id, SessionBinding{UserCreatedAt: u.CreatedAt}, s.opts.SessionTTL, s.opts.Now())
	if err != nil {
		return SignedIn{}, err
	}
	id.SessionID, id.Expires = sid, exp
	return SignedIn{Session: tok, Identity: id, User: u, Provisioned: provisioned}, nil
}

// provisionOIDC creates the user and makes it a member with prov.Role,
// granted by prov.GrantedBy; a failed membership removes the user again.
func (s *Service) provisionOIDC(ctx context.Context, l OIDCLogin, email string, prov *OIDCProvisioning, requestID, addr string) (store.User, error) {
	base := userIDFromEmail(email)
	if base == "" {
		base = "user"
	}
	var u store.User
	var err error
	for i := 0; i < 5; i++ {
		id := base
		if i > 0 {
			id = fmt.Sprintf("%s-%d", base, i+1)
		}
		u, _, err = s.dir.CreateUser(ctx, store.User{ID: id, Email: email, DisplayName: l.Name})
		if !errors.Is(err, directory.ErrConflict) {
			break
		}
		if _, gerr := s.st.GetUserByEmail(ctx, email); gerr == nil {
			return store.User{}, &errs.Error{Pkg: pkg, Op: "oidc sign-in", Msg: "a user with this email appeared meanwhile; sign in again", Kind: errs.Conflict}
		}
	}
	if err != nil {
		return store.User{}, err
	}
	granter := directory.Actor{Principal: prov.GrantedBy, RequestID: requestID, ClientAddr: addr}
	if _, _, err := s.dir.AddMember(ctx, granter, l.Org, u.ID, prov.Role); err != nil {
		dctx := context.WithoutCancel(ctx)
		if _, derr := s.dir.DeleteUser(dctx, directory.Actor{Principal: authz.KindUser + ":" + u.ID, RequestID: requestID, ClientAddr: addr}, u.ID); derr != nil {
			s.opts.Logger.Warn("auth: deleting the user of a failed provisioning failed", "user", u.ID, "err", derr)
		}
		return store.User{}, &errs.Error{Pkg: pkg, Op: "oidc sign-in", Msg: "provisioning is misconfigured: " + prov.GrantedBy + " cannot grant role " + prov.Role + " in org " + l.Org, Kind: errs.Forbidden, Cause: err}
	}
	// The user's id and created_at, as stored (the session binds to them).
	return s.User(ctx, u.ID)
}
