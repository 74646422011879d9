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
	c.compileAsks()
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

// Closest returns the candidate nearest to name by edit distance (case
// folded), when it is near enough to be a plausible typo; "" otherwise.
// Ties go to the earlier candidate. Used for "did you mean" hints here and
// by callers that name policy things (the directory's binding conditions).
func Closest(name string, candidates []string) string { return closest(name, candidates) }

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
