package bench

import (
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/casbin/casbin/v2"
	"github.com/gatehouse-dev/gatehouse/authz"
)

// Run with (see docs/benchmarks.md):
//
//	go test -run '^$' -bench . -benchmem -count 6 -timeout 60m

// Datasets of BenchmarkCheck and BenchmarkColdBuild, in run order.
var checkDatasets = []string{"small", "large", "orgs1m", "wildcard"}

// Fixed seeds: every run compares the same data.
var generators = map[string]func() (*Dataset, error){
	"small":    func() (*Dataset, error) { return CasbinShape("small", 100, 10, 1000, 1) },
	"large":    func() (*Dataset, error) { return CasbinShape("large", 10000, 1000, 100000, 2) },
	"orgs1m":   func() (*Dataset, error) { return Orgs("orgs1m", 1000, 3) },
	"wildcard": func() (*Dataset, error) { return Wildcard("wildcard", 100, 1000, 20, 4) },
	"lookup":   func() (*Dataset, error) { return LookupDataset("10k_of_1m", 100, 10000, 5) },
}

// lazy computes a value once and keeps it until released; an error is
// remembered too, so every benchmark that needs a broken fixture fails with
// the same message. Benchmarks release what they no longer need: a live
// orgs1m Casbin enforcer would otherwise slow down every runtime.GC the
// testing package forces between later benchmark runs.
type lazy[T any] struct {
	mu   sync.Mutex
	done bool
	v    T
	err  error
}

func (l *lazy[T]) get(f func() (T, error)) (T, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.done {
		l.v, l.err = f()
		l.done = true
	}
	return l.v, l.err
}

// release drops the value; the next get computes it again.
func (l *lazy[T]) release() {
	l.mu.Lock()
	defer l.mu.Unlock()
	var zero T
	l.v, l.err, l.done = zero, nil, false
}

// Process-wide caches, one entry per dataset name (fixed keys, filled at
// init, so the maps themselves are only read).
var (
	datasets     = map[string]*lazy[*Dataset]{}
	ghFixtures   = map[string]*lazy[*engineFixture[*authz.Engine]]{}
	cbFixtures   = map[string]*lazy[*engineFixture[*casbin.Enforcer]]{}
	ctFixtures   = map[string]*lazy[*engineFixture[*CasbinPerTenant]]{}
	changeEngine lazy[*authz.Engine]
	lookupEngine lazy[*authz.Engine]
)

func init() {
	for name := range generators {
		datasets[name] = &lazy[*Dataset]{}
		ghFixtures[name] = &lazy[*engineFixture[*authz.Engine]]{}
		cbFixtures[name] = &lazy[*engineFixture[*casbin.Enforcer]]{}
		ctFixtures[name] = &lazy[*engineFixture[*CasbinPerTenant]]{}
	}
}

// dataset returns the named dataset, generating it on first use.
func dataset(b testing.TB, name string) *Dataset {
	b.Helper()
	l, ok := datasets[name]
	if !ok {
		b.Fatalf("no dataset %q", name)
	}
	d, err := l.get(generators[name])
	if err != nil {
		b.Fatalf("dataset %s: %v", name, err)
	}
	return d
}

// engineFixture is one engine built from a dataset and verified.
type engineFixture[E any] struct {
	d *Dataset
	e E
	// next is where the next run of the engine's Check benchmark starts in
	// the mix. Each run continues where the previous one (smaller b.N, or
	// the previous -count) stopped, so that when a single check takes about
	// a second (Casbin on orgs1m: b.N is 1 or 2) successive runs still walk
	// through the whole mix rather than timing request 0 again.
	next int
}

// fixture builds an engine for the named dataset once and verifies, before
// anything is timed, that it answers every request of the mix as the
// reference evaluator does. Both engines are verified against the same
// labels, so when both Check benchmarks of a dataset run, the engines agree
// on every request; an engine that disagrees fails its benchmark (and the
// run). Each engine is built only when its own benchmark runs, so a
// Gatehouse-only run (-bench 'Check/.*/gatehouse') never pays for Casbin.
func fixture[E any](b *testing.B, engine, name string, cache map[string]*lazy[*engineFixture[E]],
	build func(*Dataset) (E, error), verify func(E, []Request) error) *engineFixture[E] {
	b.Helper()
	d := dataset(b, name)
	f, err := cache[name].get(func() (*engineFixture[E], error) {
		start := time.Now()
		e, err := build(d)
		if err != nil {
			return nil, err
		}
		built := time.Since(start)
		if err := verify(e, d.Requests); err != nil {
			return nil, err
		}
		b.Logf("%s: %d orgs, %d bindings, %d resources, casbin %d p + %d g rules; %s built in %v",
			name, len(d.Orgs), d.Bindings(), d.Resources(), len(d.CasbinP), len(d.CasbinG), engine, built.Round(time.Millisecond))
		return &engineFixture[E]{d: d, e: e}, nil
	})
	if err != nil {
		b.Fatalf("%s: %v", name, err)
	}
	return f
}

func gatehouseFixture(b *testing.B, name string) *engineFixture[*authz.Engine] {
	return fixture(b, "gatehouse", name, ghFixtures, func(d *Dataset) (*authz.Engine, error) { return BuildGatehouse(d.Orgs) }, VerifyGatehouse)
}

func casbinFixture(b *testing.B, name string) *engineFixture[*casbin.Enforcer] {
	return fixture(b, "casbin", name, cbFixtures, BuildCasbin, VerifyCasbin)
}

func casbinPerTenantFixture(b *testing.B, name string) *engineFixture[*CasbinPerTenant] {
	return fixture(b, "casbin-per-tenant", name, ctFixtures, BuildCasbinPerTenant, VerifyCasbinPerTenant)
}

// wantAllowed is how many of the n requests of the cyclic mix starting at
// index start are allowed: the timed loops count their allows and compare,
// so a loop whose answers drift fails and no call can be optimised away.
func wantAllowed(reqs []Request, start, n int) int {
	per := 0
	for i := range reqs {
		if reqs[i].Want {
			per++
		}
	}
	got := n / len(reqs) * per
	for i := range n % len(reqs) {
		if reqs[(start+i)%len(reqs)].Want {
			got++
		}
	}
	return got
}

// BenchmarkCheck times one decision, cycling through the dataset's fixed
// mix (half allowed, half denied), for Gatehouse and Casbin on the same data.
func BenchmarkCheck(b *testing.B) {
	for _, name := range checkDatasets {
		b.Run(name, func(b *testing.B) {
			b.Run("gatehouse", func(b *testing.B) {
				f := gatehouseFixture(b, name)
				e, reqs, start := f.e, f.d.Requests, f.next
				f.next = (start + b.N) % len(reqs)
				b.ReportAllocs()
				b.ResetTimer()
				allowed := 0
				for i := 0; i < b.N; i++ {
					if e.Check(&reqs[(start+i)%len(reqs)].Gatehouse).Allowed {
						allowed++
					}
				}
				b.StopTimer()
				if want := wantAllowed(reqs, start, b.N); allowed != want {
					b.Fatalf("gatehouse allowed %d of %d requests, want %d", allowed, b.N, want)
				}
			})
			ghFixtures[name].release() // -count repeats run inside b.Run: done with it
			b.Run("casbin", func(b *testing.B) {
				f := casbinFixture(b, name)
				e, reqs, start := f.e, f.d.Requests, f.next
				f.next = (start + b.N) % len(reqs)
				b.ReportAllocs()
				b.ResetTimer()
				allowed := 0
				for i := 0; i < b.N; i++ {
					ok, err := e.Enforce(reqs[(start+i)%len(reqs)].Casbin...)
					if err != nil {
						b.Fatal(err)
					}
					if ok {
						allowed++
					}
				}
				b.StopTimer()
				if want := wantAllowed(reqs, start, b.N); allowed != want {
					b.Fatalf("casbin allowed %d of %d requests, want %d", allowed, b.N, want)
				}
			})
			cbFixtures[name].release()
			// Casbin's best practice for multi-tenant data (issue 19): an
			// enforcer per domain, the request routed to its domain's.
			b.Run("casbin-per-tenant", func(b *testing.B) {
				f := casbinPerTenantFixture(b, name)
				e, reqs, start := f.e, f.d.Requests, f.next
				f.next = (start + b.N) % len(reqs)
				b.ReportAllocs()
				b.ResetTimer()
				allowed := 0
				for i := 0; i < b.N; i++ {
					ok, err := e.Enforce(reqs[(start+i)%len(reqs)].Casbin...)
					if err != nil {
						b.Fatal(err)
					}
					if ok {
						allowed++
					}
				}
				b.StopTimer()
				if want := wantAllowed(reqs, start, b.N); allowed != want {
					b.Fatalf("casbin-per-tenant allowed %d of %d requests, want %d", allowed, b.N, want)
				}
			})
			ctFixtures[name].release()
		})
	}
}

// spotCheck is how many requests of the mix (half allowed) a freshly built
// engine of BenchmarkColdBuild must answer right.
const spotCheck = 4

// sink keeps built engines reachable so that building is not dead code.
var sink any

// BenchmarkColdBuild times building an engine from prepared data: for
// Gatehouse New + LoadOrg per org (goal for orgs1m: ≤ 2 s); for Casbin
// NewEnforcer + AddPolicies + AddGroupingPolicies. After the timer stops,
// the last engine built is spot-checked on the first spotCheck requests of
// the mix (all of it would take Casbin a minute on orgs1m).
func BenchmarkColdBuild(b *testing.B) {
	for _, name := range checkDatasets {
		b.Run(name, func(b *testing.B) {
			b.Run("gatehouse", func(b *testing.B) {
				d := dataset(b, name)
				b.ReportAllocs()
				b.ResetTimer()
				var e *authz.Engine
				for i := 0; i < b.N; i++ {
					var err error
					if e, err = BuildGatehouse(d.Orgs); err != nil {
						b.Fatal(err)
					}
					sink = e
				}
				b.StopTimer()
				if err := VerifyGatehouse(e, d.Requests[:spotCheck]); err != nil {
					b.Fatal(err)
				}
				sink = nil
			})
			b.Run("casbin", func(b *testing.B) {
				d := dataset(b, name)
				b.ReportAllocs()
				b.ResetTimer()
				var e *casbin.Enforcer
				for i := 0; i < b.N; i++ {
					var err error
					if e, err = BuildCasbin(d); err != nil {
						b.Fatal(err)
					}
					sink = e
				}
				b.StopTimer()
				if err := VerifyCasbin(e, d.Requests[:spotCheck]); err != nil {
					b.Fatal(err)
				}
				sink = nil
			})
		})
	}
}

// heapAlloc is the live heap after two full collections.
func heapAlloc() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// BenchmarkHeapPerBinding reports the live heap a Gatehouse engine holding
// orgs1m adds, per binding: bytes/binding (goal ≤ 128). The input OrgData is
// alive before and after, so only what the engine itself retains counts —
// including its indexes of the 420,000 principals and 150,000 resources,
// which are part of the price. To tell the two apart it also reports
// marginal-bytes/binding: the same heap minus that of an engine holding the
// same orgs without any binding. ns/op is the build time and not the point.
func BenchmarkHeapPerBinding(b *testing.B) {
	b.Run("orgs1m", func(b *testing.B) {
		d := dataset(b, "orgs1m")
		bare := make([]authz.OrgData, len(d.Orgs))
		for i, od := range d.Orgs {
			od.Bindings = nil
			bare[i] = od
		}
		// retained times only the build; the collections around it are not.
		retained := func(orgs []authz.OrgData) float64 {
			b.StopTimer()
			before := heapAlloc()
			b.StartTimer()
			e, err := BuildGatehouse(orgs)
			if err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			after := heapAlloc()
			runtime.KeepAlive(e)
			b.StartTimer()
			return float64(int64(after) - int64(before))
		}
		base := retained(bare)
		var total float64
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			total = retained(d.Orgs)
		}
		b.StopTimer()
		n := float64(d.Bindings())
		b.ReportMetric(total/n, "bytes/binding")
		b.ReportMetric((total-base)/n, "marginal-bytes/binding")
		b.ReportMetric(total/(1<<20), "heap-MiB")
	})
}

// BenchmarkBindingChange times, on an engine holding orgs1m, Apply of one
// binding put followed by the Check that sees it (goal ≤ 10 ms). Between
// iterations, with the timer stopped, the binding is deleted again and the
// Check must deny, so every iteration starts from the same state.
func BenchmarkBindingChange(b *testing.B) {
	b.Run("orgs1m", func(b *testing.B) {
		d := dataset(b, "orgs1m")
		e, err := changeEngine.get(func() (*authz.Engine, error) { return BuildGatehouse(d.Orgs) })
		if err != nil {
			b.Fatal(err)
		}
		o := len(d.Orgs) / 2
		lurker := OrgUser(o, orgsUsers) // a member without bindings
		req := NewRequest(OrgName(o), lurker, "prod", "chains", "c3", "read").Gatehouse
		put := authz.Change{Org: OrgName(o), Op: authz.OpPutBinding, Binding: authz.Binding{
			ID: "bench-change", Principal: lurker, Role: "viewer", Scope: authz.Scope{Namespace: "prod"},
		}}
		del := authz.Change{Org: OrgName(o), Op: authz.OpDeleteBinding, ID: "bench-change"}
		if e.Check(&req).Allowed {
			b.Fatalf("%s may already read chains/c3 in prod before the change", lurker)
		}
		rev := e.Revision()
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			rev++
			if err := e.Apply(rev, put); err != nil {
				b.Fatal(err)
			}
			if !e.Check(&req).Allowed {
				b.Fatalf("revision %d: the new binding is not visible to Check", rev)
			}
			b.StopTimer()
			rev++
			if err := e.Apply(rev, del); err != nil {
				b.Fatal(err)
			}
			if e.Check(&req).Allowed {
				b.Fatalf("revision %d: the deleted binding still allows", rev)
			}
			b.StartTimer()
		}
	})
	changeEngine.release()
}

// lookupAll pages through a resource lookup and returns every resource.
func lookupAll(e *authz.Engine, q authz.LookupResourcesRequest, dst []authz.ResourceRef) ([]authz.ResourceRef, error) {
	q.PageToken = ""
	for pages := 0; ; pages++ {
		if pages > 1_000_000 {
			return dst, fmt.Errorf("lookup did not end after %d pages", pages)
		}
		p, err := e.LookupResources(q)
		if err != nil {
			return dst, err
		}
		dst = append(dst, p.Resources...)
		if p.NextPageToken == "" {
			return dst, nil
		}
		q.PageToken = p.NextPageToken
	}
}

// lookupQuery is the lookup of BenchmarkLookupResources: every chain the
// reader may read, in all namespaces, 10,000 per page.
var lookupQuery = authz.LookupResourcesRequest{
	Org: LookupOrg, Principal: LookupReader, Type: "chains", Action: "read", PageSize: 10_000,
}

// BenchmarkLookupResources times paging through every resource the reader
// may read: 10,000 chains of the 1,000,000 of one org (goal ≤ 10 ms). The
// result is verified (exactly the chains of LookupNamespace, in order) before
// timing, and its size in every iteration.
func BenchmarkLookupResources(b *testing.B) {
	b.Run("10k_of_1m", func(b *testing.B) {
		d := dataset(b, "lookup")
		e, err := lookupEngine.get(func() (*authz.Engine, error) {
			e, err := BuildGatehouse(d.Orgs)
			if err != nil {
				return nil, err
			}
			return e, CheckLookup(e, d, lookupQuery)
		})
		if err != nil {
			b.Fatal(err)
		}
		want := len(WantLookup(d))
		buf := make([]authz.ResourceRef, 0, want)
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			got, err := lookupAll(e, lookupQuery, buf[:0])
			if err != nil {
				b.Fatal(err)
			}
			if len(got) != want {
				b.Fatalf("lookup returned %d resources, want %d", len(got), want)
			}
		}
	})
	lookupEngine.release()
	datasets["lookup"].release()
}
