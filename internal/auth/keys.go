package auth

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/internal/directory"
	"github.com/gatehouse-dev/gatehouse/internal/errs"
	"github.com/gatehouse-dev/gatehouse/internal/store"
	"github.com/gatehouse-dev/gatehouse/policy"
)

// API key management. Rules (DESIGN §1.2 applied to credentials, since a
// key for P lets its holder act as P):
//
//   - A credential is only ever minted for its holder: no API call by a
//     principal P yields a key (or session) whose principal is not P,
//     except a key for a service of an org P may administer. A user's key
//     is created by that user only; nobody, not even an org's owner, can
//     mint a key for another user (people sign in with their own
//     credentials; impersonation would make the audit log lie).
//   - Creating a key, even for yourself, needs apikeys:create: people
//     without it use sessions. An org key (confined to the org) needs it
//     in that org. A personal key (org "", valid in every org of the
//     user, from a credential not confined to an org) needs it at org
//     scope in every org the user is a member of, and the user must be a
//     member of at least one; Bootstrap (`gatehouse init`, the dev
//     quickstart) is the operator's way to give a user its first key.
//     Caveat: a personal key keeps working in an org the user joins later
//     even without apikeys:create there.
//   - A key for a service of the org needs apikeys:create at org scope,
//     and the service's level must not be above the caller's — at org
//     scope and in every namespace — and every permission the service
//     holds in any namespace must be held by the caller there too. Checked
//     inside the write, against an engine caught up to it, like the
//     directory's own writes. No key is minted for a service that cannot
//     act now (suspended for any reason): its levels and permissions
//     read as none while it is, yet come back when that is lifted
//     (Conflict, as for an agent token). The same comparison (outranks)
//     is made again at each use of the key (minter.go): a key whose
//     service came to outrank its minter, or whose minter left, is
//     refused (ErrOutranksMinter) until the minter outranks it again.
//   - Reading others' keys needs apikeys:read; revoking them apikeys:delete.
//   - The secret is returned once, at creation; only its hash is stored.

// KeySpec asks for a new API key.
type KeySpec struct {
	// Principal is "user:<id>" or "service:<name>"; empty means the caller.
	Principal string    `json:"principal,omitempty"`
	Name      string    `json:"name,omitempty"`
	ExpiresAt time.Time `json:"expires_at,omitzero"` // zero: never
}

// CreateKey creates an API key in org ("" for a personal key of the
// caller) and returns it with its token (shown once) and the revision.
func (s *Service) CreateKey(ctx context.Context, c Caller, org string, spec KeySpec) (store.APIKey, string, uint64, error) {
	return s.createKey(ctx, c, org, spec, false)
}

// createKey is CreateKey; bootstrap skips the apikeys:create requirement
// for a personal key (Bootstrap, an operator's action).
func (s *Service) createKey(ctx context.Context, c Caller, org string, spec KeySpec, bootstrap bool) (store.APIKey, string, uint64, error) {
	const op = "create api key"
	if spec.Principal == "" {
		spec.Principal = c.Principal
	}
	if kind, _, ok := cutPrincipal(spec.Principal); !ok || (kind != authz.KindUser && kind != authz.KindService) {
		return store.APIKey{}, "", 0, invalid("principal", "%q is not user:<id> or service:<name>", spec.Principal)
	}
	if !spec.ExpiresAt.IsZero() && !spec.ExpiresAt.After(s.opts.Now()) {
		return store.APIKey{}, "", 0, invalid("expires_at", "expires_at must be in the future")
	}
	if len(spec.Name) > 200 {
		return store.APIKey{}, "", 0, invalid("name", "name is longer than 200 bytes")
	}
	if org == "" {
		if c.Org != "" || !isUser(c.Principal) {
			return store.APIKey{}, "", 0, &directory.ForbiddenError{Permission: "apikeys:create"}
		}
		if spec.Principal != c.Principal {
			return store.APIKey{}, "", 0, invalid("principal", "a personal key is always the caller's own")
		}
	} else if err := s.enter(c, op, org); err != nil {
		return store.APIKey{}, "", 0, err
	}
	token, kid, hash := NewAPIKey()
	if isUser(spec.Principal) && spec.Principal != c.Principal {
		// Refused like the refusals inside the write: recorded.
		err := &errs.Error{Pkg: pkg, Op: op, Kind: errs.Forbidden,
			Msg: "a user's API key can only be created by that user (keys for others are for services)"}
		return store.APIKey{}, "", 0, storeErr(op, s.dir.RecordDenied(ctx, "create apikey", org, c.Actor(), "apikey/"+kid, err))
	}
	var out store.APIKey
	rev, err := s.st.Write(ctx, func(tx store.Tx) error {
		if err := s.dir.CatchUp(ctx, tx); err != nil {
			return err
		}
		live, err := incarnationOf(ctx, tx, org, spec.Principal)
		if err != nil {
			return err
		}
		if live.principal.IsZero() || (org != "" && live.org.IsZero()) {
			return notFound(op, "principal %q", spec.Principal)
		}
		if org == "" && !bootstrap {
			if err := s.mayHavePersonalKey(ctx, tx, c.Principal); err != nil {
				return err
			}
		}
		if org != "" {
			if !s.member(org, c.Principal) {
				return notFound(op, "org %q", org)
			}
			if err := s.need(org, c.Principal, "apikeys:create"); err != nil {
				return err
			}
			if !s.member(org, spec.Principal) {
				return notFound(op, "principal %q", spec.Principal)
			}
			if spec.Principal != c.Principal {
				if err := s.mayActAs(ctx, tx, org, c.Principal, spec.Principal); err != nil {
					return err
				}
				// A suspended or expired service holds no level while it
				// is so, but its grants come back when that is lifted:
				// a key minted now would then carry them (as agent
				// tokens, no key is minted until it can act).
				if _, why := s.dir.Standing(org, spec.Principal, s.opts.Now()); why != "" {
					return &errs.Error{Pkg: pkg, Op: op, Kind: errs.Conflict,
						Msg: fmt.Sprintf("%s cannot act now (%s): no key is minted for it until that is resolved", spec.Principal, why)}
				}
			}
		}
		out, err = tx.CreateAPIKey(ctx, store.APIKey{
			ID: kid, Org: org, Principal: spec.Principal, Name: spec.Name, Hash: hash,
			PrincipalCreatedAt: live.principal, OrgCreatedAt: live.org,
			CreatedBy: c.Principal, ExpiresAt: spec.ExpiresAt,
		})
		if err != nil {
			return err
		}
		return s.dir.RecordWrite(ctx, tx, "create apikey", org, c.Actor(), directory.AuditNote{Target: "apikey/" + kid})
	})
	if err != nil {
		return store.APIKey{}, "", 0, storeErr(op, s.dir.RecordDenied(ctx, "create apikey", org, c.Actor(), "apikey/"+kid, err))
	}
	s.settle(ctx, rev)
	out.Hash = nil
	return out, token, rev, nil
}

// mayHavePersonalKey requires the user to hold apikeys:create at org
// scope in every org it is a member of, and to be a member of one: a
// personal key acts in all of them.
func (s *Service) mayHavePersonalKey(ctx context.Context, tx store.Tx, principal string) error {
	_, uid, _ := cutPrincipal(principal)
	n, cursor := 0, ""
	for {
		ms, next, err := tx.ListMemberships(ctx, uid, store.Page{Size: store.MaxPageSize, Cursor: cursor})
		if err != nil {
			return err
		}
		for _, m := range ms {
			n++
			if err := s.need(m.Org, principal, "apikeys:create"); err != nil {
				return &errs.Error{Pkg: pkg, Op: "create api key", Kind: errs.Forbidden,
					Msg: "a personal key needs apikeys:create in every org you are a member of, and you lack it in org " + m.Org + "; create a key confined to an org where you hold it, or use a session"}
			}
		}
		if next == "" {
			break
		}
		cursor = next
	}
	if n == 0 {
		return &directory.ForbiddenError{Permission: "apikeys:create"}
	}
	return nil
}

// mayActAs enforces the escalation rules for minting a credential for
// target (the caller has checked apikeys:create): outranks, at the
// scopes read in the minting transaction.
func (s *Service) mayActAs(ctx context.Context, tx store.Tx, org, actor, target string) error {
	scopes, err := s.dir.TargetScopes(ctx, tx, org, target)
	if err != nil {
		return err
	}
	return outranks(s.dir, org, actor, target, scopes)
}

// outranks is the one comparison of DESIGN §1.2 between a credential's
// minter (actor) and its principal (target), made at mint (mayActAs) and
// again at every use (minterStands): at each scope, actor's highest
// level is not below target's, and at each namespace and resource scope
// actor holds every permission target holds there. Against the engine's
// state e (the live one but for OutrankedKeys' look before a write);
// scopes are target's (Directory.TargetScopes).
func outranks(e engineState, org, actor, target string, scopes []authz.Scope) error {
	for _, sc := range scopes {
		al, tl := e.HighestLevel(org, actor, sc), e.HighestLevel(org, target, sc)
		if tl > al {
			return &directory.EscalationError{Reason: directory.ReasonTarget, Scope: sc, ActorLevel: al, Target: target, TargetLevel: tl}
		}
		var want []policy.Permission
		switch {
		case sc.IsOrg():
			continue
		case sc.IsResource():
			// What the target holds on this one resource (a share, a
			// role bound there, directly or through a team) and above it.
			want = e.PatternsHeld(org, target, sc)
		default:
			gs, err := e.Grants(org, target, sc.Namespace)
			if err != nil {
				continue
			}
			want = make([]policy.Permission, 0, len(gs))
			for _, g := range gs {
				want = append(want, g.Permission)
			}
		}
		if missing := e.Missing(org, actor, sc, want); len(missing) > 0 {
			return &directory.EscalationError{Reason: directory.ReasonPermissions, Scope: sc, ActorLevel: al, Missing: missing, Target: target}
		}
	}
	return nil
}

// ListKeys lists keys of org ("" for the caller's personal keys), of one
// principal when principal is set.
func (s *Service) ListKeys(ctx context.Context, c Caller, org, principal string, p store.Page) ([]store.APIKey, string, error) {
	const op = "list api keys"
	if org == "" {
		if c.Org != "" || !isUser(c.Principal) {
			return nil, "", &directory.ForbiddenError{Permission: "apikeys:read"}
		}
		ks, next, err := s.st.ListAPIKeys(ctx, store.APIKeyFilter{Principal: c.Principal}, p)
		return ks, next, storeErr(op, err)
	}
	if err := s.enter(c, op, org); err != nil {
		return nil, "", err
	}
	if principal != c.Principal {
		if err := s.need(org, c.Principal, "apikeys:read"); err != nil {
			return nil, "", err
		}
	}
	ks, next, err := s.st.ListAPIKeys(ctx, store.APIKeyFilter{Org: org, Principal: principal}, p)
	return ks, next, storeErr(op, err)
}

// GetKey returns a key of org ("" for a personal key of the caller).
func (s *Service) GetKey(ctx context.Context, c Caller, org, kid string) (store.APIKey, error) {
	k, err := s.visibleKey(ctx, s.st, c, "get api key", org, kid, "apikeys:read")
	k.Hash = nil
	return k, err
}

// RevokeKey revokes a key of org ("" for a personal key of the caller).
// Another principal's key needs apikeys:delete and that principal not
// above the caller at any scope (Directory.MayManage). The key stops
// working at once in this process.
func (s *Service) RevokeKey(ctx context.Context, c Caller, org, kid string) (uint64, error) {
	const op = "revoke api key"
	rev, err := s.st.Write(ctx, func(tx store.Tx) error {
		// Authorized in the transaction that revokes, against the engine
		// caught up to its base revision (as CreateKey does).
		if err := s.dir.CatchUp(ctx, tx); err != nil {
			return err
		}
		k, err := s.visibleKey(ctx, tx, c, op, org, kid, "apikeys:delete")
		if err != nil {
			return err
		}
		// Another's key: taking away its principal's means to act is
		// managing that principal (DESIGN §1.2's target rule, at every
		// scope, as suspending a service or minting its key needs).
		if k.Principal != c.Principal {
			if err := s.dir.MayManage(ctx, tx, org, c.Principal, k.Principal); err != nil {
				return err
			}
		}
		if _, err := tx.RevokeAPIKey(ctx, kid); err != nil {
			return err
		}
		return s.dir.RecordWrite(ctx, tx, "revoke apikey", org, c.Actor(), directory.AuditNote{Target: "apikey/" + kid})
	})
	if err != nil {
		return 0, storeErr(op, s.dir.RecordDenied(ctx, "revoke apikey", org, c.Actor(), "apikey/"+kid, err))
	}
	s.Forget(kid)
	s.settle(ctx, rev)
	return rev, nil
}

// visibleKey reads a key the caller may see (its own, or with perm in
// the key's org); anything else is not found.
func (s *Service) visibleKey(ctx context.Context, r store.Reader, c Caller, op, org, kid, perm string) (store.APIKey, error) {
	if org == "" {
		if c.Org != "" || !isUser(c.Principal) {
			return store.APIKey{}, notFound(op, "api key %q", kid)
		}
	} else if err := s.enter(c, op, org); err != nil {
		return store.APIKey{}, err
	}
	k, err := r.GetAPIKey(ctx, kid)
	if errors.Is(err, store.ErrNotFound) || (err == nil && k.Org != org) {
		return store.APIKey{}, notFound(op, "api key %q", kid)
	}
	if err != nil {
		return store.APIKey{}, storeErr(op, err)
	}
	if k.Principal != c.Principal {
		if org == "" {
			return store.APIKey{}, notFound(op, "api key %q", kid)
		}
		if err := s.need(org, c.Principal, perm); err != nil {
			return store.APIKey{}, err
		}
	}
	return k, nil
}

// Session exchanges the caller's API key for a session token. Only a
// user's API key can be exchanged (not a session, not a service key); the
// session keeps the key's org confinement, never outlives the key, and is
// bound to it and to the user's incarnation: it ends when the key is
// revoked or the user deleted. The key is read again from the store.
func (s *Service) Session(ctx context.Context, c Caller) (token string, id Identity, err error) {
	if c.KeyID == "" || !isUser(c.Principal) {
		return "", Identity{}, &directory.ForbiddenError{Permission: "sessions:create"}
	}
	ck, err := s.loadKey(ctx, c.KeyID, s.opts.Now(), false)
	if err != nil {
		return "", Identity{}, err
	}
	if ck.identity.Principal != c.Principal || ck.identity.Org != c.Org {
		return "", Identity{}, ErrUnauthenticated
	}
	b := SessionBinding{UserCreatedAt: ck.principalCreatedAt, APIKey: c.KeyID}
	tok, sid, exp, err := s.keys.Issue(c.Identity, b, s.opts.SessionTTL, s.opts.Now())
	if err != nil {
		return "", Identity{}, err
	}
	return tok, Identity{Principal: c.Principal, Org: c.Org, SessionID: sid, Expires: exp}, nil
}

// User reads a user.
func (s *Service) User(ctx context.Context, id string) (store.User, error) {
	u, err := s.st.GetUser(ctx, id)
	return u, storeErr("get user", err)
}

// Bootstrap creates a user (if absent) with a personal API key, for
// `gatehouse init` and the quickstart.
func (s *Service) Bootstrap(ctx context.Context, u store.User, keyName string) (store.User, string, error) {
	if _, err := s.st.GetUser(ctx, u.ID); errors.Is(err, store.ErrNotFound) {
		if u, _, err = s.dir.CreateUser(ctx, u); err != nil {
			return store.User{}, "", err
		}
	} else if err != nil {
		return store.User{}, "", storeErr("bootstrap", err)
	}
	c := Caller{Identity: Identity{Principal: authz.KindUser + ":" + u.ID}}
	_, token, _, err := s.createKey(ctx, c, "", KeySpec{Name: keyName}, true)
	if err != nil {
		return store.User{}, "", err
	}
	out, err := s.User(ctx, u.ID)
	return out, token, err
}

func cutPrincipal(p string) (kind, name string, ok bool) {
	kind, name, found := cut(p, ':')
	return kind, name, found && name != "" && policy.IsIdent(name)
}

func cut(s string, sep byte) (string, string, bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == sep {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

func isUser(p string) bool {
	kind, _, ok := cutPrincipal(p)
	return ok && kind == authz.KindUser
}
