package parser

import (
	"fmt"

	"github.com/gatehouse-dev/gatehouse/policy/ast"
	"github.com/gatehouse-dev/gatehouse/policy/scanner"
)

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
