package parser

import (
	"fmt"

	"github.com/gatehouse-dev/gatehouse/policy/ast"
	"github.com/gatehouse-dev/gatehouse/policy/scanner"
)

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
		if isKw(t, "ask") {
			if r := p.parseAsk(); r != nil {
				d.Rules = append(d.Rules, r)
			}
			return
		}
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
		p.unexpected(t, hint, "expected a rule (can, must, should or ask before) or '}' in %s, found %s", what, describe(t))
		p.skipLine()
	})
	return keep(d, d.Name)
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
