package cli

import (
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/client/clienttest"
)

// TestTemporaryGrantsCLI: `bind … --for`, `share … --until` make grants
// that end, shown with their end; bad lifetimes are refused with exit 2
// before or by the server, naming what is wrong.
func TestTemporaryGrantsCLI(t *testing.T) {
	srv := clienttest.Start(t, clienttest.Options{Demo: true})
	runSteps(t, srv, srv.Demo.Keys, []adminStep{
		{name: "bind for 2h", as: "alice", args: []string{"bind", "user:carol", "viewer", "-n", "dev", "--for", "2h"}, code: 0,
			out: []string{"bound user:carol to viewer at ns/dev until 20", "binding "}},
		{name: "the binding lists its end", as: "alice", args: []string{"bind", "list", "--principal", "user:carol", "-o", "json"}, code: 0,
			out: []string{`"expires_at": "20`}},
		{name: "share until", as: "alice", args: []string{"share", "chains/eval-harness", "user:carol", "--actions", "read", "-n", "dev", "--until", "2099-01-01T00:00:00Z"}, code: 0,
			out: []string{"shared dev/chains/eval-harness with user:carol for read until 2099-01-01T00:00:00Z"}},
		{name: "the table has an EXPIRES column", as: "alice", args: []string{"bind", "list", "--principal", "user:carol"}, code: 0,
			out: []string{"EXPIRES", "2099-01-01T00:00:00Z"}},
		{name: "both --for and --until", as: "alice", args: []string{"bind", "user:carol", "viewer", "--for", "2h", "--until", "2099-01-01T00:00:00Z"}, code: ExitBadInput,
			err: []string{"--for or --until"}},
		{name: "--until that is not a time", as: "alice", args: []string{"share", "chains/eval-harness", "user:carol", "--actions", "read", "-n", "dev", "--until", "tomorrow"}, code: ExitBadInput,
			err: []string{"RFC 3339"}},
		{name: "--until in the past", as: "alice", args: []string{"bind", "user:carol", "viewer", "--until", "2001-01-01T00:00:00Z"}, code: ExitBadInput,
			err: []string{"400", "expires_at", "not in the future"}},
		{name: "a negative --for", as: "alice", args: []string{"bind", "user:carol", "viewer", "--for", "-5m"}, code: ExitBadInput,
			err: []string{"--for"}},
	})
}

// TestAgentLifecycleCLI: an agent's sponsors and status are shown; when
// its sponsor leaves it is listed by `agent list --status sponsor_gone`
// and every check for it is denied with that reason until a new sponsor
// is assigned; only a sponsor may `agent attest`.
func TestAgentLifecycleCLI(t *testing.T) {
	srv := clienttest.Start(t, clienttest.Options{Demo: true})
	runSteps(t, srv, srv.Demo.Keys, []adminStep{
		{name: "create an agent sponsored by bob", as: "alice", args: []string{"agent", "create", "Helper", "--role", "viewer", "--sponsors", "user:bob"}, code: 0,
			out: []string{"created agent Helper"}},
		{name: "the list shows sponsors and status", as: "alice", args: []string{"agent", "list"}, code: 0,
			out: []string{"SPONSORS", "STATUS", "Helper", "user:bob", "active"}},
		{name: "only a sponsor attests", as: "carol", args: []string{"agent", "attest", "Helper"}, code: ExitNotAllowed, err: []string{"403", "not a sponsor"}},
		{name: "the sponsor attests", as: "bob", args: []string{"agent", "attest", "Helper"}, code: 0, out: []string{"attested agent Helper", "status active"}},
		{name: "the org's rules", as: "alice", args: []string{"agent", "lifecycle", "--inactive-days", "30", "--attestation-days", "90"}, code: 0,
			out: []string{"30 days unused", "90 days unattested"}},
		{name: "bob leaves", as: "alice", args: []string{"member", "remove", "bob"}, code: 0},
		{name: "listed as sponsor_gone", as: "alice", args: []string{"agent", "list", "--status", "sponsor_gone"}, code: 0, out: []string{"Helper", "sponsor_gone"}},
		{name: "and as suspended", as: "alice", args: []string{"agent", "list", "--status", "suspended", "-o", "json"}, code: 0, out: []string{`"status": "sponsor_gone"`}},
		{name: "not as active", as: "alice", args: []string{"agent", "list", "--status", "active"}, code: 0, notOut: []string{"Helper"}},
		{name: "its checks are denied with the reason", as: "alice", args: []string{"check", "agent:Helper", "chains:read", "chains/eval-harness", "-n", "dev"}, code: ExitDeny,
			out: []string{"sponsor_gone"}},
		{name: "a new sponsor", as: "alice", args: []string{"agent", "update", "Helper", "--sponsors", "team:support"}, code: 0},
		{name: "active again", as: "alice", args: []string{"agent", "get", "Helper"}, code: 0, out: []string{"team:support", "active"}},
		{name: "suspend by hand", as: "alice", args: []string{"agent", "update", "Helper", "--suspend"}, code: 0},
		{name: "suspended", as: "alice", args: []string{"agent", "get", "Helper"}, code: 0, out: []string{"suspended"}},
		{name: "suspend and resume at once", as: "alice", args: []string{"agent", "update", "Helper", "--suspend", "--resume"}, code: ExitBadInput},
	})
}

// TestBlastRadiusCLI: `agent blast-radius` says what the demo's agent
// could do if hijacked, most destructive first, as text and JSON, and
// works for users; asking about someone else needs bindings:read.
func TestBlastRadiusCLI(t *testing.T) {
	srv := clienttest.Start(t, clienttest.Options{Demo: true})
	runSteps(t, srv, srv.Demo.Keys, []adminStep{
		{name: "the demo agent", as: "alice", args: []string{"agent", "blast-radius", "Triage"}, code: 0,
			out: []string{"agent:Triage could, if hijacked,", "NAMESPACE", "SEVERITY", "prod", "chains:run"}},
		{name: "as JSON", as: "alice", args: []string{"agent", "blast-radius", "Triage", "-o", "json"}, code: 0,
			out: []string{`"principal": "agent:Triage"`, `"status": "active"`, `"severity": "change"`}},
		{name: "a user", as: "alice", args: []string{"agent", "blast-radius", "user:bob"}, code: 0, out: []string{"user:bob could, if hijacked,"}},
		{name: "yourself", as: "carol", args: []string{"agent", "blast-radius", "user:carol"}, code: 0, out: []string{"user:carol"}},
		{name: "someone else without bindings:read", as: "carol", args: []string{"agent", "blast-radius", "user:alice"}, code: ExitNotAllowed, err: []string{"403"}},
		{name: "a non-member", as: "alice", args: []string{"agent", "blast-radius", "user:mallory"}, code: ExitNotAllowed, err: []string{"404"}},
	})
}

// TestCheckAtCLI: `check … --at` (and explain, what-can, who-can) answers
// as the org was then: a binding made after that instant did not count
// yet. Asking about the past needs what asking now needs.
func TestCheckAtCLI(t *testing.T) {
	srv := clienttest.Start(t, clienttest.Options{Demo: true})
	time.Sleep(1100 * time.Millisecond) // --at has whole seconds: step past the seeding
	before := time.Now().UTC().Format(time.RFC3339)
	time.Sleep(1100 * time.Millisecond)
	runSteps(t, srv, srv.Demo.Keys, []adminStep{
		{name: "bind carol builder in dev", as: "alice", args: []string{"bind", "user:carol", "builder", "-n", "dev"}, code: 0},
		{name: "now she may", as: "alice", args: []string{"check", "user:carol", "chains:update", "chains/eval-harness", "-n", "dev"}, code: 0, out: []string{"allow"}},
		{name: "before, she could not", as: "alice", args: []string{"check", "user:carol", "chains:update", "chains/eval-harness", "-n", "dev", "--at", before}, code: ExitDeny,
			out: []string{"deny"}},
		{name: "explained then", as: "alice", args: []string{"explain", "user:carol", "chains:update", "chains/eval-harness", "-n", "dev", "--at", before}, code: ExitDeny,
			out: []string{"At revision", "DENY"}},
		{name: "the future", as: "alice", args: []string{"check", "user:carol", "chains:update", "chains/eval-harness", "-n", "dev", "--at", "2999-01-01T00:00:00Z"}, code: ExitBadInput,
			err: []string{"400", "future"}},
		{name: "both flags", as: "alice", args: []string{"check", "user:carol", "chains:read", "--at", before, "--at-revision", "3"}, code: ExitBadInput},
		// Lookups of the past.
		{name: "what carol may update now", as: "alice", args: []string{"what-can", "user:carol", "chains:update", "-n", "dev"}, code: 0, out: []string{"eval-harness"}},
		{name: "what she could update then", as: "alice", args: []string{"what-can", "user:carol", "chains:update", "-n", "dev", "--at", before}, code: 0,
			notOut: []string{"eval-harness"}},
		{name: "who may update it now", as: "alice", args: []string{"who-can", "chains:update", "chains/eval-harness", "-n", "dev"}, code: 0, out: []string{"user:carol"}},
		{name: "who could then", as: "alice", args: []string{"who-can", "chains:update", "chains/eval-harness", "-n", "dev", "--at", before}, code: 0,
			notOut: []string{"user:carol"}},
		{name: "who could, in JSON", as: "alice", args: []string{"who-can", "chains:update", "chains/eval-harness", "-n", "dev", "--at", before, "-o", "json"}, code: 0,
			out: []string{`"revision"`}, notOut: []string{"user:carol"}},
		{name: "a lookup of the future", as: "alice", args: []string{"what-can", "user:carol", "chains:update", "--at", "2999-01-01T00:00:00Z"}, code: ExitBadInput,
			err: []string{"400", "future"}},
		{name: "a lookup with both flags", as: "alice", args: []string{"who-can", "chains:read", "--at", before, "--at-revision", "3"}, code: ExitBadInput},
		{name: "who could then, without bindings:read", as: "carol", args: []string{"who-can", "chains:update", "chains/eval-harness", "-n", "dev", "--at", before}, code: ExitNotAllowed,
			err: []string{"403"}},
	})
}
