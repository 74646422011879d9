// Package jsonstr reads one JSON string literal (RFC 8259): the one
// hand-written unescaping of JSON strings that Gatehouse's own decoders
// share (the server's fast request decoder, the changelog's dense runs).
//
// Its contract: for a literal whose raw bytes are valid UTF-8, the value
// is exactly encoding/json's (json.Unmarshal into a string): the escapes
// \" \\ \/ \b \f \n \r \t and \uXXXX, a UTF-16 surrogate pair as its
// character, and a surrogate that is not half of a pair as U+FFFD. Input
// encoding/json refuses — a missing closing quote, a byte below 0x20, an
// unknown escape, a \u without four hex digits — is reported (ErrSyntax)
// and never panics. Raw bytes that are not valid UTF-8 are copied as they
// are, where encoding/json puts U+FFFD: each caller decides about them
// (the server refuses them; a dense run gives back the bytes it encoded).
// The package imports nothing of Gatehouse's.
package jsonstr

import (
	"errors"
	"unicode/utf16"
	"unicode/utf8"
)

// ErrSyntax is a byte string that is not a JSON string literal.
var ErrSyntax = errors.New("jsonstr: malformed JSON string")

// Append appends the value of the JSON string literal that b begins with
// (b[0] is its opening '"') to dst. n is the literal's length in b,
// through its closing quote. On error (ErrSyntax) n is the offset of the
// byte that makes the literal malformed (len(b) if it is truncated) and
// out holds what was read before it.
func Append(dst, b []byte) (out []byte, n int, err error) {
	if len(b) == 0 || b[0] != '"' {
		return dst, 0, ErrSyntax
	}
	i, start := 1, 1
	for i < len(b) {
		c := b[i]
		switch {
		case c == '"':
			return append(dst, b[start:i]...), i + 1, nil
		case c < 0x20:
			return append(dst, b[start:i]...), i, ErrSyntax
		case c != '\\':
			i++
			continue
		}
		dst = append(dst, b[start:i]...)
		if dst, i, err = appendEscape(dst, b, i); err != nil {
			return dst, i, err
		}
		start = i
	}
	return append(dst, b[start:]...), len(b), ErrSyntax
}

// appendEscape appends the value of the escape at b[i] ('\\') to dst,
// returning the offset after it, or the offset of its malformed byte.
func appendEscape(dst, b []byte, i int) ([]byte, int, error) {
	if i+1 >= len(b) {
		return dst, len(b), ErrSyntax
	}
	e := b[i+1]
	i += 2
	switch e {
	case '"', '\\', '/':
		return append(dst, e), i, nil
	case 'b':
		return append(dst, '\b'), i, nil
	case 'f':
		return append(dst, '\f'), i, nil
	case 'n':
		return append(dst, '\n'), i, nil
	case 'r':
		return append(dst, '\r'), i, nil
	case 't':
		return append(dst, '\t'), i, nil
	case 'u':
		r, ok := hex4(b, i)
		if !ok {
			return dst, i, ErrSyntax
		}
		i += 4
		if utf16.IsSurrogate(r) {
			// A pair, or U+FFFD as encoding/json does; an escape after
			// a lone surrogate is read again as its own.
			if len(b)-i >= 2 && b[i] == '\\' && b[i+1] == 'u' {
				if lo, ok := hex4(b, i+2); ok {
					if d := utf16.DecodeRune(r, lo); d != utf8.RuneError {
						return utf8.AppendRune(dst, d), i + 6, nil
					}
				}
			}
			r = utf8.RuneError
		}
		return utf8.AppendRune(dst, r), i, nil
	}
	return dst, i - 1, ErrSyntax
}

// hex4 reads the four hex digits at b[i:].
func hex4(b []byte, i int) (rune, bool) {
	if len(b)-i < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}
