package mcpgw

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	mcpspec "github.com/gatehouse-dev/gatehouse/internal/mcp"
)

func TestParseServer(t *testing.T) {
	for _, tc := range []struct {
		name, spec     string
		err            string // substring; "" for valid
		header, format string
		wait           time.Duration
	}{
		{name: "minimal", spec: `{"url":"http://127.0.0.1:9/mcp"}`},
		{name: "credential defaults", spec: `{"url":"https://x.example/mcp","secrets":["T"],"credential":{"secret":"T"}}`, header: "Authorization", format: "Bearer {value}"},
		{name: "custom header", spec: `{"url":"https://x.example/mcp","secrets":["T"],"credential":{"secret":"T","header":"X-Api-Key","format":"{value}"},"wait_for_approval":"30s"}`,
			header: "X-Api-Key", format: "{value}", wait: 30 * time.Second},
		{name: "not json", spec: `{`, err: "spec"},
		{name: "unknown field", spec: `{"url":"http://h/","token":"x"}`, err: "spec"},
		{name: "no url", spec: `{}`, err: "url"},
		{name: "relative url", spec: `{"url":"/mcp"}`, err: "url"},
		{name: "file url", spec: `{"url":"file:///etc/passwd"}`, err: "url"},
		{name: "credential not among secrets", spec: `{"url":"http://h/","credential":{"secret":"T"}}`, err: "credential.secret"},
		{name: "credential without secret", spec: `{"url":"http://h/","secrets":[""],"credential":{"secret":""}}`, err: "credential.secret"},
		{name: "format without value", spec: `{"url":"http://h/","secrets":["T"],"credential":{"secret":"T","format":"Bearer x"}}`, err: "credential.format"},
		{name: "host header", spec: `{"url":"http://h/","secrets":["T"],"credential":{"secret":"T","header":"host"}}`, err: "credential.header"},
		{name: "session header", spec: `{"url":"http://h/","secrets":["T"],"credential":{"secret":"T","header":"Mcp-Session-Id"}}`, err: "credential.header"},
		{name: "bad header", spec: `{"url":"http://h/","secrets":["T"],"credential":{"secret":"T","header":"X Key"}}`, err: "credential.header"},
		{name: "bad wait", spec: `{"url":"http://h/","wait_for_approval":"soon"}`, err: "wait_for_approval"},
		{name: "negative wait", spec: `{"url":"http://h/","wait_for_approval":"-1s"}`, err: "wait_for_approval"},
		{name: "long wait", spec: `{"url":"http://h/","wait_for_approval":"1h"}`, err: "wait_for_approval"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := parseServer(json.RawMessage(tc.spec), 3)
			if tc.err != "" {
				if err == nil || !errors.Is(err, errBadSpec) || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want errBadSpec containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s.header != tc.header || s.format != tc.format || s.wait != tc.wait || s.version != 3 {
				t.Errorf("got header %q format %q wait %v version %d", s.header, s.format, s.wait, s.version)
			}
		})
	}
}

func TestParseEndpoint(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want endpoint
		ok   bool
	}{
		{"acme/prod/github", endpoint{"acme", "prod", "github"}, true},
		{"acme/prod/git.hub_2", endpoint{"acme", "prod", "git.hub_2"}, true},
		{"acme/prod", endpoint{}, false},
		{"acme/prod/github/x", endpoint{}, false},
		{"acme//github", endpoint{}, false},
		{"acme/prod/..", endpoint{}, false},
		{"acme/prod/a%2Fb", endpoint{}, false},
		{"acme/prod/" + strings.Repeat("a", 129), endpoint{}, false},
	} {
		got, ok := parseEndpoint(tc.in)
		if ok != tc.ok || got != tc.want {
			t.Errorf("parseEndpoint(%q) = %v, %v; want %v, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

// TestRedactor: an injected value is replaced wherever it shows in a
// result, as written and JSON-escaped, in text and structured content.
func TestRedactor(t *testing.T) {
	r := &redactor{}
	r.add("TOK", `s3cr"et\value`)
	r.add("SHORT", "abc") // below the floor: not searched
	res := &mcp.CallToolResult{
		Content:           []mcp.Content{&mcp.TextContent{Text: `got s3cr"et\value and abc`}},
		StructuredContent: map[string]any{"k": []any{`x s3cr"et\value y`}},
	}
	out, err := r.result(res)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(out)
	if strings.Contains(string(b), `s3cr\"et\\value`) || strings.Contains(string(b), "s3cr") {
		t.Fatalf("value survived: %s", b)
	}
	if got := out.Content[0].(*mcp.TextContent).Text; got != "got [REDACTED:TOK] and abc" {
		t.Errorf("text = %q", got)
	}
	if !strings.Contains(string(b), `"x [REDACTED:TOK] y"`) {
		t.Errorf("structured content not redacted: %s", b)
	}
	if got := r.text("err: s3cr\"et\\value"); got != "err: [REDACTED:TOK]" {
		t.Errorf("text() = %q", got)
	}
	ts, err := r.tools([]*mcp.Tool{{Name: "t", Description: `uses s3cr"et\value`, InputSchema: map[string]any{"type": "object"}}, {Name: "u"}})
	if err != nil || len(ts) != 2 || ts[0].Description != "uses [REDACTED:TOK]" || ts[1].Name != "u" {
		t.Errorf("tools() = %+v, %v", ts, err)
	}
	var nilR *redactor
	if nilR.text("x") != "x" {
		t.Error("nil redactor changed text")
	}
}

func FuzzParseServer(f *testing.F) {
	for _, s := range []string{
		`{"url":"http://127.0.0.1:9/mcp"}`,
		`{"url":"https://x.example/mcp","secrets":["T"],"credential":{"secret":"T","header":"X-Key","format":"k={value}"},"wait_for_approval":"30s"}`,
		`{"url":"http://h/","secrets":["T"],"credential":{"secret":"T","header":"host"}}`,
		`null`, `[]`, `{"url":1}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		s, err := parseServer(json.RawMessage(spec), 1)
		if err != nil {
			if !errors.Is(err, errBadSpec) {
				t.Fatalf("error %v is not errBadSpec", err)
			}
			return
		}
		if s.spec.Credential != nil && (strings.Count(s.format, "{value}") != 1 || s.header == "" || strings.ContainsAny(s.header, " \r\n:") || strings.ContainsAny(s.format, "\r\n\x00")) {
			// A header name has no space, colon or line break; its value
			// ("Bearer {value}") may have spaces, never a line break.
			t.Fatalf("accepted a credential with header %q format %q", s.header, s.format)
		}
		if s.wait < 0 || s.wait > mcpspec.MaxWaitForApproval {
			t.Fatalf("accepted wait %v", s.wait)
		}
	})
}

func FuzzParseEndpoint(f *testing.F) {
	for _, s := range []string{"acme/prod/github", "a/b", "a/b/c/d", "a/../c", "a/b/c%2F"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		e, ok := parseEndpoint(in)
		if !ok {
			return
		}
		if e.key() != in || strings.ContainsAny(e.org+e.ns+e.server, "/%?#\x00") || e.server == ".." {
			t.Fatalf("accepted %q as %+v", in, e)
		}
	})
}
