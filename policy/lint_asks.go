package policy

import (
	"fmt"

	"github.com/gatehouse-dev/gatehouse/policy/token"
)

// Lint codes of ask rules.
const (
	CodeAskNotGranted = "ask-not-granted" // an ask rule for a permission its role (agent: ceiling role) never grants
	CodeAskNoApprover = "ask-no-approver" // no role that may approve grants decisions:approve
)

// ApprovePermission is the permission an approver of an `ask before` rule
// must hold on the resource (DESIGN §1.1 item 8).
var ApprovePermission = Permission{Resource: "decisions", Action: "approve"}

// asks warns about ask rules that can never apply (the owner does not
// grant the permission) and ask rules no one could approve (no role among
// the `from` roles, or none at all, grants decisions:approve): such a rule
// blocks its permission for good, which is rarely what was meant.
func (l *linter) asks() {
	var approvers []string
	for _, r := range l.m.Roles {
		if r.Grants(ApprovePermission.Resource, ApprovePermission.Action) {
			approvers = append(approvers, r.Name)
		}
	}
	check := func(a *AskRule, role string) {
		l.conditionTypo(a.Pos, a.Owner, a.Condition)
		if !a.Granted {
			l.diags.Warnf(a.Pos, CodeAskNotGranted,
				fmt.Sprintf("grant %s to role %s, or remove the rule", a.Permission, role),
				"%s: `%s` never applies: role %s does not grant %s", a.Owner, a.Text(), role, a.Permission)
		}
		can := approvers
		if len(a.From) > 0 {
			can = nil
			for _, f := range a.From {
				if contains(approvers, f) {
					can = append(can, f)
				}
			}
		}
		if len(can) == 0 {
			who := "no role"
			if len(a.From) > 0 {
				who = "none of " + shortList(a.From)
			}
			l.diags.Warnf(a.Pos, CodeAskNoApprover,
				fmt.Sprintf("grant %s to a role that should approve, and name it with `from`", ApprovePermission),
				"%s: no one can approve `%s`: %s grants %s", a.Owner, a.Text(), who, ApprovePermission)
		}
	}
	for _, r := range l.m.Roles {
		for _, a := range r.OwnAsks {
			check(a, r.Name)
		}
	}
	for _, ag := range l.m.Agents {
		for _, a := range ag.Asks {
			check(a, ag.Role)
		}
	}
}

// conditionTypo warns about a rule's condition (of owner: "agent X",
// "role Y") that is not declared but looks like a typo of a declared one:
// it would be read from the request context and fail closed.
func (l *linter) conditionTypo(pos token.Pos, owner, cond string) {
	if cond == "" {
		return
	}
	if _, ok := l.m.Condition(cond); ok {
		return
	}
	names := make([]string, 0, len(l.m.Conditions))
	for _, c := range l.m.Conditions {
		names = append(names, c.Name)
	}
	if s := closest(cond, names); s != "" {
		l.diags.Warnf(pos, CodeConditionTypo,
			fmt.Sprintf("did you mean %s? An undeclared name is read from the request context and fails closed when absent", s),
			"%s: %s is not a declared condition, so it is a context flag", owner, cond)
	}
}

// askConditions lists the conditions ask rules use.
func askConditions(m *Model) []string {
	var out []string
	for _, r := range m.Roles {
		for _, a := range r.OwnAsks {
			out = append(out, a.Condition)
		}
	}
	for _, ag := range m.Agents {
		for _, a := range ag.Asks {
			out = append(out, a.Condition)
		}
	}
	return out
}
