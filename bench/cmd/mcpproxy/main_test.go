package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

type echoIn struct {
	Text string `json:"text"`
}

type echoOut struct {
	Text, Authorization string
}

// upstream is a fake MCP server (the same SDK) that requires token and
// echoes its input and the Authorization header it received.
func upstream(t *testing.T, token string) string {
	t.Helper()
	s := mcp.NewServer(&mcp.Implementation{Name: "up", Version: "1"}, nil)
	mcp.AddTool(s, &mcp.Tool{Name: "echo"}, func(_ context.Context, req *mcp.CallToolRequest, in echoIn) (*mcp.CallToolResult, echoOut, error) {
		return nil, echoOut{Text: in.Text, Authorization: req.Extra.Header.Get("Authorization")}, nil
	})
	h := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return s }, nil)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+token {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestProxyForwards(t *testing.T) {
	for _, stateless := range []bool{false, true} {
		t.Run(fmt.Sprintf("stateless=%v", stateless), func(t *testing.T) { testProxyForwards(t, stateless) })
	}
}

func testProxyForwards(t *testing.T, stateless bool) {
	t.Helper()
	ctx := context.Background()
	up, err := connect(ctx, upstream(t, "tok"), "tok")
	if err != nil {
		t.Fatal(err)
	}
	defer up.Close()
	px := httptest.NewServer(newHandler(up, stateless))
	defer px.Close()
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "agent", Version: "1"}, nil).
		Connect(ctx, &mcp.StreamableClientTransport{Endpoint: px.URL, MaxRetries: -1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	lt, err := cs.ListTools(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(lt.Tools) != 1 || lt.Tools[0].Name != "echo" {
		t.Errorf("tools/list through the proxy: %+v, want the upstream's echo", lt.Tools)
	}
	for _, text := range []string{"a", "b"} { // the upstream session is reused
		res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "echo", Arguments: map[string]any{"text": text}})
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]any{"Text": text, "Authorization": "Bearer tok"}
		if diff := cmp.Diff(want, res.StructuredContent); diff != "" || res.IsError {
			t.Errorf("tools/call through the proxy (-want +got):\n%s (isError %v)", diff, res.IsError)
		}
	}
}

func TestLoopbackOnly(t *testing.T) {
	for _, tc := range []struct {
		addr, url string
		ok        bool
	}{
		{"127.0.0.1:1", "http://127.0.0.1:2/mcp", true},
		{"localhost:1", "http://[::1]:2/mcp", true},
		{"0.0.0.0:1", "http://127.0.0.1:2/mcp", false},
		{":1", "http://127.0.0.1:2/mcp", false},
		{"127.0.0.1:1", "http://192.0.2.1/mcp", false},
		{"127.0.0.1:1", "https://127.0.0.1/mcp", false},
	} {
		err := loopbackAddr(tc.addr)
		if err == nil {
			err = loopbackURL(tc.url)
		}
		if (err == nil) != tc.ok || (err != nil && !errors.Is(err, errNotLoopback)) {
			t.Errorf("%s → %s: %v, want ok %v", tc.addr, tc.url, err, tc.ok)
		}
	}
}
