package directory

import (
	"context"
	"io"
	"log/slog"
	"slices"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/internal/store"
	"github.com/gatehouse-dev/gatehouse/policy"
)

// Test-only hooks.

// Clock is FollowAudit's time source, for fakes.
type Clock = clock

// SetClockForTest makes d's FollowAudit use c. Call it before using d
// concurrently.
func SetClockForTest(d *Directory, c Clock) { d.clk = c }

// SetAfterPrefetchOutsideForTest makes d run fn between a batch's read of
// its facts before the write lock and its write transaction. Call it
// before using d concurrently.
func SetAfterPrefetchOutsideForTest(d *Directory, fn func()) { d.afterPrefetchOutside = fn }

// AuditRecheck is how often FollowAudit reads again unprompted.
const AuditRecheck = auditRecheck

// EngineForTest is the engine d feeds (outside tests, nobody holds it:
// questions go through the directory's methods).
func EngineForTest(d *Directory) *authz.Engine { return d.eng }

// DisableRuleForTest switches off one rule of DESIGN §1.2 ("level",
// "subset", "target" or "last-owner") so that tests can show the property
// tests detect its absence. Call it before using d concurrently.
func DisableRuleForTest(d *Directory, name string) {
	if d.disabled == nil {
		d.disabled = map[rule]bool{}
	}
	switch name {
	case "level":
		d.disabled[ruleLevel] = true
	case "subset":
		d.disabled[ruleSubset] = true
	case "target":
		d.disabled[ruleTarget] = true
	case "last-owner":
		d.disabled[ruleLastOwner] = true
	default:
		panic("unknown rule " + name)
	}
}

// ReloadsForTest is how many times the follower reloaded an org after the
// initial load.
func ReloadsForTest(d *Directory) uint64 { return d.fol.reloads.Load() }

// CatchUpForTest builds an engine holding snap (an org snapshot) at its
// revision and returns a function that makes a follower catch that engine
// up with st's changelog, returning the revision reached: the second
// process's catch-up, without its initial load.
func CatchUpForTest(st store.Store, snap *store.OrgSnapshot) (*authz.Engine, func(ctx context.Context) (uint64, error), error) {
	comp := &compiler{}
	eng := authz.New()
	var m *policy.Model
	if snap.Policy.Version > 0 {
		m = comp.engineModel(snap.Policy.Text)
	}
	if err := eng.LoadOrg(snap.Revision, snap.OrgData(m)); err != nil {
		return nil, nil, err
	}
	f := newFollower(st, eng, comp, slog.New(slog.NewTextHandler(io.Discard, nil)))
	f.cursor = snap.Revision
	f.known[snap.Org.ID] = true
	return eng, func(ctx context.Context) (uint64, error) {
		err := f.catchUp(ctx, 0)
		return eng.Revision(), err
	}, nil
}

// AppliedBatch is one batch the engine applied: the revisions after
// Cursor up to N, and the changes applied with them.
type AppliedBatch struct {
	Cursor, N uint64
	Changes   []store.Change
}

// SetOnApplyForTest makes d call fn with every batch its engine applies,
// in the order applied (under the follower's lock: fn must be quick and
// must not call d). Call it before using d concurrently.
func SetOnApplyForTest(d *Directory, fn func(AppliedBatch)) {
	d.fol.mu.Lock()
	defer d.fol.mu.Unlock()
	d.fol.onApply = func(b *batch) {
		fn(AppliedBatch{Cursor: b.cursor, N: b.n, Changes: slices.Clone(b.changes)})
	}
}

// AllPages collects every row of a paged store list, as the directory does.
func AllPages[T any](list func(p store.Page) ([]T, string, error)) ([]T, error) {
	return allPages(list)
}

// SetSnapshotEveryForTest sets how many of an org's changes separate two
// engine snapshots (Options.SnapshotEvery). Call it before using d
// concurrently.
func SetSnapshotEveryForTest(d *Directory, n int) { d.opts.SnapshotEvery = n }

// SnapshotOrgForTest runs the snapshotter's work for org now and reports
// how many snapshots it stored.
func SnapshotOrgForTest(ctx context.Context, d *Directory, org string) (int, error) {
	return d.writeSnapshots(ctx, org)
}

// ReplayOnlyForTest makes d's point-in-time reads ignore snapshots and
// replay from the org's creation. Call it before using d concurrently.
func ReplayOnlyForTest(d *Directory) { d.noSnapshots = true }

// UnusableSnapshotsForTest is how many stored snapshots d found that did
// not decode.
func UnusableSnapshotsForTest(d *Directory) uint64 { return d.snapBad.Load() }

// ReplayedForTest is how many changelog entries d replayed for points in
// time.
func ReplayedForTest(d *Directory) uint64 { return d.pitReplayed.Load() }

// DropPastEnginesForTest empties d's cache of past engines (and of the
// engines built from snapshots, which share it).
func DropPastEnginesForTest(d *Directory) {
	d.pit.mu.Lock()
	defer d.pit.mu.Unlock()
	d.pit.entries, d.pit.size = nil, 0
}

// CheckNewResourceIDForTest is checkNewResourceID.
func CheckNewResourceIDForTest(id string) error { return checkNewResourceID("id", id) }
