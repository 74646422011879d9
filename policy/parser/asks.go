package parser

import (
	"fmt"
	"strconv"

	"github.com/gatehouse-dev/gatehouse/policy/ast"
	"github.com/gatehouse-dev/gatehouse/policy/scanner"
)

const askHint = "write: ask before run chains [when cond] [from admin] [quorum 2]"

// parseAsk reads one `ask before action resource [when|if cond]
// [from role, ...] [quorum N]` line, in an agent or a role body. The
// clauses after the resource may come in any order, each once. Like agent
// rules it is line-based: a rule with any error is reported once and
// dropped, with its line.
func (p *parser) parseAsk() *ast.Rule {
	v := p.next()
	r := &ast.Rule{KindPos: v.pos, Kind: ast.Ask}
	line := v.pos.Line
	onLine := func() bool {
		t := p.peek(0)
		return t.kind != scanner.EOF && t.kind != scanner.RBRACE && t.pos.Line == line
	}
	// found describes the current token, or the end of the rule's line.
	found := func() string {
		if !onLine() {
			return "end of line"
		}
		return describe(p.peek(0))
	}
	fail := func() *ast.Rule {
		if onLine() {
			p.skipLine()
		}
		return nil
	}
	if t := p.peek(0); !onLine() || !isKw(t, "before") {
		if !onLine() || t.kind != scanner.ILLEGAL {
			p.errorf(p.missingAt(t), CodeSyntax, askHint, "expected 'before' after 'ask'")
		}
		return fail()
	}
	p.next()
	for len(r.Words) < 2 {
		t := p.peek(0)
		if !onLine() || t.kind != scanner.IDENT {
			if !onLine() || t.kind != scanner.ILLEGAL {
				what := "an action"
				if len(r.Words) == 1 {
					what = "a resource"
				}
				if t.kind == scanner.STAR && onLine() {
					p.errorf(t.pos, CodeSyntax, "name one action and one resource, e.g. ask before run chains",
						"'*' is not allowed in an ask rule")
				} else {
					p.errorf(p.missingAt(t), CodeSyntax, askHint, "expected %s after 'ask before', found %s", what, found())
				}
			}
			return fail()
		}
		p.next()
		r.Words = append(r.Words, &ast.Ident{NamePos: t.pos, Name: t.lit})
	}
	for onLine() {
		t := p.peek(0)
		switch {
		case (isKw(t, "when") || isKw(t, "if")) && r.Condition == nil:
			p.next()
			c := p.peek(0)
			if !onLine() || c.kind != scanner.IDENT {
				if !onLine() || c.kind != scanner.ILLEGAL {
					p.errorf(t.pos, CodeSyntax, fmt.Sprintf("name a condition, e.g. %s in_prod", t.lit),
						"%q must be followed by a condition name", t.lit)
				}
				return fail()
			}
			p.next()
			r.Keyword = t.lit
			r.Condition = &ast.Ident{NamePos: c.pos, Name: c.lit}
		case isKw(t, "from") && r.From == nil:
			p.next()
			for {
				c := p.peek(0)
				if !onLine() || c.kind != scanner.IDENT {
					if !onLine() || c.kind != scanner.ILLEGAL {
						p.errorf(p.missingAt(c), CodeSyntax, "name the approvers' role, e.g. from admin",
							"expected a role name after 'from', found %s", found())
					}
					return fail()
				}
				p.next()
				r.From = append(r.From, &ast.Ident{NamePos: c.pos, Name: c.lit})
				if !p.is(scanner.COMMA) || !onLine() {
					break
				}
				p.next()
			}
		case isKw(t, "quorum") && r.Quorum == nil:
			p.next()
			c := p.peek(0)
			if !onLine() || c.kind != scanner.INT {
				if !onLine() || c.kind != scanner.ILLEGAL {
					p.errorf(p.missingAt(c), CodeSyntax, "write the number of approvers, e.g. quorum 2",
						"expected a whole number after 'quorum', found %s", found())
				}
				return fail()
			}
			p.next()
			n, err := strconv.Atoi(c.lit)
			if err != nil || n > 1<<31-1 {
				p.errorf(c.pos, CodeSyntax, "a quorum is a small number of people", "quorum %s is too large", scanner.Shorten(c.lit))
				return fail()
			}
			r.Quorum = &ast.IntLit{ValuePos: c.pos, Raw: c.lit, Value: n}
		case isKw(t, "when") || isKw(t, "if") || isKw(t, "from") || isKw(t, "quorum"):
			p.errorf(t.pos, CodeSyntax, "give each clause once; define a combined condition for several",
				"%q given twice in an ask rule", t.lit)
			return fail()
		case t.kind == scanner.ILLEGAL:
			return fail()
		default:
			p.unexpected(t, "an ask rule names one action and one resource: "+askHint,
				"unexpected %s in ask rule; expected when, if, from or quorum", describe(t))
			return fail()
		}
	}
	return r
}
