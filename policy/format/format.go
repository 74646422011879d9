// Package format prints Gatehouse policy files in their canonical layout,
// as gofmt does for Go.
//
// The canonical layout is the one seed 003 uses:
//
//	# comment
//	role operator: viewer level 30 {
//	    permission chains {
//	        read,
//	        run
//	    }
//	}
//
//	agent Triage: operator {
//	    can run chains when business_hours
//	    ask before run chains when in_prod from admin quorum 2
//	}
//
//	condition business_hours = "context.hour >= 9 && context.hour < 18"
//
//	resource chains {
//	    actions create, read, run
//	}
//
//	enum DocumentStatus {
//	    draft
//	    review
//	}
//
//	workflow DocumentFlow {
//	    state draft -> review
//	    state review -> approved, rejected
//	}
//
// Precisely:
//   - Indentation is 4 spaces per block level; lines carry no trailing
//     white space; the output ends with one newline.
//   - A permission block always lists its actions one per line, separated
//     by commas, with no trailing comma; even `{ * }` is printed on three
//     lines. An `actions` clause stays on one line (`actions a, b, c`), as
//     do agent rules (`can run chains when business_hours`), ask rules in
//     agents and roles (`ask before run chains when in_prod from admin
//     quorum 2`, clauses in that order), workflow states (`state a -> b, c`),
//     conditions and role and agent headers. Enum values are printed one
//     per line without commas. An empty block is
//     printed as "{" and "}" on two lines.
//   - Top-level declarations are separated by exactly one blank line,
//     except that consecutive condition declarations keep the source's
//     choice (none or one). Inside blocks, and between comments, one blank
//     line is kept where the source had one or more; never right after a
//     '{' or right before a '}'.
//   - Every comment is kept, in order. A comment that followed a token on
//     the same line stays at the end of the line that token is printed on,
//     after one space; when two such comments would land on one printed
//     line, the second goes on its own line below. The trailing comments
//     of adjacent lines at one depth are aligned in a column. Any other comment goes
//     on its own line before the node it preceded, at that node's
//     indentation (or one level deeper when it precedes a closing '}').
//     Trailing white space is trimmed from comments.
//   - Strings are printed as written, so raw strings stay raw; levels keep
//     their digits as written.
//
// Invariants: File never panics; on a tree from a parse without errors its
// output parses to the same tree (ignoring positions), with the same
// comments in the same order, and formatting that output again changes
// nothing.
package format

import (
	"strconv"
	"strings"

	"github.com/gatehouse-dev/gatehouse/policy/ast"
	"github.com/gatehouse-dev/gatehouse/policy/parser"
	"github.com/gatehouse-dev/gatehouse/policy/scanner"
	"github.com/gatehouse-dev/gatehouse/policy/token"
)

// Source parses src and formats it. On parse errors it returns them and
// nil.
func Source(filename string, src []byte) ([]byte, token.List) {
	f, errs := parser.ParseFile(filename, src)
	if errs.HasErrors() {
		return nil, errs
	}
	return File(f), nil
}

// File formats a parsed file; the comments in f.Comments are re-attached by
// position. It expects a tree from a parse without errors; parts missing
// from other trees are left out of the output.
func File(f *ast.File) []byte {
	if f == nil {
		return nil
	}
	p := &printer{}
	for _, d := range f.Decls {
		p.decl(d)
	}
	items := attach(p.lines, f.Comments)
	return render(items)
}

// line is one printed line of code and the source span it came from.
type line struct {
	depth    int
	text     string
	first    int // byte offset of the first source token on the line
	last     int // byte offset of the last source token on the line
	srcFirst int // source line of the first token
	srcLast  int // source line where the last token ends
	open     bool
	close    bool
	declEnd  bool // last line of a top-level declaration
	cond     bool // a condition declaration (one line)
	trailing []string
	comment  bool // an own-line comment, not code
}

type printer struct {
	lines []*line
}

// span records the source positions a printed line covers.
type span struct {
	first, last token.Pos
	lastText    string // text of the last token, for multi-line strings
}

func (p *printer) emit(depth int, text string, sp span) *line {
	l := &line{depth: depth, text: text}
	prevOff, prevLine := 0, 0
	if n := len(p.lines); n > 0 {
		prevOff, prevLine = p.lines[n-1].last, p.lines[n-1].srcLast
	}
	first, last := sp.first, sp.last
	if !first.IsValid() {
		first = last
	}
	if !last.IsValid() {
		last = first
	}
	if !first.IsValid() { // nothing known: stay where the previous line was
		l.first, l.last, l.srcFirst, l.srcLast = prevOff, prevOff, prevLine, prevLine
	} else {
		l.first, l.srcFirst = first.Offset, first.Line
		l.last, l.srcLast = last.Offset, last.Line+strings.Count(sp.lastText, "\n")
	}
	// Keep spans monotonic whatever the tree says.
	if l.first < prevOff {
		l.first = prevOff
	}
	if l.last < l.first {
		l.last = l.first
	}
	if l.srcFirst < prevLine {
		l.srcFirst = prevLine
	}
	if l.srcLast < l.srcFirst {
		l.srcLast = l.srcFirst
	}
	p.lines = append(p.lines, l)
	return l
}

func name(id *ast.Ident) string {
	if id == nil {
		return ""
	}
	return id.Name
}

func pos(id *ast.Ident) token.Pos {
	if id == nil {
		return token.Pos{}
	}
	return id.NamePos
}

// names joins non-nil identifiers with sep, and returns the last one's
// position.
func names(ids []*ast.Ident, sep string) (string, token.Pos) {
	var b strings.Builder
	var last token.Pos
	n := 0
	for _, id := range ids {
		if id == nil {
			continue
		}
		if n > 0 {
			b.WriteString(sep)
		}
		b.WriteString(id.Name)
		last = id.NamePos
		n++
	}
	return b.String(), last
}

func (p *printer) decl(d ast.Decl) {
	start := len(p.lines)
	switch d := d.(type) {
	case *ast.RoleDecl:
		p.role(d)
	case *ast.AgentDecl:
		p.agent(d)
	case *ast.ConditionDecl:
		p.condition(d)
	case *ast.ResourceDecl:
		p.resource(d)
	case *ast.EnumDecl:
		p.enum(d)
	case *ast.WorkflowDecl:
		p.workflow(d)
	}
	if len(p.lines) > start {
		p.lines[len(p.lines)-1].declEnd = true
	}
}

func (p *printer) closeBrace(depth int, rbrace token.Pos) {
	l := p.emit(depth, "}", span{first: rbrace, last: rbrace})
	l.close = true
}

func (p *printer) role(d *ast.RoleDecl) {
	if d == nil {
		return
	}
	var b strings.Builder
	b.WriteString("role ")
	b.WriteString(name(d.Name))
	if ps, _ := names(d.Parents, ", "); ps != "" {
		b.WriteString(": ")
		b.WriteString(ps)
	}
	if d.Level != nil {
		b.WriteString(" level ")
		b.WriteString(intText(d.Level))
	}
	b.WriteString(" {")
	p.emit(0, b.String(), span{first: d.Role, last: d.Lbrace}).open = true
	asks := d.Asks
	for _, pb := range d.Permissions {
		if pb == nil {
			continue
		}
		asks = p.asksBefore(asks, pb.Permission)
		p.emit(1, "permission "+name(pb.Resource)+" {", span{first: pb.Permission, last: pb.Lbrace}).open = true
		var acts []*ast.Ident
		for _, a := range pb.Actions {
			if a != nil {
				acts = append(acts, a)
			}
		}
		for i, a := range acts {
			text := a.Name
			if i < len(acts)-1 {
				text += ","
			}
			p.emit(2, text, span{first: a.NamePos, last: a.NamePos})
		}
		p.closeBrace(1, pb.Rbrace)
	}
	p.asksBefore(asks, token.Pos{})
	p.closeBrace(0, d.Rbrace)
}

// asksBefore prints the ask rules of a role that come before position at in
// the source (all of them when at is invalid), so that permission blocks
// and ask rules keep their order, and returns the rest.
func (p *printer) asksBefore(asks []*ast.Rule, at token.Pos) []*ast.Rule {
	for len(asks) > 0 && (!at.IsValid() || asks[0] == nil || asks[0].KindPos.Offset < at.Offset) {
		if asks[0] != nil {
			p.rule(asks[0])
		}
		asks = asks[1:]
	}
	return asks
}

func intText(x *ast.IntLit) string {
	if x.Raw != "" && isDigits(x.Raw) {
		return x.Raw
	}
	return strconv.Itoa(x.Value)
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

func (p *printer) agent(d *ast.AgentDecl) {
	if d == nil {
		return
	}
	head := "agent " + name(d.Name)
	if d.Role != nil {
		head += ": " + d.Role.Name
	}
	p.emit(0, head+" {", span{first: d.Agent, last: d.Lbrace}).open = true
	for _, r := range d.Rules {
		if r != nil {
			p.rule(r)
		}
	}
	p.closeBrace(0, d.Rbrace)
}

// rule prints an agent rule or an ask rule on one line: the verb, the
// words, then the condition, the approvers' roles and the quorum.
func (p *printer) rule(r *ast.Rule) {
	words, last := names(r.Words, " ")
	text := r.Kind.String()
	if words != "" {
		text += " " + words
	}
	if r.Condition != nil {
		kw := r.Keyword
		if kw != "when" && kw != "if" {
			kw = "when"
		}
		text += " " + kw + " " + r.Condition.Name
		last = r.Condition.NamePos
	}
	if from, l := names(r.From, ", "); from != "" {
		text += " from " + from
		if l.Offset > last.Offset {
			last = l
		}
	}
	if r.Quorum != nil {
		text += " quorum " + intText(r.Quorum)
		if r.Quorum.ValuePos.Offset > last.Offset {
			last = r.Quorum.ValuePos
		}
	}
	p.emit(1, text, span{first: r.KindPos, last: last})
}

func (p *printer) condition(d *ast.ConditionDecl) {
	if d == nil {
		return
	}
	text := "condition " + name(d.Name) + " = "
	sp := span{first: d.Condition, last: pos(d.Name)}
	if d.Expr != nil {
		if d.Expr.Raw != "" {
			if v, err := scanner.Unquote(d.Expr.Raw); err == nil && v == d.Expr.Value {
				text += d.Expr.Raw
			} else {
				text += scanner.Quote(d.Expr.Value)
			}
		} else {
			text += scanner.Quote(d.Expr.Value)
		}
		sp.last, sp.lastText = d.Expr.ValuePos, d.Expr.Raw
		if !d.Expr.ValuePos.IsValid() {
			sp.lastText = ""
		}
	}
	p.emit(0, text, sp).cond = true
}

func (p *printer) resource(d *ast.ResourceDecl) {
	if d == nil {
		return
	}
	p.emit(0, "resource "+name(d.Name)+" {", span{first: d.Resource, last: d.Lbrace}).open = true
	for _, c := range d.Clauses {
		if c == nil {
			continue
		}
		acts, last := names(c.Actions, ", ")
		p.emit(1, "actions "+acts, span{first: c.ActionsPos, last: last})
	}
	p.closeBrace(0, d.Rbrace)
}

func (p *printer) enum(d *ast.EnumDecl) {
	if d == nil {
		return
	}
	p.emit(0, "enum "+name(d.Name)+" {", span{first: d.Enum, last: d.Lbrace}).open = true
	for _, v := range d.Values {
		if v != nil {
			p.emit(1, v.Name, span{first: v.NamePos, last: v.NamePos})
		}
	}
	p.closeBrace(0, d.Rbrace)
}

func (p *printer) workflow(d *ast.WorkflowDecl) {
	if d == nil {
		return
	}
	p.emit(0, "workflow "+name(d.Name)+" {", span{first: d.Workflow, last: d.Lbrace}).open = true
	for _, s := range d.States {
		if s == nil {
			continue
		}
		text := "state " + name(s.From)
		last := pos(s.From)
		if to, l := names(s.To, ", "); to != "" {
			text += " -> " + to
			last = l
		}
		p.emit(1, text, span{first: s.State, last: last})
	}
	p.closeBrace(0, d.Rbrace)
}

// attach merges comments into the printed lines. A comment on the same
// source line as the last token before it trails that token's line; any
// other comment gets a line of its own before the next code line.
func attach(code []*line, comments []*ast.Comment) []*line {
	var out []*line
	var prev *line // last code line emitted
	ci := 0
	ownLine := func(c *ast.Comment) *line {
		return &line{comment: true, text: trimComment(c.Text), srcFirst: c.Slash.Line, srcLast: c.Slash.Line}
	}
	place := func(c *ast.Comment) {
		if prev != nil && c.Slash.Line == prev.srcLast && c.Slash.Offset > prev.last {
			prev.trailing = append(prev.trailing, trimComment(c.Text))
			return
		}
		out = append(out, ownLine(c))
	}
	for _, l := range code {
		for ci < len(comments) && comments[ci] != nil && comments[ci].Slash.Offset < l.first {
			place(comments[ci])
			ci++
		}
		out = append(out, l)
		prev = l
		for ci < len(comments) && comments[ci] != nil && comments[ci].Slash.Offset < l.last {
			l.trailing = append(l.trailing, trimComment(comments[ci].Text))
			ci++
		}
		for ci < len(comments) && comments[ci] == nil {
			ci++
		}
	}
	for ; ci < len(comments); ci++ {
		if comments[ci] != nil {
			place(comments[ci])
		}
	}
	// Split extra trailing comments onto their own lines, below.
	var res []*line
	for _, l := range out {
		res = append(res, l)
		if len(l.trailing) > 1 {
			for _, t := range l.trailing[1:] {
				res = append(res, &line{comment: true, text: t, srcFirst: l.srcLast, srcLast: l.srcLast})
			}
			l.trailing = l.trailing[:1]
		}
	}
	// A comment line takes the indentation of the next code line, one level
	// deeper before a closing brace; at the end of the file, none.
	depth := 0
	for i := len(res) - 1; i >= 0; i-- {
		l := res[i]
		if !l.comment {
			depth = l.depth
			if l.close {
				depth++
			}
			continue
		}
		l.depth = depth
	}
	return res
}

func trimComment(s string) string { return strings.TrimRight(s, " \t\r\f\v") }

// render prints the lines with indentation and blank lines. Trailing
// comments of adjacent lines at the same depth are aligned in a column,
// one space after the longest line of the run.
func render(items []*line) []byte {
	blank := make([]bool, len(items))
	for i := 1; i < len(items); i++ {
		blank[i] = blankBetween(items, i)
	}
	pad := make([]int, len(items))
	for i := 0; i < len(items); {
		if len(items[i].trailing) == 0 {
			i++
			continue
		}
		j, width := i, 0
		for j < len(items) && len(items[j].trailing) > 0 && items[j].depth == items[i].depth &&
			!strings.Contains(items[j].text, "\n") && (j == i || !blank[j]) {
			width = max(width, len(items[j].text))
			j++
		}
		if j == i { // a multi-line text: no alignment
			j++
		}
		for k := i; k < j; k++ {
			pad[k] = width - len(items[k].text)
		}
		i = j
	}
	var b strings.Builder
	for i, l := range items {
		if blank[i] {
			b.WriteByte('\n')
		}
		for j := 0; j < l.depth; j++ {
			b.WriteString("    ")
		}
		b.WriteString(l.text)
		if len(l.trailing) > 0 {
			b.WriteString(strings.Repeat(" ", max(pad[i], 0)+1))
			b.WriteString(l.trailing[0])
		}
		b.WriteByte('\n')
	}
	return []byte(b.String())
}

// blankBetween decides whether a blank line goes before items[i].
func blankBetween(items []*line, i int) bool {
	a, b := items[i-1], items[i]
	if !a.comment && a.open || !b.comment && b.close {
		return false
	}
	if !a.comment && a.declEnd && b.depth == 0 {
		// Between top-level declarations: always, except in a run of
		// conditions, where the source decides.
		if !(a.cond && nextCode(items, i) != nil && nextCode(items, i).cond) {
			return true
		}
	}
	return b.srcFirst > a.srcLast+1
}

func nextCode(items []*line, i int) *line {
	for ; i < len(items); i++ {
		if !items[i].comment {
			return items[i]
		}
	}
	return nil
}
