package auth

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

func TestTokens(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 100; i++ {
		tok, id, hash := NewAPIKey()
		if seen[tok] || seen[id] {
			t.Fatalf("token or id repeated: %s", tok)
		}
		seen[tok], seen[id] = true, true
		got, ok := ParseToken(APIKeyPrefix, tok)
		if !ok || got != id || !Matches(tok, hash) {
			t.Fatalf("round trip of %s: id %q ok %v", tok, got, ok)
		}
		if _, ok := ParseToken(InvitationPrefix, tok); ok {
			t.Fatal("an API key parses as an invitation")
		}
	}
	tok, _, hash := NewAPIKey()
	for name, bad := range map[string]string{
		"empty":         "",
		"prefix only":   APIKeyPrefix,
		"short":         tok[:len(tok)-1],
		"long":          tok + "a",
		"upper secret":  tok[:len(tok)-1] + "A",
		"bad secret":    tok[:len(tok)-1] + "1", // base32 has no 1
		"bad id":        APIKeyPrefix + "g" + tok[len(APIKeyPrefix)+1:],
		"bad separator": tok[:len(APIKeyPrefix)+idLen] + "-" + tok[len(APIKeyPrefix)+idLen+1:],
		"wrong prefix":  "gtx_" + tok[4:],
		"other token":   strings.Replace(tok, tok[len(tok)-5:], "aaaaa", 1),
	} {
		if _, ok := ParseToken(APIKeyPrefix, bad); ok && Matches(bad, hash) {
			t.Errorf("%s: %q accepted", name, bad)
		}
	}
	if Matches(tok, hash[:31]) || Matches(tok, nil) {
		t.Error("a short hash matches")
	}
	// 256 bits of secret: 52 base32 characters.
	if sec := tok[len(APIKeyPrefix)+idLen+1:]; len(sec)*5 < 256 {
		t.Errorf("secret %q carries fewer than 256 bits", sec)
	}
}

func TestLimiter(t *testing.T) {
	now := time.Unix(1000, 0)
	l := NewLimiter(0.5, 3)
	l.Now = func() time.Time { return now }
	for i := 0; i < 3; i++ {
		if _, ok := l.Allow("a"); !ok {
			t.Fatalf("attempt %d refused", i)
		}
		l.Fail("a")
	}
	wait, ok := l.Allow("a")
	if ok || wait != 2*time.Second {
		t.Fatalf("after the burst: ok %v wait %v, want refused for 2s", ok, wait)
	}
	if _, ok := l.Allow("b"); !ok {
		t.Error("another address is limited too")
	}
	now = now.Add(2 * time.Second)
	if _, ok := l.Allow("a"); !ok {
		t.Error("not allowed after refilling one token")
	}
	// Full buckets are swept; past capacity addresses share one bucket.
	now = now.Add(time.Hour)
	l.MaxAddresses = 2
	l.Fail("c")
	if _, ok := l.buckets.Load("a"); ok {
		t.Error("an idle full bucket was not swept")
	}
	l.Fail("d")
	for i := 0; i < 3; i++ {
		l.Fail("e") // over capacity: the overflow bucket
	}
	if _, ok := l.Allow("f"); ok {
		t.Error("the overflow bucket is shared by every new address")
	}
	if _, ok := l.Allow("c"); !ok {
		t.Error("a tracked address suffers from the overflow")
	}
}

func TestSessions(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	ks := NewKeySet()
	bound := SessionBinding{UserCreatedAt: now.Add(-time.Hour), APIKey: "0123456789abcdef"}
	tok, sid, exp, err := ks.Issue(Identity{Principal: "user:alice", Org: "acme"}, bound, 15*time.Minute, now)
	if err != nil || sid == "" || !exp.Equal(now.Add(15*time.Minute)) {
		t.Fatalf("Issue: %v %q %v", err, sid, exp)
	}
	id, err := ks.Verify(tok, now.Add(time.Minute))
	if err != nil || id.Principal != "user:alice" || id.Org != "acme" || id.SessionID != sid || id.KeyID != "" {
		t.Fatalf("Verify = %+v, %v", id, err)
	}
	if _, b, err := ks.VerifyBound(tok, now.Add(time.Minute)); err != nil || !b.UserCreatedAt.Equal(bound.UserCreatedAt) || b.APIKey != bound.APIKey {
		t.Errorf("VerifyBound binding = %+v, %v; want %+v", b, err, bound)
	}
	if _, _, _, err := ks.Issue(Identity{Principal: "user:alice"}, SessionBinding{}, time.Hour, now); err == nil {
		t.Error("a session was issued without its user's incarnation")
	}
	if _, err := ks.Verify(tok, now.Add(15*time.Minute)); !errors.Is(err, ErrUnauthenticated) {
		t.Errorf("expired session: %v", err)
	}
	if _, err := ks.Verify(tok, now.Add(-time.Minute)); !errors.Is(err, ErrUnauthenticated) {
		t.Errorf("session used before it was issued: %v", err)
	}
	// Never outlives the credential it came from.
	_, _, exp, _ = ks.Issue(Identity{Principal: "user:alice", Expires: now.Add(time.Minute)}, bound, time.Hour, now)
	if !exp.Equal(now.Add(time.Minute)) {
		t.Errorf("session expiry %v beyond its key's", exp)
	}
	if _, _, _, err := ks.Issue(Identity{Principal: "service:ci"}, bound, time.Hour, now); err == nil {
		t.Error("a session was issued to a service")
	}
	// Forgeries.
	_, other, _ := ed25519.GenerateKey(rand.Reader)
	kid := ks.IDs()[0]
	mk := func(m jwt.SigningMethod, key any, claims jwt.MapClaims, kid string) string {
		tk := jwt.NewWithClaims(m, claims)
		tk.Header["kid"] = kid
		s, err := tk.SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	good := jwt.MapClaims{"iss": SessionIssuer, "aud": SessionAudience, "sub": "user:alice", "jti": "x",
		"iat": now.Unix(), "exp": now.Add(time.Hour).Unix(), "uc": now.Add(-time.Hour).UnixMicro()}
	with := func(k string, v any) jwt.MapClaims {
		c := jwt.MapClaims{}
		for a, b := range good {
			c[a] = b
		}
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
		return c
	}
	var priv ed25519.PrivateKey
	for _, k := range ks.keys {
		priv = k.Private
	}
	if _, err := ks.Verify(mk(jwt.SigningMethodEdDSA, priv, good, kid), now); err != nil {
		t.Fatalf("a well-formed token is refused: %v", err)
	}
	for name, tok := range map[string]string{
		"alg none":        mk(jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, good, kid),
		"HS256 with pub":  mk(jwt.SigningMethodHS256, []byte(priv.Public().(ed25519.PublicKey)), good, kid),
		"other key":       mk(jwt.SigningMethodEdDSA, other, good, kid),
		"unknown kid":     mk(jwt.SigningMethodEdDSA, priv, good, "nope"),
		"no kid":          mk(jwt.SigningMethodEdDSA, priv, good, ""),
		"wrong issuer":    mk(jwt.SigningMethodEdDSA, priv, with("iss", "evil"), kid),
		"wrong audience":  mk(jwt.SigningMethodEdDSA, priv, with("aud", "other"), kid),
		"no expiry":       mk(jwt.SigningMethodEdDSA, priv, with("exp", nil), kid),
		"service subject": mk(jwt.SigningMethodEdDSA, priv, with("sub", "service:ci"), kid),
		"no session id":   mk(jwt.SigningMethodEdDSA, priv, with("jti", nil), kid),
		"unbound":         mk(jwt.SigningMethodEdDSA, priv, with("uc", nil), kid),
		"garbage":         "a.b.c",
		"huge":            strings.Repeat("a", 5000) + ".b.c",
	} {
		if _, err := ks.Verify(tok, now); !errors.Is(err, ErrUnauthenticated) {
			t.Errorf("%s: Verify err = %v, want ErrUnauthenticated", name, err)
		}
	}
}

func TestKeyFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "keys.json")
	if _, err := LoadKeyFile(path); !errors.Is(err, os.ErrNotExist) || !errors.Is(err, ErrKeyFile) {
		t.Errorf("missing file: %v", err)
	}
	ks := NewKeySet()
	ks.Rotate()
	if err := ks.WriteKeyFile(path); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode = %v, %v", fi.Mode(), err)
	}
	back, err := LoadKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(back.IDs(), ","), strings.Join(ks.IDs(), ","); got != want {
		t.Errorf("ids after reload %s, want %s", got, want)
	}
	tok, _, _, _ := ks.Issue(Identity{Principal: "user:a"}, SessionBinding{UserCreatedAt: time.Now()}, time.Hour, time.Now())
	if _, err := back.Verify(tok, time.Now()); err != nil {
		t.Errorf("a reloaded key set does not verify its sessions: %v", err)
	}
	for name, bad := range map[string]string{
		"empty":         `{"keys":[]}`,
		"short seed":    `{"keys":[{"kid":"a","ed25519_seed":"AAAA"}]}`,
		"duplicate kid": `{"keys":[{"kid":"a","ed25519_seed":"` + strings.Repeat("A", 43) + `="},{"kid":"a","ed25519_seed":"` + strings.Repeat("A", 43) + `="}]}`,
		"unknown field": `{"keys":[],"x":1}`,
		"not json":      `nope`,
	} {
		if _, err := ParseKeySet([]byte(bad)); !errors.Is(err, ErrKeyFile) {
			t.Errorf("%s: err = %v", name, err)
		}
	}
}

func TestUserIDFromEmail(t *testing.T) {
	for email, want := range map[string]string{
		"erin@example.com":      "erin",
		"erin.smith@x.y":        "erin-smith",
		"1erin@x.y":             "erin",
		"+-@x.y":                "user",
		"e.r+tag_1@x.y":         "e-r-tag_1",
		strings.Repeat("a", 99): strings.Repeat("a", 64),
	} {
		if got := userIDFromEmail(email); got != want {
			t.Errorf("userIDFromEmail(%q) = %q, want %q", email, got, want)
		}
		if err := checkUserID(userIDFromEmail(email)); err != nil {
			t.Errorf("derived id for %q is not an identifier: %v", email, err)
		}
	}
}
