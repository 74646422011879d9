package directory_test

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/internal/directory"
	"github.com/gatehouse-dev/gatehouse/internal/store"
	"github.com/gatehouse-dev/gatehouse/templates"
)

// approvalPolicy: the agent-platform template with approval rules added
// to builder (two admins approve a prod update) and an agent.
func approvalPolicy(t testing.TB) string {
	t.Helper()
	src, err := templates.Source("agent-platform")
	if err != nil {
		t.Fatal(err)
	}
	text := string(src)
	text = strings.Replace(text, "role builder: operator level 50 {\n", "role builder: operator level 50 {\n    ask before update chains when in_prod from admin quorum 2\n", 1)
	return text + `
condition in_prod = "resource.namespace == 'prod'"

agent Deployer: operator {
    can run chains
    ask before run chains when in_prod
}
`
}

type apvFixture struct {
	t   *testing.T
	ctx context.Context
	st  store.Store
	d   *directory.Directory
}

func newApvFixture(t *testing.T, st store.Store, opts directory.Options) *apvFixture {
	t.Helper()
	if st == nil {
		st = openSQLite(t)
	}
	if opts.CatchUpTimeout == 0 {
		opts.CatchUpTimeout = 10 * time.Second
	}
	d := openDir(t, st, opts)
	f := &apvFixture{t: t, ctx: ctxT(t), st: st, d: d}
	mustUsers(t, d, "alice", "bob", "ann", "amy", "carl", "vic")
	ok(t, "create acme", third(d.CreateOrg(f.ctx, user("alice"), directory.OrgSpec{ID: "acme", Template: "agent-platform"})))
	ok(t, "policy", second(d.ReplacePolicy(f.ctx, user("alice"), "acme", approvalPolicy(t), false)))
	for u, role := range map[string]string{"bob": "builder", "ann": "admin", "amy": "admin", "carl": "builder", "vic": "viewer"} {
		ok(t, "add "+u, third(d.AddMember(f.ctx, user("alice"), "acme", u, role)))
	}
	ok(t, "prod", third(d.CreateNamespace(f.ctx, user("alice"), "acme", "prod")))
	ok(t, "chain", third(d.CreateResource(f.ctx, user("alice"), "acme", directory.ResourceSpec{Namespace: "prod", Type: "chains", ID: "x", Spec: json.RawMessage(`{"v":1}`)})))
	ok(t, "agent", third(d.CreateAgent(f.ctx, user("alice"), "acme", directory.AgentSpec{Name: "Deployer"})))
	return f
}

func (f *apvFixture) check(actor directory.Actor, principal, action string, args string, approvalID string) (authz.Decision, *store.Approval, error) {
	f.t.Helper()
	req := authz.Request{Org: "acme", Principal: principal, Namespace: "prod", ResourceType: "chains", ResourceID: "x", Action: action}
	a := f.d.Asker(actor)
	var raw json.RawMessage
	if args != "" {
		raw = json.RawMessage(args)
	}
	return a.CheckApproval(f.ctx, &req, directory.ApprovalInput{Arguments: raw, ApprovalID: approvalID})
}

func TestApprovalLifecycle(t *testing.T) {
	f := newApvFixture(t, nil, directory.Options{})
	bob := user("bob")
	dec, ap, err := f.check(bob, "user:bob", "update", `{"b":1,"a":[1,2]}`, "")
	ok(t, "first ask", err)
	if dec.Allowed || !dec.ApprovalRequired || ap == nil || ap.Status != store.ApprovalPending || ap.Quorum != 2 {
		t.Fatalf("first ask: %+v %+v", dec, ap)
	}
	// Same question, keys in another order: same approval.
	_, again, err := f.check(bob, "user:bob", "update", `{ "a":[1,2], "b":1 }`, "")
	ok(t, "ask again", err)
	if again == nil || again.ID != ap.ID {
		t.Fatalf("asked again: %+v, want approval %s", again, ap.ID)
	}
	// Another principal asking about bob creates nothing, but sees it.
	_, other, err := f.check(user("ann"), "user:bob", "update", `{"a":[1,2],"b":1}`, "")
	ok(t, "admin asks about bob", err)
	if other == nil || other.ID != ap.ID {
		t.Errorf("admin asking about bob: %+v", other)
	}
	// Presenting a pending approval does not allow.
	dec, _, err = f.check(bob, "user:bob", "update", `{"a":[1,2],"b":1}`, ap.ID)
	ok(t, "present pending", err)
	if dec.Allowed {
		t.Fatal("a pending approval allowed the request")
	}

	// Refused approvers.
	for _, tc := range []struct {
		who  directory.Actor
		want error
	}{
		{bob, directory.ErrForbidden},                                          // self-approval
		{user("carl"), directory.ErrForbidden},                                 // builder: decisions:approve, but not from admin
		{user("vic"), directory.ErrNotFound},                                   // viewer: cannot even see it
		{directory.Actor{Principal: "agent:Deployer"}, directory.ErrForbidden}, // an agent (its role holds decisions:approve)
	} {
		wantErr(t, "approve by "+tc.who.Principal, second(f.d.DecideApproval(f.ctx, tc.who, "acme", ap.ID, true, "")), tc.want)
	}
	got, err := f.d.DecideApproval(f.ctx, user("ann"), "acme", ap.ID, true, "looks fine")
	ok(t, "ann approves", err)
	if got.Status != store.ApprovalPending {
		t.Fatalf("after one of two approvals: %s", got.Status)
	}
	wantErr(t, "ann approves twice", second(f.d.DecideApproval(f.ctx, user("ann"), "acme", ap.ID, true, "")), directory.ErrConflict)
	got, err = f.d.DecideApproval(f.ctx, user("amy"), "acme", ap.ID, true, "ok")
	ok(t, "amy approves", err)
	if got.Status != store.ApprovalGranted {
		t.Fatalf("after two approvals: %s", got.Status)
	}

	// A changed argument is another question: not allowed, new approval.
	dec, changed, err := f.check(bob, "user:bob", "update", `{"a":[1,2],"b":2}`, ap.ID)
	ok(t, "changed args", err)
	if dec.Allowed || changed == nil || changed.ID == ap.ID {
		t.Fatalf("changed argument: allowed %v approval %+v", dec.Allowed, changed)
	}
	// Someone else presenting it: refused.
	wantErr(t, "ann presents bob's approval", third(f.check(user("ann"), "user:bob", "update", `{"a":[1,2],"b":1}`, ap.ID)), directory.ErrInvalid)
	// Bob presents it: allowed once.
	dec, used, err := f.check(bob, "user:bob", "update", `{"a":[1,2],"b":1}`, ap.ID)
	ok(t, "consume", err)
	if !dec.Allowed || used == nil || used.Status != store.ApprovalConsumed {
		t.Fatalf("consume: allowed %v %+v", dec.Allowed, used)
	}
	dec, _, err = f.check(bob, "user:bob", "update", `{"a":[1,2],"b":1}`, ap.ID)
	ok(t, "consume again", err)
	if dec.Allowed {
		t.Fatal("an approval was used twice")
	}

	// Every step is in the audit log.
	entries, _, err := f.d.ListAudit(f.ctx, user("alice"), "acme", store.AuditFilter{}, store.Page{Size: 500})
	ok(t, "audit", err)
	counts := map[string]int{}
	for _, e := range entries {
		if strings.HasPrefix(e.Action, "approval.") {
			counts[e.Action+"/"+string(e.Result)]++
		}
	}
	for _, want := range []string{"approval.request/success", "approval.approve/success", "approval.approve/denied", "approval.consume/success"} {
		if counts[want] == 0 {
			t.Errorf("no %s entry; have %v", want, counts)
		}
	}
	if counts["approval.consume/success"] != 1 {
		t.Errorf("%d consume entries, want 1", counts["approval.consume/success"])
	}
}

func TestApprovalDenyAndExpiry(t *testing.T) {
	f := newApvFixture(t, nil, directory.Options{Approvals: directory.ApprovalOptions{PendingTTL: time.Hour, UseWindow: 50 * time.Millisecond}})
	bob := user("bob")
	_, ap, err := f.check(bob, "user:bob", "update", "", "")
	ok(t, "ask", err)
	got, err := f.d.DecideApproval(f.ctx, user("ann"), "acme", ap.ID, false, "not on a Friday")
	ok(t, "deny", err)
	if got.Status != store.ApprovalDenied || got.Votes[0].Comment != "not on a Friday" {
		t.Fatalf("denied: %+v", got)
	}
	wantErr(t, "approve after deny", second(f.d.DecideApproval(f.ctx, user("amy"), "acme", ap.ID, true, "")), directory.ErrConflict)
	// A denied approval ends the request: asking again opens a new one.
	_, ap2, err := f.check(bob, "user:bob", "update", "", "")
	ok(t, "ask again", err)
	if ap2 == nil || ap2.ID == ap.ID {
		t.Fatalf("after a deny: %+v", ap2)
	}
	ok(t, "ann", second(f.d.DecideApproval(f.ctx, user("ann"), "acme", ap2.ID, true, "")))
	ok(t, "amy", second(f.d.DecideApproval(f.ctx, user("amy"), "acme", ap2.ID, true, "")))
	time.Sleep(100 * time.Millisecond) // past the use window (a lifetime, not a timing assertion)
	dec, _, err := f.check(bob, "user:bob", "update", "", ap2.ID)
	ok(t, "late use", err)
	if dec.Allowed {
		t.Fatal("an expired grant allowed the request")
	}
	st, err := f.d.GetApproval(f.ctx, bob, "acme", ap2.ID)
	ok(t, "get", err)
	if st.Status != store.ApprovalExpired {
		t.Errorf("late grant status %s, want expired", st.Status)
	}
}

func TestApprovalWait(t *testing.T) {
	f := newApvFixture(t, nil, directory.Options{})
	_, ap, err := f.check(directory.Actor{Principal: "agent:Deployer"}, "agent:Deployer", "run", `{"n":1}`, "")
	ok(t, "agent asks", err)
	if ap == nil || ap.Quorum != 1 {
		t.Fatalf("agent ask: %+v", ap)
	}
	got, err := f.d.WaitApproval(f.ctx, directory.Actor{Principal: "agent:Deployer"}, "acme", ap.ID, time.Now().Add(20*time.Millisecond))
	ok(t, "wait times out", err)
	if got.Status != store.ApprovalPending {
		t.Errorf("wait without an answer: %s", got.Status)
	}
	done := make(chan store.Approval)
	go func() {
		a, _ := f.d.WaitApproval(f.ctx, directory.Actor{Principal: "agent:Deployer"}, "acme", ap.ID, time.Now().Add(time.Minute))
		done <- a
	}()
	ok(t, "bob approves the agent", second(f.d.DecideApproval(f.ctx, user("bob"), "acme", ap.ID, true, "go")))
	if a := <-done; a.Status != store.ApprovalGranted {
		t.Errorf("waiter got %s", a.Status)
	}
	dec, _, err := f.check(directory.Actor{Principal: "agent:Deployer"}, "agent:Deployer", "run", `{"n":1}`, ap.ID)
	ok(t, "agent proceeds", err)
	if !dec.Allowed {
		t.Error("the agent was not allowed with its granted approval")
	}
}

// TestApprovalConsumedOnce: 1,000 concurrent checks presenting one
// granted approval, over two directories (two processes' worth: each its
// own store handle, engine and follower) on one database, SQLite and
// PostgreSQL: exactly one is allowed, with exactly one consume entry.
func TestApprovalConsumedOnce(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			st1, st2 := b.open(t)
			consumeOnce(t, st1, st2)
		})
	}
}

func consumeOnce(t *testing.T, st1, st2 store.Store) {
	f := newApvFixture(t, st1, directory.Options{})
	dirs := []*directory.Directory{f.d}
	if st2 != nil {
		dirs = append(dirs, openDir(t, st2, directory.Options{CatchUpTimeout: 10 * time.Second}))
		ok(t, "second caught up", dirs[1].WaitFor(f.ctx, f.d.Revision()))
	}
	bob := user("bob")
	_, ap, err := f.check(bob, "user:bob", "update", `{"x":1}`, "")
	ok(t, "ask", err)
	ok(t, "ann", second(f.d.DecideApproval(f.ctx, user("ann"), "acme", ap.ID, true, "")))
	ok(t, "amy", second(f.d.DecideApproval(f.ctx, user("amy"), "acme", ap.ID, true, "")))
	const n = 1000
	var wg sync.WaitGroup
	var mu sync.Mutex
	allowed := 0
	var errs []error
	sem := make(chan struct{}, 64)
	for i := range n {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			d := dirs[i%len(dirs)]
			req := authz.Request{Org: "acme", Principal: "user:bob", Namespace: "prod", ResourceType: "chains", ResourceID: "x", Action: "update"}
			a := d.Asker(bob)
			dec, _, err := a.CheckApproval(f.ctx, &req, directory.ApprovalInput{Arguments: json.RawMessage(`{"x":1}`), ApprovalID: ap.ID})
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
			} else if dec.Allowed {
				allowed++
			}
		})
	}
	wg.Wait()
	if len(errs) > 0 {
		t.Fatalf("%d errors, first %v", len(errs), errs[0])
	}
	if allowed != 1 {
		t.Fatalf("%d of %d concurrent checks presenting one approval were allowed, want exactly 1", allowed, n)
	}
	entries, _, err := f.d.ListAudit(f.ctx, user("alice"), "acme", store.AuditFilter{}, store.Page{Size: 1000})
	ok(t, "audit", err)
	consumes := 0
	for _, e := range entries {
		if e.Action == "approval.consume" {
			consumes++
		}
	}
	if consumes != 1 {
		t.Errorf("%d approval.consume entries, want 1", consumes)
	}
}
