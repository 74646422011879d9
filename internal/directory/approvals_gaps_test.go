package directory_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/internal/audit"
	"github.com/gatehouse-dev/gatehouse/internal/directory"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// TestApprovalLifetimesFromOrg: the server's options (gatehouse serve
// --approval-pending-ttl, --approval-use-window) are the lifetimes of an
// org that sets nothing; an org's own settings win for approvals asked
// for and granted after they change.
func TestApprovalLifetimesFromOrg(t *testing.T) {
	f := newApvFixture(t, nil, directory.Options{Approvals: directory.ApprovalOptions{PendingTTL: 3 * time.Hour, UseWindow: 7 * time.Minute}})
	bob := user("bob")
	near := func(what string, got, want time.Duration) {
		t.Helper()
		if got < want-time.Minute || got > want+time.Minute {
			t.Errorf("%s: %v, want about %v", what, got, want)
		}
	}
	asked := time.Now()
	_, ap, err := f.check(bob, "user:bob", "update", `{"n":1}`, "")
	ok(t, "ask", err)
	near("pending with the server's default", ap.ExpiresAt.Sub(asked), 3*time.Hour)
	ok(t, "ann", second(f.d.DecideApproval(f.ctx, user("ann"), "acme", ap.ID, true, "")))
	granted, err := f.d.DecideApproval(f.ctx, user("amy"), "acme", ap.ID, true, "")
	ok(t, "amy", err)
	if got := granted.UseBy.Sub(granted.GrantedAt); got != 7*time.Minute {
		t.Errorf("use window with the server's default: %v", got)
	}

	wantErr(t, "a builder setting them", third(f.d.SetOrgApprovalSettings(f.ctx, bob, "acme", store.ApprovalSettings{PendingTTL: time.Hour})), directory.ErrForbidden)
	wantErr(t, "below a minute", third(f.d.SetOrgApprovalSettings(f.ctx, user("alice"), "acme", store.ApprovalSettings{UseWindow: time.Second})), directory.ErrInvalid)
	ok(t, "set", third(f.d.SetOrgApprovalSettings(f.ctx, user("alice"), "acme", store.ApprovalSettings{PendingTTL: time.Hour, UseWindow: 2 * time.Minute})))
	asked = time.Now()
	_, ap, err = f.check(bob, "user:bob", "update", `{"n":2}`, "")
	ok(t, "ask again", err)
	near("pending with the org's setting", ap.ExpiresAt.Sub(asked), time.Hour)
	ok(t, "ann", second(f.d.DecideApproval(f.ctx, user("ann"), "acme", ap.ID, true, "")))
	granted, err = f.d.DecideApproval(f.ctx, user("amy"), "acme", ap.ID, true, "")
	ok(t, "amy", err)
	if got := granted.UseBy.Sub(granted.GrantedAt); got != 2*time.Minute {
		t.Errorf("use window with the org's setting: %v", got)
	}
}

// TestAskerRefusesMalformedAndForeignQuestions: a question that is
// malformed (principal, namespace, action, resource, on_behalf_of) or
// asked in an org the caller is not a member of is refused before
// anything is recorded — no decision entry (the org logs every decision)
// and no approval, though the same well-formed question would open one.
func TestAskerRefusesMalformedAndForeignQuestions(t *testing.T) {
	f := newApvFixture(t, nil, directory.Options{})
	ok(t, "log all decisions", second(f.d.SetAuditSettings(f.ctx, user("alice"), "acme", audit.Settings{Decisions: audit.DecisionsAll})))
	ok(t, "other org", third(f.d.CreateOrg(f.ctx, user("vic"), directory.OrgSpec{ID: "other", Template: "agent-platform"})))
	ok(t, "other logs all", second(f.d.SetAuditSettings(f.ctx, user("vic"), "other", audit.Settings{Decisions: audit.DecisionsAll})))
	ok(t, "other prod", third(f.d.CreateNamespace(f.ctx, user("vic"), "other", "prod")))
	count := func() (entries, approvals int) {
		t.Helper()
		for _, org := range []string{"acme", "other"} {
			for _, e := range auditLog(t, f.st, org, 0) {
				if e.Action == audit.DecisionAction || strings.HasPrefix(e.Action, "approval.") {
					entries++
				}
			}
			as, _, err := f.st.ListApprovals(f.ctx, org, store.ApprovalFilter{}, store.Page{Size: 100})
			ok(t, "list approvals", err)
			approvals += len(as)
		}
		return entries, approvals
	}
	bob := user("bob")
	good := authz.Request{Org: "acme", Principal: "user:bob", Namespace: "prod", ResourceType: "chains", ResourceID: "x", Action: "update"}
	for _, tc := range []struct {
		name string
		mut  func(r *authz.Request)
		want error
	}{
		{"empty principal", func(r *authz.Request) { r.Principal = "" }, directory.ErrInvalid},
		{"principal without kind", func(r *authz.Request) { r.Principal = "bob" }, directory.ErrInvalid},
		{"a team as principal", func(r *authz.Request) { r.Principal = "team:ops" }, directory.ErrInvalid},
		{"bad namespace", func(r *authz.Request) { r.Namespace = "Prod!" }, directory.ErrInvalid},
		{"wildcard action", func(r *authz.Request) { r.Action = "*" }, directory.ErrInvalid},
		{"wildcard type", func(r *authz.Request) { r.ResourceType = "*" }, directory.ErrInvalid},
		{"id with a slash", func(r *authz.Request) { r.ResourceID = "x/../y" }, directory.ErrInvalid},
		{"id with a control character", func(r *authz.Request) { r.ResourceID = "x\n" }, directory.ErrInvalid},
		{"on behalf of, for a user", func(r *authz.Request) { r.OnBehalfOf = "user:ann" }, directory.ErrInvalid},
		{"on behalf of an agent", func(r *authz.Request) { r.Principal, r.OnBehalfOf = "agent:Deployer", "agent:Deployer" }, directory.ErrInvalid},
		{"another org", func(r *authz.Request) { r.Org = "other" }, directory.ErrNotFound},
		{"an org that does not exist", func(r *authz.Request) { r.Org = "nope" }, directory.ErrNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e0, a0 := count()
			req := good
			tc.mut(&req)
			actor := bob
			if strings.HasPrefix(req.Principal, "agent:") {
				actor = directory.Actor{Principal: req.Principal}
			}
			a := f.d.Asker(actor)
			_, _, err := a.CheckApproval(f.ctx, &req, directory.ApprovalInput{Arguments: json.RawMessage(`{"n":1}`)})
			wantErr(t, tc.name, err, tc.want)
			if e1, a1 := count(); e1 != e0 || a1 != a0 {
				t.Errorf("a refused question recorded %d entries and %d approvals", e1-e0, a1-a0)
			}
		})
	}
	// The well-formed question is recorded and opens an approval (so the
	// counts above could move).
	e0, a0 := count()
	a := f.d.Asker(bob)
	dec, ap, err := a.CheckApproval(f.ctx, &good, directory.ApprovalInput{Arguments: json.RawMessage(`{"n":1}`)})
	ok(t, "well-formed", err)
	if !dec.ApprovalRequired || ap == nil {
		t.Fatalf("well-formed: %+v %+v", dec, ap)
	}
	if e1, a1 := count(); e1 <= e0 || a1 != a0+1 {
		t.Errorf("the well-formed question recorded %d entries and %d approvals", e1-e0, a1-a0)
	}
}
