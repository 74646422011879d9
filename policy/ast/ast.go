// Package ast declares the syntax tree of the Gatehouse policy language.
//
// Invariants:
//   - Every node records the position of its first token; block nodes also
//     record their closing brace, so a node's extent is [Pos, End].
//   - The tree is exactly what was written: no defaults are filled in, no
//     names are resolved (that is the compiler's job), and comments live
//     in File.Comments in source order, not on the nodes, as in go/ast.
//   - A parser that met errors still returns a tree of the parts it could
//     read; nodes it had to invent are never produced.
package ast

import "github.com/gatehouse-dev/gatehouse/policy/token"

// Node is any syntax-tree node.
type Node interface {
	Pos() token.Pos // position of the first token
}

// Decl is a top-level declaration.
type Decl interface {
	Node
	declNode()
}

// File is one parsed policy source.
type File struct {
	Name     string     // file name used in positions
	Decls    []Decl     // in source order
	Comments []*Comment // every comment, in source order
}

// Comment is a '#' or '//' comment running to the end of its line.
// Text includes the marker and excludes the newline.
type Comment struct {
	Slash token.Pos
	Text  string
}

// Pos implements Node.
func (c *Comment) Pos() token.Pos { return c.Slash }

// Ident is a name: an identifier (letter, then letters, digits, '_' or '-')
// or, where the grammar allows it, the wildcard "*".
type Ident struct {
	NamePos token.Pos
	Name    string
}

// Pos implements Node.
func (x *Ident) Pos() token.Pos { return x.NamePos }

// IsWildcard reports whether the identifier is "*".
func (x *Ident) IsWildcard() bool { return x != nil && x.Name == "*" }

// StringLit is a quoted string: "..." with Go-style escapes, or `...` raw.
type StringLit struct {
	ValuePos token.Pos
	Raw      string // as written, with quotes
	Value    string // unquoted
}

// Pos implements Node.
func (x *StringLit) Pos() token.Pos { return x.ValuePos }

// IntLit is a decimal integer.
type IntLit struct {
	ValuePos token.Pos
	Raw      string
	Value    int
}

// Pos implements Node.
func (x *IntLit) Pos() token.Pos { return x.ValuePos }

// RoleDecl is `role Name [: Parent, ...] [level N] { permission ... }`.
type RoleDecl struct {
	Role        token.Pos // "role" keyword
	Name        *Ident
	Parents     []*Ident // after ':'; empty when none
	Level       *IntLit  // nil when no level clause
	Lbrace      token.Pos
	Permissions []*PermissionBlock
	Asks        []*Rule // `ask before` rules (Kind Ask), in source order
	Rbrace      token.Pos
}

// PermissionBlock is `permission <resource|*> { action, ... }`.
type PermissionBlock struct {
	Permission token.Pos // "permission" keyword
	Resource   *Ident    // may be "*"
	Lbrace     token.Pos
	Actions    []*Ident // each may be "*"; trailing comma allowed in source
	Rbrace     token.Pos
}

// Pos implements Node.
func (x *PermissionBlock) Pos() token.Pos { return x.Permission }

// RuleKind is the verb that starts an agent rule.
type RuleKind int

const (
	Can    RuleKind = iota // a permission the agent uses (conditional with when/if)
	Must                   // an obligation returned with allowed decisions
	Should                 // advice returned with allowed decisions
	Ask                    // `ask before`: the permission needs a person's approval
)

func (k RuleKind) String() string {
	switch k {
	case Must:
		return "must"
	case Should:
		return "should"
	case Ask:
		return "ask before"
	}
	return "can"
}

// AgentDecl is `agent Name: Role { rule... }`.
type AgentDecl struct {
	Agent  token.Pos // "agent" keyword
	Name   *Ident
	Role   *Ident // nil when the ':' Role part is missing (an error)
	Lbrace token.Pos
	Rules  []*Rule
	Rbrace token.Pos
}

// Rule is one line of an agent body:
// `can|must|should word... [when|if condition]`, or, in an agent or a role,
// `ask before action resource [when|if condition] [from role, ...] [quorum N]`
// (Kind Ask; KindPos is the "ask" keyword, Words are exactly the action and
// the resource, and only Ask rules have From and Quorum).
type Rule struct {
	KindPos   token.Pos
	Kind      RuleKind
	Words     []*Ident // at least one: the action, then the object and more
	Keyword   string   // "when", "if", or "" when unconditional
	Condition *Ident   // nil when unconditional
	From      []*Ident // Ask: the roles an approver must hold; empty when any approver
	Quorum    *IntLit  // Ask: distinct approvers needed; nil means 1
}

// Pos implements Node.
func (x *Rule) Pos() token.Pos { return x.KindPos }

// ConditionDecl is `condition name = "<CEL expression>"`.
type ConditionDecl struct {
	Condition token.Pos
	Name      *Ident
	Expr      *StringLit
}

// ResourceDecl is `resource name { actions a, b, c ... }`.
type ResourceDecl struct {
	Resource token.Pos
	Name     *Ident
	Lbrace   token.Pos
	Clauses  []*ActionsClause
	Rbrace   token.Pos
}

// ActionsClause is one `actions a, b, c` line of a resource declaration.
type ActionsClause struct {
	ActionsPos token.Pos
	Actions    []*Ident
}

// Pos implements Node.
func (x *ActionsClause) Pos() token.Pos { return x.ActionsPos }

// EnumDecl is `enum Name { a b c }` (commas optional).
type EnumDecl struct {
	Enum   token.Pos
	Name   *Ident
	Lbrace token.Pos
	Values []*Ident
	Rbrace token.Pos
}

// WorkflowDecl is `workflow Name { state a -> b, c ... }`.
type WorkflowDecl struct {
	Workflow token.Pos
	Name     *Ident
	Lbrace   token.Pos
	States   []*StateDecl
	Rbrace   token.Pos
}

// StateDecl is one `state from -> to, ...` line of a workflow.
type StateDecl struct {
	State token.Pos
	From  *Ident
	To    []*Ident
}

// Pos implements Node.
func (x *StateDecl) Pos() token.Pos { return x.State }

func (d *RoleDecl) Pos() token.Pos      { return d.Role }
func (d *AgentDecl) Pos() token.Pos     { return d.Agent }
func (d *ConditionDecl) Pos() token.Pos { return d.Condition }
func (d *ResourceDecl) Pos() token.Pos  { return d.Resource }
func (d *EnumDecl) Pos() token.Pos      { return d.Enum }
func (d *WorkflowDecl) Pos() token.Pos  { return d.Workflow }

func (*RoleDecl) declNode()      {}
func (*AgentDecl) declNode()     {}
func (*ConditionDecl) declNode() {}
func (*ResourceDecl) declNode()  {}
func (*EnumDecl) declNode()      {}
func (*WorkflowDecl) declNode()  {}
