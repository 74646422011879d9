// Package sqlite is the embedded store backend: one SQLite file, opened
// with modernc.org/sqlite (no cgo), migrated with goose at Open.
//
// Invariants:
//   - WAL journal, foreign keys on, a busy timeout, synchronous=FULL by
//     default (a committed write survives power loss).
//   - Writes go through one writer connection per handle and start with
//     BEGIN IMMEDIATE, which takes SQLite's single write lock before the
//     transaction reads anything; so write transactions commit one at a
//     time, in revision order, even across processes sharing the file.
//   - Reads use a separate pool of query-only connections; WAL lets them
//     run while a write is in progress, each seeing a committed snapshot.
//   - SQLite parses and plans a statement each time it is given one, which
//     is most of a short statement's cost. The few hot statements sqlcore
//     lists (sqlcore.PreparedStatements: the audit append's) are prepared
//     on the writer connection at Open (sqlcore.Preparer); every other
//     statement a write transaction runs is prepared on the writer
//     connection before the next write transaction begins (the one
//     connection is then free) and reused from then on, up to
//     maxKeptStatements of at most maxKeptStatementBytes each (enough for
//     the changelog's 100-row INSERT, whose text repeats; longer texts
//     stay plain).
//     Reads on the reader pool are parsed on each call, except the few
//     that sqlcore lists (sqlcore.PreparedReads: the decision log's
//     settings read), prepared on the pool at Open (database/sql prepares
//     one again on each reader connection the first time it runs there).
//   - Another process's writes are seen by polling (Options.PollInterval);
//     this handle's own writes wake its watchers at once.
//   - WAL checkpoints run on a connection of their own, within
//     checkpointEvery of a commit, not inside the commit under the write
//     lock (checkpoint.go); the writer checkpoints by itself only if the
//     WAL reaches writerAutoCheckpoint pages. The writer keeps up to
//     writerSpillPages dirty pages in its cache before spilling any
//     (cache_spill), enough for a bulk write's.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"time"

	"github.com/pressly/goose/v3"
	sqlite "modernc.org/sqlite"

	"github.com/gatehouse-dev/gatehouse/internal/store"
	"github.com/gatehouse-dev/gatehouse/internal/store/migrations"
	"github.com/gatehouse-dev/gatehouse/internal/store/sqlcore"
)

// Options tune a SQLite store. The zero value is fine.
type Options struct {
	// PollInterval is how often watchers poll for other processes' writes;
	// 0 means 1s.
	PollInterval time.Duration
	// BusyTimeout is how long a statement waits for another process's lock;
	// 0 means 10s.
	BusyTimeout time.Duration
	// Synchronous is "FULL" (default) or "NORMAL" (faster; a power loss may
	// lose the last commits but never corrupts).
	Synchronous string
	// Readers is the size of the read pool; 0 means 4.
	Readers int
}

// Store is a store.Store on one SQLite file.
type Store struct {
	*sqlcore.Store
	path string
	opts Options
}

// Open opens (creating if needed) and migrates the database file at path.
// Errors wrap store.ErrInvalid (bad path or options) or store.ErrBackend.
func Open(ctx context.Context, path string, opts Options) (*Store, error) {
	const op = "open sqlite"
	if path == "" || strings.ContainsAny(path, "?#") || strings.HasPrefix(path, ":memory:") || strings.HasPrefix(path, "file:") {
		return nil, store.Errorf(store.ErrInvalid, op, fmt.Sprintf("path %q must be a plain file path", path), nil)
	}
	if opts.BusyTimeout <= 0 {
		opts.BusyTimeout = 10 * time.Second
	}
	switch strings.ToUpper(opts.Synchronous) {
	case "":
		opts.Synchronous = "FULL"
	case "FULL", "NORMAL":
		opts.Synchronous = strings.ToUpper(opts.Synchronous)
	default:
		return nil, store.Errorf(store.ErrInvalid, op, fmt.Sprintf("synchronous %q is not FULL or NORMAL", opts.Synchronous), nil)
	}
	if opts.Readers <= 0 {
		opts.Readers = 4
	}
	b, err := openBackend(ctx, path, opts)
	if err != nil {
		return nil, store.Errorf(store.ErrBackend, op, fmt.Sprintf("database %q", path), err)
	}
	core, err := sqlcore.New(ctx, b, sqlcore.Options{PollInterval: opts.PollInterval})
	if err != nil {
		_ = b.Close()
		return nil, err
	}
	return &Store{Store: core, path: path, opts: opts}, nil
}

// Reopen opens another, independent handle on the same file, as another
// process would.
func (s *Store) Reopen(ctx context.Context) (store.Store, error) { return Open(ctx, s.path, s.opts) }

// The connections of a store, as dsn configures them.
type connRole int

const (
	roleWriter       connRole = iota
	roleReader                // the read pool
	roleCheckpointer          // checkpoint.go
)

func dsn(path string, opts Options, role connRole) string {
	v := url.Values{}
	v.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", opts.BusyTimeout.Milliseconds()))
	v.Add("_pragma", "foreign_keys(1)")
	// The checkpointer's synchronous decides whether its checkpoints sync
	// the database file (both FULL and NORMAL do).
	v.Add("_pragma", "synchronous("+opts.Synchronous+")")
	switch role {
	case roleReader:
		v.Add("_pragma", "query_only(1)")
	case roleCheckpointer:
	default:
		v.Add("_pragma", "journal_mode(WAL)")
		// A multi-row INSERT keeps a statement journal (the pages it
		// changed, to undo it alone if it fails); beyond 64 KiB SQLite
		// spills it to a temporary file, a write system call per page
		// (6% of a bulk load's CPU, issue 19). In memory it is a copy.
		v.Add("_pragma", "temp_store(MEMORY)")
		// A bulk write's dirty pages stay in the writer's page cache until
		// its commit. At SQLite's defaults a batch of 1,000 changes into a
		// large org overflows the 2 MiB cache (~500 pages): pages are
		// spilled into the WAL in the middle of the transaction, and a
		// spilled page written again makes SQLite recompute the checksum
		// of every frame after it (walRewriteChecksums), then re-read it
		// (issue 19). cache_spill lets the dirty pages grow past
		// cache_size up to writerSpillPages before any is spilled; clean
		// pages are still recycled at cache_size, so the cache holds no
		// more memory than before between writes. (A 64 MiB cache_size
		// did the same and kept ~120 MiB more resident, for no gain on a
		// load that never spilled.)
		v.Add("_pragma", fmt.Sprintf("cache_spill(%d)", writerSpillPages))
		v.Add("_pragma", fmt.Sprintf("wal_autocheckpoint(%d)", writerAutoCheckpoint))
		v.Set("_txlock", "immediate")
	}
	return path + "?" + v.Encode()
}

// writerSpillPages is the writer's cache_spill: the dirty pages a write
// transaction may hold before SQLite spills some into the WAL. A batch of
// 1,000 changes inserts into ~11 B-trees a change (the binding's three,
// the audit entry's five, the changelog's three): at most ~11,000 leaf
// pages and their parents, 64 MiB at 4 KiB a page.
const writerSpillPages = 16384

func openBackend(ctx context.Context, path string, opts Options) (*backend, error) {
	w, err := sql.Open("sqlite", dsn(path, opts, roleWriter))
	if err != nil {
		return nil, err
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	if err := migrate(ctx, w); err != nil {
		_ = w.Close()
		return nil, err
	}
	r, err := sql.Open("sqlite", dsn(path, opts, roleReader))
	if err != nil {
		_ = w.Close()
		return nil, err
	}
	r.SetMaxOpenConns(opts.Readers)
	r.SetMaxIdleConns(opts.Readers)
	if err := r.PingContext(ctx); err != nil {
		_ = w.Close()
		_ = r.Close()
		return nil, err
	}
	stmts, err := prepareAll(ctx, w)
	if err != nil {
		_ = w.Close()
		_ = r.Close()
		return nil, err
	}
	reads, err := prepareReads(ctx, r)
	if err != nil {
		_ = stmts.close()
		_ = w.Close()
		_ = r.Close()
		return nil, err
	}
	cp, err := sql.Open("sqlite", dsn(path, opts, roleCheckpointer))
	if err != nil {
		_ = stmts.close()
		for _, st := range reads {
			_ = st.Close()
		}
		_ = w.Close()
		_ = r.Close()
		return nil, err
	}
	return &backend{sqlQ: sqlQ{r}, w: w, r: r, stmts: stmts, reads: reads, ckpt: startCheckpointer(cp)}, nil
}

// prepareReads prepares sqlcore.PreparedReads on the reader pool.
func prepareReads(ctx context.Context, r *sql.DB) (map[string]*sql.Stmt, error) {
	m := map[string]*sql.Stmt{}
	for _, q := range sqlcore.PreparedReads() {
		st, err := r.PrepareContext(ctx, positional(q))
		if err != nil {
			for _, st := range m {
				_ = st.Close()
			}
			return nil, err
		}
		m[q] = st
	}
	return m, nil
}

// migrate applies the embedded migrations. Two processes opening a new
// file at once may race on goose's version table; the loser retries and
// finds nothing pending.
func migrate(ctx context.Context, db *sql.DB) error {
	p, err := goose.NewProvider(goose.DialectSQLite3, db, migrations.SQLite(), goose.WithDisableGlobalRegistry(true))
	if err != nil {
		return err
	}
	for attempt := 0; ; attempt++ {
		_, err = p.Up(ctx)
		if err == nil || attempt == 3 || ctx.Err() != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// backend implements sqlcore.Backend.
type backend struct {
	sqlQ          // reads on the reader pool
	w     *sql.DB // the single writer connection
	r     *sql.DB
	stmts *stmtCache // statements kept prepared on w (sqlcore.Preparer)
	// reads: sqlcore.PreparedReads, prepared on r at Open; read-only
	// after Open (no lock).
	reads map[string]*sql.Stmt
	ckpt  *checkpointer // the WAL's checkpoints, after commits
}

// Query runs a read on the reader pool, through its kept statement when
// sqlcore listed it (PreparedReads).
func (b *backend) Query(ctx context.Context, query string, args ...any) (sqlcore.Rows, error) {
	if st := b.reads[query]; st != nil {
		rows, err := st.QueryContext(ctx, args...)
		if err != nil {
			return nil, err
		}
		return sqlRows{rows}, nil
	}
	return b.sqlQ.Query(ctx, query, args...)
}

func (b *backend) BeginWrite(ctx context.Context) (sqlcore.Conn, error) {
	if err := b.stmts.prepareWanted(ctx, b.w); err != nil {
		return nil, err
	}
	// The writer connection is waited for under ctx; the transaction on
	// it runs under a context that is never done (quietCtx), so that
	// neither the driver nor database/sql starts a goroutine to watch
	// each statement: ctx is checked before every statement and the
	// commit instead (sqlTx.run, sqlTx.Commit).
	conn, err := b.w.Conn(ctx)
	if err != nil {
		return nil, err
	}
	tx, err := conn.BeginTx(quietCtx(ctx), nil) // BEGIN IMMEDIATE (_txlock)
	if err != nil {
		return nil, errors.Join(err, conn.Close())
	}
	return sqlTx{sqlQ: sqlQ{tx}, tx: tx, stmts: b.stmts, ckpt: b.ckpt, ctx: ctx, quiet: quietCtx(ctx), conn: conn}, nil
}

// quietCtx is ctx without its cancellation, for the statements of a
// write transaction (BeginWrite).
//
// The driver (modernc.org/sqlite) starts a goroutine for every statement
// run under a context that can be done, to interrupt the statement if it
// is, and database/sql one for every query's rows and one for the
// transaction. A bulk write runs a few statements a change while it
// holds the deployment's single write lock: those goroutines were ≈ 600
// a batch of ≈ 370 facts, their creation, wake-ups and exits on the
// lock holder's thread and the other core (branch writes16's trace,
// docs/benchmarks.md). Under quietCtx none is started. What changes is
// only how soon a cancelled write stops: before its next statement or
// its commit (sqlTx.run), not in the middle of one; it still rolls back
// and never commits.
func quietCtx(ctx context.Context) context.Context { return context.WithoutCancel(ctx) }

func (b *backend) BeginRead(ctx context.Context) (sqlcore.Conn, error) {
	tx, err := b.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, err
	}
	return sqlTx{sqlQ: sqlQ{tx}, tx: tx, reads: b.reads}, nil
}

func (b *backend) NotifyInTx(context.Context, sqlcore.Querier, uint64) error { return nil }

func (b *backend) TimeArg(t time.Time) any { return t.UnixMicro() }

// SQLite extended result codes.
const (
	constraintForeignKey = 787
	constraintPrimaryKey = 1555
	constraintUnique     = 2067
)

func (b *backend) Classify(err error) error {
	var e *sqlite.Error
	if !errors.As(err, &e) {
		return nil
	}
	switch e.Code() {
	case constraintUnique, constraintPrimaryKey:
		return store.ErrConflict
	case constraintForeignKey:
		return store.ErrRefused
	}
	return nil
}

func (b *backend) Close() error {
	errs := []error{b.ckpt.close(), b.stmts.close()}
	for _, st := range b.reads {
		errs = append(errs, st.Close())
	}
	return errors.Join(append(errs, b.w.Close(), b.r.Close())...)
}

type execQuerier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// sqlQ adapts database/sql to sqlcore.Querier.
type sqlQ struct{ db execQuerier }

func (q sqlQ) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	res, err := q.db.ExecContext(ctx, positional(query), args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func (q sqlQ) Query(ctx context.Context, query string, args ...any) (sqlcore.Rows, error) {
	rows, err := q.db.QueryContext(ctx, positional(query), args...)
	if err != nil {
		return nil, err
	}
	return sqlRows{rows}, nil
}

type sqlRows struct{ *sql.Rows }

func (r sqlRows) Close() { _ = r.Rows.Close() }

type sqlTx struct {
	sqlQ
	tx    *sql.Tx
	stmts *stmtCache           // nil in read transactions
	reads map[string]*sql.Stmt // read transactions: the reader pool's kept statements
	ckpt  *checkpointer        // write transactions: told of the commit
	// Write transactions: the context BeginWrite was given (checked
	// before each statement and the commit: run) and the writer
	// connection, released after the commit or rollback. quiet is
	// quietCtx(ctx), made once: a transaction's statements run under its
	// own ctx, and context.WithoutCancel allocates (run).
	ctx   context.Context
	quiet context.Context
	conn  *sql.Conn
}

// sameCtx reports whether a and b are the same context. A context
// whose type is not comparable (a struct holding a map, say) is never
// the same: == on two such interface values would panic.
func sameCtx(a, b context.Context) bool {
	ta := reflect.TypeOf(a)
	return ta == reflect.TypeOf(b) && ta.Comparable() && a == b
}

// run is the context a write transaction's statement runs under, given
// the caller's ctx: quietCtx(ctx) while neither ctx nor the context the
// transaction began with is done; else the error of the one that is, and
// the statement must not run. A read transaction's statements run under
// ctx itself. For the transaction's own ctx (its statements' usual one)
// the quiet context is the one BeginWrite made, not a new one a
// statement.
func (t sqlTx) run(ctx context.Context) (context.Context, error) {
	if t.conn == nil {
		return ctx, nil
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := t.ctx.Err(); err != nil {
		return nil, err
	}
	if sameCtx(ctx, t.ctx) {
		return t.quiet, nil
	}
	return quietCtx(ctx), nil
}

// Prepared implements sqlcore.Preparer: query (one of sqlcore's list)
// runs in t as a statement prepared once on the writer connection and
// kept.
func (t sqlTx) Prepared(query string) sqlcore.Querier {
	if t.stmts == nil || !t.stmts.listed[query] {
		return t
	}
	return preparedQ{t: t, query: query}
}

// Exec runs query in the transaction, through its kept statement when a
// write transaction has one.
func (t sqlTx) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	ctx, err := t.run(ctx)
	if err != nil {
		return 0, err
	}
	if t.stmts != nil {
		if st := t.stmts.get(query); st != nil {
			res, err := t.tx.StmtContext(ctx, st).ExecContext(ctx, args...)
			if err != nil {
				return 0, err
			}
			return res.RowsAffected()
		}
	}
	return t.sqlQ.Exec(ctx, query, args...)
}

// Query runs query in the transaction, through its kept statement when a
// write transaction has one, or when a read transaction's is one of the
// reader pool's (sqlcore.PreparedReads: a batch's prefetch before the
// write lock, whose statements of 50-100 terms would otherwise be parsed
// and planned every time).
func (t sqlTx) Query(ctx context.Context, query string, args ...any) (sqlcore.Rows, error) {
	ctx, err := t.run(ctx)
	if err != nil {
		return nil, err
	}
	if t.stmts == nil {
		if st := t.reads[query]; st != nil {
			rows, err := t.tx.StmtContext(ctx, st).QueryContext(ctx, args...)
			if err != nil {
				return nil, err
			}
			return sqlRows{rows}, nil
		}
	}
	if t.stmts != nil {
		if st := t.stmts.get(query); st != nil {
			rows, err := t.tx.StmtContext(ctx, st).QueryContext(ctx, args...)
			if err != nil {
				return nil, err
			}
			return sqlRows{rows}, nil
		}
	}
	return t.sqlQ.Query(ctx, query, args...)
}

// stmtCache holds the statements kept prepared on the writer connection:
// sqlcore's list (sqlcore.PreparedStatements), prepared at Open, and the
// statements write transactions ran, prepared before the next one begins.
// Preparing through the pool inside a transaction would wait for the one
// writer connection that the transaction holds. database/sql re-prepares
// one on a new connection by itself.
type stmtCache struct {
	mu     sync.Mutex
	m      map[string]*sql.Stmt
	want   map[string]bool // run plain in a write transaction, to prepare
	listed map[string]bool // sqlcore's list (served through Prepared)
}

// Bounds of the statements kept beyond sqlcore's list.
const (
	maxKeptStatements     = 512
	maxKeptStatementBytes = 8 << 10
)

func prepareAll(ctx context.Context, db *sql.DB) (*stmtCache, error) {
	c := &stmtCache{m: map[string]*sql.Stmt{}, want: map[string]bool{}, listed: map[string]bool{}}
	for _, q := range sqlcore.PreparedStatements() {
		st, err := db.PrepareContext(ctx, positional(q))
		if err != nil {
			return nil, errors.Join(err, c.close())
		}
		c.m[q] = st
		c.listed[q] = true
	}
	return c, nil
}

// get returns the kept statement for query, or nil after noting that a
// write transaction ran it.
func (c *stmtCache) get(query string) *sql.Stmt {
	c.mu.Lock()
	defer c.mu.Unlock()
	if st := c.m[query]; st != nil {
		return st
	}
	if len(c.m)+len(c.want) < maxKeptStatements && len(query) <= maxKeptStatementBytes {
		c.want[query] = true
	}
	return nil
}

// prepareWanted prepares the statements write transactions ran plain. It
// runs before a write transaction begins, without holding c.mu while it
// waits for the writer connection (another transaction may hold it and
// call get). A statement that does not prepare is not kept (it will fail
// when run, as it did).
func (c *stmtCache) prepareWanted(ctx context.Context, db *sql.DB) error {
	c.mu.Lock()
	var qs []string
	for q := range c.want {
		qs = append(qs, q)
	}
	clear(c.want)
	c.mu.Unlock()
	for _, q := range qs {
		st, err := db.PrepareContext(ctx, positional(q))
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			continue
		}
		c.mu.Lock()
		if c.m[q] == nil {
			c.m[q], st = st, nil
		}
		c.mu.Unlock()
		if st != nil {
			_ = st.Close()
		}
	}
	return nil
}

func (c *stmtCache) close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var errs []error
	for _, st := range c.m {
		errs = append(errs, st.Close())
	}
	return errors.Join(errs...)
}

// preparedQ runs one kept statement inside a write transaction.
type preparedQ struct {
	t     sqlTx
	query string
}

func (p preparedQ) stmt(ctx context.Context) *sql.Stmt {
	return p.t.tx.StmtContext(ctx, p.t.stmts.get(p.query))
}

func (p preparedQ) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	if query != p.query {
		return p.t.Exec(ctx, query, args...)
	}
	ctx, err := p.t.run(ctx)
	if err != nil {
		return 0, err
	}
	res, err := p.stmt(ctx).ExecContext(ctx, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func (p preparedQ) Query(ctx context.Context, query string, args ...any) (sqlcore.Rows, error) {
	if query != p.query {
		return p.t.Query(ctx, query, args...)
	}
	ctx, err := p.t.run(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := p.stmt(ctx).QueryContext(ctx, args...)
	if err != nil {
		return nil, err
	}
	return sqlRows{rows}, nil
}

// Commit commits t; a write transaction whose context is done rolls
// back instead (as database/sql does for a transaction begun under that
// context) and returns the context's error.
func (t sqlTx) Commit(ctx context.Context) error {
	if t.conn != nil {
		defer t.conn.Close()
		if _, err := t.run(ctx); err != nil {
			return errors.Join(err, t.tx.Rollback())
		}
	}
	if err := t.tx.Commit(); err != nil {
		return err
	}
	if t.ckpt != nil {
		t.ckpt.committed()
	}
	return nil
}

func (t sqlTx) Rollback(context.Context) error {
	err := t.tx.Rollback()
	if t.conn != nil {
		err = errors.Join(err, t.conn.Close())
	}
	return err
}
