package replica_test

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/authz/feed"
	"github.com/gatehouse-dev/gatehouse/client"
	"github.com/gatehouse-dev/gatehouse/client/clienttest"
	"github.com/gatehouse-dev/gatehouse/client/replica"
	"github.com/gatehouse-dev/gatehouse/internal/auth"
	"github.com/gatehouse-dev/gatehouse/internal/directory"
	"github.com/gatehouse-dev/gatehouse/internal/server"
	"github.com/gatehouse-dev/gatehouse/internal/store"
	"github.com/gatehouse-dev/gatehouse/internal/store/sqlite"
	"github.com/gatehouse-dev/gatehouse/templates"
)

// Benchmarks of the replica (docs/benchmarks.md, "Replicas"):
//
//	BenchmarkReplicaCheck         one in-process Check (goal < 1 µs, 0 allocs)
//	BenchmarkReplicaVisible       a write on the server → visible in a
//	                              replica in another process (this test
//	                              binary re-executed); p50/p99 (goal p99
//	                              ≤ 50 ms on loopback)
//	BenchmarkReplicaColdStart     a replica's start on an org of N bindings
//	                              (GATEHOUSE_BENCH_BINDINGS, default
//	                              100,000; 1000000 for the figure) served
//	                              by a server in another process (this
//	                              test binary re-executed): the server's
//	                              snapshot read and stream, the decode and
//	                              the engine build; reports wall seconds,
//	                              each process's CPU seconds and the
//	                              replica's bytes/binding (goals ≤ 3 s and
//	                              ≤ 128 B/binding); …InProcess: the same
//	                              with the server in the replica's process

func TestMain(m *testing.M) {
	if os.Getenv("GATEHOUSE_REPLICA_CHILD") != "" {
		os.Exit(child())
	}
	if v := os.Getenv("GATEHOUSE_REPLICA_COLD_SERVER"); v != "" {
		os.Exit(coldServerChild(v))
	}
	os.Exit(m.Run())
}

func BenchmarkReplicaCheck(b *testing.B) {
	srv := clienttest.Start(b, clienttest.Options{Demo: true})
	r, err := replica.New(replica.Config{BaseURL: srv.URL, Token: srv.Demo.Keys["alice"], Org: "demo"})
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	ctx := context.Background()
	if err := r.WaitReady(ctx); err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name    string
		req     replica.Request
		allowed bool
	}{
		{"allow", replica.Request{Request: authz.Request{Principal: "user:bob", Namespace: "prod", ResourceType: "chains", ResourceID: "daily-digest", Action: "run"}, AtLeast: r.Revision()}, true},
		{"deny", replica.Request{Request: authz.Request{Principal: "user:carol", Namespace: "prod", ResourceType: "chains", ResourceID: "daily-digest", Action: "delete"}, AtLeast: r.Revision()}, false},
	} {
		b.Run(c.name, func(b *testing.B) {
			req := c.req
			if d, err := r.Check(ctx, &req); err != nil || d.Allowed != c.allowed {
				b.Fatalf("Check = %+v, %v; want allowed %v", d, err, c.allowed)
			}
			b.ReportAllocs()
			for b.Loop() {
				_, _ = r.Check(ctx, &req)
			}
		})
	}
}

// child runs a replica for BenchmarkReplicaVisible: it prints "ready",
// then for each line "<revision> <0|1>" on stdin waits until its replica
// is at that revision, checks that dave's run in prod is allowed as
// said, and prints "ok" (or the error).
func child() int {
	r, err := replica.New(replica.Config{BaseURL: os.Getenv("GATEHOUSE_REPLICA_URL"), Token: os.Getenv("GATEHOUSE_REPLICA_TOKEN"), Org: "demo",
		LongPoll: os.Getenv("GATEHOUSE_REPLICA_LONGPOLL") != ""})
	if err != nil {
		fmt.Println(err)
		return 1
	}
	defer r.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	err = r.WaitReady(ctx)
	cancel()
	if err != nil {
		fmt.Println(err)
		return 1
	}
	fmt.Println("ready")
	sc := bufio.NewScanner(os.Stdin)
	q := authz.Request{Principal: "user:dave", Namespace: "prod", ResourceType: "chains", ResourceID: "daily-digest", Action: "run"}
	for sc.Scan() {
		rev, want, _ := strings.Cut(sc.Text(), " ")
		n, _ := strconv.ParseUint(rev, 10, 64)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		d, err := r.Check(ctx, &replica.Request{Request: q, AtLeast: n})
		cancel()
		switch {
		case err != nil:
			fmt.Println(err)
		case d.Allowed != (want == "1"):
			fmt.Printf("at revision %d dave's run is allowed=%v, want %s\n", d.Revision, d.Allowed, want)
		default:
			fmt.Println("ok")
		}
	}
	return 0
}

func BenchmarkReplicaVisible(b *testing.B) {
	for _, mode := range []string{"events", "longpoll"} {
		b.Run(mode, func(b *testing.B) {
			srv := clienttest.Start(b, clienttest.Options{Demo: true})
			alice := srv.Client(srv.Demo.Keys["alice"])
			ctx := context.Background()
			srv.User("dave")
			if _, _, err := alice.AddMember(ctx, "demo", "dave", "viewer"); err != nil {
				b.Fatal(err)
			}
			cmd := exec.Command(os.Args[0], "-test.run=^$", "-test.bench=^$")
			cmd.Env = append(os.Environ(), "GATEHOUSE_REPLICA_CHILD=1", "GATEHOUSE_REPLICA_URL="+srv.URL, "GATEHOUSE_REPLICA_TOKEN="+srv.Demo.Keys["alice"])
			if mode == "longpoll" {
				cmd.Env = append(cmd.Env, "GATEHOUSE_REPLICA_LONGPOLL=1")
			}
			in, _ := cmd.StdinPipe()
			outp, _ := cmd.StdoutPipe()
			cmd.Stderr = os.Stderr
			if err := cmd.Start(); err != nil {
				b.Fatal(err)
			}
			defer func() { _ = in.Close(); _ = cmd.Wait() }()
			out := bufio.NewScanner(outp)
			if !out.Scan() || out.Text() != "ready" {
				b.Fatalf("child: %q", out.Text())
			}
			var fromIssue, fromCommit []time.Duration
			var bindingID string
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				start := time.Now()
				var rev uint64
				var err error
				want := "1"
				if bindingID == "" {
					var bd client.Binding
					bd, rev, err = alice.CreateBinding(ctx, "demo", client.BindingSpec{Principal: "user:dave", Role: "operator", Scope: client.Scope{Namespace: "prod"}})
					bindingID = bd.ID
				} else {
					rev, err = alice.DeleteBinding(ctx, "demo", bindingID)
					bindingID, want = "", "0"
				}
				if err != nil {
					b.Fatal(err)
				}
				committed := time.Now()
				fmt.Fprintf(in, "%d %s\n", rev, want)
				if !out.Scan() || out.Text() != "ok" {
					b.Fatalf("child at write %d: %q", i, out.Text())
				}
				fromIssue = append(fromIssue, time.Since(start))
				fromCommit = append(fromCommit, time.Since(committed))
			}
			b.StopTimer()
			q := func(ds []time.Duration, p float64) float64 {
				slices.Sort(ds)
				return float64(ds[min(len(ds)-1, int(p*float64(len(ds))))].Microseconds()) / 1000
			}
			b.ReportMetric(q(fromIssue, 0.5), "p50-ms")
			b.ReportMetric(q(fromIssue, 0.99), "p99-ms")
			b.ReportMetric(q(fromCommit, 0.5), "after-write-p50-ms")
			b.ReportMetric(q(fromCommit, 0.99), "after-write-p99-ms")
		})
	}
}

func benchBindings(b *testing.B) int {
	if v := os.Getenv("GATEHOUSE_BENCH_BINDINGS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 10 {
			b.Fatalf("GATEHOUSE_BENCH_BINDINGS=%q", v)
		}
		return n
	}
	return 100000
}

// coldServer serves org acme of n bindings (users u0000000…, n/10 of
// them; roles viewer/operator/builder/admin at org, default or prod
// scope, seeded by bulk SQL as in internal/directory's BenchmarkLoadOrg)
// and returns its URL and alice's key.
func coldServer(b *testing.B, n int) (string, string) {
	url, key, closeAll, err := serveCold(b.TempDir(), n)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(closeAll)
	return url, key
}

// serveCold is coldServer without a testing.B (the server child runs it);
// closeAll stops the server and closes the store.
func serveCold(dir string, n int) (url, key string, closeAll func(), err error) {
	var closers []func()
	closeAll = func() {
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i]()
		}
	}
	defer func() {
		if err != nil {
			closeAll()
		}
	}()
	ctx := context.Background()
	path := filepath.Join(dir, "cold.db")
	st, err := sqlite.Open(ctx, path, sqlite.Options{Synchronous: "NORMAL"})
	if err != nil {
		return "", "", nil, err
	}
	closers = append(closers, func() { _ = st.Close() })
	d, err := directory.Open(ctx, st, authz.New(), directory.Options{})
	if err != nil {
		return "", "", nil, err
	}
	as := auth.New(st, d, auth.NewKeySet(), auth.Options{FailureBurst: 1e6})
	_, key, err = as.Bootstrap(ctx, store.User{ID: "alice", Email: "alice@example.com"}, "bench")
	if err != nil {
		return "", "", nil, err
	}
	alice := directory.Actor{Principal: "user:alice"}
	if _, _, err := d.CreateOrg(ctx, alice, directory.OrgSpec{ID: "acme"}); err != nil {
		return "", "", nil, err
	}
	if _, _, err := d.CreateNamespace(ctx, alice, "acme", "prod"); err != nil {
		return "", "", nil, err
	}
	_ = as.Close()
	_ = d.Close()
	db, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		return "", "", nil, err
	}
	users := max(n/10, 1)
	for _, q := range []string{
		`WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < $1 - 1)
			INSERT INTO users (id, email, display_name, created_at) SELECT printf('u%07d', i), '', '', 0 FROM n`,
		`WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < $1 - 1)
			INSERT INTO members (org, user_id, attributes, created_at) SELECT 'acme', printf('u%07d', i), '{}', 0 FROM n`,
	} {
		if _, err := db.Exec(q, users); err != nil {
			return "", "", nil, err
		}
	}
	if _, err := db.Exec(`WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < $1 - 1)
		INSERT INTO bindings (org, id, principal, role, actions, scope_namespace, scope_type, scope_id, condition_name, created_by, created_at)
		SELECT 'acme', printf('s%08d', i), printf('user:u%07d', i % $2),
		       CASE i % 4 WHEN 0 THEN 'viewer' WHEN 1 THEN 'operator' WHEN 2 THEN 'builder' ELSE 'admin' END,
		       NULL, CASE i % 3 WHEN 0 THEN '' WHEN 1 THEN 'default' ELSE 'prod' END, '', '', '', 'user:alice', 0 FROM n`, n, users); err != nil {
		return "", "", nil, err
	}
	_ = db.Close()
	// The serving stack over the seeded store.
	d, err = directory.Open(ctx, st, authz.New(), directory.Options{})
	if err != nil {
		return "", "", nil, err
	}
	closers = append(closers, func() { _ = d.Close() })
	as = auth.New(st, d, auth.NewKeySet(), auth.Options{FailureBurst: 1e6})
	closers = append(closers, func() { _ = as.Close() })
	srv, err := server.New(server.Config{Directory: d, Store: st, Auth: as, RequestTimeout: 5 * time.Minute})
	if err != nil {
		return "", "", nil, err
	}
	hs := httptest.NewServer(srv)
	closers = append(closers, hs.Close, func() { _ = srv.Close() })
	return hs.URL, key, closeAll, nil
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// coldServerChild is BenchmarkReplicaColdStart's server process: it
// seeds and serves org acme of n bindings (coldServer) in dir, prints
// "<url> <key>", then answers each "cpu" line on stdin with its CPU time
// so far (nanoseconds), until stdin closes.
func coldServerChild(n string) int {
	bindings, err := strconv.Atoi(n)
	if err != nil {
		fmt.Println(err)
		return 1
	}
	url, key, closeAll, err := serveCold(os.Getenv("GATEHOUSE_REPLICA_COLD_DIR"), bindings)
	if err != nil {
		fmt.Println(err)
		return 1
	}
	defer closeAll()
	fmt.Println(url, key)
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		fmt.Println(int64(cpuTime()))
	}
	return 0
}

// BenchmarkReplicaColdStart: a replica's start on an org of N bindings
// served by a server in another process (this test binary re-executed),
// as a host platform's replica starts: wall time from New to ready, and
// the CPU time of each process over it (the replica's: download, decode,
// build; the server's: store read, encoding, sending).
func BenchmarkReplicaColdStart(b *testing.B) {
	n := benchBindings(b)
	cmd := exec.Command(os.Args[0], "-test.run=^$", "-test.bench=^$")
	cmd.Env = append(os.Environ(), "GATEHOUSE_REPLICA_COLD_SERVER="+strconv.Itoa(n), "GATEHOUSE_REPLICA_COLD_DIR="+b.TempDir())
	in, _ := cmd.StdinPipe()
	outp, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { _ = in.Close(); _ = cmd.Wait() }()
	out := bufio.NewScanner(outp)
	if !out.Scan() {
		b.Fatal("server child: no answer")
	}
	url, key, ok := strings.Cut(out.Text(), " ")
	if !ok {
		b.Fatalf("server child: %q", out.Text())
	}
	serverCPU := func() time.Duration {
		fmt.Fprintln(in, "cpu")
		if !out.Scan() {
			b.Fatal("server child: no answer")
		}
		ns, err := strconv.ParseInt(out.Text(), 10, 64)
		if err != nil {
			b.Fatalf("server child: %q", out.Text())
		}
		return time.Duration(ns)
	}
	coldStarts(b, url, key, n, serverCPU)
}

// coldStarts times b.N cold starts of a replica of org acme (n bindings)
// from the server at url and reports the replica's heap per binding and
// the CPU time: the process's own, and the server's as serverCPU reads it
// (nil: the server is in this process, its CPU is in the process's).
func coldStarts(b *testing.B, url, key string, n int, serverCPU func() time.Duration) {
	b.Helper()
	if serverCPU == nil {
		serverCPU = func() time.Duration { return 0 }
	}
	var heap float64
	var cpu, scpu time.Duration
	b.ResetTimer()
	for b.Loop() {
		b.StopTimer()
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		s0 := serverCPU()
		c0 := cpuTime()
		b.StartTimer()
		r, err := replica.New(replica.Config{BaseURL: url, Token: key, Org: "acme"})
		if err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		err = r.WaitReady(ctx)
		cancel()
		if err != nil {
			b.Fatalf("%v (%v)", err, r.LastError())
		}
		b.StopTimer()
		cpu += cpuTime() - c0
		scpu += serverCPU() - s0
		if lvl := r.Engine().HighestLevel("acme", "user:u0000003", authz.Scope{}); lvl != 80 {
			b.Fatalf("u0000003's level in the replica = %d, want 80", lvl)
		}
		runtime.GC()
		runtime.GC()
		runtime.ReadMemStats(&after)
		heap = float64(after.HeapAlloc) - float64(before.HeapAlloc)
		runtime.KeepAlive(r)
		_ = r.Close()
		b.StartTimer()
	}
	b.ReportMetric(heap/float64(n), "bytes/binding")
	// Wall time depends on what else the machine runs; CPU time does less.
	if scpu > 0 {
		b.ReportMetric(cpu.Seconds()/float64(b.N), "replica-cpu-s/op")
		b.ReportMetric(scpu.Seconds()/float64(b.N), "server-cpu-s/op")
	}
	b.ReportMetric((cpu+scpu).Seconds()/float64(b.N), "cpu-s/op")
	b.ReportMetric(float64(n), "bindings")
}

// BenchmarkReplicaColdStartInProcess is BenchmarkReplicaColdStart with
// the server in the replica's process (the first figures were measured
// so): one process's CPU time for both, one heap and collector.
func BenchmarkReplicaColdStartInProcess(b *testing.B) {
	n := benchBindings(b)
	url, key := coldServer(b, n)
	coldStarts(b, url, key, n, nil)
}

func BenchmarkEngineCheckDemo(b *testing.B) {
	srv := clienttest.Start(b, clienttest.Options{Demo: true})
	e := srv.Engine()
	q := authz.Request{Org: "demo", Principal: "user:bob", Namespace: "prod", ResourceType: "chains", ResourceID: "daily-digest", Action: "run"}
	b.ReportAllocs()
	for b.Loop() {
		_ = e.Check(&q)
	}
}

// BenchmarkReplicaColdStartDecode is the replica's own part of a cold
// start: the snapshot of org acme (the same shape as coldServer's: n
// bindings, n/10 members, the default template's policy), encoded once
// and served from memory over loopback HTTP, downloaded, decoded and
// built into an engine. The server's part (its store read and the
// encoding) is BenchmarkReplicaColdStart minus this.
func BenchmarkReplicaColdStartDecode(b *testing.B) {
	n := benchBindings(b)
	users := max(n/10, 1)
	text := coldPolicy(b)
	var buf strings.Builder
	sw := feed.NewSnapshotWriter(&buf)
	_ = sw.WriteHeader(feed.Header{Org: "acme", Revision: 7, Policy: &text, Namespaces: []string{"default", "prod"},
		Principals: users + 1, Bindings: n + 1})
	_ = sw.Put(feed.Change{Op: feed.OpPutPrincipal, Principal: &authz.Principal{ID: "user:alice"}})
	for i := range users {
		_ = sw.Put(feed.Change{Op: feed.OpPutPrincipal, Principal: &authz.Principal{ID: fmt.Sprintf("user:u%07d", i)}})
	}
	_ = sw.Put(feed.Change{Op: feed.OpPutBinding, Binding: &authz.Binding{ID: "owner", Principal: "user:alice", Role: "owner"}})
	roles := []string{"viewer", "operator", "builder", "admin"}
	nss := []string{"", "default", "prod"}
	for i := range n {
		_ = sw.Put(feed.Change{Op: feed.OpPutBinding, Binding: &authz.Binding{ID: fmt.Sprintf("s%08d", i),
			Principal: fmt.Sprintf("user:u%07d", i%users), Role: roles[i%4], Scope: authz.Scope{Namespace: nss[i%3]}}})
	}
	if err := sw.Close(); err != nil {
		b.Fatal(err)
	}
	body := buf.String()
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", feed.MediaTypeSnapshot)
		_, _ = io.WriteString(w, body)
	}))
	defer hs.Close()
	var heap float64
	var cpu time.Duration
	b.ResetTimer()
	for b.Loop() {
		b.StopTimer()
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		c0 := cpuTime()
		b.StartTimer()
		r, err := replica.New(replica.Config{BaseURL: hs.URL, Token: "x", Org: "acme", MaxBackoff: time.Hour})
		if err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		err = r.WaitReady(ctx)
		cancel()
		if err != nil {
			b.Fatalf("%v (%v)", err, r.LastError())
		}
		b.StopTimer()
		cpu += cpuTime() - c0
		if lvl := r.Engine().HighestLevel("acme", "user:u0000003", authz.Scope{}); lvl != 80 {
			b.Fatalf("u0000003's level in the replica = %d, want 80", lvl)
		}
		runtime.GC()
		runtime.GC()
		runtime.ReadMemStats(&after)
		heap = float64(after.HeapAlloc) - float64(before.HeapAlloc)
		runtime.KeepAlive(r)
		_ = r.Close()
		b.StartTimer()
	}
	b.ReportMetric(heap/float64(n), "bytes/binding")
	b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s/op")
	b.ReportMetric(float64(len(body))/float64(n), "wire-bytes/binding")
}

// coldPolicy is the default template's policy text.
func coldPolicy(b *testing.B) string {
	text, err := templates.Source(templates.Default)
	if err != nil {
		b.Fatal(err)
	}
	return string(text)
}
