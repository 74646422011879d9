package server

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/internal/auth"
	"github.com/gatehouse-dev/gatehouse/internal/directory"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// The quickstart's demo data: the org "demo" from the agent-platform
// template, showing the model off —
//
//	alice   owner (org)
//	bob     viewer (org) + builder in dev + operator in prod (seed 002's
//	        "pattern that works")
//	carol   viewer (org), member of team support
//	team support: share of prod chains/escalation-triage for run, read
//	agent Triage: operator in prod, sponsored by alice
//	namespaces dev, prod; chains in both
//
// Every step goes through the directory as alice, so the demo obeys the
// same rules as any other data.

// DemoOrg is the demo org's id.
const DemoOrg = "demo"

// Demo is what SeedDemo created: the users' personal API keys (shown
// once) and the revision of the last write.
type Demo struct {
	Org      string
	Keys     map[string]string // user id → API key
	Revision uint64
}

// demoChains are the demo's resources: namespace → chain ids.
var demoChains = []struct{ ns, id, desc string }{
	{"prod", "escalation-triage", "Routes urgent support tickets to the on-call engineer"},
	{"prod", "ticket-summarizer", "Summarizes long support threads"},
	{"prod", "database-migration", "Applies schema migrations (engineering only)"},
	{"dev", "prompt-playground", "Scratch chain for trying prompts"},
	{"dev", "eval-harness", "Runs the evaluation suite against a chain"},
}

// SeedDemo creates the demo org and its users. It fails if any of them
// exists already.
func SeedDemo(ctx context.Context, dir *directory.Directory, as *auth.Service) (Demo, error) {
	d := Demo{Org: DemoOrg, Keys: map[string]string{}}
	for _, u := range []store.User{
		{ID: "alice", Email: "alice@example.com", DisplayName: "Alice (owner)"},
		{ID: "bob", Email: "bob@example.com", DisplayName: "Bob (builder in dev, operator in prod)"},
		{ID: "carol", Email: "carol@example.com", DisplayName: "Carol (viewer, support team)"},
	} {
		_, key, err := as.Bootstrap(ctx, u, "quickstart")
		if err != nil {
			return d, fmt.Errorf("demo: user %s: %w", u.ID, err)
		}
		d.Keys[u.ID] = key
	}
	alice := directory.Actor{Principal: "user:alice", RequestID: "quickstart"}
	step := func(what string, rev uint64, err error) error {
		if err != nil {
			return fmt.Errorf("demo: %s: %w", what, err)
		}
		d.Revision = max(d.Revision, rev)
		return nil
	}
	_, rev, err := dir.CreateOrg(ctx, alice, directory.OrgSpec{ID: DemoOrg, Name: "Demo Agent Platform", Template: "agent-platform"})
	if err := step("create org", rev, err); err != nil {
		return d, err
	}
	for _, ns := range []string{"dev", "prod"} {
		_, rev, err := dir.CreateNamespace(ctx, alice, DemoOrg, ns)
		if err := step("namespace "+ns, rev, err); err != nil {
			return d, err
		}
	}
	for _, m := range []string{"bob", "carol"} {
		_, rev, err := dir.AddMember(ctx, alice, DemoOrg, m, "viewer")
		if err := step("member "+m, rev, err); err != nil {
			return d, err
		}
	}
	for _, b := range []directory.BindingSpec{
		{Principal: "user:bob", Role: "builder", Scope: authz.Scope{Namespace: "dev"}},
		{Principal: "user:bob", Role: "operator", Scope: authz.Scope{Namespace: "prod"}},
	} {
		_, rev, err := dir.CreateBinding(ctx, alice, DemoOrg, b)
		if err := step("binding "+b.Principal+" "+b.Role, rev, err); err != nil {
			return d, err
		}
	}
	for _, c := range demoChains {
		spec, _ := json.Marshal(map[string]any{"description": c.desc, "steps": []string{"fetch", "reason", "act"}})
		_, rev, err := dir.CreateResource(ctx, alice, DemoOrg, directory.ResourceSpec{
			Namespace: c.ns, Type: "chains", ID: c.id, Labels: map[string]string{"env": c.ns}, Spec: spec,
		})
		if err := step("chain "+c.id, rev, err); err != nil {
			return d, err
		}
	}
	_, rev, err = dir.CreateTeam(ctx, alice, DemoOrg, "support", "Customer support", []string{"user:carol"})
	if err := step("team support", rev, err); err != nil {
		return d, err
	}
	_, rev, err = dir.Share(ctx, alice, DemoOrg, authz.ResourceRef{Namespace: "prod", Type: "chains", ID: "escalation-triage"}, "team:support", []string{"run", "read"})
	if err := step("share escalation-triage", rev, err); err != nil {
		return d, err
	}
	_, rev, err = dir.CreateAgent(ctx, alice, DemoOrg, directory.AgentSpec{Name: "Triage", Role: "operator", Namespace: "prod", Sponsor: "alice"})
	if err := step("agent Triage", rev, err); err != nil {
		return d, err
	}
	return d, nil
}
