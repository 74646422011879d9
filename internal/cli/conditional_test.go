package cli

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/gatehouse-dev/gatehouse/client/clienttest"
	"github.com/gatehouse-dev/gatehouse/templates"
)

// who-can and what-can show who is allowed only under a condition, naming
// it, unless --conditional=false.
func TestWhoCanShowsConditions(t *testing.T) {
	srv := clienttest.Start(t, clienttest.Options{Demo: true})
	src, err := templates.Source(templates.Default)
	if err != nil {
		t.Fatal(err)
	}
	pol := filepath.Join(t.TempDir(), "p.policy")
	if err := os.WriteFile(pol, append(src, "\ncondition on_call = \"context.on_call == true\"\n"...), 0o600); err != nil {
		t.Fatal(err)
	}
	runSteps(t, srv, srv.Demo.Keys, []adminStep{
		{name: "policy with a condition", as: "alice", args: []string{"policy", "put", pol}, code: 0},
		{name: "carol operates dev on call", as: "alice", args: []string{"bind", "user:carol", "operator", "--ns", "dev", "--condition", "on_call"}, code: 0},
		{name: "who-can marks carol", as: "alice", args: []string{"who-can", "chains:run", "--ns", "dev"}, code: 0,
			out: []string{"WHEN", "user:carol", "when on_call", "user:alice", "always"}},
		{name: "who-can without conditional answers", as: "alice", args: []string{"who-can", "chains:run", "--ns", "dev", "--conditional=false"}, code: 0,
			notOut: []string{"user:carol", "when on_call"}},
		{name: "who-can on call", as: "alice", args: []string{"who-can", "chains:run", "--ns", "dev", "--context", "on_call=true"}, code: 0,
			out: []string{"user:carol"}, notOut: []string{"when on_call"}},
		{name: "what-can marks the resources", as: "alice", args: []string{"what-can", "user:carol", "chains:run", "--ns", "dev"}, code: 0,
			out: []string{"WHEN", "when on_call"}},
		{name: "what-can as json", as: "alice", args: []string{"what-can", "user:carol", "chains:run", "--ns", "dev", "-o", "json"}, code: 0,
			out: []string{`"conditional": [`, `"conditions": [`, `"on_call"`}},
	})
}
