package directory

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"testing"
)

// FuzzArgumentsDigest: the canonical form of any arguments that decode is
// a fixed point (canonicalizing it again changes nothing) and the digest
// is of it; whatever the input, nothing panics and an error is an
// invalid-input error.
func FuzzArgumentsDigest(f *testing.F) {
	for _, s := range []string{``, ` `, `null`, `{"b":1,"a":[1,2]}`, `{ "a":[1,2], "b":1 }`, `1e3`, `1.0`, `"x\u00e9<>"`,
		`[{"z":{"y":1,"x":null}}]`, `{"a":1}{"b":2}`, `{`, `{"a":1,"a":2}`, "\"\xff\""} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		canon, err := canonicalArguments(b)
		if err != nil {
			if _, ok := err.(*InvalidError); !ok {
				t.Fatalf("error %T %v is not an InvalidError", err, err)
			}
			return
		}
		again, err := canonicalArguments(canon)
		if err != nil || !bytes.Equal(again, canon) {
			t.Fatalf("canonical form %q is not a fixed point: %q %v", canon, again, err)
		}
		d, err := argumentsDigest(b)
		sum := sha256.Sum256(canon)
		if err != nil || d != hex.EncodeToString(sum[:]) {
			t.Fatalf("digest %s %v, want the SHA-256 of %q", d, err, canon)
		}
	})
}

// TestArgumentsDigestBindsValues: key order and white space do not
// matter; any value does.
func TestArgumentsDigestBindsValues(t *testing.T) {
	d := func(s string) string {
		t.Helper()
		out, err := argumentsDigest([]byte(s))
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	if d(`{"b":1,"a":[1,2]}`) != d(` { "a" : [1, 2], "b": 1 } `) {
		t.Error("key order or white space changed the digest")
	}
	for _, other := range []string{`{"b":2,"a":[1,2]}`, `{"b":1,"a":[2,1]}`, `{"b":1.0,"a":[1,2]}`, `{"b":1}`, `null`} {
		if d(other) == d(`{"b":1,"a":[1,2]}`) {
			t.Errorf("%s has the digest of another value", other)
		}
	}
	if d(``) != d(`null`) {
		t.Error("absent arguments are not null")
	}
}
