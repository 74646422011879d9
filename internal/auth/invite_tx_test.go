package auth_test

import (
	"context"
	"errors"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/internal/auth"
	"github.com/gatehouse-dev/gatehouse/internal/directory"
	"github.com/gatehouse-dev/gatehouse/internal/store"
	"github.com/gatehouse-dev/gatehouse/internal/store/sqlite"
)

// openAuth opens a fresh SQLite store, wraps it (wrap may return it as
// it is), and starts a directory and an auth service over the wrapper.
func openAuth(t *testing.T, wrap func(store.Store) store.Store, opts auth.Options) (*directory.Directory, *auth.Service) {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "gatehouse.db"), sqlite.Options{Synchronous: "NORMAL"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	ws := wrap(st)
	dir, err := directory.Open(ctx, ws, authz.New(), directory.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = dir.Close() })
	as := auth.New(ws, dir, auth.NewKeySet(), opts)
	t.Cleanup(func() { _ = as.Close() })
	return dir, as
}

// TestInviteAuthorizesInTheWritingTransaction: an invitation is
// authorized, created and audited in one store transaction, so that a
// permission revoked by a write committed between an authorization and a
// later write can never be used (the single writer orders the revocation
// wholly before or after the invitation). A refused invitation creates
// nothing.
func TestInviteAuthorizesInTheWritingTransaction(t *testing.T) {
	ctx := context.Background()
	cs := &hookStore{}
	dir, as := openAuth(t, func(st store.Store) store.Store { cs.Store = st; return cs },
		auth.Options{Now: func() time.Time { return time.Unix(1_800_000_000, 0) }})

	ann, _, err := as.Bootstrap(ctx, store.User{ID: "ann"}, "laptop")
	if err != nil {
		t.Fatal(err)
	}
	annC := auth.Caller{Identity: auth.Identity{Principal: "user:" + ann.ID}}
	if _, _, err := dir.CreateOrg(ctx, directory.Actor{Principal: annC.Principal}, directory.OrgSpec{ID: "acme", Name: "Acme"}); err != nil {
		t.Fatal(err)
	}
	before := cs.writes.Load()
	inv, tok, rev, err := as.Invite(ctx, annC, "acme", "bo@example.com", "viewer")
	if err != nil || tok == "" || rev == 0 {
		t.Fatalf("invite: %+v %q %d %v", inv, tok, rev, err)
	}
	if n := cs.writes.Load() - before; n != 1 {
		t.Errorf("an invitation took %d store transactions, want 1 (authorization, invitation and audit entry together)", n)
	}
	es, _, err := dir.ListAudit(ctx, directory.Actor{Principal: annC.Principal}, "acme", store.AuditFilter{}, store.Page{})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range es {
		if e.Action == "invite" && e.Target == "invitation/"+inv.ID {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d invite entries for invitation/%s, want 1: %+v", n, inv.ID, es)
	}

	// A member without members:create: refused, nothing created.
	if _, _, _, err := as.Invite(ctx, auth.Caller{Identity: auth.Identity{Principal: "user:nobody"}}, "acme", "cy@example.com", "viewer"); err == nil {
		t.Fatal("a non-member invited")
	}
	vs, _, err := as.ListInvitations(ctx, annC, "acme", store.Page{})
	if err != nil || len(vs) != 1 {
		t.Fatalf("invitations after a refusal: %+v %v", vs, err)
	}

	// Revoking an invitation and an API key: one transaction each, the
	// authorization inside it.
	before = cs.writes.Load()
	if _, err := as.RevokeInvitation(ctx, annC, "acme", inv.ID); err != nil {
		t.Fatal(err)
	}
	if n := cs.writes.Load() - before; n != 1 {
		t.Errorf("revoking an invitation took %d store transactions, want 1", n)
	}
	key, _, _, err := as.CreateKey(ctx, annC, "acme", auth.KeySpec{Name: "ci"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := as.RevokeKey(ctx, auth.Caller{Identity: auth.Identity{Principal: "user:nobody"}}, "acme", key.ID); err == nil {
		t.Fatal("a non-member revoked a key")
	}
	before = cs.writes.Load()
	if _, err := as.RevokeKey(ctx, annC, "acme", key.ID); err != nil {
		t.Fatal(err)
	}
	if n := cs.writes.Load() - before; n != 1 {
		t.Errorf("revoking a key took %d store transactions, want 1", n)
	}
}

// hookStore counts store transactions (writes) and runs before, once,
// ahead of the next one — as another writer committing just before it.
type hookStore struct {
	store.Store
	writes atomic.Int64
	before atomic.Pointer[func()]
}

func (h *hookStore) Write(ctx context.Context, fn func(tx store.Tx) error) (uint64, error) {
	h.writes.Add(1)
	if f := h.before.Swap(nil); f != nil {
		(*f)()
	}
	return h.Store.Write(ctx, fn)
}

// TestRevokedPermissionCannotBeUsedByTheNextWrite: an admin demoted to
// viewer by a write committed just before the admin's own invitation,
// key revocation or invitation revocation reaches the store is refused:
// authorization reads the org as of the writing transaction, not as of
// some earlier moment.
func TestRevokedPermissionCannotBeUsedByTheNextWrite(t *testing.T) {
	ctx := context.Background()
	hs := &hookStore{}
	dir, as := openAuth(t, func(st store.Store) store.Store { hs.Store = st; return hs },
		auth.Options{Now: func() time.Time { return time.Unix(1_800_000_000, 0) }})
	owner := directory.Actor{Principal: "user:ann"}
	for _, u := range []string{"ann", "bo", "cy"} {
		if _, _, err := as.Bootstrap(ctx, store.User{ID: u}, "laptop"); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := dir.CreateOrg(ctx, owner, directory.OrgSpec{ID: "acme"}); err != nil {
		t.Fatal(err)
	}
	annC := auth.Caller{Identity: auth.Identity{Principal: "user:ann"}}
	boC := auth.Caller{Identity: auth.Identity{Principal: "user:bo"}}
	if _, _, err := dir.AddMember(ctx, owner, "acme", "cy", "builder"); err != nil {
		t.Fatal(err)
	}
	cyKey, _, _, err := as.CreateKey(ctx, auth.Caller{Identity: auth.Identity{Principal: "user:cy"}}, "acme", auth.KeySpec{Name: "cy"})
	if err != nil {
		t.Fatal(err)
	}
	pending, _, _, err := as.Invite(ctx, annC, "acme", "dee@example.com", "viewer")
	if err != nil {
		t.Fatal(err)
	}
	demoteBoFirst := func() {
		t.Helper()
		if _, _, err := dir.AddMember(ctx, owner, "acme", "bo", "admin"); err != nil {
			t.Fatal(err)
		}
		f := func() {
			if _, _, err := dir.ChangeMemberRole(ctx, owner, "acme", "bo", "viewer"); err != nil {
				t.Errorf("demoting bo: %v", err)
			}
		}
		hs.before.Store(&f)
	}
	for name, try := range map[string]func() error{
		"invite": func() error {
			_, _, _, err := as.Invite(ctx, boC, "acme", "eve@example.com", "viewer")
			return err
		},
		"revoke a key": func() error {
			_, err := as.RevokeKey(ctx, boC, "acme", cyKey.ID)
			return err
		},
		"revoke an invitation": func() error {
			_, err := as.RevokeInvitation(ctx, boC, "acme", pending.ID)
			return err
		},
	} {
		demoteBoFirst()
		if err := try(); !errors.Is(err, directory.ErrForbidden) {
			t.Errorf("%s by an admin demoted just before: %v, want forbidden", name, err)
		}
		if _, err := dir.RemoveMember(ctx, owner, "acme", "bo"); err != nil {
			t.Fatal(err)
		}
	}
	// Nothing happened: cy's key and the pending invitation stand, no
	// invitation for eve.
	if _, err := as.GetKey(ctx, annC, "acme", cyKey.ID); err != nil {
		t.Errorf("cy's key: %v", err)
	}
	vs, _, err := as.ListInvitations(ctx, annC, "acme", store.Page{})
	if err != nil || len(vs) != 1 || vs[0].ID != pending.ID || !vs[0].RevokedAt.IsZero() {
		t.Errorf("invitations: %+v %v", vs, err)
	}
}
