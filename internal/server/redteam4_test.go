package server_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-dev/gatehouse/api"
	"github.com/gatehouse-dev/gatehouse/internal/audit"
	mcpspec "github.com/gatehouse-dev/gatehouse/internal/mcp"
	"github.com/gatehouse-dev/gatehouse/internal/mcpgw"
	"github.com/gatehouse-dev/gatehouse/internal/server"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// The attacks of branch redteam4 (docs/threat-model.md rows 59–): bodies
// on every route, long polls per caller, the MCP gateway's arguments and
// the cross-org lookup.

// mountedBesideTheTable are the mux patterns that are not routes of the
// table, each with the test that covers its bodies. A pattern registered
// later must be added here (with its test) or to the table.
var mountedBesideTheTable = map[string]string{
	mcpgw.Prefix:         "TestMCPGatewayBodies",
	mcpgw.MetadataPrefix: "TestMCPGatewayBodies",
	"/":                  "TestEveryRouteRefusesHostileBodies (the catch-all answers 404 without reading a body)",
	"/console/":          "internal/console (forms, not JSON)",
	"GET /console":       "a redirect; reads no body",
}

// deepJSON is a value nested n objects deep.
func deepJSON(n int) string {
	return strings.Repeat(`{"a":`, n) + `1` + strings.Repeat(`}`, n)
}

// TestEveryRouteRefusesHostileBodies walks every pattern the server's mux
// serves (Server.Patterns: a route added later is covered, a mount added
// beside the table must be named in mountedBesideTheTable) and sends each
// route, with a credential that may call it: a body over the route's
// limit (413, a problem naming the limit); JSON nested 10,000 deep, as the
// whole body and as the value of each field of a valid body (400); a
// field given twice with the same value, a field given again in another
// case, and a valid body followed by garbage (400). A route that takes no
// body refuses any (400). Never a 500, and nothing is written.
func TestEveryRouteRefusesHostileBodies(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "sqlite", envOpts{})
	w := buildWorld(t, e, "")
	before := dump(t, e, w)
	rev := must(e.st.CurrentRevision(ctxT(t)))(t)

	table := map[string]*server.Route{}
	for _, rt := range e.srv.Routes() {
		table[rt.Pattern()] = rt
	}
	var routes []*server.Route
	for _, p := range e.srv.Patterns() {
		if rt, ok := table[p]; ok {
			routes = append(routes, rt)
			continue
		}
		if _, ok := mountedBesideTheTable[p]; !ok {
			t.Errorf("the mux serves %q, which is neither a route of the table nor in mountedBesideTheTable: say which test sends it hostile bodies", p)
		}
	}
	if len(routes) != len(e.srv.Routes()) {
		t.Errorf("the mux serves %d of the table's %d routes", len(routes), len(e.srv.Routes()))
	}

	deep := deepJSON(10_000)
	type tc struct {
		name, body string
		status     int
	}
	n := 0
	for _, rt := range routes {
		key := w.owner
		if rt.Access == server.Public {
			key = ""
		}
		path := fill(t, rt.Path, w.params) + query(rt)
		limit := rt.MaxBody
		if limit <= 0 {
			limit = server.DefaultMaxBody
		}
		oversized := `{"x":"` + strings.Repeat("a", int(limit)) + `"}`
		cases := []tc{
			{"a body over the limit", oversized, http.StatusRequestEntityTooLarge},
			{"a body nested 10,000 deep", deep, http.StatusBadRequest},
			{"an array nested 10,000 deep", strings.Repeat("[", 10_000) + strings.Repeat("]", 10_000), http.StatusBadRequest},
		}
		valid := map[string]any{}
		switch ex := example(w, rt).(type) {
		case map[string]any:
			valid = ex
		case string:
			_ = json.Unmarshal([]byte(ex), &valid)
		}
		raw, _ := json.Marshal(valid)
		cases = append(cases, tc{"a valid body and garbage after it", string(raw) + ` x`, http.StatusBadRequest},
			tc{"two JSON values", string(raw) + string(raw), http.StatusBadRequest})
		for k, v := range valid {
			vj, _ := json.Marshal(v)
			rest := strings.TrimPrefix(string(raw), "{")
			cases = append(cases,
				tc{"field " + k + " nested 10,000 deep", withField(valid, k, deep), http.StatusBadRequest},
				tc{"field " + k + " twice, same value", `{"` + k + `":` + string(vj) + `,` + rest, http.StatusBadRequest},
				tc{"field " + k + " again as " + strings.ToUpper(k), `{"` + strings.ToUpper(k) + `":` + string(vj) + `,` + rest, http.StatusBadRequest},
			)
			if longS := strings.Replace(k, "s", "\u017f", 1); longS != k {
				// "ſ" (long s) is "s" to encoding/json's matching.
				cases = append(cases, tc{"field " + k + " again with a long s", `{"` + longS + `":` + string(vj) + `,` + rest, http.StatusBadRequest})
			}
		}
		if len(valid) == 0 {
			cases = append(cases, tc{"a field twice", `{"a":1,"a":1}`, http.StatusBadRequest})
		}
		for _, c := range cases {
			n++
			r := e.doCT(rt.Method, path, key, "application/json", c.body)
			if r.Status != c.status {
				t.Errorf("%s with %s: status %d, want %d; body %.300s", rt.Pattern(), c.name, r.Status, c.status, r.Body)
				continue
			}
			p := r.problem(t)
			if c.status == http.StatusRequestEntityTooLarge && !strings.Contains(p.Detail, strconv.FormatInt(limit, 10)) {
				t.Errorf("%s with %s: problem %q does not name the limit, %d bytes", rt.Pattern(), c.name, p.Detail, limit)
			}
		}
		e.auth.ResetLimits()
	}
	// The catch-all: no route, whatever the body.
	r := e.doCT("POST", "/v1/nowhere", w.owner, "application/json", deep)
	if r.Status != http.StatusNotFound {
		t.Errorf("POST /v1/nowhere: status %d, want 404", r.Status)
	}
	if n < 500 {
		t.Errorf("only %d hostile bodies sent; the route table looks too small", n)
	}
	if got := must(e.st.CurrentRevision(ctxT(t)))(t); got != rev {
		t.Errorf("hostile bodies moved the revision %d → %d", rev, got)
	}
	if after := dump(t, e, w); after != before {
		t.Errorf("hostile bodies changed the org:\n%s", diffLines(before, after))
	}
}

// withField is body with field k's value replaced by the JSON text v.
func withField(body map[string]any, k, v string) string {
	var b strings.Builder
	b.WriteString("{")
	first := true
	for k2, v2 := range body {
		if !first {
			b.WriteString(",")
		}
		first = false
		kj, _ := json.Marshal(k2)
		b.Write(kj)
		b.WriteString(":")
		if k2 == k {
			b.WriteString(v)
			continue
		}
		vj, _ := json.Marshal(v2)
		b.Write(vj)
	}
	b.WriteString("}")
	return b.String()
}

// TestLongPollsPerCallerAreBounded: a principal holding its limit of long
// polls and event streams (here 2 change-feed streams) is answered 429
// with Retry-After on every route that would wait — the change feed's
// wait and stream, the audit follow, an approval's wait — while calls
// that do not wait, and other principals, go on; ending a stream (the
// client going away) gives its slot back.
func TestLongPollsPerCallerAreBounded(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "sqlite", envOpts{cfg: func(c *server.Config) { c.MaxLongPolls = 2 }})
	w := buildWorld(t, e, "")
	org := "/v1/orgs/" + w.org
	stream := func() (stop func()) {
		t.Helper()
		ctx, cancel := context.WithCancel(ctxT(t))
		req, _ := http.NewRequestWithContext(ctx, "GET", e.URL+org+"/changes?after="+strconv.FormatUint(w.rev, 10), nil)
		req.Header.Set("Authorization", "Bearer "+w.owner)
		req.Header.Set("Accept", server.MediaTypeEventStream)
		res, err := e.hc.Do(req)
		if err != nil || res.StatusCode != http.StatusOK {
			t.Fatalf("opening a stream: %v %v", res, err)
		}
		return func() { cancel(); res.Body.Close() }
	}
	stop1, stop2 := stream(), stream()
	defer stop2()

	full := []call{
		{"a third stream's long poll", "GET", org + "/changes?wait=1", w.owner, nil, http.StatusTooManyRequests},
		{"following the audit log", "GET", org + "/audit?wait=1", w.owner, nil, http.StatusTooManyRequests},
		{"waiting for an approval", "GET", org + "/approvals/nosuch?wait=1", w.owner, nil, http.StatusTooManyRequests},
		{"the change feed without waiting", "GET", org + "/changes", w.owner, nil, http.StatusOK},
		{"the audit log without waiting", "GET", org + "/audit?wait=0", w.owner, nil, http.StatusOK},
		{"another principal's long poll", "GET", org + "/audit?wait=1", w.viewer, nil, http.StatusOK},
	}
	e.expect(t, full)
	req, _ := http.NewRequestWithContext(ctxT(t), "GET", e.URL+org+"/changes", nil)
	req.Header.Set("Authorization", "Bearer "+w.owner)
	req.Header.Set("Accept", server.MediaTypeEventStream)
	res, err := e.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusTooManyRequests || res.Header.Get("Retry-After") == "" {
		t.Errorf("a third stream: status %d Retry-After %q, want 429 with Retry-After", res.StatusCode, res.Header.Get("Retry-After"))
	}
	if r := e.do("GET", org+"/audit?wait=1", w.owner, nil); r.Header.Get("Retry-After") == "" || !strings.Contains(r.problem(t).Detail, "2 long polls") {
		t.Errorf("a refused long poll: Retry-After %q, problem %s; want Retry-After and the limit named", r.Header.Get("Retry-After"), r.Body)
	}

	// The client goes away: its slot comes back (the server notices the
	// closed connection at once, or at its next keep-alive).
	stop1()
	deadline := time.Now().Add(10 * time.Second)
	for {
		r := e.do("GET", org+"/audit?wait=10ms", w.owner, nil)
		if r.Status == http.StatusOK {
			break
		}
		if r.Status != http.StatusTooManyRequests || time.Now().After(deadline) {
			t.Fatalf("after a stream ended: status %d %s, want 200 within 10s", r.Status, r.Body)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// And a finished long poll gives its slot back: many in a row pass.
	for i := range 5 {
		if r := e.do("GET", org+"/changes?wait=10ms", w.owner, nil); r.Status != http.StatusOK {
			t.Fatalf("long poll %d after another ended: status %d %s", i, r.Status, r.Body)
		}
	}
}

// mcpRaw opens an MCP session at the gateway's pay endpoint as token,
// without the SDK's client (which sends only well-formed messages), and
// returns a function that posts a raw body in that session.
func mcpRaw(t *testing.T, w *mcpWorld, token string) func(method, body string) resp {
	t.Helper()
	const proto = "2025-06-18"
	sid := ""
	post := func(method, body string) resp {
		t.Helper()
		req, _ := http.NewRequestWithContext(ctxT(t), method, w.endpoint("pay"), strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		req.Header.Set("Mcp-Protocol-Version", proto)
		if sid != "" {
			req.Header.Set("Mcp-Session-Id", sid)
		}
		res, err := w.e.hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return resp{Status: res.StatusCode, Header: res.Header, Body: b}
	}
	r := post("POST", `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"`+proto+`","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}`)
	if r.Status != http.StatusOK || r.Header.Get("Mcp-Session-Id") == "" {
		t.Fatalf("initialize: %d %s", r.Status, r.Body)
	}
	sid = r.Header.Get("Mcp-Session-Id")
	if r := post("POST", `{"jsonrpc":"2.0","method":"notifications/initialized"}`); r.Status != http.StatusAccepted {
		t.Fatalf("initialized: %d %s", r.Status, r.Body)
	}
	return post
}

// toolCall is a tools/call message with raw arguments.
func toolCall(id int, name, args string) string {
	nj, _ := json.Marshal(name)
	return `{"jsonrpc":"2.0","id":` + strconv.Itoa(id) + `,"method":"tools/call","params":{"name":` + string(nj) + `,"arguments":` + args + `}}`
}

// TestMCPGatewayArgumentsAreReadOnce: the gateway decides a tools/call on
// its arguments and forwards their bytes; arguments that another parser
// could read otherwise — a name given twice, two names equal but for
// case, at any depth — are refused before anything is decided or reaches
// the upstream. mcpsmall may pay only amounts under 500 (condition small):
// {"amount": 100, "Amount": 900} was allowed, and an upstream decoding
// into a struct (encoding/json matches names in any case, the last wins)
// paid 900. Tool names are matched exactly: no case, Unicode or path
// variant reaches a tool, and neither a notification nor a batch carries
// a call past the decision.
func TestMCPGatewayArgumentsAreReadOnce(t *testing.T) {
	t.Parallel()
	w := newMCPWorld(t, "sqlite")
	small, viewer := mcpRaw(t, w, w.small), mcpRaw(t, w, w.viewer)
	type tc struct {
		name string
		post func(method, body string) resp
		body string
		// status is the HTTP status; allowed, for a 200, whether the call
		// ran (else a refusal saying why, in the result).
		status  int
		allowed bool
		says    string
	}
	cases := []tc{
		{"an amount under 500 (control)", small, toolCall(2, "pay", `{"amount":100}`), 200, true, "paid 100"},
		{"an amount over 500 (control)", small, toolCall(3, "pay", `{"amount":900}`), 200, false, "denied"},
		{"amount twice, the allowed value last", small, toolCall(4, "pay", `{"amount":900,"amount":100}`), 400, false, "twice"},
		{"amount twice, the allowed value first", small, toolCall(5, "pay", `{"amount":100,"amount":900}`), 400, false, "twice"},
		{"amount and Amount", small, toolCall(6, "pay", `{"amount":100,"Amount":900}`), 400, false, "twice"},
		{"AMOUNT and amount", small, toolCall(7, "pay", `{"AMOUNT":900,"amount":100}`), 400, false, "twice"},
		{"a nested name twice", small, toolCall(8, "pay", `{"amount":100,"memo":{"to":"a","To":"b"}}`), 400, false, "twice"},
		{"in an array", small, toolCall(9, "pay", `{"amount":100,"lines":[{"x":1,"x":2}]}`), 400, false, "twice"},
		{"sign and ſign (long s)", small, toolCall(18, "pay", `{"amount":100,"memo":{"sign":"a","ſign":"b"}}`), 400, false, "twice"},
		{"the tool's name twice", viewer, `{"jsonrpc":"2.0","id":10,"method":"tools/call","params":{"name":"echo","name":"pay","arguments":{"amount":1}}}`, 400, false, "twice"},
		{"the method twice", viewer, `{"jsonrpc":"2.0","id":11,"method":"tools/list","method":"tools/call","params":{"name":"pay","arguments":{"amount":1}}}`, 400, false, "twice"},
		{"a call and data after it", viewer, toolCall(12, "echo", `{"text":"x"}`) + ` x`, 400, false, "not one JSON value"},
		{"two calls in one body", viewer, toolCall(13, "echo", `{"text":"x"}`) + toolCall(14, "pay", `{"amount":1}`), 400, false, "not one JSON value"},
		{"a batch", viewer, `[` + toolCall(15, "pay", `{"amount":1}`) + `]`, 400, false, "batch"},
		{"a call as a notification", viewer, `{"jsonrpc":"2.0","method":"tools/call","params":{"name":"pay","arguments":{"amount":1}}}`, 400, false, "id"},
		{"arguments nested 10,000 deep", viewer, toolCall(16, "echo", deepJSON(10_000)), 400, false, "nested"},
		{"arguments nested 101 deep", viewer, toolCall(19, "echo", deepJSON(101)), 400, false, "nested more than 100"},
		{"a body over 4 MiB", viewer, toolCall(17, "echo", `{"text":"`+strings.Repeat("a", 4<<20)+`"}`), 413, false, "4194304"},
	}
	for i, name := range []string{"Pay", "PAY", "pay ", " pay", "ｐａｙ", "pay\u200b", "pay\x00", "pay.pay", "tools/pay.pay", "prod/pay", "../pay", "pay/"} {
		cases = append(cases, tc{"the tool name " + strconv.Quote(name), viewer, toolCall(100+i, name, `{"amount":1}`), 200, false, "not available"})
	}
	for _, c := range cases {
		before := w.up.count("pay") + w.up.count("echo")
		r := c.post("POST", c.body)
		ran := w.up.count("pay")+w.up.count("echo") > before
		if r.Status != c.status || ran != c.allowed || !strings.Contains(string(r.Body), c.says) {
			t.Errorf("%s: status %d, reached the upstream %v, %.300s; want %d, %v, saying %q", c.name, r.Status, ran, r.Body, c.status, c.allowed, c.says)
		}
	}
}

// TestMCPGatewayBodies: what TestEveryRouteRefusesHostileBodies sends the
// API's routes, the gateway's two mounts get — an endpoint (a body over
// 4 MiB, nested 10,000 deep, a member named twice, data after it; a body
// on GET or DELETE) and the metadata document (a body on GET) — each
// refused, never a 500.
func TestMCPGatewayBodies(t *testing.T) {
	t.Parallel()
	w := newMCPWorld(t, "sqlite")
	post := mcpRaw(t, w, w.caller)
	for _, c := range []struct {
		name, method, body string
		status             int
	}{
		{"over the limit", "POST", `{"x":"` + strings.Repeat("a", 4<<20) + `"}`, 413},
		{"nested 10,000 deep", "POST", deepJSON(10_000), 400},
		{"a member twice", "POST", `{"jsonrpc":"2.0","jsonrpc":"2.0","id":2,"method":"tools/list"}`, 400},
		{"data after the message", "POST", `{"jsonrpc":"2.0","id":3,"method":"tools/list"} x`, 400},
		{"a body on GET", "GET", `{"jsonrpc":"2.0","id":4,"method":"tools/list"}`, 400},
		{"a body on DELETE", "DELETE", `{"a":1}`, 400},
	} {
		if r := post(c.method, c.body); r.Status != c.status {
			t.Errorf("endpoint, %s: status %d, want %d; %.200s", c.name, r.Status, c.status, r.Body)
		}
	}
	req, _ := http.NewRequestWithContext(ctxT(t), "GET", w.e.URL+mcpgw.MetadataPrefix+w.org+"/prod/pay", strings.NewReader(`{"a":1}`))
	res, err := w.e.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusBadRequest {
		t.Errorf("metadata with a body: status %d, want 400", res.StatusCode)
	}
}

// TestMeLookupCrossOrgAttacks: GET /v1/me/lookup/resources lists only
// what the caller may do in the orgs it is a member of now: not another
// org's resources through a cursor naming that org (or carrying its page
// token), nor a namespace that exists only elsewhere; an invited user who
// has not accepted sees nothing of the inviting org; an org-confined key
// its org alone; a viewer only what was shared with it; an agent token
// authenticates nowhere here.
func TestMeLookupCrossOrgAttacks(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "sqlite", envOpts{})
	gina, hank, vic := e.user("gina"), e.user("hank"), e.user("vic")
	_, ivy, err := e.auth.Bootstrap(ctxT(t), store.User{ID: "ivy", Email: "ivy@example.com"}, "test")
	if err != nil {
		t.Fatal(err)
	}
	for _, org := range []string{"alpha", "mid"} {
		e.must(201, "POST", "/v1/orgs", gina, map[string]any{"id": org}, nil)
		e.must(201, "POST", "/v1/orgs/"+org+"/resources", gina, map[string]any{"namespace": "default", "type": "chains", "id": "c1"}, nil)
	}
	e.must(201, "POST", "/v1/orgs/alpha/resources", gina, map[string]any{"namespace": "default", "type": "chains", "id": "shared"}, nil)
	e.must(201, "POST", "/v1/orgs/alpha/members", gina, map[string]any{"user_id": "vic", "role": "viewer"}, nil)
	e.must(201, "POST", "/v1/orgs/alpha/namespaces/default/resources/chains/shared/shares", gina, map[string]any{"principal": "user:vic", "actions": []string{"run"}}, nil)
	e.invite("/v1/orgs/alpha", gina, "ivy@example.com", "owner")
	e.must(201, "POST", "/v1/orgs", hank, map[string]any{"id": "hanks"}, nil)
	e.must(201, "POST", "/v1/orgs/hanks/namespaces", hank, map[string]any{"name": "vault"}, nil)
	for _, ns := range []string{"default", "vault"} {
		e.must(201, "POST", "/v1/orgs/hanks/resources", hank, map[string]any{"namespace": ns, "type": "chains", "id": "secret"}, nil)
	}
	var kc server.KeyCreated
	e.must(201, "POST", "/v1/orgs/mid/apikeys", gina, map[string]any{}, &kc)
	var hanksPage api.MeLookupResourcesResponse
	e.must(200, "GET", "/v1/me/lookup/resources?action=chains:run&page_size=1", hank, nil, &hanksPage)
	hanksCursor := base64.RawURLEncoding.EncodeToString([]byte("hanks\x00"))

	list := func(key, query string) []string {
		t.Helper()
		var page api.MeLookupResourcesResponse
		e.must(200, "GET", "/v1/me/lookup/resources?action=chains:run&page_size=100"+query, key, nil, &page)
		out := []string{}
		for _, r := range page.Items {
			out = append(out, r.Org+"/"+r.Namespace+"/"+r.Type+"/"+r.ID)
		}
		return out
	}
	for _, tc := range []struct {
		name, key, query string
		want             []string
	}{
		{"the owner of two orgs", gina, "", []string{"alpha/default/chains/c1", "alpha/default/chains/shared", "mid/default/chains/c1"}},
		{"a cursor naming an org of another", gina, "&cursor=" + hanksCursor, []string{"mid/default/chains/c1"}},
		{"another's cursor, its page token", gina, "&cursor=" + url.QueryEscape(hanksPage.NextCursor), []string{"mid/default/chains/c1"}},
		{"a namespace only another org has", gina, "&namespace=vault", []string{}},
		{"a viewer with one share", vic, "", []string{"alpha/default/chains/shared"}},
		{"a viewer, a cursor naming another org", vic, "&cursor=" + hanksCursor, []string{}},
		{"invited as owner, not accepted", ivy, "", []string{}},
		{"a key confined to mid", kc.Token, "", []string{"mid/default/chains/c1"}},
		{"a key confined to mid, a cursor naming alpha", kc.Token, "&cursor=" + base64.RawURLEncoding.EncodeToString([]byte("alpha\x00")), []string{"mid/default/chains/c1"}},
	} {
		if d := cmp.Diff(tc.want, list(tc.key, tc.query)); d != "" {
			t.Errorf("%s (-want +got):\n%s", tc.name, d)
		}
	}
	e.must(201, "POST", "/v1/orgs/alpha/agents", gina, map[string]any{"name": "Bot", "role": "owner"}, nil)
	var tok struct {
		Token string `json:"token"`
	}
	e.must(201, "POST", "/v1/orgs/alpha/agents/Bot/tokens", gina, map[string]any{"audience": e.URL + "/v1/me/lookup/resources", "on_behalf_of": "user:gina"}, &tok)
	e.expect(t, []call{
		{"an agent token at its audience", "GET", "/v1/me/lookup/resources?action=chains:run", tok.Token, nil, http.StatusUnauthorized},
		{"no credential", "GET", "/v1/me/lookup/resources?action=chains:run", "", nil, http.StatusUnauthorized},
	})
}

// TestMCPGatewayUnknownToolNamesAreClipped: the name of a tool that is not
// imported is the caller's; it was recorded whole in the mcp.call entry,
// so one call of a 60 KB name (up to the 4 MiB body) wrote that much into
// the append-only audit log, every time. It is recorded (and echoed) cut
// to 128 bytes, with its length.
func TestMCPGatewayUnknownToolNamesAreClipped(t *testing.T) {
	t.Parallel()
	w := newMCPWorld(t, "sqlite")
	post := mcpRaw(t, w, w.viewer)
	long := strings.Repeat("é", 30<<10) // 60 KiB, two bytes a character
	if r := post("POST", toolCall(2, long, `{}`)); r.Status != http.StatusOK || !strings.Contains(string(r.Body), "not available") || len(r.Body) > 4<<10 {
		t.Errorf("a 60 KiB tool name: status %d, %d bytes: %.200s", r.Status, len(r.Body), r.Body)
	}
	var entries struct {
		Items []struct {
			Details map[string]any `json:"details"`
		} `json:"items"`
	}
	w.e.must(200, "GET", "/v1/orgs/"+w.org+"/audit?action=mcp.call", w.owner, nil, &entries)
	if len(entries.Items) != 1 {
		t.Fatalf("%d mcp.call entries, want 1", len(entries.Items))
	}
	d := entries.Items[0].Details
	got := map[string]any{"tool": d["tool"], "tool_bytes": d["tool_bytes"], "reason": d["reason"]}
	want := map[string]any{"tool": strings.Repeat("é", 64), "tool_bytes": float64(len(long)), "reason": "unknown_tool"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("the entry of a call of an unknown 60 KiB name (-want +got):\n%.2000s", diff)
	}
}

// TestAuthFailuresRecordOnlyAnOrgName: a refused credential is recorded
// in the deployment's audit log with the org its path named. Anyone may
// send one, and the path's {org} was recorded whatever it was: each
// anonymous request could add up to the 64 KiB request line to the
// append-only log. Only an org name (a slug of at most 63 bytes) is
// recorded now.
func TestAuthFailuresRecordOnlyAnOrgName(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "sqlite", envOpts{})
	for i, tc := range []struct {
		name, org string
		recorded  bool
	}{
		{"an org name", "acme", true},
		{"60 KiB of path", strings.Repeat("x", 60<<10), false},
		{"not a name", "Acme%20Corp", false},
	} {
		// A key of its own each: one key's refusals from one address are
		// recorded once a minute (row 100).
		bogus := "gth_012345678" + strconv.Itoa(i) + "abcdef_" + strings.Repeat("a", 52)
		if r := e.do("POST", "/v1/orgs/"+tc.org+"/check", bogus, `{}`); r.Status != http.StatusUnauthorized {
			t.Fatalf("%s: status %d, want 401", tc.name, r.Status)
		}
		recs, _, err := e.st.ListAudit(ctxT(t), audit.SystemOrg, store.AuditFilter{Action: "auth.failure"}, store.Page{})
		if err != nil || len(recs) == 0 {
			t.Fatalf("%s: no auth.failure entry (%v)", tc.name, err)
		}
		body := string(recs[len(recs)-1].Body)
		if got := strings.Contains(body, `"org":"`+tc.org+`"`); got != tc.recorded || len(body) > 2<<10 {
			t.Errorf("%s: org recorded %v (want %v), entry of %d bytes: %.300s", tc.name, got, tc.recorded, len(body), body)
		}
		e.auth.ResetLimits()
	}
}

// TestMCPImportReachesNoMetadataService: anyone may create an org and, as
// its owner, import an MCP server naming any URL; the import's 502 said
// what answered there — "Forbidden" from 169.254.169.254, the cloud
// metadata service that hands out the host's credentials. Link-local,
// metadata, unspecified and multicast addresses are refused before they
// are dialed (the server's log says so; the answer is branch ssrf's one
// fixed text).
func TestMCPImportReachesNoMetadataService(t *testing.T) {
	t.Parallel()
	var logs lockedBuffer
	e := newEnv(t, "sqlite", envOpts{cfg: func(c *server.Config) { c.Logger = slog.New(slog.NewTextHandler(&logs, nil)) }})
	eve := e.user("eve")
	e.must(201, "POST", "/v1/orgs", eve, map[string]any{"id": "eves"}, nil)
	for i, u := range []string{"http://169.254.169.254/latest/meta-data/", "http://[fe80::1]:8080/mcp", "http://[fd00:ec2::254]/", "http://0.0.0.0:8080/mcp", "http://224.0.0.1/mcp"} {
		r := e.do("POST", "/v1/orgs/eves/namespaces/default/mcp/servers", eve, map[string]any{"name": "x", "url": u, "dry_run": true})
		if r.Status != http.StatusBadGateway || r.problem(t).Detail != "MCP server "+u+": "+mcpspec.Unreachable {
			t.Errorf("importing %s: status %d, %.300s; want 502, unreachable", u, r.Status, r.Body)
		}
		if got := strings.Count(logs.String(), "MCP upstream policy allows"); got != i+1 {
			t.Errorf("importing %s: the log says %d times that an address was refused, want %d:\n%s", u, got, i+1, logs.String())
		}
	}
}

// TestAuthFailuresAreThrottled (docs/threat-model.md row 100): a refused
// bearer credential was recorded one entry a refusal (up to the
// limiter's 10 and then 1 every 2 s per address), and a rate-limited
// refusal not at all, so a guesser's persistence past the limit left no
// trace. Now, on the API and at the MCP gateway alike: one entry per
// reason, key and address a minute, with the digest of the key's id
// (never the key), and the rate-limited refusals recorded the same way.
func TestAuthFailuresAreThrottled(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "sqlite", envOpts{})
	bogus := "gth_00112233445566ff_" + strings.Repeat("c", 52)
	sum := sha256.Sum256([]byte("00112233445566ff"))
	digest := hex.EncodeToString(sum[:])
	for _, path := range []string{"/v1/orgs/acme/check", "/mcp/acme/prod/pay"} {
		e.auth.ResetLimits()
		for i := range 15 {
			want := http.StatusUnauthorized
			if i >= 10 {
				want = http.StatusTooManyRequests
			}
			if r := e.do("POST", path, bogus, `{}`); r.Status != want {
				t.Fatalf("%s, attempt %d: status %d, want %d", path, i, r.Status, want)
			}
		}
	}
	e.auth.ResetLimits()
	recs, _, err := e.st.ListAudit(ctxT(t), audit.SystemOrg, store.AuditFilter{Action: "auth.failure"}, store.Page{Size: store.MaxPageSize})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, rec := range recs {
		ent, err := audit.FromRecord(rec)
		if err != nil {
			t.Fatal(err)
		}
		var d struct {
			Reason    string `json:"reason"`
			KeyDigest string `json:"key_id_sha256"`
		}
		_ = json.Unmarshal(ent.Details, &d)
		got = append(got, ent.Target+" "+d.Reason+" "+d.KeyDigest)
		if strings.Contains(string(rec.Body), bogus[4:20]) || strings.Contains(string(rec.Body), bogus[21:41]) {
			t.Errorf("the entry quotes the key: %s", rec.Body)
		}
	}
	want := []string{
		"route/POST /v1/orgs/{org}/check unauthenticated " + digest,
		"route/POST /v1/orgs/{org}/check rate_limited ",
		"route/mcp unauthenticated " + digest,
		"route/mcp rate_limited ",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("auth.failure entries for 2 × (10 refused + 5 rate limited) (-want +got):\n%s", diff)
	}
}

// TestMCPGatewayRefusesPastedCredentials (docs/threat-model.md row 102):
// a Gatehouse credential in a JSON-RPC message — a tool argument at any
// depth, a member's name, the tool's name, any other param — was
// forwarded to the upstream (echo answered it back), and in a call that
// needs approval stored with the request and shown to its approvers. It
// is refused 400 naming the member, never the value, before anything is
// decided, recorded or forwarded, as the API refuses one in a body.
func TestMCPGatewayRefusesPastedCredentials(t *testing.T) {
	t.Parallel()
	w := newMCPWorld(t, "sqlite")
	viewer := mcpRaw(t, w, w.viewer)
	pasted := w.owner // a real API key
	var sess server.SessionResponse
	w.e.must(201, "POST", "/v1/sessions", w.owner, nil, &sess)
	jwt := sess.Token // a real session: a JWT Gatehouse issued
	for _, c := range []struct {
		name, body, member string
	}{
		{"an argument", toolCall(2, "echo", `{"text":"my key is `+pasted+`"}`), `params.arguments.text`},
		{"a nested argument", toolCall(3, "echo", `{"text":"x","meta":{"to":["a","`+jwt+`"]}}`), `params.arguments.meta.to[1]`},
		{"an argument's name", toolCall(4, "echo", `{"`+pasted+`":"x"}`), `params.arguments`},
		{"the tool's name", toolCall(5, pasted, `{}`), `params.name`},
		{"the request id", `{"jsonrpc":"2.0","id":"` + pasted + `","method":"tools/list"}`, `id`},
	} {
		before := w.up.count("echo")
		r := viewer("POST", c.body)
		if r.Status != http.StatusBadRequest || !strings.Contains(string(r.Body), c.member) {
			t.Errorf("%s: status %d, %.300s; want 400 naming %s", c.name, r.Status, r.Body, c.member)
		}
		if w.up.count("echo") != before {
			t.Errorf("%s: the call reached the upstream", c.name)
		}
		for _, leak := range []string{pasted, pasted[4:20], pasted[21:41], jwt} {
			if strings.Contains(string(r.Body), leak) {
				t.Errorf("%s: the refusal quotes the credential: %.300s", c.name, r.Body)
			}
		}
	}
	// The same call without the credential goes through, and so does a
	// JWT that another issuer signed (an argument the upstream may need:
	// only Gatehouse's own sessions are kept from it).
	if r := viewer("POST", toolCall(9, "echo", `{"text":"hello"}`)); r.Status != http.StatusOK || !strings.Contains(string(r.Body), "echo: hello") {
		t.Errorf("a plain echo: %d %.300s", r.Status, r.Body)
	}
	const theirs = "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJodHRwczovL2FjY291bnRzLmV4YW1wbGUuY29tIiwic3ViIjoib2N0b2NhdCJ9.c2lnbmF0dXJlc2lnbmF0dXJl"
	if r := viewer("POST", toolCall(10, "echo", `{"text":"`+theirs+`"}`)); r.Status != http.StatusOK || !strings.Contains(string(r.Body), "echo: "+theirs) {
		t.Errorf("an echo of another issuer's JWT: %d %.300s, want it forwarded", r.Status, r.Body)
	}
	recs, _, err := w.e.st.ListAudit(ctxT(t), w.org, store.AuditFilter{}, store.Page{Size: store.MaxPageSize})
	if err != nil {
		t.Fatal(err)
	}
	for _, rec := range recs {
		if strings.Contains(string(rec.Body), pasted[21:41]) {
			t.Errorf("audit entry %d quotes the credential: %.300s", rec.Seq, rec.Body)
		}
	}
}
