// Package replica keeps an in-process copy of one org's decision state in
// step with a Gatehouse server, so that a host platform decides in its own
// process — in well under a microsecond, with no network — and still gets
// the server's consistency guarantees (DESIGN §1.3).
//
//	r, err := replica.New(replica.Config{
//	    BaseURL: "https://gatehouse.internal:8080",
//	    Token:   os.Getenv("GATEHOUSE_REPLICA_KEY"), // a key holding changes:read
//	    Org:     "acme",
//	})
//	defer r.Close()
//	d, err := r.Check(ctx, &replica.Request{Request: authz.Request{
//	    Principal: "user:alice", Namespace: "prod",
//	    ResourceType: "chains", ResourceID: "daily", Action: "run"},
//	    AtLeast: revFromAWrite})
//
// How it works: on start it downloads the org's snapshot (GET
// /v1/orgs/{org}/snapshot) into a fresh authz.Engine, then follows the
// change feed from the snapshot's revision (GET /v1/orgs/{org}/changes,
// server-sent events, or long polls with Config.LongPoll), applying each
// revision's changes atomically. It reconnects with backoff and resumes
// from its own revision (Last-Event-ID), so nothing is lost or applied
// twice; when the server answers 410 (the revision is older than the
// feed's retention, or the server's history was rewound) it starts again
// from a new snapshot, into a new engine.
//
// Invariants:
//   - Never a stale answer for a revision asked for: Check with AtLeast R
//     answers from a state that includes every change ≤ R, or waits for
//     one until ctx ends and then returns *NotCaughtUpError (errors.Is
//     ErrNotCaughtUp). Before the first snapshot is loaded every Check
//     waits the same way: an empty engine is not an answer.
//   - The replica decides exactly as the server's engine does: the feed
//     carries what the server's engine applies, policies are compiled as
//     the server compiles them (package authz/feed), and the engine is the
//     same package.
//   - Fail closed: a feed event that does not decode or that the engine
//     refuses is never half applied; the replica starts again from a
//     snapshot.
//
// docs/replicas.md has the permission to grant, the wire format and the
// figures.
package replica

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse-dev/gatehouse/api"
	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/authz/feed"
)

// ErrNotCaughtUp is wrapped by *NotCaughtUpError: the replica had not
// reached the revision asked for (or loaded its first snapshot) when the
// caller's context ended.
var ErrNotCaughtUp = errors.New("replica: not caught up")

// ErrClosed: the replica was closed.
var ErrClosed = errors.New("replica: closed")

// NotCaughtUpError says which revision was asked for and where the
// replica was.
type NotCaughtUpError struct {
	Want, Have uint64
	Ready      bool // false: the first snapshot was not loaded yet
	Cause      error
}

func (e *NotCaughtUpError) Error() string {
	if !e.Ready {
		return fmt.Sprintf("replica: not caught up: no snapshot loaded yet (revision %d asked for)", e.Want)
	}
	return fmt.Sprintf("replica: not caught up: at revision %d, %d asked for", e.Have, e.Want)
}

// Is makes errors.Is(err, ErrNotCaughtUp) true.
func (e *NotCaughtUpError) Is(target error) bool { return target == ErrNotCaughtUp }

// Unwrap returns the context's error.
func (e *NotCaughtUpError) Unwrap() error { return e.Cause }

// StatusError is an answer of the server that was not a success.
type StatusError struct {
	Status int
	Type   string // the problem type
	Detail string
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("replica: server answered %d: %s", e.Status, e.Detail)
}

// Config configures a Replica.
type Config struct {
	// BaseURL is the server's address ("https://gatehouse.internal").
	BaseURL string
	// Token is the bearer credential (an API key) of a principal that
	// holds changes:read at org scope in Org.
	Token string
	// Org is the org to replicate.
	Org string
	// HTTPClient makes the requests; nil: a client without an overall
	// timeout (the event stream is long-lived; requests end with Close).
	HTTPClient *http.Client
	// LongPoll follows with long polls instead of server-sent events (for
	// proxies that buffer event streams).
	LongPoll bool
	// MinBackoff and MaxBackoff bound the wait between failed attempts
	// (doubling, with jitter); 0 means 100ms and 5s.
	MinBackoff, MaxBackoff time.Duration
	// StreamIdle is how long an event stream may stay silent before the
	// replica drops it and reconnects (the server sends a keep-alive every
	// 30 s; a half-open connection never ends on its own); 0 means 75s.
	StreamIdle time.Duration
	// Logger receives reconnects and resnapshots; nil discards.
	Logger *slog.Logger
}

// Request is a check, with the consistency it needs: AtLeast R answers at
// a revision ≥ R (a revision a write returned, say). Request.Org may be
// empty: Check sets it to the replica's org. Another org denies.
type Request struct {
	authz.Request
	AtLeast uint64
}

// Replica is an org's decision state, kept in step with the server. All
// methods are safe for concurrent use.
type Replica struct {
	cfg  Config
	base string
	hc   *http.Client
	log  *slog.Logger

	eng   atomic.Pointer[authz.Engine]  // nil until the first snapshot
	moved atomic.Pointer[chan struct{}] // closed (and replaced) whenever eng or its revision changes

	mu      sync.Mutex // guards lastErr
	lastErr error

	snapshots atomic.Uint64 // snapshots loaded (tests, metrics)
	cancel    context.CancelFunc
	done      chan struct{}
	closed    atomic.Bool
}

// New starts a replica: it loads the org's snapshot and follows the
// feed in the background until Close. It returns at once; Ready says
// when the first snapshot is loaded, WaitReady waits for it. Only a
// malformed Config is an error here: a server that cannot be reached is
// retried (LastError says why it is not ready).
func New(cfg Config) (*Replica, error) {
	u, err := url.Parse(cfg.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("replica: BaseURL %q must be an http(s) URL", cfg.BaseURL)
	}
	if cfg.Org == "" || strings.ContainsAny(cfg.Org, "/?#") {
		return nil, fmt.Errorf("replica: Org %q must be an org id", cfg.Org)
	}
	if cfg.MinBackoff <= 0 {
		cfg.MinBackoff = 100 * time.Millisecond
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = 5 * time.Second
	}
	if cfg.StreamIdle <= 0 {
		cfg.StreamIdle = 75 * time.Second
	}
	r := &Replica{cfg: cfg, base: strings.TrimRight(cfg.BaseURL, "/") + "/v1/orgs/" + url.PathEscape(cfg.Org),
		hc: cfg.HTTPClient, log: cfg.Logger, done: make(chan struct{})}
	if r.hc == nil {
		r.hc = &http.Client{}
	}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	ch := make(chan struct{})
	r.moved.Store(&ch)
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	go r.run(ctx)
	return r, nil
}

// Close stops following. Checks still answer from the last state;
// waits for newer revisions end with ErrNotCaughtUp.
func (r *Replica) Close() error {
	if r.closed.Swap(true) {
		return nil
	}
	r.cancel()
	<-r.done
	return nil
}

// Ready reports whether the first snapshot is loaded.
func (r *Replica) Ready() bool { return r.eng.Load() != nil }

// WaitReady waits for the first snapshot (or ctx, or Close).
func (r *Replica) WaitReady(ctx context.Context) error {
	_, err := r.engineAt(ctx, 0)
	return err
}

// Revision is the revision the replica is at: the org's state includes
// every change of every revision ≤ it. 0 before the first snapshot.
func (r *Replica) Revision() uint64 {
	if e := r.eng.Load(); e != nil {
		return e.Revision()
	}
	return 0
}

// LastError is the last error following met (nil after a success).
func (r *Replica) LastError() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.lastErr
}

// Snapshots is how many snapshots the replica has loaded.
func (r *Replica) Snapshots() uint64 { return r.snapshots.Load() }

// Engine is the replica's current engine, for lookups and explanations
// (nil before the first snapshot). A resnapshot replaces it: get it again
// rather than keep it.
func (r *Replica) Engine() *authz.Engine { return r.eng.Load() }

// Check decides req in process. With AtLeast > the replica's revision (or
// before the first snapshot) it waits for the replica to catch up until
// ctx ends, then returns *NotCaughtUpError; it never answers from a state
// older than AtLeast. On the common path it allocates nothing.
func (r *Replica) Check(ctx context.Context, req *Request) (authz.Decision, error) {
	e := r.eng.Load()
	if e == nil || e.Revision() < req.AtLeast {
		var err error
		if e, err = r.engineAt(ctx, req.AtLeast); err != nil {
			return authz.Decision{}, err
		}
	}
	if req.Org == "" {
		req.Org = r.cfg.Org // (a copy would escape: one allocation per check)
	}
	return e.Check(&req.Request), nil
}

// engineAt waits for an engine at revision ≥ rev.
func (r *Replica) engineAt(ctx context.Context, rev uint64) (*authz.Engine, error) {
	for {
		moved := *r.moved.Load()
		e := r.eng.Load()
		if e != nil && e.Revision() >= rev {
			return e, nil
		}
		if r.closed.Load() {
			return nil, &NotCaughtUpError{Want: rev, Have: r.Revision(), Ready: e != nil, Cause: ErrClosed}
		}
		select {
		case <-moved:
		case <-ctx.Done():
			return nil, &NotCaughtUpError{Want: rev, Have: r.Revision(), Ready: e != nil, Cause: ctx.Err()}
		case <-r.done:
		}
	}
}

// signal wakes the waiters.
func (r *Replica) signal() {
	ch := make(chan struct{})
	old := r.moved.Swap(&ch)
	close(*old)
}

func (r *Replica) setErr(err error) {
	r.mu.Lock()
	r.lastErr = err
	r.mu.Unlock()
}

// errIdle: an event stream stayed silent for longer than StreamIdle.
var errIdle = errors.New("replica: the event stream went silent; reconnecting")

// errResnapshot: the feed cannot continue from the replica's revision.
var errResnapshot = errors.New("start again from a snapshot")

// run loads snapshots and follows the feed until ctx ends.
func (r *Replica) run(ctx context.Context) {
	defer close(r.done)
	defer r.signal()
	backoff := time.Duration(0)
	need := true
	for ctx.Err() == nil {
		var err error
		if need {
			err = r.loadSnapshot(ctx)
			if err == nil {
				need = false
			}
		} else {
			err = r.follow(ctx, func() { backoff = 0 })
			if errors.Is(err, errResnapshot) {
				r.log.Info("replica: starting again from a snapshot", "org", r.cfg.Org, "err", err)
				need = true
				r.setErr(err)
				continue
			}
		}
		if ctx.Err() != nil {
			return
		}
		if err == nil {
			continue // the stream ended cleanly: reconnect at once
		}
		r.setErr(err)
		backoff = min(max(2*backoff, r.cfg.MinBackoff), r.cfg.MaxBackoff)
		wait := backoff/2 + rand.N(backoff/2+1)
		r.log.Warn("replica: following failed; retrying", "org", r.cfg.Org, "err", err, "in", wait)
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

func (r *Replica) get(ctx context.Context, path string, accept string, lastID uint64) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.base+path, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+r.cfg.Token)
	req.Header.Set("Accept", accept)
	if lastID > 0 {
		req.Header.Set("Last-Event-ID", strconv.FormatUint(lastID, 10))
	}
	resp, err := r.hc.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		defer resp.Body.Close()
		return nil, statusError(resp)
	}
	return resp, nil
}

func statusError(resp *http.Response) error {
	var p api.Problem
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	_ = json.Unmarshal(b, &p)
	if p.Detail == "" {
		p.Detail = http.StatusText(resp.StatusCode)
	}
	err := &StatusError{Status: resp.StatusCode, Type: p.Type, Detail: p.Detail}
	if resp.StatusCode == http.StatusGone {
		return fmt.Errorf("%w: %w", errResnapshot, err)
	}
	return err
}

// loadSnapshot loads the org's snapshot into a new engine and makes it
// current. (Its revision may be below the old engine's only when the
// server's history was rewound; an answer then says the lower revision,
// and AtLeast waits as it should.)
func (r *Replica) loadSnapshot(ctx context.Context) error {
	resp, err := r.get(ctx, "/snapshot", feed.MediaTypeSnapshot, 0)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	snap, err := feed.ReadSnapshot(resp.Body)
	if err != nil {
		return fmt.Errorf("replica: snapshot: %w", err)
	}
	if snap.Org != r.cfg.Org {
		return fmt.Errorf("replica: snapshot: %w: it is of org %q, not %q", feed.ErrMalformed, snap.Org, r.cfg.Org)
	}
	if snap.Revision == 0 {
		return fmt.Errorf("replica: snapshot: %w: revision 0", feed.ErrMalformed)
	}
	e := authz.New()
	if err := e.LoadOrg(snap.Revision, snap.OrgData()); err != nil {
		return fmt.Errorf("replica: snapshot at revision %d: %w", snap.Revision, err)
	}
	r.eng.Store(e)
	r.snapshots.Add(1)
	r.setErr(nil)
	r.signal()
	return nil
}

// apply applies one event to the current engine: an event at or below
// the engine's revision was applied before (a resumed stream) and is
// skipped. An event the engine refuses means the replica no longer
// matches the server: start again from a snapshot.
func (r *Replica) apply(ev feed.Event) error {
	e := r.eng.Load()
	if ev.Revision <= e.Revision() {
		return nil
	}
	if err := e.Apply(ev.Revision, feed.Engine(r.cfg.Org, ev.Changes)...); err != nil {
		return fmt.Errorf("%w: revision %d: %w", errResnapshot, ev.Revision, err)
	}
	r.signal()
	return nil
}

// follow follows the feed from the engine's revision until it fails or
// the stream ends. ok is called after each applied answer.
func (r *Replica) follow(ctx context.Context, ok func()) error {
	if r.cfg.LongPoll {
		return r.poll(ctx, ok)
	}
	return r.stream(ctx, ok)
}

// poll follows with long polls.
func (r *Replica) poll(ctx context.Context, ok func()) error {
	for ctx.Err() == nil {
		after := r.Revision()
		pctx, cancel := context.WithTimeout(ctx, 90*time.Second)
		resp, err := r.get(pctx, "/changes?wait=30s&after="+strconv.FormatUint(after, 10), "application/json", 0)
		if err != nil {
			cancel()
			return err
		}
		b, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
		resp.Body.Close()
		cancel()
		if err != nil {
			return err
		}
		p, err := feed.DecodePage(b)
		if err != nil {
			return fmt.Errorf("%w: %w", errResnapshot, err)
		}
		if p.After != after || p.Org != r.cfg.Org {
			return fmt.Errorf("%w: %w: a page after %d of org %q answered a request after %d", errResnapshot, feed.ErrMalformed, p.After, p.Org, after)
		}
		for _, ev := range p.Events {
			if err := r.apply(ev); err != nil {
				return err
			}
		}
		if p.Revision > r.Revision() {
			if err := r.apply(feed.Event{Revision: p.Revision}); err != nil {
				return err
			}
		}
		ok()
	}
	return ctx.Err()
}

// stream follows with server-sent events.
func (r *Replica) stream(ctx context.Context, ok func()) error {
	after := r.Revision()
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	idle := time.AfterFunc(r.cfg.StreamIdle, func() { cancel(errIdle) })
	defer idle.Stop()
	resp, err := r.get(ctx, "/changes?after="+strconv.FormatUint(after, 10), "text/event-stream", after)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	br := bufio.NewReaderSize(resp.Body, 1<<16)
	var name string
	var data bytes.Buffer
	for {
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			// A long data line: collect it whole.
			buf := append([]byte(nil), line...)
			for errors.Is(err, bufio.ErrBufferFull) && len(buf) <= feed.MaxLine {
				line, err = br.ReadSlice('\n')
				buf = append(buf, line...)
			}
			line = buf
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil // the server ended the stream: reconnect
			}
			if context.Cause(ctx) == errIdle {
				return errIdle
			}
			return err
		}
		idle.Reset(r.cfg.StreamIdle)
		line = bytes.TrimRight(line, "\r\n")
		switch {
		case len(line) == 0: // dispatch
			if data.Len() > 0 {
				if err := r.event(name, data.Bytes()); err != nil {
					return err
				}
				ok()
			}
			name = ""
			data.Reset()
		case line[0] == ':': // comment (keep-alive)
		default:
			field, value, _ := bytes.Cut(line, []byte(":"))
			value = bytes.TrimPrefix(value, []byte(" "))
			switch string(field) {
			case "event":
				name = string(value)
			case "data":
				if data.Len() > 0 {
					data.WriteByte('\n')
				}
				data.Write(value)
			}
		}
	}
}

// event handles one server-sent event.
func (r *Replica) event(name string, data []byte) error {
	switch name {
	case "change", "":
		ev, err := feed.DecodeEvent(data)
		if err != nil {
			return fmt.Errorf("%w: %w", errResnapshot, err)
		}
		return r.apply(ev)
	case "error":
		var p api.Problem
		_ = json.Unmarshal(data, &p)
		err := &StatusError{Status: p.Status, Type: p.Type, Detail: p.Detail}
		if p.Status == http.StatusGone {
			return fmt.Errorf("%w: %w", errResnapshot, err)
		}
		return err
	}
	return nil // an event type this version does not know
}
