package audit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
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
// the entries that arrive while the previous one commits), and Record
// returns only when its entry is durable — or the error, which the caller
// must treat as a failed decision (answer 503, never the decision). Each
// org's settings are cached for SettingsTTL and never used past it;
// Invalidate drops one at once. An org in use has its settings re-read in
// the background during the last quarter of their TTL (refresh ahead), so
// a check does not wait for the store to re-read them.
type DecisionLog struct {
	st    store.Store
	rec   Recorder
	ttl   time.Duration
	queue chan decisionReq
	stop  chan struct{}
	done  chan struct{}
	once  sync.Once

	// cache: org → settings. Read on every decision, from every request
	// goroutine, written ≈ once per org per TTL: a read lock, so readers
	// never wait for each other. (A trace of 20,000 checks/s over 1,000
	// orgs showed the plain mutex this replaced as the check path's only
	// contended lock, ≈ 1 s of blocking per 5 s, in convoys whenever its
	// holder lost its CPU; a sync.Map cost 2.5× the CPU per lookup.)
	mu    sync.RWMutex
	cache map[string]cachedSettings
	// gen counts Invalidate calls (under mu): a read that began before
	// one does not store what it read, which may predate the change.
	gen uint64
	// refreshing: the orgs whose settings are being re-read ahead (under
	// mu); refreshes counts those goroutines, for Close.
	refreshing map[string]bool
	refreshes  sync.WaitGroup
	refreshCtx context.Context // cancelled by Close
	cancel     context.CancelFunc
	now        func() time.Time
}

type cachedSettings struct {
	s       Settings
	err     error
	expires time.Time
	refresh time.Time // from here on a lookup starts a re-read ahead
}

type decisionReq struct {
	e    Entry
	done chan error
}

// StoreTimeout bounds the store work a decision waits for: reading an
// org's settings, and recording its entry.
const StoreTimeout = 10 * time.Second

// SettingsTTL is how long an org's settings are cached: a change made
// through another replica applies within it.
const SettingsTTL = 2 * time.Second

// NewDecisionLog starts a decision log over st, recording through rec
// (nil: Append). Close stops it.
func NewDecisionLog(st store.Store, rec Recorder) *DecisionLog {
	if rec == nil {
		rec = Append
	}
	d := &DecisionLog{st: st, rec: rec, ttl: SettingsTTL, queue: make(chan decisionReq, 1024),
		stop: make(chan struct{}), done: make(chan struct{}), cache: map[string]cachedSettings{},
		refreshing: map[string]bool{}, now: time.Now}
	d.refreshCtx, d.cancel = context.WithCancel(context.Background())
	go d.run()
	return d
}

// ErrClosed: the decision log is closed.
var ErrClosed = errors.New("audit decision log is closed")

// Close stops the writer; pending and later Records fail with ErrClosed.
func (d *DecisionLog) Close() {
	d.once.Do(func() {
		d.mu.Lock()
		close(d.stop) // under mu: no refresh ahead starts after this
		d.mu.Unlock()
		d.cancel()
		<-d.done
		d.refreshes.Wait()
	})
}

// Invalidate forgets the cached settings of org.
func (d *DecisionLog) Invalidate(org string) {
	d.mu.Lock()
	delete(d.cache, org)
	d.gen++
	d.mu.Unlock()
}

func (d *DecisionLog) settings(ctx context.Context, org string) (Settings, error) {
	now := d.now()
	d.mu.RLock()
	c, ok := d.cache[org]
	d.mu.RUnlock()
	if ok && now.Before(c.expires) {
		if !now.Before(c.refresh) {
			d.refreshAhead(org)
		}
		return c.s, c.err
	}
	// Bounded here: the check path that asks carries no deadline of its own.
	return d.load(ctx, org)
}

// load reads org's settings from the store and caches them for the TTL
// from the moment the read began — unless the read was cancelled or timed
// out, or an Invalidate came while it ran.
func (d *DecisionLog) load(ctx context.Context, org string) (Settings, error) {
	start := d.now()
	d.mu.RLock()
	gen := d.gen
	d.mu.RUnlock()
	rctx, cancel := context.WithTimeout(ctx, StoreTimeout)
	defer cancel()
	s, err := LoadSettings(rctx, d.st, org)
	if rctx.Err() == nil {
		d.mu.Lock()
		if d.gen == gen {
			d.cache[org] = cachedSettings{s: s, err: err, expires: start.Add(d.ttl), refresh: start.Add(d.ttl - d.ttl/4)}
		}
		d.mu.Unlock()
	}
	return s, err
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
	s, err := d.settings(ctx, org)
	if err != nil {
		return false, err
	}
	switch s.Decisions {
	case DecisionsDenies:
		return !allowed, nil
	case DecisionsAll:
		if allowed && s.SampleRate > 0 && s.SampleRate < 1 {
			return rand.Float64() < s.SampleRate, nil
		}
		return true, nil
	}
	return false, nil
}

// Record writes e (a decision entry) and waits until it is durable.
func (d *DecisionLog) Record(ctx context.Context, e Entry) error {
	if err := checkEntry(&e); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, StoreTimeout)
	defer cancel()
	r := decisionReq{e: e, done: make(chan error, 1)}
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

// run is the group-commit writer.
func (d *DecisionLog) run() {
	defer close(d.done)
	for {
		var batch []decisionReq
		select {
		case <-d.stop:
			d.fail(ErrClosed)
			return
		case r := <-d.queue:
			batch = append(batch, r)
		}
	more:
		for len(batch) < 512 {
			select {
			case r := <-d.queue:
				batch = append(batch, r)
			default:
				break more
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		_, err := d.st.Write(ctx, func(tx store.Tx) error {
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
