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
	ss, err := t.normSponsors(ctx, op, a.Org, a.Sponsors)
	if err != nil {
		return err
	}
	a.Sponsors, a.Sponsor = ss, firstUser(ss)
	a.AttestedAt, a.LastUsedAt = microUTC(a.AttestedAt), microUTC(a.LastUsedAt)
	return nil
}

// normSponsors checks a sponsor list of org — each "user:<member>" or
// "team:<existing team>", at most maxSponsors — and returns it sorted,
// without duplicates (nil when empty).
func (t *txn) normSponsors(ctx context.Context, op, org string, in []string) ([]string, error) {
	ss := slices.Clone(in)
	slices.Sort(ss)
	ss = slices.Compact(ss)
	c := checks{op: op}
	c.need(len(ss) <= maxSponsors, "more than %d sponsors", maxSponsors)
	for _, s := range ss {
		kind, _, ok := splitPrincipal(s)
		c.need(ok && (kind == authz.KindUser || kind == authz.KindTeam), "sponsor %q is not user:<id> or team:<slug>", s)
	}
	if c.err != nil {
		return nil, c.err
	}
	for _, s := range ss {
		kind, id, _ := splitPrincipal(s)
		switch kind {
		case authz.KindUser:
			if _, err := t.GetMember(ctx, org, id); err != nil {
				return nil, err
			}
		case authz.KindTeam:
			if _, err := t.GetTeam(ctx, org, id); err != nil {
				return nil, err
			}
		}
	}
	if len(ss) == 0 {
		return nil, nil
	}
	return ss, nil
}

// firstUser is the id of the first "user:" sponsor ("" if none).
func firstUser(ss []string) string {
	for _, s := range ss {
		if id, ok := strings.CutPrefix(s, authz.KindUser+":"); ok {
			return id
		}
	}
	return ""
}

// microUTC is t in UTC at the stores' precision (zero stays zero).
func microUTC(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.UTC().Truncate(time.Microsecond)
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

// withoutSponsor is sponsors without sponsor (nil when none is left), and
// whether sponsor was one of them (the LIKE that found the row may
// match more than the list holds).
func withoutSponsor(sponsors []string, sponsor string) ([]string, bool) {
	if !slices.Contains(sponsors, sponsor) {
		return sponsors, false
	}
	sponsors = slices.DeleteFunc(sponsors, func(s string) bool { return s == sponsor })
	if len(sponsors) == 0 {
		sponsors = nil
	}
	return sponsors, true
}

// dropSponsor removes sponsor (a member leaving, a team deleted) from
// every agent and service of org it sponsors, recording agent.put or
// service.put for each.
func (t *txn) dropSponsor(ctx context.Context, op, org, sponsor string) error {
	as, err := t.reader.ListAgentsSponsoredBy(ctx, org, sponsor)
	if err != nil {
		return err
	}
	for _, a := range as {
		a.Sponsors, _ = withoutSponsor(a.Sponsors, sponsor)
		a.Sponsor = firstUser(a.Sponsors)
		if _, err := t.exec(ctx, op, "agent "+q(a.Name), `UPDATE agents SET sponsor = $3, sponsors = $4 WHERE org = $1 AND name = $2`,
			org, a.Name, a.Sponsor, sponsorsArg(a.Sponsors)); err != nil {
			return err
		}
		if err := t.record(ctx, op, store.KindAgentPut, org, a.PrincipalID(), a); err != nil {
			return err
		}
	}
	svcs, err := t.reader.ListServicesSponsoredBy(ctx, org, sponsor)
	if err != nil {
		return err
	}
	for _, sv := range svcs {
		// RequireSponsor stays: a service whose last sponsor is gone is
		// sponsor_gone until an admin assigns new ones.
		sv.Sponsors, _ = withoutSponsor(sv.Sponsors, sponsor)
		if _, err := t.exec(ctx, op, "service "+q(sv.Name), `UPDATE services SET sponsors = $3 WHERE org = $1 AND name = $2`,
			org, sv.Name, sponsorsArg(sv.Sponsors)); err != nil {
			return err
		}
		if err := t.record(ctx, op, store.KindServicePut, org, sv.PrincipalID(), sv); err != nil {
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

func (t *txn) RecordServiceUse(ctx context.Context, org, name string, at time.Time) (bool, error) {
	const op = "record service use"
	if err := t.begin(op); err != nil {
		return false, err
	}
	sv, err := t.GetService(ctx, org, name)
	if err != nil {
		return false, err
	}
	at = microUTC(at)
	if at.IsZero() || !at.After(sv.LastUsedAt) {
		return false, nil
	}
	sv.LastUsedAt = at
	if _, err := t.exec(ctx, op, "service "+q(name), `UPDATE services SET last_used_at = $3 WHERE org = $1 AND name = $2`,
		org, name, t.s.b.TimeArg(at)); err != nil {
		return false, err
	}
	return true, t.record(ctx, op, store.KindServicePut, org, sv.PrincipalID(), sv)
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
