package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/gatehouse-dev/gatehouse/internal/mcpgw"
	"github.com/gatehouse-dev/gatehouse/templates"
)

// The MCP gateway end to end: a fake upstream MCP server built with the
// SDK, the SDK's client as the agent, Gatehouse in between over HTTP.

// gwCanary is the upstream credential: it must never reach an agent or
// the audit log.
const gwCanary = "canary-7f3e9b2c4d1a-upstream-credential"

// fakeUpstream is an MCP server that requires the canary credential and
// counts the calls that reach it.
type fakeUpstream struct {
	URL   string
	calls map[string]*atomic.Int64
}

func (u *fakeUpstream) count(tool string) int64 { return u.calls[tool].Load() }

func newFakeUpstream(t testing.TB) *fakeUpstream { return newFakeUpstreamN(t, 0) }

// newFakeUpstreamN also lists n more tools, t0000, t0001, ... (each
// answering "ok").
func newFakeUpstreamN(t testing.TB, n int) *fakeUpstream {
	t.Helper()
	u := &fakeUpstream{calls: map[string]*atomic.Int64{}}
	srv := mcp.NewServer(&mcp.Implementation{Name: "fake-upstream", Version: "1"}, nil)
	add := func(name, desc string, h func(args map[string]any, hdr http.Header) *mcp.CallToolResult) {
		u.calls[name] = &atomic.Int64{}
		srv.AddTool(&mcp.Tool{Name: name, Description: desc, InputSchema: json.RawMessage(`{"type":"object"}`)},
			func(ctx context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
				u.calls[name].Add(1)
				var args map[string]any
				_ = json.Unmarshal(req.Params.Arguments, &args)
				return h(args, req.Extra.Header), nil
			})
	}
	text := func(s string) []mcp.Content { return []mcp.Content{&mcp.TextContent{Text: s}} }
	add("echo", "Echo text (and, badly, the credential it got).", func(args map[string]any, hdr http.Header) *mcp.CallToolResult {
		auth := hdr.Get("Authorization")
		return &mcp.CallToolResult{Content: text(fmt.Sprintf("echo: %v (auth %s)", args["text"], auth)),
			StructuredContent: map[string]any{"auth": auth, "nested": []any{"x" + strings.TrimPrefix(auth, "Bearer ")}}}
	})
	add("pay", "Pay an amount.", func(args map[string]any, _ http.Header) *mcp.CallToolResult {
		return &mcp.CallToolResult{Content: text(fmt.Sprintf("paid %v", args["amount"]))}
	})
	add("delete_account", "Delete an account.", func(args map[string]any, _ http.Header) *mcp.CallToolResult {
		return &mcp.CallToolResult{Content: text(fmt.Sprintf("deleted %v", args["account"]))}
	})
	add("hidden", "Not imported: never listed.", func(map[string]any, http.Header) *mcp.CallToolResult {
		return &mcp.CallToolResult{Content: text("hidden")}
	})
	for i := range n {
		add(fmt.Sprintf("t%04d", i), "A numbered tool.", func(map[string]any, http.Header) *mcp.CallToolResult {
			return &mcp.CallToolResult{Content: text("ok")}
		})
	}
	h := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return srv }, nil)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+gwCanary {
			http.Error(w, "upstream: bad credential", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(ts.Close)
	u.URL = ts.URL + "/mcp"
	return u
}

// mcpPolicy: toolcaller may call every tool, deleting an account with an
// admin's approval; conditions gate pay by amount.
func mcpPolicy(t testing.TB) string {
	t.Helper()
	src, err := templates.Source("agent-platform")
	if err != nil {
		t.Fatal(err)
	}
	return string(src) + `
condition small = "context.input.amount < 500"
condition risky = "resource.id.endsWith('.delete_account')"

role toolcaller: viewer level 20 {
    permission tools { call }
    ask before call tools when risky from admin
}
`
}

type mcpWorld struct {
	e        *env
	up       *fakeUpstream
	org      string
	owner    string // API keys
	caller   string // toolcaller
	caller2  string // another toolcaller
	viewer   string // viewer with a share of pay.echo
	small    string // toolcaller under condition small
	admin    string
	outsider string // member of another org only
	platform string // API key of service:platform (owner), the host platform that mints agent tokens
	// agentTok is a real agent token (docs/agents.md "Agent tokens") for
	// agent:Helper (role toolcaller: every tool) acting for
	// user:mcpviewer (echo only), minted by the platform for the pay
	// endpoint's URL.
	agentTok string
}

func newMCPWorld(t testing.TB, backend string) *mcpWorld {
	t.Helper()
	return newMCPWorldWith(t, backend, envOpts{})
}

// newMCPWorldWith builds the world on a server configured by o.
func newMCPWorldWith(t testing.TB, backend string, o envOpts) *mcpWorld {
	t.Helper()
	w := &mcpWorld{org: "mcporg", up: newFakeUpstream(t)}
	w.e = newEnv(t, backend, o)
	e := w.e
	w.owner = e.user("mcpowner")
	w.caller, w.viewer, w.small, w.admin = e.user("mcpcaller"), e.user("mcpviewer"), e.user("mcpsmall"), e.user("mcpadmin")
	w.outsider, w.caller2 = e.user("mcpoutsider"), e.user("mcpcaller2")
	org := "/v1/orgs/" + w.org
	e.must(201, "POST", "/v1/orgs", w.owner, map[string]any{"id": w.org}, nil)
	e.must(201, "POST", "/v1/orgs", w.outsider, map[string]any{"id": "otherorg"}, nil)
	e.must(200, "PUT", org+"/policy", w.owner, map[string]any{"text": mcpPolicy(t)}, nil)
	e.must(201, "POST", org+"/namespaces", w.owner, map[string]any{"name": "prod"}, nil)
	for u, role := range map[string]string{"mcpcaller": "toolcaller", "mcpcaller2": "toolcaller", "mcpviewer": "viewer", "mcpsmall": "viewer", "mcpadmin": "admin"} {
		e.must(201, "POST", org+"/members", w.owner, map[string]any{"user_id": u, "role": role}, nil)
	}
	e.must(201, "POST", org+"/bindings", w.owner, map[string]any{
		"principal": "user:mcpsmall", "role": "toolcaller", "scope": map[string]any{"namespace": "prod"}, "condition": "small"}, nil)
	e.must(201, "POST", org+"/agents", w.owner, map[string]any{"name": "Helper", "role": "toolcaller"}, nil)
	e.must(201, "POST", org+"/namespaces/prod/secrets", w.owner, map[string]any{"name": "UPSTREAM_TOKEN", "value": gwCanary}, nil)
	e.must(201, "POST", org+"/resources", w.owner, map[string]any{"namespace": "prod", "type": "mcp_servers", "id": "pay",
		"spec": map[string]any{"url": w.up.URL, "secrets": []string{"UPSTREAM_TOKEN"}, "credential": map[string]any{"secret": "UPSTREAM_TOKEN"}}}, nil)
	for _, tl := range []string{"echo", "pay", "delete_account", "ghost"} {
		e.must(201, "POST", org+"/resources", w.owner, map[string]any{"namespace": "prod", "type": "tools", "id": "pay." + tl,
			"spec": map[string]any{"server": "pay", "tool": tl, "description": tl, "input_schema": map[string]any{"type": "object"}}}, nil)
	}
	e.must(201, "POST", org+"/namespaces/prod/resources/tools/pay.echo/shares", w.owner, map[string]any{"principal": "user:mcpviewer", "actions": []string{"call"}}, nil)
	e.must(201, "POST", org+"/services", w.owner, map[string]any{"name": "platform", "role": "owner"}, nil)
	var kc struct {
		Token string `json:"token"`
	}
	e.must(201, "POST", org+"/apikeys", w.owner, map[string]any{"principal": "service:platform"}, &kc)
	w.platform = kc.Token
	w.agentTok = w.mintAgentToken(t, "Helper", w.endpoint("pay"), "user:mcpviewer")
	return w
}

// mintAgentToken mints, as the platform, an agent token for agent name
// bound to audience, on behalf of user (or none).
func (w *mcpWorld) mintAgentToken(t testing.TB, name, audience, user string) string {
	t.Helper()
	var tok struct {
		Token string `json:"token"`
	}
	w.e.must(201, "POST", "/v1/orgs/"+w.org+"/agents/"+name+"/tokens", w.platform,
		map[string]any{"audience": audience, "on_behalf_of": user, "ttl": "1h"}, &tok)
	return tok.Token
}

func (w *mcpWorld) endpoint(server string) string {
	return w.e.URL + "/mcp/" + w.org + "/prod/" + server
}

// bearer adds a credential to every request.
type bearer struct {
	token string
	next  http.RoundTripper
}

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return b.next.RoundTrip(r)
}

// agent connects an SDK client to the gateway's pay server with token.
func (w *mcpWorld) agent(t testing.TB, token string) *mcp.ClientSession {
	t.Helper()
	return w.agentAt(t, "pay", token)
}

func (w *mcpWorld) agentAt(t testing.TB, server, token string) *mcp.ClientSession {
	t.Helper()
	return connectMCP(t, w.endpoint(server), token)
}

// connectMCP connects an SDK client to an MCP endpoint with a bearer
// token.
func connectMCP(t testing.TB, url, token string) *mcp.ClientSession {
	t.Helper()
	cl := mcp.NewClient(&mcp.Implementation{Name: "test-agent", Version: "1"}, nil)
	tr := &http.Transport{MaxIdleConnsPerHost: 256}
	t.Cleanup(tr.CloseIdleConnections)
	cs, err := cl.Connect(ctxT(t), &mcp.StreamableClientTransport{Endpoint: url,
		HTTPClient: &http.Client{Transport: bearer{token, tr}}, DisableStandaloneSSE: true, MaxRetries: -1}, nil)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() { _ = cs.Close() })
	return cs
}

func toolNames(t *testing.T, cs *mcp.ClientSession) []string {
	t.Helper()
	res, err := cs.ListTools(ctxT(t), nil)
	if err != nil {
		t.Fatalf("tools/list: %v", err)
	}
	var out []string
	for _, tl := range res.Tools {
		out = append(out, tl.Name)
	}
	slices.Sort(out)
	return out
}

func callTool(t *testing.T, cs *mcp.ClientSession, name string, args map[string]any) *mcp.CallToolResult {
	t.Helper()
	res, err := cs.CallTool(ctxT(t), &mcp.CallToolParams{Name: name, Arguments: args})
	if err != nil {
		t.Fatalf("tools/call %s: %v", name, err)
	}
	return res
}

func resultText(res *mcp.CallToolResult) string {
	var b strings.Builder
	for _, c := range res.Content {
		if tc, ok := c.(*mcp.TextContent); ok {
			b.WriteString(tc.Text)
		}
	}
	return b.String()
}

func approvalOf(t *testing.T, res *mcp.CallToolResult) map[string]any {
	t.Helper()
	ap, ok := res.Meta[mcpgw.MetaApproval].(map[string]any)
	if !ok {
		t.Fatalf("no %s in the result's _meta: %+v (%s)", mcpgw.MetaApproval, res.Meta, resultText(res))
	}
	return ap
}

// TestMCPGatewayListFiltering: tools/list shows, per role and per agent,
// only the imported tools the caller may call under some context, and
// only those the upstream lists.
func TestMCPGatewayListFiltering(t *testing.T) {
	for _, backend := range backends(t) {
		t.Run(backend, func(t *testing.T) {
			w := newMCPWorld(t, backend)
			all := []string{"delete_account", "echo", "pay"} // not hidden (not imported), not ghost (not upstream)
			for _, tc := range []struct {
				name, token string
				want        []string
			}{
				{"owner", w.owner, all},
				{"toolcaller (delete_account behind approval)", w.caller, all},
				{"toolcaller under a condition", w.small, all},
				{"viewer with a share of echo", w.viewer, []string{"echo"}},
				{"agent Helper (every tool) for user:mcpviewer (echo)", w.agentTok, []string{"echo"}},
				{"admin (no tools permission)", w.admin, nil},
			} {
				t.Run(tc.name, func(t *testing.T) {
					if diff := cmp.Diff(tc.want, toolNames(t, w.agent(t, tc.token))); diff != "" {
						t.Errorf("tools/list (-want +got):\n%s", diff)
					}
				})
			}
		})
	}
}

// TestMCPGatewayCalls: allowed, denied with an explanation,
// argument-conditioned; the upstream sees only the allowed calls.
func TestMCPGatewayCalls(t *testing.T) {
	for _, backend := range backends(t) {
		t.Run(backend, func(t *testing.T) {
			w := newMCPWorld(t, backend)
			caller, viewer, small := w.agent(t, w.caller), w.agent(t, w.viewer), w.agent(t, w.small)

			res := callTool(t, caller, "pay", map[string]any{"amount": 900})
			if res.IsError || resultText(res) != "paid 900" {
				t.Fatalf("allowed call: isError %v, %q", res.IsError, resultText(res))
			}
			if n := w.up.count("pay"); n != 1 {
				t.Fatalf("upstream pay calls = %d, want 1", n)
			}

			res = callTool(t, viewer, "pay", map[string]any{"amount": 1})
			txt := resultText(res)
			if !res.IsError || !strings.Contains(txt, `Gatehouse denied calling "pay"`) || !strings.Contains(txt, "cannot call tools/pay.pay in prod") {
				t.Errorf("denied call: isError %v, %q; want the explanation", res.IsError, txt)
			}
			if n := w.up.count("pay"); n != 1 {
				t.Errorf("a denied call reached the upstream (pay calls = %d)", n)
			}

			res = callTool(t, small, "pay", map[string]any{"amount": 100})
			if res.IsError || resultText(res) != "paid 100" {
				t.Errorf("small amount: isError %v, %q", res.IsError, resultText(res))
			}
			res = callTool(t, small, "pay", map[string]any{"amount": 900})
			if !res.IsError || !strings.Contains(resultText(res), "denied") {
				t.Errorf("large amount under condition small: isError %v, %q", res.IsError, resultText(res))
			}
			if n := w.up.count("pay"); n != 2 {
				t.Errorf("upstream pay calls = %d, want 2 (900 by caller, 100 by small)", n)
			}

			// An agent acting for a user: what both may do (echo), no more.
			agent := w.agent(t, w.agentTok)
			if res := callTool(t, agent, "echo", map[string]any{"text": "a"}); res.IsError {
				t.Errorf("agent echo: %q", resultText(res))
			}
			if res := callTool(t, agent, "pay", map[string]any{"amount": 1}); !res.IsError {
				t.Errorf("agent:Helper paid for user:mcpviewer, who may not: %q", resultText(res))
			}
			if n := w.up.count("pay"); n != 2 {
				t.Errorf("upstream pay calls = %d, want 2", n)
			}

			// Arguments too large to bind an approval to: decided as any
			// call, refused only when the call needs approval.
			big := strings.Repeat("x", 70<<10)
			if res := callTool(t, caller, "pay", map[string]any{"amount": 7, "memo": big}); res.IsError || resultText(res) != "paid 7" {
				t.Errorf("large arguments, no approval needed: %.200q", resultText(res))
			}
			if res := callTool(t, caller, "delete_account", map[string]any{"account": big}); !res.IsError || !strings.Contains(resultText(res), "binds arguments of at most") {
				t.Errorf("large arguments needing approval: %.200q", resultText(res))
			}

			// Not imported (hidden) and unknown tools are refused without
			// reaching the upstream.
			for _, name := range []string{"hidden", "nope"} {
				res = callTool(t, caller, name, nil)
				if !res.IsError || !strings.Contains(resultText(res), "not available through this gateway") {
					t.Errorf("%s: isError %v, %q", name, res.IsError, resultText(res))
				}
			}
			if n := w.up.count("hidden"); n != 0 {
				t.Errorf("a tool that is not imported was called upstream %d times", n)
			}
		})
	}
}

// TestMCPGatewayApproval: approval required → approved through the API →
// the same call proceeds once → the same call again is refused (a new
// approval); another argument is another question.
func TestMCPGatewayApproval(t *testing.T) {
	for _, backend := range backends(t) {
		t.Run(backend, func(t *testing.T) {
			w := newMCPWorld(t, backend)
			e, caller := w.e, w.agent(t, w.caller)
			args := map[string]any{"account": "a-1"}

			res := callTool(t, caller, "delete_account", args)
			ap := approvalOf(t, res)
			id, _ := ap["id"].(string)
			if !res.IsError || ap["status"] != "pending" || id == "" || !strings.Contains(resultText(res), id) ||
				!strings.Contains(resultText(res), "user:mcpadmin") {
				t.Fatalf("first call: isError %v, meta %v, %q", res.IsError, ap, resultText(res))
			}
			again := approvalOf(t, callTool(t, caller, "delete_account", args))
			if again["id"] != id {
				t.Errorf("asking again while pending made a new approval %v (want %s)", again["id"], id)
			}
			if n := w.up.count("delete_account"); n != 0 {
				t.Fatalf("a call needing approval reached the upstream (%d)", n)
			}
			// The requester cannot approve its own call.
			e.must(403, "POST", "/v1/orgs/"+w.org+"/approvals/"+id+"/approve", w.caller, nil, nil)
			e.must(200, "POST", "/v1/orgs/"+w.org+"/approvals/"+id+"/approve", w.admin, map[string]any{"comment": "ok once"}, nil)

			// Another principal presenting the granted approval (same tool,
			// same arguments) does not use it: it is another question.
			stolen, err := w.agent(t, w.caller2).CallTool(ctxT(t), &mcp.CallToolParams{Name: "delete_account", Arguments: args, Meta: mcp.Meta{mcpgw.MetaApprovalID: id}})
			if err != nil || !stolen.IsError || approvalOf(t, stolen)["id"] == id {
				t.Fatalf("another principal presenting the approval: err %v, %q", err, resultText(stolen))
			}
			// Other arguments: another question, not covered.
			other := callTool(t, caller, "delete_account", map[string]any{"account": "a-2"})
			if !other.IsError || approvalOf(t, other)["id"] == id {
				t.Errorf("another argument used the approval: %q", resultText(other))
			}
			res = callTool(t, caller, "delete_account", args)
			if res.IsError || resultText(res) != "deleted a-1" {
				t.Fatalf("approved call: isError %v, %q", res.IsError, resultText(res))
			}
			if n := w.up.count("delete_account"); n != 1 {
				t.Fatalf("upstream delete_account calls = %d, want 1", n)
			}
			res = callTool(t, caller, "delete_account", args)
			next := approvalOf(t, res)
			if !res.IsError || next["id"] == id || next["status"] != "pending" {
				t.Errorf("the same call after the approval was used: isError %v, meta %v", res.IsError, next)
			}
			// Presenting the used approval explicitly does not help either.
			res2, err := caller.CallTool(ctxT(t), &mcp.CallToolParams{Name: "delete_account", Arguments: args, Meta: mcp.Meta{mcpgw.MetaApprovalID: id}})
			if err != nil || !res2.IsError {
				t.Errorf("presenting a consumed approval: err %v, result %+v", err, res2)
			}
			if n := w.up.count("delete_account"); n != 1 {
				t.Errorf("upstream delete_account calls = %d after the approval was used, want 1", n)
			}
		})
	}
}

// TestMCPGatewayWaitForApproval: a server configured to wait holds a call
// needing approval until a person answers: approved → it proceeds (once);
// denied → refused.
func TestMCPGatewayWaitForApproval(t *testing.T) {
	w := newMCPWorld(t, "sqlite")
	e := w.e
	e.must(201, "POST", "/v1/orgs/"+w.org+"/resources", w.owner, map[string]any{"namespace": "prod", "type": "mcp_servers", "id": "paywait",
		"spec": map[string]any{"url": w.up.URL, "secrets": []string{"UPSTREAM_TOKEN"}, "credential": map[string]any{"secret": "UPSTREAM_TOKEN"}, "wait_for_approval": "20s"}}, nil)
	e.must(201, "POST", "/v1/orgs/"+w.org+"/resources", w.owner, map[string]any{"namespace": "prod", "type": "tools", "id": "paywait.delete_account",
		"spec": map[string]any{"server": "paywait", "tool": "delete_account"}}, nil)
	caller := w.agentAt(t, "paywait", w.caller)
	for _, tc := range []struct {
		verb, account string
		ok            bool
	}{{"approve", "w-1", true}, {"deny", "w-2", false}} {
		t.Run(tc.verb, func(t *testing.T) {
			before := w.up.count("delete_account")
			done := make(chan *mcp.CallToolResult, 1)
			go func() {
				res, err := caller.CallTool(ctxT(t), &mcp.CallToolParams{Name: "delete_account", Arguments: map[string]any{"account": tc.account}})
				if err != nil {
					t.Errorf("call: %v", err)
				}
				done <- res
			}()
			var id string
			for id == "" {
				var list struct {
					Items []struct{ ID, Resource string } `json:"items"`
				}
				e.must(200, "GET", "/v1/orgs/"+w.org+"/approvals?status=pending", w.admin, nil, &list)
				for _, it := range list.Items {
					if it.Resource == "tools/paywait.delete_account" {
						id = it.ID
					}
				}
				select {
				case res := <-done:
					t.Fatalf("the call did not wait: %q", resultText(res))
				case <-time.After(20 * time.Millisecond):
				}
			}
			e.must(200, "POST", "/v1/orgs/"+w.org+"/approvals/"+id+"/"+tc.verb, w.admin, nil, nil)
			res := <-done
			if res == nil {
				return
			}
			if tc.ok && (res.IsError || resultText(res) != "deleted "+tc.account) {
				t.Errorf("approved: isError %v, %q", res.IsError, resultText(res))
			}
			if !tc.ok && (!res.IsError || approvalOf(t, res)["status"] != "denied") {
				t.Errorf("denied: isError %v, %q", res.IsError, resultText(res))
			}
			want := before
			if tc.ok {
				want++
			}
			if n := w.up.count("delete_account"); n != want {
				t.Errorf("upstream calls = %d, want %d", n, want)
			}
		})
	}
}

// TestMCPGatewayCredential: the upstream gets the canary credential; the
// agent never sees it (redacted from text and structured content), and no
// audit entry holds it. Every call is audited.
func TestMCPGatewayCredential(t *testing.T) {
	for _, backend := range backends(t) {
		t.Run(backend, func(t *testing.T) {
			w := newMCPWorld(t, backend)
			caller, viewer := w.agent(t, w.caller), w.agent(t, w.viewer)
			res := callTool(t, caller, "echo", map[string]any{"text": "hi"})
			if res.IsError {
				t.Fatalf("echo: %q", resultText(res))
			}
			raw, err := json.Marshal(res)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(string(raw), gwCanary) || strings.Contains(string(raw), gwCanary[4:]) {
				t.Fatalf("the credential reached the agent: %s", raw)
			}
			if !strings.Contains(resultText(res), "[REDACTED:UPSTREAM_TOKEN]") || !strings.Contains(string(raw), `"auth":"Bearer [REDACTED:UPSTREAM_TOKEN]"`) {
				t.Errorf("echo was not redacted as expected: %s", raw)
			}
			_ = callTool(t, viewer, "pay", map[string]any{"amount": 3})               // deny
			_ = callTool(t, caller, "delete_account", map[string]any{"account": "z"}) // approval_required

			r := w.e.must(200, "GET", "/v1/orgs/"+w.org+"/audit?page_size=500", w.owner, nil, nil)
			if strings.Contains(string(r.Body), gwCanary) {
				t.Fatalf("the credential is in the audit log")
			}
			var page struct {
				Items []struct {
					Action  string `json:"action"`
					Target  string `json:"target"`
					Result  string `json:"result"`
					Actor   struct{ Principal string }
					Details json.RawMessage `json:"details"`
				} `json:"items"`
			}
			r.json(t, &page)
			type entry struct{ Principal, Tool, Decision, Upstream, Result string }
			var got []entry
			for _, it := range page.Items {
				if it.Action == "secrets.inject" && !strings.Contains(string(it.Details), "UPSTREAM_TOKEN") {
					t.Errorf("secrets.inject entry does not name the secret: %s", it.Details)
				}
				if it.Action != mcpgw.AuditAction {
					continue
				}
				var d struct {
					Principal, Tool, Decision, Upstream string
					Digest                              string  `json:"arguments_sha256"`
					Duration                            float64 `json:"duration_ms"`
				}
				if err := json.Unmarshal(it.Details, &d); err != nil {
					t.Fatal(err)
				}
				if len(d.Digest) != 64 || d.Principal != it.Actor.Principal {
					t.Errorf("entry %s: digest %q, principal %q (actor %q)", it.Details, d.Digest, d.Principal, it.Actor.Principal)
				}
				got = append(got, entry{d.Principal, d.Tool, d.Decision, d.Upstream, it.Result})
			}
			want := []entry{
				{"user:mcpcaller", "echo", "allow", "ok", "success"},
				{"user:mcpviewer", "pay", "deny", "not_called", "denied"},
				{"user:mcpcaller", "delete_account", "approval_required", "not_called", "denied"},
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("mcp.call entries, oldest first (-want +got):\n%s", diff)
			}
		})
	}
}

// TestMCPGatewayAuthentication: no credential → 401 with the RFC 9728
// challenge, and the metadata document it names; another org's member,
// an unknown server or namespace → 404, alike; a session is bound to the
// caller that opened it.
func TestMCPGatewayAuthentication(t *testing.T) {
	w := newMCPWorld(t, "sqlite")
	e := w.e
	initBody := `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"x","version":"1"}}}`
	post := func(path, token string) *http.Response {
		t.Helper()
		req, _ := http.NewRequestWithContext(ctxT(t), "POST", e.URL+path, strings.NewReader(initBody))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		res, err := e.hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { res.Body.Close() })
		return res
	}
	path := "/mcp/" + w.org + "/prod/pay"
	res := post(path, "")
	wantMeta := e.URL + "/.well-known/oauth-protected-resource" + path
	if res.StatusCode != 401 || res.Header.Get("WWW-Authenticate") != `Bearer resource_metadata="`+wantMeta+`"` {
		t.Errorf("no credential: %d %q", res.StatusCode, res.Header.Get("WWW-Authenticate"))
	}
	if res := post(path, "not-a-key"); res.StatusCode != 401 {
		t.Errorf("bad credential: %d", res.StatusCode)
	}
	var meta struct {
		Resource             string   `json:"resource"`
		AuthorizationServers []string `json:"authorization_servers"`
		Bearer               []string `json:"bearer_methods_supported"`
	}
	e.must(200, "GET", "/.well-known/oauth-protected-resource"+path, "", nil, &meta)
	if meta.Resource != e.URL+path || !slices.Equal(meta.AuthorizationServers, []string{e.URL}) || !slices.Equal(meta.Bearer, []string{"header"}) {
		t.Errorf("metadata: %+v", meta)
	}
	// Not found, alike: another org's member, unknown server, unknown
	// namespace, malformed path.
	var bodies []string
	for _, c := range []struct{ path, token string }{
		{path, w.outsider},
		{"/mcp/" + w.org + "/prod/nosuch", w.caller},
		{"/mcp/" + w.org + "/staging/pay", w.caller},
		{"/mcp/otherorg/prod/pay", w.caller},
		{"/mcp/" + w.org + "/prod", w.caller},
	} {
		res := post(c.path, c.token)
		buf := make([]byte, 512)
		n, _ := res.Body.Read(buf)
		if res.StatusCode != 404 {
			t.Errorf("%s: %d, want 404", c.path, res.StatusCode)
		}
		bodies = append(bodies, string(buf[:n]))
	}
	for _, b := range bodies[1:] {
		if b != bodies[0] {
			t.Errorf("404 bodies differ: %q vs %q", b, bodies[0])
		}
	}
	// A session opened by one caller cannot be used by another.
	res = post(path, w.caller)
	sid := res.Header.Get("Mcp-Session-Id")
	if res.StatusCode != 200 || sid == "" {
		t.Fatalf("initialize: %d, session %q", res.StatusCode, sid)
	}
	req, _ := http.NewRequestWithContext(ctxT(t), "POST", e.URL+path, strings.NewReader(`{"jsonrpc":"2.0","id":2,"method":"tools/list"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("Authorization", "Bearer "+w.viewer)
	req.Header.Set("Mcp-Session-Id", sid)
	hij, err := e.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	hij.Body.Close()
	if hij.StatusCode != http.StatusForbidden {
		t.Errorf("another caller's session: %d, want 403", hij.StatusCode)
	}
}

// TestMCPGatewayFollowsChanges: the gateway's remembered catalog and
// tool lookups follow every write at once: a new share lists a tool, a
// newly imported tool is listed, a deleted one is gone, and a revoked
// share stops calls.
func TestMCPGatewayFollowsChanges(t *testing.T) {
	w := newMCPWorld(t, "sqlite")
	e := w.e
	org := "/v1/orgs/" + w.org
	viewer, caller := w.agent(t, w.viewer), w.agent(t, w.caller)
	if got := toolNames(t, viewer); !slices.Equal(got, []string{"echo"}) {
		t.Fatalf("viewer lists %v", got)
	}
	// A write that does not concern the server's tools keeps the
	// remembered answers (carried to the new revision) ...
	e.must(201, "POST", org+"/resources", w.owner, map[string]any{"namespace": "prod", "type": "chains", "id": "unrelated"}, nil)
	if got := toolNames(t, viewer); !slices.Equal(got, []string{"echo"}) {
		t.Fatalf("after an unrelated write, viewer lists %v", got)
	}
	// ... and one that does is decided again.
	var sh struct {
		Item struct{ ID string } `json:"item"`
	}
	e.must(201, "POST", org+"/namespaces/prod/resources/tools/pay.pay/shares", w.owner, map[string]any{"principal": "user:mcpviewer", "actions": []string{"call"}}, &sh)
	if got := toolNames(t, viewer); !slices.Equal(got, []string{"echo", "pay"}) {
		t.Errorf("after a share of pay, viewer lists %v", got)
	}
	if res := callTool(t, viewer, "pay", map[string]any{"amount": 5}); res.IsError {
		t.Errorf("shared pay: %q", resultText(res))
	}
	e.must(200, "DELETE", org+"/bindings/"+sh.Item.ID, w.owner, nil, nil)
	if res := callTool(t, viewer, "pay", map[string]any{"amount": 5}); !res.IsError {
		t.Errorf("pay after its share was revoked: %q", resultText(res))
	}
	if got := toolNames(t, viewer); !slices.Equal(got, []string{"echo"}) {
		t.Errorf("after the share was revoked, viewer lists %v", got)
	}
	e.must(201, "POST", org+"/namespaces/prod/resources/tools/pay.pay/shares", w.owner, map[string]any{"principal": "user:mcpviewer", "actions": []string{"call"}}, &sh)
	e.must(201, "POST", org+"/resources", w.owner, map[string]any{"namespace": "prod", "type": "tools", "id": "pay.hidden",
		"spec": map[string]any{"server": "pay", "tool": "hidden"}}, nil)
	if got := toolNames(t, caller); !slices.Equal(got, []string{"delete_account", "echo", "hidden", "pay"}) {
		t.Errorf("after importing hidden, caller lists %v", got)
	}
	e.must(200, "DELETE", org+"/namespaces/prod/resources/tools/pay.echo", w.owner, nil, nil)
	if got := toolNames(t, caller); !slices.Equal(got, []string{"delete_account", "hidden", "pay"}) {
		t.Errorf("after deleting echo, caller lists %v", got)
	}
	if res := callTool(t, caller, "echo", nil); !res.IsError {
		t.Errorf("a deleted tool was called: %q", resultText(res))
	}
	// A server whose spec moves its tool names: pay.pay now means the
	// upstream's delete_account (a re-import of a renamed tool).
	e.must(200, "PATCH", org+"/namespaces/prod/resources/tools/pay.pay", w.owner, map[string]any{"spec": map[string]any{"server": "pay", "tool": "echo"}}, nil)
	if got := toolNames(t, viewer); !slices.Equal(got, []string{"echo"}) {
		t.Errorf("after pay.pay maps to echo, viewer lists %v", got)
	}
	// The server's spec without its credential: a new upstream connection
	// (the old one was for the previous version), refused by the upstream.
	e.must(200, "PATCH", org+"/namespaces/prod/resources/mcp_servers/pay", w.owner, map[string]any{"spec": map[string]any{"url": w.up.URL}}, nil)
	if res := callTool(t, caller, "echo", map[string]any{"text": "x"}); !res.IsError || !strings.Contains(resultText(res), "unavailable") {
		t.Errorf("a call after the credential was removed: %q", resultText(res))
	}
	// The server deleted: its endpoint is gone.
	e.must(200, "DELETE", org+"/namespaces/prod/resources/mcp_servers/pay", w.owner, nil, nil)
	r := e.doCT("POST", "/mcp/"+w.org+"/prod/pay", w.caller, "application/json", `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`)
	if r.Status != 404 {
		t.Errorf("a deleted server's endpoint: %d %s", r.Status, r.Body)
	}
}

// TestMCPGatewayAgentTokens: the gateway authenticates with
// AuthenticateAudience. A real agent token works at its own endpoint and
// decides on behalf of its user (echo only; the agent alone may call
// every tool); a token for another endpoint, a token of a suspended,
// expired or deleted agent, or of a user who left, is 401; a token for
// another org's endpoint is that org's non-member (404); and the API
// refuses the token.
func TestMCPGatewayAgentTokens(t *testing.T) {
	w := newMCPWorld(t, "sqlite")
	e := w.e
	org := "/v1/orgs/" + w.org
	initBody := `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"x","version":"1"}}}`
	status := func(path, token string) int {
		t.Helper()
		req, _ := http.NewRequestWithContext(ctxT(t), "POST", e.URL+path, strings.NewReader(initBody))
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
	pay := "/mcp/" + w.org + "/prod/pay"
	if got := status(pay, w.agentTok); got != 200 {
		t.Fatalf("the agent token at its endpoint: %d", got)
	}
	// On behalf of its user, or alone.
	if got := toolNames(t, w.agent(t, w.agentTok)); !slices.Equal(got, []string{"echo"}) {
		t.Errorf("agent for mcpviewer lists %v, want [echo]", got)
	}
	alone := w.mintAgentToken(t, "Helper", w.endpoint("pay"), "")
	if got := toolNames(t, w.agent(t, alone)); !slices.Equal(got, []string{"delete_account", "echo", "pay"}) {
		t.Errorf("agent alone lists %v", got)
	}
	if res := callTool(t, w.agent(t, w.agentTok), "pay", map[string]any{"amount": 1}); !res.IsError {
		t.Errorf("the agent paid on behalf of a user who may not: %q", resultText(res))
	}
	// Another audience: another server, a trailing slash, another org.
	for _, aud := range []string{w.endpoint("other"), w.endpoint("pay") + "/", strings.Replace(w.endpoint("pay"), "127.0.0.1", "localhost", 1)} {
		if got := status(pay, w.mintAgentToken(t, "Helper", aud, "user:mcpviewer")); got != 401 {
			t.Errorf("a token for %s at %s: %d, want 401", aud, pay, got)
		}
	}
	other := "/mcp/otherorg/prod/pay"
	if got := status(other, w.mintAgentToken(t, "Helper", e.URL+other, "user:mcpviewer")); got != 404 {
		t.Errorf("a token of mcporg's agent at otherorg's endpoint: %d, want 404", got)
	}
	if r := e.do("GET", org+"/agents", w.agentTok, nil); r.Status != 401 {
		t.Errorf("the agent token on the API: %d", r.Status)
	}
	// Suspended, resumed.
	e.must(200, "PATCH", org+"/agents/Helper", w.owner, map[string]any{"suspended": true}, nil)
	if got := status(pay, w.agentTok); got != 401 {
		t.Errorf("a suspended agent's token: %d, want 401", got)
	}
	e.must(200, "PATCH", org+"/agents/Helper", w.owner, map[string]any{"suspended": false}, nil)
	if got := status(pay, w.agentTok); got != 200 {
		t.Errorf("a resumed agent's token: %d, want 200", got)
	}
	// Expired.
	past := time.Now().Add(-time.Minute).UTC().Format(time.RFC3339)
	if r := e.do("PATCH", org+"/agents/Helper", w.owner, map[string]any{"expires_at": past}); r.Status != 200 {
		t.Fatalf("expiring the agent: %d %s", r.Status, r.Body)
	}
	if got := status(pay, alone); got != 401 {
		t.Errorf("an expired agent's token: %d, want 401", got)
	}
	e.must(200, "PATCH", org+"/agents/Helper", w.owner, map[string]any{"expires_at": ""}, nil)
	if got := status(pay, alone); got != 200 {
		t.Errorf("the agent's token once it no longer expires: %d, want 200", got)
	}
	// Its user leaves the org.
	e.must(200, "DELETE", org+"/members/mcpviewer", w.owner, nil, nil)
	if got := status(pay, w.agentTok); got != 401 {
		t.Errorf("a token on behalf of a user who left: %d, want 401", got)
	}
	// Deleted.
	e.must(200, "DELETE", org+"/agents/Helper", w.owner, nil, nil)
	if got := status(pay, alone); got != 401 {
		t.Errorf("a deleted agent's token: %d, want 401", got)
	}
}
