package console_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/internal/directory"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// askApproval adds an `ask before run chains when in_prod` rule to the
// operator role and has oli ask to run the prod chain: a pending approval.
func (e *env) askApproval(t *testing.T) store.Approval {
	t.Helper()
	pol, err := e.dir.GetPolicy(ctxT(t), e.owner, e.org)
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Replace(pol.Text, "role operator: viewer level 30 {\n", "role operator: viewer level 30 {\n    ask before run chains when in_prod\n", 1)
	if text == pol.Text {
		t.Fatal("operator role not found in the policy")
	}
	text += "\ncondition in_prod = \"resource.namespace == 'prod'\"\n"
	if _, err := e.dir.ReplacePolicy(ctxT(t), e.owner, e.org, text, false); err != nil {
		t.Fatalf("ReplacePolicy: %v", err)
	}
	rq := authz.Request{Org: e.org, Principal: "user:oli", Namespace: "prod", ResourceType: "chains", ResourceID: "escalation-triage", Action: "run"}
	asker := e.dir.Asker(directory.Actor{Principal: "user:oli"})
	dec, ap, err := asker.CheckApproval(ctxT(t), &rq, directory.ApprovalInput{Arguments: []byte(`{"ticket":42}`)})
	if err != nil {
		t.Fatalf("CheckApproval: %v", err)
	}
	if !dec.ApprovalRequired || ap == nil || ap.Status != store.ApprovalPending {
		t.Fatalf("ask: %+v %+v", dec, ap)
	}
	return *ap
}

func (e *env) approval(t *testing.T, id string) store.Approval {
	t.Helper()
	ap, err := e.dir.GetApproval(ctxT(t), e.owner, e.org, id)
	if err != nil {
		t.Fatalf("GetApproval: %v", err)
	}
	return ap
}

func (e *env) approvalAudit(t *testing.T) map[string]int {
	t.Helper()
	entries, _, err := e.dir.ListAudit(ctxT(t), e.owner, e.org, store.AuditFilter{}, store.Page{Size: 500})
	if err != nil {
		t.Fatal(err)
	}
	n := map[string]int{}
	for _, en := range entries {
		if strings.HasPrefix(en.Action, "approval.") {
			n[en.Action+"/"+string(en.Result)]++
		}
	}
	return n
}

// TestApprovalsApprove: an approver sees the pending request with its
// question and approves it with a comment: granted, audited; the
// requester sees it granted among their own requests.
func TestApprovalsApprove(t *testing.T) {
	e := newEnv(t)
	ap := e.askApproval(t)
	c := e.client()
	c.signIn("ada")
	path := "/console/orgs/" + e.org + "/approvals"
	if p := c.get("/console/orgs/" + e.org + "/"); !strings.Contains(p.body, `data-nav="Approvals"`) {
		t.Error("no Approvals nav link for an admin")
	}
	p := c.get(path)
	if p.status != http.StatusOK {
		t.Fatalf("approvals page: %d\n%s", p.status, p.body)
	}
	for _, want := range []string{`id="approval-` + ap.ID + `"`, "user:oli", "chains:run", "escalation-triage", ap.ArgsDigest[:12], "ask before run chains", "/approvals/" + ap.ID + "/approve", "/approvals/" + ap.ID + "/deny"} {
		if !strings.Contains(p.body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	p = c.post(path+"/"+ap.ID+"/approve", url.Values{"csrf": {c.csrf}, "comment": {"ticket checked"}})
	if p.status != http.StatusSeeOther || !strings.Contains(p.loc, "done=approved") {
		t.Fatalf("approve: %d %s\n%s", p.status, p.loc, p.body)
	}
	got := e.approval(t, ap.ID)
	if got.Status != store.ApprovalGranted || len(got.Votes) != 1 || got.Votes[0].By != "user:ada" || got.Votes[0].Comment != "ticket checked" {
		t.Fatalf("after approving: %+v", got)
	}
	if n := e.approvalAudit(t)["approval.approve/success"]; n != 1 {
		t.Errorf("%d approval.approve/success entries, want 1", n)
	}
	if p := c.get(path + "?done=approved"); !strings.Contains(p.body, `id="notice"`) || strings.Contains(p.body, `id="approval-`+ap.ID+`"`) {
		t.Error("after approving: no notice, or still listed as waiting")
	}
	// The requester sees it as their own, granted, and cannot decide it.
	o := e.client()
	o.signIn("oli")
	p = o.get(path)
	if p.status != http.StatusOK || !strings.Contains(p.body, `id="mine-`+ap.ID+`"`) || !strings.Contains(p.body, `data-status="granted"`) {
		t.Errorf("requester's page: %d\n%s", p.status, p.body)
	}
}

// TestApprovalsRefused: a self-approval posted directly, a viewer's
// post, and a post without the CSRF token are refused with nothing
// changed; a viewer (no decisions:approve, no requests) sees no page.
func TestApprovalsRefused(t *testing.T) {
	e := newEnv(t)
	ap := e.askApproval(t)
	path := "/console/orgs/" + e.org + "/approvals"
	before := e.approvalAudit(t)

	oli := e.client()
	oli.signIn("oli")
	p := oli.post(path+"/"+ap.ID+"/approve", url.Values{"csrf": {oli.csrf}, "comment": {"me"}})
	if p.status != http.StatusForbidden || !strings.Contains(p.body, `id="error"`) {
		t.Errorf("self-approval: %d, want 403 with a sentence\n%s", p.status, p.body)
	}

	val := e.client()
	val.signIn("val")
	if p := val.get("/console/orgs/" + e.org + "/"); strings.Contains(p.body, `data-nav="Approvals"`) {
		t.Error("a viewer sees the Approvals nav link")
	}
	if p := val.get(path); p.status != http.StatusNotFound || strings.Contains(p.body, ap.ID) {
		t.Errorf("a viewer's approvals page: %d, want 404 showing nothing", p.status)
	}
	for _, act := range []string{"approve", "deny"} {
		p := val.post(path+"/"+ap.ID+"/"+act, url.Values{"csrf": {val.csrf}})
		if p.status != http.StatusNotFound && p.status != http.StatusForbidden {
			t.Errorf("viewer %s: %d, want refused", act, p.status)
		}
	}

	ada := e.client()
	ada.signIn("ada")
	for _, act := range []string{"approve", "deny"} {
		if p := ada.post(path+"/"+ap.ID+"/"+act, url.Values{"comment": {"no token"}}); p.status != http.StatusForbidden {
			t.Errorf("%s without CSRF token: %d, want 403", act, p.status)
		}
	}

	got := e.approval(t, ap.ID)
	if got.Status != store.ApprovalPending || len(got.Votes) != 0 {
		t.Errorf("after refused posts: %+v", got)
	}
	after := e.approvalAudit(t)
	if after["approval.approve/success"] != before["approval.approve/success"] || after["approval.deny/success"] != before["approval.deny/success"] {
		t.Errorf("a refused post was recorded as a decision: %v → %v", before, after)
	}
}
