package audit_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-dev/gatehouse/internal/audit"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// readCounter counts the audit rows its transactions read back.
type readCounter struct {
	store.Store
	rows *int
}

func (s readCounter) Write(ctx context.Context, fn func(store.Tx) error) (uint64, error) {
	return s.Store.Write(ctx, func(tx store.Tx) error { return fn(countingTx{tx, s.rows}) })
}

type countingTx struct {
	store.Tx
	rows *int
}

func (t countingTx) ReadAudit(ctx context.Context, org string, after uint64, limit int) ([]store.AuditRecord, error) {
	recs, err := t.Tx.ReadAudit(ctx, org, after, limit)
	*t.rows += len(recs)
	return recs, err
}

// TestCheckpointReadsOnlyEarlierEntries: signing a checkpoint inside a
// transaction reads back and authenticates the entries written before
// that transaction, not the ones this Log appended in it (a bulk write's
// thousand entries were each read back and hashed again). An entry
// appended in the transaction by anything but the Log is still read and
// refused.
func TestCheckpointReadsOnlyEarlierEntries(t *testing.T) {
	tests := []struct {
		name     string
		forge    bool // the second write appends a foreign entry after its second own one
		wantRows int  // audit rows the second write reads back
		wantCP   []uint64
	}{
		// Entry 1 is checkpointed at once (no checkpoint yet); the second
		// write's entry 11 is due (10 after it) and reads 2..4 only,
		// entry 21 is due and reads nothing (11..21 are its own).
		{"own entries", false, 3, []uint64{1, 11, 21}},
		// The foreign entry 7 breaks the run: the checkpoint due at 11
		// reads 2..7 and refuses to sign over 7 (and, refused, the org
		// is not tried again in the write).
		{"foreign entry", true, 6, []uint64{1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := ctxT(t)
			rows := 0
			s := readCounter{Store: openStore(t, fixturePath(t)), rows: &rows}
			l := newTestLog(t, s, audit.Options{Signer: testSigner(t), CheckpointEvery: 10, CheckpointInterval: time.Hour})
			write := func(n int, forgeAfter int) {
				t.Helper()
				if _, err := s.Write(ctx, func(tx store.Tx) error {
					for i := range n {
						if err := l.Record(ctx, tx, fixtureEntry("acme", i)); err != nil {
							return err
						}
						if i+1 == forgeAfter {
							h, err := tx.AuditHead(ctx, "acme")
							if err != nil {
								return err
							}
							sum := sha256.Sum256([]byte("forged"))
							if err := tx.AppendAudit(ctx, store.AuditRecord{Org: "acme", Seq: h.Seq + 1, At: h.At, Actor: "user:mallory",
								Action: "x.y", Target: "x/1", Result: "success", Body: []byte(`{}`), Hash: sum[:], MAC: bytes.Repeat([]byte{1}, 32)}); err != nil {
								return err
							}
						}
					}
					return nil
				}); err != nil {
					t.Fatal(err)
				}
			}
			write(4, 0)
			rows = 0
			forgeAfter := 0
			if tc.forge {
				forgeAfter = 2
			}
			write(17, forgeAfter)
			if rows != tc.wantRows {
				t.Errorf("the second write read back %d audit rows, want %d", rows, tc.wantRows)
			}
			wantCheckpoints(t, s, tc.wantCP)
		})
	}
}

// TestRecordRefusesMalformedObjects: an entry whose before, after or
// details is not JSON is refused, names the field, and writes nothing —
// checked once, by the body's encoding (Log and plain Record) or before
// the decision log's group commit.
// wantCheckpoints fails t unless acme's checkpoints in st are at want.
func wantCheckpoints(t *testing.T, st store.Store, want []uint64) {
	t.Helper()
	cps, err := st.ListAuditCheckpoints(ctxT(t), "acme", 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	var got []uint64
	for _, c := range cps {
		got = append(got, c.Seq)
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("checkpoints (-want +got):\n%s", d)
	}
}

func TestRecordRefusesMalformedObjects(t *testing.T) {
	tests := []struct {
		name string
		set  func(*audit.Entry)
		want string
	}{
		{"before", func(e *audit.Entry) { e.Before = []byte(`{"v":`) }, "entry before is not JSON"},
		{"after", func(e *audit.Entry) { e.After = []byte(`[1,`) }, "entry after is not JSON"},
		{"details", func(e *audit.Entry) { e.Details = []byte(`{]`) }, "entry details is not JSON"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := ctxT(t)
			s := openStore(t, fixturePath(t))
			l := newTestLog(t, s, audit.Options{Signer: testSigner(t)})
			e := fixtureEntry("acme", 0)
			tc.set(&e)
			for _, r := range []audit.Recorder{l, audit.Append} {
				_, err := s.Write(ctx, func(tx store.Tx) error { return r.Record(ctx, tx, e) })
				if !errors.Is(err, audit.ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
					t.Errorf("Record(%T) = %v, want ErrInvalid naming %q", r, err, tc.want)
				}
			}
			if h, err := s.AuditHead(ctx, "acme"); err != nil || h.Seq != 0 {
				t.Errorf("after the refusals the log is at %d (%v), want empty", h.Seq, err)
			}
		})
	}
}

// TestSealRun: a transaction's run of at least MinSealRun entries of an
// org, appended by the Log, is checkpointed at its end without reading it
// back; entries of earlier transactions not yet covered are read back and
// verified first, and a foreign one among them is refused (no checkpoint,
// no error). A shorter run, a run that a foreign entry ends, and a Log
// without a signer checkpoint nothing.
func TestSealRun(t *testing.T) {
	n := audit.MinSealRun
	tests := []struct {
		name      string
		noSigner  bool
		earlier   int  // entries of a first, unsealed transaction after entry 1
		forgeEarl bool // the first transaction ends with a foreign entry
		run       int  // entries the sealed transaction appends
		forgeLast bool // the sealed transaction ends with a foreign entry
		wantRows  int  // audit rows the sealed transaction reads back
		wantCP    []uint64
		wantAnch  uint64 // audit.Verify's Anchored afterwards
	}{
		{name: "a run", run: n, wantCP: []uint64{1, uint64(1 + n)}, wantAnch: uint64(1 + n)},
		{name: "a short run", run: n - 1, wantCP: []uint64{1}, wantAnch: 1},
		{name: "earlier entries", earlier: 5, run: n, wantRows: 5, wantCP: []uint64{1, uint64(6 + n)}, wantAnch: uint64(6 + n)},
		{name: "a foreign earlier entry", earlier: 5, forgeEarl: true, run: n, wantRows: 6, wantCP: []uint64{1}, wantAnch: 1},
		{name: "a run a foreign entry ends", run: n, forgeLast: true, wantCP: []uint64{1}, wantAnch: 1},
		{name: "no signer", noSigner: true, run: n, wantAnch: 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := ctxT(t)
			rows := 0
			s := readCounter{Store: openStore(t, fixturePath(t)), rows: &rows}
			opts := audit.Options{Signer: testSigner(t), CheckpointEvery: 1000, CheckpointInterval: time.Hour}
			if tc.noSigner {
				opts.Signer = nil
			}
			l := newTestLog(t, s, opts)
			forge := func(tx store.Tx) error {
				h, err := tx.AuditHead(ctx, "acme")
				if err != nil {
					return err
				}
				sum := sha256.Sum256([]byte("forged"))
				return tx.AppendAudit(ctx, store.AuditRecord{Org: "acme", Seq: h.Seq + 1, At: h.At, Actor: "user:mallory",
					Action: "x.y", Target: "x/1", Result: "success", Body: []byte(`{}`), Hash: sum[:], MAC: bytes.Repeat([]byte{1}, 32)})
			}
			write := func(entries int, forged, seal bool) {
				t.Helper()
				if _, err := s.Write(ctx, func(tx store.Tx) error {
					for i := range entries {
						if err := l.Record(ctx, tx, fixtureEntry("acme", i)); err != nil {
							return err
						}
					}
					if forged {
						if err := forge(tx); err != nil {
							return err
						}
					}
					if seal {
						return l.SealRun(ctx, tx, "acme")
					}
					return nil
				}); err != nil {
					t.Fatal(err)
				}
			}
			write(1, false, false) // entry 1: checkpointed at once (the org had none)
			if tc.earlier > 0 {
				write(tc.earlier, tc.forgeEarl, false)
			}
			rows = 0
			write(tc.run, tc.forgeLast, true)
			if rows != tc.wantRows {
				t.Errorf("the sealed write read back %d audit rows, want %d", rows, tc.wantRows)
			}
			wantCheckpoints(t, s, tc.wantCP)
			if tc.forgeEarl || tc.forgeLast {
				return // Verify names the forged entry; the checkpoints above are the point
			}
			rep, err := audit.Verify(ctx, s, "acme", audit.VerifyOptions{Keys: []audit.PublicKey{testSigner(t).Public()}})
			if err != nil {
				t.Fatal(err)
			}
			if rep.Anchored != tc.wantAnch {
				t.Errorf("Verify: anchored through %d, want %d (%+v)", rep.Anchored, tc.wantAnch, rep)
			}
		})
	}
}
