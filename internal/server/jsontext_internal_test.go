package server

import (
	"math/rand/v2"
	"strings"
	"testing"
)

// plainByByte is plainJSONText one byte at a time (what appendJSONText
// tested before it read eight bytes at a time).
func plainByByte(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// TestPlainJSONText: the word-at-a-time test agrees with the byte loop for
// every byte value at every position of strings of 1 to 24 bytes (inside
// a word, at its edges, in the tail after the last whole word), next to
// every other kind of byte, and on random strings; and appendJSONText
// writes what encoding/json writes (HTML not escaped, as the
// answers are).
func TestPlainJSONText(t *testing.T) {
	var fails int
	check := func(s string) {
		t.Helper()
		if got, want := plainJSONText(s), plainByByte(s); got != want && fails < 10 {
			fails++
			t.Errorf("plainJSONText(%q) = %v, want %v", s, got, want)
		}
		want, _ := marshal(s) // encoding/json without HTML escaping
		if got := appendJSONText(nil, s); string(got) != string(want) && fails < 10 {
			fails++
			t.Errorf("appendJSONText(%q) = %s, want %s", s, got, want)
		}
	}
	neighbours := []byte{'a', ' ', '~', 0x1f, 0x7f, 0x80, 0xff, '"', '\\', 0}
	for n := 1; n <= 24; n++ {
		for p := range n {
			for v := range 256 {
				b := []byte(strings.Repeat("a", n))
				b[p] = byte(v)
				check(string(b))
				for _, w := range neighbours {
					if p > 0 {
						c := append([]byte(nil), b...)
						c[p-1] = w
						check(string(c))
					}
				}
			}
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		b := make([]byte, r.IntN(40))
		for i := range b {
			b[i] = byte(0x20 + r.IntN(0x5f)) // printable, mostly plain
			if r.IntN(50) == 0 {
				b[i] = byte(r.IntN(256))
			}
		}
		check(string(b))
	}
}

// BenchmarkPlainJSONText: the test of the unknown_action warning's
// message (the longest string a /check answer usually carries), eight
// bytes at a time against the byte loop it replaced.
func BenchmarkPlainJSONText(b *testing.B) {
	const msg = "the org's policy names no action update for tools (no role, agent rule, ask rule or resource declaration; only a wildcard or a share can grant it)"
	for _, f := range []struct {
		name string
		fn   func(string) bool
	}{{"words", plainJSONText}, {"bytes", plainByByte}} {
		b.Run(f.name, func(b *testing.B) {
			for b.Loop() {
				if !f.fn(msg) {
					b.Fatal("not plain")
				}
			}
		})
	}
}
