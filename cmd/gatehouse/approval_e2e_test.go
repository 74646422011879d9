package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/api"
	"github.com/gatehouse-dev/gatehouse/internal/store/postgres/pgtest"
	"github.com/gatehouse-dev/gatehouse/templates"
)

// End-to-end proofs of approvals through the real binary (issue 15): the
// `gatehouse` command is built (or taken from $GATEHOUSE_BIN, as the SDK
// contract suites do), set up with `gatehouse init` and run as `gatehouse
// serve` processes; everything else goes over HTTP on loopback.

// e2eBinary is the gatehouse binary the test runs: $GATEHOUSE_BIN, else
// one built from this package into a temporary directory.
func e2eBinary(t *testing.T) string {
	t.Helper()
	if bin := os.Getenv("GATEHOUSE_BIN"); bin != "" {
		return bin
	}
	bin := filepath.Join(t.TempDir(), "gatehouse")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// childEnv is this process's environment without any GATEHOUSE_ variable
// (a developer's GATEHOUSE_DATABASE_URL or master key must not leak into
// the servers under test), plus extra.
func childEnv(extra map[string]string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GATEHOUSE_") {
			env = append(env, kv)
		}
	}
	for k, v := range extra {
		env = append(env, k+"="+v)
	}
	return env
}

// e2eDeployment is a store set up by `gatehouse init`: its data directory,
// its database (empty: SQLite in data), the owner's key and the
// environment serve needs.
type e2eDeployment struct {
	bin, data, database, owner string
	env                        map[string]string
}

func e2eInit(t *testing.T, bin, database string) *e2eDeployment {
	t.Helper()
	data := t.TempDir()
	args := []string{"init", "--data", data, "--user", "owner", "--org", "acme", "--template", "agent-platform", "-o", "json"}
	if database != "" {
		args = append(args, "--database", database)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = childEnv(nil)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("gatehouse init: %v\n%s", err, stderr.String())
	}
	var res struct {
		Token string            `json:"token"`
		Env   map[string]string `json:"env"`
	}
	if err := json.Unmarshal(out, &res); err != nil || res.Token == "" {
		t.Fatalf("gatehouse init -o json: %v %q", err, out)
	}
	return &e2eDeployment{bin: bin, data: data, database: database, owner: res.Token, env: res.Env}
}

// serve starts one `gatehouse serve` of the deployment on a free loopback
// port, waits until it is ready and stops it when the test ends. It
// returns its base URL. A port taken between choosing it and the server
// binding it is tried again, on another port, up to three times.
func (d *e2eDeployment) serve(t *testing.T) string {
	t.Helper()
	for attempt := 1; ; attempt++ {
		url, out, err := d.start(t)
		if err == nil {
			return url
		}
		if attempt == 3 || !strings.Contains(out, "address already in use") {
			t.Fatalf("%v:\n%s", err, out)
		}
	}
}

// start runs one server; err says why it is not ready (out: its output).
func (d *e2eDeployment) start(t *testing.T) (url, out string, err error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	args := []string{"serve", "--data", d.data, "--addr", addr, "--log-level", "warn"}
	if d.database != "" {
		args = append(args, "--database", d.database)
	}
	cmd := exec.Command(d.bin, args...)
	cmd.Env = childEnv(d.env)
	buf := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = buf, buf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("gatehouse serve on %s said:\n%s", addr, buf.String())
		}
	})
	url = "http://" + addr
	deadline := time.Now().Add(30 * time.Second)
	for {
		res, err := http.Get(url + "/readyz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return url, "", nil
			}
		}
		select {
		case err := <-exited:
			exited <- err
			return "", buf.String(), fmt.Errorf("gatehouse serve on %s exited before it was ready (%v)", addr, err)
		default:
		}
		if time.Now().After(deadline) {
			return "", buf.String(), fmt.Errorf("gatehouse serve on %s is not ready after 30s", addr)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

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

// e2eClient speaks JSON to the servers.
type e2eClient struct {
	t  *testing.T
	hc *http.Client
}

func newE2EClient(t *testing.T) *e2eClient {
	tr := &http.Transport{MaxIdleConns: 256, MaxIdleConnsPerHost: 128, IdleConnTimeout: 30 * time.Second}
	t.Cleanup(tr.CloseIdleConnections)
	return &e2eClient{t: t, hc: &http.Client{Transport: tr, Timeout: 60 * time.Second}}
}

// do sends body (JSON) and returns the status and the answer's body.
func (c *e2eClient) do(method, url, token string, body any) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(context.Background(), method, url, rd)
	if err != nil {
		return 0, nil, err
	}
	if token != "" { // "": no credential (accepting an invitation)
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := c.hc.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return res.StatusCode, b, err
}

// must sends the request, fails the test unless the status is want, and
// decodes the answer into out (when not nil).
func (c *e2eClient) must(want int, method, url, token string, body, out any) {
	c.t.Helper()
	status, b, err := c.do(method, url, token, body)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, url, err)
	}
	if status != want {
		c.t.Fatalf("%s %s: %d %s, want %d", method, url, status, b, want)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			c.t.Fatalf("%s %s: %v in %s", method, url, err, b)
		}
	}
}

// e2eAskPolicy is the agent-platform template where an operator running
// a chain in prod needs one person's approval.
func e2eAskPolicy(t *testing.T) string {
	t.Helper()
	src, err := templates.Source("agent-platform")
	if err != nil {
		t.Fatal(err)
	}
	const head = "role operator: viewer level 30 {\n"
	text := string(src)
	if !strings.Contains(text, head) {
		t.Fatalf("the agent-platform template has no %q", head)
	}
	text = strings.Replace(text, head, head+"    ask before run chains when in_prod\n", 1)
	return text + "\ncondition in_prod = \"resource.namespace == 'prod'\"\n"
}

// TestApprovalConsumedOnceE2E: 1,000 concurrent checks presenting one
// granted approval with the same arguments, through real `gatehouse
// serve` processes: exactly one is allowed, 999 answer
// approval_required, and the audit log holds exactly one
// approval.consume. On PostgreSQL the checks are split between two
// server processes sharing the database; on SQLite one process serves
// them all.
func TestApprovalConsumedOnceE2E(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the gatehouse binary")
	}
	bin := e2eBinary(t)
	t.Run("sqlite", func(t *testing.T) {
		d := e2eInit(t, bin, "")
		approvalOnceE2E(t, d, []string{d.serve(t)})
	})
	t.Run("postgres", func(t *testing.T) {
		dsn := pgtest.FreshSchema(t, "e2e_approval") // skips without PostgreSQL unless it is required
		d := e2eInit(t, bin, dsn)
		approvalOnceE2E(t, d, []string{d.serve(t), d.serve(t)})
	})
}

func approvalOnceE2E(t *testing.T, d *e2eDeployment, urls []string) {
	c := newE2EClient(t)
	org := "/v1/orgs/acme"
	a := urls[0]
	var rev uint64
	written := func(method, path string, status int, body any) {
		t.Helper()
		var w struct {
			Revision uint64 `json:"revision"`
		}
		c.must(status, method, a+org+path, d.owner, body, &w)
		rev = max(rev, w.Revision)
	}
	written("PUT", "/policy", 200, map[string]any{"text": e2eAskPolicy(t)})
	written("POST", "/namespaces", 201, map[string]any{"name": "prod"})
	written("POST", "/resources", 201, map[string]any{"namespace": "prod", "type": "chains", "id": "deploy", "spec": map[string]any{"v": 1}})
	written("POST", "/services", 201, map[string]any{"name": "runner", "role": "operator", "namespace": "prod"})
	var key struct {
		Revision uint64 `json:"revision"`
		Token    string `json:"token"`
	}
	c.must(201, "POST", a+org+"/apikeys", d.owner, map[string]any{"principal": "service:runner", "name": "runner"}, &key)
	rev = max(rev, key.Revision)
	svc := key.Token
	// The owner minted the service's key, so it stands behind the service
	// and may not approve its requests (docs/approvals.md): a second
	// owner, invited and accepted, approves below.
	var inv struct {
		Token string `json:"token"`
	}
	c.must(201, "POST", a+org+"/invitations", d.owner, map[string]any{"email": "approver@example.com", "role": "owner"}, &inv)
	var acc struct {
		Revision uint64 `json:"revision"`
		Session  struct {
			Token string `json:"token"`
		} `json:"session"`
	}
	c.must(201, "POST", a+"/v1/invitations/accept", "", map[string]any{"token": inv.Token, "user_id": "approver"}, &acc)
	rev = max(rev, acc.Revision)
	approver := acc.Session.Token

	args := map[string]any{"ticket": 42, "target": "prod-eu"}
	check := func(url, approvalID string) (api.CheckResponse, error) {
		body := map[string]any{"action": "chains:run", "resource": "chains/deploy", "namespace": "prod",
			"arguments": args, "consistency": map[string]any{"at_least": rev}}
		if approvalID != "" {
			body["approval_id"] = approvalID
		}
		status, b, err := c.do("POST", url+org+"/check", svc, body)
		if err != nil {
			return api.CheckResponse{}, err
		}
		if status != http.StatusOK {
			return api.CheckResponse{}, fmt.Errorf("check on %s: %d %s", url, status, b)
		}
		var out api.CheckResponse
		return out, json.Unmarshal(b, &out)
	}

	// The service asks: approval_required, on every server the same
	// pending approval.
	first, err := check(a, "")
	if err != nil {
		t.Fatal(err)
	}
	if first.Allowed || first.Result != api.ResultApprovalRequired || first.Approval == nil || first.Approval.Status != "pending" {
		t.Fatalf("first check: %+v, want approval_required with a pending approval", first)
	}
	id := first.Approval.ID
	for _, u := range urls {
		again, err := check(u, "")
		if err != nil {
			t.Fatal(err)
		}
		if again.Allowed || again.Approval == nil || again.Approval.ID != id {
			t.Fatalf("asking again on %s: %+v, want approval %s", u, again, id)
		}
	}
	// Presenting the pending approval does not allow.
	if r, err := check(urls[len(urls)-1], id); err != nil || r.Allowed {
		t.Fatalf("presenting a pending approval: %+v %v", r, err)
	}
	// The second owner approves (quorum 1): granted.
	var ap api.Approval
	c.must(200, "POST", a+org+"/approvals/"+id+"/approve", approver, map[string]any{"comment": "ticket 42 checked"}, &ap)
	if ap.Status != "granted" {
		t.Fatalf("after the owner's approval: %+v", ap)
	}

	const n = 1000
	var (
		mu       sync.Mutex
		allowed  = map[string]int{}
		refused  int
		failures []error
		wg       sync.WaitGroup
		start    = make(chan struct{})
		sem      = make(chan struct{}, 64)
	)
	for i := range n {
		url := urls[i%len(urls)]
		wg.Go(func() {
			<-start
			sem <- struct{}{}
			defer func() { <-sem }()
			r, err := check(url, id)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err != nil:
				failures = append(failures, err)
			case r.Allowed:
				allowed[url]++
			case r.Result == api.ResultApprovalRequired:
				refused++
			default:
				failures = append(failures, fmt.Errorf("check on %s: %+v, neither allowed nor approval_required", url, r))
			}
		})
	}
	began := time.Now()
	close(start)
	wg.Wait()
	t.Logf("%d checks over %d server process(es) in %s", n, len(urls), time.Since(began).Round(time.Millisecond))
	if len(failures) > 0 {
		t.Fatalf("%d of %d checks failed; first: %v", len(failures), n, failures[0])
	}
	total := 0
	for _, k := range allowed {
		total += k
	}
	if total != 1 || refused != n-1 {
		t.Fatalf("%d allowed (by server: %v), %d approval_required of %d checks presenting one approval; want exactly 1 and %d", total, allowed, refused, n, n-1)
	}

	// Exactly one approval.consume, on every server's view of the log.
	for _, u := range urls {
		var entries struct {
			Items []api.AuditEntry `json:"items"`
		}
		c.must(200, "GET", u+org+"/audit?action=approval.consume&page_size=100", d.owner, nil, &entries)
		consumes := 0
		for _, e := range entries.Items {
			if e.Action != "approval.consume" {
				t.Errorf("the action filter returned %s", e.Action)
				continue
			}
			var det struct {
				Approval string `json:"approval"`
			}
			if err := json.Unmarshal(e.Details, &det); err != nil {
				t.Errorf("approval.consume details %s: %v", e.Details, err)
			}
			if e.Result == "success" && det.Approval == id && e.Actor.Principal == "service:runner" {
				consumes++
			}
		}
		if consumes != 1 {
			t.Errorf("audit on %s: %d approval.consume entries for %s, want 1: %+v", u, consumes, id, entries.Items)
		}
	}
	// The approval reads consumed, by the service.
	c.must(200, "GET", urls[len(urls)-1]+org+"/approvals/"+id, svc, nil, &ap)
	if ap.Status != "consumed" {
		t.Errorf("the approval after use: %s, want consumed", ap.Status)
	}
}
