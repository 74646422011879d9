package bench

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/casbin/casbin/v2"
	"github.com/casbin/casbin/v2/model"
	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/google/go-cmp/cmp"
)

// These tests pin down what the benchmarks measure: the dataset shapes, the
// request mixes, the Casbin mapping, and that both engines agree with the
// reference evaluator on the smaller datasets.

// must(t).gen(generator(...)) fails the test when generation fails.
func must(t *testing.T) mustT { return mustT{t} }

type mustT struct{ t *testing.T }

func (m mustT) gen(d *Dataset, err error) *Dataset {
	m.t.Helper()
	if err != nil {
		m.t.Fatal(err)
	}
	return d
}

// WantLookup is every chain of LookupNamespace in the lookup org, ordered by
// (namespace, type, id): what the reader's lookup must return.
func WantLookup(d *Dataset) []authz.ResourceRef {
	var out []authz.ResourceRef
	for _, r := range d.Orgs[0].Resources {
		if r.Namespace == LookupNamespace && r.Type == "chains" {
			out = append(out, authz.ResourceRef{Namespace: r.Namespace, Type: r.Type, ID: r.ID})
		}
	}
	slices.SortFunc(out, func(a, b authz.ResourceRef) int {
		return strings.Compare(a.Namespace+"\x00"+a.Type+"\x00"+a.ID, b.Namespace+"\x00"+b.Type+"\x00"+b.ID)
	})
	return out
}

// CheckLookup verifies the lookup result against WantLookup and against
// Check (a listed chain is allowed, a chain of another namespace denied).
func CheckLookup(e *authz.Engine, d *Dataset, q authz.LookupResourcesRequest) error {
	got, err := lookupAll(e, q, nil)
	if err != nil {
		return err
	}
	want := WantLookup(d)
	if diff := cmp.Diff(want, got); diff != "" {
		if len(diff) > 2000 {
			diff = diff[:2000] + "..."
		}
		return fmt.Errorf("%w: lookup (-want +got), %d vs %d resources:\n%s", ErrDisagree, len(want), len(got), diff)
	}
	in := NewRequest(q.Org, q.Principal, want[0].Namespace, "chains", want[0].ID, q.Action)
	out := NewRequest(q.Org, q.Principal, "ns000", "chains", want[0].ID, q.Action)
	if !e.Check(&in.Gatehouse).Allowed || e.Check(&out.Gatehouse).Allowed {
		return fmt.Errorf("%w: Check disagrees with the lookup", ErrDisagree)
	}
	return nil
}

func TestCasbinShapeIsCasbinsBenchmark(t *testing.T) {
	d := must(t).gen(CasbinShape("small", 100, 10, 1000, 1))
	od := d.Orgs[0]
	for _, c := range []struct {
		what      string
		got, want int
	}{
		{"roles", len(d.Model.Roles), 100},
		{"resources", len(od.Resources), 10},
		{"users", len(od.Principals), 1000},
		{"bindings", len(od.Bindings), 1000},
		{"casbin p rules", len(d.CasbinP), 100},
		{"casbin g rules", len(d.CasbinG), 1000},
	} {
		if c.got != c.want {
			t.Errorf("%s: got %d, want %d", c.what, c.got, c.want)
		}
	}
	// Casbin's generator: p group<i>, data<i/10>, read; g user<j>, group<j/10>.
	if diff := cmp.Diff([]string{"group57", "acme/default", "data/data5", "read"}, d.CasbinP[57]); diff != "" {
		t.Errorf("p rule 57 (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"user:u501", "group50", "acme/default"}, d.CasbinG[501]); diff != "" {
		t.Errorf("g rule 501 (-want +got):\n%s", diff)
	}
	want := authz.Binding{ID: "b501", Principal: "user:u501", Role: "group50",
		Scope: authz.Scope{Namespace: "default", Type: "data", ID: "data5"}}
	if diff := cmp.Diff(want, od.Bindings[501]); diff != "" {
		t.Errorf("binding 501 (-want +got):\n%s", diff)
	}
	if _, err := CasbinShape("bad", 100, 5, 1000, 1); err == nil {
		t.Error("a shape with fewer resources than roles/10 was accepted")
	}
}

func TestOrgsShape(t *testing.T) {
	const n = 4
	d := must(t).gen(Orgs("orgs4", n, 3))
	if got, want := d.Bindings(), n*OrgsBindingsPerOrg; got != want {
		t.Errorf("bindings: got %d, want %d", got, want)
	}
	for _, od := range d.Orgs {
		var org, ns, res, shares int
		ids := map[string]bool{}
		for _, b := range od.Bindings {
			ids[b.ID] = true
			switch {
			case b.Scope.IsOrg():
				org++
			case !b.Scope.IsResource():
				ns++
			default:
				res++
				if b.Role == "" {
					shares++
				}
			}
		}
		if org != 50 || ns != 650 || res != 300 || len(ids) != OrgsBindingsPerOrg {
			t.Errorf("%s: %d org, %d namespace, %d resource bindings, %d ids; want 50, 650, 300, 1000", od.Org, org, ns, res, len(ids))
		}
		if shares == 0 || shares == res {
			t.Errorf("%s: %d of %d resource grants are action lists; want a mix with roles", od.Org, shares, res)
		}
		if got := len(od.Namespaces) + 1; got != 5 {
			t.Errorf("%s: %d namespaces, want 5", od.Org, got)
		}
	}
	// Casbin: org-scoped bindings expand to one g rule per namespace.
	if got, want := len(d.CasbinG), n*(50*5+650); got != want {
		t.Errorf("casbin g rules: got %d, want %d", got, want)
	}
	for _, rules := range [][][]string{d.CasbinP, d.CasbinG} {
		seen := map[string]bool{}
		for _, r := range rules {
			k := strings.Join(r, "\x00")
			if seen[k] {
				t.Fatalf("duplicate casbin rule %q", r)
			}
			seen[k] = true
		}
	}
}

func TestLookupDatasetShape(t *testing.T) {
	d := must(t).gen(LookupDataset("lookup", 43, 7, 5))
	if got := d.Resources(); got != 43*7 {
		t.Errorf("resources: got %d, want %d", got, 43*7)
	}
	if got := len(WantLookup(d)); got != 7 {
		t.Errorf("reader can reach %d chains, want 7", got)
	}
	for _, b := range d.Orgs[0].Bindings {
		if b.Principal != LookupReader && b.Scope.Namespace == LookupNamespace {
			t.Errorf("noise binding %s is in the reader's namespace", b.ID)
		}
	}
	if _, err := LookupDataset("lookup", 10, 7, 5); err == nil {
		t.Error("a lookup dataset without the reader's namespace was accepted")
	}
}

// smallDatasets are cheap enough to generate and build in a unit test.
func smallDatasets(t *testing.T) []*Dataset {
	t.Helper()
	return []*Dataset{
		must(t).gen(CasbinShape("small", 100, 10, 1000, 1)),
		must(t).gen(Wildcard("wildcard", 100, 1000, 20, 4)),
		must(t).gen(Orgs("orgs20", 20, 3)),
	}
}

func TestMixIsHalfAllowedAndDeterministic(t *testing.T) {
	again := smallDatasets(t)
	for i, d := range smallDatasets(t) {
		if len(d.Requests) != MixSize {
			t.Fatalf("%s: %d requests, want %d", d.Name, len(d.Requests), MixSize)
		}
		for k, r := range d.Requests {
			if r.Want != (k%2 == 0) {
				t.Errorf("%s: request %d Want = %v, want allowed at even indexes", d.Name, k, r.Want)
			}
		}
		opts := cmp.Options{cmp.Comparer(func(a, b *Dataset) bool { return a == b })}
		if diff := cmp.Diff(again[i].Requests, d.Requests, opts); diff != "" {
			t.Errorf("%s: requests differ between two generations (-first +second):\n%s", d.Name, diff)
		}
		if diff := cmp.Diff(again[i].CasbinP, d.CasbinP); diff != "" {
			t.Errorf("%s: casbin p rules differ between two generations", d.Name)
		}
		if again[i].PolicySrc != d.PolicySrc {
			t.Errorf("%s: policy text differs between two generations", d.Name)
		}
	}
}

func TestOracle(t *testing.T) {
	d := must(t).gen(Orgs("orgs2", 2, 3))
	o := NewOracle(d)
	own := d.Orgs[0]
	count := map[string]int{}
	for _, b := range own.Bindings {
		count[b.Principal]++
	}
	find := func(what string, pred func(authz.Binding) bool) authz.Binding {
		t.Helper()
		for _, b := range own.Bindings {
			if pred(b) {
				return b
			}
		}
		t.Fatalf("the dataset has no %s", what)
		return authz.Binding{}
	}
	owner := find("org owner", func(b authz.Binding) bool { return b.Role == "owner" && b.Scope.IsOrg() })
	viewer := find("namespace viewer with a single binding", func(b authz.Binding) bool {
		return b.Role == "viewer" && !b.Scope.IsOrg() && !b.Scope.IsResource() && count[b.Principal] == 1
	})
	otherNS := OrgsNamespaces[(slices.Index(OrgsNamespaces, viewer.Scope.Namespace)+1)%len(OrgsNamespaces)]
	share := find("run share", func(b authz.Binding) bool {
		return b.Scope.IsResource() && slices.Equal(b.Actions, []string{"run"})
	})
	for _, c := range []struct {
		name string
		req  Request
		want bool
	}{
		{"an org-scoped *:* grants anything anywhere in the org",
			NewRequest(own.Org, owner.Principal, "research", "tools", "t3", "delete"), true},
		{"a namespace-scoped viewer reads any type in its namespace",
			NewRequest(own.Org, viewer.Principal, viewer.Scope.Namespace, "tools", "t1", "read"), true},
		{"... but does not run there",
			NewRequest(own.Org, viewer.Principal, viewer.Scope.Namespace, "chains", "c0", "run"), false},
		{"... and reads nothing in another namespace",
			NewRequest(own.Org, viewer.Principal, otherNS, "tools", "t1", "read"), false},
		{"a run share allows run on its chain",
			NewRequest(own.Org, share.Principal, share.Scope.Namespace, "chains", share.Scope.ID, "run"), true},
		{"an owner of org 0 is nobody in org 1",
			NewRequest(d.Orgs[1].Org, owner.Principal, "default", "chains", "c0", "read"), false},
		{"a member without bindings may do nothing",
			NewRequest(own.Org, OrgUser(0, orgsUsers), "default", "chains", "c0", "read"), false},
		{"an unknown org denies",
			NewRequest("nope", owner.Principal, "default", "chains", "c0", "read"), false},
	} {
		if got := o.Allowed(&c.req.Gatehouse); got != c.want {
			t.Errorf("%s: got %v, want %v", c.name, got, c.want)
		}
	}
}

// TestCasbinKeyMatchMapping checks the assumption the wildcard datasets
// rest on: with keyMatch, "<type>/*" and "*" patterns match exactly what the
// Gatehouse patterns `type:*` and `*:action` match.
func TestCasbinKeyMatchMapping(t *testing.T) {
	m, err := model.NewModelFromString(CasbinModelKeyMatch)
	if err != nil {
		t.Fatal(err)
	}
	e, err := casbin.NewEnforcer(m)
	if err != nil {
		t.Fatal(err)
	}
	const dom = "acme/default"
	for _, p := range [][]string{
		{"role:builder", dom, casbinObj("chains"), "*"},
		{"role:viewer", dom, casbinObj("*"), "read"},
	} {
		if _, err := e.AddPolicy(p); err != nil {
			t.Fatal(err)
		}
	}
	for _, g := range [][]string{{"user:b", "role:builder", dom}, {"user:v", "role:viewer", dom}} {
		if _, err := e.AddGroupingPolicy(g); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		sub, dom, obj, act string
		want               bool
	}{
		{"user:b", dom, "chains/c1", "run", true},
		{"user:b", dom, "chains/c1", "delete", true},
		{"user:b", dom, "chainsx/c1", "run", false},
		{"user:b", dom, "tools/c1", "run", false},
		{"user:b", "acme/prod", "chains/c1", "run", false},
		{"user:v", dom, "tools/t1", "read", true},
		{"user:v", dom, "tools/t1", "readx", false},
		{"user:v", dom, "tools/t1", "run", false},
		{"user:x", dom, "tools/t1", "read", false},
	} {
		got, err := e.Enforce(c.sub, c.dom, c.obj, c.act)
		if err != nil || got != c.want {
			t.Errorf("Enforce(%s, %s, %s, %s) = %v, %v; want %v", c.sub, c.dom, c.obj, c.act, got, err, c.want)
		}
	}
}

// TestEnginesAgree builds both engines on the smaller datasets and checks
// each against the reference on the whole mix — the same verification the
// benchmarks do before timing.
func TestEnginesAgree(t *testing.T) {
	for _, d := range smallDatasets(t) {
		t.Run(d.Name, func(t *testing.T) {
			gh, err := BuildGatehouse(d.Orgs)
			if err != nil {
				t.Fatal(err)
			}
			if err := VerifyGatehouse(gh, d.Requests); err != nil {
				t.Error(err)
			}
			cb, err := BuildCasbin(d)
			if err != nil {
				t.Fatal(err)
			}
			if err := VerifyCasbin(cb, d.Requests); err != nil {
				t.Error(err)
			}
		})
	}
	t.Run("lookup", func(t *testing.T) {
		d := must(t).gen(LookupDataset("lookup", 50, 30, 5))
		e, err := BuildGatehouse(d.Orgs)
		if err != nil {
			t.Fatal(err)
		}
		q := lookupQuery
		q.PageSize = 7 // several pages
		if err := CheckLookup(e, d, q); err != nil {
			t.Error(err)
		}
	})
}

// TestVerifyCatchesDisagreement: verification must fail when an answer is
// wrong, or the benchmarks' guard is worthless.
func TestVerifyCatchesDisagreement(t *testing.T) {
	d := must(t).gen(CasbinShape("small", 100, 10, 1000, 1))
	cb, err := BuildCasbin(d)
	if err != nil {
		t.Fatal(err)
	}
	reqs := slices.Clone(d.Requests)
	reqs[0].Want = !reqs[0].Want
	if err := VerifyCasbin(cb, reqs); err == nil {
		t.Error("VerifyCasbin accepted a flipped label")
	}
	for _, c := range []struct{ start, n, want int }{
		{0, 2*MixSize + 3, MixSize + 2}, // allowed at 0 and 2 of the partial cycle
		{1, 3, 1},                       // 1 denied, 2 allowed, 3 denied
		{MixSize - 1, 2, 1},             // wraps: 63 denied, 0 allowed
	} {
		if got := wantAllowed(d.Requests, c.start, c.n); got != c.want {
			t.Errorf("wantAllowed(start %d, n %d) = %d, want %d", c.start, c.n, got, c.want)
		}
	}
}
