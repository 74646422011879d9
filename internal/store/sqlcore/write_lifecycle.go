package sqlcore

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// --- lifecycles: agents' sponsors, suspension and use; orgs' rules

// maxSponsors bounds an agent's sponsors.
const maxSponsors = 16

// checkSponsors normalizes and checks a.Sponsors: only Sponsor given means
// ["user:<Sponsor>"]; each is "user:<member>" or "team:<existing team>";
// sorted, without duplicates; Sponsor becomes the first user's id.
func (t *txn) checkSponsors(ctx context.Context, op string, a *store.Agent) error {
	if len(a.Sponsors) == 0 && a.Sponsor != "" {
		a.Sponsors = []string{authz.KindUser + ":" + a.Sponsor}
	}
	ss := slices.Clone(a.Sponsors)
	slices.Sort(ss)
	ss = slices.Compact(ss)
	c := checks{op: op}
	c.need(len(ss) <= maxSponsors, "more than %d sponsors", maxSponsors)
	for _, s := range ss {
		kind, id, ok := splitPrincipal(s)
		c.need(ok && (kind == authz.KindUser || kind == authz.KindTeam), "sponsor %q is not user:<id> or team:<slug>", s)
		_ = id
	}
	if c.err != nil {
		return c.err
	}
	a.Sponsor = ""
	for _, s := range ss {
		kind, id, _ := splitPrincipal(s)
		switch kind {
		case authz.KindUser:
			if _, err := t.GetMember(ctx, a.Org, id); err != nil {
				return err
			}
			if a.Sponsor == "" {
				a.Sponsor = id
			}
		case authz.KindTeam:
			if _, err := t.GetTeam(ctx, a.Org, id); err != nil {
				return err
			}
		}
	}
	if len(ss) == 0 {
		ss = nil
	}
	a.Sponsors = ss
	if !a.AttestedAt.IsZero() {
		a.AttestedAt = a.AttestedAt.UTC().Truncate(time.Microsecond)
	}
	if !a.LastUsedAt.IsZero() {
		a.LastUsedAt = a.LastUsedAt.UTC().Truncate(time.Microsecond)
	}
	return nil
}

func sponsorsArg(ss []string) any {
	if len(ss) == 0 {
		return nil
	}
	b, _ := json.Marshal(ss) // strings: cannot fail
	return string(b)
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// dropSponsor removes sponsor (a member leaving, a team deleted) from
// every agent of org it sponsors, recording agent.put for each.
func (t *txn) dropSponsor(ctx context.Context, op, org, sponsor string) error {
	pattern := `%"` + strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(sponsor) + `"%`
	as, err := all(ctx, t.reader, op, "agents sponsored by "+q(sponsor), scanAgent,
		`SELECT `+agentCols+` FROM agents WHERE org = $1 AND sponsors LIKE $2 ESCAPE '\' ORDER BY name`, org, pattern)
	if err != nil {
		return err
	}
	for _, a := range as {
		if !slices.Contains(a.Sponsors, sponsor) {
			continue
		}
		a.Sponsors = slices.DeleteFunc(a.Sponsors, func(s string) bool { return s == sponsor })
		if len(a.Sponsors) == 0 {
			a.Sponsors = nil
		}
		a.Sponsor = ""
		for _, s := range a.Sponsors {
			if id, ok := strings.CutPrefix(s, authz.KindUser+":"); ok {
				a.Sponsor = id
				break
			}
		}
		if _, err := t.exec(ctx, op, "agent "+q(a.Name), `UPDATE agents SET sponsor = $3, sponsors = $4 WHERE org = $1 AND name = $2`,
			org, a.Name, a.Sponsor, sponsorsArg(a.Sponsors)); err != nil {
			return err
		}
		if err := t.record(ctx, op, store.KindAgentPut, org, a.PrincipalID(), a); err != nil {
			return err
		}
	}
	return nil
}

func (t *txn) RecordAgentUse(ctx context.Context, org, name string, at time.Time) (bool, error) {
	const op = "record agent use"
	if err := t.begin(op); err != nil {
		return false, err
	}
	a, err := t.GetAgent(ctx, org, name)
	if err != nil {
		return false, err
	}
	at = at.UTC().Truncate(time.Microsecond)
	if at.IsZero() || !at.After(a.LastUsedAt) {
		return false, nil
	}
	a.LastUsedAt = at
	if _, err := t.exec(ctx, op, "agent "+q(name), `UPDATE agents SET last_used_at = $3 WHERE org = $1 AND name = $2`,
		org, name, t.s.b.TimeArg(at)); err != nil {
		return false, err
	}
	return true, t.record(ctx, op, store.KindAgentPut, org, a.PrincipalID(), a)
}

func (t *txn) SetOrgLifecycle(ctx context.Context, org string, s authz.LifecycleSettings) (store.Org, error) {
	const op = "set org lifecycle"
	if err := t.begin(op); err != nil {
		return store.Org{}, err
	}
	c := checks{op: op}
	c.need(s.InactiveAfter >= 0 && s.AttestEvery >= 0, "durations must not be negative")
	c.need(s.InactiveAfter%time.Second == 0 && s.AttestEvery%time.Second == 0, "durations are whole seconds")
	if c.err != nil {
		return store.Org{}, c.err
	}
	o, err := t.GetOrg(ctx, org)
	if err != nil {
		return store.Org{}, err
	}
	o.Lifecycle = s
	if _, err := t.exec(ctx, op, "org "+q(org), `UPDATE orgs SET inactive_after = $2, attest_every = $3 WHERE id = $1`,
		org, int64(s.InactiveAfter/time.Second), int64(s.AttestEvery/time.Second)); err != nil {
		return store.Org{}, err
	}
	return o, t.record(ctx, op, store.KindOrgPut, org, org, o)
}

func (t *txn) SetOrgApprovalSettings(ctx context.Context, org string, s store.ApprovalSettings) (store.Org, error) {
	const op = "set org approval settings"
	if err := t.begin(op); err != nil {
		return store.Org{}, err
	}
	c := checks{op: op}
	c.need(s.PendingTTL >= 0 && s.UseWindow >= 0, "durations must not be negative")
	c.need(s.PendingTTL%time.Second == 0 && s.UseWindow%time.Second == 0, "durations are whole seconds")
	if c.err != nil {
		return store.Org{}, c.err
	}
	o, err := t.GetOrg(ctx, org)
	if err != nil {
		return store.Org{}, err
	}
	o.Approvals = s
	if _, err := t.exec(ctx, op, "org "+q(org), `UPDATE orgs SET approval_pending_ttl = $2, approval_use_window = $3 WHERE id = $1`,
		org, int64(s.PendingTTL/time.Second), int64(s.UseWindow/time.Second)); err != nil {
		return store.Org{}, err
	}
	return o, t.record(ctx, op, store.KindOrgPut, org, org, o)
}
