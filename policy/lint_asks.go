package policy

import (
	"fmt"

	"github.com/gatehouse-dev/gatehouse/policy/token"
)

// Lint codes of ask rules.
const (
	CodeAskNotGranted = "ask-not-granted" // an ask rule for a permission its role (agent: ceiling role) never grants
	CodeAskNoApprover = "ask-no-approver" // no role that may approve grants decisions:approve
	// CodeAskApproverBelow: an ask rule without `from` on a role (an
	// agent: its ceiling role) above the lowest level that grants
	// decisions:approve, so that a lower approver lifts it.
	CodeAskApproverBelow = "ask-approver-below"
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
	l.diags = append(l.diags, ApproverLevelWarnings(l.m)...)
}

// ApproverLevelWarnings warns about each `ask before` rule without `from`
// on a role — for an agent, its ceiling role — whose level is above that
// of a role granting decisions:approve: anyone holding decisions:approve
// approves such a rule (DESIGN §1.1 item 8), so an admin lifts what an
// owner put on the owner role. The hint names the lowest approving role
// at the rule's level or above, for `from`. Lint reports them, and so
// does applying a policy to an org (the server's approval warnings).
func ApproverLevelWarnings(m *Model) token.List {
	var low *Role // the lowest-level role granting decisions:approve
	for _, r := range m.Roles {
		if r.Grants(ApprovePermission.Resource, ApprovePermission.Action) && (low == nil || r.Level < low.Level) {
			low = r
		}
	}
	if low == nil {
		return nil // ask-no-approver says so
	}
	var out token.List
	check := func(a *AskRule, role string) {
		r, ok := m.Role(role)
		if !ok || len(a.From) > 0 || r.Level <= low.Level {
			return
		}
		var peer *Role // the lowest approving role at r's level or above
		for _, p := range m.Roles {
			if p.Level >= r.Level && p.Grants(ApprovePermission.Resource, ApprovePermission.Action) && (peer == nil || p.Level < peer.Level) {
				peer = p
			}
		}
		hint := fmt.Sprintf("grant %s to a role at level %d or above and name it with `from`", ApprovePermission, r.Level)
		if peer != nil {
			hint = fmt.Sprintf("write `%s from %s` if only approvers at role %s's level should approve it", a.Text(), peer.Name, r.Name)
		}
		out.Warnf(a.Pos, CodeAskApproverBelow, hint,
			"%s: `%s` has no `from`, so role %s (level %d) approves what binds role %s (level %d)",
			a.Owner, a.Text(), low.Name, low.Level, r.Name, r.Level)
	}
	for _, r := range m.Roles {
		for _, a := range r.OwnAsks {
			check(a, r.Name)
		}
	}
	for _, ag := range m.Agents {
		for _, a := range ag.Asks {
			check(a, ag.Role)
		}
	}
	return out
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
