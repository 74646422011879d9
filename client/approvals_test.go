package client_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/client"
	"github.com/gatehouse-dev/gatehouse/client/clienttest"
	"github.com/gatehouse-dev/gatehouse/client/embedded"
	"github.com/gatehouse-dev/gatehouse/templates"
)

// TestApprovalsThroughTheSDK: the demo org's operator (bob) runs a prod
// chain that needs approval: Check says so, the middleware answers the
// configured status with an approval-required problem naming it, alice
// approves, WaitForApproval returns granted, and a Check presenting it
// (same arguments) is allowed once.
func TestApprovalsThroughTheSDK(t *testing.T) {
	srv := clienttest.Start(t, clienttest.Options{Demo: true})
	org, keys := srv.Demo.Org, srv.Demo.Keys
	src, err := templates.Source("agent-platform")
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Replace(string(src), "role operator: viewer level 30 {\n", "role operator: viewer level 30 {\n    ask before run chains when in_prod\n", 1) +
		"\ncondition in_prod = \"resource.namespace == 'prod'\"\n"
	body, _ := json.Marshal(map[string]any{"text": text})
	req, _ := http.NewRequest("PUT", srv.URL+"/v1/orgs/"+org+"/policy", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+keys["alice"])
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("set policy: %v %v", err, resp)
	}
	resp.Body.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	bob, alice := srv.Client(keys["bob"]), srv.Client(keys["alice"])
	q := client.CheckRequest{Action: "chains:run", Resource: "chains/escalation-triage", Namespace: "prod"}
	args := client.WithArguments(map[string]any{"ticket": 7})

	d, err := bob.Check(ctx, org, q, args)
	if err != nil || d.Allowed || !client.NeedsApproval(d) || d.Approval == nil {
		t.Fatalf("check: %+v %v", d, err)
	}
	id := d.Approval.ID

	// The middleware answers 409 approval-required naming the approval.
	guard := must[*client.Guard](t, "guard")(client.NewGuard(client.Remote(srv.Client("")), client.InOrg(org), client.ApprovalStatus(http.StatusConflict)))
	var calls atomic.Int64
	code, out := hit(hostRoutes(t, guard, &calls), "POST", "/chains/prod/escalation-triage/run", map[string]string{"Authorization": "Bearer " + keys["bob"]})
	if code != http.StatusConflict || !strings.Contains(out, "approval-required") || !strings.Contains(out, `"approval_id":"`) || calls.Load() != 0 {
		t.Errorf("middleware: %d %s (handler calls %d)", code, out, calls.Load())
	}
	// The embedded middleware (in-process engine, the host names the
	// caller) answers the same: its approval_required answers carry the
	// approval the server holds for the question (asked through the
	// host's credential, alice's here: owner, so bindings:read).
	var remoteProblem struct {
		ApprovalID string `json:"approval_id"`
	}
	if err := json.Unmarshal([]byte(out), &remoteProblem); err != nil || remoteProblem.ApprovalID == "" {
		t.Fatalf("the remote middleware's problem: %v %s", err, out)
	}
	mwID := remoteProblem.ApprovalID // the middleware's question has no arguments: not id's
	if err := srv.Engine().WaitFor(ctx, d.Revision); err != nil {
		t.Fatal(err)
	}
	fromHeader := client.PrincipalFrom(func(r *http.Request) (string, bool) {
		p := r.Header.Get("X-Principal")
		return p, p != ""
	})
	asBob := map[string]string{"X-Principal": "user:bob"}
	local := must[*client.Guard](t, "embedded guard")(client.NewGuard(embedded.EngineWithApprovals(srv.Engine(), embedded.FromServer(alice)),
		client.InOrg(org), fromHeader, client.ApprovalStatus(http.StatusPreconditionRequired)))
	code, out = hit(hostRoutes(t, local, &calls), "POST", "/chains/prod/escalation-triage/run", asBob)
	if code != http.StatusPreconditionRequired || !strings.Contains(out, "approval-required") || !strings.Contains(out, `"approval_id":"`+mwID+`"`) || calls.Load() != 0 {
		t.Errorf("embedded middleware: %d %s (want 428 naming %s, as the remote one; handler calls %d)", code, out, mwID, calls.Load())
	}
	// Without a source, or when the source fails, still approval-required
	// (never an allow), without an id.
	for name, opt := range map[string]client.MiddlewareOption{
		"no source":      embedded.Engine(srv.Engine()),
		"failing source": embedded.EngineWithApprovals(srv.Engine(), embedded.FromServer(srv.Client("gth_not-a-key"))),
	} {
		g := must[*client.Guard](t, name)(client.NewGuard(opt, client.InOrg(org), fromHeader, client.ApprovalStatus(http.StatusAccepted)))
		code, out = hit(hostRoutes(t, g, &calls), "POST", "/chains/prod/escalation-triage/run", asBob)
		if code != http.StatusAccepted || !strings.Contains(out, "approval-required") || strings.Contains(out, "approval_id") || calls.Load() != 0 {
			t.Errorf("%s: %d %s", name, code, out)
		}
	}
	if _, err := client.NewGuard(client.Remote(srv.Client("")), client.InOrg(org), client.ApprovalStatus(http.StatusOK)); err == nil {
		t.Error("ApprovalStatus(200) was accepted")
	}

	if _, err := bob.Approve(ctx, org, id, "mine"); err == nil {
		t.Error("bob approved his own request")
	}
	list, err := alice.ListApprovals(ctx, org, client.ApprovalPending)
	if err != nil || len(list) == 0 {
		t.Fatalf("alice's pending approvals: %v %v", list, err)
	}
	done := make(chan client.Approval, 1)
	go func() {
		a, _ := bob.WaitForApproval(ctx, org, id)
		done <- a
	}()
	if _, err := alice.Approve(ctx, org, id, "ok"); err != nil {
		t.Fatalf("approve: %v", err)
	}
	if a := <-done; a.Status != client.ApprovalGranted {
		t.Fatalf("waited: %+v", a)
	}
	d, err = bob.Check(ctx, org, q, args, client.WithApproval(id))
	if err != nil || !d.Allowed {
		t.Fatalf("check with the approval: %+v %v", d, err)
	}
	if d, _ = bob.Check(ctx, org, q, args, client.WithApproval(id)); d.Allowed {
		t.Fatal("the approval was used twice")
	}
	if _, err := bob.Check(ctx, org, q, client.WithArguments(func() {})); err == nil {
		t.Error("arguments that are not JSON were sent")
	}
}
