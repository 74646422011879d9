package directory

import (
	"context"
	"fmt"
	"time"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// Point-in-time decisions (docs/agents.md, "Could they, last Tuesday?"):
// the engine's state of one org at a past revision is rebuilt by replaying
// the changelog — the truth the live engine follows — through the same
// translation the follower uses (policy texts included), and the request
// is decided on it at that moment (expiries and suspensions by the
// instant asked about). The changelog is kept from the org's creation; a
// point before the first entry of the org that the log still holds is
// outside the retention window and is refused with a clear error.

// At names a past point: a revision, or an instant (the newest revision
// committed at or before it). Exactly one is set.
type At struct {
	Revision uint64
	Time     time.Time
}

func (a At) isZero() bool { return a.Revision == 0 && a.Time.IsZero() }

// engineAt rebuilds org as of at: an engine holding only that org, the
// revision it is at and the instant decisions are made at.
func (d *Directory) engineAt(ctx context.Context, org string, at At) (*authz.Engine, uint64, time.Time, error) {
	const name = "point in time"
	switch {
	case at.Revision > 0 && !at.Time.IsZero():
		return nil, 0, time.Time{}, invalid("at_revision", "give at_time or at_revision, not both")
	case at.Revision > d.Revision():
		return nil, 0, time.Time{}, invalid("at_revision", "revision %d is in the future (the newest is %d)", at.Revision, d.Revision())
	case !at.Time.IsZero() && at.Time.After(time.Now()):
		return nil, 0, time.Time{}, invalid("at_time", "%s is in the future", at.Time.Format(time.RFC3339))
	}
	tr := &follower{comp: d.comp}
	known := map[string]bool{}
	isKnown := func(o string) bool { return known[o] }
	var h orgHistory
	var after uint64
	for {
		cs, err := d.st.ChangesSince(ctx, after, store.MaxChangesLimit)
		if err != nil {
			return nil, 0, time.Time{}, mapErr(name, err)
		}
		if len(cs) == 0 {
			break
		}
		for _, c := range cs {
			if at.Revision > 0 && c.Revision > at.Revision || !at.Time.IsZero() && c.CreatedAt.After(at.Time) {
				return h.engine(org, at)
			}
			h.rev, h.when = c.Revision, c.CreatedAt
			if c.Org != org {
				continue
			}
			if !h.born && c.Kind != store.KindOrgPut {
				return nil, 0, time.Time{}, invalid("at", "org %s's history before revision %d is no longer in the changelog: the point asked about is outside the retention window", org, c.Revision)
			}
			out, err := tr.translate(c, isKnown, known)
			if err != nil {
				return nil, 0, time.Time{}, errorf(ErrUnavailable, name, "replaying revision %d: %v", c.Revision, err)
			}
			for i := range out {
				h.apply(&out[i])
			}
		}
		after = cs[len(cs)-1].Revision
	}
	return h.engine(org, at)
}

// orgHistory folds one org's replayed engine changes into its state, which
// is loaded into an engine once at the end (applying them one by one would
// cost an engine write each).
type orgHistory struct {
	born, exists bool
	rev          uint64
	when         time.Time
	d            authz.OrgData // policy and lifecycle
	principals   map[string]authz.Principal
	teams        map[string]authz.Team
	bindings     map[string]authz.Binding
	resources    map[[3]string]authz.Resource
	namespaces   map[string]bool
}

func (h *orgHistory) apply(ch *authz.Change) {
	if ch.Op == authz.OpPutOrg {
		*h = orgHistory{born: true, exists: true, rev: h.rev, when: h.when, d: *ch.Data,
			principals: map[string]authz.Principal{}, teams: map[string]authz.Team{}, bindings: map[string]authz.Binding{},
			resources: map[[3]string]authz.Resource{}, namespaces: map[string]bool{}}
		for _, p := range ch.Data.Principals {
			h.principals[p.ID] = p
		}
		for _, t := range ch.Data.Teams {
			h.teams[t.Slug] = t
		}
		for _, b := range ch.Data.Bindings {
			h.bindings[b.ID] = b
		}
		for _, r := range ch.Data.Resources {
			h.resources[[3]string{r.Namespace, r.Type, r.ID}] = r
		}
		for _, n := range ch.Data.Namespaces {
			h.namespaces[n] = true
		}
		return
	}
	if !h.exists {
		return
	}
	switch ch.Op {
	case authz.OpDeleteOrg:
		h.exists = false
	case authz.OpPutBinding:
		h.bindings[ch.Binding.ID] = ch.Binding
	case authz.OpDeleteBinding:
		delete(h.bindings, ch.ID)
	case authz.OpPutPrincipal:
		h.principals[ch.Principal.ID] = ch.Principal
	case authz.OpDeletePrincipal:
		delete(h.principals, ch.ID)
	case authz.OpPutTeam:
		h.teams[ch.Team.Slug] = ch.Team
	case authz.OpDeleteTeam:
		delete(h.teams, ch.ID)
	case authz.OpPutResource:
		r := ch.Resource
		h.resources[[3]string{r.Namespace, r.Type, r.ID}] = r
	case authz.OpDeleteResource:
		r := ch.Resource
		delete(h.resources, [3]string{r.Namespace, r.Type, r.ID})
	case authz.OpPutNamespace:
		h.namespaces[ch.ID] = true
	case authz.OpDeleteNamespace:
		delete(h.namespaces, ch.ID)
	case authz.OpSetPolicy:
		h.d.Policy = ch.Policy
	case authz.OpSetLifecycle:
		h.d.Lifecycle = *ch.Lifecycle
	}
}

// engine loads the org as replayed into a new engine.
func (h *orgHistory) engine(org string, at At) (*authz.Engine, uint64, time.Time, error) {
	if !h.born {
		return nil, 0, time.Time{}, invalid("at", "org %s did not exist yet at that point", org)
	}
	when := h.when
	if !at.Time.IsZero() {
		when = at.Time
	}
	eng := authz.New()
	if !h.exists {
		return eng, h.rev, when, nil // deleted by then: nothing is allowed
	}
	d := authz.OrgData{Org: org, Policy: h.d.Policy, Lifecycle: h.d.Lifecycle}
	for n := range h.namespaces {
		d.Namespaces = append(d.Namespaces, n)
	}
	for _, p := range h.principals {
		d.Principals = append(d.Principals, p)
	}
	for _, t := range h.teams {
		d.Teams = append(d.Teams, t)
	}
	for _, b := range h.bindings {
		d.Bindings = append(d.Bindings, b)
	}
	for _, r := range h.resources {
		d.Resources = append(d.Resources, r)
	}
	if err := eng.LoadOrg(max(h.rev, 1), d); err != nil {
		return nil, 0, time.Time{}, errorf(ErrUnavailable, "point in time", "rebuilding org %s: %v", org, err)
	}
	return eng, h.rev, when, nil
}

// ExplainAt decides and explains req as it would have been at the point
// at: the org's state then (policy, members, bindings...), and that
// instant for expiries and suspensions. Asking needs what asking now
// needs (yourself, or bindings:read in the namespace). Errors: as
// Explain, plus ErrInvalid for a point in the future, before the org
// existed or outside the retention window.
func (d *Directory) ExplainAt(ctx context.Context, actor Actor, req authz.Request, at At) (authz.Explanation, error) {
	if at.isZero() {
		return d.Explain(ctx, actor, req, 0)
	}
	if err := d.decide(ctx, "explain", req.Org, actor, req.Principal, req.Namespace, 0); err != nil {
		return authz.Explanation{}, err
	}
	eng, rev, when, err := d.engineAt(ctx, req.Org, at)
	if err != nil {
		return authz.Explanation{}, err
	}
	req.Now = when
	ex := eng.Explain(&req)
	ex.Decision.Revision = rev
	ex.Summary = fmt.Sprintf("At revision %d (%s): %s", rev, when.UTC().Format(time.RFC3339), ex.Summary)
	return ex, nil
}

// CheckAt is ExplainAt's decision.
func (d *Directory) CheckAt(ctx context.Context, actor Actor, req authz.Request, at At) (authz.Decision, error) {
	if at.isZero() {
		return d.Check(ctx, actor, req, 0)
	}
	ex, err := d.ExplainAt(ctx, actor, req, at)
	return ex.Decision, err
}
