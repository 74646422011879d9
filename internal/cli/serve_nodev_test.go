package cli

import (
	"context"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/vault"
)

// TestServeWithoutDev: a plain `serve` is a production start. Without a
// master key it refuses, saying how to make one, and creates nothing (no
// dev key, no demo); with one it creates no demo org, prints no key and
// no --dev warning.
func TestServeWithoutDev(t *testing.T) {
	data := filepath.Join(t.TempDir(), "gatehouse-data")
	t.Setenv(vault.EnvMasterKeyFile, "")
	t.Setenv(vault.EnvMasterKey, "")
	r := serveRefused(t, "--data", data)
	if r.code != ExitBadInput {
		t.Errorf("serve without a master key: exit %d, want %d", r.code, ExitBadInput)
	}
	for _, want := range []string{vault.EnvMasterKeyFile, vault.EnvMasterKey, "head -c 32 /dev/urandom | base64", "--dev"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("the refusal does not say %q: %q", want, r.stderr)
		}
	}
	if strings.Contains(r.stderr, "WARNING") || strings.Contains(r.stdout, "demo") {
		t.Errorf("a refused start warned about --dev or made the demo:\n%s\n%s", r.stdout, r.stderr)
	}
	if _, err := os.Stat(filepath.Join(data, vault.DevKeyFile)); !os.IsNotExist(err) {
		t.Errorf("a refused start created a dev master key: %v", err)
	}

	key, err := vault.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv(vault.EnvMasterKey, base64.StdEncoding.EncodeToString(key))
	base, out, stop := startServe(t, "--data", data)
	if strings.Contains(out.String(), "demo") || tokenRE.MatchString(out.String()) {
		t.Errorf("a production start created the demo or printed a key:\n%s", out)
	}
	if code := getJSON(t, base+"/v1/orgs/demo", "", nil); code != 401 {
		t.Errorf("GET /v1/orgs/demo without a key = %d", code)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(data, vault.DevKeyFile)); !os.IsNotExist(err) {
		t.Errorf("a production start created a dev master key: %v", err)
	}
	// Its store is still fresh: `init` (which refuses a store with data)
	// accepts it.
	if r := run(t, "", "init", "--data", data); r.code != 0 {
		t.Errorf("init after a production start: %d %q (did serve seed the demo?)", r.code, r.stderr)
	}
}

// serveRefused runs `gatehouse serve args...` expecting it to refuse to
// start; a server that starts instead is stopped and fails the test.
func serveRefused(t *testing.T, args ...string) result {
	t.Helper()
	out, errb := &syncBuffer{}, &syncBuffer{}
	root := newRoot(strings.NewReader(""), out, errb)
	root.SetArgs(append([]string{"serve", "--addr", "127.0.0.1:0", "--log-level", "warn"}, args...))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- root.ExecuteContext(ctx) }()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			code := ExitOK
			var ee *exitError
			if errors.As(err, &ee) {
				code = ee.code
				if ee.err != nil {
					errb.Write([]byte("gatehouse: " + ee.err.Error() + "\n"))
				}
			}
			return result{code, out.String(), errb.String()}
		case <-tick.C:
			if servingRE.MatchString(out.String()) {
				cancel()
				<-done
				t.Fatalf("serve started instead of refusing:\n%s\n%s", out, errb)
			}
		}
	}
}
