package cli

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/gatehouse-dev/gatehouse/client"
	"github.com/gatehouse-dev/gatehouse/client/clienttest"
)

// conventionCase is one command of the tree with arguments it accepts.
// TestCommandTreeConventions fails for a command that has no case: a new
// command adds its line here (docs/cli.md, "Adding a command").
type conventionCase struct {
	args []string // after "gatehouse", valid for the command
	// server: the command talks to the server (exit codes 3 and 4 are
	// checked); orgScoped: it works in --org (exit 5 for another org's).
	server, orgScoped bool
	// public: the server answers it without a credential (health).
	public bool
}

// conventionExempt are the commands without -o, and why.
var conventionExempt = map[string]string{
	"serve":      "runs the server; its output is logs",
	"run":        "the child's output is the command's output",
	"policy fmt": "prints policy source (or a diff)",
	"help":       "cobra's help",
}

func conventionCases(tmp string) map[string]conventionCase {
	srv := func(org bool, args ...string) conventionCase {
		return conventionCase{args: args, server: true, orgScoped: org}
	}
	local := func(args ...string) conventionCase { return conventionCase{args: args} }
	out := filepath.Join(tmp, "export.jsonl")
	changes := filepath.Join(tmp, "changes.jsonl")
	if err := os.WriteFile(changes, []byte(`{"op":"namespace.create","namespace":"imported"}`+"\n"), 0o600); err != nil {
		panic(err)
	}
	return map[string]conventionCase{
		"account delete":      srv(false, "account", "delete", "--yes"),
		"agent attest":        srv(true, "agent", "attest", "Triage"),
		"agent blast-radius":  srv(true, "agent", "blast-radius", "Triage"),
		"agent create":        srv(true, "agent", "create", "A1", "--role", "viewer"),
		"agent lifecycle":     srv(true, "agent", "lifecycle", "--inactive-days", "30"),
		"agent delete":        srv(true, "agent", "delete", "Triage"),
		"agent get":           srv(true, "agent", "get", "Triage"),
		"agent list":          srv(true, "agent", "list"),
		"agent update":        srv(true, "agent", "update", "Triage", "--role", "viewer"),
		"agent token":         srv(true, "agent", "token", "Triage", "--audience", "https://gw.example/mcp/acme/default/demo"),
		"agent tokens list":   srv(true, "agent", "tokens", "list", "Triage"),
		"agent tokens revoke": srv(true, "agent", "tokens", "revoke", "Triage", "00000000000000000000000000000000"),
		"audit export":        srv(true, "audit", "export", "--to", out),
		"audit query":         srv(true, "audit", "query"),
		"audit tail":          srv(true, "audit", "tail"),
		"audit verify":        local("audit", "verify", "--data", tmp),
		"audit keygen":        local("audit", "keygen", "--out", filepath.Join(tmp, "k.pem")),
		"audit prune":         local("audit", "prune", "--data", tmp, "--org", "demo", "--through", "1", "--exporter", "x"),
		"audit adopt":         local("audit", "adopt", "--data", tmp),
		"bind":                srv(true, "bind", "user:bob", "viewer"),
		"bind delete":         srv(true, "bind", "delete", "b1"),
		"bind get":            srv(true, "bind", "get", "b1"),
		"bind list":           srv(true, "bind", "list"),
		"check":               srv(true, "check", "user:bob", "chains:run"),
		"explain":             srv(true, "explain", "user:bob", "chains:run"),
		"who-can":             srv(true, "who-can", "chains:run"),
		"changes":             srv(true, "changes"),
		"what-can":            srv(true, "what-can", "user:bob", "chains:run"),
		"whoami":              srv(false, "whoami"),
		"context list":        local("context", "list"),
		"context use":         local("context", "use", "nope"),
		"context delete":      local("context", "delete", "nope"),
		"login":               srv(false, "login"),
		"init":                local("init", "--data", filepath.Join(tmp, "init")),
		"version":             local("version"),
		"health":              {args: []string{"health"}, server: true, public: true},
		"invite accept":       srv(false, "invite", "accept"),
		"invite create":       srv(true, "invite", "create", "x@example.com", "--role", "viewer"),
		"invite list":         srv(true, "invite", "list"),
		"invite revoke":       srv(true, "invite", "revoke", "i1"),
		"key create":          srv(true, "key", "create"),
		"key get":             srv(true, "key", "get", "k1"),
		"key list":            srv(true, "key", "list"),
		"key revoke":          srv(true, "key", "revoke", "k1"),
		"member add":          srv(true, "member", "add", "bob", "--role", "viewer"),
		"member get":          srv(true, "member", "get", "bob"),
		"member list":         srv(true, "member", "list"),
		"member remove":       srv(true, "member", "remove", "bob"),
		"member set-role":     srv(true, "member", "set-role", "bob", "viewer"),
		"ns create":           srv(true, "ns", "create", "x"),
		"ns delete":           srv(true, "ns", "delete", "x"),
		"ns get":              srv(true, "ns", "get", "prod"),
		"ns list":             srv(true, "ns", "list"),
		"org create":          srv(false, "org", "create", "x"),
		"org delete":          srv(false, "org", "delete", "other", "--yes"),
		"org get":             srv(true, "org", "get"),
		"org list":            srv(false, "org", "list"),
		"org rename":          srv(true, "org", "rename", "N"),
		"policy check":        local("policy", "check", "template:agent-platform", "--subject", "role:viewer", "--permission", "chains:read"),
		"policy lint":         local("policy", "lint", "template:agent-platform"),
		"policy matrix":       local("policy", "matrix", "template:agent-platform"),
		"policy test":         local("policy", "test", "../../templates"),
		"import":              srv(true, "import", changes),
		"mcp import":          srv(true, "mcp", "import", "--server", "sample", "--url", "http://127.0.0.1:1/mcp", "-n", "prod"),
		"mcp list":            srv(true, "mcp", "list", "-n", "prod"),
		"mcp suggest":         srv(true, "mcp", "suggest", "--server", "sample", "-n", "prod"),
		"mcp tools":           srv(true, "mcp", "tools", "--server", "sample", "-n", "prod"),
		"mcp call":            srv(true, "mcp", "call", "search", "--server", "sample", "-n", "prod"),
		"approval list":       srv(true, "approval", "list"),
		"approval show":       srv(true, "approval", "show", "a1"),
		"approval approve":    srv(true, "approval", "approve", "a1"),
		"approval deny":       srv(true, "approval", "deny", "a1"),
		"approval wait":       srv(true, "approval", "wait", "a1"),
		"approval settings":   srv(true, "approval", "settings", "--use-window", "5m"),
		"policy impact":       srv(true, "policy", "impact", "template:agent-platform"),
		"policy get":          srv(true, "policy", "get"),
		"policy put":          srv(true, "policy", "put", "template:agent-platform"),
		"policy validate":     srv(true, "policy", "validate", "template:agent-platform"),
		"resource create":     srv(true, "resource", "create", "chains/x", "-n", "prod"),
		"resource delete":     srv(true, "resource", "delete", "chains/x", "-n", "prod"),
		"resource diff":       srv(true, "resource", "diff", "chains/x", "--from", "1", "--to", "2"),
		"resource get":        srv(true, "resource", "get", "chains/x"),
		"resource history":    srv(true, "resource", "history", "chains/x"),
		"resource list":       srv(true, "resource", "list"),
		"resource update":     srv(true, "resource", "update", "chains/x", "--label", "a=b"),
		"resource versions":   srv(true, "resource", "versions", "chains/x"),
		"role create":         srv(true, "role", "create", "r", "--level", "1", "--permission", "chains:read"),
		"role delete":         srv(true, "role", "delete", "r"),
		"role get":            srv(true, "role", "get", "viewer"),
		"role list":           srv(true, "role", "list"),
		"role update":         srv(true, "role", "update", "r", "--level", "1", "--permission", "chains:read"),
		"run":                 srv(true, "run", "--resource", "chains/x", "-n", "prod", "--", "true"),
		"secret delete":       srv(true, "secret", "delete", "X", "-n", "prod"),
		"secret get":          srv(true, "secret", "get", "X", "-n", "prod"),
		"secret history":      srv(true, "secret", "history", "X", "-n", "prod"),
		"secret list":         srv(true, "secret", "list", "-n", "prod"),
		"secret rotate":       srv(true, "secret", "rotate", "X", "-n", "prod"),
		"secret set":          srv(true, "secret", "set", "X", "-n", "prod"),
		"service create":      srv(true, "service", "create", "s"),
		"service delete":      srv(true, "service", "delete", "s"),
		"service get":         srv(true, "service", "get", "s"),
		"service list":        srv(true, "service", "list"),
		"service update":      srv(true, "service", "update", "s", "--attributes", "{}"),
		"service suspend":     srv(true, "service", "suspend", "s"),
		"service resume":      srv(true, "service", "resume", "s"),
		"service attest":      srv(true, "service", "attest", "s"),
		"share":               srv(true, "share", "chains/x", "user:bob", "--actions", "run", "-n", "prod"),
		"team add":            srv(true, "team", "add", "support", "user:bob"),
		"team create":         srv(true, "team", "create", "t"),
		"team delete":         srv(true, "team", "delete", "support"),
		"team get":            srv(true, "team", "get", "support"),
		"team list":           srv(true, "team", "list"),
		"team remove":         srv(true, "team", "remove", "support", "user:bob"),
		"team rename":         srv(true, "team", "rename", "support", "N"),
		"vault status":        local("vault", "status", "--data", tmp),
		"vault rotate-master": local("vault", "rotate-master", "--data", tmp),
		"vault retire-key":    local("vault", "retire-key", "1", "--data", tmp),
	}
}

// leaves are the runnable commands of the tree without subcommands, by
// path without "gatehouse ".
func leaves(root *cobra.Command) map[string]*cobra.Command {
	out := map[string]*cobra.Command{}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		subs := c.Commands()
		if c.Runnable() && !c.Hidden && c != root && (len(subs) == 0 || c.Name() == "bind") {
			out[strings.TrimPrefix(c.CommandPath(), root.Name()+" ")] = c
		}
		for _, s := range subs {
			walk(s)
		}
	}
	walk(root)
	return out
}

// TestCommandTreeConventions walks the command tree and checks every
// command against docs/cli.md: -n/--namespace is the namespace flag (with
// --ns a deprecated alias, and -n nothing else); -o takes table, json and
// yaml; and the exit codes: 2 for a bad -o, and for a command that talks
// to the server 3 when it cannot be reached, 4 with a bad credential, 5
// for another org's things.
func TestCommandTreeConventions(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("GATEHOUSE_CLI_CONFIG", filepath.Join(tmp, "config.json"))
	cases := conventionCases(tmp)
	tree := leaves(newRoot(strings.NewReader(""), nil, nil))
	var paths []string
	for p := range tree {
		paths = append(paths, p)
	}
	sort.Strings(paths)

	// Structure.
	for _, p := range paths {
		c := tree[p]
		if strings.HasPrefix(p, "completion") {
			continue
		}
		c.Flags().VisitAll(func(f *pflag.Flag) {
			if f.Shorthand == "n" && f.Name != "namespace" {
				t.Errorf("%s: -n is --%s; -n is the namespace everywhere", p, f.Name)
			}
		})
		if ns := c.Flags().Lookup("namespace"); ns != nil {
			if ns.Shorthand != "n" {
				t.Errorf("%s: --namespace has no -n", p)
			}
			alias := c.Flags().Lookup("ns")
			if alias == nil || !strings.Contains(alias.Usage, "deprecated") || !alias.Hidden {
				t.Errorf("%s: --ns is not kept as a hidden, deprecated alias of --namespace", p)
			}
		} else if c.Flags().Lookup("ns") != nil {
			t.Errorf("%s: --ns without -n/--namespace", p)
		}
		if why, ok := conventionExempt[p]; ok {
			t.Logf("%s: no -o (%s)", p, why)
			continue
		}
		o := c.Flag("output")
		if o == nil || o.Shorthand != "o" {
			t.Errorf("%s: no -o/--output", p)
			continue
		}
		for _, f := range outputFormats {
			if !strings.Contains(o.Usage, f) {
				t.Errorf("%s: -o does not offer %s (%q)", p, f, o.Usage)
			}
		}
		if _, ok := cases[p]; !ok {
			t.Errorf("%s: no case in conventionCases: add one", p)
		}
	}
	for p := range cases {
		if _, ok := tree[p]; !ok {
			t.Errorf("conventionCases has %q, which is not a command", p)
		}
	}

	// Exit codes.
	srv := clienttest.Start(t, clienttest.Options{Demo: true})
	bob, err := client.New(srv.URL, client.WithToken(srv.Demo.Keys["bob"]))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := bob.CreateOrg(t.Context(), client.CreateOrgRequest{ID: "other"}); err != nil {
		t.Fatal(err)
	}
	t.Setenv("GATEHOUSE_URL", "")
	t.Setenv("GATEHOUSE_ORG", "")
	t.Setenv("GATEHOUSE_RUNTIME_TOKEN", "")
	const stdin = "gti_nope_0123456789abcdef0123456789abcdef\n"
	type variant struct {
		name   string
		server string
		token  string
		extra  []string
		want   int
		stderr string
		applic func(conventionCase) bool
	}
	variants := []variant{
		{"a bad -o", srv.URL, srv.Demo.Keys["alice"], []string{"-o", "xml"}, ExitBadInput, "--output", func(conventionCase) bool { return true }},
		{"no server", "http://127.0.0.1:1", srv.Demo.Keys["alice"], []string{"--org", "demo"}, ExitUnavailable, "",
			func(c conventionCase) bool { return c.server }},
		{"a bad credential", srv.URL, "gth_bogus_0123456789abcdef0123456789abcdef", []string{"--org", "demo"}, ExitUnauthenticated, "401",
			func(c conventionCase) bool { return c.server && !c.public }},
		{"another org's", srv.URL, srv.Demo.Keys["alice"], []string{"--org", "other"}, ExitNotAllowed, "404",
			func(c conventionCase) bool { return c.orgScoped }},
	}
	for _, p := range paths {
		c, ok := cases[p]
		if !ok {
			continue
		}
		for _, v := range variants {
			if !v.applic(c) || (v.name == "a bad -o" && conventionExempt[p] != "") {
				continue
			}
			t.Run(p+"/"+v.name, func(t *testing.T) {
				t.Setenv("GATEHOUSE_SERVER", v.server)
				t.Setenv("GATEHOUSE_TOKEN", v.token)
				args := append([]string{}, c.args...)
				if dash := indexOf(args, "--"); dash >= 0 { // run: flags before --
					args = append(append(append([]string{}, args[:dash]...), v.extra...), args[dash:]...)
				} else {
					args = append(args, v.extra...)
				}
				r := run(t, stdin, args...)
				if r.code != v.want || !strings.Contains(r.stderr, v.stderr) {
					t.Errorf("gatehouse %s: exit %d, want %d (stderr with %q)\nstdout: %s\nstderr: %s",
						strings.Join(args, " "), r.code, v.want, v.stderr, r.stdout, r.stderr)
				}
			})
		}
	}
}

func indexOf(ss []string, s string) int {
	for i, x := range ss {
		if x == s {
			return i
		}
	}
	return -1
}
