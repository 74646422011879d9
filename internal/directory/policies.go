package directory

import (
	"crypto/sha256"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/gatehouse-dev/gatehouse/policy"
	"github.com/gatehouse-dev/gatehouse/policy/ast"
	"github.com/gatehouse-dev/gatehouse/policy/parser"
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

// roleChanged reports whether a role's effect differs: its level or its
// flattened permissions (a change of parents that keeps both is not a
// change of what anyone holds).
func roleChanged(a, b *policy.Role) bool {
	return a.Level != b.Level || !slices.Equal(a.Permissions, b.Permissions)
}

// RoleSpec describes a custom role. It is rendered into the org's policy
// text as `role Name[: Parents] level Level { permission r { a, ... } }`
// and validated by the policy compiler with the rest of the policy.
type RoleSpec struct {
	Name        string   `json:"name"`
	Level       int      `json:"level"`
	Parents     []string `json:"parents,omitempty"`
	Permissions []string `json:"permissions"` // "chains:run", "tickets:*"
}

// render validates the spec's shape and renders its declaration.
func (s RoleSpec) render() (string, error) {
	if err := checkName("name", s.Name); err != nil {
		return "", err
	}
	if s.Level < 0 || s.Level > 100 {
		return "", invalid("level", "level %d is not in 0..100", s.Level)
	}
	for _, p := range s.Parents {
		if err := checkName("parents", p); err != nil {
			return "", err
		}
	}
	if len(s.Permissions) > 1000 {
		return "", invalid("permissions", "more than 1000 permissions")
	}
	var order []string
	actions := map[string][]string{}
	for _, ps := range s.Permissions {
		p, err := policy.ParsePermission(ps)
		if err != nil {
			return "", invalid("permissions", "%v", err)
		}
		if _, ok := actions[p.Resource]; !ok {
			order = append(order, p.Resource)
		}
		if !slices.Contains(actions[p.Resource], p.Action) {
			actions[p.Resource] = append(actions[p.Resource], p.Action)
		}
	}
	var b strings.Builder
	b.WriteString("role ")
	b.WriteString(s.Name)
	if len(s.Parents) > 0 {
		b.WriteString(": ")
		b.WriteString(strings.Join(s.Parents, ", "))
	}
	b.WriteString(" level ")
	b.WriteString(strconv.Itoa(s.Level))
	b.WriteString(" {\n")
	for _, r := range order {
		fmt.Fprintf(&b, "    permission %s { %s }\n", r, strings.Join(actions[r], ", "))
	}
	b.WriteString("}\n")
	return b.String(), nil
}

// roleSpan finds the declaration of role name in a policy text that
// parses: the byte range [start, end) from the `role` keyword to the
// closing brace.
func roleSpan(text, name string) (start, end int, ok bool) {
	f, diags := parser.ParseFile(PolicyFile, []byte(text))
	if diags.HasErrors() || f == nil {
		return 0, 0, false
	}
	for _, d := range f.Decls {
		rd, isRole := d.(*ast.RoleDecl)
		if !isRole || rd.Name == nil || rd.Name.Name != name {
			continue
		}
		start, end = rd.Role.Offset, rd.Rbrace.Offset+1
		if start < 0 || end > len(text) || start >= end {
			return 0, 0, false
		}
		return start, end, true
	}
	return 0, 0, false
}

// withRole returns text with role name's declaration replaced by decl, or
// decl appended when the role is not declared; an empty decl removes it.
func withRole(text, name, decl string) (string, bool) {
	start, end, found := roleSpan(text, name)
	if !found {
		if decl == "" {
			return text, false
		}
		sep := "\n"
		if text != "" && !strings.HasSuffix(text, "\n") {
			sep = "\n\n"
		}
		return text + sep + decl, true
	}
	decl = strings.TrimSuffix(decl, "\n")
	out := text[:start] + decl + text[end:]
	if decl == "" {
		// Drop the line the declaration stood on if nothing else is left.
		out = strings.ReplaceAll(out, "\n\n\n", "\n\n")
	}
	return out, true
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
