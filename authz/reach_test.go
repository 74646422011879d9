package authz

import (
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-dev/gatehouse/policy"
)

func reachHasAsks(r Reach) bool {
	for _, nr := range r.Namespaces {
		for _, e := range nr.Entries {
			if len(e.Asks) > 0 {
				return true
			}
		}
	}
	return false
}

func TestReach(t *testing.T) {
	m := mustPolicy(t, testPolicy)
	d := OrgData{
		Org: "acme", Policy: m, Namespaces: []string{"prod"},
		Principals: []Principal{{ID: "user:alice"}, {ID: "user:bob"}, {ID: "agent:Triage"}, {ID: "user:gone", ExpiresAt: past}},
		Teams:      []Team{{Slug: "support", Members: []string{"user:alice"}}},
		Resources: []Resource{{Namespace: "prod", Type: "chains", ID: "x"}, {Namespace: "prod", Type: "chains", ID: "y"},
			{Namespace: "default", Type: "chains", ID: "z"}, {Namespace: "prod", Type: "tools", ID: "t"}},
		Bindings: []Binding{
			roleB("b1", "user:alice", "viewer", nsScope("prod")),
			shareB("b2", "team:support", resScope("prod", "tools", "t"), "delete"),
			condB("b3", "user:alice", "operator", orgScope(), "business_hours"),
			until(shareB("b4", "user:alice", resScope("prod", "chains", "y"), "update"), past), // expired
			roleB("b5", "agent:Triage", "owner", nsScope("prod")),                              // capped by its ceiling, operator
		},
	}
	e := New()
	if err := e.LoadOrg(1, d); err != nil {
		t.Fatal(err)
	}
	r, err := e.Reach("acme", "user:alice", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	perm := policy.MustPermission
	want := []NamespaceReach{
		{Namespace: "default", Entries: []ReachEntry{
			{Permission: perm("chains:run"), Resources: 1, Conditions: []string{"business_hours"}, Rank: 2},
			{Permission: perm("decisions:approve"), Conditions: []string{"business_hours"}, Rank: 2},
			{Permission: perm("audit:read"), Conditions: []string{"business_hours"}, Rank: 3},
			{Permission: perm("chains:read"), Resources: 1, Conditions: []string{"business_hours"}, Rank: 3},
		}},
		{Namespace: "prod", Entries: []ReachEntry{
			{Permission: perm("tools:delete"), Resource: ResourceRef{Namespace: "prod", Type: "tools", ID: "t"}, Resources: 1, Rank: 1},
			{Permission: perm("chains:run"), Resources: 2, Conditions: []string{"business_hours"}, Rank: 2},
			{Permission: perm("decisions:approve"), Conditions: []string{"business_hours"}, Rank: 2},
			{Permission: perm("audit:read"), Rank: 3},
			{Permission: perm("chains:read"), Resources: 2, Rank: 3},
		}},
	}
	if diff := cmp.Diff(want, r.Namespaces); diff != "" {
		t.Errorf("alice's reach (-want +got):\n%s", diff)
	}
	if r, err := e.Reach("acme", "user:gone", time.Time{}); err != nil || r.Status != ReasonExpired || len(r.Namespaces) != 0 {
		t.Errorf("an expired principal's reach = %+v, %v", r, err)
	}
	if _, err := e.Reach("acme", "user:nobody", time.Time{}); err == nil {
		t.Error("a non-member's reach is not an error")
	}
	if _, err := e.Reach("acme", "team:support", time.Time{}); err == nil {
		t.Error("a team's reach is not an error")
	}
}

// BenchmarkReach1M: the reach of an agent with 20 bindings in one org of
// 1,000,000 bindings (100,000 users, 5 namespaces, 10,000 resources).
func BenchmarkReach1M(b *testing.B) { benchReach1M(b, false) }

// BenchmarkReach1MAsks is BenchmarkReach1M where every role has an ask
// rule: the entries are marked with the rules that apply.
func BenchmarkReach1MAsks(b *testing.B) { benchReach1M(b, true) }

func benchReach1M(b *testing.B, asks bool) {
	data := buildSynth(b, synth{orgs: 1, namespaces: 5, users: 100000, roles: 20, types: 10, resources: 10000, bindingsPerOrg: 1_000_000})
	d := &data[0]
	if asks {
		d.Policy = mustPolicy(b, synthPolicyText(20, 10, true))
	}
	d.Principals = append(d.Principals, Principal{ID: "agent:Bot", Role: "super"})
	for i := range 20 {
		sc := Scope{Namespace: d.Namespaces[i%len(d.Namespaces)]}
		if i%2 == 1 {
			r := d.Resources[i*37]
			sc = Scope{Namespace: r.Namespace, Type: r.Type, ID: r.ID}
		}
		d.Bindings = append(d.Bindings, Binding{ID: "bot" + strconv.Itoa(i), Principal: "agent:Bot", Role: "r" + strconv.Itoa(i), Scope: sc})
	}
	e := loadSynth(b, data)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		r, err := e.Reach(d.Org, "agent:Bot", time.Time{})
		if err != nil || len(r.Namespaces) == 0 {
			b.Fatal(r, err)
		}
		if asks != reachHasAsks(r) {
			b.Fatalf("asks in the policy %v, marked in the reach %v", asks, !asks)
		}
	}
}
