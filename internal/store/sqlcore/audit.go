package sqlcore

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// The audit log's rows (store/audit.go has the contract). The store keeps
// rows verbatim: it checks shapes, sequence density and checkpoint heads,
// never hashes, MACs or signatures (internal/audit does). AppendAudit also
// records the org's head (audit_heads) in the same transaction.

const (
	auditCols      = `org, seq, at, actor, action, target, result, body, hash, mac`
	checkpointCols = `org, seq, head, at, key_id, signature`
)

// auditPageSQL is a page of audit entries with the contexts of their
// runs (migration 00020), in one statement: entries is a statement that
// selects auditCols of org $1's entries in sequence order (either way)
// with a LIMIT. An entry of a run that stores its entries' shared request
// context (audit_runs.ctx) stores only the rest of its body, which starts
// with '"' (the next member's name); a body stored whole starts with '{'.
// The page's entries come first (kind 0), then the runs that store a
// context for those stored without theirs (kind 1: last_seq, first_seq,
// actor and ctx in the entry's seq, at, actor and body columns), in
// sequence order; auditPage puts them together (spliceContexts). One
// statement is one snapshot, so a prune cannot remove a run between its
// entries' read and its own. The runs are found per actor of such
// entries: the actor's runs from the one holding its first such entry of
// the page to the one holding its last, or to that entry if no run holds
// it (a range of the runs' key bounded at both ends), not a lookup per
// entry: verification, export and the checkpointer read a bulk write's
// 1,000 entries with one run's row, and so does a page of ListAudit.
// CROSS JOIN keeps b the outer loop on SQLite, whose planner (without
// statistics) otherwise read all the org's runs (SEARCH r USING PRIMARY
// KEY (org=?)) and probed b for each, ReadAudit's too before branch mend.
func auditPageSQL(entries string) string {
	return `WITH e AS (` + entries + `),
	b AS (SELECT actor, MIN(seq) AS lo, MAX(seq) AS hi FROM e WHERE substr(body, 1, 1) <> '{' GROUP BY actor)
	SELECT 0 AS kind, org, seq, at, actor, action, target, result, body, hash, mac FROM e
	UNION ALL
	SELECT 1, r.org, r.last_seq, r.first_seq, r.actor, '', '', '', r.ctx, NULL, NULL FROM b CROSS JOIN audit_runs r
		WHERE r.org = $1 AND r.actor = b.actor AND r.last_seq >= b.lo
		AND r.last_seq <= COALESCE((SELECT MIN(x.last_seq) FROM audit_runs x WHERE x.org = $1 AND x.actor = b.actor AND x.last_seq >= b.hi), b.hi)
		AND r.ctx <> ''
	ORDER BY 1, 3`
}

// auditPage runs auditPageSQL(entries) with args ($1: org) and returns
// the page's entries in the order entries selects them (newest first if
// desc), each body byte for byte the body written: its run's context put
// back where it was stored apart. limit is the page's size at most (the
// capacity to allocate).
func (r reader) auditPage(ctx context.Context, op, org, entries string, desc bool, limit int, args ...any) ([]store.AuditRecord, error) {
	rows, err := r.q.Query(ctx, auditPageSQL(entries), args...)
	if err != nil {
		return nil, r.s.dbErr(ctx, op, "org "+q(org), err)
	}
	defer rows.Close()
	out := make([]store.AuditRecord, 0, min(limit, 1024))
	var runs []ctxRun
	for rows.Next() {
		var (
			kind, seq, at int64
			a             store.AuditRecord
			body          []byte
		)
		if err := rows.Scan(&kind, &a.Org, &seq, &at, &a.Actor, &a.Action, &a.Target, &a.Result, &body, &a.Hash, &a.MAC); err != nil {
			return nil, r.s.dbErr(ctx, op, "org "+q(org), err)
		}
		if kind == 1 { // a run: last_seq, first_seq, actor, ctx
			runs = append(runs, ctxRun{actor: a.Actor, first: uint64(at), last: uint64(seq), ctx: body})
			continue
		}
		a.Seq, a.At, a.Body = uint64(seq), at, body
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, r.s.dbErr(ctx, op, "org "+q(org), err)
	}
	if desc {
		slices.Reverse(out) // ORDER BY 1, 3: oldest first
	}
	spliceContexts(out, runs)
	return out, nil
}

// scanAuditEntry scans auditCols: an entry as stored (spliceContexts
// puts a run's context back).
func scanAuditEntry(r Rows) (a store.AuditRecord, err error) {
	var seq int64
	if err = r.Scan(&a.Org, &seq, &a.At, &a.Actor, &a.Action, &a.Target, &a.Result, &a.Body, &a.Hash, &a.MAC); err != nil {
		return a, err
	}
	a.Seq = uint64(seq)
	return a, nil
}

func scanCheckpoint(r Rows) (c store.AuditCheckpoint, err error) {
	var seq int64
	if err = r.Scan(&c.Org, &seq, &c.Head, &c.At, &c.KeyID, &c.Signature); err != nil {
		return c, err
	}
	c.Seq = uint64(seq)
	return c, nil
}

// auditField reports whether s can be an audit key or label: non-empty,
// UTF-8 without NUL, at most MaxAuditField bytes.
func auditField(s string, empty bool) bool {
	if s == "" {
		return empty
	}
	return len(s) <= store.MaxAuditField && utf8.ValidString(s) && strings.IndexByte(s, 0) < 0
}

func auditLimit(op string, limit int) error {
	if limit < 1 || limit > store.MaxAuditBatch {
		return invalid(op, "limit %d is outside 1..%d", limit, store.MaxAuditBatch)
	}
	return nil
}

// auditHeadSQL reads the newest entry and the newest checkpoint of org $1
// in one statement.
const auditHeadSQL = `SELECT 0, e.seq, e.hash, e.at, '', e.hash FROM
			(SELECT seq, hash, at FROM audit_entries WHERE org = $1 ORDER BY seq DESC LIMIT 1) AS e
		UNION ALL
		SELECT 1, c.seq, c.head, c.at, c.key_id, c.signature FROM
			(SELECT seq, head, at, key_id, signature FROM audit_checkpoints WHERE org = $1 ORDER BY seq DESC LIMIT 1) AS c`

// AuditHead implements store.AuditReader: one statement for the newest
// entry and the newest checkpoint.
func (r reader) AuditHead(ctx context.Context, org string) (store.AuditHead, error) {
	return r.auditHead(ctx, r.q, org)
}

func (r reader) auditHead(ctx context.Context, qr Querier, org string) (store.AuditHead, error) {
	const op = "audit head"
	var h store.AuditHead
	if !auditField(org, false) {
		return h, nil
	}
	rows, err := qr.Query(ctx, auditHeadSQL, org)
	if err != nil {
		return h, r.s.dbErr(ctx, op, "org "+q(org), err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			kind, seq int64
			hash, sig []byte
			at        int64
			keyID     string
		)
		if err := rows.Scan(&kind, &seq, &hash, &at, &keyID, &sig); err != nil {
			return store.AuditHead{}, r.s.dbErr(ctx, op, "org "+q(org), err)
		}
		if kind == 0 {
			h.Seq, h.Hash, h.At = uint64(seq), hash, at
		} else {
			h.Checkpoint = store.AuditCheckpoint{Org: org, Seq: uint64(seq), Head: hash, At: at, KeyID: keyID, Signature: sig}
		}
	}
	if err := rows.Err(); err != nil {
		return store.AuditHead{}, r.s.dbErr(ctx, op, "org "+q(org), err)
	}
	return h, nil
}

// Preparer is optionally implemented by a write transaction's Conn:
// Prepared returns a Querier that runs sql, the constant text of one hot
// statement, as a statement the backend keeps prepared across
// transactions. SQLite implements it (it would otherwise parse and plan
// the statement on every call, most of a short statement's cost); pgx
// caches prepared statements by itself. The audit append path uses it.
type Preparer interface {
	Prepared(sql string) Querier
}

// PreparedStatements lists the statements a Preparer is asked for, so that
// a backend can prepare them up front.
func PreparedStatements() []string {
	out := []string{auditHeadSQL, upsertAuditHeadSQL, insertAuditRunSQL}
	for _, n := range auditFlushRows {
		out = append(out, insertAuditRowsSQL(n))
	}
	return out
}

// conn returns the Querier that runs the constant statement sql in t:
// kept prepared where the backend can.
func (t *txn) conn(sql string) Querier {
	if p, ok := t.c.(Preparer); ok {
		return p.Prepared(sql)
	}
	return t.c
}

// preparedQuerier is txQuerier (the checks and the poisoning of a
// transaction's reads) over t.conn(sql).
type preparedQuerier struct {
	t *txn
	c Querier
}

func (t *txn) prepared(sql string) Querier { return preparedQuerier{t: t, c: t.conn(sql)} }

func (q preparedQuerier) Exec(ctx context.Context, sql string, args ...any) (int64, error) {
	if q.t.done {
		return 0, errFinished
	}
	if err := q.t.before(ctx, sql, true); err != nil {
		return 0, err
	}
	n, err := q.t.connExec(ctx, q.c, sql, args...)
	return n, txQuerier{q.t}.poison(ctx, err)
}

func (q preparedQuerier) Query(ctx context.Context, sql string, args ...any) (Rows, error) {
	if q.t.done {
		return nil, errFinished
	}
	if err := q.t.before(ctx, sql, false); err != nil {
		return nil, err
	}
	tq := txQuerier{q.t}
	rows, err := q.t.connQuery(ctx, q.c, sql, args...)
	if err != nil {
		return nil, tq.poison(ctx, err)
	}
	return txRows{Rows: rows, q: tq, ctx: ctx}, nil
}

// AuditHead implements store.AuditReader inside a transaction, and
// remembers the org's head (kept up to date by AppendAudit) and newest
// sequence number for AppendAudit.
func (t *txn) AuditHead(ctx context.Context, org string) (store.AuditHead, error) {
	if h, ok := t.cachedHead(org); ok {
		return h, nil
	}
	h, err := t.reader.auditHead(ctx, t.prepared(auditHeadSQL), org)
	if err == nil {
		t.rememberAuditSeq(org, h.Seq)
		if auditField(org, false) {
			t.rememberHead(org, h)
		}
	}
	return h, err
}

func (t *txn) rememberAuditSeq(org string, seq uint64) {
	if t.auditSeq == nil {
		t.auditSeq = map[string]uint64{}
	}
	t.auditSeq[org] = seq
}

// ListAudit implements store.AuditReader.
func (r reader) ListAudit(ctx context.Context, org string, f store.AuditFilter, p store.Page) ([]store.AuditRecord, string, error) {
	const op = "list audit"
	for _, s := range []string{f.Actor, f.Action, f.Target, f.Result} {
		if !auditField(s, true) {
			return nil, "", invalid(op, "filter value is not UTF-8 text of at most %d bytes", store.MaxAuditField)
		}
	}
	name := "audit"
	if f.Newest {
		name = "audit-newest"
	}
	if f.After >= math.MaxInt64 {
		return nil, "", nil
	}
	if f.Actor != "" || !f.Since.IsZero() || !f.Until.IsZero() {
		return r.listAuditRuns(ctx, op, name, org, f, p)
	}
	size, lo, hi, err := auditPageBounds(op, name, org, f, p)
	if err != nil || unstorable([]any{org}) {
		return nil, "", err
	}
	// One statement (auditPageSQL): the page's entries, one more than
	// its size (is there a next page?), and their runs' contexts.
	var b strings.Builder
	b.WriteString(`SELECT ` + auditCols + ` FROM audit_entries WHERE org = $1`)
	args := auditEntryConds(&b, []any{org}, f)
	if lo > 0 {
		args = append(args, lo)
		b.WriteString(" AND seq > $" + strconv.Itoa(len(args)))
	}
	if hi > 0 {
		args = append(args, hi)
		b.WriteString(" AND seq < $" + strconv.Itoa(len(args)))
	}
	b.WriteString(" ORDER BY seq")
	if f.Newest {
		b.WriteString(" DESC")
	}
	args = append(args, size+1)
	b.WriteString(" LIMIT $" + strconv.Itoa(len(args)))
	out, err := r.auditPage(ctx, op, org, b.String(), f.Newest, size+1, args...)
	if err != nil {
		return nil, "", err
	}
	return auditPageOf(out, size, name, org)
}

// auditPageBounds reads ListAudit's page size and its sequence bounds,
// both exclusive: above lo, below hi (0: none), from the filter's After
// and the cursor.
func auditPageBounds(op, name, org string, f store.AuditFilter, p store.Page) (size int, lo, hi int64, err error) {
	size, after, err := pageArgs(op, name, org, p, 1)
	if err != nil {
		return 0, 0, 0, err
	}
	lo = int64(f.After)
	if after != nil {
		n, err := strconv.ParseInt(after[0], 10, 64)
		if err != nil || n < 0 {
			return 0, 0, 0, invalid(op, "cursor is malformed")
		}
		if f.Newest {
			hi = n
		} else {
			lo = max(lo, n)
		}
	}
	return size, lo, hi, nil
}

// auditPageOf is the page of out (up to size+1 entries) and the cursor
// of the next page, if there is one.
func auditPageOf(out []store.AuditRecord, size int, name, org string) ([]store.AuditRecord, string, error) {
	if len(out) <= size {
		return out, "", nil
	}
	out = out[:size]
	return out, encodeCursor(name, org, []string{u64s(out[size-1].Seq)}), nil
}

// auditEntryConds appends the filter's conditions on an entry's own
// columns (target, result, action, and time) to b, their values to args.
func auditEntryConds(b *strings.Builder, args []any, f store.AuditFilter) []any {
	cond := func(sql string, v any) {
		args = append(args, v)
		b.WriteString(" AND " + sql + " $" + strconv.Itoa(len(args)))
	}
	if f.Target != "" {
		cond("target =", f.Target)
	}
	if f.Result != "" {
		cond("result =", f.Result)
	}
	if prefix, ok := strings.CutSuffix(f.Action, "*"); ok {
		if prefix != "" {
			cond("action >=", prefix)
			if upper, ok := prefixUpper(prefix); ok {
				cond("action <", upper)
			}
		}
	} else if f.Action != "" {
		cond("action =", f.Action)
	}
	if !f.Since.IsZero() {
		cond("at >=", f.Since.UnixMicro())
	}
	if !f.Until.IsZero() {
		cond("at <", f.Until.UnixMicro())
	}
	return args
}

// auditRunBatch is how many runs listAuditRuns reads a statement.
const auditRunBatch = 64

// listAuditRuns is ListAudit with an actor or time filter, served by the
// runs (audit_runs, migration 00019): the org's runs of that actor or
// time in sequence order, a batch at a time, and each run's entries by
// the entries' key (a range of it, in order, up to what the page still
// needs), until the page is full or the runs end. Every entry is in
// exactly one run and has its run's actor and time; the entries' own
// time condition is applied all the same.
//
// Two statements, not a join: PostgreSQL's generic plan of the join read
// the org's entries whole and filtered them by each run's range (it
// cannot estimate a range join's rows); each statement here is one index
// range. The statements need no common snapshot: a run and its entries
// commit together and neither changes afterwards (a prune only deletes
// from the front), so a run read first has all its entries when they are
// read, and a run committed in between is after every run read. The
// runs' contexts are read with them (a run's row never changes), so the
// entries of a run's range, which are the run's, need no lookup.
func (r reader) listAuditRuns(ctx context.Context, op, name, org string, f store.AuditFilter, p store.Page) ([]store.AuditRecord, string, error) {
	size, lo, hi, err := auditPageBounds(op, name, org, f, p)
	if err != nil || unstorable([]any{org}) {
		return nil, "", err
	}
	var rb strings.Builder
	rb.WriteString(`SELECT first_seq, last_seq, actor, ctx FROM audit_runs WHERE org = $1`)
	rargs := []any{org}
	rcond := func(sql string, v any) {
		rargs = append(rargs, v)
		rb.WriteString(" AND " + sql + " $" + strconv.Itoa(len(rargs)))
	}
	// With an actor the key (org, actor, last_seq) gives its runs in
	// order and their time is a filter ("+at": not a range on the time
	// index, which would read every actor's runs of the time and sort
	// them); without one the time index finds the runs.
	at := "at"
	if f.Actor != "" {
		rcond("actor =", f.Actor)
		at = "+at"
	}
	if !f.Since.IsZero() {
		rcond(at+" >=", f.Since.UnixMicro())
	}
	if !f.Until.IsZero() {
		rcond(at+" <", f.Until.UnixMicro())
	}
	rcond("last_seq >", lo) // runs with an entry above lo
	order := " ORDER BY last_seq"
	if f.Newest {
		order += " DESC"
	}
	runsSQL := rb.String() // + the batch's bound, order and limit

	var eb strings.Builder
	eb.WriteString(`SELECT ` + auditCols + ` FROM audit_entries WHERE org = $1 AND seq >= $2 AND seq <= $3`)
	eargs := auditEntryConds(&eb, []any{org, nil, nil}, f)
	eargs = append(eargs, nil)
	eb.WriteString(" ORDER BY seq")
	if f.Newest {
		eb.WriteString(" DESC")
	}
	eb.WriteString(" LIMIT $" + strconv.Itoa(len(eargs)))
	entriesSQL := eb.String()

	need := size + 1 // one more than the page: is there a next page?
	var out []store.AuditRecord
	// next is the bound of the next batch of runs: above it (oldest
	// first) or below it (newest first; 0: from the newest).
	next := int64(0)
	for len(out) < need {
		sql, args := runsSQL, append([]any(nil), rargs...)
		switch {
		case !f.Newest && next > 0:
			args = append(args, next)
			sql += " AND last_seq > $" + strconv.Itoa(len(args))
		case f.Newest && next > 0:
			args = append(args, next)
			sql += " AND last_seq < $" + strconv.Itoa(len(args))
		case f.Newest && hi > 0 && f.Actor != "":
			// The actor's runs with an entry below hi: those that end
			// below it, and the one that holds it.
			args = append(args, hi)
			ph := "$" + strconv.Itoa(len(args))
			sql += " AND last_seq <= COALESCE((SELECT MIN(x.last_seq) FROM audit_runs x WHERE x.org = $1 AND x.actor = $2 AND x.last_seq >= " + ph + "), " + ph + ")"
		case f.Newest && hi > 0:
			// The runs of the time with an entry below hi (runs do not
			// overlap): without this bound every batch from the newest
			// run down to the cursor was read first, each a read of the
			// time's runs, so a page 40,000 entries deep read them ~125
			// times (BenchmarkAuditDeepTimePage).
			args = append(args, hi)
			sql += " AND first_seq < $" + strconv.Itoa(len(args))
		}
		args = append(args, auditRunBatch)
		sql += order + " LIMIT $" + strconv.Itoa(len(args))
		runs, err := all(ctx, r, op, "org "+q(org), func(rs Rows) (run ctxRun, err error) {
			var first, last int64
			err = rs.Scan(&first, &last, &run.actor, &run.ctx)
			run.first, run.last = uint64(first), uint64(last)
			return run, err
		}, sql, args...)
		if err != nil {
			return nil, "", err
		}
		for _, run := range runs {
			first, last := max(int64(run.first), lo+1), int64(run.last)
			if hi > 0 {
				last = min(last, hi-1)
			}
			if first > last {
				continue
			}
			eargs[1], eargs[2], eargs[len(eargs)-1] = first, last, need-len(out)
			rs, err := all(ctx, r, op, "org "+q(org), scanAuditEntry, entriesSQL, eargs...)
			if err != nil {
				return nil, "", err
			}
			// The entries of the run's range are the run's: its context
			// (read with it) is theirs.
			if len(run.ctx) > 0 {
				spliceContexts(rs, []ctxRun{run})
			}
			if out = append(out, rs...); len(out) >= need {
				break
			}
		}
		if len(runs) < auditRunBatch {
			break
		}
		next = int64(runs[len(runs)-1].last)
	}
	return auditPageOf(out, size, name, org)
}

// prefixUpper is the smallest string greater than every string with the
// prefix (byte order), if there is one.
func prefixUpper(prefix string) (string, bool) {
	b := []byte(prefix)
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] < 0x7f { // keep it valid UTF-8: only bump ASCII bytes
			b[i]++
			return string(b[:i+1]), true
		}
	}
	return "", false
}

// ReadAudit implements store.AuditReader.
func (r reader) ReadAudit(ctx context.Context, org string, after uint64, limit int) ([]store.AuditRecord, error) {
	const op = "read audit"
	if err := auditLimit(op, limit); err != nil {
		return nil, err
	}
	if after >= math.MaxInt64 {
		return nil, nil
	}
	if unstorable([]any{org}) {
		return nil, nil
	}
	return r.auditPage(ctx, op, org, readAuditEntriesSQL, false, limit, org, int64(after), limit)
}

// readAuditEntriesSQL is ReadAudit's page: auditPageSQL's entries.
const readAuditEntriesSQL = `SELECT ` + auditCols + ` FROM audit_entries WHERE org = $1 AND seq > $2 ORDER BY seq LIMIT $3`

// ctxRun is a run that stores its entries' request context.
type ctxRun struct {
	actor       string
	first, last uint64
	ctx         []byte
}

// spliceContexts puts each entry of recs stored without its context (a
// body not starting with '{') back together with its run's: the run of
// its actor that holds its sequence number. runs are in sequence order,
// recs too (either way). An entry whose run is missing keeps the bytes
// stored (verification then reports it: a run's context is evidence).
func spliceContexts(recs []store.AuditRecord, runs []ctxRun) {
	if len(runs) == 0 {
		return
	}
	last := -1 // the run the previous such entry was in
	for i := range recs {
		a := &recs[i]
		if len(a.Body) > 0 && a.Body[0] == '{' {
			continue
		}
		if last < 0 || runs[last].actor != a.Actor || a.Seq < runs[last].first || a.Seq > runs[last].last {
			// An org's runs do not overlap: the first ending at or after
			// the entry is the only one that can hold it.
			k, _ := slices.BinarySearchFunc(runs, a.Seq, func(r ctxRun, seq uint64) int { return cmp.Compare(r.last, seq) })
			if k == len(runs) || runs[k].actor != a.Actor || runs[k].first > a.Seq {
				last = -1
				continue
			}
			last = k
		}
		c := runs[last].ctx
		a.Body = append(c[:len(c):len(c)], a.Body...)
	}
}

// ListAuditCheckpoints implements store.AuditReader.
func (r reader) ListAuditCheckpoints(ctx context.Context, org string, after uint64, limit int) ([]store.AuditCheckpoint, error) {
	const op = "list audit checkpoints"
	if err := auditLimit(op, limit); err != nil {
		return nil, err
	}
	if after >= math.MaxInt64 {
		return nil, nil
	}
	return all(ctx, r, op, "org "+q(org), scanCheckpoint,
		`SELECT `+checkpointCols+` FROM audit_checkpoints WHERE org = $1 AND seq > $2 ORDER BY seq LIMIT $3`, org, int64(after), limit)
}

// ListAuditPrunes implements store.AuditReader.
func (r reader) ListAuditPrunes(ctx context.Context, org string) ([]store.AuditPrune, error) {
	const op = "list audit prunes"
	return all(ctx, r, op, "org "+q(org), func(rs Rows) (p store.AuditPrune, err error) {
		var through int64
		err = rs.Scan(&p.Org, &through, &p.At)
		p.Through = uint64(through)
		return p, err
	}, `SELECT org, through_seq, at FROM audit_prunes WHERE org = $1 ORDER BY through_seq`, org)
}

// nilBytes stores an absent byte string as NULL (not as an empty one).
func nilBytes(b []byte) any {
	if b == nil {
		return nil
	}
	return b
}

// AuditHeadRow implements store.AuditReader.
func (r reader) AuditHeadRow(ctx context.Context, org string) (store.AuditHeadRow, bool, error) {
	const op = "audit head row"
	h := store.AuditHeadRow{Org: org}
	var seq int64
	err := queryRow(ctx, r.q, `SELECT seq, hash, mac FROM audit_heads WHERE org = $1`, []any{org}, &seq, &h.Hash, &h.MAC)
	switch {
	case errors.Is(err, errNoRows):
		return h, false, nil
	case err != nil:
		if unstorable([]any{org}) {
			return h, false, nil
		}
		return h, false, r.s.dbErr(ctx, op, "org "+q(org), err)
	}
	h.Seq = uint64(seq)
	return h, true, nil
}

// AuditOrgs implements store.AuditReader. It walks each table's primary
// key's distinct orgs (one index seek per org), not every row.
func (r reader) AuditOrgs(ctx context.Context) ([]string, error) {
	const op = "list audit orgs"
	walk := func(name, table string) string {
		return name + `(org) AS (SELECT MIN(org) FROM ` + table + ` UNION ALL
			SELECT (SELECT MIN(x.org) FROM ` + table + ` x WHERE x.org > ` + name + `.org) FROM ` + name + ` WHERE ` + name + `.org IS NOT NULL)`
	}
	return all(ctx, r, op, "", scanString, `WITH RECURSIVE `+walk("e", "audit_entries")+`, `+walk("c", "audit_checkpoints")+`, `+walk("p", "audit_prunes")+`
		SELECT org FROM e WHERE org IS NOT NULL
		UNION SELECT org FROM c WHERE org IS NOT NULL
		UNION SELECT org FROM p WHERE org IS NOT NULL
		UNION SELECT org FROM audit_heads
		ORDER BY 1`)
}

// AuditCursor implements store.AuditReader.
func (r reader) AuditCursor(ctx context.Context, org, name string) (uint64, error) {
	const op = "audit cursor"
	var seq int64
	err := queryRow(ctx, r.q, `SELECT seq FROM audit_export_cursors WHERE org = $1 AND name = $2`, []any{org, name}, &seq)
	switch {
	case errors.Is(err, errNoRows):
		return 0, nil
	case err != nil:
		if unstorable([]any{org, name}) {
			return 0, nil
		}
		return 0, r.s.dbErr(ctx, op, "exporter "+q(name)+" in org "+q(org), err)
	}
	return uint64(seq), nil
}

const (
	upsertAuditHeadSQL = `INSERT INTO audit_heads (org, seq, hash, mac) VALUES ($1, $2, $3, $4)
		ON CONFLICT (org) DO UPDATE SET seq = excluded.seq, hash = excluded.hash, mac = excluded.mac`
)

// macOK reports whether b can be a stored MAC: absent or 32 bytes.
func macOK(b []byte) bool { return b == nil || len(b) == 32 }

// AppendAudit implements store.AuditWriter.
func (t *txn) AppendAudit(ctx context.Context, a store.AuditRecord) error {
	const op = "append audit entry"
	if err := t.begin(op); err != nil {
		return err
	}
	if err := t.inScope(op, a.Org); err != nil {
		return err
	}
	c := checks{op: op}
	c.need(auditField(a.Org, false), "org is not UTF-8 text of 1 to %d bytes", store.MaxAuditField)
	c.need(a.Seq >= 1 && a.Seq < math.MaxInt64, "sequence number %d is out of range", a.Seq)
	for _, s := range []string{a.Actor, a.Action, a.Target, a.Result} {
		c.need(auditField(s, true), "actor, action, target and result must be UTF-8 text of at most %d bytes", store.MaxAuditField)
	}
	c.need(a.Target != "", "target is empty: every entry names what it touched")
	c.need(len(a.Hash) == 32, "hash is %d bytes, want 32", len(a.Hash))
	c.need(macOK(a.MAC) && macOK(a.HeadMAC), "MAC is neither absent nor 32 bytes")
	c.need(len(a.Body) <= store.MaxAuditBody && (a.BodyEncoded && isObjectStart(a.Body) || isJSONObject(a.Body)), "body is not a JSON object of at most %d bytes", store.MaxAuditBody)
	c.need(a.ContextLen == 0 || contextPrefix(a.Body, a.ContextLen), "context length %d does not end the body's leading members", a.ContextLen)
	if c.err != nil {
		return c.err
	}
	detail := func() string { return "entry " + u64s(a.Seq) + " of org " + q(a.Org) } // for errors only
	last, ok := t.auditSeq[a.Org]
	if !ok {
		var n int64
		if err := queryRow(ctx, t.q, `SELECT COALESCE(MAX(seq), 0) FROM audit_entries WHERE org = $1`, []any{a.Org}, &n); err != nil {
			return t.s.dbErr(ctx, op, detail(), err)
		}
		last = uint64(n)
		t.rememberAuditSeq(a.Org, last)
	}
	if last+1 != a.Seq {
		return store.Errorf(store.ErrConflict, op, detail()+": the org's log ends at "+u64s(last), nil)
	}
	// Written with the transaction's next statement that names an audit
	// table, or before its commit (txcache.go).
	// The body is kept as the string its INSERT or COPY sends: one copy
	// of the caller's bytes, not a clone and then a string of the clone.
	body := string(a.Body)
	a.Body, a.Hash, a.MAC, a.HeadMAC = nil, slices.Clone(a.Hash), slices.Clone(a.MAC), slices.Clone(a.HeadMAC)
	t.bufferAudit(a, body, a.ContextLen)
	t.rememberAuditSeq(a.Org, a.Seq)
	t.unlogged = true
	return nil
}

// RecordAuditHead implements store.AuditWriter.
func (t *txn) RecordAuditHead(ctx context.Context, h store.AuditHeadRow) error {
	const op = "record audit head"
	if err := t.begin(op); err != nil {
		return err
	}
	if err := t.inScope(op, h.Org); err != nil {
		return err
	}
	t.forgetHead(h.Org) // it changes what AuditHead answers
	c := checks{op: op}
	c.need(auditField(h.Org, false), "org is not UTF-8 text of 1 to %d bytes", store.MaxAuditField)
	c.need(h.Seq >= 1 && h.Seq < math.MaxInt64, "sequence number %d is out of range", h.Seq)
	c.need(len(h.Hash) == 32, "hash is %d bytes, want 32", len(h.Hash))
	c.need(macOK(h.MAC), "MAC is neither absent nor 32 bytes")
	if c.err != nil {
		return c.err
	}
	detail := "entry " + u64s(h.Seq) + " of org " + q(h.Org)
	var (
		seq  int64
		hash []byte
	)
	err := queryRow(ctx, t.q, `SELECT seq, hash FROM audit_entries WHERE org = $1 ORDER BY seq DESC LIMIT 1`, []any{h.Org}, &seq, &hash)
	if err != nil && !errors.Is(err, errNoRows) {
		return t.s.dbErr(ctx, op, detail, err)
	}
	if err != nil || uint64(seq) != h.Seq || !bytes.Equal(hash, h.Hash) {
		return store.Errorf(store.ErrConflict, op, detail+": it is not the org's newest entry", nil)
	}
	if _, err := t.conn(upsertAuditHeadSQL).Exec(ctx, upsertAuditHeadSQL, h.Org, int64(h.Seq), h.Hash, nilBytes(h.MAC)); err != nil {
		return t.fail(ctx, op, detail, err)
	}
	t.unlogged = true
	return nil
}

// contextPrefix reports whether body[:n] can be stored apart as a run's
// context (store.AuditRecord.ContextLen): '{', then at least one byte,
// then the ',' that ends the context's last member, and the rest of the
// body starting with the next member's '"'. The split is of bytes: the
// context and the rest put together again are the body, whatever they
// hold.
func contextPrefix(body []byte, n int) bool {
	return n >= 3 && n < len(body) && body[0] == '{' && body[n-1] == ',' && body[n] == '"'
}

// isObjectStart is isJSONObject's cheap half, for bodies the caller
// encoded with encoding/json (AuditRecord.BodyEncoded): an object, not
// re-parsed.
func isObjectStart(b []byte) bool { return len(b) >= 2 && b[0] == '{' && b[len(b)-1] == '}' }

func isJSONObject(b []byte) bool {
	b = bytes.TrimLeft(b, " \t\r\n")
	return len(b) > 0 && b[0] == '{' && json.Valid(b) && utf8.Valid(b) && bytes.IndexByte(b, 0) < 0
}

// AppendAuditCheckpoint implements store.AuditWriter.
func (t *txn) AppendAuditCheckpoint(ctx context.Context, cp store.AuditCheckpoint) error {
	const op = "append audit checkpoint"
	if err := t.begin(op); err != nil {
		return err
	}
	if err := t.inScope(op, cp.Org); err != nil {
		return err
	}
	t.forgetHead(cp.Org) // it changes what AuditHead answers
	c := checks{op: op}
	c.need(auditField(cp.Org, false), "org is not UTF-8 text of 1 to %d bytes", store.MaxAuditField)
	c.need(cp.Seq >= 1 && cp.Seq < math.MaxInt64, "sequence number %d is out of range", cp.Seq)
	c.need(len(cp.Head) == 32, "head is %d bytes, want 32", len(cp.Head))
	c.need(auditField(cp.KeyID, false), "key id is not UTF-8 text of 1 to %d bytes", store.MaxAuditField)
	c.need(len(cp.Signature) > 0 && len(cp.Signature) <= 1024, "signature is empty or longer than 1024 bytes")
	if c.err != nil {
		return c.err
	}
	detail := "checkpoint " + u64s(cp.Seq) + " of org " + q(cp.Org)
	var hash []byte
	err := queryRow(ctx, t.q, `SELECT hash FROM audit_entries WHERE org = $1 AND seq = $2`, []any{cp.Org, int64(cp.Seq)}, &hash)
	switch {
	case errors.Is(err, errNoRows):
		return store.Errorf(store.ErrNotFound, op, detail+": no such entry", nil)
	case err != nil:
		return t.s.dbErr(ctx, op, detail, err)
	}
	if !bytes.Equal(hash, cp.Head) {
		return store.Errorf(store.ErrConflict, op, detail+": head is not the entry's hash", nil)
	}
	dup, err := t.exists(ctx, op, detail, `SELECT 1 FROM audit_checkpoints WHERE org = $1 AND seq = $2`, cp.Org, int64(cp.Seq))
	if err != nil {
		return err
	}
	if dup {
		return store.Errorf(store.ErrConflict, op, detail+": exists", nil)
	}
	if _, err := t.exec(ctx, op, detail, `INSERT INTO audit_checkpoints (`+checkpointCols+`) VALUES ($1, $2, $3, $4, $5, $6)`,
		cp.Org, int64(cp.Seq), cp.Head, cp.At, cp.KeyID, cp.Signature); err != nil {
		return err
	}
	t.unlogged = true
	return nil
}

// PruneAudit implements store.AuditWriter.
func (t *txn) PruneAudit(ctx context.Context, org string, through uint64) (int64, error) {
	const op = "prune audit"
	if err := t.begin(op); err != nil {
		return 0, err
	}
	t.forgetHead(org) // it changes what AuditHead answers
	c := checks{op: op}
	c.need(auditField(org, false), "org is not UTF-8 text of 1 to %d bytes", store.MaxAuditField)
	c.need(through >= 1 && through < math.MaxInt64, "sequence number %d is out of range", through)
	if c.err != nil {
		return 0, c.err
	}
	detail := "org " + q(org) + " through " + u64s(through)
	ok, err := t.exists(ctx, op, detail, `SELECT 1 FROM audit_checkpoints WHERE org = $1 AND seq = $2`, org, int64(through))
	if err != nil {
		return 0, err
	}
	if !ok {
		return 0, store.Errorf(store.ErrRefused, op, detail+": only whole checkpointed segments are pruned, and there is no checkpoint at "+u64s(through), nil)
	}
	ok, err = t.exists(ctx, op, detail, `SELECT 1 FROM audit_entries WHERE org = $1 AND seq > $2`, org, int64(through))
	if err != nil {
		return 0, err
	}
	if !ok {
		return 0, store.Errorf(store.ErrRefused, op, detail+": the prune must itself be an entry after the pruned segment", nil)
	}
	done, err := t.exists(ctx, op, detail, `SELECT 1 FROM audit_prunes WHERE org = $1 AND through_seq = $2`, org, int64(through))
	if err != nil {
		return 0, err
	}
	if done {
		return 0, store.Errorf(store.ErrConflict, op, detail+": already pruned", nil)
	}
	if _, err := t.exec(ctx, op, detail, `INSERT INTO audit_prunes (org, through_seq, at) VALUES ($1, $2, $3)`,
		org, int64(through), t.now.UnixMicro()); err != nil {
		return 0, err
	}
	n, err := t.exec(ctx, op, detail, `DELETE FROM audit_entries WHERE org = $1 AND seq <= $2`, org, int64(through))
	if err != nil {
		return 0, err
	}
	// The runs that end in the pruned segment; one that goes on past it
	// stays (the queries join its remaining entries).
	if _, err := t.exec(ctx, op, detail, `DELETE FROM audit_runs WHERE org = $1 AND last_seq <= $2`, org, int64(through)); err != nil {
		return 0, err
	}
	t.unlogged = true
	return n, nil
}

// SetAuditCursor implements store.AuditWriter.
func (t *txn) SetAuditCursor(ctx context.Context, org, name string, seq uint64) error {
	const op = "set audit cursor"
	if err := t.begin(op); err != nil {
		return err
	}
	c := checks{op: op}
	c.need(auditField(org, false), "org is not UTF-8 text of 1 to %d bytes", store.MaxAuditField)
	c.need(auditField(name, false), "exporter name is not UTF-8 text of 1 to %d bytes", store.MaxAuditField)
	c.need(seq < math.MaxInt64, "sequence number %d is out of range", seq)
	if c.err != nil {
		return c.err
	}
	if _, err := t.exec(ctx, op, "exporter "+q(name)+" in org "+q(org),
		`INSERT INTO audit_export_cursors (org, name, seq, updated_at) VALUES ($1, $2, $3, $4)
		 ON CONFLICT (org, name) DO UPDATE SET seq = excluded.seq, updated_at = excluded.updated_at`,
		org, name, int64(seq), t.now.UnixMicro()); err != nil {
		return err
	}
	t.unlogged = true
	return nil
}

// auditSettingsSQL reads an org's audit settings: a read the decision
// log makes for every org in use when it starts and then once per
// audit.SettingsTTL (re-read ahead; a change reaches it through the
// changelog instead), so it is one of PreparedReads.
const auditSettingsSQL = `SELECT settings FROM audit_settings WHERE org = $1`

// PreparedReads lists the reads a backend should keep prepared on its
// reader connections, if it parses each plain statement again (SQLite):
// constant texts run outside write transactions often enough, whatever the
// load, that parsing them is most of their cost — the audit settings, and
// a bulk write's prefetch before the write lock (PrefetchOutside, in a
// read transaction; its statements have 50 to 100 terms).
func PreparedReads() []string {
	return []string{auditSettingsSQL, prefetchUsersSQL, prefetchEmailsSQL, prefetchMembersSQL, prefetchBindingsSQL, prefetchResourcesSQL}
}

// AuditSettings implements store.AuditReader.
func (r reader) AuditSettings(ctx context.Context, org string) ([]byte, error) {
	const op = "audit settings"
	var raw []byte
	err := queryRow(ctx, r.q, auditSettingsSQL, []any{org}, &raw)
	switch {
	case errors.Is(err, errNoRows):
		return nil, nil
	case err != nil:
		if unstorable([]any{org}) {
			return nil, nil
		}
		return nil, r.s.dbErr(ctx, op, "org "+q(org), err)
	}
	return raw, nil
}

// SetAuditSettings implements store.AuditWriter.
func (t *txn) SetAuditSettings(ctx context.Context, org string, settings []byte) error {
	const op = "set audit settings"
	if err := t.begin(op); err != nil {
		return err
	}
	c := checks{op: op}
	c.need(auditField(org, false), "org is not UTF-8 text of 1 to %d bytes", store.MaxAuditField)
	c.need(len(settings) <= store.MaxJSONBytes && isJSONObject(settings), "settings are not a JSON object of at most %d bytes", store.MaxJSONBytes)
	if c.err != nil {
		return c.err
	}
	if _, err := t.exec(ctx, op, "org "+q(org),
		`INSERT INTO audit_settings (org, settings, updated_at) VALUES ($1, $2, $3)
		 ON CONFLICT (org) DO UPDATE SET settings = excluded.settings, updated_at = excluded.updated_at`,
		org, string(settings), t.now.UnixMicro()); err != nil {
		return err
	}
	// In the changelog (a new revision), unlike the audit rows: other
	// processes' decision logs learn of it from their followers.
	return t.record(ctx, op, store.KindAuditSettingsPut, org, org, store.AuditSettingsChange{Org: org, Settings: settings})
}
