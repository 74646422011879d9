package directory_test

import (
	"context"
	"path/filepath"
	"sync"
	"testing"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/internal/directory"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// readBackStore records the revisions of the changes the follower reads
// from the changelog (outside a write transaction).
type readBackStore struct {
	store.Store
	mu   sync.Mutex
	read map[uint64]int
}

func (s *readBackStore) ChangesSince(ctx context.Context, after uint64, limit int) ([]store.Change, error) {
	cs, err := s.Store.ChangesSince(ctx, after, limit)
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range cs {
		s.read[c.Revision]++
	}
	return cs, err
}

func (s *readBackStore) readBack(rev uint64) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.read[rev]
}

// TestWriteAppliesOwnChanges: the engine shows a write's changes without
// the follower reading them back from the changelog (the writer hands them
// over from memory), while another process on the same database still
// follows them through the changelog.
func TestWriteAppliesOwnChanges(t *testing.T) {
	t.Parallel()
	ctx := ctxT(t)
	path := filepath.Join(t.TempDir(), "own.db")
	st := &readBackStore{Store: openSQLiteAt(t, path), read: map[uint64]int{}}
	d := openDir(t, st, directory.Options{CatchUpTimeout: guard})
	mustUsers(t, d, "alice", "bob")
	ok(t, "create acme", third(d.CreateOrg(ctx, alice, directory.OrgSpec{ID: "acme"})))
	ok(t, "namespace", third(d.CreateNamespace(ctx, alice, "acme", "ops")))
	_, rev, err := d.Write(ctx, alice, "acme", []directory.WriteChange{
		{Op: directory.OpMemberAdd, User: directory.UserSpec{ID: "bob", Role: "viewer"}},
		{Op: directory.OpBindingCreate, Binding: directory.BindingSpec{Principal: "user:bob", Role: "builder", Scope: authz.Scope{Namespace: "ops"}}},
	})
	ok(t, "Write", err)
	if d.Revision() < rev {
		t.Fatalf("engine at %d after the write at %d returned", d.Revision(), rev)
	}
	dec, err := d.Check(ctx, bob, authz.Request{Org: "acme", Principal: "user:bob", Namespace: "ops", ResourceType: "chains", ResourceID: "c1", Action: "run"}, rev)
	ok(t, "Check", err)
	if !dec.Allowed {
		t.Errorf("bob, builder on ops since revision %d, may not run a chain there", rev)
	}
	if n := st.readBack(rev); n != 0 {
		t.Errorf("the follower read %d changes of the directory's own revision %d back from the changelog", n, rev)
	}

	other := openDir(t, openSQLiteAt(t, path), directory.Options{CatchUpTimeout: guard})
	ok(t, "other process catches up", other.WaitFor(ctx, rev))
	dec, err = other.Check(ctx, bob, authz.Request{Org: "acme", Principal: "user:bob", Namespace: "ops", ResourceType: "chains", ResourceID: "c1", Action: "run"}, rev)
	ok(t, "Check in the other process", err)
	if !dec.Allowed {
		t.Errorf("the other process does not see bob's binding of revision %d", rev)
	}
}
