package auth

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/store"
	"github.com/golang-jwt/jwt/v5"
)

const testAudience = "https://gw.example/mcp/acme/default/github"

func testAgentClaims(now time.Time) agentClaims {
	return agentClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer: SessionIssuer, Subject: "agent:Helper", Audience: jwt.ClaimStrings{testAudience},
			IssuedAt: jwt.NewNumericDate(now), NotBefore: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(5 * time.Minute)), ID: "j1",
		},
		Org: "acme", OnBehalfOf: "user:bob", AgentCreated: 1, UserCreated: 2, MintedBy: "service:platform",
	}
}

// TestAgentTokenVerify: a minted token verifies for its audience only;
// nothing else passes for one — a session, a token of another key, type,
// algorithm, subject kind, several audiences, or an expired one — and an
// agent token never passes for a session.
func TestAgentTokenVerify(t *testing.T) {
	ks := NewKeySet()
	now := time.Unix(1_900_000_000, 0)
	good, err := ks.issueAgent(testAgentClaims(now))
	if err != nil {
		t.Fatal(err)
	}
	c, err := ks.verifyAgent(good, testAudience, now)
	if err != nil || c.Subject != "agent:Helper" || c.Org != "acme" || c.OnBehalfOf != "user:bob" {
		t.Fatalf("verify: %+v %v", c, err)
	}
	if _, err := ks.Verify(strings.TrimPrefix(good, AgentTokenPrefix), now); !errors.Is(err, ErrUnauthenticated) {
		t.Errorf("an agent token verified as a session: %v", err)
	}
	sess, _, _, err := ks.Issue(Identity{Principal: "user:bob"}, SessionBinding{UserCreatedAt: now}, time.Minute, now)
	if err != nil {
		t.Fatal(err)
	}
	signWith := func(m jwt.SigningMethod, key any, typ string, c agentClaims) string {
		tk := jwt.NewWithClaims(m, c)
		tk.Header["kid"] = ks.IDs()[0]
		if typ != "" {
			tk.Header["typ"] = typ
		}
		s, err := tk.SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return AgentTokenPrefix + s
	}
	_, other, _ := ed25519.GenerateKey(rand.Reader)
	mod := func(f func(*agentClaims)) string {
		c := testAgentClaims(now)
		f(&c)
		tok, err := ks.issueAgent(c)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	bad := map[string]string{
		"a session with the prefix":     AgentTokenPrefix + sess,
		"a session":                     sess,
		"without the prefix":            strings.TrimPrefix(good, AgentTokenPrefix),
		"another key":                   signWith(jwt.SigningMethodEdDSA, other, agentTokenType, testAgentClaims(now)),
		"the JWT type":                  signWith(jwt.SigningMethodEdDSA, ks.keys[0].Private, "JWT", testAgentClaims(now)),
		"no type":                       signWith(jwt.SigningMethodEdDSA, ks.keys[0].Private, "", testAgentClaims(now)),
		"HMAC":                          signWith(jwt.SigningMethodHS256, []byte("k"), agentTokenType, testAgentClaims(now)),
		"none":                          signWith(jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, agentTokenType, testAgentClaims(now)),
		"a user subject":                mod(func(c *agentClaims) { c.Subject = "user:bob" }),
		"a service subject":             mod(func(c *agentClaims) { c.Subject = "service:ci" }),
		"two audiences":                 mod(func(c *agentClaims) { c.Audience = jwt.ClaimStrings{testAudience, "https://other"} }),
		"another issuer":                mod(func(c *agentClaims) { c.Issuer = "evil" }),
		"expired":                       mod(func(c *agentClaims) { c.ExpiresAt = jwt.NewNumericDate(now) }),
		"no expiry":                     mod(func(c *agentClaims) { c.ExpiresAt = nil }),
		"no id":                         mod(func(c *agentClaims) { c.ID = "" }),
		"no org":                        mod(func(c *agentClaims) { c.Org = "" }),
		"no agent incarnation":          mod(func(c *agentClaims) { c.AgentCreated = 0 }),
		"a user without incarnation":    mod(func(c *agentClaims) { c.UserCreated = 0 }),
		"on behalf of an agent":         mod(func(c *agentClaims) { c.OnBehalfOf = "agent:x" }),
		"truncated":                     good[:len(good)-3],
		"empty":                         "",
		"prefix only":                   AgentTokenPrefix,
		"oversized":                     AgentTokenPrefix + strings.Repeat("a", 9000),
		"issued in the future (no nbf)": mod(func(c *agentClaims) { c.NotBefore = jwt.NewNumericDate(now.Add(time.Hour)) }),
	}
	for name, tok := range bad {
		if _, err := ks.verifyAgent(tok, testAudience, now); !errors.Is(err, ErrUnauthenticated) {
			t.Errorf("%s: %v, want ErrUnauthenticated", name, err)
		}
	}
	if _, err := ks.verifyAgent(good, testAudience+"/", now); !errors.Is(err, ErrUnauthenticated) {
		t.Errorf("another audience: %v", err)
	}
	if _, err := ks.verifyAgent(good, "", now); !errors.Is(err, ErrUnauthenticated) {
		t.Errorf("no audience: %v", err)
	}
}

func TestCheckAudience(t *testing.T) {
	for _, ok := range []string{testAudience, "http://127.0.0.1:8080/mcp/a/b/c", "https://gw.example/mcp/a/b/c?x=1"} {
		if err := checkAudience(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "/mcp/a/b/c", "gw.example/mcp", "ftp://gw.example/x", "https://u:p@gw.example/x", "https://gw.example/x#f",
		"https:///x", "mailto:a@b", "https://" + strings.Repeat("a", 2100)} {
		if err := checkAudience(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// FuzzVerifyAgentToken: no input panics, and only a token this key set
// signed for the audience verifies.
func FuzzVerifyAgentToken(f *testing.F) {
	ks := NewKeySet()
	now := time.Unix(1_900_000_000, 0)
	good, err := ks.issueAgent(testAgentClaims(now))
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{good, good[:len(good)/2], AgentTokenPrefix, AgentTokenPrefix + "a.b.c", "", AgentTokenPrefix + "e30.e30.e30",
		strings.Replace(good, ".", "..", 1)} {
		f.Add(s, testAudience)
	}
	f.Add(good, testAudience+"/")
	f.Fuzz(func(t *testing.T, tok, aud string) {
		c, err := ks.verifyAgent(tok, aud, now)
		if err != nil {
			if !errors.Is(err, ErrUnauthenticated) {
				t.Fatalf("error %v is not ErrUnauthenticated", err)
			}
			return
		}
		if aud == "" || len(c.Audience) != 1 || c.Audience[0] != aud || !strings.HasPrefix(c.Subject, "agent:") {
			t.Fatalf("verified %+v for audience %q", c, aud)
		}
	})
}

// TestAgentTokenVerifiedCache: a remembered verification holds only for
// the same audience, before the token's expiry and while its signing key
// is in the key set; the cache keeps no token.
func TestAgentTokenVerifiedCache(t *testing.T) {
	ks := NewKeySet()
	s := &Service{keys: ks, st: noAgentTokens{}}
	now := time.Unix(1_900_000_000, 0)
	tok, err := ks.issueAgent(testAgentClaims(now))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.verifyAgentCached(context.Background(), tok, testAudience, now); err != nil {
		t.Fatal(err)
	}
	if _, err := s.verifyAgentCached(context.Background(), tok, testAudience, now.Add(time.Minute)); err != nil {
		t.Errorf("remembered: %v", err)
	}
	s.verified.Range(func(k, _ any) bool {
		if _, ok := k.([32]byte); !ok {
			t.Errorf("cache key %T, want a SHA-256", k)
		}
		return true
	})
	if _, err := s.verifyAgentCached(context.Background(), tok, testAudience+"/", now); !errors.Is(err, ErrUnauthenticated) {
		t.Errorf("remembered for another audience: %v", err)
	}
	if _, err := s.verifyAgentCached(context.Background(), tok, testAudience, now.Add(5*time.Minute)); !errors.Is(err, ErrUnauthenticated) {
		t.Errorf("remembered past its expiry: %v", err)
	}
	if _, err := s.verifyAgentCached(context.Background(), tok, testAudience, now.Add(time.Minute)); err != nil {
		t.Errorf("verified again: %v", err)
	}
	ks.Rotate()
	ks.Drop(time.Now().Add(time.Hour)) // drops every key but the newest
	if _, err := s.verifyAgentCached(context.Background(), tok, testAudience, now.Add(time.Minute)); !errors.Is(err, ErrUnauthenticated) {
		t.Errorf("remembered after its key was dropped: %v", err)
	}
}

// noAgentTokens is a store with no agent token rows (the rest is not
// implemented: the tests using it read nothing else).
type noAgentTokens struct{ store.Store }

func (noAgentTokens) GetAgentToken(context.Context, string, string) (store.AgentToken, error) {
	return store.AgentToken{}, store.ErrNotFound
}

// TestSessionRefusesOtherTokenTypes: a token with a session's claims,
// signed by the set's key, verifies as a session only with the session's
// header type — one typed as an agent token (or untyped) is refused even
// though its audience and subject are a session's.
func TestSessionRefusesOtherTokenTypes(t *testing.T) {
	ks := NewKeySet()
	now := time.Unix(1_900_000_000, 0)
	claims := sessionClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer: SessionIssuer, Subject: "user:bob", Audience: jwt.ClaimStrings{SessionAudience}, ID: "s1",
			IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(time.Minute)),
		},
		UserCreated: now.UnixMicro(),
	}
	sign := func(typ string) string {
		tk := jwt.NewWithClaims(jwt.SigningMethodEdDSA, claims)
		tk.Header["kid"] = ks.IDs()[0]
		if typ == "" {
			delete(tk.Header, "typ")
		} else {
			tk.Header["typ"] = typ
		}
		s, err := tk.SignedString(ks.keys[0].Private)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	if id, err := ks.Verify(sign(sessionTokenType), now); err != nil || id.Principal != "user:bob" {
		t.Fatalf("a session's own type: %+v, %v", id, err)
	}
	for _, typ := range []string{agentTokenType, "", "at+jwt"} {
		if _, err := ks.Verify(sign(typ), now); !errors.Is(err, ErrUnauthenticated) {
			t.Errorf("typ %q: %v, want ErrUnauthenticated", typ, err)
		}
	}
}
