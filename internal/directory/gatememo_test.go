package directory_test

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/internal/directory"
)

// TestGateMemoEnds: what the org gate remembers of a caller — the right
// to ask about others (bindings:read) and policy:read, which the
// unknown_action warning needs — ends with what it read: at the first
// expiry of a grant, with no new revision, and at any new revision (a
// revocation). dave, a viewer, holds admin for a moment; each step asks
// through the server's path (Member, then an Asker given the gate) twice,
// so that the second asking finds the memo.
func TestGateMemoEnds(t *testing.T) {
	f := newFixture(t)
	aboutFrank := authz.Request{Org: "acme", Principal: "user:frank", Namespace: "default", ResourceType: "chains", ResourceID: "triage", Action: "run"}
	unknown := authz.Request{Org: "acme", Principal: "user:dave", Namespace: "default", ResourceType: "chains", ResourceID: "triage", Action: "frobnicate"}
	// ask reports whether dave may ask about frank and whether his deny
	// of an unknown action is warned about.
	ask := func() (mayAsk, warned bool) {
		t.Helper()
		for range 2 {
			g, member := f.d.Member("acme", dave.Principal)
			if !member {
				t.Fatal("dave is not a member")
			}
			a := f.d.Asker(dave)
			a.Gated(g)
			req := aboutFrank
			_, err := a.Check(f.ctx, &req)
			var fe *directory.ForbiddenError
			if err != nil && !errors.As(err, &fe) {
				t.Fatalf("Check: %v", err)
			}
			mayAsk = err == nil
			req = unknown
			dec, err := a.Check(f.ctx, &req)
			ok(t, "check an unknown action", err)
			warned = len(a.DecisionWarnings(&req, dec)) > 0
		}
		return mayAsk, warned
	}
	if may, warned := ask(); may || warned {
		t.Fatalf("a viewer: may ask about others %v, warned %v; want neither", may, warned)
	}

	// A grant that expires: it holds until then, and not after, though
	// nothing is written in between.
	until := time.Now().Add(1500 * time.Millisecond)
	ok(t, "bind admin", third(f.d.CreateBinding(f.ctx, alice, "acme", directory.BindingSpec{Principal: dave.Principal, Role: "admin",
		Lifetime: directory.Lifetime{ExpiresAt: until}})))
	if may, warned := ask(); !may || !warned {
		t.Fatalf("an admin until %v: may ask about others %v, warned %v; want both", until, may, warned)
	}
	rev := f.d.Revision()
	time.Sleep(time.Until(until) + 20*time.Millisecond)
	if may, warned := ask(); may || warned {
		t.Errorf("after the admin grant expired: may ask about others %v, warned %v; want neither", may, warned)
	}
	if f.d.Revision() != rev {
		t.Fatalf("the revision moved (%d → %d): the expiry was not seen by the clock alone", rev, f.d.Revision())
	}

	// A grant that is revoked: the new revision ends it.
	b, _, err := f.d.CreateBinding(f.ctx, alice, "acme", directory.BindingSpec{Principal: dave.Principal, Role: "admin"})
	ok(t, "bind admin", err)
	if may, warned := ask(); !may || !warned {
		t.Fatalf("an admin: may ask about others %v, warned %v; want both", may, warned)
	}
	ok(t, "unbind admin", second(f.d.DeleteBinding(f.ctx, alice, "acme", b.ID)))
	if may, warned := ask(); may || warned {
		t.Errorf("after the admin binding was deleted: may ask about others %v, warned %v; want neither", may, warned)
	}
}

// TestGateMemoEndsAtClockSuspension: an actor that the org's inactivity
// rule suspends at T, with nothing written, is remembered by the gate
// (it no longer has to decide again on every question) — until T, and
// not an instant longer: asked around T, the gate answers as one that
// remembers nothing (Options.NoGateMemo) does, each answer asked twice
// so that the second finds the memo. Service watch (admin, opted in to
// the org's rules) asks about alice (bindings:read; not a use of watch,
// which would be recorded and move T).
func TestGateMemoEndsAtClockSuspension(t *testing.T) {
	t.Parallel()
	const idle = 2 * time.Second
	type answer struct{ AboutAlice string }
	open := func(noMemo bool) (ask func() answer, flip time.Time) {
		t.Helper()
		ctx := ctxT(t)
		st := openSQLite(t)
		d := openDir(t, st, directory.Options{CatchUpTimeout: 10 * time.Second, NoGateMemo: noMemo})
		mustUsers(t, d, "alice")
		ok(t, "create acme", third(d.CreateOrg(ctx, alice, directory.OrgSpec{ID: "acme"})))
		ok(t, "create watch", third(d.CreateService(ctx, alice, "acme", directory.ServiceSpec{Name: "watch", Role: "admin",
			Sponsors: []string{alice.Principal}, Lifecycle: true})))
		ok(t, "set the rules", third(d.SetOrgLifecycle(ctx, alice, "acme", authz.LifecycleSettings{InactiveAfter: idle})))
		sv, err := st.GetService(ctx, "acme", "watch")
		ok(t, "get watch", err)
		watch := directory.Actor{Principal: "service:watch"}
		one := func(principal string) string {
			t.Helper()
			var out string
			for range 2 {
				g, member := d.Member("acme", watch.Principal)
				if !member {
					return "not a member"
				}
				a := d.Asker(watch)
				a.Gated(g)
				req := authz.Request{Org: "acme", Principal: principal, Namespace: "default", ResourceType: "chains", ResourceID: "triage", Action: "run"}
				dec, err := a.Check(ctx, &req)
				var fe *directory.ForbiddenError
				switch {
				case errors.As(err, &fe):
					out = "forbidden"
				case err != nil:
					t.Fatalf("Check: %v", err)
				default:
					out = "asked: " + string(dec.Reason)
				}
			}
			return out
		}
		return func() answer { return answer{one("user:alice")} }, sv.LifecycleOf().LastUsedAt.Add(idle)
	}
	memo, memoFlip := open(false)
	none, noneFlip := open(true)
	first, last := memoFlip, noneFlip
	if last.Before(first) {
		first, last = last, first
	}
	if time.Until(first) < 200*time.Millisecond {
		t.Skip("the machine took the rule's 2 s to set up: nothing to observe")
	}
	got := map[string][2]answer{"before T": {memo(), none()}}
	time.Sleep(time.Until(last) + 20*time.Millisecond)
	got["after T"] = [2]answer{memo(), none()}
	for when, a := range got {
		if diff := cmp.Diff(a[1], a[0]); diff != "" {
			t.Errorf("%s: the gate without (-) and with (+) its memo differ:\n%s", when, diff)
		}
	}
	if b, a := got["before T"][1], got["after T"][1]; b.AboutAlice != "asked: " || a.AboutAlice != "forbidden" {
		t.Errorf("without the memo: before T %+v, after T %+v; want allowed to ask, then not", b, a)
	}
}
