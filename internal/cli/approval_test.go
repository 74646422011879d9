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
	// The comment is free text shown to every reader of the approval: a
	// hostile approver's escape sequences and forged lines stay inert.
	hostile := "go ahead\x1b[2J\x9b31m\nstatus     denied"
	if r := run(t, "", "approval", "approve", id, "-m", hostile); r.code != 0 || !strings.Contains(r.stdout, "granted") {
		t.Fatalf("approve: %d %q %q", r.code, r.stdout, r.stderr)
	}
	if r := run(t, "", "approval", "show", id); r.code != 0 || strings.ContainsAny(r.stdout, "\x1b\u009b") || strings.Contains(r.stdout, "\nstatus     denied") || !strings.Contains(r.stdout, "go ahead") {
		t.Errorf("show of an approval with a hostile comment: %d %q", r.code, r.stdout)
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

// TestBlastRadiusApprovalsCLI: `agent blast-radius` says which reachable
// actions need a person's approval (table and JSON, with the rule's
// quorum and approvers), and lists MCP tools in their own section, the
// ones callable only with approval marked.
func TestBlastRadiusApprovalsCLI(t *testing.T) {
	vs := startVaultServer(t)
	// An org of the agent-platform template, whose owner (its creator)
	// holds everything, MCP tools included.
	src, err := templates.Source("agent-platform")
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Replace(string(src), "role operator: viewer level 30 {\n",
		"role operator: viewer level 30 {\n    ask before run chains when in_prod from admin quorum 2\n", 1) +
		"\ncondition in_prod = \"resource.namespace == 'prod'\"\n" + `
role caller level 5 {
    permission tools { call }
    ask before call tools
}
role freecaller level 5 {
    permission tools { call }
}
`
	org := "/v1/orgs/tools"
	vs.call(t, 201, "POST", "/v1/orgs", vs.admin, map[string]any{"id": "tools", "template": "agent-platform"}, nil)
	vs.call(t, 200, "PUT", org+"/policy", vs.admin, map[string]any{"text": text}, nil)
	vs.call(t, 201, "POST", org+"/members", vs.admin, map[string]any{"user_id": "operator", "role": "operator"}, nil)
	vs.call(t, 201, "POST", org+"/namespaces", vs.admin, map[string]any{"name": "prod"}, nil)
	vs.call(t, 201, "POST", org+"/resources", vs.admin, map[string]any{"namespace": "prod", "type": "chains", "id": "triage"}, nil)
	vs.call(t, 201, "POST", org+"/resources", vs.admin, map[string]any{"namespace": "prod", "type": "tools", "id": "github.create_issue"}, nil)
	vs.call(t, 201, "POST", org+"/resources", vs.admin, map[string]any{"namespace": "prod", "type": "tools", "id": "search"}, nil)
	vs.call(t, 201, "POST", org+"/bindings", vs.admin, map[string]any{"principal": "user:operator", "role": "caller",
		"scope": map[string]any{"namespace": "prod", "type": "tools", "id": "github.create_issue"}}, nil)
	vs.call(t, 201, "POST", org+"/bindings", vs.admin, map[string]any{"principal": "user:operator", "role": "freecaller",
		"scope": map[string]any{"namespace": "prod", "type": "tools", "id": "search"}}, nil)

	vs.as(t, vs.admin)
	t.Setenv("GATEHOUSE_ORG", "tools")
	r := run(t, "", "agent", "blast-radius", "user:operator")
	if r.code != 0 {
		t.Fatalf("blast-radius: %d %q", r.code, r.stderr)
	}
	for _, want := range []string{
		"NEEDS APPROVAL",
		"chains:run by 2 from admin when in_prod",
		"3 needing a person's approval",
		"MCP tools it may call:",
		"prod/github.create_issue (needs approval: tools:call)",
		"tools it may call (1 only with approval)",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("blast-radius does not say %q:\n%s", want, r.stdout)
		}
	}
	tools := r.stdout[strings.Index(r.stdout, "MCP tools it may call:"):]
	if !strings.Contains(tools, "  prod/search\n") {
		t.Errorf("the tool callable without approval is not listed unmarked:\n%s", tools)
	}

	r = run(t, "", "agent", "blast-radius", "user:operator", "-o", "json")
	var out struct {
		Namespaces []struct {
			Namespace string `json:"namespace"`
			Entries   []struct {
				Permission string `json:"permission"`
				Resource   *struct {
					ID string `json:"id"`
				} `json:"resource"`
				Approvals []struct {
					Permission string   `json:"permission"`
					Rule       string   `json:"rule"`
					Owner      string   `json:"owner"`
					Source     string   `json:"source"`
					Quorum     int      `json:"quorum"`
					From       []string `json:"from"`
					Conditions []string `json:"conditions"`
				} `json:"approvals"`
			} `json:"entries"`
		} `json:"namespaces"`
		Tools []struct {
			ID        string            `json:"id"`
			Approvals []json.RawMessage `json:"approvals"`
		} `json:"tools"`
	}
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &out) != nil {
		t.Fatalf("blast-radius -o json: %d %q %q", r.code, r.stdout, r.stderr)
	}
	marked := 0
	for _, nr := range out.Namespaces {
		for _, e := range nr.Entries {
			if e.Permission != "chains:run" || e.Resource != nil {
				if e.Permission != "tools:call" && len(e.Approvals) > 0 {
					t.Errorf("%s %s is marked %+v", nr.Namespace, e.Permission, e.Approvals)
				}
				continue
			}
			if len(e.Approvals) != 1 {
				t.Errorf("%s chains:run: approvals %+v, want the operator's rule", nr.Namespace, e.Approvals)
				continue
			}
			a := e.Approvals[0]
			if a.Permission != "chains:run" || a.Rule != "ask before run chains when in_prod from admin quorum 2" || a.Owner != "role operator" ||
				a.Quorum != 2 || strings.Join(a.From, ",") != "admin" || strings.Join(a.Conditions, ",") != "in_prod" || a.Source == "" {
				t.Errorf("%s chains:run approval %+v", nr.Namespace, a)
			}
			marked++
		}
	}
	if marked == 0 {
		t.Error("no chains:run entry carries the approval rule")
	}
	got := map[string]int{}
	for _, tl := range out.Tools {
		got[tl.ID] = len(tl.Approvals)
	}
	if want := map[string]int{"github.create_issue": 1, "search": 0}; !reflectEqual(got, want) {
		t.Errorf("tools %v, want %v", got, want)
	}
}

func reflectEqual(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}
