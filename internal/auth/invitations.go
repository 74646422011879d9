package auth

import (
	"context"
	"errors"
	"strings"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/internal/directory"
	"github.com/gatehouse-dev/gatehouse/internal/errs"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// Invitations. Inviting is authorized by the directory (members:create and
// DESIGN §1.2 for the role, at invite time); the token (gti_...) is
// returned once and stored hashed. Accepting it claims the invitation
// under the write lock (single use) and adds the membership as the
// inviter (so the rules are checked again: an inviter who lost the right
// to grant the role cannot have it granted later). If that fails the
// claim is released. Replaying a used, revoked or expired token is
// ErrGone (HTTP 410); an unknown or wrong token is ErrUnauthenticated
// (401) and counts against the address's rate limit.
//
// Invariant: accepting an invitation never yields a credential for an
// existing user. The invitation token proves only that its holder was
// sent the invitation (inviters see it; anyone can invite any email to an
// org of their own), not who they are:
//
//   - Anonymous acceptance (no credential) may only create a new user,
//     with the invited email; it returns a session for that new user. If
//     a user already has the email, it is refused with
//     ErrCredentialRequired and the invitation stays pending.
//   - Authenticated acceptance (a user's own key or session, not confined
//     to another org) only adds the membership for the caller, and
//     returns no credential. The invited email must be the caller's
//     email (emails are unique and compared lower-cased): an invitation
//     is addressed to a person, and a leaked token must not let someone
//     else join in their place. Otherwise it is refused (403) and the
//     invitation stays pending.

// Invite invites email to org with role and returns the invitation, its
// token (shown once) and the revision.
func (s *Service) Invite(ctx context.Context, c Caller, org, email, role string) (store.Invitation, string, uint64, error) {
	const op = "invite"
	if err := s.enter(c, op, org); err != nil {
		return store.Invitation{}, "", 0, err
	}
	token, id, hash := NewInvitationToken()
	var out store.Invitation
	_, rev, err := s.dir.Invite(ctx, c.Actor(), org, email, role, func(tx store.Tx, inv directory.Invitation) (directory.AuditNote, error) {
		o, err := tx.GetOrg(ctx, org)
		if err != nil {
			return directory.AuditNote{}, err
		}
		out, err = tx.CreateInvitation(ctx, store.Invitation{
			ID: id, Org: org, Email: inv.Email, Role: inv.Role, InvitedBy: c.Principal, Hash: hash,
			OrgCreatedAt: o.CreatedAt, ExpiresAt: s.opts.Now().Add(s.opts.InvitationTTL),
		})
		if err != nil {
			return directory.AuditNote{}, err
		}
		return directory.AuditNote{Target: "invitation/" + id,
			Details: map[string]any{"email_sha256": directory.EmailDigest(out.Email), "role": out.Role, "scope": "org", "expires_at": out.ExpiresAt}}, nil
	})
	if err != nil {
		return store.Invitation{}, "", 0, storeErr(op, err)
	}
	s.settle(ctx, rev)
	out.Hash = nil
	return out, token, rev, nil
}

// ListInvitations lists the org's invitations (members:list).
func (s *Service) ListInvitations(ctx context.Context, c Caller, org string, p store.Page) ([]store.Invitation, string, error) {
	const op = "list invitations"
	if err := s.enter(c, op, org); err != nil {
		return nil, "", err
	}
	if err := s.need(org, c.Principal, "members:list"); err != nil {
		return nil, "", err
	}
	vs, next, err := s.st.ListInvitations(ctx, org, p)
	return vs, next, storeErr(op, err)
}

// RevokeInvitation revokes a pending invitation (members:create; another's
// invitation also needs DESIGN §1.2 for its role, as inviting does).
func (s *Service) RevokeInvitation(ctx context.Context, c Caller, org, id string) (uint64, error) {
	const op = "revoke invitation"
	if err := s.enter(c, op, org); err != nil {
		return 0, err
	}
	rev, err := s.st.Write(ctx, func(tx store.Tx) error {
		// Authorized in the transaction that revokes, against the engine
		// caught up to its base revision (as CreateKey does).
		if err := s.dir.CatchUp(ctx, tx); err != nil {
			return err
		}
		if !s.member(org, c.Principal) {
			return notFound(op, "org %q", org)
		}
		if err := s.need(org, c.Principal, "members:create"); err != nil {
			return err
		}
		v, err := tx.GetInvitation(ctx, id)
		if errors.Is(err, store.ErrNotFound) || (err == nil && v.Org != org) {
			return notFound(op, "invitation %q", id)
		}
		if err != nil {
			return err
		}
		// Another's invitation is a pending grant of its role: taking
		// it back needs what making it needs (§1.2 for the role).
		if v.InvitedBy != c.Principal {
			if err := s.dir.MayGrantRole(ctx, tx, org, c.Actor(), v.Role); err != nil {
				return err
			}
		}
		if _, err = tx.RevokeInvitation(ctx, id); err != nil {
			return err
		}
		return s.dir.RecordWrite(ctx, tx, op, org, c.Actor(), directory.AuditNote{Target: "invitation/" + id})
	})
	if err != nil {
		return 0, storeErr(op, s.dir.RecordDenied(ctx, op, org, c.Actor(), "invitation/"+id, err))
	}
	s.settle(ctx, rev)
	return rev, nil
}

// Acceptance is what accepting an invitation produced.
type Acceptance struct {
	User       store.User
	Invitation store.Invitation
	Revision   uint64
	Session    string
	Identity   Identity
}

// AcceptInvitation redeems an invitation token for the caller c: an
// anonymous caller (c.Principal "") creates a new user — userID names it
// ("" derives one from the email), displayName is its display name — and
// gets a session for it; an authenticated caller joins as itself (userID
// and displayName are ignored) and gets no credential. See the package's
// invitation rules.
func (s *Service) AcceptInvitation(ctx context.Context, c Caller, token, userID, displayName string) (Acceptance, error) {
	const op = "accept invitation"
	clientAddr, requestID := c.ClientAddr, c.RequestID
	anonymous := c.Principal == ""
	if !anonymous && (!isUser(c.Principal) || c.Org != "") {
		return Acceptance{}, &errs.Error{Pkg: pkg, Op: op, Kind: errs.Forbidden,
			Msg: "an invitation is accepted by a user, with a personal key or a session not confined to an org"}
	}
	// user_id and display_name name the new user an anonymous acceptance
	// creates; a user accepting as itself changes neither (silently
	// dropping them would hide a client's mistake).
	if !anonymous && userID != "" {
		return Acceptance{}, invalid("user_id", "user_id names the new user of an anonymous acceptance; %s accepts as itself", c.Principal)
	}
	if !anonymous && displayName != "" {
		return Acceptance{}, invalid("display_name", "display_name is for the new user of an anonymous acceptance; %s accepts as itself", c.Principal)
	}
	if wait, ok := s.limiter.Allow(clientAddr); !ok {
		return Acceptance{}, &RateLimitError{RetryAfter: wait}
	}
	id, ok := ParseToken(InvitationPrefix, token)
	if !ok {
		s.limiter.Fail(clientAddr)
		return Acceptance{}, ErrUnauthenticated
	}
	var inv store.Invitation
	var existing bool
	_, err := s.st.Write(ctx, func(tx store.Tx) error {
		v, err := tx.GetInvitation(ctx, id)
		if errors.Is(err, store.ErrNotFound) || (err == nil && !Matches(token, v.Hash)) {
			return ErrUnauthenticated
		}
		if err != nil {
			return err
		}
		if !v.AcceptedAt.IsZero() || !v.RevokedAt.IsZero() || !s.opts.Now().Before(v.ExpiresAt) {
			return ErrGone
		}
		o, err := tx.GetOrg(ctx, v.Org)
		if errors.Is(err, store.ErrNotFound) || (err == nil && !o.CreatedAt.Equal(v.OrgCreatedAt)) {
			return ErrGone
		}
		if err != nil {
			return err
		}
		u, err := tx.GetUserByEmail(ctx, v.Email)
		switch {
		case err == nil && anonymous:
			return ErrCredentialRequired
		case err == nil && authz.KindUser+":"+u.ID != c.Principal:
			return errOtherEmail
		case err == nil:
			userID, existing = u.ID, true
		case !anonymous && errors.Is(err, store.ErrNotFound):
			return errOtherEmail
		case errors.Is(err, store.ErrNotFound):
			if userID == "" {
				userID = userIDFromEmail(v.Email)
			}
			if err := checkUserID(userID); err != nil {
				return err
			}
		default:
			return err
		}
		inv, err = tx.AcceptInvitation(ctx, id, userID)
		return err
	})
	if errors.Is(err, ErrUnauthenticated) {
		s.limiter.Fail(clientAddr)
		return Acceptance{}, ErrUnauthenticated
	}
	if err != nil {
		return Acceptance{}, storeErr(op, err)
	}
	acc, err := s.completeAcceptance(ctx, inv, userID, displayName, existing, requestID, clientAddr)
	if err != nil && !errors.Is(err, directory.ErrConflict) {
		// Give the token back: nothing was granted.
		rctx := context.WithoutCancel(ctx)
		if _, rerr := s.st.Write(rctx, func(tx store.Tx) error {
			_, err := tx.ReleaseInvitation(rctx, id)
			return err
		}); rerr != nil {
			s.opts.Logger.Warn("auth: releasing an invitation after a failed acceptance failed", "invitation", id, "err", rerr)
		}
	}
	return acc, err
}

// errOtherEmail: an authenticated caller presented an invitation
// addressed to another email.
var errOtherEmail = &errs.Error{Pkg: pkg, Op: "accept invitation", Kind: errs.Forbidden,
	Msg: "the invitation is addressed to another email address than your user's"}

func (s *Service) completeAcceptance(ctx context.Context, inv store.Invitation, userID, displayName string, existing bool, requestID, addr string) (Acceptance, error) {
	var created store.User
	if !existing {
		var err error
		// The user is new, created here: the session below is for this
		// incarnation, never for a user that existed before.
		if created, _, err = s.dir.CreateUser(ctx, store.User{ID: userID, Email: inv.Email, DisplayName: displayName}); err != nil {
			if errors.Is(err, directory.ErrConflict) {
				return Acceptance{}, invalid("user_id", "user id %q is taken, or a user now has the invited email; choose another user_id, or accept authenticated as that user", userID)
			}
			return Acceptance{}, err
		}
	}
	inviter := directory.Actor{Principal: inv.InvitedBy, RequestID: requestID, ClientAddr: addr}
	_, rev, err := s.dir.AddMember(ctx, inviter, inv.Org, userID, inv.Role)
	if err != nil && !existing {
		// Undo the user created above (it has no credential yet), so that
		// the released invitation can still be accepted anonymously.
		dctx := context.WithoutCancel(ctx)
		if _, derr := s.dir.DeleteUser(dctx, directory.Actor{Principal: authz.KindUser + ":" + userID, RequestID: requestID, ClientAddr: addr}, userID); derr != nil {
			s.opts.Logger.Warn("auth: deleting the user of a failed acceptance failed", "user", userID, "err", derr)
		}
	}
	switch {
	case errors.Is(err, directory.ErrConflict):
		return Acceptance{}, &errs.Error{Pkg: pkg, Op: "accept invitation", Msg: "user " + userID + " is already a member of org " + inv.Org, Kind: errs.Conflict}
	case errors.Is(err, directory.ErrForbidden), errors.Is(err, directory.ErrEscalation), errors.Is(err, directory.ErrNotFound), errors.Is(err, directory.ErrInvalid):
		// The inviter can no longer grant this role (or the role is gone).
		return Acceptance{}, ErrGone
	case err != nil:
		return Acceptance{}, err
	}
	u, err := s.User(ctx, userID)
	if err != nil {
		return Acceptance{}, err
	}
	inv.Hash = nil
	acc := Acceptance{User: u, Invitation: inv, Revision: rev}
	if existing {
		return acc, nil // the caller already holds its credential
	}
	p := authz.KindUser + ":" + userID
	tok, sid, exp, err := s.keys.Issue(Identity{Principal: p}, SessionBinding{UserCreatedAt: created.CreatedAt}, s.opts.SessionTTL, s.opts.Now())
	if err != nil {
		return Acceptance{}, err
	}
	acc.Session, acc.Identity = tok, Identity{Principal: p, SessionID: sid, Expires: exp}
	return acc, nil
}

// userIDFromEmail derives an identifier from an email's local part.
func userIDFromEmail(email string) string {
	local, _, _ := strings.Cut(email, "@")
	var b strings.Builder
	for i := 0; i < len(local) && b.Len() < 64; i++ {
		c := local[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
			b.WriteByte(c)
		case (c >= '0' && c <= '9' || c == '_' || c == '-') && b.Len() > 0:
			b.WriteByte(c)
		case c == '.' || c == '+':
			if b.Len() > 0 {
				b.WriteByte('-')
			}
		}
	}
	if b.Len() == 0 {
		return "user"
	}
	return b.String()
}

func checkUserID(id string) error {
	if _, _, ok := cutPrincipal("user:" + id); !ok || len(id) > 128 {
		return invalid("user_id", "%q is not an identifier (a letter, then letters, digits, '_' or '-')", id)
	}
	return nil
}
