package directory

import (
	"context"
	"time"

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
