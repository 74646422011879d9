package directory

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// Lifetime says when a grant stops granting: at ExpiresAt, or For after
// the clock of the write that creates it (so that a caller's skewed clock
// cannot lengthen or shorten "for the next 30 minutes"). At most one is
// set; neither means never. The engine ignores an expired grant at
// decision time (authz/expiry.go); PurgeExpiredBindings removes it later.
type Lifetime struct {
	ExpiresAt time.Time     `json:"expires_at,omitzero"`
	For       time.Duration `json:"-"`
}

// maxLifetime bounds For: a grant meant to be temporary that outlives a
// decade is a typo.
const maxLifetime = 10 * 365 * 24 * time.Hour

func (l Lifetime) check() error {
	switch {
	case !l.ExpiresAt.IsZero() && l.For != 0:
		return invalid("expires_at", "give expires_at or expires_in, not both")
	case l.For < 0:
		return invalid("expires_in", "%s is not a positive duration", l.For)
	case l.For > maxLifetime:
		return invalid("expires_in", "%s is longer than 10 years", l.For)
	}
	return nil
}

// expiry resolves l against the write's clock: the instant the grant ends
// (zero: never). An instant not after now is refused.
func (o *op) expiry(l Lifetime) (time.Time, error) {
	now := o.tx.Now()
	switch {
	case l.For > 0:
		return now.Add(l.For).UTC().Truncate(time.Microsecond), nil
	case l.ExpiresAt.IsZero():
		return time.Time{}, nil
	case !l.ExpiresAt.After(now):
		return time.Time{}, invalid("expires_at", "%s is not in the future (now is %s)",
			l.ExpiresAt.UTC().Format(time.RFC3339), now.Format(time.RFC3339))
	}
	return l.ExpiresAt.UTC().Truncate(time.Microsecond), nil
}

// SystemActor is the actor of housekeeping writes no one asked for (the
// purge of expired bindings), as audit entries name it.
const SystemActor = "system:gatehouse"

// PurgeExpiredBindings deletes up to limit bindings of org that expired at
// or before `before` (capped at the write's own clock, so nothing still in
// force is removed), as SystemActor — it changes no one's access: the
// engine already ignores them — and returns how many it deleted and the
// revision. The purge is audited when it deletes something. It is
// housekeeping, safe to run at any time and from any number of processes.
func (d *Directory) PurgeExpiredBindings(ctx context.Context, org string, before time.Time, limit int) (int, uint64, error) {
	const name = "purge expired bindings"
	if err := checkOrgID(org); err != nil {
		return 0, 0, orgNotFound(name, org)
	}
	var n int
	rev, err := d.st.Write(ctx, func(tx store.Tx) error {
		var err error
		if now := tx.Now(); before.After(now) {
			before = now
		}
		if n, err = tx.DeleteExpiredBindings(ctx, org, before, limit); err != nil || n == 0 {
			return err
		}
		return d.recordSuccess(ctx, tx, name, org, Actor{Principal: SystemActor}, AuditNote{})
	})
	if err != nil {
		return 0, 0, mapErr(name, err)
	}
	d.settle(ctx, rev)
	return n, rev, nil
}

// PurgeExpired runs PurgeExpiredBindings over every org, up to limit
// bindings each, and returns how many it deleted in all. An org's failure
// is logged and the others go on.
func (d *Directory) PurgeExpired(ctx context.Context, limit int) (int, error) {
	total := 0
	p := store.Page{Size: 500}
	for {
		orgs, next, err := d.st.ListOrgs(ctx, p)
		if err != nil {
			return total, mapErr("purge expired bindings", err)
		}
		for _, org := range orgs {
			n, _, err := d.PurgeExpiredBindings(ctx, org.ID, time.Now(), limit)
			if err != nil {
				if ctx.Err() != nil {
					return total, ctx.Err()
				}
				d.opts.Logger.Warn("purge of expired bindings failed", "org", org.ID, "err", err)
				continue
			}
			total += n
		}
		if next == "" {
			return total, nil
		}
		p.Cursor = next
	}
}

// RunPurge calls PurgeExpired every interval until ctx ends.
func (d *Directory) RunPurge(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if _, err := d.PurgeExpired(ctx, 1000); err != nil && ctx.Err() == nil {
				d.opts.Logger.Warn("purge of expired bindings failed", "err", err)
			}
		}
	}
}

// checkSponsors validates a sponsor list's shape: "user:<id>" or
// "team:<slug>", at most 16, at least one unless empty is allowed (the
// creator is then the sponsor).
func checkSponsors(ss []string, emptyOK bool) error {
	if len(ss) == 0 && !emptyOK {
		return invalid("sponsors", "an agent needs at least one sponsor (user:<id> or team:<slug>)")
	}
	if len(ss) > 16 {
		return invalid("sponsors", "at most 16 sponsors")
	}
	for _, s := range ss {
		kind, _, ok := splitPrincipal(s)
		if !ok || (kind != authz.KindUser && kind != authz.KindTeam) {
			return invalid("sponsors", "%q is not user:<id> or team:<slug>", s)
		}
	}
	return nil
}

// sponsorErr turns the store's "no such member or team" for a sponsor
// into a bad request naming the field.
func sponsorErr(err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return invalid("sponsors", "every sponsor must be a member or a team of the org: %v", err)
	}
	return err
}

// AgentStatus is "active" or why every decision for the agent is denied
// now (authz/lifecycle.go reasons, or "expired").
func (d *Directory) AgentStatus(org string, a store.Agent) string {
	if !a.ExpiresAt.IsZero() && !time.Now().Before(a.ExpiresAt) {
		return string(authz.ReasonExpired)
	}
	if r := d.eng.Suspension(org, a.PrincipalID(), time.Time{}); r != "" {
		return string(r)
	}
	return "active"
}

// AttestAgent records that a sponsor vouches for the agent now: its
// attestation and its last use move to now, which lifts attestation_due
// and inactive. Only a current sponsor may attest — a sponsoring user, or
// a member of a sponsoring team — and the attestation is audited.
func (d *Directory) AttestAgent(ctx context.Context, actor Actor, org, name string) (store.Agent, uint64, error) {
	if err := checkName("name", name); err != nil {
		return store.Agent{}, 0, err
	}
	var out store.Agent
	rev, err := d.write(ctx, "attest agent", org, actor, func(o *op) error {
		a, err := o.tx.GetAgent(ctx, org, name)
		if err != nil {
			return o.hiddenFromNonReader("agent", name, err)
		}
		if err := o.mustSponsor("agent", name, a.Lifecycle().Sponsors); err != nil {
			return err
		}
		now := o.tx.Now()
		a.AttestedAt, a.LastUsedAt = now, now
		out, err = o.tx.UpdateAgent(ctx, a)
		return err
	})
	return out, rev, err
}

// ServiceStatus is "active" or why every decision for the service is
// denied now (authz/lifecycle.go reasons).
func (d *Directory) ServiceStatus(org string, s store.Service) string {
	if r := d.eng.Suspension(org, s.PrincipalID(), time.Time{}); r != "" {
		return string(r)
	}
	return "active"
}

// AttestService is AttestAgent for a service: only a current sponsor may
// attest; audited as service.attest.
func (d *Directory) AttestService(ctx context.Context, actor Actor, org, name string) (store.Service, uint64, error) {
	if err := checkName("name", name); err != nil {
		return store.Service{}, 0, err
	}
	var out store.Service
	rev, err := d.write(ctx, "attest service", org, actor, func(o *op) error {
		o.note.Target = "service/" + authz.KindService + ":" + name
		sv, err := o.tx.GetService(ctx, org, name)
		if err != nil {
			return o.hiddenFromNonReader("service", name, err)
		}
		if err := o.mustSponsor("service", name, sv.Sponsors); err != nil {
			return err
		}
		now := o.tx.Now()
		sv.AttestedAt, sv.LastUsedAt = now, now
		out, err = o.tx.UpdateService(ctx, sv)
		return err
	})
	return out, rev, err
}

// mustSponsor refuses (ErrForbidden) an actor that is not one of ss, the
// sponsors of the agent or service (kind) name, which only a sponsor may
// attest. The refusal names the sponsors only to an actor that may read
// the agent or service (agents:read, services:read at org scope).
func (o *op) mustSponsor(kind, name string, ss []string) error {
	ok, err := o.sponsorsOf(ss)
	if err != nil || ok {
		return err
	}
	if !o.mayRead(kind) {
		return o.notASponsor(kind, name)
	}
	who := strings.Join(ss, ", ")
	if who == "" {
		who = "none"
	}
	return errorf(ErrForbidden, o.name, "%s is not a sponsor of %s %s (its sponsors: %s); only a sponsor may attest it",
		o.actor.Principal, kind, name, who)
}

// sponsorsOf reports whether the actor is one of the sponsors ss, directly
// or as a member of a sponsoring team. Only a user vouches: an agent or a
// service in a sponsoring team (teams may hold them) is no sponsor, or a
// service could attest itself.
func (o *op) sponsorsOf(ss []string) (bool, error) {
	if kind, _, _ := splitPrincipal(o.actor.Principal); kind != authz.KindUser {
		return false, nil
	}
	for _, s := range ss {
		if s == o.actor.Principal {
			return true, nil
		}
		if slug, isTeam := strings.CutPrefix(s, authz.KindTeam+":"); isTeam {
			t, err := o.tx.GetTeam(o.ctx, o.org, slug)
			if errors.Is(err, store.ErrNotFound) {
				continue
			}
			if err != nil {
				return false, err
			}
			if slices.Contains(t.Members, o.actor.Principal) {
				return true, nil
			}
		}
	}
	return false, nil
}

// SetOrgLifecycle replaces the org's suspension rules for agents. Needs
// org:update, and the right to manage (mayManage) every agent and service
// whose standing the new rules change at the write's time (mayRestate).
func (d *Directory) SetOrgLifecycle(ctx context.Context, actor Actor, org string, s authz.LifecycleSettings) (store.Org, uint64, error) {
	if s.InactiveAfter < 0 || s.AttestEvery < 0 {
		return store.Org{}, 0, invalid("lifecycle", "durations must not be negative")
	}
	var out store.Org
	rev, err := d.write(ctx, "set org lifecycle", org, actor, func(o *op) error {
		if err := o.need("org:update", authz.Scope{}); err != nil {
			return err
		}
		if err := o.mayRestate(s); err != nil {
			return err
		}
		var err error
		out, err = o.tx.SetOrgLifecycle(ctx, org, s)
		return err
	})
	return out, rev, err
}

// mayRestate checks that the actor may manage (mayManage) every agent and
// service under the org's rules whose standing the rules s would change
// at the write's time (tx.Now): tightening them suspends (inactive,
// attestation_due) one that can act now, loosening or switching them off
// lifts such a suspension — as much as suspending or resuming it by hand
// (row 36), so an admin may not do it to an owner-level principal. Only
// the timed rules change with s: a principal suspended by hand, without a
// sponsor (sponsor_gone) or expired stays so whatever s says, and is not
// compared. The engine holds the org's current rules (the write caught it
// up), so its Standing is the standing before.
func (o *op) mayRestate(s authz.LifecycleSettings) error {
	now := o.tx.Now()
	present := func(string) bool { return true } // untimed is "" here (below)
	return o.eachSponsored(func(principal string, l *authz.Lifecycle) error {
		if l.NoOrgRules {
			return nil
		}
		member, r0 := o.d.eng.Standing(o.org, principal, now)
		switch {
		case !member, r0 == authz.ReasonExpired, r0 == authz.ReasonSuspended, r0 == authz.ReasonSponsorGone:
			return nil
		}
		// r0 is "" or a timed reason, so nothing untimed holds: s decides
		// alone.
		if (r0 != "") == (s.Suspension(l, present, now) != "") {
			return nil
		}
		return o.mayManage(principal)
	})
}

// useEvery is how often an agent's last use is written at most: inactivity
// is counted in days, so an hour's precision costs one write an hour per
// busy agent, not one per decision.
const useEvery = time.Hour

// useRecorder writes agents' (and opted-in services') last use in the background, at most once per
// useEvery per agent and process. A lost write only makes an agent look
// idle for longer, never active when it is not.
type useRecorder struct {
	seen sync.Map // "<org>/<principal>" → time.Time last written
	wg   sync.WaitGroup
}

// note records that principal (an agent, or a service under the org's
// rules) was allowed something now.
func (u *useRecorder) note(d *Directory, org, principal string) {
	name, isAgent := strings.CutPrefix(principal, authz.KindAgent+":")
	if !isAgent {
		var isService bool
		if name, isService = strings.CutPrefix(principal, authz.KindService+":"); !isService || !d.eng.UnderOrgRules(org, principal) {
			return
		}
	}
	now := time.Now()
	key := org + "/" + principal
	if last, ok := u.seen.Load(key); ok && now.Sub(last.(time.Time)) < useEvery {
		return
	}
	u.seen.Store(key, now)
	u.wg.Add(1)
	go func() {
		defer u.wg.Done()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := d.st.Write(ctx, func(tx store.Tx) error {
			if isAgent {
				_, err := tx.RecordAgentUse(ctx, org, name, now)
				return err
			}
			_, err := tx.RecordServiceUse(ctx, org, name, now)
			return err
		}); err != nil {
			d.opts.Logger.Warn("recording a use failed", "org", org, "principal", principal, "err", err)
		}
	}()
}

// mayRead reports whether the actor may read the org's agents or services
// (kind "agent" or "service"): agents:read or services:read at org scope.
func (o *op) mayRead(kind string) bool {
	return o.need(kind+"s:read", authz.Scope{}) == nil
}

// notASponsor is the refusal to attest of an actor that may not read the
// agent or service (kind) name: the same whether it exists or not, and
// naming no sponsor.
func (o *op) notASponsor(kind, name string) error {
	return errorf(ErrForbidden, o.name, "%s is not a sponsor of %s %s; only a sponsor may attest it", o.actor.Principal, kind, name)
}

// hiddenFromNonReader is err, the failure to read the agent or service
// (kind) name to attest it; a missing one is, to an actor that may not
// read the org's agents or services, the refusal of a non-sponsor, so
// that attesting is no oracle on which exist (a sponsor without read
// access learns nothing either: it is told it is no sponsor).
func (o *op) hiddenFromNonReader(kind, name string, err error) error {
	if errors.Is(err, store.ErrNotFound) && !o.mayRead(kind) {
		return o.notASponsor(kind, name)
	}
	return err
}

// sponsorLoss is what a change takes away from sponsors: a principal
// leaving the org (and so every team), a principal leaving one team, or a
// team going.
type sponsorLoss struct {
	principal  string // leaving the org: a user, agent or service
	team       string // the team's slug that loses teamMember, or goes
	teamMember string // the principal leaving team
	teamGone   bool
}

// mayLendSponsorship checks that the actor may manage (mayManage) every
// agent and service that sponsor (a "team:" id) sponsors, before a
// principal joins that team: the newcomer becomes a present sponsor of
// each — it may attest it, lifting attestation_due and inactive, and a
// team with no members comes back as a sponsor, lifting sponsor_gone —
// which is as much as resuming it by hand (the converse of mayOrphan).
func (o *op) mayLendSponsorship(sponsor string) error {
	return o.eachSponsoredBy([]string{sponsor}, func(principal string, _ *authz.Lifecycle) error {
		return o.mayManage(principal)
	})
}

// eachSponsoredBy calls fn, until it fails, with every agent of the org,
// and every service that has a lifecycle, whose sponsors include one of
// sponsors ("user:<id>", "team:<slug>") — each once, with its lifecycle —
// reading only those (the store's query by sponsor), not the whole org.
func (o *op) eachSponsoredBy(sponsors []string, fn func(principal string, l *authz.Lifecycle) error) error {
	seen := map[string]bool{}
	once := func(p string) bool {
		if seen[p] {
			return false
		}
		seen[p] = true
		return true
	}
	for _, s := range sponsors {
		agents, err := o.tx.ListAgentsSponsoredBy(o.ctx, o.org, s)
		if err != nil {
			return err
		}
		for _, a := range agents {
			if once(a.PrincipalID()) {
				if err := fn(a.PrincipalID(), a.Lifecycle()); err != nil {
					return err
				}
			}
		}
		services, err := o.tx.ListServicesSponsoredBy(o.ctx, o.org, s)
		if err != nil {
			return err
		}
		for _, sv := range services {
			if l := sv.LifecycleOf(); l != nil && once(sv.PrincipalID()) {
				if err := fn(sv.PrincipalID(), l); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// lostSponsors is every sponsor id whose presence loss can change: the
// principal leaving the org (as a "user:" sponsor) and each team it is a
// member of (it may be the last), or the one team losing a member or
// going.
func (o *op) lostSponsors(loss sponsorLoss) ([]string, error) {
	if loss.principal == "" {
		return []string{authz.KindTeam + ":" + loss.team}, nil
	}
	teams, err := o.tx.ListTeamsOf(o.ctx, o.org, loss.principal)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, 1+len(teams))
	out = append(out, loss.principal)
	for _, slug := range teams {
		out = append(out, authz.KindTeam+":"+slug)
	}
	return out, nil
}

// eachSponsored calls fn with every agent of the org and every service
// that has a lifecycle, with its lifecycle (sponsors as the engine counts
// them), until fn fails. It reads the whole org: for the org's rules
// (mayRestate), which concern every one of them.
func (o *op) eachSponsored(fn func(principal string, l *authz.Lifecycle) error) error {
	agents, err := allPages(func(p store.Page) ([]store.Agent, string, error) { return o.tx.ListAgents(o.ctx, o.org, p) })
	if err != nil {
		return err
	}
	for _, a := range agents {
		if err := fn(a.PrincipalID(), a.Lifecycle()); err != nil {
			return err
		}
	}
	services, err := allPages(func(p store.Page) ([]store.Service, string, error) { return o.tx.ListServices(o.ctx, o.org, p) })
	if err != nil {
		return err
	}
	for _, sv := range services {
		if l := sv.LifecycleOf(); l != nil {
			if err := fn(sv.PrincipalID(), l); err != nil {
				return err
			}
		}
	}
	return nil
}

// mayOrphan checks that the actor may suspend (mayManage) every agent and
// service that loss leaves without a present sponsor while it had one: an
// agent or service whose last sponsor goes is suspended (sponsor_gone),
// which is as much as suspending it by hand. Sponsors count as the engine
// counts them (authz: a member user, a team with members). Only those
// sponsored by a sponsor the loss can take away (lostSponsors) are read.
func (o *op) mayOrphan(loss sponsorLoss) error {
	teams := map[string][]string{} // slug → members; nil: no such team
	present := func(s string, after bool) (bool, error) {
		kind, name, _ := splitPrincipal(s)
		switch kind {
		case authz.KindUser:
			if after && s == loss.principal {
				return false, nil
			}
			return o.isMember(s), nil
		case authz.KindTeam:
			if after && loss.teamGone && name == loss.team {
				return false, nil
			}
			ms, seen := teams[name]
			if !seen {
				var err error
				ms, err = allPages(func(p store.Page) ([]string, string, error) { return o.tx.ListTeamMembers(o.ctx, o.org, name, p) })
				if err != nil && !errors.Is(err, store.ErrNotFound) {
					return false, err
				}
				teams[name] = ms
			}
			for _, m := range ms {
				if after && (m == loss.principal || (name == loss.team && m == loss.teamMember)) {
					continue
				}
				return true, nil
			}
		}
		return false, nil
	}
	orphaned := func(sponsors []string) (bool, error) {
		var before, after bool
		for _, s := range sponsors {
			b, err := present(s, false)
			if err != nil {
				return false, err
			}
			a, err := present(s, true)
			if err != nil {
				return false, err
			}
			before, after = before || b, after || a
		}
		return before && !after, nil
	}
	lost, err := o.lostSponsors(loss)
	if err != nil {
		return err
	}
	return o.eachSponsoredBy(lost, func(principal string, l *authz.Lifecycle) error {
		if !l.RequireSponsor { // an agent's always is
			return nil
		}
		gone, err := orphaned(l.Sponsors)
		if err != nil || !gone {
			return err
		}
		return o.mayManage(principal)
	})
}
