package audit

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"hash"
	"slices"
	"sort"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// Problem names what verification found wrong.
type Problem string

// Problems, in the words `gatehouse audit verify` prints.
const (
	// ProblemHash: an entry's content or stored hash was changed (or an
	// entry was deleted and the rest renumbered).
	ProblemHash Problem = "hash mismatch"
	// ProblemGap: sequence numbers are missing (entries deleted).
	ProblemGap Problem = "gap"
	// ProblemReorder: an entry is stored at another position than the one
	// it was chained at.
	ProblemReorder Problem = "reorder"
	// ProblemInserted: an entry was inserted and the following ones
	// renumbered.
	ProblemInserted Problem = "inserted entry"
	// ProblemTruncated: the log ends before a validly signed checkpoint.
	ProblemTruncated Problem = "truncated after checkpoint"
	// ProblemSignature: a checkpoint's signature does not verify under any
	// trusted key.
	ProblemSignature Problem = "bad signature"
	// ProblemCheckpoint: the chain's hash at a checkpoint's sequence is not
	// the signed head (the log was rewritten), or two validly signed
	// checkpoints disagree.
	ProblemCheckpoint Problem = "checkpoint mismatch"
	// ProblemPrune: entries are missing at the start of the log without a
	// recorded, checkpoint-anchored prune.
	ProblemPrune Problem = "unanchored prune"
	// ProblemForged: with the MAC key, an entry's MAC is wrong, or it has
	// none and no signed checkpoint covers it: someone without the key
	// inserted or rewrote it (SQL access to the database).
	ProblemForged Problem = "forged entry"
	// ProblemTail: the log ends before the head its writer recorded with
	// the newest entry (entries were deleted from the end), or the
	// recorded head is missing.
	ProblemTail Problem = "truncated"
	// ProblemHead: the recorded head is not the chain's end (a different
	// hash, or entries beyond it), or with the MAC key its MAC is wrong.
	ProblemHead Problem = "head mismatch"
	// ProblemMissing: an org that exists (or that has a recorded head) has
	// no log at all: it was deleted.
	ProblemMissing Problem = "log missing"
)

// VerifyError is the first problem found in an org's log. It wraps
// ErrTampered.
type VerifyError struct {
	Org     string
	Seq     uint64 // the first bad entry (or the checkpoint's sequence)
	Problem Problem
	Detail  string
}

func (e *VerifyError) Error() string {
	return fmt.Sprintf("audit: org %q: entry %d: %s: %s", e.Org, e.Seq, e.Problem, e.Detail)
}

// Unwrap returns ErrTampered.
func (e *VerifyError) Unwrap() error { return ErrTampered }

// Checkpoint is a checkpoint as exported (one JSON object per line), to be
// kept outside the database and given back to Verify as an anchor.
type Checkpoint struct {
	Org       string    `json:"org"`
	Seq       uint64    `json:"seq"`
	Head      Hash      `json:"head"`
	At        int64     `json:"at"`   // microseconds since the Unix epoch, UTC: what is signed
	Time      time.Time `json:"time"` // At, for people
	KeyID     string    `json:"key_id"`
	Signature []byte    `json:"signature"` // base64 in JSON
}

// CheckpointFromStore converts a stored checkpoint.
func CheckpointFromStore(c store.AuditCheckpoint) Checkpoint {
	out := Checkpoint{Org: c.Org, Seq: c.Seq, At: c.At, Time: time.UnixMicro(c.At).UTC(), KeyID: c.KeyID, Signature: c.Signature}
	copy(out.Head[:], c.Head)
	return out
}

// VerifyOptions say what to trust.
type VerifyOptions struct {
	// Keys are the trusted checkpoint keys. A checkpoint signed by any
	// other key is a bad signature. Required when there are checkpoints.
	Keys []PublicKey
	// Checkpoints are exported copies (any orgs; others are ignored): each
	// must verify, and the log must reach and agree with it.
	Checkpoints []Checkpoint
	// MACKeys authenticate entries and recorded heads (derived from the
	// private signing keys). Without them MACs are not checked, and
	// entries appended or rewritten with SQL, with hashes recomputed,
	// after the newest checkpoint are not detected (Report.MACsChecked
	// says which).
	MACKeys []MACKey
	// Orgs are the orgs that exist: each must have a log (every org's
	// first entry records its creation). VerifyAll verifies each of them.
	Orgs []string
	// Batch is how many entries are read at a time; 0 means
	// store.MaxAuditBatch.
	Batch int
	// From, when above 1, makes the check incremental: it starts at the
	// newest validly signed checkpoint before entry From (trusting its
	// head, as a full check would have proved it) and checks the chain and
	// checkpoints from there to the end. 0 checks everything.
	From uint64
}

// Report is what Verify proved about one org's log.
type Report struct {
	Org         string `json:"org"`
	First       uint64 `json:"first"`   // first retained entry (1, or after a prune)
	Last        uint64 `json:"last"`    // newest entry; 0 if none
	Entries     uint64 `json:"entries"` // entries verified
	Head        Hash   `json:"head"`
	Pruned      uint64 `json:"pruned_through,omitempty"`
	Checkpoints int    `json:"checkpoints"` // distinct validly signed checkpoints
	// Anchored is the newest sequence a valid checkpoint covers; entries
	// after it (Last-Anchored) are proved by their MACs (MACsChecked) or
	// only by the chain.
	Anchored uint64 `json:"anchored"`
	// MACsChecked: every entry's MAC and the recorded head's were checked
	// (VerifyOptions.MACKeys was given).
	MACsChecked bool `json:"macs_checked"`
	// RecordedHead is the head the log's writer recorded with its newest
	// entry, which the chain's end matched; 0 if none is recorded (a log
	// written before migration 00006 and not appended to since).
	RecordedHead uint64 `json:"recorded_head,omitempty"`
}

// candidate is a checkpoint to check (stored or exported); its
// signature is verified lazily, once.
type candidate struct {
	Checkpoint
	ext     bool
	checked bool
	valid   bool
}

// Verify proves the org's log: every entry chains to its predecessor,
// sequence numbers are dense, every checkpoint (stored or exported) that
// the chain reaches is validly signed by a trusted key and agrees with the
// chain, the log reaches every validly signed checkpoint, and a pruned
// prefix is anchored by a checkpoint and recorded by a prune entry. On
// failure the error is a *VerifyError (wrapping ErrTampered) naming the
// first bad entry; other errors are the store's or ErrNoKey.
func Verify(ctx context.Context, r store.AuditReader, org string, opts VerifyOptions) (Report, error) {
	v := verifier{r: r, org: org, opts: opts, rep: Report{Org: org, MACsChecked: len(opts.MACKeys) > 0}}
	if v.opts.Batch <= 0 || v.opts.Batch > store.MaxAuditBatch {
		v.opts.Batch = store.MaxAuditBatch
	}
	v.keys = map[string]ed25519.PublicKey{}
	for _, k := range opts.Keys {
		if len(k.Key) == ed25519.PublicKeySize {
			v.keys[newPublicKey(k.Key).ID] = k.Key
		}
	}
	if err := v.run(ctx); err != nil {
		return v.rep, err
	}
	return v.rep, nil
}

// VerifyAll verifies every org that has audit rows or a recorded head,
// every org in opts.Orgs, and every org named by opts.Checkpoints, in
// order. It returns the reports so far and stops
// at the first org whose log does not verify.
func VerifyAll(ctx context.Context, r store.AuditReader, opts VerifyOptions) ([]Report, error) {
	orgs, err := r.AuditOrgs(ctx)
	if err != nil {
		return nil, err
	}
	for _, c := range opts.Checkpoints {
		orgs = append(orgs, c.Org)
	}
	orgs = append(orgs, opts.Orgs...)
	sort.Strings(orgs)
	orgs = slices.Compact(orgs)
	var reps []Report
	for _, org := range orgs {
		rep, err := Verify(ctx, r, org, opts)
		reps = append(reps, rep)
		if err != nil {
			return reps, err
		}
	}
	return reps, nil
}

type verifier struct {
	r    store.AuditReader
	org  string
	opts VerifyOptions
	keys map[string]ed25519.PublicKey
	rep  Report
	enc  encoder
	cps  []*candidate // by Seq
	bad  *VerifyError // the first problem (lowest sequence)
}

// macChecker checks entry MACs under the verifier's keys, reusing its
// HMAC states; one per goroutine.
type macChecker struct {
	macs []hash.Hash
	buf  []byte
}

func newMACChecker(keys []MACKey) *macChecker {
	c := &macChecker{}
	for _, k := range keys {
		c.macs = append(c.macs, hmac.New(sha256.New, k.key[:]))
	}
	return c
}

// ok reports whether r's MAC is the entry MAC of its stored hash under one
// of the keys. The verifier uses the result only once it has checked that
// the stored hash is the chain's, so the MAC is checked while the batch is
// read, beside the hashing.
func (c *macChecker) ok(r *store.AuditRecord) bool {
	if len(r.MAC) != sha256.Size || len(r.Hash) != sha256.Size {
		return false
	}
	for _, m := range c.macs {
		m.Reset()
		m.Write([]byte(entryMACLabel))
		m.Write(r.Hash)
		if c.buf = m.Sum(c.buf[:0]); hmac.Equal(c.buf, r.MAC) {
			return true
		}
	}
	return false
}

// checkHead compares the chain's end (last, with hash v.rep.Head) with the
// head its writer recorded; macd says whether any entry carried a MAC.
func (v *verifier) checkHead(ctx context.Context, last uint64, macd bool) error {
	hr, ok, err := v.r.AuditHeadRow(ctx, v.org)
	if err != nil {
		return err
	}
	// With the MAC keys every head must be there and authentic: a database
	// writer can strip the entries' MACs (only checkpoints then vouch for
	// them), so whether some entry carried a MAC cannot decide whether a
	// missing or unauthenticated head is a cut tail. A log written before
	// heads were recorded gets its head from gatehouse audit adopt.
	keyed := len(v.opts.MACKeys) > 0
	if !ok {
		if macd || (keyed && last > 0) {
			v.problem(last+1, ProblemTail, "the org's recorded head is missing: entries after %d may have been deleted (a log written before heads were recorded needs gatehouse audit adopt)", last)
		}
		return nil
	}
	var h Hash
	wellFormed := len(hr.Hash) == len(h)
	copy(h[:], hr.Hash)
	if keyed {
		valid := false
		for _, k := range v.opts.MACKeys {
			valid = valid || (wellFormed && hmac.Equal(hr.MAC, k.HeadMAC(v.org, hr.Seq, h)))
		}
		if !valid {
			v.problem(min(hr.Seq, last+1), ProblemHead, "the recorded head (entry %d) is not authentic: its MAC does not verify", hr.Seq)
			return nil
		}
	}
	switch {
	case hr.Seq > last && last == 0:
		v.problem(1, ProblemMissing, "the org's log is gone, but its recorded head is entry %d", hr.Seq)
	case hr.Seq > last:
		v.problem(last+1, ProblemTail, "the log ends at %d, but its recorded head is entry %d: entries were deleted from the end", last, hr.Seq)
	case hr.Seq < last:
		v.problem(hr.Seq+1, ProblemHead, "the log goes on after its recorded head %d, to %d", hr.Seq, last)
	case !wellFormed || h != v.rep.Head:
		v.problem(last, ProblemHead, "the recorded head's hash at %d is not the chain's (the end of the log was rewritten)", last)
	default:
		v.rep.RecordedHead = hr.Seq
	}
	return nil
}

func (v *verifier) problem(seq uint64, p Problem, format string, args ...any) {
	if v.bad != nil && v.bad.Seq <= seq {
		return
	}
	v.bad = &VerifyError{Org: v.org, Seq: seq, Problem: p, Detail: fmt.Sprintf(format, args...)}
}

// valid checks a candidate's signature (once).
func (v *verifier) valid(c *candidate) bool {
	if !c.checked {
		c.checked = true
		k, ok := v.keys[c.KeyID]
		c.valid = ok && ed25519.Verify(k, v.enc.checkpointMessage(v.org, c.Seq, c.Head[:], c.At), c.Signature)
		if c.valid {
			v.rep.Checkpoints++
		}
	}
	return c.valid
}

func (v *verifier) badSignature(c *candidate) {
	where := "stored"
	if c.ext {
		where = "exported"
	}
	v.problem(c.Seq, ProblemSignature, "the %s checkpoint at %d is not validly signed by a trusted key (key id %q)", where, c.Seq, c.KeyID)
}

// loadCheckpoints reads the org's stored checkpoints and adds the
// exported ones, sorted by sequence (stored first at equal sequence).
func (v *verifier) loadCheckpoints(ctx context.Context) error {
	var after uint64
	for {
		cps, err := v.r.ListAuditCheckpoints(ctx, v.org, after, store.MaxAuditBatch)
		if err != nil {
			return err
		}
		if len(cps) == 0 {
			break
		}
		for _, c := range cps {
			cp := CheckpointFromStore(c)
			if len(c.Head) != len(cp.Head) {
				cp.Signature = nil // a malformed head cannot verify
			}
			v.cps = append(v.cps, &candidate{Checkpoint: cp})
		}
		after = cps[len(cps)-1].Seq
	}
	for _, c := range v.opts.Checkpoints {
		if c.Org == v.org {
			v.cps = append(v.cps, &candidate{Checkpoint: c, ext: true})
		}
	}
	sort.SliceStable(v.cps, func(i, j int) bool { return v.cps[i].Seq < v.cps[j].Seq })
	if len(v.cps) > 0 && len(v.keys) == 0 {
		return fmt.Errorf("%w: org %q has checkpoints; give the public key that verifies them", ErrNoKey, v.org)
	}
	return nil
}

// at returns the candidates at seq, starting the search at index i (the
// candidates are sorted); it returns the matching slice and the index
// after it.
func (v *verifier) at(i int, seq uint64) ([]*candidate, int) {
	for i < len(v.cps) && v.cps[i].Seq < seq {
		i++
	}
	j := i
	for j < len(v.cps) && v.cps[j].Seq == seq {
		j++
	}
	return v.cps[i:j], j
}

// vouchedByRetiredKey reports whether the entry at seq, whose MAC no MAC
// key verifies, is covered by a checkpoint that vouches for it instead:
// the first validly signed checkpoint at or after seq (from v.cps[i:], or
// at seq itself, just consumed) is signed by a trusted key whose MAC key
// is not among the MAC keys — an earlier signing key of this deployment
// (after a rotation), whose checkpointer checked the entry's MAC under its
// own key before signing. Whether that checkpoint agrees with the chain is
// checked when the chain reaches it. An entry that no checkpoint covers,
// or that a checkpoint of a key with a known MAC key covers, is not
// vouched for.
func (v *verifier) vouchedByRetiredKey(i int, seq uint64) bool {
	for i > 0 && v.cps[i-1].Seq >= seq {
		i--
	}
	for ; i < len(v.cps); i++ {
		c := v.cps[i]
		if c.Seq < seq || !v.valid(c) {
			continue
		}
		// The first valid checkpoint covering seq, and any other valid one
		// at the same seq.
		for j := i; j < len(v.cps) && v.cps[j].Seq == c.Seq; j++ {
			if v.valid(v.cps[j]) && !slices.ContainsFunc(v.opts.MACKeys, func(k MACKey) bool { return k.ID == v.cps[j].KeyID }) {
				return true
			}
		}
		return false
	}
	return false
}

func (v *verifier) run(ctx context.Context) error {
	if err := v.loadCheckpoints(ctx); err != nil {
		return err
	}
	prunes, err := v.r.ListAuditPrunes(ctx, v.org)
	if err != nil {
		return err
	}
	var pruned uint64
	for _, p := range prunes {
		pruned = max(pruned, p.Through)
	}
	v.rep.Pruned = pruned
	full := v.opts.From <= pruned+1

	// The starting point: the beginning (after a prune, its checkpoint),
	// or, for an incremental check, the newest valid checkpoint before
	// From.
	base := pruned
	var prev Hash
	if !full {
		for i := len(v.cps) - 1; i >= 0; i-- {
			c := v.cps[i]
			if c.Seq < v.opts.From && c.Seq > pruned && v.valid(c) {
				base, prev = c.Seq, c.Head
				v.rep.Anchored = c.Seq
				break
			}
		}
		full = base == pruned
	}
	if full {
		// Every checkpoint of the pruned prefix must still verify.
		for _, c := range v.cps {
			if c.Seq < pruned && !v.valid(c) {
				v.badSignature(c)
			}
		}
	}
	if base == pruned && pruned > 0 {
		cs, _ := v.at(0, pruned)
		anchored := false
		for _, c := range cs {
			if v.valid(c) {
				if anchored && c.Head != prev {
					v.problem(pruned, ProblemCheckpoint, "two validly signed checkpoints at %d disagree", pruned)
				}
				anchored, prev = true, c.Head
			} else {
				v.badSignature(c)
			}
		}
		if !anchored {
			v.problem(pruned+1, ProblemPrune, "entries through %d were pruned, but no validly signed checkpoint at %d anchors the rest", pruned, pruned)
		}
		v.rep.Anchored = pruned
	}
	start := base + 1
	v.rep.First = start
	v.rep.Last, v.rep.Head = base, prev // until entries follow

	pruneEntry := uint64(0) // the entry recording the newest prune
	keyed := len(v.opts.MACKeys) > 0
	unauth := uint64(0) // the first entry without a MAC that no checkpoint covers yet
	macd := false       // some entry carries a MAC
	expected, after := start, base
	ci := 0
	stop, complete := false, false
	// The next batch is read while this one is hashed.
	pctx, cancel := context.WithCancel(ctx)
	defer cancel()
	batches := v.prefetch(pctx, after)
	for !stop {
		var b batch
		select {
		case b = <-batches:
		case <-ctx.Done():
			return ctx.Err()
		}
		recs, macOK, err := b.recs, b.macOK, b.err
		if err != nil {
			return err
		}
		if len(recs) == 0 {
			complete = true
			break
		}
		for i := range recs {
			rec := &recs[i]
			if rec.Seq != expected {
				if rec.Seq > expected {
					v.problem(expected, ProblemGap, "entries %d to %d are missing", expected, rec.Seq-1)
				} else {
					v.problem(expected, ProblemReorder, "entry %d appears after entry %d", rec.Seq, expected-1)
				}
				stop = true
				break
			}
			h := v.enc.entryHash(prev, rec)
			if !bytes.Equal(h[:], rec.Hash) {
				v.classify(ctx, prev, rec)
				stop = true
				break
			}
			if rec.MAC == nil && keyed && unauth == 0 {
				unauth = rec.Seq
			}
			var cs []*candidate
			if ci < len(v.cps) && v.cps[ci].Seq <= rec.Seq {
				cs, ci = v.at(ci, rec.Seq)
			}
			for _, c := range cs {
				switch {
				case !v.valid(c):
					v.badSignature(c)
					stop = true
				case c.Head != h:
					v.problem(rec.Seq, ProblemCheckpoint, "the chain's hash at %d is %s, but the checkpoint signed %s (the log was rewritten)", rec.Seq, h, c.Head)
					stop = true
				default:
					v.rep.Anchored = rec.Seq
					unauth = 0
				}
			}
			if stop {
				break
			}
			if rec.MAC != nil {
				macd = true
				if keyed && !macOK[i] && !v.vouchedByRetiredKey(ci, rec.Seq) {
					v.problem(rec.Seq, ProblemForged, "entry %d's MAC does not verify: this deployment did not write it (inserted or rewritten with SQL)", rec.Seq)
					stop = true
					break
				}
			}
			if pruned > 0 && pruneEntry == 0 && rec.Action == PruneAction && prunedThrough(rec.Body) == pruned {
				pruneEntry = rec.Seq
			}
			prev = h
			expected++
			v.rep.Entries++
			v.rep.Last = rec.Seq
			v.rep.Head = h
		}
	}
	if complete {
		last := expected - 1
		for _, c := range v.cps[ci:] {
			if c.Seq <= last {
				continue
			}
			if v.valid(c) {
				v.problem(last+1, ProblemTruncated, "the log ends at %d, but a signed checkpoint shows it reached %d", last, c.Seq)
			} else {
				v.badSignature(c)
			}
		}
		if full && pruned > 0 && (pruneEntry == 0 || pruneEntry > v.rep.Anchored) {
			v.problem(start, ProblemPrune, "entries through %d were pruned, but no checkpointed %s entry records it", pruned, PruneAction)
		}
		if unauth != 0 {
			v.problem(unauth, ProblemForged, "entry %d has no MAC and no signed checkpoint covers it: this deployment did not write it (or wrote it before entries had MACs and never checkpointed it)", unauth)
		}
		if err := v.checkHead(ctx, last, macd); err != nil {
			return err
		}
		if last == 0 && pruned == 0 && slices.Contains(v.opts.Orgs, v.org) {
			v.problem(1, ProblemMissing, "org %q exists, but its log is gone (every org's log starts with its creation)", v.org)
		}
	}
	if v.bad != nil {
		return v.bad
	}
	return nil
}

type batch struct {
	recs  []store.AuditRecord
	macOK []bool // with MAC keys: each entry's MAC verifies over its stored hash
	err   error
}

// prefetch reads the org's entries after `after` in batches, one ahead of
// the consumer, and checks their MACs (with MAC keys), until an empty
// batch, an error or ctx's end.
func (v *verifier) prefetch(ctx context.Context, after uint64) <-chan batch {
	ch := make(chan batch, 1)
	var mc *macChecker
	if len(v.opts.MACKeys) > 0 {
		mc = newMACChecker(v.opts.MACKeys)
	}
	go func() {
		for {
			recs, err := v.r.ReadAudit(ctx, v.org, after, v.opts.Batch)
			var macOK []bool
			if mc != nil {
				macOK = make([]bool, len(recs))
				for i := range recs {
					macOK[i] = mc.ok(&recs[i])
				}
			}
			select {
			case ch <- batch{recs, macOK, err}:
			case <-ctx.Done():
				return
			}
			if err != nil || len(recs) == 0 {
				return
			}
			after = recs[len(recs)-1].Seq
		}
	}()
	return ch
}

// prunedThrough reads a prune entry's "through" (0 if unreadable).
func prunedThrough(raw []byte) uint64 {
	var b struct {
		Details pruneDetails `json:"details"`
	}
	if json.Unmarshal(raw, &b) != nil {
		return 0
	}
	return b.Details.Through
}

// classify names a hash mismatch at rec: an entry moved (reorder), an
// inserted entry with the rest renumbered, or a changed entry.
func (v *verifier) classify(ctx context.Context, prev Hash, rec *store.AuditRecord) {
	n := rec.Seq
	if len(rec.Hash) == 32 {
		window, err := v.r.ReadAudit(ctx, v.org, n, 256)
		if err == nil {
			for i := range window {
				x := window[i]
				moved := x
				moved.Seq = n
				if h := v.enc.entryHash(prev, &moved); bytes.Equal(h[:], x.Hash) {
					// The entry chained at n is stored at x.Seq.
					if x.Seq == n+1 {
						swapped := *rec
						swapped.Seq = n + 1
						if h2 := v.enc.entryHash(h, &swapped); !bytes.Equal(h2[:], rec.Hash) {
							v.problem(n, ProblemInserted, "entry %d does not chain; the entry chained at %d is stored at %d (an entry was inserted and the rest renumbered)", n, n, x.Seq)
							return
						}
					}
					v.problem(n, ProblemReorder, "entry %d does not chain; the entry chained at %d is stored at %d", n, n, x.Seq)
					return
				}
			}
		}
	}
	v.problem(n, ProblemHash, "entry %d's content or stored hash was changed (its hash does not follow from entry %d)", n, n-1)
}
