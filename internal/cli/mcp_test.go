package cli

import (
	"context"
	"net/http"
	"net/http/httptest"
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
