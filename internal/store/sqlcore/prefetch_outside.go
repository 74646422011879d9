package sqlcore

import (
	"context"
	"errors"

	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// Reading a batch's facts before the write lock (issue 19, branch lockout).
//
// Prefetch inside a write transaction runs its SELECTs while the store's
// write lock is held: on PostgreSQL a quarter of the lock's hold time in a
// bulk load. PrefetchOutside runs the same statements (the same txn code,
// over a read-only snapshot) before the lock, and notes the revision the
// snapshot is at. InstallPrefetched hands the answers to a write
// transaction only if that transaction's base revision, read under the
// lock, is the same one and the transaction has written nothing: every
// write that can change a user, a membership, a binding or a resource
// appends a changelog entry and so moves the revision (the writes that do
// not, Write's unlogged ones, touch only audit rows, secrets and
// approvals), and a snapshot at the revision the transaction starts from
// is the state the transaction would have read itself.
//
// When writes did commit in between (with `gatehouse import --parallel`,
// the batch ahead of this one, usually of another org), the answers still
// hold if none of those writes was in this org or global: the facts are
// the org's members, bindings and resources, whose every change is
// logged under the org (the engine's follower relies on the same), and
// users (ids, emails), whose changes are logged under org "". One
// statement under the lock asks the changelog (changelog_org) for such a
// change after the snapshot's revision; if there is one, or the question
// fails, the caller prefetches inside the lock, as before. The answers
// are the same either way.

// prefetchReader is implemented by a Backend whose write transactions plan
// differently from its reads (PostgreSQL: no sequential scans, see its
// writeSettings): it starts a read-only snapshot planned as a write
// transaction is, so that the prefetch outside the lock runs the plans it
// would run inside.
type prefetchReader interface {
	BeginPrefetchRead(ctx context.Context) (Conn, error)
}

// prefetched is what PrefetchOutside read: txn.Prefetch's answers and the
// revision of the snapshot they were read in.
type prefetched struct {
	s            *Store
	org          string
	rev          uint64
	found        map[string]struct{}
	absent       map[string]struct{}
	absentEmails map[string][]string
	bindingsAt   map[string][]store.Binding
}

// Revision implements store.PrefetchedFacts.
func (p *prefetched) Revision() uint64 { return p.rev }

// PrefetchOutside reads, in a read-only snapshot and without the write
// lock, what Prefetch would read for f in org, and the revision the
// snapshot is at. Not part of store.Store: the directory calls it through
// an optional interface and hands the result to InstallPrefetched.
func (s *Store) PrefetchOutside(ctx context.Context, org string, f store.BatchFacts) (store.PrefetchedFacts, error) {
	const op = "prefetch"
	if s.closed.Load() {
		return nil, store.Errorf(store.ErrBackend, op, "store is closed", nil)
	}
	var (
		c   Conn
		err error
	)
	if pr, ok := s.b.(prefetchReader); ok {
		c, err = pr.BeginPrefetchRead(ctx)
	} else {
		c, err = s.b.BeginRead(ctx)
	}
	if err != nil {
		return nil, s.dbErr(ctx, op, "begin", err)
	}
	defer func() { _ = c.Rollback(context.WithoutCancel(ctx)) }()
	// The revision first: the snapshot's (SQLite's starts at the first
	// read, PostgreSQL's REPEATABLE READ one at the first statement).
	var rev int64
	if err := queryRow(ctx, c, `SELECT revision FROM store_revision WHERE id = 1`, nil, &rev); err != nil {
		if errors.Is(err, errNoRows) {
			return nil, store.Errorf(store.ErrBackend, op, "store_revision row is missing", nil)
		}
		return nil, s.dbErr(ctx, op, "read revision", err)
	}
	t := &txn{s: s, c: c, rev: uint64(rev) + 1}
	t.reader = reader{q: txQuerier{t}, s: s}
	if err := t.Prefetch(ctx, org, f); err != nil {
		return nil, err
	}
	if t.poison != nil {
		return nil, t.poison
	}
	t.done = true
	return &prefetched{s: s, org: org, rev: uint64(rev), found: t.found, absent: t.absent,
		absentEmails: t.absentEmails, bindingsAt: t.bindingsAt}, nil
}

// InstallPrefetched makes p (PrefetchOutside's, for org) the transaction's
// prefetched answers, as if Prefetch had read them, and reports whether it
// did: only when p was read from this store, the transaction has written
// nothing yet, and p was read at the transaction's base revision (the
// revision read under the write lock; a write committed since, by this
// process or another, moved it) or every write committed since p was read
// was in another org and not global (touchedSince). When it reports false the caller must Prefetch.
// p is used once. Not part of store.Tx: the directory calls it through an
// optional interface.
func (t *txn) InstallPrefetched(ctx context.Context, org string, p store.PrefetchedFacts) bool {
	x, ok := p.(*prefetched)
	if !ok || x == nil || x.s != t.s || x.org != org || t.done || t.poison != nil || t.wrote || len(t.changes) > 0 ||
		len(t.queue) > 0 || t.unlogged || t.hasPendingAudit() {
		return false
	}
	if x.rev+1 > t.rev { // t.rev is the base revision + 1
		return false
	}
	if x.rev+1 < t.rev && t.touchedSince(ctx, org, x.rev) {
		return false
	}
	x.s = nil // used once: the maps are the transaction's now
	if t.found == nil {
		t.found = x.found
	} else {
		for k := range x.found {
			t.found[k] = struct{}{}
		}
	}
	if t.absent == nil {
		t.absent = x.absent
	} else {
		for k := range x.absent {
			if _, found := t.found[k]; !found {
				t.absent[k] = struct{}{}
			}
		}
	}
	if t.absentEmails == nil {
		t.absentEmails = x.absentEmails
	} else {
		for email, keys := range x.absentEmails {
			t.absentEmails[email] = append(t.absentEmails[email], keys...)
		}
	}
	if t.bindingsAt == nil {
		t.bindingsAt = x.bindingsAt
	} else {
		for k, bs := range x.bindingsAt {
			if _, known := t.bindingsAt[k]; !known {
				t.bindingsAt[k] = bs
			}
		}
	}
	return true
}

// touchedSinceSQL finds a change after a revision in an org or global (org
// ""): two ranges of changelog_org. The parameters in order (SQLite binds
// them anonymously).
const touchedSinceSQL = `SELECT 1 FROM changelog WHERE (org = $1 AND revision > $2) OR (org = '' AND revision > $3) LIMIT 1`

// touchedSince reports whether a change committed after revision rev was
// in org or global — or whether it could not tell (an error poisons the
// transaction as any failed statement does, and the Write fails).
func (t *txn) touchedSince(ctx context.Context, org string, rev uint64) bool {
	var one int
	err := queryRow(ctx, txQuerier{t}, touchedSinceSQL, []any{org, int64(rev), int64(rev)}, &one)
	return !errors.Is(err, errNoRows)
}
