package cli

import (
	"testing"

	"github.com/gatehouse-dev/gatehouse/client/clienttest"
)

// TestTemporaryGrantsCLI: `bind … --for`, `share … --until` make grants
// that end, shown with their end; bad lifetimes are refused with exit 2
// before or by the server, naming what is wrong.
func TestTemporaryGrantsCLI(t *testing.T) {
	srv := clienttest.Start(t, clienttest.Options{Demo: true})
	runSteps(t, srv, srv.Demo.Keys, []adminStep{
		{name: "bind for 2h", as: "alice", args: []string{"bind", "user:carol", "viewer", "--ns", "dev", "--for", "2h"}, code: 0,
			out: []string{"bound user:carol to viewer at ns/dev until 20", "binding "}},
		{name: "the binding lists its end", as: "alice", args: []string{"bind", "list", "--principal", "user:carol", "-o", "json"}, code: 0,
			out: []string{`"expires_at": "20`}},
		{name: "share until", as: "alice", args: []string{"share", "chains/eval-harness", "user:carol", "--actions", "read", "--ns", "dev", "--until", "2099-01-01T00:00:00Z"}, code: 0,
			out: []string{"shared dev/chains/eval-harness with user:carol for read until 2099-01-01T00:00:00Z"}},
		{name: "the table has an EXPIRES column", as: "alice", args: []string{"bind", "list", "--principal", "user:carol"}, code: 0,
			out: []string{"EXPIRES", "2099-01-01T00:00:00Z"}},
		{name: "both --for and --until", as: "alice", args: []string{"bind", "user:carol", "viewer", "--for", "2h", "--until", "2099-01-01T00:00:00Z"}, code: ExitBadInput,
			err: []string{"--for or --until"}},
		{name: "--until that is not a time", as: "alice", args: []string{"share", "chains/eval-harness", "user:carol", "--actions", "read", "--ns", "dev", "--until", "tomorrow"}, code: ExitBadInput,
			err: []string{"RFC 3339"}},
		{name: "--until in the past", as: "alice", args: []string{"bind", "user:carol", "viewer", "--until", "2001-01-01T00:00:00Z"}, code: ExitBadInput,
			err: []string{"400", "expires_at", "not in the future"}},
		{name: "a negative --for", as: "alice", args: []string{"bind", "user:carol", "viewer", "--for", "-5m"}, code: ExitBadInput,
			err: []string{"--for"}},
	})
}
