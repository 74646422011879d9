package directory_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/internal/audit"
	"github.com/gatehouse-dev/gatehouse/internal/directory"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// TestWriteBatchFacts: a batch reads the facts its changes check up front
// (the store's Prefetch) and answers the checks from them and from its own
// earlier changes. Each case runs on a fresh org on both backends and must
// end as the same changes sent one at a time would: a change that relies
// on an earlier one of the batch (a member added, then bound) succeeds; a
// duplicate (of a row from before the batch or of an earlier change), an
// id taken, a principal or resource that is not there fails the batch at
// that change, leaving nothing; a user whose email is taken is made
// without it (row 90).
func TestWriteBatchFacts(t *testing.T) {
	t.Parallel()
	const (
		ops = "ops"
	)
	chain := func(id string) authz.ResourceRef { return authz.ResourceRef{Namespace: ops, Type: "chains", ID: id} }
	bind := func(p, role string) directory.WriteChange {
		return directory.WriteChange{Op: directory.OpBindingCreate, Binding: directory.BindingSpec{Principal: p, Role: role, Scope: authz.Scope{Namespace: ops}}}
	}
	share := func(p, id string) directory.WriteChange {
		return directory.WriteChange{Op: directory.OpShareCreate, Principal: p, Ref: chain(id), Actions: []string{"run"}}
	}
	member := func(id string) directory.WriteChange {
		return directory.WriteChange{Op: directory.OpMemberAdd, User: directory.UserSpec{ID: id, Role: "viewer"}}
	}
	newUser := func(id, email string) directory.WriteChange {
		return directory.WriteChange{Op: directory.OpUserCreate, User: directory.UserSpec{ID: id, Email: email, Role: "viewer"}}
	}
	const daveBuilder = "bdavebuilder" // dave's builder binding on ops, made before each batch
	// many: n new resources shared with dave, or n new users, then last:
	// the prefetch of such a batch takes several statements per kind (one
	// round trip on PostgreSQL), and the fact last depends on is in the
	// last of them.
	many := func(n int, users bool, last directory.WriteChange) []directory.WriteChange {
		var cs []directory.WriteChange
		for i := range n {
			id := fmt.Sprintf("m%d", i)
			if users {
				cs = append(cs, newUser(id, id+"@example.com"))
				continue
			}
			cs = append(cs, directory.WriteChange{Op: directory.OpResourceCreate, Resource: directory.ResourceSpec{Namespace: ops, Type: "chains", ID: id}})
		}
		if !users {
			for i := range n {
				cs = append(cs, share("user:dave", fmt.Sprintf("m%d", i)))
			}
		}
		return append(cs, last)
	}
	cases := []struct {
		name    string
		changes []directory.WriteChange
		kind    error  // nil: the batch succeeds
		index   int    // the change the batch fails at
		noEmail string // a user the batch creates without the email it asked for (taken: row 90)
	}{
		{"member added then bound", []directory.WriteChange{member("carol"), bind("user:carol", "builder")}, nil, 0, ""},
		{"member added then shared", []directory.WriteChange{member("carol"), share("user:carol", "c1")}, nil, 0, ""},
		{"user created then bound and shared", []directory.WriteChange{newUser("erin", "erin@example.com"), bind("user:erin", "operator"), share("user:erin", "c1")}, nil, 0, ""},
		{"resource created then shared", []directory.WriteChange{
			{Op: directory.OpResourceCreate, Resource: directory.ResourceSpec{Namespace: ops, Type: "chains", ID: "c9"}}, share("user:dave", "c9")}, nil, 0, ""},
		{"binding deleted then made again", []directory.WriteChange{
			{Op: directory.OpBindingDelete, BindingID: daveBuilder}, bind("user:dave", "builder")}, nil, 0, ""},
		{"binding made twice", []directory.WriteChange{bind("user:dave", "viewer"), bind("user:dave", "viewer")}, directory.ErrConflict, 1, ""},
		{"share made twice", []directory.WriteChange{share("user:dave", "c2"), share("user:dave", "c2")}, directory.ErrConflict, 1, ""},
		{"binding held before the batch", []directory.WriteChange{bind("user:dave", "viewer"), bind("user:dave", "builder")}, directory.ErrConflict, 1, ""},
		{"share held before the batch", []directory.WriteChange{share("user:dave", "c2"), share("user:dave", "c1")}, directory.ErrConflict, 1, ""},
		{"member added twice", []directory.WriteChange{member("carol"), member("carol")}, directory.ErrConflict, 1, ""},
		{"member already", []directory.WriteChange{member("carol"), member("dave")}, directory.ErrConflict, 1, ""},
		{"user id twice", []directory.WriteChange{newUser("erin", "erin@example.com"), newUser("erin", "erin2@example.com")}, directory.ErrConflict, 1, ""},
		{"email twice", []directory.WriteChange{newUser("erin", "same@example.com"), newUser("frank", "SAME@example.com")}, nil, 0, "frank"},
		{"email taken before the batch", []directory.WriteChange{newUser("erin", "erin@example.com"), newUser("frank", "dave@example.com")}, nil, 0, "frank"},
		{"user id taken before the batch", []directory.WriteChange{newUser("erin", "erin@example.com"), newUser("carol", "carol2@example.com")}, directory.ErrConflict, 1, ""},
		{"binding of a user who is no member", []directory.WriteChange{bind("user:dave", "viewer"), bind("user:carol", "builder")}, directory.ErrNotFound, 1, ""},
		{"a non-member refused after a delete", []directory.WriteChange{
			{Op: directory.OpBindingDelete, BindingID: daveBuilder}, bind("user:dave", "builder"), share("user:carol", "c1")}, directory.ErrNotFound, 2, ""},
		{"share of a missing resource", []directory.WriteChange{share("user:dave", "c2"), share("user:dave", "nope")}, directory.ErrNotFound, 1, ""},
		{"member of a user who does not exist", []directory.WriteChange{member("carol"), member("nobody")}, directory.ErrNotFound, 1, ""},
		{"many shares, then one held before the batch", many(150, false, share("user:dave", "c1")), directory.ErrConflict, 300, ""},
		{"many shares, then a new one", many(150, false, share("user:dave", "c2")), nil, 0, ""},
		{"many users, then a member already", many(150, true, member("dave")), directory.ErrConflict, 150, ""},
		{"many users, then an email taken before the batch", many(150, true, newUser("erin", "carol@example.com")), nil, 0, "erin"},
		{"escalation in the last change", []directory.WriteChange{member("carol"), bind("user:carol", "builder"), bind("user:carol", "owner")}, directory.ErrEscalation, 2, ""},
	}
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			t.Parallel()
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					ctx := ctxT(t)
					st, _ := be.open(t)
					signer, err := audit.GenerateSigner()
					ok(t, "GenerateSigner", err)
					l, err := audit.New(st, audit.Options{Signer: signer})
					ok(t, "audit.New", err)
					d := openDir(t, st, directory.Options{Audit: l, CatchUpTimeout: guard})
					for _, u := range []store.User{{ID: "alice", Email: "alice@example.com"}, {ID: "bob"}, {ID: "carol", Email: "carol@example.com"}, {ID: "dave", Email: "dave@example.com"}} {
						ok(t, "CreateUser", third(d.CreateUser(ctx, u)))
					}
					ok(t, "create acme", third(d.CreateOrg(ctx, alice, directory.OrgSpec{ID: "acme"})))
					ok(t, "add bob", third(d.AddMember(ctx, alice, "acme", "bob", "admin")))
					ok(t, "add dave", third(d.AddMember(ctx, alice, "acme", "dave", "viewer")))
					ok(t, "namespace", third(d.CreateNamespace(ctx, alice, "acme", ops)))
					for _, id := range []string{"c1", "c2"} {
						ok(t, "resource", third(d.CreateResource(ctx, alice, "acme", directory.ResourceSpec{Namespace: ops, Type: "chains", ID: id})))
					}
					ok(t, "share c1 with dave", third(d.Share(ctx, alice, "acme", chain("c1"), "user:dave", []string{"run"})))
					setupRev, err := st.Write(ctx, func(tx store.Tx) error { // a binding with a known id
						_, err := tx.CreateBinding(ctx, store.Binding{Org: "acme", Binding: authz.Binding{ID: daveBuilder, Principal: "user:dave", Role: "builder", Scope: authz.Scope{Namespace: ops}}, CreatedBy: "user:alice"})
						return err
					})
					ok(t, "dave's builder binding", err)
					ok(t, "catch up", d.WaitFor(ctx, setupRev))
					before := snapshotOrg(t, st)
					rev0 := d.Revision()

					keys, rev, err := d.Write(ctx, bob, "acme", tc.changes)
					if tc.kind == nil {
						ok(t, "Write", err)
						if rev != rev0+1 || len(keys) != len(tc.changes) {
							t.Errorf("Write = %d keys at revision %d, want %d at %d", len(keys), rev, len(tc.changes), rev0+1)
						}
						if tc.noEmail != "" {
							if u, err := st.GetUser(ctx, tc.noEmail); err != nil || u.Email != "" {
								t.Errorf("%s, whose email was taken: %+v, %v", tc.noEmail, u, err)
							}
						}
						rep, err := d.VerifyAudit(ctx, alice, "acme", nil)
						if err != nil || !rep.MACsChecked {
							t.Errorf("VerifyAudit = %+v, %v", rep, err)
						}
						return
					}
					wantErr(t, "Write", err, tc.kind)
					var bErr *directory.BatchError
					if !errors.As(err, &bErr) || bErr.Index != tc.index {
						t.Errorf("Write error %v, want one located at change %d", err, tc.index)
					}
					if d.Revision() != rev0 {
						t.Errorf("revision moved from %d to %d after a failed batch", rev0, d.Revision())
					}
					if diff := cmp.Diff(before, snapshotOrg(t, st)); diff != "" {
						t.Errorf("a failed batch changed the org (-before +after):\n%s", diff)
					}
				})
			}
		})
	}
}

// snapshotOrg lists acme's members and bindings (ids and what they grant)
// and the users, to compare before and after a batch.
func snapshotOrg(t *testing.T, st store.Store) []string {
	t.Helper()
	ctx := ctxT(t)
	var out []string
	bs, _, err := st.ListBindings(ctx, "acme", store.BindingFilter{}, store.Page{Size: store.MaxPageSize})
	ok(t, "ListBindings", err)
	for _, b := range bs {
		out = append(out, "binding "+b.ID+" "+b.Principal+" "+b.Role+" "+b.Scope.String())
	}
	ms, _, err := st.ListMembers(ctx, "acme", store.Page{Size: store.MaxPageSize})
	ok(t, "ListMembers", err)
	for _, m := range ms {
		out = append(out, "member "+m.UserID)
	}
	us, _, err := st.ListUsers(ctx, store.Page{Size: store.MaxPageSize})
	ok(t, "ListUsers", err)
	for _, u := range us {
		out = append(out, "user "+u.ID+" "+u.Email)
	}
	return out
}
