package server_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/api"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// shiftedClock is a store whose writes' clock, as the directory reads it
// (Tx.Now: the instant of an attestation or an opt-in, the instant a write
// judges standings at), runs ahead of the wall clock by a settable offset.
// The store's own stamps (created_at) stay real. Tests use it to age
// agents and services by days.
type shiftedClock struct {
	store.Store
	offset *atomic.Int64 // nanoseconds
}

func (s shiftedClock) Write(ctx context.Context, fn func(store.Tx) error) (uint64, error) {
	return s.Store.Write(ctx, func(tx store.Tx) error { return fn(shiftedTx{tx, time.Duration(s.offset.Load())}) })
}

type shiftedTx struct {
	store.Tx
	by time.Duration
}

func (t shiftedTx) Now() time.Time { return t.Tx.Now().Add(t.by) }

// TestSettingOrgRulesIsManagingWhatTheyChange: the org's lifecycle rules
// (PUT /lifecycle, org:update, which the admin role holds) suspend an
// agent — and a service that opted in — unused or unattested for longer
// than they allow, and switching them off or loosening them lifts that.
// A change that suspends or revives, at the time of the write, an agent
// or service the actor may not manage (row 36: an owner-level one, for an
// admin) is refused (403); one that changes only what the actor outranks
// is not, and the owner may always.
//
// Ages at the time of the table (day 25): Cabin (viewer agent, created
// day 0) 25 days, vault (owner-level service, opted in day 10) 15 days,
// Chief (owner agent, attested day 20) 5 days; none used since.
func TestSettingOrgRulesIsManagingWhatTheyChange(t *testing.T) {
	for _, backend := range backends(t) {
		t.Run(backend, func(t *testing.T) {
			offset := &atomic.Int64{}
			day := func(n int) { offset.Store(int64(time.Duration(n) * 24 * time.Hour)) }
			w := newApvWorldOpts(t, backend, envOpts{wrap: func(st store.Store) store.Store { return shiftedClock{st, offset} }})
			e := w.e
			org := "/v1/orgs/" + w.org
			e.must(201, "POST", org+"/agents", w.owner, map[string]any{"name": "Cabin", "role": "viewer", "sponsors": []string{"user:apvamy"}}, nil)
			e.must(201, "POST", org+"/agents", w.owner, map[string]any{"name": "Chief", "role": "owner", "sponsors": []string{"user:apvowner"}}, nil)
			e.must(201, "POST", org+"/services", w.owner, map[string]any{"name": "vault", "role": "owner", "sponsors": []string{"user:apvowner"}}, nil)
			day(10)
			e.must(200, "PATCH", org+"/services/vault", w.owner, map[string]any{"lifecycle": true}, nil)
			day(20)
			e.must(200, "POST", org+"/agents/Chief/attest", w.owner, nil, nil)
			// Not compared: suspended by hand, or without a sponsor,
			// whatever the rules say.
			e.must(201, "POST", org+"/agents", w.owner, map[string]any{"name": "Gone", "role": "owner", "sponsors": []string{"user:apvviewer"}}, nil)
			e.must(200, "DELETE", org+"/members/apvviewer", w.owner, nil, nil)
			e.must(201, "POST", org+"/services", w.owner, map[string]any{"name": "held", "role": "owner", "sponsors": []string{"user:apvowner"}, "lifecycle": true}, nil)
			e.must(200, "POST", org+"/services/held/suspend", w.owner, nil, nil)
			day(25)

			for _, tc := range []struct {
				name, by         string
				inactive, attest int
				want             int
			}{
				{"admin's rules suspend only a viewer agent", w.ann, 0, 20, 200},
				{"admin lifts only a viewer agent's suspension", w.ann, 0, 0, 200},
				{"admin's rules would suspend an owner-level service", w.ann, 0, 12, 403},
				{"admin's rules would suspend an owner agent (attestation)", w.ann, 0, 3, 403},
				{"admin's rules would suspend an owner agent (inactivity)", w.ann, 3, 0, 403},
				{"owner's rules suspend all three", w.owner, 0, 3, 200},
				{"admin switching the rules off would lift all three", w.ann, 0, 0, 403},
				{"admin's looser rules would lift an owner agent and service", w.ann, 0, 20, 403},
				{"admin's other rule still suspends all three (no change)", w.ann, 1, 0, 200},
				{"owner loosens the rules for an owner agent and service", w.owner, 0, 20, 200},
				{"admin lifts only a viewer agent's suspension again", w.ann, 0, 0, 200},
				{"owner switches inactivity on for all", w.owner, 4, 0, 200},
				{"admin switching inactivity off would lift an owner agent", w.ann, 0, 0, 403},
			} {
				body := map[string]any{"inactive_days": tc.inactive, "attestation_days": tc.attest}
				if r := e.do("PUT", org+"/lifecycle", tc.by, body); r.Status != tc.want {
					t.Errorf("%s: PUT lifecycle %v = %d %s, want %d", tc.name, body, r.Status, r.Body, tc.want)
				}
			}
		})
	}
}

// TestComingBackSponsorsNothing: a member who leaves the org is dropped
// from the sponsors of every agent and service it sponsored, so an
// owner-level agent whose sole sponsor it was stays sponsor_gone when the
// same user becomes a member again — by whatever way and whoever adds it
// (an admin who may not resume that agent included): adding the member,
// a bulk member.add, an invitation the user accepts with its own
// credential, or provisioning a user of the same id after the first one
// deleted itself. The returning user is no sponsor: it may not attest
// the agent. Only new sponsors (PATCH, which needs the right to manage
// the agent) lift sponsor_gone.
func TestComingBackSponsorsNothing(t *testing.T) {
	for _, backend := range backends(t) {
		t.Run(backend, func(t *testing.T) {
			w := newApvWorld(t, backend)
			e := w.e
			org := "/v1/orgs/" + w.org
			tokens := map[string]string{"apvviewer": w.v}
			for _, u := range []string{"rtbulk", "rtinvited", "rtreborn"} {
				tokens[u] = e.userWithEmail(u)
				e.must(201, "POST", org+"/members", w.owner, map[string]any{"user_id": u, "role": "viewer"}, nil)
			}
			byWay := map[string]string{"Added": "apvviewer", "Bulk": "rtbulk", "Invited": "rtinvited", "Reborn": "rtreborn"}
			for agent, u := range byWay {
				e.must(201, "POST", org+"/agents", w.owner, map[string]any{"name": agent, "role": "owner", "sponsors": []string{"user:" + u}}, nil)
			}
			for _, u := range []string{"apvviewer", "rtbulk", "rtinvited"} {
				e.must(200, "DELETE", org+"/members/"+u, w.owner, nil, nil)
			}
			e.must(200, "DELETE", "/v1/me", tokens["rtreborn"], nil, nil)
			status := func(agent string) string {
				t.Helper()
				var a api.Agent
				e.must(200, "GET", org+"/agents/"+agent, w.owner, nil, &a)
				return a.Status
			}
			for agent := range byWay {
				if got := status(agent); got != "sponsor_gone" {
					t.Fatalf("%s after its sponsor left: %s, want sponsor_gone", agent, got)
				}
			}

			// Back, each its own way, by the admin (or the user).
			e.must(201, "POST", org+"/members", w.ann, map[string]any{"user_id": "apvviewer", "role": "viewer"}, nil)
			e.must(200, "POST", org+"/writes", w.ann, map[string]any{"changes": []any{
				map[string]any{"op": "member.add", "user": "rtbulk", "role": "viewer"}}}, nil)
			inv := e.invite(org, w.ann, "rtinvited@example.com", "viewer")
			e.must(201, "POST", "/v1/invitations/accept", tokens["rtinvited"], map[string]any{"token": inv.Token}, nil)
			e.must(201, "POST", "/v1/users", w.ann, map[string]any{"org": w.org, "id": "rtreborn", "email": "rtreborn@example.com", "role": "viewer"}, nil)

			for agent, u := range byWay {
				if got := status(agent); got != "sponsor_gone" {
					t.Errorf("%s once %s is a member again: %s, want sponsor_gone", agent, u, got)
				}
				if tok, ok := tokens[u]; ok && u != "rtreborn" { // the deleted user's key died with it
					if r := e.do("POST", org+"/agents/"+agent+"/attest", tok, nil); r.Status != 403 {
						t.Errorf("%s, back, attests %s: %d %s, want 403", u, agent, r.Status, r.Body)
					}
				}
			}
		})
	}
}

// TestRevokingAKeyIsManagingItsPrincipal: revoking another principal's API
// key (apikeys:delete, which the admin role holds) takes away that
// principal's means to act — for a service, as much as suspending it. So
// it needs the key's principal not above the actor at any scope
// (mayManage, as suspending or minting for it does): an admin may not
// revoke the owner's org key or an owner-level service's key; it may a
// viewer service's and its own, and the owner may revoke any.
func TestRevokingAKeyIsManagingItsPrincipal(t *testing.T) {
	for _, backend := range backends(t) {
		t.Run(backend, func(t *testing.T) {
			w := newTokWorld(t, backend)
			e := w.e
			org := "/v1/orgs/" + w.org
			key := func(by string, body map[string]any) string {
				t.Helper()
				var kc api.KeyCreated
				e.must(201, "POST", org+"/apikeys", by, body, &kc)
				return kc.Item.ID
			}
			e.must(201, "POST", org+"/services", w.owner, map[string]any{"name": "root", "role": "owner"}, nil)
			rootKey := key(w.owner, map[string]any{"principal": "service:root"})
			lowlyKey := key(w.owner, map[string]any{"principal": "service:lowly"})
			ownerKey := key(w.owner, map[string]any{})
			annKey, annKey2 := key(w.ann, map[string]any{}), key(w.ann, map[string]any{})

			for _, tc := range []struct {
				name, key, by string
				want          int
			}{
				{"admin revokes an owner-level service's key", rootKey, w.ann, 403},
				{"admin service revokes an owner-level service's key", rootKey, w.platform, 403},
				{"admin revokes the owner's org key", ownerKey, w.ann, 403},
				{"admin revokes a viewer service's key", lowlyKey, w.ann, 200},
				{"admin revokes its own key", annKey, w.ann, 200},
				{"owner revokes an admin's key", annKey2, w.owner, 200},
				{"owner revokes an owner-level service's key", rootKey, w.owner, 200},
			} {
				if r := e.do("DELETE", org+"/apikeys/"+tc.key, tc.by, nil); r.Status != tc.want {
					t.Errorf("%s: DELETE apikey = %d %s, want %d", tc.name, r.Status, r.Body, tc.want)
				}
			}
		})
	}
}

// TestAServiceLeavingATeamIsNoPersonLeaving: a member may always leave a
// team — a person cannot be held in one — even when that leaves an agent
// the team sponsors without a sponsor. A service's "by itself" is
// whoever holds its key, and an admin may mint a key for any service it
// outranks: leaving as such a service, the last member of the team that
// sponsors an owner-level agent, would get that agent suspended
// (sponsor_gone), which the admin may not do directly (row 40). So a
// service (or an agent) leaving a team needs what removing it would
// (mayOrphan); a person still leaves freely.
func TestAServiceLeavingATeamIsNoPersonLeaving(t *testing.T) {
	for _, backend := range backends(t) {
		t.Run(backend, func(t *testing.T) {
			w := newTokWorld(t, backend)
			e := w.e
			org := "/v1/orgs/" + w.org
			e.must(201, "POST", org+"/services", w.owner, map[string]any{"name": "bot", "role": "viewer"}, nil)
			e.must(201, "POST", org+"/teams", w.owner, map[string]any{"slug": "pilots", "members": []string{"service:bot"}}, nil)
			e.must(201, "POST", org+"/teams", w.owner, map[string]any{"slug": "crew", "members": []string{"service:bot"}}, nil)
			e.must(201, "POST", org+"/teams", w.owner, map[string]any{"slug": "mates", "members": []string{"user:apvop"}}, nil)
			e.must(201, "POST", org+"/agents", w.owner, map[string]any{"name": "Pilot", "role": "owner", "sponsors": []string{"team:pilots"}}, nil)
			e.must(201, "POST", org+"/agents", w.owner, map[string]any{"name": "Deckhand", "role": "viewer", "sponsors": []string{"team:crew"}}, nil)
			e.must(201, "POST", org+"/agents", w.owner, map[string]any{"name": "Mate", "role": "owner", "sponsors": []string{"team:mates"}}, nil)
			var kc api.KeyCreated
			e.must(201, "POST", org+"/apikeys", w.ann, map[string]any{"principal": "service:bot"}, &kc) // the admin outranks bot
			bot := kc.Token

			for _, tc := range []struct {
				name, path, by string
				want           int
			}{
				{"a service, its key minted by an admin, leaves the sole team sponsoring an owner-level agent", org + "/teams/pilots/members/service:bot", bot, 403},
				{"a service leaves the sole team sponsoring a viewer-level agent", org + "/teams/crew/members/service:bot", bot, 200},
				{"a person leaves the sole team sponsoring an owner-level agent", org + "/teams/mates/members/user:apvop", w.op, 200},
			} {
				if r := e.do("DELETE", tc.path, tc.by, nil); r.Status != tc.want {
					t.Errorf("%s: DELETE %s = %d %s, want %d", tc.name, tc.path, r.Status, r.Body, tc.want)
				}
			}
			var a api.Agent
			if e.must(200, "GET", org+"/agents/Pilot", w.owner, nil, &a); a.Status != "active" {
				t.Errorf("Pilot after the refused leave: %s, want active", a.Status)
			}
		})
	}
}

// TestRevokingAnInvitationIsTakingBackItsRole: a pending invitation is a
// grant of its role waiting for its invitee. Revoking another's invitation
// (members:create, which the admin role holds) takes that grant back, so
// it needs what making it needs (DESIGN §1.2 for the role at org scope):
// an admin may not revoke the owner's invitation to become an owner; it
// may revoke one to a role at or below its own, and its own; the owner
// may revoke any.
func TestRevokingAnInvitationIsTakingBackItsRole(t *testing.T) {
	for _, backend := range backends(t) {
		t.Run(backend, func(t *testing.T) {
			w := newApvWorld(t, backend)
			e := w.e
			org := "/v1/orgs/" + w.org
			toOwner := e.invite(org, w.owner, "heir@example.com", "owner")
			toOwner2 := e.invite(org, w.owner, "heir2@example.com", "owner")
			toViewer := e.invite(org, w.owner, "guest@example.com", "viewer")
			byAdmin := e.invite(org, w.ann, "helper@example.com", "admin")
			for _, tc := range []struct {
				name, id, by string
				want         int
			}{
				{"admin revokes the owner's invitation to the owner role", toOwner.Item.ID, w.ann, 403},
				{"admin revokes the owner's invitation to the viewer role", toViewer.Item.ID, w.amy, 200},
				{"admin revokes its own invitation", byAdmin.Item.ID, w.ann, 200},
				{"owner revokes its invitation to the owner role", toOwner.Item.ID, w.owner, 200},
				{"admin revokes the owner's other invitation to the owner role", toOwner2.Item.ID, w.amy, 403},
			} {
				if r := e.do("DELETE", org+"/invitations/"+tc.id, tc.by, nil); r.Status != tc.want {
					t.Errorf("%s: DELETE invitation = %d %s, want %d", tc.name, r.Status, r.Body, tc.want)
				}
			}
		})
	}
}
