package server_test

import (
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/server"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// userWithEmail creates a user with an email and a personal API key (the
// operator's Bootstrap) and returns the key.
func (e *env) userWithEmail(id string) string {
	e.t.Helper()
	_, tok, err := e.auth.Bootstrap(ctxT(e.t), store.User{ID: id, Email: id + "@example.com"}, "test")
	if err != nil {
		e.t.Fatalf("Bootstrap(%s): %v", id, err)
	}
	return tok
}

// acceptAnswer is server.AcceptResponse as a client reads it.
type acceptAnswer struct {
	Revision uint64                  `json:"revision"`
	User     store.User              `json:"user"`
	Org      string                  `json:"org"`
	Role     string                  `json:"role"`
	Session  *server.SessionResponse `json:"session"`
}

// grantKeyCreate gives a member of w's org apikeys:create at org scope
// (and nothing else) through a custom role.
func grantKeyCreate(t testing.TB, e *env, w *world, userID string) {
	t.Helper()
	if r := e.do("POST", "/v1/orgs/"+w.org+"/roles", w.owner, map[string]any{"name": "keymaker", "level": 10, "permissions": []string{"apikeys:create"}}); r.Status != 201 && r.Status != 409 {
		t.Fatalf("create role keymaker: %d %s", r.Status, r.Body)
	}
	e.must(201, "POST", "/v1/orgs/"+w.org+"/bindings", w.owner, map[string]any{"principal": "user:" + userID, "role": "keymaker"}, nil)
}

// TestInvitationCannotTakeOverAUser: mallory, who owns an org of her own,
// invites root's email and redeems the token herself. Anonymously that is
// refused (401, no session for user:root) and the invitation stays
// pending; with her own key it is refused (403: not her email); root,
// with his own key, joins and gets no credential.
func TestInvitationCannotTakeOverAUser(t *testing.T) {
	t.Parallel()
	for _, backend := range backends(t) {
		t.Run(backend, func(t *testing.T) {
			e := newEnv(t, backend, envOpts{})
			root := e.userWithEmail("root")
			mallory := e.userWithEmail("mallory")
			e.must(201, "POST", "/v1/orgs", root, map[string]any{"id": "rootorg", "name": "Root's"}, nil)
			e.must(201, "POST", "/v1/orgs", mallory, map[string]any{"id": "mal", "name": "Mallory's"}, nil)
			var ic server.InvitationCreated
			e.must(201, "POST", "/v1/orgs/mal/invitations", mallory, map[string]any{"email": "ROOT@example.com", "role": "viewer"}, &ic)

			r := e.do("POST", "/v1/invitations/accept", "", map[string]any{"token": ic.Token, "user_id": "root"})
			if r.Status != 401 {
				t.Fatalf("anonymous acceptance of an invitation for an existing user: %d %s", r.Status, r.Body)
			}
			if p := r.problem(t); p.Detail != "this invitation is for an existing user: accept it authenticated as that user" {
				t.Errorf("detail = %q", p.Detail)
			}
			e.must(403, "POST", "/v1/invitations/accept", mallory, map[string]any{"token": ic.Token}, nil)
			var orgs server.List[store.Org]
			e.must(404, "GET", "/v1/orgs/rootorg/members", mallory, nil, nil)

			// Root accepts with his own credential: membership, no session.
			// A user accepting as itself names no new user (400, nothing
			// accepted: the invitation is still pending).
			for field, body := range map[string]map[string]any{
				"user_id":      {"token": ic.Token, "user_id": "someone"},
				"display_name": {"token": ic.Token, "display_name": "Someone"},
			} {
				if r := e.do("POST", "/v1/invitations/accept", root, body); r.Status != 400 || r.problem(t).Field != field {
					t.Errorf("authenticated acceptance with %s: %d %s", field, r.Status, r.Body)
				}
			}
			var acc acceptAnswer
			e.must(201, "POST", "/v1/invitations/accept", root, map[string]any{"token": ic.Token}, &acc)
			if acc.User.ID != "root" || acc.Org != "mal" || acc.Role != "viewer" || acc.Session != nil {
				t.Errorf("authenticated acceptance = %+v", acc)
			}
			e.must(200, "GET", "/v1/orgs", root, nil, &orgs)
			if len(orgs.Items) != 2 {
				t.Errorf("root's orgs after accepting = %+v", orgs.Items)
			}
			e.must(410, "POST", "/v1/invitations/accept", root, map[string]any{"token": ic.Token}, nil)

			// A new email: anonymous acceptance creates a new user only.
			e.must(201, "POST", "/v1/orgs/mal/invitations", mallory, map[string]any{"email": "new@example.com", "role": "viewer"}, &ic)
			r = e.do("POST", "/v1/invitations/accept", "", map[string]any{"token": ic.Token, "user_id": "root"})
			if r.Status != 400 || r.problem(t).Field != "user_id" {
				t.Errorf("anonymous acceptance naming an existing user id: %d %s", r.Status, r.Body)
			}
			e.must(403, "POST", "/v1/invitations/accept", root, map[string]any{"token": ic.Token}, nil)
			e.must(201, "POST", "/v1/invitations/accept", "", map[string]any{"token": ic.Token, "user_id": "newbie"}, &acc)
			if acc.User.ID != "newbie" || acc.Session == nil || acc.Session.Principal != "user:newbie" {
				t.Errorf("anonymous acceptance = %+v", acc)
			}
			// A bad credential is refused, not taken for no credential.
			e.must(201, "POST", "/v1/orgs/mal/invitations", mallory, map[string]any{"email": "other@example.com", "role": "viewer"}, &ic)
			e.must(401, "POST", "/v1/invitations/accept", "gth_nope", map[string]any{"token": ic.Token}, nil)
		})
	}
}

// TestKeyCreationNeedsPermission: creating an API key, even for oneself,
// needs apikeys:create (viewers use sessions); a personal key needs it in
// every org of the user; nobody mints a key for another user.
func TestKeyCreationNeedsPermission(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "sqlite", envOpts{})
	w := buildWorld(t, e, "")
	b := buildWorld(t, e, "b")
	cases := []struct {
		name, path, token string
		body              map[string]any
		want              int
	}{
		{"viewer's own org key", "/v1/orgs/acme/apikeys", w.viewer, map[string]any{}, 403},
		{"viewer's personal key", "/v1/apikeys", w.viewer, map[string]any{}, 403},
		{"owner's key for a member user", "/v1/orgs/acme/apikeys", w.owner, map[string]any{"principal": "user:viewer"}, 403},
		{"viewer's key for the owner", "/v1/orgs/acme/apikeys", w.viewer, map[string]any{"principal": "user:owner"}, 403},
		{"owner's key for a service", "/v1/orgs/acme/apikeys", w.owner, map[string]any{"principal": "service:ci"}, 201},
		{"owner's own org key", "/v1/orgs/acme/apikeys", w.owner, map[string]any{}, 201},
		{"owner's personal key", "/v1/apikeys", w.owner, map[string]any{}, 201},
		{"nobody's personal key (no org)", "/v1/apikeys", e.userWithEmail("loner"), map[string]any{}, 403},
	}
	for _, c := range cases {
		r := e.do("POST", c.path, c.token, c.body)
		if r.Status != c.want {
			t.Errorf("%s: %d, want %d; %s", c.name, r.Status, c.want, r.Body)
		}
	}
	// An owner of acme who is a viewer of bacme holds apikeys:create in
	// one org only: no personal key (it would act in bacme too), but an
	// acme key.
	e.must(201, "POST", "/v1/orgs/bacme/members", b.owner, map[string]any{"user_id": "owner", "role": "viewer"}, nil)
	r := e.do("POST", "/v1/apikeys", w.owner, map[string]any{})
	if r.Status != 403 {
		t.Errorf("personal key of an owner who is a viewer elsewhere: %d %s", r.Status, r.Body)
	}
	e.must(201, "POST", "/v1/orgs/acme/apikeys", w.owner, map[string]any{}, nil)
}

// TestKeysAreRevokedOnlyByWhoMayRevokeThem: another user's personal key
// is not found through your own key routes, a member without
// apikeys:delete cannot revoke the owner's org key, and an org key route
// does not reach a personal key; each refused key still works.
func TestKeysAreRevokedOnlyByWhoMayRevokeThem(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "sqlite", envOpts{})
	w := buildWorld(t, e, "")
	var personal, orgKey server.KeyCreated
	e.must(201, "POST", "/v1/apikeys", w.owner, map[string]any{"name": "laptop"}, &personal)
	e.must(201, "POST", "/v1/orgs/acme/apikeys", w.owner, map[string]any{"name": "ci"}, &orgKey)
	cases := []struct {
		name, path, token string
		want              int
	}{
		{"a member revokes the owner's personal key", "/v1/apikeys/" + personal.Item.ID, w.viewer, 404},
		{"a viewer revokes the owner's org key", "/v1/orgs/acme/apikeys/" + orgKey.Item.ID, w.viewer, 403},
		{"a personal key through the org route", "/v1/orgs/acme/apikeys/" + personal.Item.ID, w.owner, 404},
	}
	for _, c := range cases {
		if r := e.do("DELETE", c.path, c.token, nil); r.Status != c.want {
			t.Errorf("%s: %d, want %d; %s", c.name, r.Status, c.want, r.Body)
		}
	}
	for _, tok := range []string{personal.Token, orgKey.Token} {
		e.must(200, "GET", "/v1/me", tok, nil, nil)
	}
}

// TestSessionEndsWithItsKey: revoking an API key ends the sessions
// obtained from it, at once.
func TestSessionEndsWithItsKey(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "sqlite", envOpts{})
	w := buildWorld(t, e, "")
	var kc server.KeyCreated
	e.must(201, "POST", "/v1/orgs/acme/apikeys", w.owner, map[string]any{"name": "laptop"}, &kc)
	var s, other server.SessionResponse
	e.must(201, "POST", "/v1/sessions", kc.Token, nil, &s)
	e.must(201, "POST", "/v1/sessions", w.owner, nil, &other)
	e.must(200, "GET", "/v1/orgs/acme", s.Token, nil, nil)
	e.must(200, "DELETE", "/v1/orgs/acme/apikeys/"+kc.Item.ID, w.owner, nil, nil)
	e.must(401, "GET", "/v1/me", kc.Token, nil, nil)
	e.must(401, "GET", "/v1/me", s.Token, nil, nil)
	e.must(401, "POST", "/v1/orgs/acme/namespaces", s.Token, map[string]any{"name": "late"}, nil)
	e.must(200, "GET", "/v1/me", other.Token, nil, nil) // another key's session lives on
}

// TestSessionEndsWithItsUser: a deleted user's session stops answering,
// and a new user created later with the same id is not authenticated by
// the old session.
func TestSessionEndsWithItsUser(t *testing.T) {
	t.Parallel()
	for _, backend := range backends(t) {
		t.Run(backend, func(t *testing.T) {
			e := newEnv(t, backend, envOpts{})
			w := buildWorld(t, e, "")
			accept := func(email string) acceptAnswer {
				t.Helper()
				var ic server.InvitationCreated
				e.must(201, "POST", "/v1/orgs/acme/invitations", w.owner, map[string]any{"email": email, "role": "viewer"}, &ic)
				var acc acceptAnswer
				e.must(201, "POST", "/v1/invitations/accept", "", map[string]any{"token": ic.Token, "user_id": "erin"}, &acc)
				if acc.Session == nil {
					t.Fatalf("no session: %+v", acc)
				}
				return acc
			}
			first := accept("erin@example.com")
			old := first.Session.Token
			e.must(200, "GET", "/v1/me", old, nil, nil)
			e.must(200, "DELETE", "/v1/me", old, nil, nil)
			e.must(401, "GET", "/v1/me", old, nil, nil)

			second := accept("erin.two@example.com")
			var me server.Me
			e.must(200, "GET", "/v1/me", second.Session.Token, nil, &me)
			if me.User == nil || me.User.Email != "erin.two@example.com" {
				t.Errorf("new erin's /v1/me = %+v", me)
			}
			e.must(401, "GET", "/v1/me", old, nil, nil)
		})
	}
}
