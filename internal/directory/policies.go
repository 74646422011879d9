package directory

import (
	"crypto/sha256"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/gatehouse-dev/gatehouse/policy"
	"github.com/gatehouse-dev/gatehouse/policy/ast"
	"github.com/gatehouse-dev/gatehouse/policy/edit"
	"github.com/gatehouse-dev/gatehouse/policy/token"
	"github.com/gatehouse-dev/gatehouse/templates"
)

// PolicyFile is the file name positions in an org policy's diagnostics
// refer to.
const PolicyFile = "policy"

// denyAll is the model of an org whose stored policy no longer compiles
// (it cannot happen through the directory, which validates every text it
// stores, but a stored text must never fail open): no roles, so every
// binding is inert and every check denies.
var denyAll = &policy.Model{}

// compiler compiles policy texts once: orgs created from one template, and
// the follower and the writers, share one *policy.Model per text (the
// engine also caches its compiled form per model pointer).
type compiler struct {
	mu    sync.Mutex
	cache map[[32]byte]compiled
}

type compiled struct {
	model *policy.Model
	diags token.List
}

const compileCacheSize = 512

// load compiles text; the model is nil iff diags has errors.
func (c *compiler) load(text string) (*policy.Model, token.List) {
	key := sha256.Sum256([]byte(text))
	c.mu.Lock()
	if r, ok := c.cache[key]; ok {
		c.mu.Unlock()
		return r.model, r.diags
	}
	c.mu.Unlock()
	m, diags := policy.Load(PolicyFile, []byte(text), templates.LintOptions())
	c.mu.Lock()
	if c.cache == nil || len(c.cache) >= compileCacheSize {
		c.cache = map[[32]byte]compiled{}
	}
	c.cache[key] = compiled{m, diags}
	c.mu.Unlock()
	return m, diags
}

// engineModel is the model the engine gets for a stored text: the
// compiled policy, or denyAll when it does not compile.
func (c *compiler) engineModel(text string) *policy.Model {
	m, _ := c.load(text)
	if m == nil {
		return denyAll
	}
	return m
}

// topRoles lists the roles at the model's top level (normally one: owner).
func topRoles(m *policy.Model) []string {
	if m == nil || len(m.Roles) == 0 {
		return nil
	}
	top := m.TopLevel()
	var out []string
	for _, r := range m.Roles {
		if r.Level == top {
			out = append(out, r.Name)
		}
	}
	return out
}

// topRole is the template's top-level role its creator is bound to: the
// first declared role of the highest level.
func topRole(m *policy.Model) (*policy.Role, bool) {
	names := topRoles(m)
	if len(names) == 0 {
		return nil, false
	}
	return m.Role(names[0])
}

// roleChanged reports whether a role's effect differs: its level, its
// flattened permissions or its `ask before` rules (a change of parents
// that keeps all three is not a change of what anyone holds). An approval
// rule is part of what a role's holders may do: dropping one lets them do
// alone what needed a person's approval, adding one takes that away.
func roleChanged(a, b *policy.Role) bool {
	return a.Level != b.Level || !slices.Equal(a.Permissions, b.Permissions) ||
		!slices.Equal(asksText(a.OwnAsks), asksText(b.OwnAsks))
}

// agentChanged reports whether an agent declaration's effect differs: its
// ceiling role, its rules (can, must, should, with their conditions) or
// its `ask before` rules.
func agentChanged(a, b *policy.Agent) bool {
	return a.Role != b.Role || !slices.Equal(rulesText(a.Rules), rulesText(b.Rules)) ||
		!slices.Equal(rulesText(a.Obligations), rulesText(b.Obligations)) ||
		!slices.Equal(rulesText(a.Advice), rulesText(b.Advice)) ||
		!slices.Equal(asksText(a.Asks), asksText(b.Asks))
}

// changedConditions lists the names of the conditions m0 and m1 define
// differently: added, dropped, or with another expression. A binding, an
// ask rule or an agent rule naming one changes effect with it (a name
// not defined is read from the request context: defining it changes
// that too).
func changedConditions(m0, m1 *policy.Model) map[string]bool {
	out := map[string]bool{}
	for _, c1 := range m1.Conditions {
		if c0, ok := m0.Condition(c1.Name); !ok || c0.Expr != c1.Expr {
			out[c1.Name] = true
		}
	}
	for _, c0 := range m0.Conditions {
		if _, ok := m1.Condition(c0.Name); !ok {
			out[c0.Name] = true
		}
	}
	return out
}

// roleUses reports whether one of r's own ask rules names a condition
// of conds.
func roleUses(r *policy.Role, conds map[string]bool) bool {
	return slices.ContainsFunc(r.OwnAsks, func(a *policy.AskRule) bool { return conds[a.Condition] })
}

// agentUses reports whether one of a's rules names a condition of conds.
func agentUses(a *policy.Agent, conds map[string]bool) bool {
	uses := func(r *policy.Rule) bool { return conds[r.Condition] }
	return slices.ContainsFunc(a.Rules, uses) || slices.ContainsFunc(a.Obligations, uses) ||
		slices.ContainsFunc(a.Advice, uses) || slices.ContainsFunc(a.Asks, func(r *policy.AskRule) bool { return conds[r.Condition] })
}

// asksText renders ask rules as written, conditions included.
func asksText(as []*policy.AskRule) []string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = a.Text()
	}
	return out
}

// rulesText renders agent rules as written, conditions included.
func rulesText(rs []*policy.Rule) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.Text()
		if r.Condition != "" {
			out[i] += " " + r.Keyword + " " + r.Condition
		}
	}
	return out
}

// RoleSpec describes a custom role. It becomes the role declaration
// `role Name[: Parents] level Level { permission r { a, ... } }` of the
// org's policy text and is validated by the policy compiler with the rest
// of the policy.
type RoleSpec struct {
	Name        string   `json:"name"`
	Level       int      `json:"level"`
	Parents     []string `json:"parents,omitempty"`
	Permissions []string `json:"permissions"` // "chains:run", "tickets:*"
}

// decl validates the spec's shape and builds its declaration: one
// permission block per resource, in the order of first mention, each
// action once.
func (s RoleSpec) decl() (*ast.RoleDecl, error) {
	if err := checkName("name", s.Name); err != nil {
		return nil, err
	}
	if s.Level < 0 || s.Level > 100 {
		return nil, invalid("level", "level %d is not in 0..100", s.Level)
	}
	for _, p := range s.Parents {
		if err := checkName("parents", p); err != nil {
			return nil, err
		}
	}
	if len(s.Permissions) > 1000 {
		return nil, invalid("permissions", "more than 1000 permissions")
	}
	d := &ast.RoleDecl{
		Name:  &ast.Ident{Name: s.Name},
		Level: &ast.IntLit{Raw: strconv.Itoa(s.Level), Value: s.Level},
	}
	for _, p := range s.Parents {
		d.Parents = append(d.Parents, &ast.Ident{Name: p})
	}
	blocks := map[string]*ast.PermissionBlock{}
	for _, ps := range s.Permissions {
		p, err := policy.ParsePermission(ps)
		if err != nil {
			return nil, invalid("permissions", "%v", err)
		}
		b, ok := blocks[p.Resource]
		if !ok {
			b = &ast.PermissionBlock{Resource: &ast.Ident{Name: p.Resource}}
			blocks[p.Resource] = b
			d.Permissions = append(d.Permissions, b)
		}
		if !slices.ContainsFunc(b.Actions, func(a *ast.Ident) bool { return a.Name == p.Action }) {
			b.Actions = append(b.Actions, &ast.Ident{Name: p.Action})
		}
	}
	return d, nil
}

// withRole returns text with role name's declaration replaced by decl
// (appended when the role is not declared), or removed when decl is nil.
// The edit goes through policy/edit: only the role's lines (and the blank
// lines around a removed or appended role) change. A replaced role keeps
// its `ask before` rules: a RoleSpec (the roles API) says the role's
// level, parents and permissions, not its approval rules, so redefining
// them must not silently drop an approval requirement.
func withRole(text, name string, decl *ast.RoleDecl) (string, error) {
	f, diags := edit.Parse(PolicyFile, []byte(text))
	if f == nil {
		return "", &PolicyError{Diagnostics: diags}
	}
	var err error
	if decl == nil {
		_, err = f.RemoveRole(name)
	} else {
		if old := f.Role(name); old != nil && len(decl.Asks) == 0 && len(old.Asks) > 0 {
			keep := *decl
			keep.Asks = old.Asks
			decl = &keep
		}
		_, err = f.SetRole(decl)
	}
	if err != nil {
		return "", invalid("policy", "role %q: %v", name, err)
	}
	return string(f.Bytes()), nil
}

// templateRoleNames are the role names of the org's template, lower-cased:
// a custom role may not reuse one, in any case.
func templateRoleNames(template string) map[string]bool {
	out := map[string]bool{}
	if template == "" {
		return out
	}
	m, err := templates.Model(template)
	if err != nil || m == nil {
		return out
	}
	for _, r := range m.Roles {
		out[strings.ToLower(r.Name)] = true
	}
	return out
}
