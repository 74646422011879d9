package audit

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// Checkpoints behind the decision log.
//
// A Log signs a due checkpoint inside the transaction of the entry that
// made it due (Append → sign), and sign first authenticates every entry
// since the previous checkpoint — about CheckpointEvery of them, read back
// from the store — under the store's write lock. For an administrative
// write that is one slower transaction among few; for the DecisionLog's
// group commit (a gateway call, a decision: each waits for its entry to be
// durable) it is a 4–6 ms transaction once every CheckpointEvery entries,
// and every call arriving meanwhile waits behind it.
//
// So entries written through a DecisionLog over a *Log with a Signer do
// not sign in their transaction: Append notes the due checkpoint (the
// first entry of the transaction that made one due: org, seq S, hash H)
// in the transaction's context (deferCheckpoint), and once the
// transaction has committed the DecisionLog hands it to its checkpointer,
// which signs a checkpoint at exactly S, a few milliseconds later:
//
//  1. outside the write lock, it authenticates the org's committed entries
//     after the newest checkpoint through S as authenticate does (the
//     checkpoint signed by this deployment's or a trusted key; each entry
//     dense, chaining, with a valid MAC; the chain's hash at S equal to H);
//  2. in a short write transaction it re-reads the org's newest
//     checkpoint: at or past S, it does nothing (someone else signed); not
//     the one it started from, it starts over (a bounded number of times);
//     otherwise it checks that the stored hash of entry S is still H and
//     signs (S, H).
//
// Soundness. H was computed by the checkpointer itself from stored
// content that chained from a trusted checkpoint and carried valid MACs:
// the checkpoint vouches for exactly that content and never for content
// it did not authenticate. An entry rewritten after step 1 (by someone
// writing to the database directly: the store's own writers only append)
// cannot make a later verification pass, since Verify recomputes every
// hash from the stored content and compares the chain's hash at S with
// the signed H; a rewritten entry S itself is refused in step 2 (and by
// the store, which checks a checkpoint's head against the entry's hash).
// This is the same guarantee the inline signer gives: it also reads the
// entries before signing, and a writer that bypasses the store does not
// take its lock either.
//
// Refusals are those of sign: a *VerifyError is logged ("refusing to sign
// ..."), marks the org refused (Append then defers nothing for it; Run and
// Checkpoint retry, and clear the mark), and nothing is signed. Other
// failures are logged; the next due entry, or Run's CheckpointDue, tries
// again. One checkpoint per org is pending at a time (later due entries
// of the org are dropped while one is: it signs the earlier one, after
// which they are no longer due). Closing the DecisionLog waits for the
// pending ones.
//
// Administrative writes (Log.Record in any other transaction) still sign
// inline: only the DecisionLog's transactions carry the context that
// defers.

// dueCheckpoint is a checkpoint an entry made due: at the entry (org's
// seq, whose chain hash is hash).
type dueCheckpoint struct {
	org  string
	seq  uint64
	hash Hash
}

// deferred collects the checkpoints a DecisionLog transaction's entries
// made due: per org, the first entry that did. Used by one goroutine (the
// writer, inside its Write).
type deferred struct {
	due []dueCheckpoint
}

type deferredKey struct{}

// withDeferred marks ctx so that Append defers due checkpoints into d.
func withDeferred(ctx context.Context, d *deferred) context.Context {
	return context.WithValue(ctx, deferredKey{}, d)
}

// deferCheckpoint notes, if ctx was marked by withDeferred, that e made a
// checkpoint due, and reports whether it did (then Append signs nothing).
func deferCheckpoint(ctx context.Context, e Entry) bool {
	d, _ := ctx.Value(deferredKey{}).(*deferred)
	if d == nil {
		return false
	}
	for _, c := range d.due {
		if c.org == e.Org {
			return true
		}
	}
	d.due = append(d.due, dueCheckpoint{org: e.Org, seq: e.Seq, hash: e.Hash})
	return true
}

// checkpointTimeout bounds one background checkpoint's store work.
const checkpointTimeout = 30 * time.Second

// checkpointAttempts bounds how often a background checkpoint starts over
// because another one was signed meanwhile short of its entry.
const checkpointAttempts = 3

// errCheckpointMoved: the org's newest checkpoint kept changing under a
// background checkpoint (it gives up; the next due entry or Run retries).
var errCheckpointMoved = errors.New("audit: the org's newest checkpoint kept moving")

// checkpointer signs the checkpoints a DecisionLog's entries made due, in
// the background (see above). Safe for concurrent use.
type checkpointer struct {
	log *Log

	mu      sync.Mutex
	closed  bool
	pending map[string]bool // orgs with a checkpoint under way
	wg      sync.WaitGroup

	// Test hooks, set before the DecisionLog records anything:
	// authenticated runs between steps 1 and 2; finished after each
	// checkpoint is done with (wrote: one was signed).
	authenticated func(org string, seq uint64)
	finished      func(org string, wrote bool, err error)
}

func newCheckpointer(l *Log) *checkpointer {
	return &checkpointer{log: l, pending: map[string]bool{}}
}

// start signs c in the background unless the org has one under way or
// the checkpointer is closed.
func (k *checkpointer) start(c dueCheckpoint) {
	k.mu.Lock()
	if k.closed || k.pending[c.org] {
		k.mu.Unlock()
		return
	}
	k.pending[c.org] = true
	k.wg.Add(1)
	k.mu.Unlock()
	go func() {
		defer k.wg.Done()
		ctx, cancel := context.WithTimeout(context.Background(), checkpointTimeout)
		wrote, err := k.log.signBehind(ctx, c, k.authenticated)
		cancel()
		var ve *VerifyError
		if err != nil && !errors.As(err, &ve) { // a refusal is logged as such
			k.log.opts.Logger.Warn("audit checkpoint failed", "org", c.org, "entry", c.seq, "err", err)
		}
		k.mu.Lock()
		delete(k.pending, c.org)
		k.mu.Unlock()
		if k.finished != nil {
			k.finished(c.org, wrote, err)
		}
	}()
}

// close starts no more checkpoints and waits for those under way.
func (k *checkpointer) close() {
	k.mu.Lock()
	k.closed = true
	k.mu.Unlock()
	k.wg.Wait()
}

// signBehind signs the checkpoint c, authenticating the entries it covers
// outside the write lock (steps 1 and 2 above). It reports whether it
// signed one; nil and false when a checkpoint at or past c.seq exists.
// authenticated, if not nil, runs between the two steps (tests).
func (l *Log) signBehind(ctx context.Context, c dueCheckpoint, authenticated func(string, uint64)) (bool, error) {
	for range checkpointAttempts {
		head, err := l.st.AuditHead(ctx, c.org)
		if err != nil {
			return false, err
		}
		prev := head.Checkpoint
		if prev.Seq >= c.seq {
			return false, nil
		}
		if err := l.authenticateCommitted(ctx, l.st, c.org, c.seq, c.hash, prev); err != nil {
			return false, l.refusal(c.org, err)
		}
		if authenticated != nil {
			authenticated(c.org, c.seq)
		}
		wrote, moved := false, false
		_, err = l.st.Write(ctx, func(tx store.Tx) error {
			wrote, moved = false, false
			now, err := tx.AuditHead(ctx, c.org)
			if err != nil {
				return err
			}
			switch cp := now.Checkpoint; {
			case cp.Seq >= c.seq:
				return nil // someone else signed at or past it
			case cp.Seq != prev.Seq || !bytes.Equal(cp.Head, prev.Head):
				moved = true // authenticated from a checkpoint that is no longer the newest
				return nil
			}
			recs, err := tx.ReadAudit(ctx, c.org, c.seq-1, 1)
			if err != nil {
				return err
			}
			if len(recs) != 1 || recs[0].Seq != c.seq || !bytes.Equal(recs[0].Hash, c.hash[:]) {
				return &VerifyError{Org: c.org, Seq: c.seq, Problem: ProblemHash,
					Detail: fmt.Sprintf("entry %d's stored hash changed after it was authenticated", c.seq)}
			}
			if err := l.writeCheckpoint(ctx, tx, c.org, c.seq, c.hash); err != nil {
				return err
			}
			wrote = true
			return nil
		})
		switch {
		case err != nil:
			return false, l.refusal(c.org, err)
		case moved:
			continue
		case wrote:
			l.setRefused(c.org, false)
		}
		return wrote, nil
	}
	return false, fmt.Errorf("%w: checkpoint %d of org %q", errCheckpointMoved, c.seq, c.org)
}

// authenticateCommitted is authenticate (without legacy, and without a
// transaction of this Log's own) over plain reads of committed rows: it
// proves the org's entries after prev through seq, whose chain hash must
// be head, with the same checks (fromCheckpoint, verifyEntries).
func (l *Log) authenticateCommitted(ctx context.Context, r store.AuditReader, org string, seq uint64, head Hash, prev store.AuditCheckpoint) error {
	after, h, err := l.fromCheckpoint(org, prev)
	if err != nil {
		return err
	}
	if _, h, _, err = l.verifyEntries(ctx, r, org, after, h, seq, seq, false); err != nil {
		return err
	}
	if h != head {
		return refuseAt(org, seq, ProblemHash, "the chain's hash at %d is not the head to sign", seq)
	}
	return nil
}
