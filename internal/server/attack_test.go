package server_test

import (
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-dev/gatehouse/api"
	"github.com/gatehouse-dev/gatehouse/internal/server"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// Attacker's review of the routes that mint credentials, change who
// someone is, or write the audit log (branch attack). Each case names the
// attacker, the route and what must happen; after the attacks, the
// victim's credentials and invitations must be intact and the victim
// org's audit log must hold nothing written by the attacker.

// attack is one request by an attacker and the status it must get.
type attack struct {
	name         string
	method, path string
	key          string
	body         any
	want         int
}

func (e *env) runAttacks(t *testing.T, as []attack) {
	t.Helper()
	for _, a := range as {
		r := e.do(a.method, a.path, a.key, a.body)
		if r.Status != a.want {
			t.Errorf("%s: %s %s: status %d, want %d; body %s", a.name, a.method, a.path, r.Status, a.want, r.Body)
			continue
		}
		if a.want >= 400 {
			if ct := r.Header.Get("Content-Type"); ct != "application/problem+json" {
				t.Errorf("%s: status %d with Content-Type %q, want a problem document", a.name, r.Status, ct)
			}
		}
	}
}

// personalKeyID returns the id of the first personal key of key's user.
func personalKeyID(t *testing.T, e *env, key string) string {
	t.Helper()
	var ks server.List[api.APIKey]
	e.must(200, "GET", "/v1/apikeys", key, nil, &ks)
	if len(ks.Items) == 0 {
		t.Fatal("no personal key")
	}
	return ks.Items[0].ID
}

// TestAttackCredentialRoutesAcrossOrgsAndLevels: another org's owner, a
// viewer, a service and a session try to read, revoke or mint credentials
// they have no claim on. Every attempt is refused with the status that
// leaks nothing (404 across orgs and for others' personal keys), the
// victims' credentials and invitation keep working, and the victim org's
// audit log holds no entry by the other org's owner.
func TestAttackCredentialRoutesAcrossOrgsAndLevels(t *testing.T) {
	t.Parallel()
	for _, backend := range backends(t) {
		t.Run(backend, func(t *testing.T) {
			e := newEnv(t, backend, envOpts{})
			a := buildWorld(t, e, "a")
			b := buildWorld(t, e, "b")
			inv := e.invite("/v1/orgs/"+a.org, a.owner, "victim@example.com", "viewer")
			var sess server.SessionResponse
			e.must(201, "POST", "/v1/sessions", a.owner, nil, &sess)
			ownerPersonal := personalKeyID(t, e, a.owner)
			svcKey, agent, svc := a.params["key"], a.params["agent"], a.params["service"]
			A, B := "/v1/orgs/"+a.org, "/v1/orgs/"+b.org
			e.runAttacks(t, []attack{
				// Another org's owner.
				{"other org: get a key through its own org", "GET", B + "/apikeys/" + svcKey, b.owner, nil, 404},
				{"other org: revoke a key through its own org", "DELETE", B + "/apikeys/" + svcKey, b.owner, nil, 404},
				{"other org: revoke a key in the victim org", "DELETE", A + "/apikeys/" + svcKey, b.owner, nil, 404},
				{"other org: revoke a key as a personal key", "DELETE", "/v1/apikeys/" + svcKey, b.owner, nil, 404},
				{"other org: revoke the owner's personal key", "DELETE", "/v1/apikeys/" + ownerPersonal, b.owner, nil, 404},
				{"other org: read the owner's personal key", "GET", "/v1/apikeys/" + ownerPersonal, b.owner, nil, 404},
				{"other org: list the victim's keys by principal", "GET", B + "/apikeys?principal=service:" + svc, b.owner, nil, 200},
				{"other org: key for the victim's service from its own org", "POST", B + "/apikeys", b.owner, map[string]any{"principal": "service:" + svc}, 404},
				{"other org: key for the victim's service in the victim org", "POST", A + "/apikeys", b.owner, map[string]any{"principal": "service:" + svc}, 404},
				{"other org: key for the victim's owner", "POST", B + "/apikeys", b.owner, map[string]any{"principal": "user:" + a.ownerID}, 403},
				{"other org: revoke the victim's invitation through its own org", "DELETE", B + "/invitations/" + inv.Item.ID, b.owner, nil, 404},
				{"other org: revoke the victim's invitation in the victim org", "DELETE", A + "/invitations/" + inv.Item.ID, b.owner, nil, 404},
				{"other org: agent token for the victim's agent through its own org", "POST", B + "/agents/" + agent + "/tokens", b.owner, map[string]any{"audience": "https://mcp.example.com/x"}, 404},
				{"other org: agent token for the victim's agent in the victim org", "POST", A + "/agents/" + agent + "/tokens", b.owner, map[string]any{"audience": "https://mcp.example.com/x"}, 404},
				{"other org: suspend the victim's service", "POST", A + "/services/" + svc + "/suspend", b.owner, nil, 404},
				{"other org: attest the victim's agent", "POST", A + "/agents/" + agent + "/attest", b.owner, nil, 404},
				{"other org: provision a user into the victim org", "POST", "/v1/users", b.owner, map[string]any{"org": a.org, "id": "planted", "email": "planted@example.com", "role": "viewer"}, 404},

				// A viewer of the victim org.
				{"viewer: revoke the service's key", "DELETE", A + "/apikeys/" + svcKey, a.viewer, nil, 403},
				{"viewer: list the org's keys", "GET", A + "/apikeys", a.viewer, nil, 403},
				{"viewer: revoke the owner's personal key", "DELETE", "/v1/apikeys/" + ownerPersonal, a.viewer, nil, 404},
				{"viewer: revoke the invitation", "DELETE", A + "/invitations/" + inv.Item.ID, a.viewer, nil, 403},
				{"viewer: invite", "POST", A + "/invitations", a.viewer, map[string]any{"email": "friend@example.com", "role": "viewer"}, 403},
				{"viewer: key for the service", "POST", A + "/apikeys", a.viewer, map[string]any{"principal": "service:" + svc}, 403},
				{"viewer: agent token", "POST", A + "/agents/" + agent + "/tokens", a.viewer, map[string]any{"audience": "https://mcp.example.com/x"}, 403},
				{"viewer: suspend the service", "POST", A + "/services/" + svc + "/suspend", a.viewer, nil, 403},
				{"viewer: provision a user", "POST", "/v1/users", a.viewer, map[string]any{"org": a.org, "id": "planted", "email": "planted@example.com", "role": "viewer"}, 403},

				// The org's service (a key holder that is not a person).
				{"service: session from its key", "POST", "/v1/sessions", a.serviceKey, nil, 403},
				{"service: personal key", "POST", "/v1/apikeys", a.serviceKey, map[string]any{}, 403},
				{"service: another key for itself", "POST", A + "/apikeys", a.serviceKey, map[string]any{}, 403},
				{"service: key for the owner", "POST", A + "/apikeys", a.serviceKey, map[string]any{"principal": "user:" + a.ownerID}, 403},
				{"service: accept an invitation", "POST", "/v1/invitations/accept", a.serviceKey, map[string]any{"token": inv.Token}, 403},
				{"service: invite", "POST", A + "/invitations", a.serviceKey, map[string]any{"email": "friend@example.com", "role": "viewer"}, 403},

				// The owner itself, with what it may not mint.
				{"owner: a session from a session", "POST", "/v1/sessions", sess.Token, nil, 403},
				{"owner: a key for another user", "POST", A + "/apikeys", a.owner, map[string]any{"principal": "user:" + a.viewerID}, 403},
				{"owner: a key for an agent", "POST", A + "/apikeys", a.owner, map[string]any{"principal": "agent:" + agent}, 400},
				{"owner: a key for a team", "POST", A + "/apikeys", a.owner, map[string]any{"principal": "team:" + a.params["team"]}, 400},
				{"owner: a personal key naming another user", "POST", "/v1/apikeys", a.owner, map[string]any{"principal": "user:" + a.viewerID}, 400},
				{"owner: a key for a service of another org", "POST", A + "/apikeys", a.owner, map[string]any{"principal": "service:" + b.params["service"]}, 404},

				// Nobody at all.
				{"anonymous: session", "POST", "/v1/sessions", "", nil, 401},
				{"anonymous: personal key", "POST", "/v1/apikeys", "", map[string]any{}, 401},
				{"anonymous: invitation list", "GET", A + "/invitations", "", nil, 401},
			})

			// The victims' credentials still work, the invitation is still
			// pending.
			e.must(200, "GET", A+"/services/"+svc, a.serviceKey, nil, nil)
			e.must(200, "GET", "/v1/me", a.owner, nil, nil)
			e.must(200, "GET", "/v1/me", sess.Token, nil, nil)
			var got api.APIKey
			e.must(200, "GET", A+"/apikeys/"+svcKey, a.owner, nil, &got)
			if !got.RevokedAt.IsZero() {
				t.Errorf("the service's key was revoked: %+v", got)
			}
			// The other org's own key list named nothing of the victim's.
			var ks server.List[api.APIKey]
			e.must(200, "GET", B+"/apikeys?principal=service:"+svc, b.owner, nil, &ks)
			if len(ks.Items) != 0 {
				t.Errorf("the other org lists the victim's keys: %+v", ks.Items)
			}
			var acc acceptAnswer
			e.must(201, "POST", "/v1/invitations/accept", "", map[string]any{"token": inv.Token, "user_id": "victim"}, &acc)
			if acc.Org != a.org || acc.User.ID != "victim" {
				t.Errorf("acceptance = %+v", acc)
			}
			if _, err := e.st.GetUser(ctxT(t), "planted"); err == nil {
				t.Error("a refused provisioning left a user behind")
			}
			// Nothing the other org's owner did is in the victim org's log.
			for _, en := range storedLog(t, e, a.org) {
				if en.Actor.Principal == "user:"+b.ownerID {
					t.Errorf("the victim org's log holds an entry by the other org's owner: %s %s %s", en.Action, en.Target, en.Message)
				}
			}
		})
	}
}

// TestAttackInvitationRace: one invitation token redeemed by many
// anonymous callers at once, each naming its own user. Exactly one gets a
// session; the others get 410 and leave no user behind; the org gains one
// member.
func TestAttackInvitationRace(t *testing.T) {
	t.Parallel()
	for _, backend := range backends(t) {
		t.Run(backend, func(t *testing.T) {
			e := newEnv(t, backend, envOpts{})
			w := buildWorld(t, e, "r")
			inv := e.invite("/v1/orgs/"+w.org, w.owner, "racer@example.com", "viewer")
			const n = 8
			ids := make([]string, n)
			status := make([]int, n)
			var wg sync.WaitGroup
			for i := range n {
				ids[i] = "racer" + string(rune('a'+i))
				wg.Add(1)
				go func() {
					defer wg.Done()
					status[i] = e.do("POST", "/v1/invitations/accept", "", map[string]any{"token": inv.Token, "user_id": ids[i]}).Status
				}()
			}
			wg.Wait()
			won := 0
			for i, st := range status {
				_, err := e.st.GetUser(ctxT(t), ids[i])
				switch st {
				case http.StatusCreated:
					won++
					if err != nil {
						t.Errorf("%s won the race but does not exist: %v", ids[i], err)
					}
				case http.StatusGone:
					if err == nil {
						t.Errorf("%s lost the race (410) but its user exists", ids[i])
					}
				default:
					t.Errorf("%s: status %d, want 201 or 410", ids[i], st)
				}
			}
			if won != 1 {
				t.Errorf("%d callers redeemed one invitation, want exactly 1 (statuses %v)", won, status)
			}
			var ms server.List[store.Member]
			e.must(200, "GET", "/v1/orgs/"+w.org+"/members", w.owner, nil, &ms)
			racers := 0
			for _, m := range ms.Items {
				if strings.HasPrefix(m.UserID, "racer") {
					racers++
				}
			}
			if racers != 1 {
				t.Errorf("the org has %d members from one invitation, want 1", racers)
			}
			e.must(410, "POST", "/v1/invitations/accept", "", map[string]any{"token": inv.Token, "user_id": "late"}, nil)
		})
	}
}

// TestAttackAcceptBadInput: malformed, oversized and odd acceptance
// requests are refused with a problem document and consume nothing: the
// invitation is still redeemable afterwards and none of the names tried
// became a user.
func TestAttackAcceptBadInput(t *testing.T) {
	t.Parallel()
	for _, backend := range backends(t) {
		t.Run(backend, func(t *testing.T) {
			e := newEnv(t, backend, envOpts{})
			w := buildWorld(t, e, "i")
			inv := e.invite("/v1/orgs/"+w.org, w.owner, "odd@example.com", "viewer")
			tok := inv.Token
			huge := `{"token":"` + tok + `","display_name":"` + strings.Repeat("x", server.DefaultMaxBody) + `"}`
			e.runAttacks(t, []attack{
				{"malformed JSON", "POST", "/v1/invitations/accept", "", `{"token":`, 400},
				{"null body", "POST", "/v1/invitations/accept", "", `null`, 400},
				{"array body", "POST", "/v1/invitations/accept", "", `[]`, 400},
				{"unknown field", "POST", "/v1/invitations/accept", "", map[string]any{"token": tok, "role": "owner"}, 400},
				{"org smuggled in", "POST", "/v1/invitations/accept", "", map[string]any{"token": tok, "org": "other"}, 400},
				{"token as a number", "POST", "/v1/invitations/accept", "", `{"token":1}`, 400},
				{"two JSON values", "POST", "/v1/invitations/accept", "", `{"token":"` + tok + `"}{}`, 400},
				{"oversized body", "POST", "/v1/invitations/accept", "", huge, 413},
				{"user id with a slash", "POST", "/v1/invitations/accept", "", map[string]any{"token": tok, "user_id": "../root"}, 400},
				{"user id with a space", "POST", "/v1/invitations/accept", "", map[string]any{"token": tok, "user_id": "a b"}, 400},
				{"user id with a colon", "POST", "/v1/invitations/accept", "", map[string]any{"token": tok, "user_id": "user:x"}, 400},
				{"user id not ASCII", "POST", "/v1/invitations/accept", "", map[string]any{"token": tok, "user_id": "ädmin"}, 400},
				{"user id starting with a digit", "POST", "/v1/invitations/accept", "", map[string]any{"token": tok, "user_id": "1x"}, 400},
				{"user id too long", "POST", "/v1/invitations/accept", "", map[string]any{"token": tok, "user_id": "u" + strings.Repeat("x", 128)}, 400},
				{"user id of an existing user", "POST", "/v1/invitations/accept", "", map[string]any{"token": tok, "user_id": w.ownerID}, 400},
				{"token with a NUL", "POST", "/v1/invitations/accept", "", map[string]any{"token": tok + "\x00"}, 401},
				{"token of another kind (an API key)", "POST", "/v1/invitations/accept", "", map[string]any{"token": w.owner}, 401},
				{"empty token", "POST", "/v1/invitations/accept", "", map[string]any{"token": ""}, 401},
				{"wrong content type", "POST", "/v1/invitations/accept", "", nil, 415},
			})
			for _, id := range []string{"../root", "a b", "user:x", "ädmin", "1x", "odd"} {
				if _, err := e.st.GetUser(ctxT(t), id); err == nil {
					t.Errorf("a refused acceptance created user %q", id)
				}
			}
			owner, err := e.st.GetUser(ctxT(t), w.ownerID)
			if err != nil || owner.Email != "" {
				t.Errorf("the existing user named by a refused acceptance changed: %+v %v", owner, err)
			}
			var acc acceptAnswer
			e.must(201, "POST", "/v1/invitations/accept", "", map[string]any{"token": tok}, &acc)
			if acc.User.ID != "odd" || acc.User.Email != "odd@example.com" || acc.Session == nil {
				t.Errorf("acceptance after the refusals = %+v", acc)
			}
		})
	}
}

// TestAttackKeyCreationBadInput: bad API key requests are refused before
// anything is written: no key appears in the org's list.
func TestAttackKeyCreationBadInput(t *testing.T) {
	t.Parallel()
	for _, backend := range backends(t) {
		t.Run(backend, func(t *testing.T) {
			e := newEnv(t, backend, envOpts{})
			w := buildWorld(t, e, "k")
			A := "/v1/orgs/" + w.org
			count := func() int {
				t.Helper()
				var ks server.List[api.APIKey]
				e.must(200, "GET", A+"/apikeys?page_size=1000", w.owner, nil, &ks)
				return len(ks.Items)
			}
			before := count()
			ownKeys := func() int {
				t.Helper()
				ks, _, err := e.st.ListAPIKeys(ctxT(t), store.APIKeyFilter{Principal: "user:" + w.ownerID}, store.Page{Size: 1000})
				if err != nil {
					t.Fatal(err)
				}
				return len(ks)
			}
			personalBefore := ownKeys()
			e.runAttacks(t, []attack{
				{"expiry in the past", "POST", A + "/apikeys", w.owner, map[string]any{"expires_at": "2000-01-01T00:00:00Z"}, 400},
				{"expiry not a time", "POST", A + "/apikeys", w.owner, map[string]any{"expires_at": "tomorrow"}, 400},
				{"name over 200 bytes", "POST", A + "/apikeys", w.owner, map[string]any{"name": strings.Repeat("n", 201)}, 400},
				{"unknown field (org)", "POST", A + "/apikeys", w.owner, map[string]any{"org": "other"}, 400},
				{"unknown field (hash)", "POST", A + "/apikeys", w.owner, map[string]any{"hash": "AAAA"}, 400},
				{"principal without a kind", "POST", A + "/apikeys", w.owner, map[string]any{"principal": w.ownerID}, 400},
				{"principal with an odd name", "POST", A + "/apikeys", w.owner, map[string]any{"principal": "service:../" + w.params["service"]}, 400},
				{"principal of an unknown service", "POST", A + "/apikeys", w.owner, map[string]any{"principal": "service:ghost"}, 404},
				{"null body", "POST", A + "/apikeys", w.owner, `null`, 400},
				{"personal: unknown field", "POST", "/v1/apikeys", w.owner, map[string]any{"org": w.org}, 400},
				{"personal: expiry in the past", "POST", "/v1/apikeys", w.owner, map[string]any{"expires_at": "2000-01-01T00:00:00Z"}, 400},
				{"key id with odd characters", "DELETE", A + "/apikeys/%2e%2e", w.owner, nil, 404},
				{"invitation id with odd characters", "DELETE", A + "/invitations/x%00y", w.owner, nil, 404},
			})
			if after := count(); after != before {
				t.Errorf("refused key creations wrote keys: %d before, %d after", before, after)
			}
			if n := ownKeys(); n != personalBefore {
				t.Errorf("refused personal key creations wrote keys: %d before, %d after", personalBefore, n)
			}
		})
	}
}

// TestAttackNoExistenceOracleForTheUnderprivileged: a member holding
// nothing useful (world.nobody) calls the identity routes that take a
// name — a member to remove or whose role to change, a team to read, an
// agent to mint a token for, an agent or a service to attest — once with a name that exists and once with one that
// does not. Both answers must be the same refusal (403, same problem
// type), or the member learns who is in the org and which agents and
// services exist (threat model row 25); the refusal to attest names no
// sponsor.
func TestAttackNoExistenceOracleForTheUnderprivileged(t *testing.T) {
	t.Parallel()
	for _, backend := range backends(t) {
		t.Run(backend, func(t *testing.T) {
			e := newEnv(t, backend, envOpts{})
			w := buildWorld(t, e, "o")
			A := "/v1/orgs/" + w.org
			e.must(200, "PATCH", A+"/services/"+w.params["service"], w.owner, map[string]any{"sponsors": []string{"user:" + w.ownerID}}, nil)
			R := A + "/namespaces/" + w.params["namespace"] + "/resources/chains/" + w.params["id"]
			ghostR := A + "/namespaces/" + w.params["namespace"] + "/resources/chains/ghost"
			cases := []struct {
				name, method, real, ghost string
				body                      any
			}{
				{"remove a member", "DELETE", A + "/members/" + w.viewerID, A + "/members/ghost", nil},
				{"change a member's role", "PATCH", A + "/members/" + w.viewerID, A + "/members/ghost", map[string]any{"role": "viewer"}},
				{"read a team and its members", "GET", A + "/teams/" + w.params["team"], A + "/teams/ghost", nil},
				{"mint an agent token", "POST", A + "/agents/" + w.params["agent"] + "/tokens", A + "/agents/Ghost/tokens", map[string]any{"audience": "https://mcp.example.com/x"}},
				{"attest an agent", "POST", A + "/agents/" + w.params["agent"] + "/attest", A + "/agents/Ghost/attest", nil},
				{"attest a service", "POST", A + "/services/" + w.params["service"] + "/attest", A + "/services/ghost/attest", nil},
				{"read a resource", "GET", R, ghostR, nil},
				{"change a resource", "PATCH", R, ghostR, map[string]any{"labels": map[string]string{"k": "v"}}},
				{"delete a resource", "DELETE", R, ghostR, nil},
				{"list a resource's versions", "GET", R + "/versions", ghostR + "/versions", nil},
				{"read a resource's version", "GET", R + "/versions/1", ghostR + "/versions/1", nil},
				{"diff a resource's versions", "GET", R + "/diff?from=1&to=1", ghostR + "/diff?from=1&to=1", nil},
				{"read a resource's history", "GET", R + "/history", ghostR + "/history", nil},
				{"share a resource", "POST", R + "/shares", ghostR + "/shares", map[string]any{"principal": "user:" + w.viewerID, "actions": []string{"read"}}},
				{"get a run token", "POST", R + "/runs", ghostR + "/runs", map[string]any{}},
			}
			for _, c := range cases {
				real, ghost := e.do(c.method, c.real, w.nobody, c.body), e.do(c.method, c.ghost, w.nobody, c.body)
				if real.Status != http.StatusForbidden || ghost.Status != real.Status {
					t.Errorf("%s: %d for one that exists, %d for one that does not; want 403 for both\nexists: %s\nmissing: %s", c.name, real.Status, ghost.Status, real.Body, ghost.Body)
					continue
				}
				if rp, gp := real.problem(t), ghost.problem(t); rp.Type != gp.Type {
					t.Errorf("%s: problem %s for one that exists, %s for one that does not", c.name, rp.Type, gp.Type)
				}
				if strings.Contains(string(real.Body), w.ownerID) {
					t.Errorf("%s: the refusal names the sponsor to a member who may not read it: %s", c.name, real.Body)
				}
			}
			// The viewer is still a member; nothing was attested.
			e.must(200, "GET", A+"/members/"+w.viewerID, w.owner, nil, nil)
		})
	}
}

// TestAttackInvitationCannotRaiseAMember: an invitation with a higher
// role, addressed to someone who is already a member, is no back door to
// a promotion: accepting it is 409 (already a member), the member's role
// is unchanged and the token is spent.
func TestAttackInvitationCannotRaiseAMember(t *testing.T) {
	t.Parallel()
	for _, backend := range backends(t) {
		t.Run(backend, func(t *testing.T) {
			e := newEnv(t, backend, envOpts{})
			w := buildWorld(t, e, "m")
			A := "/v1/orgs/" + w.org
			yan := e.userWithEmail("myan")
			e.must(201, "POST", A+"/members", w.owner, map[string]any{"user_id": "myan", "role": "viewer"}, nil)
			inv := e.invite(A, w.owner, "myan@example.com", "admin")
			e.must(409, "POST", "/v1/invitations/accept", yan, map[string]any{"token": inv.Token}, nil)
			var m store.Member
			e.must(200, "GET", A+"/members/myan", w.owner, nil, &m)
			var bs server.List[store.Binding]
			e.must(200, "GET", A+"/bindings?principal=user:myan", w.owner, nil, &bs)
			var roles []string
			for _, b := range bs.Items {
				roles = append(roles, b.Role)
			}
			if diff := cmp.Diff([]string{"viewer"}, roles); diff != "" {
				t.Errorf("the member's roles after accepting an admin invitation (-want +got):\n%s", diff)
			}
			e.must(410, "POST", "/v1/invitations/accept", yan, map[string]any{"token": inv.Token}, nil)
		})
	}
}

// invite has owner invite email into the org at path orgPath
// ("/v1/orgs/<org>") with role, and returns the invitation with its token.
func (e *env) invite(orgPath, owner, email, role string) server.InvitationCreated {
	e.t.Helper()
	var inv server.InvitationCreated
	e.must(201, "POST", orgPath+"/invitations", owner, map[string]any{"email": email, "role": role}, &inv)
	return inv
}
