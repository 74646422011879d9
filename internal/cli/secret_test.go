package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/internal/auth"
	"github.com/gatehouse-dev/gatehouse/internal/directory"
	"github.com/gatehouse-dev/gatehouse/internal/server"
	"github.com/gatehouse-dev/gatehouse/internal/store"
	"github.com/gatehouse-dev/gatehouse/internal/store/sqlite"
	"github.com/gatehouse-dev/gatehouse/internal/vault"
)

// vaultServer is a real server (with a vault) over a SQLite file in data,
// with org "acme" from the mentiko template: admin, builder, operator
// (users, with API keys) and service:runner (operator; with an API key).
type vaultServer struct {
	url, data                        string
	admin, builder, operator, runner string
	st                               store.Store
	dir                              *directory.Directory
	keyFile                          string
}

const cliCanary = "sk-CLI-CANARY-4e1f0b"

func startVaultServer(t *testing.T) *vaultServer {
	t.Helper()
	ctx := context.Background()
	vs := &vaultServer{data: t.TempDir()}
	key, err := vault.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	vs.keyFile = filepath.Join(vs.data, "keys")
	if err := os.WriteFile(vs.keyFile, []byte(vault.FormatKeyring(map[uint32][]byte{1: key})), 0o600); err != nil {
		t.Fatal(err)
	}
	kr, err := vault.LoadKeyring(vault.KeyringOptions{Getenv: func(k string) string {
		if k == vault.EnvMasterKeyFile {
			return vs.keyFile
		}
		return ""
	}})
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(ctx, filepath.Join(vs.data, "gatehouse.db"), sqlite.Options{PollInterval: 20 * time.Millisecond, Synchronous: "NORMAL"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	dir, err := directory.Open(ctx, st, authz.New(), directory.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = dir.Close() })
	as := auth.New(st, dir, auth.NewKeySet(), auth.Options{})
	t.Cleanup(func() { _ = as.Close() })
	v, err := vault.Open(ctx, vault.Options{Store: st, Directory: dir, Keyring: kr})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(server.Config{Directory: dir, Store: st, Auth: as, Vault: v})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	vs.url, vs.st, vs.dir = hs.URL, st, dir
	user := func(id string) string {
		_, tok, err := as.Bootstrap(ctx, store.User{ID: id}, "test")
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	vs.admin, vs.builder, vs.operator = user("admin"), user("builder"), user("operator")
	vs.call(t, 201, "POST", "/v1/orgs", vs.admin, map[string]any{"id": "acme", "template": "mentiko"}, nil)
	for u, role := range map[string]string{"builder": "builder", "operator": "operator"} {
		vs.call(t, 201, "POST", "/v1/orgs/acme/members", vs.admin, map[string]any{"user_id": u, "role": role}, nil)
	}
	vs.call(t, 201, "POST", "/v1/orgs/acme/namespaces", vs.admin, map[string]any{"name": "prod"}, nil)
	vs.call(t, 201, "POST", "/v1/orgs/acme/services", vs.admin, map[string]any{"name": "runner", "role": "operator"}, nil)
	var kc struct {
		Token string `json:"token"`
	}
	vs.call(t, 201, "POST", "/v1/orgs/acme/apikeys", vs.admin, map[string]any{"principal": "service:runner"}, &kc)
	vs.runner = kc.Token
	return vs
}

func (vs *vaultServer) call(t *testing.T, want int, method, path, token string, body, out any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, vs.url+path, rd)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != want {
		t.Fatalf("%s %s: %d, want %d: %s", method, path, res.StatusCode, want, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatal(err)
		}
	}
}

// as sets the environment of the CLI to act as token against the server.
func (vs *vaultServer) as(t *testing.T, token string) {
	t.Setenv("GATEHOUSE_SERVER", vs.url)
	t.Setenv("GATEHOUSE_ORG", "acme")
	t.Setenv("GATEHOUSE_TOKEN", token)
	t.Setenv("GATEHOUSE_RUNTIME_TOKEN", "")
}

func TestSecretCommands(t *testing.T) {
	vs := startVaultServer(t)
	vs.as(t, vs.admin)

	r := run(t, cliCanary+"\n", "secret", "set", "OPENAI_API_KEY", "-n", "prod", "--description", "model provider")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "set prod/OPENAI_API_KEY: version 1 (revision ") {
		t.Fatalf("set: %d %q %q", r.code, r.stdout, r.stderr)
	}
	r = run(t, "", "secret", "get", "OPENAI_API_KEY", "-n", "prod")
	if r.code != 0 || r.stdout != cliCanary {
		t.Errorf("get prints exactly the value (trailing newline dropped at set): %d %q %q", r.code, r.stdout, r.stderr)
	}
	// set again adds a version; --keep-newline keeps it; --from-file is exact.
	if r = run(t, "v2\n", "secret", "set", "OPENAI_API_KEY", "-n", "prod", "--keep-newline"); !strings.HasPrefix(r.stdout, "set prod/OPENAI_API_KEY: version 2 (revision ") {
		t.Errorf("second set: %d %q %q", r.code, r.stdout, r.stderr)
	}
	if r = run(t, "", "secret", "get", "OPENAI_API_KEY", "-n", "prod"); r.stdout != "v2\n" {
		t.Errorf("--keep-newline: %q", r.stdout)
	}
	f := writeFile(t, "value", "line1\nline2\n")
	if r = run(t, "", "secret", "rotate", "OPENAI_API_KEY", "-n", "prod", "--from-file", f); r.code != 0 || !strings.HasPrefix(r.stdout, "rotated prod/OPENAI_API_KEY: version 3 (revision ") {
		t.Errorf("rotate --from-file: %d %q %q", r.code, r.stdout, r.stderr)
	}
	if r = run(t, "", "secret", "get", "OPENAI_API_KEY", "-n", "prod"); r.stdout != "line1\nline2\n" {
		t.Errorf("value from file: %q", r.stdout)
	}
	if r = run(t, "", "secret", "get", "OPENAI_API_KEY", "-n", "prod", "--version", "1", "-o", "json"); !strings.Contains(r.stdout, `"value": "`+cliCanary+`"`) {
		t.Errorf("get --version 1 -o json: %q", r.stdout)
	}
	r = run(t, "", "secret", "list", "-n", "prod")
	if r.code != 0 || !strings.Contains(r.stdout, "OPENAI_API_KEY") || !strings.Contains(r.stdout, "model provider") || strings.Contains(r.stdout, cliCanary) {
		t.Errorf("list: %d %q %q", r.code, r.stdout, r.stderr)
	}
	r = run(t, "", "secret", "history", "OPENAI_API_KEY", "-n", "prod", "-o", "json")
	var hist struct{ Items []map[string]any }
	if err := json.Unmarshal([]byte(r.stdout), &hist); err != nil || len(hist.Items) != 3 {
		t.Errorf("history: %q %v", r.stdout, err)
	}
	if r = run(t, "x", "secret", "set", "OPENAI_API_KEY", "-n", "prod", "--create-only"); r.code != ExitConflict {
		t.Errorf("--create-only on an existing secret: %d %q", r.code, r.stderr)
	}

	// The builder lists names but cannot read; the operator sees nothing.
	vs.as(t, vs.builder)
	if r = run(t, "", "secret", "list", "-n", "prod", "-o", "json"); r.code != 0 || !strings.Contains(r.stdout, "OPENAI_API_KEY") {
		t.Errorf("builder list: %d %q %q", r.code, r.stdout, r.stderr)
	}
	if r = run(t, "", "secret", "get", "OPENAI_API_KEY", "-n", "prod"); r.code != ExitNotAllowed || r.stdout != "" || !strings.Contains(r.stderr, "secrets:read") {
		t.Errorf("builder get: %d %q %q", r.code, r.stdout, r.stderr)
	}
	vs.as(t, vs.operator)
	if r = run(t, "", "secret", "get", "OPENAI_API_KEY", "-n", "prod"); r.code != ExitNotAllowed || !strings.Contains(r.stderr, "404") {
		t.Errorf("operator get: %d %q %q", r.code, r.stdout, r.stderr)
	}
	if r = run(t, "", "secret", "list", "-n", "prod"); r.code != ExitNotAllowed || !strings.Contains(r.stderr, "403") {
		t.Errorf("operator list: %d %q %q", r.code, r.stdout, r.stderr)
	}

	// Bad input.
	vs.as(t, vs.admin)
	for _, tc := range []struct {
		stdin string
		args  []string
	}{
		{"v", []string{"secret", "set", "lower-case"}},
		{"a\x00b", []string{"secret", "set", "NUL"}},
		{"v", []string{"secret", "set", "X", "--expires", "tomorrow"}},
		{"", []string{"secret", "get", "X", "-o", "xml"}},
		{"", []string{"secret", "frobnicate"}},
		{"", []string{"secret", "set"}},
	} {
		if r := run(t, tc.stdin, tc.args...); r.code != ExitBadInput {
			t.Errorf("%v: exit %d, want %d; %q", tc.args, r.code, ExitBadInput, r.stderr)
		}
	}
	t.Setenv("GATEHOUSE_TOKEN", "")
	if r := run(t, "v", "secret", "list"); r.code != ExitUnauthenticated || !strings.Contains(r.stderr, "GATEHOUSE_TOKEN") {
		t.Errorf("no credential: %d %q", r.code, r.stderr)
	}
	vs.as(t, vs.admin)
	if r = run(t, "", "secret", "delete", "OPENAI_API_KEY", "-n", "prod"); r.code != 0 {
		t.Errorf("delete: %d %q", r.code, r.stderr)
	}
	if r = run(t, "", "secret", "get", "OPENAI_API_KEY", "-n", "prod"); r.code != ExitNotAllowed {
		t.Errorf("get after delete: %d", r.code)
	}
}

// chainWithSecrets has the builder write chains/triage in prod referencing
// OPENAI_API_KEY, set by the admin.
func (vs *vaultServer) chainWithSecrets(t *testing.T) {
	t.Helper()
	vs.as(t, vs.admin)
	if r := run(t, cliCanary, "secret", "set", "OPENAI_API_KEY", "-n", "prod"); r.code != 0 {
		t.Fatalf("set: %q", r.stderr)
	}
	vs.call(t, 201, "POST", "/v1/orgs/acme/resources", vs.builder, map[string]any{"namespace": "prod", "type": "chains", "id": "triage",
		"spec": map[string]any{"secrets": []string{"OPENAI_API_KEY"}}}, nil)
}

// An operator runs the chain with `gatehouse run`: the child sees the
// value, gatehouse prints it nowhere, and the operator's own `secret get`
// is refused.
func TestRunInjectsSecrets(t *testing.T) {
	vs := startVaultServer(t)
	vs.chainWithSecrets(t)
	vs.as(t, vs.operator)
	t.Setenv("GATEHOUSE_RUNTIME_TOKEN", vs.runner)
	out := filepath.Join(t.TempDir(), "seen")
	r := run(t, "", "run", "--resource", "chains/triage", "-n", "prod", "--", "sh", "-c", `printf %s "$OPENAI_API_KEY" > "$0"`, out)
	if r.code != 0 {
		t.Fatalf("run: %d %q %q", r.code, r.stdout, r.stderr)
	}
	seen, _ := os.ReadFile(out)
	if string(seen) != cliCanary {
		t.Errorf("the child saw %q", seen)
	}
	if strings.Contains(r.stdout+r.stderr, cliCanary) {
		t.Errorf("gatehouse printed the value: %q %q", r.stdout, r.stderr)
	}
	if r := run(t, "", "secret", "get", "OPENAI_API_KEY", "-n", "prod"); r.code != ExitNotAllowed {
		t.Errorf("the operator's own get: %d", r.code)
	}
	// The exit status passes through.
	if r := run(t, "", "run", "-q", "--resource", "chains/triage", "-n", "prod", "--", "sh", "-c", "exit 7"); r.code != 7 || r.stderr != "" {
		t.Errorf("exit status: %d %q", r.code, r.stderr)
	}
	// The operator alone (no runtime credential, or a person's key as the
	// runtime's) cannot exchange: refused before the run starts, so the
	// command does not run and no failed run is recorded.
	var before struct{ Items []json.RawMessage }
	vs.call(t, 200, "GET", "/v1/orgs/acme/runs?resource=chains/triage&namespace=prod", vs.admin, nil, &before)
	marker := filepath.Join(t.TempDir(), "ran")
	for _, runtime := range []string{"", vs.operator} {
		t.Setenv("GATEHOUSE_RUNTIME_TOKEN", runtime)
		r = run(t, "", "run", "--resource", "chains/triage", "-n", "prod", "--", "touch", marker)
		if r.code != ExitBadInput || !strings.Contains(r.stderr, "user:operator is not one") || !strings.Contains(r.stderr, "GATEHOUSE_RUNTIME_TOKEN") {
			t.Errorf("run with runtime %q: %d %q", runtime, r.code, r.stderr)
		}
	}
	if _, err := os.Stat(marker); err == nil {
		t.Error("the command ran without a runtime service")
	}
	var after struct{ Items []json.RawMessage }
	vs.call(t, 200, "GET", "/v1/orgs/acme/runs?resource=chains/triage&namespace=prod", vs.admin, nil, &after)
	if len(after.Items) != len(before.Items) {
		t.Errorf("a refused run was recorded: %d runs before, %d after", len(before.Items), len(after.Items))
	}
	// Usage errors.
	t.Setenv("GATEHOUSE_RUNTIME_TOKEN", vs.runner)
	for _, args := range [][]string{
		{"run", "--resource", "chains/triage", "-n", "prod"},
		{"run", "--resource", "triage", "--", "true"},
		{"run", "--", "true"},
		{"run", "--resource", "chains/triage", "-n", "prod", "--", "/no/such/command"},
	} {
		if r := run(t, "", args...); r.code != ExitBadInput {
			t.Errorf("%v: %d %q", args, r.code, r.stderr)
		}
	}
}

// buildGatehouse compiles the binary once per test that needs a real
// process (signals).
func buildGatehouse(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "gatehouse")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/gatehouse-dev/gatehouse/cmd/gatehouse")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// Signals sent to gatehouse reach the child, and the child's exit status
// is gatehouse's.
func TestRunForwardsSignals(t *testing.T) {
	vs := startVaultServer(t)
	vs.chainWithSecrets(t)
	bin := buildGatehouse(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second) // hang guard
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "run", "-q", "--resource", "chains/triage", "-n", "prod", "--",
		"sh", "-c", `trap 'echo "got TERM with ${#OPENAI_API_KEY} bytes"; exit 42' TERM; echo ready; while :; do sleep 0.05; done`)
	cmd.Env = append(os.Environ(), "GATEHOUSE_SERVER="+vs.url, "GATEHOUSE_ORG=acme", "GATEHOUSE_TOKEN="+vs.operator, "GATEHOUSE_RUNTIME_TOKEN="+vs.runner)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stdout)
	if !sc.Scan() || sc.Text() != "ready" {
		t.Fatalf("the child did not start: %q %q", sc.Text(), stderr.String())
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	var rest strings.Builder
	for sc.Scan() {
		rest.WriteString(sc.Text() + "\n")
	}
	err = cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 42 {
		t.Errorf("gatehouse exited with %v, want the child's 42; stderr %q", err, stderr.String())
	}
	if want := "got TERM with " + strconv.Itoa(len(cliCanary)) + " bytes\n"; rest.String() != want {
		t.Errorf("child output after the signal = %q, want %q", rest.String(), want)
	}
}

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// Starting with the wrong master key fails fast with a clear message and
// changes nothing; the vault maintenance commands rotate and retire keys.
func TestMasterKeyCommands(t *testing.T) {
	vs := startVaultServer(t)
	vs.as(t, vs.admin)
	for _, n := range []string{"A", "B", "C"} {
		if r := run(t, cliCanary+n, "secret", "set", n, "-n", "prod"); r.code != 0 {
			t.Fatalf("set %s: %q", n, r.stderr)
		}
	}
	t.Setenv(vault.EnvMasterKeyFile, vs.keyFile)
	t.Setenv(vault.EnvMasterKey, "")
	r := run(t, "", "vault", "status", "--data", vs.data, "-o", "json")
	var page struct{ Items []vault.KeyStatus }
	err := json.Unmarshal([]byte(r.stdout), &page)
	ks := page.Items
	if r.code != 0 || err != nil || len(ks) != 1 || !ks[0].Active || ks[0].Versions != 3 {
		t.Fatalf("status: %d %q %q", r.code, r.stdout, r.stderr)
	}

	// The wrong key: status and serve refuse, nothing changes.
	wrong, _ := vault.GenerateKey()
	before := vs.dump(t)
	t.Setenv(vault.EnvMasterKeyFile, "")
	t.Setenv(vault.EnvMasterKey, base64.StdEncoding.EncodeToString(wrong))
	if r := run(t, "", "vault", "status", "--data", vs.data); r.code != ExitInternal || !strings.Contains(r.stderr, "wrong master key") {
		t.Errorf("status with the wrong key: %d %q", r.code, r.stderr)
	}
	r = run(t, "", "serve", "--data", vs.data, "--addr", "127.0.0.1:0", "--no-demo")
	if r.code != ExitInternal || !strings.Contains(r.stderr, "wrong master key") || !strings.Contains(r.stderr, "refusing to start") {
		t.Errorf("serve with the wrong key: %d %q %q", r.code, r.stdout, r.stderr)
	}
	if after := vs.dump(t); after != before {
		t.Error("refused starts changed the vault's tables")
	}

	// Rotate: a new key in the file, re-wrap, retire the old one.
	t.Setenv(vault.EnvMasterKey, "")
	t.Setenv(vault.EnvMasterKeyFile, vs.keyFile)
	r = run(t, "", "vault", "rotate-master", "--generate", "--data", vs.data)
	if r.code != 0 || !strings.Contains(r.stdout, "added master key 2") || !strings.Contains(r.stdout, "re-wrapped 3 data keys under master key 2") ||
		!strings.Contains(r.stdout, "retire-key 1") {
		t.Fatalf("rotate-master: %d %q %q", r.code, r.stdout, r.stderr)
	}
	if r := run(t, "", "vault", "retire-key", "2", "--data", vs.data); r.code != ExitConflict {
		t.Errorf("retiring the active key: %d %q", r.code, r.stderr)
	}
	if r := run(t, "", "vault", "retire-key", "1", "--data", vs.data); r.code != 0 {
		t.Errorf("retire-key 1: %d %q", r.code, r.stderr)
	}
	// Drop key 1 from the file: every secret still opens with key 2 alone.
	b, _ := os.ReadFile(vs.keyFile)
	keys, err := vault.ParseKeyring(string(b))
	if err != nil || len(keys) != 2 {
		t.Fatalf("key file: %v", err)
	}
	delete(keys, 1)
	if err := os.WriteFile(vs.keyFile, []byte(vault.FormatKeyring(keys)), 0o600); err != nil {
		t.Fatal(err)
	}
	kr, err := vault.NewKeyring(keys)
	if err != nil {
		t.Fatal(err)
	}
	v, err := vault.Open(context.Background(), vault.Options{Store: vs.st, Directory: vs.dir, Keyring: kr})
	if err != nil {
		t.Fatalf("open with key 2 alone: %v", err)
	}
	for _, n := range []string{"A", "B", "C"} {
		got, err := v.Reveal(context.Background(), directory.Actor{Principal: "user:admin"}, "acme", "prod", n, 0)
		if err != nil || string(got.Value) != cliCanary+n {
			t.Errorf("%s after rotation: %v", n, err)
		}
	}
	r = run(t, "", "vault", "status", "--data", vs.data, "-o", "json")
	page.Items = nil
	err = json.Unmarshal([]byte(r.stdout), &page)
	ks = page.Items
	if err != nil || len(ks) != 2 || !ks[0].Retired || ks[1].Versions != 3 {
		t.Errorf("status after rotation: %q %q", r.stdout, r.stderr)
	}
}

// dump is the vault's tables as the store sees them (no values in them).
func (vs *vaultServer) dump(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	keys, err := vs.st.ListVaultKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ss, _, err := vs.st.ListSecrets(ctx, "acme", store.SecretFilter{}, store.Page{})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal([]any{keys, ss})
	return string(b)
}

// --dev generates a master key beside the database with a loud warning.
func TestServeDevGeneratesAMasterKey(t *testing.T) {
	data := t.TempDir()
	t.Setenv(vault.EnvMasterKeyFile, "")
	t.Setenv(vault.EnvMasterKey, "")
	// `vault status` never generates a key: it needs the real one.
	if r := run(t, "", "vault", "status", "--data", data); r.code != ExitBadInput || !strings.Contains(r.stderr, vault.EnvMasterKeyFile) {
		t.Errorf("status without a key: %d %q", r.code, r.stderr)
	}
	var stderr bytes.Buffer
	st, err := sqlite.Open(context.Background(), filepath.Join(data, "gatehouse.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	dir, err := directory.Open(context.Background(), st, authz.New(), directory.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer dir.Close()
	keys, err := loadServeKeyring(true, data, &stderr)
	if err != nil {
		t.Fatalf("loadServeKeyring --dev: %v", err)
	}
	v, err := openServeVault(context.Background(), st, dir, nil, keys, discardLogger())
	if err != nil || v == nil {
		t.Fatalf("openServeVault --dev: %v", err)
	}
	if !strings.Contains(stderr.String(), "WARNING") || !strings.Contains(stderr.String(), filepath.Join(data, vault.DevKeyFile)) {
		t.Errorf("no loud warning: %q", stderr.String())
	}
	if _, err := os.Stat(filepath.Join(data, vault.DevKeyFile)); err != nil {
		t.Errorf("no dev key file: %v", err)
	}
	// Without --dev and without a key, serve refuses (the dev key beside
	// the database is not used), saying how to make one.
	if _, err := loadServeKeyring(false, data, &stderr); err == nil || !strings.Contains(err.Error(), "head -c 32 /dev/urandom") {
		t.Errorf("no key without --dev: %v", err)
	}
}
