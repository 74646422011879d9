// Package scanner turns Gatehouse policy source into tokens, in the manner
// of go/scanner: the caller calls Init once and then Scan until EOF, and
// every malformed piece of input is reported as a positioned diagnostic
// while scanning carries on, so one pass finds every lexical error.
//
// Lexical grammar:
//
//	comment    = ( "#" | "//" ) { any character but newline } .
//	ident      = letter { letter | digit | "_" | "-" } .   // ASCII letters only
//	int        = digit { digit } .                           // decimal
//	string     = `"` { char | escape } `"` | "`" { any character but "`" } "`" .
//	escape     = `\"` | `\\` | `\n` | `\t` | `\r` | `\u` hex hex hex hex .
//	punctuation: "*" "{" "}" ":" "," "=" "->" "..."
//
// Invariants:
//   - Scan never panics and always makes progress: every call consumes at
//     least one byte until EOF, after which it returns EOF forever.
//   - Input is cut into words at whitespace and punctuation, and a word is
//     classified as a whole. So "chain*" is ONE token (ILLEGAL, reported as
//     a partial wildcard at the start of the word), never "chain" then "*";
//     "1abc" and "a$b" are one ILLEGAL token each. A '-' followed by '>'
//     ends a word ("a->b" is a, ->, b).
//   - Every ILLEGAL token has already been reported. A parser can treat it
//     as "a word was here" and stay silent, which avoids cascades.
//   - Keywords are not distinguished: every word is an IDENT and the parser
//     decides by context (see IsKeyword).
//   - Positions are 1-based lines and byte columns; a UTF-8 byte order mark
//     at the very start is skipped. Invalid UTF-8 and NUL bytes are
//     reported with code "encoding" wherever they appear.
//   - Diagnostics are recorded in Errors (at most MaxErrors of them, in
//     source order) and also passed to the error handler, if any.
package scanner

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gatehouse-dev/gatehouse/policy/token"
)

// Token is the kind of a lexical token.
type Token int

// The token kinds.
const (
	ILLEGAL  Token = iota // malformed input; already reported
	EOF                   // end of input
	COMMENT               // '#' or '//' to end of line
	IDENT                 // chains, read, business_hours, role (keywords too)
	INT                   // 42
	STRING                // "..." or `...`; the literal is as written
	STAR                  // *
	LBRACE                // {
	RBRACE                // }
	COLON                 // :
	COMMA                 // ,
	ASSIGN                // =
	ARROW                 // ->
	ELLIPSIS              // ...
)

var tokenNames = [...]string{
	ILLEGAL:  "ILLEGAL",
	EOF:      "EOF",
	COMMENT:  "COMMENT",
	IDENT:    "IDENT",
	INT:      "INT",
	STRING:   "STRING",
	STAR:     "'*'",
	LBRACE:   "'{'",
	RBRACE:   "'}'",
	COLON:    "':'",
	COMMA:    "','",
	ASSIGN:   "'='",
	ARROW:    "'->'",
	ELLIPSIS: "'...'",
}

func (t Token) String() string {
	if t >= 0 && int(t) < len(tokenNames) {
		return tokenNames[t]
	}
	return "Token(" + strconv.Itoa(int(t)) + ")"
}

// Keywords lists the words the grammar gives a meaning to. None of them is
// reserved everywhere; the parser documents where each one is a keyword.
var Keywords = []string{
	"role", "permission", "agent", "can", "must", "should", "when", "if",
	"condition", "resource", "actions", "enum", "workflow", "state", "level",
}

// IsKeyword reports whether s is one of Keywords.
func IsKeyword(s string) bool {
	for _, k := range Keywords {
		if s == k {
			return true
		}
	}
	return false
}

// MaxErrors caps how many diagnostics a Scanner records, so hostile input
// cannot make it hoard memory.
const MaxErrors = 100

// Diagnostic codes used by the scanner.
const (
	CodeSyntax          = "syntax"
	CodeBadIdent        = "bad-ident"
	CodePartialWildcard = "partial-wildcard"
	CodeUnterminated    = "unterminated"
	CodeEncoding        = "encoding"
)

const identHint = "an identifier is an ASCII letter followed by letters, digits, '_' or '-'"

// Scanner holds the state of a scan. The zero value is not usable; call
// Init.
type Scanner struct {
	file string
	src  []byte
	errh func(token.Pos, string)

	off       int // next byte to read
	line      int
	lineStart int // offset of the first byte of the current line

	// Errors are the diagnostics found so far, in source order.
	Errors token.List
	// ErrorCount counts every error found, including those beyond
	// MaxErrors that Errors does not hold.
	ErrorCount int
}

// Init prepares s to scan src. Positions carry file as their file name.
// errh, when not nil, is called for every error as well.
func (s *Scanner) Init(file string, src []byte, errh func(token.Pos, string)) {
	*s = Scanner{file: file, src: src, errh: errh, line: 1}
	if len(src) >= 3 && src[0] == 0xEF && src[1] == 0xBB && src[2] == 0xBF {
		s.off = 3
		s.lineStart = 3
	}
}

func (s *Scanner) pos(off int) token.Pos {
	return token.Pos{File: s.file, Offset: off, Line: s.line, Col: off - s.lineStart + 1}
}

func (s *Scanner) error(pos token.Pos, code, hint, msg string) {
	s.ErrorCount++
	if len(s.Errors) < MaxErrors {
		s.Errors.Add(pos, token.Error, code, msg, hint)
	}
	if s.errh != nil {
		s.errh(pos, msg)
	}
}

// newline records that the byte at off is '\n'.
func (s *Scanner) newline(off int) {
	s.line++
	s.lineStart = off + 1
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v'
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// isDelim reports whether the byte at off ends a word.
func (s *Scanner) isDelim(off int) bool {
	c := s.src[off]
	switch c {
	case '{', '}', ':', ',', '=', '"', '`', '#':
		return true
	case '/':
		return off+1 < len(s.src) && s.src[off+1] == '/'
	case '-':
		return off+1 < len(s.src) && s.src[off+1] == '>'
	}
	return isSpace(c)
}

// Scan returns the next token: its position, kind and literal text. The
// literal of IDENT, INT, STRING, COMMENT and ILLEGAL is the source text
// (a comment's without its line ending); for punctuation it is the
// punctuation itself; for EOF it is "".
func (s *Scanner) Scan() (pos token.Pos, tok Token, lit string) {
	// Skip whitespace.
	for s.off < len(s.src) && isSpace(s.src[s.off]) {
		if s.src[s.off] == '\n' {
			s.newline(s.off)
		}
		s.off++
	}
	if s.off >= len(s.src) {
		return s.pos(len(s.src)), EOF, ""
	}
	start := s.off
	pos = s.pos(start)
	c := s.src[start]
	switch {
	case c == '#' || c == '/' && start+1 < len(s.src) && s.src[start+1] == '/':
		return pos, COMMENT, s.scanComment()
	case c == '"':
		return s.scanString(pos)
	case c == '`':
		return s.scanRaw(pos)
	case c == '-' && start+1 < len(s.src) && s.src[start+1] == '>':
		s.off += 2
		return pos, ARROW, "->"
	}
	if t, ok := punct[c]; ok {
		s.off++
		return pos, t, string(c)
	}
	return s.scanWord(pos)
}

var punct = map[byte]Token{'{': LBRACE, '}': RBRACE, ':': COLON, ',': COMMA, '=': ASSIGN}

func (s *Scanner) scanComment() string {
	start := s.off
	for s.off < len(s.src) && s.src[s.off] != '\n' {
		n, _ := s.checkRune(s.off)
		s.off += n
	}
	return strings.TrimSuffix(string(s.src[start:s.off]), "\r")
}

// checkRune reports a NUL or an invalid UTF-8 sequence at off (inside a
// comment or a string) and returns the width of the character there, at
// least 1, and whether it was acceptable.
func (s *Scanner) checkRune(off int) (int, bool) {
	c := s.src[off]
	if c == 0 {
		s.error(s.pos(off), CodeEncoding, "", "illegal NUL byte")
		return 1, false
	}
	if c < utf8.RuneSelf {
		return 1, true
	}
	r, w := utf8.DecodeRune(s.src[off:])
	if r == utf8.RuneError && w == 1 {
		s.error(s.pos(off), CodeEncoding, "policy files must be UTF-8 text", "invalid UTF-8 encoding")
		return 1, false
	}
	return w, true
}

// scanWord reads a maximal run of non-delimiter bytes and classifies it.
func (s *Scanner) scanWord(pos token.Pos) (token.Pos, Token, string) {
	start := s.off
	for s.off < len(s.src) && !s.isDelim(s.off) {
		s.off++
	}
	if s.off == start { // cannot happen, but never stall
		s.off++
	}
	w := s.src[start:s.off]
	lit := string(w)
	switch {
	case lit == "*":
		return pos, STAR, lit
	case lit == "...":
		return pos, ELLIPSIS, lit
	case allDigits(w):
		return pos, INT, lit
	case isIdent(w):
		return pos, IDENT, lit
	}
	s.badWord(pos, w)
	return pos, ILLEGAL, lit
}

func allDigits(w []byte) bool {
	for _, c := range w {
		if !isDigit(c) {
			return false
		}
	}
	return len(w) > 0
}

func isIdent(w []byte) bool {
	if len(w) == 0 || !isLetter(w[0]) {
		return false
	}
	for _, c := range w[1:] {
		if !isLetter(c) && !isDigit(c) && c != '_' && c != '-' {
			return false
		}
	}
	return true
}

// badWord reports why w is not a token.
func (s *Scanner) badWord(pos token.Pos, w []byte) {
	// Encoding problems first: they make every other message misleading.
	for i := 0; i < len(w); {
		if w[i] == 0 {
			s.error(s.posAt(pos, i), CodeEncoding, "", "illegal NUL byte")
			return
		}
		r, n := utf8.DecodeRune(w[i:])
		if r == utf8.RuneError && n == 1 {
			s.error(s.posAt(pos, i), CodeEncoding, "policy files must be UTF-8 text", "invalid UTF-8 encoding")
			return
		}
		i += n
	}
	q := Quote(Shorten(string(w)))
	hasStar, onlyIdentChars := false, true
	for _, c := range w {
		switch {
		case c == '*':
			hasStar = true
		case isLetter(c), isDigit(c), c == '_', c == '-':
		default:
			onlyIdentChars = false
		}
	}
	switch {
	case hasStar && onlyIdentChars:
		s.error(pos, CodePartialWildcard,
			`use "*" alone to mean every resource or action, or list the names`,
			fmt.Sprintf("partial wildcard %s: '*' must stand alone", q))
	case utf8.RuneCount(w) == 1:
		r, _ := utf8.DecodeRune(w)
		s.error(pos, CodeSyntax, "", fmt.Sprintf("illegal character %s", describeRune(r)))
	case onlyIdentChars: // starts with a digit, '_' or '-'
		s.error(pos, CodeBadIdent, identHint,
			fmt.Sprintf("bad identifier %s: an identifier must start with a letter", q))
	default:
		var bad rune
		for i := 0; i < len(w); {
			r, n := utf8.DecodeRune(w[i:])
			if !(r < utf8.RuneSelf && (isLetter(byte(r)) || isDigit(byte(r)) || r == '_' || r == '-' || r == '*')) {
				bad = r
				break
			}
			i += n
		}
		s.error(pos, CodeBadIdent, identHint,
			fmt.Sprintf("bad identifier %s: %s is not allowed in identifiers", q, describeRune(bad)))
	}
}

func describeRune(r rune) string {
	if r < 0x20 || r == 0x7f || r > 0x7e {
		return fmt.Sprintf("U+%04X %s", r, strconv.QuoteRune(r))
	}
	return strconv.QuoteRune(r)
}

// posAt returns the position i bytes after p on the same line.
func (s *Scanner) posAt(p token.Pos, i int) token.Pos {
	p.Offset += i
	p.Col += i
	return p
}

func (s *Scanner) scanString(pos token.Pos) (token.Pos, Token, string) {
	start := s.off
	s.off++ // opening quote
	ok := true
	for {
		if s.off >= len(s.src) || s.src[s.off] == '\n' {
			s.error(pos, CodeUnterminated, `close the string with '"' on the same line, or use a raw `+"`...`"+` string`,
				"string literal not terminated")
			return pos, ILLEGAL, string(s.src[start:s.off])
		}
		c := s.src[s.off]
		if c == '"' {
			s.off++
			break
		}
		if c == '\\' {
			if !s.scanEscape() {
				ok = false
			}
			continue
		}
		n, good := s.checkRune(s.off)
		ok = ok && good
		s.off += n
	}
	lit := string(s.src[start:s.off])
	if !ok {
		return pos, ILLEGAL, lit
	}
	return pos, STRING, lit
}

// scanEscape reads an escape at s.off (a backslash) and reports whether it
// is valid. It never consumes a newline.
func (s *Scanner) scanEscape() bool {
	epos := s.pos(s.off)
	s.off++ // backslash
	if s.off >= len(s.src) || s.src[s.off] == '\n' {
		return false // the caller reports the unterminated string
	}
	switch c := s.src[s.off]; c {
	case '"', '\\', 'n', 't', 'r':
		s.off++
		return true
	case 'u':
		s.off++
		var r rune
		for i := 0; i < 4; i++ {
			if s.off >= len(s.src) || hexVal(s.src[s.off]) < 0 {
				s.error(epos, CodeSyntax, `\u needs exactly four hex digits, e.g. \u00e9`, `malformed \u escape`)
				return false
			}
			r = r<<4 | rune(hexVal(s.src[s.off]))
			s.off++
		}
		if r >= 0xD800 && r < 0xE000 {
			s.error(epos, CodeSyntax, "", fmt.Sprintf(`escape \u%04X is a surrogate half, not a character`, r))
			return false
		}
		return true
	default:
		if c >= utf8.RuneSelf || c < 0x20 {
			s.error(epos, CodeSyntax, `valid escapes are \" \\ \n \t \r \uXXXX`, "unknown escape sequence")
		} else {
			s.error(epos, CodeSyntax, `valid escapes are \" \\ \n \t \r \uXXXX`, fmt.Sprintf(`unknown escape sequence \%c`, c))
		}
		return false // the byte after '\' is scanned as string content
	}
}

func hexVal(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

func (s *Scanner) scanRaw(pos token.Pos) (token.Pos, Token, string) {
	start := s.off
	s.off++
	ok := true
	for {
		if s.off >= len(s.src) {
			s.error(pos, CodeUnterminated, "close the raw string with '`'", "raw string literal not terminated")
			return pos, ILLEGAL, string(s.src[start:s.off])
		}
		c := s.src[s.off]
		if c == '`' {
			s.off++
			break
		}
		if c == '\n' {
			s.newline(s.off)
			s.off++
			continue
		}
		n, good := s.checkRune(s.off)
		ok = ok && good
		s.off += n
	}
	lit := string(s.src[start:s.off])
	if !ok {
		return pos, ILLEGAL, lit
	}
	return pos, STRING, lit
}

// Unquote returns the value of a STRING literal as Scan returned it. It
// fails on anything Scan would not have returned as STRING.
func Unquote(lit string) (string, error) {
	if len(lit) >= 2 && lit[0] == '`' && lit[len(lit)-1] == '`' {
		body := lit[1 : len(lit)-1]
		if strings.Contains(body, "`") || !utf8.ValidString(body) || strings.IndexByte(body, 0) >= 0 {
			return "", fmt.Errorf("malformed raw string")
		}
		return body, nil
	}
	if len(lit) < 2 || lit[0] != '"' || lit[len(lit)-1] != '"' {
		return "", fmt.Errorf("not a string literal")
	}
	body := lit[1 : len(lit)-1]
	if !utf8.ValidString(body) {
		return "", fmt.Errorf("invalid UTF-8 in string")
	}
	var b strings.Builder
	for i := 0; i < len(body); i++ {
		c := body[i]
		switch c {
		case '"', '\n', 0:
			return "", fmt.Errorf("malformed string")
		case '\\':
		default:
			b.WriteByte(c)
			continue
		}
		i++
		if i >= len(body) {
			return "", fmt.Errorf("malformed escape")
		}
		switch body[i] {
		case '"', '\\':
			b.WriteByte(body[i])
		case 'n':
			b.WriteByte('\n')
		case 't':
			b.WriteByte('\t')
		case 'r':
			b.WriteByte('\r')
		case 'u':
			if i+5 > len(body) {
				return "", fmt.Errorf("malformed \\u escape")
			}
			var r rune
			for _, h := range []byte(body[i+1 : i+5]) {
				v := hexVal(h)
				if v < 0 {
					return "", fmt.Errorf("malformed \\u escape")
				}
				r = r<<4 | rune(v)
			}
			if r >= 0xD800 && r < 0xE000 {
				return "", fmt.Errorf("surrogate in \\u escape")
			}
			b.WriteRune(r)
			i += 4
		default:
			return "", fmt.Errorf("unknown escape")
		}
	}
	return b.String(), nil
}

// Quote returns a double-quoted literal that Unquote maps back to s,
// using only the escapes the language has.
func Quote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\t':
			b.WriteString(`\t`)
		case '\r':
			b.WriteString(`\r`)
		default:
			if r == utf8.RuneError || r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == 0x2028 || r == 0x2029 {
				fmt.Fprintf(&b, `\u%04x`, r)
			} else {
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('"')
	return b.String()
}

// Shorten cuts s to a length fit for an error message, marking the cut.
func Shorten(s string) string {
	const max = 40
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
