// Package storetest is the conformance suite every store.Store backend
// must pass: RunConformance checks each method's behaviour and error
// contract, revisions and the changelog, cascades, pagination, org
// isolation, concurrent writers, rollback, and a second handle on the same
// database. It reads as the store's specification.
//
// Invariants of the suite itself: every check can fail; nothing is skipped
// (a backend that cannot run a check fails it); no check depends on timing
// except hang guards (generous deadlines that only turn a hang into a
// failure).
package storetest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// Reopener is implemented by stores that can open a second, independent
// handle on their database (another pool, another writer connection), as
// a second Gatehouse process would. The suite requires it.
type Reopener interface {
	Reopen(ctx context.Context) (store.Store, error)
}

// RunConformance runs the suite. open must return a store on a fresh,
// empty, migrated database and register its cleanup with t.Cleanup.
func RunConformance(t *testing.T, open func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"Orgs", testOrgs},
		{"Namespaces", testNamespaces},
		{"Users", testUsers},
		{"Members", testMembers},
		{"Agents", testAgents},
		{"Services", testServices},
		{"Teams", testTeams},
		{"Bindings", testBindings},
		{"BindingShapes", testBindingShapes},
		{"ChangeValues", testChangeValues},
		{"BindingExpiry", testBindingExpiry},
		{"AgentLifecycle", testAgentLifecycle},
		{"ServiceSuspension", testServiceSuspension},
		{"ServiceLifecycle", testServiceLifecycle},
		{"Resources", testResources},
		{"ResourceVersionsAndDiff", testResourceVersions},
		{"Policies", testPolicies},
		{"NotFoundContracts", testNotFoundContracts},
		{"CascadePrincipals", testCascadePrincipals},
		{"CascadeNamespace", testCascadeNamespace},
		{"CascadeResource", testCascadeResource},
		{"DeleteOrg", testDeleteOrg},
		{"OrgIsolation", testOrgIsolation},
		{"Pagination", testPagination},
		{"PaginationErrors", testPaginationErrors},
		{"Changelog", testChangelog},
		{"ChangelogWholeRevisions", testChangelogWholeRevisions},
		{"ChangelogRuns", testChangelogRuns},
		{"ChangelogDenseRuns", ChangelogDenseRuns},
		{"Rollback", testRollback},
		{"TxLifetime", testTxLifetime},
		{"TxReads", testTxReads},
		{"EarlyPrefetch", testEarlyPrefetch},
		{"ConcurrentWriters", testConcurrentWriters},
		{"OrgWrites", OrgWrites},
		{"OrgWriteScope", testOrgWriteScope},
		{"OrgWriteNewUser", testOrgWriteNewUser},
		{"LoadOrg", testLoadOrg},
		{"StreamOrg", testStreamOrg},
		{"Watch", testWatch},
		{"SecondInstance", testSecondInstance},
		{"HostileInput", testHostileInput},
		{"Audit", testAudit},
		{"AuditRuns", testAuditRuns},
		{"AuditPagesRandom", testAuditPagesRandom},
		{"APIKeys", testAPIKeys},
		{"AgentTokens", testAgentTokens},
		{"ListsByCreator", testListsByCreator},
		{"Invitations", testInvitations},
		{"Secrets", testSecrets},
		{"Approvals", testApprovals},
		{"ApprovalSettings", testApprovalSettings},
		{"Runs", testRuns},
		{"EngineSnapshots", testEngineSnapshots},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := open(t)
			tc.fn(t, s)
			if tc.name != "Watch" && !t.Failed() { // Watch closes its store
				checkChangeOrgs(t, s)
			}
		})
	}
}

// guard is the hang guard of every check: a deadline that no correct
// backend comes near.
const guard = 60 * time.Second

func ctxT(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), guard)
	t.Cleanup(cancel)
	return ctx
}

// write runs fn in a Write and fails the test on error.
func write(t *testing.T, s store.Store, fn func(ctx context.Context, tx store.Tx) error) uint64 {
	t.Helper()
	ctx := ctxT(t)
	rev, err := s.Write(ctx, func(tx store.Tx) error { return fn(ctx, tx) })
	if err != nil {
		t.Fatalf("Write: %v", err)
	}
	return rev
}

// writeErr runs fn in a Write and returns its error.
func writeErr(t *testing.T, s store.Store, fn func(ctx context.Context, tx store.Tx) error) error {
	t.Helper()
	ctx := ctxT(t)
	_, err := s.Write(ctx, func(tx store.Tx) error { return fn(ctx, tx) })
	return err
}

// wantErr fails unless err wraps want (nil means no error).
func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	switch {
	case want == nil && err != nil:
		t.Errorf("%s: unexpected error %v", what, err)
	case want != nil && !errors.Is(err, want):
		t.Errorf("%s: error = %v, want %v", what, err, want)
	case want != nil:
		var se *store.Error
		if !errors.As(err, &se) {
			t.Errorf("%s: error %v is not a *store.Error", what, err)
		}
	}
}

// must(f()).get(t) returns f's value or fails the test with its error.
func must[T any](v T, err error) result[T] { return result[T]{v, err} }

type result[T any] struct {
	v   T
	err error
}

func (r result[T]) get(t *testing.T) T {
	t.Helper()
	if r.err != nil {
		t.Fatal(r.err)
	}
	return r.v
}

func diff(t *testing.T, what string, want, got any, opts ...cmp.Option) {
	t.Helper()
	opts = append(opts, cmpopts.EquateEmpty())
	if d := cmp.Diff(want, got, opts...); d != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", what, d)
	}
}

// changes returns every changelog entry after rev.
func changes(t *testing.T, s store.Store, after uint64) []store.Change {
	t.Helper()
	ctx := ctxT(t)
	var out []store.Change
	for {
		cs, err := s.ChangesSince(ctx, after, 0)
		if err != nil {
			t.Fatalf("ChangesSince(%d): %v", after, err)
		}
		if len(cs) == 0 {
			return out
		}
		out = append(out, cs...)
		after = cs[len(cs)-1].Revision
	}
}

// kinds renders entries as "kind key" for comparison.
func kinds(cs []store.Change) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = string(c.Kind) + " " + c.Key
	}
	return out
}

// fixture is a small org: users alice and bob (global) as members, agent
// Triage sponsored by alice, service ci, team support {alice, agent:Triage},
// namespace prod with resource chains/triage, and bindings owner (alice,
// org), viewer (team:support, prod), share (bob, chains/triage: run,read),
// agent (agent:Triage, org, operator).
type fixture struct {
	org      string
	resource authz.ResourceRef
}

func ensureUsers(ctx context.Context, tx store.Tx, ids ...string) error {
	for _, id := range ids {
		if _, err := tx.GetUser(ctx, id); err == nil {
			continue
		}
		if _, err := tx.CreateUser(ctx, store.User{ID: id, Email: id + "@example.com", DisplayName: id}); err != nil {
			return err
		}
	}
	return nil
}

func seed(t *testing.T, s store.Store, org string) fixture {
	t.Helper()
	f := fixture{org: org, resource: authz.ResourceRef{Namespace: "prod", Type: "chains", ID: "triage"}}
	write(t, s, func(ctx context.Context, tx store.Tx) error {
		return seedTx(ctx, tx, f)
	})
	return f
}

func seedTx(ctx context.Context, tx store.Tx, f fixture) error {
	org := f.org
	if err := ensureUsers(ctx, tx, "alice", "bob"); err != nil {
		return err
	}
	steps := []func() error{
		func() error {
			_, err := tx.CreateOrg(ctx, store.Org{ID: org, Name: "Org " + org, Template: "agent-platform"})
			return err
		},
		func() error {
			_, err := tx.AddMember(ctx, store.Member{Org: org, UserID: "alice", Attributes: map[string]any{"dept": "ops"}})
			return err
		},
		func() error { _, err := tx.AddMember(ctx, store.Member{Org: org, UserID: "bob"}); return err },
		func() error {
			_, err := tx.CreateAgent(ctx, store.Agent{Org: org, Name: "Triage", Role: "operator", Sponsor: "alice"})
			return err
		},
		func() error { _, err := tx.CreateService(ctx, store.Service{Org: org, Name: "ci"}); return err },
		func() error {
			_, err := tx.CreateTeam(ctx, store.Team{Org: org, Slug: "support", Name: "Support", Members: []string{"user:alice", "agent:Triage"}})
			return err
		},
		func() error { _, err := tx.CreateNamespace(ctx, org, "prod"); return err },
		func() error {
			_, err := tx.CreateResource(ctx, store.Resource{Org: org, Resource: authz.Resource{Namespace: "prod", Type: "chains", ID: "triage",
				Labels: map[string]string{"env": "prod"}}, Spec: []byte(`{"steps":["a"]}`)}, "user:alice")
			return err
		},
		func() error {
			_, err := tx.CreateBinding(ctx, store.Binding{Org: org, Binding: authz.Binding{ID: "owner", Principal: "user:alice", Role: "owner"}})
			return err
		},
		func() error {
			_, err := tx.CreateBinding(ctx, store.Binding{Org: org, Binding: authz.Binding{ID: "viewer", Principal: "team:support", Role: "viewer",
				Scope: authz.Scope{Namespace: "prod"}}})
			return err
		},
		func() error {
			_, err := tx.CreateBinding(ctx, store.Binding{Org: org, Binding: authz.Binding{ID: "share", Principal: "user:bob", Actions: []string{"run", "read"},
				Scope: authz.Scope{Namespace: "prod", Type: "chains", ID: "triage"}}})
			return err
		},
		func() error {
			_, err := tx.CreateBinding(ctx, store.Binding{Org: org, Binding: authz.Binding{ID: "agent", Principal: "agent:Triage", Role: "operator"}})
			return err
		},
		func() error {
			_, err := tx.SetPolicy(ctx, org, "role owner level 100 { permission * { * } }\n", "user:alice")
			return err
		},
	}
	for i, step := range steps {
		if err := step(); err != nil {
			return fmt.Errorf("seed %s step %d: %w", org, i, err)
		}
	}
	return nil
}
