package sqlcore

import (
	"context"
	"slices"
	"strconv"
	"strings"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// A write transaction saves statements that a batch (directory.Write: up
// to 1,000 changes, each audited) would otherwise repeat per change, each
// a round trip on PostgreSQL (issue 19):
//
//   - Existence checks (exists: the org, a namespace, a principal, a
//     resource a binding names) that found their row are remembered for
//     the rest of the transaction. Only a row's removal or an update could
//     make such an answer false, so every statement of the transaction that
//     is not an INSERT forgets all of them (noteExec).
//   - The org's audit head (AuditHead) is read once and then kept up to
//     date by AppendAudit; AppendAuditCheckpoint, PruneAudit and
//     RecordAuditHead forget it.
//   - Audit rows (AppendAudit) and the audit_heads row are buffered and
//     written as multi-row INSERTs (flushAudit): before any statement of
//     the transaction that names an audit table (so every read of the
//     transaction sees them, as before), and before the commit.
//
// The transaction is the only writer (the store's write lock), so what it
// remembers cannot be changed by anyone else before it commits.

// auditFlushRows are the row counts of the multi-row audit INSERTs, largest
// first: a constant few statement texts (kept prepared by SQLite, cached
// by pgx).
var auditFlushRows = []int{100, 10, 1}

// copyMinRows is the fewest buffered audit rows a bulk write sends with a
// Copier's COPY rather than multi-row INSERTs (a COPY is a round trip of
// its own).
const copyMinRows = 20

// auditColNames are auditCols, one name each (a Copier's columns).
var auditColNames = strings.Split(strings.ReplaceAll(auditCols, " ", ""), ",")

// Copier is optionally implemented by a write transaction's Conn
// (PostgreSQL's): it writes rows into table's columns with COPY, in the
// transaction, and returns how many it wrote.
type Copier interface {
	CopyRows(ctx context.Context, table string, cols []string, rows [][]any) (int64, error)
}

// pendingAudit is a checked audit row not yet written: the record without
// its Body, which body holds as the string its statement sends.
type pendingAudit struct {
	store.AuditRecord
	body   string
	ctxLen int // body[:ctxLen] is the entry's request context (AuditRecord.ContextLen)
}

type pendingHead struct {
	seq       uint64
	hash, mac []byte
	macOf     func() []byte // the entry's HeadMACOf, when mac is nil
}

// existsKey is the cache key of an existence check: the statement and its
// arguments; ok is false when an argument is of a type it does not encode
// (the check is then not cached).
func existsKey(sql string, args []any) (string, bool) {
	b, ok := appendExistsKey(make([]byte, 0, len(sql)+16*len(args)), sql, args)
	return string(b), ok
}

// appendExistsKey appends existsKey(sql, args) to dst.
func appendExistsKey(dst []byte, sql string, args []any) ([]byte, bool) {
	dst = append(dst, sql...)
	for _, a := range args {
		dst = append(dst, 0)
		switch v := a.(type) {
		case string:
			dst = append(dst, 's')
			dst = append(dst, v...)
		case int64:
			dst = append(dst, 'i')
			dst = strconv.AppendInt(dst, v, 10)
		case int:
			dst = append(dst, 'i')
			dst = strconv.AppendInt(dst, int64(v), 10)
		default:
			return dst, false
		}
	}
	return dst, true
}

// appendStringsKey is appendExistsKey for arguments that are all strings
// (the same key), without boxing them.
func appendStringsKey(dst []byte, sql string, args []string) []byte {
	dst = append(dst, sql...)
	for _, v := range args {
		dst = append(dst, 0, 's')
		dst = append(dst, v...)
	}
	return dst
}

// existsStrings is exists for string arguments, the write path's common
// case (an org, a namespace, a principal, a resource a binding names): a
// check the transaction already answers costs no allocation (the key is
// built in the transaction's scratch buffer, the detail only when a
// statement runs).
func (t *txn) existsStrings(ctx context.Context, op string, detail func() string, sql string, args ...string) (bool, error) {
	t.keyBuf = appendStringsKey(t.keyBuf[:0], sql, args)
	// known's lookups, written out: the compiler converts string(t.keyBuf)
	// without a copy only inside a map index expression. As an argument
	// (even to an inlined known) it copied every key longer than 32 bytes,
	// which is all of them (TestExistsStringsKnownAllocates).
	if _, ok := t.found[string(t.keyBuf)]; ok {
		return true, nil
	}
	if _, ok := t.absent[string(t.keyBuf)]; ok {
		return false, nil
	}
	boxed := make([]any, len(args))
	for i, a := range args {
		boxed[i] = a
	}
	ok, err := t.reader.exists(ctx, op, detail(), sql, boxed...)
	if ok && err == nil {
		// keyBuf is still the key: reader.exists does not touch it.
		t.markFound(string(t.keyBuf))
	}
	return ok, err
}

// exists is reader.exists, remembering the rows found.
func (t *txn) exists(ctx context.Context, op, detail, sql string, args ...any) (bool, error) {
	key, cacheable := existsKey(sql, args)
	if cacheable {
		if found, known := t.known(key); known {
			return found, nil
		}
	}
	ok, err := t.reader.exists(ctx, op, detail, sql, args...)
	if ok && err == nil && cacheable {
		t.markFound(key)
	}
	return ok, err
}

// known answers the existence check of key from what the transaction
// remembers: found (a row it saw or inserted) or absent (Prefetch found
// none); known is false when it must ask the database.
func (t *txn) known(key string) (found, known bool) {
	if _, ok := t.found[key]; ok {
		return true, true
	}
	if _, ok := t.absent[key]; ok {
		return false, true
	}
	return false, false
}

func (t *txn) markFound(key string) {
	if t.found == nil {
		t.found = map[string]struct{}{}
	}
	t.found[key] = struct{}{}
}

// The existence checks that rows inserted by the transaction answer
// (noteFound) without a statement.
const (
	resourceExistsSQL  = `SELECT 1 FROM resources WHERE org = $1 AND namespace = $2 AND type = $3 AND id = $4`
	namespaceExistsSQL = `SELECT 1 FROM namespaces WHERE org = $1 AND name = $2`
	userExistsSQL      = `SELECT 1 FROM users WHERE id = $1`
	memberExistsSQL    = `SELECT 1 FROM members WHERE org = $1 AND user_id = $2`
)

// noteFound records that the check sql with args now finds its row: the
// transaction has just inserted it.
func (t *txn) noteFound(sql string, args ...any) {
	if key, ok := existsKey(sql, args); ok {
		t.markFound(key)
	}
}

// GetResource is reader.GetResource; a resource read in the transaction
// also answers the later existence check of a binding on it.
func (t *txn) GetResource(ctx context.Context, org string, ref authz.ResourceRef) (store.Resource, error) {
	r, err := t.reader.GetResource(ctx, org, ref)
	if err == nil {
		t.noteFound(resourceExistsSQL, org, ref.Namespace, ref.Type, ref.ID)
	}
	return r, err
}

// RequireResource returns nil if the resource exists, else GetResource's
// ErrNotFound, without reading the row; the answer is remembered (see
// exists). The directory uses it where it only needs to know (a share),
// through an optional interface: it is not part of store.Tx.
func (t *txn) RequireResource(ctx context.Context, org string, ref authz.ResourceRef) error {
	const op = "get resource"
	ok, err := t.existsStrings(ctx, op, func() string { return refDetail(org, ref) }, resourceExistsSQL, org, ref.Namespace, ref.Type, ref.ID)
	if err != nil {
		return err
	}
	if !ok {
		return notFound(op, refDetail(org, ref))
	}
	return nil
}

// before runs ahead of every statement of the transaction: it writes the
// buffered audit rows first if sql names an audit table, and forgets the
// remembered existence checks if sql may remove or change rows.
func (t *txn) before(ctx context.Context, sql string, write bool) error {
	t.wrote = t.wrote || write
	if t.hasPendingAudit() && strings.Contains(sql, "audit_") {
		if err := t.flushAudit(ctx); err != nil {
			return err
		}
	}
	if write && !isInsert(sql) && len(t.found)+len(t.absent)+len(t.bindingsAt) > 0 {
		t.forgetFacts()
	}
	return nil
}

func isInsert(sql string) bool {
	s := strings.TrimLeft(sql, " \t\r\n")
	return len(s) >= 6 && strings.EqualFold(s[:6], "INSERT")
}

func (t *txn) hasPendingAudit() bool { return len(t.auditPending) > 0 || len(t.headPending) > 0 }

// cachedHead returns the org's audit head if the transaction knows it.
func (t *txn) cachedHead(org string) (store.AuditHead, bool) {
	h, ok := t.heads[org]
	if !ok {
		return store.AuditHead{}, false
	}
	h.Hash = slices.Clone(h.Hash)
	return h, true
}

func (t *txn) rememberHead(org string, h store.AuditHead) {
	if t.heads == nil {
		t.heads = map[string]store.AuditHead{}
	}
	h.Hash = slices.Clone(h.Hash)
	t.heads[org] = h
}

// forgetHead drops what the transaction knows of org's audit head (after
// a statement that changes it other than by AppendAudit).
func (t *txn) forgetHead(org string) { delete(t.heads, org) }

// bufferAudit queues a checked audit row and the org's new head row.
func (t *txn) bufferAudit(a store.AuditRecord, body string, ctxLen int) {
	t.auditPending = append(t.auditPending, pendingAudit{AuditRecord: a, body: body, ctxLen: ctxLen})
	if t.headPending == nil {
		t.headPending = map[string]pendingHead{}
	}
	t.headPending[a.Org] = pendingHead{seq: a.Seq, hash: a.Hash, mac: a.HeadMAC, macOf: a.HeadMACOf}
	if h, ok := t.heads[a.Org]; ok {
		h.Seq, h.Hash, h.At = a.Seq, slices.Clone(a.Hash), a.At
		t.heads[a.Org] = h
	}
}

// flushAudit writes the buffered audit rows (multi-row INSERTs) and head
// rows. A failure poisons the transaction.
func (t *txn) flushAudit(ctx context.Context) error {
	const op = "append audit entry"
	rows := t.auditPending
	t.auditPending = nil
	runs := auditRunsOf(rows)
	if cp, ok := t.c.(Copier); ok && t.bulk && len(rows) >= copyMinRows {
		// A bulk write's entries in one COPY: the executor's cheapest
		// path for many rows (issue 19). Nothing in the queue is needed
		// first: an entry refers to no other row.
		vals := make([][]any, len(rows))
		var bx auditBoxes
		for i, a := range rows {
			vals[i] = bx.row(make([]any, 0, 10), &a)
		}
		if _, err := cp.CopyRows(ctx, "audit_entries", auditColNames, vals); err != nil {
			return t.fail(ctx, op, "entries "+u64s(rows[0].Seq)+" to "+u64s(rows[len(rows)-1].Seq)+" of org "+q(rows[0].Org), err)
		}
		rows = nil
	}
	for len(rows) > 0 {
		n := 1
		for _, k := range auditFlushRows {
			if len(rows) >= k {
				n = k
				break
			}
		}
		sql := insertAuditRowsSQL(n)
		args := make([]any, 0, 10*n)
		var bx auditBoxes
		for i := range rows[:n] {
			args = bx.row(args, &rows[i])
		}
		detail := "entries " + u64s(rows[0].Seq) + " to " + u64s(rows[n-1].Seq) + " of org " + q(rows[0].Org)
		if t.bulk {
			t.enqueue(op, detail, sql, args...)
		} else if _, err := t.connExec(ctx, t.conn(sql), sql, args...); err != nil {
			if t.poison != nil {
				return t.poison
			}
			return t.fail(ctx, op, detail, err)
		}
		rows = rows[n:]
	}
	for _, r := range runs {
		detail := "run " + u64s(r.first) + " to " + u64s(r.last) + " of org " + q(r.org)
		if t.bulk {
			t.enqueue(op, detail, insertAuditRunSQL, r.org, r.actor, int64(r.last), int64(r.first), r.at, r.ctx)
		} else if _, err := t.connExec(ctx, t.conn(insertAuditRunSQL), insertAuditRunSQL, r.org, r.actor, int64(r.last), int64(r.first), r.at, r.ctx); err != nil {
			if t.poison != nil {
				return t.poison
			}
			return t.fail(ctx, op, detail, err)
		}
	}
	heads := t.headPending
	t.headPending = nil
	orgs := make([]string, 0, len(heads))
	for org := range heads {
		orgs = append(orgs, org)
	}
	slices.Sort(orgs) // a deterministic order of statements
	for _, org := range orgs {
		h := heads[org]
		if h.mac == nil && h.macOf != nil {
			// Only the org's newest entry of the run is its head: its MAC
			// is computed once, here (store.AuditRecord.HeadMACOf).
			if h.mac = h.macOf(); !macOK(h.mac) {
				return t.fail(ctx, op, "head of org "+q(org), store.Errorf(store.ErrInvalid, op, "head MAC is neither absent nor 32 bytes", nil))
			}
		}
		if t.bulk {
			t.enqueue(op, "head of org "+q(org), upsertAuditHeadSQL, org, int64(h.seq), h.hash, nilBytes(h.mac))
		} else if _, err := t.conn(upsertAuditHeadSQL).Exec(ctx, upsertAuditHeadSQL, org, int64(h.seq), h.hash, nilBytes(h.mac)); err != nil {
			return t.fail(ctx, op, "head of org "+q(org), err)
		}
	}
	return nil
}

// auditRun is one row of audit_runs: entries first to last of org, all of
// actor and at time (the actor and time filters find entries through them)
// and of one request context; ctx is that context when the run stores it
// (its entries then store only the rest of their bodies), else "".
type auditRun struct {
	org, actor  string
	first, last uint64
	at          int64
	ctx         string
	start       int // the run's first row in the rows auditRunsOf grouped
}

const insertAuditRunSQL = `INSERT INTO audit_runs (org, actor, last_seq, first_seq, at, ctx) VALUES ($1, $2, $3, $4, $5, $6)`

// auditRunsOf groups rows into runs: a row starts a new run unless it is
// the next entry of the previous row's org, with its actor, time and
// request context (the bytes body[:ctxLen]; none when ctxLen is 0). A
// transaction's entries share its time, and a bulk write's its actor and
// context, so a bulk write of an org's facts is one run. A run of two or
// more entries with a context stores it once (migration 00020): its rows'
// bodies are cut to what follows the context (a substring: no copy). A
// run of one entry keeps its body whole (nothing to share, and its
// readers then need no lookup).
func auditRunsOf(rows []pendingAudit) []auditRun {
	var runs []auditRun
	for i := range rows {
		a := &rows[i]
		ctx := a.body[:a.ctxLen]
		if n := len(runs); n > 0 {
			r := &runs[n-1]
			if r.org == a.Org && r.actor == a.Actor && r.at == a.At && r.last+1 == a.Seq && r.ctx == ctx {
				r.last = a.Seq
				continue
			}
		}
		runs = append(runs, auditRun{org: a.Org, actor: a.Actor, first: a.Seq, last: a.Seq, at: a.At, ctx: ctx, start: i})
	}
	for k := range runs {
		r := &runs[k]
		if r.ctx == "" {
			continue
		}
		if r.first == r.last {
			r.ctx = ""
			continue
		}
		for i := r.start; i <= r.start+int(r.last-r.first); i++ {
			rows[i].body = rows[i].body[len(r.ctx):]
		}
	}
	return runs
}

// auditBoxes appends audit rows' arguments (auditCols' order), boxing
// each of the strings a batch's entries repeat (org, actor, action,
// result) once while it stays the same from row to row: one allocation
// for the run instead of one per row.
type auditBoxes struct {
	org, actor, action, result boxed
}

func (b *auditBoxes) row(args []any, a *pendingAudit) []any {
	return append(args, b.org.of(a.Org), int64(a.Seq), a.At, b.actor.of(a.Actor), b.action.of(a.Action), a.Target,
		b.result.of(a.Result), a.body, a.Hash, nilBytes(a.MAC))
}

// boxed is the last string boxed, and its box.
type boxed struct {
	s string
	v any
}

func (b *boxed) of(s string) any {
	if b.v == nil || b.s != s {
		b.s, b.v = s, s
	}
	return b.v
}

var auditRowsSQL = func() map[int]string {
	m := map[int]string{}
	for _, n := range auditFlushRows {
		var b strings.Builder
		b.WriteString(`INSERT INTO audit_entries (` + auditCols + `) VALUES `)
		for i := range n {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString("(")
			for j := 1; j <= 10; j++ {
				if j > 1 {
					b.WriteString(", ")
				}
				b.WriteString("$" + strconv.Itoa(i*10+j))
			}
			b.WriteString(")")
		}
		m[n] = b.String()
	}
	return m
}()

// insertAuditRowsSQL is the INSERT of n audit rows (n one of
// auditFlushRows).
func insertAuditRowsSQL(n int) string { return auditRowsSQL[n] }

// prefetchChunk is how many user ids one membership prefetch statement
// asks about (a shorter list is padded with its last id, so the statement
// text is always the same).
const prefetchChunk = 100

var prefetchMembersSQL = func() string {
	var b strings.Builder
	b.WriteString(`SELECT user_id FROM members WHERE org = $1 AND user_id IN (`)
	for i := range prefetchChunk {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("$" + strconv.Itoa(i+2))
	}
	b.WriteString(")")
	return b.String()
}()
