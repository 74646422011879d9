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
	eng := authz.New()
	known := map[string]bool{}
	isKnown := func(o string) bool { return known[o] }
	var rev uint64
	var when time.Time
	born := false
	var after uint64
	for {
		cs, err := d.st.ChangesSince(ctx, after, store.MaxChangesLimit)
		if err != nil {
			return nil, 0, time.Time{}, mapErr(name, err)
		}
		if len(cs) == 0 {
			break
		}
		for i := 0; i < len(cs); {
			j := i
			for j < len(cs) && cs[j].Revision == cs[i].Revision {
				j++
			}
			batch := cs[i:j]
			i = j
			if at.Revision > 0 && batch[0].Revision > at.Revision || !at.Time.IsZero() && batch[0].CreatedAt.After(at.Time) {
				return d.finishAt(eng, born, org, at, rev, when)
			}
			var chs []authz.Change
			for _, c := range batch {
				if c.Org != org {
					continue
				}
				if !born && c.Kind != store.KindOrgPut {
					return nil, 0, time.Time{}, invalid("at", "org %s's history before revision %d is no longer in the changelog: the point asked about is outside the retention window", org, c.Revision)
				}
				born = true
				out, err := tr.translate(c, isKnown, known)
				if err != nil {
					return nil, 0, time.Time{}, errorf(ErrUnavailable, name, "replaying revision %d: %v", c.Revision, err)
				}
				chs = append(chs, out...)
			}
			if len(chs) > 0 {
				if err := eng.Apply(batch[0].Revision, chs...); err != nil {
					return nil, 0, time.Time{}, errorf(ErrUnavailable, name, "replaying revision %d: %v", batch[0].Revision, err)
				}
			}
			rev, when = batch[0].Revision, batch[0].CreatedAt
		}
		after = cs[len(cs)-1].Revision
	}
	return d.finishAt(eng, born, org, at, rev, when)
}

func (d *Directory) finishAt(eng *authz.Engine, born bool, org string, at At, rev uint64, when time.Time) (*authz.Engine, uint64, time.Time, error) {
	if !born {
		return nil, 0, time.Time{}, invalid("at", "org %s did not exist yet at that point", org)
	}
	if !at.Time.IsZero() {
		when = at.Time
	}
	return eng, rev, when, nil
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
