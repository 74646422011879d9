package mcp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/gatehouse-dev/gatehouse/policy"
)

func boolp(b bool) *bool { return &b }

func TestParseServerSpec(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in string
		want     ServerSpec
		field    string // "" : valid
	}{
		{"url only", `{"url":"http://127.0.0.1:8090/mcp"}`, ServerSpec{URL: "http://127.0.0.1:8090/mcp"}, ""},
		{"credential defaults", `{"url":"https://x.example/mcp","secrets":["TOKEN"],"credential":{"secret":"TOKEN"}}`,
			ServerSpec{URL: "https://x.example/mcp", Secrets: []string{"TOKEN"}, Credential: &Credential{Secret: "TOKEN", Header: "Authorization", Format: "Bearer {value}"}}, ""},
		{"credential secret not in secrets", `{"url":"https://x.example/mcp","credential":{"secret":"TOKEN"}}`, ServerSpec{}, "credential.secret"},
		{"credential secret another than secrets", `{"url":"https://x.example/mcp","secrets":["A"],"credential":{"secret":"TOKEN"}}`, ServerSpec{}, "credential.secret"},
		{"secret listed once", `{"url":"https://x.example/mcp","secrets":["TOKEN"],"credential":{"secret":"TOKEN","header":"X-Api-Key","format":"{value}"},"wait_for_approval":"30s"}`,
			ServerSpec{URL: "https://x.example/mcp", Secrets: []string{"TOKEN"}, Credential: &Credential{Secret: "TOKEN", Header: "X-Api-Key", Format: "{value}"}, WaitForApproval: "30s"}, ""},
		{"unknown member", `{"url":"http://h/mcp","credentials":{}}`, ServerSpec{}, "spec"},
		{"not an object", `[1]`, ServerSpec{}, "spec"},
		{"trailing data", `{"url":"http://h/mcp"} {}`, ServerSpec{}, "spec"},
		{"no url", `{}`, ServerSpec{}, "url"},
		{"ftp", `{"url":"ftp://h/mcp"}`, ServerSpec{}, "url"},
		{"relative", `{"url":"/mcp"}`, ServerSpec{}, "url"},
		{"userinfo", `{"url":"http://u:p@h/mcp"}`, ServerSpec{}, "url"},
		{"bad secret name", `{"url":"http://h/mcp","secrets":["token"],"credential":{"secret":"token"}}`, ServerSpec{}, "credential.secret"},
		{"bad header", `{"url":"http://h/mcp","secrets":["T"],"credential":{"secret":"T","header":"X Bad"}}`, ServerSpec{}, "credential.header"},
		{"transport header", `{"url":"http://h/mcp","secrets":["T"],"credential":{"secret":"T","header":"Mcp-Session-Id"}}`, ServerSpec{}, "credential.header"},
		{"format without value", `{"url":"http://h/mcp","secrets":["T"],"credential":{"secret":"T","format":"Bearer"}}`, ServerSpec{}, "credential.format"},
		{"format with two values", `{"url":"http://h/mcp","secrets":["T"],"credential":{"secret":"T","format":"{value}{value}"}}`, ServerSpec{}, "credential.format"},
		{"negative wait", `{"url":"http://h/mcp","wait_for_approval":"-1s"}`, ServerSpec{}, "wait_for_approval"},
		{"long wait", `{"url":"http://h/mcp","wait_for_approval":"1h"}`, ServerSpec{}, "wait_for_approval"},
		{"bad secrets entry", `{"url":"http://h/mcp","secrets":["a b"]}`, ServerSpec{}, "secrets[0]"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseServerSpec([]byte(tc.in))
			if tc.field == "" {
				if err != nil {
					t.Fatalf("ParseServerSpec: %v", err)
				}
				if diff := cmp.Diff(tc.want, got); diff != "" {
					t.Errorf("(-want +got):\n%s", diff)
				}
				return
			}
			var ie *InvalidError
			if !errors.As(err, &ie) || ie.Field != tc.field || !errors.Is(err, ErrInvalid) {
				t.Fatalf("err = %v, want an invalid %s", err, tc.field)
			}
		})
	}
}

func FuzzParseServerSpec(f *testing.F) {
	for _, s := range []string{`{"url":"http://127.0.0.1:8090/mcp"}`, `{"url":"https://x/mcp","secrets":["T"],"credential":{"secret":"T","header":"X","format":"{value}"}}`,
		`{"url":"http://h","wait_for_approval":"30s","secrets":["A"]}`, `{`, `null`, `{"url":1}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := ParseServerSpec(b)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error of no kind: %v", err)
			}
			return
		}
		// A valid spec is stable: written and parsed again, the same.
		out, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		again, err := ParseServerSpec(out)
		if err != nil {
			t.Fatalf("a normalized spec %s does not parse: %v", out, err)
		}
		if diff := cmp.Diff(s, again); diff != "" {
			t.Fatalf("not stable (-first +again):\n%s", diff)
		}
		if s.Credential != nil && !strings.Contains(s.Credential.Format, "{value}") {
			t.Fatalf("format %q without {value}", s.Credential.Format)
		}
	})
}

func TestToolID(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ tool, want string }{
		{"search", "s.search"},
		{"delete_record", "s.delete_record"},
		{"ns.v2-get", "s.ns.v2-get"},
	} {
		if got := ToolID("s", tc.tool); got != tc.want {
			t.Errorf("ToolID(s, %q) = %q, want %q", tc.tool, got, tc.want)
		}
	}
	// Mapped names: deterministic, distinct, valid resource ids.
	seen := map[string]string{}
	for _, name := range []string{"my tool", "my/tool", "my_tool~x", "ü", strings.Repeat("x", 129), "a\x00b", ""} {
		id := ToolID("s", name)
		if id != ToolID("s", name) {
			t.Errorf("%q maps to two ids", name)
		}
		if !strings.Contains(id, "~") || strings.ContainsAny(id, "/ \x00") || len(id) > 256 {
			t.Errorf("%q → %q: not a mapped resource id", name, id)
		}
		if prev, dup := seen[id]; dup {
			t.Errorf("%q and %q both map to %q", prev, name, id)
		}
		seen[id] = name
	}
}

func TestDiffTools(t *testing.T) {
	t.Parallel()
	base := func(desc, schema string, ro bool) ToolSpec {
		return ToolSpec{Server: "s", Tool: "x", Description: desc, InputSchema: json.RawMessage(schema), Annotations: &Annotations{ReadOnlyHint: ro}}
	}
	a := base("A", `{"type":"object","properties":{"q":{"type":"string"}}}`, true)
	// The same schema in another layout (a store's) is no change.
	aStored := base("A", `{"properties": {"q": {"type": "string"}}, "type": "object"}`, true)
	b := base("B", `{"type":"object"}`, false)
	b.Tool = "b"
	c := base("C", `{"type":"object"}`, false)
	c.Tool = "c"
	c2 := c
	c2.Description, c2.InputSchema = "C2", json.RawMessage(`{"type":"object","required":["to"]}`)
	c2.Annotations = &Annotations{DestructiveHint: boolp(true)}
	d := base("D", `{}`, false)
	d.Tool = "d"
	got := DiffTools(map[string]ToolSpec{"s.x": aStored, "s.b": b, "s.c": c}, map[string]ToolSpec{"s.x": a, "s.c": c2, "s.d": d})
	want := Diff{Added: []string{"d"}, Removed: []string{"b"}, Changed: []ToolChange{{Tool: "c", Fields: []string{"description", "input_schema", "annotations"}}}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if e := DiffTools(map[string]ToolSpec{}, map[string]ToolSpec{}); !e.Empty() || e.Added == nil {
		t.Errorf("empty diff = %#v, want empty non-nil lists", e)
	}
}

// TestSuggestLintsClean: the snippet parses, compiles and lints without a
// warning, grants what it says, and asks for what it says.
func TestSuggestLintsClean(t *testing.T) {
	t.Parallel()
	tools := map[string]ToolSpec{
		"my-srv.search":        {Tool: "search", Annotations: &Annotations{ReadOnlyHint: true}},
		"my-srv.transfer":      {Tool: "transfer"},
		"my-srv.delete_record": {Tool: "delete_record", Annotations: &Annotations{DestructiveHint: boolp(true)}},
		"my-srv.it's":          {Tool: "it's", Annotations: &Annotations{ReadOnlyHint: true}},
	}
	for _, tc := range []struct {
		name  string
		tools map[string]ToolSpec
	}{{"tools", tools}, {"none", map[string]ToolSpec{}}} {
		t.Run(tc.name, func(t *testing.T) {
			src := Suggest("my-srv", "prod", tc.tools)
			m, diags := policy.Load("suggest.policy", []byte(src), policy.LintOptions{})
			if m == nil || len(diags) > 0 {
				t.Fatalf("snippet does not load clean: %v\n%s", diags, src)
			}
			_, okCaller := m.Role("my_srv_tool_caller")
			op, okOp := m.Role("my_srv_tool_operator")
			if !okCaller || !okOp || len(op.OwnAsks) != 1 {
				t.Fatalf("roles missing:\n%s", src)
			}
			if !strings.Contains(src, "ask before call tools when my_srv_needs_approval") {
				t.Errorf("no ask rule:\n%s", src)
			}
			if _, ok := m.Condition("my_srv_needs_approval"); !ok {
				t.Fatalf("no condition:\n%s", src)
			}
			for id, wantAsk := range map[string]bool{"my-srv.search": false, "my-srv.it's": false, "my-srv.transfer": true, "my-srv.delete_record": true, "my-srv.later": true} {
				if tc.name == "none" {
					wantAsk = true
				}
				got, err := m.EvalCondition("my_srv_needs_approval", policy.Vars{Principal: map[string]any{"id": "x"}, Resource: map[string]any{"type": "tools", "id": id}, Context: map[string]any{}})
				if err != nil || got != wantAsk {
					t.Errorf("needs approval(%s) = %v, %v; want %v", id, got, err, wantAsk)
				}
			}
		})
	}
	src := Suggest("my-srv", "prod", tools)
	for _, want := range []string{"my-srv.search", "readOnlyHint", "my-srv.delete_record", "destructiveHint", "no hint (counts as destructive)",
		"gatehouse bind team:viewers my_srv_tool_caller -n prod --resource tools/my-srv.search"} {
		if !strings.Contains(src, want) {
			t.Errorf("snippet lacks %q:\n%s", want, src)
		}
	}
	if strings.Contains(src, "--resource tools/my-srv.transfer") {
		t.Errorf("a non-read-only tool bound for viewers:\n%s", src)
	}
}

// fakeUpstream serves tools over streamable HTTP with the SDK, page size
// 2, and records the Authorization header of every request.
func fakeUpstream(t *testing.T, tools ...*sdk.Tool) (*httptest.Server, *[]string) {
	t.Helper()
	srv := sdk.NewServer(&sdk.Implementation{Name: "fake", Version: "1"}, &sdk.ServerOptions{PageSize: 2})
	for _, tl := range tools {
		srv.AddTool(tl, func(context.Context, *sdk.CallToolRequest) (*sdk.CallToolResult, error) {
			return &sdk.CallToolResult{}, nil
		})
	}
	var seen []string
	h := sdk.NewStreamableHTTPHandler(func(*http.Request) *sdk.Server { return srv }, nil)
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = append(seen, r.Header.Get("Authorization"))
		if r.Header.Get("Authorization") == "Bearer wrong" {
			http.Error(w, "bad token Bearer wrong", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(hs.Close)
	return hs, &seen
}

// loopbackClient reaches the tests' MCP servers, on loopback.
func loopbackClient() *http.Client {
	return &http.Client{Transport: UpstreamTransport(UpstreamPolicy{Allow: LoopbackPrefixes})}
}

// TestListTools: every page, translated; the credential sent on every
// request; failures are upstream errors without the credential.
func TestListTools(t *testing.T) {
	t.Parallel()
	var tools []*sdk.Tool
	for i := range 5 {
		tools = append(tools, &sdk.Tool{Name: fmt.Sprintf("t%d", i), Description: "d", InputSchema: map[string]any{"type": "object"},
			Annotations: &sdk.ToolAnnotations{ReadOnlyHint: i == 0}})
	}
	hs, seen := fakeUpstream(t, tools...)
	ctx := context.Background()
	lo := loopbackClient()
	got, err := Upstream{URL: hs.URL, Header: "Authorization", Value: "Bearer sekrit", Client: lo}.ListTools(ctx)
	if err != nil {
		t.Fatalf("ListTools: %v", err)
	}
	specs, err := Translate("s", got)
	if err != nil {
		t.Fatal(err)
	}
	if len(specs) != 5 {
		t.Fatalf("%d tools, want 5 (all pages)", len(specs))
	}
	if s := specs["s.t0"]; !s.ReadOnly() || s.Tool != "t0" || string(s.InputSchema) != `{"type":"object"}` {
		t.Errorf("s.t0 = %+v", s)
	}
	if specs["s.t1"].ReadOnly() || !specs["s.t1"].Destructive() {
		t.Errorf("s.t1 = %+v, want not read-only, destructive", specs["s.t1"])
	}
	for _, h := range *seen {
		if h != "Bearer sekrit" {
			t.Errorf("a request carried Authorization %q", h)
		}
	}

	_, err = Upstream{URL: hs.URL, Header: "Authorization", Value: "Bearer wrong", Client: lo}.ListTools(ctx)
	var ue *UpstreamError
	if !errors.As(err, &ue) || strings.Contains(err.Error(), "wrong") || strings.Contains(ue.Cause, "wrong") {
		t.Errorf("refused credential: %v, want an upstream error without the credential", err)
	}
	// The error of an upstream that echoes the raw value, redacted.
	echo := Upstream{URL: "http://127.0.0.1:1/mcp", Value: "Bearer raw-sekrit", Redact: []string{"raw-sekrit"}}
	if err := echo.unreachable(errors.New("token raw-sekrit refused")); strings.Contains(err.Error(), "sekrit") || strings.Contains(err.(*UpstreamError).Cause, "sekrit") || !errors.Is(err, ErrUpstream) {
		t.Errorf("fail = %v, want the raw value redacted", err)
	}
	// A redirect is not followed, so the credential goes nowhere else.
	var elsewhere []string
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		elsewhere = append(elsewhere, r.Header.Get("Authorization"))
	}))
	defer other.Close()
	redirect := httptest.NewServer(http.RedirectHandler(other.URL, http.StatusTemporaryRedirect))
	defer redirect.Close()
	if _, err := (Upstream{URL: redirect.URL, Header: "Authorization", Value: "Bearer sekrit", Client: lo}).ListTools(ctx); !errors.Is(err, ErrUpstream) || len(elsewhere) != 0 {
		t.Errorf("redirect: %v, %d requests elsewhere (%q); want an upstream error and none", err, len(elsewhere), elsewhere)
	}
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	if _, err := (Upstream{URL: closed.URL, Client: lo}).ListTools(ctx); !errors.Is(err, ErrUpstream) {
		t.Errorf("unreachable: %v, want an upstream error", err)
	}
	if _, err := Translate("s", []*sdk.Tool{{Name: "a b"}, {Name: "a b"}}); !errors.Is(err, ErrUpstream) {
		t.Errorf("duplicate names: %v, want an upstream error", err)
	}
}

func TestParseToolSpec(t *testing.T) {
	t.Parallel()
	good := `{"server":"s","tool":"a b","input_schema":{"type":"object"},"annotations":{"readOnlyHint":true},"extra":1}`
	ts, err := ParseToolSpec([]byte(good))
	if err != nil || ts.Tool != "a b" || !ts.ReadOnly() {
		t.Fatalf("ParseToolSpec(%s) = %+v, %v", good, ts, err)
	}
	for _, bad := range []string{`{"tool":"a"}`, `{"server":"S.x","tool":"a"}`, `{"server":"s"}`, `{"server":"s","tool":"a","input_schema":[1]}`,
		`{"server":"s","tool":"a","output_schema":"x"}`, `[]`, `{`, `{"server":"s","tool":"a"} x`} {
		if _, err := ParseToolSpec([]byte(bad)); !errors.Is(err, ErrInvalid) {
			t.Errorf("ParseToolSpec(%s) = %v, want invalid", bad, err)
		}
	}
}

func FuzzParseToolSpec(f *testing.F) {
	for _, s := range []string{`{"server":"s","tool":"a","input_schema":{"type":"object"}}`, `{"server":"s","tool":"x","annotations":{"destructiveHint":false}}`, `{}`, `null`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		ts, err := ParseToolSpec(b)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error of no kind: %v", err)
			}
			return
		}
		if ts.Tool == "" || CheckServerName(ts.Server) != nil {
			t.Fatalf("accepted %+v", ts)
		}
		out, err := json.Marshal(ts)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ParseToolSpec(out); err != nil {
			t.Fatalf("a parsed spec %s does not parse again: %v", out, err)
		}
	})
}
