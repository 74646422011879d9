package storetest

import (
	"context"
	"encoding/base64"
	"fmt"
	"slices"
	"testing"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// testOrgIsolation populates three orgs with identical names and ids, plus
// one marker resource each, and checks that every read and list through
// one org returns exactly that org's rows, and that writes through one org
// leave the others as they were.
func testOrgIsolation(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	orgs := []string{"o1", "o2", "o3"}
	for _, org := range orgs {
		seed(t, s, org)
		write(t, s, func(ctx context.Context, tx store.Tx) error {
			_, err := tx.CreateResource(ctx, store.Resource{Org: org, Resource: authz.Resource{Namespace: "default", Type: "markers", ID: "of-" + org}}, "x")
			return err
		})
	}
	for _, org := range orgs {
		checkOnly(t, s, org)
		for _, other := range orgs {
			if other == org {
				continue
			}
			ref := authz.ResourceRef{Namespace: "default", Type: "markers", ID: "of-" + other}
			wantErr(t, fmt.Sprintf("marker of %s through %s", other, org), second(s.GetResource(ctx, org, ref)), store.ErrNotFound)
		}
	}

	before := map[string]*store.OrgSnapshot{}
	for _, org := range orgs[1:] {
		before[org] = must(s.LoadOrg(ctx, org)).get(t)
	}
	write(t, s, func(ctx context.Context, tx store.Tx) error {
		org := "o1"
		if err := tx.DeleteBinding(ctx, org, "owner"); err != nil {
			return err
		}
		if _, err := tx.RemoveTeamMember(ctx, org, "support", "user:alice"); err != nil {
			return err
		}
		if _, err := tx.UpdateResource(ctx, store.ResourceUpdate{Org: org, Ref: authz.ResourceRef{Namespace: "prod", Type: "chains", ID: "triage"},
			Spec: []byte(`{"changed":true}`)}); err != nil {
			return err
		}
		if err := tx.DeleteAgent(ctx, org, "Triage"); err != nil {
			return err
		}
		if _, err := tx.SetPolicy(ctx, org, "changed", "x"); err != nil {
			return err
		}
		return tx.DeleteNamespace(ctx, org, "prod", store.DeleteOptions{Cascade: true})
	})
	for _, org := range orgs[1:] {
		after := must(s.LoadOrg(ctx, org)).get(t)
		after.Revision = before[org].Revision
		diff(t, "org "+org+" after writes to o1", before[org], after)
		checkOnly(t, s, org)
	}
	checkOnly(t, s, "o1")
}

// checkOnly lists everything through org and fails on any row of another
// org, and on missing rows of this one.
func checkOnly(t *testing.T, s store.Store, org string) {
	t.Helper()
	ctx := ctxT(t)
	bad := func(what, got string) {
		t.Helper()
		if got != org {
			t.Errorf("%s through org %s returned a row of org %q", what, org, got)
		}
	}
	for _, n := range must3(t, s.ListNamespaces, ctx, org) {
		bad("ListNamespaces", n.Org)
	}
	for _, m := range must3(t, s.ListMembers, ctx, org) {
		bad("ListMembers", m.Org)
	}
	for _, a := range must3(t, s.ListAgents, ctx, org) {
		bad("ListAgents", a.Org)
	}
	for _, x := range must3(t, s.ListServices, ctx, org) {
		bad("ListServices", x.Org)
	}
	for _, x := range must3(t, s.ListTeams, ctx, org) {
		bad("ListTeams", x.Org)
		bad("GetTeam", must(s.GetTeam(ctx, org, x.Slug)).get(t).Org)
	}
	for _, x := range must3(t, s.ListPolicyVersions, ctx, org) {
		bad("ListPolicyVersions", x.Org)
	}
	bs, _, err := s.ListBindings(ctx, org, store.BindingFilter{}, store.Page{Size: store.MaxPageSize})
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range bs {
		bad("ListBindings", b.Org)
		bad("GetBinding", must(s.GetBinding(ctx, org, b.ID)).get(t).Org)
	}
	rs, _, err := s.ListResources(ctx, org, store.ResourceFilter{}, store.Page{Size: store.MaxPageSize})
	if err != nil {
		t.Fatal(err)
	}
	markers := 0
	for _, r := range rs {
		bad("ListResources", r.Org)
		bad("GetResource", must(s.GetResource(ctx, org, r.Ref())).get(t).Org)
		if r.Type == "markers" {
			markers++
			if r.ID != "of-"+org {
				t.Errorf("ListResources through %s returned marker %s", org, r.ID)
			}
		}
		vs, _, err := s.ListResourceVersions(ctx, org, r.Ref(), store.Page{Size: store.MaxPageSize})
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range vs {
			bad("ListResourceVersions", v.Org)
		}
	}
	if markers != 1 {
		t.Errorf("org %s lists %d markers, want its own 1", org, markers)
	}
	snap := must(s.LoadOrg(ctx, org)).get(t)
	bad("LoadOrg", snap.Org.ID)
	for _, r := range snap.Resources {
		if r.Type == "markers" && r.ID != "of-"+org {
			t.Errorf("LoadOrg(%s) returned marker %s", org, r.ID)
		}
	}
	if len(snap.Bindings) != len(bs) || len(snap.Resources) != len(rs) {
		t.Errorf("LoadOrg(%s) has %d bindings and %d resources, lists have %d and %d", org, len(snap.Bindings), len(snap.Resources), len(bs), len(rs))
	}
}

// pageAll pages through a list with size n and returns the pages.
func pageAll[T any](t *testing.T, n int, f func(p store.Page) ([]T, string, error)) [][]T {
	t.Helper()
	var pages [][]T
	p := store.Page{Size: n}
	for {
		items, next, err := f(p)
		if err != nil {
			t.Fatalf("page %d: %v", len(pages), err)
		}
		if len(items) > n {
			t.Fatalf("page %d has %d items, more than the page size %d", len(pages), len(items), n)
		}
		pages = append(pages, items)
		if next == "" {
			return pages
		}
		if len(pages) > 10000 {
			t.Fatal("pagination does not end")
		}
		p.Cursor = next
	}
}

func testPagination(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	const n = 1000
	var want []string
	write(t, s, func(ctx context.Context, tx store.Tx) error {
		if err := ensureUsers(ctx, tx, "alice"); err != nil {
			return err
		}
		for _, org := range []string{"a", "b"} {
			if _, err := tx.CreateOrg(ctx, store.Org{ID: org}); err != nil {
				return err
			}
			if _, err := tx.AddMember(ctx, store.Member{Org: org, UserID: "alice"}); err != nil {
				return err
			}
		}
		// Insert in a scrambled order; ids sort differently than numbers.
		for i := range n {
			k := (i * 7919) % n
			id := fmt.Sprintf("b%d", k)
			role := "even"
			if k%2 == 1 {
				role = "odd"
			}
			if _, err := tx.CreateBinding(ctx, store.Binding{Org: "a", Binding: authz.Binding{ID: id, Principal: "user:alice", Role: role}}); err != nil {
				return err
			}
			if k%10 == 0 { // some noise in another org, same ids
				if _, err := tx.CreateBinding(ctx, store.Binding{Org: "b", Binding: authz.Binding{ID: id, Principal: "user:alice", Role: role}}); err != nil {
					return err
				}
			}
		}
		return nil
	})
	for k := range n {
		want = append(want, fmt.Sprintf("b%d", k))
	}
	slices.Sort(want)

	pages := pageAll(t, 7, func(p store.Page) ([]store.Binding, string, error) {
		return s.ListBindings(ctx, "a", store.BindingFilter{}, p)
	})
	var got []string
	for _, pg := range pages {
		for _, b := range pg {
			if b.Org != "a" {
				t.Fatalf("row of org %s in org a's list", b.Org)
			}
		}
		got = append(got, bindingIDs(pg)...)
	}
	diff(t, "1000 bindings paged by 7", want, got)
	if len(pages) != (n+6)/7 {
		t.Errorf("%d pages, want %d", len(pages), (n+6)/7)
	}

	// A filtered list pages the same way.
	var odd []string
	for _, pg := range pageAll(t, 7, func(p store.Page) ([]store.Binding, string, error) {
		return s.ListBindings(ctx, "a", store.BindingFilter{Role: "odd"}, p)
	}) {
		odd = append(odd, bindingIDs(pg)...)
	}
	var wantOdd []string
	for _, id := range want {
		var k int
		fmt.Sscanf(id, "b%d", &k)
		if k%2 == 1 {
			wantOdd = append(wantOdd, id)
		}
	}
	diff(t, "odd bindings paged by 7", wantOdd, odd)

	// Three-column keys: resources across namespaces and types.
	var wantRes []string
	write(t, s, func(ctx context.Context, tx store.Tx) error {
		if _, err := tx.CreateNamespace(ctx, "a", "prod"); err != nil {
			return err
		}
		for i := range 60 {
			ns := []string{"default", "prod"}[i%2]
			typ := []string{"chains", "tools", "kb"}[i%3]
			id := fmt.Sprintf("r%02d", 59-i)
			wantRes = append(wantRes, ns+"/"+typ+"/"+id)
			if _, err := tx.CreateResource(ctx, store.Resource{Org: "a", Resource: authz.Resource{Namespace: ns, Type: typ, ID: id}}, "x"); err != nil {
				return err
			}
		}
		return nil
	})
	slices.Sort(wantRes)
	var gotRes []string
	for _, pg := range pageAll(t, 7, func(p store.Page) ([]store.Resource, string, error) {
		return s.ListResources(ctx, "a", store.ResourceFilter{}, p)
	}) {
		for _, r := range pg {
			gotRes = append(gotRes, store.RefKey(r.Ref()))
		}
	}
	diff(t, "resources paged by 7", wantRes, gotRes)

	// Descending integer keys: versions.
	ref := authz.ResourceRef{Namespace: "default", Type: "chains", ID: "r59"}
	write(t, s, func(ctx context.Context, tx store.Tx) error {
		for range 19 {
			if _, err := tx.UpdateResource(ctx, store.ResourceUpdate{Org: "a", Ref: ref, Spec: []byte(`{}`)}); err != nil {
				return err
			}
		}
		return nil
	})
	var versions []uint64
	for _, pg := range pageAll(t, 3, func(p store.Page) ([]store.ResourceVersion, string, error) {
		return s.ListResourceVersions(ctx, "a", ref, p)
	}) {
		for _, v := range pg {
			versions = append(versions, v.Version)
		}
	}
	var wantVersions []uint64
	for v := uint64(20); v >= 1; v-- {
		wantVersions = append(wantVersions, v)
	}
	diff(t, "versions paged by 3, newest first", wantVersions, versions)

	// The default page size.
	bs, next, err := s.ListBindings(ctx, "a", store.BindingFilter{}, store.Page{})
	if err != nil || len(bs) != store.DefaultPageSize || next == "" {
		t.Errorf("default page: %d rows, next %q, err %v", len(bs), next, err)
	}
}

func testPaginationErrors(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	seed(t, s, "a")
	seed(t, s, "b")
	_, bindingsCursor, err := s.ListBindings(ctx, "a", store.BindingFilter{}, store.Page{Size: 1})
	if err != nil || bindingsCursor == "" {
		t.Fatalf("ListBindings: next %q, err %v", bindingsCursor, err)
	}
	garbage := base64.RawURLEncoding.EncodeToString([]byte(`{"l":"bindings","s":"a","k":[1]}`))
	tests := []struct {
		name string
		err  error
	}{
		{"negative size", third(s.ListBindings(ctx, "a", store.BindingFilter{}, store.Page{Size: -1}))},
		{"size above the maximum", third(s.ListBindings(ctx, "a", store.BindingFilter{}, store.Page{Size: store.MaxPageSize + 1}))},
		{"cursor that is not base64", third(s.ListBindings(ctx, "a", store.BindingFilter{}, store.Page{Cursor: "!!!"}))},
		{"cursor that is not JSON", third(s.ListBindings(ctx, "a", store.BindingFilter{}, store.Page{Cursor: "bm9wZQ"}))},
		{"cursor with wrong key types", third(s.ListBindings(ctx, "a", store.BindingFilter{}, store.Page{Cursor: garbage}))},
		{"cursor of another list", third(s.ListAgents(ctx, "a", store.Page{Cursor: bindingsCursor}))},
		{"cursor of another org", third(s.ListBindings(ctx, "b", store.BindingFilter{}, store.Page{Cursor: bindingsCursor}))},
		{"cursor of another list with the same key shape", third(s.ListResourceVersions(ctx, "a",
			authz.ResourceRef{Namespace: "prod", Type: "chains", ID: "triage"}, store.Page{Cursor: bindingsCursor}))},
		{"huge cursor", third(s.ListOrgs(ctx, store.Page{Cursor: string(make([]byte, 100000))}))},
	}
	for _, tc := range tests {
		wantErr(t, tc.name, tc.err, store.ErrInvalid)
	}
	// The good cursor works where it belongs.
	bs, _, err := s.ListBindings(ctx, "a", store.BindingFilter{}, store.Page{Size: 1, Cursor: bindingsCursor})
	if err != nil || len(bs) != 1 || bs[0].ID != "owner" {
		t.Errorf("second page = %v, %v; want [owner]", bindingIDs(bs), err)
	}
}
