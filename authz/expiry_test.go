package authz

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-dev/gatehouse/policy"
)

// expiryT is the instant the expiring grants of newExpiryFixture end.
var expiryT = time.Date(2030, 6, 1, 12, 0, 0, 0, time.UTC)

func until(b Binding, t time.Time) Binding { b.ExpiresAt = t; return b }

// newExpiryFixture is an org whose grants expire at expiryT: a role at org
// scope, a share of one resource, a team binding, and a role that a share
// made to "role:operator" needs.
func newExpiryFixture(t testing.TB) *Engine {
	t.Helper()
	m := mustPolicy(t, testPolicy)
	d := OrgData{
		Org: "acme", Policy: m, Namespaces: []string{"prod"},
		Principals: []Principal{{ID: "user:alice"}, {ID: "user:bob"}, {ID: "agent:Auditor"}, {ID: "user:olga"}, {ID: "user:perm"}},
		Teams:      []Team{{Slug: "support", Members: []string{"user:bob"}}},
		Resources:  []Resource{{Namespace: "prod", Type: "chains", ID: "x"}, {Namespace: "prod", Type: "chains", ID: "y"}},
		Bindings: []Binding{
			until(roleB("b-alice", "user:alice", "viewer", orgScope()), expiryT),
			until(shareB("b-share", "user:alice", resScope("prod", "chains", "x"), "run"), expiryT),
			until(roleB("b-team", "team:support", "operator", nsScope("prod")), expiryT),
			until(roleB("b-agent", "agent:Auditor", "viewer", nsScope("prod")), expiryT),
			until(roleB("b-olga", "user:olga", "operator", nsScope("prod")), expiryT),
			shareB("b-role", "role:operator", resScope("prod", "chains", "y"), "update"),
			roleB("b-perm", "user:perm", "viewer", orgScope()),
		},
	}
	e := New()
	if err := e.LoadOrg(1, d); err != nil {
		t.Fatal(err)
	}
	return e
}

// TestExpiringGrants: a grant works until its ExpiresAt (exclusive) and
// not from then on, for every way a grant reaches a principal; grants
// without expiry are unaffected.
func TestExpiringGrants(t *testing.T) {
	e := newExpiryFixture(t)
	before, at0, after := at(expiryT.Add(-time.Second)), at(expiryT), at(expiryT.Add(time.Hour))
	runChecks(t, e, []checkCase{
		allow("user:alice", "chains:read", "prod/chains/x", before),
		deny("user:alice", "chains:read", "prod/chains/x", at0),
		deny("user:alice", "chains:read", "prod/chains/x", after),
		allow("user:alice", "chains:run", "prod/chains/x", before),
		deny("user:alice", "chains:run", "prod/chains/x", after),
		allow("user:bob", "chains:run", "prod/chains/x", before), // through team support
		deny("user:bob", "chains:run", "prod/chains/x", after),
		allow("agent:Auditor", "chains:read", "prod/chains/x", before),
		deny("agent:Auditor", "chains:read", "prod/chains/x", after),
		allow("user:olga", "chains:update", "prod/chains/y", before), // a share to a role she holds until expiryT
		deny("user:olga", "chains:update", "prod/chains/y", after),
		allow("user:perm", "chains:read", "prod/chains/x", after),
	})
}

func TestExpiringGrantsExplainAndReason(t *testing.T) {
	e := newExpiryFixture(t)
	req := mkReq("user:alice", "chains:run", "prod/chains/x", at(expiryT.Add(time.Minute)))
	if d := e.CheckWithReason(&req); d.Allowed || d.Reason != ReasonExpired {
		t.Errorf("CheckWithReason = %+v, want a deny with reason %q", d, ReasonExpired)
	}
	ex := e.Explain(&req)
	if ex.Decision.Allowed || len(ex.Near) == 0 {
		t.Fatalf("Explain = %+v, want a deny with a near miss", ex)
	}
	want := "binding b-share expired at 2030-06-01T12:00:00Z"
	if ex.Near[0].Note != want || !ex.Near[0].Binding.ExpiresAt.Equal(expiryT) {
		t.Errorf("first near miss = %+v, want note %q and the binding's expiry", ex.Near[0], want)
	}
	if !strings.Contains(ex.Summary, want) {
		t.Errorf("summary %q does not say %q", ex.Summary, want)
	}
	// Allowed before: the grant is listed with its expiry.
	req.Now = expiryT.Add(-time.Minute)
	ex = e.Explain(&req)
	if !ex.Decision.Allowed || len(ex.Grants) != 1 || !ex.Grants[0].Binding.ExpiresAt.Equal(expiryT) {
		t.Errorf("Explain before expiry = %+v, want one grant carrying expires_at", ex)
	}
	// A principal with no grant at all keeps no_grant.
	none := mkReq("user:perm", "chains:run", "prod/chains/x", at(expiryT.Add(time.Minute)))
	if d := e.CheckWithReason(&none); d.Reason != ReasonNoGrant {
		t.Errorf("reason = %q, want %q", d.Reason, ReasonNoGrant)
	}
}

func TestExpiringGrantsLookups(t *testing.T) {
	e := newExpiryFixture(t)
	q := LookupResourcesRequest{Org: "acme", Principal: "user:alice", Type: "chains", Action: "run", Now: expiryT.Add(-time.Second)}
	page, err := e.LookupResources(q)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]ResourceRef{{Namespace: "prod", Type: "chains", ID: "x"}}, page.Resources); diff != "" {
		t.Errorf("before expiry (-want +got):\n%s", diff)
	}
	q.Now = expiryT
	if page, _ = e.LookupResources(q); len(page.Resources) != 0 {
		t.Errorf("after expiry: %v, want none", page.Resources)
	}
	subs, _, err := e.LookupSubjects(LookupSubjectsRequest{Org: "acme", Namespace: "prod", Type: "chains", ID: "x", Action: "read", Now: expiryT})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]Subject{{Principal: "user:perm"}}, subs); diff != "" {
		t.Errorf("subjects after expiry (-want +got):\n%s", diff)
	}
}

// TestExpiredGrantsCountForNothingAdministrative: an expired binding gives
// no level and covers no permission (the escalation test uses the real
// clock).
func TestExpiredGrantsCountForNothingAdministrative(t *testing.T) {
	m := mustPolicy(t, testPolicy)
	e := New()
	err := e.LoadOrg(1, OrgData{Org: "acme", Policy: m, Principals: []Principal{{ID: "user:a"}},
		Bindings: []Binding{until(roleB("old", "user:a", "owner", orgScope()), past), until(roleB("new", "user:a", "viewer", orgScope()), future)}})
	if err != nil {
		t.Fatal(err)
	}
	if got := e.HighestLevel("acme", "user:a", orgScope()); got != 10 {
		t.Errorf("HighestLevel = %d, want 10 (the expired owner binding does not count)", got)
	}
	if got := e.Missing("acme", "user:a", orgScope(), nil); len(got) != 0 {
		t.Errorf("Missing(nil) = %v", got)
	}
	if got := e.Missing("acme", "user:a", orgScope(), []policy.Permission{{Resource: "chains", Action: "run"}}); len(got) != 1 {
		t.Errorf("Missing(chains:run) = %v, want it missing", got)
	}
	perms, _, err := e.Permissions("acme", "user:a", "default")
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range perms {
		if g.Permission.Action == "*" {
			t.Errorf("Permissions lists %v from the expired owner binding", g)
		}
	}
}

// TestCheckWithExpiringGrantAllocatesNothing: meeting an expiring grant
// reads the clock but allocates nothing.
func TestCheckWithExpiringGrantAllocatesNothing(t *testing.T) {
	e := newExpiryFixture(t)
	for _, c := range []checkCase{
		allow("user:alice", "chains:read", "prod/chains/x", at(expiryT.Add(-time.Hour))),
		deny("user:alice", "chains:read", "prod/chains/x", at(expiryT)),
		allow("user:bob", "chains:run", "prod/chains/x"), // the real clock (2026) is before expiryT
	} {
		req := c.req
		if got := e.Check(&req).Allowed; got != c.want {
			t.Fatalf("%s: got %v", c, got)
		}
		if n := testing.AllocsPerRun(100, func() { e.Check(&req) }); n != 0 {
			t.Errorf("%s: %v allocs per Check, want 0", c, n)
		}
	}
}

// TestNextExpiry: the earliest expiry after an instant among what a
// principal holds — its grants at every scope, its teams' grants and its
// membership — and zero when nothing it holds ends later.
func TestNextExpiry(t *testing.T) {
	e := newExpiryFixture(t)
	early := expiryT.Add(-time.Hour)
	d := OrgData{
		Org: "mortal", Policy: mustPolicy(t, testPolicy), Namespaces: []string{"prod"},
		Principals: []Principal{{ID: "user:temp", ExpiresAt: early}, {ID: "user:res"}},
		Resources:  []Resource{{Namespace: "prod", Type: "chains", ID: "x"}},
		Bindings: []Binding{
			until(roleB("b-temp", "user:temp", "viewer", orgScope()), expiryT),
			until(shareB("b-res", "user:res", resScope("prod", "chains", "x"), "run"), early),
			until(roleB("b-res2", "user:res", "viewer", nsScope("prod")), expiryT),
		},
	}
	if err := e.LoadOrg(2, d); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, org, principal string
		after                time.Time
		want                 time.Time
	}{
		{"org binding and share", "acme", "user:alice", time.Time{}, expiryT},
		{"through a team", "acme", "user:bob", time.Time{}, expiryT},
		{"an agent's binding", "acme", "agent:Auditor", time.Time{}, expiryT},
		{"nothing expires", "acme", "user:perm", time.Time{}, time.Time{}},
		{"already expired", "acme", "user:alice", expiryT, time.Time{}},
		{"the membership first", "mortal", "user:temp", time.Time{}, early},
		{"then the binding", "mortal", "user:temp", early, expiryT},
		{"a resource share first", "mortal", "user:res", time.Time{}, early},
		{"not a member", "acme", "user:nobody", time.Time{}, time.Time{}},
		{"no such org", "nope", "user:alice", time.Time{}, time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Helper()
			if got := e.NextExpiry(tt.org, tt.principal, tt.after); !got.Equal(tt.want) {
				t.Errorf("NextExpiry(%s, %s, %v) = %v, want %v", tt.org, tt.principal, tt.after, got, tt.want)
			}
		})
	}
}
