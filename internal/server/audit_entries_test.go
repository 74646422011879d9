package server_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"slices"
	"sort"
	"strconv"
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
				e.must(201, "POST", o+"/apikeys", w.owner, map[string]any{"name": "mine"}, &own)
				en = entryFor(t, log(), "apikey.create", "apikey/"+own.Item.ID)
				if after := object(t, en.After); en.Actor.Principal != "user:"+w.ownerID || after["principal"] != "user:"+w.ownerID {
					t.Errorf("own key: %+v (after %s)", en, en.After)
				}
				for _, kid := range []string{svcKey, own.Item.ID} {
					e.must(200, "DELETE", o+"/apikeys/"+kid, w.owner, nil, nil)
					en = entryFor(t, log(), "apikey.revoke", "apikey/"+kid)
					if after := object(t, en.After); en.Result != audit.Success || after["revoked_at"] == nil || object(t, en.Before)["revoked_at"] != nil {
						t.Errorf("revoke %s: %+v (before %s, after %s)", kid, en, en.Before, en.After)
					}
				}
				// A member without apikeys:create minting a key, for another
				// principal or for itself, is refused, and that is recorded.
				for _, body := range []map[string]any{{"principal": "service:" + w.params["service"]}, {"name": "mine"}} {
					if r := e.do("POST", o+"/apikeys", w.mkey, body); r.Status != http.StatusForbidden {
						t.Fatalf("member mints a key (%v): %d %s", body, r.Status, r.Body)
					}
					if es := log(); es[len(es)-1].Action != "apikey.create" || es[len(es)-1].Result != audit.Denied || es[len(es)-1].Target != "scope/org" {
						t.Errorf("refused key (%v): %+v", body, es[len(es)-1])
					}
				}
			})
			t.Run("personal key", func(t *testing.T) {
				// A personal key is the deployment's.
				var personal server.KeyCreated
				e.must(201, "POST", "/v1/apikeys", w.owner, map[string]any{"name": "laptop"}, &personal)
				e.must(200, "DELETE", "/v1/apikeys/"+personal.Item.ID, w.owner, nil, nil)
				sys := storedLog(t, e, audit.SystemOrg)
				for _, action := range []string{"apikey.create", "apikey.revoke"} {
					if en := entryFor(t, sys, action, "apikey/"+personal.Item.ID); en.Actor.Principal != "user:"+w.ownerID {
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
			t.Run("cascading deletes", func(t *testing.T) {
				// A deletion that removes bindings first is about what it
				// deletes, not about the first binding it removed.
				e.must(201, "POST", o+"/namespaces", w.owner, map[string]any{"name": "kdoomed"}, nil)
				e.must(201, "POST", o+"/bindings", w.owner, map[string]any{"principal": "user:" + w.viewerID, "role": "viewer", "scope": map[string]any{"namespace": "kdoomed"}}, nil)
				e.must(201, "POST", o+"/resources", w.owner, map[string]any{"namespace": "kdoomed", "type": "chains", "id": "x"}, nil)
				for _, tc := range []struct{ path, action, target, name string }{
					{"/agents/" + w.params["agent"], "agent.delete", "agent/agent:" + w.params["agent"], w.params["agent"]},
					{"/teams/" + w.params["team"], "team.delete", "team/team:" + w.params["team"], ""},
					{"/namespaces/kdoomed?cascade=true", "namespace.delete", "namespace/kdoomed", "kdoomed"},
					{"/members/" + w.memberID, "member.remove", "member/user:" + w.memberID, ""},
				} {
					e.must(200, "DELETE", o+tc.path, w.owner, nil, nil)
					es := log()
					en := es[len(es)-1]
					if en.Action != tc.action || en.Target != tc.target || en.Result != audit.Success {
						t.Errorf("DELETE %s: %s %s %s, want %s %s", tc.path, en.Action, en.Target, en.Result, tc.action, tc.target)
					}
					if tc.name != "" && object(t, en.Before)["name"] != tc.name {
						t.Errorf("DELETE %s: before %s", tc.path, en.Before)
					}
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

// TestNamespaceScopedAuditReaders: seed 002's "pattern that works" — a
// user whose only roles are builder in dev and operator in prod — reads
// the entries of dev and prod (redacted as any reader without org-wide
// secrets:list), and neither org-level entries nor another namespace's;
// filters, both orders, paging and a resource's history work for it; a
// member holding audit:read nowhere is refused.
func TestNamespaceScopedAuditReaders(t *testing.T) {
	for _, backend := range backends(t) {
		t.Run(backend, func(t *testing.T) {
			sw := newSecretWorld(t, backend)
			e := sw.e
			owner, bob, nob := sw.admin, e.user("ap-bob"), e.user("ap-nob")
			o := "/v1/orgs/ap"
			e.must(201, "POST", "/v1/orgs", owner, map[string]any{"id": "ap", "template": "agent-platform"}, nil)
			for _, ns := range []string{"dev", "prod", "staging"} {
				e.must(201, "POST", o+"/namespaces", owner, map[string]any{"name": ns}, nil)
			}
			e.must(201, "POST", o+"/roles", owner, map[string]any{"name": "nothing", "level": 0, "permissions": []string{"noop:noop"}}, nil)
			e.must(201, "POST", o+"/members", owner, map[string]any{"user_id": "ap-nob", "role": "nothing"}, nil)
			e.must(201, "POST", o+"/members", owner, map[string]any{"user_id": "ap-bob", "role": "viewer"}, nil)
			var bs struct {
				Items []store.Binding `json:"items"`
			}
			e.must(200, "GET", o+"/bindings?principal=user:ap-bob", owner, nil, &bs)
			for _, b := range bs.Items {
				e.must(200, "DELETE", o+"/bindings/"+b.ID, owner, nil, nil)
			}
			bobBindings := map[string]string{}
			for _, nr := range [][2]string{{"dev", "builder"}, {"prod", "operator"}} {
				var b server.Written[store.Binding]
				e.must(201, "POST", o+"/bindings", owner, map[string]any{"principal": "user:ap-bob", "role": nr[1], "scope": map[string]any{"namespace": nr[0]}}, &b)
				bobBindings[nr[0]] = b.Item.ID
			}

			// Activity in each namespace and at org level.
			for _, ns := range []string{"dev", "prod", "staging"} {
				upper := strings.ToUpper(ns)
				e.must(201, "POST", o+"/namespaces/"+ns+"/secrets", owner, map[string]any{"name": "SECRET_" + upper, "value": "v"}, nil)
				e.must(201, "POST", o+"/resources", owner, map[string]any{"namespace": ns, "type": "chains", "id": "c-" + ns,
					"spec": map[string]any{"steps": []string{"a"}, "secrets": []string{"SECRET_" + upper}}}, nil)
				e.must(200, "PATCH", o+"/namespaces/"+ns+"/resources/chains/c-"+ns, owner, map[string]any{"spec": map[string]any{"steps": []string{"a", "b"}}}, nil)
			}
			e.must(200, "PUT", o+"/audit/settings", owner, audit.Settings{Decisions: audit.DecisionsAll}, nil)
			e.must(201, "POST", o+"/teams", owner, map[string]any{"slug": "platform"}, nil)
			e.must(201, "POST", o+"/resources", bob, map[string]any{"namespace": "dev", "type": "chains", "id": "bobs"}, nil)
			for _, ns := range []string{"prod", "staging"} {
				if r := e.do("POST", o+"/resources", bob, map[string]any{"namespace": ns, "type": "chains", "id": "nope"}); r.Status != http.StatusForbidden {
					t.Fatalf("bob creates a chain in %s: %d %s", ns, r.Status, r.Body)
				}
			}
			for _, ns := range []string{"dev", "prod", "staging"} {
				e.must(200, "POST", o+"/check", bob, map[string]any{"action": "chains:run", "resource": "chains/c-" + ns, "namespace": ns}, nil)
			}

			list := func(key, query string) (auditList, []byte) {
				t.Helper()
				var l auditList
				body := e.must(200, "GET", o+"/audit?page_size=1000"+query, key, nil, &l).Body
				if l.NextCursor != "" {
					t.Fatalf("%s: the log does not fit one page", query)
				}
				return l, body
			}
			rows := func(l auditList) []string {
				var out []string
				for _, it := range l.Items {
					out = append(out, it.Action+" "+it.Target+" "+string(it.Result))
				}
				return out
			}
			all, _ := list(owner, "")
			mine, body := list(bob, "")

			// Exactly dev's and prod's entries, in order.
			want := []string{
				"namespace.create namespace/dev success",
				"namespace.create namespace/prod success",
				"binding.create binding/" + bobBindings["dev"] + " success",
				"binding.create binding/" + bobBindings["prod"] + " success",
				"secrets.create dev/secrets/SECRET_DEV success",
				"resource.create resource/dev/chains/c-dev success",
				"resource.update resource/dev/chains/c-dev success",
				"secrets.create prod/secrets/[redacted] success",
				"resource.create resource/prod/chains/c-prod success",
				"resource.update resource/prod/chains/c-prod success",
				"resource.create resource/dev/chains/bobs success",
				"resource.create scope/ns/prod denied",
				"decision resource/dev/chains/c-dev success",
				"decision resource/prod/chains/c-prod success",
			}
			if diff := cmp.Diff(want, rows(mine)); diff != "" {
				t.Errorf("bob's log (-want +got):\n%s\nthe whole log:\n%s", diff, strings.Join(rows(all), "\n"))
			}
			if len(all.Items) <= len(mine.Items)+10 {
				t.Errorf("the owner sees %d entries, bob %d", len(all.Items), len(mine.Items))
			}
			// Redacted as for any reader without secrets:list at org scope:
			// prod's secret names hidden, no hashes.
			if strings.Contains(string(body), "SECRET_PROD") || strings.Contains(string(body), "SECRET_STAGING") || strings.Contains(string(body), `"hash"`) {
				t.Errorf("bob's log shows prod's or staging's secret names or hashes: %s", body)
			}

			// Filters and orders.
			for _, tc := range []struct {
				query string
				want  []string
			}{
				{"&action=resource.create", []string{"resource.create resource/dev/chains/c-dev success", "resource.create resource/prod/chains/c-prod success",
					"resource.create resource/dev/chains/bobs success", "resource.create scope/ns/prod denied"}},
				{"&result=denied", []string{"resource.create scope/ns/prod denied"}},
				{"&target=resource/staging/chains/c-staging", nil},
				{"&target=resource/prod/chains/c-prod&order=newest", []string{"decision resource/prod/chains/c-prod success",
					"resource.update resource/prod/chains/c-prod success", "resource.create resource/prod/chains/c-prod success"}},
				{"&action=team.*", nil},
			} {
				l, _ := list(bob, tc.query)
				if diff := cmp.Diff(tc.want, rows(l)); diff != "" {
					t.Errorf("%s (-want +got):\n%s", tc.query, diff)
				}
			}

			// Pages of 2, both orders, cover the same entries.
			for _, order := range []string{"oldest", "newest"} {
				var seqs []uint64
				cursor := ""
				for i := 0; i < 100; i++ {
					var page auditList
					e.must(200, "GET", o+"/audit?page_size=2&order="+order+"&cursor="+cursor, bob, nil, &page)
					if len(page.Items) > 2 {
						t.Fatalf("page of %d entries", len(page.Items))
					}
					for _, it := range page.Items {
						seqs = append(seqs, it.Seq)
					}
					if cursor = page.NextCursor; cursor == "" {
						break
					}
				}
				var wantSeqs []uint64
				for _, it := range mine.Items {
					wantSeqs = append(wantSeqs, it.Seq)
				}
				if order == "newest" {
					slices.Reverse(wantSeqs)
				}
				if diff := cmp.Diff(wantSeqs, seqs); diff != "" {
					t.Errorf("pages, %s first (-want +got):\n%s", order, diff)
				}
			}

			// A long stretch of entries bob does not read: pages of one
			// entry reach every entry of his, none comes back empty, and
			// following the log with after= and wait= answers at once.
			last := mine.Items[len(mine.Items)-1].Seq
			for i := range 40 {
				e.must(201, "POST", o+"/teams", owner, map[string]any{"slug": "t" + strconv.Itoa(i)}, nil)
			}
			e.must(201, "POST", o+"/resources", owner, map[string]any{"namespace": "dev", "type": "chains", "id": "after-teams"}, nil)
			var seqs []uint64
			empty := 0
			cursor := ""
			for i := 0; i < 200; i++ {
				var page auditList
				e.must(200, "GET", o+"/audit?page_size=1&cursor="+cursor, bob, nil, &page)
				if len(page.Items) == 0 {
					empty++
				}
				for _, it := range page.Items {
					seqs = append(seqs, it.Seq)
				}
				if cursor = page.NextCursor; cursor == "" {
					break
				}
			}
			var wantSeqs []uint64
			for _, it := range mine.Items {
				wantSeqs = append(wantSeqs, it.Seq)
			}
			if len(seqs) != len(wantSeqs)+1 || !slices.Equal(seqs[:len(wantSeqs)], wantSeqs) || empty != 0 {
				t.Errorf("pages of 1 after 40 unread entries: %v (%d empty), want %v and one more", seqs, empty, wantSeqs)
			}
			var followed auditList
			e.must(200, "GET", o+"/audit?after="+strconv.FormatUint(last, 10)+"&wait=20", bob, nil, &followed)
			if len(followed.Items) != 1 || followed.Items[0].Target != "resource/dev/chains/after-teams" {
				t.Errorf("following after %d: %+v", last, followed)
			}

			// No oracle: whether entries bob does not read match a filter
			// (40 teams were created; staging's chain has entries) shows
			// neither in the page nor in a cursor — the answer is that of
			// a filter nothing matches.
			for _, size := range []string{"1", "2", "100"} {
				nothing := e.must(200, "GET", o+"/audit?page_size="+size+"&target=resource/staging/chains/never-was", bob, nil, nil).Body
				for _, q := range []string{"&action=team.create", "&target=team/team:t1", "&target=resource/staging/chains/c-staging",
					"&action=decision&target=resource/staging/chains/c-staging", "&actor=user:sw-admin&action=team.*&order=newest"} {
					if r := e.must(200, "GET", o+"/audit?page_size="+size+q, bob, nil, nil); string(r.Body) != string(nothing) {
						t.Errorf("page_size=%s%s: %s, want %s", size, q, r.Body, nothing)
					}
				}
			}

			// A resource's history in bob's namespaces, with its entries.
			for _, ns := range []string{"dev", "prod"} {
				var h struct {
					Items []struct {
						Version uint64       `json:"version"`
						Audit   *audit.Entry `json:"audit"`
					} `json:"items"`
				}
				body := e.must(200, "GET", o+"/namespaces/"+ns+"/resources/chains/c-"+ns+"/history", bob, nil, &h).Body
				if len(h.Items) != 2 || h.Items[0].Audit == nil || h.Items[1].Audit == nil || h.Items[1].Audit.Action != "resource.update" {
					t.Errorf("%s history: %s", ns, body)
				}
				if strings.Contains(string(body), "SECRET_PROD") || strings.Contains(string(body), `"hash"`) {
					t.Errorf("%s history shows prod's secret names or hashes: %s", ns, body)
				}
			}
			// Whole-log operations stay org-level: checkpoints and the
			// chain's verification commit to every entry.
			for _, r := range []resp{e.do("GET", o+"/audit/checkpoints", bob, nil), e.do("POST", o+"/audit/verify", bob, nil)} {
				if r.Status != http.StatusForbidden {
					t.Errorf("bob: whole-log operation answered %d %s", r.Status, r.Body)
				}
			}

			// audit:read nowhere: refused, naming the permission.
			r := e.do("GET", o+"/audit", nob, nil)
			if r.Status != http.StatusForbidden || r.problem(t).MissingPermission != "audit:read" {
				t.Errorf("a member without audit:read: %d %s", r.Status, r.Body)
			}
		})
	}
}
