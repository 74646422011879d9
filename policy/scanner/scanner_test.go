package scanner_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-dev/gatehouse/policy/scanner"
	"github.com/gatehouse-dev/gatehouse/policy/token"
)

// scanAll renders every token as "line:col KIND lit" and every error as
// "line:col code: message".
func scanAll(t *testing.T, src string) (toks, errs []string) {
	t.Helper()
	var s scanner.Scanner
	var handled int
	s.Init("f", []byte(src), func(token.Pos, string) { handled++ })
	for i := 0; ; i++ {
		if i > len(src)+2 {
			t.Fatalf("scanner does not reach EOF on %q", src)
		}
		pos, tok, lit := s.Scan()
		if tok == scanner.EOF {
			if pos.Offset != len(src) {
				t.Errorf("EOF at offset %d, want %d", pos.Offset, len(src))
			}
			break
		}
		toks = append(toks, fmt.Sprintf("%d:%d %s %s", pos.Line, pos.Col, tok, lit))
	}
	for _, d := range s.Errors {
		errs = append(errs, fmt.Sprintf("%d:%d %s: %s", d.Pos.Line, d.Pos.Col, d.Code, d.Message))
	}
	if handled != s.ErrorCount || len(s.Errors) != s.ErrorCount {
		t.Errorf("handler saw %d errors, ErrorCount %d, Errors %d", handled, s.ErrorCount, len(s.Errors))
	}
	return toks, errs
}

func TestScan(t *testing.T) {
	tests := []struct {
		name string
		src  string
		toks []string
		errs []string
	}{
		{"empty", "", nil, nil},
		{"only space", " \t\r\n\f\v", nil, nil},
		{
			"role header",
			"role operator: viewer, b level 30 {",
			[]string{"1:1 IDENT role", "1:6 IDENT operator", "1:14 ':' :", "1:16 IDENT viewer", "1:22 ',' ,",
				"1:24 IDENT b", "1:26 IDENT level", "1:32 INT 30", "1:35 '{' {"},
			nil,
		},
		{
			"wildcards and braces",
			"permission *{*}",
			[]string{"1:1 IDENT permission", "1:12 '*' *", "1:13 '{' {", "1:14 '*' *", "1:15 '}' }"},
			nil,
		},
		{
			"identifier characters",
			"a-b_c9 Z x- y_",
			[]string{"1:1 IDENT a-b_c9", "1:8 IDENT Z", "1:10 IDENT x-", "1:13 IDENT y_"},
			nil,
		},
		{
			"arrow splits words",
			"state a->b,c -> d",
			[]string{"1:1 IDENT state", "1:7 IDENT a", "1:8 '->' ->", "1:10 IDENT b", "1:11 ',' ,", "1:12 IDENT c",
				"1:14 '->' ->", "1:17 IDENT d"},
			nil,
		},
		{
			"a dash before the arrow stays in the word",
			"a-->b",
			[]string{"1:1 IDENT a-", "1:3 '->' ->", "1:5 IDENT b"},
			nil,
		},
		{
			"comments of both kinds, positions over lines",
			"# one\nrole // two\n  x#three\r\n/",
			[]string{"1:1 COMMENT # one", "2:1 IDENT role", "2:6 COMMENT // two", "3:3 IDENT x", "3:4 COMMENT #three",
				"4:1 ILLEGAL /"},
			[]string{"4:1 syntax: illegal character '/'"},
		},
		{
			"condition with strings",
			"condition a = \"x \\\"y\\\" \\\\ \\n \\t \\r \\u00e9\" `raw \\q\n`",
			[]string{"1:1 IDENT condition", "1:11 IDENT a", "1:13 '=' =", `1:15 STRING "x \"y\" \\ \n \t \r \u00e9"`,
				"1:44 STRING `raw \\q\n`"},
			nil,
		},
		{
			"placeholder",
			"{ ... }",
			[]string{"1:1 '{' {", "1:3 '...' ...", "1:7 '}' }"},
			nil,
		},
		{
			"partial wildcards are one token each",
			"chain* *chain ch*ain **",
			[]string{"1:1 ILLEGAL chain*", "1:8 ILLEGAL *chain", "1:15 ILLEGAL ch*ain", "1:22 ILLEGAL **"},
			[]string{
				`1:1 partial-wildcard: partial wildcard "chain*": '*' must stand alone`,
				`1:8 partial-wildcard: partial wildcard "*chain": '*' must stand alone`,
				`1:15 partial-wildcard: partial wildcard "ch*ain": '*' must stand alone`,
				`1:22 partial-wildcard: partial wildcard "**": '*' must stand alone`,
			},
		},
		{
			"bad identifiers",
			"1abc a$b _x -y café 12",
			[]string{"1:1 ILLEGAL 1abc", "1:6 ILLEGAL a$b", "1:10 ILLEGAL _x", "1:13 ILLEGAL -y", "1:16 ILLEGAL café", "1:22 INT 12"},
			[]string{
				`1:1 bad-ident: bad identifier "1abc": an identifier must start with a letter`,
				`1:6 bad-ident: bad identifier "a$b": '$' is not allowed in identifiers`,
				`1:10 bad-ident: bad identifier "_x": an identifier must start with a letter`,
				`1:13 bad-ident: bad identifier "-y": an identifier must start with a letter`,
				`1:16 bad-ident: bad identifier "café": U+00E9 'é' is not allowed in identifiers`,
			},
		},
		{
			"illegal characters",
			"; ( é -",
			[]string{"1:1 ILLEGAL ;", "1:3 ILLEGAL (", "1:5 ILLEGAL é", "1:8 ILLEGAL -"},
			[]string{"1:1 syntax: illegal character ';'", "1:3 syntax: illegal character '('",
				"1:5 syntax: illegal character U+00E9 'é'", "1:8 syntax: illegal character '-'"},
		},
		{
			"unterminated string stops at the newline",
			"a \"abc\nb",
			[]string{"1:1 IDENT a", "1:3 ILLEGAL \"abc", "2:1 IDENT b"},
			[]string{"1:3 unterminated: string literal not terminated"},
		},
		{
			"unterminated string at EOF after a backslash",
			"\"abc\\",
			[]string{"1:1 ILLEGAL \"abc\\"},
			[]string{"1:1 unterminated: string literal not terminated"},
		},
		{
			"unterminated raw string",
			"x `abc\ndef",
			[]string{"1:1 IDENT x", "1:3 ILLEGAL `abc\ndef"},
			[]string{"1:3 unterminated: raw string literal not terminated"},
		},
		{
			"bad escapes",
			`"\q" "\u12" "\uD800" "\u00e"`,
			[]string{`1:1 ILLEGAL "\q"`, `1:6 ILLEGAL "\u12"`, `1:13 ILLEGAL "\uD800"`, `1:22 ILLEGAL "\u00e"`},
			[]string{`1:2 syntax: unknown escape sequence \q`, `1:7 syntax: malformed \u escape`,
				`1:14 syntax: escape \uD800 is a surrogate half, not a character`, `1:23 syntax: malformed \u escape`},
		},
		{
			"encoding errors",
			"a\xffb # c\x00\n\"\xfe\"",
			[]string{"1:1 ILLEGAL a\xffb", "1:5 COMMENT # c\x00", "2:1 ILLEGAL \"\xfe\""},
			[]string{"1:2 encoding: invalid UTF-8 encoding", "1:8 encoding: illegal NUL byte", "2:2 encoding: invalid UTF-8 encoding"},
		},
		{
			"multi-byte text in comments and strings is fine",
			"# é ✓\n\"é ✓\"",
			[]string{"1:1 COMMENT # é ✓", "2:1 STRING \"é ✓\""},
			nil,
		},
		{
			"byte order mark is skipped",
			"\xef\xbb\xbfrole",
			[]string{"1:1 IDENT role"},
			nil,
		},
		{
			"long words are shortened in messages",
			strings.Repeat("a", 50) + "$",
			[]string{"1:1 ILLEGAL " + strings.Repeat("a", 50) + "$"},
			[]string{`1:1 bad-ident: bad identifier "` + strings.Repeat("a", 40) + `…": '$' is not allowed in identifiers`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			toks, errs := scanAll(t, tt.src)
			if diff := cmp.Diff(tt.toks, toks); diff != "" {
				t.Errorf("tokens (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.errs, errs); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
		})
	}
}

func TestScanAfterEOF(t *testing.T) {
	var s scanner.Scanner
	s.Init("f", []byte("a"), nil)
	s.Scan()
	for i := 0; i < 3; i++ {
		if _, tok, _ := s.Scan(); tok != scanner.EOF {
			t.Fatalf("scan %d after the end: %v, want EOF", i, tok)
		}
	}
}

func TestErrorsAreCapped(t *testing.T) {
	var s scanner.Scanner
	s.Init("f", []byte(strings.Repeat("$ ", scanner.MaxErrors*3)), nil)
	for {
		if _, tok, _ := s.Scan(); tok == scanner.EOF {
			break
		}
	}
	if len(s.Errors) != scanner.MaxErrors || s.ErrorCount != scanner.MaxErrors*3 {
		t.Errorf("kept %d of %d errors, want %d of %d", len(s.Errors), s.ErrorCount, scanner.MaxErrors, scanner.MaxErrors*3)
	}
}

func TestUnquote(t *testing.T) {
	tests := []struct {
		lit, want string
		ok        bool
	}{
		{`""`, "", true},
		{`"a\"b\\c\nd\te\rf\u00e9"`, "a\"b\\c\nd\te\rf\u00e9", true},
		{"`raw \\n\n`", "raw \\n\n", true},
		{`"\q"`, "", false},
		{`"\u12"`, "", false},
		{`"\uDFFF"`, "", false},
		{`"a`, "", false},
		{`"a"b"`, "", false},
		{"\"a\nb\"", "", false},
		{"`a`b`", "", false},
		{`"\`, "", false},
		{"\"\xff\"", "", false},
		{"abc", "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		got, err := scanner.Unquote(tt.lit)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("Unquote(%q) = %q, %v; want %q, ok=%v", tt.lit, got, err, tt.want, tt.ok)
		}
	}
}

// Quote produces literals the scanner accepts as one STRING, and Unquote
// maps them back.
func TestQuoteRoundTrip(t *testing.T) {
	for _, s := range []string{"", "plain", "a\"b\\c", "new\nline\ttab\rcr", "é ✓ \u2028", "\x01\x7f\u0085", "`"} {
		q := scanner.Quote(s)
		got, err := scanner.Unquote(q)
		if err != nil || got != s {
			t.Errorf("Unquote(Quote(%q)) = %q, %v", s, got, err)
		}
		var sc scanner.Scanner
		sc.Init("f", []byte(q), nil)
		if _, tok, lit := sc.Scan(); tok != scanner.STRING || lit != q || sc.ErrorCount != 0 {
			t.Errorf("scanning Quote(%q) = %s %q with %d errors", s, tok, lit, sc.ErrorCount)
		}
	}
}

func TestKeywords(t *testing.T) {
	for _, k := range []string{"role", "permission", "agent", "can", "must", "should", "when", "if",
		"condition", "resource", "actions", "enum", "workflow", "state", "level"} {
		if !scanner.IsKeyword(k) {
			t.Errorf("%q is not a keyword", k)
		}
	}
	for _, w := range []string{"Role", "roles", "read", ""} {
		if scanner.IsKeyword(w) {
			t.Errorf("%q is a keyword", w)
		}
	}
}
