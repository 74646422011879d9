package authz

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"runtime/metrics"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/cputime"
	"github.com/gatehouse-dev/gatehouse/policy"
)

// TestCheckAllocatesNothing is the behaviour behind the "0 allocs/op"
// goal: a check that evaluates no condition allocates nothing, allowed or
// denied, directly or through teams, for users, agents and shares.
func TestCheckAllocatesNothing(t *testing.T) {
	e, _ := newFixture(t)
	cases := []checkCase{
		allow("user:alice", "chains:read", "prod/chains/x"),
		deny("user:alice", "chains:run", "prod/chains/x"),
		allow("user:bob", "chains:run", "prod/chains/x"),
		allow("user:sam", "chains:run", "prod/chains/shared"),
		deny("user:uma", "chains:read", "prod/chains/gone"),
		allow("user:root", "spaceships:launch", "prod/spaceships/s1"),
		allow("agent:Auditor", "chains:read", "prod/chains/x"),
		deny("agent:Triage", "chains:delete", "prod/chains/x"),
		allow("agent:Loose", "chains:create", "prod/chains"),
		allow("user:dora", "chains:read", "prod/chains/x"),
		deny("user:ghost", "chains:read", "prod/chains/x"),
		deny("user:root", "chains:read", "staging/chains/x"),
		allow("service:ci", "chains:create", "dev/chains", obo("user:alice")),
	}
	for _, c := range cases {
		req := c.req
		if got := e.Check(&req).Allowed; got != c.want {
			t.Fatalf("%s: got %v", c, got)
		}
		if n := testing.AllocsPerRun(100, func() { e.Check(&req) }); n != 0 {
			t.Errorf("%s: %v allocs per Check, want 0", c, n)
		}
	}
}

// synth describes a synthetic dataset for benchmarks.
type synth struct {
	orgs, namespaces, users, roles, types, resources, bindingsPerOrg int
	// expiring gives every binding an ExpiresAt far in the future (they
	// all still grant).
	expiring bool
}

// synthPolicy writes a policy of n roles over types t0..t(types-1) with
// actions read/write/run, plus a few wildcard roles.
func synthPolicy(tb testing.TB, roles, types int) *policy.Model {
	tb.Helper()
	return mustPolicy(tb, synthPolicyText(roles, types, false))
}

// synthPolicyText is synthPolicy's text; with asks every role must ask
// before running its first type.
func synthPolicyText(roles, types int, asks bool) string {
	var sb strings.Builder
	sb.WriteString("role super level 100 { permission * { * } }\n")
	sb.WriteString("role allread level 10 { permission * { read } }\n")
	for i := 0; i < roles; i++ {
		fmt.Fprintf(&sb, "role r%d level %d {\n", i, i%100)
		for j := 0; j < 3; j++ {
			t := (i*7 + j*13) % types
			fmt.Fprintf(&sb, "  permission t%d { read, run }\n", t)
		}
		if i%10 == 0 {
			fmt.Fprintf(&sb, "  permission t%d { * }\n", (i*3)%types)
		}
		if asks {
			fmt.Fprintf(&sb, "  ask before run t%d\n", (i*7)%types)
		}
		sb.WriteString("}\n")
	}
	return sb.String()
}

// buildSynth returns org datasets following s.
func buildSynth(tb testing.TB, s synth) []OrgData {
	tb.Helper()
	m := synthPolicy(tb, s.roles, s.types)
	r := rand.New(rand.NewPCG(1, 2))
	out := make([]OrgData, s.orgs)
	for o := range out {
		d := OrgData{Org: "org" + strconv.Itoa(o), Policy: m}
		for n := 0; n < s.namespaces; n++ {
			d.Namespaces = append(d.Namespaces, "ns"+strconv.Itoa(n))
		}
		for u := 0; u < s.users; u++ {
			d.Principals = append(d.Principals, Principal{ID: "user:u" + strconv.Itoa(u)})
		}
		for i := 0; i < s.resources; i++ {
			d.Resources = append(d.Resources, Resource{
				Namespace: d.Namespaces[i%len(d.Namespaces)], Type: "t" + strconv.Itoa(i%s.types), ID: "res" + strconv.Itoa(i)})
		}
		for b := 0; b < s.bindingsPerOrg; b++ {
			u := "user:u" + strconv.Itoa(r.IntN(s.users))
			role := "r" + strconv.Itoa(r.IntN(s.roles))
			var sc Scope
			switch r.IntN(10) {
			case 0:
			case 1, 2:
				res := d.Resources[r.IntN(len(d.Resources))]
				sc = Scope{Namespace: res.Namespace, Type: res.Type, ID: res.ID}
			default:
				sc = Scope{Namespace: d.Namespaces[r.IntN(len(d.Namespaces))]}
			}
			bd := Binding{ID: "b" + strconv.Itoa(b), Principal: u, Role: role, Scope: sc}
			if s.expiring {
				bd.ExpiresAt = future
			}
			d.Bindings = append(d.Bindings, bd)
		}
		out[o] = d
	}
	return out
}

func loadSynth(tb testing.TB, data []OrgData) *Engine {
	tb.Helper()
	e := New()
	for i := range data {
		if err := e.LoadOrg(uint64(i+1), data[i]); err != nil {
			tb.Fatal(err)
		}
	}
	return e
}

// benchRequests makes n requests against data, about half allowed.
func benchRequests(tb testing.TB, e *Engine, data []OrgData, n int) []Request {
	tb.Helper()
	r := rand.New(rand.NewPCG(3, 4))
	var reqs []Request
	allowed := 0
	for len(reqs) < n {
		d := &data[r.IntN(len(data))]
		b := d.Bindings[r.IntN(len(d.Bindings))]
		req := Request{Org: d.Org, Principal: b.Principal, Namespace: b.Scope.Namespace, ResourceID: b.Scope.ID}
		if req.Namespace == "" {
			req.Namespace = d.Namespaces[r.IntN(len(d.Namespaces))]
		}
		res := d.Resources[r.IntN(len(d.Resources))]
		req.ResourceType = res.Type
		if b.Scope.Type != "" {
			req.ResourceType = b.Scope.Type
		}
		if req.ResourceID == "" {
			req.ResourceID = res.ID
		}
		req.Action = [...]string{"read", "run", "write"}[r.IntN(3)]
		ok := e.Check(&req).Allowed
		if ok {
			allowed++
		} else if allowed*2 < len(reqs) {
			continue // keep the mix near half and half
		}
		reqs = append(reqs, req)
	}
	return reqs
}

type benchWorld struct {
	data []OrgData
	e    *Engine
	reqs []Request
}

var benchWorlds = map[synth]*benchWorld{}

// world builds (once per process) the dataset, engine and requests for s.
func world(b *testing.B, s synth) *benchWorld {
	if w := benchWorlds[s]; w != nil {
		return w
	}
	data := buildSynth(b, s)
	e := loadSynth(b, data)
	w := &benchWorld{data: data, e: e, reqs: benchRequests(b, e, data, 4096)}
	benchWorlds[s] = w
	return w
}

func benchCheck(b *testing.B, s synth) {
	w := world(b, s)
	e, reqs := w.e, w.reqs
	b.ReportAllocs()
	b.ResetTimer()
	defer cputime.PerOp(b)()
	for i := 0; b.Loop(); i++ {
		e.Check(&reqs[i%len(reqs)])
	}
}

func BenchmarkCheckSmall(b *testing.B) {
	benchCheck(b, synth{orgs: 1, namespaces: 2, users: 1000, roles: 100, types: 10, resources: 10, bindingsPerOrg: 1000})
}

// BenchmarkCheckSmallExpiring is BenchmarkCheckSmall with an expiry on
// every binding: the cost of reading the clock once per check.
func BenchmarkCheckSmallExpiring(b *testing.B) {
	benchCheck(b, synth{orgs: 1, namespaces: 2, users: 1000, roles: 100, types: 10, resources: 10, bindingsPerOrg: 1000, expiring: true})
}

// BenchmarkCheckAgentLifecycle: an agent under a lifecycle (sponsors
// looked up) in an org without time-based suspension rules, on the wall
// clock: the check reads no clock.
func BenchmarkCheckAgentLifecycle(b *testing.B) {
	e := newLifecycleFixtureWith(b, LifecycleSettings{})
	req := mkReq("agent:Ok", "chains:run", "prod/chains/x")
	b.ReportAllocs()
	defer cputime.PerOp(b)()
	for b.Loop() {
		e.Check(&req)
	}
}

// casbinShape is Casbin's RBAC benchmark shape (model_b_test.go): role i
// reads resource data<i/10>, user j holds role j/10 on resource j/100.
func casbinShape(tb testing.TB, roles, resources, users int) (*Engine, []Request) {
	tb.Helper()
	var src strings.Builder
	for i := 0; i < roles; i++ {
		fmt.Fprintf(&src, "role group%d level 10 {\n    permission data { read }\n}\n", i)
	}
	m := mustPolicy(tb, src.String())
	d := OrgData{Org: "acme", Policy: m}
	for k := 0; k < resources; k++ {
		d.Resources = append(d.Resources, Resource{Namespace: "default", Type: "data", ID: "data" + strconv.Itoa(k)})
	}
	for j := 0; j < users; j++ {
		u := "user:u" + strconv.Itoa(j)
		d.Principals = append(d.Principals, Principal{ID: u})
		d.Bindings = append(d.Bindings, Binding{ID: "b" + strconv.Itoa(j), Principal: u, Role: "group" + strconv.Itoa(j/10),
			Scope: Scope{Namespace: "default", Type: "data", ID: "data" + strconv.Itoa(j/100)}})
	}
	e := New()
	if err := e.LoadOrg(1, d); err != nil {
		tb.Fatal(err)
	}
	r := rand.New(rand.NewPCG(5, 6))
	var reqs []Request
	for len(reqs) < 4096 {
		j := r.IntN(users)
		req := Request{Org: "acme", Principal: "user:u" + strconv.Itoa(j), ResourceType: "data", ResourceID: "data" + strconv.Itoa(j/100), Action: "read"}
		switch r.IntN(6) {
		case 3:
			req.ResourceID = "data" + strconv.Itoa((j/100+1)%resources)
		case 4:
			req.Action = "write"
		case 5:
			req.Principal = "user:u" + strconv.Itoa(users+j)
		}
		reqs = append(reqs, req)
	}
	return e, reqs
}

func benchCasbinShape(b *testing.B, roles, resources, users int) {
	e, reqs := casbinShape(b, roles, resources, users)
	b.ReportAllocs()
	b.ResetTimer()
	defer cputime.PerOp(b)()
	for i := 0; b.Loop(); i++ {
		e.Check(&reqs[i%len(reqs)])
	}
}

func BenchmarkCheckCasbinSmall(b *testing.B) { benchCasbinShape(b, 100, 10, 1000) }
func BenchmarkCheckCasbinLarge(b *testing.B) { benchCasbinShape(b, 10000, 1000, 100000) }

func BenchmarkCheckManyOrgs(b *testing.B) {
	benchCheck(b, synth{orgs: 1000, namespaces: 5, users: 100, roles: 20, types: 10, resources: 50, bindingsPerOrg: 1000})
}

func BenchmarkCheckFixture(b *testing.B) {
	e, _ := newFixture(b)
	req := mkReq("user:bob", "chains:run", "prod/chains/x")
	b.ReportAllocs()
	defer cputime.PerOp(b)()
	for b.Loop() {
		e.Check(&req)
	}
}

func BenchmarkCheckCondition(b *testing.B) {
	e, _ := newFixture(b)
	req := mkReq("user:hank", "members:invite", "prod/members/m", ctx("hour", 10))
	b.ReportAllocs()
	for b.Loop() {
		e.Check(&req)
	}
}

var orgs1m = synth{orgs: 1000, namespaces: 5, users: 100, roles: 20, types: 10, resources: 50, bindingsPerOrg: 1000}

// BenchmarkBuild1M loads 1,000 orgs with 1,000,000 bindings in total and
// reports the engine's heap per binding (the input data stays alive and is
// not counted) and the build time per op.
func BenchmarkBuild1M(b *testing.B) {
	data := buildSynth(b, orgs1m)
	b.ReportAllocs()
	for b.Loop() {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		e := loadSynth(b, data)
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/1e6, "bytes/binding")
		runtime.KeepAlive(e)
	}
}

// BenchmarkRetained1M is BenchmarkBuild1M as the server sees it: the
// input is generated for each build and dropped before measuring, so what
// the engine keeps alive of it (strings) is counted, and nothing else is
// on the heap. Besides bytes it reports what decides the collector's work
// on a big heap: objects per binding, bytes the collector must scan for
// pointers (runtime/metrics "/gc/scan/heap:bytes"), and the CPU time of
// one full collection.
//
// Two shapes: orgs1m (100 members an org) and members400 (400 members
// an org, as loadgen's orgs1m: 0.4 holders a binding).
func BenchmarkRetained1M(b *testing.B) {
	m400 := orgs1m
	m400.users = 400
	for _, s := range []struct {
		name string
		s    synth
	}{{"orgs1m", orgs1m}, {"members400", m400}} {
		b.Run(s.name, func(b *testing.B) { benchRetained(b, s.s) })
	}
}

func benchRetained(b *testing.B, s synth) {
	for b.Loop() {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		scanBefore := scanHeapBytes()
		data := buildSynth(b, s)
		e := loadSynth(b, data)
		data = nil
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/1e6, "bytes/binding")
		b.ReportMetric(float64(after.HeapObjects-before.HeapObjects)/1e6, "objects/binding")
		b.ReportMetric(float64(scanHeapBytes()-scanBefore)/1e6, "scan-bytes/binding")
		// The collector's CPU for one full cycle over this heap (the
		// engine is nearly all of it), best of three.
		best := time.Duration(1 << 62)
		for range 3 {
			c0 := cputime.Process()
			runtime.GC()
			best = min(best, cputime.Process()-c0)
		}
		b.ReportMetric(float64(best)/1e6, "gc-cpu-ms")
		runtime.KeepAlive(e)
	}
}

// scanHeapBytes is the runtime's count of heap bytes that may hold
// pointers (runtime/metrics "/gc/scan/heap:bytes", as of the last cycle).
func scanHeapBytes() int64 {
	s := []metrics.Sample{{Name: "/gc/scan/heap:bytes"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return int64(s[0].Value.Uint64())
}

// BenchmarkBindingChange1M measures one binding put on the 1M dataset,
// until visible to Check.
func BenchmarkBindingChange1M(b *testing.B) {
	w := world(b, orgs1m)
	e := w.e
	rev := e.Revision()
	req := Request{Org: "org500", Principal: "user:u7", Namespace: "ns1", ResourceType: "zz", Action: "zz"}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		rev++
		role := "super"
		if i%2 == 1 {
			role = "allread"
		}
		if err := e.Apply(rev, Change{Org: "org500", Op: OpPutBinding, Binding: Binding{ID: "bench-b", Principal: "user:u7", Role: role, Scope: Scope{Namespace: "ns1"}}}); err != nil {
			b.Fatal(err)
		}
		if e.Check(&req).Allowed != (role == "super") {
			b.Fatal("change not visible")
		}
	}
}

// BenchmarkBindingPutDelete1M: put a binding for a member without any, see
// it, delete it, see it gone (bench/'s BindingChange pattern).
func BenchmarkBindingPutDelete1M(b *testing.B) {
	w := world(b, orgs1m)
	e := w.e
	rev := e.Revision()
	if err := e.Apply(rev+1, Change{Org: "org500", Op: OpPutPrincipal, Principal: Principal{ID: "user:lurker"}}); err != nil {
		b.Fatal(err)
	}
	rev++
	req := Request{Org: "org500", Principal: "user:lurker", Namespace: "ns1", ResourceType: "zz", Action: "read"}
	put := Change{Org: "org500", Op: OpPutBinding, Binding: Binding{ID: "bench-b", Principal: "user:lurker", Role: "allread", Scope: Scope{Namespace: "ns1"}}}
	del := Change{Org: "org500", Op: OpDeleteBinding, ID: "bench-b"}
	b.ReportAllocs()
	for b.Loop() {
		rev++
		if err := e.Apply(rev, put); err != nil {
			b.Fatal(err)
		}
		if !e.Check(&req).Allowed {
			b.Fatal("put not visible")
		}
		rev++
		if err := e.Apply(rev, del); err != nil {
			b.Fatal(err)
		}
		if e.Check(&req).Allowed {
			b.Fatal("delete not visible")
		}
	}
}

// members400 is orgs1m with loadgen's 400 members an org (0.4 holders a
// binding).
var members400 = synth{orgs: 1000, namespaces: 5, users: 400, roles: 20, types: 10, resources: 50, bindingsPerOrg: 1000}

// evictBuf is walked between the checks of BenchmarkCheckCold.
var (
	evictBuf  []uint64
	evictSink uint64
)

// evictCaches reads one word of every 64-byte line of the first n bytes
// of evictBuf.
func evictCaches(n int) {
	if len(evictBuf) < n/8 {
		evictBuf = make([]uint64, n/8)
		for i := range evictBuf {
			evictBuf[i] = uint64(i)
		}
	}
	var s uint64
	for i := 0; i < n/8; i += 8 {
		s += evictBuf[i]
	}
	evictSink += s
}

// BenchmarkCheckCold is the engine's part of a check as the server sees
// it on orgs1m (issue 19 goal 1): random questions across 1,000 orgs of
// 1,000 bindings (400 members an org, as loadgen's orgs1m), and between
// two checks a walk over a buffer (untimed) that evicts what the check
// read, as net/http, the kernel and the generator do between two
// requests of the server. Two sizes: 8 MiB (above the 2 MiB L2 a core of
// the reference host has; its L3 is 480 MiB and keeps the engine) and
// 64 MiB (also most second-level TLB entries, and the L3 of a smaller
// host); 0 MiB is the same loop without the walk, cold only because
// each question is in another org (run it with -benchtime 2000x: past
// the 4,096 questions they repeat and warm up). ns/op includes the
// walk; check-p50-ns is the median of the check alone (timed with
// time.Now around it, not StopTimer, whose ReadMemStats stops the world
// and disturbs the caches itself; the median, because on a shared
// machine a check the scheduler preempts costs milliseconds and moves a
// mean by more than any layout change). Compare builds with benchstat,
// never with the hot benchmarks.
func BenchmarkCheckCold(b *testing.B) {
	w := world(b, members400)
	e, reqs := w.e, w.reqs
	for _, mib := range []int{0, 8, 64} {
		b.Run(strconv.Itoa(mib)+"MiB", func(b *testing.B) {
			n := mib << 20
			evictCaches(n)
			ds := make([]time.Duration, 0, 1<<16)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				evictCaches(n)
				t0 := time.Now()
				e.Check(&reqs[i%len(reqs)])
				if d := time.Since(t0); len(ds) < cap(ds) {
					ds = append(ds, d)
				}
			}
			slices.Sort(ds)
			b.ReportMetric(float64(ds[len(ds)/2].Nanoseconds()), "check-p50-ns")
		})
	}
}
