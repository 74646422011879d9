package server_test

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/api"
	"github.com/gatehouse-dev/gatehouse/internal/auth"
	"github.com/gatehouse-dev/gatehouse/internal/server"
	"github.com/gatehouse-dev/gatehouse/templates"
	gocmp "github.com/google/go-cmp/cmp"
)

// sweepClock is a settable clock for the auth service (expiring a key
// without waiting).
type sweepClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *sweepClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *sweepClock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// sweepCallers are the "who else could make this happen?" callers.
var sweepCallers = []string{"anonymous", "other-org member", "org-B-confined key", "viewer below", "admin below owner",
	"own service", "own agent token", "expired key", "session of an expired key", "revoked key", "deleted user's session", "forged session", "replayed session"}

// sweepWorld is world "" with owner-level targets in its params, world
// "b" beside it, and a credential for each of sweepCallers.
type sweepWorld struct {
	*world
	e     *env
	creds map[string]string
}

func buildSweepWorld(t *testing.T) *sweepWorld {
	t.Helper()
	clk := &sweepClock{t: time.Now()}
	e := newEnv(t, "sqlite", envOpts{authOpts: auth.Options{FailureBurst: 1e12, FailureRate: 1e12, Now: clk.now}})
	w := buildWorld(t, e, "")
	b := buildWorld(t, e, "b")
	org := "/v1/orgs/" + w.org
	sw := &sweepWorld{world: w, e: e, creds: map[string]string{}}
	member := func(id, role string) string {
		t.Helper()
		tok := e.userWithEmail(id)
		e.must(201, "POST", org+"/members", w.owner, map[string]any{"user_id": id, "role": role}, nil)
		return tok
	}
	adm := member("adm", "admin")
	own2 := member("own2", "owner") // a second owner: the target of member, key and binding routes
	gone := member("gone", "admin")
	dual := member("dual", "admin")
	e.must(201, "POST", "/v1/orgs/"+b.org+"/members", b.owner, map[string]any{"user_id": "dual", "role": "owner"}, nil)
	var dk api.KeyCreated
	e.must(201, "POST", "/v1/orgs/"+b.org+"/apikeys", dual, map[string]any{"name": "b-only"}, &dk)

	// Owner-level targets: every thing an admin acts on below is above it.
	var own2Key api.KeyCreated
	e.must(201, "POST", org+"/apikeys", own2, map[string]any{"name": "own2"}, &own2Key)
	e.must(201, "POST", org+"/agents", w.owner, map[string]any{"name": "Boss", "role": "owner"}, nil)
	e.must(201, "POST", org+"/services", w.owner, map[string]any{"name": "root", "role": "owner"}, nil)
	e.must(201, "POST", org+"/teams", w.owner, map[string]any{"slug": "owners", "members": []string{"user:own2"}}, nil)
	e.must(201, "POST", org+"/bindings", w.owner, map[string]any{"principal": "team:owners", "role": "owner"}, nil)
	var ob server.Written[api.Binding]
	e.must(201, "POST", org+"/bindings", w.owner, map[string]any{"principal": "user:own2", "role": "owner", "scope": map[string]any{"namespace": w.params["namespace"]}}, &ob)
	var inv api.InvitationCreated
	e.must(201, "POST", org+"/invitations", w.owner, map[string]any{"email": "boss@example.com", "role": "owner"}, &inv)
	w.params["key"] = own2Key.Item.ID
	w.params["user"] = "own2"
	w.params["principal"] = "user:own2"
	w.params["agent"] = "Boss"
	w.params["service"] = "root"
	w.params["team"] = "owners"
	w.params["binding"] = ob.Item.ID
	w.params["invitation"] = inv.Item.ID
	var bt api.AgentToken // the owner-level agent's token: revoking it is managing Boss
	e.must(201, "POST", org+"/agents/Boss/tokens", w.owner, map[string]any{"audience": "https://gw.example/mcp/" + w.org + "/default/x"}, &bt)
	w.params["token"] = bt.TokenID

	// The org's own agent's token (it authenticates only at its audience).
	var at api.AgentToken
	e.must(201, "POST", org+"/agents/Agent/tokens", w.owner,
		map[string]any{"audience": "https://gw.example/mcp/" + w.org + "/default/x"}, &at)
	// An expired key of the owner, a revoked one, and a session replayed
	// after its key was revoked.
	var ek, rk, sk api.KeyCreated
	e.must(201, "POST", org+"/apikeys", w.owner, map[string]any{"name": "short", "expires_at": clk.now().Add(time.Minute)}, &ek)
	var eks api.SessionResponse
	e.must(201, "POST", "/v1/sessions", ek.Token, nil, &eks)
	e.must(201, "POST", "/v1/apikeys", w.owner, map[string]any{"name": "revoked"}, &rk)
	e.must(200, "DELETE", "/v1/apikeys/"+rk.Item.ID, w.owner, nil, nil)
	e.must(201, "POST", "/v1/apikeys", w.owner, map[string]any{"name": "sess"}, &sk)
	var replay api.SessionResponse
	e.must(201, "POST", "/v1/sessions", sk.Token, nil, &replay)
	e.must(200, "DELETE", "/v1/apikeys/"+sk.Item.ID, w.owner, nil, nil)
	// A deleted user's still-open session.
	var gs api.SessionResponse
	e.must(201, "POST", "/v1/sessions", gone, nil, &gs)
	e.must(200, "GET", "/v1/me", gs.Token, nil, nil)
	e.must(200, "DELETE", "/v1/me", gone, nil, nil)
	// A session for the owner signed by a key this server never had.
	forged, _, _, err := auth.NewKeySet().Issue(auth.Identity{Principal: "user:" + w.ownerID}, auth.SessionBinding{UserCreatedAt: time.Now(), APIKey: sk.Item.ID}, time.Hour, clk.now())
	if err != nil {
		t.Fatal(err)
	}
	clk.add(2 * time.Minute) // the short key has expired; sessions live 15m
	e.auth.ResetLimits()
	sw.creds = map[string]string{
		"anonymous": "", "other-org member": b.owner, "org-B-confined key": dk.Token, "viewer below": w.viewer,
		"admin below owner": adm, "own service": w.serviceKey, "own agent token": at.Token,
		"expired key": ek.Token, "session of an expired key": eks.Token, "revoked key": rk.Token, "deleted user's session": gs.Token,
		"forged session": forged, "replayed session": replay.Token,
	}
	return sw
}

// sweepCase is what one credential, identity or audit route must answer
// to each caller of sweepCallers: want overrides sweepDefault for the
// callers named; body is the request each caller sends (nil: the route's
// example).
type sweepCase struct {
	why  string
	body func(sw *sweepWorld, caller string) any
	want map[string]string
}

// sweepDefault is the answer of a route about org A to each caller that
// must not make it happen: no credential, a dead or forged one, or an
// agent's token (which authenticates only at its audience) is 401; a
// stranger to the org, or a credential confined to another org, is 404
// (the org does not exist for it); a member without the permission, the
// org's own service (no role), or an admin acting on something above its
// level (every target of the sweep is owner-level) is 403.
var sweepDefault = map[string]string{
	"anonymous": "401", "other-org member": "404", "org-B-confined key": "404", "viewer below": "403",
	"admin below owner": "403", "own service": "403", "own agent token": "401", "expired key": "401", "session of an expired key": "401",
	"revoked key": "401", "deleted user's session": "401", "forged session": "401", "replayed session": "401",
}

// yourOwn is the want of a route every authenticated caller may use for
// itself (its own key, session, org): the sweep's question is only
// whether a dead, forged or foreign credential gets through.
func yourOwn(status string, rest map[string]string) map[string]string {
	m := map[string]string{"other-org member": status, "org-B-confined key": status, "viewer below": status,
		"admin below owner": status, "own service": status}
	for k, v := range rest {
		m[k] = v
	}
	return m
}

func fixed(body any) func(*sweepWorld, string) any {
	return func(*sweepWorld, string) any { return body }
}

// sweepCases: one per route classified credential, identity or audit.
var sweepCases = map[string]sweepCase{
	"GET /v1/me": {why: "who am I: only for a live credential (the confined key sees its org only)",
		want: yourOwn("200", nil)},
	"POST /v1/sessions": {why: "a session only for a user's own live key (a service key gets none)",
		want: yourOwn("201", map[string]string{"own service": "403"})},
	"POST /v1/invitations/accept": {why: "an unknown invitation token is 401 to all; a presented credential must be a user's own, unconfined (confined key, service: 403 before the token is looked at)",
		want: map[string]string{"other-org member": "401", "org-B-confined key": "403", "viewer below": "401", "admin below owner": "401", "own service": "403"}},
	"POST /v1/apikeys": {why: "a personal key: only a user for itself, holding apikeys:create in every org it is in",
		body: fixed(map[string]any{"name": "laptop"}),
		want: map[string]string{"other-org member": "201", "org-B-confined key": "403", "admin below owner": "201"}},
	"DELETE /v1/apikeys/{key}": {why: "the personal-key route never reaches another's key, nor an org key (404, not 403)",
		want: map[string]string{"other-org member": "404", "org-B-confined key": "404", "viewer below": "404", "admin below owner": "404", "own service": "404"}},
	"POST /v1/orgs/{org}/apikeys": {why: "a key for the owner-level service is above an admin (§1.2 target rule)",
		body: fixed(map[string]any{"principal": "service:root"})},
	"DELETE /v1/orgs/{org}/apikeys/{key}": {why: "revoking an owner's key is managing the owner"},
	"POST /v1/orgs/{org}/invitations": {why: "inviting with the owner role is granting above one's level",
		body: fixed(map[string]any{"email": "newboss@example.com", "role": "owner"})},
	"DELETE /v1/orgs/{org}/invitations/{invitation}": {why: "revoking an owner-role invitation needs the escalation rules for its role"},
	"GET /v1/auth/oidc/{org}/start": {why: "no provider configured: 404 to everyone, credential or not",
		want: map[string]string{"anonymous": "404", "viewer below": "404", "admin below owner": "404", "own service": "404",
			"own agent token": "404", "expired key": "404", "session of an expired key": "404", "revoked key": "404", "deleted user's session": "404", "forged session": "404", "replayed session": "404"}},
	"GET /v1/auth/oidc/{org}/callback": {why: "no pending sign-in: 401 to everyone; a bearer credential is no sign-in",
		want: map[string]string{"other-org member": "401", "org-B-confined key": "401", "viewer below": "401", "admin below owner": "401", "own service": "401"}},
	"POST /v1/orgs": {why: "any user may create an org and own it; not a confined key or a service",
		body: func(_ *sweepWorld, caller string) any {
			return map[string]any{"id": "new-" + strings.NewReplacer(" ", "", "'", "", "-", "").Replace(caller)}
		},
		want: map[string]string{"other-org member": "201", "org-B-confined key": "403", "viewer below": "201", "admin below owner": "201"}},
	"DELETE /v1/orgs/{org}": {why: "deleting the org is the owner's only"},
	"POST /v1/orgs/{org}/members": {why: "adding a member as owner is granting above one's level",
		body: fixed(map[string]any{"user_id": "bowner", "role": "owner"})},
	"PATCH /v1/orgs/{org}/members/{user}": {why: "an admin cannot demote an owner",
		body: fixed(map[string]any{"role": "viewer"})},
	"DELETE /v1/orgs/{org}/members/{user}": {why: "an admin cannot remove an owner"},
	"POST /v1/orgs/{org}/teams": {why: "a new team grants nothing: an admin (teams:create) may; a viewer may not",
		body: func(_ *sweepWorld, caller string) any {
			return map[string]any{"slug": "t-" + strings.NewReplacer(" ", "", "'", "", "-", "").Replace(caller), "members": []string{"user:own2"}}
		},
		want: map[string]string{"admin below owner": "201"}},
	"PATCH /v1/orgs/{org}/teams/{team}": {why: "renaming a team changes its display name only, not who is in it or what it grants: teams:update suffices",
		want: map[string]string{"admin below owner": "200"}},
	"DELETE /v1/orgs/{org}/teams/{team}": {why: "deleting the owners' team takes the owner role from its members"},
	"POST /v1/orgs/{org}/teams/{team}/members": {why: "joining the owners' team is raising one's own level",
		body: fixed(map[string]any{"principal": "user:adm"})},
	"DELETE /v1/orgs/{org}/teams/{team}/members/{principal}": {why: "removing an owner from the owners' team is demoting it"},
	"PUT /v1/orgs/{org}/roles/{role}": {why: "redefining a role above one's own level",
		body: fixed(map[string]any{"level": 90, "permissions": []string{"audit:read"}})},
	"PUT /v1/orgs/{org}/policy": {why: "a policy that raises the admin role to the owner's level is raising one's own level",
		body: func(*sweepWorld, string) any {
			src, _ := templates.Source(templates.Default)
			return map[string]any{"text": strings.Replace(string(src), "role admin: builder level 80", "role admin: builder level 100", 1)}
		}},
	"POST /v1/orgs/{org}/bindings": {why: "binding oneself to the owner role",
		body: fixed(map[string]any{"principal": "user:adm", "role": "owner"})},
	"DELETE /v1/orgs/{org}/bindings/{binding}": {why: "deleting an owner's binding is demoting it"},
	"POST /v1/orgs/{org}/agents": {why: "an agent with the owner role exceeds its creator; a service must name a sponsoring user first (400)",
		body: fixed(map[string]any{"name": "Boss2", "role": "owner"}),
		want: map[string]string{"own service": "400"}},
	"PATCH /v1/orgs/{org}/agents/{agent}": {why: "changing an owner-level agent (here: naming oneself its sponsor)",
		body: fixed(map[string]any{"sponsors": []string{"user:adm"}})},
	"DELETE /v1/orgs/{org}/agents/{agent}":      {why: "deleting an owner-level agent"},
	"POST /v1/orgs/{org}/agents/{agent}/attest": {why: "only a sponsor attests"},
	"POST /v1/orgs/{org}/agents/{agent}/tokens": {why: "a token for an owner-level agent is above an admin",
		body: fixed(map[string]any{"audience": "https://gw.example/mcp/acme/default/x"})},
	"DELETE /v1/orgs/{org}/agents/{agent}/tokens/{token}": {why: "revoking an owner-level agent's token is managing the agent (threat-model row 104)"},
	"POST /v1/orgs/{org}/services": {why: "a service with the owner role exceeds its creator",
		body: fixed(map[string]any{"name": "root2", "role": "owner"})},
	"PATCH /v1/orgs/{org}/services/{service}": {why: "sponsoring an owner-level service",
		body: fixed(map[string]any{"sponsors": []string{"user:adm"}})},
	"DELETE /v1/orgs/{org}/services/{service}":       {why: "deleting an owner-level service"},
	"POST /v1/orgs/{org}/services/{service}/attest":  {why: "only a sponsor attests"},
	"POST /v1/orgs/{org}/services/{service}/suspend": {why: "suspending an owner-level service"},
	"POST /v1/orgs/{org}/services/{service}/resume":  {why: "resuming an owner-level service"},
	"PUT /v1/orgs/{org}/lifecycle": {why: "the org's suspension rules are org:update, which an admin holds; a change that would flip an owner-level standing is refused (threat-model row 44); an empty one flips none",
		want: map[string]string{"admin below owner": "200"}},
	"POST /v1/orgs/{org}/namespaces/{namespace}/resources/{type}/{id}/shares": {why: "sharing an action one does not hold (chains:export)",
		body: fixed(map[string]any{"principal": "user:adm", "actions": []string{"export"}})},
	"POST /v1/users": {why: "provisioning an owner is granting above one's level",
		body: fixed(map[string]any{"org": "acme", "id": "newboss", "email": "newboss2@example.com", "role": "owner"}),
		want: map[string]string{"own service": "403"}},
	"POST /v1/orgs/{org}/writes": {why: "a batch is authorized change by change: binding oneself to owner",
		body: fixed(map[string]any{"changes": []any{map[string]any{"op": "binding.create", "principal": "user:adm", "role": "owner"}}})},
	"POST /v1/orgs/{org}/namespaces/{namespace}/secrets/{secret}/rotate": {why: "a secret reset needs secrets:rotate (an admin holds it); without secrets:list the secret does not exist (404: viewer, service)",
		want: map[string]string{"viewer below": "404", "admin below owner": "200", "own service": "404"}},
	"PATCH /v1/orgs/{org}/namespaces/{namespace}/secrets/{secret}": {why: "as rotate, with secrets:update",
		want: map[string]string{"viewer below": "404", "admin below owner": "200", "own service": "404"}},
	"GET /v1/orgs/{org}/namespaces/{namespace}/secrets/{secret}/value": {why: "a secret's value needs secrets:read",
		want: map[string]string{"viewer below": "404", "admin below owner": "200", "own service": "404"}},
	"POST /v1/orgs/{org}/namespaces/{namespace}/resources/{type}/{id}/runs": {why: "a run token needs <type>:run on the resource (admin: chains:run)",
		want: map[string]string{"admin below owner": "201"}},
	"POST /v1/orgs/{org}/runs/exchange": {why: "exchanging needs a live run token and a service runtime: a made-up token is refused to all"},
	"POST /v1/orgs/{org}/runs": {why: "starting a run (which may issue a run token) needs <type>:run",
		body: func(sw *sweepWorld, _ string) any {
			return map[string]any{"resource": "chains/" + sw.params["id"], "namespace": sw.params["namespace"]}
		},
		want: map[string]string{"admin below owner": "201"}},
	"POST /v1/orgs/{org}/check": {why: "asking about another principal needs bindings:read (decisions may be recorded in the audit log)",
		want: map[string]string{"admin below owner": "200"}},
	"POST /v1/orgs/{org}/checks": {why: "as check, each answered on its own: 200 with the item refused",
		want: map[string]string{"viewer below": "200 item 403", "admin below owner": "200", "own service": "200 item 403"}},
	"POST /v1/orgs/{org}/explain": {why: "as check", want: map[string]string{"admin below owner": "200"}},
	"POST /v1/orgs/{org}/audit/verify": {why: "verifying reads the log (audit:read, which the viewer role holds)",
		want: map[string]string{"viewer below": "200", "admin below owner": "200"}},
	"PUT /v1/orgs/{org}/audit/settings": {why: "what the log records is the owner's (an admin cannot switch off the record of what it does)"},
	"POST /v1/orgs/{org}/approvals/{id}/approve": {why: "an unknown approval is 404 to every member, as one that is not theirs to see",
		want: map[string]string{"viewer below": "404", "admin below owner": "404", "own service": "404"}},
	"POST /v1/orgs/{org}/approvals/{id}/deny": {why: "as approve",
		want: map[string]string{"viewer below": "404", "admin below owner": "404", "own service": "404"}},
	"PUT /v1/orgs/{org}/approval-settings": {why: "approval lifetimes are org:update; the body is refused first (400) for those who may",
		body: fixed(map[string]any{"pending_ttl": "1m"})},
	"POST /v1/orgs/{org}/runs/{id}/finish": {why: "an unknown run is 404 to every member",
		body: fixed(map[string]any{"status": "succeeded"}),
		want: map[string]string{"viewer below": "404", "admin below owner": "404", "own service": "404"}},
	"DELETE /v1/me": {why: "deleting oneself: a user's own unconfined credential only, and never the last owner of an org (each user caller owns the org it created above: 409); run last",
		want: map[string]string{"other-org member": "409", "org-B-confined key": "403", "viewer below": "409", "admin below owner": "409", "own service": "403"}},
}

// answer is a response as the sweep's tables spell it: the status, and
// for a batch of checks the first item's refusal.
func answer(t *testing.T, r resp) string {
	t.Helper()
	var batch struct {
		Results []struct {
			Error *struct {
				Status int `json:"status"`
			} `json:"error"`
		} `json:"results"`
	}
	if r.Status == 200 && json.Unmarshal(r.Body, &batch) == nil && len(batch.Results) > 0 && batch.Results[0].Error != nil {
		return fmt.Sprintf("200 item %d", batch.Results[0].Error.Status)
	}
	return strconv.Itoa(r.Status)
}

// TestIdentitySweep: "who else could make this happen?" Every route of
// the route table that mints a credential, changes who someone is or
// writes the audit log is tried by every caller of sweepCallers against
// owner-level targets, and must answer its spec's status. The route table
// drives it: a route missing from sweepClass fails, so a new credential
// route cannot go unclassified; and every route classified has its case.
func TestIdentitySweep(t *testing.T) {
	t.Parallel()
	sw := buildSweepWorld(t)
	routes := slices.Clone(sw.e.srv.Routes())
	// Deleting oneself last: it ends callers.
	slices.SortStableFunc(routes, func(a, b *server.Route) int {
		return cmp.Compare(boolInt(a.Pattern() == "DELETE /v1/me"), boolInt(b.Pattern() == "DELETE /v1/me"))
	})
	var (
		list              strings.Builder
		gotRows, wantRows []string
	)
	for _, rt := range routes {
		class, ok := sweepClass[rt.Pattern()]
		if !ok {
			t.Errorf("route %s is not classified in sweepClass: say whether it mints a credential, changes who someone is or writes the audit log, and if so add its sweepCase", rt.Pattern())
			continue
		}
		if class == "none" {
			continue
		}
		c, ok := sweepCases[rt.Pattern()]
		if !ok {
			t.Errorf("route %s (%s) has no sweepCase", rt.Pattern(), class)
			continue
		}
		fmt.Fprintf(&list, "%-10s %s — %s\n", class, rt.Pattern(), c.why)
		path := fill(t, rt.Path, sw.params) + query(rt)
		for _, caller := range sweepCallers {
			want, ok := c.want[caller]
			if !ok {
				want = sweepDefault[caller]
			}
			body := example(sw.world, rt)
			if c.body != nil {
				body = c.body(sw, caller)
			}
			r := sw.e.do(rt.Method, path, sw.creds[caller], body)
			row := rt.Pattern() + " by " + caller + ": "
			got := answer(t, r)
			gotRows, wantRows = append(gotRows, row+got), append(wantRows, row+want)
			if got != want {
				t.Logf("%s%s (%s); body %.300s", row, got, c.why, r.Body)
			}
		}
	}
	if d := gocmp.Diff(wantRows, gotRows); d != "" {
		t.Errorf("who else could make this happen (-want +got):\n%s", d)
	}
	for p := range sweepCases {
		if sweepClass[p] == "" || sweepClass[p] == "none" {
			t.Errorf("sweepCase %s is for no classified route", p)
		}
	}
	t.Logf("credential, identity and audit routes swept:\n%s", list.String())
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

var sweepClass = map[string]string{
	"GET /healthz":                                                             "none",
	"GET /readyz":                                                              "none",
	"GET /metrics":                                                             "none",
	"GET /v1/openapi.json":                                                     "none",
	"GET /v1/me":                                                               "identity",
	"DELETE /v1/me":                                                            "identity",
	"POST /v1/sessions":                                                        "credential",
	"POST /v1/invitations/accept":                                              "credential",
	"POST /v1/apikeys":                                                         "credential",
	"GET /v1/apikeys":                                                          "none",
	"GET /v1/apikeys/{key}":                                                    "none",
	"DELETE /v1/apikeys/{key}":                                                 "identity",
	"POST /v1/orgs/{org}/apikeys":                                              "credential",
	"GET /v1/orgs/{org}/apikeys":                                               "none",
	"GET /v1/orgs/{org}/apikeys/{key}":                                         "none",
	"DELETE /v1/orgs/{org}/apikeys/{key}":                                      "identity",
	"POST /v1/orgs/{org}/invitations":                                          "credential",
	"GET /v1/orgs/{org}/invitations":                                           "none",
	"DELETE /v1/orgs/{org}/invitations/{invitation}":                           "identity",
	"GET /v1/auth/oidc/{org}/start":                                            "credential",
	"GET /v1/auth/oidc/{org}/callback":                                         "credential",
	"POST /v1/orgs":                                                            "identity",
	"GET /v1/orgs":                                                             "none",
	"GET /v1/orgs/{org}":                                                       "none",
	"PATCH /v1/orgs/{org}":                                                     "none",
	"DELETE /v1/orgs/{org}":                                                    "identity",
	"POST /v1/orgs/{org}/namespaces":                                           "none",
	"GET /v1/orgs/{org}/namespaces":                                            "none",
	"GET /v1/orgs/{org}/namespaces/{namespace}":                                "none",
	"DELETE /v1/orgs/{org}/namespaces/{namespace}":                             "none",
	"POST /v1/orgs/{org}/members":                                              "identity",
	"GET /v1/orgs/{org}/members":                                               "none",
	"GET /v1/orgs/{org}/members/{user}":                                        "none",
	"PATCH /v1/orgs/{org}/members/{user}":                                      "identity",
	"DELETE /v1/orgs/{org}/members/{user}":                                     "identity",
	"POST /v1/orgs/{org}/teams":                                                "identity",
	"GET /v1/orgs/{org}/teams":                                                 "none",
	"GET /v1/orgs/{org}/teams/{team}":                                          "none",
	"PATCH /v1/orgs/{org}/teams/{team}":                                        "identity",
	"DELETE /v1/orgs/{org}/teams/{team}":                                       "identity",
	"POST /v1/orgs/{org}/teams/{team}/members":                                 "identity",
	"DELETE /v1/orgs/{org}/teams/{team}/members/{principal}":                   "identity",
	"GET /v1/orgs/{org}/roles":                                                 "none",
	"GET /v1/orgs/{org}/roles/{role}":                                          "none",
	"POST /v1/orgs/{org}/roles":                                                "none",
	"PUT /v1/orgs/{org}/roles/{role}":                                          "identity",
	"DELETE /v1/orgs/{org}/roles/{role}":                                       "none",
	"GET /v1/orgs/{org}/policy":                                                "none",
	"PUT /v1/orgs/{org}/policy":                                                "identity",
	"POST /v1/orgs/{org}/policy/validate":                                      "none",
	"POST /v1/orgs/{org}/bindings":                                             "identity",
	"GET /v1/orgs/{org}/bindings":                                              "none",
	"GET /v1/orgs/{org}/bindings/{binding}":                                    "none",
	"DELETE /v1/orgs/{org}/bindings/{binding}":                                 "identity",
	"POST /v1/orgs/{org}/policy/impact":                                        "none",
	"POST /v1/orgs/{org}/bindings/impact":                                      "none",
	"POST /v1/orgs/{org}/agents":                                               "identity",
	"GET /v1/orgs/{org}/agents":                                                "none",
	"GET /v1/orgs/{org}/agents/{agent}":                                        "none",
	"PATCH /v1/orgs/{org}/agents/{agent}":                                      "identity",
	"DELETE /v1/orgs/{org}/agents/{agent}":                                     "identity",
	"POST /v1/orgs/{org}/services":                                             "identity",
	"GET /v1/orgs/{org}/services":                                              "none",
	"GET /v1/orgs/{org}/services/{service}":                                    "none",
	"PATCH /v1/orgs/{org}/services/{service}":                                  "identity",
	"DELETE /v1/orgs/{org}/services/{service}":                                 "identity",
	"POST /v1/orgs/{org}/agents/{agent}/attest":                                "identity",
	"POST /v1/orgs/{org}/agents/{agent}/tokens":                                "credential",
	"GET /v1/orgs/{org}/agents/{agent}/tokens":                                 "none",
	"GET /v1/orgs/{org}/agent-tokens":                                          "none",
	"DELETE /v1/orgs/{org}/agents/{agent}/tokens/{token}":                      "identity",
	"POST /v1/orgs/{org}/services/{service}/attest":                            "identity",
	"POST /v1/orgs/{org}/services/{service}/suspend":                           "identity",
	"POST /v1/orgs/{org}/services/{service}/resume":                            "identity",
	"GET /v1/orgs/{org}/principals/{principal}/reach":                          "none",
	"PUT /v1/orgs/{org}/lifecycle":                                             "identity",
	"POST /v1/orgs/{org}/resources":                                            "none",
	"GET /v1/orgs/{org}/resources":                                             "none",
	"GET /v1/orgs/{org}/namespaces/{namespace}/resources/{type}/{id}":          "none",
	"PATCH /v1/orgs/{org}/namespaces/{namespace}/resources/{type}/{id}":        "none",
	"DELETE /v1/orgs/{org}/namespaces/{namespace}/resources/{type}/{id}":       "none",
	"GET /v1/orgs/{org}/namespaces/{namespace}/resources/{type}/{id}/versions": "none",
	"GET /v1/orgs/{org}/namespaces/{namespace}/resources/{type}/{id}/versions/{version}": "none",
	"GET /v1/orgs/{org}/namespaces/{namespace}/resources/{type}/{id}/diff":               "none",
	"POST /v1/orgs/{org}/namespaces/{namespace}/resources/{type}/{id}/shares":            "identity",
	"POST /v1/orgs/{org}/check":                                               "audit",
	"POST /v1/orgs/{org}/checks":                                              "audit",
	"POST /v1/orgs/{org}/explain":                                             "audit",
	"POST /v1/orgs/{org}/lookup/resources":                                    "none",
	"POST /v1/orgs/{org}/lookup/subjects":                                     "none",
	"GET /v1/orgs/{org}/principals/{principal}/permissions":                   "none",
	"GET /v1/orgs/{org}/audit":                                                "none",
	"POST /v1/orgs/{org}/audit/verify":                                        "audit",
	"GET /v1/orgs/{org}/audit/checkpoints":                                    "none",
	"GET /v1/orgs/{org}/namespaces/{namespace}/resources/{type}/{id}/history": "none",
	"GET /v1/orgs/{org}/audit/settings":                                       "none",
	"PUT /v1/orgs/{org}/audit/settings":                                       "audit",
	"GET /v1/orgs/{org}/secrets":                                              "none",
	"GET /v1/orgs/{org}/namespaces/{namespace}/secrets":                       "none",
	"POST /v1/orgs/{org}/namespaces/{namespace}/secrets":                      "none",
	"GET /v1/orgs/{org}/namespaces/{namespace}/secrets/{secret}":              "none",
	"PATCH /v1/orgs/{org}/namespaces/{namespace}/secrets/{secret}":            "credential",
	"DELETE /v1/orgs/{org}/namespaces/{namespace}/secrets/{secret}":           "none",
	"POST /v1/orgs/{org}/namespaces/{namespace}/secrets/{secret}/rotate":      "credential",
	"GET /v1/orgs/{org}/namespaces/{namespace}/secrets/{secret}/value":        "credential",
	"GET /v1/orgs/{org}/namespaces/{namespace}/secrets/{secret}/versions":     "none",
	"POST /v1/orgs/{org}/namespaces/{namespace}/resources/{type}/{id}/runs":   "credential",
	"POST /v1/orgs/{org}/runs/exchange":                                       "credential",
	"POST /v1/users":                                                          "credential",
	"POST /v1/orgs/{org}/writes":                                              "identity",
	"GET /v1/me/lookup/resources":                                             "none",
	"GET /v1/orgs/{org}/approvals":                                            "none",
	"GET /v1/orgs/{org}/approvals/{id}":                                       "none",
	"POST /v1/orgs/{org}/approvals/{id}/approve":                              "audit",
	"PUT /v1/orgs/{org}/approval-settings":                                    "audit",
	"POST /v1/orgs/{org}/approvals/{id}/deny":                                 "audit",
	"POST /v1/orgs/{org}/runs":                                                "credential",
	"POST /v1/orgs/{org}/runs/{id}/finish":                                    "audit",
	"GET /v1/orgs/{org}/runs":                                                 "none",
	"GET /v1/orgs/{org}/runs/{id}":                                            "none",
	"POST /v1/orgs/{org}/namespaces/{namespace}/mcp/servers":                  "none",
	"GET /v1/orgs/{org}/namespaces/{namespace}/mcp/servers":                   "none",
	"GET /v1/orgs/{org}/changes":                                              "none",
	"GET /v1/orgs/{org}/snapshot":                                             "none",
}

// TestStartingARunIsNoExistenceOracle: POST /v1/orgs/{org}/runs answers a
// member who may not run a resource the same refusal whether or not it
// exists, as reading it and issuing its run token do; only a caller who
// could run it learns that it does not exist.
func TestStartingARunIsNoExistenceOracle(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "sqlite", envOpts{})
	w := buildWorld(t, e, "")
	org, ns := "/v1/orgs/"+w.org, w.params["namespace"]
	start := func(id string) map[string]any { return map[string]any{"resource": "chains/" + id, "namespace": ns} }
	tests := []struct {
		name, by string
		body     map[string]any
		want     int
	}{
		{"a member without chains:run starts an existing chain", w.nobody, start(w.params["id"]), 403},
		{"a member without chains:run starts a chain that does not exist", w.nobody, start("no-such-chain"), 403},
		{"a viewer (chains:read only) starts an existing chain", w.viewer, start(w.params["id"]), 403},
		{"a viewer starts a chain that does not exist", w.viewer, start("no-such-chain"), 403},
		{"the owner starts a chain that does not exist", w.owner, start("no-such-chain"), 404},
		{"a malformed on_behalf_of is 400 whether or not the chain exists", w.nobody, map[string]any{"resource": "chains/no-such-chain", "namespace": ns, "on_behalf_of": "bob"}, 400},
	}
	var got, want []string
	for _, tc := range tests {
		r := e.do("POST", org+"/runs", tc.by, tc.body)
		got = append(got, fmt.Sprintf("%s: %d", tc.name, r.Status))
		want = append(want, fmt.Sprintf("%s: %d", tc.name, tc.want))
	}
	if d := gocmp.Diff(want, got); d != "" {
		t.Errorf("run starts (-want +got):\n%s", d)
	}
}
