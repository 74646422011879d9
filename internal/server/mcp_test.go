package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/gatehouse-dev/gatehouse/api"
	"github.com/gatehouse-dev/gatehouse/internal/mcp"
	"github.com/gatehouse-dev/gatehouse/internal/server"
)

// The MCP import routes join the route-driven tests with a body naming
// one upstream shared by the package's tests (started on first use, for
// the process's life).
func init() {
	exampleHooks = append(exampleHooks, func(w *world, rt *server.Route) (any, bool) {
		if rt.Pattern() == "POST /v1/orgs/{org}/namespaces/{namespace}/mcp/servers" {
			return map[string]any{"name": "sample", "url": exampleMCP()}, true
		}
		return nil, false
	})
}

var exampleMCP = sync.OnceValue(func() string {
	s := sdk.NewServer(&sdk.Implementation{Name: "example", Version: "1"}, nil)
	for _, tl := range sampleTools() {
		s.AddTool(tl, func(context.Context, *sdk.CallToolRequest) (*sdk.CallToolResult, error) {
			return &sdk.CallToolResult{}, nil
		})
	}
	h := sdk.NewStreamableHTTPHandler(func(*http.Request) *sdk.Server { return s }, &sdk.StreamableHTTPOptions{Stateless: true})
	return httptest.NewServer(h).URL
})

const mcpCanary = "mcp-CANARY-5f0e1d2c-credential"

// fakeMCP is an upstream MCP server built with the SDK whose tool list the
// test changes; it admits only requests with Authorization "Bearer
// <want>", and counts every request.
type fakeMCP struct {
	*httptest.Server
	mu    sync.Mutex
	tools []*sdk.Tool
	want  string
	hits  int
}

func newFakeMCP(t *testing.T, want string, tools ...*sdk.Tool) *fakeMCP {
	t.Helper()
	f := &fakeMCP{tools: tools, want: want}
	h := sdk.NewStreamableHTTPHandler(func(*http.Request) *sdk.Server {
		f.mu.Lock()
		defer f.mu.Unlock()
		s := sdk.NewServer(&sdk.Implementation{Name: "fake", Version: "1"}, &sdk.ServerOptions{PageSize: 2})
		for _, tl := range f.tools {
			s.AddTool(tl, func(_ context.Context, r *sdk.CallToolRequest) (*sdk.CallToolResult, error) {
				return &sdk.CallToolResult{Content: []sdk.Content{&sdk.TextContent{Text: "ok"}}}, nil
			})
		}
		return s
	}, &sdk.StreamableHTTPOptions{Stateless: true})
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.hits++
		f.mu.Unlock()
		if f.want != "" && r.Header.Get("Authorization") != "Bearer "+f.want {
			http.Error(w, "unauthorized: got "+r.Header.Get("Authorization"), http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeMCP) set(tools ...*sdk.Tool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tools = tools
}

func (f *fakeMCP) requests() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.hits
}

func obj(props map[string]any, required ...string) map[string]any {
	s := map[string]any{"type": "object", "properties": props}
	if len(required) > 0 {
		s["required"] = required
	}
	return s
}

func pb(b bool) *bool { return &b }

func sampleTools() []*sdk.Tool {
	return []*sdk.Tool{
		{Name: "search", Description: "Search records", InputSchema: obj(map[string]any{"q": map[string]any{"type": "string"}}),
			Annotations: &sdk.ToolAnnotations{ReadOnlyHint: true}},
		{Name: "transfer", Description: "Transfer money", InputSchema: obj(map[string]any{"to": map[string]any{"type": "string"}, "amount": map[string]any{"type": "number"}}, "to", "amount")},
		{Name: "delete_record", Description: "Delete a record", InputSchema: obj(map[string]any{"id": map[string]any{"type": "string"}}),
			Annotations: &sdk.ToolAnnotations{DestructiveHint: pb(true)}},
		{Name: "whoami", Description: "Echo the Authorization header", InputSchema: obj(nil), Annotations: &sdk.ToolAnnotations{ReadOnlyHint: true}},
	}
}

// TestMCPImport: import records the server and its tools with the right
// specs; a re-import answers the diff and makes new versions; a dry run
// writes nothing; the credential reaches the upstream and nothing else.
func TestMCPImport(t *testing.T) {
	t.Parallel()
	for _, backend := range backends(t) {
		t.Run(backend, func(t *testing.T) {
			e := newEnv(t, backend, envOpts{})
			w := buildWorld(t, e, "")
			ns := w.params["namespace"]
			base := "/v1/orgs/" + w.org + "/namespaces/" + ns
			up := newFakeMCP(t, mcpCanary, sampleTools()...)
			var bodies []string // every answer, searched for the canary at the end
			call := func(want int, method, path, key string, body, out any) resp {
				t.Helper()
				r := e.must(want, method, path, key, body, out)
				bodies = append(bodies, string(r.Body))
				return r
			}
			call(201, "POST", base+"/secrets", w.owner, map[string]any{"name": "MCP_TOKEN", "value": mcpCanary}, nil)
			imp := map[string]any{"name": "sample", "url": up.URL, "credential": map[string]any{"secret": "MCP_TOKEN"}}

			var res api.MCPImportResult
			call(200, "POST", base+"/mcp/servers", w.owner, imp, &res)
			wantDiff := api.MCPToolDiff{Added: []string{"delete_record", "search", "transfer", "whoami"}, Removed: []string{}, Changed: []api.MCPToolChange{}}
			if diff := cmp.Diff(wantDiff, res.Diff); diff != "" {
				t.Errorf("first import diff (-want +got):\n%s", diff)
			}
			if !res.Written || res.Revision == 0 || res.Server.Name != "sample" || res.Server.Tools != 4 || res.Server.URL != up.URL ||
				res.Server.Credential == nil || res.Server.Credential.Secret != "MCP_TOKEN" || res.Server.Credential.Header != "Authorization" {
				t.Errorf("first import = %+v", res)
			}

			// The resources, with their specs.
			var srv api.Resource
			call(200, "GET", base+"/resources/mcp_servers/sample", w.owner, nil, &srv)
			var sspec map[string]any
			_ = json.Unmarshal(srv.Spec, &sspec)
			if sspec["url"] != up.URL || !cmp.Equal(sspec["secrets"], []any{"MCP_TOKEN"}) || sspec["credential"].(map[string]any)["format"] != "Bearer {value}" {
				t.Errorf("server spec = %s", srv.Spec)
			}
			tool := func(id string) (api.Resource, map[string]any) {
				t.Helper()
				var r api.Resource
				call(200, "GET", base+"/resources/tools/"+id, w.owner, nil, &r)
				var m map[string]any
				if err := json.Unmarshal(r.Spec, &m); err != nil {
					t.Fatalf("tools/%s spec %s: %v", id, r.Spec, err)
				}
				return r, m
			}
			_, search := tool("sample.search")
			if search["server"] != "sample" || search["tool"] != "search" || search["description"] != "Search records" ||
				search["annotations"].(map[string]any)["readOnlyHint"] != true {
				t.Errorf("tools/sample.search spec = %v", search)
			}
			_, transfer := tool("sample.transfer")
			if req := transfer["input_schema"].(map[string]any)["required"]; !cmp.Equal(req, []any{"to", "amount"}) {
				t.Errorf("transfer input schema = %v", transfer["input_schema"])
			}
			if _, ok := transfer["annotations"]; ok {
				t.Errorf("transfer has annotations %v; the upstream sent none", transfer["annotations"])
			}
			_, del := tool("sample.delete_record")
			if del["annotations"].(map[string]any)["destructiveHint"] != true {
				t.Errorf("delete_record annotations = %v", del["annotations"])
			}

			// The same list again: nothing changes.
			call(200, "POST", base+"/mcp/servers", w.owner, imp, &res)
			if !cmp.Equal(res.Diff, wantDiff0) || res.Written {
				t.Errorf("unchanged re-import = %+v, want an empty diff and nothing written", res)
			}

			// The upstream changes: whoami gone, refund added, transfer's
			// schema changed.
			changed := sampleTools()[:3]
			changed[1] = &sdk.Tool{Name: "transfer", Description: "Transfer money", InputSchema: obj(map[string]any{"to": map[string]any{"type": "string"},
				"amount": map[string]any{"type": "number", "maximum": 10000}}, "to", "amount")}
			changed = append(changed, &sdk.Tool{Name: "refund", Description: "Refund", InputSchema: obj(nil)})
			up.set(changed...)
			want := api.MCPToolDiff{Added: []string{"refund"}, Removed: []string{"whoami"}, Changed: []api.MCPToolChange{{Tool: "transfer", Fields: []string{"input_schema"}}}}

			// A dry run answers the diff and writes nothing.
			rev := e.dir.Revision()
			dry := map[string]any{"dry_run": true}
			for k, v := range imp {
				dry[k] = v
			}
			call(200, "POST", base+"/mcp/servers", w.owner, dry, &res)
			if diff := cmp.Diff(want, res.Diff); diff != "" || res.Written || !res.DryRun {
				t.Errorf("dry run = %+v (-want +got diff):\n%s", res, diff)
			}
			if e.dir.Revision() != rev {
				t.Errorf("a dry run moved the revision %d → %d", rev, e.dir.Revision())
			}
			call(200, "GET", base+"/resources/tools/sample.whoami", w.owner, nil, nil)

			call(200, "POST", base+"/mcp/servers", w.owner, imp, &res)
			if diff := cmp.Diff(want, res.Diff); diff != "" || !res.Written || res.Server.Tools != 4 {
				t.Errorf("changed re-import = %+v (-want +got diff):\n%s", res, diff)
			}
			if r, _ := tool("sample.transfer"); r.Version != 2 {
				t.Errorf("transfer at version %d, want 2", r.Version)
			}
			if r, _ := tool("sample.search"); r.Version != 1 {
				t.Errorf("search at version %d, want 1 (unchanged)", r.Version)
			}
			call(404, "GET", base+"/resources/tools/sample.whoami", w.owner, nil, nil)
			var vd server.List[api.DiffEntry]
			call(200, "GET", base+"/resources/tools/sample.transfer/diff?from=1&to=2", w.owner, nil, &vd)
			if !strings.Contains(mustJSON(t, vd), "maximum") {
				t.Errorf("version diff of transfer = %s, want the schema change", mustJSON(t, vd))
			}

			// The list: the server with its tool count.
			var list server.List[api.MCPServer]
			call(200, "GET", base+"/mcp/servers", w.owner, nil, &list)
			if len(list.Items) != 1 || list.Items[0].Name != "sample" || list.Items[0].Tools != 4 || list.Items[0].Credential == nil {
				t.Errorf("list = %+v", list.Items)
			}

			// A reader without secrets:list sees the server, not the name
			// of its credential's secret.
			call(201, "POST", "/v1/orgs/"+w.org+"/roles", w.owner, map[string]any{"name": "toolreader", "level": 5, "permissions": []string{"mcp_servers:read", "tools:read"}}, nil)
			tkey := e.user("tina")
			call(201, "POST", "/v1/orgs/"+w.org+"/members", w.owner, map[string]any{"user_id": "tina", "role": "toolreader"}, nil)
			list = server.List[api.MCPServer]{}
			call(200, "GET", base+"/mcp/servers", tkey, nil, &list)
			r := call(200, "GET", base+"/resources/mcp_servers/sample", tkey, nil, nil)
			if len(list.Items) != 1 || list.Items[0].Credential != nil || list.Items[0].Tools != 4 || strings.Contains(string(r.Body), "MCP_TOKEN") {
				t.Errorf("a reader without secrets:list: list %+v, server %s", list.Items, r.Body)
			}

			// The canary reached the upstream (it admitted the calls), and
			// nothing else: no answer, no audit entry.
			var auditPage struct {
				Items []json.RawMessage `json:"items"`
			}
			call(200, "GET", "/v1/orgs/"+w.org+"/audit?page_size=1000", w.owner, nil, &auditPage)
			if !strings.Contains(mustJSON(t, auditPage), "mcp_servers") {
				t.Errorf("the audit log has no entry about the server")
			}
			// Every use of the credential by an import is an entry naming
			// the secret and the server (use without reveal is still a use).
			uses := 0
			for _, raw := range auditPage.Items {
				var e struct {
					Action string          `json:"action"`
					Target string          `json:"target"`
					Body   json.RawMessage `json:"details"`
				}
				if err := json.Unmarshal(raw, &e); err != nil {
					t.Fatal(err)
				}
				if e.Action == "secrets.inject" && strings.Contains(e.Target, "mcp_servers/sample") &&
					strings.Contains(string(e.Body), "MCP_TOKEN") && strings.Contains(string(e.Body), "mcp import") {
					uses++
				}
				if strings.Contains(string(raw), mcpCanary) {
					t.Errorf("an audit entry carries the credential: %s", raw)
				}
			}
			if uses == 0 {
				t.Errorf("no secrets.inject entry records the imports' use of MCP_TOKEN:\n%s", mustJSON(t, auditPage))
			}
			for _, b := range bodies {
				if strings.Contains(b, mcpCanary) {
					t.Fatalf("the credential appeared in an answer: %s", b)
				}
			}
		})
	}
}

var wantDiff0 = api.MCPToolDiff{Added: []string{}, Removed: []string{}, Changed: []api.MCPToolChange{}}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestMCPImportRefusals: who may import, and bad or failing upstreams;
// nothing is written, and no credential leaves for an upstream unless the
// caller may write the spec that names it.
func TestMCPImportRefusals(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "sqlite", envOpts{})
	w := buildWorld(t, e, "")
	b := buildWorld(t, e, "b")
	ns := w.params["namespace"]
	base := "/v1/orgs/" + w.org + "/namespaces/" + ns
	up := newFakeMCP(t, mcpCanary, sampleTools()...)
	e.must(201, "POST", base+"/secrets", w.owner, map[string]any{"name": "MCP_TOKEN", "value": mcpCanary}, nil)
	e.must(201, "POST", base+"/secrets", w.owner, map[string]any{"name": "WRONG_TOKEN", "value": "not-the-canary-value"}, nil)
	// A member who may write any resource but not see secret names.
	e.must(201, "POST", "/v1/orgs/"+w.org+"/roles", w.owner, map[string]any{"name": "resourcer", "level": 10, "permissions": []string{"resources:*"}}, nil)
	rkey := e.user("rita")
	e.must(201, "POST", "/v1/orgs/"+w.org+"/members", w.owner, map[string]any{"user_id": "rita", "role": "resourcer"}, nil)
	// A secret only alice-the-owner may reference.
	e.must(201, "POST", base+"/secrets", w.owner, map[string]any{"name": "OWNERS_ONLY", "value": "owners-only-value", "referable_by": []string{"user:" + w.ownerID}}, nil)
	adm := e.user("adam")
	e.must(201, "POST", "/v1/orgs/"+w.org+"/members", w.owner, map[string]any{"user_id": "adam", "role": "admin"}, nil)
	before := dump(t, e, w)
	cred := func(secret string) map[string]any {
		return map[string]any{"name": "sample", "url": up.URL, "credential": map[string]any{"secret": secret}}
	}
	for _, tc := range []struct {
		name   string
		key    string
		path   string
		body   map[string]any
		status int
		typ    string
		field  string
	}{
		{"a viewer", w.viewer, base, cred("MCP_TOKEN"), 403, server.ProblemForbidden, ""},
		{"a viewer, dry run", w.viewer, base, map[string]any{"name": "sample", "url": up.URL, "dry_run": true}, 403, server.ProblemForbidden, ""},
		{"another org's owner", b.owner, base, cred("MCP_TOKEN"), 404, server.ProblemNotFound, ""},
		{"another org's namespace", w.owner, "/v1/orgs/" + w.org + "/namespaces/" + b.params["namespace"], cred("MCP_TOKEN"), 404, server.ProblemNotFound, ""},
		{"resources:* without secrets:list", rkey, base, cred("MCP_TOKEN"), 403, server.ProblemForbidden, ""},
		{"a secret that does not exist", w.owner, base, cred("NO_SUCH"), 400, server.ProblemInvalid, ""},
		{"a bad server name", w.owner, base, map[string]any{"name": "Sample.X", "url": up.URL}, 400, server.ProblemInvalid, "name"},
		{"a URL that is not http", w.owner, base, map[string]any{"name": "sample", "url": "file:///etc/passwd"}, 400, server.ProblemInvalid, "url"},
		{"a URL with a password", w.owner, base, map[string]any{"name": "sample", "url": "http://u:p@127.0.0.1/mcp"}, 400, server.ProblemInvalid, "url"},
		{"a bad credential header", w.owner, base, map[string]any{"name": "sample", "url": up.URL, "credential": map[string]any{"secret": "MCP_TOKEN", "header": "Bad Header"}}, 400, server.ProblemInvalid, "credential.header"},
		{"unreachable", w.owner, base, map[string]any{"name": "sample", "url": "http://127.0.0.1:1/mcp"}, 502, server.ProblemUpstream, ""},
		{"not an MCP server", w.owner, base, map[string]any{"name": "sample", "url": e.URL + "/healthz"}, 502, server.ProblemUpstream, ""},
		{"the upstream refuses the credential", w.owner, base, cred("WRONG_TOKEN"), 502, server.ProblemUpstream, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hits := up.requests()
			r := e.do("POST", tc.path+"/mcp/servers", tc.key, tc.body)
			if r.Status != tc.status {
				t.Fatalf("status %d, want %d; body %s", r.Status, tc.status, r.Body)
			}
			p := r.problem(t)
			if p.Type != server.ProblemBase+tc.typ || (tc.field != "" && p.Field != tc.field) {
				t.Errorf("problem %+v, want %s field %q", p, tc.typ, tc.field)
			}
			for _, v := range []string{mcpCanary, "not-the-canary-value", "owners-only-value"} {
				if strings.Contains(string(r.Body), v) {
					t.Errorf("answer carries a secret value: %s", r.Body)
				}
			}
			if tc.status != 502 && up.requests() != hits {
				t.Errorf("a refused import reached the upstream (%d requests)", up.requests()-hits)
			}
		})
	}
	// The owners-only secret: an admin may write resources and list
	// secrets, but not reference this one, so the upstream never sees it.
	hits := up.requests()
	r := e.do("POST", base+"/mcp/servers", adm, cred("OWNERS_ONLY"))
	if r.Status != 403 || up.requests() != hits {
		t.Errorf("an admin naming a secret it may not reference: status %d, %d upstream requests; body %s", r.Status, up.requests()-hits, r.Body)
	}
	// The generic resource routes are held to the same rules: a
	// credential must name one of the spec's "secrets", which are vetted.
	for _, tc := range []struct {
		name, key string
		spec      map[string]any
		status    int
		field     string
	}{
		{"a credential outside secrets", w.owner, map[string]any{"url": up.URL, "credential": map[string]any{"secret": "MCP_TOKEN"}}, 400, "spec.credential"},
		{"a credential other than secrets", w.owner, map[string]any{"url": up.URL, "secrets": []string{"WRONG_TOKEN"}, "credential": map[string]any{"secret": "MCP_TOKEN"}}, 400, "spec.credential"},
		{"resources:* naming the secret", rkey, map[string]any{"url": up.URL, "secrets": []string{"MCP_TOKEN"}, "credential": map[string]any{"secret": "MCP_TOKEN"}}, 403, ""},
		{"resources:* hiding the secret", rkey, map[string]any{"url": up.URL, "credential": map[string]any{"secret": "MCP_TOKEN"}}, 400, "spec.credential"},
		{"an admin naming an owners-only secret", adm, map[string]any{"url": up.URL, "secrets": []string{"OWNERS_ONLY"}, "credential": map[string]any{"secret": "OWNERS_ONLY"}}, 403, ""},
	} {
		r := e.do("POST", "/v1/orgs/"+w.org+"/resources", tc.key, map[string]any{"namespace": ns, "type": "mcp_servers", "id": "sneaky", "spec": tc.spec})
		if r.Status != tc.status || tc.field != "" && r.problem(t).Field != tc.field {
			t.Errorf("generic create, %s: status %d, want %d (field %q); body %s", tc.name, r.Status, tc.status, tc.field, r.Body)
		}
	}
	// The only trace: the credential the upstream refused was sent, so
	// its use is recorded (last_used_at, a secrets.inject entry).
	after := dump(t, e, w)
	if !strings.Contains(after, `"name":"WRONG_TOKEN","version":1,`) || !regexp.MustCompile(`"name":"WRONG_TOKEN"[^}]*"last_used_at"`).MatchString(after) {
		t.Errorf("the credential sent to the upstream that refused it has no last_used_at")
	}
	if after = regexp.MustCompile(`,"last_used_at":"[^"]*"`).ReplaceAllString(after, ""); after != before {
		t.Errorf("refused imports changed the org:\n%s", diffLines(before, after))
	}
	// Nothing recorded, and the audit log never holds a credential value.
	e.must(404, "GET", base+"/resources/mcp_servers/sample", w.owner, nil, nil)
	ar := e.must(200, "GET", "/v1/orgs/"+w.org+"/audit?page_size=1000", w.owner, nil, nil)
	if n := strings.Count(string(ar.Body), `"action":"secrets.inject"`); n != 1 || !strings.Contains(string(ar.Body), `"name":"WRONG_TOKEN"`) {
		t.Errorf("want one secrets.inject entry (WRONG_TOKEN, sent to the upstream that refused it), got %d", n)
	}
	for _, v := range []string{mcpCanary, "not-the-canary-value", "owners-only-value"} {
		if strings.Contains(string(ar.Body), v) {
			t.Errorf("the audit log carries a secret value %q", v)
		}
	}
}

// TestMCPSuggestedPolicyDecides: the snippet of mcp suggest, added to the
// org's policy, decides tools:call as it says: the read-only tool for the
// viewer bound on it, nothing else for the viewer; every tool for the
// operator, the others than read-only after approval.
func TestMCPSuggestedPolicyDecides(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "sqlite", envOpts{})
	w := buildWorld(t, e, "")
	ns := w.params["namespace"]
	o := "/v1/orgs/" + w.org
	base := o + "/namespaces/" + ns
	e.must(200, "POST", base+"/mcp/servers", w.owner, map[string]any{"name": "sample", "url": exampleMCP()}, nil)
	tools := map[string]mcp.ToolSpec{}
	for _, id := range []string{"sample.search", "sample.transfer", "sample.delete_record", "sample.whoami"} {
		var r api.Resource
		e.must(200, "GET", base+"/resources/tools/"+id, w.owner, nil, &r)
		var s mcp.ToolSpec
		if err := json.Unmarshal(r.Spec, &s); err != nil {
			t.Fatal(err)
		}
		tools[id] = s
	}
	var pol api.Policy
	e.must(200, "GET", o+"/policy", w.owner, nil, &pol)
	e.must(200, "PUT", o+"/policy", w.owner, map[string]any{"text": pol.Text + "\n" + mcp.Suggest("sample", ns, tools)}, nil)
	e.must(201, "POST", o+"/bindings", w.owner, map[string]any{"principal": "user:" + w.viewerID, "role": "sample_tool_caller",
		"scope": map[string]any{"namespace": ns, "type": "tools", "id": "sample.search"}}, nil)
	e.must(201, "POST", o+"/bindings", w.owner, map[string]any{"principal": "user:" + w.memberID, "role": "sample_tool_operator",
		"scope": map[string]any{"namespace": ns}}, nil)
	for _, tc := range []struct {
		who, key, tool string
		allowed        bool
		result         string
	}{
		{"viewer", w.viewer, "sample.search", true, ""},
		{"viewer", w.viewer, "sample.whoami", false, ""}, // read-only, but not bound on it
		{"viewer", w.viewer, "sample.transfer", false, ""},
		{"operator", w.mkey, "sample.search", true, ""},
		{"operator", w.mkey, "sample.transfer", false, "approval_required"},
		{"operator", w.mkey, "sample.delete_record", false, "approval_required"},
	} {
		var res api.CheckResponse
		e.must(200, "POST", o+"/check", tc.key, map[string]any{"action": "tools:call", "resource": "tools/" + tc.tool, "namespace": ns,
			"context": map[string]any{"input": map[string]any{"amount": 1}}}, &res)
		if res.Allowed != tc.allowed || res.Result != tc.result {
			t.Errorf("%s tools:call %s = allowed %v result %q (%s), want %v %q", tc.who, tc.tool, res.Allowed, res.Result, res.Reason, tc.allowed, tc.result)
		}
	}
}
