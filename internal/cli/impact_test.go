package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/client/clienttest"
	"github.com/gatehouse-dev/gatehouse/templates"
)

// Impact analysis, the binding dry run and the live-policy modes of
// matrix and check, against the demo org.
func TestImpactAndLivePolicy(t *testing.T) {
	srv := clienttest.Start(t, clienttest.Options{Demo: true})
	src, err := templates.Source(templates.Default)
	if err != nil {
		t.Fatal(err)
	}
	// Operators lose chains:run.
	changed := strings.Replace(string(src), "chains { run }", "chains { read }", 1)
	if changed == string(src) {
		t.Fatal("the template has no `chains { run }`")
	}
	newPol := filepath.Join(t.TempDir(), "new.policy")
	if err := os.WriteFile(newPol, []byte(changed), 0o600); err != nil {
		t.Fatal(err)
	}
	runSteps(t, srv, srv.Demo.Keys, []adminStep{
		{name: "policy impact", as: "alice", args: []string{"policy", "impact", newPol}, code: 0,
			out: []string{"CHANGE", "- lost", "chains:run", "principal(s): 0 gained", "roles changed:", "operator"}, notOut: []string{"+ gained"}},
		{name: "policy impact as json", as: "alice", args: []string{"policy", "impact", newPol, "-o", "json"}, code: 0,
			out: []string{`"subject": "policy"`, `"change": "lost"`, `"text": "`}},
		{name: "the same policy changes nothing", as: "alice", args: []string{"policy", "impact", "template:agent-platform"}, code: 0,
			out: []string{"0 principal(s): 0 gained, 0 lost"}},
		{name: "a viewer may not", as: "carol", args: []string{"policy", "impact", newPol}, code: ExitNotAllowed, err: []string{"403"}},
		{name: "a policy that does not compile", as: "alice", args: []string{"policy", "impact", "-"}, stdin: "role x {", code: ExitBadInput, err: []string{"422"}},
		{name: "another org is not found", as: "alice", args: []string{"policy", "impact", newPol, "--org", "nope"}, code: ExitNotAllowed, err: []string{"404"}},
		{name: "bind dry run", as: "alice", args: []string{"bind", "user:carol", "builder", "--ns", "dev", "--dry-run"}, code: 0,
			out: []string{"dry run: binding user:carol to builder at ns/dev", "+ gained", "user:carol", "ns/dev", "chains:create"}},
		{name: "the dry run created nothing", as: "alice", args: []string{"bind", "list", "--principal", "user:carol"}, code: 0, notOut: []string{"builder"}},
		{name: "matrix of the live policy", as: "alice", args: []string{"policy", "matrix", "--org", "demo"}, code: 0, out: []string{"RESOURCE", "owner (100)"}},
		{name: "matrix needs a file or --org", as: "alice", args: []string{"policy", "matrix"}, code: ExitBadInput, err: []string{"--org"}},
		{name: "matrix takes one of them", as: "alice", args: []string{"policy", "matrix", "template:mentiko", "--org", "demo"}, code: ExitBadInput, err: []string{"not both"}},
		{name: "check on the live policy", as: "alice", args: []string{"policy", "check", "--org", "demo", "--subject", "role:operator", "--permission", "chains:run"}, code: 0, out: []string{"allow"}},
		{name: "check on the live policy, deny", as: "alice", args: []string{"policy", "check", "--org", "demo", "--subject", "role:viewer", "--permission", "chains:run"}, code: ExitDeny, out: []string{"deny"}},
		{name: "live policy of another org", as: "alice", args: []string{"policy", "matrix", "--org", "nope"}, code: ExitNotAllowed, err: []string{"404"}},
	})
}
