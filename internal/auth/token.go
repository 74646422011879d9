package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/hex"
	"strings"
)

// Token formats. Both are recognisable to secret scanners by their prefix
// and carry a public id (to find the stored hash) and a 256-bit secret:
//
//	gth_<id>_<secret>   API key
//	gti_<id>_<secret>   invitation
//
// id is 16 hex digits (64 random bits), secret 52 base32 characters (256
// random bits, lower case, no padding).
const (
	APIKeyPrefix     = "gth_"
	InvitationPrefix = "gti_"
	idLen            = 16
	secretLen        = 52
)

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// newToken returns a fresh token with prefix, its id and its hash.
func newToken(prefix string) (token, id string, hash []byte) {
	var idb [idLen / 2]byte
	var sec [32]byte
	// crypto/rand.Read never fails (it panics on an unusable source,
	// which is the right answer for a security server).
	_, _ = rand.Read(idb[:])
	_, _ = rand.Read(sec[:])
	id = hex.EncodeToString(idb[:])
	token = prefix + id + "_" + strings.ToLower(b32.EncodeToString(sec[:]))
	return token, id, Hash(token)
}

// NewAPIKey returns a fresh API key token, its id and its hash.
func NewAPIKey() (token, id string, hash []byte) { return newToken(APIKeyPrefix) }

// NewInvitationToken returns a fresh invitation token, its id and its hash.
func NewInvitationToken() (token, id string, hash []byte) { return newToken(InvitationPrefix) }

// Hash is the stored form of a token: SHA-256 of the whole token.
func Hash(token string) []byte {
	h := sum(token)
	return h[:]
}

// ParseToken splits a token of the given prefix into its id; ok is false
// for anything that is not exactly of the format.
func ParseToken(prefix, token string) (id string, ok bool) {
	if len(token) != len(prefix)+idLen+1+secretLen || !strings.HasPrefix(token, prefix) {
		return "", false
	}
	rest := token[len(prefix):]
	id, sec := rest[:idLen], rest[idLen+1:]
	if rest[idLen] != '_' {
		return "", false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return "", false
		}
	}
	for i := 0; i < len(sec); i++ {
		c := sec[i]
		if !(c >= 'a' && c <= 'z' || c >= '2' && c <= '7') {
			return "", false
		}
	}
	return id, true
}

// Matches reports, in constant time, whether token hashes to hash.
func Matches(token string, hash []byte) bool {
	h := sum(token)
	return len(hash) == sha256.Size && subtle.ConstantTimeCompare(h[:], hash) == 1
}

// tokenLen is the length of every token newToken issues.
const tokenLen = len(APIKeyPrefix) + idLen + 1 + secretLen

// sum is SHA-256 of token. A token of up to the issued length is hashed
// from a copy on the stack: sha256.Sum256([]byte(token)) would allocate
// for any string longer than 32 bytes, once per authenticated request.
func sum(token string) [sha256.Size]byte {
	var buf [tokenLen]byte
	if len(token) <= len(buf) {
		n := copy(buf[:], token)
		return sha256.Sum256(buf[:n])
	}
	return sha256.Sum256([]byte(token))
}

// KeyIDDigest is what the audit entry of a refused credential records of
// the account it asked for (docs/threat-model.md row 100): for a string
// in the form of an API key, the SHA-256 (hex) of its key id — never the
// id itself, which may be one nobody has (as an unknown email is recorded
// by its digest, row 90), and never anything of the secret; "" for
// anything else, which may be a password or a secret pasted by mistake
// and is recorded not at all. An investigator confirms a suspected key
// by its id's digest.
func KeyIDDigest(credential string) string {
	id, ok := ParseToken(APIKeyPrefix, credential)
	if !ok {
		return ""
	}
	d := sha256.Sum256([]byte(id))
	return hex.EncodeToString(d[:])
}
