package policy

import (
	"fmt"
	"sort"
	"strings"

	"github.com/gatehouse-dev/gatehouse/policy/ast"
	"github.com/gatehouse-dev/gatehouse/policy/token"
)

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
		if rd != nil && rd.Kind == ast.Ask {
			if r := c.ask("agent "+orQ(name), rd, d.Agent); r != nil {
				a.Asks = append(a.Asks, r)
			}
			continue
		}
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
