package server_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/api"
	"github.com/gatehouse-dev/gatehouse/templates"
)

// withAsk is the agent-platform template with an approval rule on the
// operator role: running a chain in prod needs two admins' approval.
func withAsk(t testing.TB) string {
	t.Helper()
	src, err := templates.Source("agent-platform")
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Replace(string(src), "role operator: viewer level 30 {\n",
		"role operator: viewer level 30 {\n    ask before run chains when in_prod from admin quorum 2\n", 1)
	return text + "\ncondition in_prod = \"resource.namespace == 'prod'\"\n"
}

type apvWorld struct {
	e                      *env
	org                    string
	owner, op, ann, amy, v string // API keys
}

func newApvWorld(t *testing.T, backend string) *apvWorld { return newApvWorldTB(t, backend) }

func newApvWorldTB(t testing.TB, backend string) *apvWorld {
	return newApvWorldOpts(t, backend, envOpts{})
}

func newApvWorldOpts(t testing.TB, backend string, o envOpts) *apvWorld {
	e := newEnv(t, backend, o)
	w := &apvWorld{e: e, org: "apvorg"}
	w.owner = e.user("apvowner")
	w.op, w.ann, w.amy, w.v = e.user("apvop"), e.user("apvann"), e.user("apvamy"), e.user("apvviewer")
	e.must(201, "POST", "/v1/orgs", w.owner, map[string]any{"id": w.org}, nil)
	e.must(200, "PUT", "/v1/orgs/"+w.org+"/policy", w.owner, map[string]any{"text": withAsk(t)}, nil)
	for u, role := range map[string]string{"apvop": "operator", "apvann": "admin", "apvamy": "admin", "apvviewer": "viewer"} {
		e.must(201, "POST", "/v1/orgs/"+w.org+"/members", w.owner, map[string]any{"user_id": u, "role": role}, nil)
	}
	e.must(201, "POST", "/v1/orgs/"+w.org+"/namespaces", w.owner, map[string]any{"name": "prod"}, nil)
	e.must(201, "POST", "/v1/orgs/"+w.org+"/resources", w.owner, map[string]any{"namespace": "prod", "type": "chains", "id": "deploy", "spec": map[string]any{"v": 1}}, nil)
	return w
}

func (w *apvWorld) check(token string, args any, approvalID string) api.CheckResponse {
	w.e.t.Helper()
	body := map[string]any{"action": "chains:run", "resource": "chains/deploy", "namespace": "prod"}
	if args != nil {
		body["arguments"] = args
	}
	if approvalID != "" {
		body["approval_id"] = approvalID
	}
	var out api.CheckResponse
	w.e.must(200, "POST", "/v1/orgs/"+w.org+"/check", token, body, &out)
	return out
}

// TestApprovalsOverHTTP: seed 002's operator runs a chain in prod that
// needs two admins' approval, end to end: approval_required, long-poll,
// approve twice, allowed once; refusals for self-approval, a viewer, an
// approver answering twice, a changed argument and another org.
func TestApprovalsOverHTTP(t *testing.T) {
	for _, backend := range backends(t) {
		t.Run(backend, func(t *testing.T) {
			w := newApvWorld(t, backend)
			e := w.e
			args := map[string]any{"ticket": 42, "dry_run": false}
			first := w.check(w.op, args, "")
			if first.Allowed || first.Result != api.ResultApprovalRequired || first.Approval == nil || first.Reason != "approval_required" {
				t.Fatalf("first check: %+v", first)
			}
			ap := first.Approval
			if ap.Status != "pending" || ap.Quorum != 2 || ap.Action != "chains:run" || ap.Resource != "chains/deploy" || len(ap.Rules) != 1 {
				t.Errorf("approval: %+v", ap)
			}
			if again := w.check(w.op, map[string]any{"dry_run": false, "ticket": 42}, ""); again.Approval == nil || again.Approval.ID != ap.ID {
				t.Errorf("the same question again opened %+v, want %s", again.Approval, ap.ID)
			}
			base := "/v1/orgs/" + w.org + "/approvals/" + ap.ID
			// Long-poll with nothing happening: returns pending after the wait.
			var got api.Approval
			e.must(200, "GET", base+"?wait=1s", w.op, nil, &got)
			if got.Status != "pending" || len(got.Approvers) != 2 {
				t.Errorf("waited approval: status %s approvers %v (want the two admins)", got.Status, got.Approvers)
			}
			// Refusals.
			if p := e.do("POST", base+"/approve", w.op, map[string]any{}).problem(t); p.Status != 403 {
				t.Errorf("self-approval: %d %s", p.Status, p.Type)
			}
			if r := e.do("POST", base+"/approve", w.v, map[string]any{}); r.Status != 404 {
				t.Errorf("viewer approving: %d", r.Status)
			}
			if r := e.do("GET", base, w.v, nil); r.Status != 404 {
				t.Errorf("viewer reading: %d", r.Status)
			}
			other := e.user("apvstranger")
			e.must(201, "POST", "/v1/orgs", other, map[string]any{"id": "apvother"}, nil)
			if r := e.do("GET", "/v1/orgs/apvother/approvals/"+ap.ID, other, nil); r.Status != 404 {
				t.Errorf("another org's approval: %d", r.Status)
			}
			if r := e.do("POST", "/v1/orgs/"+w.org+"/approvals/"+ap.ID+"/approve", other, nil); r.Status != 404 {
				t.Errorf("a non-member approving: %d", r.Status)
			}
			if r := e.do("GET", base+"?wait=2h", w.op, nil); r.Status != 400 {
				t.Errorf("wait=2h: %d", r.Status)
			}
			// Two admins approve; one of them twice is a conflict.
			e.must(200, "POST", base+"/approve", w.ann, map[string]any{"comment": "ticket checked"}, &got)
			if r := e.do("POST", base+"/approve", w.ann, nil); r.Status != 409 {
				t.Errorf("ann approving twice: %d", r.Status)
			}
			done := make(chan api.Approval, 1)
			go func() {
				var a api.Approval
				r := e.do("GET", base+"?wait=30", w.op, nil)
				r.json(t, &a)
				done <- a
			}()
			e.must(200, "POST", base+"/approve", w.amy, nil, &got)
			if got.Status != "granted" || len(got.Votes) != 2 {
				t.Fatalf("after two approvals: %+v", got)
			}
			select {
			case a := <-done:
				if a.Status != "granted" {
					t.Errorf("the waiter saw %s", a.Status)
				}
			case <-time.After(40 * time.Second):
				t.Fatal("the waiter never returned")
			}
			// A changed argument is not covered.
			if c := w.check(w.op, map[string]any{"ticket": 43, "dry_run": false}, ap.ID); c.Allowed {
				t.Fatal("a changed argument was allowed")
			}
			// The operator proceeds, once.
			if c := w.check(w.op, args, ap.ID); !c.Allowed || c.Approval == nil || c.Approval.Status != "consumed" {
				t.Fatalf("presenting the granted approval: %+v", c)
			}
			if c := w.check(w.op, args, ap.ID); c.Allowed {
				t.Fatal("the approval was used twice")
			}
			// Lists: the operator sees its own, the viewer none.
			var list struct {
				Items []api.Approval `json:"items"`
			}
			e.must(200, "GET", "/v1/orgs/"+w.org+"/approvals?status=consumed", w.op, nil, &list)
			if len(list.Items) != 1 || list.Items[0].ID != ap.ID {
				t.Errorf("consumed approvals of the operator: %+v", list.Items)
			}
			e.must(200, "GET", "/v1/orgs/"+w.org+"/approvals", w.v, nil, &list)
			if len(list.Items) != 0 {
				t.Errorf("the viewer lists %d approvals", len(list.Items))
			}
			if r := e.do("GET", "/v1/orgs/"+w.org+"/approvals?status=maybe", w.op, nil); r.Status != 400 {
				t.Errorf("status=maybe: %d", r.Status)
			}
			// Every step is in the audit log.
			var entries struct {
				Items []api.AuditEntry `json:"items"`
			}
			e.must(200, "GET", "/v1/orgs/"+w.org+"/audit?page_size=1000", w.owner, nil, &entries)
			seen := map[string]int{}
			for _, en := range entries.Items {
				if strings.HasPrefix(en.Action, "approval.") {
					seen[fmt.Sprintf("%s/%s", en.Action, en.Result)]++
				}
			}
			for _, want := range []string{"approval.request/success", "approval.approve/success", "approval.approve/denied", "approval.consume/success"} {
				if seen[want] == 0 {
					t.Errorf("no %s in the audit log: %v", want, seen)
				}
			}
		})
	}
}
