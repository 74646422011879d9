package server_test

import (
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/internal/mcpgw"
	"github.com/gatehouse-dev/gatehouse/internal/server"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// The attacks of branch redteam5 (docs/threat-model.md rows 77–82): the
// open items of the earlier reviews.

// securityHeaders is what TestEveryAnswerCarriesSecurityHeaders reads of
// an answer.
type securityHeaders struct {
	Nosniff, HSTS string
}

func securityHeadersOf(h http.Header) securityHeaders {
	return securityHeaders{Nosniff: h.Get("X-Content-Type-Options"), HSTS: h.Get("Strict-Transport-Security")}
}

// TestEveryAnswerCarriesSecurityHeaders walks every pattern the server's
// mux serves (Server.Patterns, so a route or mount added later is walked
// too) and sends each, anonymously and as the org's owner with a body the
// route refuses and with a valid one: every answer — successes, 401s,
// 400s, 404s, 405s, problems — carries X-Content-Type-Options: nosniff;
// Strict-Transport-Security only where the server is reached over HTTPS
// (an https public URL, or a request over TLS), never on plain HTTP.
func TestEveryAnswerCarriesSecurityHeaders(t *testing.T) {
	t.Parallel()
	console := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("console"))
	})
	tests := []struct {
		name      string
		publicURL string
		want      securityHeaders
	}{
		{"plain http", "", securityHeaders{Nosniff: "nosniff"}},
		{"an http public url", "http://gatehouse.example", securityHeaders{Nosniff: "nosniff"}},
		{"an https public url", "https://gatehouse.example", securityHeaders{Nosniff: "nosniff", HSTS: "max-age=31536000"}},
		{"an HTTPS public url in capitals", "HTTPS://gatehouse.example", securityHeaders{Nosniff: "nosniff", HSTS: "max-age=31536000"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, "sqlite", envOpts{cfg: func(c *server.Config) {
				c.PublicURL = tt.publicURL
				c.Console = console
				c.MetricsToken = "metrics-token"
			}})
			w := buildWorld(t, e, "")
			check := func(what string, r resp) {
				t.Helper()
				if diff := cmp.Diff(tt.want, securityHeadersOf(r.Header)); diff != "" {
					t.Errorf("%s: status %d, security headers (-want +got):\n%s", what, r.Status, diff)
				}
			}
			table := map[string]*server.Route{}
			for _, rt := range e.srv.Routes() {
				table[rt.Pattern()] = rt
			}
			mounted := map[string]string{
				mcpgw.Prefix:         mcpgw.Prefix + w.org + "/nowhere",
				mcpgw.MetadataPrefix: mcpgw.MetadataPrefix + w.org + "/nowhere",
				"/":                  "/v1/nowhere",
				"/console/":          "/console/",
				"GET /console":       "/console",
			}
			statuses := map[int]bool{}
			n := 0
			for _, p := range e.srv.Patterns() {
				rt, ok := table[p]
				if !ok {
					path, ok := mounted[p]
					if !ok {
						t.Errorf("the mux serves %q, neither a route nor a known mount: add it to this walk", p)
						continue
					}
					for _, m := range []string{"GET", "POST", "DELETE"} {
						r := e.doCT(m, path, w.owner, "application/json", `{}`)
						check(m+" "+path, r)
						statuses[r.Status] = true
						n++
					}
					continue
				}
				path := fill(t, rt.Path, w.params) + query(rt)
				tok := w.owner
				if rt.Pattern() == "GET /metrics" {
					tok = "metrics-token"
				}
				for _, c := range []struct {
					name, key string
					body      any
				}{
					{"anonymous", "", nil},
					{"a bad credential", "gth_0000000000000000_" + strings.Repeat("a", 52), nil},
					{"a field twice", tok, `{"a":1,"a":1}`},
					{"a valid body", tok, example(w, rt)},
				} {
					r := e.do(rt.Method, path, c.key, c.body)
					check(rt.Pattern()+" "+c.name, r)
					statuses[r.Status] = true
					n++
				}
				// Another method on the same path: 405 from the catch-all.
				if rt.Method != "PATCH" {
					r := e.do("PATCH", path, w.owner, nil)
					check("PATCH "+path, r)
					statuses[r.Status] = true
				}
				e.auth.ResetLimits()
			}
			for _, st := range []int{200, 201, 400, 401, 404, 405} {
				if !statuses[st] {
					t.Errorf("no answer of status %d seen in %d requests: the walk does not reach what it claims", st, n)
				}
			}
			// The metrics on a listener of their own.
			for _, token := range []string{"", "metrics-token"} {
				rec := httptest.NewRecorder()
				req := httptest.NewRequest("GET", "/metrics", nil)
				e.srv.MetricsHandler(token).ServeHTTP(rec, req)
				check("MetricsHandler("+token+")", resp{Status: rec.Code, Header: rec.Header()})
			}
		})
	}

	// A request that came over TLS gets HSTS whatever the public URL.
	e := newEnv(t, "sqlite", envOpts{})
	for _, path := range []string{"/healthz", "/v1/nowhere", "/v1/orgs/acme/check"} {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("POST", path, strings.NewReader(`{}`))
		req.TLS = &tls.ConnectionState{}
		e.srv.ServeHTTP(rec, req)
		want := securityHeaders{Nosniff: "nosniff", HSTS: "max-age=31536000"}
		if diff := cmp.Diff(want, securityHeadersOf(rec.Header())); diff != "" {
			t.Errorf("POST %s over TLS: status %d, security headers (-want +got):\n%s", path, rec.Code, diff)
		}
	}
}

// longPollsHeld reads the gatehouse_long_polls_held gauge.
func longPollsHeld(t *testing.T, e *env) string {
	t.Helper()
	for _, line := range strings.Split(string(e.must(200, "GET", "/metrics", testMetricsToken, nil, nil).Body), "\n") {
		if v, ok := strings.CutPrefix(line, "gatehouse_long_polls_held "); ok {
			return v
		}
	}
	t.Fatal("no gatehouse_long_polls_held in the metrics")
	return ""
}

// waitHeld waits until the gauge reads want (a wait under way in another
// goroutine has taken its slot).
func waitHeld(t *testing.T, e *env, want string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for longPollsHeld(t, e) != want {
		if time.Now().After(deadline) {
			t.Fatalf("gatehouse_long_polls_held = %s, want %s within 20s", longPollsHeld(t, e), want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestMCPGatewayWaitsCountAsLongPolls: a tools/call that waits for an
// approval (wait_for_approval) holds one of its principal's
// --max-long-polls slots (here 1): while it waits, the principal's next
// waiting call is refused with the gateway's CodeBusy error (status 429,
// the API's rate_limited type, Retry-After seconds and the approval to
// come back for), without waiting and without reaching the upstream, and
// its API long polls are 429; another principal is not affected. When the
// wait ends (the approval granted) the slot is given back: the refused
// call, made again, waits and proceeds.
func TestMCPGatewayWaitsCountAsLongPolls(t *testing.T) {
	t.Parallel()
	w := newMCPWorldWith(t, "sqlite", envOpts{cfg: func(c *server.Config) {
		c.MaxLongPolls = 1
		c.MetricsToken = testMetricsToken
	}})
	e := w.e
	org := "/v1/orgs/" + w.org
	e.must(201, "POST", org+"/resources", w.owner, map[string]any{"namespace": "prod", "type": "mcp_servers", "id": "paywait",
		"spec": map[string]any{"url": w.up.URL, "secrets": []string{"UPSTREAM_TOKEN"}, "credential": map[string]any{"secret": "UPSTREAM_TOKEN"}, "wait_for_approval": "30s"}}, nil)
	e.must(201, "POST", org+"/resources", w.owner, map[string]any{"namespace": "prod", "type": "tools", "id": "paywait.delete_account",
		"spec": map[string]any{"server": "paywait", "tool": "delete_account"}}, nil)
	caller := w.agentAt(t, "paywait", w.caller)
	call := func(cs *mcp.ClientSession, account string) <-chan error {
		done := make(chan error, 1)
		go func() {
			res, err := cs.CallTool(ctxT(t), &mcp.CallToolParams{Name: "delete_account", Arguments: map[string]any{"account": account}})
			if err == nil && (res.IsError || resultText(res) != "deleted "+account) {
				err = fmt.Errorf("result isError %v: %q", res.IsError, resultText(res))
			}
			done <- err
		}()
		return done
	}
	// pendingBut is the one pending approval that is none of known.
	pendingBut := func(known ...string) string {
		t.Helper()
		var list struct {
			Items []struct {
				ID string `json:"id"`
			} `json:"items"`
		}
		e.must(200, "GET", org+"/approvals?status=pending", w.admin, nil, &list)
		var ids []string
		for _, it := range list.Items {
			if !slices.Contains(known, it.ID) {
				ids = append(ids, it.ID)
			}
		}
		if len(ids) != 1 {
			t.Fatalf("pending approvals besides %q: %q, want one", known, ids)
		}
		return ids[0]
	}

	waitHeld(t, e, "0")
	first := call(caller, "a-1")
	waitHeld(t, e, "1")
	a1 := pendingBut()

	// The second waiting call: refused at once, in MCP's error form.
	_, err := caller.CallTool(ctxT(t), &mcp.CallToolParams{Name: "delete_account", Arguments: map[string]any{"account": "a-2"}})
	var werr *jsonrpc.Error
	if !errors.As(err, &werr) {
		t.Fatalf("a second waiting call: error %v, want a JSON-RPC error", err)
	}
	var data struct {
		Status     int            `json:"status"`
		Type       string         `json:"type"`
		RetryAfter int            `json:"retry_after"`
		Approval   map[string]any `json:"approval"`
	}
	if err := json.Unmarshal(werr.Data, &data); err != nil {
		t.Fatalf("error %+v data %s: %v", werr, werr.Data, err)
	}
	a2 := pendingBut(a1)
	got := struct {
		Code                   int64
		Status, RetryAfter     int
		Type, ApprovalStatus   string
		NamesLimit, NamesAppro bool
	}{werr.Code, data.Status, data.RetryAfter, data.Type, fmt.Sprint(data.Approval["status"]),
		strings.Contains(werr.Message, "1 long polls"), data.Approval["id"] == a2 && strings.Contains(werr.Message, a2)}
	want := got
	want.Code, want.Status, want.RetryAfter, want.Type, want.ApprovalStatus = mcpgw.CodeBusy, 429, 5, server.ProblemBase+server.ProblemRateLimited, "pending"
	want.NamesLimit, want.NamesAppro = true, true
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("the refused call (-want +got):\n%s\nmessage %q", diff, werr.Message)
	}
	if n := w.up.count("delete_account"); n != 0 {
		t.Errorf("upstream delete_account calls = %d while waiting, want 0", n)
	}
	// The API's long polls of the same principal are full too.
	if r := e.do("GET", org+"/approvals/"+a2+"?wait=1s", w.caller, nil); r.Status != http.StatusTooManyRequests {
		t.Errorf("the caller's long poll while its gateway call waits: %d %s, want 429", r.Status, r.Body)
	}
	// Another principal's waiting call is not refused.
	other := call(w.agentAt(t, "paywait", w.caller2), "b-1")
	waitHeld(t, e, "2")
	b1 := pendingBut(a1, a2)

	// The first wait ends: its slot is back.
	e.must(200, "POST", org+"/approvals/"+a1+"/approve", w.admin, nil, nil)
	if err := <-first; err != nil {
		t.Fatalf("the first call after its approval: %v", err)
	}
	waitHeld(t, e, "1")
	again := call(caller, "a-2")
	waitHeld(t, e, "2")
	e.must(200, "POST", org+"/approvals/"+a2+"/approve", w.admin, nil, nil)
	if err := <-again; err != nil {
		t.Errorf("the refused call made again after the first wait ended: %v", err)
	}
	e.must(200, "POST", org+"/approvals/"+b1+"/approve", w.admin, nil, nil)
	if err := <-other; err != nil {
		t.Errorf("the other principal's call: %v", err)
	}
	waitHeld(t, e, "0")
	if n := w.up.count("delete_account"); n != 3 {
		t.Errorf("upstream delete_account calls = %d, want 3 (a-1, a-2 again, b-1)", n)
	}
}

// TestLookupInAnUnknownNamespace: a resource lookup naming a namespace the
// org does not have answers what a check of the same question does —
// reason unknown_namespace (status 200, no items) — instead of an empty
// list that looks like "nothing allowed"; a namespace of another org is as
// unknown as a made-up one. A caller that may not ask (a non-member of
// the org, a member asking about another principal without
// bindings:read) gets the same refusal whether the namespace exists or
// not: no existence leaks.
func TestLookupInAnUnknownNamespace(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "sqlite", envOpts{})
	w := buildWorld(t, e, "")
	other := buildWorld(t, e, "b") // org bacme, namespace bprod
	type answer struct {
		Status        int
		Items         int
		Reason        string
		Problem       string
		Detail        string
		CheckReason   string
		CheckStatus   int
		CheckProblemT string
	}
	ask := func(key, principal, ns string) answer {
		t.Helper()
		body := map[string]any{"principal": principal, "action": "chains:run", "namespace": ns}
		r := e.do("POST", "/v1/orgs/"+w.org+"/lookup/resources", key, body)
		c := e.do("POST", "/v1/orgs/"+w.org+"/check", key, map[string]any{"principal": principal, "action": "chains:run", "resource": "chains/triage", "namespace": ns})
		var a answer
		a.Status, a.CheckStatus = r.Status, c.Status
		if r.Status == 200 {
			var out server.LookupResourcesResponse
			r.json(t, &out)
			a.Items, a.Reason = len(out.Items), out.Reason
		} else {
			p := r.problem(t)
			a.Problem, a.Detail = p.Type, strings.ReplaceAll(p.Detail, ns, "{ns}") // the detail may name what was asked
		}
		if c.Status == 200 {
			var out server.CheckResponse
			c.json(t, &out)
			a.CheckReason = out.Reason
		} else {
			a.CheckProblemT = c.problem(t).Type
		}
		return a
	}
	member := "user:" + w.memberID
	unknown := answer{Status: 200, Reason: "unknown_namespace", CheckStatus: 200, CheckReason: "unknown_namespace"}
	tests := []struct {
		name      string
		key       string
		principal string
		ns        string
		want      answer
		sameAs    string // or: the same answer as in this namespace
	}{
		{"the owner, an existing namespace", w.owner, member, "prod", answer{Status: 200, Items: 1, CheckStatus: 200}, ""},
		{"the owner, no such namespace", w.owner, member, "staging", unknown, ""},
		{"the owner, another org's namespace", w.owner, member, "bprod", unknown, ""},
		{"the member about itself, no such namespace", w.mkey, member, "staging", unknown, ""},
		{"a member who may not ask about another, no such namespace", w.nobody, member, "staging", answer{}, "prod"},
		{"a non-member of the org, no such namespace", other.owner, member, "staging", answer{}, "prod"},
		{"a non-member of the org, its own org's namespace", other.owner, member, "bprod", answer{}, "prod"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ask(tt.key, tt.principal, tt.ns)
			want := tt.want
			if tt.sameAs != "" {
				want = ask(tt.key, tt.principal, tt.sameAs)
				if want.Status == 200 {
					t.Fatalf("the comparison in %s is not a refusal: %+v", tt.sameAs, want)
				}
			}
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("lookup and check in namespace %q (-want +got):\n%s", tt.ns, d)
			}
		})
	}
}

// TestRequestIDsAreTheServers: a request id is the server's own, after the
// client's X-Request-Id and a '~' when it sent a plain one; the answer's
// header, problems and the audit entry carry that one id. Two requests
// never share one — the same client id twice, another request's whole id
// sent as the client's, an id with the separator in it — so a caller
// cannot file its audit entries under another request's id.
func TestRequestIDsAreTheServers(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "sqlite", envOpts{})
	w := buildWorld(t, e, "")
	org := "/v1/orgs/" + w.org
	create := func(slug, clientID string) string {
		t.Helper()
		req, _ := http.NewRequestWithContext(ctxT(t), "POST", e.URL+org+"/teams", strings.NewReader(`{"slug":"`+slug+`"}`))
		req.Header.Set("Authorization", "Bearer "+w.owner)
		req.Header.Set("Content-Type", "application/json")
		if clientID != "" {
			req.Header.Set("X-Request-Id", clientID)
		}
		res, err := e.hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusCreated {
			t.Fatalf("creating team %s: %d", slug, res.StatusCode)
		}
		return res.Header.Get("X-Request-Id")
	}
	first := create("t-first", "")
	ids := map[string]string{
		"t-first":    first,
		"t-replay":   create("t-replay", first),
		"t-mine-1":   create("t-mine-1", "mine"),
		"t-mine-2":   create("t-mine-2", "mine"),
		"t-tilde":    create("t-tilde", first+"~x"),
		"t-long":     create("t-long", strings.Repeat("a", 65)),
		"t-nonplain": create("t-nonplain", "a b"),
	}
	// What the client sees: its value first when it sent a plain one.
	clientPart := map[string]string{}
	for slug, id := range ids {
		c, _, ok := strings.Cut(id, "~")
		if !ok {
			c = ""
		}
		clientPart[slug] = c
	}
	wantClient := map[string]string{"t-first": "", "t-replay": first, "t-mine-1": "mine", "t-mine-2": "mine", "t-tilde": "", "t-long": "", "t-nonplain": ""}
	if d := cmp.Diff(wantClient, clientPart); d != "" {
		t.Errorf("the client's part of each answer's X-Request-Id (-want +got):\n%s", d)
	}
	// Every answer's id is its own.
	seen := map[string]string{}
	for slug, id := range ids {
		if other, dup := seen[id]; dup {
			t.Errorf("teams %s and %s were answered with the same request id %q", slug, other, id)
		}
		seen[id] = slug
	}
	// The audit entries carry the answers' ids, one request each.
	var list struct {
		Items []struct {
			Action string `json:"action"`
			Target string `json:"target"`
			Actor  struct {
				RequestID string `json:"request_id"`
			} `json:"actor"`
		} `json:"items"`
	}
	e.must(200, "GET", org+"/audit?page_size=1000", w.owner, nil, &list)
	got := map[string]string{}
	byID := map[string][]string{}
	for _, en := range list.Items {
		for slug := range ids {
			if (strings.HasSuffix(en.Target, "/"+slug) || strings.HasSuffix(en.Target, ":"+slug)) && en.Action == "team.create" {
				got[slug] = en.Actor.RequestID
			}
		}
		byID[en.Actor.RequestID] = append(byID[en.Actor.RequestID], en.Action+" "+en.Target)
	}
	if d := cmp.Diff(ids, got); d != "" {
		t.Errorf("the audit entries' request ids, by team (-answers' X-Request-Id +entries'):\n%s", d)
	}
	if n := len(byID[first]); n != 1 {
		t.Errorf("%d audit entries carry the first request's id %q, want 1: %q", n, first, byID[first])
	}
	// A problem names the same id as the header.
	req, _ := http.NewRequestWithContext(ctxT(t), "GET", e.URL+org+"/nowhere", nil)
	req.Header.Set("X-Request-Id", first)
	res, err := e.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var p struct {
		RequestID string `json:"request_id"`
	}
	if err := json.NewDecoder(res.Body).Decode(&p); err != nil {
		t.Fatal(err)
	}
	if h := res.Header.Get("X-Request-Id"); p.RequestID != h || h == first || !strings.HasPrefix(h, first+"~") {
		t.Errorf("a 404 sent the id %q: header %q, problem %q; want both %q~<the server's>", first, h, p.RequestID, first)
	}
}

// TestConfusableResourceIDsAreRefused: the writes that name a new
// resource id — creating a resource (alone or in a batch), a binding
// scoped to one, a share — refuse an id that is not NFC or that mixes
// Latin, Cyrillic and Greek letters, with a 400 naming the field, the id
// and why; one-script ids in any of them, and ASCII, pass. Ids already
// stored (written before the check) still load, decide, read and delete.
func TestConfusableResourceIDsAreRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "sqlite", envOpts{})
	w := buildWorld(t, e, "")
	org := "/v1/orgs/" + w.org
	const (
		cyrillicA = "p\u0430yroll"                         // Latin p, y, r, o, l + Cyrillic а
		greekO    = "r\u03bfot"                            // Greek omicron among Latin
		decomp    = "cafe\u0301"                           // e + combining acute: not NFC
		nfc       = "caf\u00e9"                            // the same in NFC
		cyrillic  = "\u043f\u0430\u0440\u043e\u043b\u044c" // all Cyrillic
		greek     = "\u03b1\u03b2\u03b3-1"                 // Greek and ASCII digits
	)
	type refusal struct {
		Status  int
		Field   string
		Why     string // a phrase of the detail
		NamesID bool
	}
	why := func(id string) string {
		switch id {
		case cyrillicA:
			return "mixes Latin and Cyrillic"
		case greekO:
			return "mixes Latin and Greek"
		case decomp:
			return "not in Unicode normal form C"
		}
		return ""
	}
	answer := func(r resp, id string) refusal {
		t.Helper()
		if r.Status < 400 {
			return refusal{Status: r.Status}
		}
		p := r.problem(t)
		idJSON, _ := json.Marshal(id)
		return refusal{Status: r.Status, Field: p.Field, Why: why(id),
			NamesID: strings.Contains(p.Detail, why(id)) && strings.Contains(p.Detail, strings.Trim(string(idJSON), `"`))}
	}
	writes := []struct {
		name, field string
		do          func(id string) resp
	}{
		{"create a resource", "id", func(id string) resp {
			return e.do("POST", org+"/resources", w.owner, map[string]any{"namespace": "prod", "type": "chains", "id": id})
		}},
		{"a binding scoped to a resource", "scope.id", func(id string) resp {
			return e.do("POST", org+"/bindings", w.owner, map[string]any{"principal": "user:" + w.viewerID, "role": "viewer",
				"scope": map[string]any{"namespace": "prod", "type": "chains", "id": id}})
		}},
		{"a share", "id", func(id string) resp {
			return e.do("POST", org+"/namespaces/prod/resources/chains/"+url.PathEscape(id)+"/shares", w.owner,
				map[string]any{"principal": "user:" + w.viewerID, "actions": []string{"run"}})
		}},
	}
	for _, wr := range writes {
		for _, id := range []string{cyrillicA, greekO, decomp} {
			t.Run(wr.name+" "+id, func(t *testing.T) {
				want := refusal{Status: 400, Field: wr.field, Why: why(id), NamesID: true}
				if d := cmp.Diff(want, answer(wr.do(id), id)); d != "" {
					t.Errorf("(-want +got):\n%s", d)
				}
			})
		}
	}
	// One script, or NFC, passes (the share after the resource exists).
	for _, id := range []string{"payroll", nfc, cyrillic, greek} {
		for _, wr := range writes {
			if r := wr.do(id); r.Status >= 300 {
				t.Errorf("%s %q: %d %s, want it accepted", wr.name, id, r.Status, r.Body)
			}
		}
	}

	// An id stored before the check: it loads, decides, reads, deletes.
	rev, err := e.st.Write(ctxT(t), func(tx store.Tx) error {
		_, err := tx.CreateResource(ctxT(t), store.Resource{Org: w.org, Resource: authz.Resource{Namespace: "prod", Type: "chains", ID: cyrillicA}}, "user:"+w.ownerID)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	path := org + "/namespaces/prod/resources/chains/" + url.PathEscape(cyrillicA)
	var ck server.CheckResponse
	e.must(200, "POST", org+"/check", w.owner, map[string]any{"action": "chains:read", "resource": "chains/" + cyrillicA, "namespace": "prod",
		"consistency": map[string]any{"at_least": rev}}, &ck)
	if !ck.Allowed {
		t.Errorf("the owner's check on a stored confusable id: %+v", ck)
	}
	e.must(200, "GET", path, w.owner, nil, nil)
	if r := e.do("DELETE", path, w.owner, nil); r.Status >= 300 {
		t.Errorf("deleting a stored confusable id: %d %s", r.Status, r.Body)
	}
}

// TestMCPGatewayAnswersCarryTheRequestID: the MCP gateway's answers carry
// X-Request-Id as the routes' do — the server's id after a plain client
// one — the id its audit entries are filed under.
func TestMCPGatewayAnswersCarryTheRequestID(t *testing.T) {
	t.Parallel()
	w := newMCPWorld(t, "sqlite")
	for _, path := range []string{mcpgw.Prefix + w.org + "/prod/pay", mcpgw.MetadataPrefix + w.org + "/prod/pay"} {
		req, _ := http.NewRequestWithContext(ctxT(t), "POST", w.e.URL+path, strings.NewReader(`{}`))
		req.Header.Set("X-Request-Id", "mine")
		res, err := w.e.hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if got := res.Header.Get("X-Request-Id"); !strings.HasPrefix(got, "mine~") || len(got) <= len("mine~") {
			t.Errorf("POST %s: status %d, X-Request-Id %q, want mine~<the server's>", path, res.StatusCode, got)
		}
	}
}
