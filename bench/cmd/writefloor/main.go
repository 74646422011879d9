// Command writefloor measures the floor of a bulk load of the peers'
// facts (issue 19 goal 4): the least any implementation of Gatehouse's
// design could spend writing them on a backend, on this machine.
//
//	writefloor -src LOADED.db [-backend sqlite -out DIR | -backend postgres -database URL]
//	           [-writers N] [-batch 1000] [-mode rows|multi|copy|pipeline]
//
// LOADED.db is the SQLite file of a Gatehouse that bench/cmd/peersimport/
// load.sh loaded (WORKDIR/data/gatehouse.db). The facts phase's rows are
// read from it exactly as Gatehouse wrote them: every users, members and
// bindings row, every audit entry and audit run and every changelog row
// created from the facts phase (the rows the design requires per fact:
// the binding/share/membership row, its audit entry, the batch's
// changelog rows, and the batch's audit runs: migration 00019, one row a
// run of one org's and actor's entries in a transaction): the first entry
// after the last namespace.create or
// resource.create (the structure phase) starts it. A fresh database with the real migrations (so the real indexes)
// gets the rows from before that copied untimed, then the facts' rows are
// written, timed, with no Gatehouse logic: in transactions of -batch audit
// entries (and the same share of the other tables' rows), each ending the
// way the design requires of a batch: the store revision incremented, the
// batch's audit heads updated, the commit. Inserts come first and the
// revision last, so concurrent writers hold the revision's row lock only
// for their commit.
//
// SQLite (the server's DSN: WAL, synchronous FULL, foreign keys) has one
// writer; -mode rows runs a prepared INSERT per row, multi one multi-row
// INSERT per table and batch. PostgreSQL has -writers concurrent
// transactions; -mode copy uses COPY (pgx CopyFrom) per table, pipeline
// one pipelined batch of INSERTs.
//
// It prints the wall time of the timed phase, this process's CPU and
// (PostgreSQL) every postgres process's CPU, per fact.
package main

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	_ "modernc.org/sqlite"

	"github.com/gatehouse-dev/gatehouse/internal/store/postgres"
	gsqlite "github.com/gatehouse-dev/gatehouse/internal/store/sqlite"
)

// tables are the rows a fact writes, parents first; stamp is the column
// that tells the facts phase's rows from the earlier ones.
var tables = []struct{ name, stamp string }{
	{"users", "created_at"},
	{"members", "created_at"},
	{"bindings", "created_at"},
	{"audit_entries", "at"},
	{"audit_runs", "at"}, // a run's time is its entries'
	{"changelog", "created_at"},
}

type table struct {
	name  string
	cols  []string
	rows  [][]any // the facts phase's rows
	early [][]any // the rows before it, copied untimed
}

func main() {
	src := flag.String("src", "", "the SQLite file of a Gatehouse load.sh loaded")
	backend := flag.String("backend", "sqlite", "sqlite or postgres")
	out := flag.String("out", "", "sqlite: directory for the floor's database (emptied)")
	database := flag.String("database", "", "postgres: URL of an empty database")
	writers := flag.Int("writers", 4, "postgres: concurrent writers")
	batch := flag.Int("batch", 1000, "audit entries (facts) per transaction")
	mode := flag.String("mode", "", "sqlite: rows or multi (default multi); postgres: copy or pipeline (default copy)")
	flag.Parse()
	if err := run(*src, *backend, *out, *database, *writers, *batch, *mode); err != nil {
		fmt.Fprintln(os.Stderr, "writefloor:", err)
		os.Exit(1)
	}
}

func run(src, backend, out, database string, writers, batch int, mode string) error {
	ctx := context.Background()
	ts, facts, err := read(src)
	if err != nil {
		return err
	}
	parts := split(ts, batch)
	fmt.Printf("facts %d, batches %d\n", facts, len(parts))
	var w writer
	switch backend {
	case "sqlite":
		if mode == "" {
			mode = "multi"
		}
		w, err = openSQLite(ctx, out, mode)
		writers = 1
	case "postgres":
		if mode == "" {
			mode = "copy"
		}
		w, err = openPostgres(ctx, database, mode, writers)
	default:
		return fmt.Errorf("backend %q is not sqlite or postgres", backend)
	}
	if err != nil {
		return err
	}
	defer w.close()
	for _, t := range ts {
		if err := w.early(ctx, t); err != nil {
			return fmt.Errorf("copy %s: %w", t.name, err)
		}
	}
	// A batch that creates users and the batch after it are barriers
	// between runs of batches that may be in flight together: the later
	// batches' memberships refer to those users.
	errc := make(chan error, writers)
	var wg sync.WaitGroup
	c0, p0 := cpu(), pgCPU(backend)
	t0 := time.Now()
	for lo := 0; lo < len(parts); {
		hi := lo + 1
		for hi < len(parts) && parts[hi].users == parts[lo].users {
			hi++
		}
		work := make(chan []*table)
		for range writers {
			wg.Go(func() {
				for p := range work {
					if err := w.batch(ctx, p); err != nil {
						errc <- err
						for range work {
						}
						return
					}
				}
			})
		}
		for _, p := range parts[lo:hi] {
			work <- p.tables
		}
		close(work)
		wg.Wait()
		lo = hi
	}
	wall := time.Since(t0)
	c1, p1 := cpu(), pgCPU(backend)
	select {
	case err := <-errc:
		return err
	default:
	}
	n := float64(facts)
	fmt.Printf("backend %s mode %s writers %d\n", backend, mode, writers)
	fmt.Printf("facts load s %.2f (%.1f µs/fact wall)\n", wall.Seconds(), wall.Seconds()/n*1e6)
	fmt.Printf("client CPU µs/fact %.1f\n", (c1-c0).Seconds()/n*1e6)
	if backend == "postgres" {
		fmt.Printf("PostgreSQL CPU µs/fact %.1f\n", (p1-p0).Seconds()/n*1e6)
	}
	return nil
}

// read loads the source's rows; facts is the number of audit entries of
// the facts phase.
func read(src string) ([]*table, int, error) {
	db, err := sql.Open("sqlite", src+"?_pragma=query_only(1)")
	if err != nil {
		return nil, 0, err
	}
	defer db.Close()
	var start int64
	if err := db.QueryRow(`SELECT min(at) FROM audit_entries WHERE at > (SELECT max(at) FROM audit_entries WHERE action IN ('namespace.create', 'resource.create'))`).Scan(&start); err != nil {
		return nil, 0, fmt.Errorf("the facts phase's start (no entry after the structure?): %w", err)
	}
	var ts []*table
	facts := 0
	for _, d := range tables {
		t := &table{name: d.name}
		var n int
		if err := db.QueryRow(`SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = ?`, d.name).Scan(&n); err != nil {
			return nil, 0, err
		}
		if n == 0 && d.name == "audit_runs" {
			// A source loaded before migration 00019: the floor then
			// writes no runs (and lacks their cost), so say so.
			fmt.Println("audit_runs: not in the source (loaded before migration 00019): no runs written")
			continue
		}
		q := `SELECT * FROM ` + d.name + ` ORDER BY rowid`
		switch d.name { // WITHOUT ROWID
		case "bindings":
			q = `SELECT * FROM bindings ORDER BY created_at, org, id`
		case "audit_runs":
			q = `SELECT * FROM audit_runs ORDER BY org, last_seq`
		}
		rows, err := db.Query(q)
		if err != nil {
			return nil, 0, err
		}
		t.cols, _ = rows.Columns()
		stamp := -1
		for i, c := range t.cols {
			if c == d.stamp {
				stamp = i
			}
		}
		all, err := scanAll(rows, len(t.cols))
		if err != nil {
			return nil, 0, err
		}
		for _, v := range all {
			if v[stamp].(int64) >= start {
				t.rows = append(t.rows, v)
			} else {
				t.early = append(t.early, v)
			}
		}
		if d.name == "audit_entries" {
			facts = len(t.rows)
		}
		fmt.Printf("%s: %d rows timed, %d before\n", t.name, len(t.rows), len(t.early))
		ts = append(ts, t)
	}
	if facts == 0 {
		return nil, 0, errors.New("no facts phase in the source")
	}
	// orgs first: every row refers to one.
	orgs := &table{name: "orgs"}
	rows, err := db.Query(`SELECT * FROM orgs`)
	if err != nil {
		return nil, 0, err
	}
	orgs.cols, _ = rows.Columns()
	if orgs.early, err = scanAll(rows, len(orgs.cols)); err != nil {
		return nil, 0, err
	}
	return append([]*table{orgs}, ts...), facts, nil
}

// scanAll reads every row of rows (n columns each) and closes it.
func scanAll(rows *sql.Rows, n int) ([][]any, error) {
	defer rows.Close()
	var all [][]any
	for rows.Next() {
		v := make([]any, n)
		p := make([]any, n)
		for i := range v {
			p[i] = &v[i]
		}
		if err := rows.Scan(p...); err != nil {
			return nil, err
		}
		all = append(all, v)
	}
	return all, rows.Close()
}

type part struct {
	tables []*table
	users  bool // the batch creates users
}

// split groups the facts' rows into the transactions they were written
// in (one value of the stamp column each: a transaction's time), merging
// consecutive ones while they hold at most batch audit entries (0: as
// they were written).
func split(ts []*table, batch int) []part {
	stampCol := map[string]string{}
	for _, d := range tables {
		stampCol[d.name] = d.stamp
	}
	col := func(t *table) int {
		for i, c := range t.cols {
			if c == stampCol[t.name] {
				return i
			}
		}
		return -1
	}
	idx := map[int64]int{} // stamp -> batch
	n, size := -1, 0
	for _, t := range ts {
		if t.name != "audit_entries" {
			continue
		}
		c := col(t)
		var last int64 = -1
		run := 0
		flush := func() {
			if run == 0 {
				return
			}
			if n < 0 || batch == 0 || size+run > batch {
				n, size = n+1, 0
			}
			size += run
			idx[last] = n
			run = 0
		}
		for _, r := range t.rows {
			st := r[c].(int64)
			if st != last {
				flush()
				last = st
			}
			run++
		}
		flush()
	}
	parts := make([]part, n+1)
	for i := range parts {
		for _, t := range ts {
			if t.name != "orgs" {
				parts[i].tables = append(parts[i].tables, &table{name: t.name, cols: t.cols})
			}
		}
	}
	j := 0
	for _, t := range ts {
		if t.name == "orgs" {
			continue
		}
		c := col(t)
		for _, r := range t.rows {
			b, ok := idx[r[c].(int64)]
			if !ok {
				panic(fmt.Sprintf("%s row at %v is in no audited transaction", t.name, r[c]))
			}
			parts[b].tables[j].rows = append(parts[b].tables[j].rows, r)
			if t.name == "users" {
				parts[b].users = true
			}
		}
		j++
	}
	return parts
}

type writer interface {
	early(ctx context.Context, t *table) error
	batch(ctx context.Context, ts []*table) error
	close()
}

// heads returns, per org, the last audit entry of the batch: the head the
// batch leaves (org, seq, hash, mac).
func heads(ts []*table) [][]any {
	var out [][]any
	for _, t := range ts {
		if t.name != "audit_entries" {
			continue
		}
		last := map[string][]any{}
		var order []string
		for _, r := range t.rows {
			org := r[0].(string)
			if _, ok := last[org]; !ok {
				order = append(order, org)
			}
			last[org] = r
		}
		for _, o := range order {
			r := last[o]
			out = append(out, []any{o, r[1], r[8], r[9]}) // org, seq, hash, mac
		}
	}
	return out
}

// ---- SQLite

type sqliteW struct {
	db   *sql.DB
	mode string
}

func openSQLite(ctx context.Context, dir, mode string) (*sqliteW, error) {
	if dir == "" {
		return nil, errors.New("sqlite needs -out DIR")
	}
	if mode != "rows" && mode != "multi" {
		return nil, fmt.Errorf("sqlite mode %q is not rows or multi", mode)
	}
	if err := os.RemoveAll(dir); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	path := filepath.Join(dir, "floor.db")
	st, err := gsqlite.Open(ctx, path, gsqlite.Options{}) // the real migrations
	if err != nil {
		return nil, err
	}
	if err := st.Close(); err != nil {
		return nil, err
	}
	// The server's writer DSN (internal/store/sqlite dsn).
	v := url.Values{}
	v.Add("_pragma", "busy_timeout(10000)")
	v.Add("_pragma", "foreign_keys(1)")
	v.Add("_pragma", "synchronous(FULL)")
	v.Add("_pragma", "journal_mode(WAL)")
	v.Add("_pragma", "temp_store(MEMORY)")
	v.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", path+"?"+v.Encode())
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	return &sqliteW{db: db, mode: mode}, nil
}

func (w *sqliteW) close() { _ = w.db.Close() }

func insertSQL(name string, cols []string, n int) string {
	var b strings.Builder
	b.WriteString("INSERT INTO " + name + " (" + strings.Join(cols, ", ") + ") VALUES ")
	one := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(cols)), ", ") + ")"
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(one)
	}
	return b.String()
}

func (w *sqliteW) early(ctx context.Context, t *table) error {
	tx, err := w.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if t.name == "orgs" { // the migrations made none, but be exact
		if _, err := tx.ExecContext(ctx, `DELETE FROM orgs`); err != nil {
			return err
		}
	}
	st, err := tx.PrepareContext(ctx, insertSQL(t.name, t.cols, 1))
	if err != nil {
		return err
	}
	for _, r := range t.early {
		if _, err := st.ExecContext(ctx, r...); err != nil {
			return err
		}
	}
	return tx.Commit()
}

func (w *sqliteW) batch(ctx context.Context, ts []*table) error {
	tx, err := w.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, t := range ts {
		if len(t.rows) == 0 {
			continue
		}
		if w.mode == "rows" {
			st, err := tx.PrepareContext(ctx, insertSQL(t.name, t.cols, 1))
			if err != nil {
				return err
			}
			for _, r := range t.rows {
				if _, err := st.ExecContext(ctx, r...); err != nil {
					return fmt.Errorf("%s: %w", t.name, err)
				}
			}
			continue
		}
		per := 32766 / len(t.cols) // SQLite's bound on variables
		for lo := 0; lo < len(t.rows); lo += per {
			hi := min(lo+per, len(t.rows))
			args := make([]any, 0, (hi-lo)*len(t.cols))
			for _, r := range t.rows[lo:hi] {
				args = append(args, r...)
			}
			if _, err := tx.ExecContext(ctx, insertSQL(t.name, t.cols, hi-lo), args...); err != nil {
				return fmt.Errorf("%s: %w", t.name, err)
			}
		}
	}
	for _, h := range heads(ts) {
		if _, err := tx.ExecContext(ctx, `INSERT INTO audit_heads (org, seq, hash, mac) VALUES (?, ?, ?, ?)
			ON CONFLICT (org) DO UPDATE SET seq = excluded.seq, hash = excluded.hash, mac = excluded.mac`, h...); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE store_revision SET revision = revision + 1 WHERE id = 1`); err != nil {
		return err
	}
	return tx.Commit()
}

// ---- PostgreSQL

type pgW struct {
	pool  *pgxpool.Pool
	mode  string
	types map[string]map[string]string // table -> column -> data_type
}

func openPostgres(ctx context.Context, database, mode string, writers int) (*pgW, error) {
	if database == "" {
		return nil, errors.New("postgres needs -database URL")
	}
	if mode != "copy" && mode != "pipeline" {
		return nil, fmt.Errorf("postgres mode %q is not copy or pipeline", mode)
	}
	st, err := postgres.Open(ctx, database, postgres.Options{}) // the real migrations
	if err != nil {
		return nil, err
	}
	if err := st.Close(); err != nil {
		return nil, err
	}
	cfg, err := pgxpool.ParseConfig(database)
	if err != nil {
		return nil, err
	}
	cfg.MaxConns = int32(writers)
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	w := &pgW{pool: pool, mode: mode, types: map[string]map[string]string{}}
	rows, err := pool.Query(ctx, `SELECT table_name, column_name, data_type FROM information_schema.columns WHERE table_schema = current_schema()`)
	if err != nil {
		pool.Close()
		return nil, err
	}
	for rows.Next() {
		var t, c, d string
		if err := rows.Scan(&t, &c, &d); err != nil {
			rows.Close()
			pool.Close()
			return nil, err
		}
		if w.types[t] == nil {
			w.types[t] = map[string]string{}
		}
		w.types[t][c] = d
	}
	rows.Close()
	return w, rows.Err()
}

func (w *pgW) close() { w.pool.Close() }

// convert turns SQLite's values into the PostgreSQL columns' types (ahead
// of the timed phase: the client's conversion is not the floor's work).
func (w *pgW) convert(t *table, rows [][]any) {
	ty := w.types[t.name]
	for _, r := range rows {
		for i, c := range t.cols {
			if ty[c] == "timestamp with time zone" {
				if v, ok := r[i].(int64); ok {
					r[i] = time.UnixMicro(v)
				}
			}
		}
	}
}

func (w *pgW) early(ctx context.Context, t *table) error {
	w.convert(t, t.early)
	w.convert(t, t.rows)
	_, err := w.pool.CopyFrom(ctx, pgx.Identifier{t.name}, t.cols, pgx.CopyFromRows(t.early))
	return err
}

func (w *pgW) batch(ctx context.Context, ts []*table) error {
	tx, err := w.pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx)
	if w.mode == "copy" {
		for _, t := range ts {
			if len(t.rows) == 0 {
				continue
			}
			if _, err := tx.CopyFrom(ctx, pgx.Identifier{t.name}, t.cols, pgx.CopyFromRows(t.rows)); err != nil {
				return fmt.Errorf("%s: %w", t.name, err)
			}
		}
	}
	b := &pgx.Batch{}
	if w.mode == "pipeline" {
		for _, t := range ts {
			q := strings.ReplaceAll(insertSQL(t.name, t.cols, 1), "?", "$")
			var n strings.Builder
			k := 0
			for _, c := range q {
				n.WriteRune(c)
				if c == '$' {
					k++
					fmt.Fprint(&n, k)
				}
			}
			for _, r := range t.rows {
				b.Queue(n.String(), r...)
			}
		}
	}
	for _, h := range heads(ts) {
		b.Queue(`INSERT INTO audit_heads (org, seq, hash, mac) VALUES ($1, $2, $3, $4)
			ON CONFLICT (org) DO UPDATE SET seq = excluded.seq, hash = excluded.hash, mac = excluded.mac`, h...)
	}
	b.Queue(`UPDATE store_revision SET revision = revision + 1 WHERE id = 1`)
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return err
	}
	return tx.Commit(ctx)
}

// ---- CPU

func cpu() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// pgCPU sums the CPU of every process named postgres (as load.sh does).
func pgCPU(backend string) time.Duration {
	if backend != "postgres" {
		return 0
	}
	ents, _ := os.ReadDir("/proc")
	var ticks int64
	for _, e := range ents {
		comm, err := os.ReadFile("/proc/" + e.Name() + "/comm")
		if err != nil || strings.TrimSpace(string(comm)) != "postgres" {
			continue
		}
		stat, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		s := string(stat)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
		var u, k int64
		fmt.Sscan(f[11], &u) // utime: field 14, the 12th after the state
		fmt.Sscan(f[12], &k)
		ticks += u + k
	}
	return time.Duration(ticks) * time.Second / 100 // CLK_TCK is 100 on Linux
}
