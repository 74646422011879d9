package audit_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/audit"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// writeCounter counts the write transactions (the store's write lock)
// made through it.
type writeCounter struct {
	store.Store
	writes atomic.Int64
}

func (w *writeCounter) Write(ctx context.Context, fn func(tx store.Tx) error) (uint64, error) {
	w.writes.Add(1)
	return w.Store.Write(ctx, fn)
}

// TestCheckpointDueLocksOnlyDueOrgs: Run's CheckpointDue takes the write
// lock for an org only when a checkpoint is due (entries after a
// checkpoint older than the interval), so that a tick over a hundred
// idle orgs does not queue a hundred transactions behind, and in front
// of, a bulk write. It still signs the due ones.
func TestCheckpointDueLocksOnlyDueOrgs(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			d := b.open(t)
			ctx := ctxT(t)
			l := writerLog(t, d.st, 10)
			// acme: checkpointed at its head; beta: checkpointed at 3,
			// entries 4 and 5 after it.
			writeEntries(t, d.st, l, "acme", 1, 5)
			writeEntries(t, d.st, l, "beta", 1, 3)
			for _, org := range []string{"acme", "beta"} {
				if _, err := l.Checkpoint(ctx, org, true); err != nil {
					t.Fatal(err)
				}
			}
			writeEntries(t, d.st, l, "beta", 4, 5)
			for _, tc := range []struct {
				name       string
				interval   time.Duration
				wantWrites int64
				wantBeta   uint64 // beta's newest checkpoint after the call
			}{
				{"nothing due (the checkpoints are recent)", time.Hour, 0, 3},
				{"beta due", time.Microsecond, 1, 5},
				{"nothing due (at their heads)", time.Microsecond, 0, 5},
			} {
				wc := &writeCounter{Store: d.st}
				due := newTestLog(t, wc, audit.Options{Signer: testSigner(t), CheckpointInterval: tc.interval})
				if err := due.CheckpointDue(ctx); err != nil {
					t.Fatalf("%s: CheckpointDue: %v", tc.name, err)
				}
				if got := wc.writes.Load(); got != tc.wantWrites {
					t.Errorf("%s: %d write transactions, want %d", tc.name, got, tc.wantWrites)
				}
				for org, want := range map[string]uint64{"acme": 5, "beta": tc.wantBeta} {
					h, err := d.st.AuditHead(ctx, org)
					if err != nil {
						t.Fatal(err)
					}
					if h.Checkpoint.Seq != want {
						t.Errorf("%s: %s's newest checkpoint at %d, want %d", tc.name, org, h.Checkpoint.Seq, want)
					}
				}
			}
		})
	}
}
