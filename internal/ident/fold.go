package ident

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Fold is the canonical form of s under Unicode simple case folding:
// Fold(a) == Fold(b) exactly when strings.EqualFold(a, b), which is how
// encoding/json matches a member name to a struct field ("role", "Role",
// and "ſ" (long s) with "s", the Kelvin sign with "k"). Each rune becomes
// the least rune of its folding orbit. It allocates only when s has a
// rune to change (the exception to this package's no-allocation rule).
func Fold(s string) string {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf {
			return strings.Map(foldRune, s)
		}
		if c >= 'a' && c <= 'z' {
			// 's' and 'k' fold with non-ASCII runes, whose orbits' least
			// rune is the upper-case ASCII one: map the whole string.
			return strings.Map(foldRune, s)
		}
	}
	return s
}

func foldRune(r rune) rune {
	least := r
	for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
		least = min(least, f)
	}
	return least
}
