package authz

import "testing"

// TestOrgEntriesCarryHolderSlots: after a load and after every Apply, an
// org of one holder shard has its entry in the snapshot carry that
// shard's slot array, so a check reads the principal's slot without
// waiting for the org (orgEntry, resolveHinted); an entry without it would
// still decide right, only slower, so nothing else would notice.
func TestOrgEntriesCarryHolderSlots(t *testing.T) {
	e, _ := newFixture(t)
	steps := []struct {
		name string
		ch   *Change
	}{
		{"loaded", nil},
		{"principal added", &Change{Org: "acme", Op: OpPutPrincipal, Principal: Principal{ID: "user:newcomer"}}},
		{"binding added", &Change{Org: "acme", Op: OpPutBinding, Binding: Binding{ID: "b-new", Principal: "user:newcomer", Role: "viewer", Scope: Scope{Namespace: "prod"}}}},
		{"principal deleted", &Change{Org: "acme", Op: OpDeletePrincipal, ID: "user:bob"}},
	}
	for _, s := range steps {
		if s.ch != nil {
			if err := e.Apply(e.Revision()+1, *s.ch); err != nil {
				t.Fatalf("%s: %v", s.name, err)
			}
		}
		ent, ok := e.cur.Load().orgs.get("acme")
		if !ok {
			t.Fatalf("%s: org missing", s.name)
		}
		if len(ent.o.holders.shards) != 1 {
			t.Fatalf("%s: %d holder shards: the fixture no longer tests the one-shard entry", s.name, len(ent.o.holders.shards))
		}
		if ent.sameHolders() == nil {
			t.Errorf("%s: the org's entry does not carry its holders' slot array", s.name)
		}
	}
}

// TestCheckIgnoresStaleHolderSlots: an org entry whose copy of the
// holders' slot array is not the org's own (a writer that forgot to
// refresh it) must not be read: the check decides from the org. Here the
// entry carries the slots of a revision where user:bob still held his
// bindings; the org no longer has him.
func TestCheckIgnoresStaleHolderSlots(t *testing.T) {
	e, _ := newFixture(t)
	req := mkReq("user:bob", "chains:run", "prod/chains/x")
	if !e.Check(&req).Allowed {
		t.Fatal("fixture: bob may not run chains")
	}
	old, _ := e.cur.Load().orgs.get("acme")
	if err := e.Apply(e.Revision()+1, Change{Org: "acme", Op: OpDeletePrincipal, ID: "user:bob"}); err != nil {
		t.Fatal(err)
	}
	if e.Check(&req).Allowed {
		t.Fatal("bob deleted and still allowed")
	}
	cur := e.cur.Load()
	now, _ := cur.orgs.get("acme")
	orgs := cur.orgs
	orgs.thaw()
	orgs.set("acme", orgEntry{o: now.o, hs: old.hs})
	orgs.freeze()
	forged := &snapshot{rev: cur.rev, orgs: orgs, done: make(chan struct{})}
	if d, _ := forged.decide(&req); d.Allowed {
		t.Error("a stale copy of the holders' slots allowed a deleted principal")
	}
}
