package auth

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/gatehouse-dev/gatehouse/internal/atomicfile"
)

// Sessions are JWTs signed with Ed25519 (alg "EdDSA", pinned: a token with
// any other algorithm, "none" and HMAC included, is refused before its
// signature is looked at). The header's kid names the signing key; the key
// set holds the current key and older ones still accepted for
// verification, which is how keys rotate: add a key (it signs from then
// on), and drop the old one once every session it signed has expired.

// SessionIssuer and SessionAudience are the iss and aud of every session.
const (
	SessionIssuer   = "gatehouse"
	SessionAudience = "gatehouse-api"
)

// DefaultSessionTTL is a session's lifetime.
const DefaultSessionTTL = 15 * time.Minute

// ErrKeyFile wraps errors reading or parsing a session key file.
var ErrKeyFile = errors.New("session key file")

// SigningKey is one Ed25519 key of a key set.
type SigningKey struct {
	ID        string
	Private   ed25519.PrivateKey
	CreatedAt time.Time
}

// KeySet signs and verifies sessions. Safe for concurrent use.
type KeySet struct {
	mu   sync.RWMutex
	keys []SigningKey // oldest first; the last one signs
}

type keyFile struct {
	Keys []keyFileEntry `json:"keys"`
}

type keyFileEntry struct {
	ID        string    `json:"kid"`
	Seed      string    `json:"ed25519_seed"` // base64 (std) of the 32-byte seed
	CreatedAt time.Time `json:"created_at"`
}

// NewKeySet returns a key set with one fresh key.
func NewKeySet() *KeySet {
	ks := &KeySet{}
	ks.Rotate()
	return ks
}

// Rotate adds a fresh key, which signs from now on, and returns its id.
func (ks *KeySet) Rotate() string {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil { // crypto/rand does not fail
		panic("auth: ed25519: " + err.Error())
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	now := time.Now().UTC().Truncate(time.Second)
	k := SigningKey{ID: now.Format("20060102T150405Z") + "-" + hex.EncodeToString(b[:]), Private: priv, CreatedAt: now}
	ks.mu.Lock()
	ks.keys = append(ks.keys, k)
	ks.mu.Unlock()
	return k.ID
}

// Drop removes keys created before cutoff, keeping at least the current
// one; sessions they signed stop verifying.
func (ks *KeySet) Drop(cutoff time.Time) {
	ks.mu.Lock()
	defer ks.mu.Unlock()
	var kept []SigningKey
	for i, k := range ks.keys {
		if i == len(ks.keys)-1 || !k.CreatedAt.Before(cutoff) {
			kept = append(kept, k)
		}
	}
	ks.keys = kept
}

// IDs lists the key ids, oldest first (the last one signs).
func (ks *KeySet) IDs() []string {
	ks.mu.RLock()
	defer ks.mu.RUnlock()
	out := make([]string, len(ks.keys))
	for i, k := range ks.keys {
		out[i] = k.ID
	}
	return out
}

// ParseKeySet reads a key set from its JSON form.
func ParseKeySet(data []byte) (*KeySet, error) {
	var f keyFile
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrKeyFile, err)
	}
	if len(f.Keys) == 0 {
		return nil, fmt.Errorf("%w: no keys", ErrKeyFile)
	}
	ks := &KeySet{}
	seen := map[string]bool{}
	for i, e := range f.Keys {
		seed, err := base64.StdEncoding.DecodeString(e.Seed)
		if err != nil || len(seed) != ed25519.SeedSize {
			return nil, fmt.Errorf("%w: key %d: ed25519_seed must be %d bytes of base64", ErrKeyFile, i, ed25519.SeedSize)
		}
		if e.ID == "" || len(e.ID) > 64 || seen[e.ID] {
			return nil, fmt.Errorf("%w: key %d: kid must be unique and 1 to 64 bytes", ErrKeyFile, i)
		}
		seen[e.ID] = true
		ks.keys = append(ks.keys, SigningKey{ID: e.ID, Private: ed25519.NewKeyFromSeed(seed), CreatedAt: e.CreatedAt})
	}
	return ks, nil
}

// Marshal renders the key set's JSON form (it holds private keys: store it
// with mode 0600).
func (ks *KeySet) Marshal() []byte {
	ks.mu.RLock()
	defer ks.mu.RUnlock()
	var f keyFile
	for _, k := range ks.keys {
		f.Keys = append(f.Keys, keyFileEntry{ID: k.ID, Seed: base64.StdEncoding.EncodeToString(k.Private.Seed()), CreatedAt: k.CreatedAt})
	}
	b, _ := json.MarshalIndent(f, "", "  ")
	return append(b, '\n')
}

// LoadKeyFile reads a key set from path.
func LoadKeyFile(path string) (*KeySet, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrKeyFile, err)
	}
	return ParseKeySet(data)
}

// WriteKeyFile writes the key set to path (mode 0600, atomically).
func (ks *KeySet) WriteKeyFile(path string) error {
	if err := atomicfile.Write(path, ks.Marshal(), 0o600); err != nil {
		return fmt.Errorf("%w: %w", ErrKeyFile, err)
	}
	return nil
}

// sessionClaims are a session's claims.
type sessionClaims struct {
	jwt.RegisteredClaims
	// Org confines the session to one org (from an org API key).
	Org string `json:"org,omitempty"`
	// UserCreated is the user's incarnation (its created_at, Unix
	// microseconds): the session is the account's, not the user id's.
	UserCreated int64 `json:"uc,omitempty"`
	// Key is the id of the API key exchanged for the session ("" for one
	// from an invitation): revoking the key ends the session.
	Key string `json:"key,omitempty"`
}

// SessionBinding is what a session is bound to beyond its signature: the
// account (the user's incarnation) and the API key it came from. The
// Service refuses a session whose user was deleted (or deleted and
// created again) or whose key was revoked; KeySet.Verify alone checks
// only the token.
type SessionBinding struct {
	// UserCreatedAt is the user's created_at when the session was issued
	// (required, microsecond precision as stored).
	UserCreatedAt time.Time
	// APIKey is the id of the key exchanged for the session, "" when it
	// came from accepting an invitation.
	APIKey string
}

// Issue signs a session for a user identity, bound to b, valid for ttl
// from now.
func (ks *KeySet) Issue(id Identity, b SessionBinding, ttl time.Duration, now time.Time) (token string, sessionID string, expires time.Time, err error) {
	if !strings.HasPrefix(id.Principal, "user:") {
		return "", "", time.Time{}, fmt.Errorf("%w: sessions are for users", ErrUnauthenticated)
	}
	if b.UserCreatedAt.IsZero() {
		return "", "", time.Time{}, fmt.Errorf("%w: a session must be bound to its user's incarnation", ErrUnauthenticated)
	}
	ks.mu.RLock()
	if len(ks.keys) == 0 {
		ks.mu.RUnlock()
		return "", "", time.Time{}, errors.New("auth: the session key set is empty")
	}
	k := ks.keys[len(ks.keys)-1]
	ks.mu.RUnlock()
	var rnd [12]byte
	_, _ = rand.Read(rnd[:])
	sessionID = hex.EncodeToString(rnd[:])
	now = now.UTC().Truncate(time.Second)
	expires = now.Add(ttl)
	if !id.Expires.IsZero() && id.Expires.Before(expires) {
		expires = id.Expires.UTC().Truncate(time.Second) // never outlive the credential it came from
	}
	claims := sessionClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer: SessionIssuer, Subject: id.Principal, Audience: jwt.ClaimStrings{SessionAudience},
			IssuedAt: jwt.NewNumericDate(now), NotBefore: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(expires),
			ID: sessionID,
		},
		Org:         id.Org,
		UserCreated: b.UserCreatedAt.UnixMicro(),
		Key:         b.APIKey,
	}
	t := jwt.NewWithClaims(jwt.SigningMethodEdDSA, claims)
	t.Header["kid"] = k.ID
	token, err = t.SignedString(k.Private)
	if err != nil {
		return "", "", time.Time{}, fmt.Errorf("auth: sign session: %w", err)
	}
	return token, sessionID, expires, nil
}

// Verify checks a session token: EdDSA only, a known kid, a valid
// signature, our issuer and audience, not expired (no leeway), a user
// subject. Every failure is ErrUnauthenticated. It does not check the
// session's binding (Service.Authenticate does).
func (ks *KeySet) Verify(token string, now time.Time) (Identity, error) {
	id, _, err := ks.VerifyBound(token, now)
	return id, err
}

// VerifyBound is Verify that also returns the session's binding; a token
// without one (issued before sessions were bound) is refused.
func (ks *KeySet) VerifyBound(token string, now time.Time) (Identity, SessionBinding, error) {
	if len(token) > 4096 {
		return Identity{}, SessionBinding{}, ErrUnauthenticated
	}
	var claims sessionClaims
	if _, err := ks.parseSigned(token, SessionAudience, sessionTokenType, now, &claims); err != nil {
		return Identity{}, SessionBinding{}, err
	}
	if !strings.HasPrefix(claims.Subject, "user:") || claims.ID == "" || claims.ExpiresAt == nil || claims.UserCreated == 0 {
		return Identity{}, SessionBinding{}, ErrUnauthenticated
	}
	b := SessionBinding{UserCreatedAt: time.UnixMicro(claims.UserCreated).UTC(), APIKey: claims.Key}
	return Identity{Principal: claims.Subject, Org: claims.Org, SessionID: claims.ID, Expires: claims.ExpiresAt.Time}, b, nil
}

// sessionTokenType is the JWT header "typ" of a console/CLI session (the
// library's default); agent tokens carry agentTokenType, so neither is
// accepted as the other even before their audiences are compared.
const sessionTokenType = "JWT"

// parseSigned verifies token as a JWT signed with EdDSA by one of the
// set's keys (found by the header's "kid"), of header type typ, issued
// by SessionIssuer for audience, with an expiry and an issue time, valid
// at now, and decodes it into claims. It returns the signing key's id.
// Every failure is ErrUnauthenticated; the reason is not told.
func (ks *KeySet) parseSigned(token, audience, typ string, now time.Time, claims jwt.Claims) (string, error) {
	var kid string
	p := jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodEdDSA.Alg()}),
		jwt.WithIssuer(SessionIssuer),
		jwt.WithAudience(audience),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithTimeFunc(func() time.Time { return now }),
	)
	t, err := p.ParseWithClaims(token, claims, func(t *jwt.Token) (any, error) {
		if t.Method != jwt.SigningMethodEdDSA {
			return nil, errors.New("algorithm not allowed")
		}
		if h, _ := t.Header["typ"].(string); h != typ {
			return nil, errors.New("wrong token type")
		}
		kid, _ = t.Header["kid"].(string)
		ks.mu.RLock()
		defer ks.mu.RUnlock()
		for _, k := range ks.keys {
			if k.ID == kid {
				return k.Private.Public(), nil
			}
		}
		return nil, errors.New("unknown key id")
	})
	if err != nil || !t.Valid {
		return "", ErrUnauthenticated
	}
	return kid, nil
}
