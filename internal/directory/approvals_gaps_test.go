package directory_test

import (
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/directory"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// TestApprovalLifetimesFromOrg: the server's options (gatehouse serve
// --approval-pending-ttl, --approval-use-window) are the lifetimes of an
// org that sets nothing; an org's own settings win for approvals asked
// for and granted after they change.
func TestApprovalLifetimesFromOrg(t *testing.T) {
	f := newApvFixture(t, nil, directory.Options{Approvals: directory.ApprovalOptions{PendingTTL: 3 * time.Hour, UseWindow: 7 * time.Minute}})
	bob := user("bob")
	near := func(what string, got, want time.Duration) {
		t.Helper()
		if got < want-time.Minute || got > want+time.Minute {
			t.Errorf("%s: %v, want about %v", what, got, want)
		}
	}
	asked := time.Now()
	_, ap, err := f.check(bob, "user:bob", "update", `{"n":1}`, "")
	ok(t, "ask", err)
	near("pending with the server's default", ap.ExpiresAt.Sub(asked), 3*time.Hour)
	ok(t, "ann", second(f.d.DecideApproval(f.ctx, user("ann"), "acme", ap.ID, true, "")))
	granted, err := f.d.DecideApproval(f.ctx, user("amy"), "acme", ap.ID, true, "")
	ok(t, "amy", err)
	if got := granted.UseBy.Sub(granted.GrantedAt); got != 7*time.Minute {
		t.Errorf("use window with the server's default: %v", got)
	}

	wantErr(t, "a builder setting them", third(f.d.SetOrgApprovalSettings(f.ctx, bob, "acme", store.ApprovalSettings{PendingTTL: time.Hour})), directory.ErrForbidden)
	wantErr(t, "below a minute", third(f.d.SetOrgApprovalSettings(f.ctx, user("alice"), "acme", store.ApprovalSettings{UseWindow: time.Second})), directory.ErrInvalid)
	ok(t, "set", third(f.d.SetOrgApprovalSettings(f.ctx, user("alice"), "acme", store.ApprovalSettings{PendingTTL: time.Hour, UseWindow: 2 * time.Minute})))
	asked = time.Now()
	_, ap, err = f.check(bob, "user:bob", "update", `{"n":2}`, "")
	ok(t, "ask again", err)
	near("pending with the org's setting", ap.ExpiresAt.Sub(asked), time.Hour)
	ok(t, "ann", second(f.d.DecideApproval(f.ctx, user("ann"), "acme", ap.ID, true, "")))
	granted, err = f.d.DecideApproval(f.ctx, user("amy"), "acme", ap.ID, true, "")
	ok(t, "amy", err)
	if got := granted.UseBy.Sub(granted.GrantedAt); got != 2*time.Minute {
		t.Errorf("use window with the org's setting: %v", got)
	}
}
