package server_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/gatehouse-dev/gatehouse/internal/auth"
	"github.com/gatehouse-dev/gatehouse/internal/server"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// clock is a settable clock for the auth service.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Now()} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// TestAPIKeys: personal and org keys, confinement, revocation that bites at
// once, expiry, last-used bookkeeping, and who may mint keys for whom.
func TestAPIKeys(t *testing.T) {
	t.Parallel()
	clk := newClock()
	e := newEnv(t, "sqlite", envOpts{authOpts: auth.Options{Now: clk.Now}})
	w := buildWorld(t, e, "")
	b := buildWorld(t, e, "b")

	// The token is shown once, has the gth_ prefix, and is never stored.
	var kc server.KeyCreated
	e.must(201, "POST", "/v1/apikeys", w.owner, map[string]any{"name": "laptop", "expires_at": clk.Now().Add(time.Hour)}, &kc)
	if !strings.HasPrefix(kc.Token, "gth_"+kc.Item.ID+"_") || kc.Revision == 0 {
		t.Fatalf("created key = %+v", kc)
	}
	got := e.must(200, "GET", "/v1/apikeys/"+kc.Item.ID, w.owner, nil, nil)
	if strings.Contains(string(got.Body), kc.Token[len(kc.Token)-52:]) || strings.Contains(string(got.Body), "hash") {
		t.Errorf("reading a key shows its secret: %s", got.Body)
	}
	e.must(200, "GET", "/v1/me", kc.Token, nil, nil)
	// Expiry: an hour later the key is refused.
	clk.Advance(2 * time.Hour)
	e.must(401, "GET", "/v1/me", kc.Token, nil, nil)
	e.auth.ResetLimits()

	// An org key of a service works in its org only (404 elsewhere, as for
	// a non-member), and cannot mint personal keys or sessions.
	e.must(200, "GET", "/v1/orgs/acme", w.serviceKey, nil, nil)
	e.must(404, "GET", "/v1/orgs/bacme", w.serviceKey, nil, nil)
	e.must(403, "POST", "/v1/apikeys", w.serviceKey, map[string]any{}, nil)
	e.must(403, "POST", "/v1/sessions", w.serviceKey, nil, nil)
	var me server.Me
	e.must(200, "GET", "/v1/me", w.serviceKey, nil, &me)
	if me.Principal != "service:ci" || me.Org != "acme" || len(me.Orgs) != 1 {
		t.Errorf("service /v1/me = %+v", me)
	}

	// A member's own org key, confined to the org even though the member
	// belongs to another org too.
	e.must(201, "POST", "/v1/orgs/bacme/members", b.owner, map[string]any{"user_id": "viewer", "role": "viewer"}, nil)
	grantKeyCreate(t, e, w, "viewer")
	var own server.KeyCreated
	e.must(201, "POST", "/v1/orgs/acme/apikeys", w.viewer, map[string]any{}, &own)
	e.must(200, "GET", "/v1/orgs/bacme", w.viewer, nil, nil)
	e.must(404, "GET", "/v1/orgs/bacme", own.Token, nil, nil)

	// Minting for a service needs apikeys:create.
	r := e.do("POST", "/v1/orgs/acme/apikeys", w.mkey, map[string]any{"principal": "service:ci"})
	if r.Status != 403 || r.problem(t).MissingPermission != "apikeys:create" {
		t.Errorf("viewer minting for the service: %d %s", r.Status, r.Body)
	}
	// Others' keys: listing needs apikeys:read; one's own needs nothing.
	e.must(403, "GET", "/v1/orgs/acme/apikeys", w.viewer, nil, nil)
	var mine server.List[store.APIKey]
	e.must(200, "GET", "/v1/orgs/acme/apikeys?principal=user:viewer", w.viewer, nil, &mine)
	if len(mine.Items) != 1 || mine.Items[0].ID != own.Item.ID {
		t.Errorf("own keys = %+v", mine.Items)
	}
	e.must(404, "GET", "/v1/orgs/bacme/apikeys/"+own.Item.ID, b.owner, nil, nil) // another org's key id

	// Revocation bites at once, through the cache.
	e.must(200, "GET", "/v1/orgs/acme", w.serviceKey, nil, nil)
	svcID := w.params["key"]
	e.must(200, "DELETE", "/v1/orgs/acme/apikeys/"+svcID, w.owner, nil, nil)
	e.must(401, "GET", "/v1/orgs/acme", w.serviceKey, nil, nil)
	e.must(409, "DELETE", "/v1/orgs/acme/apikeys/"+svcID, w.owner, nil, nil)

	// Last use is recorded (in batches).
	e.must(200, "GET", "/v1/me", w.mkey, nil, nil)
	e.auth.FlushUsage()
	var keys server.List[store.APIKey]
	e.must(200, "GET", "/v1/apikeys", w.mkey, nil, &keys)
	if len(keys.Items) != 1 || keys.Items[0].LastUsedAt.IsZero() {
		t.Errorf("last used not recorded: %+v", keys.Items)
	}
}

// TestKeysDieWithTheirPrincipal: a key stops working when its service is
// deleted, and does not come back when a service of the same name is
// created again.
func TestKeysDieWithTheirPrincipal(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "sqlite", envOpts{authOpts: auth.Options{KeyCacheTTL: time.Nanosecond}})
	w := buildWorld(t, e, "")
	e.must(200, "GET", "/v1/orgs/acme", w.serviceKey, nil, nil)
	e.must(200, "DELETE", "/v1/orgs/acme/services/ci", w.owner, nil, nil)
	e.must(401, "GET", "/v1/orgs/acme", w.serviceKey, nil, nil)
	e.must(201, "POST", "/v1/orgs/acme/services", w.owner, map[string]any{"name": "ci"}, nil)
	e.must(401, "GET", "/v1/orgs/acme", w.serviceKey, nil, nil)
}

// TestSessions: an API key is exchanged for an EdDSA session; the session
// works until it expires; anything not signed by our key with EdDSA —
// alg none, HMAC, another Ed25519 key, an unknown kid, a tampered payload
// — is refused.
func TestSessions(t *testing.T) {
	t.Parallel()
	clk := newClock()
	e := newEnv(t, "sqlite", envOpts{authOpts: auth.Options{Now: clk.Now}})
	w := buildWorld(t, e, "")
	var s server.SessionResponse
	e.must(201, "POST", "/v1/sessions", w.owner, nil, &s)
	if s.TokenType != "Bearer" || s.Principal != "user:owner" || s.ExpiresAt.Sub(clk.Now()) > 16*time.Minute {
		t.Fatalf("session = %+v", s)
	}
	var me server.Me
	e.must(200, "GET", "/v1/me", s.Token, nil, &me)
	if me.Via != "session" || me.Principal != "user:owner" {
		t.Errorf("/v1/me with a session = %+v", me)
	}
	e.must(200, "POST", "/v1/orgs/acme/check", s.Token, map[string]any{"action": "chains:run"}, nil)
	// A session is not exchanged for another.
	e.must(403, "POST", "/v1/sessions", s.Token, nil, nil)

	parts := strings.Split(s.Token, ".")
	_, otherKey, _ := ed25519.GenerateKey(rand.Reader)
	claims := jwt.MapClaims{"iss": auth.SessionIssuer, "aud": auth.SessionAudience, "sub": "user:owner", "jti": "x",
		"iat": clk.Now().Unix(), "exp": clk.Now().Add(time.Hour).Unix()}
	kid := e.auth.Keys().IDs()[0]
	sign := func(m jwt.SigningMethod, key any, kid string) string {
		tok := jwt.NewWithClaims(m, claims)
		tok.Header["kid"] = kid
		str, err := tok.SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return str
	}
	forged := map[string]string{
		"alg none":          sign(jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, kid),
		"HS256":             sign(jwt.SigningMethodHS256, []byte("secret"), kid),
		"another key":       sign(jwt.SigningMethodEdDSA, otherKey, kid),
		"unknown kid":       sign(jwt.SigningMethodEdDSA, otherKey, "nope"),
		"tampered payload":  parts[0] + "." + strings.TrimRight(parts[1], "=") + "x." + parts[2],
		"signature dropped": parts[0] + "." + parts[1] + ".",
	}
	for name, tok := range forged {
		e.auth.ResetLimits()
		if r := e.do("GET", "/v1/me", tok, nil); r.Status != http.StatusUnauthorized {
			t.Errorf("%s: status %d, want 401", name, r.Status)
		}
	}
	// Expiry (15 minutes, no leeway).
	clk.Advance(16 * time.Minute)
	e.must(401, "GET", "/v1/me", s.Token, nil, nil)

	// Rotation: a new key signs, sessions of the old one still verify
	// until it is dropped.
	e.auth.ResetLimits()
	clk.Advance(-16 * time.Minute)
	e.auth.Keys().Rotate()
	var s2 server.SessionResponse
	e.must(201, "POST", "/v1/sessions", w.owner, nil, &s2)
	e.must(200, "GET", "/v1/me", s.Token, nil, nil)
	e.must(200, "GET", "/v1/me", s2.Token, nil, nil)
	e.auth.Keys().Drop(time.Now().Add(time.Hour))
	e.must(401, "GET", "/v1/me", s.Token, nil, nil)
	e.must(200, "GET", "/v1/me", s2.Token, nil, nil)
}

// TestInvitations: invite, accept without credentials (user created,
// membership with the role, a session returned), single use (replay 410),
// unknown tokens 401, expired and revoked ones 410, and an inviter who lost
// the right to grant the role in between cannot have it granted.
func TestInvitations(t *testing.T) {
	t.Parallel()
	for _, backend := range backends(t) {
		t.Run(backend, func(t *testing.T) {
			clk := newClock()
			e := newEnv(t, backend, envOpts{authOpts: auth.Options{Now: clk.Now}})
			w := buildWorld(t, e, "")
			invite := func(key, email, role string) server.InvitationCreated {
				t.Helper()
				var ic server.InvitationCreated
				e.must(201, "POST", "/v1/orgs/acme/invitations", key, map[string]any{"email": email, "role": role}, &ic)
				if d := ic.Item.ExpiresAt.Sub(ic.Item.CreatedAt); !strings.HasPrefix(ic.Token, "gti_") || d < 7*24*time.Hour-time.Minute || d > 7*24*time.Hour+time.Minute {
					t.Fatalf("invitation = %+v", ic)
				}
				return ic
			}
			ic := invite(w.owner, "Erin@Example.com", "builder")
			var acc server.AcceptResponse
			e.must(201, "POST", "/v1/invitations/accept", "", map[string]any{"token": ic.Token, "display_name": "Erin"}, &acc)
			if acc.User.ID != "erin" || acc.User.Email != "erin@example.com" || acc.Org != "acme" || acc.Role != "builder" || acc.Session.Token == "" {
				t.Errorf("acceptance = %+v", acc)
			}
			var ck server.CheckResponse
			e.must(200, "POST", "/v1/orgs/acme/check", acc.Session.Token, map[string]any{"action": "chains:create", "consistency": map[string]any{"at_least": acc.Revision}}, &ck)
			if !ck.Allowed {
				t.Error("the invited builder cannot create chains")
			}
			// Replay: 410.
			r := e.do("POST", "/v1/invitations/accept", "", map[string]any{"token": ic.Token})
			if r.Status != http.StatusGone || r.problem(t).Type != server.ProblemBase+server.ProblemGone {
				t.Errorf("replay: %d %s", r.Status, r.Body)
			}
			// A wrong secret for a real id, and garbage: 401.
			e.must(401, "POST", "/v1/invitations/accept", "", map[string]any{"token": ic.Token[:len(ic.Token)-3] + "aaa"}, nil)
			e.must(401, "POST", "/v1/invitations/accept", "", map[string]any{"token": "nope"}, nil)
			// Revoked: 410.
			rv := invite(w.owner, "frank@example.com", "viewer")
			e.must(200, "DELETE", "/v1/orgs/acme/invitations/"+rv.Item.ID, w.owner, nil, nil)
			e.must(410, "POST", "/v1/invitations/accept", "", map[string]any{"token": rv.Token}, nil)
			// Expired: 410.
			ex := invite(w.owner, "gina@example.com", "viewer")
			clk.Advance(7*24*time.Hour + time.Second)
			e.must(410, "POST", "/v1/invitations/accept", "", map[string]any{"token": ex.Token}, nil)
			clk.Advance(-7*24*time.Hour - time.Second)
			// An invitation whose inviter lost members:create in between:
			// 410, and the token is given back (not consumed) — once the
			// inviter has the right again, it works.
			ann := e.user("ann")
			var wb server.Written[store.Member]
			e.must(201, "POST", "/v1/orgs/acme/members", w.owner, map[string]any{"user_id": "ann", "role": "admin"}, &wb)
			late := invite(ann, "hank@example.com", "viewer")
			var bs server.List[store.Binding]
			e.must(200, "GET", "/v1/orgs/acme/bindings?principal=user:ann", w.owner, nil, &bs)
			for _, b := range bs.Items {
				e.must(200, "DELETE", "/v1/orgs/acme/bindings/"+b.ID, w.owner, nil, nil)
			}
			e.must(410, "POST", "/v1/invitations/accept", "", map[string]any{"token": late.Token}, nil)
			e.must(201, "POST", "/v1/orgs/acme/bindings", w.owner, map[string]any{"principal": "user:ann", "role": "admin"}, nil)
			e.must(201, "POST", "/v1/invitations/accept", "", map[string]any{"token": late.Token}, nil)
			// Listing needs members:list.
			var list server.List[store.Invitation]
			e.must(200, "GET", "/v1/orgs/acme/invitations", w.owner, nil, &list)
			if len(list.Items) < 4 {
				t.Errorf("invitations = %d", len(list.Items))
			}
			for _, v := range list.Items {
				if v.Hash != nil {
					t.Error("a listed invitation carries its hash")
				}
			}
			e.must(403, "GET", "/v1/orgs/acme/invitations", w.viewer, nil, nil)
		})
	}
}

// TestRateLimit: failed authentications from one address are limited: the
// burst, then 429 with Retry-After for anything that would need a store
// lookup (forged keys, keys not yet cached, invitations) until the bucket
// refills — while credentials verifiable from memory (a cached key, a
// session) keep working, so forged tokens cannot lock real users out.
func TestRateLimit(t *testing.T) {
	t.Parallel()
	clk := newClock()
	e := newEnv(t, "sqlite", envOpts{authOpts: auth.Options{Now: clk.Now, FailureBurst: 5, FailureRate: 0.5}})
	good := e.user("alice")
	fresh := e.user("bob") // never presented: not cached
	e.must(200, "GET", "/v1/me", good, nil, nil)
	var sess server.SessionResponse
	e.must(201, "POST", "/v1/sessions", good, nil, &sess)
	for i := 0; i < 5; i++ {
		e.must(401, "GET", "/v1/me", "gth_bad"+strconv.Itoa(i), nil, nil)
	}
	for name, tok := range map[string]string{"a forged key": "gth_bad9", "a key not cached yet": fresh} {
		r := e.do("GET", "/v1/me", tok, nil)
		if r.Status != http.StatusTooManyRequests || r.Header.Get("Retry-After") == "" || r.problem(t).Type != server.ProblemBase+server.ProblemRateLimited {
			t.Fatalf("%s after the burst: %d Retry-After %q %s", name, r.Status, r.Header.Get("Retry-After"), r.Body)
		}
	}
	e.must(429, "POST", "/v1/invitations/accept", "", map[string]any{"token": "nope"}, nil)
	e.must(200, "GET", "/v1/me", good, nil, nil)       // cached and matching
	e.must(200, "GET", "/v1/me", sess.Token, nil, nil) // signature verified in memory
	e.must(429, "GET", "/v1/me", good+"x", nil, nil)   // a wrong secret for a cached id
	clk.Advance(2 * time.Second)                       // one token back
	e.must(200, "GET", "/v1/me", fresh, nil, nil)
	e.must(200, "GET", "/v1/me", fresh, nil, nil) // successes cost nothing
	e.must(401, "GET", "/v1/me", "gth_bad", nil, nil)
	e.must(429, "GET", "/v1/me", "gth_bad", nil, nil)
	e.must(200, "GET", "/v1/me", fresh, nil, nil)
}

// TestTrustedProxies: behind a trusted proxy (a host platform relaying its
// users' tokens), failed attempts count against the address the proxy
// forwards, so one end user's forged tokens do not limit another; from an
// untrusted peer X-Forwarded-For is ignored, so a client cannot escape its
// limit by inventing addresses.
func TestTrustedProxies(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		trusted []netip.Prefix
		// wantOther: the status of a never-cached good key presented for
		// another forwarded address after 203.0.113.5 spent its burst.
		wantOther int
	}{
		{"trusted", []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, 200},
		{"untrusted", nil, 429},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			clk := newClock()
			e := newEnv(t, "sqlite", envOpts{
				authOpts: auth.Options{Now: clk.Now, FailureBurst: 3, FailureRate: 0.5},
				cfg:      func(c *server.Config) { c.TrustedProxies = tc.trusted },
			})
			k1, k2 := e.user("alice"), e.user("bob")
			get := func(tok, xff string) int {
				t.Helper()
				req, err := http.NewRequestWithContext(ctxT(t), "GET", e.URL+"/v1/me", nil)
				if err != nil {
					t.Fatal(err)
				}
				req.Header.Set("Authorization", "Bearer "+tok)
				req.Header.Set("X-Forwarded-For", xff)
				res, err := e.hc.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				res.Body.Close()
				return res.StatusCode
			}
			for i := 0; i < 3; i++ {
				if st := get("gth_forged"+strconv.Itoa(i), "203.0.113.5"); st != 401 {
					t.Fatalf("forged token %d: %d, want 401", i, st)
				}
			}
			if st := get(k1, "203.0.113.5"); st != 429 {
				t.Errorf("an uncached key from the limited address: %d, want 429", st)
			}
			if st := get(k2, "198.51.100.7, 203.0.113.9"); st != tc.wantOther {
				t.Errorf("an uncached key from another forwarded address: %d, want %d", st, tc.wantOther)
			}
			// A client cannot prepend its way out: the rightmost untrusted
			// hop is the one that counts.
			if st := get("gth_forged9", "192.0.2.1, 203.0.113.5"); st != 429 && tc.trusted != nil {
				t.Errorf("a forged token with a spoofed first hop: %d, want 429", st)
			}
		})
	}
}

// TestDeletedPrincipalKeysDieAtOnce: keys of a deleted user, service or org
// stop working at the next request in this process, not when their cache
// entries expire (the default 5 s TTL is in force, on a frozen clock).
func TestDeletedPrincipalKeysDieAtOnce(t *testing.T) {
	t.Parallel()
	clk := newClock()
	e := newEnv(t, "sqlite", envOpts{authOpts: auth.Options{Now: clk.Now}})
	w := buildWorld(t, e, "")
	grantKeyCreate(t, e, w, "viewer")
	var orgKey server.KeyCreated
	e.must(201, "POST", "/v1/orgs/acme/apikeys", w.viewer, map[string]any{}, &orgKey)
	for _, tok := range []string{w.viewer, orgKey.Token, w.serviceKey} {
		e.must(200, "GET", "/v1/me", tok, nil, nil) // cached now
	}
	e.must(200, "DELETE", "/v1/me", w.viewer, nil, nil)
	e.must(401, "GET", "/v1/me", w.viewer, nil, nil)
	e.must(401, "GET", "/v1/me", orgKey.Token, nil, nil)
	e.must(200, "DELETE", "/v1/orgs/acme/services/ci", w.owner, nil, nil)
	e.must(401, "GET", "/v1/me", w.serviceKey, nil, nil)

	var own server.KeyCreated
	e.must(201, "POST", "/v1/orgs/acme/apikeys", w.owner, map[string]any{}, &own)
	e.must(200, "GET", "/v1/me", own.Token, nil, nil)
	e.must(200, "DELETE", "/v1/orgs/acme", w.owner, nil, nil)
	e.must(401, "GET", "/v1/me", own.Token, nil, nil)
	e.must(200, "GET", "/v1/me", w.owner, nil, nil) // the personal key outlives the org
}

// TestDeleteMe: a user deletes itself — not while it is an org's last
// owner, not with an org-confined key — and its keys die with it.
func TestDeleteMe(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "sqlite", envOpts{authOpts: auth.Options{KeyCacheTTL: time.Nanosecond}})
	w := buildWorld(t, e, "")
	var me server.Me
	e.must(200, "GET", "/v1/me", w.viewer, nil, &me)
	if me.User == nil || me.User.ID != "viewer" {
		t.Errorf("/v1/me user = %+v", me.User)
	}
	e.must(409, "DELETE", "/v1/me", w.owner, nil, nil) // the last owner of acme
	grantKeyCreate(t, e, w, "viewer")
	var own server.KeyCreated
	e.must(201, "POST", "/v1/orgs/acme/apikeys", w.viewer, map[string]any{}, &own)
	e.must(403, "DELETE", "/v1/me", own.Token, nil, nil)
	e.must(403, "DELETE", "/v1/me", w.serviceKey, nil, nil)
	e.must(200, "DELETE", "/v1/me", w.viewer, nil, nil)
	e.must(401, "GET", "/v1/me", w.viewer, nil, nil)
	e.must(404, "GET", "/v1/orgs/acme/members/viewer", w.owner, nil, nil)
}

// TestConfinedKeysStayInTheirOrg: an org key cannot create orgs.
func TestConfinedKeysStayInTheirOrg(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "sqlite", envOpts{})
	w := buildWorld(t, e, "")
	var own server.KeyCreated
	e.must(201, "POST", "/v1/orgs/acme/apikeys", w.owner, map[string]any{}, &own)
	e.must(403, "POST", "/v1/orgs", own.Token, map[string]any{"id": "elsewhere"}, nil)
	e.must(201, "POST", "/v1/orgs", w.owner, map[string]any{"id": "elsewhere"}, nil)
	var orgs server.List[store.Org]
	e.must(200, "GET", "/v1/orgs", own.Token, nil, &orgs)
	if len(orgs.Items) != 1 || orgs.Items[0].ID != "acme" {
		t.Errorf("orgs seen through an acme key: %+v", orgs.Items)
	}
}

// TestKeyLastUseWithinASecond: an API key's recorded last use is never
// later than its real last use nor more than a second earlier, however
// often it is used — the key's cache entry is written at most once a
// second (auth's usageGranularity), not on every request.
func TestKeyLastUseWithinASecond(t *testing.T) {
	t.Parallel()
	clk := newClock()
	e := newEnv(t, "sqlite", envOpts{authOpts: auth.Options{Now: clk.Now}})
	w := buildWorld(t, e, "")
	steps := []struct {
		name    string
		advance time.Duration
	}{
		{"first use", 0},
		{"a moment later", 300 * time.Millisecond},
		{"a second after the first", 800 * time.Millisecond},
		{"uses close together", 10 * time.Millisecond},
		{"past the key cache's TTL", 7 * time.Second},
		{"just under a second later", 999 * time.Millisecond},
		{"a second and a half later", 1500 * time.Millisecond},
	}
	for _, st := range steps {
		clk.Advance(st.advance)
		used := clk.Now()
		e.must(200, "GET", "/v1/me", w.mkey, nil, nil)
		e.auth.FlushUsage()
		var keys server.List[store.APIKey]
		e.must(200, "GET", "/v1/apikeys", w.mkey, nil, &keys)
		if len(keys.Items) != 1 {
			t.Fatalf("%s: keys %+v", st.name, keys.Items)
		}
		got := keys.Items[0].LastUsedAt
		if got.After(used) || got.Before(used.Add(-time.Second)) {
			t.Errorf("%s: last use recorded %v, want within a second before %v", st.name, got, used)
		}
	}
}
