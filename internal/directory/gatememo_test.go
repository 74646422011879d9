package directory_test

import (
	"errors"
	"testing"
	"time"

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
