package directory_test

import (
	"context"
	"errors"
	"testing"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/internal/directory"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// TestWriteSeesWritesAfterItsEarlyPrefetch: a batch reads its facts
// before the write lock (PrefetchOutside); a write committed after that
// read and before the batch's transaction — here by another process on the
// same database — must be what the batch decides on: the member it binds,
// the user it adds, the binding it duplicates, the resource it deletes, the email it takes
// (the last in another org: users are global).
// The first three fail if the transaction takes the early answers without
// checking the revision they were read at; the email's would fail at the
// INSERT (the users_email unique index) instead of making the user without
// the taken email (row 90).
func TestWriteSeesWritesAfterItsEarlyPrefetch(t *testing.T) {
	t.Parallel()
	ns := authz.Scope{Namespace: "prod"}
	chain := authz.ResourceRef{Namespace: "prod", Type: "chains", ID: "triage"}
	tests := []struct {
		name    string
		batch   []directory.WriteChange
		between func(ctx context.Context, d2 *directory.Directory) error
		want    error
	}{
		{
			name:  "a member added in between can be bound",
			batch: []directory.WriteChange{{Op: directory.OpBindingCreate, Binding: directory.BindingSpec{Principal: "user:carol", Role: "builder", Scope: ns}}},
			between: func(ctx context.Context, d2 *directory.Directory) error {
				return third(d2.AddMember(ctx, alice, "acme", "carol", "viewer"))
			},
		},
		{
			name:  "a user created in between can be added",
			batch: []directory.WriteChange{{Op: directory.OpMemberAdd, User: directory.UserSpec{ID: "gus", Role: "viewer"}}},
			between: func(ctx context.Context, d2 *directory.Directory) error {
				return third(d2.CreateUser(ctx, store.User{ID: "gus"}))
			},
		},
		{
			name:  "a binding made in between is a duplicate",
			batch: []directory.WriteChange{{Op: directory.OpBindingCreate, Binding: directory.BindingSpec{Principal: "user:bob", Role: "builder", Scope: ns}}},
			between: func(ctx context.Context, d2 *directory.Directory) error {
				return third(d2.CreateBinding(ctx, alice, "acme", directory.BindingSpec{Principal: "user:bob", Role: "builder", Scope: ns}))
			},
			want: directory.ErrConflict,
		},
		{
			name:  "a resource deleted in between cannot be shared",
			batch: []directory.WriteChange{{Op: directory.OpShareCreate, Principal: "user:bob", Ref: chain, Actions: []string{"run"}}},
			between: func(ctx context.Context, d2 *directory.Directory) error {
				return second(d2.DeleteResource(ctx, alice, "acme", chain))
			},
			want: directory.ErrNotFound,
		},
		{
			name:  "an email taken in between is seen taken",
			batch: []directory.WriteChange{{Op: directory.OpUserCreate, User: directory.UserSpec{ID: "dave", Email: "dave@example.com", Role: "viewer"}}},
			between: func(ctx context.Context, d2 *directory.Directory) error {
				if err := third(d2.CreateOrg(ctx, alice, directory.OrgSpec{ID: "beta"})); err != nil {
					return err
				}
				return third(d2.ProvisionUser(ctx, alice, "beta", directory.UserSpec{ID: "erin", Email: "dave@example.com", Role: "viewer"}))
			},
			want: nil, // made without the email (row 90); a stale "free" would fail at the INSERT
		},
	}
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			t.Parallel()
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					ctx := ctxT(t)
					s1, s2 := be.open(t)
					d1 := acmeWithBob(t, s1, "carol")
					ok(t, "create prod", third(d1.CreateNamespace(ctx, alice, "acme", "prod")))
					ok(t, "create chain", third(d1.CreateResource(ctx, alice, "acme", directory.ResourceSpec{Namespace: "prod", Type: "chains", ID: "triage"})))
					d2 := openDir(t, s2, directory.Options{CatchUpTimeout: guard})
					ran := 0
					directory.SetAfterPrefetchOutsideForTest(d1, func() {
						ran++
						ok(t, "the write in between", tt.between(ctx, d2))
					})
					_, _, err := d1.Write(ctx, alice, "acme", tt.batch)
					if ran != 1 {
						t.Fatalf("the write in between ran %d times, want 1 (is the early prefetch still made?)", ran)
					}
					if tt.want == nil && err != nil {
						t.Fatalf("Write: %v, want success (the batch decided on facts read before the write in between)", err)
					}
					if tt.want != nil && !errors.Is(err, tt.want) {
						t.Fatalf("Write: %v, want %v (the batch decided on facts read before the write in between)", err, tt.want)
					}
				})
			}
		})
	}
}

// TestInstallPrefetchedOnlyIfUntouched: the store hands a write
// transaction the facts read before it only if nothing of their org and
// nothing global (users) committed since they were read, only for their
// org, only once, and only to a transaction that has written nothing; and
// it does hand them over when nothing, or only another org, was written
// in between (else the early read is waste).
func TestInstallPrefetchedOnlyIfUntouched(t *testing.T) {
	t.Parallel()
	type early interface {
		PrefetchOutside(ctx context.Context, org string, f store.BatchFacts) (store.PrefetchedFacts, error)
	}
	type installer interface {
		InstallPrefetched(ctx context.Context, org string, p store.PrefetchedFacts) bool
	}
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			t.Parallel()
			ctx := ctxT(t)
			st, other := be.open(t)
			d := openDir(t, st, directory.Options{CatchUpTimeout: guard})
			mustUsers(t, d, "alice", "bob")
			ok(t, "create acme", third(d.CreateOrg(ctx, alice, directory.OrgSpec{ID: "acme"})))
			pre, isEarly := st.(early)
			if !isEarly {
				t.Fatalf("%T has no PrefetchOutside", st)
			}
			facts := store.BatchFacts{UserIDs: []string{"bob"}, Members: []string{"bob"}}
			read := func() store.PrefetchedFacts {
				t.Helper()
				p, err := pre.PrefetchOutside(ctx, "acme", facts)
				ok(t, "PrefetchOutside", err)
				return p
			}
			install := func(s store.Store, org string, p store.PrefetchedFacts, writeFirst bool) bool {
				t.Helper()
				var got bool
				_, err := s.Write(ctx, func(tx store.Tx) error {
					if writeFirst {
						if _, err := tx.CreateUser(ctx, store.User{ID: "zed"}); err != nil {
							return err
						}
					}
					in, isIn := tx.(installer)
					if !isIn {
						t.Fatalf("%T has no InstallPrefetched", tx)
					}
					got = in.InstallPrefetched(ctx, org, p)
					return errors.New("roll back")
				})
				if err == nil {
					t.Fatal("the write committed")
				}
				return got
			}
			if p := read(); !install(st, "acme", p, false) {
				t.Error("facts read at the base revision were not installed")
			} else if install(st, "acme", p, false) {
				t.Error("the same facts were installed twice")
			}
			if install(st, "other", read(), false) {
				t.Error("facts of acme were installed for another org")
			}
			if install(st, "acme", read(), true) {
				t.Error("facts were installed into a transaction that had written")
			}
			if install(other, "acme", read(), false) {
				t.Error("facts read through another store handle were installed")
			}
			p := read()
			ok(t, "add bob", third(d.AddMember(ctx, alice, "acme", "bob", "viewer")))
			if install(st, "acme", p, false) {
				t.Error("facts read before a committed write were installed")
			}
			// From another process: the revision is read under the lock.
			p = read()
			d2 := openDir(t, other, directory.Options{CatchUpTimeout: guard})
			ok(t, "create ns", third(d2.CreateNamespace(ctx, alice, "acme", "prod")))
			if install(st, "acme", p, false) {
				t.Error("facts read before another process's committed write were installed")
			}
			// Other orgs' writes leave acme's facts as they were read.
			p = read()
			ok(t, "create beta", third(d2.CreateOrg(ctx, alice, directory.OrgSpec{ID: "beta"})))
			ok(t, "add bob to beta", third(d2.AddMember(ctx, alice, "beta", "bob", "viewer")))
			if !install(st, "acme", p, false) {
				t.Error("facts read before writes of another org only were not installed")
			}
			// A user is global: its change is every org's.
			p = read()
			ok(t, "provision erin in beta", third(d2.ProvisionUser(ctx, alice, "beta", directory.UserSpec{ID: "erin", Email: "erin@example.com", Role: "viewer"})))
			if install(st, "acme", p, false) {
				t.Error("facts read before a user was created (in another org) were installed")
			}
			p = read()
			ok(t, "create user", third(d2.CreateUser(ctx, store.User{ID: "fred"})))
			if install(st, "acme", p, false) {
				t.Error("facts read before a user was created were installed")
			}
		})
	}
}
