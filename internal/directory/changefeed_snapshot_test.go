package directory_test

import (
	"context"
	"iter"
	"testing"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/authz/feed"
	"github.com/gatehouse-dev/gatehouse/internal/directory"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// aheadStore's first StreamOrg says its org is at a revision the engine
// has not reached (one beyond the store's own), and once the reader
// breaks off, makes that revision real with write; later calls are the
// store's own.
type aheadStore struct {
	store.Store
	calls int
	write func()
}

func (s *aheadStore) StreamOrg(ctx context.Context, org string) iter.Seq2[store.OrgRow, error] {
	s.calls++
	if s.calls > 1 {
		return s.Store.StreamOrg(ctx, org)
	}
	return func(yield func(store.OrgRow, error) bool) {
		for r, err := range s.Store.StreamOrg(ctx, org) {
			if r.Header != nil {
				h := *r.Header
				h.Revision++
				r.Header = &h
			}
			if !yield(r, err) {
				go s.write()
				return
			}
		}
	}
}

// TestSnapshotWaitsForTheEngine: a snapshot read at a revision the engine
// has not reached hands nothing over; Snapshot ends that read, waits for
// the engine outside it, and reads again — the header and rows sent are
// the second read's, checked at its revision.
func TestSnapshotWaitsForTheEngine(t *testing.T) {
	ctx := ctxT(t)
	alice := user("alice")
	as := &aheadStore{Store: openSQLite(t)}
	d := openDir(t, as, directory.Options{})
	mustUsers(t, d, "alice")
	ok(t, "create acme", third(d.CreateOrg(ctx, alice, directory.OrgSpec{ID: "acme"})))
	wrote := make(chan uint64, 1)
	as.write = func() {
		_, rev, err := d.CreateBinding(context.Background(), alice, "acme", directory.BindingSpec{Principal: "user:alice", Role: "viewer", Scope: authz.Scope{Namespace: "default"}})
		if err != nil {
			t.Errorf("the write that makes the revision real: %v", err)
		}
		wrote <- rev
	}
	var headers []feed.Header
	bindings := 0
	err := d.Snapshot(ctx, alice, "acme", func(h feed.Header) error {
		headers = append(headers, h)
		return nil
	}, func(c *feed.Change) error {
		if len(headers) == 0 {
			t.Errorf("a %s before the header", c.Op)
		}
		if c.Op == feed.OpPutBinding {
			bindings++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	rev := <-wrote
	if as.calls != 2 || len(headers) != 1 {
		t.Fatalf("%d reads, %d headers; want 2 reads (the first abandoned) and 1 header", as.calls, len(headers))
	}
	if h := headers[0]; h.Revision != rev || h.Bindings != 2 || bindings != 2 {
		t.Errorf("header at revision %d with %d bindings, %d sent; want the second read's: revision %d, 2 bindings (the owner's and the new one)",
			h.Revision, h.Bindings, bindings, rev)
	}
}
