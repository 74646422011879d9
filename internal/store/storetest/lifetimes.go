package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// testBindingExpiry: a binding's expires_at round-trips through every read
// (get, list, LoadOrg, the changelog), must lie in the future when the
// binding is created, and DeleteExpiredBindings removes exactly the
// bindings expired by its cut-off, in one org, each as a changelog entry.
func testBindingExpiry(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	f := seed(t, s, "a")
	seed(t, s, "b")
	var now time.Time
	write(t, s, func(ctx context.Context, tx store.Tx) error { now = tx.Now(); return nil })
	soon := now.Add(time.Hour).Truncate(time.Microsecond)
	later := now.Add(48 * time.Hour).Truncate(time.Microsecond)
	res := authz.Scope{Namespace: "prod", Type: "chains", ID: "triage"}
	rev0 := write(t, s, func(ctx context.Context, tx store.Tx) error {
		for _, org := range []string{"a", "b"} {
			for _, b := range []authz.Binding{
				{ID: "soon", Principal: "user:bob", Role: "viewer", ExpiresAt: soon.Add(123 * time.Nanosecond)}, // stored to the microsecond
				{ID: "later", Principal: "user:bob", Actions: []string{"run"}, Scope: res, ExpiresAt: later.In(time.FixedZone("X", 3600))},
				{ID: "forever", Principal: "user:bob", Role: "operator", Scope: authz.Scope{Namespace: "prod"}},
			} {
				if _, err := tx.CreateBinding(ctx, store.Binding{Org: org, Binding: b}); err != nil {
					return err
				}
			}
		}
		return nil
	})
	want := map[string]time.Time{"soon": soon, "later": later, "forever": {}}
	for id, exp := range want {
		b := must(s.GetBinding(ctx, f.org, id)).get(t)
		if !b.ExpiresAt.Equal(exp) || (!exp.IsZero() && b.ExpiresAt.Location() != time.UTC) {
			t.Errorf("GetBinding(%s).ExpiresAt = %v, want %v in UTC", id, b.ExpiresAt, exp)
		}
	}
	bs, _, err := s.ListBindings(ctx, f.org, store.BindingFilter{Principal: "user:bob"}, store.Page{})
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range bs {
		if exp, ok := want[b.ID]; ok && !b.ExpiresAt.Equal(exp) {
			t.Errorf("ListBindings %s: expires_at %v, want %v", b.ID, b.ExpiresAt, exp)
		}
	}
	snap := must(s.LoadOrg(ctx, f.org)).get(t)
	for _, b := range snap.Bindings {
		if exp, ok := want[b.ID]; ok && !b.ExpiresAt.Equal(exp) {
			t.Errorf("LoadOrg %s: expires_at %v, want %v", b.ID, b.ExpiresAt, exp)
		}
	}
	for _, c := range changes(t, s, rev0-1) {
		if c.Org != f.org || c.Kind != store.KindBindingPut {
			continue
		}
		b := must(c.Decode()).get(t).(store.Binding)
		if !b.ExpiresAt.Equal(want[b.ID]) {
			t.Errorf("changelog %s: expires_at %v, want %v", b.ID, b.ExpiresAt, want[b.ID])
		}
	}

	for _, tc := range []struct {
		name string
		exp  time.Time
	}{{"in the past", now.Add(-time.Hour)}, {"now", now.Add(-time.Microsecond)}} {
		wantErr(t, "expires_at "+tc.name, writeErr(t, s, func(ctx context.Context, tx store.Tx) error {
			_, err := tx.CreateBinding(ctx, store.Binding{Org: f.org, Binding: authz.Binding{Principal: "user:bob", Role: "viewer", ExpiresAt: tc.exp}})
			return err
		}), store.ErrInvalid)
	}
	for _, limit := range []int{0, -1, 10001} {
		wantErr(t, "DeleteExpiredBindings bad limit", writeErr(t, s, func(ctx context.Context, tx store.Tx) error {
			_, err := tx.DeleteExpiredBindings(ctx, f.org, later, limit)
			return err
		}), store.ErrInvalid)
	}

	purge := func(before time.Time, limit int) (int, uint64) {
		var n int
		rev := write(t, s, func(ctx context.Context, tx store.Tx) error {
			var err error
			n, err = tx.DeleteExpiredBindings(ctx, f.org, before, limit)
			return err
		})
		return n, rev
	}
	if n, _ := purge(soon.Add(-time.Second), 100); n != 0 {
		t.Errorf("before anything expired: deleted %d", n)
	}
	n, rev := purge(later.Add(time.Second), 1)
	if n != 1 {
		t.Errorf("limit 1: deleted %d", n)
	}
	diff(t, "changelog of the first purge", []string{"binding.delete soon"}, kinds(changes(t, s, rev-1)))
	if n, _ := purge(later, 100); n != 1 {
		t.Errorf("second purge (at exactly later): deleted %d, want 1", n)
	}
	left, _, err := s.ListBindings(ctx, f.org, store.BindingFilter{Principal: "user:bob"}, store.Page{})
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range left {
		if b.ID == "soon" || b.ID == "later" {
			t.Errorf("binding %s survived the purge", b.ID)
		}
	}
	for _, id := range []string{"soon", "later", "forever"} {
		if _, err := s.GetBinding(ctx, "b", id); err != nil {
			t.Errorf("org b's binding %s: %v (a purge of org a touched it)", id, err)
		}
	}
}
