package directory_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/internal/directory"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// TestConcurrentOrgBatches: two directories (two processes) send batches
// of four orgs at once — with postgres.Options.OrgWrites they are made
// side by side, and each creates a user too. Every batch succeeds, each
// org holds exactly what its batches wrote, revisions are dense (one per
// batch) and both engines follow to the end and answer from it.
func TestConcurrentOrgBatches(t *testing.T) {
	const orgs, perWriter, users = 4, 5, 20
	for _, be := range poolBackends {
		t.Run(be.name, func(t *testing.T) {
			ctx := ctxT(t)
			st := be.open(t, 4)
			d1 := openDir(t, st, directory.Options{CatchUpTimeout: guard})
			ids := []string{"alice"}
			for i := range users {
				ids = append(ids, fmt.Sprintf("u%02d", i))
			}
			mustUsers(t, d1, ids...)
			for o := range orgs {
				org := fmt.Sprintf("o%d", o)
				ok(t, "create "+org, third(d1.CreateOrg(ctx, alice, directory.OrgSpec{ID: org})))
				var add []directory.WriteChange
				for _, id := range ids[1:] {
					add = append(add, directory.WriteChange{Op: directory.OpMemberAdd, User: directory.UserSpec{ID: id, Role: "viewer"}})
				}
				ok(t, "members of "+org, third(d1.Write(ctx, alice, org, add)))
			}
			d2 := d1
			if r, isR := st.(reopener); isR {
				s2, err := r.Reopen(ctx)
				ok(t, "Reopen", err)
				t.Cleanup(func() { _ = s2.Close() })
				d2 = openDir(t, s2, directory.Options{CatchUpTimeout: guard})
			}
			start, err := st.CurrentRevision(ctx)
			ok(t, "CurrentRevision", err)

			var (
				mu   sync.Mutex
				errs []string
				wg   sync.WaitGroup
			)
			for h, d := range []*directory.Directory{d1, d2} {
				for o := range orgs {
					org := fmt.Sprintf("o%d", o)
					wg.Go(func() {
						for j := range perWriter {
							ns := fmt.Sprintf("h%db%d", h, j)
							// Each batch also creates a user (since branch
							// writes8 an org write, beside other orgs').
							nu := fmt.Sprintf("n%d-%s-%d", h, org, j)
							cs := []directory.WriteChange{{Op: directory.OpNamespaceCreate, Namespace: ns},
								{Op: directory.OpUserCreate, User: directory.UserSpec{ID: nu, Email: nu + "@example.com", Role: "viewer"}}}
							for _, id := range ids[1:] {
								cs = append(cs, directory.WriteChange{Op: directory.OpBindingCreate,
									Binding: directory.BindingSpec{Principal: "user:" + id, Role: "builder", Scope: authz.Scope{Namespace: ns}}})
							}
							if _, _, err := d.Write(ctx, alice, org, cs); err != nil {
								mu.Lock()
								errs = append(errs, fmt.Sprintf("%s %s: %v", org, ns, err))
								mu.Unlock()
							}
						}
					})
				}
			}
			wg.Wait()
			if len(errs) > 0 {
				t.Fatalf("%d batches failed:\n%s", len(errs), strings.Join(errs, "\n"))
			}
			end, err := st.CurrentRevision(ctx)
			ok(t, "CurrentRevision", err)
			if want := start + 2*orgs*perWriter; end != want {
				t.Errorf("revision went from %d to %d, want %d (one per batch)", start, end, want)
			}
			var revs []uint64
			after := start
			for {
				cs, err := st.ChangesSince(ctx, after, 0)
				ok(t, "ChangesSince", err)
				if len(cs) == 0 {
					break
				}
				for _, c := range cs {
					if len(revs) == 0 || revs[len(revs)-1] != c.Revision {
						revs = append(revs, c.Revision)
					}
				}
				after = cs[len(cs)-1].Revision
			}
			var want []uint64
			for r := start + 1; r <= end; r++ {
				want = append(want, r)
			}
			if !slices.Equal(revs, want) {
				t.Errorf("changelog revisions %v, want %d..%d", revs, start+1, end)
			}
			for h := range 2 { // the users the batches created, each a member of its org
				for o := range orgs {
					for j := range perWriter {
						org, nu := fmt.Sprintf("o%d", o), fmt.Sprintf("n%d-o%d-%d", h, o, j)
						if _, err := st.GetMember(ctx, org, nu); err != nil {
							t.Errorf("member %s of %s: %v", nu, org, err)
						}
					}
				}
			}
			for o := range orgs { // each org's audit chain, written by both processes at once
				org := fmt.Sprintf("o%d", o)
				rep, err := d1.VerifyAudit(ctx, alice, org, nil)
				if err != nil || rep.Last != rep.RecordedHead || rep.Last == 0 {
					t.Errorf("verify the audit log of %s = %+v, %v; want it whole to its recorded head", org, rep, err)
				}
			}
			for i, d := range []*directory.Directory{d1, d2} {
				ok(t, fmt.Sprintf("directory %d follows to %d", i+1, end), d.WaitFor(ctx, end))
				for o := range orgs {
					org := fmt.Sprintf("o%d", o)
					for h := range 2 {
						for j := range perWriter {
							ns := fmt.Sprintf("h%db%d", h, j)
							dec, err := d.Check(ctx, alice, authz.Request{Org: org, Principal: "user:u07", Namespace: ns, ResourceType: "chains", ResourceID: "x", Action: "run"}, end)
							ok(t, "Check", err)
							if !dec.Allowed {
								t.Errorf("directory %d, org %s: user:u07 may not run chains in %s: %+v", i+1, org, ns, dec)
							}
						}
					}
					dec, err := d.Check(ctx, alice, authz.Request{Org: org, Principal: "user:u07", Namespace: "default", ResourceType: "chains", ResourceID: "x", Action: "run"}, end)
					ok(t, "Check", err)
					if dec.Allowed {
						t.Errorf("directory %d, org %s: user:u07 may run chains in default: %+v", i+1, org, dec)
					}
				}
			}
		})
	}
}

// reopener is a store that opens another handle on its database, as
// another process would.
type reopener interface {
	Reopen(ctx context.Context) (store.Store, error)
}
