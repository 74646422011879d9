package audit

import (
	"context"
	"fmt"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// Recorder records entries inside the caller's write transaction. An error
// means the entry is not written; the caller must return it from its
// store.Write callback so that the action fails and nothing it changed is
// kept. *Log implements it (with checkpoints); so does Append.
type Recorder interface {
	Record(ctx context.Context, tx store.Tx, e Entry) error
}

// Append is the plain Recorder: it appends entries without ever writing a
// checkpoint, and without MACs (it has no key): tests, tools. Verification
// with a MAC key reports its entries as forged unless a checkpoint covers
// them. Servers use a *Log.
var Append Recorder = appender{}

type appender struct{}

func (appender) Record(ctx context.Context, tx store.Tx, e Entry) error {
	_, _, err := appendEntry(ctx, tx, e, nil)
	return err
}

// Record appends e to its org's chain in tx, without a checkpoint. It sets
// the entry's sequence number, time (tx.Now()) and hash; e's own Seq, Time
// and Hash are ignored. Errors: ErrInvalid for a malformed entry, else the
// store's error (which, when it is not ErrInvalid or ErrConflict, has
// poisoned tx).
func Record(ctx context.Context, tx store.Tx, e Entry) error { return Append.Record(ctx, tx, e) }

// appendEntry appends e and returns it as written, with the chain's head
// as it stood before (its checkpoint is the newest). With mk, the entry
// and the org's recorded head carry their MACs.
func appendEntry(ctx context.Context, tx store.Tx, e Entry, mk *MACKey) (Entry, store.AuditHead, error) {
	if tx == nil {
		return Entry{}, store.AuditHead{}, fmt.Errorf("%w: no transaction", ErrInvalid)
	}
	if err := checkEntry(&e); err != nil {
		return Entry{}, store.AuditHead{}, err
	}
	body, ctxLen, err := encodeBodyContext(&e)
	if err != nil {
		return Entry{}, store.AuditHead{}, err
	}
	head, err := tx.AuditHead(ctx, e.Org)
	if err != nil {
		return Entry{}, store.AuditHead{}, fmt.Errorf("audit: record %s: %w", e.Action, err)
	}
	e.Seq = head.Seq + 1
	e.Time = tx.Now().UTC().Truncate(time.Microsecond)
	rec := store.AuditRecord{
		Org: e.Org, Seq: e.Seq, At: e.Time.UnixMicro(), Actor: e.Actor.Principal, Action: e.Action,
		Target: e.Target, Result: string(e.Result), Body: body,
		BodyEncoded: true,   // encodeBody's json.Marshal: the store need not parse it again
		ContextLen:  ctxLen, // a run of entries with this context stores it once
	}
	var prev Hash
	copy(prev[:], head.Hash)
	var enc encoder
	e.Hash = enc.entryHash(prev, &rec)
	rec.Hash = e.Hash[:]
	if mk != nil {
		rec.MAC = mk.EntryMAC(e.Hash)
		// The head's MAC only if this entry is still the org's head when
		// the store writes the head row: once per run of entries in a
		// transaction, not once per entry.
		k, org, seq, h := *mk, e.Org, e.Seq, e.Hash
		rec.HeadMACOf = func() []byte { return k.HeadMAC(org, seq, h) }
	}
	if err := tx.AppendAudit(ctx, rec); err != nil {
		return Entry{}, store.AuditHead{}, fmt.Errorf("audit: record %s: %w", e.Action, err)
	}
	return e, head, nil
}
