package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/vault"
)

// syncBuffer is a goroutine-safe output buffer.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

var servingRE = regexp.MustCompile(`serving the API on (http://[0-9.:]+)`)

// startServe runs `gatehouse serve args...` until the returned stop is
// called; it returns the base URL and the output so far.
func startServe(t *testing.T, args ...string) (base string, out *syncBuffer, stop func() error) {
	t.Helper()
	out = &syncBuffer{}
	errb := &syncBuffer{}
	root := newRoot(strings.NewReader(""), out, errb)
	root.SetArgs(append([]string{"serve", "--addr", "127.0.0.1:0", "--log-level", "warn"}, args...))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- root.ExecuteContext(ctx) }()
	deadline := time.Now().Add(60 * time.Second)
	for {
		if m := servingRE.FindStringSubmatch(out.String()); m != nil {
			base = m[1]
			break
		}
		select {
		case err := <-done:
			cancel()
			t.Fatalf("serve exited early: %v\nstdout: %s\nstderr: %s", err, out, errb)
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("serve did not start: %s %s", out, errb)
		}
	}
	var once sync.Once
	var serr error
	stop = func() error {
		once.Do(func() {
			cancel()
			serr = <-done
		})
		return serr
	}
	t.Cleanup(func() { _ = stop() })
	return base, out, stop
}

func getJSON(t *testing.T, url, token string, v any) int {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if v != nil {
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatalf("%s: %v: %s", url, err, b)
		}
	}
	return res.StatusCode
}

var tokenRE = regexp.MustCompile(`export GATEHOUSE_TOKEN=(gth_[a-z0-9_]+)`)

// TestServeDev: the quickstart. `serve --dev` on a fresh directory creates
// the demo org, prints the owner's key (once) and curl commands, writes
// every demo key to a 0600 file, serves, and stops cleanly; a restart
// keeps the data and prints no key.
func TestServeDev(t *testing.T) {
	data := filepath.Join(t.TempDir(), "gatehouse-data")
	base, out, stop := startServe(t, "--dev", "--data", data)
	m := tokenRE.FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("no owner key printed:\n%s", out)
	}
	for _, want := range []string{"/v1/me", "/v1/orgs/demo/check", "/v1/orgs/demo/lookup/subjects"} {
		if !strings.Contains(out.String(), base+want) {
			t.Errorf("output lacks the example %s", want)
		}
	}
	var me struct {
		Principal string `json:"principal"`
		Orgs      []struct {
			ID string `json:"id"`
		} `json:"orgs"`
	}
	if code := getJSON(t, base+"/v1/me", m[1], &me); code != 200 || me.Principal != "user:alice" || len(me.Orgs) != 1 || me.Orgs[0].ID != "demo" {
		t.Errorf("/v1/me with the printed key: %d %+v", code, me)
	}
	if code := getJSON(t, base+"/readyz", "", nil); code != 200 {
		t.Errorf("readyz = %d", code)
	}
	keys := filepath.Join(data, "demo-keys.env")
	fi, err := os.Stat(keys)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("demo keys file: %v %v", fi, err)
	}
	f, _ := os.Open(keys)
	sc := bufio.NewScanner(f)
	var exports []string
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "export ") {
			exports = append(exports, strings.SplitN(strings.TrimPrefix(sc.Text(), "export "), "=", 2)[0])
		}
	}
	f.Close()
	if strings.Join(exports, " ") != "ALICE_KEY BOB_KEY CAROL_KEY" {
		t.Errorf("demo keys file exports %v", exports)
	}
	if err := stop(); err != nil {
		t.Fatalf("serve did not stop cleanly: %v", err)
	}
	if !strings.Contains(out.String(), "gatehouse: stopped") {
		t.Errorf("no stop message: %s", out)
	}
	// Restart on the same data: same data, no new demo, no key printed.
	base, out, _ = startServe(t, "--dev", "--data", data)
	if tokenRE.MatchString(out.String()) {
		t.Errorf("a restart printed a key:\n%s", out)
	}
	if code := getJSON(t, base+"/v1/me", m[1], &me); code != 200 {
		t.Errorf("the first start's key after a restart: %d", code)
	}
}

// TestInit: init creates the first user with a key (and an org), then
// refuses a store that has data.
func TestInit(t *testing.T) {
	data := filepath.Join(t.TempDir(), "d")
	r := run(t, "", "init", "--data", data, "--user", "root", "--org", "acme")
	if r.code != 0 || !tokenRE.MatchString(r.stdout) || !strings.Contains(r.stdout, `owner of org "acme"`) {
		t.Fatalf("init: %d %q %q", r.code, r.stdout, r.stderr)
	}
	if _, err := os.Stat(filepath.Join(data, "session-keys.json")); err != nil {
		t.Errorf("no session key file: %v", err)
	}
	if r := run(t, "", "init", "--data", data); r.code != ExitBadInput {
		t.Errorf("second init: %d %q", r.code, r.stderr)
	}
	if r := run(t, "", "init", "--data", filepath.Join(t.TempDir(), "e"), "--user", "not an id"); r.code != ExitBadInput {
		t.Errorf("bad user id: %d %q", r.code, r.stderr)
	}
	// serve on an initialised store creates no demo.
	key, err := vault.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv(vault.EnvMasterKeyFile, "")
	t.Setenv(vault.EnvMasterKey, base64.StdEncoding.EncodeToString(key))
	base, out, _ := startServe(t, "--data", data)
	if strings.Contains(out.String(), "demo") {
		t.Errorf("serve on an initialised store created the demo:\n%s", out)
	}
	apiKey := tokenRE.FindStringSubmatch(r.stdout)[1]
	if code := getJSON(t, base+"/v1/orgs/acme", apiKey, nil); code != 200 {
		t.Errorf("init's key: %d", code)
	}
}
