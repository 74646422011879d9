// Package parser builds the syntax tree (package ast) of a Gatehouse policy
// file, in the manner of go/parser: it collects positioned errors, recovers,
// and keeps going, so one run reports every error in a file.
//
// Grammar (words in quotes are keywords where they appear below):
//
//	File          = { Decl } .
//	Decl          = RoleDecl | AgentDecl | ConditionDecl | ResourceDecl | EnumDecl | WorkflowDecl .
//	RoleDecl      = "role" ident [ ":" ident { "," ident } ] [ "level" int ] "{" { Permission } "}" .
//	Permission    = "permission" ( ident | "*" ) "{" action { "," action } [ "," ] "}" .
//	action        = ident | "*" .
//	AgentDecl     = "agent" ident ":" ident "{" { Rule } "}" .
//	Rule          = ( "can" | "must" | "should" ) ident { ident } [ ( "when" | "if" ) ident ] .  // one line
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

func (p *parser) parseRole() *ast.RoleDecl {
	d := &ast.RoleDecl{Role: p.next().pos}
	d.Name = p.parseName("a role name", false)
	what := nameOr(d.Name, "role")
	if p.is(scanner.COLON) {
		p.next()
		d.Parents = p.parseParents()
	}
	if isKw(p.peek(0), "level") {
		p.next()
		d.Level = p.parseLevel()
	}
	lb, ok := p.expectLbrace(what + " header")
	if !ok {
		return keep(d, d.Name)
	}
	d.Lbrace = lb
	d.Rbrace = p.parseBody(lb, what, func(t tok) {
		if isKw(t, "permission") {
			if pb := p.parsePermission(); pb != nil {
				d.Permissions = append(d.Permissions, pb)
			}
			return
		}
		hint := "a role body holds permission blocks: permission resource { action, ... }"
		if isKw(t, "can") || isKw(t, "must") || isKw(t, "should") {
			hint = "rules belong in an agent: agent Name: " + nameText(d.Name, "RoleName") + " { ... }"
		}
		p.unexpected(t, hint, "expected 'permission' or '}' in %s, found %s", what, describe(t))
		p.skipBlockItem(func() bool { return isKw(p.peek(0), "permission") })
	})
	return keep(d, d.Name)
}

// parseParents reads "a, b, c" after the ':' of a role header.
func (p *parser) parseParents() []*ast.Ident {
	var out []*ast.Ident
	for {
		if id := p.parseName("a parent role name", false); id != nil {
			out = append(out, id)
		}
		if !p.is(scanner.COMMA) {
			return out
		}
		p.next()
	}
}

func (p *parser) parseLevel() *ast.IntLit {
	t := p.peek(0)
	if t.kind != scanner.INT {
		switch t.kind {
		case scanner.IDENT, scanner.STRING, scanner.STAR, scanner.ELLIPSIS, scanner.ILLEGAL:
			if !t.first {
				p.next()
			}
		}
		if t.kind != scanner.ILLEGAL {
			p.errorf(p.missingAt(t), CodeSyntax, "write the level as a whole number, e.g. level 30",
				"level must be a decimal integer, found %s", describe(t))
		}
		return nil
	}
	p.next()
	v, err := strconv.Atoi(t.lit)
	if err != nil || v > 1<<31-1 {
		p.errorf(t.pos, CodeSyntax, "levels run from 0 to 100", "level %s is too large", scanner.Shorten(t.lit))
		return nil
	}
	return &ast.IntLit{ValuePos: t.pos, Raw: t.lit, Value: v}
}

func (p *parser) parsePermission() *ast.PermissionBlock {
	pb := &ast.PermissionBlock{Permission: p.next().pos}
	pb.Resource = p.parseName("a resource name or '*'", true)
	what := "permission"
	if pb.Resource != nil {
		what += " " + scanner.Shorten(pb.Resource.Name)
	}
	if t := p.peek(0); t.kind != scanner.LBRACE {
		if t.kind != scanner.ILLEGAL {
			p.errorf(p.missingAt(t), CodeSyntax, "", "expected '{' after %s, found %s", what, describe(t))
		}
		if t.first || t.kind == scanner.EOF {
			return nil // the next line is the next item
		}
		if t.kind != scanner.IDENT && t.kind != scanner.STAR {
			p.skipBlockItem(func() bool { return isKw(p.peek(0), "permission") })
			return nil
		}
		// "permission docs read }": read on as if the '{' were there.
	} else {
		pb.Lbrace = p.next().pos
	}
	if t := p.peek(0); t.kind == scanner.ELLIPSIS {
		p.next()
		p.errorf(t.pos, CodePlaceholder, "list the actions, e.g. { read, update }",
			`"..." is a placeholder, not an action list`)
		if p.is(scanner.RBRACE) {
			p.next()
		} else {
			p.skipBlockItem(func() bool { return isKw(p.peek(0), "permission") })
			if p.is(scanner.RBRACE) {
				p.next()
			}
		}
		return nil
	}
list:
	for {
		t := p.peek(0)
		if t.kind == scanner.RBRACE {
			pb.Rbrace = p.next().pos
			break
		}
		if t.kind == scanner.EOF || p.atDeclStart() || p.atLineItem("permission", true, true) {
			if pb.Lbrace.IsValid() {
				p.unclosed(pb.Lbrace, what)
			}
			break
		}
		id := p.parseName("an action name or '*'", true)
		if id != nil {
			pb.Actions = append(pb.Actions, id)
		} else if p.peek(0) == t { // nothing consumed: skip the offending token
			if !p.skipInList() {
				break
			}
			continue
		}
		// Separator.
		s := p.peek(0)
		switch {
		case s.kind == scanner.COMMA:
			p.next()
		case s.kind == scanner.RBRACE:
		case s.kind == scanner.EOF || p.atDeclStart() || p.atLineItem("permission", true, true):
		case isKw(s, "permission") && (isNameTok(p.peek(1)) || p.peek(1).kind == scanner.STAR) && p.peek(2).kind == scanner.LBRACE:
			// "permission x {" where a ',' could be: the next block.
			if pb.Lbrace.IsValid() {
				p.unclosed(pb.Lbrace, what)
			}
			break list
		case s.kind == scanner.IDENT || s.kind == scanner.STAR:
			if id != nil {
				p.errorf(endOf(id), CodeSyntax, "separate actions with commas: read, update",
					"expected ',' or '}' after action %s", q(id.Name))
			}
		case s.kind == scanner.ILLEGAL:
		default:
			if id != nil {
				p.unexpected(s, "separate actions with commas: read, update",
					"expected ',' or '}' after action %s, found %s", q(id.Name), describe(s))
			}
			if !p.skipInList() {
				return keepPermission(pb, what, p)
			}
		}
	}
	return keepPermission(pb, what, p)
}

// skipInList consumes the current bad token of a brace-delimited list
// (a nested block whole). It reports false when the list cannot continue.
func (p *parser) skipInList() bool {
	t := p.peek(0)
	switch t.kind {
	case scanner.EOF, scanner.RBRACE:
		return false
	case scanner.LBRACE:
		p.next()
		depth := 1
		for depth > 0 {
			switch p.next().kind {
			case scanner.EOF:
				return false
			case scanner.LBRACE:
				depth++
			case scanner.RBRACE:
				depth--
			}
		}
		return true
	}
	p.next()
	return true
}

func keepPermission(pb *ast.PermissionBlock, what string, p *parser) *ast.PermissionBlock {
	if pb.Resource == nil {
		return nil
	}
	if len(pb.Actions) == 0 {
		if pb.Rbrace.IsValid() {
			p.errorf(pb.Lbrace, CodeSyntax, "list the actions, e.g. { read, update }", "%s lists no actions", what)
		}
		return nil
	}
	return pb
}

// endOf returns the position just after a name, where a missing comma
// belongs.
func endOf(id *ast.Ident) token.Pos {
	pos := id.NamePos
	pos.Offset += len(id.Name)
	pos.Col += len(id.Name)
	return pos
}

func (p *parser) parseAgent() *ast.AgentDecl {
	d := &ast.AgentDecl{Agent: p.next().pos}
	d.Name = p.parseName("an agent name", false)
	what := nameOr(d.Name, "agent")
	if p.is(scanner.COLON) {
		p.next()
		d.Role = p.parseName("the agent's role name", false)
		if t := p.peek(0); t.kind == scanner.COMMA {
			p.errorf(t.pos, CodeSyntax, "give the agent a role that combines what it needs",
				"%s has more than one role; an agent has exactly one", what)
			for p.is(scanner.COMMA) || p.is(scanner.IDENT) || p.is(scanner.ILLEGAL) {
				p.next()
			}
		}
	} else if d.Name != nil {
		p.errorf(d.Name.NamePos, CodeAgentNoRole,
			fmt.Sprintf("write \"agent %s: RoleName {\"", scanner.Shorten(d.Name.Name)),
			"%s has no role", what)
	}
	lb, ok := p.expectLbrace(what + " header")
	if !ok {
		return keep(d, d.Name)
	}
	d.Lbrace = lb
	d.Rbrace = p.parseBody(lb, what, func(t tok) {
		if isKw(t, "can") || isKw(t, "must") || isKw(t, "should") {
			if r := p.parseRule(); r != nil {
				d.Rules = append(d.Rules, r)
			}
			return
		}
		hint := "an agent body holds one rule per line: can|must|should words... [when|if condition]"
		if isKw(t, "permission") {
			hint = "permission blocks belong in a role; an agent gets them from its role"
		}
		p.unexpected(t, hint, "expected a rule (can, must or should) or '}' in %s, found %s", what, describe(t))
		p.skipLine()
	})
	return keep(d, d.Name)
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

var ruleKinds = map[string]ast.RuleKind{"can": ast.Can, "must": ast.Must, "should": ast.Should}

// parseRule reads one agent rule: the verb and the rest of its line. A
// rule with any error is reported once and dropped, with its line.
func (p *parser) parseRule() *ast.Rule {
	v := p.next()
	r := &ast.Rule{KindPos: v.pos, Kind: ruleKinds[v.lit]}
	line := v.pos.Line
	onLine := func() bool {
		t := p.peek(0)
		return t.kind != scanner.EOF && t.kind != scanner.RBRACE && t.pos.Line == line
	}
	bad := false
loop:
	for onLine() {
		t := p.peek(0)
		switch {
		case isKw(t, "when") || isKw(t, "if"):
			p.next()
			r.Keyword = t.lit
			c := p.peek(0)
			if !onLine() || c.kind != scanner.IDENT {
				if !onLine() || c.kind != scanner.ILLEGAL {
					p.errorf(t.pos, CodeSyntax, fmt.Sprintf("name a condition, e.g. %s business_hours", t.lit),
						"%q must be followed by a condition name", t.lit)
				}
				bad = true
				break loop
			}
			p.next()
			r.Condition = &ast.Ident{NamePos: c.pos, Name: c.lit}
			if onLine() {
				x := p.peek(0)
				p.unexpected(x, `a rule has one condition; define a combined one: condition both = "a && b"`,
					"unexpected %s after condition %s: a rule ends with its condition", describe(x), q(c.lit))
				bad = true
			}
			break loop
		case isKw(t, "can") || isKw(t, "must") || isKw(t, "should"):
			p.errorf(t.pos, CodeSyntax, "put each rule on its own line",
				"unexpected %q inside a rule: one rule per line", t.lit)
			bad = true
			break loop
		case t.kind == scanner.IDENT:
			p.next()
			r.Words = append(r.Words, &ast.Ident{NamePos: t.pos, Name: t.lit})
		case t.kind == scanner.ILLEGAL:
			bad = true
			break loop
		case t.kind == scanner.STAR:
			p.errorf(t.pos, CodeSyntax, "name the action and the resource, e.g. can read documents",
				"'*' is not allowed in agent rules")
			bad = true
			break loop
		default:
			p.unexpected(t, "a rule is words separated by spaces: can read documents when business_hours",
				"unexpected %s in rule", describe(t))
			bad = true
			break loop
		}
	}
	if !bad && len(r.Words) == 0 {
		p.errorf(v.pos, CodeSyntax, fmt.Sprintf("say what the rule is about, e.g. %s read documents", v.lit),
			"rule has no words after %q", v.lit)
		bad = true
	}
	if bad {
		if onLine() {
			p.skipLine()
		}
		return nil
	}
	return r
}

func (p *parser) parseCondition() *ast.ConditionDecl {
	d := &ast.ConditionDecl{Condition: p.next().pos}
	d.Name = p.parseName("a condition name", false)
	what := nameOr(d.Name, "condition")
	hint := fmt.Sprintf(`write: condition %s = "context.hour >= 9"`, nameText(d.Name, "name"))
	resync := func(t tok) {
		if t.kind != scanner.EOF && !t.first {
			p.skipTopLevel()
		}
	}
	if t := p.peek(0); t.kind != scanner.ASSIGN {
		if t.kind != scanner.ILLEGAL {
			p.errorf(p.missingAt(t), CodeSyntax, hint, "expected '=' after %s, found %s", what, describe(t))
		}
		resync(t)
		return nil
	}
	p.next()
	t := p.peek(0)
	if t.kind != scanner.STRING {
		switch {
		case t.kind == scanner.ILLEGAL:
		case t.first || t.kind == scanner.EOF:
			p.errorf(p.missingAt(t), CodeSyntax, hint, "%s has no expression: expected a quoted string after '='", what)
		default:
			p.errorf(t.pos, CodeSyntax, hint, "the expression of %s must be a quoted string, found %s", what, describe(t))
		}
		resync(t)
		return nil
	}
	p.next()
	v, err := scanner.Unquote(t.lit)
	if err != nil { // cannot happen for a STRING token; fail closed anyway
		p.errorf(t.pos, CodeSyntax, "", "malformed string literal")
		return nil
	}
	d.Expr = &ast.StringLit{ValuePos: t.pos, Raw: t.lit, Value: v}
	if d.Name == nil {
		return nil
	}
	return d
}

func (p *parser) parseResource() *ast.ResourceDecl {
	d := &ast.ResourceDecl{Resource: p.next().pos}
	d.Name = p.parseName("a resource name", false)
	what := nameOr(d.Name, "resource")
	lb, ok := p.expectLbrace(what)
	if !ok {
		return keep(d, d.Name)
	}
	d.Lbrace = lb
	d.Rbrace = p.parseBody(lb, what, func(t tok) {
		if isKw(t, "actions") {
			if c := p.parseActionsClause(); c != nil {
				d.Clauses = append(d.Clauses, c)
			}
			return
		}
		p.unexpected(t, "a resource body lists its actions: actions create, read, update",
			"expected 'actions' or '}' in %s, found %s", what, describe(t))
		p.skipBlockItem(func() bool { return p.atLineItem("actions", false, false) })
	})
	return keep(d, d.Name)
}

// parseActionsClause reads `actions a, b, c`.
func (p *parser) parseActionsClause() *ast.ActionsClause {
	kw := p.next()
	c := &ast.ActionsClause{ActionsPos: kw.pos}
	end := func() bool {
		t := p.peek(0)
		return t.kind == scanner.RBRACE || t.kind == scanner.EOF || p.atDeclStart() || p.atLineItem("actions", false, false)
	}
clauses:
	for !end() {
		t := p.peek(0)
		id := p.parseName("an action name", false)
		if id != nil {
			c.Actions = append(c.Actions, id)
		} else if p.peek(0) == t {
			p.skipInList()
			continue
		}
		s := p.peek(0)
		switch {
		case s.kind == scanner.COMMA:
			p.next()
		case end():
		case isKw(s, "actions") || s.first:
			// Where a ',' could be, "actions" or a new line ends the clause.
			break clauses
		case s.kind == scanner.IDENT || s.kind == scanner.STAR:
			if id != nil {
				p.errorf(endOf(id), CodeSyntax, "separate actions with commas: create, read",
					"expected ',' after action %s", q(id.Name))
			}
		case s.kind == scanner.ILLEGAL:
		default:
			if id != nil {
				p.unexpected(s, "separate actions with commas: create, read",
					"expected ',' after action %s, found %s", q(id.Name), describe(s))
			}
			p.skipInList()
		}
	}
	if len(c.Actions) == 0 {
		p.errorf(kw.pos, CodeSyntax, "list the actions, e.g. actions create, read", "'actions' lists no actions")
		return nil
	}
	return c
}

func (p *parser) parseEnum() *ast.EnumDecl {
	d := &ast.EnumDecl{Enum: p.next().pos}
	d.Name = p.parseName("an enum name", false)
	what := nameOr(d.Name, "enum")
	lb, ok := p.expectLbrace(what)
	if !ok {
		return keep(d, d.Name)
	}
	d.Lbrace = lb
	d.Rbrace = p.parseBody(lb, what, func(t tok) {
		if t.kind == scanner.COMMA {
			p.next() // commas between values are optional
			return
		}
		if id := p.parseName("an enum value", false); id != nil {
			d.Values = append(d.Values, id)
		} else if p.peek(0) == t {
			p.skipInList()
		}
	})
	return keep(d, d.Name)
}

func (p *parser) parseWorkflow() *ast.WorkflowDecl {
	d := &ast.WorkflowDecl{Workflow: p.next().pos}
	d.Name = p.parseName("a workflow name", false)
	what := nameOr(d.Name, "workflow")
	lb, ok := p.expectLbrace(what)
	if !ok {
		return keep(d, d.Name)
	}
	d.Lbrace = lb
	d.Rbrace = p.parseBody(lb, what, func(t tok) {
		if isKw(t, "state") {
			if st := p.parseState(); st != nil {
				d.States = append(d.States, st)
			}
			return
		}
		p.unexpected(t, "a workflow body lists transitions: state draft -> review",
			"expected 'state' or '}' in %s, found %s", what, describe(t))
		p.skipBlockItem(func() bool { return p.atLineItem("state", false, false) })
	})
	return keep(d, d.Name)
}

// parseState reads `state from [-> to, ...]`.
func (p *parser) parseState() *ast.StateDecl {
	s := &ast.StateDecl{State: p.next().pos}
	s.From = p.parseName("a state name", false)
	bad := s.From == nil
	end := func() bool {
		t := p.peek(0)
		return t.kind == scanner.RBRACE || t.kind == scanner.EOF || p.atDeclStart() || p.atLineItem("state", false, false)
	}
	if p.is(scanner.ARROW) {
		p.next()
	targets:
		for !end() {
			t := p.peek(0)
			id := p.parseName("a target state name", false)
			if id != nil {
				s.To = append(s.To, id)
			} else {
				bad = true
				if p.peek(0) == t {
					p.skipInList()
					continue
				}
			}
			n := p.peek(0)
			switch {
			case n.kind == scanner.COMMA:
				p.next()
			case end():
			case isKw(n, "state") || n.first:
				// Where a ',' could be, "state" or a new line ends the item.
				break targets
			case n.kind == scanner.IDENT:
				if id != nil {
					p.errorf(endOf(id), CodeSyntax, "separate target states with commas: state review -> approved, rejected",
						"expected ',' after state %s", q(id.Name))
				}
			case n.kind == scanner.ILLEGAL:
			default:
				if id != nil {
					p.unexpected(n, "separate target states with commas: state review -> approved, rejected",
						"expected ',' after state %s, found %s", q(id.Name), describe(n))
				}
				p.skipInList()
			}
		}
		if len(s.To) == 0 && !bad {
			p.errorf(s.State, CodeSyntax, "name the target states, e.g. state draft -> review",
				"'->' is not followed by any state")
			bad = true
		}
	} else if !end() && !bad {
		t := p.peek(0)
		p.unexpected(t, "write a transition as: state draft -> review",
			"expected '->' after state %s, found %s", q(s.From.Name), describe(t))
		p.skipBlockItem(func() bool { return p.atLineItem("state", false, false) })
		return nil
	} else if !end() {
		p.skipBlockItem(func() bool { return p.atLineItem("state", false, false) })
	}
	if bad {
		return nil
	}
	return s
}
