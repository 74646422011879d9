// Package ident holds the two identifier shapes Gatehouse writes ids in,
// as allocation-free predicates: the engine, the directory, the HTTP
// server and the Go SDK check ids with these, so that what one accepts
// the others accept too.
//
// Invariants: ASCII only; no function allocates or panics on any input.
package ident

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
