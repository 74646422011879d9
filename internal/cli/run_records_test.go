package cli

import (
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/templates"
)

// TestRunIsRecorded: `gatehouse run` records the run: the command echoes
// the injected canary, and the stored run (read back through the API)
// keeps the exit status, the duration and an output tail in which the
// value is redacted. A run that needs approval exits 7 naming it and
// runs nothing.
func TestRunIsRecorded(t *testing.T) {
	vs := startVaultServer(t)
	vs.chainWithSecrets(t)
	vs.as(t, vs.operator)
	t.Setenv("GATEHOUSE_RUNTIME_TOKEN", vs.runner)
	r := run(t, "", "run", "--resource", "chains/triage", "-n", "prod", "--input", `{"ticket":5}`, "--",
		"sh", "-c", `echo "using $OPENAI_API_KEY"; exit 3`)
	if r.code != 3 || !strings.Contains(r.stderr, "[REDACTED:OPENAI_API_KEY]") || strings.Contains(r.stderr, cliCanary) {
		t.Fatalf("run: %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
	}
	var list struct {
		Items []struct {
			Status        string `json:"status"`
			Error         string `json:"error"`
			OutputSummary string `json:"output_summary"`
			InputSummary  string `json:"input_summary"`
			Principal     string `json:"principal"`
		} `json:"items"`
	}
	vs.call(t, 200, "GET", "/v1/orgs/acme/runs?resource=chains/triage&namespace=prod", vs.admin, nil, &list)
	if len(list.Items) != 1 {
		t.Fatalf("runs: %+v", list.Items)
	}
	got := list.Items[0]
	if got.Status != "failed" || got.Error != "exit status 3" || got.Principal != "user:operator" || got.InputSummary != `{"ticket":5}` ||
		!strings.Contains(got.OutputSummary, "using [REDACTED:OPENAI_API_KEY]") || strings.Contains(got.OutputSummary, cliCanary) {
		t.Errorf("recorded run: %+v", got)
	}

	src, err := templates.Source("mentiko")
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Replace(string(src), "role operator: viewer level 30 {\n", "role operator: viewer level 30 {\n    ask before run chains\n", 1)
	vs.call(t, 200, "PUT", "/v1/orgs/acme/policy", vs.admin, map[string]any{"text": text}, nil)
	r = run(t, "", "run", "--resource", "chains/triage", "-n", "prod", "--", "sh", "-c", "echo ran")
	if r.code != ExitApproval || !strings.Contains(r.stderr, "needs approval") || strings.Contains(r.stdout, "ran") {
		t.Errorf("run needing approval: %d %q %q", r.code, r.stdout, r.stderr)
	}
}
