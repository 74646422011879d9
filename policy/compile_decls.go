package policy

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/gatehouse-dev/gatehouse/policy/ast"
	"github.com/gatehouse-dev/gatehouse/policy/token"
)

func (c *compiler) resource(d *ast.ResourceDecl, seen map[string]token.Pos) {
	name := c.name(d.Name, "resource", d.Resource)
	rt := &ResourceType{Name: name, Pos: c.orFile(d.Resource)}
	dup := map[string]bool{}
	for _, cl := range d.Clauses {
		if cl == nil {
			continue
		}
		for _, a := range cl.Actions {
			if a == nil {
				c.diags.Errorf(c.orFile(cl.ActionsPos), CodeMalformed, "", "resource %s: missing action name", name)
				continue
			}
			if err := CheckIdent(a.Name); err != nil {
				c.diags.Errorf(c.at(a, cl.ActionsPos), CodeInvalidName,
					"list the actions by name; a resource type without a declaration accepts any action",
					"resource %s: action %s", name, err)
				continue
			}
			if !dup[a.Name] { // repeats are a lint warning, not an error
				dup[a.Name] = true
				rt.Actions = append(rt.Actions, a.Name)
			}
		}
	}
	if name == "" || !c.unique(seen, name, "resource", CodeDuplicateResource, c.at(d.Name, d.Resource)) {
		return
	}
	c.m.resources[name] = rt
	c.m.Resources = append(c.m.Resources, rt)
}

// declaredAction reports whether rt declares action, through a set built
// once per resource type (schemas may be large).
func (c *compiler) declaredAction(rt *ResourceType, action string) bool {
	set, ok := c.actionSets[rt.Name]
	if !ok {
		set = make(map[string]bool, len(rt.Actions))
		for _, a := range rt.Actions {
			set[a] = true
		}
		c.actionSets[rt.Name] = set
	}
	return set[action]
}

// checkDeclaredActions rejects a permission naming an action its declared
// resource type does not list: with a schema, a typo is an error, not a
// silently useless grant.
func (c *compiler) checkDeclaredActions() {
	for _, r := range c.m.Roles {
		d := c.roleDecls[r.Name]
		for _, b := range d.Permissions {
			if b == nil || b.Resource == nil {
				continue
			}
			rt, ok := c.m.resources[b.Resource.Name]
			if !ok {
				continue
			}
			for _, a := range b.Actions {
				if a == nil || a.Name == Wildcard || !IsIdent(a.Name) || c.declaredAction(rt, a.Name) {
					continue
				}
				hint := fmt.Sprintf("resource %s declares %s", rt.Name, listOrNone(rt.Actions))
				if s := closest(a.Name, rt.Actions); s != "" {
					hint = fmt.Sprintf("did you mean %s? ", s) + hint
				}
				c.diags.Errorf(c.at(a, b.Permission), CodeUndeclaredAction, hint,
					"role %s: resource %s has no action %s", r.Name, rt.Name, a.Name)
			}
		}
	}
}

func (c *compiler) condition(d *ast.ConditionDecl, seen map[string]token.Pos) {
	name := c.name(d.Name, "condition", d.Condition)
	if d.Expr == nil {
		c.diags.Errorf(c.at(d.Name, d.Condition), CodeMalformed, "", "condition %s has no expression", name)
		return
	}
	cond := &Condition{Name: name, Expr: d.Expr.Value, Pos: c.orFile(d.Condition)}
	prg, err := compileCEL(d.Expr.Value)
	if err != nil {
		pos, msg := celDiagnostic(c.at(d.Expr, d.Condition), d.Expr, err.Error())
		c.diags.Errorf(pos, CodeCEL,
			"conditions are CEL over the maps principal, resource and context, and must be bool",
			"condition %s: %s", name, msg)
	}
	cond.prg = prg
	if name == "" || !c.unique(seen, name, "condition", CodeDuplicateCondition, c.at(d.Name, d.Condition)) {
		return
	}
	c.m.conditions[name] = cond
	c.m.Conditions = append(c.m.Conditions, cond)
}

// celLocation matches the location prefix of a CEL issue:
// "ERROR: <input>:1:16: Syntax error: ...".
var celLocation = regexp.MustCompile(`^ERROR: <input>:(\d+):(\d+): `)

// celDiagnostic strips CEL's own location from msg and, when the string
// literal is one line written without escapes (so byte offsets in the
// value are offsets in the source), moves pos onto the offending byte.
func celDiagnostic(pos token.Pos, lit *ast.StringLit, msg string) (token.Pos, string) {
	m := celLocation.FindStringSubmatch(msg)
	if m == nil {
		return pos, msg
	}
	msg = strings.TrimSpace(strings.ReplaceAll(msg[len(m[0]):], " (in container '')", ""))
	line, _ := strconv.Atoi(m[1])
	col, _ := strconv.Atoi(m[2])
	v := lit.Value
	simple := len(lit.Raw) == len(v)+2 && lit.Raw[1:len(lit.Raw)-1] == v && !strings.Contains(v, "\n")
	if line == 1 && simple && pos.IsValid() {
		off := max(0, min(col-1, len(v)))
		pos.Offset += 1 + off
		pos.Col += 1 + off
	}
	return pos, msg
}

func (c *compiler) enum(d *ast.EnumDecl) {
	name := c.name(d.Name, "enum", d.Enum)
	e := &Enum{Name: name, Pos: c.orFile(d.Enum)}
	seen := map[string]bool{}
	for _, v := range d.Values {
		if v == nil {
			c.diags.Errorf(c.orFile(d.Enum), CodeMalformed, "", "enum %s: missing value", name)
			continue
		}
		if err := CheckIdent(v.Name); err != nil {
			c.diags.Errorf(c.at(v, d.Enum), CodeInvalidName, "", "enum %s: value %s", name, err)
			continue
		}
		if !seen[v.Name] { // repeats are a lint warning
			seen[v.Name] = true
			e.Values = append(e.Values, v.Name)
		}
	}
	if name == "" || !c.unique(c.enumNames, name, "enum", CodeDuplicateEnum, c.at(d.Name, d.Enum)) {
		return
	}
	c.m.Enums = append(c.m.Enums, e)
}

func (c *compiler) workflow(d *ast.WorkflowDecl) {
	name := c.name(d.Name, "workflow", d.Workflow)
	w := &Workflow{Name: name, Pos: c.orFile(d.Workflow)}
	seen := map[string]bool{}
	state := func(id *ast.Ident, at token.Pos) (string, bool) {
		if id == nil {
			c.diags.Errorf(c.orFile(at), CodeMalformed, "", "workflow %s: missing state name", name)
			return "", false
		}
		if err := CheckIdent(id.Name); err != nil {
			c.diags.Errorf(c.at(id, at), CodeInvalidName, "", "workflow %s: state %s", name, err)
			return "", false
		}
		if !seen[id.Name] {
			seen[id.Name] = true
			w.States = append(w.States, id.Name)
		}
		return id.Name, true
	}
	for _, s := range d.States {
		if s == nil {
			continue
		}
		from, ok := state(s.From, s.State)
		for _, t := range s.To {
			to, tok := state(t, s.State)
			if ok && tok {
				w.Transitions = append(w.Transitions, Transition{From: from, To: to})
			}
		}
	}
	if name == "" || !c.unique(c.flowNames, name, "workflow", CodeDuplicateWorkflow, c.at(d.Name, d.Workflow)) {
		return
	}
	c.m.Workflows = append(c.m.Workflows, w)
}
