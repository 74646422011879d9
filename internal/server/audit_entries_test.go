package server_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-dev/gatehouse/internal/audit"
	"github.com/gatehouse-dev/gatehouse/internal/server"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// Audit entries say what they touched (DESIGN §7: "every administrative
// write ... who, what, target"): API keys and invitations are recorded,
// an invitation and a change of role say what they grant, a refused
// resource write names the resource, and no entry of any org — after every
// route was called, as its owner and as a member holding nothing — lacks a
// target (the store refuses such an entry).

// storedLog reads org's whole log from the store, as stored.
func storedLog(t *testing.T, e *env, org string) []audit.Entry {
	t.Helper()
	var out []audit.Entry
	for after := uint64(0); ; {
		recs, err := e.st.ReadAudit(ctxT(t), org, after, store.MaxAuditBatch)
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) == 0 {
			return out
		}
		for _, r := range recs {
			en, err := audit.FromRecord(r)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, en)
		}
		after = recs[len(recs)-1].Seq
	}
}

// entryFor returns the newest entry of es with action and target.
func entryFor(t *testing.T, es []audit.Entry, action, target string) audit.Entry {
	t.Helper()
	for i := len(es) - 1; i >= 0; i-- {
		if es[i].Action == action && es[i].Target == target {
			return es[i]
		}
	}
	var have []string
	for _, x := range es {
		have = append(have, x.Action+" "+x.Target)
	}
	t.Fatalf("no %s entry with target %q; the log has:\n%s", action, target, strings.Join(have, "\n"))
	return audit.Entry{}
}

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// object decodes an entry's JSON object (before, after, details).
func object(t *testing.T, raw json.RawMessage) map[string]any {
	t.Helper()
	var m map[string]any
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatalf("decode %s: %v", raw, err)
		}
	}
	return m
}

func TestAuditEntriesSayWhatTheyTouched(t *testing.T) {
	for _, backend := range backends(t) {
		t.Run(backend, func(t *testing.T) {
			sw := newSecretWorld(t, backend)
			e := sw.e
			w := buildWorld(t, e, "k")
			o := "/v1/orgs/" + w.org
			log := func() []audit.Entry { return storedLog(t, e, w.org) }

			// API keys: the world's owner made one for its service; a member
			// makes one for itself; both are revoked.
			t.Run("api keys", func(t *testing.T) {
				svcKey := w.params["key"]
				en := entryFor(t, log(), "apikey.create", "apikey/"+svcKey)
				if after := object(t, en.After); en.Actor.Principal != "user:"+w.ownerID || en.Result != audit.Success ||
					after["principal"] != "service:"+w.params["service"] || after["id"] != svcKey {
					t.Errorf("key for another principal: %+v (after %s)", en, en.After)
				}
				var own server.KeyCreated
				e.must(201, "POST", o+"/apikeys", w.mkey, map[string]any{"name": "mine"}, &own)
				en = entryFor(t, log(), "apikey.create", "apikey/"+own.Item.ID)
				if after := object(t, en.After); en.Actor.Principal != "user:"+w.memberID || after["principal"] != "user:"+w.memberID {
					t.Errorf("own key: %+v (after %s)", en, en.After)
				}
				for who, kid := range map[string]string{w.owner: svcKey, w.mkey: own.Item.ID} {
					e.must(200, "DELETE", o+"/apikeys/"+kid, who, nil, nil)
					en = entryFor(t, log(), "apikey.revoke", "apikey/"+kid)
					if after := object(t, en.After); en.Result != audit.Success || after["revoked_at"] == nil || object(t, en.Before)["revoked_at"] != nil {
						t.Errorf("revoke %s: %+v (before %s, after %s)", kid, en, en.Before, en.After)
					}
				}
				// A member without apikeys:create minting a key for another
				// principal is refused, and that is recorded.
				if r := e.do("POST", o+"/apikeys", w.mkey, map[string]any{"principal": "service:" + w.params["service"]}); r.Status != http.StatusForbidden {
					t.Fatalf("member mints a service key: %d %s", r.Status, r.Body)
				}
				if es := log(); es[len(es)-1].Action != "apikey.create" || es[len(es)-1].Result != audit.Denied || es[len(es)-1].Target != "scope/org" {
					t.Errorf("refused key: %+v", es[len(es)-1])
				}
			})
			t.Run("personal key", func(t *testing.T) {
				// A personal key is the deployment's.
				var personal server.KeyCreated
				e.must(201, "POST", "/v1/apikeys", w.viewer, map[string]any{"name": "laptop"}, &personal)
				e.must(200, "DELETE", "/v1/apikeys/"+personal.Item.ID, w.viewer, nil, nil)
				sys := storedLog(t, e, audit.SystemOrg)
				for _, action := range []string{"apikey.create", "apikey.revoke"} {
					if en := entryFor(t, sys, action, "apikey/"+personal.Item.ID); en.Actor.Principal != "user:"+w.viewerID {
						t.Errorf("personal %s: %+v", action, en)
					}
				}

			})
			t.Run("invitation", func(t *testing.T) {
				// An invitation: its target, the email (as its digest), role,
				// scope and expiry; never the address itself (any audit:read
				// holder reads the entry).
				inv := w.params["invitation"]
				var invs struct {
					Items []store.Invitation `json:"items"`
				}
				e.must(200, "GET", o+"/invitations", w.owner, nil, &invs)
				i := slices.IndexFunc(invs.Items, func(v store.Invitation) bool { return v.ID == inv })
				if i < 0 {
					t.Fatalf("invitation %s not listed", inv)
				}
				en := entryFor(t, log(), "invite", "invitation/"+inv)
				want := map[string]any{"email_sha256": sha256Hex("kdave@example.com"), "role": "viewer", "scope": "org",
					"expires_at": invs.Items[i].ExpiresAt.Format(time.RFC3339Nano)}
				if diff := cmp.Diff(want, object(t, en.Details)); diff != "" {
					t.Errorf("invite details (-want +got):\n%s", diff)
				}
				if en.Actor.Principal != "user:"+w.ownerID || strings.Contains(string(en.After)+string(en.Details), "@example.com") {
					t.Errorf("invite entry: %+v (after %s)", en, en.After)
				}
				e.must(200, "DELETE", o+"/invitations/"+inv, w.owner, nil, nil)
				if en := entryFor(t, log(), "invitation.revoke", "invitation/"+inv); object(t, en.After)["revoked_at"] == nil ||
					strings.Contains(string(en.Before)+string(en.After), "@example.com") {
					t.Errorf("invitation revoke: %+v (before %s, after %s)", en, en.Before, en.After)
				}

			})
			t.Run("member role", func(t *testing.T) {
				// A change of role: the roles replaced and the new one.
				e.must(200, "PATCH", o+"/members/"+w.viewerID, w.owner, map[string]any{"role": "builder"}, nil)
				en := entryFor(t, log(), "member_role.change", "member/user:"+w.viewerID)
				before, after := object(t, en.Before), object(t, en.After)
				if !cmp.Equal(before["roles"], []any{"viewer"}) || after["role"] != "builder" || after["binding"] == nil {
					t.Errorf("member_role.change: before %s, after %s", en.Before, en.After)
				}

			})
			t.Run("refused resource create", func(t *testing.T) {
				// A refused resource create names the resource.
				so := "/v1/orgs/" + sworg
				e.must(201, "POST", prodKey, sw.admin, map[string]any{"name": "ADMINS_ONLY", "value": "v", "referable_by": []string{"role:admin"}}, nil)
				if r := e.do("POST", so+"/resources", sw.builder, map[string]any{"namespace": "prod", "type": "chains", "id": "sneaky",
					"spec": map[string]any{"secrets": []string{"ADMINS_ONLY"}}}); r.Status != http.StatusForbidden {
					t.Fatalf("builder references an admins-only secret: %d %s", r.Status, r.Body)
				}
				es := storedLog(t, e, sworg)
				if en := es[len(es)-1]; en.Action != "resource.create" || en.Result != audit.Denied || en.Target != "resource/prod/chains/sneaky" {
					t.Errorf("refused resource create: %+v", en)
				}
			})
		})
	}
}

func TestEveryAuditEntryHasATarget(t *testing.T) {
	for _, backend := range backends(t) {
		t.Run(backend, func(t *testing.T) {
			sw := newSecretWorld(t, backend)
			e := sw.e
			plantAuditCanaries(t, sw)
			w := buildWorld(t, e, "")
			e.must(200, "PUT", "/v1/orgs/"+w.org+"/audit/settings", w.owner, audit.Settings{Decisions: audit.DecisionsAll}, nil)
			e.must(200, "POST", "/v1/orgs/"+w.org+"/check", w.mkey, map[string]any{"action": "chains:run", "resource": "chains/" + w.params["id"], "namespace": w.params["namespace"]}, nil)
			if r := e.do("GET", "/v1/orgs/"+w.org+"/audit", "gh_bogus_key", nil); r.Status != http.StatusUnauthorized {
				t.Fatalf("bogus key: %d", r.Status)
			}
			// Every route, as a member holding nothing (refusals) and as the
			// owner; the org's and the owner's own deletion last.
			last := map[string]bool{"DELETE /v1/orgs/{org}": true, "DELETE /v1/me": true}
			var routes, final []*server.Route
			for _, rt := range e.srv.Routes() {
				switch {
				case rt.Access == server.Public:
				case last[rt.Pattern()]:
					final = append(final, rt)
				default:
					routes = append(routes, rt)
				}
			}
			call := func(rt *server.Route, key string) {
				t.Helper()
				r := e.do(rt.Method, fill(t, rt.Path, w.params), key, example(w, rt))
				if r.Status >= 500 {
					t.Errorf("%s: %d %s", rt.Pattern(), r.Status, r.Body)
				}
			}
			for _, key := range []string{w.nobody, w.viewer, w.owner} {
				for _, rt := range routes {
					call(rt, key)
				}
				e.auth.ResetLimits()
			}
			sort.Slice(final, func(i, j int) bool { return final[i].Path > final[j].Path }) // the org, then the user
			for _, rt := range final {
				call(rt, w.owner)
			}
			orgs, err := e.st.AuditOrgs(ctxT(t))
			if err != nil {
				t.Fatal(err)
			}
			actions := map[string]bool{}
			for _, org := range orgs {
				for _, en := range storedLog(t, e, org) {
					actions[en.Action+" "+string(en.Result)] = true
					if en.Target == "" {
						t.Errorf("%s entry %d (%s %s by %s) has no target", org, en.Seq, en.Action, en.Result, en.Actor.Principal)
					}
				}
			}
			// The walk reached what it is meant to cover.
			var missing []string
			for _, a := range []string{"apikey.create success", "apikey.revoke success", "invite success", "invitation.revoke success",
				"member_role.change success", "audit_settings.update success", "decision success", "decision denied",
				"binding.create denied", "secrets.create success", "secrets.run_token success", "org.delete success",
				"resource.create success", "auth.failure denied"} {
				if !actions[a] {
					missing = append(missing, a)
				}
			}
			sort.Strings(missing)
			if len(missing) > 0 {
				t.Errorf("the walk recorded no %v; it recorded %v", missing, actions)
			}
		})
	}
}
