package mcpgw

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

const testSecret = "s3cr3t<&>-value-0123456789"

func textResult(text string) *mcp.CallToolResult {
	return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: text}}}
}

// leaks reports whether the JSON the agent would get holds the secret, as
// written or escaped.
func leaks(t *testing.T, res *mcp.CallToolResult) bool {
	t.Helper()
	b, err := json.Marshal(res)
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	jv, _ := json.Marshal(testSecret)
	return strings.Contains(string(b), testSecret) || strings.Contains(string(b), string(jv[1:len(jv)-1]))
}

// TestRedactResult: whatever the shape, no injected value reaches the
// agent; a result that holds none is answered as it is (the same value:
// no JSON round trip), as is one the search does not know only when the
// JSON path finds nothing.
func TestRedactResult(t *testing.T) {
	r := &redactor{}
	r.add("TOKEN", testSecret)
	for _, tc := range []struct {
		name string
		res  *mcp.CallToolResult
		same bool // answered as it is
	}{
		{name: "clean text", res: textResult("nothing to see"), same: true},
		{name: "clean structured", same: true, res: &mcp.CallToolResult{
			Content:           []mcp.Content{&mcp.TextContent{Text: `{"records":["a"]}`}},
			StructuredContent: map[string]any{"records": []any{"a", 1.0, true, nil, map[string]any{"k": "v"}}},
			Meta:              mcp.Meta{"x": "y"}}},
		{name: "empty", res: &mcp.CallToolResult{}, same: true},
		{name: "secret in text", res: textResult("the header was Bearer " + testSecret)},
		{name: "secret in structured content, nested", res: &mcp.CallToolResult{
			Content:           []mcp.Content{&mcp.TextContent{Text: "ok"}},
			StructuredContent: map[string]any{"a": []any{map[string]any{"b": "x" + testSecret}}}}},
		{name: "secret as a key", res: &mcp.CallToolResult{
			Content: []mcp.Content{}, StructuredContent: map[string]any{testSecret: 1.0}}},
		{name: "secret in the result's meta", res: &mcp.CallToolResult{
			Content: []mcp.Content{&mcp.TextContent{Text: "ok"}}, Meta: mcp.Meta{"m": []any{testSecret}}}},
		{name: "secret in a block's meta", res: &mcp.CallToolResult{
			Content: []mcp.Content{&mcp.TextContent{Text: "ok", Meta: mcp.Meta{"m": testSecret}}}}},
		{name: "secret in annotations", res: &mcp.CallToolResult{
			Content: []mcp.Content{&mcp.TextContent{Text: "ok", Annotations: &mcp.Annotations{LastModified: testSecret}}}}},
		{name: "other content type, clean", same: true, res: &mcp.CallToolResult{
			Content: []mcp.Content{&mcp.ImageContent{Data: []byte("png"), MIMEType: "image/png"}}}},
		{name: "other content type, secret", res: &mcp.CallToolResult{
			Content: []mcp.Content{&mcp.EmbeddedResource{Resource: &mcp.ResourceContents{URI: "file:///x", Text: testSecret}}}}},
		{name: "unknown structured type, secret", res: &mcp.CallToolResult{
			Content: []mcp.Content{}, StructuredContent: struct{ A string }{A: testSecret}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := r.result(tc.res)
			if err != nil {
				t.Fatalf("result: %v", err)
			}
			if leaks(t, got) {
				t.Errorf("the secret reaches the agent: %+v", got)
			}
			if (got == tc.res) != tc.same {
				t.Errorf("answered as it is: %v, want %v", got == tc.res, tc.same)
			}
			if !tc.same {
				b, _ := json.Marshal(got)
				if !strings.Contains(string(b), "[REDACTED:TOKEN]") {
					t.Errorf("no redaction mark in %s", b)
				}
			}
		})
	}
}

// TestCleanResultAgreesWithJSON: on every result the search knows, it
// finds a value exactly when the JSON path would change the result.
func TestCleanResultAgreesWithJSON(t *testing.T) {
	r := &redactor{}
	r.add("TOKEN", testSecret)
	for _, s := range []string{"", "plain", testSecret, "pre" + testSecret + "post", testSecret[:5], `"` + testSecret + `"`} {
		for _, res := range []*mcp.CallToolResult{
			textResult(s),
			{Content: []mcp.Content{}, StructuredContent: map[string]any{"k": []any{s}}},
			{Content: []mcp.Content{}, StructuredContent: map[string]any{s: "v"}},
			{Content: []mcp.Content{&mcp.TextContent{Text: "x"}}, Meta: mcp.Meta{"k": s}},
		} {
			clean, known := r.cleanResult(res)
			if !known {
				t.Fatalf("%q: not known", s)
			}
			b, err := json.Marshal(res)
			if err != nil {
				t.Fatal(err)
			}
			jsonClean := cmp.Equal(string(r.json(b)), string(b))
			if clean != jsonClean {
				t.Errorf("%q in %s: clean %v, the JSON path says %v", s, b, clean, jsonClean)
			}
		}
	}
}

// BenchmarkRedactResult: a clean text result, the common case.
func BenchmarkRedactResult(b *testing.B) {
	r := &redactor{}
	r.add("TOKEN", testSecret)
	res := &mcp.CallToolResult{
		Content:           []mcp.Content{&mcp.TextContent{Text: `{"records":["r1: invoice 2026-001 acme 1200 EUR","r2: invoice 2026-002 globex 300 EUR"]}`}},
		StructuredContent: map[string]any{"records": []any{"r1: invoice 2026-001 acme 1200 EUR", "r2: invoice 2026-002 globex 300 EUR"}},
	}
	b.Run("clean", func(b *testing.B) {
		for b.Loop() {
			if _, err := r.result(res); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("json-path", func(b *testing.B) { // what every call cost before the search
		for b.Loop() {
			buf, _ := json.Marshal(res)
			_ = string(r.json(buf)) == string(buf)
		}
	})
}
