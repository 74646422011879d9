package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-dev/gatehouse/client/clienttest"
)

// adminStep is one CLI invocation of a scenario and what it must give.
type adminStep struct {
	name  string
	as    string // whose key: "alice", "bob", "carol", "none", "bogus"
	args  []string
	stdin string
	code  int
	// out: substrings stdout must contain; notOut: must not contain; err:
	// substrings stderr must contain.
	out, notOut, err []string
}

// runSteps runs steps in order against srv with the demo users' keys.
func runSteps(t *testing.T, srv *clienttest.Server, keys map[string]string, steps []adminStep) {
	t.Helper()
	t.Setenv("GATEHOUSE_SERVER", srv.URL)
	t.Setenv("GATEHOUSE_URL", "")
	t.Setenv("GATEHOUSE_ORG", "")
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			switch s.as {
			case "none":
				t.Setenv("GATEHOUSE_TOKEN", "")
			case "bogus":
				t.Setenv("GATEHOUSE_TOKEN", "gth_bogus_0123456789abcdef0123456789abcdef")
			default:
				t.Setenv("GATEHOUSE_TOKEN", keys[s.as])
			}
			r := run(t, s.stdin, s.args...)
			if r.code != s.code {
				t.Errorf("gatehouse %s: exit %d, want %d\nstdout: %s\nstderr: %s", strings.Join(s.args, " "), r.code, s.code, r.stdout, r.stderr)
			}
			for _, w := range s.out {
				if !strings.Contains(r.stdout, w) {
					t.Errorf("gatehouse %s: stdout lacks %q:\n%s\nstderr: %s", strings.Join(s.args, " "), w, r.stdout, r.stderr)
				}
			}
			for _, w := range s.notOut {
				if strings.Contains(r.stdout, w) {
					t.Errorf("gatehouse %s: stdout has %q:\n%s", strings.Join(s.args, " "), w, r.stdout)
				}
			}
			for _, w := range s.err {
				if !strings.Contains(r.stderr, w) {
					t.Errorf("gatehouse %s: stderr lacks %q:\n%s", strings.Join(s.args, " "), w, r.stderr)
				}
			}
			for _, k := range keys {
				if k != "" && (strings.Contains(r.stderr, k) || (!strings.Contains(strings.Join(s.args, " "), "key create") && strings.Contains(r.stdout, k))) {
					t.Errorf("gatehouse %s printed an API key", strings.Join(s.args, " "))
				}
			}
		})
	}
}

// TestAdminVerbs walks the quickstart's demo org through every admin verb,
// as the README's "who can run what" would, with the exit codes of cli.go.
func TestAdminVerbs(t *testing.T) {
	srv := clienttest.Start(t, clienttest.Options{Demo: true})
	keys := srv.Demo.Keys
	pol := filepath.Join(t.TempDir(), "demo.policy")
	badPol := filepath.Join(t.TempDir(), "bad.policy")
	spec := filepath.Join(t.TempDir(), "spec.json")
	for p, s := range map[string]string{badPol: "role r {\n    permission chain* { read }\n}\n", spec: `{"steps":["fetch","act"]}`} {
		if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	runSteps(t, srv, keys, []adminStep{
		// Who am I, and the org found without --org (alice has one).
		{name: "whoami", as: "alice", args: []string{"whoami"}, code: 0, out: []string{"user:alice (via api_key)", "demo", "*:*"}},
		{name: "whoami without credentials", as: "none", args: []string{"whoami"}, code: ExitUnauthenticated, err: []string{"401"}},
		{name: "whoami with a bogus key", as: "bogus", args: []string{"whoami"}, code: ExitUnauthenticated, err: []string{"401 Authentication required: "}},
		{name: "org list", as: "alice", args: []string{"org", "list"}, code: 0, out: []string{"ID", "demo", "Demo Agent Platform", "agent-platform"}},
		{name: "org get as json", as: "bob", args: []string{"org", "get", "-o", "json"}, code: 0, out: []string{`"id": "demo"`}},
		{name: "org get as yaml", as: "bob", args: []string{"org", "get", "-o", "yaml"}, code: 0, out: []string{"id: demo"}},
		{name: "a bad --output", as: "bob", args: []string{"org", "get", "-o", "xml"}, code: ExitBadInput, err: []string{"--output"}},
		// A write command run only to show writes nothing: no "(revision 0)".
		{name: "approval settings, shown", as: "alice", args: []string{"approval", "settings"}, code: 0, out: []string{"pending approvals expire after"}, notOut: []string{"revision"}},
		{name: "approval settings, set", as: "alice", args: []string{"approval", "settings", "--use-window", "5m"}, code: 0, out: []string{"used within 5m", "(revision "}},

		// Decisions: the quickstart's questions.
		{name: "bob may run a prod chain", as: "alice", args: []string{"check", "user:bob", "chains:run", "chains/database-migration", "--ns", "prod"}, code: 0, out: []string{"allow"}},
		{name: "-n is the namespace", as: "alice", args: []string{"check", "user:bob", "chains:run", "chains/database-migration", "-n", "prod"}, code: 0, out: []string{"allow"}},
		{name: "--ns still works, deprecated", as: "alice", args: []string{"check", "user:bob", "chains:run", "chains/database-migration", "--ns", "prod"}, code: 0, out: []string{"allow"}, err: []string{"--ns is deprecated, use -n/--namespace"}},
		{name: "bob may not edit it", as: "alice", args: []string{"check", "user:bob", "chains:update", "chains/database-migration", "--ns", "prod"}, code: ExitDeny, out: []string{"deny"}},
		{name: "check as json", as: "alice", args: []string{"check", "user:bob", "chains:update", "chains/eval-harness", "--ns", "dev", "-o", "json"}, code: 0, out: []string{`"allowed": true`}},
		{name: "check about yourself", as: "carol", args: []string{"check", "me", "chains:run", "chains/escalation-triage", "--ns", "prod"}, code: 0, out: []string{"allow"}},
		{name: "a viewer may not ask about others", as: "carol", args: []string{"check", "user:bob", "chains:run"}, code: ExitNotAllowed, err: []string{"403", "bindings:read"}},
		{name: "a malformed action", as: "alice", args: []string{"check", "user:bob", "run"}, code: ExitBadInput},
		{name: "why can't carol run the summarizer", as: "alice", args: []string{"explain", "user:carol", "chains:run", "chains/ticket-summarizer", "--ns", "prod"}, code: ExitDeny, out: []string{"DENY", "closest:"}},
		{name: "why can carol run triage", as: "alice", args: []string{"explain", "user:carol", "chains:run", "chains/escalation-triage", "--ns", "prod"}, code: 0, out: []string{"ALLOW", "granted by:", "team:support", "actions:read,run"}},
		{name: "who can run triage", as: "alice", args: []string{"who-can", "chains:run", "chains/escalation-triage", "--ns", "prod"}, code: 0, out: []string{"agent:Triage", "user:alice", "user:bob", "user:carol", "team:support"}},
		{name: "what can carol run", as: "alice", args: []string{"what-can", "user:carol", "chains:run"}, code: 0, out: []string{"prod", "escalation-triage"}, notOut: []string{"ticket-summarizer"}},
		{name: "what can bob edit", as: "alice", args: []string{"what-can", "user:bob", "chains:update", "-o", "json"}, code: 0, out: []string{`"id": "eval-harness"`, `"id": "prompt-playground"`}, notOut: []string{"database-migration"}},

		// Namespaces, members, invitations.
		{name: "ns create", as: "alice", args: []string{"ns", "create", "staging"}, code: 0, out: []string{"created namespace staging (revision "}},
		{name: "ns create again conflicts", as: "alice", args: []string{"ns", "create", "staging"}, code: ExitConflict, err: []string{"409"}},
		{name: "ns list", as: "alice", args: []string{"ns", "list"}, code: 0, out: []string{"default", "dev", "prod", "staging"}},
		{name: "ns list, paged", as: "alice", args: []string{"ns", "list", "--page-size", "2"}, code: 0, out: []string{"default", "dev"}, notOut: []string{"staging"}, err: []string{"more: --cursor "}},
		{name: "a viewer may not create namespaces", as: "carol", args: []string{"ns", "create", "mine"}, code: ExitNotAllowed, err: []string{"403", "namespaces:create"}},
		{name: "ns get", as: "bob", args: []string{"ns", "get", "prod"}, code: 0, out: []string{"prod"}},
		{name: "ns delete", as: "alice", args: []string{"ns", "delete", "staging"}, code: 0, out: []string{"deleted namespace staging"}},
		{name: "member list", as: "alice", args: []string{"member", "list"}, code: 0, out: []string{"alice", "bob", "carol", "owner@org", "builder@ns/dev", "operator@ns/prod"}},
		{name: "member list as yaml", as: "alice", args: []string{"member", "list", "-o", "yaml"}, code: 0, out: []string{"items:", "user_id: bob", "role: builder", "scope: ns/dev", "next_cursor:"}},
		{name: "a viewer's key list is its own keys", as: "carol", args: []string{"key", "list"}, code: 0, out: []string{"user:carol"}, notOut: []string{"user:alice"}, err: []string{"your own keys"}},
		{name: "member get", as: "bob", args: []string{"member", "get", "bob"}, code: 0, out: []string{"bob"}},
		{name: "invite dave", as: "alice", args: []string{"invite", "create", "dave@example.com", "--role", "viewer"}, code: 0, out: []string{"invited dave@example.com to demo as viewer", "token (shown once): "}},
		{name: "invite needs a role", as: "alice", args: []string{"invite", "create", "erin@example.com"}, code: ExitBadInput},
		{name: "invite list", as: "alice", args: []string{"invite", "list"}, code: 0, out: []string{"dave@example.com", "pending"}},
		{name: "accept with a bogus token", as: "none", args: []string{"invite", "accept"}, stdin: "gti_nope_0123456789abcdef0123456789abcdef\n", code: ExitUnauthenticated},
		{name: "accept with no token", as: "none", args: []string{"invite", "accept"}, stdin: "", code: ExitBadInput},

		// Teams, roles, bindings, sharing.
		{name: "team create", as: "alice", args: []string{"team", "create", "ml", "--name", "ML", "--member", "user:bob"}, code: 0, out: []string{"created team ml"}},
		{name: "team add", as: "alice", args: []string{"team", "add", "ml", "user:carol"}, code: 0, out: []string{"added user:carol to team ml"}},
		{name: "team get", as: "alice", args: []string{"team", "get", "ml"}, code: 0, out: []string{"user:bob,user:carol"}},
		{name: "team remove", as: "alice", args: []string{"team", "remove", "ml", "user:carol"}, code: 0},
		{name: "team rename", as: "alice", args: []string{"team", "rename", "ml", "Machine learning"}, code: 0},
		{name: "team list", as: "alice", args: []string{"team", "list"}, code: 0, out: []string{"ml", "Machine learning", "support"}},
		{name: "role list", as: "alice", args: []string{"role", "list"}, code: 0, out: []string{"owner", "100", "viewer", "10", "template"}},
		{name: "role create", as: "alice", args: []string{"role", "create", "auditor", "--level", "5", "--permission", "audit:read"}, code: 0, out: []string{"created role auditor"}},
		{name: "role create needs permissions", as: "alice", args: []string{"role", "create", "empty", "--level", "5"}, code: ExitBadInput},
		{name: "role update", as: "alice", args: []string{"role", "update", "auditor", "--level", "6", "--permission", "audit:read", "--permission", "chains:read"}, code: 0},
		{name: "role get", as: "alice", args: []string{"role", "get", "auditor"}, code: 0, out: []string{"auditor", "6", "custom", "audit:read chains:read"}},
		{name: "bind carol auditor in dev", as: "alice", args: []string{"bind", "user:carol", "auditor", "--ns", "dev"}, code: 0, out: []string{"bound user:carol to auditor at ns/dev: binding "}},
		{name: "bind list for carol", as: "alice", args: []string{"bind", "list", "--principal", "user:carol"}, code: 0, out: []string{"auditor", "ns/dev", "viewer", "org"}},
		{name: "an escalation is refused", as: "bob", args: []string{"bind", "user:bob", "owner"}, code: ExitNotAllowed, err: []string{"403"}},
		{name: "bind without a role", as: "alice", args: []string{"bind", "user:carol"}, code: ExitBadInput},
		{name: "role delete while bound conflicts", as: "alice", args: []string{"role", "delete", "auditor"}, code: ExitConflict, err: []string{"409"}},
		{name: "share a dev chain with team ml", as: "alice", args: []string{"share", "chains/eval-harness", "team:ml", "--actions", "run", "--ns", "dev"}, code: 0, out: []string{"shared dev/chains/eval-harness with team:ml for run"}},
		{name: "share needs actions", as: "alice", args: []string{"share", "chains/eval-harness", "team:ml"}, code: ExitBadInput},

		// Agents, services, keys.
		{name: "agent create", as: "alice", args: []string{"agent", "create", "Summarizer", "--role", "operator", "--ns", "prod"}, code: 0, out: []string{"created agent Summarizer (operator, sponsor alice)"}},
		{name: "agent create with sponsors", as: "alice", args: []string{"agent", "create", "Helper", "--role", "operator", "--sponsors", "user:bob,team:support"}, code: 0,
			out: []string{"created agent Helper (operator, sponsors team:support, user:bob)"}},
		{name: "agent update", as: "alice", args: []string{"agent", "update", "Summarizer", "--attributes", `{"model":"small"}`, "-o", "json"}, code: 0, out: []string{`"model": "small"`}},
		{name: "agent update needs a change", as: "alice", args: []string{"agent", "update", "Summarizer"}, code: ExitBadInput},
		{name: "agent list", as: "alice", args: []string{"agent", "list"}, code: 0, out: []string{"Summarizer", "Triage"}},
		{name: "agent get", as: "alice", args: []string{"agent", "get", "Triage"}, code: 0, out: []string{"Triage", "operator", "alice"}},
		{name: "the agent may run prod chains", as: "alice", args: []string{"check", "agent:Summarizer", "chains:run", "chains/ticket-summarizer", "--ns", "prod"}, code: 0},
		{name: "agent delete", as: "alice", args: []string{"agent", "delete", "Summarizer"}, code: 0},
		{name: "service create", as: "alice", args: []string{"service", "create", "ci", "--role", "operator", "--ns", "dev"}, code: 0, out: []string{"created service ci"}},
		{name: "service update", as: "alice", args: []string{"service", "update", "ci", "--attributes", `{"runner":"gh"}`}, code: 0},
		{name: "service get", as: "alice", args: []string{"service", "get", "ci"}, code: 0, out: []string{`{"runner":"gh"}`}},
		{name: "service list", as: "alice", args: []string{"service", "list"}, code: 0, out: []string{"ci"}},
		{name: "key create for the service", as: "alice", args: []string{"key", "create", "--principal", "service:ci", "--name", "ci"}, code: 0, out: []string{"created key ", "for service:ci", "token (shown once): gth_"}},
		{name: "key list", as: "alice", args: []string{"key", "list", "--principal", "service:ci"}, code: 0, out: []string{"service:ci", "active"}},
		{name: "personal keys", as: "bob", args: []string{"key", "list", "--personal"}, code: 0, out: []string{"user:bob", "(personal)"}},
		{name: "service suspend", as: "alice", args: []string{"service", "suspend", "ci"}, code: 0, out: []string{"suspended service ci (revision "}},
		{name: "service list shows the suspension", as: "alice", args: []string{"service", "list"}, code: 0, out: []string{"STATUS", "suspended"}},
		{name: "a suspended service is denied", as: "alice", args: []string{"check", "service:ci", "chains:read", "chains/eval-harness", "--ns", "dev"}, code: ExitDeny, out: []string{"suspended"}},
		{name: "a viewer may not suspend", as: "carol", args: []string{"service", "resume", "ci"}, code: ExitNotAllowed, err: []string{"403"}},
		{name: "service resume", as: "alice", args: []string{"service", "resume", "ci"}, code: 0, out: []string{"resumed service ci"}},
		{name: "a resumed service is allowed", as: "alice", args: []string{"check", "service:ci", "chains:read", "chains/eval-harness", "--ns", "dev"}, code: 0},
		{name: "service lifecycle needs sponsors", as: "alice", args: []string{"service", "create", "lonely", "--lifecycle"}, code: ExitBadInput, err: []string{"lifecycle"}},
		{name: "service update needs a change", as: "alice", args: []string{"service", "update", "ci"}, code: ExitBadInput},
		{name: "service sponsors and lifecycle", as: "alice", args: []string{"service", "update", "ci", "--sponsors", "user:bob", "--lifecycle"}, code: 0, out: []string{"updated service ci"}},
		{name: "service list shows sponsors", as: "alice", args: []string{"service", "list"}, code: 0, out: []string{"SPONSORS", "user:bob", "org rules", `{"runner":"gh"}`}},
		{name: "a non-sponsor may not attest", as: "alice", args: []string{"service", "attest", "ci"}, code: ExitNotAllowed, err: []string{"403"}},
		{name: "a sponsor attests", as: "bob", args: []string{"service", "attest", "ci"}, code: 0, out: []string{"attested service ci", "(status active)"}},
		{name: "service list --status active", as: "alice", args: []string{"service", "list", "--status", "active"}, code: 0, out: []string{"user:bob"}},
		{name: "service list --status sponsor_gone", as: "alice", args: []string{"service", "list", "--status", "sponsor_gone"}, code: 0, notOut: []string{"user:bob"}},
		{name: "service sponsors cleared", as: "alice", args: []string{"service", "update", "ci", "--sponsors", "", "--lifecycle=false", "-o", "json"}, code: 0, notOut: []string{"sponsors", `"lifecycle"`}},
		{name: "agent token", as: "alice", args: []string{"agent", "token", "Triage", "--audience", "https://gw.example/mcp/demo/prod/github", "--on-behalf-of", "user:alice", "-o", "json"}, code: 0, out: []string{`"token": "gha_`, `"agent": "agent:Triage"`, `"on_behalf_of": "user:alice"`}},
		{name: "agent token needs an audience", as: "alice", args: []string{"agent", "token", "Triage"}, code: ExitBadInput},
		{name: "agent token for another user", as: "alice", args: []string{"agent", "token", "Triage", "--audience", "https://gw.example/x", "--on-behalf-of", "user:bob"}, code: ExitNotAllowed, err: []string{"403"}},
		{name: "agent token ttl over an hour", as: "alice", args: []string{"agent", "token", "Triage", "--audience", "https://gw.example/x", "--ttl", "2h"}, code: ExitBadInput, err: []string{"ttl"}},
		{name: "agent tokens list", as: "alice", args: []string{"agent", "tokens", "list", "Triage"}, code: 0, out: []string{"ON BEHALF OF", "agent:Triage", "user:alice", "https://gw.example/mcp/demo/prod/github", "active"}, notOut: []string{"gha_"}},
		{name: "agent tokens list as json", as: "alice", args: []string{"agent", "tokens", "list", "Triage", "-o", "json"}, code: 0, out: []string{`"created_by": "user:alice"`}, notOut: []string{"gha_"}},
		{name: "a viewer may not list agent tokens", as: "carol", args: []string{"agent", "tokens", "list", "Triage"}, code: ExitNotAllowed, err: []string{"403"}},
		{name: "a viewer may not revoke an agent token", as: "carol", args: []string{"agent", "tokens", "revoke", "Triage", "00000000000000000000000000000000"}, code: ExitNotAllowed, err: []string{"403"}},
		{name: "revoking an unknown agent token", as: "alice", args: []string{"agent", "tokens", "revoke", "Triage", "00000000000000000000000000000000"}, code: ExitNotAllowed, err: []string{"404"}},
		{name: "service delete", as: "alice", args: []string{"service", "delete", "ci"}, code: 0},

		// Resources with versions and diffs.
		{name: "resource create", as: "alice", args: []string{"resource", "create", "chains/new-chain", "--ns", "dev", "--label", "env=dev", "--spec", spec}, code: 0, out: []string{"created chains/new-chain in dev (version 1)"}},
		{name: "resource update from stdin", as: "alice", args: []string{"resource", "update", "chains/new-chain", "--ns", "dev", "--spec", "-", "--if-version", "1"}, stdin: `{"steps":["fetch","think","act"]}`, code: 0, out: []string{"(version 2)"}},
		{name: "a stale --if-version conflicts", as: "alice", args: []string{"resource", "update", "chains/new-chain", "--ns", "dev", "--spec", "-", "--if-version", "1"}, stdin: `{}`, code: ExitConflict, err: []string{"409"}},
		{name: "a spec that is not JSON", as: "alice", args: []string{"resource", "update", "chains/new-chain", "--ns", "dev", "--spec", "-"}, stdin: `{steps`, code: ExitBadInput},
		{name: "resource get", as: "bob", args: []string{"resource", "get", "chains/new-chain", "--ns", "dev"}, code: 0, out: []string{"new-chain", "2", "env=dev", "spec:", `"think"`}},
		{name: "resource list", as: "alice", args: []string{"resource", "list", "--ns", "prod"}, code: 0, out: []string{"escalation-triage", "ticket-summarizer"}, notOut: []string{"eval-harness"}},
		{name: "resource versions", as: "alice", args: []string{"resource", "versions", "chains/new-chain", "--ns", "dev"}, code: 0, out: []string{"VERSION", "2", "1", "user:alice"}},
		{name: "resource version 1", as: "alice", args: []string{"resource", "versions", "chains/new-chain", "1", "--ns", "dev"}, code: 0, out: []string{`"fetch"`}, notOut: []string{"think"}},
		{name: "resource diff", as: "alice", args: []string{"resource", "diff", "chains/new-chain", "--ns", "dev", "--from", "1", "--to", "2"}, code: 0, out: []string{"/spec/steps/1", `"think"`}},
		{name: "resource history", as: "alice", args: []string{"resource", "history", "chains/new-chain", "--ns", "dev"}, code: 0, out: []string{"VERSION", "AUDIT", "user:alice", "changed /spec/steps/1", "resource.create success", "resource.update success"}},
		{name: "resource history as json", as: "alice", args: []string{"resource", "history", "chains/new-chain", "--ns", "dev", "-o", "json"}, code: 0, out: []string{`"version": 2`, `"diff"`, `"audit"`}},
		{name: "history of a missing resource", as: "alice", args: []string{"resource", "history", "chains/none", "--ns", "dev"}, code: ExitNotAllowed, err: []string{"404"}},
		{name: "a malformed ref", as: "alice", args: []string{"resource", "get", "new-chain"}, code: ExitBadInput},
		{name: "a missing resource", as: "alice", args: []string{"resource", "get", "chains/none", "--ns", "dev"}, code: ExitNotAllowed, err: []string{"404"}},
		{name: "resource attributes set", as: "alice", args: []string{"resource", "update", "chains/new-chain", "--ns", "dev", "--attributes", `{"tier":"gold"}`}, code: 0},
		{name: "resource attributes seen", as: "alice", args: []string{"resource", "get", "chains/new-chain", "--ns", "dev", "-o", "json"}, code: 0, out: []string{`"tier": "gold"`}},
		{name: "resource attributes cleared", as: "alice", args: []string{"resource", "update", "chains/new-chain", "--ns", "dev", "--attributes", ""}, code: 0},
		{name: "resource attributes gone", as: "alice", args: []string{"resource", "get", "chains/new-chain", "--ns", "dev", "-o", "json"}, code: 0, notOut: []string{"tier"}},
		{name: "resource delete", as: "alice", args: []string{"resource", "delete", "chains/new-chain", "--ns", "dev"}, code: 0},

		// The policy on the server.
		{name: "policy get", as: "alice", args: []string{"policy", "get"}, code: 0, out: []string{"role owner level 100"}},
		{name: "policy validate a bad text", as: "alice", args: []string{"policy", "validate", badPol}, code: ExitBadInput, out: []string{":2:", "error:"}},
		{name: "policy validate a template", as: "alice", args: []string{"policy", "validate", "template:agent-platform"}, code: 0},
		{name: "policy put a bad text", as: "alice", args: []string{"policy", "put", badPol}, code: ExitBadInput, err: []string{"422", ":2:"}},
		{name: "a viewer may not put the policy", as: "carol", args: []string{"policy", "put", "template:agent-platform"}, code: ExitNotAllowed, err: []string{"403"}},
		{name: "a policy dropping a bound role conflicts", as: "alice", args: []string{"policy", "put", "-"}, stdin: mustTemplate(t), code: ExitConflict, err: []string{"409", "auditor"}},
		{name: "policy put from stdin with --force", as: "alice", args: []string{"policy", "put", "-", "--force"}, stdin: mustTemplate(t) + "\n# edited from the CLI\n", code: 0, out: []string{"replaced the policy of demo"}},
		{name: "the forced put dropped the role's binding", as: "alice", args: []string{"bind", "list", "--principal", "user:carol"}, code: 0, notOut: []string{"auditor"}},
		{name: "the file policy commands still work offline", as: "none", args: []string{"policy", "lint", "template:mentiko"}, code: 0},

		// Orgs.
		{name: "org create", as: "bob", args: []string{"org", "create", "bobs", "--template", "letta"}, code: 0, out: []string{"created org bobs (template letta)"}},
		{name: "now bob needs --org", as: "bob", args: []string{"ns", "list"}, code: ExitBadInput, err: []string{"--org", "bobs", "demo"}},
		{name: "with --org", as: "bob", args: []string{"ns", "list", "--org", "bobs"}, code: 0, out: []string{"default"}},
		{name: "org rename", as: "bob", args: []string{"org", "rename", "Bob's", "--org", "bobs"}, code: 0},
		{name: "another org's org is 404", as: "alice", args: []string{"org", "get", "bobs"}, code: ExitNotAllowed, err: []string{"404"}},
		{name: "org delete needs --yes", as: "bob", args: []string{"org", "delete", "bobs"}, code: ExitBadInput},
		{name: "org delete", as: "bob", args: []string{"org", "delete", "bobs", "--yes"}, code: 0},

		// The server unreachable.
		{name: "no server", as: "alice", args: []string{"org", "list", "--server", "http://127.0.0.1:1"}, code: ExitInternal},
		{name: "a server URL that is not one", as: "alice", args: []string{"org", "list", "--server", "ftp://x"}, code: ExitBadInput},
		{name: "an unknown verb", as: "alice", args: []string{"team", "frobnicate"}, code: ExitBadInput},
	})
	_ = pol
}

func mustTemplate(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../../templates/agent-platform.policy")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestAdminKeyAndInvitationRoundTrip: a key printed by `key create` works,
// and `key revoke` stops it; an invitation token printed by `invite create`
// is accepted once by `invite accept`.
func TestAdminKeyAndInvitationRoundTrip(t *testing.T) {
	srv := clienttest.Start(t, clienttest.Options{Demo: true})
	t.Setenv("GATEHOUSE_SERVER", srv.URL)
	t.Setenv("GATEHOUSE_ORG", "")
	t.Setenv("GATEHOUSE_TOKEN", srv.Demo.Keys["alice"])
	tokenRE := regexp.MustCompile(`token \(shown once\): (\S+)`)

	r := run(t, "", "key", "create", "--name", "laptop", "-o", "json")
	var kc struct {
		Item  struct{ ID string }
		Token string
	}
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &kc) != nil || kc.Token == "" {
		t.Fatalf("key create: %d %s %s", r.code, r.stdout, r.stderr)
	}
	t.Setenv("GATEHOUSE_TOKEN", kc.Token)
	if r := run(t, "", "whoami"); r.code != 0 || !strings.Contains(r.stdout, "user:alice") {
		t.Fatalf("whoami with the new key: %d %s %s", r.code, r.stdout, r.stderr)
	}
	tokFile := filepath.Join(t.TempDir(), "tok")
	if err := os.WriteFile(tokFile, []byte(srv.Demo.Keys["alice"]+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("GATEHOUSE_TOKEN", "")
	if r := run(t, "", "key", "revoke", kc.Item.ID, "--token-file", tokFile); r.code != 0 {
		t.Fatalf("key revoke: %d %s", r.code, r.stderr)
	}
	t.Setenv("GATEHOUSE_TOKEN", kc.Token)
	if r := run(t, "", "whoami"); r.code != ExitUnauthenticated {
		t.Errorf("a revoked key: exit %d, want %d", r.code, ExitUnauthenticated)
	}

	t.Setenv("GATEHOUSE_TOKEN", srv.Demo.Keys["alice"])
	r = run(t, "", "invite", "create", "erin@example.com", "--role", "operator")
	m := tokenRE.FindStringSubmatch(r.stdout)
	if r.code != 0 || m == nil {
		t.Fatalf("invite create: %d %s %s", r.code, r.stdout, r.stderr)
	}
	t.Setenv("GATEHOUSE_TOKEN", "")
	r = run(t, m[1]+"\n", "invite", "accept", "--user-id", "erin")
	if r.code != 0 || !strings.Contains(r.stdout, "welcome erin: member of demo as operator") {
		t.Fatalf("invite accept: %d %s %s", r.code, r.stdout, r.stderr)
	}
	if r := run(t, m[1]+"\n", "invite", "accept"); r.code != ExitNotAllowed || !strings.Contains(r.stderr, "410") {
		t.Errorf("accepting twice: exit %d %s, want %d and 410", r.code, r.stderr, ExitNotAllowed)
	}
	t.Setenv("GATEHOUSE_TOKEN", srv.Demo.Keys["alice"])
	if r := run(t, "", "check", "user:erin", "chains:run", "chains/ticket-summarizer", "--ns", "prod"); r.code != 0 {
		t.Errorf("the invited operator cannot run: %d %s %s", r.code, r.stdout, r.stderr)
	}
}

// TestCompletion: cobra's shell completion is there for the three shells.
func TestCompletion(t *testing.T) {
	for _, sh := range []string{"bash", "zsh", "fish"} {
		r := run(t, "", "completion", sh)
		if r.code != 0 || !strings.Contains(r.stdout, "gatehouse") || len(r.stdout) < 500 {
			t.Errorf("completion %s: exit %d, %d bytes", sh, r.code, len(r.stdout))
		}
	}
	// Completing a verb lists the admin verbs.
	r := run(t, "", "__complete", "wh")
	got := strings.Fields(r.stdout)
	want := []string{"who-can", "whoami"}
	for _, w := range want {
		found := false
		for _, g := range got {
			if strings.HasPrefix(g, w) {
				found = true
			}
		}
		if !found {
			t.Errorf("__complete wh: %q lacks %q", r.stdout, w)
		}
	}
	if diff := cmp.Diff(0, r.code); diff != "" {
		t.Errorf("__complete exit (-want +got):\n%s", diff)
	}
}
