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
	d, alice := bulkOrg(t, st, directory.Options{Audit: l}, "")
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

// TestBulkWriteRows writes batches of users, bindings and shares on
// PostgreSQL and reads every row back as the single-change methods would
// have written it (it guarded a COPY of a batch's runs of identical
// INSERTs, evaluated and not kept: docs/benchmarks.md, branch writes6).
func TestBulkWriteRows(t *testing.T) {
	ctx := context.Background()
	st := open(t)
	d, alice := bulkOrg(t, st, directory.Options{}, "agent-platform")
	const n = 40
	var users, binds, res, shares []directory.WriteChange
	for i := range n {
		u := fmt.Sprintf("u%d", i)
		users = append(users, directory.WriteChange{Op: directory.OpUserCreate, User: directory.UserSpec{ID: u, Email: u + "@example.com", Role: "viewer"}})
		binds = append(binds, directory.WriteChange{Op: directory.OpBindingCreate, Binding: directory.BindingSpec{Principal: "user:" + u, Role: "builder", Scope: authz.Scope{Namespace: "ns"}}})
		res = append(res, directory.WriteChange{Op: directory.OpResourceCreate, Resource: directory.ResourceSpec{Namespace: "ns", Type: "chains", ID: fmt.Sprintf("c%d", i)}})
		shares = append(shares, directory.WriteChange{Op: directory.OpShareCreate, Principal: "user:" + u, Actions: []string{"run"},
			Ref: authz.ResourceRef{Namespace: "ns", Type: "chains", ID: fmt.Sprintf("c%d", i)}})
	}
	for _, b := range [][]directory.WriteChange{{{Op: directory.OpNamespaceCreate, Namespace: "ns"}}, users, binds, res, shares} {
		if _, _, err := d.Write(ctx, alice, "acme", b); err != nil {
			t.Fatalf("batch of %s: %v", b[0].Op, err)
		}
	}
	type row struct {
		Principal, Role string
		Actions         []string
		Scope           authz.Scope
		CreatedBy       string
	}
	var want, got []row
	for i := range n {
		u := fmt.Sprintf("user:u%d", i)
		want = append(want, row{u, "builder", nil, authz.Scope{Namespace: "ns"}, "user:alice"},
			row{u, "", []string{"run"}, authz.Scope{Namespace: "ns", Type: "chains", ID: fmt.Sprintf("c%d", i)}, "user:alice"})
		bs, _, err := st.ListBindings(ctx, "acme", store.BindingFilter{Principal: u, Namespace: "ns"}, store.Page{Size: 10})
		if err != nil {
			t.Fatal(err)
		}
		if len(bs) == 2 && bs[0].Role == "" { // bindings are listed by id: builder first
			bs[0], bs[1] = bs[1], bs[0]
		}
		for _, b := range bs {
			got = append(got, row{b.Principal, b.Role, b.Actions, b.Scope, b.CreatedBy})
		}
		if _, err := st.GetUser(ctx, fmt.Sprintf("u%d", i)); err != nil {
			t.Errorf("user u%d: %v", i, err)
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("bindings of the batches (-want +got):\n%s", diff)
	}
}

// bulkOrg opens a directory on st (with o) and makes the org acme, from
// template when not "", owned by alice.
func bulkOrg(t *testing.T, st store.Store, o directory.Options, template string) (*directory.Directory, directory.Actor) {
	t.Helper()
	ctx := context.Background()
	o.CatchUpTimeout = 10 * time.Second
	d, err := directory.Open(ctx, st, authz.New(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	alice := directory.Actor{Principal: "user:alice"}
	if _, _, err := d.CreateUser(ctx, store.User{ID: "alice"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := d.CreateOrg(ctx, alice, directory.OrgSpec{ID: "acme", Template: template}); err != nil {
		t.Fatal(err)
	}
	return d, alice
}
