package console_test

// An attacker's review of the console (branch redconsole): stored and
// reflected markup, cross-site requests, framing, the session cookie and
// the secrets page. Each test states what an attacker tries and what must
// hold; docs/threat-model.md rows 66+ point here.

import (
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/internal/directory"
	"github.com/gatehouse-dev/gatehouse/internal/store"
	"github.com/gatehouse-dev/gatehouse/internal/vault"
	"github.com/google/go-cmp/cmp"
)

// payload is stored or reflected content that would run script, break
// out of an attribute or a template, or name a javascript: URL if it
// reached the page unescaped.
const payload = `<script>alert(1)</script>"onmouseover="alert(2)"'><img src=x onerror=alert(3)>javascript:alert(4){{.CSRF}}&lt;b&gt;`

// rawMarkers are the pieces of payload that must never appear verbatim
// in a console page.
var rawMarkers = []string{"<script>alert", `"onmouseover="`, "<img src=x", "&lt;b&gt;"}

func assertEscaped(t *testing.T, what string, body string) {
	t.Helper()
	for _, m := range rawMarkers {
		if strings.Contains(body, m) {
			t.Errorf("%s: the page holds %q unescaped", what, m)
		}
	}
}

// TestStoredMarkupEscaped: names, descriptions, specs, policy text and
// audit entries an org member stores are shown as text on every page
// that renders them, to every reader.
func TestStoredMarkupEscaped(t *testing.T) {
	e := newEnv(t)
	ctx := ctxT(t)
	if _, _, err := e.dir.CreateTeam(ctx, e.owner, e.org, "red", payload, nil); err != nil {
		t.Fatalf("CreateTeam: %v", err)
	}
	if _, _, err := e.vault.Create(ctx, e.owner, e.org, "default", "XSS_DESC", []byte("v-"+payload), vault.Meta{Description: payload}); err != nil {
		t.Fatalf("create secret: %v", err)
	}
	ref := authz.ResourceRef{Namespace: "prod", Type: "chains", ID: "escalation-triage"}
	spec := []byte(`{"steps":["` + strings.ReplaceAll(strings.ReplaceAll(payload, `\`, `\\`), `"`, `\"`) + `"]}`)
	if _, _, err := e.dir.UpdateResource(ctx, e.owner, e.org, ref, directory.ResourceChange{Spec: spec}); err != nil {
		t.Fatalf("UpdateResource: %v", err)
	}
	c := e.client()
	c.signIn("ada")
	for _, path := range []string{
		"/console/orgs/acme/",
		"/console/orgs/acme/teams",
		"/console/orgs/acme/secrets",
		"/console/orgs/acme/resources",
		"/console/orgs/acme/resources/prod/chains/escalation-triage",
		"/console/orgs/acme/audit",
		"/console/orgs/acme/members",
	} {
		p := c.get(path)
		if p.status != http.StatusOK {
			t.Errorf("GET %s: status %d", path, p.status)
			continue
		}
		assertEscaped(t, "GET "+path, p.body)
	}
	// The policy linter echoes the text's lines back into the page (the
	// script puts its answer in with innerHTML).
	p := c.post("/console/orgs/acme/policy/lint", url.Values{"csrf": {c.csrf}, "text": {payload + "\n" + payload}})
	assertEscaped(t, "POST policy/lint", p.body)
}

// TestReflectedMarkupEscaped: what a link can put in a query or a path
// (an attacker mails it to a signed-in member) is shown as text.
func TestReflectedMarkupEscaped(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	c.signIn("ada")
	q := url.QueryEscape(payload)
	for _, path := range []string{
		"/console/orgs/acme/audit?actor=" + q + "&action=" + q + "&target=" + q,
		"/console/orgs/acme/audit?since=" + q,
		"/console/switch?org=" + q,
		"/console/orgs/" + url.PathEscape(payload) + "/",
		"/console/orgs/acme/secrets?namespace=" + q,
		"/console/orgs/acme/roles?edit=" + q,
		"/console/link?t=" + q,
		"/console/invitation?token=" + q,
		"/console/signin?next=" + q,
		"/console/" + url.PathEscape(payload),
	} {
		assertEscaped(t, "GET "+path, c.get(path).body)
	}
	// Form fields echoed on a refusal.
	for _, f := range []struct {
		path string
		form url.Values
	}{
		{"/console/orgs/acme/teams", url.Values{"slug": {payload}, "name": {payload}}},
		{"/console/orgs/acme/members", url.Values{"email": {payload}, "role": {payload}}},
		{"/console/orgs/acme/secrets", url.Values{"namespace": {"default"}, "name": {payload}, "value": {"x"}, "description": {payload}}},
		{"/console/orgs/acme/secrets/reveal", url.Values{"namespace": {payload}, "name": {payload}}},
		{"/console/orgs/acme/roles", url.Values{"name": {payload}, "level": {payload}, "permissions": {payload}}},
	} {
		f.form.Set("csrf", c.csrf)
		assertEscaped(t, "POST "+f.path, c.post(f.path, f.form).body)
	}
}

// TestCrossSitePostsRefused: a page on another origin cannot make a
// signed-in browser change anything: not with a form post (urlencoded,
// multipart or text/plain), not from a sandboxed frame (Origin: null),
// and the API never accepts the console's cookie.
func TestCrossSitePostsRefused(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	c.signIn("ada")
	tests := []struct {
		name, path, ctype, body, origin string
		want                            int
	}{
		{"text/plain with the token, no Origin", "/console/orgs/acme/teams", "text/plain", "csrf=" + c.csrf + "&slug=pwn&name=pwn", "", http.StatusUnsupportedMediaType},
		{"form from another origin, right token", "/console/orgs/acme/teams", "application/x-www-form-urlencoded", "csrf=" + c.csrf + "&slug=pwn&name=pwn", "https://evil.example", http.StatusForbidden},
		{"form from a sandboxed frame", "/console/orgs/acme/teams", "application/x-www-form-urlencoded", "csrf=" + c.csrf + "&slug=pwn&name=pwn", "null", http.StatusForbidden},
		{"form without the token", "/console/orgs/acme/teams", "application/x-www-form-urlencoded", "slug=pwn&name=pwn", "", http.StatusForbidden},
		{"reveal from another origin", "/console/orgs/acme/secrets/reveal", "application/x-www-form-urlencoded", "csrf=" + c.csrf + "&namespace=default&name=" + secretName, "https://evil.example", http.StatusForbidden},
		{"sign-in form from another origin (login CSRF)", "/console/signin", "application/x-www-form-urlencoded", "api_key=" + e.keys["eve"], "https://evil.example", http.StatusForbidden},
		{"API with the console cookie, text/plain", "/v1/orgs/acme/teams", "text/plain", `{"slug":"pwn","name":"pwn"}`, "https://evil.example", http.StatusUnauthorized},
		{"API with the console cookie, form", "/v1/orgs/acme/teams", "application/x-www-form-urlencoded", `slug=pwn`, "https://evil.example", http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest("POST", e.URL+tt.path, strings.NewReader(tt.body))
			req.Header.Set("Content-Type", tt.ctype)
			if tt.origin != "" {
				req.Header.Set("Origin", tt.origin)
			}
			// The jar sends the console cookie only under /console/; a
			// browser would too, so the API case adds it by hand.
			u, _ := url.Parse(e.URL + "/console/")
			for _, ck := range c.hc.Jar.Cookies(u) {
				if strings.HasPrefix(tt.path, "/v1/") {
					req.AddCookie(ck)
				}
			}
			resp, err := c.hc.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			p := c.read(resp)
			if p.status != tt.want {
				t.Errorf("status %d, want %d", p.status, tt.want)
			}
			if strings.Contains(p.body, secretValue) {
				t.Errorf("the answer holds the secret's value")
			}
		})
	}
	teams, _, err := e.dir.ListTeams(ctxT(t), e.owner, e.org, store.Page{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tm := range teams {
		if tm.Slug == "pwn" {
			t.Errorf("a cross-site request created team %q", tm.Slug)
		}
	}
}

// TestSecretPageHeaders: the answer that shows a revealed value cannot
// be framed, cached, sniffed or leak its URL in a Referer.
func TestSecretPageHeaders(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	c.signIn("ada")
	req, _ := http.NewRequest("POST", e.URL+"/console/orgs/acme/secrets/reveal", strings.NewReader(url.Values{"csrf": {c.csrf}, "namespace": {"default"}, "name": {secretName}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := c.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	p := c.read(resp)
	if p.status != http.StatusOK || !strings.Contains(p.body, secretValue) {
		t.Fatalf("reveal: status %d, value shown %v", p.status, strings.Contains(p.body, secretValue))
	}
	got := map[string]string{}
	want := map[string]string{
		"Cache-Control":           "no-store",
		"Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
		"X-Frame-Options":         "DENY",
		"X-Content-Type-Options":  "nosniff",
		"Referrer-Policy":         "same-origin",
	}
	for h := range want {
		got[h] = resp.Header.Get(h)
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("reveal answer headers (-want +got):\n%s", d)
	}
}

// TestNoRevealWithoutRead: members without secrets:read, and users of
// another org, never see a value (nor, without secrets:list, a name),
// whatever they post.
func TestNoRevealWithoutRead(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		user, org string
		want      int
	}{
		{"oli", "acme", http.StatusNotFound},
		{"val", "acme", http.StatusNotFound},
		{"eve", "acme", http.StatusNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.user, func(t *testing.T) {
			c := e.client()
			c.signIn(tt.user)
			if c.csrf == "" {
				c.get("/console/orgs/evil/")
			}
			p := c.post("/console/orgs/"+tt.org+"/secrets/reveal", url.Values{"csrf": {c.csrf}, "namespace": {"default"}, "name": {secretName}})
			if p.status != tt.want {
				t.Errorf("status %d, want %d", p.status, tt.want)
			}
			for _, leak := range []string{secretValue, secretName} {
				if strings.Contains(p.body, leak) {
					t.Errorf("the answer names %q", leak)
				}
			}
		})
	}
}

// TestSignInRotatesSession: a session id planted in the browser before
// sign-in (session fixation) never becomes a signed-in session, and
// signing in again over a live session ends the old one on the server.
func TestSignInRotatesSession(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	u, _ := url.Parse(e.URL + "/console/")
	planted := "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	c.hc.Jar.SetCookies(u, []*http.Cookie{{Name: "gatehouse_console", Value: planted, Path: "/console/"}})
	c.signIn("ada")
	first := sessionID(t, c, u)
	if first == planted {
		t.Fatalf("sign-in kept the planted session id")
	}
	fixed := e.client()
	fixed.hc.Jar.SetCookies(u, []*http.Cookie{{Name: "gatehouse_console", Value: planted, Path: "/console/"}})
	if p := fixed.get("/console/orgs/acme/"); p.status != http.StatusSeeOther {
		t.Errorf("planted id: status %d, want a redirect to sign in", p.status)
	}
	// Sign in again (as another user) in the same browser.
	c.signIn("bob")
	if sessionID(t, c, u) == first {
		t.Fatalf("the second sign-in kept the first session id")
	}
	old := e.client()
	old.hc.Jar.SetCookies(u, []*http.Cookie{{Name: "gatehouse_console", Value: first, Path: "/console/"}})
	if p := old.get("/console/orgs/acme/"); p.status != http.StatusSeeOther || !strings.HasPrefix(p.loc, "/console/signin") {
		t.Errorf("the replaced session still signs in: %d %s", p.status, p.loc)
	}
}

func sessionID(t *testing.T, c *client, u *url.URL) string {
	t.Helper()
	for _, ck := range c.hc.Jar.Cookies(u) {
		if ck.Name == "gatehouse_console" {
			return ck.Value
		}
	}
	t.Fatal("no session cookie")
	return ""
}

// TestOpenRedirect: after sign-in the browser goes only somewhere inside
// the console, whatever next says.
func TestOpenRedirect(t *testing.T) {
	e := newEnv(t)
	for _, next := range []string{
		"https://evil.example/", "//evil.example/", "/console/..//evil.example/", "/\\evil.example",
		"/console/../\t/evil.example", "/console/%2F%2Fevil.example", "javascript:alert(1)", "/console/\r\nLocation: https://evil.example",
	} {
		t.Run(next, func(t *testing.T) {
			c := e.client()
			c.get("/console/signin?next=" + url.QueryEscape(next))
			p := c.post("/console/signin", url.Values{"csrf": {c.csrf}, "api_key": {e.keys["ada"]}, "next": {next}})
			if p.status != http.StatusSeeOther {
				t.Fatalf("status %d", p.status)
			}
			loc, err := url.Parse(p.loc)
			if err != nil || loc.Host != "" || loc.Scheme != "" || strings.HasPrefix(p.loc, "//") || strings.ContainsAny(p.loc, "\\\t\r\n") {
				t.Errorf("next %q redirects to %q", next, p.loc)
			}
		})
	}
}

// TestAuditHidesSecretNames: a reader of the audit log without
// secrets:list (the viewer, the operator) learns no secret name from the
// console's audit page or its export, and filtering by a name that exists
// answers exactly as filtering by one that does not.
func TestAuditHidesSecretNames(t *testing.T) {
	e := newEnv(t)
	for _, user := range []string{"val", "oli"} {
		t.Run(user, func(t *testing.T) {
			c := e.client()
			c.signIn(user)
			for _, path := range []string{"/console/orgs/acme/audit", "/console/orgs/acme/audit/export", "/console/orgs/acme/audit?action=secrets.*"} {
				p := c.get(path)
				if p.status != http.StatusOK {
					t.Fatalf("GET %s: status %d", path, p.status)
				}
				if strings.Contains(p.body, secretName) || strings.Contains(p.body, "the model provider") {
					t.Errorf("GET %s names the secret", path)
				}
			}
			// The entries table (the filter form echoes the name asked).
			probe := func(name string) string {
				body := c.get("/console/orgs/acme/audit?target=" + url.QueryEscape("default/secrets/"+name)).body
				i, j := strings.Index(body, `<table id="audit">`), strings.Index(body, "</table>")
				if i < 0 || j < i {
					t.Fatalf("no audit table:\n%s", body)
				}
				return body[i:j]
			}
			exists, absent := probe(secretName), probe("NEVER_CREATED_XX")
			if d := cmp.Diff(absent, exists); d != "" {
				t.Errorf("filtering by an existing secret's name differs from a missing one (-absent +exists):\n%s", d)
			}
		})
	}
}

// TestAuditLinksKeepFilter: the audit page's Export link and its next
// page link carry the filter the reader set, so that an export handed on
// as "the denied entries" or "what bob did" holds only those, and the
// second page continues the same filter.
func TestAuditLinksKeepFilter(t *testing.T) {
	e := newEnv(t)
	ctx := ctxT(t)
	for i := range 55 {
		if _, _, err := e.dir.CreateTeam(ctx, e.owner, e.org, "t"+strconv.Itoa(i), "T", nil); err != nil {
			t.Fatalf("CreateTeam: %v", err)
		}
	}
	es, _, err := e.dir.ListAudit(ctx, e.owner, e.org, store.AuditFilter{Newest: true}, store.Page{Size: 1})
	if err != nil || len(es) != 1 {
		t.Fatalf("ListAudit: %v %v", es, err)
	}
	action := es[0].Action
	c := e.client()
	c.signIn("ada")
	p := c.get("/console/orgs/acme/audit?action=" + url.QueryEscape(action))
	hrefOf := func(body, marker string) string {
		t.Helper()
		m := regexp.MustCompile(`<a href="([^"]*)"[^>]*` + marker).FindStringSubmatch(body)
		if m == nil {
			t.Fatalf("no link %s in\n%s", marker, body)
		}
		// Resolved against the page's URL, as a browser does.
		base, _ := url.Parse("/console/orgs/acme/audit")
		ref, err := url.Parse(html.UnescapeString(m[1]))
		if err != nil {
			t.Fatalf("link %q: %v", m[1], err)
		}
		return base.ResolveReference(ref).String()
	}
	// Every entry of a page of the filter has the filter's action.
	actions := func(body string) []string {
		var out []string
		for _, m := range regexp.MustCompile(`(?s)<tr data-seq="\d+"[^>]*>\s*<td>\d+</td><td>[^<]*</td><td>[^<]*</td><td>([^<]*)</td>`).FindAllStringSubmatch(body, -1) {
			out = append(out, m[1])
		}
		return out
	}
	tests := []struct {
		name, link string
		want       int // entries
	}{
		{"export", hrefOf(p.body, `id="export"`), 55},
		{"next page", hrefOf(p.body, `rel="next"`), 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := c.get(tt.link)
			if got.status != http.StatusOK {
				t.Fatalf("GET %s: %d", tt.link, got.status)
			}
			var as []string
			if tt.name == "export" {
				for _, line := range strings.Split(strings.TrimSpace(got.body), "\n") {
					var en struct{ Action string }
					if err := json.Unmarshal([]byte(line), &en); err != nil {
						t.Fatalf("export line %q: %v", line, err)
					}
					as = append(as, en.Action)
				}
			} else {
				as = actions(got.body)
			}
			want := make([]string, tt.want)
			for i := range want {
				want[i] = action
			}
			if d := cmp.Diff(want, as); d != "" {
				t.Errorf("GET %s: actions (-want +got):\n%s", tt.link, d)
			}
		})
	}
}

// countingReader counts what the server read of a request body. The
// transport's writer may still be reading it after the answer arrived, so
// the count is atomic.
type countingReader struct {
	n     atomic.Int64
	limit int64
}

func (r *countingReader) Read(p []byte) (int, error) {
	n := r.n.Load()
	if n >= r.limit {
		return 0, io.EOF
	}
	if int64(len(p)) > r.limit-n {
		p = p[:r.limit-n]
	}
	for i := range p {
		p[i] = 'a'
	}
	r.n.Add(int64(len(p)))
	return len(p), nil
}

// TestFormBodyBounded: nobody, signed in or not, makes the console read
// (into memory, or into temporary files on disk for a multipart file
// part) more than one form's worth of body: a body over the bound is
// refused 413 and a multipart or text body 415, before any form parsing,
// and the console stops reading.
func TestFormBodyBounded(t *testing.T) {
	e := newEnv(t)
	const big = 64 << 20
	tests := []struct {
		name, ctype, prefix string
		length              bool // send Content-Length
		want                int
	}{
		{"multipart file part, chunked", "multipart/form-data; boundary=xx", "--xx\r\nContent-Disposition: form-data; name=\"f\"; filename=\"f\"\r\n\r\n", false, http.StatusUnsupportedMediaType},
		{"urlencoded, chunked", "application/x-www-form-urlencoded", "csrf=", false, http.StatusRequestEntityTooLarge},
		{"urlencoded, declared length", "application/x-www-form-urlencoded", "csrf=", true, http.StatusRequestEntityTooLarge},
		{"text/plain", "text/plain", "csrf=", false, http.StatusUnsupportedMediaType},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cr := &countingReader{limit: big}
			body := io.MultiReader(strings.NewReader(tt.prefix), cr)
			req, _ := http.NewRequest("POST", e.URL+"/console/signin", body)
			req.Header.Set("Content-Type", tt.ctype)
			if tt.length {
				req.ContentLength = int64(len(tt.prefix)) + big
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatalf("POST: %v", err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Errorf("status %d, want %d", resp.StatusCode, tt.want)
			}
			if n := cr.n.Load(); n > 8<<20 {
				t.Errorf("the client could send %d bytes: the console kept reading", n)
			}
		})
	}
}

// TestSessionsPerPrincipalBounded: one user signing in again and again
// with its own key (the console keeps sessions in a table everyone
// shares) ends its own oldest sessions rather than filling the table; the
// newest sessions and everyone else's keep working.
func TestSessionsPerPrincipalBounded(t *testing.T) {
	e := newEnv(t)
	other := e.client()
	other.signIn("ada")
	const n = 51 // one past the per-principal bound
	bobs := make([]*client, n)
	for i := range bobs {
		bobs[i] = e.client()
		bobs[i].signIn("bob")
	}
	signedIn := func(c *client) bool {
		t.Helper()
		return c.get("/console/orgs/acme/").status == http.StatusOK
	}
	got := []bool{signedIn(bobs[0]), signedIn(bobs[1]), signedIn(bobs[n-1]), signedIn(other)}
	want := []bool{false, true, true, true}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("signed in: bob's first, second, last session, ada's (-want +got):\n%s", d)
	}
}

// BenchmarkFormPost is one signed-in form POST through the console's
// whole path (Origin and body checks, form parsing, session, CSRF): the
// policy check of a 16 KiB text, answered as an HTML fragment.
//
//	GATEHOUSE_BENCH_MEMBERS=6000 GATEHOUSE_BENCH_RESOURCES=10000 go test ./internal/console -run '^$' -bench BenchmarkFormPost -benchtime 300x
func BenchmarkFormPost(b *testing.B) {
	con, cookies := benchConsole(b, benchEnvInt(b, "GATEHOUSE_BENCH_MEMBERS", 10_000), benchEnvInt(b, "GATEHOUSE_BENCH_RESOURCES", 100_000))
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/console/orgs/acme/policy", nil)
	for _, c := range cookies {
		req.AddCookie(c)
	}
	con.ServeHTTP(rec, req)
	m := csrfRE.FindStringSubmatch(rec.Body.String())
	if m == nil {
		b.Fatal("no csrf on the policy page")
	}
	text := strings.Repeat("# a comment line of the policy text, long enough\n", 16<<10/50)
	body := url.Values{"csrf": {m[1]}, "text": {text}}.Encode()
	for b.Loop() {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("POST", "/console/orgs/acme/policy/lint", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for _, c := range cookies {
			req.AddCookie(c)
		}
		con.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("POST lint: %d\n%s", rec.Code, rec.Body.String())
		}
	}
}
