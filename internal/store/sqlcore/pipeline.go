package sqlcore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
)

// Queuing a bulk write's INSERTs (issue 19).
//
// In a transaction marked BulkWrite (directory.Write), the INSERTs of
// bindings, members and users whose result nothing reads are not sent at
// once: they are queued (execLater) and sent ahead of the transaction's
// next statement, or before its commit, runs of the same single-row INSERT
// merged into 100- and 10-row INSERTs. With a Conn that is a Pipeliner
// (PostgreSQL) they go in the same round trip as that next statement; with
// one that is not (SQLite, where a statement is no round trip) they run
// one after the other right before it, where the merge saves the per
// statement cost (binding, stepping, resetting a prepared statement) of
// all but one row in a hundred. Every statement still sees them, since
// they go first. What changes is when an INSERT's own error is seen: with
// the next statement, not with the call that queued it; the transaction
// fails either way, and the error names the INSERT that failed. Outside a
// bulk write every statement is sent when it is run, as before.

// Stmt is one statement queued for a Pipeliner.
type Stmt struct {
	SQL  string
	Args []any
}

// Pipeliner is optionally implemented by a write transaction's Conn: it
// runs pending, in order, then sql, in one round trip. If a pending
// statement fails it returns a *PendingError and runs nothing after it.
type Pipeliner interface {
	ExecAfter(ctx context.Context, pending []Stmt, sql string, args ...any) (int64, error)
	QueryAfter(ctx context.Context, pending []Stmt, sql string, args ...any) (Rows, error)
}

// MultiQuerier is optionally implemented by a write transaction's Conn: it
// runs pending, in order, then queries, in one round trip, and hands each
// query's rows to each, in order (rows are closed after each returns). If
// a pending statement fails it returns a *PendingError and runs nothing
// after it; the first error of a query or of each ends the call.
type MultiQuerier interface {
	QueryMany(ctx context.Context, pending []Stmt, queries []Stmt, each func(i int, rows Rows) error) error
}

// PendingError is the failure of a Pipeliner's pending statement Index.
type PendingError struct {
	Index int
	Err   error
}

func (e *PendingError) Error() string { return e.Err.Error() }
func (e *PendingError) Unwrap() error { return e.Err }

type queued struct {
	Stmt
	op, detail string
}

// BulkWrite marks the transaction as a batch of many changes: its
// INSERTs may be queued (see above). directory.Write calls it through an
// optional interface; it is not part of store.Tx.
func (t *txn) BulkWrite() { t.bulk = true }

// execLater runs an INSERT now, or queues it in a bulk write.
func (t *txn) execLater(ctx context.Context, op, detail, sql string, args ...any) error {
	if !t.bulk {
		_, err := t.exec(ctx, op, detail, sql, args...)
		return err
	}
	if err := t.before(ctx, sql, true); err != nil {
		return err
	}
	t.enqueue(op, detail, sql, args...)
	return nil
}

// enqueue queues a statement of a bulk write as it is, for the caller that
// has done what t.before would (flushAudit, which empties the audit
// buffers it queues; Write's commit).
func (t *txn) enqueue(op, detail, sql string, args ...any) {
	t.queue = append(t.queue, queued{Stmt: Stmt{SQL: sql, Args: args}, op: op, detail: detail})
}

// queueQuerier queues the statements it is given (NotifyInTx in a bulk
// write's commit); it runs no query.
type queueQuerier struct {
	t          *txn
	op, detail string
}

func (q queueQuerier) Exec(_ context.Context, sql string, args ...any) (int64, error) {
	q.t.enqueue(q.op, q.detail, sql, args...)
	return 0, nil
}

func (q queueQuerier) Query(context.Context, string, ...any) (Rows, error) {
	return nil, errors.New("sqlcore: a queued statement returns no rows")
}

// takeQueue returns the queued statements as they are to be sent, and
// empties the queue: runs of the same single-row INSERT become multi-row
// INSERTs (mergeRows), one statement for up to 100 rows instead of one per
// row. q[i] is the queued statement that the i-th sent statement begins
// with (a failure names its operation).
func (t *txn) takeQueue() ([]queued, []Stmt) {
	in := t.queue
	t.queue = nil
	var q []queued
	var stmts []Stmt
	for i := 0; i < len(in); {
		j := i + 1
		for j < len(in) && in[j].SQL == in[i].SQL {
			j++
		}
		for i < j {
			n := mergeRows(in[i].SQL, len(in[i].Args), j-i)
			st := in[i].Stmt
			if n > 1 {
				st = Stmt{SQL: multiRowSQL(in[i].SQL, len(in[i].Args), n), Args: make([]any, 0, n*len(in[i].Args))}
				for _, x := range in[i : i+n] {
					st.Args = append(st.Args, x.Args...)
				}
			}
			group := in[i]
			if n > 1 {
				group.detail = fmt.Sprintf("%d rows from %s", n, in[i].detail)
			}
			q = append(q, group)
			stmts = append(stmts, st)
			i += n
		}
	}
	return q, stmts
}

// mergeRows is how many of a run of n identical queued statements of k
// parameters to send as one: 100, 10 or 1 (a few statement texts, each
// kept prepared: by pgx, by the SQLite writer's statement cache), and 1 for a statement that is not exactly
// "INSERT … VALUES ($1, …, $k)".
func mergeRows(sql string, k, n int) int {
	if n < 2 || !isInsert(sql) || !strings.HasSuffix(sql, " VALUES "+valuesRow(0, k)) || strings.Count(sql, " VALUES ") != 1 {
		return 1
	}
	for _, k := range auditFlushRows {
		if n >= k {
			return k
		}
	}
	return 1
}

var multiRowCache sync.Map // "sql\x00args\x00n" → the n-row statement

// multiRowSQL turns "INSERT … VALUES ($1, …, $k)" of k parameters into the
// INSERT of n rows, its parameters numbered on.
func multiRowSQL(sql string, k, n int) string {
	key := sql + "\x00" + strconv.Itoa(k) + "\x00" + strconv.Itoa(n)
	if v, ok := multiRowCache.Load(key); ok {
		return v.(string)
	}
	head, _, _ := strings.Cut(sql, " VALUES ")
	var b strings.Builder
	b.WriteString(head)
	b.WriteString(" VALUES ")
	for r := range n {
		if r > 0 {
			b.WriteString(", ")
		}
		b.WriteString(valuesRow(r, k))
	}
	out := b.String()
	multiRowCache.Store(key, out)
	return out
}

// pendingErr turns a queued statement's failure into its operation's
// error and poisons the transaction; other errors are returned as they are.
func (t *txn) pendingErr(ctx context.Context, q []queued, err error) error {
	var pe *PendingError
	if errors.As(err, &pe) && pe.Index >= 0 && pe.Index < len(q) {
		return t.fail(ctx, q[pe.Index].op, q[pe.Index].detail, pe.Err)
	}
	return err
}

// connExec runs sql on c (the transaction's Conn, or a prepared statement
// of it), after the queued statements.
func (t *txn) connExec(ctx context.Context, c Querier, sql string, args ...any) (int64, error) {
	if len(t.queue) > 0 {
		q, stmts := t.takeQueue()
		if p, ok := t.c.(Pipeliner); ok {
			n, err := p.ExecAfter(ctx, stmts, sql, args...)
			return n, t.pendingErr(ctx, q, err)
		}
		if err := t.execQueued(ctx, q, stmts); err != nil {
			return 0, err
		}
	}
	return c.Exec(ctx, sql, args...)
}

// connQuery is connExec for a query.
func (t *txn) connQuery(ctx context.Context, c Querier, sql string, args ...any) (Rows, error) {
	if len(t.queue) > 0 {
		q, stmts := t.takeQueue()
		if p, ok := t.c.(Pipeliner); ok {
			rows, err := p.QueryAfter(ctx, stmts, sql, args...)
			return rows, t.pendingErr(ctx, q, err)
		}
		if err := t.execQueued(ctx, q, stmts); err != nil {
			return nil, err
		}
	}
	return c.Query(ctx, sql, args...)
}

// queryMany runs the transaction's reads queries after the queued
// statements, in one round trip on a MultiQuerier, and hands each one's
// rows to each. Any failure poisons the transaction, as a failed read
// does (txQuerier).
func (t *txn) queryMany(ctx context.Context, queries []Stmt, each func(i int, rows Rows) error) error {
	if t.done {
		return errFinished
	}
	for _, st := range queries {
		if err := t.before(ctx, st.SQL, false); err != nil {
			return err
		}
	}
	m, ok := t.c.(MultiQuerier)
	if !ok {
		for i, st := range queries {
			rows, err := txQuerier{t}.Query(ctx, st.SQL, st.Args...)
			if err != nil {
				return err
			}
			err = each(i, rows)
			rows.Close()
			if err != nil {
				return txQuerier{t}.poison(ctx, err)
			}
		}
		return nil
	}
	var q []queued
	var pending []Stmt
	if len(t.queue) > 0 {
		q, pending = t.takeQueue()
	}
	if err := m.QueryMany(ctx, pending, queries, each); err != nil {
		var pe *PendingError
		if errors.As(err, &pe) {
			return t.pendingErr(ctx, q, err)
		}
		return txQuerier{t}.poison(ctx, err)
	}
	return nil
}

// execQueued runs the statements takeQueue returned one by one on a Conn
// that is not a Pipeliner; the first failure poisons the transaction and
// names its operation, as a Pipeliner's PendingError would.
func (t *txn) execQueued(ctx context.Context, q []queued, stmts []Stmt) error {
	for i, st := range stmts {
		if _, err := t.c.Exec(ctx, st.SQL, st.Args...); err != nil {
			return t.pendingErr(ctx, q, &PendingError{Index: i, Err: err})
		}
	}
	return nil
}

// flushQueue sends the queued statements (before the commit).
func (t *txn) flushQueue(ctx context.Context) error {
	if len(t.queue) == 0 {
		return nil
	}
	if _, ok := t.c.(Pipeliner); !ok {
		q, stmts := t.takeQueue()
		return t.execQueued(ctx, q, stmts)
	}
	if _, err := t.connExec(ctx, t.c, `SELECT 1`); err != nil {
		if t.poison == nil {
			return t.fail(ctx, "write", "queued statements", err)
		}
		return t.poison
	}
	return nil
}

// valuesRow is the r-th row of k parameters of a VALUES list:
// "($rk+1, …, $rk+k)".
func valuesRow(r, k int) string {
	var b strings.Builder
	b.WriteString("(")
	for c := 1; c <= k; c++ {
		if c > 1 {
			b.WriteString(", ")
		}
		b.WriteString("$" + strconv.Itoa(r*k+c))
	}
	b.WriteString(")")
	return b.String()
}
