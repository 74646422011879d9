package policy

import (
	"fmt"
	"sort"
	"strings"

	"github.com/gatehouse-dev/gatehouse/policy/ast"
	"github.com/gatehouse-dev/gatehouse/policy/token"
)

// Diagnostic codes of lint warnings. They are stable: tools, tests and
// LintOptions.Disable match on them. docs/policy-language.md explains each
// with an example.
const (
	CodeAgentRuleNotGranted       = "agent-rule-not-granted"      // a `can` rule the role does not grant
	CodeAgentRuleUnknownResource  = "agent-rule-unknown-resource" // a `can`/`must` rule naming a resource the role never names
	CodeAgentRuleSingleWord       = "agent-rule-single-word"      // a `can` rule without a resource
	CodeAgentConditionIneffective = "agent-condition-ineffective" // a conditional `can` rule shadowed by an unconditional one
	CodeNamingRole                = "naming-role"                 // a role name against the naming convention
	CodeNamingResource            = "naming-resource"             // a resource name against the naming convention
	CodeNamingAction              = "naming-action"               // an action name against the naming convention
	CodeWorkflowStateNotInEnum    = "workflow-state-not-in-enum"  // a workflow state missing from its family's enum
	CodeWorkflowUnreachableState  = "workflow-unreachable-state"  // a workflow state no transition path reaches
	CodeDuplicateAction           = "duplicate-action"            // an action listed twice for one resource
	CodeDuplicatePermissionBlock  = "duplicate-permission-block"  // two permission blocks for one resource in a role
	CodeDuplicateParent           = "duplicate-parent"            // a parent role listed twice
	CodeDuplicateEnumValue        = "duplicate-enum-value"        // an enum value listed twice
	CodeDuplicateTransition       = "duplicate-transition"        // a workflow transition listed twice
	CodeEmptyPermission           = "empty-permission"            // a permission block with no actions
	CodeUnusedCondition           = "unused-condition"            // a condition no rule refers to
	CodeConditionTypo             = "condition-typo"              // an undeclared condition name close to a declared one
	CodeLintOptions               = "lint-options"                // an unknown LintOptions value (ignored)
)

// NameStyle is a naming convention for one kind of name.
type NameStyle string

// Naming conventions. The empty NameStyle means StyleAuto.
const (
	// StyleAuto is the default. For role names: every role is either lower
	// case or PascalCase, and all roles of a file use the style of its
	// first role — so DESIGN's `viewer`, `admin` and seed 003's
	// `CustomerRole`, `DataAnalyst` are both fine, but mixing them is not.
	// For resource and action names it is StyleLower.
	StyleAuto NameStyle = "auto"
	// StyleOff disables the check.
	StyleOff NameStyle = "off"
	// StyleLower: a lower-case letter, then lower-case letters, digits,
	// '_' or '-' (`viewer`, `data_sources`, `export-csv`).
	StyleLower NameStyle = "lower"
	// StylePascal (roles only): an upper-case letter, then letters and
	// digits (`Admin`, `DataAnalyst`).
	StylePascal NameStyle = "pascal"
	// StylePascalRole (roles only): StylePascal ending in "Role", seed
	// 003's "PascalCase + Role suffix" (`AdminRole`, `CustomerRole`).
	StylePascalRole NameStyle = "pascal-role"
	// StylePlural (resources only): StyleLower whose last '_'/'-' segment
	// looks plural: it ends in "s" but not "ss", "us" or "is", or it is an
	// irregular or uncountable plural (data, media, people, ...). Seed 003's
	// "lowercase plural nouns".
	StylePlural NameStyle = "plural"
)

// LintOptions configures warnings. The zero value is the default: every
// lint on, naming conventions StyleAuto.
type LintOptions struct {
	// RoleNames: auto, pascal, pascal-role, lower or off.
	RoleNames NameStyle
	// ResourceNames: auto (= lower), lower, plural or off.
	ResourceNames NameStyle
	// ActionNames: auto (= lower), lower or off.
	ActionNames NameStyle
	// Disable lists warning codes (Code* constants) to suppress.
	Disable []string
}

// ParseNameStyle parses a NameStyle as written in flags and config files.
// "" is StyleAuto.
func ParseNameStyle(s string) (NameStyle, error) {
	switch NameStyle(s) {
	case "":
		return StyleAuto, nil
	case StyleAuto, StyleOff, StyleLower, StylePascal, StylePascalRole, StylePlural:
		return NameStyle(s), nil
	}
	return "", fmt.Errorf("unknown naming style %q: want auto, off, lower, pascal, pascal-role or plural", s)
}

// Lint returns the warnings for a compiled model and the file it was
// compiled from, sorted. It needs a Model: with a nil m (the file did not
// compile) it returns nil, since warnings about a broken policy mostly
// echo its errors. A nil f skips the lints that need source positions
// (duplicates and naming); the rest are positioned from the Model.
func Lint(f *ast.File, m *Model, opts LintOptions) token.List {
	if m == nil {
		return nil
	}
	l := &linter{f: f, m: m}
	l.opts = l.checkOptions(opts)
	if f != nil {
		l.duplicates()
		l.naming()
	}
	l.agents()
	l.asks()
	l.unusedConditions()
	l.workflows()

	off := map[string]bool{}
	for _, c := range opts.Disable {
		off[c] = true
	}
	var out token.List
	for _, d := range l.diags {
		if !off[d.Code] {
			out = append(out, d)
		}
	}
	out.Sort()
	return out
}

type linter struct {
	f       *ast.File
	m       *Model
	opts    LintOptions
	diags   token.List
	indexes map[*Role]*roleIndex
}

func (l *linter) fileName() string {
	if l.f != nil {
		return l.f.Name
	}
	return ""
}

// checkOptions replaces unknown or misplaced styles with auto, warning.
func (l *linter) checkOptions(o LintOptions) LintOptions {
	check := func(field string, s *NameStyle, allowed ...NameStyle) {
		if *s == "" {
			*s = StyleAuto
		}
		for _, a := range allowed {
			if *s == a {
				return
			}
		}
		l.diags.Warnf(token.Pos{File: l.fileName()}, CodeLintOptions, "",
			"lint option %s: unknown style %q, using auto", field, string(*s))
		*s = StyleAuto
	}
	check("RoleNames", &o.RoleNames, StyleAuto, StyleOff, StyleLower, StylePascal, StylePascalRole)
	check("ResourceNames", &o.ResourceNames, StyleAuto, StyleOff, StyleLower, StylePlural)
	check("ActionNames", &o.ActionNames, StyleAuto, StyleOff, StyleLower)
	return o
}

// duplicates warns about repeated parents, permission blocks, actions,
// enum values and transitions. Compile drops the repeats; they are
// harmless but usually a mistake (a copy-paste, a merge).
func (l *linter) duplicates() {
	for _, d := range l.f.Decls {
		switch d := d.(type) {
		case *ast.RoleDecl:
			if d == nil || d.Name == nil {
				continue
			}
			seenParent := map[string]token.Pos{}
			for _, p := range d.Parents {
				if p == nil {
					continue
				}
				if first, dup := seenParent[p.Name]; dup {
					l.diags.Warnf(p.NamePos, CodeDuplicateParent, "remove the repeat",
						"role %s lists parent %s twice (first at %s)", d.Name.Name, p.Name, first)
					continue
				}
				seenParent[p.Name] = p.NamePos
			}
			blocks := map[string]token.Pos{}
			actions := map[Permission]token.Pos{}
			for _, b := range d.Permissions {
				if b == nil || b.Resource == nil {
					continue
				}
				res := b.Resource.Name
				if first, dup := blocks[res]; dup {
					l.diags.Warnf(b.Resource.NamePos, CodeDuplicatePermissionBlock, "merge the blocks into one",
						"role %s has a second permission block for %s (first at %s)", d.Name.Name, res, first)
				} else {
					blocks[res] = b.Resource.NamePos
				}
				for _, a := range b.Actions {
					if a == nil {
						continue
					}
					p := Permission{Resource: res, Action: a.Name}
					if first, dup := actions[p]; dup {
						l.diags.Warnf(a.NamePos, CodeDuplicateAction, "remove the repeat",
							"role %s lists %s twice (first at %s)", d.Name.Name, p, first)
						continue
					}
					actions[p] = a.NamePos
				}
			}
		case *ast.ResourceDecl:
			if d == nil || d.Name == nil {
				continue
			}
			seen := map[string]token.Pos{}
			for _, cl := range d.Clauses {
				if cl == nil {
					continue
				}
				for _, a := range cl.Actions {
					if a == nil {
						continue
					}
					if first, dup := seen[a.Name]; dup {
						l.diags.Warnf(a.NamePos, CodeDuplicateAction, "remove the repeat",
							"resource %s declares action %s twice (first at %s)", d.Name.Name, a.Name, first)
						continue
					}
					seen[a.Name] = a.NamePos
				}
			}
		case *ast.EnumDecl:
			if d == nil || d.Name == nil {
				continue
			}
			seen := map[string]token.Pos{}
			for _, v := range d.Values {
				if v == nil {
					continue
				}
				if first, dup := seen[v.Name]; dup {
					l.diags.Warnf(v.NamePos, CodeDuplicateEnumValue, "remove the repeat",
						"enum %s lists %s twice (first at %s)", d.Name.Name, v.Name, first)
					continue
				}
				seen[v.Name] = v.NamePos
			}
		case *ast.WorkflowDecl:
			if d == nil || d.Name == nil {
				continue
			}
			seen := map[Transition]token.Pos{}
			for _, s := range d.States {
				if s == nil || s.From == nil {
					continue
				}
				for _, t := range s.To {
					if t == nil {
						continue
					}
					tr := Transition{From: s.From.Name, To: t.Name}
					if first, dup := seen[tr]; dup {
						l.diags.Warnf(t.NamePos, CodeDuplicateTransition, "remove the repeat",
							"workflow %s lists %s -> %s twice (first at %s)", d.Name.Name, tr.From, tr.To, first)
						continue
					}
					seen[tr] = t.NamePos
				}
			}
		}
	}
}

// naming checks role, resource and action names against the configured
// conventions, once per distinct name, at its first occurrence.
func (l *linter) naming() {
	type occ struct {
		name string
		pos  token.Pos
	}
	var roles, resources, actions []occ
	seenRes, seenAct := map[string]bool{}, map[string]bool{}
	addRes := func(id *ast.Ident) {
		if id != nil && id.Name != Wildcard && !seenRes[id.Name] {
			seenRes[id.Name] = true
			resources = append(resources, occ{id.Name, id.NamePos})
		}
	}
	addAct := func(id *ast.Ident) {
		if id != nil && id.Name != Wildcard && !seenAct[id.Name] {
			seenAct[id.Name] = true
			actions = append(actions, occ{id.Name, id.NamePos})
		}
	}
	for _, d := range l.f.Decls {
		switch d := d.(type) {
		case *ast.RoleDecl:
			if d == nil || d.Name == nil {
				continue
			}
			roles = append(roles, occ{d.Name.Name, d.Name.NamePos})
			for _, b := range d.Permissions {
				if b == nil {
					continue
				}
				addRes(b.Resource)
				for _, a := range b.Actions {
					addAct(a)
				}
			}
		case *ast.ResourceDecl:
			if d == nil {
				continue
			}
			addRes(d.Name)
			for _, cl := range d.Clauses {
				if cl == nil {
					continue
				}
				for _, a := range cl.Actions {
					addAct(a)
				}
			}
		}
	}

	// Roles.
	style := l.opts.RoleNames
	fileStyle, firstRole := NameStyle(""), ""
	for _, r := range roles {
		switch style {
		case StyleOff:
		case StyleLower:
			if !isLowerName(r.name) {
				l.diags.Warnf(r.pos, CodeNamingRole, "role names are lower case here, e.g. `viewer`",
					"role name %s is not lower case", r.name)
			}
		case StylePascal:
			if !isPascalName(r.name) {
				l.diags.Warnf(r.pos, CodeNamingRole, "role names are PascalCase here, e.g. `DataAnalyst`",
					"role name %s is not PascalCase", r.name)
			}
		case StylePascalRole:
			if !isPascalName(r.name) || !strings.HasSuffix(r.name, "Role") || r.name == "Role" {
				l.diags.Warnf(r.pos, CodeNamingRole, "role names are PascalCase with a Role suffix here, e.g. `EditorRole`",
					"role name %s is not PascalCase ending in Role", r.name)
			}
		default: // auto
			var s NameStyle
			switch {
			case isLowerName(r.name):
				s = StyleLower
			case isPascalName(r.name):
				s = StylePascal
			default:
				l.diags.Warnf(r.pos, CodeNamingRole, "use lower case (`viewer`) or PascalCase (`DataAnalyst`)",
					"role name %s is neither lower case nor PascalCase", r.name)
				continue
			}
			if fileStyle == "" {
				fileStyle, firstRole = s, r.name
			} else if s != fileStyle {
				l.diags.Warnf(r.pos, CodeNamingRole, "use one style for every role of a policy",
					"role name %s is %s but the first role, %s, is %s", r.name, styleWord(s), firstRole, styleWord(fileStyle))
			}
		}
	}

	// Resources.
	for _, r := range resources {
		switch l.opts.ResourceNames {
		case StyleOff:
		case StylePlural:
			if !isLowerName(r.name) || !looksPlural(r.name) {
				l.diags.Warnf(r.pos, CodeNamingResource, "resource names are lower-case plural nouns here, e.g. `products`",
					"resource name %s is not a lower-case plural", r.name)
			}
		default: // auto, lower
			if !isLowerName(r.name) {
				l.diags.Warnf(r.pos, CodeNamingResource, fmt.Sprintf("resource names are lower case, e.g. `%s`", lowerSnake(r.name)),
					"resource name %s is not lower case", r.name)
			}
		}
	}

	// Actions.
	for _, a := range actions {
		if l.opts.ActionNames != StyleOff && !isLowerName(a.name) {
			l.diags.Warnf(a.pos, CodeNamingAction, fmt.Sprintf("actions are lower-case verbs, e.g. `%s`", lowerSnake(a.name)),
				"action name %s is not lower case", a.name)
		}
	}
}

func styleWord(s NameStyle) string {
	if s == StyleLower {
		return "lower case"
	}
	return "PascalCase"
}

func isLowerName(s string) bool {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

func isPascalName(s string) bool {
	if s == "" || s[0] < 'A' || s[0] > 'Z' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// lowerSnake suggests a lower-case spelling: "resourceName" → "resource_name".
func lowerSnake(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' {
			if i > 0 && s[i-1] != '_' && s[i-1] != '-' && !(s[i-1] >= 'A' && s[i-1] <= 'Z') {
				b.WriteByte('_')
			}
			c += 'a' - 'A'
		}
		b.WriteByte(c)
	}
	return b.String()
}

// uncountablePlurals are nouns used as plurals without an "s".
var uncountablePlurals = map[string]bool{
	"data": true, "media": true, "metadata": true, "people": true, "children": true,
	"criteria": true, "feedback": true, "information": true, "software": true,
	"hardware": true, "equipment": true, "men": true, "women": true, "mice": true,
	"geese": true, "feet": true, "teeth": true, "indices": true, "matrices": true,
	"vertices": true, "appendices": true,
}

// looksPlural is StylePlural's heuristic on the last '_'/'-' segment.
func looksPlural(s string) bool {
	last := s[strings.LastIndexAny(s, "_-")+1:]
	if uncountablePlurals[last] {
		return true
	}
	return strings.HasSuffix(last, "s") && !strings.HasSuffix(last, "ss") &&
		!strings.HasSuffix(last, "us") && !strings.HasSuffix(last, "is")
}

// agents checks each agent's rules against its role.
func (l *linter) agents() {
	for _, a := range l.m.Agents {
		role, ok := l.m.Role(a.Role)
		if !ok {
			continue // cannot happen in a compiled Model
		}
		unconditional := map[Permission]*Rule{}
		for _, r := range a.Rules {
			if r.Kind == ast.Can && r.Granted && r.Condition == "" {
				p := Permission{Resource: r.Resource, Action: r.Action}
				if _, ok := unconditional[p]; !ok {
					unconditional[p] = r
				}
			}
		}
		for _, r := range a.Rules {
			l.rule(a, role, r, unconditional)
		}
	}
}

func (l *linter) rule(a *Agent, role *Role, r *Rule, unconditional map[Permission]*Rule) {
	l.conditionTypo(r.Pos, "agent "+a.Name, r.Condition)
	if r.Kind == ast.Should {
		return // advice is free text for the caller
	}
	if len(r.Words) < 2 {
		if r.Kind == ast.Can {
			l.diags.Warnf(r.Pos, CodeAgentRuleSingleWord, "write `can <action> <resource>`, e.g. `can run chains`",
				"agent %s: `%s` names no resource, so it grants nothing", a.Name, r.Text())
		}
		return
	}
	idx := l.index(role)
	_, declared := l.m.ResourceType(r.Resource)
	named := declared || idx.resources[r.Resource]
	perm := Permission{Resource: r.Resource, Action: r.Action}
	switch {
	case !named && r.Kind == ast.Must:
		l.diags.Warnf(r.Pos, CodeAgentRuleUnknownResource, l.resourceHint(role, idx, r.Resource),
			"agent %s: `%s` names %s, which role %s never mentions", a.Name, r.Text(), r.Resource, role.Name)
	case !named && r.Granted:
		l.diags.Warnf(r.Pos, CodeAgentRuleUnknownResource,
			fmt.Sprintf("check the spelling (a singular word resolves only to a plural the policy names); declare `resource %s { actions ... }` to confirm it", r.Resource),
			"agent %s: role %s grants %s only through a wildcard, and nothing declares resource %s", a.Name, role.Name, perm, r.Resource)
	case !named && r.Kind == ast.Can:
		l.diags.Warnf(r.Pos, CodeAgentRuleUnknownResource, l.resourceHint(role, idx, r.Resource),
			"agent %s: role %s never mentions %s, so `%s` grants nothing", a.Name, role.Name, r.Resource, r.Text())
	case r.Kind == ast.Can && !r.Granted:
		acts := idx.actionsOn(r.Resource)
		hint := fmt.Sprintf("the role is the agent's ceiling: grant %s to role %s, or remove the rule", perm, role.Name)
		if s := closest(r.Action, acts); s != "" {
			hint = fmt.Sprintf("did you mean %s? ", s) + hint
		}
		if len(acts) == 0 {
			l.diags.Warnf(r.Pos, CodeAgentRuleNotGranted, hint,
				"agent %s: role %s grants nothing on %s, so `%s` grants nothing", a.Name, role.Name, r.Resource, r.Text())
		} else {
			l.diags.Warnf(r.Pos, CodeAgentRuleNotGranted, hint,
				"agent %s: role %s grants %s on %s, not %s", a.Name, role.Name, shortList(acts), r.Resource, r.Action)
		}
	}
	if r.Kind == ast.Can && r.Granted && r.Condition != "" {
		if u, ok := unconditional[perm]; ok {
			l.diags.Warnf(r.Pos, CodeAgentConditionIneffective,
				"drop the unconditional rule to make the permission conditional, or drop this condition",
				"agent %s: condition %s has no effect: `%s` at %s grants %s unconditionally", a.Name, r.Condition, u.Text(), u.Pos, perm)
		}
	}
}

// index returns the role's roleIndex, built once per Lint.
func (l *linter) index(role *Role) *roleIndex {
	if l.indexes == nil {
		l.indexes = map[*Role]*roleIndex{}
	}
	x, ok := l.indexes[role]
	if !ok {
		x = newRoleIndex(role)
		l.indexes[role] = x
	}
	return x
}

// resourceHint suggests a resource the role names or the policy declares.
func (l *linter) resourceHint(role *Role, idx *roleIndex, res string) string {
	names := append([]string(nil), idx.names...)
	for _, rt := range l.m.Resources {
		if !idx.resources[rt.Name] {
			names = append(names, rt.Name)
		}
	}
	if s := closest(res, names); s != "" {
		return fmt.Sprintf("did you mean %s?", s)
	}
	if len(names) == 0 {
		return fmt.Sprintf("role %s names no resource", role.Name)
	}
	sort.Strings(names)
	return fmt.Sprintf("role %s has permissions on %s", role.Name, shortList(names))
}

func (l *linter) unusedConditions() {
	used := map[string]bool{}
	for _, a := range l.m.Agents {
		for _, r := range a.Rules {
			used[r.Condition] = true
		}
	}
	for _, c := range askConditions(l.m) {
		used[c] = true
	}
	for _, c := range l.m.Conditions {
		if !used[c.Name] {
			l.diags.Warnf(c.Pos, CodeUnusedCondition,
				fmt.Sprintf("use it in an agent rule (`can ... when %s`) or remove it", c.Name),
				"condition %s is declared but no rule uses it", c.Name)
		}
	}
}

// family is the name a workflow and its enum share: the name without a
// trailing Workflow, Status, State or Flow (any case) and separator, lower
// case. "" when the name has no such suffix or nothing precedes it.
func family(name string) string {
	lower := strings.ToLower(name)
	for _, suf := range []string{"workflow", "status", "state", "flow"} {
		if strings.HasSuffix(lower, suf) {
			return strings.TrimRight(lower[:len(lower)-len(suf)], "_-")
		}
	}
	return ""
}

// workflows checks states against the family's enums and reachability.
func (l *linter) workflows() {
	statePos := map[string]map[string]token.Pos{}
	if l.f != nil {
		for _, d := range l.f.Decls {
			w, ok := d.(*ast.WorkflowDecl)
			if !ok || w == nil || w.Name == nil || statePos[w.Name.Name] != nil {
				continue
			}
			ps := map[string]token.Pos{}
			statePos[w.Name.Name] = ps
			for _, s := range w.States {
				if s == nil {
					continue
				}
				for _, id := range append([]*ast.Ident{s.From}, s.To...) {
					if id == nil {
						continue
					}
					if _, ok := ps[id.Name]; !ok {
						ps[id.Name] = id.NamePos
					}
				}
			}
		}
	}
	// Enums by family, once: name order within a family is source order.
	famEnums := map[string][]*Enum{}
	for _, e := range l.m.Enums {
		if fam := family(e.Name); fam != "" {
			famEnums[fam] = append(famEnums[fam], e)
		}
	}
	for _, w := range l.m.Workflows {
		at := func(state string) token.Pos {
			if p, ok := statePos[w.Name][state]; ok {
				return p
			}
			return w.Pos
		}

		if fam := family(w.Name); fam != "" {
			var enums []string
			values := map[string]bool{}
			for _, e := range famEnums[fam] {
				enums = append(enums, e.Name)
				for _, v := range e.Values {
					values[v] = true
				}
			}
			if len(enums) > 0 {
				for _, s := range w.States {
					if !values[s] {
						l.diags.Warnf(at(s), CodeWorkflowStateNotInEnum,
							fmt.Sprintf("add %s to enum %s, or fix the spelling", s, enums[0]),
							"workflow %s: state %s is not a value of enum %s", w.Name, s, strings.Join(enums, " or "))
					}
				}
			}
		}

		if len(w.States) == 0 {
			continue
		}
		next := map[string][]string{}
		for _, t := range w.Transitions {
			next[t.From] = append(next[t.From], t.To)
		}
		start := w.States[0]
		reached := map[string]bool{start: true}
		queue := []string{start}
		for len(queue) > 0 {
			s := queue[0]
			queue = queue[1:]
			for _, to := range next[s] {
				if !reached[to] {
					reached[to] = true
					queue = append(queue, to)
				}
			}
		}
		for _, s := range w.States {
			if !reached[s] {
				l.diags.Warnf(at(s), CodeWorkflowUnreachableState,
					fmt.Sprintf("add a transition to it (`state ... -> %s`) or remove it", s),
					"workflow %s: state %s is unreachable from %s", w.Name, s, start)
			}
		}
	}
}
