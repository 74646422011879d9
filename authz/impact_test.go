package authz

import (
	"fmt"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/cputime"
	"github.com/gatehouse-dev/gatehouse/policy"
	"github.com/google/go-cmp/cmp"
)

const impactPolicy = `
condition business_hours = "context.hour >= 9 && context.hour < 18"
role viewer level 10 { permission chains { read } }
role operator: viewer level 30 { permission chains { run } }
role builder: operator level 50 { permission chains { create, update } }
role admin level 100 { permission * { * } }
agent Triage: operator { can run chains }
`

func impactOrg() *OrgData {
	return &OrgData{
		Org:        "acme",
		Policy:     policy.MustLoad("old.policy", impactPolicy),
		Namespaces: []string{"default", "prod"},
		Principals: []Principal{{ID: "user:ann"}, {ID: "user:bob"}, {ID: "user:cat"}, {ID: "user:dan"}, {ID: "user:eve"}, {ID: "agent:Triage"}},
		Teams:      []Team{{Slug: "builders", Members: []string{"user:bob"}}},
		Resources:  []Resource{{Namespace: "prod", Type: "chains", ID: "nightly"}},
		Bindings: []Binding{
			{ID: "b1", Principal: "user:ann", Role: "builder"},
			{ID: "b2", Principal: "team:builders", Role: "builder", Scope: Scope{Namespace: "prod"}},
			{ID: "b3", Principal: "user:cat", Role: "viewer"},
			{ID: "b4", Principal: "user:dan", Role: "admin"},
			{ID: "b5", Principal: "user:dan", Role: "builder"},
			{ID: "b6", Principal: "user:eve", Role: "builder", Condition: "business_hours"},
			{ID: "b7", Principal: "user:cat", Role: "operator", Scope: Scope{Namespace: "prod", Type: "chains", ID: "nightly"}},
			{ID: "b8", Principal: "agent:Triage", Role: "operator"},
		},
	}
}

func perm(s string) policy.Permission { return policy.MustPermission(s) }

func TestPolicyImpact(t *testing.T) {
	tests := []struct {
		name, change string // change: replace the first string with the second in impactPolicy
		from         string
		want         []ImpactEntry
		roles        []string
	}{
		{
			name: "builder gains delete",
			from: "permission chains { create, update }", change: "permission chains { create, update, delete }",
			want: []ImpactEntry{
				{Principal: "user:ann", Permission: perm("chains:delete"), Change: ImpactGained},
				{Principal: "user:bob", Scope: Scope{Namespace: "prod"}, Permission: perm("chains:delete"), Change: ImpactGained},
				// dan holds *:* already; eve only in business hours.
				{Principal: "user:eve", Permission: perm("chains:delete"), Change: ImpactGained, Conditions: []string{"business_hours"}},
			},
			roles: []string{"builder"},
		},
		{
			name: "operator loses run: everyone below builder, and the agent's ceiling",
			from: "permission chains { run }", change: "permission decisions { approve }",
			want: []ImpactEntry{
				{Principal: "agent:Triage", Permission: perm("chains:run"), Change: ImpactLost},
				{Principal: "agent:Triage", Permission: perm("decisions:approve"), Change: ImpactGained},
				{Principal: "user:ann", Permission: perm("chains:run"), Change: ImpactLost},
				{Principal: "user:ann", Permission: perm("decisions:approve"), Change: ImpactGained},
				{Principal: "user:bob", Scope: Scope{Namespace: "prod"}, Permission: perm("chains:run"), Change: ImpactLost},
				{Principal: "user:bob", Scope: Scope{Namespace: "prod"}, Permission: perm("decisions:approve"), Change: ImpactGained},
				{Principal: "user:cat", Scope: Scope{Namespace: "prod", Type: "chains", ID: "nightly"}, Permission: perm("chains:run"), Change: ImpactLost},
				{Principal: "user:eve", Permission: perm("chains:run"), Change: ImpactLost, Conditions: []string{"business_hours"}},
				{Principal: "user:eve", Permission: perm("decisions:approve"), Change: ImpactGained, Conditions: []string{"business_hours"}},
			},
			roles: []string{"builder", "operator"},
		},
		{
			name: "a changed condition changes conditional holders only",
			from: `context.hour >= 9`, change: `context.hour >= 8`,
			want: nil, // the grants are the same patterns under the same condition name
		},
		{
			name: "no change",
			from: "", change: "",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := impactPolicy
			if tc.from != "" {
				src = replaceOnce(t, src, tc.from, tc.change)
			}
			next := policy.MustLoad("new.policy", src)
			got, err := PolicyImpact(impactOrg(), next)
			wantEntries(t, tc.want, got, err)
			if tc.roles == nil {
				tc.roles = []string{}
			}
			if diff := cmp.Diff(tc.roles, got.Summary.RolesChanged); diff != "" {
				t.Errorf("roles changed (-want +got):\n%s", diff)
			}
			checkImpactAgainstEngine(t, impactOrg(), next, got)
		})
	}
}

func replaceOnce(t *testing.T, s, old, new string) string {
	t.Helper()
	for i := 0; i+len(old) <= len(s); i++ {
		if s[i:i+len(old)] == old {
			return s[:i] + new + s[i+len(old):]
		}
	}
	t.Fatalf("%q not in the policy", old)
	return ""
}

// checkImpactAgainstEngine: every unconditional entry on a concrete
// permission is what Check says before and after, at that scope.
func checkImpactAgainstEngine(t *testing.T, before *OrgData, next *policy.Model, imp Impact) {
	t.Helper()
	after := *before
	after.Policy = next
	e0, e1 := New(), New()
	if err := e0.LoadOrg(1, *before); err != nil {
		t.Fatal(err)
	}
	if err := e1.LoadOrg(1, after); err != nil {
		t.Fatal(err)
	}
	for _, x := range imp.Entries {
		if x.Permission.IsWildcard() || len(x.Conditions) > 0 {
			continue
		}
		req := &Request{Org: before.Org, Principal: x.Principal, Namespace: x.Scope.Namespace,
			ResourceType: x.Permission.Resource, ResourceID: x.Scope.ID, Action: x.Permission.Action}
		a0, a1 := e0.Check(req).Allowed, e1.Check(req).Allowed
		if want := x.Change == ImpactGained; a1 != want || a0 == want {
			t.Errorf("%+v: engine says before %v, after %v", x, a0, a1)
		}
	}
}

func TestBindingImpact(t *testing.T) {
	tests := []struct {
		name   string
		add    []Binding
		remove []string
		want   []ImpactEntry
	}{
		{
			name: "binding a viewer as operator in prod",
			add:  []Binding{{ID: "new", Principal: "user:cat", Role: "operator", Scope: Scope{Namespace: "prod"}}},
			want: []ImpactEntry{{Principal: "user:cat", Scope: Scope{Namespace: "prod"}, Permission: perm("chains:run"), Change: ImpactGained}},
		},
		{
			name:   "removing the team's binding",
			remove: []string{"b2"},
			want: []ImpactEntry{
				{Principal: "user:bob", Scope: Scope{Namespace: "prod"}, Permission: perm("chains:create"), Change: ImpactLost},
				{Principal: "user:bob", Scope: Scope{Namespace: "prod"}, Permission: perm("chains:read"), Change: ImpactLost},
				{Principal: "user:bob", Scope: Scope{Namespace: "prod"}, Permission: perm("chains:run"), Change: ImpactLost},
				{Principal: "user:bob", Scope: Scope{Namespace: "prod"}, Permission: perm("chains:update"), Change: ImpactLost},
			},
		},
		{
			name: "a redundant binding changes nothing",
			add:  []Binding{{ID: "new", Principal: "user:dan", Role: "viewer"}},
		},
		{
			name: "a share on one resource",
			add:  []Binding{{ID: "new", Principal: "user:ann", Actions: []string{"delete"}, Scope: Scope{Namespace: "prod", Type: "chains", ID: "nightly"}}},
			want: []ImpactEntry{{Principal: "user:ann", Scope: Scope{Namespace: "prod", Type: "chains", ID: "nightly"}, Permission: perm("chains:delete"), Change: ImpactGained}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := BindingImpact(impactOrg(), tc.add, tc.remove)
			wantEntries(t, tc.want, got, err)
		})
	}
}

// wantEntries compares an impact's entries (nil want: none).
func wantEntries(t *testing.T, want []ImpactEntry, got Impact, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	if want == nil {
		want = []ImpactEntry{}
	}
	if diff := cmp.Diff(want, got.Entries); diff != "" {
		t.Errorf("entries (-want +got):\n%s", diff)
	}
}

// benchImpactOrg: 100,000 bindings over 20,000 users, 50 namespaces and
// 100 teams; each user holds roles at org scope, in namespaces and on
// resources.
func benchImpactOrg() *OrgData {
	d := &OrgData{Org: "big", Policy: policy.MustLoad("old.policy", impactPolicy), Namespaces: []string{"default"}}
	for i := range 50 {
		d.Namespaces = append(d.Namespaces, fmt.Sprintf("ns%d", i))
	}
	roles := []string{"viewer", "operator", "builder", "viewer", "operator"}
	for i := range 100 {
		d.Teams = append(d.Teams, Team{Slug: fmt.Sprintf("team%d", i)})
	}
	for u := range 20_000 {
		id := fmt.Sprintf("user:u%d", u)
		d.Principals = append(d.Principals, Principal{ID: id})
		d.Teams[u%100].Members = append(d.Teams[u%100].Members, id)
		for k := range 5 {
			b := Binding{ID: fmt.Sprintf("b%d-%d", u, k), Principal: id, Role: roles[(u+k)%len(roles)]}
			switch k {
			case 1, 2, 3:
				b.Scope = Scope{Namespace: fmt.Sprintf("ns%d", (u+k)%50)}
			case 4:
				b.Scope = Scope{Namespace: fmt.Sprintf("ns%d", u%50), Type: "chains", ID: fmt.Sprintf("c%d", u)}
				d.Resources = append(d.Resources, Resource{Namespace: b.Scope.Namespace, Type: "chains", ID: b.Scope.ID})
			}
			d.Bindings = append(d.Bindings, b)
		}
	}
	return d
}

// BenchmarkPolicyImpact100k: a change to one role (builder gains
// chains:delete) in an org with 100,000 bindings. The target is ≤ 1 s an
// operation (docs/impact.md).
func BenchmarkPolicyImpact100k(b *testing.B) {
	d := benchImpactOrg()
	if len(d.Bindings) != 100_000 {
		b.Fatalf("%d bindings", len(d.Bindings))
	}
	next := policy.MustLoad("new.policy", replaceOnce(&testing.T{}, impactPolicy, "permission chains { create, update }", "permission chains { create, update, delete }"))
	b.ResetTimer()
	// Includes the GC's work on other cores, so it can exceed wall time.
	defer cputime.PerOp(b)()
	for b.Loop() {
		imp, err := PolicyImpact(d, next)
		if err != nil {
			b.Fatal(err)
		}
		if imp.Summary.Gained == 0 {
			b.Fatal("no gains")
		}
	}
}

// Many principals are analysed in parallel; the answer is the same as one
// by one: every builder gains, in principal order.
func TestPolicyImpactManyPrincipals(t *testing.T) {
	d := &OrgData{Org: "many", Policy: policy.MustLoad("old.policy", impactPolicy)}
	var want []ImpactEntry
	for i := range 1200 {
		id := fmt.Sprintf("user:u%04d", i)
		d.Principals = append(d.Principals, Principal{ID: id})
		d.Bindings = append(d.Bindings, Binding{ID: fmt.Sprintf("b%d", i), Principal: id, Role: "builder"})
		want = append(want, ImpactEntry{Principal: id, Permission: perm("chains:delete"), Change: ImpactGained})
	}
	next := policy.MustLoad("new.policy", replaceOnce(t, impactPolicy, "permission chains { create, update }", "permission chains { create, update, delete }"))
	got, err := PolicyImpact(d, next)
	wantEntries(t, want, got, err)
	if got.Summary.Principals != 1200 || got.Summary.Gained != 1200 {
		t.Errorf("summary %+v", got.Summary)
	}
}
