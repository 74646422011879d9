package policy

import (
	"fmt"
	"sort"
	"strings"

	"github.com/gatehouse-dev/gatehouse/policy/ast"
	"github.com/gatehouse-dev/gatehouse/policy/token"
)

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
	for _, rd := range d.Asks {
		if a := c.ask("role "+orQ(name), rd, d.Role); a != nil {
			r.OwnAsks = append(r.OwnAsks, a)
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
