package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

type bearer struct{ token string }

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return http.DefaultTransport.RoundTrip(r)
}

// TestSample: the four tools with their hints; whoami answers the header
// the server received; without the token, nothing.
func TestSample(t *testing.T) {
	hs := httptest.NewServer(handler("t0k3n-sample"))
	defer hs.Close()
	ctx := context.Background()
	c := mcp.NewClient(&mcp.Implementation{Name: "test", Version: "1"}, nil)
	if _, err := c.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: hs.URL + "/mcp", MaxRetries: -1}, nil); err == nil {
		t.Fatal("connected without the token")
	}
	cs, err := c.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: hs.URL + "/mcp", HTTPClient: &http.Client{Transport: bearer{"t0k3n-sample"}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	hints := map[string]string{}
	for tl, err := range cs.Tools(ctx, nil) {
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case tl.Annotations != nil && tl.Annotations.ReadOnlyHint:
			hints[tl.Name] = "read-only"
		case tl.Annotations != nil && tl.Annotations.DestructiveHint != nil && *tl.Annotations.DestructiveHint:
			hints[tl.Name] = "destructive"
		default:
			hints[tl.Name] = "none"
		}
	}
	want := map[string]string{"search": "read-only", "transfer": "none", "delete_record": "destructive", "whoami": "read-only"}
	for k, v := range want {
		if hints[k] != v {
			t.Errorf("%s: %q, want %q (all: %v)", k, hints[k], v, hints)
		}
	}
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "whoami", Arguments: map[string]any{}})
	if err != nil || res.IsError {
		t.Fatalf("whoami: %v %+v", err, res)
	}
	b, _ := json.Marshal(res.StructuredContent)
	if string(b) != `{"authorization":"Bearer t0k3n-sample"}` {
		t.Errorf("whoami = %s", b)
	}
	res, err = cs.CallTool(ctx, &mcp.CallToolParams{Name: "transfer", Arguments: map[string]any{"to": "acme", "amount": 12.5}})
	if err != nil || res.IsError {
		t.Fatalf("transfer: %v %+v", err, res)
	}
}
