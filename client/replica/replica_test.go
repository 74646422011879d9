package replica_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/authz/feed"
	"github.com/gatehouse-dev/gatehouse/client"
	"github.com/gatehouse-dev/gatehouse/client/clienttest"
	"github.com/gatehouse-dev/gatehouse/client/replica"
)

const org = "demo"

func start(t *testing.T, o clienttest.Options) (*clienttest.Server, *client.Client) {
	t.Helper()
	o.Demo = true
	srv := clienttest.Start(t, o)
	return srv, srv.Client(srv.Demo.Keys["alice"])
}

func newReplica(t *testing.T, srv *clienttest.Server, token string, longPoll bool) *replica.Replica {
	t.Helper()
	r, err := replica.New(replica.Config{BaseURL: srv.URL, Token: token, Org: org, LongPoll: longPoll,
		MinBackoff: 5 * time.Millisecond, MaxBackoff: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := r.WaitReady(ctx); err != nil {
		t.Fatalf("replica not ready: %v (last error: %v)", err, r.LastError())
	}
	return r
}

// serviceKey creates a service holding only changes:read (a custom role)
// and returns its API key: what a host platform's replica runs with.
func serviceKey(t *testing.T, alice *client.Client) string {
	t.Helper()
	ctx := context.Background()
	if _, err := alice.CreateRole(ctx, org, client.RoleSpec{Name: "replica", Level: 1, Permissions: []string{"changes:read"}}); err != nil {
		t.Fatalf("role: %v", err)
	}
	if _, _, err := alice.CreateService(ctx, org, client.ServiceSpec{Name: "host", Role: "replica"}); err != nil {
		t.Fatalf("service: %v", err)
	}
	k, err := alice.CreateKey(ctx, org, client.KeySpec{Principal: "service:host", Name: "replica"})
	if err != nil {
		t.Fatalf("key: %v", err)
	}
	return k.Token
}

// questions are checks over the demo org's principals, resources and
// actions, with some that no grant answers.
func questions() []authz.Request {
	var qs []authz.Request
	for _, p := range []string{"user:alice", "user:bob", "user:carol", "user:dave", "agent:Triage", "service:host", "team:support"} {
		for _, ns := range []string{"dev", "prod", "default", "nope"} {
			for _, id := range []string{"", "daily-digest", "escalation-triage", "r1", "r2"} {
				for _, a := range []string{"run", "read", "update", "delete", "create"} {
					qs = append(qs, authz.Request{Org: org, Principal: p, Namespace: ns, ResourceType: "chains", ResourceID: id, Action: a})
				}
			}
		}
	}
	return qs
}

// same checks that the replica and the server's engine answer every
// question alike, both at revision rev.
func same(t *testing.T, r *replica.Replica, server *authz.Engine, rev uint64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, q := range questions() {
		d, err := r.Check(ctx, &replica.Request{Request: q, AtLeast: rev})
		if err != nil {
			t.Fatalf("check at least %d: %v (replica at %d, last error %v)", rev, err, r.Revision(), r.LastError())
		}
		if d.Revision != rev {
			t.Fatalf("replica answered at revision %d, want %d (nothing else is written)", d.Revision, rev)
		}
		want := server.Check(&q)
		if want.Revision != rev {
			t.Fatalf("server engine at %d, want %d", want.Revision, rev)
		}
		if d.Allowed != want.Allowed || d.ApprovalRequired != want.ApprovalRequired {
			t.Fatalf("revision %d, %s %s %s/%s/%s: replica allowed=%v approval=%v, server allowed=%v approval=%v",
				rev, q.Principal, q.Action, q.Namespace, q.ResourceType, q.ResourceID, d.Allowed, d.ApprovalRequired, want.Allowed, want.ApprovalRequired)
		}
	}
}

// followModes are the two ways a replica follows the feed: server-sent
// events and long polls.
var followModes = []struct {
	name     string
	longPoll bool
}{{"events", false}, {"longpoll", true}}

// TestReplicaDifferential applies random writes on the server and compares
// the replica's answers with the server engine's at each write's revision,
// following by events and by long polls.
func TestReplicaDifferential(t *testing.T) {
	for _, mode := range followModes {
		t.Run(mode.name, func(t *testing.T) {
			t.Parallel()
			srv, alice := start(t, clienttest.Options{})
			r := newReplica(t, srv, serviceKey(t, alice), mode.longPoll)
			ctx := context.Background()
			rng := rand.New(rand.NewPCG(7, uint64(len(mode.name))))
			var bindings []string
			compared := 0
			if _, _, err := alice.AddMember(ctx, org, "dave", "viewer"); err != nil {
				// dave must exist as a user first
				srv.User("dave")
				if _, _, err := alice.AddMember(ctx, org, "dave", "viewer"); err != nil {
					t.Fatal(err)
				}
			}
			same(t, r, srv.Engine(), srv.Engine().Revision())
			for i := range 40 {
				var rev uint64
				var err error
				switch op := rng.IntN(7); {
				case op <= 1:
					var b client.Binding
					p := []string{"user:bob", "user:carol", "user:dave", "team:support"}[rng.IntN(4)]
					role := []string{"viewer", "operator", "builder"}[rng.IntN(3)]
					ns := []string{"dev", "prod"}[rng.IntN(2)]
					b, rev, err = alice.CreateBinding(ctx, org, client.BindingSpec{Principal: p, Role: role, Scope: client.Scope{Namespace: ns}})
					if err == nil {
						bindings = append(bindings, b.ID)
					}
				case op == 2 && len(bindings) > 0:
					k := rng.IntN(len(bindings))
					rev, err = alice.DeleteBinding(ctx, org, bindings[k])
					bindings = append(bindings[:k], bindings[k+1:]...)
				case op == 3:
					id := fmt.Sprintf("r%d", 1+rng.IntN(2))
					_, rev, err = alice.CreateResource(ctx, org, client.ResourceSpec{Namespace: "prod", Type: "chains", ID: id})
					if err != nil {
						rev, err = alice.DeleteResource(ctx, org, client.ResourceRef{Namespace: "prod", Type: "chains", ID: id})
					}
				case op == 4:
					_, rev, err = alice.Share(ctx, org, client.ResourceRef{Namespace: "prod", Type: "chains", ID: "daily-digest"}, []string{"user:dave", "team:support"}[rng.IntN(2)], []string{"run"})
				case op == 5:
					if rng.IntN(2) == 0 {
						rev, err = alice.AddTeamMember(ctx, org, "support", "user:dave")
					} else {
						rev, err = alice.RemoveTeamMember(ctx, org, "support", "user:dave")
					}
				default:
					_, rev, err = alice.SetMemberRole(ctx, org, "dave", []string{"viewer", "operator", "builder"}[rng.IntN(3)])
				}
				if err != nil || rev == 0 {
					continue // a write the directory refused (a duplicate, say): nothing to compare
				}
				same(t, r, srv.Engine(), rev)
				compared++
				_ = i
			}
			if compared < 20 {
				t.Fatalf("only %d of 40 random writes were made; the comparison needs more", compared)
			}
			if n := r.Snapshots(); n != 1 {
				t.Errorf("replica loaded %d snapshots, want 1 (it should follow, not reload)", n)
			}
		})
	}
}

// TestReplicaAtLeast: a revision the replica has not reached is waited for
// until the context ends, then ErrNotCaughtUp — never an answer.
func TestReplicaAtLeast(t *testing.T) {
	t.Parallel()
	srv, alice := start(t, clienttest.Options{})
	r := newReplica(t, srv, srv.Demo.Keys["alice"], false)
	q := authz.Request{Principal: "user:bob", Namespace: "prod", ResourceType: "chains", ResourceID: "daily-digest", Action: "run"}

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	far := r.Revision() + 1000
	d, err := r.Check(ctx, &replica.Request{Request: q, AtLeast: far})
	var nc *replica.NotCaughtUpError
	if !errors.Is(err, replica.ErrNotCaughtUp) || !errors.As(err, &nc) || nc.Want != far || !nc.Ready {
		t.Fatalf("Check(at least %d) = %+v, %v; want a NotCaughtUpError", far, d, err)
	}
	if d.Allowed {
		t.Fatal("an answer that is not caught up allowed")
	}

	// A revision that a write is about to reach is waited for, and the
	// answer includes the write.
	before := r.Revision()
	res := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		d, err := r.Check(ctx, &replica.Request{Request: authz.Request{Principal: "user:carol", Namespace: "dev", ResourceType: "chains", ResourceID: "x", Action: "create"}, AtLeast: before + 1})
		if err == nil && !d.Allowed {
			err = fmt.Errorf("carol may not create in dev at revision %d", d.Revision)
		}
		res <- err
	}()
	if _, _, err := alice.CreateBinding(context.Background(), org, client.BindingSpec{Principal: "user:carol", Role: "builder", Scope: client.Scope{Namespace: "dev"}}); err != nil {
		t.Fatal(err)
	}
	if err := <-res; err != nil {
		t.Fatal(err)
	}
}

// TestReplicaNotReady: before its first snapshot a replica answers
// nothing: a replica whose key is refused reports ErrNotCaughtUp, not a
// deny from an empty engine.
func TestReplicaNotReady(t *testing.T) {
	t.Parallel()
	srv, _ := start(t, clienttest.Options{})
	r, err := replica.New(replica.Config{BaseURL: srv.URL, Token: srv.Demo.Keys["carol"], Org: org, MinBackoff: time.Millisecond, MaxBackoff: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err = r.Check(ctx, &replica.Request{Request: authz.Request{Principal: "user:alice", ResourceType: "chains", Action: "run"}})
	var nc *replica.NotCaughtUpError
	if !errors.As(err, &nc) || nc.Ready {
		t.Fatalf("Check before the first snapshot: %v; want a NotCaughtUpError (not ready)", err)
	}
	var se *replica.StatusError
	if !errors.As(r.LastError(), &se) || se.Status != http.StatusForbidden {
		t.Fatalf("LastError = %v; want the server's 403 (carol lacks changes:read)", r.LastError())
	}
	if r.Ready() {
		t.Fatal("Ready without a snapshot")
	}
}

// flaky is a proxy that cuts every response after a random few bytes
// once in a while, and every event stream after ~cut bytes.
func flaky(t *testing.T, target string, cut int) (string, *atomic.Int64) {
	t.Helper()
	u, _ := url.Parse(target)
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.FlushInterval = -1
	var cuts atomic.Int64
	ps := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasSuffix(r.URL.Path, "/changes") {
			rp.ServeHTTP(w, r)
			return
		}
		ctx, cancel := context.WithCancel(r.Context())
		defer cancel()
		cw := &cutter{ResponseWriter: w, left: cut, cancel: cancel, cuts: &cuts}
		rp.ServeHTTP(cw, r.WithContext(ctx))
	}))
	t.Cleanup(ps.Close)
	return ps.URL, &cuts
}

type cutter struct {
	http.ResponseWriter
	left   int
	cancel context.CancelFunc
	cuts   *atomic.Int64
}

func (c *cutter) Write(b []byte) (int, error) {
	if c.left <= 0 {
		return 0, io.ErrClosedPipe
	}
	if len(b) > c.left {
		// Cut mid-event: the replica must not apply half an event.
		n, _ := c.ResponseWriter.Write(b[:c.left])
		c.left = 0
		c.cuts.Add(1)
		c.cancel()
		if f, ok := c.ResponseWriter.(http.Flusher); ok {
			f.Flush()
		}
		return n, io.ErrClosedPipe
	}
	c.left -= len(b)
	return c.ResponseWriter.Write(b)
}

func (c *cutter) Flush() {
	if f, ok := c.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// TestReplicaResumes: with the event stream cut every few hundred bytes
// (mid-event), the replica reconnects, resumes from its revision and ends
// up with the server's exact state — nothing lost, nothing applied twice
// (an event applied twice at a stale revision would fail the engine's
// revision check and force a snapshot; Snapshots stays 1).
func TestReplicaResumes(t *testing.T) {
	t.Parallel()
	srv, alice := start(t, clienttest.Options{})
	proxy, cuts := flaky(t, srv.URL, 700)
	r, err := replica.New(replica.Config{BaseURL: proxy, Token: serviceKey(t, alice), Org: org, MinBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	ctx := context.Background()
	srv.User("dave")
	if _, _, err := alice.AddMember(ctx, org, "dave", "viewer"); err != nil {
		t.Fatal(err)
	}
	var rev uint64
	for i := range 30 {
		_, _, err := alice.CreateResource(ctx, org, client.ResourceSpec{Namespace: "prod", Type: "chains", ID: "c" + strconv.Itoa(i),
			Labels: map[string]string{"pad": strings.Repeat("x", 100)}})
		if err != nil {
			t.Fatal(err)
		}
		_, rv, err := alice.Share(ctx, org, client.ResourceRef{Namespace: "prod", Type: "chains", ID: "c" + strconv.Itoa(i)}, "user:dave", []string{"run"})
		if err != nil {
			t.Fatal(err)
		}
		rev = rv
	}
	same(t, r, srv.Engine(), rev)
	if cuts.Load() < 3 {
		t.Fatalf("the proxy cut the stream %d times; the test needs more", cuts.Load())
	}
	if n := r.Snapshots(); n != 1 {
		t.Errorf("replica loaded %d snapshots, want 1: resuming must not need one", n)
	}
}

// TestReplicaResnapshotsOnGone: when the server answers 410 (the replica's
// revision is older than the feed's retention), the replica starts again
// from a snapshot and still answers at the revision asked for.
func TestReplicaResnapshotsOnGone(t *testing.T) {
	t.Parallel()
	srv, alice := start(t, clienttest.Options{ChangeRetention: time.Nanosecond})
	r := newReplica(t, srv, srv.Demo.Keys["alice"], true)
	_, rev, err := alice.CreateBinding(context.Background(), org, client.BindingSpec{Principal: "user:carol", Role: "builder", Scope: client.Scope{Namespace: "dev"}})
	if err != nil {
		t.Fatal(err)
	}
	same(t, r, srv.Engine(), rev)
	if r.Snapshots() < 2 {
		t.Fatalf("Snapshots = %d; the 410 should have made the replica load a new one", r.Snapshots())
	}
}

// readSSE reads events from an event stream until n change events or EOF.
func readSSE(t *testing.T, body io.Reader, n int) []feed.Event {
	t.Helper()
	var out []feed.Event
	sc := bufio.NewScanner(body)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	var id uint64
	for sc.Scan() && len(out) < n {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "id: "):
			id, _ = strconv.ParseUint(line[4:], 10, 64)
		case strings.HasPrefix(line, "data: "):
			ev, err := feed.DecodeEvent([]byte(line[6:]))
			if err != nil {
				t.Fatal(err)
			}
			if ev.Revision != id {
				t.Fatalf("event at revision %d has id %d", ev.Revision, id)
			}
			out = append(out, ev)
		}
	}
	return out
}

// TestFeedResumeWithLastEventID: two event-stream connections, the second
// resuming with Last-Event-ID, see every write's revision exactly once.
func TestFeedResumeWithLastEventID(t *testing.T) {
	t.Parallel()
	srv, alice := start(t, clienttest.Options{})
	ctx := context.Background()
	open := func(lastID uint64) *http.Response {
		req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/v1/orgs/demo/changes", nil)
		req.Header.Set("Authorization", "Bearer "+srv.Demo.Keys["alice"])
		req.Header.Set("Accept", "text/event-stream")
		req.Header.Set("Last-Event-ID", strconv.FormatUint(lastID, 10))
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("open: %v %v", resp, err)
		}
		return resp
	}
	start := srv.Engine().Revision()
	var writes []uint64
	write := func(i int) {
		_, rev, err := alice.CreateResource(ctx, org, client.ResourceSpec{Namespace: "dev", Type: "chains", ID: "w" + strconv.Itoa(i)})
		if err != nil {
			t.Fatal(err)
		}
		writes = append(writes, rev)
	}
	for i := range 3 {
		write(i)
	}
	resp := open(start)
	got := readSSE(t, resp.Body, 3)
	resp.Body.Close() // disconnect
	for i := 3; i < 6; i++ {
		write(i)
	}
	resp = open(got[len(got)-1].Revision)
	got = append(got, readSSE(t, resp.Body, 3)...)
	resp.Body.Close()
	var revs []uint64
	for _, ev := range got {
		revs = append(revs, ev.Revision)
		if len(ev.Changes) != 1 || ev.Changes[0].Op != feed.OpPutResource {
			t.Errorf("event at %d: %+v, want one resource.put", ev.Revision, ev.Changes)
		}
	}
	if fmt.Sprint(revs) != fmt.Sprint(writes) {
		t.Fatalf("events at revisions %v, writes at %v", revs, writes)
	}
}

// get does a GET with token and returns status and body.
func get(t *testing.T, base, path, token, accept string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", base+path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// streamStatus opens an event stream and returns its status.
func streamStatus(t *testing.T, u, token string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", u, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestFeedPermissions: changes:read at org scope is needed; a member
// without it gets 403, a non-member and another org's reader 404, and a
// service granted it by a custom role reads the feed.
func TestFeedPermissions(t *testing.T) {
	t.Parallel()
	srv, alice := start(t, clienttest.Options{})
	ctx := context.Background()
	svc := serviceKey(t, alice)
	// An org of dave's own: alice is not in it.
	dave := srv.User("dave")
	if _, _, err := srv.Client(dave).CreateOrg(ctx, client.CreateOrgRequest{ID: "other"}); err != nil {
		t.Fatal(err)
	}
	// bob holds builder in dev: a namespace grant is not enough.
	for _, c := range []struct {
		name, token, org string
		want             int
	}{
		{"owner", srv.Demo.Keys["alice"], "demo", 200},
		{"service with changes:read", svc, "demo", 200},
		{"viewer", srv.Demo.Keys["carol"], "demo", 403},
		{"namespace builder", srv.Demo.Keys["bob"], "demo", 403},
		{"non-member", dave, "demo", 404},
		{"another org's owner", srv.Demo.Keys["alice"], "other", 404},
		{"service in another org", svc, "other", 404},
		{"no such org", srv.Demo.Keys["alice"], "nope", 404},
	} {
		for _, path := range []string{"/changes?after=0", "/snapshot"} {
			st, body := get(t, srv.URL, "/v1/orgs/"+c.org+path, c.token, "")
			if st != c.want {
				t.Errorf("%s: GET %s = %d %s, want %d", c.name, path, st, body, c.want)
			}
			if st == 403 && !strings.Contains(body, "changes:read") {
				t.Errorf("%s: 403 does not name changes:read: %s", c.name, body)
			}
		}
		st := streamStatus(t, srv.URL+"/v1/orgs/"+c.org+"/changes?after=0", c.token)
		if st != c.want {
			t.Errorf("%s: event stream = %d, want %d", c.name, st, c.want)
		}
	}
}

// TestFeedStopsWhenRevoked: a reader whose changes:read is revoked gets
// nothing after the revocation: the open event stream ends with an error
// event, and new requests are refused.
func TestFeedStopsWhenRevoked(t *testing.T) {
	t.Parallel()
	srv, alice := start(t, clienttest.Options{})
	ctx := context.Background()
	svc := serviceKey(t, alice)
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/v1/orgs/demo/changes?after="+strconv.FormatUint(srv.Engine().Revision(), 10), nil)
	req.Header.Set("Authorization", "Bearer "+svc)
	req.Header.Set("Accept", "text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("open: %v %v", resp, err)
	}
	defer resp.Body.Close()
	// Revoke: the service loses its role (it is deleted with its bindings).
	if _, err := alice.DeleteService(ctx, org, "host"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := alice.CreateResource(ctx, org, client.ResourceSpec{Namespace: "prod", Type: "chains", ID: "after-revocation"}); err != nil {
		t.Fatal(err)
	}
	done := make(chan string, 1)
	go func() {
		b, _ := io.ReadAll(resp.Body)
		done <- string(b)
	}()
	select {
	case body := <-done:
		if strings.Contains(body, "after-revocation") {
			t.Fatalf("a revoked reader got a change made after the revocation:\n%s", body)
		}
		if !strings.Contains(body, "event: error") {
			t.Fatalf("the stream ended without an error event:\n%s", body)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the stream of a revoked reader stayed open")
	}
}

// TestFeedRedaction: a reader holding only changes:read never sees a
// secret's name or value, nor a resource's spec (where secret names are
// referenced), in the snapshot or the feed — nor a key's token.
func TestFeedRedaction(t *testing.T) {
	t.Parallel()
	srv, alice := start(t, clienttest.Options{})
	ctx := context.Background()
	svc := serviceKey(t, alice)
	const name, value = "CANARY_SECRET_NAME", "canary-secret-value-7f3a"
	if _, _, err := alice.CreateSecret(ctx, org, "prod", client.SecretSpec{Name: name, Value: ptr(value)}); err != nil {
		t.Fatal(err)
	}
	spec, _ := json.Marshal(map[string]any{"secrets": []string{name}, "note": "spec-canary-3c1d"})
	if _, _, err := alice.CreateResource(ctx, org, client.ResourceSpec{Namespace: "prod", Type: "chains", ID: "uses-secret", Spec: spec}); err != nil {
		t.Fatal(err)
	}
	k, err := alice.CreateKey(ctx, org, client.KeySpec{Name: "canary-key"})
	if err != nil {
		t.Fatal(err)
	}
	var bodies []string
	for _, path := range []string{"/snapshot", "/changes?after=0"} {
		st, body := get(t, srv.URL, "/v1/orgs/demo"+path, svc, "")
		if st != 200 {
			t.Fatalf("GET %s = %d %s", path, st, body)
		}
		bodies = append(bodies, body)
	}
	if !strings.Contains(bodies[0], "uses-secret") || !strings.Contains(bodies[1], "uses-secret") {
		t.Fatal("the resource itself is missing from the snapshot or the feed: the test would pass vacuously")
	}
	for i, body := range bodies {
		for _, canary := range []string{name, value, "spec-canary-3c1d", k.Token, "alice@example.com", "SECRET"} {
			if strings.Contains(body, canary) {
				t.Errorf("answer %d contains %q:\n%s", i, canary, body)
			}
		}
	}
}

func ptr[T any](v T) *T { return &v }

// TestFeedGone: a revision older than the retention, or ahead of the
// server, is 410 with a message that says to start from a snapshot.
func TestFeedGone(t *testing.T) {
	t.Parallel()
	srv, _ := start(t, clienttest.Options{ChangeRetention: 50 * time.Millisecond})
	time.Sleep(100 * time.Millisecond)
	key := srv.Demo.Keys["alice"]
	head := srv.Engine().Revision()
	for _, c := range []struct {
		path, want string
		status     int
	}{
		{"/changes?after=1", "retention", 410},
		{"/changes?after=" + strconv.FormatUint(head+5, 10), "ahead", 410},
		{"/changes?after=" + strconv.FormatUint(head, 10), "", 200}, // nothing after the head yet: not gone
		{"/changes?after=x", "after", 400},
		{"/changes?wait=31s", "wait", 400},
	} {
		st, body := get(t, srv.URL, "/v1/orgs/demo"+c.path, key, "")
		if st != c.status || !strings.Contains(body, c.want) {
			t.Errorf("GET %s = %d %s; want %d mentioning %q", c.path, st, body, c.status, c.want)
		}
		if st == 410 && !strings.Contains(body, "snapshot") {
			t.Errorf("GET %s: the 410 does not tell the client to start from a snapshot: %s", c.path, body)
		}
	}
	// Last-Event-ID on an event stream: the same 410, before any event.
	req, _ := http.NewRequest("GET", srv.URL+"/v1/orgs/demo/changes", nil)
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Last-Event-ID", "1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 410 {
		t.Fatalf("event stream from a too-old Last-Event-ID = %d, want 410", resp.StatusCode)
	}
}

// TestLongPollWaits: a long poll with nothing new waits for the next
// write and answers it; one without wait answers at once, empty, with
// the revision to resume from.
func TestLongPollWaits(t *testing.T) {
	t.Parallel()
	srv, alice := start(t, clienttest.Options{})
	key := srv.Demo.Keys["alice"]
	head := srv.Engine().Revision()
	st, body := get(t, srv.URL, "/v1/orgs/demo/changes?after="+strconv.FormatUint(head, 10), key, "")
	p, err := feed.DecodePage([]byte(body))
	if st != 200 || err != nil || len(p.Events) != 0 || p.Revision != head {
		t.Fatalf("poll at the head = %d %s (%v)", st, body, err)
	}
	got := make(chan feed.Page, 1)
	go func() {
		_, body := get(t, srv.URL, "/v1/orgs/demo/changes?wait=20s&after="+strconv.FormatUint(head, 10), key, "")
		p, _ := feed.DecodePage([]byte(body))
		got <- p
	}()
	time.Sleep(50 * time.Millisecond)
	_, rev, err := alice.CreateResource(context.Background(), org, client.ResourceSpec{Namespace: "dev", Type: "chains", ID: "lp"})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case p := <-got:
		if p.Revision != rev || len(p.Events) != 1 || p.Events[0].Revision != rev {
			t.Fatalf("long poll answered %+v, want the write at %d", p, rev)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("the long poll did not answer the write")
	}
}

// TestFeedNoOtherOrg: another org's changes, interleaved with this org's,
// never appear in its feed or snapshot — but the feed's revision moves
// past them, so a replica keeps up with the deployment's revisions.
func TestFeedNoOtherOrg(t *testing.T) {
	t.Parallel()
	srv, alice := start(t, clienttest.Options{})
	ctx := context.Background()
	dave := srv.Client(srv.User("dave"))
	if _, _, err := dave.CreateOrg(ctx, client.CreateOrgRequest{ID: "other"}); err != nil {
		t.Fatal(err)
	}
	var last uint64
	for i := range 5 {
		if _, _, err := alice.CreateResource(ctx, org, client.ResourceSpec{Namespace: "dev", Type: "chains", ID: "mine" + strconv.Itoa(i)}); err != nil {
			t.Fatal(err)
		}
		_, rev, err := dave.CreateResource(ctx, "other", client.ResourceSpec{Namespace: "default", Type: "chains", ID: "other-canary-" + strconv.Itoa(i),
			Labels: map[string]string{"leak": "other-label-canary"}})
		if err != nil {
			t.Fatal(err)
		}
		last = rev
	}
	key := srv.Demo.Keys["alice"]
	st, body := get(t, srv.URL, "/v1/orgs/demo/changes?after=0", key, "")
	_, snap := get(t, srv.URL, "/v1/orgs/demo/snapshot", key, "")
	for _, b := range []string{body, snap} {
		if strings.Contains(b, "canary") || strings.Contains(b, "user:dave") {
			t.Fatalf("another org's data in the answer:\n%s", b)
		}
	}
	p, err := feed.DecodePage([]byte(body))
	if st != 200 || err != nil || len(p.Events) == 0 {
		t.Fatalf("changes = %d %v %s", st, err, body)
	}
	// Follow to the end: the revision reaches the other org's last write.
	for p.Revision < last {
		_, body = get(t, srv.URL, "/v1/orgs/demo/changes?after="+strconv.FormatUint(p.Revision, 10), key, "")
		next, err := feed.DecodePage([]byte(body))
		if err != nil || next.Revision <= p.Revision {
			t.Fatalf("the feed stopped at %d before %d: %v %s", p.Revision, last, err, body)
		}
		if strings.Contains(body, "canary") {
			t.Fatalf("another org's data in the answer:\n%s", body)
		}
		p = next
	}
}

// TestFeedSkipsAuditSettings: an audit-settings change is a revision of
// the changelog (audit_settings.put) but not decision state: the feed
// carries no event for it, and no trace of the settings, yet its revision
// moves past it, and a replica following by events or by long polls
// reaches that revision (an at-least check there answers) and goes on
// with the next write without loading a new snapshot.
func TestFeedSkipsAuditSettings(t *testing.T) {
	for _, mode := range followModes {
		t.Run(mode.name, func(t *testing.T) {
			t.Parallel()
			srv, alice := start(t, clienttest.Options{})
			ctx := context.Background()
			key := serviceKey(t, alice)
			r := newReplica(t, srv, key, mode.longPoll)
			head := srv.Engine().Revision()
			rev, err := alice.SetAuditSettings(ctx, org, client.AuditSettings{Decisions: "all", SampleRate: 0.125})
			if err != nil {
				t.Fatal(err)
			}
			if rev != head+1 {
				t.Fatalf("the settings change is at revision %d, want %d (a revision of its own)", rev, head+1)
			}
			st, body := get(t, srv.URL, "/v1/orgs/demo/changes?after="+strconv.FormatUint(head, 10), key, "")
			p, err := feed.DecodePage([]byte(body))
			if st != 200 || err != nil {
				t.Fatalf("changes after the settings change = %d %v %s", st, err, body)
			}
			if len(p.Events) != 0 || p.Revision != rev {
				t.Errorf("changes after %d = %d events up to %d, want none up to %d: %s", head, len(p.Events), p.Revision, rev, body)
			}
			for _, canary := range []string{"audit_settings", "0.125", "decisions"} {
				if strings.Contains(body, canary) {
					t.Errorf("the feed carries %q: %s", canary, body)
				}
			}
			same(t, r, srv.Engine(), rev)
			_, next, err := alice.CreateBinding(ctx, org, client.BindingSpec{Principal: "user:carol", Role: "operator", Scope: client.Scope{Namespace: "prod"}})
			if err != nil {
				t.Fatal(err)
			}
			same(t, r, srv.Engine(), next)
			if n := r.Snapshots(); n != 1 {
				t.Errorf("replica loaded %d snapshots, want 1 (it should follow past the settings change, not reload)", n)
			}
			if err := r.LastError(); err != nil {
				t.Errorf("replica's last error: %v", err)
			}
		})
	}
}

// TestReplicaDropsSilentStream: an event stream that goes silent (a
// half-open connection: no keep-alive) is dropped after StreamIdle and
// the replica reconnects, resuming from its revision.
func TestReplicaDropsSilentStream(t *testing.T) {
	t.Parallel()
	srv, _ := start(t, clienttest.Options{})
	u, _ := url.Parse(srv.URL)
	rp := httputil.NewSingleHostReverseProxy(u)
	var streams atomic.Int64
	ps := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/changes") {
			if r.Header.Get("Last-Event-ID") == "" {
				t.Errorf("a stream without Last-Event-ID")
			}
			streams.Add(1)
			w.Header().Set("Content-Type", "text/event-stream")
			w.WriteHeader(200)
			w.(http.Flusher).Flush()
			<-r.Context().Done() // silent until the replica hangs up
			return
		}
		rp.ServeHTTP(w, r)
	}))
	defer ps.Close()
	r, err := replica.New(replica.Config{BaseURL: ps.URL, Token: srv.Demo.Keys["alice"], Org: org,
		StreamIdle: 50 * time.Millisecond, MinBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	deadline := time.Now().Add(10 * time.Second)
	for streams.Load() < 3 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := streams.Load(); n < 3 {
		t.Fatalf("%d streams opened in 10 s; a silent stream must be dropped after StreamIdle and reopened", n)
	}
	if !r.Ready() || r.Snapshots() != 1 {
		t.Fatalf("ready %v, snapshots %d: reconnecting must not need a new snapshot", r.Ready(), r.Snapshots())
	}
}
