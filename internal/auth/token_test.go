package auth

import (
	"crypto/sha256"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Hash and Matches hash from a stack copy up to the issued length and
// from a conversion beyond it: every length gives SHA-256 of the whole
// token, so a longer or shorter token never matches an issued one's hash.
func TestHashIsSHA256OfTheWholeToken(t *testing.T) {
	tok, _, _ := NewAPIKey()
	for name, s := range map[string]string{
		"empty":        "",
		"short":        "gth_",
		"32 bytes":     strings.Repeat("a", 32),
		"issued":       tok,
		"one short":    tok[:len(tok)-1],
		"one long":     tok + "a",
		"much longer":  strings.Repeat(tok, 5),
		"session-like": "eyJhbGciOiJFZERTQSJ9." + strings.Repeat("x", 200) + ".sig",
	} {
		want := sha256.Sum256([]byte(s))
		if diff := cmp.Diff(want[:], Hash(s)); diff != "" {
			t.Errorf("%s: Hash (-sha256 +got):\n%s", name, diff)
		}
		if !Matches(s, want[:]) {
			t.Errorf("%s: Matches(token, its own hash) = false", name)
		}
	}
	_, _, hash := NewAPIKey()
	if Matches(tok, hash) {
		t.Error("a token matches another key's hash")
	}
}

// Authenticating a key hashes the presented token once per request:
// that must not allocate (issued tokens are 73 bytes, past the 32 that a
// []byte conversion keeps on the stack).
func TestMatchesDoesNotAllocate(t *testing.T) {
	tok, _, hash := NewAPIKey()
	ok := false
	if n := testing.AllocsPerRun(100, func() { ok = Matches(tok, hash) }); n != 0 || !ok {
		t.Errorf("%v allocations per Matches (ok %v), want 0 and true", n, ok)
	}
}
