package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

func testChangelog(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	if rev := must(s.CurrentRevision(ctx)).get(t); rev != 0 {
		t.Fatalf("a new store is at revision %d, want 0", rev)
	}
	if cs := changes(t, s, 0); len(cs) != 0 {
		t.Fatalf("a new store has %d changes", len(cs))
	}
	// Every write records what it did; Tx.Changes is what gets committed.
	var recorded []store.Change
	var revs []uint64
	writes := []func(ctx context.Context, tx store.Tx) error{
		func(ctx context.Context, tx store.Tx) error { return seedTx(ctx, tx, fixture{org: "a"}) },
		func(ctx context.Context, tx store.Tx) error { return tx.DeleteBinding(ctx, "a", "owner") },
		func(ctx context.Context, tx store.Tx) error {
			_, err := tx.UpdateResource(ctx, store.ResourceUpdate{Org: "a", Ref: authz.ResourceRef{Namespace: "prod", Type: "chains", ID: "triage"},
				Spec: []byte(`{"v":2}`), Author: "user:bob"})
			return err
		},
		func(ctx context.Context, tx store.Tx) error {
			_, err := tx.UpdateUser(ctx, store.User{ID: "bob", Email: "robert@example.com"})
			return err
		},
		func(ctx context.Context, tx store.Tx) error { return tx.DeleteOrg(ctx, "a") },
	}
	for _, w := range writes {
		rev := write(t, s, func(ctx context.Context, tx store.Tx) error {
			if err := w(ctx, tx); err != nil {
				return err
			}
			for _, c := range tx.Changes() {
				if c.Revision != tx.Revision() {
					t.Errorf("Tx.Changes entry at revision %d, Tx.Revision() = %d", c.Revision, tx.Revision())
				}
			}
			recorded = append(recorded, tx.Changes()...)
			return nil
		})
		revs = append(revs, rev)
	}
	diff(t, "revisions returned by Write", []uint64{1, 2, 3, 4, 5}, revs)
	if rev := must(s.CurrentRevision(ctx)).get(t); rev != 5 {
		t.Errorf("CurrentRevision = %d, want 5", rev)
	}
	all := changes(t, s, 0)
	diff(t, "committed changelog vs Tx.Changes", recorded, all)

	seq := map[uint64]int{}
	for _, c := range all {
		if c.Seq != seq[c.Revision] {
			t.Errorf("entry %s %s at revision %d has seq %d, want %d", c.Kind, c.Key, c.Revision, c.Seq, seq[c.Revision])
		}
		seq[c.Revision]++
		v, err := c.Decode()
		if err != nil {
			t.Errorf("entry %d/%d %s does not decode: %v", c.Revision, c.Seq, c.Kind, err)
			continue
		}
		wantOrg := "a"
		if c.Kind == store.KindUserPut || c.Kind == store.KindUserDelete {
			wantOrg = ""
		}
		if c.Org != wantOrg {
			t.Errorf("entry %s %s has org %q, want %q", c.Kind, c.Key, c.Org, wantOrg)
		}
		if b, ok := v.(store.Binding); ok && (b.ID != c.Key || b.Org != "a") {
			t.Errorf("binding payload %+v does not match key %q", b, c.Key)
		}
	}
	for rev := uint64(1); rev <= 5; rev++ {
		if seq[rev] == 0 {
			t.Errorf("revision %d has no entries", rev)
		}
	}
	// A resource.put carries the full new state, spec included.
	for _, c := range all {
		if c.Revision == 3 {
			r := must(c.Decode()).get(t).(store.Resource)
			if r.Version != 2 || string(r.Spec) != `{"v":2}` || r.UpdatedBy != "user:bob" {
				t.Errorf("resource.put payload = %+v", r)
			}
		}
	}
	// After a revision: only later ones.
	for _, c := range changes(t, s, 3) {
		if c.Revision <= 3 {
			t.Errorf("ChangesSince(3) returned revision %d", c.Revision)
		}
	}
	if cs := changes(t, s, 5); len(cs) != 0 {
		t.Errorf("ChangesSince(current) = %d entries, want none", len(cs))
	}
	for _, limit := range []int{-1, store.MaxChangesLimit + 1} {
		wantErr(t, fmt.Sprintf("ChangesSince limit %d", limit), second(s.ChangesSince(ctx, 0, limit)), store.ErrInvalid)
	}
	if _, err := (store.Change{Kind: "bogus", Payload: []byte(`{}`)}).Decode(); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("Decode of an unknown kind: %v", err)
	}
	if _, err := (store.Change{Kind: store.KindOrgPut, Payload: []byte(`[`)}).Decode(); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("Decode of a malformed payload: %v", err)
	}
}

func testChangelogWholeRevisions(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	write(t, s, func(ctx context.Context, tx store.Tx) error { // revision 1: 5 entries
		if _, err := tx.CreateOrg(ctx, store.Org{ID: "a"}); err != nil {
			return err
		}
		for _, ns := range []string{"n1", "n2", "n3"} {
			if _, err := tx.CreateNamespace(ctx, "a", ns); err != nil {
				return err
			}
		}
		return nil
	})
	write(t, s, func(ctx context.Context, tx store.Tx) error { // revision 2: 2 entries
		for _, ns := range []string{"n4", "n5"} {
			if _, err := tx.CreateNamespace(ctx, "a", ns); err != nil {
				return err
			}
		}
		return nil
	})
	tests := []struct {
		limit int
		want  []uint64 // revisions of the entries returned
	}{
		{1, []uint64{1, 1, 1, 1, 1}},
		{3, []uint64{1, 1, 1, 1, 1}},
		{5, []uint64{1, 1, 1, 1, 1}},
		{6, []uint64{1, 1, 1, 1, 1, 2, 2}},
		{0, []uint64{1, 1, 1, 1, 1, 2, 2}},
	}
	for _, tc := range tests {
		cs, err := s.ChangesSince(ctx, 0, tc.limit)
		if err != nil {
			t.Fatal(err)
		}
		var got []uint64
		for _, c := range cs {
			got = append(got, c.Revision)
		}
		diff(t, fmt.Sprintf("ChangesSince(0, %d) never splits a revision", tc.limit), tc.want, got)
	}
}

var errBoom = errors.New("boom")

func testRollback(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	seed(t, s, "a")
	rev0 := must(s.CurrentRevision(ctx)).get(t)
	snap0 := must(s.LoadOrg(ctx, "a")).get(t)

	nothingChanged := func(what string) {
		t.Helper()
		if rev := must(s.CurrentRevision(ctx)).get(t); rev != rev0 {
			t.Errorf("%s: revision moved from %d to %d", what, rev0, rev)
		}
		if cs := changes(t, s, rev0); len(cs) != 0 {
			t.Errorf("%s: %d changelog entries appeared", what, len(cs))
		}
		wantErr(t, what+": org b", second(s.GetOrg(ctx, "b")), store.ErrNotFound)
		diff(t, what+": org a", snap0, must(s.LoadOrg(ctx, "a")).get(t))
	}
	mutate := func(ctx context.Context, tx store.Tx) error {
		if err := seedTx(ctx, tx, fixture{org: "b"}); err != nil {
			return err
		}
		if err := tx.DeleteBinding(ctx, "a", "owner"); err != nil {
			return err
		}
		if err := tx.DeleteNamespace(ctx, "a", "prod", store.DeleteOptions{Cascade: true}); err != nil {
			return err
		}
		_, err := tx.CreateUser(ctx, store.User{ID: "carol"})
		return err
	}

	rev, err := s.Write(ctx, func(tx store.Tx) error {
		if err := mutate(ctx, tx); err != nil {
			return err
		}
		return errBoom
	})
	if err != errBoom || rev != 0 {
		t.Errorf("Write returned (%d, %v), want (0, the callback's error unchanged)", rev, err)
	}
	nothingChanged("callback error")
	wantErr(t, "user of a rolled back write", second(s.GetUser(ctx, "carol")), store.ErrNotFound)

	func() {
		defer func() {
			if r := recover(); r != errBoom {
				t.Errorf("recovered %v, want the callback's panic", r)
			}
		}()
		_, _ = s.Write(ctx, func(tx store.Tx) error {
			if err := mutate(ctx, tx); err != nil {
				return err
			}
			panic(errBoom)
		})
	}()
	nothingChanged("callback panic")

	rev, err = s.Write(ctx, func(tx store.Tx) error {
		_, err := tx.GetOrg(ctx, "a")
		return err
	})
	if err != nil || rev != rev0 {
		t.Errorf("a write that changes nothing returned (%d, %v), want (%d, nil)", rev, err, rev0)
	}
	nothingChanged("no-op write")
	wantErr(t, "nil callback", second(s.Write(ctx, nil)), store.ErrInvalid)

	// A context that ends inside the callback fails the Write even if the
	// callback ignores every error: nothing commits.
	cctx, cancel := context.WithCancel(ctx)
	_, err = s.Write(cctx, func(tx store.Tx) error {
		if _, err := tx.CreateOrg(cctx, store.Org{ID: "c"}); err != nil {
			return err
		}
		cancel()
		_, _ = tx.CreateOrg(cctx, store.Org{ID: "d"})
		return nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Write whose context ended = %v, want context.Canceled", err)
	}
	nothingChanged("context ended inside the callback")
	wantErr(t, "org of a cancelled write", second(s.GetOrg(ctx, "c")), store.ErrNotFound)

	// The same when only one call's context ends and the Write's lives on:
	// the failed statement poisons the transaction.
	_, err = s.Write(ctx, func(tx store.Tx) error {
		if _, err := tx.CreateOrg(ctx, store.Org{ID: "c"}); err != nil {
			return err
		}
		callCtx, cancel := context.WithCancel(ctx)
		cancel()
		_, _ = tx.CreateOrg(callCtx, store.Org{ID: "d"})
		return nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Write after a failed statement = %v, want the statement's error", err)
	}
	nothingChanged("a statement failed inside the callback")

	// A Tx method's expected error changes nothing; the callback may go on.
	rev = write(t, s, func(ctx context.Context, tx store.Tx) error {
		if _, err := tx.CreateOrg(ctx, store.Org{ID: "a"}); !errors.Is(err, store.ErrConflict) {
			return fmt.Errorf("CreateOrg duplicate: %v", err)
		}
		if err := tx.DeleteNamespace(ctx, "a", "prod", store.DeleteOptions{}); !errors.Is(err, store.ErrRefused) {
			return fmt.Errorf("DeleteNamespace: %v", err)
		}
		_, err := tx.CreateNamespace(ctx, "a", "staging")
		return err
	})
	diff(t, "entries of a write whose callback handled errors", []string{"namespace.put staging"}, kinds(changes(t, s, rev0)))
	if rev != rev0+1 {
		t.Errorf("revision = %d, want %d", rev, rev0+1)
	}
	// And the store keeps working after all of that.
	must(s.GetNamespace(ctx, "a", "staging")).get(t)
}

func testTxLifetime(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	var kept store.Tx
	rev := write(t, s, func(ctx context.Context, tx store.Tx) error {
		kept = tx
		if tx.Revision() != 1 {
			t.Errorf("Tx.Revision() = %d, want 1", tx.Revision())
		}
		if _, err := tx.CreateOrg(ctx, store.Org{ID: "a"}); err != nil {
			return err
		}
		// The transaction reads its own writes...
		if _, err := tx.GetOrg(ctx, "a"); err != nil {
			t.Errorf("Tx does not read its own write: %v", err)
		}
		if ns := must3(t, tx.ListNamespaces, ctx, "a"); len(ns) != 1 {
			t.Errorf("Tx lists %d namespaces, want the default one", len(ns))
		}
		// ...and nobody else does before it commits.
		wantErr(t, "uncommitted org read outside the Tx", second(s.GetOrg(ctx, "a")), store.ErrNotFound)
		if rev := must(s.CurrentRevision(ctx)).get(t); rev != 0 {
			t.Errorf("CurrentRevision during the write = %d, want 0", rev)
		}
		return nil
	})
	if rev != kept.Revision() {
		t.Errorf("Write returned %d, Tx.Revision() was %d", rev, kept.Revision())
	}
	_, err := kept.CreateOrg(ctx, store.Org{ID: "b"})
	wantErr(t, "write through a finished Tx", err, store.ErrInvalid)
	wantErr(t, "read through a finished Tx", second(kept.GetOrg(ctx, "a")), store.ErrInvalid)
	wantErr(t, "org written through a finished Tx", second(s.GetOrg(ctx, "b")), store.ErrNotFound)
}

// testConcurrentWriters: N goroutines × M read-modify-write increments of
// one resource's version, plus racing creators of one name. Writers are
// serialized, so no update is lost, IfVersion never conflicts, versions
// are 1..N*M+1 and revisions dense.
func testConcurrentWriters(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	f := seed(t, s, "a")
	const n, m = 8, 12
	start := must(s.CurrentRevision(ctx)).get(t)

	var mu sync.Mutex
	var revs []uint64
	var wg sync.WaitGroup
	errs := make(chan error, n*m+n)
	for g := range n {
		wg.Go(func() {
			for range m {
				rev, err := s.Write(ctx, func(tx store.Tx) error {
					r, err := tx.GetResource(ctx, f.org, f.resource)
					if err != nil {
						return err
					}
					spec := fmt.Appendf(nil, `{"n":%d,"by":%d}`, r.Version+1, g)
					_, err = tx.UpdateResource(ctx, store.ResourceUpdate{Org: f.org, Ref: f.resource, Spec: spec, IfVersion: r.Version,
						Author: fmt.Sprintf("g%d", g)})
					return err
				})
				if err != nil {
					errs <- err
					return
				}
				mu.Lock()
				revs = append(revs, rev)
				mu.Unlock()
			}
		})
	}
	// Racing creators: exactly one wins each name.
	var wins, conflicts int
	for range n {
		wg.Go(func() {
			_, err := s.Write(ctx, func(tx store.Tx) error {
				_, err := tx.CreateNamespace(ctx, f.org, "race")
				return err
			})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				wins++
			case errors.Is(err, store.ErrConflict):
				conflicts++
			default:
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("concurrent write: %v", err)
	}
	if wins != 1 || conflicts != n-1 {
		t.Errorf("racing creators: %d won, %d conflicted; want 1 and %d", wins, conflicts, n-1)
	}

	r := must(s.GetResource(ctx, f.org, f.resource)).get(t)
	if r.Version != n*m+1 || string(r.Spec) != fmt.Sprintf(`{"n":%d,"by":%s}`, n*m+1, r.UpdatedBy[1:]) {
		t.Errorf("after %d increments: version %d spec %s", n*m, r.Version, r.Spec)
	}
	var versions []uint64
	for _, pg := range pageAll(t, store.MaxPageSize, func(p store.Page) ([]store.ResourceVersion, string, error) {
		return s.ListResourceVersions(ctx, f.org, f.resource, p)
	}) {
		for _, v := range pg {
			versions = append(versions, v.Version)
		}
	}
	var want []uint64
	for v := uint64(n*m + 1); v >= 1; v-- {
		want = append(want, v)
	}
	diff(t, "versions: every increment kept, none lost or duplicated", want, versions)

	// Revisions: unique, dense, and each commit's entries at its revision.
	end := must(s.CurrentRevision(ctx)).get(t)
	if end != start+n*m+1 {
		t.Errorf("revision went from %d to %d, want +%d", start, end, n*m+1)
	}
	slices.Sort(revs)
	for i, rev := range revs {
		if i > 0 && rev == revs[i-1] {
			t.Errorf("revision %d returned twice", rev)
		}
	}
	cs := changes(t, s, start)
	perRev := map[uint64]int{}
	for _, c := range cs {
		perRev[c.Revision]++
	}
	for rev := start + 1; rev <= end; rev++ {
		if perRev[rev] != 1 {
			t.Errorf("revision %d has %d entries, want 1", rev, perRev[rev])
		}
	}
	for _, rev := range revs {
		if perRev[rev] != 1 {
			t.Errorf("returned revision %d is not in the changelog", rev)
		}
	}
}

// testChangelogRuns: a revision whose changes alternate between orgs and
// deployment-wide users (the shape of a bulk write that provisions users:
// a backend may store runs of one org's changes together) reads back
// exactly as Tx.Changes recorded it, in order, whole revisions, whatever
// the page size, through ChangesSince and OrgChangesSince.
func testChangelogRuns(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	var recorded []store.Change
	steps := [][]string{ // one revision each: "org/namespace" or "user"
		{"a/n0"},
		{"a/n1", "a/n2", "a/n3", "user", "a/n4", "a/n5", "b/n0", "b/n1", "user", "a/n6", "user", "user"},
		{"b/n2", "b/n3", "b/n4"},
		{"user", "a/n7"},
	}
	users := 0
	for _, step := range steps {
		write(t, s, func(ctx context.Context, tx store.Tx) error {
			for _, st := range step {
				if st == "user" {
					users++
					if _, err := tx.CreateUser(ctx, store.User{ID: fmt.Sprintf("u%d", users)}); err != nil {
						return err
					}
					continue
				}
				org, ns := st[:1], st[2:]
				if ns == "n0" {
					if _, err := tx.CreateOrg(ctx, store.Org{ID: org}); err != nil {
						return err
					}
				}
				if _, err := tx.CreateNamespace(ctx, org, ns); err != nil {
					return err
				}
			}
			recorded = append(recorded, tx.Changes()...)
			return nil
		})
	}
	revOf := func(cs []store.Change) []uint64 {
		var out []uint64
		for _, c := range cs {
			out = append(out, c.Revision)
		}
		return out
	}
	for limit := 1; limit <= len(recorded)+1; limit++ {
		var got []store.Change
		for after := uint64(0); ; {
			cs := must(s.ChangesSince(ctx, after, limit)).get(t)
			if len(cs) == 0 {
				break
			}
			// Whole revisions: the next page starts at a new one.
			if len(got) > 0 && got[len(got)-1].Revision == cs[0].Revision {
				t.Errorf("ChangesSince(limit %d) split revision %d: %v then %v", limit, cs[0].Revision, revOf(got), revOf(cs))
			}
			got = append(got, cs...)
			after = cs[len(cs)-1].Revision
		}
		diff(t, fmt.Sprintf("ChangesSince paged by %d vs Tx.Changes", limit), recorded, got)
		for _, org := range []string{"a", "b"} {
			var want, got []store.Change
			for _, c := range recorded {
				if c.Org == org {
					want = append(want, c)
				}
			}
			for after := uint64(0); ; {
				cs := must(s.OrgChangesSince(ctx, org, after, limit)).get(t)
				if len(cs) == 0 {
					break
				}
				got = append(got, cs...)
				after = cs[len(cs)-1].Revision
			}
			diff(t, fmt.Sprintf("OrgChangesSince(%s) paged by %d", org, limit), want, got)
		}
	}
}

// ChangelogDenseRuns: runs of changes as bulk writes make them read back
// exactly as Tx.Changes recorded them (kinds, keys, payload bytes, orgs,
// revisions, seqs), through every reader of the changelog: ChangesSince
// paged several ways, OrgChangesSince, a transaction's ChangesSince and a
// second handle's. The runs hold what a backend that stores a run's
// changes against each other must get right: long runs of alternating
// kinds (members and their bindings), payloads with escapes, quotes and
// characters of 2 to 4 bytes differing from their neighbour's inside a
// character, payloads equal to their neighbour's, one-change runs, and a
// revision of more rows than one statement's batch. Exported so that a
// backend can run it with org writes on (PostgreSQL's placeholder rows).
func ChangelogDenseRuns(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	start := must(s.CurrentRevision(ctx)).get(t)
	var recorded []store.Change
	writeOrg := func(org string, fn func(ctx context.Context, tx store.Tx) error) {
		t.Helper()
		ow, ok := s.(OrgWriter)
		if !ok {
			t.Fatalf("%T has no WriteOrg", s)
		}
		var last store.Tx
		if _, err := ow.WriteOrg(ctx, org, func(tx store.Tx) error { last = tx; return fn(ctx, tx) }); err != nil {
			t.Fatalf("WriteOrg(%s): %v", org, err)
		}
		// After WriteOrg returns, at the revision it committed as.
		recorded = append(recorded, last.Changes()...)
	}
	keep := func(tx store.Tx) { recorded = append(recorded, tx.Changes()...) }
	const users = 120
	write(t, s, func(ctx context.Context, tx store.Tx) error {
		for _, org := range []string{"a", "b"} {
			if _, err := tx.CreateOrg(ctx, store.Org{ID: org}); err != nil {
				return err
			}
		}
		for i := range users {
			if _, err := tx.CreateUser(ctx, store.User{ID: fmt.Sprintf("u%03d", i)}); err != nil {
				return err
			}
		}
		keep(tx)
		return nil
	})
	odd := []string{`q"uote`, `back\slash`, "new\nline\t<&>", "é", "è", "日本", "日本語", "𝄞", "𝄢", "\u2028", ""}
	// A bulk write of one org: a member and its binding a user, one run.
	writeOrg("a", func(ctx context.Context, tx store.Tx) error {
		for i := range users {
			user := fmt.Sprintf("u%03d", i)
			m := store.Member{Org: "a", UserID: user}
			if i%3 != 0 {
				m.Attributes = map[string]any{"v": odd[i%len(odd)], "w": odd[(i/2)%len(odd)]}
			}
			if _, err := tx.AddMember(ctx, m); err != nil {
				return err
			}
			if _, err := tx.CreateBinding(ctx, store.Binding{Binding: authz.Binding{Principal: "user:" + user, Role: "member"}, Org: "a", CreatedBy: "user:loader"}); err != nil {
				return err
			}
		}
		return nil
	})
	// Neighbours equal (the same member put twice), differing inside a
	// character (é, è: C3 A9, C3 A8) and ending alike inside one (é, ©:
	// C3 A9, C2 A9), in a write that is not an org write's operations;
	// then a one-change run.
	write(t, s, func(ctx context.Context, tx store.Tx) error {
		for _, v := range []string{"日本語", "日本語", "é", "è", "é", "©"} {
			if _, err := tx.UpdateMember(ctx, store.Member{Org: "a", UserID: "u001", Attributes: map[string]any{"v": v}}); err != nil {
				return err
			}
		}
		keep(tx)
		return nil
	})
	writeOrg("b", func(ctx context.Context, tx store.Tx) error {
		_, err := tx.AddMember(ctx, store.Member{Org: "b", UserID: "u000", Attributes: map[string]any{"v": "𝄞"}})
		return err
	})
	// More rows than a statement's batch: runs of two between users.
	write(t, s, func(ctx context.Context, tx store.Tx) error {
		for i := range 70 {
			if _, err := tx.CreateUser(ctx, store.User{ID: fmt.Sprintf("x%03d", i)}); err != nil {
				return err
			}
			for j := range 2 {
				if _, err := tx.CreateNamespace(ctx, "b", fmt.Sprintf("n%03d-%d", i, j)); err != nil {
					return err
				}
			}
		}
		keep(tx)
		return nil
	})
	// Tx.Changes carries the revision committed (an org write's may be
	// renumbered at commit): compare revisions as the changelog orders them.
	end := must(s.CurrentRevision(ctx)).get(t)
	got := changes(t, s, start)
	if len(got) > 0 && got[len(got)-1].Revision != end {
		t.Errorf("changelog ends at revision %d, store at %d", got[len(got)-1].Revision, end)
	}
	diffChanges(t, "ChangesSince vs Tx.Changes", recorded, got)
	for _, limit := range []int{1, 3, 100, 1000} {
		var paged []store.Change
		for after := start; ; {
			cs := must(s.ChangesSince(ctx, after, limit)).get(t)
			if len(cs) == 0 {
				break
			}
			paged = append(paged, cs...)
			after = cs[len(cs)-1].Revision
		}
		diffChanges(t, fmt.Sprintf("ChangesSince paged by %d", limit), recorded, paged)
	}
	for _, org := range []string{"a", "b"} {
		var want, got []store.Change
		for _, c := range recorded {
			if c.Org == org {
				want = append(want, c)
			}
		}
		for after := start; ; {
			cs := must(s.OrgChangesSince(ctx, org, after, 50)).get(t)
			if len(cs) == 0 {
				break
			}
			got = append(got, cs...)
			after = cs[len(cs)-1].Revision
		}
		diffChanges(t, "OrgChangesSince("+org+")", want, got)
	}
	var inTx []store.Change
	write(t, s, func(ctx context.Context, tx store.Tx) error {
		for after := start; ; {
			cs, err := tx.ChangesSince(ctx, after, 0)
			if err != nil || len(cs) == 0 {
				return err
			}
			inTx = append(inTx, cs...)
			after = cs[len(cs)-1].Revision
		}
	})
	diffChanges(t, "Tx.ChangesSince", recorded, inTx)
	if r, ok := s.(Reopener); ok {
		other, err := r.Reopen(ctx)
		if err != nil {
			t.Fatalf("Reopen: %v", err)
		}
		defer other.Close()
		diffChanges(t, "a second handle's ChangesSince", recorded, changes(t, other, start))
	}
	// Every payload is still its kind's JSON (what followers decode).
	for _, c := range got {
		if _, err := c.Decode(); err != nil {
			t.Errorf("change %d/%d (%s %s): %v", c.Revision, c.Seq, c.Kind, c.Key, err)
		}
	}
}

// diffChanges is diff for changelogs, cmp's report only when a plain
// comparison finds a difference: cmp on thousands of changes is slow
// under the race detector.
func diffChanges(t *testing.T, what string, want, got []store.Change) {
	t.Helper()
	same := slices.EqualFunc(want, got, func(a, b store.Change) bool {
		return a.Revision == b.Revision && a.Seq == b.Seq && a.Org == b.Org && a.Kind == b.Kind && a.Key == b.Key &&
			bytes.Equal(a.Payload, b.Payload) && a.CreatedAt.Equal(b.CreatedAt)
	})
	if !same {
		diff(t, what, want, got)
	}
}
