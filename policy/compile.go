// Package policy is the Gatehouse policy language above the syntax tree:
// the compiler (AST → Model), the linter, the loader that chains parser,
// compiler and linter, and the compiled Model the decision engine reads.
//
// Invariants:
//   - Compile never panics, whatever tree it is given (including the partial
//     trees a parser returns after errors, with nil fields), and reports every
//     error it finds, each positioned and with a stable Code.
//   - Compile returns a Model iff it found no error. There is no "best
//     effort" model: a policy that does not compile grants nothing.
//   - A Model is immutable once Compile returns it; it shares nothing with
//     the syntax tree it came from.
//   - Lint only ever adds warnings; it never turns a valid policy into an
//     invalid one, and it never changes the Model.
//   - Output is deterministic: the same source yields the same Model and
//     the same diagnostics in the same order.
package policy

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/gatehouse-dev/gatehouse/policy/ast"
	"github.com/gatehouse-dev/gatehouse/policy/token"
)

// Diagnostic codes of compile errors. They are stable: tools and tests
// match on them. docs/policy-language.md explains each with an example.
const (
	CodeMalformed          = "malformed"           // the syntax tree lacks a part the parser should have required
	CodeInvalidName        = "invalid-name"        // a name that is not an identifier (or a wildcard where none is allowed)
	CodeBadPattern         = "bad-pattern"         // a permission part that is neither "*" nor an identifier
	CodeDuplicateRole      = "duplicate-role"      // a role name declared twice
	CodeUnknownParent      = "unknown-parent"      // a role inherits from an undeclared role
	CodeInheritanceCycle   = "inheritance-cycle"   // roles inherit from each other in a loop
	CodeLevelRange         = "level-range"         // a level outside 0–100
	CodeDuplicateResource  = "duplicate-resource"  // a resource type declared twice
	CodeUndeclaredAction   = "undeclared-action"   // a permission names an action its declared resource lacks
	CodeDuplicateCondition = "duplicate-condition" // a condition name declared twice
	CodeCEL                = "cel"                 // a condition whose CEL does not compile or is not bool
	CodeDuplicateAgent     = "duplicate-agent"     // an agent name declared twice
	CodeMissingRole        = "missing-role"        // an agent without `: Role`
	CodeUnknownRole        = "unknown-role"        // an agent whose role is undeclared
	CodeDuplicateEnum      = "duplicate-enum"      // an enum name declared twice
	CodeDuplicateWorkflow  = "duplicate-workflow"  // a workflow name declared twice
	CodeTooComplex         = "too-complex"         // flattened inheritance exceeds maxFlatPermissions
)

// maxFlatPermissions bounds the work of flattening: the sum, over all
// roles, of the permissions a role declares plus those of each of its
// parents (at least its flattened permissions). A chain of n roles with
// one permission each flattens to n²/2 entries, and k roles inheriting
// the same large set from k parents each look at it k² times, so without
// a bound a 1 MiB file could take minutes and gigabytes to compile; real
// policies stay orders of magnitude below it.
const maxFlatPermissions = 1 << 20

// Compile turns a parsed file into a Model. It returns every error it finds
// as a sorted token.List; the Model is nil iff the list has an error.
// Compile reports errors only: warnings are Lint's job.
//
// Names live in one namespace per kind: a role and an agent may share a
// name (principals are written agent:<name>, roles are only ever named by
// role), but two roles, two agents, two conditions, two resource types,
// two enums or two workflows may not.
func Compile(f *ast.File) (*Model, token.List) {
	c := &compiler{
		m: &Model{
			roles:      map[string]*Role{},
			agents:     map[string]*Agent{},
			conditions: map[string]*Condition{},
			resources:  map[string]*ResourceType{},
		},
		roleDecls:  map[string]*ast.RoleDecl{},
		actionSets: map[string]map[string]bool{},
		indexes:    map[string]*roleIndex{},
	}
	if f == nil {
		c.diags.Errorf(token.Pos{}, CodeMalformed, "", "no syntax tree to compile")
		return nil, c.diags
	}
	c.file = f.Name
	c.collect(f)
	c.resolveRoles()
	c.checkDeclaredActions()
	c.compileAgents()
	c.diags.Sort()
	if c.diags.HasErrors() {
		return nil, c.diags
	}
	return c.m, c.diags
}

type compiler struct {
	file  string
	diags token.List
	m     *Model

	roleDecls   map[string]*ast.RoleDecl // first declaration of each role
	actionSets  map[string]map[string]bool
	indexes     map[string]*roleIndex
	names       []string // roleNames cache
	flatCount   int      // permissions flattened so far, against maxFlatPermissions
	tooComplex  bool     // the budget ran out (reported once)
	agentDecls  []*agentDecl
	enumNames   map[string]token.Pos
	flowNames   map[string]token.Pos
	flattenDone map[string]bool
}

// agentDecl pairs a compiled agent with the syntax it came from until its
// rules can be resolved against the (then complete) roles.
type agentDecl struct {
	a    *Agent
	role *ast.Ident
	decl *ast.AgentDecl
}

// at returns a usable position for a node that may be nil.
func (c *compiler) at(n ast.Node, fallback token.Pos) token.Pos {
	if isNil(n) {
		return c.orFile(fallback)
	}
	if p := n.Pos(); p.IsValid() {
		return p
	}
	return c.orFile(fallback)
}

// isNil reports whether n is nil or a typed nil pointer of the node types
// the compiler positions diagnostics at.
func isNil(n ast.Node) bool {
	switch n := n.(type) {
	case nil:
		return true
	case *ast.Ident:
		return n == nil
	case *ast.IntLit:
		return n == nil
	case *ast.StringLit:
		return n == nil
	case *ast.Rule:
		return n == nil
	}
	return false
}

func (c *compiler) orFile(p token.Pos) token.Pos {
	if p.File == "" {
		p.File = c.file
	}
	return p
}

// name validates a declaration's name: present, an identifier, not "*".
// It reports an error and returns "" when the name is unusable.
func (c *compiler) name(id *ast.Ident, kind string, declPos token.Pos) string {
	if id == nil {
		c.diags.Errorf(c.orFile(declPos), CodeMalformed, "", "%s declaration has no name", kind)
		return ""
	}
	if err := CheckIdent(id.Name); err != nil {
		c.diags.Errorf(c.at(id, declPos), CodeInvalidName, "names are a letter, then letters, digits, '_' or '-'",
			"%s name %s", kind, err)
		return ""
	}
	return id.Name
}

// collect walks the declarations once, checking names and building the
// parts of the Model that need no cross-references.
func (c *compiler) collect(f *ast.File) {
	agentNames := map[string]token.Pos{}
	condNames := map[string]token.Pos{}
	resNames := map[string]token.Pos{}
	c.enumNames = map[string]token.Pos{}
	c.flowNames = map[string]token.Pos{}
	for _, d := range f.Decls {
		switch d := d.(type) {
		case *ast.RoleDecl:
			if d != nil {
				c.role(d)
			}
		case *ast.ResourceDecl:
			if d != nil {
				c.resource(d, resNames)
			}
		case *ast.ConditionDecl:
			if d != nil {
				c.condition(d, condNames)
			}
		case *ast.AgentDecl:
			if d != nil {
				c.agent(d, agentNames)
			}
		case *ast.EnumDecl:
			if d != nil {
				c.enum(d)
			}
		case *ast.WorkflowDecl:
			if d != nil {
				c.workflow(d)
			}
		}
	}
}

// unique reports whether name is new in seen, recording it; on a
// duplicate it reports code at pos naming the first declaration.
func (c *compiler) unique(seen map[string]token.Pos, name, kind, code string, pos token.Pos) bool {
	if first, dup := seen[name]; dup {
		c.diags.Errorf(pos, code, fmt.Sprintf("rename one of them, or merge the two %ss", kind),
			"%s %s already declared at %s", kind, name, first)
		return false
	}
	seen[name] = pos
	return true
}

func (c *compiler) role(d *ast.RoleDecl) {
	name := c.name(d.Name, "role", d.Role)
	r := &Role{Name: name, Pos: c.orFile(d.Role)}
	if d.Level != nil {
		if d.Level.Value < 0 || d.Level.Value > 100 {
			c.diags.Errorf(c.at(d.Level, d.Role), CodeLevelRange, "levels run from 0 (least) to 100 (most powerful)",
				"role %s: level %s is out of range", name, levelText(d.Level))
		}
		r.Level, r.HasLevel = d.Level.Value, true
	}
	seenParent := map[string]bool{}
	for _, p := range d.Parents {
		if p == nil {
			c.diags.Errorf(c.orFile(d.Role), CodeMalformed, "", "role %s: missing parent name", name)
			continue
		}
		if err := CheckIdent(p.Name); err != nil {
			c.diags.Errorf(c.at(p, d.Role), CodeInvalidName, "inherit from a role by its name",
				"role %s: parent %s", name, err)
			continue
		}
		if !seenParent[p.Name] { // a repeated parent adds nothing (Lint warns)
			seenParent[p.Name] = true
			r.Parents = append(r.Parents, p.Name)
		}
	}
	seen := map[Permission]bool{}
	for _, b := range d.Permissions {
		if b == nil {
			continue
		}
		if b.Resource == nil {
			c.diags.Errorf(c.orFile(b.Permission), CodeMalformed, "", "role %s: permission block has no resource", name)
			continue
		}
		if err := CheckPatternPart(b.Resource.Name); err != nil {
			c.diags.Errorf(c.at(b.Resource, b.Permission), CodeBadPattern,
				"a resource is a name, or * for every resource", "role %s: permission resource %v", name, err)
			continue
		}
		for _, a := range b.Actions {
			if a == nil {
				c.diags.Errorf(c.orFile(b.Permission), CodeMalformed, "", "role %s: missing action name", name)
				continue
			}
			if err := CheckPatternPart(a.Name); err != nil {
				c.diags.Errorf(c.at(a, b.Permission), CodeBadPattern,
					"an action is a name, or * for every action", "role %s: permission %s action %v", name, b.Resource.Name, err)
				continue
			}
			p := Permission{Resource: b.Resource.Name, Action: a.Name}
			if !seen[p] {
				seen[p] = true
				r.Own = append(r.Own, p)
			}
		}
	}
	if name == "" {
		return
	}
	if first, dup := c.roleDecls[name]; dup {
		c.diags.Errorf(c.at(d.Name, d.Role), CodeDuplicateRole, "rename one of them, or merge the two roles",
			"role %s already declared at %s", name, c.at(first.Name, first.Role))
		return
	}
	c.roleDecls[name] = d
	c.m.roles[name] = r
	c.m.Roles = append(c.m.Roles, r)
}

func levelText(l *ast.IntLit) string {
	if l.Raw != "" {
		return l.Raw
	}
	return fmt.Sprint(l.Value)
}

// resolveRoles checks parents, finds inheritance cycles, and flattens
// permissions and levels.
func (c *compiler) resolveRoles() {
	for _, r := range c.m.Roles {
		d := c.roleDecls[r.Name]
		for _, p := range d.Parents {
			if p == nil || !IsIdent(p.Name) {
				continue
			}
			if _, ok := c.m.roles[p.Name]; !ok {
				c.diags.Errorf(c.at(p, d.Role), CodeUnknownParent, suggest(p.Name, c.roleNames(), "role"),
					"role %s inherits from unknown role %s", r.Name, p.Name)
			}
		}
	}
	c.findCycles()

	// Flatten in an order where parents come first; a role on a cycle (an
	// error already) is flattened with what it can reach, never looping.
	c.flattenDone = map[string]bool{}
	for _, r := range c.m.Roles {
		c.flatten(r, map[string]bool{})
	}
}

// roleNames lists the declared roles, in order; computed once, after
// collect (every caller runs later).
func (c *compiler) roleNames() []string {
	if c.names != nil {
		return c.names
	}
	names := make([]string, 0, len(c.m.Roles))
	for _, r := range c.m.Roles {
		names = append(names, r.Name)
	}
	c.names = names
	return names
}

// findCycles reports every inheritance cycle once, at the parent reference
// that closes it in the earliest-declared role of the cycle.
func (c *compiler) findCycles() {
	const (
		white = iota
		grey
		black
	)
	order := map[string]int{}
	for i, r := range c.m.Roles {
		order[r.Name] = i
	}
	color := map[string]int{}
	reported := map[string]bool{}
	var stack []string
	var visit func(name string)
	visit = func(name string) {
		color[name] = grey
		stack = append(stack, name)
		for _, p := range c.m.roles[name].Parents {
			if _, ok := c.m.roles[p]; !ok {
				continue
			}
			switch color[p] {
			case white:
				visit(p)
			case grey:
				// stack[i:] is the cycle p -> ... -> name -> p.
				i := len(stack) - 1
				for stack[i] != p {
					i--
				}
				cycle := append([]string(nil), stack[i:]...)
				// Rotate so the earliest-declared role leads: one report per
				// cycle, whichever role the search started from.
				lead := 0
				for j := range cycle {
					if order[cycle[j]] < order[cycle[lead]] {
						lead = j
					}
				}
				cycle = append(cycle[lead:], cycle[:lead]...)
				key := strings.Join(cycle, "\x00")
				if reported[key] {
					continue
				}
				reported[key] = true
				from, to := cycle[0], cycle[0]
				if len(cycle) > 1 {
					to = cycle[1]
				}
				c.diags.Errorf(c.parentPos(from, to), CodeInheritanceCycle,
					"a role cannot inherit from itself; remove one of these parents",
					"inheritance cycle: %s -> %s", strings.Join(cycle, " -> "), cycle[0])
			}
		}
		stack = stack[:len(stack)-1]
		color[name] = black
	}
	for _, r := range c.m.Roles {
		if color[r.Name] == white {
			visit(r.Name)
		}
	}
}

// parentPos is the position of the reference to parent in role's header.
func (c *compiler) parentPos(role, parent string) token.Pos {
	d := c.roleDecls[role]
	for _, p := range d.Parents {
		if p != nil && p.Name == parent {
			return c.at(p, d.Role)
		}
	}
	return c.at(d.Name, d.Role)
}

// flatten computes r.Permissions and, when the source gave none, r.Level.
// path guards against cycles (already reported).
func (c *compiler) flatten(r *Role, path map[string]bool) {
	if c.flattenDone[r.Name] || path[r.Name] {
		return
	}
	if c.tooComplex { // reported; the model will be nil, stop working
		c.flattenDone[r.Name] = true
		return
	}
	path[r.Name] = true
	defer delete(path, r.Name)

	seen := map[Permission]bool{}
	var all []Permission
	add := func(ps []Permission) {
		for _, p := range ps {
			if !seen[p] {
				seen[p] = true
				all = append(all, p)
			}
		}
	}
	add(r.Own)
	work := len(r.Own)
	level := 0
	for _, pn := range r.Parents {
		p, ok := c.m.roles[pn]
		if !ok || path[pn] {
			continue
		}
		c.flatten(p, path)
		add(p.Permissions)
		work += len(p.Permissions)
		if p.Level > level {
			level = p.Level
		}
	}
	// The budget counts the permissions looked at, not only those kept:
	// many roles each inheriting the same large set through many parents
	// keep little but look at a lot.
	c.flatCount += work
	if c.flatCount > maxFlatPermissions {
		if !c.tooComplex {
			c.tooComplex = true
			c.diags.Errorf(r.Pos, CodeTooComplex,
				"inheritance repeats every ancestor's permissions in each role; use fewer levels or broader patterns",
				"role %s: the roles' inherited permissions add up to more than %d", r.Name, maxFlatPermissions)
		}
		all = nil
	}
	sort.Slice(all, func(i, j int) bool {
		if all[i].Resource != all[j].Resource {
			return all[i].Resource < all[j].Resource
		}
		return all[i].Action < all[j].Action
	})
	r.Permissions = all
	if !r.HasLevel {
		r.Level = level
	}
	c.flattenDone[r.Name] = true
}

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

func (c *compiler) agent(d *ast.AgentDecl, seen map[string]token.Pos) {
	name := c.name(d.Name, "agent", d.Agent)
	a := &Agent{Name: name, Pos: c.orFile(d.Agent)}
	if d.Role == nil {
		c.diags.Errorf(c.at(d.Name, d.Agent), CodeMissingRole,
			fmt.Sprintf("write `agent %s: RoleName { ... }`; the role is the agent's ceiling", orQ(name)),
			"agent %s has no role", orQ(name))
	} else {
		a.Role = d.Role.Name
	}
	for _, rd := range d.Rules {
		if r := c.rule(name, rd, d.Agent); r != nil {
			a.Rules = append(a.Rules, r)
			switch r.Kind {
			case ast.Must:
				a.Obligations = append(a.Obligations, r)
			case ast.Should:
				a.Advice = append(a.Advice, r)
			}
		}
	}
	if name == "" || !c.unique(seen, name, "agent", CodeDuplicateAgent, c.at(d.Name, d.Agent)) {
		return
	}
	c.agentDecls = append(c.agentDecls, &agentDecl{a: a, role: d.Role, decl: d})
	c.m.agents[name] = a
	c.m.Agents = append(c.m.Agents, a)
}

func orQ(s string) string {
	if s == "" {
		return "?"
	}
	return s
}

// rule compiles the parts of a rule that need no role: words, action and
// condition. It returns nil for a rule it cannot use (an error is reported).
func (c *compiler) rule(agent string, rd *ast.Rule, agentPos token.Pos) *Rule {
	if rd == nil {
		return nil
	}
	pos := c.at(rd, agentPos)
	switch rd.Kind {
	case ast.Can, ast.Must, ast.Should:
	default:
		c.diags.Errorf(pos, CodeMalformed, "", "agent %s: rule of unknown kind %d", agent, int(rd.Kind))
		return nil
	}
	if len(rd.Words) == 0 {
		c.diags.Errorf(pos, CodeMalformed, "", "agent %s: %s rule has no words", agent, rd.Kind)
		return nil
	}
	r := &Rule{Kind: rd.Kind, Pos: pos, Keyword: rd.Keyword}
	ok := true
	for _, w := range rd.Words {
		if w == nil {
			c.diags.Errorf(pos, CodeMalformed, "", "agent %s: missing word in %s rule", agent, rd.Kind)
			ok = false
			continue
		}
		if err := CheckIdent(w.Name); err != nil {
			c.diags.Errorf(c.at(w, pos), CodeInvalidName,
				"agent rules name one concrete action and resource; wildcards belong in roles",
				"agent %s: rule word %s", agent, err)
			ok = false
			continue
		}
		r.Words = append(r.Words, w.Name)
	}
	switch {
	case rd.Keyword == "" && rd.Condition == nil:
	case (rd.Keyword == "when" || rd.Keyword == "if") && rd.Condition != nil:
		if err := CheckIdent(rd.Condition.Name); err != nil {
			c.diags.Errorf(c.at(rd.Condition, pos), CodeInvalidName, "", "agent %s: condition name %s", agent, err)
			ok = false
		} else {
			r.Condition = rd.Condition.Name
		}
	default:
		c.diags.Errorf(pos, CodeMalformed, "", "agent %s: %s rule has a malformed when/if clause", agent, rd.Kind)
		ok = false
	}
	if !ok {
		return nil
	}
	r.Action = r.Words[0]
	r.Resource = objectWord(r.Words) // resolved against the role in compileAgents
	return r
}

// compileAgents checks each agent's role and resolves its rules against
// the role's flattened permissions and the declared resource types.
func (c *compiler) compileAgents() {
	for _, ad := range c.agentDecls {
		a := ad.a
		if ad.role == nil {
			continue // reported
		}
		role, ok := c.m.roles[a.Role]
		if !ok {
			c.diags.Errorf(c.at(ad.role, ad.decl.Agent), CodeUnknownRole, suggest(a.Role, c.roleNames(), "role"),
				"agent %s: unknown role %s", a.Name, a.Role)
			continue
		}
		idx, ok := c.indexes[role.Name]
		if !ok {
			idx = newRoleIndex(role)
			c.indexes[role.Name] = idx
		}
		known := func(res string) bool {
			_, declared := c.m.resources[res]
			return declared || idx.resources[res]
		}
		for _, r := range a.Rules {
			if obj := objectWord(r.Words); obj != "" {
				r.Resource = resolveResource(obj, known)
			}
			r.Granted = r.Kind == ast.Can && r.Resource != "" && idx.grants(r.Resource, r.Action)
		}
		a.Conditional = conditional(a.Rules)
	}
}

// conditional derives Agent.Conditional from the agent's compiled rules
// (see its doc comment).
func conditional(rules []*Rule) []ConditionalPermission {
	unconditional := map[Permission]bool{}
	for _, r := range rules {
		if r.Kind == ast.Can && r.Granted && r.Condition == "" {
			unconditional[Permission{Resource: r.Resource, Action: r.Action}] = true
		}
	}
	var out []ConditionalPermission
	index := map[Permission]int{}
	for _, r := range rules {
		p := Permission{Resource: r.Resource, Action: r.Action}
		if r.Kind != ast.Can || !r.Granted || r.Condition == "" || unconditional[p] {
			continue
		}
		i, ok := index[p]
		if !ok {
			i = len(out)
			index[p] = i
			out = append(out, ConditionalPermission{Permission: p})
		}
		if !contains(out[i].Conditions, r.Condition) {
			out[i].Conditions = append(out[i].Conditions, r.Condition)
		}
	}
	return out
}

// objectWord is the word of a rule that names its resource: the first word
// after the action that is not a preposition or article, so that
// `can assist with issues` is about issues and `can assign tasks to
// members` about tasks. "" when there is none.
func objectWord(words []string) string {
	for _, w := range words[min(1, len(words)):] {
		if !fillerWords[strings.ToLower(w)] {
			return w
		}
	}
	return ""
}

var fillerWords = map[string]bool{
	"a": true, "an": true, "the": true, "all": true, "any": true, "every": true,
	"with": true, "to": true, "for": true, "on": true, "in": true, "into": true,
	"from": true, "of": true, "at": true, "by": true, "about": true, "over": true,
}

// resolveResource maps the object word of a rule to a resource type: the
// word itself when it is known (the role names it or it is declared), else
// the first of its plural spellings that is known ("product" →
// "products"), else the word itself.
func resolveResource(word string, known func(string) bool) string {
	if known(word) {
		return word
	}
	for _, p := range pluralForms(word) {
		if known(p) {
			return p
		}
	}
	return word
}

// roleIndex answers questions about one role's flattened permissions in
// constant time; the compiler and the linter build one per role that
// agents use, so large policies stay linear.
type roleIndex struct {
	perms     map[Permission]bool
	resources map[string]bool     // resources the role names exactly (not "*")
	names     []string            // those, sorted
	byRes     map[string][]string // resource (or "*") → actions, as flattened

	actionsCache map[string][]string // actionsOn results
}

func newRoleIndex(r *Role) *roleIndex {
	x := &roleIndex{
		perms:     make(map[Permission]bool, len(r.Permissions)),
		resources: map[string]bool{},
		byRes:     map[string][]string{},

		actionsCache: map[string][]string{},
	}
	for _, p := range r.Permissions {
		x.perms[p] = true
		x.byRes[p.Resource] = append(x.byRes[p.Resource], p.Action)
		if p.Resource != Wildcard && !x.resources[p.Resource] {
			x.resources[p.Resource] = true
			x.names = append(x.names, p.Resource)
		}
	}
	sort.Strings(x.names)
	return x
}

// grants is Role.Grants: exact, or through a wildcard in either part.
func (x *roleIndex) grants(res, act string) bool {
	return x.perms[Permission{res, act}] || x.perms[Permission{res, Wildcard}] ||
		x.perms[Permission{Wildcard, act}] || x.perms[Permission{Wildcard, Wildcard}]
}

// actionsOn lists, sorted and once each, the actions the role's patterns
// grant on res, including through a "*" resource.
func (x *roleIndex) actionsOn(res string) []string {
	if out, ok := x.actionsCache[res]; ok {
		return out
	}
	seen := map[string]bool{}
	var out []string
	for _, list := range [][]string{x.byRes[res], x.byRes[Wildcard]} {
		for _, a := range list {
			if !seen[a] {
				seen[a] = true
				out = append(out, a)
			}
		}
	}
	sort.Strings(out)
	x.actionsCache[res] = out
	return out
}

// irregularPlurals are English plurals the suffix rules cannot make.
var irregularPlurals = map[string]string{
	"person":    "people",
	"child":     "children",
	"man":       "men",
	"woman":     "women",
	"mouse":     "mice",
	"goose":     "geese",
	"foot":      "feet",
	"tooth":     "teeth",
	"datum":     "data",
	"medium":    "media",
	"criterion": "criteria",
	"index":     "indices",
	"matrix":    "matrices",
	"vertex":    "vertices",
	"appendix":  "appendices",
}

// pluralForms returns the plural spellings of a singular word, most likely
// first. Only the last segment of a compound word changes
// ("data_source" → "data_sources"). It is a resolver's list of candidates,
// not a dictionary: a wrong candidate is harmless because only candidates
// the policy actually names are used.
func pluralForms(word string) []string {
	if word == "" {
		return nil
	}
	cut := strings.LastIndexAny(word, "_-") + 1
	prefix, last := word[:cut], word[cut:]
	if last == "" {
		return nil
	}
	var forms []string
	if p, ok := irregularPlurals[strings.ToLower(last)]; ok {
		if last[0] >= 'A' && last[0] <= 'Z' {
			p = strings.ToUpper(p[:1]) + p[1:]
		}
		forms = append(forms, p)
	}
	lower := strings.ToLower(last)
	n := len(last)
	switch {
	case n >= 2 && lower[n-1] == 'y' && !isVowel(lower[n-2]):
		forms = append(forms, last[:n-1]+"ies") // category → categories
	case strings.HasSuffix(lower, "is"):
		forms = append(forms, last[:n-2]+"es", last+"es") // analysis → analyses
	case strings.HasSuffix(lower, "s"), strings.HasSuffix(lower, "x"), strings.HasSuffix(lower, "z"),
		strings.HasSuffix(lower, "ch"), strings.HasSuffix(lower, "sh"):
		forms = append(forms, last+"es") // status → statuses, box → boxes
	case strings.HasSuffix(lower, "fe"):
		forms = append(forms, last[:n-2]+"ves", last+"s") // knife → knives
	case strings.HasSuffix(lower, "f"):
		forms = append(forms, last[:n-1]+"ves", last+"s") // shelf → shelves, roof → roofs
	case strings.HasSuffix(lower, "o"):
		forms = append(forms, last+"s", last+"es") // photo → photos, hero → heroes
	default:
		forms = append(forms, last+"s") // product → products, key → keys
	}
	for i := range forms {
		forms[i] = prefix + forms[i]
	}
	return forms
}

func isVowel(b byte) bool { return strings.IndexByte("aeiou", b) >= 0 }

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

// suggest is the hint for an unknown name: the closest known name when
// one is close, else the known names when they are few.
func suggest(name string, known []string, kind string) string {
	if s := closest(name, known); s != "" {
		return fmt.Sprintf("did you mean %s?", s)
	}
	if len(known) == 0 {
		return fmt.Sprintf("no %s is declared; declare it with `%s %s { ... }`", kind, kind, name)
	}
	if len(known) <= 8 {
		return fmt.Sprintf("declared %ss: %s", kind, strings.Join(known, ", "))
	}
	return fmt.Sprintf("declare it with `%s %s { ... }` or fix the spelling", kind, name)
}

// closest returns the candidate nearest to name by edit distance, when it
// is near enough to be a plausible typo; "" otherwise. Ties go to the
// earlier candidate.
func closest(name string, candidates []string) string {
	if len(candidates) > maxSuggestCandidates {
		return "" // a hint is not worth quadratic work on huge policies
	}
	best, bestD := "", -1
	limit := len(name)/3 + 1
	if limit > 3 {
		limit = 3
	}
	for _, cand := range candidates {
		if cand == name {
			continue
		}
		d := editDistance(strings.ToLower(name), strings.ToLower(cand))
		if d == 0 {
			d = 1 // differs only in case: a very good guess
		}
		if d <= limit && (bestD < 0 || d < bestD) {
			best, bestD = cand, d
		}
	}
	return best
}

// maxSuggestCandidates bounds the names closest compares against.
const maxSuggestCandidates = 500

// editDistance is the Levenshtein distance between a and b, in bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func listOrNone(list []string) string {
	if len(list) == 0 {
		return "no actions"
	}
	return shortList(list)
}

// shortList joins at most maxListed items, then says how many it left out,
// so a diagnostic stays one readable line however large the policy.
func shortList(list []string) string {
	const maxListed = 12
	if len(list) <= maxListed {
		return strings.Join(list, ", ")
	}
	return strings.Join(list[:maxListed], ", ") + fmt.Sprintf(" and %d more", len(list)-maxListed)
}
