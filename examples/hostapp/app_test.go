package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-dev/gatehouse/client"
	"github.com/gatehouse-dev/gatehouse/client/clienttest"
)

// setup starts a real Gatehouse server with the quickstart's demo data, a
// policy that declares the Triage agent with an obligation and advice, and
// a least-privilege service credential for the app (a custom role holding
// only bindings:read), and returns the running host app (denials answered
// with denied) and the demo users' keys.
func setup(t *testing.T, denied int) (*httptest.Server, map[string]string) {
	t.Helper()
	gh := clienttest.Start(t, clienttest.Options{Demo: true})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	alice := gh.Client(gh.Demo.Keys["alice"])
	pol, err := alice.GetPolicy(ctx, "demo")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := alice.PutPolicy(ctx, "demo", pol.Text+`
agent Triage: operator {
    can run chains
    must log chains
    should report issues
}
`, false); err != nil {
		t.Fatal(err)
	}
	if _, err := alice.CreateRole(ctx, "demo", client.RoleSpec{Name: "decider", Level: 10, Permissions: []string{"bindings:read"}}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := alice.CreateService(ctx, "demo", client.ServiceSpec{Name: "hostapp", Role: "decider"}); err != nil {
		t.Fatal(err)
	}
	key, err := alice.CreateKey(ctx, "demo", client.KeySpec{Principal: "service:hostapp"})
	if err != nil {
		t.Fatal(err)
	}
	h, err := New(Config{
		Gatehouse:    gh.Client(key.Token),
		Org:          "demo",
		DeniedStatus: denied,
		AgentTokens:  map[string]string{"triage-secret": "agent:Triage", "ghost-secret": "agent:Ghost"},
		Logger:       slog.New(slog.NewTextHandler(io.Discard, nil)),
	}, demoChains)
	if err != nil {
		t.Fatal(err)
	}
	app := httptest.NewServer(h)
	t.Cleanup(app.Close)
	return app, gh.Demo.Keys
}

type resp struct {
	status int
	body   string
}

func call(t *testing.T, app *httptest.Server, method, path string, hdr map[string]string, body string) resp {
	t.Helper()
	req, err := http.NewRequest(method, app.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	res, err := app.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return resp{res.StatusCode, string(b)}
}

// TestHostAppAgainstGatehouse is the host app's access matrix, as a
// newcomer would read it: who may list, run and edit which chain, under
// both denial conventions.
func TestHostAppAgainstGatehouse(t *testing.T) {
	for _, conv := range []struct {
		name   string
		denied int
	}{{"denials are 403", http.StatusForbidden}, {"denials are 401 (Letta)", http.StatusUnauthorized}} {
		t.Run(conv.name, func(t *testing.T) {
			app, keys := setup(t, conv.denied)
			bearer := func(who string) map[string]string { return map[string]string{"Authorization": "Bearer " + keys[who]} }
			agent := func(tok string) map[string]string { return map[string]string{"X-Agent-Token": tok} }
			D := conv.denied
			edit := `{"steps":["fetch","think","act"]}`
			tests := []struct {
				name, method, path string
				hdr                map[string]string
				body               string
				want               int
			}{
				{"no credentials", "POST", "/chains/prod/escalation-triage/run", nil, "", 401},
				{"an unknown token", "POST", "/chains/prod/escalation-triage/run", map[string]string{"Authorization": "Bearer gth_nope_0123456789abcdef0123456789abcdef"}, "", 401},
				{"operator bob lists prod chains", "GET", "/chains?namespace=prod", bearer("bob"), "", 200},
				{"operator bob runs a prod chain", "POST", "/chains/prod/ticket-summarizer/run", bearer("bob"), "", 200},
				{"operator bob cannot edit a prod chain", "PUT", "/chains/prod/ticket-summarizer", bearer("bob"), edit, D},
				{"builder bob edits a dev chain", "PUT", "/chains/dev/eval-harness", bearer("bob"), edit, 200},
				{"viewer carol lists prod chains", "GET", "/chains?namespace=prod", bearer("carol"), "", 200},
				{"viewer carol cannot run an unshared chain", "POST", "/chains/prod/ticket-summarizer/run", bearer("carol"), "", D},
				{"viewer carol runs the chain shared with her team", "POST", "/chains/prod/escalation-triage/run", bearer("carol"), "", 200},
				{"viewer carol cannot edit", "PUT", "/chains/prod/escalation-triage", bearer("carol"), edit, D},
				{"owner alice edits a prod chain", "PUT", "/chains/prod/database-migration", bearer("alice"), edit, 200},
				{"agent Triage runs a prod chain", "POST", "/agent/chains/prod/ticket-summarizer/run", agent("triage-secret"), "", 200},
				{"agent Triage (operator in prod) cannot run a dev chain", "POST", "/agent/chains/dev/eval-harness/run", agent("triage-secret"), "", D},
				{"an agent Gatehouse does not know", "POST", "/agent/chains/prod/ticket-summarizer/run", agent("ghost-secret"), "", D},
				{"an unknown agent token", "POST", "/agent/chains/prod/ticket-summarizer/run", agent("wrong"), "", 401},
				{"a person's token on the agent route is not an agent", "POST", "/agent/chains/prod/ticket-summarizer/run", bearer("alice"), "", 401},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					got := call(t, app, tt.method, tt.path, tt.hdr, tt.body)
					if got.status != tt.want {
						t.Errorf("%s %s: %d %s, want %d", tt.method, tt.path, got.status, got.body, tt.want)
					}
				})
			}

			// The agent's obligations and advice reach the handler and
			// the platform's answer (carol ran the chain once above).
			got := call(t, app, "POST", "/agent/chains/prod/escalation-triage/run", agent("triage-secret"), "")
			var rr RunResult
			if err := json.Unmarshal([]byte(got.body), &rr); err != nil || got.status != 200 {
				t.Fatalf("agent run: %d %s", got.status, got.body)
			}
			if diff := cmp.Diff(RunResult{
				Chain:       Chain{Namespace: "prod", ID: "escalation-triage", Steps: []string{"fetch", "reason", "act"}, Runs: 2},
				Obligations: []string{"must log chains"}, Advice: []string{"should report issues"},
			}, rr); diff != "" {
				t.Errorf("agent run result (-want +got):\n%s", diff)
			}
			// A person's run carries none.
			got = call(t, app, "POST", "/chains/prod/escalation-triage/run", bearer("carol"), "")
			if err := json.Unmarshal([]byte(got.body), &rr); err != nil || len(rr.Obligations) != 0 || rr.Chain.Runs != 3 {
				t.Errorf("carol's run: %s", got.body)
			}
			// A denied edit changed nothing.
			got = call(t, app, "GET", "/chains?namespace=prod", bearer("alice"), "")
			if !strings.Contains(got.body, `"id":"ticket-summarizer","steps":["fetch","summarize"]`) {
				t.Errorf("a denied edit changed the chain: %s", got.body)
			}
		})
	}
}

// TestHostAppFailsClosed: with Gatehouse unreachable every route is 503.
func TestHostAppFailsClosed(t *testing.T) {
	down, err := client.New("http://127.0.0.1:1", client.WithRetry(client.RetryPolicy{MaxAttempts: 1}))
	if err != nil {
		t.Fatal(err)
	}
	h, err := New(Config{Gatehouse: down, Org: "demo", AgentTokens: map[string]string{"t": "agent:Triage"},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, demoChains)
	if err != nil {
		t.Fatal(err)
	}
	app := httptest.NewServer(h)
	defer app.Close()
	for _, c := range []struct {
		method, path string
		hdr          map[string]string
	}{
		{"GET", "/chains?namespace=prod", map[string]string{"Authorization": "Bearer gth_x_0123456789abcdef0123456789abcdef"}},
		{"POST", "/chains/prod/escalation-triage/run", map[string]string{"Authorization": "Bearer gth_x_0123456789abcdef0123456789abcdef"}},
		{"POST", "/agent/chains/prod/escalation-triage/run", map[string]string{"X-Agent-Token": "t"}},
	} {
		if got := call(t, app, c.method, c.path, c.hdr, ""); got.status != http.StatusServiceUnavailable {
			t.Errorf("%s %s with Gatehouse down: %d %s, want 503", c.method, c.path, got.status, got.body)
		}
	}
}
