package cli

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/templates"
)

// TestApprovalCommands: seed 002's operator needs approval to run a prod
// chain; an admin lists and approves it with `gatehouse approval`, the
// operator's `approval wait` exits 0, and its own approve is refused.
func TestApprovalCommands(t *testing.T) {
	vs := startVaultServer(t)
	src, err := templates.Source("mentiko")
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Replace(string(src), "role operator: viewer level 30 {\n", "role operator: viewer level 30 {\n    ask before run chains when in_prod\n", 1) +
		"\ncondition in_prod = \"resource.namespace == 'prod'\"\n"
	vs.call(t, 200, "PUT", "/v1/orgs/acme/policy", vs.admin, map[string]any{"text": text}, nil)
	vs.call(t, 201, "POST", "/v1/orgs/acme/resources", vs.admin, map[string]any{"namespace": "prod", "type": "chains", "id": "triage"}, nil)
	var chk struct {
		Allowed  bool   `json:"allowed"`
		Result   string `json:"result"`
		Approval struct {
			ID string `json:"id"`
		} `json:"approval"`
	}
	vs.call(t, 200, "POST", "/v1/orgs/acme/check", vs.operator, map[string]any{"action": "chains:run", "resource": "chains/triage", "namespace": "prod",
		"arguments": map[string]any{"input": "ticket 9"}}, &chk)
	if chk.Allowed || chk.Result != "approval_required" || chk.Approval.ID == "" {
		t.Fatalf("check: %+v", chk)
	}
	id := chk.Approval.ID

	vs.as(t, vs.operator)
	if r := run(t, "", "approval", "approve", id); r.code != ExitNotAllowed || !strings.Contains(r.stderr, "own request") {
		t.Errorf("self-approval: %d %q", r.code, r.stderr)
	}
	vs.as(t, vs.admin)
	r := run(t, "", "approval", "list", "--status", "pending", "-o", "json")
	var list struct {
		Items []struct {
			ID     string `json:"id"`
			Status string `json:"status"`
		} `json:"items"`
	}
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &list) != nil || len(list.Items) != 1 || list.Items[0].ID != id {
		t.Fatalf("list: %d %q %q", r.code, r.stdout, r.stderr)
	}
	if r := run(t, "", "approval", "list", "--ns", "default"); r.code != 0 || strings.Contains(r.stdout, id) {
		t.Errorf("list of namespace default: %d %q", r.code, r.stdout)
	}
	if r := run(t, "", "approval", "show", id); r.code != 0 || !strings.Contains(r.stdout, "approvers") || !strings.Contains(r.stdout, "ask before run chains") {
		t.Errorf("show: %d %q %q", r.code, r.stdout, r.stderr)
	}
	if r := run(t, "", "approval", "approve", id, "-m", "go ahead"); r.code != 0 || !strings.Contains(r.stdout, "granted") {
		t.Fatalf("approve: %d %q %q", r.code, r.stdout, r.stderr)
	}
	vs.as(t, vs.operator)
	if r := run(t, "", "approval", "wait", id, "-o", "json"); r.code != 0 || !strings.Contains(r.stdout, `"granted"`) {
		t.Errorf("wait: %d %q %q", r.code, r.stdout, r.stderr)
	}
	if r := run(t, "", "approval", "deny", id); r.code != ExitNotAllowed {
		t.Errorf("the operator denying: %d %q", r.code, r.stderr)
	}
	if r := run(t, "", "approval", "show", "nope"); r.code != ExitNotAllowed {
		t.Errorf("show of a malformed id: %d %q", r.code, r.stderr)
	}
	// `gatehouse check` says so (another question: no arguments), exit 7.
	if r := run(t, "", "check", "me", "chains:run", "chains/triage", "-n", "prod"); r.code != ExitApproval || !strings.HasPrefix(r.stdout, "approval_required") {
		t.Errorf("gatehouse check: %d %q %q", r.code, r.stdout, r.stderr)
	}
}
