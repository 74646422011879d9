// Package sqlcore implements store.Store once, in SQL that both SQLite and
// PostgreSQL accept ($N placeholders, row-value comparisons, ON CONFLICT,
// RETURNING), over a small Backend interface that each dialect package
// (internal/store/sqlite, internal/store/postgres) provides.
//
// Invariants:
//   - Every org-scoped statement has `org = $N` in its WHERE clause (or
//     inserts the org the call named); org comes from the call, never from a
//     cursor or a stored row.
//   - Writes run only inside Store.Write, under Backend.BeginWrite's
//     deployment-wide write lock, or inside Store.WriteOrg, which may
//     change one org only and, on an OrgLocker with Options.OrgWrites,
//     holds that lock shared plus its org's, and takes its revision last
//     under the revision lock (orgwrite.go). Each Tx write method validates its input
//     and checks existence and uniqueness with reads first (race-free under
//     the lock), and only then mutates; so the expected errors
//     (ErrInvalid, ErrNotFound, ErrConflict, ErrRefused) leave the
//     transaction untouched, while any failed statement (a read or a
//     mutation) poisons the transaction: every later call and the Write
//     itself fail, and the Write rolls back even if the callback ignored
//     the error.
//   - A Write commits its changelog rows, the revision counter and (on
//     PostgreSQL) the notification in the same transaction as its changes.
//   - Driver errors never reach a message; they are kept as the cause.
package sqlcore

import (
	"context"
	"errors"
	"time"
)

// Querier runs statements. SQL uses $1.. placeholders.
type Querier interface {
	Exec(ctx context.Context, sql string, args ...any) (int64, error)
	Query(ctx context.Context, sql string, args ...any) (Rows, error)
}

// Rows is a result set; Close is idempotent.
type Rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
	Close()
}

// Conn is an open transaction.
type Conn interface {
	Querier
	Commit(ctx context.Context) error
	Rollback(ctx context.Context) error
}

// Backend is what a dialect provides.
type Backend interface {
	// Querier runs single statements outside transactions (reads).
	Querier
	// BeginWrite starts a transaction holding the deployment-wide write
	// lock (held until Commit or Rollback), so that write transactions
	// commit one at a time, in revision order, across every process.
	BeginWrite(ctx context.Context) (Conn, error)
	// BeginRead starts a read-only transaction that sees one consistent
	// snapshot.
	BeginRead(ctx context.Context) (Conn, error)
	// NotifyInTx wakes other processes' watchers when the transaction
	// commits (PostgreSQL: pg_notify); a no-op where there are none.
	NotifyInTx(ctx context.Context, q Querier, rev uint64) error
	// TimeArg converts a time for a statement argument.
	TimeArg(t time.Time) any
	// Classify maps a driver error to store.ErrConflict (unique
	// violation), store.ErrRefused (foreign key violation), or nil.
	Classify(err error) error
	// Close releases the backend's connections.
	Close() error
}

// LockHolderReader is implemented by a Backend whose plain reads may wait
// behind the writers queued on the write lock (PostgreSQL: they hold
// pooled connections while they wait). It returns a Querier reserved for
// the holder of the write lock, for Tx.Committed. A Backend without it
// serves Tx.Committed with its own reads (SQLite: the reader pool, which
// writers never hold).
type LockHolderReader interface {
	LockHolderQuerier() Querier
}

// OrgLocker is implemented by a Backend whose write transactions of
// different orgs can run concurrently (PostgreSQL; see orgwrite.go for the
// locks and why revisions still commit in order).
type OrgLocker interface {
	// BeginOrgWrite starts a transaction that holds the structure lock
	// shared (BeginWrite takes it exclusive) and then org's lock
	// exclusive, both until Commit or Rollback.
	BeginOrgWrite(ctx context.Context, org string) (Conn, error)
	// CommitRevision ends c's transaction (orgwrite.go, the tail): it
	// takes the revision lock (held to the commit), then, in statements
	// that start after the lock is granted, sets the revision to the
	// committed one + 1, runs renumber (which names that new revision as
	// RevisionSQL), refusing to commit unless it changed want rows,
	// notifies other processes, and commits. It returns the new
	// revision. On an error the caller rolls c back (a no-op if the
	// COMMIT itself failed).
	CommitRevision(ctx context.Context, c Conn, renumber Stmt, want int64) (int64, error)
}

// RevisionSQL is the store's revision as an SQL expression, for a
// statement of CommitRevision's renumber: after its UPDATE, its own.
const RevisionSQL = `(SELECT revision FROM store_revision WHERE id = 1)`

// Options tune the core.
type Options struct {
	// PollInterval is how often Watch polls the revision as a safety net
	// (and, on SQLite, to see other processes' writes). 0 means 1s.
	PollInterval time.Duration
	// OrgWrites makes Store.WriteOrg run concurrently with other orgs'
	// where the Backend is an OrgLocker; off, WriteOrg is Write.
	OrgWrites bool
}

var errNoRows = errors.New("no rows")

// queryRow runs a query expected to return at most one row and scans it;
// errNoRows if none.
func queryRow(ctx context.Context, q Querier, sql string, args []any, dest ...any) error {
	rows, err := q.Query(ctx, sql, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return err
		}
		return errNoRows
	}
	if err := rows.Scan(dest...); err != nil {
		return err
	}
	rows.Close()
	return rows.Err()
}
