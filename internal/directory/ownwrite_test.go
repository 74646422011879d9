package directory_test

import (
	"context"
	"path/filepath"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/internal/directory"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// hidingStore hides from the follower (ChangesSince, outside a write
// transaction) every change at or after revision from, once from is set:
// an engine that reaches such a revision got its changes some other way.
type hidingStore struct {
	store.Store
	from atomic.Uint64
}

func (s *hidingStore) ChangesSince(ctx context.Context, after uint64, limit int) ([]store.Change, error) {
	cs, err := s.Store.ChangesSince(ctx, after, limit)
	if from := s.from.Load(); from != 0 {
		cs = slices.DeleteFunc(cs, func(c store.Change) bool { return c.Revision >= from })
	}
	return cs, err
}

// TestWriteAppliesOwnChanges: the engine shows a write's changes without
// the follower reading them back from the changelog (the writer hands them
// over from memory), while another process on the same database still
// follows them through the changelog. The follower is kept from seeing the
// write's revision at all, so the engine can only have reached it by the
// hand-over. (Counting what the follower reads instead would be racy: a
// poll that began before the commit may read the new revision and then
// find the engine already there, and drop it.)
func TestWriteAppliesOwnChanges(t *testing.T) {
	t.Parallel()
	ctx := ctxT(t)
	path := filepath.Join(t.TempDir(), "own.db")
	st := &hidingStore{Store: openSQLiteAt(t, path)}
	d := openDir(t, st, directory.Options{CatchUpTimeout: guard})
	mustUsers(t, d, "alice", "bob")
	ok(t, "create acme", third(d.CreateOrg(ctx, alice, directory.OrgSpec{ID: "acme"})))
	ok(t, "namespace", third(d.CreateNamespace(ctx, alice, "acme", "ops")))
	st.from.Store(d.Revision() + 1)
	_, rev, err := d.Write(ctx, alice, "acme", []directory.WriteChange{
		{Op: directory.OpMemberAdd, User: directory.UserSpec{ID: "bob", Role: "viewer"}},
		{Op: directory.OpBindingCreate, Binding: directory.BindingSpec{Principal: "user:bob", Role: "builder", Scope: authz.Scope{Namespace: "ops"}}},
	})
	ok(t, "Write", err)
	if rev != st.from.Load() {
		t.Fatalf("the write committed revision %d, want the next one, %d", rev, st.from.Load())
	}
	if d.Revision() < rev {
		t.Fatalf("engine at %d after the write at %d returned, with the follower unable to read it", d.Revision(), rev)
	}
	dec, err := d.Check(ctx, bob, authz.Request{Org: "acme", Principal: "user:bob", Namespace: "ops", ResourceType: "chains", ResourceID: "c1", Action: "run"}, rev)
	ok(t, "Check", err)
	if !dec.Allowed {
		t.Errorf("bob, builder on ops since revision %d, may not run a chain there", rev)
	}

	other := openDir(t, openSQLiteAt(t, path), directory.Options{CatchUpTimeout: guard})
	ok(t, "other process catches up", other.WaitFor(ctx, rev))
	dec, err = other.Check(ctx, bob, authz.Request{Org: "acme", Principal: "user:bob", Namespace: "ops", ResourceType: "chains", ResourceID: "c1", Action: "run"}, rev)
	ok(t, "Check in the other process", err)
	if !dec.Allowed {
		t.Errorf("the other process does not see bob's binding of revision %d", rev)
	}
}
