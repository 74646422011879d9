package directory_test

import (
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/internal/directory"
)

// TestPointInTime: after every write of a history (bindings made and
// removed, a member leaving, a share that expires, a policy edit), the
// live decisions of a set of questions are recorded; rebuilding any past
// revision from the changelog answers each question exactly as the live
// engine did then, by revision and by instant. Points in the future or
// before the org existed are refused.
func TestPointInTime(t *testing.T) {
	f := newFixture(t)
	chain := authz.ResourceRef{Namespace: "prod", Type: "chains", ID: "x"}
	questions := []authz.Request{
		{Org: "acme", Principal: "user:dave", Namespace: "prod", ResourceType: "chains", ResourceID: "x", Action: "run"},
		{Org: "acme", Principal: "user:dave", ResourceType: "chains", ResourceID: "triage", Action: "run"},
		{Org: "acme", Principal: "user:frank", Namespace: "prod", ResourceType: "chains", ResourceID: "x", Action: "read"},
		{Org: "acme", Principal: "user:carol", ResourceType: "chains", ResourceID: "triage", Action: "update"},
	}
	type point struct {
		rev  uint64
		when time.Time
		want []authz.Decision
	}
	var history []point
	record := func() {
		t.Helper()
		p := point{rev: f.d.Revision(), when: time.Now()}
		for _, q := range questions {
			d, err := f.d.Check(f.ctx, alice, q, 0)
			ok(t, "check", err)
			d.Revision = 0
			p.want = append(p.want, d)
		}
		history = append(history, p)
		time.Sleep(2 * time.Millisecond) // distinct instants for at_time
	}
	record()
	b, _, err := f.d.CreateBinding(f.ctx, alice, "acme", directory.BindingSpec{Principal: "user:dave", Role: "operator", Scope: authz.Scope{Namespace: "prod"}})
	ok(t, "bind dave", err)
	record()
	ok(t, "share triage with dave briefly", third(f.d.ShareFor(f.ctx, alice, "acme", triage, "user:dave", []string{"run"}, directory.Lifetime{For: 50 * time.Millisecond})))
	record()
	time.Sleep(60 * time.Millisecond) // the share expires: no write, yet the answer changes
	record()
	ok(t, "unbind dave", second(f.d.DeleteBinding(f.ctx, alice, "acme", b.ID)))
	record()
	ok(t, "frank leaves", second(f.d.RemoveMember(f.ctx, alice, "acme", "frank")))
	record()
	_ = chain

	for i, p := range history {
		for j, q := range questions {
			byTime, err := f.d.CheckAt(f.ctx, alice, q, directory.At{Time: p.when})
			ok(t, "check at time", err)
			byTime.Revision = 0
			if byTime.Allowed != p.want[j].Allowed || byTime.Reason != p.want[j].Reason {
				t.Errorf("point %d (%s), question %d at_time: %+v, live it was %+v", i, p.when.Format(time.RFC3339Nano), j, byTime, p.want[j])
			}
			if i == 3 {
				continue // the expiry changed the answer without a revision: only the instant says it
			}
			byRev, err := f.d.CheckAt(f.ctx, alice, q, directory.At{Revision: p.rev})
			ok(t, "check at revision", err)
			if byRev.Revision != p.rev {
				t.Errorf("answered at revision %d, want %d", byRev.Revision, p.rev)
			}
			if byRev.Allowed != p.want[j].Allowed {
				t.Errorf("point %d (revision %d), question %d at_revision: %+v, live it was %+v", i, p.rev, j, byRev, p.want[j])
			}
		}
	}
	ex, err := f.d.ExplainAt(f.ctx, alice, questions[0], directory.At{Revision: history[1].rev})
	ok(t, "explain at", err)
	if !ex.Decision.Allowed || len(ex.Grants) == 0 {
		t.Errorf("explain at revision %d: %+v", history[1].rev, ex)
	}
	for _, tc := range []struct {
		name string
		at   directory.At
	}{
		{"a future revision", directory.At{Revision: f.d.Revision() + 10}},
		{"a future instant", directory.At{Time: time.Now().Add(time.Hour)}},
		{"before the org existed", directory.At{Revision: 1}},
		{"both", directory.At{Revision: 1, Time: time.Now()}},
	} {
		wantErr(t, tc.name, second(f.d.CheckAt(f.ctx, alice, questions[0], tc.at)), directory.ErrInvalid)
	}
	// Asking about the past needs what asking now needs.
	wantErr(t, "a viewer asks about dave", second(f.d.CheckAt(f.ctx, dave, questions[2], directory.At{Revision: history[1].rev})), directory.ErrForbidden)
}
