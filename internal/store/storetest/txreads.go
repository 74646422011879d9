package storetest

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// testTxReads: the reads a write transaction offers for catching an engine
// up and for reading what it replaces. Inside a Write, tx.ChangesSince and
// tx.LoadOrg see exactly the committed state at the base revision
// (Revision()-1) — the transaction's own changelog entries only appear
// once it commits — and tx.Committed() reads the committed state without
// the transaction's own writes. After the callback, the Tx refuses them.
func testTxReads(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	write(t, s, func(ctx context.Context, tx store.Tx) error {
		_, err := tx.CreateOrg(ctx, store.Org{ID: "a", Name: "A"})
		return err
	})
	write(t, s, func(ctx context.Context, tx store.Tx) error {
		_, err := tx.CreateNamespace(ctx, "a", "prod")
		return err
	})
	wantChanges := must(s.ChangesSince(ctx, 0, 0)).get(t)
	wantSnap := must(s.LoadOrg(ctx, "a")).get(t)

	var kept store.Tx
	write(t, s, func(ctx context.Context, tx store.Tx) error {
		kept = tx
		base := tx.Revision() - 1
		if got := must(tx.ChangesSince(ctx, 0, 0)).get(t); !cmp.Equal(got, wantChanges) {
			t.Errorf("tx.ChangesSince(0) differs from the committed changelog (-want +got):\n%s", cmp.Diff(wantChanges, got))
		}
		snap := must(tx.LoadOrg(ctx, "a")).get(t)
		if snap.Revision != base {
			t.Errorf("tx.LoadOrg revision = %d, want the base revision %d", snap.Revision, base)
		}
		if diff := cmp.Diff(wantSnap, snap); diff != "" {
			t.Errorf("tx.LoadOrg differs from LoadOrg at the base revision (-want +got):\n%s", diff)
		}
		wantErr(t, "tx.LoadOrg of a missing org", second(tx.LoadOrg(ctx, "nope")), store.ErrNotFound)

		if _, err := tx.CreateNamespace(ctx, "a", "dev"); err != nil {
			return err
		}
		if _, err := tx.UpdateOrg(ctx, store.Org{ID: "a", Name: "A2"}); err != nil {
			return err
		}
		// The transaction's own entries are not in its changelog reads.
		if got := must(tx.ChangesSince(ctx, base, 0)).get(t); len(got) != 0 {
			t.Errorf("tx.ChangesSince(base) = %d entries, want none before commit", len(got))
		}
		// Committed reads do not see the transaction's writes; the Tx does.
		c := tx.Committed()
		wantErr(t, "Committed().GetNamespace of the transaction's new namespace", second(c.GetNamespace(ctx, "a", "dev")), store.ErrNotFound)
		wantErr(t, "Committed().GetNamespace of a committed namespace", second(c.GetNamespace(ctx, "a", "prod")), nil)
		wantErr(t, "tx.GetNamespace of its own namespace", second(tx.GetNamespace(ctx, "a", "dev")), nil)
		if o := must(c.GetOrg(ctx, "a")).get(t); o.Name != "A" {
			t.Errorf("Committed().GetOrg name = %q, want the committed %q", o.Name, "A")
		}
		return nil
	})
	wantErr(t, "ChangesSince through a finished Tx", second(kept.ChangesSince(ctx, 0, 0)), store.ErrInvalid)
	wantErr(t, "LoadOrg through a finished Tx", second(kept.LoadOrg(ctx, "a")), store.ErrInvalid)
}
