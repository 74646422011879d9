// Package ident holds the identifier shapes Gatehouse writes ids in, as
// allocation-free predicates: the engine, the directory, the HTTP server,
// the store and the Go SDK check ids with these, so that what one accepts
// the others accept too.
//
// Invariants: identifiers and slugs are ASCII only; no function allocates
// or panics on any input.
package ident

import (
	"unicode"
	"unicode/utf8"
)

// IsIdent reports whether s is an identifier: an ASCII letter, then
// letters, digits, '_' or '-'. (policy.CheckIdent is the same rule with a
// positioned error.)
func IsIdent(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		case i > 0 && (c >= '0' && c <= '9' || c == '_' || c == '-'):
		default:
			return false
		}
	}
	return true
}

// IsSlug reports whether s is a lower-case identifier as org ids,
// namespaces and team slugs are written: a lower-case letter, then a-z,
// 0-9, '-' or '_', at most 63 bytes.
func IsSlug(s string) bool {
	if s == "" || len(s) > 63 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z':
		case i > 0 && (c >= '0' && c <= '9' || c == '-' || c == '_'):
		default:
			return false
		}
	}
	return true
}

// IsResourceID reports whether s is a resource id: 1 to 256 bytes of
// printable UTF-8 (unicode.IsPrint: no control, format — bidirectional
// overrides, zero-width characters — or separator characters but the
// ASCII space) without '/' (the changelog key joins namespace/type/id
// with it), not starting or ending with a space (threat-model row 52).
// ASCII ids, the common case on the check path, take one byte loop.
func IsResourceID(s string) bool {
	if s == "" || len(s) > 256 || s[0] == ' ' || s[len(s)-1] == ' ' {
		return false
	}
	ascii := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '/' || c < 0x20 || c == 0x7f {
			return false
		}
		ascii = ascii && c < utf8.RuneSelf
	}
	if ascii {
		return true
	}
	for _, r := range s {
		if r == utf8.RuneError || !unicode.IsPrint(r) {
			return false // also invalid UTF-8
		}
	}
	return true
}
