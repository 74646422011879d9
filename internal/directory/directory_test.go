package directory_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/internal/directory"
	"github.com/gatehouse-dev/gatehouse/internal/store"
	"github.com/gatehouse-dev/gatehouse/policy"
)

// fixture is org "acme" (agent-platform) as its users set it up:
//
//	alice owner · bob admin · carol builder · frank operator · dave viewer
//	team support = {dave} · namespace prod · chains/triage in default
//
// and org "globex" of erin, of which no acme member is a member.
type fixture struct {
	t   *testing.T
	ctx context.Context
	st  store.Store
	d   *directory.Directory
	rev uint64 // revision after setup
}

var (
	alice = user("alice")
	bob   = user("bob")
	carol = user("carol")
	dave  = user("dave")
	frank = user("frank")
	erin  = user("erin")
)

var triage = authz.ResourceRef{Namespace: "default", Type: "chains", ID: "triage"}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	st := openSQLite(t)
	d := openDir(t, st, directory.Options{CatchUpTimeout: 10 * time.Second})
	f := &fixture{t: t, ctx: ctxT(t), st: st, d: d}
	mustUsers(t, d, "alice", "bob", "carol", "dave", "frank", "erin")
	ok(t, "create acme", third(d.CreateOrg(f.ctx, alice, directory.OrgSpec{ID: "acme", Name: "Acme"})))
	for u, role := range map[string]string{"bob": "admin", "carol": "builder", "frank": "operator", "dave": "viewer"} {
		ok(t, "add "+u, third(d.AddMember(f.ctx, alice, "acme", u, role)))
	}
	ok(t, "create prod", third(d.CreateNamespace(f.ctx, alice, "acme", "prod")))
	ok(t, "create support", third(d.CreateTeam(f.ctx, alice, "acme", "support", "Support", []string{"user:dave"})))
	ok(t, "create triage", third(d.CreateResource(f.ctx, carol, "acme", directory.ResourceSpec{
		Namespace: "default", Type: "chains", ID: "triage", Spec: json.RawMessage(`{"steps":["a"]}`),
	})))
	ok(t, "create globex", third(d.CreateOrg(f.ctx, erin, directory.OrgSpec{ID: "globex", Template: "zyeta"})))
	f.rev = d.Revision()
	return f
}

// can asks the engine (as the principal itself) whether p may do
// type:action on a resource.
func (f *fixture) can(p directory.Actor, ref authz.ResourceRef, action string) bool {
	f.t.Helper()
	dec, err := f.d.Check(f.ctx, p, authz.Request{Org: "acme", Principal: p.Principal, Namespace: ref.Namespace, ResourceType: ref.Type, ResourceID: ref.ID, Action: action}, 0)
	if err != nil {
		f.t.Fatalf("Check: %v", err)
	}
	return dec.Allowed
}

// policyWithout is the org's policy text without the custom role name.
func (f *fixture) policyWithout(name string) string {
	f.t.Helper()
	p, err := f.d.GetPolicy(f.ctx, alice, "acme")
	ok(f.t, "GetPolicy", err)
	text := p.Text
	i := strings.Index(text, "role "+name+" ")
	if i < 0 {
		f.t.Fatalf("the policy has no role %s", name)
	}
	j := strings.Index(text[i:], "\n}")
	return text[:i] + text[i+j+2:]
}

func (f *fixture) bindingID(principal, role string) string {
	f.t.Helper()
	bs, _, err := f.d.ListBindings(f.ctx, alice, "acme", directory.BindingFilter{Principal: principal, Role: role}, store.Page{})
	ok(f.t, "ListBindings", err)
	if len(bs) != 1 {
		f.t.Fatalf("%s has %d bindings of %s, want 1", principal, len(bs), role)
	}
	return bs[0].ID
}

// TestAdministration reads as the rules of docs/directory.md: who may do
// what, and which error a refusal is.
func TestAdministration(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		do   func(f *fixture) error
		want error
		then func(f *fixture) // optional: what must hold afterwards
	}{
		// Org isolation: a non-member sees nothing, as if the org did not exist.
		{"non-member reads org", func(f *fixture) error { return second(f.d.GetOrg(f.ctx, erin, "acme")) }, directory.ErrNotFound, nil},
		{"non-member lists members", func(f *fixture) error { return third(f.d.ListMembers(f.ctx, erin, "acme", store.Page{})) }, directory.ErrNotFound, nil},
		{"non-member binds", func(f *fixture) error {
			return third(f.d.CreateBinding(f.ctx, erin, "acme", directory.BindingSpec{Principal: "user:erin", Role: "owner"}))
		}, directory.ErrNotFound, nil},
		{"non-member checks", func(f *fixture) error {
			return second(f.d.Check(f.ctx, erin, authz.Request{Org: "acme", Principal: "user:erin", ResourceType: "chains", Action: "read"}, 0))
		}, directory.ErrNotFound, nil},
		{"absent org", func(f *fixture) error { return second(f.d.GetOrg(f.ctx, alice, "nope")) }, directory.ErrNotFound, nil},
		{"other org's binding id", func(f *fixture) error {
			bs, _, err := f.d.ListBindings(f.ctx, erin, "globex", directory.BindingFilter{}, store.Page{})
			if err != nil || len(bs) == 0 {
				return errors.New("globex has no bindings")
			}
			return second(f.d.GetBinding(f.ctx, alice, "acme", bs[0].ID))
		}, directory.ErrNotFound, nil},

		// Permissions on system types.
		{"builder cannot bind", func(f *fixture) error {
			return third(f.d.CreateBinding(f.ctx, carol, "acme", directory.BindingSpec{Principal: "user:dave", Role: "viewer"}))
		}, directory.ErrForbidden, nil},
		{"viewer cannot list members", func(f *fixture) error { return third(f.d.ListMembers(f.ctx, dave, "acme", store.Page{})) }, directory.ErrForbidden, nil},
		{"viewer reads itself", func(f *fixture) error { return second(f.d.GetMember(f.ctx, dave, "acme", "dave")) }, nil, nil},
		{"viewer lists own bindings", func(f *fixture) error {
			return third(f.d.ListBindings(f.ctx, dave, "acme", directory.BindingFilter{Principal: "user:dave"}, store.Page{}))
		}, nil, nil},
		{"viewer cannot list others' bindings", func(f *fixture) error {
			return third(f.d.ListBindings(f.ctx, dave, "acme", directory.BindingFilter{}, store.Page{}))
		}, directory.ErrForbidden, nil},
		{"admin creates a namespace", func(f *fixture) error { return third(f.d.CreateNamespace(f.ctx, bob, "acme", "staging")) }, nil, nil},
		{"operator cannot create a namespace", func(f *fixture) error { return third(f.d.CreateNamespace(f.ctx, frank, "acme", "staging")) }, directory.ErrForbidden, nil},

		// DESIGN §1.2.
		{"admin binds a viewer", func(f *fixture) error {
			return third(f.d.CreateBinding(f.ctx, bob, "acme", directory.BindingSpec{Principal: "user:frank", Role: "viewer", Scope: authz.Scope{Namespace: "prod"}}))
		}, nil, func(f *fixture) {
			if !f.can(frank, authz.ResourceRef{Namespace: "prod", Type: "chains"}, "read") {
				f.t.Error("frank cannot read chains in prod after the binding")
			}
		}},
		{"admin cannot bind owner (level)", func(f *fixture) error {
			return third(f.d.CreateBinding(f.ctx, bob, "acme", directory.BindingSpec{Principal: "user:dave", Role: "owner"}))
		}, directory.ErrEscalation, nil},
		{"admin cannot demote the owner (target)", func(f *fixture) error {
			return third(f.d.ChangeMemberRole(f.ctx, bob, "acme", "alice", "viewer"))
		}, directory.ErrEscalation, nil},
		{"admin cannot remove the owner (target)", func(f *fixture) error { return second(f.d.RemoveMember(f.ctx, bob, "acme", "alice")) }, directory.ErrEscalation, nil},
		{"admin cannot unbind the owner", func(f *fixture) error {
			return second(f.d.DeleteBinding(f.ctx, bob, "acme", f.bindingID("user:alice", "owner")))
		}, directory.ErrEscalation, nil},
		{"admin demotes a builder", func(f *fixture) error { return third(f.d.ChangeMemberRole(f.ctx, bob, "acme", "carol", "viewer")) }, nil, func(f *fixture) {
			if f.can(carol, authz.ResourceRef{Namespace: "default", Type: "chains"}, "create") {
				f.t.Error("carol can still create chains after the demotion")
			}
		}},
		{"admin cannot make a role with permissions it lacks", func(f *fixture) error {
			return second(f.d.CreateRole(f.ctx, bob, "acme", directory.RoleSpec{Name: "superuser", Level: 50, Permissions: []string{"*:*"}}))
		}, directory.ErrEscalation, nil},
		{"admin cannot make a role above its level", func(f *fixture) error {
			return second(f.d.CreateRole(f.ctx, bob, "acme", directory.RoleSpec{Name: "lead", Level: 90, Permissions: []string{"chains:read"}}))
		}, directory.ErrEscalation, nil},
		{"admin makes a custom role within its means", func(f *fixture) error {
			return second(f.d.CreateRole(f.ctx, bob, "acme", directory.RoleSpec{Name: "auditor", Level: 20, Parents: []string{"viewer"}, Permissions: []string{"members:list"}}))
		}, nil, func(f *fixture) {
			ok(f.t, "bind auditor", third(f.d.CreateBinding(f.ctx, bob, "acme", directory.BindingSpec{Principal: "user:dave", Role: "auditor"})))
			ok(f.t, "dave lists members", third(f.d.ListMembers(f.ctx, dave, "acme", store.Page{})))
		}},
		{"custom role cannot shadow a template role", func(f *fixture) error {
			return second(f.d.CreateRole(f.ctx, alice, "acme", directory.RoleSpec{Name: "Owner", Level: 10, Permissions: []string{"chains:read"}}))
		}, directory.ErrInvalid, nil},
		{"template roles are not edited as custom roles", func(f *fixture) error {
			return second(f.d.UpdateRole(f.ctx, alice, "acme", directory.RoleSpec{Name: "viewer", Level: 10, Permissions: []string{"chains:read"}}))
		}, directory.ErrInvalid, nil},
		{"custom role must compile", func(f *fixture) error {
			return second(f.d.CreateRole(f.ctx, alice, "acme", directory.RoleSpec{Name: "x", Level: 10, Parents: []string{"nosuchrole"}, Permissions: []string{"chains:read"}}))
		}, directory.ErrInvalid, nil},
		{"bound custom role cannot be deleted", func(f *fixture) error {
			ok(f.t, "create role", second(f.d.CreateRole(f.ctx, alice, "acme", directory.RoleSpec{Name: "triager", Level: 20, Permissions: []string{"chains:read"}})))
			ok(f.t, "bind it", third(f.d.CreateBinding(f.ctx, alice, "acme", directory.BindingSpec{Principal: "user:dave", Role: "triager"})))
			return second(f.d.DeleteRole(f.ctx, alice, "acme", "triager"))
		}, directory.ErrConflict, nil},
		{"builder cannot raise its own role", func(f *fixture) error {
			return third(f.d.ChangeMemberRole(f.ctx, carol, "acme", "carol", "admin"))
		}, directory.ErrForbidden, nil},
		{"admin cannot raise itself to owner", func(f *fixture) error {
			return third(f.d.ChangeMemberRole(f.ctx, bob, "acme", "bob", "owner"))
		}, directory.ErrEscalation, nil},
		{"adding to a team checks the team's bindings", func(f *fixture) error {
			ok(f.t, "bind support", third(f.d.CreateBinding(f.ctx, alice, "acme", directory.BindingSpec{Principal: "team:support", Role: "owner", Scope: authz.Scope{Namespace: "prod"}})))
			return second(f.d.AddTeamMember(f.ctx, bob, "acme", "support", "user:frank"))
		}, directory.ErrEscalation, nil},

		// Last owner.
		{"the last owner cannot leave", func(f *fixture) error { return second(f.d.RemoveMember(f.ctx, alice, "acme", "alice")) }, directory.ErrLastOwner, nil},
		{"the last owner cannot step down", func(f *fixture) error { return third(f.d.ChangeMemberRole(f.ctx, alice, "acme", "alice", "admin")) }, directory.ErrLastOwner, nil},
		{"an owner leaves once another owner exists", func(f *fixture) error {
			ok(f.t, "promote bob", third(f.d.ChangeMemberRole(f.ctx, alice, "acme", "bob", "owner")))
			return second(f.d.RemoveMember(f.ctx, alice, "acme", "alice"))
		}, nil, nil},
		{"the last owner cannot delete its user", func(f *fixture) error { return second(f.d.DeleteUser(f.ctx, alice, "alice")) }, directory.ErrLastOwner, nil},
		{"a team of owners counts", func(f *fixture) error {
			ok(f.t, "team owners", third(f.d.CreateTeam(f.ctx, alice, "acme", "owners", "", []string{"user:bob"})))
			ok(f.t, "bind owners", third(f.d.CreateBinding(f.ctx, alice, "acme", directory.BindingSpec{Principal: "team:owners", Role: "owner"})))
			return second(f.d.DeleteBinding(f.ctx, alice, "acme", f.bindingID("user:alice", "owner")))
		}, nil, nil},

		// Sharing.
		{"admin shares a chain for run,read", func(f *fixture) error {
			return third(f.d.Share(f.ctx, bob, "acme", triage, "team:support", []string{"run", "read"}))
		}, nil, func(f *fixture) {
			if !f.can(dave, triage, "run") {
				f.t.Error("dave (in support) cannot run the shared chain")
			}
			if f.can(dave, authz.ResourceRef{Namespace: "default", Type: "chains", ID: "other"}, "run") {
				f.t.Error("the share leaked to another chain")
			}
		}},
		{"sharing an action the actor lacks", func(f *fixture) error {
			return third(f.d.Share(f.ctx, bob, "acme", triage, "user:dave", []string{"approve"}))
		}, directory.ErrEscalation, nil},
		{"builder cannot share", func(f *fixture) error {
			return third(f.d.Share(f.ctx, carol, "acme", triage, "user:dave", []string{"read"}))
		}, directory.ErrForbidden, nil},
		// Sharing with a role (seed 002: "with specific users or roles").
		{"admin shares a chain with role:viewer", func(f *fixture) error {
			return third(f.d.Share(f.ctx, bob, "acme", triage, "role:viewer", []string{"run"}))
		}, nil, func(f *fixture) {
			if !f.can(dave, triage, "run") {
				f.t.Error("dave (viewer) cannot run the chain shared with role:viewer")
			}
			if f.can(dave, authz.ResourceRef{Namespace: "default", Type: "chains", ID: "other"}, "run") {
				f.t.Error("the role share leaked to another chain")
			}
			ok(f.t, "demote dave", third(f.d.ChangeMemberRole(f.ctx, bob, "acme", "dave", "builder")))
			if !f.can(dave, triage, "run") {
				f.t.Error("dave, now a builder (which inherits viewer), lost the share")
			}
		}},
		{"sharing with a role above the actor's level", func(f *fixture) error {
			return third(f.d.Share(f.ctx, bob, "acme", triage, "role:owner", []string{"read"}))
		}, directory.ErrEscalation, nil},
		{"sharing with a role the policy lacks", func(f *fixture) error {
			return third(f.d.Share(f.ctx, bob, "acme", triage, "role:nosuchrole", []string{"read"}))
		}, directory.ErrInvalid, nil},
		{"sharing with a malformed role", func(f *fixture) error {
			return third(f.d.Share(f.ctx, bob, "acme", triage, "role:bad name", []string{"read"}))
		}, directory.ErrInvalid, nil},
		{"builder cannot share with a role", func(f *fixture) error {
			return third(f.d.Share(f.ctx, carol, "acme", triage, "role:viewer", []string{"read"}))
		}, directory.ErrForbidden, nil},
		{"a role share is no binding of the role elsewhere", func(f *fixture) error {
			return third(f.d.CreateBinding(f.ctx, alice, "acme", directory.BindingSpec{Principal: "role:viewer", Role: "viewer"}))
		}, directory.ErrInvalid, nil},
		{"dropping a role drops the shares made to it", func(f *fixture) error {
			ok(f.t, "create role", second(f.d.CreateRole(f.ctx, alice, "acme", directory.RoleSpec{Name: "triager", Level: 20, Permissions: []string{"chains:read"}})))
			ok(f.t, "share", third(f.d.Share(f.ctx, alice, "acme", triage, "role:triager", []string{"run"})))
			return second(f.d.DeleteRole(f.ctx, alice, "acme", "triager"))
		}, directory.ErrConflict, func(f *fixture) {
			ok(f.t, "replace with force", second(f.d.ReplacePolicy(f.ctx, alice, "acme", f.policyWithout("triager"), true)))
			bs, _, err := f.d.ListBindings(f.ctx, alice, "acme", directory.BindingFilter{Principal: "role:triager"}, store.Page{})
			ok(f.t, "list", err)
			if len(bs) != 0 {
				f.t.Errorf("shares made to the dropped role remain: %+v", bs)
			}
		}},

		// Agents.
		{"admin creates an agent within its means", func(f *fixture) error {
			return third(f.d.CreateAgent(f.ctx, bob, "acme", directory.AgentSpec{Name: "Triage", Role: "operator"}))
		}, nil, func(f *fixture) {
			if !f.can(directory.Actor{Principal: "agent:Triage"}, triage, "run") {
				f.t.Error("the new operator agent cannot run chains")
			}
		}},
		{"admin cannot create an owner agent", func(f *fixture) error {
			return third(f.d.CreateAgent(f.ctx, bob, "acme", directory.AgentSpec{Name: "Root", Role: "owner"}))
		}, directory.ErrEscalation, nil},
		{"agent expiry in the past", func(f *fixture) error {
			return third(f.d.CreateAgent(f.ctx, bob, "acme", directory.AgentSpec{Name: "Old", Role: "viewer", ExpiresAt: time.Now().Add(-time.Hour)}))
		}, directory.ErrInvalid, nil},
		{"an expired agent is denied everything", func(f *fixture) error {
			exp := time.Now().Add(time.Hour)
			ok(f.t, "create", third(f.d.CreateAgent(f.ctx, bob, "acme", directory.AgentSpec{Name: "Temp", Role: "operator", ExpiresAt: exp})))
			req := authz.Request{Org: "acme", Principal: "agent:Temp", ResourceType: "chains", ResourceID: "triage", Action: "run"}
			if !directory.EngineForTest(f.d).Check(&req).Allowed {
				f.t.Error("the agent is denied before its expiry")
			}
			req.Now = exp.Add(time.Second)
			if directory.EngineForTest(f.d).Check(&req).Allowed {
				f.t.Error("the agent is allowed after its expiry")
			}
			return nil
		}, nil, nil},

		// Policy.
		{"policy with a syntax error", func(f *fixture) error {
			return second(f.d.ReplacePolicy(f.ctx, alice, "acme", "role owner level 100 {\n  permission * { * \n", false))
		}, directory.ErrInvalid, nil},
		{"policy dropping a bound role", func(f *fixture) error {
			return second(f.d.ReplacePolicy(f.ctx, alice, "acme", "role owner level 100 { permission * { * } }\n", false))
		}, directory.ErrConflict, nil},
		{"policy dropping bound roles, forced", func(f *fixture) error {
			return second(f.d.ReplacePolicy(f.ctx, alice, "acme", "role owner level 100 { permission * { * } }\n", true))
		}, nil, func(f *fixture) {
			bs, _, err := f.d.ListBindings(f.ctx, alice, "acme", directory.BindingFilter{}, store.Page{})
			ok(f.t, "list", err)
			if len(bs) != 1 || bs[0].Role != "owner" {
				f.t.Errorf("bindings after the forced replace = %+v, want only alice's owner binding", bs)
			}
		}},
		{"admin cannot grant itself through the policy", func(f *fixture) error {
			pol, err := f.d.GetPolicy(f.ctx, bob, "acme")
			ok(f.t, "get policy", err)
			text := strings.Replace(pol.Text, "role admin: builder level 80 {", "role admin: builder level 80 {\n    permission * { * }", 1)
			return second(f.d.ReplacePolicy(f.ctx, bob, "acme", text, false))
		}, directory.ErrEscalation, nil},
		{"policy adding roles at the top level", func(f *fixture) error {
			pol, err := f.d.GetPolicy(f.ctx, alice, "acme")
			ok(f.t, "get policy", err)
			return second(f.d.ReplacePolicy(f.ctx, alice, "acme", pol.Text+"\nrole root level 100 { permission * { * } }\n", false))
		}, nil, nil}, // owner stays at the top level: alice still holds a top-level role
		{"policy whose top role nobody holds", func(f *fixture) error {
			pol, err := f.d.GetPolicy(f.ctx, alice, "acme")
			ok(f.t, "get policy", err)
			text := strings.Replace(pol.Text, "role owner level 100", "role owner level 90", 1)
			return second(f.d.ReplacePolicy(f.ctx, alice, "acme", text+"\nrole root level 100 { permission * { * } }\n", false))
		}, directory.ErrLastOwner, nil},

		// Namespaces.
		{"namespace with resources is refused", func(f *fixture) error {
			ok(f.t, "create", third(f.d.CreateResource(f.ctx, carol, "acme", directory.ResourceSpec{Namespace: "prod", Type: "chains", ID: "x"})))
			return second(f.d.DeleteNamespace(f.ctx, bob, "acme", "prod", false))
		}, directory.ErrConflict, nil},
		{"namespace cascade", func(f *fixture) error {
			ok(f.t, "create", third(f.d.CreateResource(f.ctx, carol, "acme", directory.ResourceSpec{Namespace: "prod", Type: "chains", ID: "x"})))
			return second(f.d.DeleteNamespace(f.ctx, bob, "acme", "prod", true))
		}, nil, func(f *fixture) {
			wantErr(f.t, "get prod", second(f.d.GetNamespace(f.ctx, alice, "acme", "prod")), directory.ErrNotFound)
		}},
		{"default namespace", func(f *fixture) error { return second(f.d.DeleteNamespace(f.ctx, alice, "acme", "default", true)) }, directory.ErrInvalid, nil},

		// Resources.
		{"viewer cannot create a chain", func(f *fixture) error {
			return third(f.d.CreateResource(f.ctx, dave, "acme", directory.ResourceSpec{Namespace: "default", Type: "chains", ID: "y"}))
		}, directory.ErrForbidden, nil},
		{"system types are not resources", func(f *fixture) error {
			return third(f.d.CreateResource(f.ctx, alice, "acme", directory.ResourceSpec{Namespace: "default", Type: "bindings", ID: "y"}))
		}, directory.ErrInvalid, nil},
		{"builder edits a chain; history and diff", func(f *fixture) error {
			return third(f.d.UpdateResource(f.ctx, carol, "acme", triage, directory.ResourceChange{Spec: json.RawMessage(`{"steps":["a","b"]}`)}))
		}, nil, func(f *fixture) {
			vs, _, err := f.d.ListResourceVersions(f.ctx, dave, "acme", triage, store.Page{})
			ok(f.t, "versions", err)
			if len(vs) != 2 || vs[0].Author != "user:carol" {
				f.t.Errorf("versions = %+v", vs)
			}
			diff, err := f.d.DiffResourceVersions(f.ctx, dave, "acme", triage, 1, 2)
			ok(f.t, "diff", err)
			if len(diff) == 0 {
				f.t.Error("empty diff between two different specs")
			}
		}},
		{"operator cannot edit a chain", func(f *fixture) error {
			return third(f.d.UpdateResource(f.ctx, frank, "acme", triage, directory.ResourceChange{Spec: json.RawMessage(`{}`)}))
		}, directory.ErrForbidden, nil},

		// Decisions.
		{"a member asks about itself", func(f *fixture) error {
			return third(f.d.Permissions(f.ctx, dave, "acme", "user:dave", "default", 0))
		}, nil, nil},
		{"a viewer cannot ask about others", func(f *fixture) error {
			return second(f.d.Check(f.ctx, dave, authz.Request{Org: "acme", Principal: "user:alice", ResourceType: "chains", Action: "read"}, 0))
		}, directory.ErrForbidden, nil},
		{"an admin asks who can run a chain", func(f *fixture) error {
			return third(f.d.LookupSubjects(f.ctx, bob, authz.LookupSubjectsRequest{Org: "acme", Namespace: "default", Type: "chains", ID: "triage", Action: "run"}, 0))
		}, nil, nil},
		{"a check at a future revision", func(f *fixture) error {
			short := openDir(f.t, f.st, directory.Options{CatchUpTimeout: 50 * time.Millisecond})
			return second(short.Check(f.ctx, alice, authz.Request{Org: "acme", Principal: "user:alice", ResourceType: "chains", Action: "read"}, f.rev+1000))
		}, directory.ErrNotCaughtUp, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			err := tc.do(f)
			wantErr(t, tc.name, err, tc.want)
			if tc.then != nil && !t.Failed() {
				tc.then(f)
			}
		})
	}
}

// TestErrorsSayWhat checks that refusals name what is missing.
func TestErrorsSayWhat(t *testing.T) {
	t.Parallel()
	f := newFixture(t)

	_, _, err := f.d.CreateBinding(f.ctx, carol, "acme", directory.BindingSpec{Principal: "user:dave", Role: "viewer", Scope: authz.Scope{Namespace: "prod"}})
	var fe *directory.ForbiddenError
	if !errors.As(err, &fe) {
		t.Fatalf("error %v is not a *ForbiddenError", err)
	}
	if diff := cmp.Diff(&directory.ForbiddenError{Permission: "bindings:create", Scope: authz.Scope{Namespace: "prod"}}, fe); diff != "" {
		t.Errorf("ForbiddenError (-want +got):\n%s", diff)
	}

	_, err = f.d.CreateRole(f.ctx, bob, "acme", directory.RoleSpec{Name: "x", Level: 10, Permissions: []string{"chains:read", "billing:read", "audit:delete"}})
	var ee *directory.EscalationError
	if !errors.As(err, &ee) {
		t.Fatalf("error %v is not an *EscalationError", err)
	}
	if ee.Reason != directory.ReasonPermissions || !cmp.Equal(ee.Missing, []policy.Permission{{Resource: "audit", Action: "delete"}}) {
		t.Errorf("EscalationError = %+v, want permissions [audit:delete]", ee)
	}

	_, _, err = f.d.CreateBinding(f.ctx, bob, "acme", directory.BindingSpec{Principal: "user:dave", Role: "owner"})
	if !errors.As(err, &ee) || ee.Reason != directory.ReasonLevel || ee.RoleLevel != 100 || ee.ActorLevel != 80 {
		t.Errorf("binding owner as admin: %v, want a level escalation 100 > 80", err)
	}

	_, err = f.d.ReplacePolicy(f.ctx, alice, "acme", "role owner level 100 {\n    permission chains { run }\n    permission * { read\n}\n", false)
	var pe *directory.PolicyError
	if !errors.As(err, &pe) {
		t.Fatalf("error %v is not a *PolicyError", err)
	}
	if len(pe.Diagnostics.Errors()) == 0 || !pe.Diagnostics.Errors()[0].Pos.IsValid() || pe.Diagnostics.Errors()[0].Pos.File != directory.PolicyFile {
		t.Errorf("diagnostics %v carry no position in %q", pe.Diagnostics, directory.PolicyFile)
	}

	_, err = f.d.GetOrg(f.ctx, erin, "acme")
	_, err2 := f.d.GetOrg(f.ctx, erin, "doesnotexist")
	if strings.ReplaceAll(err.Error(), "acme", "X") != strings.ReplaceAll(err2.Error(), "doesnotexist", "X") {
		t.Errorf("a non-member's error %q differs from an absent org's %q", err, err2)
	}
}

// TestCustomRoleLifecycle edits the policy text through role operations.
func TestCustomRoleLifecycle(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	spec := directory.RoleSpec{Name: "triager", Level: 20, Parents: []string{"viewer"}, Permissions: []string{"tickets:read", "tickets:update"}}
	ok(t, "create", second(f.d.CreateRole(f.ctx, alice, "acme", spec)))
	wantErr(t, "create twice", second(f.d.CreateRole(f.ctx, alice, "acme", spec)), directory.ErrConflict)
	roles, err := f.d.ListRoles(f.ctx, alice, "acme")
	ok(t, "list", err)
	var got *directory.RoleInfo
	for i := range roles {
		if roles[i].Name == "triager" {
			got = &roles[i]
		}
	}
	want := &directory.RoleInfo{Name: "triager", Level: 20, Parents: []string{"viewer"}, Custom: true,
		Permissions: []string{"audit:read", "chains:read", "results:read", "tickets:read", "tickets:update"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("triager (-want +got):\n%s", diff)
	}
	spec.Permissions = []string{"tickets:read"}
	ok(t, "update", second(f.d.UpdateRole(f.ctx, alice, "acme", spec)))
	ok(t, "bind", third(f.d.CreateBinding(f.ctx, alice, "acme", directory.BindingSpec{Principal: "user:frank", Role: "triager"})))
	if f.can(frank, authz.ResourceRef{Namespace: "default", Type: "tickets", ID: "t1"}, "update") {
		t.Error("frank can update tickets after the role lost tickets:update")
	}
	wantErr(t, "delete bound", second(f.d.DeleteRole(f.ctx, alice, "acme", "triager")), directory.ErrConflict)
	ok(t, "unbind", second(f.d.DeleteBinding(f.ctx, alice, "acme", f.bindingID("user:frank", "triager"))))
	ok(t, "delete", second(f.d.DeleteRole(f.ctx, alice, "acme", "triager")))
	pol, err := f.d.GetPolicy(f.ctx, alice, "acme")
	ok(t, "policy", err)
	if strings.Contains(pol.Text, "triager") {
		t.Errorf("the policy still declares triager:\n%s", pol.Text)
	}
	wantErr(t, "delete again", second(f.d.DeleteRole(f.ctx, alice, "acme", "triager")), directory.ErrNotFound)
}

// TestHostileInput: malformed input of every kind is refused with a
// directory error — never a panic, never a success.
func TestHostileInput(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	bad := []string{"", " ", "a b", "ümlaut", "x\x00y", strings.Repeat("a", 300), "user:", ":", "../etc", "*", "a/b", "\xff"}
	kinds := []error{directory.ErrNotFound, directory.ErrInvalid, directory.ErrForbidden, directory.ErrConflict, directory.ErrEscalation}
	wantKind := func(what string, err error) {
		t.Helper()
		if err == nil {
			t.Errorf("%s: accepted", what)
			return
		}
		for _, k := range kinds {
			if errors.Is(err, k) {
				return
			}
		}
		t.Errorf("%s: error %v wraps no directory sentinel", what, err)
	}
	for _, s := range bad {
		q := fmt.Sprintf("%q", s)
		wantKind("org "+q, second(f.d.GetOrg(f.ctx, alice, s)))
		wantKind("namespace "+q, third(f.d.CreateNamespace(f.ctx, alice, "acme", s)))
		wantKind("bind principal "+q, third(f.d.CreateBinding(f.ctx, alice, "acme", directory.BindingSpec{Principal: s, Role: "viewer"})))
		wantKind("bind role "+q, third(f.d.CreateBinding(f.ctx, alice, "acme", directory.BindingSpec{Principal: "user:dave", Role: s})))
		wantKind("bind scope "+q, third(f.d.CreateBinding(f.ctx, alice, "acme", directory.BindingSpec{Principal: "user:dave", Role: "viewer", Scope: authz.Scope{Namespace: s}})))
		wantKind("role name "+q, second(f.d.CreateRole(f.ctx, alice, "acme", directory.RoleSpec{Name: s, Level: 5, Permissions: []string{"chains:read"}})))
		wantKind("role permission "+q, second(f.d.CreateRole(f.ctx, alice, "acme", directory.RoleSpec{Name: "r", Level: 5, Permissions: []string{s}})))
		wantKind("share action "+q, third(f.d.Share(f.ctx, alice, "acme", triage, "user:dave", []string{s, "read", "x y"})))
		wantKind("resource id "+q, third(f.d.CreateResource(f.ctx, alice, "acme", directory.ResourceSpec{Namespace: "default", Type: "chains", ID: s + "/"})))
		wantKind("agent "+q, third(f.d.CreateAgent(f.ctx, alice, "acme", directory.AgentSpec{Name: s, Role: "viewer"})))
		wantKind("member "+q, third(f.d.AddMember(f.ctx, alice, "acme", s, "viewer")))
		wantKind("policy "+q, second(f.d.ReplacePolicy(f.ctx, alice, "acme", s, false)))
		wantKind("actor "+q, second(f.d.GetOrg(f.ctx, directory.Actor{Principal: s}, "acme")))
	}
	wantKind("role level", second(f.d.CreateRole(f.ctx, alice, "acme", directory.RoleSpec{Name: "r", Level: 101, Permissions: []string{"chains:read"}})))
	wantKind("huge policy", second(f.d.ReplacePolicy(f.ctx, alice, "acme", strings.Repeat("#", store.MaxPolicyBytes+1), false)))
}
