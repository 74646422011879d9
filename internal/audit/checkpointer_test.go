package audit_test

import (
	"context"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-dev/gatehouse/internal/audit"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// Checkpoints behind the decision log (checkpointer.go): an entry written
// through a DecisionLog that makes a checkpoint due is answered without
// the checkpoint being signed in its transaction; a background
// checkpointer signs it at exactly that entry once the transaction has
// committed.

// ckptDone is one background checkpoint as the finished hook saw it.
type ckptDone struct {
	Org   string
	Wrote bool
	Err   error
}

// ckptRig is a DecisionLog over a keyed Log (a checkpoint every `every`
// entries, never by time) whose checkpointer reports to the test: at
// at (an entry's seq), authenticated runs onAuth once, between the
// checkpointer's authentication and its write transaction, after
// recordDue has looked at the checkpoints (gate); every finished
// checkpoint is sent on done.
type ckptRig struct {
	d    writerDB
	l    *audit.Log
	dl   *audit.DecisionLog
	done chan ckptDone
	gate chan struct{} // closed by recordDue
}

func newCkptRig(t *testing.T, b backend, every uint64, at uint64, onAuth func()) *ckptRig {
	t.Helper()
	d := b.open(t)
	l := writerLog(t, d.st, every)
	dl := audit.NewDecisionLog(d.st, l, audit.DecisionLogOptions{})
	t.Cleanup(dl.Close)
	r := &ckptRig{d: d, l: l, dl: dl, done: make(chan ckptDone, 16), gate: make(chan struct{})}
	once := false
	ok := audit.SetCheckpointHooks(dl, func(org string, seq uint64) {
		if seq == at && !once && onAuth != nil {
			once = true // the hook runs on the checkpointer's goroutine, one checkpoint per org at a time
			<-r.gate
			onAuth()
		}
	}, func(org string, wrote bool, err error) {
		r.done <- ckptDone{org, wrote, err}
	})
	if !ok {
		t.Fatal("the decision log over a keyed Log has no background checkpointer")
	}
	return r
}

// verify verifies acme's log with the public key and the MAC key, as the
// server does.
func (r *ckptRig) verify(t *testing.T) (*audit.VerifyError, []audit.Report) {
	t.Helper()
	reps, err := audit.VerifyAll(ctxT(t), r.d.st, audit.VerifyOptions{
		Keys: []audit.PublicKey{testSigner(t).Public()}, MACKeys: []audit.MACKey{testSigner(t).MACKey()},
		Orgs: []string{"acme"},
	})
	return asVerifyError(t, err), reps
}

// record records one decision entry through the DecisionLog.
func (r *ckptRig) record(t *testing.T, i int) {
	t.Helper()
	if err := r.dl.Record(ctxT(t), callEntry(i)); err != nil {
		t.Fatalf("Record(%d): %v", i, err)
	}
}

// newest is the seq of acme's newest checkpoint.
func (r *ckptRig) newest(t *testing.T) uint64 {
	t.Helper()
	h, err := r.d.st.AuditHead(ctxT(t), "acme")
	if err != nil {
		t.Fatal(err)
	}
	return h.Checkpoint.Seq
}

// checkpoints lists the seqs of acme's checkpoints.
func (r *ckptRig) checkpoints(t *testing.T) []uint64 {
	t.Helper()
	cps, err := r.d.st.ListAuditCheckpoints(ctxT(t), "acme", 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	var out []uint64
	for _, c := range cps {
		out = append(out, c.Seq)
	}
	return out
}

// prime writes entries 1 to last through the Log in one administrative
// transaction: a checkpoint at 1 (signed inline), none due after it.
func (r *ckptRig) prime(t *testing.T, last int) {
	t.Helper()
	writeEntries(t, r.d.st, r.l, "acme", 1, last)
	if n := r.newest(t); n != 1 {
		t.Fatalf("newest checkpoint after %d entries = %d, want 1", last, n)
	}
}

// recordDue records entry i, which makes a checkpoint due, through the
// DecisionLog: when Record returns, the checkpoint is not signed (it was
// not in the entry's transaction).
func (r *ckptRig) recordDue(t *testing.T, i int) {
	t.Helper()
	r.record(t, i)
	n := r.newest(t)
	close(r.gate) // the checkpointer, held at its hook, goes on
	if n != 1 {
		t.Fatalf("newest checkpoint when Record(%d) returned = %d, want 1 (not signed in the entry's transaction)", i, n)
	}
}

// TestDecisionLogSignsCheckpointsAfterCommit: the 1,001st entry (the
// 1,000th after the checkpoint at 1) makes a checkpoint due; Record
// returns with the checkpoint not signed (the checkpointer is held
// between its two steps), and it appears at exactly that entry once let
// go, verifying with the keys.
func TestDecisionLogSignsCheckpointsAfterCommit(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			reached, release := make(chan struct{}), make(chan struct{})
			r := newCkptRig(t, b, 1000, 1001, func() { close(reached); <-release })
			r.prime(t, 1000)
			r.recordDue(t, 1001)
			<-reached
			close(release)
			if got := <-r.done; got.Err != nil || !got.Wrote {
				t.Errorf("background checkpoint = %+v, want written", got)
			}
			if diff := cmp.Diff([]uint64{1, 1001}, r.checkpoints(t)); diff != "" {
				t.Errorf("checkpoints (-want +got):\n%s", diff)
			}
			ve, reps := r.verify(t)
			if ve != nil {
				t.Fatalf("verify: %v", ve)
			}
			if reps[0].Org != "acme" || reps[0].Anchored != 1001 {
				t.Errorf("verify report = %+v, want acme anchored at 1001", reps[0])
			}
		})
	}
}

// TestBackgroundCheckpointNeverVouchesForTampering: an entry rewritten
// between the checkpointer's authentication and its signing is never
// vouched for: a rewritten earlier entry is reported by verification
// (the checkpoint signs the hash computed from the authenticated content,
// not the rewritten one); a rewritten hash of the entry to sign is
// refused by the signer, which then signs nothing.
func TestBackgroundCheckpointNeverVouchesForTampering(t *testing.T) {
	cases := []struct {
		name       string
		tamper     string
		wantWrote  bool
		wantRefuse bool
		wantCps    []uint64
	}{
		{"earlier entry's content", `UPDATE audit_entries SET actor = 'user:mallory' WHERE org = 'acme' AND seq = 10`, true, false, []uint64{1, 21}},
		{"signed entry's hash", `UPDATE audit_entries SET hash = $1 WHERE org = 'acme' AND seq = 21`, false, true, []uint64{1}},
	}
	for _, b := range backends() {
		for _, tc := range cases {
			t.Run(b.name+"/"+tc.name, func(t *testing.T) {
				var r *ckptRig
				r = newCkptRig(t, b, 20, 21, func() {
					if tc.wantRefuse {
						r.d.exec(t, tc.tamper, make([]byte, 32))
					} else {
						r.d.exec(t, tc.tamper)
					}
				})
				r.prime(t, 20)
				r.recordDue(t, 21)
				got := <-r.done
				var ve *audit.VerifyError
				if got.Wrote != tc.wantWrote || errors.As(got.Err, &ve) != tc.wantRefuse || (!tc.wantRefuse && got.Err != nil) {
					t.Errorf("background checkpoint = %+v, want wrote %v, refused %v", got, tc.wantWrote, tc.wantRefuse)
				}
				if tc.wantRefuse && (ve.Seq != 21 || ve.Problem != audit.ProblemHash) {
					t.Errorf("refusal = %v, want entry 21's hash", ve)
				}
				if diff := cmp.Diff(tc.wantCps, r.checkpoints(t)); diff != "" {
					t.Errorf("checkpoints (-want +got):\n%s", diff)
				}
				ve, _ = r.verify(t)
				wantSeq := uint64(10)
				if tc.wantRefuse {
					wantSeq = 21
				}
				if ve == nil || ve.Seq != wantSeq {
					t.Errorf("verify = %v, want a problem at entry %d", ve, wantSeq)
				}
			})
		}
	}
}

// TestBackgroundCheckpointYieldsToAnotherSigner: a checkpoint signed by
// someone else while the background one was between its steps: at or
// past its entry, the background one signs nothing; short of it, it
// starts over from that checkpoint and signs its entry. The log verifies
// either way.
func TestBackgroundCheckpointYieldsToAnotherSigner(t *testing.T) {
	cases := []struct {
		name      string
		other     func(t *testing.T, r *ckptRig)
		wantWrote bool
		wantCps   []uint64
	}{
		{"at its entry", func(t *testing.T, r *ckptRig) {
			if wrote, err := r.l.Checkpoint(context.Background(), "acme", true); err != nil || !wrote {
				t.Errorf("Checkpoint = %v, %v", wrote, err)
			}
		}, false, []uint64{1, 21}},
		{"short of its entry", func(t *testing.T, r *ckptRig) {
			rec := r.d.record(t, "acme", 15)
			var h audit.Hash
			copy(h[:], rec.Hash)
			c := testSigner(t).SignCheckpoint("acme", 15, h, rec.At+1)
			if _, err := r.d.st.Write(context.Background(), func(tx store.Tx) error {
				return tx.AppendAuditCheckpoint(context.Background(), store.AuditCheckpoint{
					Org: "acme", Seq: 15, Head: h[:], At: c.At, KeyID: c.KeyID, Signature: c.Signature})
			}); err != nil {
				t.Errorf("append checkpoint 15: %v", err)
			}
		}, true, []uint64{1, 15, 21}},
	}
	for _, b := range backends() {
		for _, tc := range cases {
			t.Run(b.name+"/"+tc.name, func(t *testing.T) {
				var r *ckptRig
				r = newCkptRig(t, b, 20, 21, func() { tc.other(t, r) })
				r.prime(t, 20)
				r.recordDue(t, 21)
				if got := <-r.done; got.Err != nil || got.Wrote != tc.wantWrote {
					t.Errorf("background checkpoint = %+v, want wrote %v and no error", got, tc.wantWrote)
				}
				if diff := cmp.Diff(tc.wantCps, r.checkpoints(t)); diff != "" {
					t.Errorf("checkpoints (-want +got):\n%s", diff)
				}
				if ve, _ := r.verify(t); ve != nil {
					t.Errorf("verify: %v", ve)
				}
			})
		}
	}
}

// TestDecisionLogCloseWaitsForItsCheckpoint: Close with a checkpoint
// under way returns only once it is done with (no goroutine left
// behind), and the checkpoint is written.
func TestDecisionLogCloseWaitsForItsCheckpoint(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			reached, release := make(chan struct{}), make(chan struct{})
			r := newCkptRig(t, b, 20, 21, func() { close(reached); <-release })
			r.prime(t, 20)
			r.recordDue(t, 21)
			<-reached
			closed := make(chan struct{})
			go func() {
				r.dl.Close()
				close(closed)
			}()
			select {
			case <-closed:
				t.Fatal("Close returned while its checkpoint was under way")
			default:
			}
			close(release)
			<-closed
			select {
			case got := <-r.done:
				if got.Err != nil || !got.Wrote {
					t.Errorf("checkpoint under way at Close = %+v, want written", got)
				}
			default:
				t.Fatal("Close returned before its checkpoint finished")
			}
			if err := r.dl.Record(ctxT(t), callEntry(22)); !errors.Is(err, audit.ErrClosed) {
				t.Errorf("Record after Close = %v, want ErrClosed", err)
			}
			if diff := cmp.Diff([]uint64{1, 21}, r.checkpoints(t)); diff != "" {
				t.Errorf("checkpoints (-want +got):\n%s", diff)
			}
		})
	}
}

// TestAdministrativeRecordStillSignsInline: an entry the Log records in
// another transaction (an administrative write) signs its due checkpoint
// in that transaction, a DecisionLog over the same Log or not.
func TestAdministrativeRecordStillSignsInline(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			r := newCkptRig(t, b, 20, 0, nil)
			r.prime(t, 20)
			writeEntries(t, r.d.st, r.l, "acme", 21, 21)
			if diff := cmp.Diff([]uint64{1, 21}, r.checkpoints(t)); diff != "" {
				t.Errorf("checkpoints when the write returned (-want +got):\n%s", diff)
			}
			select {
			case got := <-r.done:
				t.Errorf("a background checkpoint ran for an administrative write: %+v", got)
			default:
			}
		})
	}
}
