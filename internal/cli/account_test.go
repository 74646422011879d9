package cli

import (
	"testing"

	"github.com/gatehouse-dev/gatehouse/client/clienttest"
)

// TestAccountDelete: `gatehouse account delete` is DELETE /v1/me — it asks
// for --yes, refuses the org's last owner, deletes the caller's own user
// (whose key then stops), and no one else's.
func TestAccountDelete(t *testing.T) {
	srv := clienttest.Start(t, clienttest.Options{Demo: true})
	runSteps(t, srv, srv.Demo.Keys, []adminStep{
		{name: "without --yes", as: "carol", args: []string{"account", "delete"}, code: ExitBadInput, err: []string{"--yes"}},
		{name: "carol still exists", as: "carol", args: []string{"whoami"}, code: 0, out: []string{"user:carol"}},
		{name: "not the last owner", as: "alice", args: []string{"account", "delete", "--yes"}, code: ExitConflict, err: []string{"409"}},
		{name: "without credentials", as: "none", args: []string{"account", "delete", "--yes"}, code: ExitUnauthenticated, err: []string{"401"}},
		{name: "carol deletes herself", as: "carol", args: []string{"account", "delete", "--yes"}, code: 0, out: []string{"deleted your user (revision "}},
		{name: "her key is gone with her", as: "carol", args: []string{"whoami"}, code: ExitUnauthenticated, err: []string{"401"}},
		{name: "bob is untouched", as: "bob", args: []string{"whoami"}, code: 0, out: []string{"user:bob"}},
		{name: "alice is untouched", as: "alice", args: []string{"whoami"}, code: 0, out: []string{"user:alice"}},
	})
}
