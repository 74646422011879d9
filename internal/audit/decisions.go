package audit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// DecisionMode says which decisions an org records.
type DecisionMode string

// Decision modes.
const (
	DecisionsOff    DecisionMode = "off"    // none (the default)
	DecisionsDenies DecisionMode = "denies" // every deny
	DecisionsAll    DecisionMode = "all"    // every deny, and allows at SampleRate
)

// Settings are an org's audit settings (stored as JSON by the store).
type Settings struct {
	Decisions DecisionMode `json:"decisions"`
	// SampleRate is the fraction of allowed decisions recorded in "all"
	// mode, in (0, 1]; 0 means 1 (every one). Denies are never sampled.
	SampleRate float64 `json:"sample_rate,omitempty"`
}

// Check validates s.
func (s Settings) Check() error {
	switch s.Decisions {
	case "", DecisionsOff, DecisionsDenies, DecisionsAll:
	default:
		return fmt.Errorf("%w: decisions %q is not off, denies or all", ErrInvalid, s.Decisions)
	}
	if s.SampleRate < 0 || s.SampleRate > 1 || s.SampleRate != s.SampleRate {
		return fmt.Errorf("%w: sample_rate %v is not in [0, 1]", ErrInvalid, s.SampleRate)
	}
	return nil
}

// LoadSettings reads an org's settings (the defaults if none were set; a
// stored value that does not parse is an error, never "off").
func LoadSettings(ctx context.Context, r store.AuditReader, org string) (Settings, error) {
	raw, err := r.AuditSettings(ctx, org)
	if err != nil || raw == nil {
		return Settings{Decisions: DecisionsOff}, err
	}
	return parseSettings(org, raw)
}

// parseSettings parses org's stored settings (not nil).
func parseSettings(org string, raw []byte) (Settings, error) {
	var s Settings
	if err := json.Unmarshal(raw, &s); err != nil {
		return Settings{}, fmt.Errorf("%w: org %q's audit settings do not parse", ErrInvalid, org)
	}
	if s.Decisions == "" {
		s.Decisions = DecisionsOff
	}
	return s, s.Check()
}

// SaveSettings stores an org's settings in tx.
func SaveSettings(ctx context.Context, tx store.Tx, org string, s Settings) error {
	if err := s.Check(); err != nil {
		return err
	}
	if s.Decisions == "" {
		s.Decisions = DecisionsOff
	}
	b, err := json.Marshal(s)
	if err != nil {
		return err
	}
	return tx.SetAuditSettings(ctx, org, b)
}

// DecisionAction is the action of a decision entry.
const DecisionAction = "decision"

// DecisionLog records decisions by each org's settings. Concurrent
// decisions are written together (group commit: one transaction for all
// the entries that arrive while the previous one commits; while entries
// arrive often, a lone entry waits a short window for the next — see
// DecisionLogOptions.Window), and Record
// returns only when its entry is durable — or the error, which the caller
// must treat as a failed decision (answer 503, never the decision). Over
// a *Log with a Signer, a checkpoint an entry makes due is not signed in
// the entry's transaction but just after it commits, in the background
// (checkpointer.go): no Record waits for one.
//
// Each org's settings are cached for SettingsTTL and never used past it.
// A change reaches the cache from the changelog, not from the TTL:
// settings changes are changelog entries (store.KindAuditSettingsPut),
// and the directory's change follower hands each one it follows —
// whichever process made it — to Changed before its engine shows that
// revision, so a check answered at or after the change's revision (at
// least R) records by the new settings. Invalidate drops an org's
// settings at once. The TTL only bounds a change that reached the
// store without a changelog entry (written by an older version, or by
// hand); a failed read is cached for settingsErrorTTL only. An org in use
// has its settings re-read in the background late in their TTL, from a
// moment drawn in its third quarter (refresh ahead, cached), so a check
// does not wait for the store to re-read them.
type DecisionLog struct {
	st     store.Store
	rec    Recorder
	ttl    time.Duration
	errTTL time.Duration // how long a failed read is cached
	// jitter draws how much earlier than 3/4 of the TTL an entry's
	// refresh ahead may start, in [0, n) (cached); rand.N except in tests.
	jitter func(n time.Duration) time.Duration
	queue  chan decisionReq
	stop   chan struct{}
	done   chan struct{}
	once   sync.Once

	// The writer's commit window (DecisionLogOptions.Window) and the
	// clock of the window and of the settings cache: time.Now (now nil:
	// clock) and time.After except in tests.
	window time.Duration
	now    func() time.Time
	after  func(time.Duration) <-chan time.Time
	taken  atomic.Int64 // entries the writer has taken from the queue
	txs    atomic.Int64 // transactions it has run (committed or not)
	reads  atomic.Int64 // store reads of settings (on a lookup or ahead)

	// cache: org → its slot (OrgSettings), whose settings are read on
	// every decision, from every request goroutine, and written ≈ once
	// per org per TTL. The map is read under a read lock (readers never
	// wait for each other; a trace of 20,000 checks/s over 1,000 orgs
	// showed the plain mutex this replaced as the check path's only
	// contended lock, and a sync.Map cost 2.5× the CPU per lookup) and
	// only grows: a slot, once made, is the org's for the log's lifetime,
	// so a caller may keep it (Slot) and read the settings through it
	// with no map lookup (WantedBy). Slots are written under
	// mu, read without it. A slot is never removed (Invalidate empties
	// it): there is one per org id the process has decided for.
	mu    sync.RWMutex
	cache map[string]*OrgSettings
	// gen counts Invalidate calls (under mu): a read that began before
	// one does not store what it read, which may predate the change.
	gen uint64
	// refreshing: the orgs whose settings are being re-read ahead (under
	// mu); refreshes counts those goroutines, for Close.
	refreshing map[string]bool
	refreshes  sync.WaitGroup
	refreshCtx context.Context // cancelled by Close
	cancel     context.CancelFunc

	// ckpt signs the checkpoints the entries make due after their
	// transaction commits, off the writer (checkpointer.go); nil unless
	// rec is a *Log with a Signer.
	ckpt *checkpointer
}

// OrgSettings is one org's slot in a DecisionLog's settings cache (Slot):
// stable for the log's lifetime, so a caller that decides often for an
// org keeps it and reads the settings through it (WantedBy) without the
// cache's map lookup — on a server deciding for 1,000 orgs that lookup
// was cache misses on the map's keys, 0.4–0.7 µs a check
// (docs/benchmarks.md, "Branch lean"). A slot holds exactly what the
// cache holds for its org: every write of the org's settings (a read,
// Changed, Invalidate) is a write of its slot.
type OrgSettings struct {
	org string
	cur atomic.Pointer[cachedSettings] // nil: nothing cached
}

// cachedSettings is an org's settings as cached. What a lookup reads
// (WantedBy: expires, ahead, err, s.Decisions) is in its first 64 bytes,
// and it is padded to 128 bytes, a size class whose objects start at a
// cache line (TestCachedSettingsLayout): on a server deciding for 1,000
// orgs it is not in the processor's caches, and it was two lines
// (docs/benchmarks.md, checkcpu7).
type cachedSettings struct {
	expires time.Time
	// ahead: from expires-ahead on, a lookup starts a re-read ahead.
	ahead time.Duration
	err   error
	s     Settings
	_     [128 - 72]byte
}

// clock is the log's clock: time.Now unless a test set now.
func (d *DecisionLog) clock() time.Time {
	if d.now == nil {
		return time.Now()
	}
	return d.now()
}

// fresh reports whether c is within its TTL, and whether a re-read ahead
// is due. With the real clock (now nil) it reads only the monotonic clock
// (time.Now reads the wall clock too): c's instants were taken by
// time.Now, so time.Since compares their monotonic readings.
func (d *DecisionLog) fresh(c *cachedSettings) (ok, due bool) {
	var late time.Duration // now - c.expires
	if d.now == nil {
		late = time.Since(c.expires)
	} else {
		late = d.now().Sub(c.expires)
	}
	return late < 0, late+c.ahead >= 0
}

type decisionReq struct {
	e    Entry
	at   time.Time // when it was queued
	done chan error
}

// StoreTimeout bounds the store work a decision waits for: reading an
// org's settings, and recording its entry.
const StoreTimeout = 10 * time.Second

// SettingsTTL is how long an org's settings read from the store (or
// handed to Changed) are cached. Changes made through any process apply
// when the directory follows them (Changed); the TTL bounds only changes
// that bypass the changelog: an older server version writing settings
// without a revision during a rolling upgrade, or a hand edit of the
// table. It was 2 s when the TTL was the only way another process's change
// arrived (≈ 650 store reads a second over 1,000 orgs in use); at a
// minute, ≈ 22 (docs/benchmarks.md, "Branch feed").
const SettingsTTL = time.Minute

// settingsErrorTTL is how long a failed settings read is cached (the
// decisions of the org fail meanwhile, closed): short, so that a passing
// store error does not stop an org's decisions for the whole SettingsTTL,
// and not zero, so that a failing store is not read on every check.
const settingsErrorTTL = 2 * time.Second

// DecisionLogOptions tune a DecisionLog. The zero value is the default.
type DecisionLogOptions struct {
	// Window bounds the writer's commit window: when it would commit a
	// lone entry while entries arrive often (on average less than Window
	// apart), it holds the transaction open until the next entry arrives,
	// or until Window has passed since the lone entry was queued, so that
	// one transaction and one fsync serve two or more entries (a batch of
	// several needs no window: the entries queued while the previous
	// transaction committed are written together anyway). No Record
	// returns before its entry is committed, window or not: the window
	// adds at most Window to a Record's wait, and under a steady stream
	// about the time between two entries to one of them. Holds that
	// gather nothing — a serial caller, whose next entry cannot come while
	// it waits for this one — stop it for a while (doubling up to
	// maxPause). 0 means DefaultCommitWindow; negative, no window (commit
	// as soon as the writer is free).
	Window time.Duration
}

// DefaultCommitWindow is DecisionLogOptions.Window's default: none. A
// window trades each held call's latency for CPU per entry; through the
// MCP gateway it saved ~10 % of gatehouse's CPU per call at 700 calls/s
// on a loaded machine, nothing consistent at 1,000 calls/s on a quiet
// one, where it added ~0.5 ms to the median (docs/benchmarks.md, "The
// audit commit window"), so it is the operator's choice (serve
// --audit-commit-window), not the default.
const DefaultCommitWindow = 0

// NewDecisionLog starts a decision log over st, recording through rec
// (nil: Append). Close stops it.
func NewDecisionLog(st store.Store, rec Recorder, opts DecisionLogOptions) *DecisionLog {
	return newDecisionLog(st, rec, opts, nil, time.After)
}

func newDecisionLog(st store.Store, rec Recorder, opts DecisionLogOptions, now func() time.Time, after func(time.Duration) <-chan time.Time) *DecisionLog {
	if rec == nil {
		rec = Append
	}
	switch {
	case opts.Window == 0:
		opts.Window = DefaultCommitWindow
	case opts.Window < 0:
		opts.Window = 0
	}
	d := &DecisionLog{st: st, rec: rec, ttl: SettingsTTL, errTTL: settingsErrorTTL, jitter: rand.N[time.Duration], queue: make(chan decisionReq, 1024),
		stop: make(chan struct{}), done: make(chan struct{}), cache: map[string]*OrgSettings{},
		window: opts.Window, now: now, after: after, refreshing: map[string]bool{}}
	d.refreshCtx, d.cancel = context.WithCancel(context.Background())
	if l, ok := rec.(*Log); ok && l.opts.Signer != nil {
		d.ckpt = newCheckpointer(l)
	}
	go d.run()
	return d
}

// ErrClosed: the decision log is closed.
var ErrClosed = errors.New("audit decision log is closed")

// Close stops the writer; pending and later Records fail with ErrClosed.
// It waits for the checkpoints under way (checkpointer.go).
func (d *DecisionLog) Close() {
	d.once.Do(func() {
		d.mu.Lock()
		close(d.stop) // under mu: no refresh ahead starts after this
		d.mu.Unlock()
		d.cancel()
		<-d.done
		d.refreshes.Wait()
		if d.ckpt != nil {
			d.ckpt.close() // after the writer, which starts them
		}
	})
}

// Invalidate forgets the cached settings of org.
func (d *DecisionLog) Invalidate(org string) {
	d.mu.Lock()
	if o := d.cache[org]; o != nil {
		o.cur.Store(nil)
	}
	d.gen++
	d.mu.Unlock()
}

// Slot returns org's slot in the settings cache, made if it has none.
// The same slot is returned for org until the log is dropped.
func (d *DecisionLog) Slot(org string) *OrgSettings {
	d.mu.RLock()
	o := d.cache[org]
	d.mu.RUnlock()
	if o != nil {
		return o
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.slotLocked(org)
}

// slotLocked is Slot under d.mu (written).
func (d *DecisionLog) slotLocked(org string) *OrgSettings {
	o := d.cache[org]
	if o == nil {
		// org may be a substring of a request body (the server decodes
		// without copying): the cache keeps its own copy.
		o = &OrgSettings{org: strings.Clone(org)}
		d.cache[o.org] = o
	}
	return o
}

// Changed caches raw as org's settings, without reading the store: raw
// is what a committed change stored (the payload of a changelog entry
// store.KindAuditSettingsPut, which the directory's follower hands on).
// They are cached for the TTL as a read would be, and a read under way
// does not store what it read (it may predate the change). Settings that
// do not parse (or nil) are forgotten instead, as by Invalidate: the next
// lookup reads the store and fails closed as LoadSettings does. The
// caller hands an org's changes in revision order.
func (d *DecisionLog) Changed(org string, raw []byte) {
	var (
		s   Settings
		err = errNoSettings
	)
	if raw != nil {
		s, err = parseSettings(org, raw)
	}
	now := d.clock()
	d.mu.Lock()
	d.gen++
	if err != nil {
		if o := d.cache[org]; o != nil {
			o.cur.Store(nil)
		}
	} else {
		c := d.cached(s, nil, now, d.ttl)
		d.slotLocked(org).cur.Store(&c)
	}
	d.mu.Unlock()
}

var errNoSettings = errors.New("no settings")

func (d *DecisionLog) settings(ctx context.Context, org string) (Settings, error) {
	return d.settingsOf(ctx, d.Slot(org))
}

// settingsOf is settings through org's slot.
func (d *DecisionLog) settingsOf(ctx context.Context, o *OrgSettings) (Settings, error) {
	if c := d.lookup(o); c != nil {
		return c.s, c.err
	}
	// Bounded here: the check path that asks carries no deadline of its own.
	return d.load(ctx, o.org)
}

// lookup is o's cached settings while within their TTL (starting a re-read
// ahead when one is due), else nil.
func (d *DecisionLog) lookup(o *OrgSettings) *cachedSettings {
	c := o.cur.Load()
	if c == nil {
		return nil
	}
	ok, due := d.fresh(c)
	if !ok {
		return nil
	}
	if due {
		d.refreshAhead(o.org)
	}
	return c
}

// load reads org's settings from the store and caches them for the TTL
// from the moment the read began — unless the read was cancelled or timed
// out, or an Invalidate came while it ran.
func (d *DecisionLog) load(ctx context.Context, org string) (Settings, error) {
	start := d.clock()
	d.mu.RLock()
	gen := d.gen
	d.mu.RUnlock()
	rctx, cancel := context.WithTimeout(ctx, StoreTimeout)
	defer cancel()
	d.reads.Add(1)
	s, err := LoadSettings(rctx, d.st, org)
	if rctx.Err() == nil {
		ttl := d.ttl
		if err != nil {
			ttl = min(ttl, d.errTTL)
		}
		d.mu.Lock()
		if d.gen == gen {
			c := d.cached(s, err, start, ttl)
			d.slotLocked(org).cur.Store(&c)
		}
		d.mu.Unlock()
	}
	return s, err
}

// cached is the cache entry of settings (or err) read, or handed over, at
// start: used until start+ttl, and re-read ahead by a lookup from a
// moment drawn at random in the third quarter of ttl. Orgs read together
// (a server's first seconds under load) would otherwise be re-read
// together every 3/4 ttl: on orgs1m, 983 store reads and goroutines in
// the same instant every 45 s. The draw spreads the first round over a
// quarter ttl and later rounds further.
func (d *DecisionLog) cached(s Settings, err error, start time.Time, ttl time.Duration) cachedSettings {
	return cachedSettings{s: s, err: err, expires: start.Add(ttl), ahead: ttl/4 + d.jitter(ttl/4)}
}

// refreshAhead re-reads org's settings in the background, once at a time
// per org; until it lands, lookups use the cached settings, which are
// still within their TTL (past it, a lookup reads the store itself).
func (d *DecisionLog) refreshAhead(org string) {
	d.mu.RLock() // lookups while a refresh is under way take no write lock
	busy := d.refreshing[org]
	d.mu.RUnlock()
	if busy {
		return
	}
	d.mu.Lock()
	if d.refreshing[org] {
		d.mu.Unlock()
		return
	}
	select {
	case <-d.stop:
		d.mu.Unlock()
		return
	default:
	}
	d.refreshing[org] = true
	d.refreshes.Add(1)
	d.mu.Unlock()
	go func() {
		defer d.refreshes.Done()
		_, _ = d.load(d.refreshCtx, org) // an error is cached as a read on the check path would cache it
		d.mu.Lock()
		delete(d.refreshing, org)
		d.mu.Unlock()
	}()
}

// Wanted reports whether org's settings record a decision with this
// outcome (sampling allows at random). An error reading the settings is
// returned: the caller fails closed.
func (d *DecisionLog) Wanted(ctx context.Context, org string, allowed bool) (bool, error) {
	return d.WantedBy(ctx, d.Slot(org), allowed)
}

// WantedBy is Wanted for the org of slot o (Slot), without finding the
// slot again. o must be a slot of d.
func (d *DecisionLog) WantedBy(ctx context.Context, o *OrgSettings, allowed bool) (bool, error) {
	if c := d.lookup(o); c != nil {
		// From the cache: the settings are read in place (c.s.SampleRate
		// only when sampling), not copied out.
		if c.err != nil {
			return false, c.err
		}
		return wanted(&c.s, allowed), nil
	}
	s, err := d.load(ctx, o.org)
	if err != nil {
		return false, err
	}
	return wanted(&s, allowed), nil
}

// wanted reports whether settings s record a decision with this outcome.
func wanted(s *Settings, allowed bool) bool {
	switch s.Decisions {
	case DecisionsDenies:
		return !allowed
	case DecisionsAll:
		if allowed && s.SampleRate > 0 && s.SampleRate < 1 {
			return rand.Float64() < s.SampleRate
		}
		return true
	}
	return false
}

// Record writes e (a decision entry) and waits until it is durable.
func (d *DecisionLog) Record(ctx context.Context, e Entry) error {
	// Checked whole before it joins a group commit, where a body that
	// fails to encode would fail the others' entries too.
	if err := checkEntry(&e); err != nil {
		return err
	}
	if err := checkObjects(&e); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, StoreTimeout)
	defer cancel()
	r := decisionReq{e: e, at: d.clock(), done: make(chan error, 1)}
	select {
	case d.queue <- r:
	case <-d.stop:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-r.done:
		return err
	case <-d.done:
		select {
		case err := <-r.done:
			return err
		default:
			return ErrClosed
		}
	case <-ctx.Done():
		// The entry may still be written; the decision is not answered.
		return ctx.Err()
	}
}

// DecisionLogStats count the log's work since it started.
type DecisionLogStats struct {
	Entries      int64 // entries taken from the queue
	Transactions int64 // transactions run for them (Entries/Transactions: the group commit's mean batch)
	// SettingsReads counts the store reads of orgs' settings (a lookup
	// that found nothing usable cached, or a refresh ahead).
	SettingsReads int64
}

// Stats reports the log's work so far.
func (d *DecisionLog) Stats() DecisionLogStats {
	return DecisionLogStats{Entries: d.taken.Load(), Transactions: d.txs.Load(), SettingsReads: d.reads.Load()}
}

// maxBatch bounds the entries of one transaction.
const maxBatch = 512

// run is the group-commit writer: each transaction holds every entry
// queued while the previous one committed, and, while entries arrive
// often, a lone entry waits for the next (gatherer).
func (d *DecisionLog) run() {
	defer close(d.done)
	g := gatherer{window: d.window}
	for {
		var batch []decisionReq
		select {
		case <-d.stop:
			d.fail(ErrClosed)
			return
		case r := <-d.queue:
			batch = d.take(batch, r, &g)
		}
	more:
		for len(batch) < maxBatch {
			select {
			case r := <-d.queue:
				batch = d.take(batch, r, &g)
			default:
				break more
			}
		}
		if len(batch) == 1 {
			if w := g.hold(batch[0].at, d.clock()); w > 0 {
				batch = d.gather(batch, w, &g)
				g.waited(len(batch)-1, d.clock())
			}
		}
		d.txs.Add(1)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		// With a checkpointer, a checkpoint an entry makes due is not
		// signed in this transaction but after it commits (Append defers
		// it into due): no Record waits for one.
		var due *deferred
		if d.ckpt != nil {
			due = &deferred{}
			ctx = withDeferred(ctx, due)
		}
		_, err := d.st.Write(ctx, func(tx store.Tx) error {
			if due != nil {
				due.due = due.due[:0]
			}
			for _, r := range batch {
				if err := d.rec.Record(ctx, tx, r.e); err != nil {
					return err
				}
			}
			return nil
		})
		cancel()
		for _, r := range batch {
			r.done <- err
		}
		if err == nil && due != nil {
			for _, c := range due.due {
				d.ckpt.start(c)
			}
		}
	}
}

func (d *DecisionLog) take(batch []decisionReq, r decisionReq, g *gatherer) []decisionReq {
	d.taken.Add(1)
	g.saw(r.at)
	return append(batch, r)
}

// gather adds to batch the next entry queued within w, with any queued
// at the same time (it returns early if the log closes: what it holds is
// still committed).
func (d *DecisionLog) gather(batch []decisionReq, w time.Duration, g *gatherer) []decisionReq {
	timer := d.after(w)
	select {
	case r := <-d.queue:
		batch = d.take(batch, r, g)
	case <-timer:
		return batch
	case <-d.stop:
		return batch
	}
	for len(batch) < maxBatch {
		select {
		case r := <-d.queue:
			batch = d.take(batch, r, g)
		default:
			return batch
		}
	}
	return batch
}

// A gatherer decides the writer's commit window: whether to hold a lone
// entry's transaction open for the next entry, and how long. It holds
// one only while entries arrive on average less than a window apart, and
// not after fruitlessLimit holds in a row gathered nothing (a serial
// caller, whose next entry cannot come while it waits for this one):
// then it pauses, for minPause, doubled after each further fruitless
// hold up to maxPause, and reset by a hold that gathers. Only the writer
// goroutine uses it.
type gatherer struct {
	window      time.Duration
	gap         time.Duration // moving average of the time between arrivals
	known       bool          // gap has a sample
	last        time.Time     // the newest arrival seen
	fruitless   int           // holds in a row that gathered nothing
	pause       time.Duration // the current pause
	pausedUntil time.Time
}

const (
	fruitlessLimit = 3
	minPause       = 100 * time.Millisecond
	maxPause       = 10 * time.Second
)

// saw notes an entry queued at at.
func (g *gatherer) saw(at time.Time) {
	if !g.last.IsZero() {
		gap := max(0, min(at.Sub(g.last), time.Second))
		if g.known {
			g.gap += (gap - g.gap) / 8
		} else {
			g.gap, g.known = gap, true
		}
	}
	if at.After(g.last) {
		g.last = at
	}
}

// hold is how long to hold a lone entry queued at first (≤ 0: commit
// now).
func (g *gatherer) hold(first, now time.Time) time.Duration {
	if g.window <= 0 || !g.known || g.gap >= g.window || now.Before(g.pausedUntil) {
		return 0
	}
	return first.Add(g.window).Sub(now)
}

// waited notes a hold that gathered n more entries.
func (g *gatherer) waited(n int, now time.Time) {
	if n > 0 {
		g.fruitless, g.pause = 0, 0
		return
	}
	g.fruitless++
	if g.fruitless >= fruitlessLimit {
		g.pause = min(max(2*g.pause, minPause), maxPause)
		g.pausedUntil = now.Add(g.pause)
	}
}

// fail answers every queued request with err.
func (d *DecisionLog) fail(err error) {
	for {
		select {
		case r := <-d.queue:
			r.done <- err
		default:
			return
		}
	}
}
