package parser_test

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/gatehouse-dev/gatehouse/policy/ast"
	"github.com/gatehouse-dev/gatehouse/policy/token"
)

// Dump renders a parse result for golden files: diagnostics, the tree
// with the position of every node, and the comments.
func Dump(f *ast.File, errs token.List) string {
	var b strings.Builder
	w := func(depth int, format string, args ...any) {
		b.WriteString(strings.Repeat("  ", depth))
		fmt.Fprintf(&b, format, args...)
		b.WriteByte('\n')
	}
	w(0, "diagnostics:")
	for _, d := range errs {
		w(1, "%s %s [%s] %s", at(d.Pos), d.Severity, d.Code, d.Message)
		if d.Hint != "" {
			w(2, "hint: %s", d.Hint)
		}
	}
	w(0, "decls:")
	for _, d := range f.Decls {
		switch d := d.(type) {
		case *ast.RoleDecl:
			w(1, "role %s @%s {%s %s}", id(d.Name), at(d.Role), at(d.Lbrace), at(d.Rbrace))
			if len(d.Parents) > 0 {
				w(2, "parents %s", ids(d.Parents))
			}
			if d.Level != nil {
				w(2, "level %s=%d @%s", d.Level.Raw, d.Level.Value, at(d.Level.ValuePos))
			}
			for _, p := range d.Permissions {
				w(2, "permission %s @%s {%s %s}", id(p.Resource), at(p.Permission), at(p.Lbrace), at(p.Rbrace))
				w(3, "%s", ids(p.Actions))
			}
			for _, r := range d.Asks {
				w(2, "%s", dumpRule(r))
			}
		case *ast.AgentDecl:
			w(1, "agent %s @%s {%s %s}", id(d.Name), at(d.Agent), at(d.Lbrace), at(d.Rbrace))
			if d.Role != nil {
				w(2, "role %s", id(d.Role))
			}
			for _, r := range d.Rules {
				w(2, "%s", dumpRule(r))
			}
		case *ast.ConditionDecl:
			w(1, "condition %s @%s", id(d.Name), at(d.Condition))
			w(2, "expr %s=%s @%s", d.Expr.Raw, strconv.Quote(d.Expr.Value), at(d.Expr.ValuePos))
		case *ast.ResourceDecl:
			w(1, "resource %s @%s {%s %s}", id(d.Name), at(d.Resource), at(d.Lbrace), at(d.Rbrace))
			for _, c := range d.Clauses {
				w(2, "actions @%s %s", at(c.ActionsPos), ids(c.Actions))
			}
		case *ast.EnumDecl:
			w(1, "enum %s @%s {%s %s}", id(d.Name), at(d.Enum), at(d.Lbrace), at(d.Rbrace))
			w(2, "%s", ids(d.Values))
		case *ast.WorkflowDecl:
			w(1, "workflow %s @%s {%s %s}", id(d.Name), at(d.Workflow), at(d.Lbrace), at(d.Rbrace))
			for _, s := range d.States {
				w(2, "state @%s %s -> %s", at(s.State), id(s.From), ids(s.To))
			}
		default:
			w(1, "unknown %T", d)
		}
	}
	w(0, "comments:")
	for _, c := range f.Comments {
		w(1, "%s %s", at(c.Slash), strconv.Quote(c.Text))
	}
	return b.String()
}

func at(p token.Pos) string {
	if !p.IsValid() {
		return "-"
	}
	return fmt.Sprintf("%d:%d", p.Line, p.Col)
}

func id(x *ast.Ident) string {
	if x == nil {
		return "<nil>"
	}
	return x.Name + "@" + at(x.NamePos)
}

func ids(xs []*ast.Ident) string {
	var s []string
	for _, x := range xs {
		s = append(s, id(x))
	}
	return "[" + strings.Join(s, " ") + "]"
}

// dumpRule renders an agent or ask rule with its positions.
func dumpRule(r *ast.Rule) string {
	s := fmt.Sprintf("%s @%s %s", r.Kind, at(r.KindPos), ids(r.Words))
	if r.Condition != nil {
		s += " " + r.Keyword + " " + id(r.Condition)
	}
	if len(r.From) > 0 {
		s += " from " + ids(r.From)
	}
	if r.Quorum != nil {
		s += fmt.Sprintf(" quorum %s=%d @%s", r.Quorum.Raw, r.Quorum.Value, at(r.Quorum.ValuePos))
	}
	return s
}
