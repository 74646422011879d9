package store

import (
	"context"
	"time"
)

// EngineSnapshot is one org's engine state as of a revision, encoded by
// the directory (internal/directory/snapshot.go; the store treats Data as
// opaque bytes). Snapshots are derived data for point-in-time decisions:
// they are written without a revision and outside the changelog, and a
// reader must be able to do without any of them (replaying the changelog).
type EngineSnapshot struct {
	Org       string
	Revision  uint64    // the org's state includes every change ≤ Revision
	CreatedAt time.Time // the commit time of Revision
	Data      []byte
}

// MaxSnapshotBytes bounds one engine snapshot.
const MaxSnapshotBytes = 1 << 30

// SnapshotStore keeps engine snapshots and reads one org's changelog.
type SnapshotStore interface {
	// PutEngineSnapshot stores s, outside the revision counter and the
	// changelog (one short write transaction). A snapshot already stored
	// for the same org and revision is kept as it is (a second writer
	// derives the same state). ErrInvalid for a malformed org, revision 0,
	// a zero time, empty data or data over MaxSnapshotBytes.
	PutEngineSnapshot(ctx context.Context, s EngineSnapshot) error
	// EngineSnapshotAt returns the org's newest snapshot whose Revision is
	// ≤ rev (when rev > 0) and whose CreatedAt is ≤ at (when at is not
	// zero). ErrNotFound if there is none.
	EngineSnapshotAt(ctx context.Context, org string, rev uint64, at time.Time) (EngineSnapshot, error)
	// DeleteEngineSnapshots deletes the org's snapshots of revisions below
	// `below` (math.MaxUint64: all of them) and reports how many it
	// deleted: a retention job that cuts the changelog cuts its snapshots
	// with it.
	DeleteEngineSnapshots(ctx context.Context, org string, below uint64) (int, error)
	// OrgChangesSince is ChangesSince restricted to one org's entries:
	// revisions after `after`, ordered by (revision, seq), whole revisions
	// only, about limit entries (0 means DefaultChangesLimit). ErrInvalid
	// for a limit outside 0..MaxChangesLimit.
	OrgChangesSince(ctx context.Context, org string, after uint64, limit int) ([]Change, error)
	// RevisionTime is the commit time of the newest revision ≤ rev that
	// the changelog holds entries of (the created_at of its entries): the
	// instant the deployment was at rev. ErrNotFound if it holds none.
	RevisionTime(ctx context.Context, rev uint64) (time.Time, error)
}
