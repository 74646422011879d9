// Package postgres is the scale-out store backend: PostgreSQL through a
// pgx connection pool, shared by any number of Gatehouse processes,
// migrated with goose at Open.
//
// Invariants:
//   - Every write transaction starts with pg_advisory_xact_lock on a key
//     fixed per schema, before it reads anything; so write transactions
//     commit one at a time across every process, and the revision counter
//     (bumped under that lock) commits in order: a reader that sees
//     revision R has seen every revision below it. With Options.OrgWrites,
//     a one-org write (sqlcore's WriteOrg) takes that key shared and its
//     org's key instead, and bumps the revision only under a third key,
//     the revision lock, held to its commit and taken last: still in
//     order (sqlcore/orgwrite.go).
//   - The write transaction calls pg_notify(channel, revision); PostgreSQL
//     delivers it only if and when the transaction commits. A dedicated
//     listening connection (reconnecting with backoff, and catching up by
//     polling after every reconnect) wakes Watch; a periodic poll is the
//     safety net. The changelog, not the notification, is the truth.
//   - Snapshot reads (LoadOrg) run in one REPEATABLE READ READ ONLY
//     transaction.
//   - A write transaction never needs a second pooled connection: writers
//     queued on the advisory lock each hold one while they wait, so with
//     more writers than connections it would wait for ever. Its changelog
//     and snapshot reads (store.CatchUpReader) run on its own connection;
//     its reads of the committed state (Tx.Committed) on a one-connection
//     pool that only the lock holder uses (one at a time per handle).
//   - Migrations run under a session advisory lock, so processes starting
//     together migrate once.
//   - The store uses the first schema of the connection's search_path;
//     several Gatehouse deployments can share a database in different
//     schemas (the tests do).
package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"

	"github.com/gatehouse-dev/gatehouse/internal/store"
	"github.com/gatehouse-dev/gatehouse/internal/store/migrations"
	"github.com/gatehouse-dev/gatehouse/internal/store/sqlcore"
)

// Options tune a PostgreSQL store. The zero value is fine.
type Options struct {
	// PollInterval is how often watchers poll the revision as a safety net
	// for lost notifications; 0 means 1s.
	PollInterval time.Duration
	// Channel is the LISTEN/NOTIFY channel; "" means "gatehouse_changes".
	Channel string
	// MaxConns bounds the pool; 0 keeps pgx's default (or the DSN's
	// pool_max_conns).
	MaxConns int32
	// OrgWrites lets the write transactions of one org each
	// (sqlcore.Store.WriteOrg: a bulk write without user.create) run
	// concurrently with other orgs' (orgLockClass, revLockClass). Off
	// by default: every write runs alone.
	OrgWrites bool
}

// DefaultChannel is the notification channel unless Options.Channel is set.
const DefaultChannel = "gatehouse_changes"

// lockClass is the first key of the store's advisory locks ("GH"); the
// second is a hash of the schema, so deployments in different schemas of
// one database do not serialize on each other.
const lockClass = 0x4748

// orgLockClass and revLockClass key the locks of concurrent org writes
// (sqlcore/orgwrite.go): an org's (second key: a hash of schema and org;
// two orgs that collide only wait for each other) and the revision's
// (second key: a hash of the schema). Lock order: lockClass (shared) →
// orgLockClass → revLockClass; a write of global data takes lockClass
// exclusive and nothing else.
const (
	orgLockClass = 0x4749
	revLockClass = 0x474a
)

// Store is a store.Store on PostgreSQL.
type Store struct {
	*sqlcore.Store
	dsn  string
	opts Options
	b    *backend
}

// Open connects to dsn (a libpq URL or key=value string; runtime
// parameters such as search_path are honoured), migrates the schema and
// starts listening for other processes' writes. Errors wrap
// store.ErrInvalid (malformed DSN or options) or store.ErrBackend.
func Open(ctx context.Context, dsn string, opts Options) (*Store, error) {
	return open(ctx, dsn, opts, nil)
}

// open is Open; wrap, if not nil, wraps the backend the core runs its
// statements on (tests record them).
func open(ctx context.Context, dsn string, opts Options, wrap func(sqlcore.Backend) sqlcore.Backend) (*Store, error) {
	const op = "open postgres"
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, store.Errorf(store.ErrInvalid, op, "malformed DSN", err)
	}
	if opts.Channel == "" {
		opts.Channel = DefaultChannel
	}
	if len(opts.Channel) > 63 {
		return nil, store.Errorf(store.ErrInvalid, op, "channel name is longer than 63 bytes", nil)
	}
	if opts.MaxConns < 0 {
		return nil, store.Errorf(store.ErrInvalid, op, fmt.Sprintf("MaxConns %d is negative", opts.MaxConns), nil)
	}
	if opts.MaxConns > 0 {
		cfg.MaxConns = opts.MaxConns
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, store.Errorf(store.ErrBackend, op, "connect", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, store.Errorf(store.ErrBackend, op, "connect", err)
	}
	if err := migrate(ctx, pool); err != nil {
		pool.Close()
		return nil, store.Errorf(store.ErrBackend, op, "migrate", err)
	}
	// The write-lock holder's connection for reads of the committed state
	// (Tx.Committed), outside the pool: the writers queued on the lock may
	// hold every pooled connection. Connected on first use.
	hcfg := cfg.Copy()
	hcfg.MaxConns, hcfg.MinConns = 1, 0
	hcfg.ConnConfig.RuntimeParams["application_name"] = "gatehouse-writer"
	holder, err := pgxpool.NewWithConfig(ctx, hcfg)
	if err != nil {
		pool.Close()
		return nil, store.Errorf(store.ErrBackend, op, "connect", err)
	}
	lctx, cancel := context.WithCancel(context.Background())
	b := &backend{pool: pool, holder: holder, channel: opts.Channel, cancel: cancel}
	var cb sqlcore.Backend = b
	if wrap != nil {
		cb = wrap(b)
	}
	core, err := sqlcore.New(ctx, cb, sqlcore.Options{PollInterval: opts.PollInterval, OrgWrites: opts.OrgWrites})
	if err != nil {
		cancel()
		holder.Close()
		pool.Close()
		return nil, err
	}
	b.wg.Add(1)
	go b.listen(lctx, core.Wake)
	return &Store{Store: core, dsn: dsn, opts: opts, b: b}, nil
}

// Reopen opens another, independent handle (pool and listener) on the same
// database, as another process would.
func (s *Store) Reopen(ctx context.Context) (store.Store, error) { return Open(ctx, s.dsn, s.opts) }

// migrate applies the embedded migrations under a session advisory lock.
func migrate(ctx context.Context, pool *pgxpool.Pool) error {
	db := stdlib.OpenDBFromPool(pool)
	defer db.Close()
	p, err := goose.NewProvider(goose.DialectPostgres, db, migrations.Postgres(),
		goose.WithDisableGlobalRegistry(true), goose.WithSessionLocker(migrationLocker{}))
	if err != nil {
		return err
	}
	_, err = p.Up(ctx)
	return err
}

// migrationLocker is goose's session locker: a blocking advisory lock per
// schema, so concurrent Opens wait for each other instead of polling.
type migrationLocker struct{}

func (migrationLocker) SessionLock(ctx context.Context, conn *sql.Conn) error {
	_, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock($1, hashtext('migrate:' || current_schema()))`, lockClass)
	return err
}

func (migrationLocker) SessionUnlock(ctx context.Context, conn *sql.Conn) error {
	_, err := conn.ExecContext(ctx, `SELECT pg_advisory_unlock($1, hashtext('migrate:' || current_schema()))`, lockClass)
	return err
}

// backend implements sqlcore.Backend.
type backend struct {
	pool      *pgxpool.Pool
	holder    *pgxpool.Pool // one connection, only for the write-lock holder (LockHolderQuerier)
	channel   string
	cancel    context.CancelFunc
	wg        sync.WaitGroup
	listenPID atomic.Uint32 // backend pid of the listening connection, 0 while disconnected
	closeOnce sync.Once
}

func (b *backend) Exec(ctx context.Context, sql string, args ...any) (int64, error) {
	tag, err := b.pool.Exec(ctx, sql, args...)
	return tag.RowsAffected(), err
}

func (b *backend) Query(ctx context.Context, sql string, args ...any) (sqlcore.Rows, error) {
	rows, err := b.pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	return rows, nil
}

// LockHolderQuerier implements sqlcore.LockHolderReader: reads on a
// connection that only the holder of the write lock uses (one at a time
// per handle), so they never wait for the pool.
func (b *backend) LockHolderQuerier() sqlcore.Querier { return poolQ{b.holder} }

// poolQ runs statements on a pool.
type poolQ struct{ p *pgxpool.Pool }

func (q poolQ) Exec(ctx context.Context, sql string, args ...any) (int64, error) {
	tag, err := q.p.Exec(ctx, sql, args...)
	return tag.RowsAffected(), err
}

func (q poolQ) Query(ctx context.Context, sql string, args ...any) (sqlcore.Rows, error) {
	rows, err := q.p.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	return rows, nil
}

// writeSettings is the SQL expression, evaluated when a write transaction
// takes the lock, that sets enable_seqscan off for that transaction only
// (is_local): the planner then scans a table sequentially only where no
// index can serve the statement (TestQueryPlans shows that none of the
// store's statements is such a one).
//
// Every statement of a write transaction looks rows up by key, and every
// other writer waits for it. The planner's cost model (random_page_cost
// 4, an IN list of 100 keys hashed in a sequential scan's filter) prices
// a bulk write's prefetch of 100 users by email, on a users table of
// 20,000 rows, at a sequential scan below 100 index probes, with or
// without statistics (ANALYZE does not change the choice, nor does a
// custom plan rather than a generic one): measured on this machine 1.8
// ms a statement against 0.7 by the index quiet, 15-26 ms under load, on
// the write lock's critical path. The scan's cost grows with the table;
// the probes' do not. TestWritePlansUseIndexes holds it.
const writeSettings = `set_config('enable_seqscan', 'off', true)`

func (b *backend) BeginWrite(ctx context.Context) (sqlcore.Conn, error) {
	tx, err := b.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.ReadCommitted})
	if err != nil {
		return nil, err
	}
	// Taken before anything is read: under READ COMMITTED every later
	// statement sees every write committed before the lock was granted.
	// In the same statement (no round trip of its own): no sequential
	// scans for the rest of the transaction (see writeSettings).
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1, hashtext(current_schema())), `+writeSettings, lockClass); err != nil {
		_ = tx.Rollback(context.WithoutCancel(ctx))
		return nil, err
	}
	return pgTx{tx}, nil
}

// BeginOrgWrite implements sqlcore.OrgLocker: BEGIN, the structure lock
// shared, then org's lock, both before anything is read (as BeginWrite),
// in three statements of one round trip (a pgx batch runs them in order,
// so the locks are always taken in that order). The transaction is run
// on a pooled connection of its own (orgTx), not a pgx.Tx, because its
// tail commits it in the same round trip as its last statements
// (CommitRevision).
func (b *backend) BeginOrgWrite(ctx context.Context, org string) (sqlcore.Conn, error) {
	c, err := b.pool.Acquire(ctx)
	if err != nil {
		return nil, err
	}
	tx := &orgTx{c: c}
	bt := &pgx.Batch{}
	bt.Queue(`BEGIN ISOLATION LEVEL READ COMMITTED`)
	bt.Queue(`SELECT pg_advisory_xact_lock_shared($1, hashtext(current_schema()))`, lockClass)
	bt.Queue(`SELECT pg_advisory_xact_lock($1, hashtext(current_schema() || ':' || $2::text)), `+writeSettings, orgLockClass, org)
	br := c.SendBatch(ctx, bt)
	for range bt.Len() {
		if _, err = br.Exec(); err != nil {
			break
		}
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = tx.Rollback(context.WithoutCancel(ctx))
		return nil, err
	}
	return pgTx{tx}, nil
}

// CommitRevision implements sqlcore.OrgLocker: the revision lock, the
// revision's UPDATE, the renumbering, the notification and COMMIT in one
// round trip (a pgx batch: the server runs them one after the other, so
// the statements after the lock start after it is granted and, under READ
// COMMITTED, see the previous holder's commit; the UPDATE would anyway,
// as an UPDATE of a row another transaction changed and committed reads
// its newest version). The server checks the renumbered rows' count
// itself (renumberChecked), before the COMMIT: a statement that fails
// makes the server skip the rest of the batch, COMMIT included, and the
// caller rolls back. So the revision lock is held over no round trip of
// the client's, only the server's work and the commit's WAL flush.
func (b *backend) CommitRevision(ctx context.Context, c sqlcore.Conn, renumber sqlcore.Stmt, want int64) (int64, error) {
	t, ok := c.(pgTx)
	if !ok {
		return 0, errors.New("not a postgres transaction")
	}
	ot, ok := t.tx.(*orgTx)
	if !ok {
		return 0, errors.New("not an org write's transaction")
	}
	bt := &pgx.Batch{}
	bt.Queue(`SELECT pg_advisory_xact_lock($1, hashtext(current_schema()))`, revLockClass)
	bt.Queue(`UPDATE store_revision SET revision = revision + 1 WHERE id = 1 RETURNING revision`)
	bt.Queue(renumberChecked(renumber.SQL, len(renumber.Args)), append(renumber.Args, want)...)
	bt.Queue(`SELECT pg_notify($1, revision::text) FROM store_revision WHERE id = 1`, b.channel)
	bt.Queue(`COMMIT`)
	br := ot.c.SendBatch(ctx, bt)
	defer func() { _ = br.Close() }()
	if _, err := br.Exec(); err != nil {
		return 0, err
	}
	var rev int64
	if err := br.QueryRow().Scan(&rev); err != nil {
		return 0, err
	}
	for range 2 {
		if _, err := br.Exec(); err != nil {
			return 0, err
		}
	}
	tag, err := br.Exec()
	if err != nil {
		return 0, err
	}
	if err := br.Close(); err != nil {
		return 0, err
	}
	if tag.String() != "COMMIT" {
		return 0, fmt.Errorf("the tail's COMMIT ended in %q", tag.String())
	}
	return rev, ot.Commit(ctx) // committed: this only returns the connection
}

// renumberChecked wraps renumber (an UPDATE of n arguments) in a
// statement that fails unless it changed as many rows as its argument
// n+1: a cast of a text that is no number (its message names the check
// in the server's log).
func renumberChecked(renumber string, n int) string {
	return `WITH moved AS (` + renumber + ` RETURNING 1) SELECT (CASE WHEN count(*) = $` + fmt.Sprint(n+1) +
		` THEN '0' ELSE 'gatehouse: the tail renumbered another count of changelog rows than it sent' END)::int FROM moved`
}

func (b *backend) BeginRead(ctx context.Context) (sqlcore.Conn, error) {
	tx, err := b.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, err
	}
	return pgTx{tx}, nil
}

// BeginPrefetchRead is BeginRead planned as a write transaction is (no
// sequential scans, writeSettings): the store's prefetch of a batch's
// facts before the write lock runs the statements the write transaction
// would run (sqlcore's PrefetchOutside).
func (b *backend) BeginPrefetchRead(ctx context.Context) (sqlcore.Conn, error) {
	tx, err := b.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, err
	}
	if _, err := tx.Exec(ctx, `SELECT `+writeSettings); err != nil {
		_ = tx.Rollback(context.WithoutCancel(ctx))
		return nil, err
	}
	return pgTx{tx}, nil
}

func (b *backend) NotifyInTx(ctx context.Context, q sqlcore.Querier, rev uint64) error {
	_, err := q.Exec(ctx, `SELECT pg_notify($1, $2)`, b.channel, fmt.Sprint(rev))
	return err
}

func (b *backend) TimeArg(t time.Time) any { return t }

func (b *backend) Classify(err error) error {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return nil
	}
	switch pe.Code {
	case "23505": // unique_violation
		return store.ErrConflict
	case "23503": // foreign_key_violation
		return store.ErrRefused
	case "40P01": // deadlock_detected: rolled back, the other went on
		// Concurrent org writes that create each other's users (a
		// unique index wait each way; sqlcore/orgwrite.go): the same
		// conflict as a duplicate, retried as one.
		return store.ErrConflict
	}
	return nil
}

func (b *backend) Close() error {
	b.closeOnce.Do(func() {
		b.cancel()
		b.wg.Wait()
		b.holder.Close()
		b.pool.Close()
	})
	return nil
}

// listen keeps one connection LISTENing on the channel and calls wake on
// every notification, and after every (re)connect to catch up on what it
// may have missed. It returns when ctx ends.
func (b *backend) listen(ctx context.Context, wake func()) {
	defer b.wg.Done()
	backoff := 50 * time.Millisecond
	for ctx.Err() == nil {
		err := b.listenOnce(ctx, wake, func() { backoff = 50 * time.Millisecond })
		b.listenPID.Store(0)
		if ctx.Err() != nil {
			return
		}
		_ = err // the poller covers the gap; the next connect catches up
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

func (b *backend) listenOnce(ctx context.Context, wake, connected func()) error {
	cfg := b.pool.Config().ConnConfig.Copy()
	cfg.RuntimeParams["application_name"] = "gatehouse-listener"
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return err
	}
	defer func() { _ = conn.Close(context.WithoutCancel(ctx)) }()
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{b.channel}.Sanitize()); err != nil {
		return err
	}
	b.listenPID.Store(conn.PgConn().PID())
	connected()
	wake()
	for {
		if _, err := conn.WaitForNotification(ctx); err != nil {
			return err
		}
		wake()
	}
}

// pgTx adapts a transaction (pgx.Tx, or an org write's orgTx) to
// sqlcore.Conn.
type pgTx struct{ tx pgxTx }

// pgxTx is what pgTx needs of a transaction: pgx.Tx's methods it uses.
type pgxTx interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
	CopyFrom(ctx context.Context, table pgx.Identifier, cols []string, src pgx.CopyFromSource) (int64, error)
	Commit(ctx context.Context) error
	Rollback(ctx context.Context) error
}

// orgTx is an org write's transaction on a pooled connection it holds
// from BeginOrgWrite to its end. Its tail commits it in a batch
// (CommitRevision); Commit then only returns the connection, as does
// Rollback once the transaction is over (a failed COMMIT rolls back by
// itself). The server's transaction status, not a flag of the client's,
// says whether it is over, so a COMMIT or ROLLBACK is sent only inside a
// transaction; a connection returned inside one (an error mid-way) is
// closed by the pool, never reused.
type orgTx struct {
	c    *pgxpool.Conn
	done bool
}

var _ pgxTx = (*orgTx)(nil)

func (t *orgTx) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	return t.c.Exec(ctx, sql, args...)
}

func (t *orgTx) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	return t.c.Query(ctx, sql, args...)
}

func (t *orgTx) SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults {
	return t.c.SendBatch(ctx, b)
}

func (t *orgTx) CopyFrom(ctx context.Context, table pgx.Identifier, cols []string, src pgx.CopyFromSource) (int64, error) {
	return t.c.CopyFrom(ctx, table, cols, src)
}

// inTx reports whether the connection is inside a transaction (open or
// failed).
func (t *orgTx) inTx() bool {
	pc := t.c.Conn().PgConn()
	return !pc.IsClosed() && pc.TxStatus() != 'I'
}

func (t *orgTx) Commit(ctx context.Context) error {
	if t.done {
		return pgx.ErrTxClosed
	}
	defer t.release()
	if !t.inTx() {
		return nil // the tail's batch committed it
	}
	tag, err := t.c.Exec(ctx, "COMMIT")
	if err == nil && tag.String() != "COMMIT" {
		err = pgx.ErrTxCommitRollback
	}
	return err
}

func (t *orgTx) Rollback(ctx context.Context) error {
	if t.done {
		return pgx.ErrTxClosed
	}
	defer t.release()
	if !t.inTx() {
		return nil
	}
	_, err := t.c.Exec(ctx, "ROLLBACK")
	return err
}

func (t *orgTx) release() {
	t.done = true
	t.c.Release()
}

func (t pgTx) Exec(ctx context.Context, sql string, args ...any) (int64, error) {
	tag, err := t.tx.Exec(ctx, sql, args...)
	return tag.RowsAffected(), err
}

func (t pgTx) Query(ctx context.Context, sql string, args ...any) (sqlcore.Rows, error) {
	rows, err := t.tx.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	return rows, nil
}

// ExecAfter implements sqlcore.Pipeliner: pending and then sql in one
// round trip (a pgx batch).
func (t pgTx) ExecAfter(ctx context.Context, pending []sqlcore.Stmt, sql string, args ...any) (int64, error) {
	br, err := t.sendAfter(ctx, pending, sql, args)
	if err != nil {
		return 0, err
	}
	tag, err := br.Exec()
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	return tag.RowsAffected(), err
}

// QueryAfter implements sqlcore.Pipeliner; the rows' Close ends the batch.
func (t pgTx) QueryAfter(ctx context.Context, pending []sqlcore.Stmt, sql string, args ...any) (sqlcore.Rows, error) {
	br, err := t.sendAfter(ctx, pending, sql, args)
	if err != nil {
		return nil, err
	}
	rows, err := br.Query()
	if err != nil {
		_ = br.Close()
		return nil, err
	}
	return &batchRows{Rows: rows, br: br}, nil
}

// sendAfter sends pending and sql as one batch and reads the results of
// pending; the caller reads sql's and closes the batch.
func (t pgTx) sendAfter(ctx context.Context, pending []sqlcore.Stmt, sql string, args []any) (pgx.BatchResults, error) {
	b := &pgx.Batch{}
	for _, s := range pending {
		b.Queue(s.SQL, s.Args...)
	}
	b.Queue(sql, args...)
	br := t.tx.SendBatch(ctx, b)
	for i := range pending {
		if _, err := br.Exec(); err != nil {
			_ = br.Close()
			return nil, &sqlcore.PendingError{Index: i, Err: err}
		}
	}
	return br, nil
}

// QueryMany implements sqlcore.MultiQuerier: pending and then queries in
// one round trip (a pgx batch).
func (t pgTx) QueryMany(ctx context.Context, pending []sqlcore.Stmt, queries []sqlcore.Stmt, each func(i int, rows sqlcore.Rows) error) error {
	b := &pgx.Batch{}
	for _, s := range pending {
		b.Queue(s.SQL, s.Args...)
	}
	for _, s := range queries {
		b.Queue(s.SQL, s.Args...)
	}
	br := t.tx.SendBatch(ctx, b)
	defer func() { _ = br.Close() }()
	for i := range pending {
		if _, err := br.Exec(); err != nil {
			return &sqlcore.PendingError{Index: i, Err: err}
		}
	}
	for i := range queries {
		rows, err := br.Query()
		if err != nil {
			return err
		}
		err = each(i, rows)
		rows.Close()
		if err == nil {
			err = rows.Err()
		}
		if err != nil {
			return err
		}
	}
	return br.Close()
}

// batchRows are a batch's last result; closing them closes the batch.
type batchRows struct {
	pgx.Rows
	br     pgx.BatchResults
	closed bool
}

func (r *batchRows) Close() {
	r.Rows.Close()
	if !r.closed {
		r.closed = true
		_ = r.br.Close()
	}
}

// CopyRows implements sqlcore.Copier with COPY FROM STDIN (pgx CopyFrom).
func (t pgTx) CopyRows(ctx context.Context, table string, cols []string, rows [][]any) (int64, error) {
	return t.tx.CopyFrom(ctx, pgx.Identifier{table}, cols, pgx.CopyFromRows(rows))
}

func (t pgTx) Commit(ctx context.Context) error   { return t.tx.Commit(ctx) }
func (t pgTx) Rollback(ctx context.Context) error { return t.tx.Rollback(ctx) }
