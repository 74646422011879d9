package policy

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/gatehouse-dev/gatehouse/policy/ast"
	"github.com/gatehouse-dev/gatehouse/policy/token"
)

// Model is a compiled policy: the immutable input of the decision engine.
//
// A Model is never modified after Compile returns it; every slice and map it
// exposes is shared and must be treated as read-only. Names are unique per
// kind (roles, agents, conditions, resources, enums, workflows).
type Model struct {
	Roles      []*Role         // declaration order
	Agents     []*Agent        // declaration order
	Conditions []*Condition    // declaration order
	Resources  []*ResourceType // declared `resource` schemas, declaration order
	Enums      []*Enum
	Workflows  []*Workflow

	roles      map[string]*Role
	agents     map[string]*Agent
	conditions map[string]*Condition
	resources  map[string]*ResourceType

	// named is ActionsNamed's index, built on first use.
	namedOnce sync.Once
	named     map[string][]string
	// hints memoizes UnknownActionHint (at most maxHints entries).
	hintMu sync.Mutex
	hints  map[[2]string]string // by (type, action)
}

// ActionsNamed lists, sorted and each once, the actions the policy names
// for resource type typ: in a role's permissions (for typ, or for `*`), an
// agent's rules, an `ask before` rule, or typ's `resource` declaration.
// A `*` action names none. A check for an action outside it can be
// allowed only by a share naming it; the server uses it for the
// unknown_action warning (docs/api.md).
func (m *Model) ActionsNamed(typ string) []string {
	m.index()
	if typ == Wildcard {
		return nil
	}
	if m.named[Wildcard] == nil {
		return m.named[typ]
	}
	return slices.Compact(slices.Sorted(slices.Values(append(slices.Clone(m.named[typ]), m.named[Wildcard]...))))
}

// maxHints bounds UnknownActionHint's memo per model: callers choose the
// actions they ask about, so past this many the text is built each time
// rather than kept.
const maxHints = 1024

// UnknownActionHint is the text that explains a deny of typ:action when the
// model names no such action (NamesAction false): what names actions, and
// the closest action it does name if one is near. The text depends only on
// the model, typ and action, so it is built once per model for the first
// maxHints pairs asked about (a check's deny path asks it).
func (m *Model) UnknownActionHint(typ, action string) string {
	key := [2]string{typ, action} // no concatenation on the deny path
	m.hintMu.Lock()
	h, ok := m.hints[key]
	m.hintMu.Unlock()
	if ok {
		return h
	}
	var b strings.Builder
	fmt.Fprintf(&b, "the org's policy names no action %s for %s (no role, agent rule, ask rule or resource declaration; only a wildcard or a share can grant it)",
		action, typ)
	if c := Closest(action, m.ActionsNamed(typ)); c != "" {
		fmt.Fprintf(&b, ": did you mean %s:%s?", typ, c)
	}
	h = b.String()
	m.hintMu.Lock()
	if m.hints == nil {
		m.hints = map[[2]string]string{}
	}
	if len(m.hints) < maxHints {
		m.hints[key] = h
	}
	m.hintMu.Unlock()
	return h
}

// NamesAction reports whether action is in ActionsNamed(typ), without
// allocating (a check's deny path asks it).
func (m *Model) NamesAction(typ, action string) bool {
	m.index()
	if typ == Wildcard {
		return false
	}
	_, inTyp := slices.BinarySearch(m.named[typ], action)
	_, inAny := slices.BinarySearch(m.named[Wildcard], action)
	return inTyp || inAny
}

func (m *Model) index() {
	m.namedOnce.Do(func() {
		sets := map[string]map[string]bool{}
		add := func(t, a string) {
			if t == "" || a == "" || a == Wildcard {
				return
			}
			if sets[t] == nil {
				sets[t] = map[string]bool{}
			}
			sets[t][a] = true
		}
		for _, r := range m.Roles {
			for _, p := range r.Own {
				add(p.Resource, p.Action)
			}
			for _, a := range r.OwnAsks {
				add(a.Permission.Resource, a.Permission.Action)
			}
		}
		for _, ag := range m.Agents {
			for _, r := range ag.Rules {
				add(r.Resource, r.Action)
			}
			for _, r := range ag.Obligations {
				add(r.Resource, r.Action)
			}
			for _, r := range ag.Advice {
				add(r.Resource, r.Action)
			}
			for _, a := range ag.Asks {
				add(a.Permission.Resource, a.Permission.Action)
			}
		}
		for _, rt := range m.Resources {
			for _, a := range rt.Actions {
				add(rt.Name, a)
			}
		}
		m.named = map[string][]string{}
		for t, set := range sets {
			m.named[t] = slices.Sorted(maps.Keys(set))
		}
	})
}

// Role returns the named role.
func (m *Model) Role(name string) (*Role, bool) { r, ok := m.roles[name]; return r, ok }

// HasAsks reports whether any role or agent has an `ask before` rule.
func (m *Model) HasAsks() bool {
	for _, r := range m.Roles {
		if len(r.OwnAsks) > 0 {
			return true
		}
	}
	for _, a := range m.Agents {
		if len(a.Asks) > 0 {
			return true
		}
	}
	return false
}

// Agent returns the named agent.
func (m *Model) Agent(name string) (*Agent, bool) { a, ok := m.agents[name]; return a, ok }

// Condition returns the named condition.
func (m *Model) Condition(name string) (*Condition, bool) {
	c, ok := m.conditions[name]
	return c, ok
}

// ResourceType returns the declared schema of a resource type.
func (m *Model) ResourceType(name string) (*ResourceType, bool) {
	r, ok := m.resources[name]
	return r, ok
}

// TopLevel returns the highest level any role has (0 for no roles).
func (m *Model) TopLevel() int {
	top := 0
	for _, r := range m.Roles {
		if r.Level > top {
			top = r.Level
		}
	}
	return top
}

// Role is a named set of permission patterns with a level.
type Role struct {
	Name string
	// Level is 0–100. When the source gives none it is the highest level
	// among the parents, or 0.
	Level    int
	HasLevel bool     // the source gave `level N`
	Parents  []string // direct parents, as written
	// Own is what the role's body declares, deduplicated, in source order.
	Own []Permission
	// Permissions is Own plus every ancestor's, deduplicated and sorted by
	// (resource, action). Patterns covered by a broader pattern are kept:
	// they still document intent and the matrix shows them.
	Permissions []Permission
	// OwnAsks are the role's own `ask before` rules, in source order. A
	// principal bound to the role in a resource's scope needs approval for
	// what they name (DESIGN §1.1.8). Asks are the rules that apply to a
	// principal bound to the role: the same, since ask rules are not
	// inherited (roles inheriting this one do not have to ask).
	OwnAsks []*AskRule
	Asks    []*AskRule
	Pos     token.Pos
}

// Grants reports whether the role's flattened permissions grant
// resource:action.
func (r *Role) Grants(resource, action string) bool {
	for _, p := range r.Permissions {
		if p.Matches(resource, action) {
			return true
		}
	}
	return false
}

// Agent is an AI agent identity: a role (its ceiling) plus rules.
type Agent struct {
	Name  string
	Role  string // the ceiling role; always names a role of the Model
	Rules []*Rule
	// Conditional lists the permissions this agent holds only under
	// conditions: a permission appears here iff at least one `can` rule the
	// role grants names it with when/if and no unconditional granted `can`
	// rule names it. Any one listed condition holding suffices.
	Conditional []ConditionalPermission
	Obligations []*Rule // the `must` rules, in order
	Advice      []*Rule // the `should` rules, in order
	// Asks are the agent's `ask before` rules, in source order (they are
	// not in Rules).
	Asks []*AskRule
	Pos  token.Pos
}

// ConditionalPermission is a concrete permission an agent may use only when
// one of Conditions holds.
type ConditionalPermission struct {
	Permission Permission
	Conditions []string // condition names, deduplicated, in source order
}

// Rule is a compiled agent rule.
type Rule struct {
	Kind  ast.RuleKind
	Words []string // as written: action, object, more words
	// Action is the first word. Resource is the second word resolved against
	// the role (a singular word maps to the role's plural resource:
	// "product" → "products"), or the word itself when the role has no such
	// resource, or "" for one-word rules.
	Action    string
	Resource  string
	Condition string // "" when unconditional
	Keyword   string // "when" or "if" or ""
	// Granted is set for `can` rules whose Resource:Action the role grants.
	Granted bool
	Pos     token.Pos
}

// Text renders the rule as written, without its condition.
func (r *Rule) Text() string {
	s := r.Kind.String()
	for _, w := range r.Words {
		s += " " + w
	}
	return s
}

// ResourceType is a `resource` declaration: the schema of a resource type.
// When declared, a permission naming an undeclared action of it is a
// compile error.
type ResourceType struct {
	Name    string
	Actions []string // deduplicated, source order
	Pos     token.Pos
}

// Enum is an `enum` declaration.
type Enum struct {
	Name   string
	Values []string
	Pos    token.Pos
}

// Workflow is a state machine.
type Workflow struct {
	Name        string
	States      []string     // every state named, first appearance order
	Transitions []Transition // source order
	Pos         token.Pos
}

// Transition is one edge of a workflow.
type Transition struct{ From, To string }
