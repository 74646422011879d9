// Package querylog records the statements a sqlcore.Backend runs, so that
// tests can ask the database how it would execute each one (EXPLAIN) and
// fail on a full scan of a table that grows with tenants.
//
// Invariants:
//   - A recorded Backend behaves exactly like the one it wraps: every call
//     is passed through unchanged, and it implements sqlcore's optional
//     interfaces (LockHolderReader on the backend, Preparer on a
//     transaction) exactly when the wrapped value does.
//   - Each distinct SQL text is kept once, with the arguments of its first
//     run, in the order first seen.
package querylog

import (
	"context"
	"sync"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/store/sqlcore"
)

// Statement is one distinct SQL text and the arguments it first ran with.
type Statement struct {
	SQL  string
	Args []any
}

// Log collects statements; it is safe for concurrent use. The zero value
// is ready.
type Log struct {
	mu    sync.Mutex
	seen  map[string]bool
	stmts []Statement
	count int // statements run in write transactions
}

func (l *Log) add(sql string, args []any, write bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if write {
		l.count++
	}
	if l.seen[sql] {
		return
	}
	if l.seen == nil {
		l.seen = map[string]bool{}
	}
	l.seen[sql] = true
	l.stmts = append(l.stmts, Statement{SQL: sql, Args: append([]any(nil), args...)})
}

// Statements returns the distinct statements recorded so far.
func (l *Log) Statements() []Statement {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Statement(nil), l.stmts...)
}

// WriteCount returns how many statements write transactions ran (each run
// counted, not only distinct texts): a round trip each on PostgreSQL.
// Reads outside write transactions (a follower polling) are not counted,
// so the count does not depend on timing.
func (l *Log) WriteCount() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.count
}

// Wrap returns a Backend that records into l every statement b runs.
func (l *Log) Wrap(b sqlcore.Backend) sqlcore.Backend {
	rb := &backend{querier: querier{q: b, l: l}, b: b}
	if lh, ok := b.(sqlcore.LockHolderReader); ok {
		return lockHolderBackend{backend: rb, lh: lh}
	}
	return rb
}

type querier struct {
	q     sqlcore.Querier
	l     *Log
	write bool // in a write transaction
}

func (q querier) Exec(ctx context.Context, sql string, args ...any) (int64, error) {
	q.l.add(sql, args, q.write)
	return q.q.Exec(ctx, sql, args...)
}

func (q querier) Query(ctx context.Context, sql string, args ...any) (sqlcore.Rows, error) {
	q.l.add(sql, args, q.write)
	return q.q.Query(ctx, sql, args...)
}

type backend struct {
	querier
	b sqlcore.Backend
}

func (b *backend) BeginWrite(ctx context.Context) (sqlcore.Conn, error) {
	c, err := b.b.BeginWrite(ctx)
	if err != nil {
		return nil, err
	}
	return b.l.conn(c, true), nil
}

func (b *backend) BeginRead(ctx context.Context) (sqlcore.Conn, error) {
	c, err := b.b.BeginRead(ctx)
	if err != nil {
		return nil, err
	}
	return b.l.conn(c, false), nil
}

// BeginPrefetchRead is the wrapped backend's (a read planned as its
// write transactions are), or BeginRead where it has none.
func (b *backend) BeginPrefetchRead(ctx context.Context) (sqlcore.Conn, error) {
	pr, ok := b.b.(interface {
		BeginPrefetchRead(ctx context.Context) (sqlcore.Conn, error)
	})
	if !ok {
		return b.BeginRead(ctx)
	}
	c, err := pr.BeginPrefetchRead(ctx)
	if err != nil {
		return nil, err
	}
	return b.l.conn(c, false), nil
}

func (b *backend) NotifyInTx(ctx context.Context, q sqlcore.Querier, rev uint64) error {
	return b.b.NotifyInTx(ctx, q, rev)
}

func (b *backend) TimeArg(t time.Time) any  { return b.b.TimeArg(t) }
func (b *backend) Classify(err error) error { return b.b.Classify(err) }
func (b *backend) Close() error             { return b.b.Close() }

type lockHolderBackend struct {
	*backend
	lh sqlcore.LockHolderReader
}

func (b lockHolderBackend) LockHolderQuerier() sqlcore.Querier {
	return querier{q: b.lh.LockHolderQuerier(), l: b.l}
}

type conn struct {
	querier
	c sqlcore.Conn
}

func (l *Log) conn(c sqlcore.Conn, write bool) sqlcore.Conn {
	rc := conn{querier: querier{q: c, l: l, write: write}, c: c}
	if p, ok := c.(sqlcore.Preparer); ok {
		return preparerConn{conn: rc, p: p}
	}
	return rc
}

func (c conn) Commit(ctx context.Context) error   { return c.c.Commit(ctx) }
func (c conn) Rollback(ctx context.Context) error { return c.c.Rollback(ctx) }

type preparerConn struct {
	conn
	p sqlcore.Preparer
}

func (c preparerConn) Prepared(sql string) sqlcore.Querier {
	return querier{q: c.p.Prepared(sql), l: c.l, write: c.write}
}
