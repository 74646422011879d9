package server_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/gatehouse-dev/gatehouse/api"
	"github.com/gatehouse-dev/gatehouse/internal/auth"
	"github.com/gatehouse-dev/gatehouse/internal/server"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// testIdP is an OpenID provider the test runs itself: its own RSA key,
// discovery document, JWKS and token endpoint. The authorization step (a
// person at the provider's login page) is approve.
type testIdP struct {
	t        *testing.T
	srv      *httptest.Server
	key      *rsa.PrivateKey
	clientID string
	mu       sync.Mutex
	codes    map[string]idpGrant
}

type idpGrant struct {
	challenge string
	claims    jwt.MapClaims
	key       *rsa.PrivateKey // the key that signs this grant's ID token
}

func newTestIdP(t *testing.T, clientID string) *testIdP {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	p := &testIdP{t: t, key: key, clientID: clientID, codes: map[string]idpGrant{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]any{
			"issuer": p.srv.URL, "authorization_endpoint": p.srv.URL + "/authorize", "token_endpoint": p.srv.URL + "/token",
			"jwks_uri": p.srv.URL + "/jwks", "response_types_supported": []string{"code"},
			"subject_types_supported": []string{"public"}, "id_token_signing_alg_values_supported": []string{"RS256"},
			"code_challenge_methods_supported": []string{"S256"},
		})
	})
	mux.HandleFunc("GET /jwks", func(w http.ResponseWriter, r *http.Request) {
		b64 := base64.RawURLEncoding.EncodeToString
		_ = json.NewEncoder(w).Encode(map[string]any{"keys": []any{map[string]any{
			"kty": "RSA", "kid": "k1", "use": "sig", "alg": "RS256",
			"n": b64(key.N.Bytes()), "e": b64(big.NewInt(int64(key.E)).Bytes()),
		}}})
	})
	mux.HandleFunc("POST /token", func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			http.Error(w, "bad form", 400)
			return
		}
		p.mu.Lock()
		g, ok := p.codes[r.PostForm.Get("code")]
		delete(p.codes, r.PostForm.Get("code"))
		p.mu.Unlock()
		sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
		id, _, _ := r.BasicAuth()
		if id == "" {
			id = r.PostForm.Get("client_id")
		}
		switch {
		case !ok, r.PostForm.Get("grant_type") != "authorization_code", id != p.clientID:
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(400)
			_, _ = w.Write([]byte(`{"error":"invalid_grant"}`))
			return
		case base64.RawURLEncoding.EncodeToString(sum[:]) != g.challenge:
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(400)
			_, _ = w.Write([]byte(`{"error":"invalid_grant","error_description":"PKCE verification failed"}`))
			return
		}
		tok := jwt.NewWithClaims(jwt.SigningMethodRS256, g.claims)
		tok.Header["kid"] = "k1"
		signed, err := tok.SignedString(g.key)
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"access_token": "at", "token_type": "Bearer", "expires_in": 300, "id_token": signed})
	})
	p.srv = httptest.NewServer(mux)
	t.Cleanup(p.srv.Close)
	return p
}

// approve is the person signing in at the provider: it reads the
// authorization request the server redirected to and issues a code whose
// ID token carries claims (adjusted by edit).
func (p *testIdP) approve(authURL string, email string, verified bool, edit func(c jwt.MapClaims, g *idpGrant)) (code, state string) {
	p.t.Helper()
	u, err := url.Parse(authURL)
	if err != nil {
		p.t.Fatal(err)
	}
	q := u.Query()
	if !strings.HasPrefix(authURL, p.srv.URL+"/authorize?") || q.Get("response_type") != "code" || q.Get("client_id") != p.clientID ||
		q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" || q.Get("nonce") == "" || q.Get("state") == "" ||
		!strings.Contains(q.Get("scope"), "openid") {
		p.t.Fatalf("authorization request %s lacks what the code flow with PKCE needs", authURL)
	}
	now := time.Now()
	claims := jwt.MapClaims{
		"iss": p.srv.URL, "sub": "sub-" + email, "aud": p.clientID, "iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(),
		"nonce": q.Get("nonce"), "email": email, "email_verified": verified, "name": "Test " + email,
	}
	g := idpGrant{challenge: q.Get("code_challenge"), claims: claims, key: p.key}
	if edit != nil {
		edit(claims, &g)
	}
	code = "code-" + randomString(p.t)
	p.mu.Lock()
	p.codes[code] = g
	p.mu.Unlock()
	return code, q.Get("state")
}

func randomString(t *testing.T) string {
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// oidcFixture: org acme signs existing members in; org bravo also
// provisions new users as viewers (granted by its owner).
type oidcFixture struct {
	e   *env
	idp *testIdP
	hc  *http.Client // does not follow redirects
}

func newOIDCFixture(t *testing.T) *oidcFixture {
	t.Helper()
	idp := newTestIdP(t, "gatehouse-client")
	prov := func(org string, provision *auth.OIDCProvisioning) server.OIDCProvider {
		return server.OIDCProvider{Org: org, Issuer: idp.srv.URL, ClientID: "gatehouse-client", ClientSecret: "s3cret",
			RedirectURL: "http://gatehouse.test/v1/auth/oidc/" + org + "/callback", Provision: provision}
	}
	e := newEnv(t, "sqlite", envOpts{cfg: func(c *server.Config) {
		c.OIDC = []server.OIDCProvider{prov("acme", nil), prov("bravo", &auth.OIDCProvisioning{Role: "viewer", GrantedBy: "user:olive"}),
			// charlie's provisioning names someone who may not grant there.
			prov("charlie", &auth.OIDCProvisioning{Role: "viewer", GrantedBy: "user:mia"})}
	}})
	ctx := ctxT(t)
	mkUser := func(id string) string {
		_, tok, err := e.auth.Bootstrap(ctx, store.User{ID: id, Email: id + "@example.com"}, "test")
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	olive := mkUser("olive")
	mkUser("mia")
	mkUser("otto")
	for _, org := range []string{"acme", "bravo", "charlie"} {
		e.must(201, "POST", "/v1/orgs", olive, map[string]any{"id": org}, nil)
	}
	e.must(201, "POST", "/v1/orgs/acme/members", olive, map[string]any{"user_id": "mia", "role": "builder"}, nil)
	return &oidcFixture{e: e, idp: idp, hc: &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// start begins a sign-in: the redirect to the provider and the cookie.
func (f *oidcFixture) start(t *testing.T, org string) (authURL string, cookie *http.Cookie) {
	t.Helper()
	resp, err := f.hc.Get(f.e.URL + "/v1/auth/oidc/" + org + "/start")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("start: status %d", resp.StatusCode)
	}
	for _, c := range resp.Cookies() {
		if c.Name == "gatehouse_oidc" {
			cookie = c
		}
	}
	if cookie == nil || !cookie.HttpOnly || cookie.SameSite != http.SameSiteLaxMode {
		t.Fatalf("start set no HttpOnly SameSite=Lax sign-in cookie: %v", resp.Cookies())
	}
	return resp.Header.Get("Location"), cookie
}

func (f *oidcFixture) callback(t *testing.T, org, code, state string, cookie *http.Cookie) (int, server.SignInResponse, api.Problem) {
	t.Helper()
	req, _ := http.NewRequest("GET", f.e.URL+"/v1/auth/oidc/"+org+"/callback?"+url.Values{"code": {code}, "state": {state}}.Encode(), nil)
	if cookie != nil {
		req.AddCookie(cookie)
	}
	resp, err := f.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out server.SignInResponse
	var prob api.Problem
	if resp.StatusCode == 200 {
		_ = json.NewDecoder(resp.Body).Decode(&out)
	} else {
		_ = json.NewDecoder(resp.Body).Decode(&prob)
	}
	return resp.StatusCode, out, prob
}

// signIn runs the whole flow for email at org.
func (f *oidcFixture) signIn(t *testing.T, org, email string, verified bool, edit func(jwt.MapClaims, *idpGrant)) (int, server.SignInResponse, api.Problem) {
	t.Helper()
	authURL, cookie := f.start(t, org)
	code, state := f.idp.approve(authURL, email, verified, edit)
	return f.callback(t, org, code, state, cookie)
}

func TestOIDCSignIn(t *testing.T) {
	t.Parallel()
	f := newOIDCFixture(t)

	// A member signs in: a session for her, confined to the org.
	code, in, prob := f.signIn(t, "acme", "MIA@example.com", true, nil)
	if code != 200 || in.Principal != "user:mia" || in.Org != "acme" || in.Session == "" || in.Provisioned {
		t.Fatalf("member sign-in: %d %+v %+v", code, in, prob)
	}
	var me api.Me
	f.e.must(200, "GET", "/v1/me", in.Session, nil, &me)
	if me.Principal != "user:mia" || me.Org != "acme" || me.Via != "session" {
		t.Errorf("the session is %+v", me)
	}
	// Confined: it is no credential in another org.
	f.e.must(404, "GET", "/v1/orgs/bravo", in.Session, nil, nil)

	// Provisioning (bravo allows it): a new user, a viewer of bravo.
	code, in, prob = f.signIn(t, "bravo", "nina@example.com", true, nil)
	if code != 200 || !in.Provisioned || in.Org != "bravo" || !strings.HasPrefix(in.Principal, "user:nina") {
		t.Fatalf("provisioning sign-in: %d %+v %+v", code, in, prob)
	}
	f.e.must(200, "GET", "/v1/me", in.Session, nil, &me)
	if me.User == nil || me.User.Email != "nina@example.com" {
		t.Errorf("provisioned user %+v", me.User)
	}
	// Signing in again finds the same user, not a second one.
	code, again, _ := f.signIn(t, "bravo", "nina@example.com", true, nil)
	if code != 200 || again.Provisioned || again.Principal != in.Principal {
		t.Errorf("second sign-in: %d %+v", code, again)
	}
}

// The attacks of docs/threat-model.md ("Single sign-on"): each must end
// without a session, and none may yield one for someone else.
func TestOIDCSignInAttacks(t *testing.T) {
	t.Parallel()
	f := newOIDCFixture(t)
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		org    string
		email  string
		unver  bool
		edit   func(jwt.MapClaims, *idpGrant)
		status int
		detail string
	}{
		{name: "unverified email", org: "acme", email: "mia@example.com", unver: true, status: 401, detail: "verified email"},
		{name: "email verified claim absent", org: "acme", email: "mia@example.com", edit: func(c jwt.MapClaims, _ *idpGrant) { delete(c, "email_verified") }, status: 401, detail: "verified email"},
		{name: "no user with the email, no provisioning", org: "acme", email: "nobody@example.com", status: 403, detail: "does not provision"},
		{name: "a user of the email who is not a member", org: "acme", email: "otto@example.com", status: 403, detail: "not a member"},
		{name: "provisioning never adds an existing user to an org", org: "bravo", email: "mia@example.com", status: 403, detail: "not a member"},
		{name: "ID token for another client", org: "acme", email: "mia@example.com", edit: func(c jwt.MapClaims, _ *idpGrant) { c["aud"] = "someone-else" }, status: 401, detail: "not valid"},
		{name: "ID token from another issuer", org: "acme", email: "mia@example.com", edit: func(c jwt.MapClaims, _ *idpGrant) { c["iss"] = "https://evil.example" }, status: 401, detail: "not valid"},
		{name: "ID token signed by another key", org: "acme", email: "mia@example.com", edit: func(_ jwt.MapClaims, g *idpGrant) { g.key = other }, status: 401, detail: "not valid"},
		{name: "expired ID token", org: "acme", email: "mia@example.com", edit: func(c jwt.MapClaims, _ *idpGrant) { c["exp"] = time.Now().Add(-time.Hour).Unix() }, status: 401, detail: "not valid"},
		{name: "ID token of another sign-in (nonce)", org: "acme", email: "mia@example.com", edit: func(c jwt.MapClaims, _ *idpGrant) { c["nonce"] = "replayed" }, status: 401, detail: "nonce"},
		{name: "a code redeemed without the PKCE verifier", org: "acme", email: "mia@example.com", edit: func(_ jwt.MapClaims, g *idpGrant) { g.challenge = "not-the-challenge" }, status: 401, detail: "did not accept the code"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, in, prob := f.signIn(t, tc.org, tc.email, !tc.unver, tc.edit)
			if code != tc.status || in.Session != "" || !strings.Contains(prob.Detail, tc.detail) {
				t.Errorf("status %d, session %q, problem %+v; want %d mentioning %q", code, in.Session, prob, tc.status, tc.detail)
			}
		})
	}

	t.Run("callback without the browser's cookie (login CSRF)", func(t *testing.T) {
		authURL, _ := f.start(t, "acme")
		code, state := f.idp.approve(authURL, "mia@example.com", true, nil)
		if status, in, _ := f.callback(t, "acme", code, state, nil); status != 401 || in.Session != "" {
			t.Errorf("status %d session %q", status, in.Session)
		}
	})
	t.Run("callback with another browser's cookie", func(t *testing.T) {
		authURL, _ := f.start(t, "acme")
		_, cookie2 := f.start(t, "acme")
		code, state := f.idp.approve(authURL, "mia@example.com", true, nil)
		if status, in, _ := f.callback(t, "acme", code, state, cookie2); status != 401 || in.Session != "" {
			t.Errorf("status %d session %q", status, in.Session)
		}
	})
	t.Run("a state is good once", func(t *testing.T) {
		authURL, cookie := f.start(t, "acme")
		code, state := f.idp.approve(authURL, "mia@example.com", true, nil)
		if status, _, p := f.callback(t, "acme", code, state, cookie); status != 200 {
			t.Fatalf("first callback: %d %+v", status, p)
		}
		code2, _ := f.idp.approve(authURL, "mia@example.com", true, nil)
		if status, in, _ := f.callback(t, "acme", code2, state, cookie); status != 401 || in.Session != "" {
			t.Errorf("replayed state: status %d session %q", status, in.Session)
		}
	})
	t.Run("a sign-in started for one org does not finish in another", func(t *testing.T) {
		authURL, cookie := f.start(t, "bravo")
		code, state := f.idp.approve(authURL, "mia@example.com", true, nil)
		cookie.Path = "/"
		if status, in, _ := f.callback(t, "acme", code, state, cookie); status != 401 || in.Session != "" {
			t.Errorf("status %d session %q", status, in.Session)
		}
	})
	t.Run("provisioning by someone who may not grant the role", func(t *testing.T) {
		for range 2 { // and the user it created is gone: the second try fails the same way
			code, in, prob := f.signIn(t, "charlie", "pat@example.com", true, nil)
			if code != 403 || in.Session != "" || !strings.Contains(prob.Detail, "cannot grant role viewer") {
				t.Fatalf("status %d session %q problem %+v", code, in.Session, prob)
			}
		}
		if _, err := f.e.st.GetUserByEmail(ctxT(t), "pat@example.com"); err == nil {
			t.Error("the user created for a failed provisioning is still there")
		}
	})
	t.Run("an org without single sign-on", func(t *testing.T) {
		resp, err := f.hc.Get(f.e.URL + "/v1/auth/oidc/nope/start")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 404 {
			t.Errorf("status %d", resp.StatusCode)
		}
	})
	t.Run("the provider reports an error", func(t *testing.T) {
		resp, err := f.hc.Get(f.e.URL + "/v1/auth/oidc/acme/callback?error=access_denied&state=x")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 401 {
			t.Errorf("status %d", resp.StatusCode)
		}
	})
}
