package vault

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// testKeyring returns a keyring of random keys with the given ids.
func testKeyring(t testing.TB, ids ...uint32) (*Keyring, map[uint32][]byte) {
	t.Helper()
	keys := map[uint32][]byte{}
	for _, id := range ids {
		k, err := GenerateKey()
		if err != nil {
			t.Fatal(err)
		}
		keys[id] = k
	}
	kr, err := NewKeyring(keys)
	if err != nil {
		t.Fatal(err)
	}
	return kr, keys
}

var row = Row{Org: "acme", Namespace: "prod", Name: "OPENAI_API_KEY", Version: 3}

func TestSealOpenRoundTrip(t *testing.T) {
	k, _ := testKeyring(t, 1)
	for _, value := range [][]byte{nil, []byte("x"), []byte("sk-live-0123456789"), bytes.Repeat([]byte("é"), MaxValueBytes/2)} {
		s, err := k.seal(row, value)
		if err != nil {
			t.Fatalf("seal %d bytes: %v", len(value), err)
		}
		if s.KeyID != 1 || len(s.WrappedKey) != wrapLen || len(s.Ciphertext) != 1+nonceLen+len(value)+tagLen {
			t.Errorf("sealed %d bytes: key %d, wrapped %d bytes, ciphertext %d bytes", len(value), s.KeyID, len(s.WrappedKey), len(s.Ciphertext))
		}
		if len(value) > 4 && (bytes.Contains(s.Ciphertext, value) || bytes.Contains(s.WrappedKey, value)) {
			t.Errorf("the sealed form contains the plaintext")
		}
		got, err := k.open(row, s)
		if err != nil || !bytes.Equal(got, value) {
			t.Errorf("open = %d bytes, %v; want the %d bytes sealed", len(got), err, len(value))
		}
	}
	if _, err := k.seal(row, make([]byte, MaxValueBytes+1)); !errors.Is(err, ErrInvalid) {
		t.Errorf("seal of an over-large value: %v, want ErrInvalid", err)
	}
}

// Every seal draws a fresh data key and nonces: sealing the same value
// twice gives unrelated bytes.
func TestSealIsRandomized(t *testing.T) {
	k, _ := testKeyring(t, 1)
	a, _ := k.seal(row, []byte("same"))
	b, _ := k.seal(row, []byte("same"))
	if bytes.Equal(a.Ciphertext, b.Ciphertext) || bytes.Equal(a.WrappedKey, b.WrappedKey) ||
		bytes.Equal(a.Ciphertext[1:1+nonceLen], b.Ciphertext[1:1+nonceLen]) {
		t.Error("two seals of one value share ciphertext, wrapped key or nonce")
	}
}

// The additional data binds a ciphertext to its row: any other org,
// namespace, name or version fails to open, including the
// length-prefix ambiguities a naive concatenation would allow.
func TestSealBindsTheRow(t *testing.T) {
	k, _ := testKeyring(t, 1)
	s, err := k.seal(row, []byte("sk-bound"))
	if err != nil {
		t.Fatal(err)
	}
	others := []Row{
		{Org: "acme2", Namespace: "prod", Name: "OPENAI_API_KEY", Version: 3},
		{Org: "acme", Namespace: "dev", Name: "OPENAI_API_KEY", Version: 3},
		{Org: "acme", Namespace: "prod", Name: "OPENAI_API_KEY_2", Version: 3},
		{Org: "acme", Namespace: "prod", Name: "OPENAI_API_KEY", Version: 2},
		{Org: "acme", Namespace: "prod", Name: "OPENAI_API_KEY", Version: 4},
		{Org: "acmepro", Namespace: "d", Name: "OPENAI_API_KEY", Version: 3}, // "acme"+"prod" = "acmepro"+"d"
		{Org: "", Namespace: "acmeprod", Name: "OPENAI_API_KEY", Version: 3},
	}
	for _, o := range others {
		if _, err := k.open(o, s); !errors.Is(err, ErrCorrupt) {
			t.Errorf("open as %+v: %v, want ErrCorrupt", o, err)
		}
	}
}

func TestOpenRefusesTampering(t *testing.T) {
	k, _ := testKeyring(t, 1, 2)
	s, err := k.seal(row, []byte("sk-tamper"))
	if err != nil {
		t.Fatal(err)
	}
	flip := func(b []byte, i int) []byte {
		c := bytes.Clone(b)
		c[i] ^= 0x01
		return c
	}
	cases := map[string]Sealed{
		"ciphertext bit":       {KeyID: 2, WrappedKey: s.WrappedKey, Ciphertext: flip(s.Ciphertext, len(s.Ciphertext)-1)},
		"ciphertext nonce bit": {KeyID: 2, WrappedKey: s.WrappedKey, Ciphertext: flip(s.Ciphertext, 1)},
		"format byte":          {KeyID: 2, WrappedKey: s.WrappedKey, Ciphertext: flip(s.Ciphertext, 0)},
		"wrapped key bit":      {KeyID: 2, WrappedKey: flip(s.WrappedKey, wrapLen-1), Ciphertext: s.Ciphertext},
		"wrapped key id":       {KeyID: 2, WrappedKey: flip(s.WrappedKey, 4), Ciphertext: s.Ciphertext},
		"column key id":        {KeyID: 1, WrappedKey: s.WrappedKey, Ciphertext: s.Ciphertext},
		"truncated ciphertext": {KeyID: 2, WrappedKey: s.WrappedKey, Ciphertext: s.Ciphertext[:minSealed-1]},
		"truncated wrap":       {KeyID: 2, WrappedKey: s.WrappedKey[:wrapLen-1], Ciphertext: s.Ciphertext},
		"empty":                {KeyID: 2},
	}
	for name, c := range cases {
		if _, err := k.open(row, c); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: %v, want ErrCorrupt", name, err)
		}
	}
	// Another keyring (same ids, other keys) opens nothing.
	other, _ := testKeyring(t, 1, 2)
	if _, err := other.open(row, s); !errors.Is(err, ErrCorrupt) {
		t.Errorf("open with another key 2: %v, want ErrCorrupt", err)
	}
	// A keyring without the wrapping key says which key is missing.
	only1, _ := testKeyring(t, 1)
	if _, err := only1.open(row, s); !errors.Is(err, ErrKeyMissing) || !strings.Contains(err.Error(), "2") {
		t.Errorf("open without key 2: %v, want ErrKeyMissing naming key 2", err)
	}
}

func TestRewrapKeepsTheCiphertext(t *testing.T) {
	k, _ := testKeyring(t, 1, 2)
	s, err := k.seal(row, []byte("sk-rewrap"))
	if err != nil {
		t.Fatal(err)
	}
	old := Sealed{KeyID: 1}
	old.WrappedKey, err = k.wrap(row, 1, mustUnwrap(t, k, s))
	if err != nil {
		t.Fatal(err)
	}
	old.Ciphertext = s.Ciphertext
	re, err := k.rewrap(row, old, 2)
	if err != nil {
		t.Fatal(err)
	}
	if re.KeyID != 2 || !bytes.Equal(re.Ciphertext, s.Ciphertext) || bytes.Equal(re.WrappedKey, old.WrappedKey) {
		t.Errorf("rewrap: key %d, ciphertext kept %v, wrapped key changed %v", re.KeyID, bytes.Equal(re.Ciphertext, s.Ciphertext), !bytes.Equal(re.WrappedKey, old.WrappedKey))
	}
	if got, err := k.open(row, re); err != nil || string(got) != "sk-rewrap" {
		t.Errorf("open after rewrap = %q, %v", got, err)
	}
	// The re-wrapped key is bound to key 2: presenting it as key 1 fails.
	if _, err := k.open(row, Sealed{KeyID: 1, WrappedKey: re.WrappedKey, Ciphertext: re.Ciphertext}); !errors.Is(err, ErrCorrupt) {
		t.Errorf("re-wrapped key presented as key 1: %v", err)
	}
}

func mustUnwrap(t *testing.T, k *Keyring, s Sealed) []byte {
	t.Helper()
	dk, err := k.unwrap(row, s.KeyID, s.WrappedKey)
	if err != nil {
		t.Fatal(err)
	}
	return dk
}

func TestKeyCheck(t *testing.T) {
	k, _ := testKeyring(t, 1, 2)
	c1, err := k.keyCheck(1)
	if err != nil {
		t.Fatal(err)
	}
	if !k.verifyKeyCheck(1, c1) {
		t.Error("a key check does not verify under its own key")
	}
	if k.verifyKeyCheck(2, c1) {
		t.Error("key 1's check verifies as key 2's")
	}
	other, _ := testKeyring(t, 1)
	if other.verifyKeyCheck(1, c1) {
		t.Error("another key 1 verifies the check")
	}
	for _, bad := range [][]byte{nil, {1}, bytes.Repeat([]byte{1}, 2000), append([]byte{2}, c1[1:]...)} {
		if k.verifyKeyCheck(1, bad) {
			t.Errorf("malformed check %x verifies", bad)
		}
	}
}

// FuzzOpen feeds arbitrary sealed bytes, wrapped keys and key ids to the
// decoder: it must never panic and never open anything it did not seal.
func FuzzOpen(f *testing.F) {
	k, _ := testKeyring(f, 1, 7)
	s, err := k.seal(row, []byte("sk-fuzz-seed"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(uint32(7), s.WrappedKey, s.Ciphertext, "acme", "prod", "OPENAI_API_KEY", uint64(3))
	f.Add(uint32(1), []byte{}, []byte{1}, "", "", "", uint64(0))
	f.Add(uint32(0), bytes.Repeat([]byte{1}, wrapLen), bytes.Repeat([]byte{1}, minSealed), "a", "b", "C", uint64(1))
	f.Fuzz(func(t *testing.T, keyID uint32, wrapped, ct []byte, org, ns, name string, version uint64) {
		r := Row{Org: org, Namespace: ns, Name: name, Version: version}
		got, err := k.open(r, Sealed{KeyID: keyID, WrappedKey: wrapped, Ciphertext: ct})
		if err == nil {
			genuine := r == row && keyID == 7 && bytes.Equal(wrapped, s.WrappedKey) && bytes.Equal(ct, s.Ciphertext)
			if !genuine || string(got) != "sk-fuzz-seed" {
				t.Fatalf("opened forged input: key %d, %d-byte wrap, %d-byte ciphertext, row %+v", keyID, len(wrapped), len(ct), r)
			}
			return
		}
		if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrKeyMissing) {
			t.Fatalf("open error %v is neither ErrCorrupt nor ErrKeyMissing", err)
		}
		_ = k.verifyKeyCheck(keyID, ct)
	})
}

func BenchmarkSeal(b *testing.B) {
	k, _ := testKeyring(b, 1)
	value := []byte("sk-proj-" + strings.Repeat("x", 56))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := k.seal(row, value); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkOpen(b *testing.B) {
	for _, n := range []int{64, 4096} {
		b.Run(fmt.Sprintf("%dB", n), func(b *testing.B) {
			k, _ := testKeyring(b, 1)
			s, err := k.seal(row, bytes.Repeat([]byte("v"), n))
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.SetBytes(int64(n))
			for b.Loop() {
				if _, err := k.open(row, s); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
