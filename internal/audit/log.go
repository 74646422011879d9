package audit

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/hmac"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// Options tune a Log. The zero value records without checkpoints.
type Options struct {
	// Signer signs checkpoints and MACs entries (with its MACKey); nil
	// writes neither (Verify then proves only the chain, and reports every
	// entry as unanchored).
	Signer *Signer
	// TrustedKeys are earlier signing keys of this deployment (after a
	// rotation): a checkpoint they signed is a starting point the
	// checkpointer trusts, as one the Signer signed.
	TrustedKeys []PublicKey
	// CheckpointEvery writes a checkpoint when this many entries follow
	// the org's last one; 0 means 1000.
	CheckpointEvery uint64
	// CheckpointInterval writes a checkpoint when the org's last one is
	// this old and entries follow it (on the next entry, or from Run for
	// an idle org); 0 means 60s.
	CheckpointInterval time.Duration
	// Logger receives Run's errors; nil discards them.
	Logger *slog.Logger
}

// Defaults.
const (
	DefaultCheckpointEvery    = 1000
	DefaultCheckpointInterval = 60 * time.Second
)

// Log is an org-partitioned audit log over a store, with checkpoints. It
// implements Recorder. All methods are safe for concurrent use.
type Log struct {
	st   store.Store
	opts Options
	mac  *MACKey

	mu sync.Mutex
	// refused holds the orgs whose unanchored entries failed
	// authentication: Append does not try to checkpoint them again (Run
	// and Checkpoint do, and clear the mark when they succeed).
	refused map[string]bool
	// runs holds, per org, the newest run of entries Append wrote in one
	// transaction to that org, one after the other (see ownRun). Per org:
	// transactions of different orgs may append at the same time
	// (store WriteOrg), and one must not end the other's run.
	runs map[string]ownRun
	// signed is the checkpoint this Log signed last (see fromCheckpoint).
	signed store.AuditCheckpoint
}

// ownRun is a run of consecutive entries this Log appended to org in
// one transaction: first..seq, chained from prev (the org's head before
// first) to head. sign does not read them back to authenticate them:
// Append computed their hashes and MACs itself a moment ago, in the same
// transaction, which the store does not let anyone else write in. Only
// the entries before first (written by earlier transactions, or by
// anything but this Log) are read and checked. A transaction is told
// apart by the Tx value, its revision and its time; an entry appended to
// the org by anything else in between (tx.AppendAudit directly) breaks
// the run, since the head it then chains from is not the run's.
type ownRun struct {
	tx         store.Tx
	rev        uint64
	now        int64
	org        string
	first, seq uint64
	prev, head Hash
}

// noteOwn records that Append wrote out (chained from the org's head
// before, whose hash is prev) in tx.
func (l *Log) noteOwn(tx store.Tx, out Entry, prev []byte) {
	rev, now := tx.Revision(), tx.Now().UnixNano()
	l.mu.Lock()
	defer l.mu.Unlock()
	r, ok := l.runs[out.Org]
	if ok && r.tx == tx && r.rev == rev && r.now == now && r.org == out.Org && r.seq+1 == out.Seq && bytes.Equal(r.head[:], prev) {
		r.seq, r.head = out.Seq, out.Hash
		l.runs[out.Org] = r
		return
	}
	if l.runs == nil || len(l.runs) >= maxRuns {
		l.runs = map[string]ownRun{} // forgetting a run costs a read-back, never a wrong checkpoint
	}
	r = ownRun{tx: tx, rev: rev, now: now, org: out.Org, first: out.Seq, seq: out.Seq, head: out.Hash}
	copy(r.prev[:], prev)
	l.runs[out.Org] = r
}

// maxRuns bounds Log.runs: the orgs with a run remembered (each keeps its
// transaction alive until replaced; transactions of different orgs at the
// same time are a handful).
const maxRuns = 64

// ownSince reports the run of entries this Log appended in tx that ends
// at org's entry seq with hash head, if there is one.
func (l *Log) ownSince(tx store.Tx, org string, seq uint64, head Hash) (ownRun, bool) {
	rev, now := tx.Revision(), tx.Now().UnixNano()
	l.mu.Lock()
	defer l.mu.Unlock()
	r, ok := l.runs[org]
	ok = ok && r.tx == tx && r.rev == rev && r.now == now && r.org == org && r.seq == seq && r.head == head
	return r, ok
}

// New returns a Log over st.
func New(st store.Store, opts Options) (*Log, error) {
	if st == nil {
		return nil, fmt.Errorf("%w: no store", ErrInvalid)
	}
	if opts.CheckpointEvery == 0 {
		opts.CheckpointEvery = DefaultCheckpointEvery
	}
	if opts.CheckpointInterval <= 0 {
		opts.CheckpointInterval = DefaultCheckpointInterval
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	l := &Log{st: st, opts: opts, refused: map[string]bool{}}
	if opts.Signer != nil {
		k := opts.Signer.MACKey()
		l.mac = &k
	}
	return l, nil
}

// Store is the store the log is kept in.
func (l *Log) Store() store.Store { return l.st }

// PublicKey is the key that verifies this log's checkpoints (false if it
// signs none).
func (l *Log) PublicKey() (PublicKey, bool) {
	if l.opts.Signer == nil {
		return PublicKey{}, false
	}
	return l.opts.Signer.Public(), true
}

// VerifyKeys are the keys whose checkpoints this log trusts: its signer's
// and the TrustedKeys (earlier signing keys, after a rotation).
func (l *Log) VerifyKeys() []PublicKey {
	var out []PublicKey
	if l.opts.Signer != nil {
		out = append(out, l.opts.Signer.Public())
	}
	return append(out, l.opts.TrustedKeys...)
}

// MACKey is the key that authenticates this log's entries (false if it
// has no signer, and writes no MACs).
func (l *Log) MACKey() (MACKey, bool) {
	if l.mac == nil {
		return MACKey{}, false
	}
	return *l.mac, true
}

// Record appends e in tx (see the package-level Record) and, when one is
// due, a checkpoint of the new head in the same transaction (except in a
// DecisionLog's transactions: checkpointer.go).
func (l *Log) Record(ctx context.Context, tx store.Tx, e Entry) error {
	_, err := l.Append(ctx, tx, e)
	return err
}

// Append is Record returning the entry as written. The entry carries its
// MAC. When a checkpoint is due but the entries since the last one do not
// authenticate (see sign), the entry is still written and no checkpoint
// is: the refusal is logged, and Verify reports the bad entry.
func (l *Log) Append(ctx context.Context, tx store.Tx, e Entry) (Entry, error) {
	out, head, err := appendEntry(ctx, tx, e, l.mac)
	if err != nil {
		return Entry{}, err
	}
	if l.opts.Signer == nil {
		return out, nil
	}
	l.noteOwn(tx, out, head.Hash)
	cp := head.Checkpoint
	due := cp.Seq == 0 || out.Seq-cp.Seq >= l.opts.CheckpointEvery ||
		tx.Now().UnixMicro()-cp.At >= l.opts.CheckpointInterval.Microseconds()
	if due && !l.isRefused(out.Org) {
		if deferCheckpoint(ctx, out) {
			return out, nil // signed after commit, off this transaction (checkpointer.go)
		}
		var ve *VerifyError
		if err := l.sign(ctx, tx, out.Org, out.Seq, out.Hash, cp); errors.As(err, &ve) {
			return out, nil // refused and logged; the entry stands
		} else if err != nil {
			return Entry{}, err
		}
	}
	return out, nil
}

// MinSealRun is the fewest entries of one org a transaction must have
// appended for SealRun to checkpoint them.
const MinSealRun = 64

// SealRun checkpoints org's head in tx if the newest entries of org are a
// run of at least MinSealRun that this Log appended in tx, one after the
// other (a bulk write's: directory.Write calls it after its changes).
// Signing such a run reads none of it back (ownRun); what it saves is
// the next transaction's work: the checkpoint that becomes due during it
// would otherwise read back and re-verify every entry of this one, since
// they were written by an earlier transaction. Entries before the run
// not yet covered by a checkpoint are read back and verified as sign
// always does, and a refusal (a *VerifyError) is logged and leaves the
// entries as they are, as in Append. Without a Signer, or for a refused
// org, it does nothing.
func (l *Log) SealRun(ctx context.Context, tx store.Tx, org string) error {
	if l.opts.Signer == nil || l.isRefused(org) {
		return nil
	}
	head, err := tx.AuditHead(ctx, org)
	if err != nil {
		return fmt.Errorf("audit: seal org %q: %w", org, err)
	}
	if head.Seq == 0 || head.Seq == head.Checkpoint.Seq || len(head.Hash) != len(Hash{}) {
		return nil
	}
	var h Hash
	copy(h[:], head.Hash)
	own, ok := l.ownSince(tx, org, head.Seq, h)
	if !ok || own.seq-own.first+1 < MinSealRun {
		return nil
	}
	var ve *VerifyError
	if err := l.sign(ctx, tx, org, head.Seq, h, head.Checkpoint); errors.As(err, &ve) {
		return nil // refused and logged; the entries stand
	} else if err != nil {
		return err
	}
	return nil
}

func (l *Log) isRefused(org string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.refused[org]
}

func (l *Log) setRefused(org string, refused bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if refused {
		l.refused[org] = true
	} else {
		delete(l.refused, org)
	}
}

// RecordAlone records e in a transaction of its own: for events that
// change nothing else (a denied attempt, an authentication failure). The
// caller must not report success for the event's action if it fails.
func (l *Log) RecordAlone(ctx context.Context, e Entry) (Entry, error) {
	var out Entry
	_, err := l.st.Write(ctx, func(tx store.Tx) error {
		var err error
		out, err = l.Append(ctx, tx, e)
		return err
	})
	return out, err
}

// sign checkpoints the org's entry seq, whose chain hash is head, after
// proving that every entry since prev (the org's newest checkpoint) was
// written by this deployment: prev is validly signed by the Signer or a
// TrustedKey, and every entry after it chains and carries a valid MAC. If
// not, it signs nothing, logs the refusal and returns the *VerifyError
// (wrapping ErrTampered) naming the first entry it could not
// authenticate: a checkpoint is never signed over an entry inserted or
// rewritten by someone without the key.
func (l *Log) sign(ctx context.Context, tx store.Tx, org string, seq uint64, head Hash, prev store.AuditCheckpoint) error {
	_, err := l.signChecked(ctx, tx, org, seq, head, prev, false)
	return err
}

// signChecked is sign; with legacy, entries without a MAC are accepted
// (Adopt) and counted.
func (l *Log) signChecked(ctx context.Context, tx store.Tx, org string, seq uint64, head Hash, prev store.AuditCheckpoint, legacy bool) (uint64, error) {
	unauthenticated, err := l.authenticate(ctx, tx, org, seq, head, prev, legacy)
	if err != nil {
		return 0, l.refusal(org, err)
	}
	if err := l.writeCheckpoint(ctx, tx, org, seq, head); err != nil {
		return 0, err
	}
	l.setRefused(org, false)
	return unauthenticated, nil
}

// refusal handles an error of authenticating entries before signing: a
// *VerifyError marks the org refused and is logged; err is returned.
func (l *Log) refusal(org string, err error) error {
	var ve *VerifyError
	if errors.As(err, &ve) {
		l.setRefused(org, true)
		l.opts.Logger.Error("audit: refusing to sign a checkpoint over entries this deployment did not write",
			"org", org, "entry", ve.Seq, "problem", string(ve.Problem), "detail", ve.Detail)
	}
	return err
}

// writeCheckpoint signs the org's entry seq, whose chain hash is head, at
// tx's time and stores the checkpoint in tx (the entries it covers must
// have been authenticated).
func (l *Log) writeCheckpoint(ctx context.Context, tx store.Tx, org string, seq uint64, head Hash) error {
	cp := l.opts.Signer.SignCheckpoint(org, seq, head, tx.Now().UnixMicro())
	row := store.AuditCheckpoint{Org: org, Seq: seq, Head: head[:], At: cp.At, KeyID: cp.KeyID, Signature: cp.Signature}
	if err := tx.AppendAuditCheckpoint(ctx, row); err != nil {
		return fmt.Errorf("audit: checkpoint %d of org %q: %w", seq, org, err)
	}
	row.Head = slices.Clone(row.Head)
	row.Signature = slices.Clone(row.Signature)
	l.mu.Lock()
	l.signed = row
	l.mu.Unlock()
	return nil
}

// Adopt checkpoints the org's head like Checkpoint(force), but accepts
// entries without a MAC since the previous checkpoint: those written
// before entries had MACs (migration 00006) and not checkpointed before
// the upgrade, which the checkpointer otherwise refuses to sign over. An
// entry with a wrong MAC is still refused. It returns the sequence number
// it signed (0 if the head was already checkpointed) and how many entries
// without a MAC the checkpoint now vouches for. It also records the head
// with its MAC (logs written before migration 00006 have none; keyed
// verification requires it). Run it once, by an operator who has checked
// those entries (gatehouse audit adopt).
func (l *Log) Adopt(ctx context.Context, org string) (seq, adopted uint64, err error) {
	if l.opts.Signer == nil {
		return 0, 0, ErrNoKey
	}
	_, err = l.st.Write(ctx, func(tx store.Tx) error {
		head, err := tx.AuditHead(ctx, org)
		if err != nil || head.Seq == 0 {
			return err
		}
		var h Hash
		copy(h[:], head.Hash)
		refuse := func(at uint64, p Problem, format string, args ...any) error {
			return &VerifyError{Org: org, Seq: at, Problem: p, Detail: fmt.Sprintf(format, args...)}
		}
		// A head recorded with a MAC is this deployment's word on where the
		// log ends: adopt never moves it (that would hide a cut tail).
		hr, recorded, err := tx.AuditHeadRow(ctx, org)
		if err != nil {
			return err
		}
		authentic := false
		if recorded && hr.MAC != nil {
			var rh Hash
			copy(rh[:], hr.Hash)
			authentic = len(hr.Hash) == len(rh) && hmac.Equal(hr.MAC, l.mac.HeadMAC(org, hr.Seq, rh))
			// After a key rotation an idle org's head carries the earlier
			// key's MAC; the earlier key's checkpoint at exactly that head
			// vouches for it.
			rotated := hr.Seq == head.Seq && rh == h && head.Checkpoint.Seq == head.Seq &&
				head.Checkpoint.KeyID != l.mac.ID && l.trusted(CheckpointFromStore(head.Checkpoint))
			switch {
			case !authentic && !rotated:
				return refuse(min(hr.Seq, head.Seq), ProblemHead, "the recorded head (entry %d) is not authentic: its MAC does not verify", hr.Seq)
			case hr.Seq != head.Seq || rh != h:
				return refuse(min(hr.Seq, head.Seq+1), ProblemTail, "the log ends at %d, but its recorded head is entry %d", head.Seq, hr.Seq)
			}
		}
		if head.Seq != head.Checkpoint.Seq {
			if adopted, err = l.signChecked(ctx, tx, org, head.Seq, h, head.Checkpoint, true); err != nil {
				return err
			}
			seq = head.Seq
		} else if !l.trusted(CheckpointFromStore(head.Checkpoint)) {
			return refuse(head.Seq, ProblemSignature, "the newest checkpoint (at %d, key id %q) is not signed by this deployment's key", head.Seq, head.Checkpoint.KeyID)
		}
		if authentic {
			return nil
		}
		// The head is checkpointed now: record it with its MAC, which a log
		// written before heads were recorded (or without the key) lacks, so
		// that keyed verification can require it and a tail cut together
		// with the head row is detected.
		return tx.RecordAuditHead(ctx, store.AuditHeadRow{Org: org, Seq: head.Seq, Hash: head.Hash, MAC: l.mac.HeadMAC(org, head.Seq, h)})
	})
	if err != nil {
		return 0, 0, err
	}
	return seq, adopted, nil
}

// authenticate proves the org's entries after prev through seq (see sign);
// with legacy, entries without a MAC pass, and are counted.
func (l *Log) authenticate(ctx context.Context, tx store.Tx, org string, seq uint64, head Hash, prev store.AuditCheckpoint, legacy bool) (uint64, error) {
	after, h, err := l.fromCheckpoint(org, prev)
	if err != nil {
		return 0, err
	}
	// Entries this Log appended in tx are not read back (ownRun): the
	// entries before them are, and must chain to the head they were
	// appended to.
	until := seq
	own, isOwn := l.ownSince(tx, org, seq, head)
	if isOwn {
		until = max(after, own.first-1)
	}
	after, h, unauthenticated, err := l.verifyEntries(ctx, tx, org, after, h, until, seq, legacy)
	if err != nil {
		return 0, err
	}
	if isOwn {
		if own.first > after+1 || (own.first == after+1 && h != own.prev) {
			return 0, refuseAt(org, after+1, ProblemHash, "the entries before this transaction's do not chain to the head they were appended to")
		}
		h = head // first..seq: appended and hashed by this Log in tx
	}
	if h != head {
		return 0, refuseAt(org, seq, ProblemHash, "the chain's hash at %d is not the head to sign", seq)
	}
	return unauthenticated, nil
}

func refuseAt(org string, at uint64, p Problem, format string, args ...any) error {
	return &VerifyError{Org: org, Seq: at, Problem: p, Detail: fmt.Sprintf(format, args...)}
}

// fromCheckpoint is where proving the org's entries after prev starts:
// prev's sequence number and head, once prev is shown to be signed by the
// Signer or a TrustedKey (zero values when the org has no checkpoint).
func (l *Log) fromCheckpoint(org string, prev store.AuditCheckpoint) (uint64, Hash, error) {
	var h Hash
	if prev.Seq == 0 {
		return 0, h, nil
	}
	if len(prev.Head) != len(h) || !l.signedHere(prev) && !l.trusted(CheckpointFromStore(prev)) {
		return 0, h, refuseAt(org, prev.Seq, ProblemSignature, "the newest checkpoint (at %d, key id %q) is not signed by this deployment's key", prev.Seq, prev.KeyID)
	}
	copy(h[:], prev.Head)
	return prev.Seq, h, nil
}

// auditRange reads stored entries: a write transaction (store.Tx) or
// plain reads of committed rows (store.AuditReader).
type auditRange interface {
	ReadAudit(ctx context.Context, org string, after uint64, limit int) ([]store.AuditRecord, error)
}

// verifyEntries reads the org's entries after through until from r and
// checks that each is stored in its place, chains from h and carries this
// deployment's MAC (with legacy, a missing MAC passes and is counted). It
// returns the last entry checked and its chain hash. seq names the end of
// the whole range in the gap refusal.
func (l *Log) verifyEntries(ctx context.Context, r auditRange, org string, after uint64, h Hash, until, seq uint64, legacy bool) (uint64, Hash, uint64, error) {
	var (
		enc             encoder
		unauthenticated uint64
	)
	for after < until {
		recs, err := r.ReadAudit(ctx, org, after, int(min(until-after, store.MaxAuditBatch)))
		if err != nil {
			return 0, h, 0, err
		}
		if len(recs) == 0 {
			return 0, h, 0, refuseAt(org, after+1, ProblemGap, "entries %d to %d are missing", after+1, seq)
		}
		for i := range recs {
			rec := &recs[i]
			if rec.Seq != after+1 {
				return 0, h, 0, refuseAt(org, after+1, ProblemGap, "entry %d is stored where %d belongs", rec.Seq, after+1)
			}
			if h = enc.entryHash(h, rec); !bytes.Equal(h[:], rec.Hash) {
				return 0, h, 0, refuseAt(org, rec.Seq, ProblemHash, "entry %d's content or stored hash was changed", rec.Seq)
			}
			if legacy && rec.MAC == nil {
				unauthenticated++
			} else if !hmac.Equal(rec.MAC, l.mac.EntryMAC(h)) {
				return 0, h, 0, refuseAt(org, rec.Seq, ProblemForged, "entry %d has no valid MAC: this deployment did not write it", rec.Seq)
			}
			after = rec.Seq
			if after == until {
				break
			}
		}
	}
	return after, h, unauthenticated, nil
}

// trusted reports whether c is validly signed by the Signer or a
// TrustedKey.
// signedHere reports whether c is, byte for byte, the checkpoint this Log
// signed last: every input of its signature's check (org, seq, head, time,
// key id) and the signature itself are what Signer.SignCheckpoint made, so
// the check would pass, and need not run again (the bulk write's next
// batch starts from the checkpoint the previous one sealed). Whether
// that checkpoint was committed does not matter: its signature is valid
// either way. Anything else is checked by trusted.
func (l *Log) signedHere(c store.AuditCheckpoint) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := &l.signed
	return s.Seq != 0 && c.Seq == s.Seq && c.At == s.At && c.Org == s.Org && c.KeyID == s.KeyID &&
		bytes.Equal(c.Head, s.Head) && bytes.Equal(c.Signature, s.Signature)
}

func (l *Log) trusted(c Checkpoint) bool {
	msg := CheckpointMessage(c.Org, c.Seq, c.Head, c.At)
	if c.KeyID == l.opts.Signer.Public().ID {
		return ed25519.Verify(l.opts.Signer.Public().Key, msg, c.Signature)
	}
	for _, k := range l.opts.TrustedKeys {
		if k.ID == c.KeyID && len(k.Key) == ed25519.PublicKeySize && ed25519.Verify(k.Key, msg, c.Signature) {
			return true
		}
	}
	return false
}

// Checkpoint signs the org's current head now, if entries follow its last
// checkpoint (force) or the last checkpoint is older than the interval.
// It reports whether it wrote one. ErrNoKey without a signer.
func (l *Log) Checkpoint(ctx context.Context, org string, force bool) (bool, error) {
	if l.opts.Signer == nil {
		return false, ErrNoKey
	}
	wrote := false
	_, err := l.st.Write(ctx, func(tx store.Tx) error {
		head, err := tx.AuditHead(ctx, org)
		if err != nil {
			return err
		}
		cp := head.Checkpoint
		if head.Seq == 0 || head.Seq == cp.Seq || !force && !l.due(head, tx.Now()) {
			return nil
		}
		var h Hash
		copy(h[:], head.Hash)
		if err := l.sign(ctx, tx, org, head.Seq, h, cp); err != nil {
			return err
		}
		wrote = true
		return nil
	})
	return wrote, err
}

// CheckpointDue checkpoints every org whose last checkpoint is older than
// the interval and has entries after it.
//
// It first reads each org's head outside the write lock and takes the
// lock (Checkpoint, which decides again on the head it locked) only for
// the orgs that look due. Every org used to cost a write transaction per
// Run tick, each queued behind, and holding up, the writers: a bulk
// load on PostgreSQL waited 10–80 ms at a time for a tick's hundred
// transactions. Skipping an org the committed head shows not due loses
// nothing: only a later entry can make it due, and the next tick (or
// that entry's own transaction) sees it.
func (l *Log) CheckpointDue(ctx context.Context) error {
	orgs, err := l.st.AuditOrgs(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, org := range orgs {
		head, err := l.st.AuditHead(ctx, org)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if !l.due(head, time.Now()) {
			continue
		}
		if _, err := l.Checkpoint(ctx, org, false); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// due reports whether Checkpoint (not forced) would sign head at now:
// entries follow the last checkpoint, which is at least the interval old.
func (l *Log) due(head store.AuditHead, now time.Time) bool {
	cp := head.Checkpoint
	if head.Seq == 0 || head.Seq == cp.Seq {
		return false
	}
	return now.UnixMicro()-cp.At >= l.opts.CheckpointInterval.Microseconds()
}

// Run checkpoints idle orgs (CheckpointDue) every quarter interval until
// ctx ends. Without a signer it returns at once.
func (l *Log) Run(ctx context.Context) {
	if l.opts.Signer == nil {
		return
	}
	t := time.NewTicker(max(l.opts.CheckpointInterval/4, 10*time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := l.CheckpointDue(ctx); err != nil && ctx.Err() == nil {
				l.opts.Logger.Warn("audit checkpoint failed", "err", err)
			}
		}
	}
}

// PruneAction is the action of the entry that records a prune.
const PruneAction = "audit.prune"

// ErrNotExported: a prune asked to delete entries the named exporter has
// not delivered yet.
var ErrNotExported = errors.New("entries are not exported yet")

// Prune deletes the org's entries up to and including through, which must
// be a checkpointed sequence number that exporter has delivered (its
// stored cursor is at or past through): retention is export, then prune.
// The prune is recorded as an entry by actor and checkpointed at once, in
// the same transaction. It returns how many entries were deleted.
// Errors: ErrNoKey without a signer; ErrNotExported; the store's
// ErrRefused when through is not a checkpoint.
func (l *Log) Prune(ctx context.Context, org string, through uint64, exporter string, actor Actor) (int64, error) {
	if l.opts.Signer == nil {
		return 0, ErrNoKey
	}
	var n int64
	_, err := l.st.Write(ctx, func(tx store.Tx) error {
		cur, err := tx.AuditCursor(ctx, org, exporter)
		if err != nil {
			return err
		}
		if cur < through {
			return fmt.Errorf("audit: prune org %q through %d: exporter %q is at %d: %w", org, through, exporter, cur, ErrNotExported)
		}
		e, err := l.Append(ctx, tx, Entry{
			Org: org, Actor: actor, Action: PruneAction, Target: "audit/" + org, Result: Success,
			Details: mustJSON(pruneDetails{Through: through, Exporter: exporter}),
		})
		if err != nil {
			return err
		}
		if n, err = tx.PruneAudit(ctx, org, through); err != nil {
			return err
		}
		head, err := tx.AuditHead(ctx, org)
		if err != nil {
			return err
		}
		if head.Checkpoint.Seq == e.Seq {
			return nil
		}
		return l.sign(ctx, tx, org, e.Seq, e.Hash, head.Checkpoint)
	})
	return n, err
}

// pruneDetails are the details of a prune entry; Verify reads them.
type pruneDetails struct {
	Through  uint64 `json:"through"`
	Exporter string `json:"exporter,omitempty"`
}

// mustJSON marshals values that cannot fail to marshal (plain structs of
// strings and numbers).
func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		return json.RawMessage(`{}`)
	}
	return b
}
