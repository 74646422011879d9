package policy

import (
	"fmt"

	"github.com/gatehouse-dev/gatehouse/policy/ast"
	"github.com/gatehouse-dev/gatehouse/policy/token"
)

// MaxQuorum bounds an ask rule's quorum: more approvers than this is a
// typo, not a process.
const MaxQuorum = 100

// Compile error codes of ask rules.
const (
	CodeQuorumRange     = "quorum-range"     // a quorum outside 1–MaxQuorum
	CodeUnknownApprover = "unknown-approver" // `from` names an undeclared role
	CodeAskWildcard     = "ask-wildcard"     // an ask rule naming "*" (the parser forbids it)
	CodeAskShape        = "ask-malformed"    // an ask rule without exactly an action and a resource
)

// AskRule is a compiled `ask before <action> <resource> [when|if cond]
// [from role, ...] [quorum N]` rule of a role or an agent (DESIGN §1.1
// item 8): a request the rest of the policy allows, for Permission, whose
// condition holds, needs Quorum distinct people's approval first.
type AskRule struct {
	// Permission is concrete: the action, and the resource word resolved
	// like a `can` rule's (a singular word maps to the plural the owner's
	// role names).
	Permission Permission
	Words      []string // action and resource, as written
	Condition  string   // "" when unconditional
	Keyword    string   // "when", "if" or ""
	From       []string // roles an approver must hold (any one); empty: any approver
	Quorum     int      // distinct approvers needed, 1–MaxQuorum
	// Owner is where the rule is written: "role builder" or "agent Deployer".
	Owner string
	// Granted reports whether the owner (a role's flattened permissions, an
	// agent's ceiling role) grants Permission; a rule that is not granted
	// can never apply, and Lint warns.
	Granted bool
	Pos     token.Pos
}

// Text renders the rule as written, in canonical clause order.
func (r *AskRule) Text() string {
	s := "ask before"
	for _, w := range r.Words {
		s += " " + w
	}
	if r.Condition != "" {
		s += " " + r.Keyword + " " + r.Condition
	}
	for i, f := range r.From {
		if i == 0 {
			s += " from " + f
		} else {
			s += ", " + f
		}
	}
	if r.Quorum > 1 {
		s += fmt.Sprintf(" quorum %d", r.Quorum)
	}
	return s
}

// ask compiles the parts of an ask rule that need no other declaration.
func (c *compiler) ask(owner string, rd *ast.Rule, ownerPos token.Pos) *AskRule {
	if rd == nil {
		return nil
	}
	pos := c.at(rd, ownerPos)
	if rd.Kind != ast.Ask || len(rd.Words) != 2 || rd.Words[0] == nil || rd.Words[1] == nil {
		c.diags.Errorf(pos, CodeAskShape, "write: ask before run chains", "%s: an ask rule names one action and one resource", owner)
		return nil
	}
	r := &AskRule{Owner: owner, Pos: pos, Quorum: 1, Keyword: rd.Keyword}
	for _, w := range rd.Words {
		if err := CheckIdent(w.Name); err != nil {
			c.diags.Errorf(c.at(w, pos), CodeAskWildcard,
				"ask rules name one concrete action and resource", "%s: ask rule word %s", owner, err)
			return nil
		}
		r.Words = append(r.Words, w.Name)
	}
	switch {
	case rd.Keyword == "" && rd.Condition == nil:
	case (rd.Keyword == "when" || rd.Keyword == "if") && rd.Condition != nil:
		if err := CheckIdent(rd.Condition.Name); err != nil {
			c.diags.Errorf(c.at(rd.Condition, pos), CodeInvalidName, "", "%s: condition name %s", owner, err)
			return nil
		}
		r.Condition = rd.Condition.Name
	default:
		c.diags.Errorf(pos, CodeMalformed, "", "%s: ask rule has a malformed when/if clause", owner)
		return nil
	}
	for _, f := range rd.From {
		if f == nil {
			c.diags.Errorf(pos, CodeMalformed, "", "%s: missing role in from", owner)
			return nil
		}
		if err := CheckIdent(f.Name); err != nil {
			c.diags.Errorf(c.at(f, pos), CodeInvalidName, "name the approvers' role", "%s: from %s", owner, err)
			return nil
		}
		if !contains(r.From, f.Name) {
			r.From = append(r.From, f.Name)
		}
	}
	if rd.Quorum != nil {
		if rd.Quorum.Value < 1 || rd.Quorum.Value > MaxQuorum {
			c.diags.Errorf(c.at(rd.Quorum, pos), CodeQuorumRange,
				fmt.Sprintf("a quorum is 1 to %d distinct approvers", MaxQuorum),
				"%s: quorum %s is out of range", owner, levelText(rd.Quorum))
			return nil
		}
		r.Quorum = rd.Quorum.Value
	}
	r.Permission = Permission{Resource: r.Words[1], Action: r.Words[0]}
	return r
}

// compileAsks runs after roles are flattened and agents resolved: it
// checks the approvers' roles, resolves each rule's resource against its
// owner's role and marks it Granted. Ask rules are not inherited: a role
// inheriting from one with ask rules inherits its permissions, not the
// obligation to ask (an admin: builder need not ask where builders must).
func (c *compiler) compileAsks() {
	check := func(r *AskRule) {
		for _, f := range r.From {
			if _, ok := c.m.roles[f]; !ok {
				c.diags.Errorf(r.Pos, CodeUnknownApprover, suggest(f, c.roleNames(), "role"),
					"%s: `%s` names unknown role %s", r.Owner, r.Text(), f)
			}
		}
	}
	resolve := func(r *AskRule, role *Role) {
		check(r)
		if role == nil {
			return
		}
		idx, ok := c.indexes[role.Name]
		if !ok {
			idx = newRoleIndex(role)
			c.indexes[role.Name] = idx
		}
		r.Permission.Resource = resolveResource(r.Words[1], func(res string) bool {
			_, declared := c.m.resources[res]
			return declared || idx.resources[res]
		})
		r.Granted = idx.grants(r.Permission.Resource, r.Permission.Action)
	}
	for _, r := range c.m.Roles {
		for _, a := range r.OwnAsks {
			resolve(a, r)
		}
	}
	for _, a := range c.m.Agents {
		role := c.m.roles[a.Role]
		for _, r := range a.Asks {
			resolve(r, role)
		}
	}
	for _, r := range c.m.Roles {
		r.Asks = r.OwnAsks
	}
}
