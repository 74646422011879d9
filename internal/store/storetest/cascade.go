package storetest

import (
	"context"
	"testing"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// step runs fn in one Write and checks the changelog entries it produced.
func step(t *testing.T, s store.Store, what string, fn func(ctx context.Context, tx store.Tx) error, want []string) []store.Change {
	t.Helper()
	before := must(s.CurrentRevision(ctxT(t))).get(t)
	rev := write(t, s, fn)
	cs := changes(t, s, before)
	diff(t, "changelog of "+what, want, kinds(cs))
	for _, c := range cs {
		if c.Revision != rev {
			t.Errorf("%s: entry %s %s has revision %d, want %d", what, c.Kind, c.Key, c.Revision, rev)
		}
	}
	return cs
}

func testCascadePrincipals(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	f := seed(t, s, "a")
	seed(t, s, "b") // same names in another org: must be untouched

	cs := step(t, s, "RemoveMember alice", func(ctx context.Context, tx store.Tx) error { return tx.RemoveMember(ctx, f.org, "alice") },
		[]string{"binding.delete owner", "team.put team:support", "agent.put agent:Triage", "member.delete user:alice"})
	if len(cs) == 4 {
		team := must(cs[1].Decode()).get(t).(store.Team)
		diff(t, "team after removing alice", []string{"agent:Triage"}, team.Members)
		if a := must(cs[2].Decode()).get(t).(store.Agent); a.Sponsor != "" || a.Role != "operator" {
			t.Errorf("agent.put payload = %+v, want the sponsor cleared", a)
		}
		if b := must(cs[0].Decode()).get(t).(store.Binding); b.Principal != "user:alice" || b.Role != "owner" {
			t.Errorf("binding.delete payload carries the deleted binding, got %+v", b)
		}
	}
	wantErr(t, "alice's binding", second(s.GetBinding(ctx, f.org, "owner")), store.ErrNotFound)
	if a := must(s.GetAgent(ctx, f.org, "Triage")).get(t); a.Sponsor != "" {
		t.Errorf("sponsor after the sponsor left = %q", a.Sponsor)
	}

	step(t, s, "DeleteAgent Triage", func(ctx context.Context, tx store.Tx) error { return tx.DeleteAgent(ctx, f.org, "Triage") },
		[]string{"binding.delete agent", "team.put team:support", "agent.delete agent:Triage"})
	diff(t, "team after deleting the agent", []string{}, must(s.GetTeam(ctx, f.org, "support")).get(t).Members)

	step(t, s, "DeleteTeam support", func(ctx context.Context, tx store.Tx) error { return tx.DeleteTeam(ctx, f.org, "support") },
		[]string{"binding.delete viewer", "team.delete team:support"})
	step(t, s, "DeleteService ci", func(ctx context.Context, tx store.Tx) error { return tx.DeleteService(ctx, f.org, "ci") },
		[]string{"service.delete service:ci"})
	step(t, s, "RemoveMember bob", func(ctx context.Context, tx store.Tx) error { return tx.RemoveMember(ctx, f.org, "bob") },
		[]string{"binding.delete share", "member.delete user:bob"})
	if bs, _, err := s.ListBindings(ctx, f.org, store.BindingFilter{}, store.Page{}); err != nil || len(bs) != 0 {
		t.Errorf("bindings left in a: %v (err %v)", bindingIDs(bs), err)
	}

	// Org b is exactly as seeded.
	bs, _, err := s.ListBindings(ctx, "b", store.BindingFilter{}, store.Page{})
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "bindings of b", []string{"agent", "owner", "share", "viewer"}, bindingIDs(bs))
	diff(t, "team of b", []string{"agent:Triage", "user:alice"}, must(s.GetTeam(ctx, "b", "support")).get(t).Members)
	if a := must(s.GetAgent(ctx, "b", "Triage")).get(t); a.Sponsor != "alice" {
		t.Errorf("agent of b lost its sponsor: %+v", a)
	}
}

func testCascadeNamespace(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	f := seed(t, s, "a")
	write(t, s, func(ctx context.Context, tx store.Tx) error {
		if _, err := tx.CreateNamespace(ctx, f.org, "staging"); err != nil {
			return err
		}
		_, err := tx.CreateBinding(ctx, store.Binding{Org: f.org, Binding: authz.Binding{ID: "stg", Principal: "user:bob", Role: "viewer",
			Scope: authz.Scope{Namespace: "staging"}}})
		return err
	})
	for _, ns := range []string{"prod", "staging"} {
		wantErr(t, "DeleteNamespace "+ns+" without cascade", writeErr(t, s, func(ctx context.Context, tx store.Tx) error {
			return tx.DeleteNamespace(ctx, f.org, ns, store.DeleteOptions{})
		}), store.ErrRefused)
	}
	must(s.GetResource(ctx, f.org, f.resource)).get(t) // refusal changed nothing

	step(t, s, "DeleteNamespace prod with cascade", func(ctx context.Context, tx store.Tx) error {
		return tx.DeleteNamespace(ctx, f.org, "prod", store.DeleteOptions{Cascade: true})
	}, []string{"binding.delete share", "binding.delete viewer", "resource.delete prod/chains/triage", "namespace.delete prod"})
	wantErr(t, "resource of a deleted namespace", second(s.GetResource(ctx, f.org, f.resource)), store.ErrNotFound)
	wantErr(t, "versions of a deleted namespace", second(s.GetResourceVersion(ctx, f.org, f.resource, 1)), store.ErrNotFound)
	bs, _, err := s.ListBindings(ctx, f.org, store.BindingFilter{}, store.Page{})
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "bindings outside prod stay", []string{"agent", "owner", "stg"}, bindingIDs(bs))

	// Re-creating the namespace and resource does not resurrect anything.
	write(t, s, func(ctx context.Context, tx store.Tx) error {
		if _, err := tx.CreateNamespace(ctx, f.org, "prod"); err != nil {
			return err
		}
		_, err := tx.CreateResource(ctx, store.Resource{Org: f.org, Resource: authz.Resource{Namespace: "prod", Type: "chains", ID: "triage"}}, "user:bob")
		return err
	})
	r := must(s.GetResource(ctx, f.org, f.resource)).get(t)
	if r.Version != 1 || r.Spec != nil || r.Labels != nil {
		t.Errorf("re-created resource = %+v, want a fresh version 1", r)
	}
	if bs, _, _ := s.ListBindings(ctx, f.org, store.BindingFilter{Namespace: "prod"}, store.Page{}); len(bs) != 0 {
		t.Errorf("bindings resurrected in prod: %v", bindingIDs(bs))
	}
}

func testCascadeResource(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	f := seed(t, s, "a")
	step(t, s, "DeleteResource", func(ctx context.Context, tx store.Tx) error { return tx.DeleteResource(ctx, f.org, f.resource) },
		[]string{"binding.delete share", "resource.delete prod/chains/triage"})
	wantErr(t, "share of a deleted resource", second(s.GetBinding(ctx, f.org, "share")), store.ErrNotFound)
	must(s.GetBinding(ctx, f.org, "viewer")).get(t) // namespace binding stays
}

func testDeleteOrg(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	seed(t, s, "a")
	seed(t, s, "b")
	snapB := must(s.LoadOrg(ctx, "b")).get(t)

	cs := step(t, s, "DeleteOrg a", func(ctx context.Context, tx store.Tx) error { return tx.DeleteOrg(ctx, "a") },
		[]string{"org.delete a"})
	if len(cs) == 1 && cs[0].Org != "a" {
		t.Errorf("org.delete entry has org %q", cs[0].Org)
	}
	wantErr(t, "GetOrg of a deleted org", second(s.GetOrg(ctx, "a")), store.ErrNotFound)
	wantErr(t, "LoadOrg of a deleted org", second(s.LoadOrg(ctx, "a")), store.ErrNotFound)
	wantErr(t, "DeleteOrg twice", writeErr(t, s, func(ctx context.Context, tx store.Tx) error { return tx.DeleteOrg(ctx, "a") }), store.ErrNotFound)
	for name, n := range map[string]int{
		"namespaces": len(must3(t, s.ListNamespaces, ctx, "a")),
		"members":    len(must3(t, s.ListMembers, ctx, "a")),
		"agents":     len(must3(t, s.ListAgents, ctx, "a")),
		"services":   len(must3(t, s.ListServices, ctx, "a")),
		"teams":      len(must3(t, s.ListTeams, ctx, "a")),
		"policies":   len(must3(t, s.ListPolicyVersions, ctx, "a")),
	} {
		if n != 0 {
			t.Errorf("%d %s left in a deleted org", n, name)
		}
	}
	must(s.GetUser(ctx, "alice")).get(t) // users are global

	after := must(s.LoadOrg(ctx, "b")).get(t)
	after.Revision = snapB.Revision
	diff(t, "org b after deleting a", snapB, after)

	// The id can be reused and starts empty.
	write(t, s, func(ctx context.Context, tx store.Tx) error {
		_, err := tx.CreateOrg(ctx, store.Org{ID: "a"})
		return err
	})
	snap := must(s.LoadOrg(ctx, "a")).get(t)
	if len(snap.Bindings)+len(snap.Principals)+len(snap.Teams)+len(snap.Resources) != 0 || snap.Policy.Version != 0 {
		t.Errorf("re-created org is not empty: %+v", snap)
	}
}
