package authz

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/policy"
)

func TestApplyStaleRevision(t *testing.T) {
	e, _ := newFixture(t)
	for _, rev := range []uint64{0, 1, 2} {
		err := e.Apply(rev, Change{Org: "acme", Op: OpPutNamespace, ID: "late"})
		if !errors.Is(err, ErrStaleRevision) {
			t.Errorf("Apply(%d) at revision 2: error %v, want ErrStaleRevision", rev, err)
		}
	}
	if e.Revision() != 2 {
		t.Errorf("revision %d after refused applies, want 2", e.Revision())
	}
	runChecks(t, e, []checkCase{deny("user:root", "chains:read", "late/chains/x")})
}

func TestApplyRejectsInvalidChangesWhole(t *testing.T) {
	good := Change{Org: "acme", Op: OpPutBinding, Binding: roleB("b-new", "user:nobody", "owner", orgScope())}
	tests := []struct {
		name string
		bad  Change
	}{
		{"missing org", Change{Op: OpPutNamespace, ID: "x"}},
		{"unknown op", Change{Org: "acme", Op: ChangeOp(99)}},
		{"binding without id", Change{Org: "acme", Op: OpPutBinding, Binding: roleB("", "user:a", "viewer", orgScope())}},
		{"binding with neither role nor actions", Change{Org: "acme", Op: OpPutBinding, Binding: Binding{ID: "b", Principal: "user:a"}}},
		{"binding with both", Change{Org: "acme", Op: OpPutBinding, Binding: Binding{ID: "b", Principal: "user:a", Role: "viewer", Actions: []string{"read"}, Scope: resScope("prod", "chains", "x")}}},
		{"binding for a malformed principal", Change{Org: "acme", Op: OpPutBinding, Binding: roleB("b", "alice", "viewer", orgScope())}},
		{"binding with a malformed scope", Change{Org: "acme", Op: OpPutBinding, Binding: roleB("b", "user:a", "viewer", Scope{Type: "chains"})}},
		{"action list on a namespace", Change{Org: "acme", Op: OpPutBinding, Binding: shareB("b", "user:a", nsScope("prod"), "read")}},
		{"action that is not an identifier", Change{Org: "acme", Op: OpPutBinding, Binding: shareB("b", "user:a", resScope("prod", "chains", "x"), "re ad")}},
		{"team principal", Change{Org: "acme", Op: OpPutPrincipal, Principal: Principal{ID: "team:x"}}},
		{"team member that is a team", Change{Org: "acme", Op: OpPutTeam, Team: Team{Slug: "t", Members: []string{"team:u"}}}},
		{"resource without id", Change{Org: "acme", Op: OpPutResource, Resource: Resource{Namespace: "prod", Type: "chains"}}},
		{"namespace not an identifier", Change{Org: "acme", Op: OpPutNamespace, ID: "a b"}},
		{"deleting default", Change{Org: "acme", Op: OpDeleteNamespace, ID: "default"}},
		{"set policy to nil", Change{Org: "acme", Op: OpSetPolicy}},
		{"put org without data", Change{Org: "acme", Op: OpPutOrg}},
		{"put org with another org's data", Change{Org: "acme", Op: OpPutOrg, Data: &OrgData{Org: "globex"}}},
		{"put into an unknown org", Change{Org: "initech", Op: OpPutNamespace, ID: "x"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, _ := newFixture(t)
			err := e.Apply(3, good, tt.bad)
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v, want ErrInvalid", err)
			}
			if !strings.Contains(err.Error(), "change 1") {
				t.Errorf("error %q does not say which change", err)
			}
			if e.Revision() != 2 {
				t.Errorf("revision %d, want 2 (nothing applied)", e.Revision())
			}
			// The valid change before the bad one is not applied either.
			runChecks(t, e, []checkCase{deny("user:nobody", "chains:delete", "prod/chains/x")})
		})
	}
	t.Run("unknown org is also ErrNotFound", func(t *testing.T) {
		e, _ := newFixture(t)
		err := e.Apply(3, Change{Org: "initech", Op: OpPutBinding, Binding: roleB("b", "user:a", "viewer", orgScope())})
		if !errors.Is(err, ErrNotFound) || !errors.Is(err, ErrInvalid) {
			t.Errorf("error %v, want ErrInvalid and ErrNotFound", err)
		}
	})
}

func TestApplyDeletingAbsentThingsIsANoOp(t *testing.T) {
	e, _ := newFixture(t)
	err := e.Apply(3,
		Change{Org: "acme", Op: OpDeleteBinding, ID: "no-such-binding"},
		Change{Org: "acme", Op: OpDeletePrincipal, ID: "user:no-one"},
		Change{Org: "acme", Op: OpDeleteTeam, ID: "no-team"},
		Change{Org: "acme", Op: OpDeleteResource, Resource: Resource{Namespace: "prod", Type: "chains", ID: "none"}},
		Change{Org: "acme", Op: OpDeleteNamespace, ID: "nowhere"},
		Change{Org: "initech", Op: OpDeleteBinding, ID: "b1"},
		Change{Org: "initech", Op: OpDeleteOrg},
	)
	if err != nil {
		t.Fatal(err)
	}
	if e.Revision() != 3 {
		t.Errorf("revision %d, want 3", e.Revision())
	}
	runChecks(t, e, []checkCase{allow("user:alice", "chains:read", "prod/chains/x")})
}

// step is one Apply followed by the checks that must then hold.
type step struct {
	name    string
	changes []Change
	checks  []checkCase
}

func runSteps(t *testing.T, e *Engine, steps []step) {
	t.Helper()
	for _, s := range steps {
		rev := e.Revision() + 1
		if err := e.Apply(rev, s.changes...); err != nil {
			t.Fatalf("%s: Apply: %v", s.name, err)
		}
		if e.Revision() != rev {
			t.Fatalf("%s: revision %d, want %d", s.name, e.Revision(), rev)
		}
		t.Run(s.name, func(t *testing.T) { runChecks(t, e, s.checks) })
	}
}

func acme(op ChangeOp) Change { return Change{Org: "acme", Op: op} }

func putB(b Binding) Change   { c := acme(OpPutBinding); c.Binding = b; return c }
func delB(id string) Change   { c := acme(OpDeleteBinding); c.ID = id; return c }
func putP(p Principal) Change { c := acme(OpPutPrincipal); c.Principal = p; return c }
func delP(id string) Change   { c := acme(OpDeletePrincipal); c.ID = id; return c }
func putT(slug string, members ...string) Change {
	c := acme(OpPutTeam)
	c.Team = Team{Slug: slug, Members: members}
	return c
}
func delT(slug string) Change { c := acme(OpDeleteTeam); c.ID = slug; return c }
func putR(ns, typ, id string) Change {
	c := acme(OpPutResource)
	c.Resource = Resource{Namespace: ns, Type: typ, ID: id}
	return c
}
func delR(ns, typ, id string) Change {
	c := acme(OpDeleteResource)
	c.Resource = Resource{Namespace: ns, Type: typ, ID: id}
	return c
}
func putNS(ns string) Change { c := acme(OpPutNamespace); c.ID = ns; return c }
func delNS(ns string) Change { c := acme(OpDeleteNamespace); c.ID = ns; return c }
func setPol(m *policy.Model) Change {
	c := acme(OpSetPolicy)
	c.Policy = m
	return c
}

func TestApplyIncremental(t *testing.T) {
	e, m := newFixture(t)
	// The same policy with operator renamed runner: bindings of operator
	// become inert, everything else keeps working.
	renamed := mustPolicy(t, strings.NewReplacer("role operator:", "role runner:", "builder: operator", "builder: runner", "Triage: operator", "Triage: runner").Replace(testPolicy))
	runSteps(t, e, []step{
		{"put a binding", []Change{putB(roleB("b-n1", "user:nobody", "operator", nsScope("dev")))}, []checkCase{
			allow("user:nobody", "chains:run", "dev/chains/y"),
			deny("user:nobody", "chains:run", "prod/chains/x"),
		}},
		{"replace it by id: new principal and scope", []Change{putB(roleB("b-n1", "user:sam", "operator", nsScope("prod")))}, []checkCase{
			deny("user:nobody", "chains:run", "dev/chains/y"),
			allow("user:sam", "chains:run", "prod/chains/x"),
			deny("user:sam", "chains:run", "dev/chains/y"),
		}},
		{"delete it", []Change{delB("b-n1")}, []checkCase{
			deny("user:sam", "chains:run", "prod/chains/x"),
			allow("user:sam", "chains:run", "prod/chains/shared"), // its share is untouched
		}},
		{"join a team", []Change{putT("support", "user:bob", "user:carol", "user:nobody")}, []checkCase{
			allow("user:nobody", "chains:run", "prod/chains/x"),
			allow("user:bob", "chains:run", "prod/chains/x"),
		}},
		{"leave a team", []Change{putT("support", "user:carol", "user:nobody")}, []checkCase{
			deny("user:bob", "chains:run", "prod/chains/x"),
			allow("user:nobody", "chains:run", "prod/chains/x"),
		}},
		{"delete the team", []Change{delT("support")}, []checkCase{
			deny("user:nobody", "chains:run", "prod/chains/x"),
			deny("user:carol", "chains:run", "prod/chains/x"),
			allow("user:carol", "chains:create", "prod/chains", ctx("hour", 10)), // still in oncall
		}},
		{"re-create it: its bindings apply again", []Change{putT("support", "user:bob")}, []checkCase{
			allow("user:bob", "chains:run", "prod/chains/x"),
		}},
		{"remove a member from the org", []Change{delP("user:alice")}, []checkCase{
			deny("user:alice", "chains:read", "prod/chains/x"),
		}},
		{"add them back: bindings were kept", []Change{putP(Principal{ID: "user:alice"})}, []checkCase{
			allow("user:alice", "chains:read", "prod/chains/x"),
		}},
		{"expire a member", []Change{putP(Principal{ID: "user:alice", ExpiresAt: past})}, []checkCase{
			deny("user:alice", "chains:read", "prod/chains/x"),
		}},
		{"create the resource a binding waited for", []Change{putP(Principal{ID: "user:alice"}), putR("prod", "chains", "gone")}, []checkCase{
			allow("user:uma", "chains:read", "prod/chains/gone"),
		}},
		{"delete a shared resource: the share stops", []Change{delR("prod", "chains", "shared")}, []checkCase{
			deny("user:sam", "chains:run", "prod/chains/shared"),
			allow("user:root", "chains:run", "prod/chains/shared"), // org grants apply to unknown ids
		}},
		{"re-create it: the share works again", []Change{putR("prod", "chains", "shared")}, []checkCase{
			allow("user:sam", "chains:run", "prod/chains/shared"),
		}},
		{"add a namespace", []Change{putNS("staging"), putB(roleB("b-stg", "user:nobody", "viewer", nsScope("staging"))), putR("staging", "chains", "s")}, []checkCase{
			allow("user:nobody", "chains:read", "staging/chains/s"),
			allow("user:root", "chains:read", "staging/chains"),
		}},
		{"delete it: its bindings and resources go", []Change{delNS("staging")}, []checkCase{
			deny("user:nobody", "chains:read", "staging/chains/s"),
			deny("user:root", "chains:read", "staging/chains"),
		}},
		{"re-create it: nothing comes back", []Change{putNS("staging")}, []checkCase{
			deny("user:nobody", "chains:read", "staging/chains/s"),
			allow("user:root", "chains:read", "staging/chains/s"),
		}},
		{"a resource put in a namespace that does not exist yet", []Change{putR("later", "chains", "early"), putB(shareB("b-early", "user:nobody", resScope("later", "chains", "early"), "read"))}, []checkCase{
			deny("user:nobody", "chains:read", "later/chains/early"), // no namespace, no access
		}},
		{"deleting that namespace drops the resource and the share", []Change{delNS("later"), putNS("later")}, []checkCase{
			deny("user:nobody", "chains:read", "later/chains/early"),
			allow("user:root", "chains:read", "later/chains/early"),
		}},
		{"a policy without the bound role", []Change{setPol(renamed)}, []checkCase{
			deny("user:bob", "chains:run", "prod/chains/x"),       // operator is gone
			allow("user:alice", "chains:create", "dev/chains"),    // builder's parent is renamed, not removed
			allow("agent:Triage", "chains:read", "prod/chains/x"), // its ceiling is runner now
			allow("user:root", "chains:delete", "prod/chains/x"),  // owner still there
			allow("user:sam", "chains:run", "prod/chains/shared"), // shares need no role
		}},
		{"the old policy again", []Change{setPol(m)}, []checkCase{
			allow("user:bob", "chains:run", "prod/chains/x"),
		}},
		{"delete the org", []Change{acme(OpDeleteOrg)}, []checkCase{
			deny("user:root", "chains:read", "prod/chains/x"),
			allow("user:bob", "chains:delete", "prod/chains/x", inOrg("globex")),
		}},
	})
}

// TestApplyMatchesRebuild applies a stream of changes one by one and
// compares every decision of a grid with an engine loaded from the final
// data in one go: incremental copy-on-write updates must equal a rebuild.
func TestApplyMatchesRebuild(t *testing.T) {
	m := mustPolicy(t, testPolicy)
	inc := New()
	d := acmeData(m)
	if err := inc.LoadOrg(1, d); err != nil {
		t.Fatal(err)
	}
	changes := []Change{
		putB(roleB("c1", "user:nobody", "builder", nsScope("prod"))),
		putT("newteam", "user:nobody", "user:sam"),
		putB(roleB("c2", "team:newteam", "viewer", resScope("dev", "chains", "y"))),
		putB(shareB("c3", "user:sam", resScope("dev", "chains", "y"), "update")),
		delB("b-alice-view"),
		putB(roleB("b-bob2", "user:bob", "owner", resScope("prod", "widgets", "w"))),
		putR("dev", "widgets", "w2"),
		delR("prod", "chains", "labeled"),
		putT("support", "user:carol"),
		delP("user:erin"),
		putNS("qa"),
		putB(roleB("c4", "user:nobody", "owner", nsScope("qa"))),
		putR("qa", "chains", "q"),
		delB("c1"),
		putB(roleB("c1", "user:gina", "operator", orgScope())),
	}
	for i, c := range changes {
		if err := inc.Apply(uint64(i+2), c); err != nil {
			t.Fatalf("change %d: %v", i, err)
		}
	}
	// The same changes on plain data.
	final := finalData(t, d, changes)
	fresh := New()
	if err := fresh.LoadOrg(1, final); err != nil {
		t.Fatal(err)
	}
	principals := []string{"user:alice", "user:bob", "user:carol", "user:sam", "user:nobody", "user:gina", "user:erin", "agent:Triage", "service:ci"}
	perms := []string{"chains:read", "chains:run", "chains:update", "chains:delete", "widgets:read", "widgets:poke"}
	targets := []string{"prod/chains/x", "prod/chains/labeled", "dev/chains/y", "prod/widgets/w", "dev/widgets/w2", "qa/chains/q", "qa/chains", "prod/chains"}
	n := 0
	for _, p := range principals {
		for _, perm := range perms {
			for _, tg := range targets {
				req := mkReq(p, perm, tg, ctx("hour", 10))
				a, b := inc.Check(&req).Allowed, fresh.Check(&req).Allowed
				if a != b {
					t.Errorf("%s %s %s: incremental %v, rebuilt %v", p, perm, tg, a, b)
				}
				if a {
					n++
				}
			}
		}
	}
	if n == 0 {
		t.Fatal("the grid allows nothing: the comparison proves nothing")
	}
}

// finalData applies changes to plain OrgData (only the ops the test uses).
func finalData(t *testing.T, d OrgData, changes []Change) OrgData {
	t.Helper()
	for _, c := range changes {
		switch c.Op {
		case OpPutBinding:
			d.Bindings = replaceOrAppend(d.Bindings, c.Binding, func(b Binding) bool { return b.ID == c.Binding.ID })
		case OpDeleteBinding:
			d.Bindings = without(d.Bindings, func(b Binding) bool { return b.ID == c.ID })
		case OpPutTeam:
			d.Teams = replaceOrAppend(d.Teams, c.Team, func(x Team) bool { return x.Slug == c.Team.Slug })
		case OpDeletePrincipal:
			d.Principals = without(d.Principals, func(p Principal) bool { return p.ID == c.ID })
		case OpPutResource:
			d.Resources = append(d.Resources, c.Resource)
		case OpDeleteResource:
			d.Resources = without(d.Resources, func(r Resource) bool {
				return r.Namespace == c.Resource.Namespace && r.Type == c.Resource.Type && r.ID == c.Resource.ID
			})
		case OpPutNamespace:
			d.Namespaces = append(d.Namespaces, c.ID)
		default:
			t.Fatalf("finalData: op %v not supported", c.Op)
		}
	}
	return d
}

func replaceOrAppend[T any](s []T, v T, same func(T) bool) []T {
	out := without(s, same)
	return append(out, v)
}

func without[T any](s []T, drop func(T) bool) []T {
	var out []T
	for _, x := range s {
		if !drop(x) {
			out = append(out, x)
		}
	}
	return out
}

func TestWaitFor(t *testing.T) {
	e, _ := newFixture(t)
	if err := e.WaitFor(context.Background(), 2); err != nil {
		t.Fatalf("WaitFor(current) = %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- e.WaitFor(context.Background(), 4) }()
	if err := e.Apply(3, putNS("a")); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		t.Fatalf("WaitFor(4) returned %v at revision 3", err)
	default:
	}
	if err := e.Apply(4, putNS("b")); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("WaitFor(4) = %v after revision 4", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := e.WaitFor(ctx, 99); !errors.Is(err, context.Canceled) {
		t.Fatalf("WaitFor on a cancelled context = %v, want context.Canceled", err)
	}
	ctx, cancel = context.WithTimeout(context.Background(), time.Millisecond)
	defer cancel()
	if err := e.WaitFor(ctx, 99); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("WaitFor past its deadline = %v, want context.DeadlineExceeded", err)
	}
}

// TestConcurrentReadersSeeWholeApplies runs readers against a stream of
// Apply calls (run it with -race). Each Apply swaps which of two bindings
// grants user:nobody chains:run and, in the same call, which of two
// resources exists; a reader that saw half an Apply would be denied, or
// would list no resource or two.
func TestConcurrentReadersSeeWholeApplies(t *testing.T) {
	e, _ := newFixture(t)
	if err := e.Apply(3, putB(roleB("swap-a", "user:nobody", "operator", orgScope())), putR("dev", "docs", "a")); err != nil {
		t.Fatal(err)
	}
	const applies = 300
	var stop atomic.Bool
	var wg sync.WaitGroup
	errs := make(chan string, 16)
	report := func(s string) {
		select {
		case errs <- s:
		default:
		}
	}
	for r := 0; r < 4; r++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req := mkReq("user:nobody", "chains:run", "prod/chains/x")
			var last uint64
			for !stop.Load() {
				d := e.Check(&req)
				if !d.Allowed {
					report("a reader was denied between two halves of an Apply")
				}
				if d.Revision < last {
					report("revision went backwards")
				}
				last = d.Revision
				page, err := e.LookupResources(LookupResourcesRequest{Org: "acme", Principal: "user:root", Type: "docs", Action: "read"})
				if err != nil || len(page.Resources) != 1 {
					report("lookup saw half an Apply: " + strings.Repeat("!", len(page.Resources)))
				}
			}
		}()
	}
	for i := 0; i < applies; i++ {
		rev := uint64(4 + i)
		var err error
		if i%2 == 0 {
			err = e.Apply(rev, delB("swap-a"), putB(roleB("swap-b", "user:nobody", "operator", orgScope())), delR("dev", "docs", "a"), putR("dev", "docs", "b"))
		} else {
			err = e.Apply(rev, delB("swap-b"), putB(roleB("swap-a", "user:nobody", "operator", orgScope())), delR("dev", "docs", "b"), putR("dev", "docs", "a"))
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	stop.Store(true)
	wg.Wait()
	close(errs)
	for s := range errs {
		t.Error(s)
	}
}

func TestDeleteNamespaceDropsResourcesPutBeforeIt(t *testing.T) {
	e, _ := newFixture(t)
	if err := e.Apply(3, putR("later", "chains", "early")); err != nil {
		t.Fatal(err)
	}
	if err := e.Apply(4, delNS("later"), putNS("later")); err != nil {
		t.Fatal(err)
	}
	got := lookupAll(t, e, LookupResourcesRequest{Org: "acme", Principal: "user:root", Type: "chains", Action: "read", Namespace: "later"})
	if len(got) != 0 {
		t.Errorf("resources of a deleted namespace came back: %v", got)
	}
}

// TestForkIsIndependent: a fork starts with its engine's decisions and
// revision, and changes applied to either afterwards are not seen by the
// other (they share the published snapshot, which no writer modifies).
func TestForkIsIndependent(t *testing.T) {
	e, _ := newFixture(t)
	f := e.Fork()
	if f.Revision() != e.Revision() {
		t.Fatalf("fork at revision %d, engine at %d", f.Revision(), e.Revision())
	}
	grant := Change{Org: "acme", Op: OpPutBinding, Binding: roleB("b-fork", "user:nobody", "owner", orgScope())}
	if err := f.Apply(3, grant); err != nil {
		t.Fatalf("Apply to the fork: %v", err)
	}
	if err := e.Apply(3, Change{Org: "acme", Op: OpPutNamespace, ID: "late"}); err != nil {
		t.Fatalf("Apply to the engine: %v", err)
	}
	runChecks(t, f, []checkCase{allow("user:nobody", "chains:read", "prod/chains/x"), deny("user:root", "chains:read", "late/chains/x")})
	runChecks(t, e, []checkCase{deny("user:nobody", "chains:read", "prod/chains/x")})
	if err := f.Apply(4, Change{Org: "acme", Op: OpDeleteOrg}); err != nil {
		t.Fatalf("deleting the org in the fork: %v", err)
	}
	g := e.Fork()
	runChecks(t, f, []checkCase{deny("user:root", "chains:read", "prod/chains/x")})
	runChecks(t, e, []checkCase{allow("user:root", "chains:read", "prod/chains/x")})
	runChecks(t, g, []checkCase{allow("user:root", "chains:read", "prod/chains/x"), deny("user:nobody", "chains:read", "prod/chains/x")})
}

// TestLoadOrgDuplicateBindingIDs: of bindings sharing an id the last
// wins, whatever the order of the list (a list in increasing id order is
// built without looking for duplicates, so an equal neighbour must still
// be found).
func TestLoadOrgDuplicateBindingIDs(t *testing.T) {
	m := mustPolicy(t, testPolicy)
	tests := []struct {
		name     string
		bindings []Binding
		cases    []checkCase
	}{
		{"increasing ids", []Binding{
			roleB("b1", "user:a", "viewer", orgScope()),
			roleB("b2", "user:b", "owner", nsScope("prod")),
		}, []checkCase{allow("user:a", "chains:read", "prod/chains/x"), allow("user:b", "chains:delete", "prod/chains/x"), deny("user:b", "chains:read", "dev/chains/x")}},
		{"equal neighbours", []Binding{
			roleB("b1", "user:a", "owner", orgScope()),
			roleB("b1", "user:b", "viewer", orgScope()),
			roleB("b2", "user:c", "viewer", orgScope()),
		}, []checkCase{deny("user:a", "chains:read", "prod/chains/x"), allow("user:b", "chains:read", "prod/chains/x"), deny("user:b", "chains:delete", "prod/chains/x")}},
		{"duplicate out of order", []Binding{
			roleB("b2", "user:a", "owner", orgScope()),
			roleB("b1", "user:c", "viewer", orgScope()),
			roleB("b2", "user:b", "viewer", orgScope()),
		}, []checkCase{deny("user:a", "chains:read", "prod/chains/x"), allow("user:b", "chains:read", "prod/chains/x"), allow("user:c", "chains:read", "prod/chains/x")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := New()
			d := OrgData{Org: "acme", Policy: m, Namespaces: []string{"prod", "dev"},
				Principals: []Principal{{ID: "user:a"}, {ID: "user:b"}, {ID: "user:c"}}, Bindings: tt.bindings}
			if err := e.LoadOrg(1, d); err != nil {
				t.Fatalf("LoadOrg: %v", err)
			}
			runChecks(t, e, tt.cases)
		})
	}
}
