package server_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	mcpspec "github.com/gatehouse-dev/gatehouse/internal/mcp"
	"github.com/gatehouse-dev/gatehouse/internal/server"
)

// Branch ssrf: MCP upstreams on loopback and private networks
// (docs/threat-model.md row 65). The import's test MCP servers are
// httptest servers on 127.0.0.1, which newEnv's MCPUpstreamAllow lists;
// these tests set their own.

// plainMCPServer is an MCP server on loopback with one tool and no
// credential.
func plainMCPServer(t *testing.T) string {
	t.Helper()
	srv := sdk.NewServer(&sdk.Implementation{Name: "plain", Version: "1"}, nil)
	srv.AddTool(&sdk.Tool{Name: "ping", InputSchema: json.RawMessage(`{"type":"object"}`)}, func(context.Context, *sdk.CallToolRequest) (*sdk.CallToolResult, error) {
		return &sdk.CallToolResult{}, nil
	})
	ts := httptest.NewServer(sdk.NewStreamableHTTPHandler(func(*http.Request) *sdk.Server { return srv }, nil))
	t.Cleanup(ts.Close)
	return ts.URL + "/mcp"
}

// TestMCPImportUpstreamPolicy: with no allow list an MCP server on
// loopback is refused — named by address or by a name resolving there —
// and one on a listed network is imported.
func TestMCPImportUpstreamPolicy(t *testing.T) {
	t.Parallel()
	u := plainMCPServer(t)
	localhost := strings.Replace(u, "127.0.0.1", "localhost", 1)
	for _, tc := range []struct {
		name   string
		allow  []netip.Prefix
		url    string
		status int
	}{
		{"loopback by default", nil, u, http.StatusBadGateway},
		{"localhost by default", nil, localhost, http.StatusBadGateway},
		{"loopback not listed", []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}, u, http.StatusBadGateway},
		{"loopback listed", []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}, u, http.StatusOK},
		{"localhost listed", mcpspec.LoopbackPrefixes, localhost, http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, "sqlite", envOpts{cfg: func(c *server.Config) { c.MCPUpstreamAllow = tc.allow }})
			eve := e.user("eve")
			e.must(201, "POST", "/v1/orgs", eve, map[string]any{"id": "eves"}, nil)
			r := e.do("POST", "/v1/orgs/eves/namespaces/default/mcp/servers", eve, map[string]any{"name": "x", "url": tc.url, "dry_run": true})
			if r.Status != tc.status {
				t.Fatalf("importing %s: status %d, %.300s; want %d", tc.url, r.Status, r.Body, tc.status)
			}
			if tc.status != http.StatusOK {
				if diff := cmp.Diff("MCP server "+tc.url+": "+mcpspec.Unreachable, r.problem(t).Detail); diff != "" {
					t.Errorf("detail (-want +got):\n%s", diff)
				}
			}
		})
	}
}

// TestMCPImportUnreachableSaysNoMore: the import's 502 is one fixed text
// whether the address is refused by the policy (a private address,
// refused before any connection), a metadata address, a closed port, an
// open port that is not HTTP or an HTTP server that is not an MCP
// server: answering the cause told an open port from a closed one. The
// cause goes to the server's log.
func TestMCPImportUnreachableSaysNoMore(t *testing.T) {
	t.Parallel()
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedAddr := closed.Addr().String()
	closed.Close()
	raw, err := net.Listen("tcp", "127.0.0.1:0") // accepts, writes garbage and hangs up
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	go func() {
		for {
			c, err := raw.Accept()
			if err != nil {
				return
			}
			_, _ = c.Write([]byte("SSH-2.0-OpenSSH_9.6\r\n"))
			c.Close()
		}
	}()
	web := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(web.Close)
	var logs lockedBuffer
	e := newEnv(t, "sqlite", envOpts{cfg: func(c *server.Config) {
		c.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	}})
	eve := e.user("eve")
	e.must(201, "POST", "/v1/orgs", eve, map[string]any{"id": "eves"}, nil)
	for _, tc := range []struct{ name, url, logged string }{
		{"private, not listed", "http://10.255.255.1:5432/mcp", "MCP upstream policy allows"},
		{"metadata", "http://169.254.169.254/latest/meta-data/", "MCP upstream policy allows"},
		{"closed port", "http://" + closedAddr + "/mcp", "connection refused"},
		{"open port, not HTTP", "http://" + raw.Addr().String() + "/mcp", "connecting failed"},
		{"HTTP, not MCP", web.URL + "/mcp", "connecting failed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do("POST", "/v1/orgs/eves/namespaces/default/mcp/servers", eve, map[string]any{"name": "x", "url": tc.url, "dry_run": true})
			if r.Status != http.StatusBadGateway {
				t.Fatalf("status %d, %.300s; want 502", r.Status, r.Body)
			}
			got := strings.Replace(r.problem(t).Detail, tc.url, "URL", 1)
			if diff := cmp.Diff("MCP server URL: "+mcpspec.Unreachable, got); diff != "" {
				t.Errorf("detail (-want +got):\n%s", diff)
			}
			if !loggedCause(logs.String(), tc.url, tc.logged) {
				t.Errorf("the server's log does not name the cause of %s (%q):\n%s", tc.url, tc.logged, logs.String())
			}
		})
	}
}

// loggedCause reports whether a line of the log names url and cause.
func loggedCause(log, url, cause string) bool {
	for _, l := range strings.Split(log, "\n") {
		if strings.Contains(l, "url="+url) && strings.Contains(l, cause) {
			return true
		}
	}
	return false
}

// TestMCPGatewayUpstreamPolicy: the gateway connects to upstreams under
// the same policy as the import: the world's upstream, on loopback, is
// called when loopback is listed and never reached otherwise (the call's
// answer names no cause; the server's log does).
func TestMCPGatewayUpstreamPolicy(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		allow   []netip.Prefix
		reached bool
	}{
		{"no allow list", nil, false},
		{"a private network listed", []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}, false},
		{"loopback listed", mcpspec.LoopbackPrefixes, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var logs lockedBuffer
			w := newMCPWorldWith(t, "sqlite", envOpts{cfg: func(c *server.Config) {
				c.MCPUpstreamAllow = tc.allow
				c.Logger = slog.New(slog.NewTextHandler(&logs, nil))
			}})
			res := callTool(t, w.agent(t, w.caller), "pay", map[string]any{"amount": 1})
			type outcome struct {
				IsError bool
				Text    string
				Calls   int64
			}
			want := outcome{false, "paid 1", 1}
			if !tc.reached {
				want = outcome{true, "Gatehouse allowed the call, but the upstream MCP server is unavailable; retry later.", 0}
			}
			if diff := cmp.Diff(want, outcome{res.IsError, resultText(res), w.up.count("pay")}); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if refused := strings.Contains(logs.String(), "MCP upstream policy allows"); refused == tc.reached {
				t.Errorf("the log says the address was refused: %v, want %v:\n%s", refused, !tc.reached, logs.String())
			}
		})
	}
}
