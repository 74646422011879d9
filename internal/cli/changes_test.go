package cli

import (
	"testing"

	"github.com/gatehouse-dev/gatehouse/client/clienttest"
)

// TestChangesCommand: gatehouse changes prints the org's change feed to a
// holder of changes:read, refuses a viewer (exit 5, naming the
// permission), and says to start from a snapshot for a revision the
// server does not have (410, exit 5).
func TestChangesCommand(t *testing.T) {
	srv := clienttest.Start(t, clienttest.Options{Demo: true})
	runSteps(t, srv, srv.Demo.Keys, []adminStep{
		{name: "json page", as: "alice", args: []string{"changes", "--org", "demo", "-o", "json"}, code: 0,
			out: []string{`"events"`, `"binding.put"`, `"principal": "user:bob"`}, notOut: []string{"alice@example.com"}},
		{name: "table", as: "alice", args: []string{"changes", "--org", "demo"}, code: 0,
			out: []string{"REVISION", "binding.put", "user:bob builder at ns/dev", "prod/chains/escalation-triage"}, err: []string{"resume with --after"}},
		{name: "viewer lacks changes:read", as: "carol", args: []string{"changes", "--org", "demo"}, code: ExitNotAllowed, err: []string{"changes:read"}},
		{name: "ahead of the server", as: "alice", args: []string{"changes", "--org", "demo", "--after", "999999"}, code: ExitNotAllowed, err: []string{"snapshot"}},
	})
}
