package cli

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/gatehouse-dev/gatehouse/client/clienttest"
	"github.com/gatehouse-dev/gatehouse/policy"
)

// cliUpstream is an MCP server (the SDK's) whose tools the test changes.
type cliUpstream struct {
	mu    sync.Mutex
	tools []*sdk.Tool
}

func (u *cliUpstream) set(ts ...*sdk.Tool) { u.mu.Lock(); u.tools = ts; u.mu.Unlock() }

func (u *cliUpstream) start(t *testing.T) string {
	h := sdk.NewStreamableHTTPHandler(func(*http.Request) *sdk.Server {
		u.mu.Lock()
		defer u.mu.Unlock()
		s := sdk.NewServer(&sdk.Implementation{Name: "cli-fake", Version: "1"}, nil)
		for _, tl := range u.tools {
			s.AddTool(tl, func(context.Context, *sdk.CallToolRequest) (*sdk.CallToolResult, error) {
				return &sdk.CallToolResult{}, nil
			})
		}
		return s
	}, &sdk.StreamableHTTPOptions{Stateless: true})
	hs := httptest.NewServer(h)
	t.Cleanup(hs.Close)
	return hs.URL
}

// TestMCPCommands: import prints the diff, a dry run writes nothing, list
// counts the tools, suggest prints a snippet that loads clean; a viewer
// may not import.
func TestMCPCommands(t *testing.T) {
	srv := clienttest.Start(t, clienttest.Options{Demo: true})
	tb := true
	schema := map[string]any{"type": "object"}
	up := &cliUpstream{}
	up.set(
		&sdk.Tool{Name: "search", InputSchema: schema, Annotations: &sdk.ToolAnnotations{ReadOnlyHint: true}},
		&sdk.Tool{Name: "transfer", InputSchema: schema},
		&sdk.Tool{Name: "delete_record", InputSchema: schema, Annotations: &sdk.ToolAnnotations{DestructiveHint: &tb}},
	)
	url := up.start(t)
	imp := []string{"mcp", "import", "--server", "sample", "--url", url, "-n", "prod"}
	runSteps(t, srv, srv.Demo.Keys, []adminStep{
		{name: "a viewer may not import", as: "carol", args: imp, code: ExitNotAllowed, err: []string{"403"}},
		{name: "import", as: "alice", args: imp, code: 0, out: []string{"imported MCP server sample into prod: 3 tools", "+ delete_record", "+ search", "+ transfer"}},
		{name: "import again", as: "alice", args: imp, code: 0, out: []string{"up to date"}, notOut: []string{"+ "}},
		{name: "list", as: "alice", args: []string{"mcp", "list", "-n", "prod"}, code: 0, out: []string{"sample", url, "3"}},
		{name: "unreachable upstream", as: "alice", args: []string{"mcp", "import", "--server", "other", "--url", "http://127.0.0.1:1/mcp", "-n", "prod"}, code: ExitUnavailable, err: []string{"502"}},
		{name: "bad url", as: "alice", args: []string{"mcp", "import", "--server", "other", "--url", "ftp://x/mcp", "-n", "prod"}, code: ExitBadInput, err: []string{"400"}},
		{name: "missing --url", as: "alice", args: []string{"mcp", "import", "--server", "other"}, code: ExitBadInput},
	})
	up.set(
		&sdk.Tool{Name: "search", InputSchema: map[string]any{"type": "object", "required": []string{"q"}}, Annotations: &sdk.ToolAnnotations{ReadOnlyHint: true}},
		&sdk.Tool{Name: "transfer", InputSchema: schema},
		&sdk.Tool{Name: "refund", InputSchema: schema},
	)
	runSteps(t, srv, srv.Demo.Keys, []adminStep{
		{name: "dry run", as: "alice", args: append(imp, "--dry-run"), code: 0, out: []string{"dry run", "+ refund", "- delete_record", "~ search (input_schema)"}},
		{name: "dry run wrote nothing", as: "alice", args: []string{"resource", "get", "tools/sample.delete_record", "-n", "prod"}, code: 0},
		{name: "re-import", as: "alice", args: imp, code: 0, out: []string{"+ refund", "- delete_record", "~ search (input_schema)"}},
		{name: "removed tool gone", as: "alice", args: []string{"resource", "get", "tools/sample.delete_record", "-n", "prod"}, code: ExitNotAllowed},
	})
	t.Setenv("GATEHOUSE_TOKEN", srv.Demo.Keys["alice"])
	r := run(t, "", "mcp", "suggest", "--server", "sample", "-n", "prod")
	if r.code != 0 {
		t.Fatalf("suggest: exit %d: %s", r.code, r.stderr)
	}
	if m, diags := policy.Load("suggest.policy", []byte(r.stdout), policy.LintOptions{}); m == nil || len(diags) > 0 {
		t.Fatalf("the snippet does not load clean: %v\n%s", diags, r.stdout)
	}
	for _, want := range []string{"sample.search", "read-only", "sample.refund", "--resource tools/sample.search", "ask before call tools when sample_needs_approval"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("suggest lacks %q:\n%s", want, r.stdout)
		}
	}
}

// TestMCPToolsAndCall: the CLI as an MCP client of the gateway — the
// tools a person may call, a call's result (exit 0), a denial explained
// (exit 1), an approval asked for (exit 7), granted, used once.
func TestMCPToolsAndCall(t *testing.T) {
	srv := clienttest.Start(t, clienttest.Options{Demo: true})
	schema := map[string]any{"type": "object"}
	h := sdk.NewStreamableHTTPHandler(func(*http.Request) *sdk.Server {
		s := sdk.NewServer(&sdk.Implementation{Name: "cli-fake", Version: "1"}, nil)
		s.AddTool(&sdk.Tool{Name: "search", InputSchema: schema, Annotations: &sdk.ToolAnnotations{ReadOnlyHint: true}},
			func(context.Context, *sdk.CallToolRequest) (*sdk.CallToolResult, error) {
				return &sdk.CallToolResult{Content: []sdk.Content{&sdk.TextContent{Text: "found 3 \x1b[31mrecords"}}}, nil
			})
		s.AddTool(&sdk.Tool{Name: "transfer", InputSchema: schema},
			func(_ context.Context, r *sdk.CallToolRequest) (*sdk.CallToolResult, error) {
				return &sdk.CallToolResult{Content: []sdk.Content{&sdk.TextContent{Text: "transferred " + string(r.Params.Arguments)}}}, nil
			})
		return s
	}, &sdk.StreamableHTTPOptions{Stateless: true})
	up := httptest.NewServer(h)
	t.Cleanup(up.Close)

	runSteps(t, srv, srv.Demo.Keys, []adminStep{
		{name: "import", as: "alice", args: []string{"mcp", "import", "--server", "sample", "--url", up.URL, "-n", "prod"}, code: 0},
	})
	// bob may call transfer in prod; a person approves amounts of 500 and more.
	t.Setenv("GATEHOUSE_TOKEN", srv.Demo.Keys["alice"])
	pol := run(t, "", "policy", "get")
	if pol.code != 0 {
		t.Fatalf("policy get: %d %s", pol.code, pol.stderr)
	}
	file := t.TempDir() + "/org.policy"
	text := pol.stdout + "\ncondition big = \"context.input.amount >= 500\"\nrole payer level 20 {\n    permission tools { call }\n    ask before call tools when big\n}\n"
	if err := os.WriteFile(file, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	calls := func(_ string, extra ...string) []string {
		return append([]string{"mcp", "call", "--server", "sample", "-n", "prod"}, extra...)
	}
	runSteps(t, srv, srv.Demo.Keys, []adminStep{
		{name: "policy put", as: "alice", args: []string{"policy", "put", file}, code: 0},
		{name: "bind bob", as: "alice", args: []string{"bind", "user:bob", "payer", "-n", "prod"}, code: 0},
		{name: "alice's tools", as: "alice", args: []string{"mcp", "tools", "--server", "sample", "-n", "prod"}, code: 0, out: []string{"search", "read-only", "transfer"}},
		{name: "carol's tools: none", as: "carol", args: []string{"mcp", "tools", "--server", "sample", "-n", "prod"}, code: 0, notOut: []string{"search", "transfer"}},
		{name: "a call", as: "alice", args: calls("alice", "search", "--args", `{"q":"x"}`), code: 0, out: []string{"found 3"}, notOut: []string{"\x1b"}},
		{name: "carol is denied, with the reason", as: "carol", args: calls("carol", "search"), code: ExitDeny, err: []string{`Gatehouse denied calling "search"`}},
		{name: "a small transfer", as: "bob", args: calls("bob", "transfer", "--args", `{"amount":10}`), code: 0, out: []string{`"amount":10`}},
		{name: "a large one needs approval", as: "bob", args: calls("bob", "transfer", "--args", `{"amount":900}`), code: ExitApproval, err: []string{"needs a person's approval", "pending"}},
		{name: "malformed args", as: "bob", args: calls("bob", "transfer", "--args", `[1]`), code: ExitBadInput},
		{name: "another org", as: "alice", args: []string{"mcp", "tools", "--server", "sample", "-n", "prod", "--org", "nope"}, code: ExitNotAllowed, err: []string{"404"}},
		{name: "no credential", as: "none", args: []string{"mcp", "tools", "--server", "sample", "-n", "prod", "--org", "demo"}, code: ExitUnauthenticated, err: []string{"401"}},
	})
	// The approval's id, from the pending request.
	t.Setenv("GATEHOUSE_TOKEN", srv.Demo.Keys["bob"])
	pend := run(t, "", calls("bob", "transfer", "--args", `{"amount":900}`, "-o", "json")...)
	var res struct {
		Meta struct {
			Approval map[string]any `json:"gatehouse/approval"`
			Decision string         `json:"gatehouse/decision"`
		} `json:"_meta"`
	}
	if err := json.Unmarshal([]byte(pend.stdout), &res); err != nil || pend.code != ExitApproval {
		t.Fatalf("pending call -o json: exit %d, %v\n%s", pend.code, err, pend.stdout)
	}
	id, _ := res.Meta.Approval["id"].(string)
	if id == "" || res.Meta.Decision != "approval_required" {
		t.Fatalf("no approval id in %s", pend.stdout)
	}
	runSteps(t, srv, srv.Demo.Keys, []adminStep{
		{name: "alice approves", as: "alice", args: []string{"approval", "approve", id}, code: 0},
		{name: "the approved call runs", as: "bob", args: calls("bob", "transfer", "--args", `{"amount":900}`), code: 0, out: []string{`"amount":900`}},
		{name: "once", as: "bob", args: calls("bob", "transfer", "--args", `{"amount":900}`), code: ExitApproval},
	})
}
