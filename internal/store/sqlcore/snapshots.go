package sqlcore

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// Engine snapshots and one org's changelog (store/snapshots.go).

// farFuture stands for "no bound" on a time column.
var farFuture = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)

// PutEngineSnapshot implements store.SnapshotStore: one short write
// transaction, outside the revision counter and the changelog.
func (s *Store) PutEngineSnapshot(ctx context.Context, snap store.EngineSnapshot) error {
	const op = "put engine snapshot"
	c := checks{op: op}
	c.org(snap.Org)
	c.need(snap.Revision > 0 && snap.Revision <= math.MaxInt64, "revision %d is out of range", snap.Revision)
	c.need(!snap.CreatedAt.IsZero(), "created_at is required")
	c.need(len(snap.Data) > 0, "data is empty")
	c.need(len(snap.Data) <= store.MaxSnapshotBytes, "data is larger than %d bytes", store.MaxSnapshotBytes)
	if c.err != nil {
		return c.err
	}
	if s.closed.Load() {
		return store.Errorf(store.ErrBackend, op, "store is closed", nil)
	}
	conn, err := s.b.BeginWrite(ctx)
	if err != nil {
		return s.dbErr(ctx, op, "begin", err)
	}
	done := false
	defer func() {
		if !done {
			_ = conn.Rollback(context.WithoutCancel(ctx))
		}
	}()
	if _, err := conn.Exec(ctx, `INSERT INTO engine_snapshots (org, revision, created_at, payload) VALUES ($1, $2, $3, $4)
		ON CONFLICT (org, revision) DO NOTHING`,
		snap.Org, int64(snap.Revision), s.b.TimeArg(snap.CreatedAt.UTC().Truncate(time.Microsecond)), snap.Data); err != nil {
		return s.dbErr(ctx, op, "", err)
	}
	done = true
	if err := conn.Commit(ctx); err != nil {
		return s.dbErr(ctx, op, "commit", err)
	}
	return nil
}

// EngineSnapshotAt implements store.SnapshotStore.
func (s *Store) EngineSnapshotAt(ctx context.Context, org string, rev uint64, at time.Time) (store.EngineSnapshot, error) {
	const op = "engine snapshot"
	if rev == 0 || rev > math.MaxInt64 {
		rev = math.MaxInt64
	}
	if at.IsZero() || at.After(farFuture) {
		at = farFuture
	}
	return get(ctx, s.reader, op, fmt.Sprintf("snapshot of org %q", org), scanSnapshot,
		`SELECT org, revision, created_at, payload FROM engine_snapshots
		WHERE org = $1 AND revision <= $2 AND created_at <= $3 ORDER BY revision DESC LIMIT 1`,
		org, int64(rev), s.b.TimeArg(at.UTC()))
}

func scanSnapshot(r Rows) (store.EngineSnapshot, error) {
	var snap store.EngineSnapshot
	var rev int64
	if err := r.Scan(&snap.Org, &rev, scanTime(&snap.CreatedAt), &snap.Data); err != nil {
		return snap, err
	}
	snap.Revision = uint64(rev)
	return snap, nil
}

// DeleteEngineSnapshots implements store.SnapshotStore.
func (s *Store) DeleteEngineSnapshots(ctx context.Context, org string, below uint64) (int, error) {
	const op = "delete engine snapshots"
	if below > math.MaxInt64 {
		below = math.MaxInt64
	}
	if s.closed.Load() {
		return 0, store.Errorf(store.ErrBackend, op, "store is closed", nil)
	}
	conn, err := s.b.BeginWrite(ctx)
	if err != nil {
		return 0, s.dbErr(ctx, op, "begin", err)
	}
	done := false
	defer func() {
		if !done {
			_ = conn.Rollback(context.WithoutCancel(ctx))
		}
	}()
	n, err := conn.Exec(ctx, `DELETE FROM engine_snapshots WHERE org = $1 AND revision < $2`, org, int64(below))
	if err != nil {
		return 0, s.dbErr(ctx, op, "", err)
	}
	done = true
	if err := conn.Commit(ctx); err != nil {
		return 0, s.dbErr(ctx, op, "commit", err)
	}
	return int(n), nil
}

// OrgChangesSince implements store.SnapshotStore (the changelog_org index
// on (org, revision, seq) answers it in order).
func (s *Store) OrgChangesSince(ctx context.Context, org string, after uint64, limit int) ([]store.Change, error) {
	limit, err := changesLimit("org changes since", after, limit)
	if err != nil {
		return nil, err
	}
	return s.changesPage(ctx, s.b, limit,
		`SELECT `+changeCols+` FROM changelog WHERE org = $1 AND revision > $2 ORDER BY org, revision, seq LIMIT $3`, []any{org, int64(after)},
		`SELECT `+changeCols+` FROM changelog WHERE org = $1 AND revision = $2 AND seq > $3 ORDER BY org, revision, seq`, []any{org})
}

// RevisionTime implements store.SnapshotStore.
func (s *Store) RevisionTime(ctx context.Context, rev uint64) (time.Time, error) {
	const op = "revision time"
	if rev == 0 {
		return time.Time{}, store.Errorf(store.ErrNotFound, op, "revision 0", nil)
	}
	rev = min(rev, math.MaxInt64)
	return get(ctx, s.reader, op, fmt.Sprintf("revision %d", rev), func(r Rows) (time.Time, error) {
		var t time.Time
		return t, r.Scan(scanTime(&t))
	}, `SELECT created_at FROM changelog WHERE revision <= $1 ORDER BY revision DESC, seq DESC LIMIT 1`, int64(rev))
}
