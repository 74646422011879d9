package console_test

import (
	"context"
	"crypto/rand"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/internal/audit"
	"github.com/gatehouse-dev/gatehouse/internal/auth"
	"github.com/gatehouse-dev/gatehouse/internal/console"
	"github.com/gatehouse-dev/gatehouse/internal/directory"
	"github.com/gatehouse-dev/gatehouse/internal/server"
	"github.com/gatehouse-dev/gatehouse/internal/store"
	"github.com/gatehouse-dev/gatehouse/internal/store/sqlite"
	"github.com/gatehouse-dev/gatehouse/internal/vault"
)

// env is a real server (API + console) on a loopback port over SQLite,
// with one org from the mentiko template:
//
//	ada  admin (the org's creator)
//	bob  builder
//	oli  operator
//	val  viewer
//	eve  a user of no org (and her own org "evil")
type env struct {
	t     testing.TB
	URL   string
	st    store.Store
	dir   *directory.Directory
	auth  *auth.Service
	con   *console.Console
	vault *vault.Vault
	// dbPath is the SQLite file (to tamper with).
	dbPath string
	org    string
	keys   map[string]string // user → personal API key
	owner  directory.Actor
}

// The org's one secret: its name must never show to operators and
// viewers, its value only on an audited reveal.
const (
	secretName  = "OPENAI_API_KEY"
	secretValue = "sk-test-0123456789"
)

// roles of the mentiko template, one user each.
var roleUsers = []struct{ role, user string }{
	{"admin", "ada"}, {"builder", "bob"}, {"operator", "oli"}, {"viewer", "val"},
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func newEnv(t testing.TB) *env {
	t.Helper()
	return newEnvAt(t, nil)
}

// newEnvAt is newEnv with the clock of auth (its rate limiter) and of the
// console: now, or time.Now when nil.
func newEnvAt(t testing.TB, now func() time.Time) *env {
	t.Helper()
	dbPath := filepath.Join(t.TempDir(), "gatehouse.db")
	st, err := sqlite.Open(context.Background(), dbPath, sqlite.Options{PollInterval: 20 * time.Millisecond, Synchronous: "NORMAL"})
	if err != nil {
		t.Fatalf("sqlite: %v", err)
	}
	t.Cleanup(func() { _ = st.Close() })
	signer, err := audit.GenerateSigner()
	if err != nil {
		t.Fatal(err)
	}
	alog, err := audit.New(st, audit.Options{Signer: signer})
	if err != nil {
		t.Fatal(err)
	}
	dir, err := directory.Open(ctxT(t), st, authz.New(), directory.Options{Audit: alog})
	if err != nil {
		t.Fatalf("directory.Open: %v", err)
	}
	t.Cleanup(func() { _ = dir.Close() })
	as := auth.New(st, dir, auth.NewKeySet(), auth.Options{Now: now})
	t.Cleanup(func() { _ = as.Close() })
	mk := make([]byte, 32)
	_, _ = rand.Read(mk)
	kr, err := vault.NewKeyring(map[uint32][]byte{1: mk})
	if err != nil {
		t.Fatal(err)
	}
	vlt, err := vault.Open(ctxT(t), vault.Options{Store: st, Directory: dir, Keyring: kr, Audit: alog})
	if err != nil {
		t.Fatalf("vault.Open: %v", err)
	}
	con, err := console.New(console.Config{Directory: dir, Auth: as, Vault: vlt, Now: now})
	if err != nil {
		t.Fatalf("console.New: %v", err)
	}
	srv, err := server.New(server.Config{Directory: dir, Store: st, Auth: as, Vault: vlt, Console: con})
	if err != nil {
		t.Fatalf("server.New: %v", err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	// The server's own handler (API and console), as `gatehouse serve`
	// runs it, on a loopback port.
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	e := &env{t: t, URL: ts.URL, st: st, dir: dir, auth: as, con: con, vault: vlt, dbPath: dbPath, org: "acme", keys: map[string]string{}}
	for _, u := range []string{"ada", "bob", "oli", "val", "eve"} {
		_, tok, err := as.Bootstrap(ctxT(t), store.User{ID: u, Email: u + "@example.com", DisplayName: strings.ToUpper(u[:1]) + u[1:]}, "test")
		if err != nil {
			t.Fatalf("Bootstrap(%s): %v", u, err)
		}
		e.keys[u] = tok
	}
	e.owner = directory.Actor{Principal: "user:ada"}
	if _, _, err := dir.CreateOrg(ctxT(t), e.owner, directory.OrgSpec{ID: e.org, Name: "Acme", Template: "mentiko"}); err != nil {
		t.Fatalf("CreateOrg: %v", err)
	}
	if _, _, err := dir.CreateOrg(ctxT(t), directory.Actor{Principal: "user:eve"}, directory.OrgSpec{ID: "evil", Name: "Evil", Template: "mentiko"}); err != nil {
		t.Fatalf("CreateOrg(evil): %v", err)
	}
	if _, _, err := dir.CreateNamespace(ctxT(t), e.owner, e.org, "prod"); err != nil {
		t.Fatalf("CreateNamespace: %v", err)
	}
	for _, ru := range roleUsers[1:] {
		if _, _, err := dir.AddMember(ctxT(t), e.owner, e.org, ru.user, ru.role); err != nil {
			t.Fatalf("AddMember(%s): %v", ru.user, err)
		}
	}
	ref := authz.ResourceRef{Namespace: "prod", Type: "chains", ID: "escalation-triage"}
	if _, _, err := dir.CreateResource(ctxT(t), e.owner, e.org, directory.ResourceSpec{Namespace: ref.Namespace, Type: ref.Type, ID: ref.ID, Spec: []byte(`{"steps":["classify","page"]}`)}); err != nil {
		t.Fatalf("CreateResource: %v", err)
	}
	if _, _, err := dir.UpdateResource(ctxT(t), e.owner, e.org, ref, directory.ResourceChange{Spec: []byte(`{"steps":["classify","summarize","page"]}`)}); err != nil {
		t.Fatalf("UpdateResource: %v", err)
	}
	if _, _, err := vlt.Create(ctxT(t), e.owner, e.org, "default", secretName, []byte(secretValue), vault.Meta{Description: "the model provider"}); err != nil {
		t.Fatalf("create secret: %v", err)
	}
	return e
}

// client is a cookie-keeping HTTP client that does not follow redirects.
type client struct {
	e    *env
	hc   *http.Client
	csrf string // the last CSRF token seen on a page
}

func (e *env) client() *client {
	jar, _ := cookiejar.New(nil)
	return &client{e: e, hc: &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

type page struct {
	status int
	loc    string
	body   string
	header http.Header
}

func (c *client) get(path string) page {
	c.e.t.Helper()
	resp, err := c.hc.Get(c.e.URL + path)
	if err != nil {
		c.e.t.Fatalf("GET %s: %v", path, err)
	}
	return c.read(resp)
}

func (c *client) post(path string, form url.Values) page {
	c.e.t.Helper()
	req, err := http.NewRequest("POST", c.e.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		c.e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := c.hc.Do(req)
	if err != nil {
		c.e.t.Fatalf("POST %s: %v", path, err)
	}
	return c.read(resp)
}

func (c *client) read(resp *http.Response) page {
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	p := page{status: resp.StatusCode, loc: resp.Header.Get("Location"), body: b.String(), header: resp.Header}
	if m := csrfRE.FindStringSubmatch(p.body); m != nil {
		c.csrf = m[1]
	}
	return p
}

// signIn signs the client in with user's API key.
func (c *client) signIn(user string) {
	c.e.t.Helper()
	c.get("/console/signin")
	p := c.post("/console/signin", url.Values{"csrf": {c.csrf}, "api_key": {c.e.keys[user]}, "next": {"/console/"}})
	if p.status != http.StatusSeeOther {
		c.e.t.Fatalf("sign in as %s: status %d\n%s", user, p.status, p.body)
	}
	c.get("/console/orgs/" + c.e.org + "/") // picks up the session's CSRF token
}
