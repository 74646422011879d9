package directory_test

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/internal/directory"
)

// TestManagingAPrincipalNeedsItsLevelEverywhere: suspending, resuming or
// updating an agent or a service needs the target's level ≤ the actor's
// at every scope (DESIGN §1.2's target rule), not only at org scope. Bob
// is an admin at org scope; each target below holds owner somewhere
// narrower — a namespace or one resource — so bob may not change it,
// while alice (the owner) may, and bob may still change a target that is
// below him everywhere.
func TestManagingAPrincipalNeedsItsLevelEverywhere(t *testing.T) {
	f := newFixture(t)
	ctx := f.ctx
	ok(t, "resource prod/chains/x", third(f.d.CreateResource(ctx, alice, "acme", directory.ResourceSpec{
		Namespace: "prod", Type: "chains", ID: "x", Spec: json.RawMessage(`{"steps":["a"]}`),
	})))
	ok(t, "service nsowner, owner in prod", third(f.d.CreateService(ctx, alice, "acme", directory.ServiceSpec{Name: "nsowner", Role: "owner", Namespace: "prod"})))
	ok(t, "service resowner", third(f.d.CreateService(ctx, alice, "acme", directory.ServiceSpec{Name: "resowner", Role: "viewer"})))
	ok(t, "resowner owns prod/chains/x", third(f.d.CreateBinding(ctx, alice, "acme", directory.BindingSpec{
		Principal: "service:resowner", Role: "owner", Scope: authz.Scope{Namespace: "prod", Type: "chains", ID: "x"},
	})))
	ok(t, "service orgowner, owner of the org", third(f.d.CreateService(ctx, alice, "acme", directory.ServiceSpec{Name: "orgowner", Role: "owner"})))
	ok(t, "service helper, viewer", third(f.d.CreateService(ctx, alice, "acme", directory.ServiceSpec{Name: "helper", Role: "viewer"})))
	ok(t, "agent Ranger, owner in prod", third(f.d.CreateAgent(ctx, alice, "acme", directory.AgentSpec{Name: "Ranger", Role: "owner", Namespace: "prod", Sponsor: "alice"})))
	ok(t, "agent Scout, viewer", third(f.d.CreateAgent(ctx, alice, "acme", directory.AgentSpec{Name: "Scout", Role: "viewer", Sponsor: "alice"})))

	attrs := map[string]any{"tier": "gold"}
	suspend := func(by directory.Actor, name string, s bool) func() error {
		return func() error { return third(f.d.SuspendService(ctx, by, "acme", name, s)) }
	}
	updateService := func(by directory.Actor, name string) func() error {
		return func() error {
			return third(f.d.UpdateService(ctx, by, "acme", name, directory.ServiceUpdate{Attributes: &attrs}))
		}
	}
	suspendAgent := func(by directory.Actor, name string, s bool) func() error {
		return func() error {
			return third(f.d.UpdateAgent(ctx, by, "acme", name, directory.AgentUpdate{Suspended: ptr(s)}))
		}
	}
	type scoped struct {
		target string
		scope  authz.Scope
	}
	deny := func(name string, do func() error, want scoped) {
		t.Helper()
		err := do()
		var ee *directory.EscalationError
		if !errors.As(err, &ee) || !errors.Is(err, directory.ErrEscalation) {
			t.Errorf("%s: %v, want an escalation refusal", name, err)
			return
		}
		if got := (scoped{ee.Target, ee.Scope}); ee.Reason != directory.ReasonTarget || got != want {
			t.Errorf("%s: refused for %s %+v at %+v, want the target rule for %+v", name, ee.Reason, ee.Target, ee.Scope, want)
		}
	}
	denyAny := func(name string, do func() error) {
		t.Helper()
		if err := do(); !errors.Is(err, directory.ErrEscalation) {
			t.Errorf("%s: %v, want an escalation refusal", name, err)
		}
	}
	allow := func(name string, do func() error) {
		t.Helper()
		if err := do(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	prod := authz.Scope{Namespace: "prod"}
	deny("admin suspends a service that owns a namespace", suspend(bob, "nsowner", true), scoped{"service:nsowner", prod})
	deny("admin updates a service that owns a namespace", updateService(bob, "nsowner"), scoped{"service:nsowner", prod})
	deny("admin suspends a service that owns one resource", suspend(bob, "resowner", true),
		scoped{"service:resowner", authz.Scope{Namespace: "prod", Type: "chains", ID: "x"}})
	deny("admin suspends an agent that owns a namespace", suspendAgent(bob, "Ranger", true), scoped{"agent:Ranger", prod})
	allow("owner suspends the namespace owner", suspend(alice, "nsowner", true))
	deny("admin resumes it", suspend(bob, "nsowner", false), scoped{"service:nsowner", prod})
	allow("owner resumes it", suspend(alice, "nsowner", false))
	// Suspended, a service holds nothing (HighestLevel is -1), yet
	// resuming it gives back every grant it has.
	allow("owner suspends the org owner service", suspend(alice, "orgowner", true))
	deny("admin resumes it", suspend(bob, "orgowner", false), scoped{"service:orgowner", authz.Scope{}})
	deny("admin gives it new attributes", updateService(bob, "orgowner"), scoped{"service:orgowner", authz.Scope{}})
	allow("owner suspends the agent", suspendAgent(alice, "Ranger", true))
	denyAny("admin resumes the agent", suspendAgent(bob, "Ranger", false)) // its ceiling role is above bob (ReasonLevel)
	allow("admin suspends a viewer service", suspend(bob, "helper", true))
	allow("admin resumes it", suspend(bob, "helper", false))
	allow("admin updates it", updateService(bob, "helper"))
	allow("admin suspends a viewer agent", suspendAgent(bob, "Scout", true))
}
