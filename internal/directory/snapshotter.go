package directory

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// DefaultSnapshotEvery is how many of an org's changes separate two of its
// engine snapshots when Options.SnapshotEvery is 0.
const DefaultSnapshotEvery = 10000

// snapshotFactsPerChange widens the interval for very large orgs: at
// least one change per this many facts (bindings, principals, teams,
// resources) of the org separates two snapshots. A snapshot costs about
// 21 bytes a binding, so an org of 1,000,000 bindings (snapshotted every
// 10,000 changes) stores ~21 MB per 10,000 changes, ~2 KB a change (the
// changelog itself ~250 bytes); replaying 10,000 changes costs about as
// much as loading the snapshot.
const snapshotFactsPerChange = 100

func (d *Directory) snapEvery() int {
	switch {
	case d.opts.SnapshotEvery > 0:
		return d.opts.SnapshotEvery
	case d.opts.SnapshotEvery < 0:
		return int(^uint(0) >> 1) // never
	}
	return DefaultSnapshotEvery
}

// snapshotter writes engine snapshots off the request path: the follower
// counts each org's changes (a hook that only counts, under the
// follower's lock) and wakes it when an org has had SnapshotEvery of them;
// a point-in-time read that replayed that many wakes it too. It then walks
// the org's changelog from the org's newest snapshot (or its creation),
// storing a snapshot every SnapshotEvery changes (backfilling history the
// first time). It never holds a lock a writer needs: it reads through the
// store's pool and stores each snapshot in its own short transaction,
// outside the revision counter and the changelog.
type snapshotter struct {
	d      *Directory
	every  int
	mu     sync.Mutex
	counts map[string]int  // changes per org since the org was last due
	queue  map[string]bool // orgs due
	kick   chan struct{}
	wg     sync.WaitGroup
}

func newSnapshotter(d *Directory) *snapshotter {
	return &snapshotter{d: d, every: d.snapEvery(), counts: map[string]int{}, queue: map[string]bool{}, kick: make(chan struct{}, 1)}
}

// observe is the follower hook: it counts and never blocks.
func (s *snapshotter) observe(changes []store.Change) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range changes {
		if c.Org == "" {
			continue
		}
		s.counts[c.Org]++
		if s.counts[c.Org] >= s.every {
			s.counts[c.Org] = 0
			s.dueLocked(c.Org)
		}
	}
}

// due asks for org's snapshots to be brought up to date.
func (s *snapshotter) due(org string) {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dueLocked(org)
}

func (s *snapshotter) dueLocked(org string) {
	s.queue[org] = true
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

func (s *snapshotter) run(ctx context.Context) {
	defer s.wg.Done()
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.kick:
		}
		s.mu.Lock()
		orgs := sortedKeys(s.queue)
		clear(s.queue)
		s.mu.Unlock()
		for _, org := range orgs {
			if err := s.d.snapshotOrg(ctx, org); err != nil && ctx.Err() == nil {
				s.d.opts.Logger.Warn("directory: writing engine snapshots failed", "org", org, "err", err)
			}
		}
	}
}

// snapshotOrg stores org's engine snapshots up to the changelog's end:
// from its newest snapshot that decodes (or its creation), one every
// SnapshotEvery of its changes, each at a revision boundary. It returns
// how many it stored.
func (d *Directory) snapshotOrg(ctx context.Context, org string) error {
	_, err := d.writeSnapshots(ctx, org)
	return err
}

func (d *Directory) writeSnapshots(ctx context.Context, org string) (int, error) {
	every := d.snapEvery()
	h := newOrgHistory()
	if snap, err := d.st.EngineSnapshotAt(ctx, org, 0, time.Time{}); err == nil {
		if dh, err := d.decodeSnapshot(org, snap); err == nil {
			h = dh
		} else {
			d.snapBad.Add(1)
			d.opts.Logger.Warn("directory: engine snapshot unusable; rebuilding from the changelog", "org", org, "revision", snap.Revision, "err", err)
			// Every snapshot of the org from here on is rewritten from
			// the start; an unusable one is replaced only if it is at a
			// revision a rebuilt one lands on, so drop the bad one.
			if _, err := d.st.DeleteEngineSnapshots(ctx, org, snap.Revision+1); err != nil {
				return 0, err
			}
		}
	} else if !errors.Is(err, store.ErrNotFound) {
		return 0, err
	}
	interval := max(every, h.facts()/snapshotFactsPerChange)
	written, since := 0, 0
	var pendingRev uint64
	// Stop at revision boundaries: a snapshot holds whole revisions.
	_, err := d.replay(ctx, org, h, func(c store.Change) bool {
		if ctx.Err() != nil {
			return true
		}
		if since >= interval && c.Revision != pendingRev {
			if err := d.putSnapshot(ctx, org, h); err != nil {
				d.opts.Logger.Warn("directory: storing an engine snapshot failed", "org", org, "revision", h.rev, "err", err)
				return true
			}
			written++
			since = 0
			interval = max(every, h.facts()/snapshotFactsPerChange)
		}
		since++
		pendingRev = c.Revision
		return false
	})
	if err != nil {
		var de *Error
		if errors.As(err, &de) && de.Kind == ErrInvalid {
			return written, nil // history outside the retention window: nothing to snapshot from
		}
		return written, err
	}
	if since >= interval && ctx.Err() == nil {
		if err := d.putSnapshot(ctx, org, h); err != nil {
			return written, err
		}
		written++
	}
	return written, ctx.Err()
}

func (d *Directory) putSnapshot(ctx context.Context, org string, h *orgHistory) error {
	if !h.born || h.rev == 0 {
		return nil
	}
	return d.st.PutEngineSnapshot(ctx, store.EngineSnapshot{Org: org, Revision: h.rev, CreatedAt: h.when, Data: encodeSnapshot(org, h)})
}

// pitCache keeps recently built past engines, bounded by count and by
// the facts they hold (an engine costs about 110 bytes a binding).
type pitCache struct {
	mu      sync.Mutex
	entries []pitCached // least recently used first
	size    int
}

type pitKey struct {
	org string
	rev uint64
	at  int64 // Unix ns of an instant, 0 for a revision
	// snapshot: the engine built from the org's stored snapshot at rev
	// (points after it fork it), not a point asked about.
	snapshot bool
}

type pitEntry struct {
	eng  *authz.Engine
	rev  uint64
	when time.Time
	size int
	// born and exists: the org's state in a snapshot's engine (key.snapshot).
	born, exists bool
}

type pitCached struct {
	key pitKey
	pitEntry
}

const (
	pitCacheEntries = 8
	pitCacheFacts   = 2_500_000
)

func (c *pitCache) get(k pitKey) (pitEntry, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, e := range c.entries {
		if e.key == k {
			copy(c.entries[i:], c.entries[i+1:])
			c.entries[len(c.entries)-1] = e
			return e.pitEntry, true
		}
	}
	return pitEntry{}, false
}

func (c *pitCache) put(k pitKey, e pitEntry) {
	if e.size > pitCacheFacts {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, x := range c.entries {
		if x.key == k {
			return
		}
	}
	c.entries = append(c.entries, pitCached{k, e})
	c.size += e.size
	for len(c.entries) > pitCacheEntries || c.size > pitCacheFacts {
		c.size -= c.entries[0].size
		c.entries = c.entries[1:]
	}
}
