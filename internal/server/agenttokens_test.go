package server_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/api"
	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/internal/auth"
	"github.com/gatehouse-dev/gatehouse/internal/directory"
)

const gwAudience = "https://gw.example/mcp/apvorg/default/github"

// tokWorld is apvWorld with an agent Helper (viewer, sponsored by apvann),
// a host platform service "platform" (admin) and a service "lowly"
// (viewer), each with an org API key.
type tokWorld struct {
	*apvWorld
	platform, lowly string // API keys
}

func newTokWorld(t testing.TB, backend string) *tokWorld {
	t.Helper()
	w := &tokWorld{apvWorld: newApvWorldTB(t, backend)}
	org := "/v1/orgs/" + w.org
	w.e.must(201, "POST", org+"/agents", w.owner, map[string]any{"name": "Helper", "role": "viewer", "sponsors": []string{"user:apvann"}}, nil)
	w.platform = w.serviceKey("platform", "admin")
	w.lowly = w.serviceKey("lowly", "viewer")
	return w
}

func (w *tokWorld) serviceKey(name, role string) string {
	w.e.t.Helper()
	org := "/v1/orgs/" + w.org
	w.e.must(201, "POST", org+"/services", w.owner, map[string]any{"name": name, "role": role}, nil)
	var kc api.KeyCreated
	w.e.must(201, "POST", org+"/apikeys", w.owner, map[string]any{"principal": "service:" + name}, &kc)
	return kc.Token
}

// jobWithSecret creates the secret K (value "v-canary") in namespace
// default and the resource chains/job whose spec references it.
func (w *tokWorld) jobWithSecret() {
	w.e.t.Helper()
	org := "/v1/orgs/" + w.org
	w.e.must(201, "POST", org+"/namespaces/default/secrets", w.owner, map[string]any{"name": "K", "value": "v-canary"}, nil)
	w.e.must(201, "POST", org+"/resources", w.owner, map[string]any{"namespace": "default", "type": "chains", "id": "job",
		"spec": map[string]any{"secrets": []string{"K"}}}, nil)
}

// runToken starts a run of chains/job as issuer and returns the run
// token it issues for runtime (a principal).
func (w *tokWorld) runToken(issuer, runtime string) string {
	w.e.t.Helper()
	var st api.RunStartResponse
	w.e.must(201, "POST", "/v1/orgs/"+w.org+"/runs", issuer, map[string]any{"resource": "chains/job", "issue_token": true, "runtime": runtime}, &st)
	return st.RunToken.Token
}

func (w *tokWorld) mint(token, agent string, body map[string]any) resp {
	w.e.t.Helper()
	return w.e.do("POST", "/v1/orgs/"+w.org+"/agents/"+agent+"/tokens", token, body)
}

// TestAgentTokenMintAndUse: the host platform mints a token for agent
// Helper on behalf of an operator; it authenticates at its audience only
// (AuthenticateAudience), with the agent, the org and the user; never on
// the API; and the mint is audited without the token.
func TestAgentTokenMintAndUse(t *testing.T) {
	for _, backend := range backends(t) {
		t.Run(backend, func(t *testing.T) {
			w := newTokWorld(t, backend)
			e := w.e
			ctx := ctxT(t)
			before := time.Now()
			r := w.mint(w.platform, "Helper", map[string]any{"audience": gwAudience, "on_behalf_of": "user:apvop"})
			if r.Status != 201 {
				t.Fatalf("mint: %d %s", r.Status, r.Body)
			}
			var tok api.AgentToken
			r.json(t, &tok)
			if !strings.HasPrefix(tok.Token, auth.AgentTokenPrefix) || tok.Agent != "agent:Helper" || tok.OnBehalfOf != "user:apvop" ||
				tok.Audience != gwAudience || tok.TokenType != "Bearer" || tok.TokenID == "" || tok.Revision == 0 {
				t.Errorf("minted: %+v", tok)
			}
			if ttl := tok.ExpiresAt.Sub(before); ttl < 4*time.Minute || ttl > 5*time.Minute+time.Second {
				t.Errorf("default lifetime %s, want 5m", ttl)
			}
			id, err := e.auth.AuthenticateAudience(ctx, tok.Token, gwAudience, "192.0.2.7")
			if err != nil {
				t.Fatalf("AuthenticateAudience: %v", err)
			}
			if id.Principal != "agent:Helper" || id.Org != w.org || id.OnBehalfOf != "user:apvop" || id.SessionID != tok.TokenID {
				t.Errorf("identity %+v", id)
			}
			// Refused for any other audience and on every API route.
			for _, aud := range []string{gwAudience + "/", gwAudience + "x", "https://gw.example/mcp/apvorg/default", "http://gw.example/mcp/apvorg/default/github", ""} {
				if _, err := e.auth.AuthenticateAudience(ctx, tok.Token, aud, "192.0.2.7"); !errors.Is(err, auth.ErrUnauthenticated) {
					t.Errorf("audience %q: %v, want ErrUnauthenticated", aud, err)
				}
			}
			if _, err := e.auth.Authenticate(ctx, tok.Token, "192.0.2.7"); !errors.Is(err, auth.ErrUnauthenticated) {
				t.Errorf("Authenticate accepted an agent token: %v", err)
			}
			for _, cred := range []string{tok.Token, strings.TrimPrefix(tok.Token, auth.AgentTokenPrefix)} {
				if r := e.do("GET", "/v1/orgs/"+w.org+"/agents", cred, nil); r.Status != 401 {
					t.Errorf("an agent token on the API: %d %s", r.Status, r.Body)
				}
			}
			// The agent itself cannot mint (for itself or another agent).
			if r := w.mint(tok.Token, "Helper", map[string]any{"audience": gwAudience}); r.Status != 401 {
				t.Errorf("an agent token minting: %d", r.Status)
			}
			// A session or API key is still accepted at the audience (the
			// gateway takes services' keys too).
			if id, err := e.auth.AuthenticateAudience(ctx, w.platform, gwAudience, "192.0.2.7"); err != nil || id.Principal != "service:platform" {
				t.Errorf("a service key at the gateway: %+v %v", id, err)
			}
			// Audited without the token.
			ar := e.must(200, "GET", "/v1/orgs/"+w.org+"/audit?page_size=1000", w.owner, nil, nil)
			body := string(ar.Body)
			if !strings.Contains(body, `"agent_token.create"`) || !strings.Contains(body, tok.TokenID) {
				t.Errorf("no agent_token.create entry naming the token id")
			}
			if strings.Contains(body, strings.TrimPrefix(tok.Token, auth.AgentTokenPrefix)[:40]) {
				t.Error("the token is in the audit log")
			}
			// A ttl within bounds; a user minting for itself.
			var own api.AgentToken
			e.must(201, "POST", "/v1/orgs/"+w.org+"/agents/Helper/tokens", w.owner,
				map[string]any{"audience": gwAudience, "on_behalf_of": "user:apvowner", "ttl": "1h"}, &own)
			if ttl := own.ExpiresAt.Sub(before); ttl < 59*time.Minute || ttl > time.Hour+time.Second {
				t.Errorf("ttl 1h gave %s", ttl)
			}
		})
	}
}

// TestAgentTokenWhoMayMint: everyone else who could try is refused, with
// the right status, and the refusals a member earned are audited.
func TestAgentTokenWhoMayMint(t *testing.T) {
	w := newTokWorld(t, "sqlite")
	e := w.e
	org := "/v1/orgs/" + w.org
	e.must(201, "POST", org+"/agents", w.owner, map[string]any{"name": "Boss", "role": "admin", "sponsors": []string{"user:apvann"}}, nil)
	builder := w.serviceKey("builder", "builder")
	// Another org with its own admin service.
	other := e.user("otherowner")
	e.must(201, "POST", "/v1/orgs", other, map[string]any{"id": "otherorg"}, nil)
	e.must(201, "POST", "/v1/orgs/otherorg/services", other, map[string]any{"name": "platform", "role": "owner"}, nil)
	var okc api.KeyCreated
	e.must(201, "POST", "/v1/orgs/otherorg/apikeys", other, map[string]any{"principal": "service:platform"}, &okc)
	stranger := e.user("tokstranger")
	good := map[string]any{"audience": gwAudience}
	tests := []struct {
		name, token, agent string
		body               map[string]any
		want               int
	}{
		{"a viewer", w.v, "Helper", good, 403},
		{"a viewer service", w.lowly, "Helper", good, 403},
		{"an operator (no apikeys:create)", w.op, "Helper", good, 403},
		{"a builder for an admin agent (escalation)", builder, "Boss", good, 403},
		{"another org's service", okc.Token, "Helper", good, 404},
		{"a user of no org", stranger, "Helper", good, 404},
		{"no credential", "", "Helper", good, 401},
		{"an unknown agent", w.platform, "Nobody", good, 404},
		{"a user on behalf of another user", w.owner, "Helper", map[string]any{"audience": gwAudience, "on_behalf_of": "user:apvop"}, 403},
		{"on behalf of a non-member", w.platform, "Helper", map[string]any{"audience": gwAudience, "on_behalf_of": "user:tokstranger"}, 400},
		{"on behalf of an agent", w.platform, "Helper", map[string]any{"audience": gwAudience, "on_behalf_of": "agent:Boss"}, 400},
		{"no audience", w.platform, "Helper", map[string]any{}, 400},
		{"a relative audience", w.platform, "Helper", map[string]any{"audience": "/mcp/apvorg/default/github"}, 400},
		{"an audience with a fragment", w.platform, "Helper", map[string]any{"audience": gwAudience + "#x"}, 400},
		{"a ttl over 1h", w.platform, "Helper", map[string]any{"audience": gwAudience, "ttl": "61m"}, 400},
		{"a negative ttl", w.platform, "Helper", map[string]any{"audience": gwAudience, "ttl": "-5m"}, 400},
		{"a ttl that is not a duration", w.platform, "Helper", map[string]any{"audience": gwAudience, "ttl": "soon"}, 400},
	}
	for _, tt := range tests {
		r := w.mint(tt.token, tt.agent, tt.body)
		if r.Status != tt.want {
			t.Errorf("%s: status %d, want %d; %s", tt.name, r.Status, tt.want, r.Body)
		}
		if tt.want == 400 {
			if p := r.problem(t); p.Field == "" {
				t.Errorf("%s: the 400 names no field: %s", tt.name, r.Body)
			}
		}
	}
	// A builder may mint for an agent it can act as.
	if r := w.mint(builder, "Helper", good); r.Status != 201 {
		t.Errorf("builder for a viewer agent: %d %s", r.Status, r.Body)
	}
	ar := e.must(200, "GET", org+"/audit?page_size=1000", w.owner, nil, nil)
	if n := strings.Count(string(ar.Body), `"denied"`); n < 4 {
		t.Errorf("%d denied entries, want the refused mints audited", n)
	}
}

// TestAgentTokenStops: a token stops at its next use when the agent is
// suspended by hand (and works again once resumed), when its last sponsor
// leaves (sponsor_gone), when the on_behalf_of user leaves the org, and
// when the agent is deleted — even recreated under the same name. It
// never outlives the agent's expiry.
func TestAgentTokenStops(t *testing.T) {
	w := newTokWorld(t, "sqlite")
	e := w.e
	ctx := ctxT(t)
	org := "/v1/orgs/" + w.org
	mint := func(body map[string]any) string {
		t.Helper()
		if body == nil {
			body = map[string]any{}
		}
		body["audience"] = gwAudience
		var tok api.AgentToken
		e.must(201, "POST", org+"/agents/Helper/tokens", w.platform, body, &tok)
		return tok.Token
	}
	works := func(what, tok string, want bool) {
		t.Helper()
		_, err := e.auth.AuthenticateAudience(ctx, tok, gwAudience, "192.0.2.9")
		if want && err != nil {
			t.Errorf("%s: %v, want accepted", what, err)
		}
		if !want && !errors.Is(err, auth.ErrUnauthenticated) {
			t.Errorf("%s: %v, want ErrUnauthenticated", what, err)
		}
	}
	tok := mint(nil)
	works("fresh", tok, true)
	e.must(200, "PATCH", org+"/agents/Helper", w.owner, map[string]any{"suspended": true}, nil)
	works("agent suspended", tok, false)
	if r := w.mint(w.platform, "Helper", map[string]any{"audience": gwAudience}); r.Status != 409 {
		t.Errorf("minting for a suspended agent: %d %s", r.Status, r.Body)
	}
	e.must(200, "PATCH", org+"/agents/Helper", w.owner, map[string]any{"suspended": false}, nil)
	works("agent resumed", tok, true)

	obo := mint(map[string]any{"on_behalf_of": "user:apvop"})
	works("on behalf of apvop", obo, true)
	e.must(200, "DELETE", org+"/members/apvop", w.owner, nil, nil)
	works("on_behalf_of user left", obo, false)
	works("the token without a user", tok, true)

	// Its only sponsor leaves: sponsor_gone.
	e.must(200, "DELETE", org+"/members/apvann", w.owner, nil, nil)
	works("sponsor gone", tok, false)
	e.must(200, "PATCH", org+"/agents/Helper", w.owner, map[string]any{"sponsors": []string{"user:apvowner"}}, nil)
	works("new sponsor", tok, true)

	// Deleted, then recreated with the same name.
	e.must(200, "DELETE", org+"/agents/Helper", w.owner, nil, nil)
	works("agent deleted", tok, false)
	e.must(201, "POST", org+"/agents", w.owner, map[string]any{"name": "Helper", "role": "viewer"}, nil)
	works("agent recreated", tok, false)
	works("a token of the new agent", mint(nil), true)

	// Never outlives the agent.
	exp := time.Now().Add(2 * time.Minute).UTC().Truncate(time.Second)
	e.must(200, "PATCH", org+"/agents/Helper", w.owner, map[string]any{"expires_at": exp.Format(time.RFC3339)}, nil)
	var short api.AgentToken
	e.must(201, "POST", org+"/agents/Helper/tokens", w.platform, map[string]any{"audience": gwAudience, "ttl": "1h"}, &short)
	if !short.ExpiresAt.Equal(exp) {
		t.Errorf("a token of an agent expiring at %s expires at %s", exp, short.ExpiresAt)
	}
}

// TestSuspendedServiceStops: suspending a service (audited, shown in the
// listing) makes every decision for it deny with reason suspended, its API
// key 401, and run tokens it issued refused; a viewer cannot suspend and
// another org sees 404; resuming restores all of it.
func TestSuspendedServiceStops(t *testing.T) {
	for _, backend := range backends(t) {
		t.Run(backend, func(t *testing.T) {
			w := newTokWorld(t, backend)
			e := w.e
			org := "/v1/orgs/" + w.org
			issuer := w.serviceKey("issuer", "operator")
			runner := w.serviceKey("runner", "operator")
			w.jobWithSecret()
			runToken := func() string { t.Helper(); return w.runToken(issuer, "service:runner") }
			decide := func(p string) api.CheckResponse {
				t.Helper()
				var out api.CheckResponse
				e.must(200, "POST", org+"/check", w.owner, map[string]any{"principal": p, "action": "chains:run", "resource": "chains/job"}, &out)
				return out
			}
			pending := runToken()

			// Who may not.
			if r := e.do("POST", org+"/services/issuer/suspend", w.v, nil); r.Status != 403 {
				t.Errorf("a viewer suspending: %d", r.Status)
			}
			stranger := e.user("svcstranger")
			if r := e.do("POST", org+"/services/issuer/suspend", stranger, nil); r.Status != 404 {
				t.Errorf("a stranger suspending: %d", r.Status)
			}
			if r := e.do("POST", org+"/services/nobody/suspend", w.owner, nil); r.Status != 404 {
				t.Errorf("suspending an unknown service: %d", r.Status)
			}

			var out struct {
				Revision uint64      `json:"revision"`
				Item     api.Service `json:"item"`
			}
			e.must(200, "POST", org+"/services/issuer/suspend", w.owner, nil, &out)
			if !out.Item.Suspended || out.Item.Status != "suspended" || out.Revision == 0 {
				t.Errorf("suspended: %+v", out)
			}
			if d := decide("service:issuer"); d.Allowed || d.Reason != string(authz.ReasonSuspended) {
				t.Errorf("decision for a suspended service: %+v", d)
			}
			if r := e.do("GET", org+"/services/issuer", issuer, nil); r.Status != 401 {
				t.Errorf("a suspended service's key: %d %s", r.Status, r.Body)
			}
			if r := e.do("POST", org+"/runs/exchange", runner, map[string]any{"token": pending}); r.Status != 403 {
				t.Errorf("exchanging a run token its suspended issuer issued: %d %s", r.Status, r.Body)
			}
			var list struct {
				Items []api.Service `json:"items"`
			}
			e.must(200, "GET", org+"/services", w.owner, nil, &list)
			for _, sv := range list.Items {
				if want := sv.Name == "issuer"; sv.Suspended != want || (sv.Status == "suspended") != want {
					t.Errorf("listed %s: suspended %v status %q", sv.Name, sv.Suspended, sv.Status)
				}
			}

			// The runtime suspended: its key and its exchanges stop.
			e.must(200, "POST", org+"/services/issuer/resume", w.owner, nil, nil)
			fresh := runToken()
			e.must(200, "POST", org+"/services/runner/suspend", w.owner, nil, nil)
			if r := e.do("POST", org+"/runs/exchange", runner, map[string]any{"token": fresh}); r.Status != 401 {
				t.Errorf("a suspended runtime exchanging: %d %s", r.Status, r.Body)
			}
			e.must(200, "POST", org+"/services/runner/resume", w.owner, nil, nil)
			if d := decide("service:runner"); !d.Allowed {
				t.Errorf("decision for a resumed service: %+v", d)
			}
			var rel api.Release
			e.must(200, "POST", org+"/runs/exchange", runner, map[string]any{"token": fresh}, &rel)
			if len(rel.Secrets) != 1 {
				t.Errorf("exchange after resuming: %+v", rel)
			}
			if r := e.do("GET", org+"/services/issuer", issuer, nil); r.Status != 200 {
				t.Errorf("the resumed issuer's key: %d %s", r.Status, r.Body)
			}
			ar := e.must(200, "GET", org+"/audit?page_size=1000", w.owner, nil, nil)
			for _, a := range []string{`"service.suspend"`, `"service.resume"`} {
				if !strings.Contains(string(ar.Body), a) {
					t.Errorf("no %s audit entry", a)
				}
			}
		})
	}
}

// TestCredentialsStopOnAnotherView: a second directory and auth service
// over the same store (another process's view, with caches that would
// trust a key for an hour) refuses an agent token and a service key as
// soon as its follower catches up with a suspension made through the
// first, and accepts them again once it follows the resumption.
func TestCredentialsStopOnAnotherView(t *testing.T) {
	w := newTokWorld(t, "sqlite")
	e := w.e
	ctx := ctxT(t)
	org := "/v1/orgs/" + w.org
	dirB, err := directory.Open(ctx, e.st, authz.New(), directory.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = dirB.Close() })
	b := auth.New(e.st, dirB, e.auth.Keys(), auth.Options{KeyCacheTTL: time.Hour})
	t.Cleanup(func() { _ = b.Close() })
	follow := func(rev uint64) {
		t.Helper()
		wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if err := dirB.WaitFor(wctx, rev); err != nil {
			t.Fatalf("B follows %d: %v", rev, err)
		}
	}
	var tok api.AgentToken
	e.must(201, "POST", org+"/agents/Helper/tokens", w.platform, map[string]any{"audience": gwAudience, "on_behalf_of": "user:apvop"}, &tok)
	follow(tok.Revision)
	inB := func(what, cred string, want bool) {
		t.Helper()
		_, err := b.AuthenticateAudience(ctx, cred, gwAudience, "192.0.2.10")
		if want != (err == nil) {
			t.Errorf("B, %s: err %v, want accepted %v", what, err, want)
		}
	}
	inB("agent token", tok.Token, true)
	inB("service key", w.lowly, true)

	var wr struct {
		Revision uint64 `json:"revision"`
	}
	e.must(200, "PATCH", org+"/agents/Helper", w.owner, map[string]any{"suspended": true}, &wr)
	follow(wr.Revision)
	inB("agent token after the agent was suspended in A", tok.Token, false)
	e.must(200, "PATCH", org+"/agents/Helper", w.owner, map[string]any{"suspended": false}, &wr)
	follow(wr.Revision)
	inB("agent token after the agent was resumed in A", tok.Token, true)

	e.must(200, "POST", org+"/services/lowly/suspend", w.owner, nil, &wr)
	follow(wr.Revision)
	inB("service key after the service was suspended in A", w.lowly, false)
	e.must(200, "POST", org+"/services/lowly/resume", w.owner, nil, &wr)
	follow(wr.Revision)
	inB("service key after the service was resumed in A", w.lowly, true)

	e.must(200, "DELETE", org+"/members/apvop", w.owner, nil, &wr)
	follow(wr.Revision)
	inB("agent token after its user left in A", tok.Token, false)
}

// BenchmarkAuthenticateAgentToken: what the gateway pays per request to
// authenticate an agent token on behalf of a user (signature, audience,
// the agent's standing in the engine, both incarnations from cache), and,
// for comparison, a service's API key.
func BenchmarkAuthenticateAgentToken(b *testing.B) {
	w := newTokWorld(b, "sqlite")
	ctx := context.Background()
	var tok api.AgentToken
	w.e.must(201, "POST", "/v1/orgs/"+w.org+"/agents/Helper/tokens", w.platform,
		map[string]any{"audience": gwAudience, "on_behalf_of": "user:apvop", "ttl": "1h"}, &tok)
	for _, c := range []struct{ name, cred string }{{"agent_token", tok.Token}, {"service_key", w.lowly}} {
		b.Run(c.name, func(b *testing.B) {
			if _, err := w.e.auth.AuthenticateAudience(ctx, c.cred, gwAudience, "192.0.2.1"); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := w.e.auth.AuthenticateAudience(ctx, c.cred, gwAudience, "192.0.2.1"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestSuspendedOwnerServiceStaysOutOfReach: while a service is
// suspended the engine gives it no level, yet lifting the suspension
// gives back every grant it has. So an admin may neither resume an
// owner-level service an owner suspended, nor mint it a key meanwhile (a
// key that would carry owner's grants once it is resumed); no key is
// minted for a suspended service at all (409, as for an agent token), and
// the owner's resume restores it.
func TestSuspendedOwnerServiceStaysOutOfReach(t *testing.T) {
	for _, backend := range backends(t) {
		t.Run(backend, func(t *testing.T) {
			w := newTokWorld(t, backend)
			e := w.e
			org := "/v1/orgs/" + w.org
			e.must(201, "POST", org+"/services", w.owner, map[string]any{"name": "boss", "role": "owner"}, nil)
			if r := e.do("POST", org+"/apikeys", w.platform, map[string]any{"principal": "service:boss"}); r.Status != 403 {
				t.Errorf("an admin minting a key for an active owner service: %d %s", r.Status, r.Body)
			}
			e.must(200, "POST", org+"/services/boss/suspend", w.owner, nil, nil)
			if r := e.do("POST", org+"/services/boss/resume", w.platform, nil); r.Status != 403 {
				t.Errorf("an admin resuming a suspended owner service: %d %s", r.Status, r.Body)
			}
			if r := e.do("PATCH", org+"/services/boss", w.platform, map[string]any{"attributes": map[string]any{"tier": "x"}}); r.Status != 403 {
				t.Errorf("an admin changing a suspended owner service: %d %s", r.Status, r.Body)
			}
			if r := e.do("POST", org+"/apikeys", w.platform, map[string]any{"principal": "service:boss"}); r.Status != 403 && r.Status != 409 {
				t.Errorf("an admin minting a key for a suspended owner service: %d %s", r.Status, r.Body)
			}
			if r := e.do("POST", org+"/apikeys", w.owner, map[string]any{"principal": "service:boss"}); r.Status != 409 {
				t.Errorf("the owner minting a key for a suspended service: %d %s, want 409", r.Status, r.Body)
			}
			e.must(200, "POST", org+"/services/boss/resume", w.owner, nil, nil)
			e.must(201, "POST", org+"/apikeys", w.owner, map[string]any{"principal": "service:boss"}, nil)
		})
	}
}

// TestKeyMintingComparesEveryResourceAndTeam: minting a key for a service
// lets the minter act as it, so DESIGN §1.2 compares the minter with the
// service wherever the service holds more — not only at org and namespace
// scope but on each resource it, or a team it is in, is bound to or
// shared. The admin service may mint keys for a viewer service, but not
// for one whose team owns a chain, nor for one a chain is shared with for
// an action the admin's role lacks; the owner may mint both. The same
// comparison guards suspending the service.
func TestKeyMintingComparesEveryResourceAndTeam(t *testing.T) {
	for _, backend := range backends(t) {
		t.Run(backend, func(t *testing.T) {
			w := newTokWorld(t, backend)
			e := w.e
			org := "/v1/orgs/" + w.org
			for _, name := range []string{"relay", "courier", "plain"} {
				e.must(201, "POST", org+"/services", w.owner, map[string]any{"name": name, "role": "viewer"}, nil)
			}
			e.must(201, "POST", org+"/teams", w.owner, map[string]any{"slug": "keepers", "members": []string{"service:relay"}}, nil)
			e.must(201, "POST", org+"/bindings", w.owner, map[string]any{"principal": "team:keepers", "role": "owner",
				"scope": map[string]any{"namespace": "prod", "type": "chains", "id": "deploy"}}, nil)
			e.must(201, "POST", org+"/namespaces/prod/resources/chains/deploy/shares", w.owner,
				map[string]any{"principal": "service:courier", "actions": []string{"publish"}}, nil)

			e.must(201, "POST", org+"/apikeys", w.platform, map[string]any{"principal": "service:plain"}, nil)
			for _, target := range []string{"relay", "courier"} {
				if r := e.do("POST", org+"/apikeys", w.platform, map[string]any{"principal": "service:" + target}); r.Status != 403 {
					t.Errorf("the admin minting a key for service %s: %d %s, want 403", target, r.Status, r.Body)
				}
				e.must(201, "POST", org+"/apikeys", w.owner, map[string]any{"principal": "service:" + target}, nil)
			}
			if r := e.do("POST", org+"/services/relay/suspend", w.platform, nil); r.Status != 403 {
				t.Errorf("the admin suspending a service whose team owns a chain: %d %s, want 403", r.Status, r.Body)
			}
			e.must(200, "POST", org+"/services/plain/suspend", w.platform, nil, nil)
		})
	}
}
