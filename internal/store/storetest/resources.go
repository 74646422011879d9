package storetest

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

func testResources(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	f := seed(t, s, "a")
	r := must(s.GetResource(ctx, f.org, f.resource)).get(t)
	if r.Version != 1 || r.UpdatedBy != "user:alice" || string(r.Spec) != `{"steps":["a"]}` || r.Labels["env"] != "prod" {
		t.Errorf("GetResource = %+v", r)
	}
	if r.Ref() != f.resource {
		t.Errorf("Ref() = %+v", r.Ref())
	}

	var created store.Resource
	write(t, s, func(ctx context.Context, tx store.Tx) error {
		var err error
		created, err = tx.CreateResource(ctx, store.Resource{Org: f.org, Resource: authz.Resource{Namespace: "default", Type: "tools", ID: "web search",
			Attributes: map[string]any{"cost": 2.5, "tags": []any{"x"}}}, Spec: []byte(" { \"b\" : 1 ,\n \"a\": [ 1, 2 ] } ")}, "service:ci")
		return err
	})
	if string(created.Spec) != `{"b":1,"a":[1,2]}` {
		t.Errorf("the spec is stored compact with its key order kept, got %s", created.Spec)
	}
	diff(t, "GetResource after create", created, must(s.GetResource(ctx, f.org, created.Ref())).get(t))

	tests := []struct {
		name string
		r    store.Resource
		want error
	}{
		{"duplicate identity", store.Resource{Org: f.org, Resource: authz.Resource{Namespace: "prod", Type: "chains", ID: "triage"}}, store.ErrConflict},
		{"same id, other type", store.Resource{Org: f.org, Resource: authz.Resource{Namespace: "prod", Type: "tools", ID: "triage"}}, nil},
		{"same id, other namespace", store.Resource{Org: f.org, Resource: authz.Resource{Namespace: "default", Type: "chains", ID: "triage"}}, nil},
		{"namespace does not exist", store.Resource{Org: f.org, Resource: authz.Resource{Namespace: "staging", Type: "chains", ID: "x"}}, store.ErrNotFound},
		{"org does not exist", store.Resource{Org: "nope", Resource: authz.Resource{Namespace: "default", Type: "chains", ID: "x"}}, store.ErrNotFound},
		{"id with a slash", store.Resource{Org: f.org, Resource: authz.Resource{Namespace: "prod", Type: "chains", ID: "a/b"}}, store.ErrInvalid},
		{"empty id", store.Resource{Org: f.org, Resource: authz.Resource{Namespace: "prod", Type: "chains"}}, store.ErrInvalid},
		{"malformed type", store.Resource{Org: f.org, Resource: authz.Resource{Namespace: "prod", Type: "ch ains", ID: "x"}}, store.ErrInvalid},
		{"spec that is not JSON", store.Resource{Org: f.org, Resource: authz.Resource{Namespace: "prod", Type: "chains", ID: "x"}, Spec: []byte("{")}, store.ErrInvalid},
		{"spec that is not UTF-8", store.Resource{Org: f.org, Resource: authz.Resource{Namespace: "prod", Type: "chains", ID: "x"}, Spec: []byte("{\"a\":\"\xff\"}")}, store.ErrInvalid},
		{"spec too large", store.Resource{Org: f.org, Resource: authz.Resource{Namespace: "prod", Type: "chains", ID: "x"},
			Spec: []byte(`"` + strings.Repeat("a", store.MaxSpecBytes) + `"`)}, store.ErrInvalid},
		{"attribute with U+0000", store.Resource{Org: f.org, Resource: authz.Resource{Namespace: "prod", Type: "chains", ID: "x",
			Attributes: map[string]any{"a": "\x00"}}}, store.ErrInvalid},
		{"empty label key", store.Resource{Org: f.org, Resource: authz.Resource{Namespace: "prod", Type: "chains", ID: "x",
			Labels: map[string]string{"": "v"}}}, store.ErrInvalid},
	}
	for _, tc := range tests {
		wantErr(t, "CreateResource: "+tc.name, writeErr(t, s, func(ctx context.Context, tx store.Tx) error {
			_, err := tx.CreateResource(ctx, tc.r, "user:alice")
			return err
		}), tc.want)
	}

	list := func(fl store.ResourceFilter) []string {
		rs, _, err := s.ListResources(ctx, f.org, fl, store.Page{})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, r := range rs {
			if r.Spec != nil {
				t.Errorf("ListResources returned a spec for %s", store.RefKey(r.Ref()))
			}
			out = append(out, store.RefKey(r.Ref()))
		}
		return out
	}
	diff(t, "ListResources all, ordered by namespace, type, id",
		[]string{"default/chains/triage", "default/tools/web search", "prod/chains/triage", "prod/tools/triage"}, list(store.ResourceFilter{}))
	diff(t, "ListResources by namespace", []string{"prod/chains/triage", "prod/tools/triage"}, list(store.ResourceFilter{Namespace: "prod"}))
	diff(t, "ListResources by type", []string{"default/chains/triage", "prod/chains/triage"}, list(store.ResourceFilter{Type: "chains"}))

	// Updates: nil fields keep, set fields replace; IfVersion guards.
	labels := map[string]string{"env": "prod", "team": "ops"}
	write(t, s, func(ctx context.Context, tx store.Tx) error {
		got, err := tx.UpdateResource(ctx, store.ResourceUpdate{Org: f.org, Ref: f.resource, Labels: &labels, Author: "user:bob", IfVersion: 1})
		if err == nil && (got.Version != 2 || string(got.Spec) != `{"steps":["a"]}` || got.UpdatedBy != "user:bob" || !got.CreatedAt.Equal(r.CreatedAt)) {
			t.Errorf("UpdateResource (labels only) = %+v", got)
		}
		return err
	})
	wantErr(t, "UpdateResource with a stale IfVersion", writeErr(t, s, func(ctx context.Context, tx store.Tx) error {
		_, err := tx.UpdateResource(ctx, store.ResourceUpdate{Org: f.org, Ref: f.resource, Spec: []byte(`{}`), IfVersion: 1})
		return err
	}), store.ErrConflict)
	wantErr(t, "UpdateResource absent", writeErr(t, s, func(ctx context.Context, tx store.Tx) error {
		_, err := tx.UpdateResource(ctx, store.ResourceUpdate{Org: f.org, Ref: authz.ResourceRef{Namespace: "prod", Type: "chains", ID: "nope"}})
		return err
	}), store.ErrNotFound)
	wantErr(t, "UpdateResource with a bad spec", writeErr(t, s, func(ctx context.Context, tx store.Tx) error {
		_, err := tx.UpdateResource(ctx, store.ResourceUpdate{Org: f.org, Ref: f.resource, Spec: []byte(`[1,`)})
		return err
	}), store.ErrInvalid)
	write(t, s, func(ctx context.Context, tx store.Tx) error {
		got, err := tx.UpdateResource(ctx, store.ResourceUpdate{Org: f.org, Ref: f.resource, Spec: []byte(`null`)})
		if err == nil && (got.Spec != nil || got.Version != 3 || got.Labels["team"] != "ops") {
			t.Errorf("UpdateResource (clear spec) = %+v", got)
		}
		return err
	})
	if got := must(s.GetResource(ctx, f.org, f.resource)).get(t); got.Spec != nil || got.Version != 3 {
		t.Errorf("after clearing the spec: %+v", got)
	}

	write(t, s, func(ctx context.Context, tx store.Tx) error { return tx.DeleteResource(ctx, f.org, created.Ref()) })
	wantErr(t, "deleted resource", second(s.GetResource(ctx, f.org, created.Ref())), store.ErrNotFound)
	wantErr(t, "versions of a deleted resource", third(s.ListResourceVersions(ctx, f.org, created.Ref(), store.Page{})), store.ErrNotFound)
	wantErr(t, "DeleteResource twice", writeErr(t, s, func(ctx context.Context, tx store.Tx) error {
		return tx.DeleteResource(ctx, f.org, created.Ref())
	}), store.ErrNotFound)
}

func testResourceVersions(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	f := seed(t, s, "a")
	specs := []string{
		`{"steps":["a","b"],"model":"m1"}`,
		`{"steps":["a"],"model":"m2","limits":{"tokens":100}}`,
	}
	for i, sp := range specs {
		author := "user:bob"
		if i == 1 {
			author = "agent:Triage"
		}
		attrs := map[string]any{"rev": float64(i + 2)}
		write(t, s, func(ctx context.Context, tx store.Tx) error {
			_, err := tx.UpdateResource(ctx, store.ResourceUpdate{Org: f.org, Ref: f.resource, Spec: []byte(sp), Attributes: &attrs, Author: author})
			return err
		})
	}
	v1 := must(s.GetResourceVersion(ctx, f.org, f.resource, 1)).get(t)
	if string(v1.Spec) != `{"steps":["a"]}` || v1.Author != "user:alice" || v1.Version != 1 || v1.Ref != f.resource {
		t.Errorf("version 1 = %+v", v1)
	}
	v3 := must(s.GetResourceVersion(ctx, f.org, f.resource, 3)).get(t)
	if string(v3.Spec) != specs[1] || v3.Author != "agent:Triage" {
		t.Errorf("version 3 = %+v", v3)
	}
	for _, v := range []uint64{0, 4} {
		wantErr(t, "absent version", second(s.GetResourceVersion(ctx, f.org, f.resource, v)), store.ErrNotFound)
	}
	vs, _, err := s.ListResourceVersions(ctx, f.org, f.resource, store.Page{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, v := range vs {
		if v.Spec != nil {
			t.Errorf("ListResourceVersions returned a spec")
		}
		got = append(got, u(v.Version)+" "+v.Author)
	}
	diff(t, "ListResourceVersions newest first", []string{"3 agent:Triage", "2 user:bob", "1 user:alice"}, got)

	d := must(s.DiffResourceVersions(ctx, f.org, f.resource, 2, 3)).get(t)
	diff(t, "diff 2→3", []store.DiffEntry{
		{Path: "/attributes/rev", Op: store.DiffChanged, Old: raw(`2`), New: raw(`3`)},
		{Path: "/spec/limits", Op: store.DiffAdded, New: raw(`{"tokens":100}`)},
		{Path: "/spec/model", Op: store.DiffChanged, Old: raw(`"m1"`), New: raw(`"m2"`)},
		{Path: "/spec/steps/1", Op: store.DiffRemoved, Old: raw(`"b"`)},
	}, d)
	d = must(s.DiffResourceVersions(ctx, f.org, f.resource, 1, 2)).get(t)
	diff(t, "diff 1→2", []store.DiffEntry{
		{Path: "/attributes/rev", Op: store.DiffAdded, New: raw(`2`)},
		{Path: "/spec/model", Op: store.DiffAdded, New: raw(`"m1"`)},
		{Path: "/spec/steps/1", Op: store.DiffAdded, New: raw(`"b"`)},
	}, d)
	if d := must(s.DiffResourceVersions(ctx, f.org, f.resource, 3, 3)).get(t); len(d) != 0 {
		t.Errorf("a version diffs empty against itself, got %+v", d)
	}
	wantErr(t, "diff with an absent version", second(s.DiffResourceVersions(ctx, f.org, f.resource, 1, 9)), store.ErrNotFound)
}

func raw(s string) json.RawMessage { return json.RawMessage(s) }

func u(v uint64) string { return strconv.FormatUint(v, 10) }

// testNotFoundContracts: every Get of an absent key, and every Get through
// another org of a key that exists in org "a", is ErrNotFound.
func testNotFoundContracts(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	seed(t, s, "a")
	write(t, s, func(ctx context.Context, tx store.Tx) error {
		_, err := tx.CreateOrg(ctx, store.Org{ID: "b"})
		return err
	})
	ref := authz.ResourceRef{Namespace: "prod", Type: "chains", ID: "triage"}
	for _, org := range []string{"b", "nope"} {
		gets := []struct {
			name string
			err  error
		}{
			{"GetNamespace", second(s.GetNamespace(ctx, org, "prod"))},
			{"GetMember", second(s.GetMember(ctx, org, "alice"))},
			{"GetAgent", second(s.GetAgent(ctx, org, "Triage"))},
			{"GetService", second(s.GetService(ctx, org, "ci"))},
			{"GetTeam", second(s.GetTeam(ctx, org, "support"))},
			{"ListTeamMembers", third(s.ListTeamMembers(ctx, org, "support", store.Page{}))},
			{"GetBinding", second(s.GetBinding(ctx, org, "owner"))},
			{"GetResource", second(s.GetResource(ctx, org, ref))},
			{"GetResourceVersion", second(s.GetResourceVersion(ctx, org, ref, 1))},
			{"ListResourceVersions", third(s.ListResourceVersions(ctx, org, ref, store.Page{}))},
			{"DiffResourceVersions", second(s.DiffResourceVersions(ctx, org, ref, 1, 1))},
			{"GetPolicy", second(s.GetPolicy(ctx, org))},
			{"GetPolicyVersion", second(s.GetPolicyVersion(ctx, org, 1))},
		}
		for _, g := range gets {
			wantErr(t, g.name+" through org "+org, g.err, store.ErrNotFound)
		}
		writes := []struct {
			name string
			fn   func(ctx context.Context, tx store.Tx) error
		}{
			{"DeleteNamespace", func(ctx context.Context, tx store.Tx) error {
				return tx.DeleteNamespace(ctx, org, "prod", store.DeleteOptions{Cascade: true})
			}},
			{"RemoveMember", func(ctx context.Context, tx store.Tx) error { return tx.RemoveMember(ctx, org, "alice") }},
			{"UpdateMember", func(ctx context.Context, tx store.Tx) error {
				_, err := tx.UpdateMember(ctx, store.Member{Org: org, UserID: "alice"})
				return err
			}},
			{"DeleteAgent", func(ctx context.Context, tx store.Tx) error { return tx.DeleteAgent(ctx, org, "Triage") }},
			{"DeleteService", func(ctx context.Context, tx store.Tx) error { return tx.DeleteService(ctx, org, "ci") }},
			{"DeleteTeam", func(ctx context.Context, tx store.Tx) error { return tx.DeleteTeam(ctx, org, "support") }},
			{"AddTeamMember", func(ctx context.Context, tx store.Tx) error {
				_, err := tx.AddTeamMember(ctx, org, "support", "user:bob")
				return err
			}},
			{"RemoveTeamMember", func(ctx context.Context, tx store.Tx) error {
				_, err := tx.RemoveTeamMember(ctx, org, "support", "user:alice")
				return err
			}},
			{"DeleteBinding", func(ctx context.Context, tx store.Tx) error { return tx.DeleteBinding(ctx, org, "owner") }},
			{"UpdateResource", func(ctx context.Context, tx store.Tx) error {
				_, err := tx.UpdateResource(ctx, store.ResourceUpdate{Org: org, Ref: ref})
				return err
			}},
			{"DeleteResource", func(ctx context.Context, tx store.Tx) error { return tx.DeleteResource(ctx, org, ref) }},
			{"binding naming another org's principal", func(ctx context.Context, tx store.Tx) error {
				_, err := tx.CreateBinding(ctx, store.Binding{Org: org, Binding: authz.Binding{Principal: "agent:Triage", Role: "viewer"}})
				return err
			}},
		}
		for _, w := range writes {
			wantErr(t, w.name+" through org "+org, writeErr(t, s, w.fn), store.ErrNotFound)
		}
	}
	// Nothing of org a was touched by any of that.
	must(s.GetTeam(ctx, "a", "support")).get(t)
	must(s.GetBinding(ctx, "a", "owner")).get(t)
	must(s.GetResource(ctx, "a", ref)).get(t)
}
