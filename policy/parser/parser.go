// Package parser builds the syntax tree (package ast) of a Gatehouse policy
// file, in the manner of go/parser: it collects positioned errors, recovers,
// and keeps going, so one run reports every error in a file.
//
// Grammar (words in quotes are keywords where they appear below):
//
//	File          = { Decl } .
//	Decl          = RoleDecl | AgentDecl | ConditionDecl | ResourceDecl | EnumDecl | WorkflowDecl .
//	RoleDecl      = "role" ident [ ":" ident { "," ident } ] [ "level" int ] "{" { Permission | Ask } "}" .
//	Permission    = "permission" ( ident | "*" ) "{" action { "," action } [ "," ] "}" .
//	action        = ident | "*" .
//	AgentDecl     = "agent" ident ":" ident "{" { Rule | Ask } "}" .
//	Rule          = ( "can" | "must" | "should" ) ident { ident } [ ( "when" | "if" ) ident ] .  // one line
//	Ask           = "ask" "before" ident ident { AskClause } .  // one line; each clause at most once
//	AskClause     = ( "when" | "if" ) ident | "from" ident { "," ident } | "quorum" int .
//	ConditionDecl = "condition" ident "=" string .
//	ResourceDecl  = "resource" ident "{" { "actions" ident { "," ident } [ "," ] } "}" .
//	EnumDecl      = "enum" ident "{" { ident [ "," ] } "}" .
//	WorkflowDecl  = "workflow" ident "{" { "state" ident [ "->" ident { "," ident } [ "," ] ] } "}" .
//
// Where keywords are reserved (everything else may be named like a keyword,
// e.g. `permission state { read }` or `can list actions`):
//   - At top level a declaration starts with role, agent, condition,
//     resource, enum or workflow.
//   - Inside a block, a line that starts like a declaration ("role x {",
//     "agent x:", "condition x =", "resource x {", ...) is taken to be one:
//     the block was not closed, and that is reported at the block's '{'.
//     Likewise "permission x {" at the start of a line inside a permission
//     block, "actions x" at the start of a line inside a resource, and
//     "state x" at the start of a line inside a workflow begin a new item.
//   - In an agent rule, "when" and "if" introduce the condition, and "can",
//     "must" and "should" cannot be words (one rule per line).
//
// Agent rules are line-based: a rule is the verb and the words that follow
// it on the same line; no newline tokens are involved, the parser compares
// token line numbers. Everything else is free-form.
//
// Invariants:
//   - ParseFile never panics and always returns a non-nil *ast.File holding
//     every declaration it could read. A node is added only when its
//     required parts were read: names, a rule's words, a condition's
//     expression and a permission block's actions are never nil or empty in
//     the tree. Nodes are never invented.
//   - Every error is a token.Diagnostic with Severity Error, a Code, a
//     position inside the file (except "too-large", which has none), and
//     the list is sorted. The scanner's errors are all kept; a parser error
//     is dropped when its line has an error already, and after recovery the
//     parser is silent about tokens the scanner rejected, so a broken line
//     does not produce a cascade. At most MaxErrors are returned, the first
//     ones by position, followed by a "too-many-errors" note.
//   - Recovery: at top level, skip to the next line that is outside any
//     braces; inside a block, skip to the next item of the block (its
//     keyword, or the next line for agent rules), to its '}', or to a line
//     that starts a declaration.
//   - Input is bounded: files over MaxFileSize, files that are not UTF-8
//     and files with NUL bytes are rejected before parsing. The parser has
//     no recursion at all: declarations and blocks are parsed by loops, and
//     error recovery tracks brace depth in a counter.
package parser

import (
	"bytes"
	"fmt"
	"strconv"
	"unicode/utf8"

	"github.com/gatehouse-dev/gatehouse/policy/ast"
	"github.com/gatehouse-dev/gatehouse/policy/scanner"
	"github.com/gatehouse-dev/gatehouse/policy/token"
)

// MaxFileSize is the largest policy file ParseFile accepts, in bytes.
const MaxFileSize = 1 << 20

// MaxErrors caps the number of diagnostics ParseFile returns; when more were
// found, the last one says so.
const MaxErrors = 100

// Diagnostic codes. The scanner's codes (syntax, bad-ident,
// partial-wildcard, unterminated, encoding) are used as well.
const (
	CodeSyntax       = scanner.CodeSyntax
	CodeUnterminated = scanner.CodeUnterminated
	CodeEncoding     = scanner.CodeEncoding
	CodeTooLarge     = "too-large"
	CodePlaceholder  = "placeholder"
	CodeAgentNoRole  = "agent-no-role"
	CodeTooMany      = "too-many-errors"
)

// ParseFile parses one policy file. It always returns a non-nil *ast.File
// containing what it could read, and all errors, sorted by position.
func ParseFile(filename string, src []byte) (*ast.File, token.List) {
	f := &ast.File{Name: filename}
	if len(src) > MaxFileSize {
		var errs token.List
		errs.Errorf(token.Pos{File: filename}, CodeTooLarge, "split the policy into several files",
			"file is %d bytes; a policy file may be at most %d bytes (1 MiB)", len(src), MaxFileSize)
		return f, errs
	}
	if errs := checkEncoding(filename, src); len(errs) > 0 {
		return f, errs
	}
	p := &parser{file: f}
	p.sc.Init(filename, src, nil)
	p.parseFile()

	errs := append(token.List(nil), p.sc.Errors...)
	errs = append(errs, p.errs...)
	errs.Sort()
	// Each source keeps the first MaxErrors errors it finds, so when one
	// overflowed it holds MaxErrors errors before (nearly) anything it
	// dropped, and the first MaxErrors of the merge are the first of the
	// file; only an unclosed block reported after the cap, at its earlier
	// '{', can be missing.
	if len(errs) > MaxErrors || p.sc.ErrorCount > len(p.sc.Errors) || p.dropped {
		errs = errs[:min(len(errs), MaxErrors)]
		last := errs[len(errs)-1].Pos
		errs = append(errs, token.Diagnostic{Pos: last, Severity: token.Error, Code: CodeTooMany,
			Message: "too many errors; the rest are not shown"})
	}
	return f, errs
}

// checkEncoding reports the first invalid UTF-8 byte and the first NUL
// byte, if any.
func checkEncoding(filename string, src []byte) token.List {
	var errs token.List
	if !utf8.Valid(src) {
		off := 0
		for off < len(src) {
			r, w := utf8.DecodeRune(src[off:])
			if r == utf8.RuneError && w == 1 {
				break
			}
			off += w
		}
		errs.Errorf(posOf(filename, src, off), CodeEncoding, "policy files must be UTF-8 text",
			"invalid UTF-8 encoding (byte 0x%02x): the file is not UTF-8 text", src[off])
	}
	if i := bytes.IndexByte(src, 0); i >= 0 {
		errs.Errorf(posOf(filename, src, i), CodeEncoding, "remove the NUL byte; policy files are text",
			"illegal NUL byte: the file is not text")
	}
	errs.Sort()
	return errs
}

func posOf(filename string, src []byte, off int) token.Pos {
	line := 1 + bytes.Count(src[:off], []byte{'\n'})
	lineStart := bytes.LastIndexByte(src[:off], '\n') + 1
	return token.Pos{File: filename, Offset: off, Line: line, Col: off - lineStart + 1}
}

// tok is one scanned token.
type tok struct {
	pos   token.Pos
	kind  scanner.Token
	lit   string
	first bool // first token on its line
}

type parser struct {
	sc       scanner.Scanner
	file     *ast.File
	ahead    []tok // lookahead, ahead[0] is the current token
	prev     tok   // the last token consumed
	lastLine int   // line of the last token scanned (for tok.first)
	errs     token.List
	errLines map[int]bool // lines with an error already
	scanSeen int          // scanner errors already entered in errLines
	dropped  bool         // errors beyond MaxErrors were dropped
}

// peek returns the n-th token ahead (0 is the current one), scanning as
// needed. Comments are moved into the file as they are met.
func (p *parser) peek(n int) tok {
	for len(p.ahead) <= n {
		pos, kind, lit := p.sc.Scan()
		if kind == scanner.COMMENT {
			p.file.Comments = append(p.file.Comments, &ast.Comment{Slash: pos, Text: lit})
			continue
		}
		t := tok{pos: pos, kind: kind, lit: lit, first: pos.Line != p.lastLine}
		p.lastLine = pos.Line
		if kind == scanner.STRING {
			p.lastLine += countNL(lit)
		}
		p.ahead = append(p.ahead, t)
	}
	return p.ahead[n]
}

func countNL(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] == '\n' {
			n++
		}
	}
	return n
}

// next consumes and returns the current token. At EOF it stays at EOF.
func (p *parser) next() tok {
	t := p.peek(0)
	if t.kind != scanner.EOF {
		p.ahead = p.ahead[1:]
		p.prev = t
	}
	return t
}

// endOfPrev is the position just after the last token consumed.
func (p *parser) endOfPrev() token.Pos {
	t := p.prev
	pos := t.pos
	if i := lastIndexNL(t.lit); i >= 0 {
		pos.Line += countNL(t.lit)
		pos.Col = len(t.lit) - i
	} else {
		pos.Col += len(t.lit)
	}
	pos.Offset += len(t.lit)
	return pos
}

func lastIndexNL(s string) int {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == '\n' {
			return i
		}
	}
	return -1
}

// missingAt is where to report that something is missing before t: at t
// when it is on the line of the previous token, otherwise at the end of
// that line (as Go reports a missing token before a newline).
func (p *parser) missingAt(t tok) token.Pos {
	if (t.first || t.kind == scanner.EOF) && p.prev.pos.IsValid() {
		return p.endOfPrev()
	}
	return t.pos
}

func (p *parser) is(k scanner.Token) bool { return p.peek(0).kind == k }

func isKw(t tok, kw string) bool { return t.kind == scanner.IDENT && t.lit == kw }

// errorf records a parse error, unless its line has an error already
// (from the scanner or the parser): one broken line, one message.
func (p *parser) errorf(pos token.Pos, code, hint, format string, args ...any) {
	if p.errLines == nil {
		p.errLines = map[int]bool{}
	}
	for ; p.scanSeen < len(p.sc.Errors); p.scanSeen++ {
		p.errLines[p.sc.Errors[p.scanSeen].Pos.Line] = true
	}
	if p.errLines[pos.Line] {
		return
	}
	p.errLines[pos.Line] = true
	if len(p.errs) >= MaxErrors {
		p.dropped = true
		return
	}
	p.errs.Errorf(pos, code, hint, format, args...)
}

// unexpected reports t as unexpected, unless it is ILLEGAL (the scanner
// has reported it already).
func (p *parser) unexpected(t tok, hint, format string, args ...any) {
	if t.kind == scanner.ILLEGAL {
		return
	}
	p.errorf(t.pos, CodeSyntax, hint, format, args...)
}

// describe renders a token for messages.
func describe(t tok) string {
	switch t.kind {
	case scanner.EOF:
		return "end of file"
	case scanner.IDENT:
		return strconv.Quote(scanner.Shorten(t.lit))
	case scanner.INT:
		return "number " + scanner.Shorten(t.lit)
	case scanner.STRING:
		return "string " + scanner.Shorten(t.lit)
	case scanner.ILLEGAL:
		return strconv.Quote(scanner.Shorten(t.lit))
	}
	return t.kind.String()
}

func q(s string) string { return strconv.Quote(scanner.Shorten(s)) }

var declKeywords = map[string]bool{
	"role": true, "agent": true, "condition": true, "resource": true, "enum": true, "workflow": true,
}

// isNameTok reports whether t can stand for a name in a lookahead check.
func isNameTok(t tok) bool {
	return t.kind == scanner.IDENT || t.kind == scanner.ILLEGAL
}

// atDeclStart reports whether the current token starts a line and looks
// like the beginning of a declaration. Blocks use it to notice that they
// were not closed.
func (p *parser) atDeclStart() bool {
	t := p.peek(0)
	if !t.first || t.kind != scanner.IDENT || !declKeywords[t.lit] {
		return false
	}
	name := p.peek(1)
	if !isNameTok(name) || name.pos.Line != t.pos.Line {
		return false
	}
	after := p.peek(2)
	switch t.lit {
	case "role":
		return after.kind == scanner.LBRACE || after.kind == scanner.COLON || isKw(after, "level")
	case "agent":
		return after.kind == scanner.LBRACE || after.kind == scanner.COLON
	case "condition":
		return after.kind == scanner.ASSIGN
	}
	return after.kind == scanner.LBRACE
}

// atLineItem reports whether the current token starts a line with keyword
// kw followed by a name on the same line (and, when brace is set, by '{').
// With star, the name may be '*'; "state" may also be followed by '->'.
func (p *parser) atLineItem(kw string, star, brace bool) bool {
	t := p.peek(0)
	if !t.first || !isKw(t, kw) {
		return false
	}
	name := p.peek(1)
	if name.pos.Line != t.pos.Line {
		return false
	}
	if !isNameTok(name) && !(star && name.kind == scanner.STAR) && !(kw == "state" && name.kind == scanner.ARROW) {
		return false
	}
	return !brace || p.peek(2).kind == scanner.LBRACE
}

func (p *parser) parseFile() {
	for {
		t := p.peek(0)
		if t.kind == scanner.EOF {
			return
		}
		if t.kind == scanner.IDENT {
			var d ast.Decl
			handled := true
			switch t.lit {
			case "role":
				if r := p.parseRole(); r != nil {
					d = r
				}
			case "agent":
				if a := p.parseAgent(); a != nil {
					d = a
				}
			case "condition":
				if c := p.parseCondition(); c != nil {
					d = c
				}
			case "resource":
				if r := p.parseResource(); r != nil {
					d = r
				}
			case "enum":
				if e := p.parseEnum(); e != nil {
					d = e
				}
			case "workflow":
				if w := p.parseWorkflow(); w != nil {
					d = w
				}
			default:
				handled = false
			}
			if handled {
				if d != nil {
					p.file.Decls = append(p.file.Decls, d)
				}
				continue
			}
		}
		hint := "a declaration starts with role, agent, condition, resource, enum or workflow"
		if isKw(t, "permission") {
			hint = "a permission block belongs inside a role: role Name { permission ... }"
		} else if isKw(t, "can") || isKw(t, "must") || isKw(t, "should") {
			hint = "rules belong inside an agent: agent Name: Role { " + t.lit + " ... }"
		}
		p.unexpected(t, hint, "unexpected %s at top level; expected a declaration", describe(t))
		p.skipTopLevel()
	}
}

// skipTopLevel consumes at least one token, then skips to the next token
// that starts a line outside any braces, or EOF: top-level errors are
// reported once per line, and a broken block is skipped whole.
func (p *parser) skipTopLevel() {
	depth := 0
	for {
		t := p.next()
		switch t.kind {
		case scanner.EOF:
			return
		case scanner.LBRACE:
			depth++
		case scanner.RBRACE:
			if depth > 0 {
				depth--
			}
		}
		n := p.peek(0)
		if n.kind == scanner.EOF || depth == 0 && n.first {
			return
		}
	}
}

// skipBlockItem consumes at least one token (unless at '}' or EOF), then
// skips to the next token that starts an item of the enclosing block: one
// for which stop returns true, a '}' closing the block, a declaration, or
// EOF. Nested braces are skipped whole.
func (p *parser) skipBlockItem(stop func() bool) {
	depth := 0
	for {
		t := p.peek(0)
		switch t.kind {
		case scanner.EOF:
			return
		case scanner.RBRACE:
			if depth == 0 {
				return
			}
			depth--
		case scanner.LBRACE:
			depth++
		}
		p.next()
		if depth == 0 && (stop() || p.atDeclStart()) {
			return
		}
	}
}

// parseName reads a name. With star, "*" is accepted. On an ILLEGAL token
// it consumes it silently; on a STRING, INT, '*' or '...' it reports and
// consumes it; on anything else it reports and consumes nothing. It
// returns nil when no name was read.
func (p *parser) parseName(what string, star bool) *ast.Ident {
	t := p.peek(0)
	switch t.kind {
	case scanner.IDENT:
		p.next()
		return &ast.Ident{NamePos: t.pos, Name: t.lit}
	case scanner.STAR:
		p.next()
		if star {
			return &ast.Ident{NamePos: t.pos, Name: "*"}
		}
		p.errorf(t.pos, CodeSyntax, `'*' is allowed only as a permission's resource or action`,
			"'*' is not allowed as %s", what)
		return nil
	case scanner.ILLEGAL:
		p.next()
		return nil
	case scanner.STRING:
		p.next()
		p.errorf(t.pos, CodeSyntax, "names are written without quotes", "expected %s, found %s", what, describe(t))
		return nil
	case scanner.INT, scanner.ELLIPSIS:
		p.next()
	}
	p.errorf(t.pos, CodeSyntax, "", "expected %s, found %s", what, describe(t))
	return nil
}

// unclosed reports that the block opened at lbrace was not closed before
// the current token.
func (p *parser) unclosed(lbrace token.Pos, what string) {
	t := p.peek(0)
	before := "end of file"
	if t.kind != scanner.EOF {
		before = fmt.Sprintf("%s at line %d", describe(t), t.pos.Line)
	}
	p.errorf(lbrace, CodeUnterminated, "add the missing '}'",
		"%s is not closed: expected '}' before %s", what, before)
}

// nameText is the (shortened) name of id, or def when id is nil.
func nameText(id *ast.Ident, def string) string {
	if id == nil {
		return def
	}
	return scanner.Shorten(id.Name)
}

func nameOr(id *ast.Ident, kind string) string {
	if id == nil {
		return kind
	}
	return kind + " " + scanner.Shorten(id.Name)
}

// expectLbrace reads the '{' that opens a block. When it is missing it
// reports and recovers to the next declaration, and returns false.
func (p *parser) expectLbrace(what string) (token.Pos, bool) {
	t := p.peek(0)
	if t.kind == scanner.LBRACE {
		p.next()
		return t.pos, true
	}
	if t.kind != scanner.ILLEGAL {
		p.errorf(p.missingAt(t), CodeSyntax, "", "expected '{' after %s, found %s", what, describe(t))
	}
	if t.kind != scanner.EOF && !t.first {
		p.skipTopLevel()
	}
	return token.Pos{}, false
}

// endOf returns the position just after a name, where a missing comma
// belongs.
func endOf(id *ast.Ident) token.Pos {
	pos := id.NamePos
	pos.Offset += len(id.Name)
	pos.Col += len(id.Name)
	return pos
}

// parseBody reads a declaration body whose '{' is at lb, handing every
// token that is not its closing '}' to item, which must consume at least
// one token or report and skip. It returns the '}' position, or the zero
// Pos when the block is left unclosed (at end of file, or where a new
// declaration starts), which it reports at lb.
func (p *parser) parseBody(lb token.Pos, what string, item func(t tok)) token.Pos {
	for {
		t := p.peek(0)
		switch {
		case t.kind == scanner.RBRACE:
			return p.next().pos
		case t.kind == scanner.EOF || p.atDeclStart():
			p.unclosed(lb, what)
			return token.Pos{}
		default:
			item(t)
		}
	}
}

// keep returns d when its name was read, else nil: the parser never puts
// a declaration without a name in the tree.
func keep[T any](d *T, name *ast.Ident) *T {
	if name == nil {
		return nil
	}
	return d
}

// skipLine consumes the current token and the rest of its line, stopping
// before a '}' that is not matched on the way. A '{' opened on the line
// extends the skip to its matching '}'.
func (p *parser) skipLine() {
	depth := 0
	line := p.peek(0).pos.Line
	for {
		t := p.peek(0)
		switch t.kind {
		case scanner.EOF:
			return
		case scanner.RBRACE:
			if depth == 0 {
				return
			}
			depth--
		case scanner.LBRACE:
			depth++
		}
		p.next()
		n := p.peek(0)
		if depth == 0 && n.pos.Line != line {
			return
		}
	}
}
