package server_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-dev/gatehouse/api"
	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/internal/auth"
	"github.com/gatehouse-dev/gatehouse/internal/directory"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// Agent tokens listed and revoked one by one (threat-model row 101).

func init() {
	// The route-driven tests' {token}: a token of the world's agent.
	worldHooks = append(worldHooks, func(t testing.TB, e *env, w *world) {
		t.Helper()
		var tok api.AgentToken
		e.must(201, "POST", "/v1/orgs/"+w.org+"/agents/"+w.params["agent"]+"/tokens", w.owner,
			map[string]any{"audience": "https://gw.example/mcp/" + w.org + "/default/x"}, &tok)
		w.params["token"] = tok.TokenID
		w.markers = append(w.markers, tok.TokenID)
	})
}

func (w *tokWorld) mintOK(token, agent string, body map[string]any) api.AgentToken {
	w.e.t.Helper()
	var tok api.AgentToken
	w.e.must(201, "POST", "/v1/orgs/"+w.org+"/agents/"+agent+"/tokens", token, body, &tok)
	return tok
}

// TestAgentTokenListAndRevoke: an admin lists an agent's tokens (newest
// first, never the token text) and revokes one by its id; the revoked
// token is refused at its very next use at the gateway, the others are
// not; revoking again is 409 as for an API key; the revocation is
// audited naming the token id and the revoker.
func TestAgentTokenListAndRevoke(t *testing.T) {
	for _, backend := range backends(t) {
		t.Run(backend, func(t *testing.T) {
			w := newTokWorld(t, backend)
			e := w.e
			ctx := ctxT(t)
			org := "/v1/orgs/" + w.org
			first := w.mintOK(w.platform, "Helper", map[string]any{"audience": gwAudience, "on_behalf_of": "user:apvop"})
			second := w.mintOK(w.owner, "Helper", map[string]any{"audience": gwAudience, "ttl": "1h"})
			for _, tok := range []api.AgentToken{first, second} {
				if _, err := e.auth.AuthenticateAudience(ctx, tok.Token, gwAudience, "192.0.2.20"); err != nil {
					t.Fatalf("before revocation: %v", err)
				}
			}
			var list api.List[api.AgentTokenInfo]
			r := e.must(200, "GET", org+"/agents/Helper/tokens", w.ann, nil, &list)
			var ids []string
			for _, x := range list.Items {
				ids = append(ids, x.ID)
			}
			if d := cmp.Diff([]string{second.TokenID, first.TokenID}, ids); d != "" {
				t.Errorf("listed ids, newest first (-want +got):\n%s", d)
			}
			if len(list.Items) == 2 {
				got := list.Items[1]
				if got.Agent != "agent:Helper" || got.OnBehalfOf != "user:apvop" || got.Audience != gwAudience || got.CreatedBy != "service:platform" ||
					!got.ExpiresAt.Equal(first.ExpiresAt) || !got.RevokedAt.IsZero() {
					t.Errorf("listed %+v", got)
				}
			}
			for _, tok := range []api.AgentToken{first, second} {
				if strings.Contains(string(r.Body), strings.TrimPrefix(tok.Token, auth.AgentTokenPrefix)[:40]) {
					t.Error("the list shows a token's text")
				}
			}
			// The org-wide list, filtered by agent, and paged.
			var page api.List[api.AgentTokenInfo]
			e.must(200, "GET", "/v1/orgs/"+w.org+"/agent-tokens?agent=Helper&page_size=1", w.ann, nil, &page)
			if len(page.Items) != 1 || page.Items[0].ID != second.TokenID || page.NextCursor == "" {
				t.Errorf("org-wide list, first page: %+v", page)
			}

			var rv struct {
				Revision uint64 `json:"revision"`
			}
			e.must(200, "DELETE", org+"/agents/Helper/tokens/"+first.TokenID, w.ann, nil, &rv)
			if rv.Revision == 0 {
				t.Error("revocation returned no revision")
			}
			if _, err := e.auth.AuthenticateAudience(ctx, first.Token, gwAudience, "192.0.2.20"); !errors.Is(err, auth.ErrUnauthenticated) {
				t.Errorf("the revoked token at its next use: %v, want ErrUnauthenticated", err)
			}
			if _, err := e.auth.AuthenticateAudience(ctx, second.Token, gwAudience, "192.0.2.20"); err != nil {
				t.Errorf("another token of the agent after one was revoked: %v", err)
			}
			if r := e.do("DELETE", org+"/agents/Helper/tokens/"+first.TokenID, w.ann, nil); r.Status != 409 {
				t.Errorf("revoking again: %d %s, want 409", r.Status, r.Body)
			}
			e.must(200, "GET", org+"/agents/Helper/tokens", w.ann, nil, &list)
			if len(list.Items) != 2 || list.Items[1].RevokedAt.IsZero() || list.Items[1].RevokedBy != "user:apvann" {
				t.Errorf("after revocation, listed %+v", list.Items)
			}
			// Audited: agent_token.revoke, the token id, the revoker.
			var entries struct {
				Items []struct {
					Action  string         `json:"action"`
					Target  string         `json:"target"`
					Result  string         `json:"result"`
					Actor   map[string]any `json:"actor"`
					Details map[string]any `json:"details"`
				} `json:"items"`
			}
			e.must(200, "GET", org+"/audit?action=agent_token.revoke&page_size=100", w.owner, nil, &entries)
			found := false
			for _, en := range entries.Items {
				if en.Action == "agent_token.revoke" && en.Result == "success" {
					found = true
					if en.Target != "agent_token/"+first.TokenID || en.Details["token_id"] != first.TokenID || en.Actor["principal"] != "user:apvann" {
						t.Errorf("revoke entry %+v", en)
					}
				}
			}
			if !found {
				t.Errorf("no successful agent_token.revoke entry in %+v", entries.Items)
			}
		})
	}
}

// TestAgentTokenRevokeWhoMay: who else could revoke or list. A member
// without the permission is 403 (before the token is looked up: the same
// for a real id and a made-up one); another org's token id through this
// org's route, and another agent's id under this agent's route, are 404
// and revoke nothing; an admin may not revoke the token of an agent that
// outranks it (escalation: revoking is managing the agent).
func TestAgentTokenRevokeWhoMay(t *testing.T) {
	for _, backend := range backends(t) {
		t.Run(backend, func(t *testing.T) {
			w := newTokWorld(t, backend)
			e := w.e
			ctx := ctxT(t)
			org := "/v1/orgs/" + w.org
			tok := w.mintOK(w.platform, "Helper", map[string]any{"audience": gwAudience})
			e.must(201, "POST", org+"/agents", w.owner, map[string]any{"name": "Other", "role": "viewer", "sponsors": []string{"user:apvann"}}, nil)
			other := w.mintOK(w.platform, "Other", map[string]any{"audience": gwAudience})
			e.must(201, "POST", org+"/agents", w.owner, map[string]any{"name": "Boss", "role": "owner", "sponsors": []string{"user:apvowner"}}, nil)
			boss := w.mintOK(w.owner, "Boss", map[string]any{"audience": gwAudience})
			// Another org with its own agent Helper and token.
			e.must(201, "POST", "/v1/orgs", w.owner, map[string]any{"id": "tokother"}, nil)
			e.must(201, "POST", "/v1/orgs/tokother/agents", w.owner, map[string]any{"name": "Helper", "role": "viewer", "sponsors": []string{"user:apvowner"}}, nil)
			const otherAud = "https://gw.example/mcp/tokother/default/github"
			var foreign api.AgentToken
			e.must(201, "POST", "/v1/orgs/tokother/agents/Helper/tokens", w.owner, map[string]any{"audience": otherAud}, &foreign)

			for _, c := range []struct {
				name, method, path, cred string
				want                     int
			}{
				{"a viewer lists", "GET", org + "/agents/Helper/tokens", w.v, 403},
				{"a viewer lists the org's", "GET", org + "/agent-tokens", w.v, 403},
				{"a viewer revokes a real token", "DELETE", org + "/agents/Helper/tokens/" + tok.TokenID, w.v, 403},
				{"a viewer revokes a made-up id", "DELETE", org + "/agents/Helper/tokens/00000000000000000000000000000000", w.v, 403},
				{"a viewer revokes under a made-up agent", "DELETE", org + "/agents/Nobody/tokens/" + tok.TokenID, w.v, 403},
				{"another org's token through this org", "DELETE", org + "/agents/Helper/tokens/" + foreign.TokenID, w.owner, 404},
				{"another agent's token under Helper", "DELETE", org + "/agents/Helper/tokens/" + other.TokenID, w.owner, 404},
				{"a made-up id", "DELETE", org + "/agents/Helper/tokens/00000000000000000000000000000000", w.owner, 404},
				{"an admin revokes an owner agent's token", "DELETE", org + "/agents/Boss/tokens/" + boss.TokenID, w.ann, 403},
				{"a non-member lists", "GET", "/v1/orgs/tokother/agents/Helper/tokens", w.ann, 404},
				{"a non-member revokes", "DELETE", "/v1/orgs/tokother/agents/Helper/tokens/" + foreign.TokenID, w.ann, 404},
				{"an unknown agent's list", "GET", org + "/agents/Nobody/tokens", w.owner, 404},
			} {
				if r := e.do(c.method, c.path, c.cred, nil); r.Status != c.want {
					t.Errorf("%s: %d %s, want %d", c.name, r.Status, r.Body, c.want)
				}
			}
			// Nothing was revoked.
			for _, c := range []struct {
				tok api.AgentToken
				aud string
			}{{tok, gwAudience}, {other, gwAudience}, {boss, gwAudience}, {foreign, otherAud}} {
				if _, err := e.auth.AuthenticateAudience(ctx, c.tok.Token, c.aud, "192.0.2.21"); err != nil {
					t.Errorf("token %s of %s after the refused revocations: %v", c.tok.TokenID, c.tok.Agent, err)
				}
			}
			// The other org's list shows only its own token.
			var list api.List[api.AgentTokenInfo]
			e.must(200, "GET", "/v1/orgs/tokother/agent-tokens", w.owner, nil, &list)
			if len(list.Items) != 1 || list.Items[0].ID != foreign.TokenID {
				t.Errorf("tokother's tokens: %+v", list.Items)
			}
			// The owner may revoke Boss's token.
			e.must(200, "DELETE", org+"/agents/Boss/tokens/"+boss.TokenID, w.owner, nil, nil)
			if _, err := e.auth.AuthenticateAudience(ctx, boss.Token, gwAudience, "192.0.2.21"); !errors.Is(err, auth.ErrUnauthenticated) {
				t.Errorf("Boss's revoked token: %v", err)
			}
		})
	}
}

// TestAgentTokenRevokedInAnotherProcess: a second server process on the
// same database (its own store handle, directory and auth service, with
// caches trusted for an hour) that has already accepted a token refuses
// it once the revocation's change reaches it (as a request with
// consistency at_least the revision waits for); and a process started
// after the revocation (a restart) refuses it at its first use.
func TestAgentTokenRevokedInAnotherProcess(t *testing.T) {
	for _, backend := range backends(t) {
		t.Run(backend, func(t *testing.T) {
			w := newTokWorld(t, backend)
			e := w.e
			ctx := ctxT(t)
			process := func() (*directory.Directory, *auth.Service) {
				t.Helper()
				ro, ok := e.st.(interface {
					Reopen(context.Context) (store.Store, error)
				})
				if !ok {
					t.Fatalf("%T cannot reopen", e.st)
				}
				st, err := ro.Reopen(ctx)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { _ = st.Close() })
				d, err := directory.Open(ctx, st, authz.New(), directory.Options{})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { _ = d.Close() })
				a := auth.New(st, d, e.auth.Keys(), auth.Options{KeyCacheTTL: time.Hour})
				t.Cleanup(func() { _ = a.Close() })
				return d, a
			}
			follow := func(d *directory.Directory, rev uint64) {
				t.Helper()
				wctx, cancel := context.WithTimeout(ctx, 20*time.Second)
				defer cancel()
				if err := d.WaitFor(wctx, rev); err != nil {
					t.Fatalf("following %d: %v", rev, err)
				}
			}
			tok := w.mintOK(w.platform, "Helper", map[string]any{"audience": gwAudience, "on_behalf_of": "user:apvop"})
			dirB, b := process()
			follow(dirB, tok.Revision)
			if _, err := b.AuthenticateAudience(ctx, tok.Token, gwAudience, "192.0.2.22"); err != nil {
				t.Fatalf("B before revocation: %v", err)
			}
			var rv struct {
				Revision uint64 `json:"revision"`
			}
			e.must(200, "DELETE", "/v1/orgs/"+w.org+"/agents/Helper/tokens/"+tok.TokenID, w.owner, nil, &rv)
			follow(dirB, rv.Revision)
			if _, err := b.AuthenticateAudience(ctx, tok.Token, gwAudience, "192.0.2.22"); !errors.Is(err, auth.ErrUnauthenticated) {
				t.Errorf("B after the revocation reached it: %v, want ErrUnauthenticated", err)
			}
			// A restart: a process that never saw the token or the change.
			dirC, c := process()
			follow(dirC, rv.Revision)
			if _, err := c.AuthenticateAudience(ctx, tok.Token, gwAudience, "192.0.2.23"); !errors.Is(err, auth.ErrUnauthenticated) {
				t.Errorf("a restarted process: %v, want ErrUnauthenticated", err)
			}
		})
	}
}

// TestMCPGatewayRefusesRevokedAgentToken: end to end at the MCP gateway,
// a token that initializes a session is 401 at its very next request once
// revoked, while another token of the same agent still works.
func TestMCPGatewayRefusesRevokedAgentToken(t *testing.T) {
	w := newMCPWorld(t, "sqlite")
	e := w.e
	initBody := `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"x","version":"1"}}}`
	status := func(token string) int {
		t.Helper()
		req, _ := http.NewRequestWithContext(ctxT(t), "POST", w.endpoint("pay"), strings.NewReader(initBody))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		req.Header.Set("Authorization", "Bearer "+token)
		res, err := e.hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	mint := func() api.AgentToken {
		t.Helper()
		var tok api.AgentToken
		e.must(201, "POST", "/v1/orgs/"+w.org+"/agents/Helper/tokens", w.platform,
			map[string]any{"audience": w.endpoint("pay"), "on_behalf_of": "user:mcpviewer", "ttl": "1h"}, &tok)
		return tok
	}
	leaked, kept := mint(), mint()
	for _, tok := range []api.AgentToken{leaked, kept} {
		if got := status(tok.Token); got != 200 {
			t.Fatalf("before revocation: %d", got)
		}
	}
	e.must(200, "DELETE", "/v1/orgs/"+w.org+"/agents/Helper/tokens/"+leaked.TokenID, w.platform, nil, nil)
	if got := status(leaked.Token); got != 401 {
		t.Errorf("the revoked token at the gateway: %d, want 401", got)
	}
	if got := status(kept.Token); got != 200 {
		t.Errorf("the agent's other token at the gateway: %d, want 200", got)
	}
}
