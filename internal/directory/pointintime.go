package directory

import (
	"context"
	"errors"
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
// revision it is at and the instant decisions are made at. The org's
// state comes from its newest engine snapshot at or before the point
// (snapshot.go; none, or one that does not decode: from the org's first
// changelog entry) plus the org's changelog entries after it up to the
// point. The engine built from a snapshot is cached and each point after
// it starts from a fork of it (authz.Engine.Fork) with the changes up to
// the point applied, so only the first point after a snapshot pays for
// building the org; recently built past engines are cached too
// (pitCache).
func (d *Directory) engineAt(ctx context.Context, org string, at At) (*authz.Engine, uint64, time.Time, error) {
	switch {
	case at.Revision > 0 && !at.Time.IsZero():
		return nil, 0, time.Time{}, invalid("at_revision", "give at_time or at_revision, not both")
	case at.Revision > d.Revision():
		return nil, 0, time.Time{}, invalid("at_revision", "revision %d is in the future (the newest is %d)", at.Revision, d.Revision())
	case !at.Time.IsZero() && at.Time.After(time.Now()):
		return nil, 0, time.Time{}, invalid("at_time", "%s is in the future", at.Time.Format(time.RFC3339))
	}
	key := pitKey{org: org, rev: at.Revision}
	if !at.Time.IsZero() {
		key.at = at.Time.UnixNano()
	}
	if e, ok := d.pit.get(key); ok {
		return e.eng, e.rev, e.when, nil
	}
	h, err := d.historyAt(ctx, org, at, true)
	if err != nil {
		return nil, 0, time.Time{}, err
	}
	if !h.born {
		// Name the member the caller sent, and the point, so that the
		// answer says which of at_time / at_revision to move.
		if at.Revision > 0 {
			return nil, 0, time.Time{}, invalid("at_revision", "org %s did not exist yet at revision %d", org, at.Revision)
		}
		return nil, 0, time.Time{}, invalid("at_time", "org %s did not exist yet at %s", org, at.Time.Format(time.RFC3339))
	}
	rev, when := h.rev, at.Time
	settled := true // a committed revision's past cannot change
	if at.Revision > 0 {
		// The decision instant is the commit time of the revision asked
		// about, not of the org's last change before it.
		rev = at.Revision
		when = h.when
		if t, err := d.st.RevisionTime(ctx, at.Revision); err == nil && t.After(when) {
			when = t
		}
	} else {
		// An instant is settled once a revision committed well after it
		// (writers take their commit time under the write lock, so
		// nothing can commit before it any more).
		t, err := d.st.RevisionTime(ctx, d.Revision())
		settled = err == nil && at.Time.Before(t.Add(-pitSettle))
	}
	eng, err := h.engine(org, rev)
	if errors.Is(err, errForkRefused) {
		// The engine refused the changes after the snapshot as one
		// batch: fold them into the snapshot's decoded state and build
		// the org whole, which answers (or errs) as before.
		d.opts.Logger.Warn("directory: point in time from a cached engine failed; rebuilding the org", "org", org, "err", err)
		if h, err = d.historyAt(ctx, org, at, false); err == nil {
			eng, err = h.engine(org, rev)
		}
	}
	if err != nil {
		return nil, 0, time.Time{}, err
	}
	if settled {
		d.pit.put(key, pitEntry{eng: eng, rev: rev, when: when, size: h.facts()})
	}
	return eng, rev, when, nil
}

// pitSettle is how long after an instant a commit must be for the instant
// to be cached (commit times of several processes come from their clocks).
const pitSettle = time.Minute

// historyAt replays org up to the point at: from its newest snapshot at or
// before it when one decodes, else from the org's first changelog entry
// (which must be its creation: otherwise the point is outside the
// retention window). With fork set, a snapshot is used through the engine
// built from it (cached, see snapshotEngine): the history keeps the
// changes after it for a fork of that engine.
func (d *Directory) historyAt(ctx context.Context, org string, at At, fork bool) (*orgHistory, error) {
	const name = "point in time"
	var h *orgHistory
	if !d.noSnapshots {
		snap, err := d.st.EngineSnapshotAt(ctx, org, at.Revision, at.Time)
		switch {
		case err == nil && fork:
			h, err = d.snapshotEngine(org, snap)
			if err != nil {
				d.snapBad.Add(1)
				d.opts.Logger.Warn("directory: engine snapshot unusable; replaying the changelog", "org", org, "revision", snap.Revision, "err", err)
				h = nil
			}
		case err == nil:
			h, err = d.decodeSnapshot(org, snap)
			if err != nil {
				d.snapBad.Add(1)
				d.opts.Logger.Warn("directory: engine snapshot unusable; replaying the changelog", "org", org, "revision", snap.Revision, "err", err)
				h = nil
			}
		case errors.Is(err, store.ErrNotFound):
		default:
			return nil, mapErr(name, err)
		}
	}
	if h == nil {
		h = newOrgHistory()
	}
	n, err := d.replay(ctx, org, h, func(c store.Change) bool {
		return at.Revision > 0 && c.Revision > at.Revision || !at.Time.IsZero() && c.CreatedAt.After(at.Time)
	})
	d.pitReplayed.Add(uint64(n))
	if err != nil {
		return nil, err
	}
	if n >= d.snapEvery() {
		d.snaps.due(org) // the next point near here replays less
	}
	return h, nil
}

// snapshotEngine returns a history that starts at snap from the engine
// built from it: cached under the snapshot's org and revision (stored
// snapshots never change), else decoded and built now and cached. The
// cache entry costs what the org's engine costs, in the same budget as
// the past engines (pitCache); while later points fork it, it stays.
func (d *Directory) snapshotEngine(org string, snap store.EngineSnapshot) (*orgHistory, error) {
	key := pitKey{org: org, rev: snap.Revision, snapshot: true}
	e, ok := d.pit.get(key)
	if !ok {
		sh, err := d.decodeSnapshot(org, snap)
		if err != nil {
			return nil, err
		}
		eng, err := sh.engine(org, sh.rev)
		if err != nil {
			return sh, nil // building it fails: as the folded history will, with the same error
		}
		e = pitEntry{eng: eng, rev: sh.rev, when: sh.when, size: sh.facts(), born: sh.born, exists: sh.exists}
		d.pit.put(key, e)
	}
	h := newOrgHistory()
	h.born, h.exists, h.rev, h.when = e.born, e.exists, e.rev, e.when
	h.from, h.fromFacts = e.eng, e.size
	return h, nil
}

// decodeSnapshot decodes a stored snapshot and compiles its policy.
func (d *Directory) decodeSnapshot(org string, snap store.EngineSnapshot) (*orgHistory, error) {
	h, err := decodeSnapshot(org, snap.Data)
	if err != nil {
		return nil, err
	}
	if h.rev != snap.Revision {
		return nil, fmt.Errorf("%w: it says revision %d, stored as %d", errSnapshot, h.rev, snap.Revision)
	}
	if h.hasPolicy {
		h.d.Policy = d.comp.engineModel(h.policyText)
	}
	return h, nil
}

// replay applies org's changelog entries after h.rev to h, in order,
// until stop says an entry is past the point (or the log ends). It
// reports how many entries it applied.
func (d *Directory) replay(ctx context.Context, org string, h *orgHistory, stop func(store.Change) bool) (int, error) {
	const name = "point in time"
	tr := &follower{comp: d.comp}
	isKnown := func(string) bool { return h.exists }
	scratch := map[string]bool{}
	n := 0
	after := h.rev
	for {
		cs, err := d.st.OrgChangesSince(ctx, org, after, replayPage)
		if err != nil {
			return n, mapErr(name, err)
		}
		if len(cs) == 0 {
			return n, nil
		}
		for _, c := range cs {
			if stop != nil && stop(c) {
				return n, nil
			}
			if !h.born && c.Kind != store.KindOrgPut {
				return n, invalid("at", "org %s's history before revision %d is no longer in the changelog: the point asked about is outside the retention window", org, c.Revision)
			}
			out, err := tr.translate(c, isKnown, scratch)
			if err != nil {
				return n, errorf(ErrUnavailable, name, "replaying revision %d: %v", c.Revision, err)
			}
			for i := range out {
				h.apply(&out[i])
			}
			if h.from != nil {
				h.delta = append(h.delta, out...)
			}
			if c.Kind == store.KindPolicyPut && h.exists {
				v, err := c.Decode()
				if err != nil {
					return n, errorf(ErrUnavailable, name, "replaying revision %d: %v", c.Revision, err)
				}
				h.policyText, h.hasPolicy = v.(store.Policy).Text, true
			}
			h.rev, h.when = c.Revision, c.CreatedAt
			n++
		}
		after = cs[len(cs)-1].Revision
	}
}

// replayPage is how many changelog entries a replay reads at a time: what
// it reads past the point is wasted.
const replayPage = 1000

// orgHistory folds one org's replayed engine changes into its state, which
// is loaded into an engine once at the end (applying them one by one would
// cost an engine write each). rev and when are the revision and commit
// time of the last change applied (or of the snapshot it started from).
type orgHistory struct {
	born, exists bool
	rev          uint64
	when         time.Time
	d            authz.OrgData // policy and lifecycle
	hasPolicy    bool          // a policy was set (policyText, compiled in d.Policy)
	policyText   string
	principals   map[string]authz.Principal
	teams        map[string]authz.Team
	// The org's bindings are base (decoded from a snapshot, sorted by id)
	// without the ids in dropped or in bindings, plus bindings: a
	// snapshot's bindings are never loaded into a map.
	base       []authz.Binding
	bindings   map[string]authz.Binding
	dropped    map[string]bool
	resources  map[[3]string]authz.Resource
	namespaces map[string]bool
	// A history started from an engine built from a snapshot (from,
	// holding fromFacts facts; see snapshotEngine) also keeps the engine
	// changes replayed after it, delta, for a fork of that engine: its
	// maps then hold only what changed since the snapshot.
	from      *authz.Engine
	fromFacts int
	delta     []authz.Change
}

// errForkRefused: the engine refused the changes replayed after a
// snapshot when applied to a fork of the snapshot's engine.
var errForkRefused = errors.New("the changes after the snapshot do not apply to its engine")

func newOrgHistory() *orgHistory {
	return &orgHistory{principals: map[string]authz.Principal{}, teams: map[string]authz.Team{}, bindings: map[string]authz.Binding{}, dropped: map[string]bool{},
		resources: map[[3]string]authz.Resource{}, namespaces: map[string]bool{}}
}

func (h *orgHistory) apply(ch *authz.Change) {
	if ch.Op == authz.OpPutOrg {
		rev, when, from, fromFacts, delta := h.rev, h.when, h.from, h.fromFacts, h.delta
		*h = *newOrgHistory()
		h.born, h.exists, h.rev, h.when, h.d = true, true, rev, when, *ch.Data
		h.from, h.fromFacts, h.delta = from, fromFacts, delta
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
		delete(h.dropped, ch.Binding.ID)
	case authz.OpDeleteBinding:
		delete(h.bindings, ch.ID)
		if h.base != nil {
			h.dropped[ch.ID] = true
		}
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

// allBindings lists the org's bindings (base first, in id order). With
// no change over the base it is the base itself.
func (h *orgHistory) allBindings() []authz.Binding {
	if len(h.bindings) == 0 && len(h.dropped) == 0 {
		return h.base
	}
	out := make([]authz.Binding, 0, len(h.base)+len(h.bindings))
	for _, b := range h.base {
		if len(h.bindings) > 0 {
			if _, put := h.bindings[b.ID]; put {
				continue
			}
		}
		if len(h.dropped) > 0 && h.dropped[b.ID] {
			continue
		}
		out = append(out, b)
	}
	for _, b := range h.bindings {
		out = append(out, b)
	}
	return out
}

// facts is about how many facts the org holds (bindings, principals,
// teams, resources).
func (h *orgHistory) facts() int {
	return h.fromFacts + len(h.base) + len(h.bindings) - len(h.dropped) + len(h.principals) + len(h.teams) + len(h.resources)
}

// engine loads the org as replayed into a new engine at revision rev.
func (h *orgHistory) engine(org string, rev uint64) (*authz.Engine, error) {
	if !h.exists {
		return authz.New(), nil // deleted by then: nothing is allowed
	}
	if h.from != nil {
		eng := h.from.Fork()
		switch rev := max(rev, 1); {
		case rev > eng.Revision():
			if err := eng.Apply(rev, h.delta...); err != nil {
				return nil, fmt.Errorf("%w: %w", errForkRefused, err)
			}
		case len(h.delta) > 0: // changes at or before the snapshot's revision: never expected
			return nil, fmt.Errorf("%w: %d changes, but revision %d is not after the snapshot's %d", errForkRefused, len(h.delta), rev, eng.Revision())
		}
		return eng, nil
	}
	eng := authz.New()
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
	d.Bindings = h.allBindings()
	for _, r := range h.resources {
		d.Resources = append(d.Resources, r)
	}
	if err := eng.LoadOrg(max(rev, 1), d); err != nil {
		return nil, errorf(ErrUnavailable, "point in time", "rebuilding org %s: %v", org, err)
	}
	return eng, nil
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

// LookupResourcesAt is LookupResources as it would have been at the point
// at (the org's state then; expiries and suspensions judged at that
// instant; the page's Revision is the revision answered at). Asking needs
// what asking now needs. A page token is for the same point only. Errors:
// as LookupResources, plus those of ExplainAt for the point.
func (d *Directory) LookupResourcesAt(ctx context.Context, actor Actor, q authz.LookupResourcesRequest, at At) (authz.LookupResourcesPage, error) {
	if at.isZero() {
		return d.LookupResources(ctx, actor, q, 0)
	}
	if err := d.mayLookupResources(ctx, actor, q, 0); err != nil {
		return authz.LookupResourcesPage{}, err
	}
	eng, rev, when, err := d.engineAt(ctx, q.Org, at)
	if err != nil {
		return authz.LookupResourcesPage{}, err
	}
	q.Now = when
	page, err := eng.LookupResources(q)
	page.Revision = rev
	return page, principalErr("lookup resources", q.Org, q.Principal, err)
}

// LookupSubjectsAt is LookupSubjects as it would have been at the point
// at, with the reason for an unknown namespace (authz.ReasonUnknownNamespace,
// after the caller may ask); the revision returned is the one answered at.
func (d *Directory) LookupSubjectsAt(ctx context.Context, actor Actor, q authz.LookupSubjectsRequest, at At) ([]authz.Subject, authz.Reason, uint64, error) {
	if at.isZero() {
		return d.lookupSubjects(ctx, actor, q, 0)
	}
	if err := d.decide(ctx, "lookup subjects", q.Org, actor, "", q.Namespace, 0); err != nil {
		return nil, "", 0, err
	}
	eng, rev, when, err := d.engineAt(ctx, q.Org, at)
	if err != nil {
		return nil, "", 0, err
	}
	q.Now = when
	subs, reason, _, err := eng.LookupSubjectsWithReason(q)
	return subs, reason, rev, engineErr("lookup subjects", err)
}
