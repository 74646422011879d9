package sqlcore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// Store implements store.Store over a Backend.
type Store struct {
	reader
	b      Backend
	opts   Options
	bc     *broadcaster
	poke   chan struct{}
	stop   chan struct{}
	wg     sync.WaitGroup
	closed atomic.Bool
	once   sync.Once
}

var _ store.Store = (*Store)(nil)

// New returns a Store over b, which must be migrated. It reads the current
// revision and starts the Watch poller. On error b is not closed.
func New(ctx context.Context, b Backend, opts Options) (*Store, error) {
	if opts.PollInterval <= 0 {
		opts.PollInterval = time.Second
	}
	s := &Store{b: b, opts: opts, poke: make(chan struct{}, 1), stop: make(chan struct{})}
	s.reader = reader{q: b, s: s}
	rev, err := s.CurrentRevision(ctx)
	if err != nil {
		return nil, err
	}
	s.bc = newBroadcaster(rev)
	s.wg.Add(1)
	go s.pollLoop()
	return s, nil
}

// Wake makes the poller read the revision now (a notification arrived, or
// a listener reconnected and may have missed some). It never blocks.
func (s *Store) Wake() {
	select {
	case s.poke <- struct{}{}:
	default:
	}
}

// Close stops the poller, closes every Watch channel and the backend.
func (s *Store) Close() error {
	var err error
	s.once.Do(func() {
		s.closed.Store(true)
		close(s.stop)
		s.wg.Wait()
		s.bc.close()
		err = s.b.Close()
	})
	return err
}

func (s *Store) pollLoop() {
	defer s.wg.Done()
	t := time.NewTicker(s.opts.PollInterval)
	defer t.Stop()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-s.stop
		cancel()
	}()
	for {
		poked := false
		select {
		case <-s.stop:
			return
		case <-t.C:
		case <-s.poke:
			poked = true
		}
		if !poked && s.bc.count() == 0 {
			continue
		}
		qctx, qcancel := context.WithTimeout(ctx, 30*time.Second)
		rev, err := s.CurrentRevision(qctx)
		qcancel()
		if err == nil {
			s.bc.publish(rev)
		}
	}
}

// Watch implements store.ChangelogReader.
func (s *Store) Watch(ctx context.Context) <-chan uint64 { return s.bc.subscribe(ctx) }

// CurrentRevision implements store.ChangelogReader.
func (s *Store) CurrentRevision(ctx context.Context) (uint64, error) {
	var rev int64
	if err := queryRow(ctx, s.b, `SELECT revision FROM store_revision WHERE id = 1`, nil, &rev); err != nil {
		if errors.Is(err, errNoRows) {
			return 0, store.Errorf(store.ErrBackend, "current revision", "store_revision row is missing", nil)
		}
		return 0, s.dbErr(ctx, "current revision", "", err)
	}
	return uint64(rev), nil
}

const changeCols = `revision, seq, org, kind, change_key, payload, created_at`

// ChangesSince implements store.ChangelogReader.
func (s *Store) ChangesSince(ctx context.Context, after uint64, limit int) ([]store.Change, error) {
	return s.changesSince(ctx, s.b, after, limit)
}

// ChangesSince implements store.CatchUpReader: the changelog read over the
// transaction's own connection (its own entries are inserted at commit, so
// it sees committed revisions only).
func (t *txn) ChangesSince(ctx context.Context, after uint64, limit int) ([]store.Change, error) {
	if t.done {
		return nil, errFinished
	}
	return t.s.changesSince(ctx, txQuerier{t}, after, limit)
}

// changesLimit checks a changelog read's arguments for op: the limit
// (0: the default) within 1..MaxChangesLimit and after within the
// revisions' int64 range. It returns the limit to use.
func changesLimit(op string, after uint64, limit int) (int, error) {
	switch {
	case limit == 0:
		limit = store.DefaultChangesLimit
	case limit < 0 || limit > store.MaxChangesLimit:
		return 0, invalid(op, "limit %d is outside 1..%d", limit, store.MaxChangesLimit)
	}
	if after > math.MaxInt64 {
		return 0, invalid(op, "revision %d is out of range", after)
	}
	return limit, nil
}

func (s *Store) changesSince(ctx context.Context, q Querier, after uint64, limit int) ([]store.Change, error) {
	limit, err := changesLimit("changes since", after, limit)
	if err != nil {
		return nil, err
	}
	return s.changesPage(ctx, q, limit,
		`SELECT `+changeCols+` FROM changelog WHERE revision > $1 ORDER BY revision, seq LIMIT $2`, []any{int64(after)},
		`SELECT `+changeCols+` FROM changelog WHERE revision = $1 AND seq > $2 ORDER BY seq`, nil)
}

// Write implements store.Store.
func (s *Store) Write(ctx context.Context, fn func(tx store.Tx) error) (uint64, error) {
	return s.write(ctx, "", fn)
}

// WriteOrg is Write for a transaction that changes org only: every change
// it records and every audit row it appends must be org's (anything else
// fails the transaction). Where the backend supports it and
// Options.OrgWrites is set (PostgreSQL, off by default), such
// transactions of different orgs run concurrently (orgwrite.go); else it
// is Write. Inside fn, Tx.Revision is the base revision + 1, as in Write;
// the revision it commits as, which Write returns, may be higher (other
// orgs' writes committed meanwhile), and Tx.Changes read after it returns
// carry that revision.
func (s *Store) WriteOrg(ctx context.Context, org string, fn func(tx store.Tx) error) (uint64, error) {
	if org == "" {
		return 0, invalid("write", "an org-scoped write needs an org")
	}
	return s.write(ctx, org, fn)
}

// write is Write, or WriteOrg of scope when scope is not "".
func (s *Store) write(ctx context.Context, scope string, fn func(tx store.Tx) error) (uint64, error) {
	const op = "write"
	if fn == nil {
		return 0, invalid(op, "nil callback")
	}
	if s.closed.Load() {
		return 0, store.Errorf(store.ErrBackend, op, "store is closed", nil)
	}
	ol, concurrent := s.b.(OrgLocker)
	concurrent = concurrent && s.opts.OrgWrites && scope != ""
	var (
		c   Conn
		err error
	)
	if concurrent {
		c, err = ol.BeginOrgWrite(ctx, scope)
	} else {
		c, err = s.b.BeginWrite(ctx)
	}
	if err != nil {
		return 0, s.dbErr(ctx, op, "begin", err)
	}
	finished := false
	defer func() {
		if !finished { // error, no change, or a panic in fn
			_ = c.Rollback(context.WithoutCancel(ctx))
		}
	}()
	var cur int64
	if err := queryRow(ctx, c, `SELECT revision FROM store_revision WHERE id = 1`, nil, &cur); err != nil {
		return 0, s.dbErr(ctx, op, "read revision", err)
	}
	t := &txn{s: s, c: c, rev: uint64(cur) + 1, now: time.Now().UTC().Truncate(time.Microsecond), scope: scope}
	t.reader = reader{q: txQuerier{t}, s: s}
	ferr := fn(t)
	if ferr == nil && t.poison == nil && t.hasPendingAudit() {
		ferr = t.flushAudit(ctx)
	}
	var placeholder, logRows int64
	if ferr == nil && t.poison == nil && concurrent && len(t.changes) > 0 {
		// A concurrent org write sends its changelog rows with the rest,
		// under a placeholder revision, before it queues for the revision
		// lock: the tail renumbers them (orgwrite.go).
		placeholder = placeholderRevision()
		for _, st := range s.changelogStmts(t.changes, placeholder) {
			t.enqueue(op, "append changelog", st.SQL, st.Args...)
			logRows += int64(len(st.Args) / changelogArgs)
		}
	}
	if ferr == nil && t.poison == nil && (len(t.changes) == 0 || !t.bulk || concurrent) {
		// A concurrent org write sends its rows before it queues for the
		// revision lock: only the tail below is serialized.
		ferr = t.flushQueue(ctx)
	}
	t.done = true
	if ferr != nil {
		return 0, ferr
	}
	if t.poison != nil {
		return 0, t.poison
	}
	if len(t.changes) == 0 {
		if !t.unlogged {
			return uint64(cur), nil
		}
		// Only audit rows: they commit without a new revision (see
		// store/audit.go).
		finished = true
		if err := c.Commit(ctx); err != nil {
			return 0, s.dbErr(ctx, op, "commit audit rows", err)
		}
		return uint64(cur), nil
	}
	if t.beforeTail != nil {
		t.beforeTail()
	}
	if concurrent {
		// The tail (orgwrite.go): the revision is taken only now, under
		// the revision lock, the changelog rows are numbered with it, and
		// the transaction commits, in one call.
		rev, err := ol.CommitRevision(ctx, c, Stmt{SQL: renumberSQL, Args: []any{placeholder}}, logRows)
		if err != nil {
			return 0, s.dbErr(ctx, op, "commit the next revision", err)
		}
		finished = true
		t.setRevision(uint64(rev))
		s.bc.publish(t.rev)
		return t.rev, nil
	}
	if t.bulk {
		// A bulk write's queued INSERTs, its changelog and its notification
		// go with the revision's UPDATE: one round trip on PostgreSQL.
		for _, st := range s.changelogStmts(t.changes, 0) {
			t.enqueue(op, "append changelog", st.SQL, st.Args...)
		}
		if err := s.b.NotifyInTx(ctx, queueQuerier{t: t, op: op, detail: "notify"}, t.rev); err != nil {
			return 0, s.dbErr(ctx, op, "notify", err)
		}
	}
	n, err := t.connExec(ctx, c, `UPDATE store_revision SET revision = $1 WHERE id = 1 AND revision = $2`, int64(t.rev), cur)
	if err != nil {
		if t.poison != nil {
			return 0, t.poison // a queued statement failed
		}
		return 0, s.dbErr(ctx, op, "bump revision", err)
	}
	if n != 1 {
		return 0, store.Errorf(store.ErrBackend, op, "revision moved while the write lock was held", nil)
	}
	if !t.bulk {
		for _, st := range s.changelogStmts(t.changes, 0) {
			if _, err := c.Exec(ctx, st.SQL, st.Args...); err != nil {
				return 0, s.dbErr(ctx, op, "append changelog", err)
			}
		}
		if err := s.b.NotifyInTx(ctx, c, t.rev); err != nil {
			return 0, s.dbErr(ctx, op, "notify", err)
		}
	}
	finished = true // a failed COMMIT rolls back by itself
	if err := c.Commit(ctx); err != nil {
		return 0, s.dbErr(ctx, op, fmt.Sprintf("commit revision %d", t.rev), err)
	}
	s.bc.publish(t.rev)
	return t.rev, nil
}

// dbErr wraps a database error: context errors stay context errors,
// unique and foreign-key violations become ErrConflict and ErrRefused,
// anything else ErrBackend. Store errors pass through.
func (s *Store) dbErr(ctx context.Context, op, detail string, err error) error {
	var se *store.Error
	if errors.As(err, &se) {
		return err
	}
	if ce := ctx.Err(); ce != nil {
		return store.Errorf(ce, op, detail, err)
	}
	for _, ce := range []error{context.Canceled, context.DeadlineExceeded} {
		if errors.Is(err, ce) {
			return store.Errorf(ce, op, detail, err)
		}
	}
	if k := s.b.Classify(err); k != nil {
		return store.Errorf(k, op, detail, err)
	}
	return store.Errorf(store.ErrBackend, op, detail, err)
}

// txn is the store.Tx of one Write.
type txn struct {
	reader
	s   *Store
	c   Conn
	rev uint64
	now time.Time
	// scope is the org of a WriteOrg ("" for Write): record and
	// AppendAudit refuse anything of another org (orgwrite.go).
	scope string
	// beforeTail, if set, runs once the transaction's rows are sent,
	// before its revision is taken (BeforeTail).
	beforeTail func()
	changes    []store.Change
	done       bool
	poison     error
	// unlogged: the transaction wrote rows that have no changelog entry
	// (audit rows), so it commits even if changes is empty.
	unlogged bool
	// wrote: the transaction has run or queued a mutation (txn.before):
	// InstallPrefetched refuses answers read before it.
	wrote bool
	// auditSeq caches, per org, the newest audit sequence number this
	// transaction has read or written (authoritative under the write lock).
	auditSeq map[string]uint64
	// What the transaction remembers and buffers (txcache.go).
	found        map[string]struct{}        // existence checks that found their row
	keyBuf       []byte                     // existsStrings' scratch key
	values       []any                      // per change: its decoded payload or nil (ChangeValuesFrom)
	absent       map[string]struct{}        // existence checks Prefetch found no row for (prefetch.go)
	absentEmails map[string][]string        // email → its absent keys
	bindingsAt   map[string][]store.Binding // all bindings of a principal at a scope (BindingsAt)
	heads        map[string]store.AuditHead // audit heads, kept up to date
	auditPending []pendingAudit             // audit rows not yet written
	headPending  map[string]pendingHead     // audit_heads rows not yet written
	bulk         bool                       // BulkWrite: INSERTs may be queued (pipeline.go)
	queue        []queued                   // queued INSERTs
}

func (t *txn) Revision() uint64 { return t.rev }
func (t *txn) Now() time.Time   { return t.now }
func (t *txn) Changes() []store.Change {
	return append([]store.Change(nil), t.changes...)
}

// ChangesFrom returns a copy of the changes from the i-th on (a batch
// reading each change's own without copying all of them every time).
func (t *txn) ChangesFrom(i int) []store.Change {
	if i < 0 || i > len(t.changes) {
		i = len(t.changes)
	}
	return append([]store.Change(nil), t.changes[i:]...)
}

// ChangeCount returns how many changes the transaction has made.
func (t *txn) ChangeCount() int { return len(t.changes) }

// Committed implements store.Tx.
func (t *txn) Committed() store.Reader {
	if lh, ok := t.s.b.(LockHolderReader); ok {
		return reader{q: lh.LockHolderQuerier(), s: t.s}
	}
	return reader{q: t.s.b, s: t.s}
}

// begin checks that the transaction can take another write.
func (t *txn) begin(op string) error {
	if t.done {
		return invalid(op, "the transaction is finished (a Tx must not outlive its Write callback)")
	}
	if t.poison != nil {
		return t.poison
	}
	return t.scopeOp(op)
}

// fail poisons the transaction after an error during a mutation.
func (t *txn) fail(ctx context.Context, op, detail string, err error) error {
	err = t.s.dbErr(ctx, op, detail, err)
	if t.poison == nil {
		t.poison = err
	}
	return err
}

// exec runs a mutation, poisoning the transaction on error.
func (t *txn) exec(ctx context.Context, op, detail, sql string, args ...any) (int64, error) {
	if err := t.before(ctx, sql, true); err != nil {
		return 0, err
	}
	n, err := t.connExec(ctx, t.c, sql, args...)
	if err != nil {
		if t.poison != nil {
			return 0, t.poison // a queued statement failed (pipeline.go)
		}
		return 0, t.fail(ctx, op, detail, err)
	}
	return n, nil
}

// record appends a changelog entry.
func (t *txn) record(ctx context.Context, op string, kind store.Kind, org, key string, payload any) error {
	if err := t.inScope(op, org); err != nil {
		return err
	}
	var (
		b   []byte
		v   any // the value ChangeValuesFrom hands on, nil for none
		err error
	)
	switch x := payload.(type) {
	case store.Binding:
		b, err = appendBindingPayload(make([]byte, 0, bindingPayloadSize(x)), x)
		if kind == store.KindBindingPut {
			x.Actions = slices.Clone(x.Actions) // the engine's own copy: nothing the caller holds
			v = x
		}
	case store.Member:
		b, err = json.Marshal(payload)
		if kind == store.KindMemberPut && len(x.Attributes) == 0 {
			// Without attributes a member holds only strings and a time:
			// nothing the caller could change under the engine. (With
			// attributes, a map of any, the engine decodes its own copy.)
			x.Attributes = nil
			v = x
		}
	default:
		b, err = json.Marshal(payload)
	}
	if err != nil {
		return t.fail(ctx, op, "encode changelog payload", err)
	}
	t.changes = append(t.changes, store.Change{
		Revision: t.rev, Seq: len(t.changes), Org: org, Kind: kind, Key: key, Payload: b, CreatedAt: t.now,
	})
	t.values = append(t.values, v)
	return nil
}

// ChangeValuesFrom returns, for each change from the i-th on, the value its
// payload decodes to (store.Change.Decode) when the transaction still has
// it (a binding.put's store.Binding, a member.put's store.Member without
// attributes), else nil: a reader of the
// transaction's own changes (the directory applying its write to the
// engine) need not decode the JSON it has just encoded. The i-th value is
// ChangesFrom(i)'s first change's.
func (t *txn) ChangeValuesFrom(i int) []any {
	if i < 0 || i > len(t.values) {
		i = len(t.values)
	}
	return append([]any(nil), t.values[i:]...)
}

// txQuerier runs the transaction's reads: it refuses statements once the
// Write is over, and poisons the transaction when a statement fails (on
// PostgreSQL a failed statement aborts the transaction anyway).
type txQuerier struct{ t *txn }

var errFinished = store.Errorf(store.ErrInvalid, "read", "the transaction is finished (a Tx must not outlive its Write callback)", nil)

func (q txQuerier) poison(ctx context.Context, err error) error {
	if err != nil && q.t.poison == nil {
		q.t.poison = q.t.s.dbErr(ctx, "write", "a statement of the transaction failed", err)
	}
	return err
}

func (q txQuerier) Exec(ctx context.Context, sql string, args ...any) (int64, error) {
	if q.t.done {
		return 0, errFinished
	}
	if err := q.t.before(ctx, sql, true); err != nil {
		return 0, err
	}
	n, err := q.t.connExec(ctx, q.t.c, sql, args...)
	return n, q.poison(ctx, err)
}

func (q txQuerier) Query(ctx context.Context, sql string, args ...any) (Rows, error) {
	if q.t.done {
		return nil, errFinished
	}
	if err := q.t.before(ctx, sql, false); err != nil {
		return nil, err
	}
	rows, err := q.t.connQuery(ctx, q.t.c, sql, args...)
	if err != nil {
		return nil, q.poison(ctx, err)
	}
	return txRows{Rows: rows, q: q, ctx: ctx}, nil
}

type txRows struct {
	Rows
	q   txQuerier
	ctx context.Context
}

func (r txRows) Err() error { return r.q.poison(r.ctx, r.Rows.Err()) }

// broadcaster fans revisions out to Watch channels, coalescing: each
// channel holds at most the newest unread revision.
type broadcaster struct {
	mu     sync.Mutex
	latest uint64
	subs   map[chan uint64]struct{}
	closed bool
	done   chan struct{}
}

func newBroadcaster(rev uint64) *broadcaster {
	return &broadcaster{latest: rev, subs: map[chan uint64]struct{}{}, done: make(chan struct{})}
}

func (b *broadcaster) count() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.subs)
}

func (b *broadcaster) publish(rev uint64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if rev <= b.latest || b.closed {
		return
	}
	b.latest = rev
	for ch := range b.subs {
		select {
		case ch <- rev:
		default:
			select { // replace the unread older value
			case <-ch:
			default:
			}
			select {
			case ch <- rev:
			default:
			}
		}
	}
}

func (b *broadcaster) subscribe(ctx context.Context) <-chan uint64 {
	ch := make(chan uint64, 1)
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed || ctx.Err() != nil {
		close(ch)
		return ch
	}
	b.subs[ch] = struct{}{}
	go func() {
		select {
		case <-ctx.Done():
		case <-b.done:
		}
		b.mu.Lock()
		defer b.mu.Unlock()
		if _, ok := b.subs[ch]; ok {
			delete(b.subs, ch)
			close(ch)
		}
	}()
	return ch
}

func (b *broadcaster) close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return
	}
	b.closed = true
	close(b.done)
	for ch := range b.subs {
		delete(b.subs, ch)
		close(ch)
	}
}
