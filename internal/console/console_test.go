package console_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-dev/gatehouse/internal/auth"
	"github.com/gatehouse-dev/gatehouse/internal/console"
	"github.com/gatehouse-dev/gatehouse/internal/directory"
	"net/http/httptest"
)

// TestSecurityHeaders: every console answer, signed in or not, carries
// the strict CSP and friends.
func TestSecurityHeaders(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	c.signIn("ada")
	for _, path := range []string{"/console/signin", "/console/orgs/acme/", "/console/nope", "/console/static/console.css"} {
		resp, err := c.hc.Get(e.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		for h, want := range map[string]string{
			"Content-Security-Policy": console.CSP,
			"X-Content-Type-Options":  "nosniff",
			"Referrer-Policy":         "same-origin",
			"X-Frame-Options":         "DENY",
		} {
			if got := resp.Header.Get(h); got != want {
				t.Errorf("GET %s: %s = %q, want %q", path, h, got, want)
			}
		}
	}
	if !strings.Contains(console.CSP, "frame-ancestors 'none'") || strings.Contains(console.CSP, "unsafe-inline") {
		t.Errorf("CSP %q", console.CSP)
	}
}

// TestSessionCookie: the session cookie is HttpOnly, SameSite=Strict,
// scoped to /console/, and Secure when the console is configured behind
// https; the API key never reaches the browser.
func TestSessionCookie(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	c.get("/console/signin")
	req, _ := http.NewRequest("POST", e.URL+"/console/signin", strings.NewReader(url.Values{"csrf": {c.csrf}, "api_key": {e.keys["bob"]}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := c.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var found bool
	for _, line := range resp.Header.Values("Set-Cookie") {
		if !strings.HasPrefix(line, "gatehouse_console=") {
			continue
		}
		found = true
		for _, want := range []string{"HttpOnly", "SameSite=Strict", "Path=/console/"} {
			if !strings.Contains(line, want) {
				t.Errorf("session cookie %q lacks %s", line, want)
			}
		}
		if strings.Contains(line, "Secure") {
			t.Errorf("session cookie over plain http without a https public URL is Secure: %q", line)
		}
		if strings.Contains(line, e.keys["bob"]) || strings.Contains(line, "eyJ") {
			t.Errorf("session cookie carries a credential: %q", line)
		}
	}
	if !found {
		t.Fatalf("no session cookie set: %v", resp.Header.Values("Set-Cookie"))
	}
	// Behind an https URL the cookie is Secure.
	sec, err := console.New(console.Config{Directory: e.dir, Auth: e.auth, Secure: true})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	sec.ServeHTTP(rec, httptest.NewRequest("GET", "/console/signin", nil))
	if sc := rec.Header().Get("Set-Cookie"); !strings.Contains(sc, "Secure") {
		t.Errorf("Secure console: cookie %q is not Secure", sc)
	}
}

// TestCSRF: a state-changing request without the session's CSRF token,
// with another's, or from another origin is refused 403 and changes
// nothing (the session still works).
func TestCSRF(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	c.signIn("ada")
	other := e.client()
	other.signIn("bob")
	tests := []struct {
		name   string
		csrf   string
		origin string
	}{
		{"no token", "", ""},
		{"another session's token", other.csrf, ""},
		{"right token, another origin", c.csrf, "https://evil.example"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest("POST", e.URL+"/console/signout", strings.NewReader(url.Values{"csrf": {tt.csrf}}.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if tt.origin != "" {
				req.Header.Set("Origin", tt.origin)
			}
			resp, err := c.hc.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusForbidden {
				t.Errorf("status %d, want 403", resp.StatusCode)
			}
			if p := c.get("/console/orgs/acme/"); p.status != http.StatusOK {
				t.Errorf("after a refused sign-out the session no longer works: %d", p.status)
			}
		})
	}
	// The sign-in form has its own (double-submit) token.
	anon := e.client()
	if p := anon.post("/console/signin", url.Values{"api_key": {e.keys["ada"]}}); p.status != http.StatusForbidden {
		t.Errorf("sign-in without the form's token: %d, want 403", p.status)
	}
}

// TestSignOut: signing out forgets the session on the server: the old
// cookie, replayed, signs nothing in.
func TestSignOut(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	c.signIn("ada")
	u, _ := url.Parse(e.URL + "/console/")
	old := c.hc.Jar.Cookies(u)
	if p := c.post("/console/signout", url.Values{"csrf": {c.csrf}}); p.status != http.StatusSeeOther {
		t.Fatalf("sign out: %d", p.status)
	}
	replay := e.client()
	replay.hc.Jar.SetCookies(u, old)
	if p := replay.get("/console/orgs/acme/"); p.status != http.StatusSeeOther || !strings.HasPrefix(p.loc, "/console/signin") {
		t.Errorf("replayed cookie after sign-out: %d %s, want a redirect to sign in", p.status, p.loc)
	}
}

// TestSignInRules: only a user's own API key signs in (the rule of POST
// /v1/sessions): not a service key, not garbage; a revoked key ends the
// session it made at once.
func TestSignInRules(t *testing.T) {
	e := newEnv(t)
	ctx := ctxT(t)
	if _, _, err := e.dir.CreateService(ctx, e.owner, e.org, directory.ServiceSpec{Name: "ci"}); err != nil {
		t.Fatal(err)
	}
	caller := auth.Caller{Identity: auth.Identity{Principal: "user:ada"}}
	k, svcKey, _, err := e.auth.CreateKey(ctx, caller, e.org, auth.KeySpec{Principal: "service:ci", Name: "ci"})
	if err != nil {
		t.Fatal(err)
	}
	_ = k
	for name, key := range map[string]string{"service key": svcKey, "garbage": "ghk_nope", "empty": " "} {
		c := e.client()
		c.get("/console/signin")
		if p := c.post("/console/signin", url.Values{"csrf": {c.csrf}, "api_key": {key}}); p.status == http.StatusSeeOther {
			t.Errorf("%s signed in", name)
		}
	}
	// A revoked key ends the console session made from it.
	_, tok, _, err := e.auth.CreateKey(ctx, auth.Caller{Identity: auth.Identity{Principal: "user:bob"}}, "", auth.KeySpec{Name: "b2"})
	if err != nil {
		t.Fatal(err)
	}
	id, err := e.auth.Authenticate(ctx, tok, "")
	if err != nil {
		t.Fatal(err)
	}
	c := e.client()
	c.get("/console/signin")
	if p := c.post("/console/signin", url.Values{"csrf": {c.csrf}, "api_key": {tok}}); p.status != http.StatusSeeOther {
		t.Fatalf("sign in: %d %s", p.status, p.body)
	}
	if p := c.get("/console/orgs/acme/"); p.status != 200 {
		t.Fatalf("overview: %d", p.status)
	}
	if _, err := e.auth.RevokeKey(ctx, auth.Caller{Identity: auth.Identity{Principal: "user:bob"}}, "", id.KeyID); err != nil {
		t.Fatal(err)
	}
	if p := c.get("/console/orgs/acme/"); p.status != http.StatusSeeOther {
		t.Errorf("after revoking the key, overview: %d, want a redirect to sign in", p.status)
	}
}

// TestOtherOrgNotFound: another org's pages are answered exactly like an
// org that does not exist.
func TestOtherOrgNotFound(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	c.signIn("val")
	a, b := c.get("/console/orgs/evil/"), c.get("/console/orgs/nosuch/")
	if a.status != http.StatusNotFound || b.status != http.StatusNotFound {
		t.Fatalf("statuses %d %d, want 404", a.status, b.status)
	}
	if strings.Contains(a.body, "Evil") {
		t.Errorf("another org's name shows on its 404 page")
	}
	if p := c.get("/console/switch?org=evil"); p.status != http.StatusNotFound {
		t.Errorf("switch to another org: %d", p.status)
	}
	if p := c.get("/console/orgs/acme/"); strings.Contains(p.body, ">Evil") || strings.Contains(p.body, "(evil)") {
		t.Errorf("another org shows in the switcher")
	}
}

// TestSignInLink: a one-time link signs in once; a GET does not consume
// it.
func TestSignInLink(t *testing.T) {
	e := newEnv(t)
	link, err := e.con.SignInLink(ctxT(t), e.keys["ada"])
	if err != nil {
		t.Fatal(err)
	}
	tok := strings.TrimPrefix(link, "/console/link?t=")
	c := e.client()
	c.get(link)
	c.get(link)
	if p := c.post("/console/link", url.Values{"csrf": {c.csrf}, "t": {tok}}); p.status != http.StatusSeeOther {
		t.Fatalf("first use: %d %s", p.status, p.body)
	}
	if p := c.get("/console/orgs/acme/"); p.status != 200 || !strings.Contains(p.body, "user:ada") {
		t.Fatalf("after the link: %d", p.status)
	}
	d := e.client()
	d.get(link)
	if p := d.post("/console/link", url.Values{"csrf": {d.csrf}, "t": {tok}}); p.status != http.StatusGone {
		t.Errorf("second use: %d, want 410", p.status)
	}
	if _, err := e.con.SignInLink(ctxT(t), "ghk_garbage"); err == nil {
		t.Errorf("a link from a bad key")
	}
}

// TestFirstLoadSize: the sign-in page and a signed-in overview, with the
// stylesheet and script they load, stay under 200 KB (uncompressed).
func TestFirstLoadSize(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	total := len(c.get("/console/signin").body)
	c.signIn("ada")
	total += len(c.get("/console/orgs/acme/").body)
	for _, asset := range []string{"/console/static/console.css", "/console/static/console.js"} {
		p := c.get(asset)
		if p.status != http.StatusOK {
			t.Fatalf("%s: %d", asset, p.status)
		}
		total += len(p.body)
	}
	if total > 200<<10 {
		t.Errorf("first load is %d bytes, want ≤ 200 KB", total)
	}
	t.Logf("first load: %d bytes", total)
}

// TestOrgSwitcher: a member of two orgs sees both in the switcher and
// switches between them.
func TestOrgSwitcher(t *testing.T) {
	e := newEnv(t)
	if _, _, err := e.dir.AddMember(ctxT(t), directory.Actor{Principal: "user:eve"}, "evil", "val", "viewer"); err != nil {
		t.Fatal(err)
	}
	c := e.client()
	c.signIn("val")
	p := c.get("/console/orgs/acme/")
	for _, want := range []string{`<option value="acme" selected>`, `<option value="evil">`} {
		if !strings.Contains(p.body, want) {
			t.Errorf("switcher lacks %s", want)
		}
	}
	if p := c.get("/console/switch?org=evil"); p.status != http.StatusSeeOther || p.loc != "/console/orgs/evil/" {
		t.Errorf("switch: %d %s", p.status, p.loc)
	}
	if p := c.get("/console/orgs/evil/"); p.status != http.StatusOK || !strings.Contains(p.body, `<option value="evil" selected>`) {
		t.Errorf("evil's overview: %d", p.status)
	}
}

// TestAuditExport: the export is the filtered log as JSON lines, as the
// page shows it; a time that does not parse is a 400 with a sentence.
func TestAuditExport(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	c.signIn("ada")
	p := c.get("/console/orgs/acme/audit/export?action=member.add")
	lines := strings.Split(strings.TrimSpace(p.body), "\n")
	if p.status != http.StatusOK || len(lines) != 3 || !strings.Contains(lines[0], `"action":"member.add"`) {
		t.Errorf("export: %d, %d lines\n%s", p.status, len(lines), p.body)
	}
	if p := c.get("/console/orgs/acme/audit/export?since=yesterday"); p.status != http.StatusBadRequest || !strings.Contains(p.body, "since time must look like") {
		t.Errorf("export with a bad time: %d", p.status)
	}
}

// TestOverviewCounts: the overview counts the org's members, teams and
// agents in words that agree with the number ("1 team", not "1 teams").
func TestOverviewCounts(t *testing.T) {
	e := newEnv(t)
	if _, _, err := e.dir.CreateTeam(ctxT(t), e.owner, e.org, "support", "Support", []string{"user:bob"}); err != nil {
		t.Fatal(err)
	}
	c := e.client()
	c.signIn("ada")
	p := c.get("/console/orgs/acme/")
	m := regexp.MustCompile(`(?s)<ul id="counts">(.*?)</ul>`).FindStringSubmatch(p.body)
	if m == nil {
		t.Fatalf("no counts on the overview:\n%s", p.body)
	}
	var got []string
	for _, a := range regexp.MustCompile(`>([^<>]+)</a>`).FindAllStringSubmatch(m[1], -1) {
		got = append(got, a[1])
	}
	if diff := cmp.Diff([]string{"4 members", "1 team", "0 agents"}, got); diff != "" {
		t.Errorf("counts (-want +got):\n%s", diff)
	}
}
