package directory_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/internal/directory"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// applyLog records the batches an engine applies, in order.
type applyLog struct {
	mu      sync.Mutex
	batches []directory.AppliedBatch
}

func (l *applyLog) add(b directory.AppliedBatch) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.batches = append(l.batches, b)
}

// changeKey names one changelog entry.
type changeKey struct {
	Rev uint64
	Seq int
}

// checkApplied fails unless the engine applied the revisions after start
// up to end in order, each batch starting where the one before ended,
// and every changelog entry of those revisions exactly once (want).
func (l *applyLog) checkApplied(t *testing.T, who string, start, end uint64, want []changeKey) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	at := start
	var got []changeKey
	for i, b := range l.batches {
		if b.Cursor != at || b.N <= b.Cursor {
			t.Errorf("%s: batch %d applied revisions (%d, %d] with the engine at %d", who, i, b.Cursor, b.N, at)
		}
		for _, c := range b.Changes {
			if c.Revision <= b.Cursor || c.Revision > b.N {
				t.Errorf("%s: batch %d of revisions (%d, %d] carries a change of revision %d", who, i, b.Cursor, b.N, c.Revision)
			}
			got = append(got, changeKey{c.Revision, c.Seq})
		}
		at = b.N
	}
	if at != end {
		t.Errorf("%s: the engine's batches end at revision %d, want %d", who, at, end)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("%s: changes applied, against the changelog (-want +got):\n%s", who, diff)
	}
}

// TestOwnWritesApplyInOrder: many org writes of one process at once, whose
// tails (revision, commit) overlap and whose commits return in any order,
// plus writes of a second process on the same database. In both
// processes the engine applies every revision once, in order, each batch
// starting where the last ended, with every changelog entry exactly once;
// and each write's revision, and its grant, are visible in its own process
// when the write returns (read-your-writes, DESIGN §1.3).
func TestOwnWritesApplyInOrder(t *testing.T) {
	const orgs, perOrg, otherOrgs, users = 8, 6, 2, 6
	for _, be := range poolBackends {
		t.Run(be.name, func(t *testing.T) {
			ctx := ctxT(t)
			st := be.open(t, 8)
			d1 := openDir(t, st, directory.Options{CatchUpTimeout: guard})
			r, isR := st.(reopener)
			if !isR {
				t.Fatalf("%T cannot open a second handle", st)
			}
			s2, err := r.Reopen(ctx)
			ok(t, "Reopen", err)
			t.Cleanup(func() { _ = s2.Close() })
			ids := []string{"alice"}
			for i := range users {
				ids = append(ids, fmt.Sprintf("u%02d", i))
			}
			mustUsers(t, d1, ids...)
			var add []directory.WriteChange
			for _, id := range ids[1:] {
				add = append(add, directory.WriteChange{Op: directory.OpMemberAdd, User: directory.UserSpec{ID: id, Role: "viewer"}})
			}
			for o := range orgs + otherOrgs {
				org := fmt.Sprintf("o%d", o)
				ok(t, "create "+org, third(d1.CreateOrg(ctx, alice, directory.OrgSpec{ID: org})))
				ok(t, "members of "+org, third(d1.Write(ctx, alice, org, add)))
			}
			start, err := st.CurrentRevision(ctx)
			ok(t, "CurrentRevision", err)
			d2 := openDir(t, s2, directory.Options{CatchUpTimeout: guard})
			ok(t, "directory 1 at the start", d1.WaitFor(ctx, start))
			ok(t, "directory 2 at the start", d2.WaitFor(ctx, start))
			var logs [2]applyLog
			directory.SetOnApplyForTest(d1, logs[0].add)
			directory.SetOnApplyForTest(d2, logs[1].add)

			var (
				mu   sync.Mutex
				errs []string
				wg   sync.WaitGroup
			)
			fail := func(format string, args ...any) {
				mu.Lock()
				defer mu.Unlock()
				errs = append(errs, fmt.Sprintf(format, args...))
			}
			writer := func(h int, d *directory.Directory, org string, n int) {
				for j := range n {
					ns := fmt.Sprintf("h%dn%d", h, j)
					cs := []directory.WriteChange{{Op: directory.OpNamespaceCreate, Namespace: ns}}
					for _, id := range ids[1:] {
						cs = append(cs, directory.WriteChange{Op: directory.OpBindingCreate,
							Binding: directory.BindingSpec{Principal: "user:" + id, Role: "builder", Scope: authz.Scope{Namespace: ns}}})
					}
					_, rev, err := d.Write(ctx, alice, org, cs)
					if err != nil {
						fail("%s %s: %v", org, ns, err)
						continue
					}
					if at := d.Revision(); at < rev {
						fail("%s %s: the write of revision %d returned with its engine at %d", org, ns, rev, at)
					}
					// At least revision 0: whatever the engine shows now, no waiting.
					dec, err := d.Check(ctx, alice, authz.Request{Org: org, Principal: "user:u03", Namespace: ns, ResourceType: "chains", ResourceID: "x", Action: "run"}, 0)
					if err != nil || !dec.Allowed {
						fail("%s %s: right after the write of revision %d, user:u03 may not run chains there (%+v, %v)", org, ns, rev, dec, err)
					}
				}
			}
			for o := range orgs { // process 1: one writer per org, all at once
				wg.Go(func() { writer(1, d1, fmt.Sprintf("o%d", o), perOrg) })
			}
			for o := range otherOrgs { // process 2 meanwhile: revisions process 1 only reads
				wg.Go(func() { writer(2, d2, fmt.Sprintf("o%d", orgs+o), perOrg) })
			}
			wg.Wait()
			if len(errs) > 0 {
				t.Errorf("%d writes failed or were not visible:\n%s", len(errs), strings.Join(errs, "\n"))
			}
			end, err := st.CurrentRevision(ctx)
			ok(t, "CurrentRevision", err)
			if want := start + (orgs+otherOrgs)*perOrg; end != want {
				t.Errorf("revision went from %d to %d, want %d (one per batch)", start, end, want)
			}
			var want []changeKey
			after := start
			for {
				cs, err := st.ChangesSince(ctx, after, 0)
				ok(t, "ChangesSince", err)
				if len(cs) == 0 {
					break
				}
				for _, c := range cs {
					want = append(want, changeKey{c.Revision, c.Seq})
				}
				after = cs[len(cs)-1].Revision
			}
			for i, d := range []*directory.Directory{d1, d2} {
				ok(t, fmt.Sprintf("directory %d follows to %d", i+1, end), d.WaitFor(ctx, end))
				logs[i].checkApplied(t, fmt.Sprintf("directory %d", i+1), start, end, want)
			}
		})
	}
}

// lostReplyStore runs org writes in rounds: each write of a round sends
// its rows and then waits until every write of the round has (so all
// took their base revision before any commits, and their commits return
// in any order); and it loses the reply to the commit of revision lose:
// the write commits but its caller is told it failed, as when the
// connection drops after the database received COMMIT. That writer hands
// nothing over; its revision is committed all the same.
type lostReplyStore struct {
	store.Store
	round sync.WaitGroup
	lose  atomic.Uint64
}

func (s *lostReplyStore) WriteOrg(ctx context.Context, org string, fn func(tx store.Tx) error) (uint64, error) {
	ow, isOW := s.Store.(interface {
		WriteOrg(context.Context, string, func(store.Tx) error) (uint64, error)
	})
	if !isOW {
		return 0, errors.New("the store has no org writes")
	}
	rev, err := ow.WriteOrg(ctx, org, func(tx store.Tx) error {
		err := fn(tx)
		s.round.Done()
		s.round.Wait()
		return err
	})
	if err == nil && rev == s.lose.Load() {
		return 0, errors.New("read tcp: connection reset by peer")
	}
	return rev, err
}

// TestOwnWritesLostCommitReply: of concurrent org writes in one process,
// the first to commit never learns its revision, so it cannot hand it
// over, and the others commit after it. They must not wait for it
// forever: each is still visible when it returns, and the engine applies
// every revision, the lost one's from the changelog, once and in order.
func TestOwnWritesLostCommitReply(t *testing.T) {
	const orgs, rounds, lostRound = 4, 3, 1
	for _, be := range poolBackends {
		if be.name != "postgres-orgwrites" {
			continue // only there do org writes commit side by side
		}
		t.Run(be.name, func(t *testing.T) {
			ctx := ctxT(t)
			st := &lostReplyStore{Store: be.open(t, 8)}
			// A stalled hand-over would end in settle's timeout: keep it short.
			d := openDir(t, st, directory.Options{CatchUpTimeout: 10 * time.Second})
			mustUsers(t, d, "alice", "bob")
			for o := range orgs {
				org := fmt.Sprintf("o%d", o)
				ok(t, "create "+org, third(d.CreateOrg(ctx, alice, directory.OrgSpec{ID: org})))
				st.round.Add(1)
				ok(t, "bob in "+org, third(d.Write(ctx, alice, org, []directory.WriteChange{{Op: directory.OpMemberAdd, User: directory.UserSpec{ID: "bob", Role: "viewer"}}})))
			}
			start, err := st.CurrentRevision(ctx)
			ok(t, "CurrentRevision", err)
			ok(t, "at the start", d.WaitFor(ctx, start))
			var log applyLog
			directory.SetOnApplyForTest(d, log.add)

			var (
				mu     sync.Mutex
				errs   []string
				failed int
			)
			for r := range rounds {
				base, err := st.CurrentRevision(ctx)
				ok(t, "CurrentRevision", err)
				if r == lostRound {
					st.lose.Store(base + 1)
				}
				st.round.Add(orgs)
				var wg sync.WaitGroup
				for o := range orgs {
					org, ns := fmt.Sprintf("o%d", o), fmt.Sprintf("n%d", r)
					wg.Go(func() {
						_, rev, err := d.Write(ctx, alice, org, []directory.WriteChange{{Op: directory.OpNamespaceCreate, Namespace: ns},
							{Op: directory.OpBindingCreate, Binding: directory.BindingSpec{Principal: "user:bob", Role: "builder", Scope: authz.Scope{Namespace: ns}}}})
						mu.Lock()
						defer mu.Unlock()
						switch {
						case err != nil:
							failed++
						case d.Revision() < rev:
							errs = append(errs, fmt.Sprintf("%s %s: the write of revision %d returned with its engine at %d", org, ns, rev, d.Revision()))
						}
					})
				}
				wg.Wait()
			}
			if len(errs) > 0 {
				t.Errorf("%d writes were not visible when they returned:\n%s", len(errs), strings.Join(errs, "\n"))
			}
			if failed != 1 {
				t.Errorf("%d writes failed, want the one whose reply was lost", failed)
			}
			end, err := st.CurrentRevision(ctx)
			ok(t, "CurrentRevision", err)
			if want := start + orgs*rounds; end != want {
				t.Errorf("revision went from %d to %d, want %d (the lost reply's write committed too)", start, end, want)
			}
			var want []changeKey
			for after := start; ; {
				cs, err := st.ChangesSince(ctx, after, 0)
				ok(t, "ChangesSince", err)
				if len(cs) == 0 {
					break
				}
				for _, c := range cs {
					want = append(want, changeKey{c.Revision, c.Seq})
				}
				after = cs[len(cs)-1].Revision
			}
			ok(t, "follows to the end", d.WaitFor(ctx, end))
			log.checkApplied(t, "directory", start, end, want)
		})
	}
}
