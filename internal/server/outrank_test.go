package server_test

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-dev/gatehouse/api"
	"github.com/gatehouse-dev/gatehouse/internal/auth"
	"github.com/gatehouse-dev/gatehouse/internal/server"
)

// outrankWorld is a world with an admin (adm), a second owner (own2) and
// helpers to use a credential on a write, a check (the fast path and the
// mux) and a read, each answered "ok" or by the refusal's problem type.
type outrankWorld struct {
	*world
	e        *env
	org      string // "/v1/orgs/<org>"
	adm      string // admin's key
	own2     string // second owner's key
	escaped  string // the org with its first letter percent-escaped: the mux, not the fast path
	gwAud    string
	nameSeed int
}

func newOutrankWorld(t *testing.T) *outrankWorld {
	t.Helper()
	return newOutrankWorldOpts(t, auth.Options{FailureBurst: 1e12, FailureRate: 1e12})
}

// newOutrankWorldOpts is newOutrankWorld with the auth service's options
// (a clock the test moves).
func newOutrankWorldOpts(t *testing.T, o auth.Options) *outrankWorld {
	t.Helper()
	return newOutrankWorldEnv(t, envOpts{authOpts: o})
}

// newOutrankWorldEnv is newOutrankWorld on an env made with o (a store
// whose clock the test moves).
func newOutrankWorldEnv(t *testing.T, o envOpts) *outrankWorld {
	t.Helper()
	e := newEnv(t, "sqlite", o)
	w := buildWorld(t, e, "")
	ow := &outrankWorld{world: w, e: e, org: "/v1/orgs/" + w.org, escaped: fmt.Sprintf("%%%02X", w.org[0]) + w.org[1:],
		gwAud: "https://gw.example/mcp/" + w.org + "/default/x"}
	member := func(id, role string) string {
		t.Helper()
		tok := e.userWithEmail(id)
		e.must(201, "POST", ow.org+"/members", w.owner, map[string]any{"user_id": id, "role": role}, nil)
		return tok
	}
	ow.adm = member("adm", "admin")
	ow.own2 = member("own2", "owner")
	return ow
}

// service creates service name (role) as creator and mints it a key as
// minter.
func (ow *outrankWorld) service(t *testing.T, creator, minter, name, role string) string {
	t.Helper()
	ow.e.must(201, "POST", ow.org+"/services", creator, map[string]any{"name": name, "role": role}, nil)
	return ow.key(t, minter, name)
}

// outrankedLog is the org's apikey.outranked entries as the owner reads
// them: the credentials each names, by the write (cause) that stopped them.
func (ow *outrankWorld) outrankedLog(t *testing.T) map[string][]api.OutrankedCredential {
	t.Helper()
	var l struct {
		Items []struct {
			Details struct {
				Cause string                    `json:"cause"`
				Keys  []api.OutrankedCredential `json:"keys"`
			} `json:"details"`
		} `json:"items"`
	}
	ow.e.must(200, "GET", ow.org+"/audit?action=apikey.outranked", ow.owner, nil, &l)
	got := map[string][]api.OutrankedCredential{}
	for _, it := range l.Items {
		got[it.Details.Cause] = append(got[it.Details.Cause], it.Details.Keys...)
	}
	return got
}

func (ow *outrankWorld) key(t *testing.T, minter, name string) string {
	t.Helper()
	var kc api.KeyCreated
	ow.e.must(201, "POST", ow.org+"/apikeys", minter, map[string]any{"principal": "service:" + name}, &kc)
	return kc.Token
}

// as is the owner's write that changes the state under test.
func (ow *outrankWorld) as(t *testing.T, want int, method, path string, body any) {
	t.Helper()
	ow.e.must(want, method, ow.org+path, ow.owner, body, nil)
}

// use answers how cred fares on: "write" (binding a new team to viewer:
// any member with bindings:create may), "check" (the /check fast path),
// "check-mux" (/check through the mux), "read" (GET services).
func (ow *outrankWorld) use(t *testing.T, cred, how string) string {
	t.Helper()
	var r resp
	switch how {
	case "write":
		ow.nameSeed++
		r = ow.e.do("POST", ow.org+"/teams", cred, map[string]any{"slug": fmt.Sprintf("t%d", ow.nameSeed)})
	case "check", "check-mux":
		org := ow.world.org
		if how == "check-mux" {
			org = ow.escaped
		}
		r = ow.e.do("POST", "/v1/orgs/"+org+"/check", cred, map[string]any{"action": "chains:read", "resource": "chains/triage", "namespace": "prod"})
	case "read":
		r = ow.e.do("GET", ow.org+"/services", cred, nil)
	default:
		t.Fatalf("use %q", how)
	}
	if r.Status < 300 {
		return "ok"
	}
	p := r.problem(t)
	if p.Type == server.ProblemBase+server.ProblemOutranksMinter && !strings.Contains(p.Detail, "mint a new one") {
		t.Errorf("%s: the refusal does not say what to do: %q", how, p.Detail)
	}
	return fmt.Sprintf("%d %s", r.Status, strings.TrimPrefix(p.Type, server.ProblemBase))
}

// uses is cred's answer to each of hows.
func (ow *outrankWorld) uses(t *testing.T, cred string, hows ...string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, h := range hows {
		out[h] = ow.use(t, cred, h)
	}
	return out
}

const refused = "403 " + server.ProblemOutranksMinter

// every lists the ways a credential is used.
var every = []string{"write", "check", "check-mux", "read"}

// all is want for every use.
func all(want string) map[string]string {
	out := map[string]string{}
	for _, h := range every {
		out[h] = want
	}
	return out
}

// TestCredentialOutranksMinter: a service's key or an agent's token minted
// by someone else works only while its minter still outranks its
// principal (DESIGN §1.2 applied at each use, not only at mint): raised
// principals, demoted, removed and re-promoted minters, namespace raises
// and permission subsets; each state change seen by the very next use.
// A key its principal's minter still outranks, and the owner's own key,
// keep working.
func TestCredentialOutranksMinter(t *testing.T) {
	t.Parallel()
	type step struct {
		name   string
		change func(t *testing.T, ow *outrankWorld)
		want   map[string]string // credential → answer for every use
	}
	tests := []struct {
		name  string
		setup func(t *testing.T, ow *outrankWorld) map[string]string // credential name → token
		steps []step
	}{
		{
			name: "the reproduction: admin-minted key of a service raised to owner",
			setup: func(t *testing.T, ow *outrankWorld) map[string]string {
				return map[string]string{
					"admin-minted": ow.service(t, ow.adm, ow.adm, "deploy", "admin"),
					"owner-minted": ow.key(t, ow.owner, "deploy"),
					"owner's own":  ow.owner,
				}
			},
			steps: []step{
				{"before", nil, map[string]string{"admin-minted": "ok", "owner-minted": "ok", "owner's own": "ok"}},
				{"raised to owner", func(t *testing.T, ow *outrankWorld) {
					ow.as(t, 201, "POST", "/bindings", map[string]any{"principal": "service:deploy", "role": "owner"})
				}, map[string]string{"admin-minted": refused, "owner-minted": "ok", "owner's own": "ok"}},
			},
		},
		{
			name: "minter demoted, re-promoted, removed",
			setup: func(t *testing.T, ow *outrankWorld) map[string]string {
				return map[string]string{"own2-minted": ow.service(t, ow.owner, ow.own2, "root", "owner")}
			},
			steps: []step{
				{"before", nil, map[string]string{"own2-minted": "ok"}},
				{"minter demoted to admin", func(t *testing.T, ow *outrankWorld) {
					ow.as(t, 200, "PATCH", "/members/own2", map[string]any{"role": "admin"})
				}, map[string]string{"own2-minted": refused}},
				{"minter re-promoted to owner", func(t *testing.T, ow *outrankWorld) {
					ow.as(t, 200, "PATCH", "/members/own2", map[string]any{"role": "owner"})
				}, map[string]string{"own2-minted": "ok"}},
				{"minter removed from the org", func(t *testing.T, ow *outrankWorld) {
					ow.as(t, 200, "DELETE", "/members/own2", nil)
				}, map[string]string{"own2-minted": refused}},
			},
		},
		{
			name: "raised in one namespace only",
			setup: func(t *testing.T, ow *outrankWorld) map[string]string {
				return map[string]string{"admin-minted": ow.service(t, ow.adm, ow.adm, "nsdeploy", "admin")}
			},
			steps: []step{
				{"before", nil, map[string]string{"admin-minted": "ok"}},
				{"owner in prod", func(t *testing.T, ow *outrankWorld) {
					ow.as(t, 201, "POST", "/bindings", map[string]any{"principal": "service:nsdeploy", "role": "owner", "scope": map[string]any{"namespace": "prod"}})
				}, map[string]string{"admin-minted": refused}},
			},
		},
		{
			name: "granted in a namespace a permission the minter lacks",
			setup: func(t *testing.T, ow *outrankWorld) map[string]string {
				ow.as(t, 201, "POST", "/roles", map[string]any{"name": "zapper", "level": 5, "permissions": []string{"widgets:zap"}})
				return map[string]string{"admin-minted": ow.service(t, ow.adm, ow.adm, "zap", "admin")}
			},
			steps: []step{
				{"before", nil, map[string]string{"admin-minted": "ok"}},
				{"widgets:zap in prod", func(t *testing.T, ow *outrankWorld) {
					ow.as(t, 201, "POST", "/bindings", map[string]any{"principal": "service:zap", "role": "zapper", "scope": map[string]any{"namespace": "prod"}})
				}, map[string]string{"admin-minted": refused}},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ow := newOutrankWorld(t)
			creds := tt.setup(t, ow)
			for _, st := range tt.steps {
				if st.change != nil {
					st.change(t, ow)
				}
				// Every use right after the change: a remembered verdict
				// of the previous revision must not answer.
				got, want := map[string]map[string]string{}, map[string]map[string]string{}
				for name, w := range st.want {
					got[name], want[name] = ow.uses(t, creds[name], every...), all(w)
				}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("%s (-want +got):\n%s", st.name, diff)
				}
			}
		})
	}
}

// TestOutrankedKeyCannotEscalate is the reproduction of the hole as it
// was found (threat-model row 83): the admin's key of a service raised to
// owner after minting cannot bind the admin to owner nor change the audit
// settings; the refusal names the minter, the principal, the org and the
// scope, and says what to do.
func TestOutrankedKeyCannotEscalate(t *testing.T) {
	t.Parallel()
	ow := newOutrankWorld(t)
	key := ow.service(t, ow.adm, ow.adm, "deploy", "viewer")
	ow.as(t, 201, "POST", "/bindings", map[string]any{"principal": "service:deploy", "role": "owner"})
	for _, c := range []struct {
		method, path string
		body         any
	}{
		{"POST", "/bindings", map[string]any{"principal": "user:adm", "role": "owner"}},
		{"PUT", "/audit/settings", map[string]any{}},
	} {
		r := ow.e.do(c.method, ow.org+c.path, key, c.body)
		if r.Status != 403 {
			t.Fatalf("%s %s with the outranked key: %d %s", c.method, c.path, r.Status, r.Body)
		}
		p := r.problem(t)
		if p.Type != server.ProblemBase+server.ProblemOutranksMinter || p.Scope != "org" {
			t.Errorf("%s %s: %+v", c.method, c.path, p)
		}
		for _, s := range []string{"user:adm", "service:deploy", `"` + ow.world.org + `"`, "revoke this API key", "level 100"} {
			if !strings.Contains(p.Detail, s) {
				t.Errorf("%s %s: detail %q does not name %s", c.method, c.path, p.Detail, s)
			}
		}
	}
	// Nothing was written: the admin is still not an owner.
	if r := ow.e.do("PUT", ow.org+"/audit/settings", ow.adm, map[string]any{}); r.Status != 403 {
		t.Errorf("the admin itself changed the audit settings: %d %s", r.Status, r.Body)
	}
}

// TestAgentTokenOutranksMinter: an agent token minted by the admin stops
// at its next use once the agent is raised above the admin within the
// token's life (ErrOutranksMinter, and 403 at the gateway), and works
// again once the agent is lowered; the owner's token keeps working.
func TestAgentTokenOutranksMinter(t *testing.T) {
	t.Parallel()
	ow := newOutrankWorld(t)
	ctx := ctxT(t)
	ow.as(t, 201, "POST", "/agents", map[string]any{"name": "Runner", "role": "viewer"})
	mint := func(minter string) string {
		t.Helper()
		var at api.AgentToken
		ow.e.must(201, "POST", ow.org+"/agents/Runner/tokens", minter, map[string]any{"audience": ow.gwAud, "ttl": "1h"}, &at)
		return at.Token
	}
	admTok, ownTok := mint(ow.adm), mint(ow.owner)
	use := func(tok string) string {
		t.Helper()
		_, err := ow.e.auth.AuthenticateAudience(ctx, tok, ow.gwAud, "192.0.2.9")
		switch {
		case err == nil:
			return "ok"
		case errors.Is(err, auth.ErrOutranksMinter):
			return "outranks"
		}
		return err.Error()
	}
	steps := []struct {
		name   string
		change func()
		want   map[string]string
	}{
		{"before", func() {}, map[string]string{"admin's": "ok", "owner's": "ok"}},
		{"agent raised to owner", func() {
			ow.as(t, 200, "PATCH", "/agents/Runner", map[string]any{"role": "owner"})
		}, map[string]string{"admin's": "outranks", "owner's": "ok"}},
		{"raise undone", func() {
			ow.as(t, 200, "PATCH", "/agents/Runner", map[string]any{"role": "viewer"})
		}, map[string]string{"admin's": "ok", "owner's": "ok"}},
	}
	for _, st := range steps {
		st.change()
		got := map[string]string{"admin's": use(admTok), "owner's": use(ownTok)}
		if diff := cmp.Diff(st.want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", st.name, diff)
		}
	}
}

// TestMCPGatewayOutrankedAgentToken: at the gateway, an agent token whose
// minter (a second owner) was demoted to admin, which lacks the agent's
// tools:call, is refused 403 credential_outranks_minter with what to do —
// not 503, not 401 — and works again once the minter is an owner again.
func TestMCPGatewayOutrankedAgentToken(t *testing.T) {
	t.Parallel()
	w := newMCPWorld(t, "sqlite")
	e := w.e
	org := "/v1/orgs/" + w.org
	own2 := e.user("mcpown2")
	e.must(201, "POST", org+"/members", w.owner, map[string]any{"user_id": "mcpown2", "role": "owner"}, nil)
	var at api.AgentToken
	e.must(201, "POST", org+"/agents/Helper/tokens", own2, map[string]any{"audience": w.endpoint("pay"), "ttl": "1h"}, &at)
	initBody := `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"x","version":"1"}}}`
	send := func() (int, string) {
		t.Helper()
		req, _ := http.NewRequestWithContext(ctxT(t), "POST", w.endpoint("pay"), strings.NewReader(initBody))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		req.Header.Set("Authorization", "Bearer "+at.Token)
		res, err := e.hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	if st, body := send(); st != 200 {
		t.Fatalf("before: %d %s", st, body)
	}
	e.must(200, "PATCH", org+"/members/mcpown2", w.owner, map[string]any{"role": "admin"}, nil)
	st, body := send()
	if st != 403 || !strings.Contains(body, `"credential_outranks_minter"`) || !strings.Contains(body, "user:mcpown2") || strings.Contains(body, at.Token) {
		t.Errorf("minter demoted: %d %s", st, body)
	}
	e.must(200, "PATCH", org+"/members/mcpown2", w.owner, map[string]any{"role": "owner"}, nil)
	if st, body := send(); st != 200 {
		t.Errorf("minter an owner again: %d %s", st, body)
	}
}

// TestMinterGrantExpiryIsSeenAtOnce: a key minted by a member whose admin
// grant expires at T is refused from T on, not up to the remembered
// verdict's 1 s later (the verdict's lifetime ends at the first expiry
// among the grants it read). The auth clock is the test's, so the use
// after T is 510 ms after the verdict was remembered, inside the 1 s
// bound; the engine, which reads the wall clock, sees the grant expired
// because the test waits past T.
func TestMinterGrantExpiryIsSeenAtOnce(t *testing.T) {
	t.Parallel()
	clk := newClock()
	ow := newOutrankWorldOpts(t, auth.Options{FailureBurst: 1e12, FailureRate: 1e12, Now: clk.Now})
	tok := ow.e.userWithEmail("temp")
	ow.as(t, 201, "POST", "/members", map[string]any{"user_id": "temp", "role": "viewer"})
	var b api.Written[api.Binding]
	ow.e.must(201, "POST", ow.org+"/bindings", ow.owner, map[string]any{"principal": "user:temp", "role": "admin", "expires_in": "2s"}, &b)
	expiry := b.Item.ExpiresAt
	key := ow.service(t, tok, tok, "shortlived", "operator")

	clk.Advance(expiry.Add(-500 * time.Millisecond).Sub(clk.Now()))
	if time.Until(expiry) < 100*time.Millisecond {
		t.Skip("the machine took the grant's 2 s to set up: nothing to observe")
	}
	got := map[string]string{"before the expiry": ow.use(t, key, "check")}
	time.Sleep(time.Until(expiry) + 50*time.Millisecond)
	clk.Advance(510 * time.Millisecond)
	got["10 ms after it"] = ow.use(t, key, "check")
	want := map[string]string{"before the expiry": "ok", "10 ms after it": refused}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("the minter's expiring admin grant (-want +got):\n%s", diff)
	}
}

// TestOutrankedUsesAreAudited: a use refused 403 credential-outranks-minter
// leaves an entry in the org's audit log naming the principal, the key's
// id (never its secret), the minter, the scope and the route — once per
// credential and engine revision: replaying the refused key adds nothing
// until the next revision, whose first refusal counts those unrecorded.
func TestOutrankedUsesAreAudited(t *testing.T) {
	t.Parallel()
	ow := newOutrankWorld(t)
	ow.e.must(201, "POST", ow.org+"/services", ow.adm, map[string]any{"name": "deploy", "role": "viewer"}, nil)
	var kc api.KeyCreated
	ow.e.must(201, "POST", ow.org+"/apikeys", ow.adm, map[string]any{"principal": "service:deploy"}, &kc)
	ow.as(t, 201, "POST", "/bindings", map[string]any{"principal": "service:deploy", "role": "owner"})
	type entry struct {
		Principal, KeyID, Target, Message string
		Details                           map[string]any
	}
	entries := func() []entry {
		t.Helper()
		var l struct {
			Items []struct {
				Actor struct {
					Principal string `json:"principal"`
					KeyID     string `json:"key_id"`
				} `json:"actor"`
				Target  string         `json:"target"`
				Result  string         `json:"result"`
				Message string         `json:"message"`
				Details map[string]any `json:"details"`
			} `json:"items"`
		}
		r := ow.e.must(200, "GET", ow.org+"/audit?action=auth.outranks_minter&page_size=1000", ow.owner, nil, &l)
		if strings.Contains(string(r.Body), kc.Token[len(kc.Token)-20:]) {
			t.Errorf("the audit log holds the key's secret: %s", r.Body)
		}
		var out []entry
		for _, it := range l.Items {
			if it.Result != "denied" || !strings.Contains(it.Message, "user:adm") {
				t.Errorf("entry result %q, message %q", it.Result, it.Message)
			}
			out = append(out, entry{it.Actor.Principal, it.Actor.KeyID, it.Target, "", it.Details})
		}
		return out
	}
	first := entry{"service:deploy", kc.Item.ID, "route/POST /v1/orgs/{org}/check", "", map[string]any{
		"credential": "API key", "credential_id": kc.Item.ID, "minter": "user:adm", "scope": "org"}}

	for range 5 {
		if got := ow.use(t, kc.Token, "check"); got != refused {
			t.Fatalf("use of the outranked key: %s", got)
		}
	}
	if diff := cmp.Diff([]entry{first}, entries()); diff != "" {
		t.Errorf("five refused uses at one revision (-want +got):\n%s", diff)
	}

	// A new revision: its first refusal is recorded, with the four
	// refusals of the previous revision that were not.
	ow.as(t, 201, "POST", "/teams", map[string]any{"slug": "bump"})
	for range 3 {
		if got := ow.use(t, kc.Token, "read"); got != refused {
			t.Fatalf("use of the outranked key: %s", got)
		}
	}
	second := entry{"service:deploy", kc.Item.ID, "route/GET /v1/orgs/{org}/services", "", map[string]any{
		"credential": "API key", "credential_id": kc.Item.ID, "minter": "user:adm", "scope": "org", "unrecorded_refusals": float64(4)}}
	if diff := cmp.Diff([]entry{first, second}, entries()); diff != "" {
		t.Errorf("then three at the next revision (-want +got):\n%s", diff)
	}
}

// TestRaiseWarnsOfOutrankedKeys: a binding (alone or in a batch of
// writes) that makes a service outrank the member that minted one of its
// keys succeeds with a warning naming that key — id, principal, minter,
// scope, never the secret — to a caller that may read keys, and only how
// many to one that may not (no oracle); the org's audit log records which
// keys stopped. A binding that stops no key warns of nothing.
func TestRaiseWarnsOfOutrankedKeys(t *testing.T) {
	t.Parallel()
	ow := newOutrankWorld(t)
	mint := func(minter, svc string) api.KeyCreated {
		t.Helper()
		ow.e.must(201, "POST", ow.org+"/services", ow.owner, map[string]any{"name": svc, "role": "viewer"}, nil)
		var kc api.KeyCreated
		ow.e.must(201, "POST", ow.org+"/apikeys", minter, map[string]any{"principal": "service:" + svc}, &kc)
		return kc
	}
	single, batch, hidden := mint(ow.adm, "single"), mint(ow.adm, "batch"), mint(ow.adm, "hidden")
	ownerMinted := mint(ow.owner, "single2")
	ow.as(t, 201, "POST", "/roles", map[string]any{"name": "raiser", "level": 90, "permissions": []string{"bindings:create", "bindings:read"}})
	raiser := ow.e.userWithEmail("raiser")
	ow.as(t, 201, "POST", "/members", map[string]any{"user_id": "raiser", "role": "raiser"})

	stopped := func(kc api.KeyCreated, svc, scope string) api.OutrankedCredential {
		return api.OutrankedCredential{Kind: api.CredentialAPIKey, ID: kc.Item.ID, Principal: "service:" + svc, Minter: "user:adm", Scope: scope}
	}
	// warnings is the answer's warnings without the texts (checked apart).
	warnings := func(ws []api.WriteWarning) []api.WriteWarning {
		t.Helper()
		for i := range ws {
			if !strings.Contains(ws[i].Message, "refused") {
				t.Errorf("warning %+v", ws[i])
			}
			ws[i].Message = ""
			for j := range ws[i].Credentials {
				if !strings.Contains(ws[i].Credentials[j].Reason, "mint a new one") {
					t.Errorf("credential %+v: the reason does not say what to do", ws[i].Credentials[j])
				}
				ws[i].Credentials[j].Reason = ""
			}
		}
		return ws
	}
	var got, want []api.WriteWarning

	var bw0, bw api.BindingWritten
	ow.e.must(201, "POST", ow.org+"/bindings", ow.owner, map[string]any{"principal": "service:single2", "role": "admin"}, &bw0)
	if len(bw0.Warnings) != 0 {
		t.Errorf("a raise that stops no key warned: %+v", bw0.Warnings)
	}
	r := ow.e.must(201, "POST", ow.org+"/bindings", ow.owner, map[string]any{"principal": "service:single", "role": "owner"}, &bw)
	got = append(got, warnings(bw.Warnings)...)
	want = append(want, api.WriteWarning{Code: api.WarningCredentialsOutranked, Count: 1, Credentials: []api.OutrankedCredential{stopped(single, "single", "org")}})

	var wr api.WriteResult
	ow.e.must(200, "POST", ow.org+"/writes", ow.owner, map[string]any{"changes": []any{
		map[string]any{"op": "binding.create", "principal": "service:batch", "role": "owner", "scope": map[string]any{"namespace": "prod"}},
		map[string]any{"op": "binding.create", "principal": "service:single2", "role": "operator", "scope": map[string]any{"namespace": "prod"}},
	}}, &wr)
	got = append(got, warnings(wr.Warnings)...)
	want = append(want, api.WriteWarning{Code: api.WarningCredentialsOutranked, Count: 1, Credentials: []api.OutrankedCredential{stopped(batch, "batch", "ns/prod")}})

	// raiser may bind, not read keys: a count, no id.
	var bw2 api.BindingWritten
	r2 := ow.e.must(201, "POST", ow.org+"/bindings", raiser, map[string]any{"principal": "service:hidden", "role": "raiser"}, &bw2)
	got = append(got, warnings(bw2.Warnings)...)
	want = append(want, api.WriteWarning{Code: api.WarningCredentialsOutranked, Count: 1})
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("warnings (-want +got):\n%s", diff)
	}
	for _, b := range [][]byte{r.Body, r2.Body} {
		for _, tok := range []string{single.Token, batch.Token, hidden.Token, ownerMinted.Token} {
			if strings.Contains(string(b), tok[len(tok)-20:]) {
				t.Errorf("an answer holds a key's secret: %s", b)
			}
		}
	}
	if strings.Contains(string(r2.Body), hidden.Item.ID) {
		t.Errorf("a caller without apikeys:read was told the key's id: %s", r2.Body)
	}

	// The audit log: one entry per raising write, naming the keys.
	gotLog := ow.outrankedLog(t)
	wantLog := map[string][]api.OutrankedCredential{
		"binding.create": {stopped(single, "single", "org"), stopped(hidden, "hidden", "org")},
		"writes":         {stopped(batch, "batch", "ns/prod")},
	}
	if diff := cmp.Diff(wantLog, gotLog); diff != "" {
		t.Errorf("audit entries (-want +got):\n%s", diff)
	}
	// The keys are refused indeed; the owner's key of single2 is not.
	gotUse := map[string]string{"single": ow.use(t, single.Token, "read"), "batch": ow.use(t, batch.Token, "read"),
		"hidden": ow.use(t, hidden.Token, "read"), "owner-minted": ow.use(t, ownerMinted.Token, "read")}
	wantUse := map[string]string{"single": refused, "batch": refused, "hidden": refused, "owner-minted": "ok"}
	if diff := cmp.Diff(wantUse, gotUse); diff != "" {
		t.Errorf("uses (-want +got):\n%s", diff)
	}
}

// TestWarnsOfOutrankedAgentTokens: agent tokens are refused at use once
// their agent outranks their minter (TestAgentTokenOutranksMinter), so a
// write that stops them names them beside the API keys (threat-model row
// 107): raising the agent (its role: its ceiling, which bindings cannot
// pass), lowering the minter (its role changed, or a binding of its
// deleted in a batch). Each is named with kind agent_token, its id (the
// token_id, never the token), agent and minter, to a caller with
// apikeys:read, and only counted for one without; the org's audit log
// names them with their kind. Tokens that a write leaves standing (the
// owner's), revoked ones, other agents', and those of an agent deleted and
// made again (refused as the old incarnation's) are not named.
func TestWarnsOfOutrankedAgentTokens(t *testing.T) {
	t.Parallel()
	ow := newOutrankWorld(t)
	agent := func(name, role string) {
		t.Helper()
		ow.as(t, 201, "POST", "/agents", map[string]any{"name": name, "role": role})
	}
	mint := func(minter, name string) api.AgentToken {
		t.Helper()
		var at api.AgentToken
		ow.e.must(201, "POST", ow.org+"/agents/"+name+"/tokens", minter, map[string]any{"audience": ow.gwAud, "ttl": "1h"}, &at)
		return at
	}
	agent("Raised", "viewer")
	agent("Batch", "operator")
	agent("Hidden", "viewer")
	agent("Bystander", "viewer")
	agent("Demoted", "operator")
	agent("Reborn", "viewer")
	reborn := mint(ow.adm, "Reborn")
	raised, raisedOwn, raisedRevoked := mint(ow.adm, "Raised"), mint(ow.owner, "Raised"), mint(ow.adm, "Raised")
	ow.e.must(200, "DELETE", ow.org+"/agents/Raised/tokens/"+raisedRevoked.TokenID, ow.owner, nil, nil)
	hidden, bystander := mint(ow.adm, "Hidden"), mint(ow.adm, "Bystander")
	own2Tok := mint(ow.own2, "Demoted")
	ow.e.must(201, "POST", ow.org+"/services", ow.owner, map[string]any{"name": "deploy", "role": "operator"}, nil)
	var own2Key api.KeyCreated
	ow.e.must(201, "POST", ow.org+"/apikeys", ow.own2, map[string]any{"principal": "service:deploy"}, &own2Key)
	ow.as(t, 201, "POST", "/roles", map[string]any{"name": "raiser", "level": 90, "parents": []string{"viewer"}, "permissions": []string{"agents:update", "agents:read"}})
	raiser := ow.e.userWithEmail("raiser")
	ow.as(t, 201, "POST", "/members", map[string]any{"user_id": "raiser", "role": "raiser"})
	// ops is a viewer with an admin binding, which the batch deletes.
	ops := ow.e.userWithEmail("ops")
	ow.as(t, 201, "POST", "/members", map[string]any{"user_id": "ops", "role": "viewer"})
	var opsAdmin api.BindingWritten
	ow.e.must(201, "POST", ow.org+"/bindings", ow.owner, map[string]any{"principal": "user:ops", "role": "admin"}, &opsAdmin)
	batch := mint(ops, "Batch")

	token := func(at api.AgentToken, minter string) api.OutrankedCredential {
		return api.OutrankedCredential{Kind: api.CredentialAgentToken, ID: at.TokenID, Principal: at.Agent, Minter: minter, Scope: "org"}
	}
	warnings := func(ws []api.WriteWarning) []api.WriteWarning {
		t.Helper()
		for i := range ws {
			if !strings.Contains(ws[i].Message, "refused") {
				t.Errorf("warning %+v", ws[i])
			}
			ws[i].Message = ""
			for j := range ws[i].Credentials {
				if !strings.Contains(ws[i].Credentials[j].Reason, "agent token") && ws[i].Credentials[j].Kind == api.CredentialAgentToken {
					t.Errorf("credential %+v: the reason does not say it is an agent token", ws[i].Credentials[j])
				}
				ws[i].Credentials[j].Reason = ""
			}
		}
		return ws
	}
	var bodies []string
	type step struct {
		name  string
		write func() []api.WriteWarning
		want  []api.WriteWarning
	}
	steps := []step{
		{"the agent's role raised above its minter", func() []api.WriteWarning {
			var w api.Written[api.Agent]
			r := ow.e.must(200, "PATCH", ow.org+"/agents/Raised", ow.owner, map[string]any{"role": "owner"}, &w)
			bodies = append(bodies, string(r.Body))
			return w.Warnings
		}, []api.WriteWarning{{Code: api.WarningCredentialsOutranked, Count: 1,
			Credentials: []api.OutrankedCredential{token(raised, "user:adm")}}}},
		{"the minter's binding deleted in a batch", func() []api.WriteWarning {
			var w api.WriteResult
			r := ow.e.must(200, "POST", ow.org+"/writes", ow.owner, map[string]any{"changes": []any{
				map[string]any{"op": "binding.delete", "binding": opsAdmin.Item.ID},
			}}, &w)
			bodies = append(bodies, string(r.Body))
			return w.Warnings
		}, []api.WriteWarning{{Code: api.WarningCredentialsOutranked, Count: 1,
			Credentials: []api.OutrankedCredential{token(batch, "user:ops")}}}},
		{"the agent raised by a caller without apikeys:read: a count", func() []api.WriteWarning {
			var w api.Written[api.Agent]
			r := ow.e.must(200, "PATCH", ow.org+"/agents/Hidden", raiser, map[string]any{"role": "raiser"}, &w)
			if strings.Contains(string(r.Body), hidden.TokenID) {
				t.Errorf("a caller without apikeys:read was told the token's id: %s", r.Body)
			}
			bodies = append(bodies, string(r.Body))
			return w.Warnings
		}, []api.WriteWarning{{Code: api.WarningCredentialsOutranked, Count: 1}}},
		{"an agent made again: its old incarnation's token is dead, not stopped", func() []api.WriteWarning {
			ow.e.must(200, "DELETE", ow.org+"/agents/Reborn", ow.owner, nil, nil)
			agent("Reborn", "viewer")
			var w api.Written[api.Agent]
			r := ow.e.must(200, "PATCH", ow.org+"/agents/Reborn", ow.owner, map[string]any{"role": "owner"}, &w)
			bodies = append(bodies, string(r.Body))
			return w.Warnings
		}, nil},
		{"the minter demoted: its API key and its agent token", func() []api.WriteWarning {
			var w api.Written[api.Binding]
			r := ow.e.must(200, "PATCH", ow.org+"/members/own2", ow.owner, map[string]any{"role": "viewer"}, &w)
			bodies = append(bodies, string(r.Body))
			return w.Warnings
		}, []api.WriteWarning{{Code: api.WarningCredentialsOutranked, Count: 2, Credentials: []api.OutrankedCredential{
			{Kind: api.CredentialAPIKey, ID: own2Key.Item.ID, Principal: "service:deploy", Minter: "user:own2", Scope: "org"},
			token(own2Tok, "user:own2")}}}},
	}
	for _, st := range steps {
		if diff := cmp.Diff(st.want, warnings(st.write())); diff != "" {
			t.Errorf("%s: warnings (-want +got):\n%s", st.name, diff)
		}
	}
	for _, b := range bodies {
		for _, at := range []api.AgentToken{raised, raisedOwn, raisedRevoked, batch, hidden, bystander, own2Tok, reborn} {
			if strings.Contains(b, at.Token[len(at.Token)-20:]) {
				t.Errorf("an answer holds an agent token: %s", b)
			}
		}
	}

	// The audit log names them, with their kind.
	gotLog := ow.outrankedLog(t)
	wantLog := map[string][]api.OutrankedCredential{
		"agent.update": {token(raised, "user:adm"), token(hidden, "user:adm")},
		"writes":       {token(batch, "user:ops")},
		"member.update": {{Kind: api.CredentialAPIKey, ID: own2Key.Item.ID, Principal: "service:deploy", Minter: "user:own2", Scope: "org"},
			token(own2Tok, "user:own2")},
	}
	if diff := cmp.Diff(wantLog, gotLog); diff != "" {
		t.Errorf("audit entries (-want +got):\n%s", diff)
	}

	// The tokens named are refused indeed; the others are not.
	use := func(at api.AgentToken) string {
		t.Helper()
		_, err := ow.e.auth.AuthenticateAudience(ctxT(t), at.Token, ow.gwAud, "192.0.2.9")
		switch {
		case err == nil:
			return "ok"
		case errors.Is(err, auth.ErrOutranksMinter):
			return "outranks"
		case errors.Is(err, auth.ErrUnauthenticated):
			return "unauthenticated"
		}
		return "refused: " + err.Error()
	}
	gotUse := map[string]string{"raised": use(raised), "raised, owner's": use(raisedOwn), "batch": use(batch),
		"hidden": use(hidden), "bystander": use(bystander), "demoted minter's": use(own2Tok), "old incarnation's": use(reborn)}
	wantUse := map[string]string{"raised": "outranks", "raised, owner's": "ok", "batch": "outranks",
		"hidden": "outranks", "bystander": "ok", "demoted minter's": "outranks", "old incarnation's": "unauthenticated"}
	if diff := cmp.Diff(wantUse, gotUse); diff != "" {
		t.Errorf("uses (-want +got):\n%s", diff)
	}
}
