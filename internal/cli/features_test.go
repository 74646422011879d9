package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-dev/gatehouse/client/clienttest"
	"github.com/gatehouse-dev/gatehouse/internal/audit"
	"github.com/gatehouse-dev/gatehouse/internal/store/postgres/pgtest"
	"github.com/gatehouse-dev/gatehouse/internal/vault"
)

// TestLoginAndContexts: login checks the credential and stores it in a
// 0600 file; commands then need no variables; flags and variables win over
// the context; context list never prints the credential.
func TestLoginAndContexts(t *testing.T) {
	srv := clienttest.Start(t, clienttest.Options{Demo: true})
	cfg := filepath.Join(t.TempDir(), "gh", "config.json")
	t.Setenv("GATEHOUSE_CLI_CONFIG", cfg)
	for _, k := range []string{"GATEHOUSE_SERVER", "GATEHOUSE_URL", "GATEHOUSE_TOKEN", "GATEHOUSE_ORG", "GATEHOUSE_CONTEXT"} {
		t.Setenv(k, "")
	}
	alice, bob := srv.Demo.Keys["alice"], srv.Demo.Keys["bob"]

	if r := run(t, "gth_bogus_0123456789abcdef0123456789abcdef\n", "login", "--server", srv.URL); r.code != ExitUnauthenticated {
		t.Errorf("login with a bogus key: %d %s", r.code, r.stderr)
	}
	if _, err := os.Stat(cfg); !os.IsNotExist(err) {
		t.Errorf("a refused login wrote the config: %v", err)
	}
	if r := run(t, alice+"\n", "login", "--server", srv.URL); r.code != 0 || !strings.Contains(r.stdout, `context "demo"`) {
		t.Fatalf("login: %d %s %s", r.code, r.stdout, r.stderr)
	}
	fi, err := os.Stat(cfg)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("config file: %v %v, want mode 0600", err, fi)
	}
	if r := run(t, bob+"\n", "login", "--server", srv.URL, "--name", "bob"); r.code != 0 {
		t.Fatalf("login bob: %d %s", r.code, r.stderr)
	}
	// The current context is bob's; --context and context use switch.
	if r := run(t, "", "whoami"); r.code != 0 || !strings.Contains(r.stdout, "user:bob") {
		t.Errorf("whoami in bob's context: %d %s %s", r.code, r.stdout, r.stderr)
	}
	if r := run(t, "", "whoami", "--use-context", "demo"); r.code != 0 || !strings.Contains(r.stdout, "user:alice") {
		t.Errorf("whoami --use-context demo: %d %s %s", r.code, r.stdout, r.stderr)
	}
	if r := run(t, "", "context", "use", "demo"); r.code != 0 {
		t.Fatalf("context use: %d %s", r.code, r.stderr)
	}
	if r := run(t, "", "ns", "create", "from-context"); r.code != 0 {
		t.Errorf("alice's context writes: %d %s", r.code, r.stderr)
	}
	r := run(t, "", "context", "list", "-o", "json")
	var l struct {
		Items []contextOut `json:"items"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &l); err != nil {
		t.Fatalf("context list: %v %s", err, r.stdout)
	}
	want := []contextOut{{Current: true, Name: "demo", Server: srv.URL, Org: "demo", Principal: "user:alice"}, {Name: "bob", Server: srv.URL, Org: "demo", Principal: "user:bob"}}
	if diff := cmp.Diff(want, l.Items); diff != "" {
		t.Errorf("context list (-want +got):\n%s", diff)
	}
	if strings.Contains(r.stdout, alice) || strings.Contains(run(t, "", "context", "list").stdout, alice) {
		t.Error("context list printed a credential")
	}
	// The environment wins.
	t.Setenv("GATEHOUSE_SERVER", "http://127.0.0.1:1")
	if r := run(t, "", "whoami"); r.code != ExitUnavailable {
		t.Errorf("GATEHOUSE_SERVER does not win over the context: %d", r.code)
	}
	t.Setenv("GATEHOUSE_SERVER", "")
	t.Setenv("GATEHOUSE_TOKEN", bob)
	if r := run(t, "", "whoami"); !strings.Contains(r.stdout, "user:bob") {
		t.Errorf("GATEHOUSE_TOKEN does not win over the context: %s", r.stdout)
	}
	t.Setenv("GATEHOUSE_TOKEN", "")
	if r := run(t, "", "context", "use", "nope"); r.code != ExitNotAllowed {
		t.Errorf("context use of an unknown name: %d", r.code)
	}
	if r := run(t, "", "whoami", "--use-context", "nope"); r.code != ExitBadInput {
		t.Errorf("--use-context of an unknown name: %d", r.code)
	}
	// A config others may read is refused.
	if err := os.Chmod(cfg, 0o644); err != nil {
		t.Fatal(err)
	}
	if r := run(t, "", "whoami"); r.code != ExitBadInput || !strings.Contains(r.stderr, "chmod 600") {
		t.Errorf("a world-readable config: %d %s", r.code, r.stderr)
	}
	if err := os.Chmod(cfg, 0o600); err != nil {
		t.Fatal(err)
	}
	if r := run(t, "", "context", "delete", "bob"); r.code != 0 || strings.Contains(run(t, "", "context", "list").stdout, "bob") {
		t.Errorf("context delete: %d %s", r.code, r.stderr)
	}
}

// TestVersion: version and --version name the version, and JSON has the
// Go version.
func TestVersion(t *testing.T) {
	if r := run(t, "", "--version"); r.code != 0 || !strings.HasPrefix(r.stdout, "gatehouse "+Version) || !strings.Contains(r.stdout, runtime.Version()) {
		t.Errorf("--version: %d %q", r.code, r.stdout)
	}
	r := run(t, "", "version", "-o", "json")
	var b buildInfo
	if err := json.Unmarshal([]byte(r.stdout), &b); err != nil || b.GoVersion != runtime.Version() || b.Version != Version || b.Platform == "" {
		t.Errorf("version -o json: %v %q", err, r.stdout)
	}
}

// demoAsAlice starts the demo server and points the CLI at it as alice,
// with no stored contexts.
func demoAsAlice(t *testing.T) *clienttest.Server {
	t.Helper()
	srv := clienttest.Start(t, clienttest.Options{Demo: true})
	t.Setenv("GATEHOUSE_SERVER", srv.URL)
	t.Setenv("GATEHOUSE_ORG", "")
	t.Setenv("GATEHOUSE_CLI_CONFIG", filepath.Join(t.TempDir(), "none.json"))
	t.Setenv("GATEHOUSE_TOKEN", srv.Demo.Keys["alice"])
	return srv
}

// TestAuditOverAPI: tail, query and export read the log through the API
// as the caller; a member without audit:read is refused.
func TestAuditOverAPI(t *testing.T) {
	demoAsAlice(t)
	for i := range 3 {
		if r := run(t, "", "ns", "create", "n"+string(rune('a'+i))); r.code != 0 {
			t.Fatal(r.stderr)
		}
	}
	r := run(t, "", "audit", "tail", "--limit", "2", "--action", "namespace.*")
	if r.code != 0 || strings.Count(r.stdout, "\n") != 2 || !strings.Contains(r.stdout, "nc") || strings.Contains(r.stdout, "na ") {
		t.Errorf("tail --limit 2: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = run(t, "", "audit", "query", "--action", "namespace.*", "-o", "yaml")
	if r.code != 0 || !strings.Contains(r.stdout, "items:") || strings.Count(r.stdout, "action: namespace.create") < 3 || !strings.Contains(r.stdout, "target: namespace/nc") {
		t.Errorf("query -o yaml: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	out, state := filepath.Join(t.TempDir(), "a.jsonl"), filepath.Join(t.TempDir(), "state")
	cps := filepath.Join(t.TempDir(), "checkpoints.jsonl")
	for range 2 { // the second run resumes from the state file: nothing twice
		if r := run(t, "", "audit", "export", "--to", out, "--state", state, "--checkpoints", cps); r.code != 0 {
			t.Fatalf("export: %d %s", r.code, r.stderr)
		}
	}
	// The checkpoints written over the API are what audit verify reads.
	f, err := os.Open(cps)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := audit.ReadCheckpoints(f); err != nil {
		t.Errorf("checkpoints exported over the API: %v", err)
	}
	f.Close()
	b, _ := os.ReadFile(out)
	seen := map[uint64]bool{}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var e struct{ Seq uint64 }
		if err := json.Unmarshal([]byte(line), &e); err != nil || seen[e.Seq] {
			t.Fatalf("export line %q: %v (or exported twice)", line, err)
		}
		seen[e.Seq] = true
	}
	if len(seen) < 3 {
		t.Errorf("exported %d entries", len(seen))
	}
	// A service without a role may not read the log.
	if r := run(t, "", "service", "create", "ci"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	r = run(t, "", "key", "create", "--principal", "service:ci", "-o", "json")
	var kc struct{ Token string }
	if err := json.Unmarshal([]byte(r.stdout), &kc); err != nil || kc.Token == "" {
		t.Fatalf("key create: %v %s", err, r.stdout)
	}
	t.Setenv("GATEHOUSE_TOKEN", kc.Token)
	if r := run(t, "", "audit", "tail"); r.code != ExitNotAllowed || !strings.Contains(r.stderr, "audit:read") {
		t.Errorf("tail without audit:read: %d %s", r.code, r.stderr)
	}
}

// TestDynamicCompletion: arguments and flag values complete from the
// server, as the caller sees it.
func TestDynamicCompletion(t *testing.T) {
	demoAsAlice(t)
	tests := []struct {
		args []string
		want []string
	}{
		{[]string{"ns", "get", ""}, []string{"default", "dev", "prod"}},
		{[]string{"check", "user:"}, []string{"user:alice", "user:bob", "user:carol"}},
		{[]string{"check", "agent:"}, []string{"agent:Triage"}},
		{[]string{"bind", "user:bob", "op"}, []string{"operator"}},
		{[]string{"resource", "get", "-n", "prod", "chains/"}, []string{"chains/escalation-triage", "chains/ticket-summarizer"}},
		{[]string{"who-can", "chains:run", "--namespace", "p"}, []string{"prod"}},
		{[]string{"org", "get", "--org", ""}, []string{"demo"}},
		{[]string{"member", "add", "x", "--role", "vie"}, []string{"viewer"}},
		{[]string{"team", "get", ""}, []string{"support"}},
		{[]string{"org", "create", "x", "--template", "let"}, []string{"letta"}},
		{[]string{"whoami", "-o", ""}, []string{"table", "json", "yaml"}},
		{[]string{"secret", "get", "-n", "prod", "OPEN"}, []string{"OPENAI_API_KEY"}},
	}
	if r := run(t, "sk-test", "secret", "set", "OPENAI_API_KEY", "-n", "prod"); r.code != 0 {
		t.Fatalf("secret set: %d %s", r.code, r.stderr)
	}
	for _, tt := range tests {
		r := run(t, "", append([]string{"__complete"}, tt.args...)...)
		got := map[string]bool{}
		for _, l := range strings.Split(r.stdout, "\n") {
			if l != "" && !strings.HasPrefix(l, ":") {
				got[strings.SplitN(l, "\t", 2)[0]] = true
			}
		}
		for _, w := range tt.want {
			if !got[w] {
				t.Errorf("__complete %v: %q lacks %q", tt.args, r.stdout, w)
			}
		}
	}
	// Carol sees only what she may: no secrets in prod to complete.
	t.Setenv("GATEHOUSE_TOKEN", "gth_bogus_0123456789abcdef0123456789abcdef")
	if r := run(t, "", "__complete", "ns", "get", ""); r.code != 0 || strings.Contains(r.stdout, "prod") {
		t.Errorf("completion with a bad credential: %d %q", r.code, r.stdout)
	}
}

// TestServeSettings: serve takes its flags from a YAML file and GATEHOUSE_*
// variables; the command line wins over the variable, which wins over the
// file; a misspelt setting is refused.
func TestServeSettings(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	t.Setenv(vault.EnvMasterKeyFile, "")
	t.Setenv(vault.EnvMasterKey, "")
	conf := writeFile(t, "gatehouse.yaml", "data: "+data+"\ndev: true\nlog_format: xml\ntrusted-proxy: [10.0.0.0/8, 192.168.1.1]\n")
	// The file's log format is bad: refused, naming the flag.
	if r := serveRefused(t, "--config", conf); r.code != ExitBadInput || !strings.Contains(r.stderr, "--log-format") {
		t.Errorf("a bad setting in the file: %d %s", r.code, r.stderr)
	}
	// The variable wins over the file.
	t.Setenv("GATEHOUSE_LOG_FORMAT", "json")
	base, out, stop := startServe(t, "--config", conf)
	if !strings.Contains(out.String(), base) || getJSON(t, base+"/healthz", "", nil) != 200 {
		t.Errorf("serve from the config: %s", out)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(data, "demo-keys.env")); err != nil {
		t.Errorf("dev: true and data from the file were not applied: %v", err)
	}
	// The command line wins over the variable.
	if r := serveRefused(t, "--config", conf, "--log-format", "yaml"); r.code != ExitBadInput || !strings.Contains(r.stderr, `"yaml"`) {
		t.Errorf("--log-format on the command line: %d %s", r.code, r.stderr)
	}
	t.Setenv("GATEHOUSE_LOG_FORMAT", "")
	t.Setenv("GATEHOUSE_CONFIG", writeFile(t, "bad.yaml", "adress: 127.0.0.1:9\n"))
	if r := serveRefused(t); r.code != ExitBadInput || !strings.Contains(r.stderr, "adress") {
		t.Errorf("a misspelt setting: %d %s", r.code, r.stderr)
	}
	t.Setenv("GATEHOUSE_CONFIG", "")
	t.Setenv("GATEHOUSE_TRUSTED_PROXY", "not-an-ip")
	if r := serveRefused(t, "--data", data, "--dev"); r.code != ExitBadInput || !strings.Contains(r.stderr, "not-an-ip") {
		t.Errorf("a bad GATEHOUSE_TRUSTED_PROXY: %d %s", r.code, r.stderr)
	}
}

// TestInitIsOneCommand: init on an empty store (PostgreSQL when
// GATEHOUSE_TEST_POSTGRES is set, else SQLite) creates the three key
// files, mode 0600, and serve started with exactly what init printed
// accepts init's key.
func TestInitIsOneCommand(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	args := []string{"init", "--data", data, "--org", "acme", "-o", "json"}
	var serveArgs []string
	t.Setenv(vault.EnvMasterKeyFile, "")
	t.Setenv(vault.EnvMasterKey, "")
	t.Setenv("GATEHOUSE_SESSION_KEYS", "")
	t.Setenv("GATEHOUSE_AUDIT_KEY", "")
	t.Setenv("GATEHOUSE_DATABASE_URL", "")
	if pgtest.Available(t) {
		dsn := pgtest.FreshSchema(t, "cliinit")
		args = append(args, "--database", dsn)
		serveArgs = append(serveArgs, "--database", dsn)
	}
	r := run(t, "", args...)
	var res initResult
	if err := json.Unmarshal([]byte(r.stdout), &res); r.code != 0 || err != nil {
		t.Fatalf("init: %d %v %s %s", r.code, err, r.stdout, r.stderr)
	}
	want := map[string]string{
		"master_keyring": filepath.Join(data, "master-keyring"),
		"session_keys":   filepath.Join(data, "session-keys.json"),
		"audit_key":      filepath.Join(data, "audit-key.pem"),
	}
	if diff := cmp.Diff(want, res.Files); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}
	for _, p := range want {
		if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v, want mode 0600", p, err)
		}
	}
	for k, v := range res.Env {
		t.Setenv(k, v)
	}
	base, _, _ := startServe(t, append([]string{"--data", data}, serveArgs...)...)
	if code := getJSON(t, base+"/v1/orgs/acme", res.Token, nil); code != 200 {
		t.Errorf("init's key against serve: %d", code)
	}
	if r := run(t, "", append(args, "--if-empty")...); r.code != 0 || r.stdout != "" {
		t.Errorf("init --if-empty on an initialised store: %d %q %q", r.code, r.stdout, r.stderr)
	}
	if r := run(t, "", "health", "--server", base, "-o", "json"); r.code != 0 || !strings.Contains(r.stdout, `"status": "ok"`) {
		t.Errorf("health: %d %s %s", r.code, r.stdout, r.stderr)
	}
	// The text form says where the files are and how to start.
	t.Setenv(vault.EnvMasterKeyFile, "")
	if r := run(t, "", "init", "--data", filepath.Join(t.TempDir(), "d2")); r.code != 0 ||
		!strings.Contains(r.stdout, "master-keyring") || !strings.Contains(r.stdout, "GATEHOUSE_MASTER_KEY_FILE=") || !strings.Contains(r.stdout, "gatehouse serve --data ") {
		t.Errorf("init's text: %d %s", r.code, r.stdout)
	}
}

// TestDeployConfigIsValid: the sample settings file deploy/gatehouse.yaml
// is accepted by serve (every key is a serve flag with a valid value).
func TestDeployConfigIsValid(t *testing.T) {
	cmd := newServeCmd(&env{})
	if err := cmd.Flags().Parse([]string{"--config", "../../deploy/gatehouse.yaml"}); err != nil {
		t.Fatal(err)
	}
	if err := applySettings(cmd.Flags(), "../../deploy/gatehouse.yaml"); err != nil {
		t.Fatalf("deploy/gatehouse.yaml: %v", err)
	}
	for flag, want := range map[string]string{"addr": "127.0.0.1:8080", "log-format": "json", "shutdown-timeout": "20s"} {
		if got := cmd.Flag(flag).Value.String(); got != want {
			t.Errorf("--%s = %q, want %q", flag, got, want)
		}
	}
}
