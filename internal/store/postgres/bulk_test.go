package postgres_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/internal/audit"
	"github.com/gatehouse-dev/gatehouse/internal/directory"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// TestBulkWriteAuditEntries writes batches on PostgreSQL that buffer
// fewer and more audit entries than a COPY takes (sqlcore.copyMinRows):
// every entry must be stored as appended — one per change, in order, the
// chain and every MAC verifying — whichever way it was sent.
func TestBulkWriteAuditEntries(t *testing.T) {
	ctx := context.Background()
	st := open(t)
	signer, err := audit.GenerateSigner()
	if err != nil {
		t.Fatal(err)
	}
	l, err := audit.New(st, audit.Options{Signer: signer, CheckpointInterval: 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	d, err := directory.Open(ctx, st, authz.New(), directory.Options{Audit: l, CatchUpTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	alice := directory.Actor{Principal: "user:alice"}
	if _, _, err := d.CreateUser(ctx, store.User{ID: "alice"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := d.CreateOrg(ctx, alice, directory.OrgSpec{ID: "acme"}); err != nil {
		t.Fatal(err)
	}
	head, err := st.AuditHead(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	var want []string // the targets of the batches' entries, in order
	for _, n := range []int{3, 250} {
		var cs []directory.WriteChange
		for i := range n {
			ns := fmt.Sprintf("ns%d-%d", n, i)
			cs = append(cs, directory.WriteChange{Op: directory.OpNamespaceCreate, Namespace: ns})
			want = append(want, "namespace.create namespace/"+ns)
		}
		if _, _, err := d.Write(ctx, alice, "acme", cs); err != nil {
			t.Fatalf("batch of %d: %v", n, err)
		}
	}
	recs, err := st.ReadAudit(ctx, "acme", head.Seq, store.MaxAuditBatch)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for i, r := range recs {
		if r.Seq != head.Seq+uint64(i)+1 {
			t.Fatalf("entry %d has seq %d, want %d", i, r.Seq, head.Seq+uint64(i)+1)
		}
		if len(r.MAC) == 0 || len(r.Hash) == 0 {
			t.Errorf("entry %d: hash %x, MAC %x: want both", r.Seq, r.Hash, r.MAC)
		}
		got = append(got, r.Action+" "+r.Target)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("entries of the batches (-want +got):\n%s", diff)
	}
	rep, err := audit.Verify(ctx, st, "acme", audit.VerifyOptions{Keys: l.VerifyKeys(), MACKeys: []audit.MACKey{signer.MACKey()}})
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if !rep.MACsChecked || rep.Last != head.Seq+253 {
		t.Errorf("Verify: MACs checked %v, last %d; want true, %d", rep.MACsChecked, rep.Last, head.Seq+253)
	}
}
