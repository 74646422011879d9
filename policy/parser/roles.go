package parser

import (
	"strconv"

	"github.com/gatehouse-dev/gatehouse/policy/ast"
	"github.com/gatehouse-dev/gatehouse/policy/scanner"
)

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
		if isKw(t, "ask") {
			if r := p.parseAsk(); r != nil {
				d.Asks = append(d.Asks, r)
			}
			return
		}
		hint := "a role body holds permission blocks: permission resource { action, ... }"
		if isKw(t, "can") || isKw(t, "must") || isKw(t, "should") {
			hint = "rules belong in an agent: agent Name: " + nameText(d.Name, "RoleName") + " { ... }"
		}
		p.unexpected(t, hint, "expected 'permission', 'ask before' or '}' in %s, found %s", what, describe(t))
		p.skipBlockItem(func() bool { return isKw(p.peek(0), "permission") || p.atLineItem("ask", false, false) })
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
