package authz

import (
	"slices"
	"strconv"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestBindex exercises the binding index through growth, shard splits,
// removals and copy-on-write: a frozen copy never changes.
func TestBindex(t *testing.T) {
	const n = 5 * bindexShardTarget
	x := newBindex(nil)
	for i := 0; i < n; i++ {
		x.add("b"+strconv.Itoa(i), "user:u"+strconv.Itoa(i%7))
	}
	x.freeze()
	if x.bits == 0 {
		t.Fatalf("no shard split after %d adds", n)
	}
	frozen := x
	y := x
	y.thaw()
	for i := 0; i < n; i += 2 {
		y.remove("b"+strconv.Itoa(i), "user:u"+strconv.Itoa(i%7))
	}
	y.remove("b1", "user:nobody") // not its holder: nothing happens
	y.freeze()
	for i := 0; i < n; i++ {
		id, hid := "b"+strconv.Itoa(i), "user:u"+strconv.Itoa(i%7)
		if got := frozen.holders(id); !slices.ContainsFunc(got, func(e bentry) bool { return e.hid == hid }) {
			t.Fatalf("frozen: %s → %v, want %s", id, got, hid)
		}
		got := y.holders(id)
		has := slices.ContainsFunc(got, func(e bentry) bool { return e.hid == hid })
		if has != (i%2 == 1) {
			t.Fatalf("after removals: %s → %v", id, got)
		}
	}
	if y.n != n/2 || frozen.n != n {
		t.Errorf("counts %d and %d, want %d and %d", y.n, frozen.n, n/2, n)
	}
	for i, s := range y.shards {
		if !slices.IsSortedFunc(s, func(a, b bentry) int { return cmpU64(a.h, b.h) }) {
			t.Fatalf("shard %d not sorted", i)
		}
		for _, e := range s {
			if y.shard(e.h) != i {
				t.Fatalf("entry in shard %d belongs to %d", i, y.shard(e.h))
			}
		}
	}
}

func cmpU64(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// TestBigOrgIndexesBindings runs an org past the size where it keeps a
// binding index (built at load, and grown into by Apply) and checks that
// replacing and deleting bindings by id still works.
func TestBigOrgIndexesBindings(t *testing.T) {
	m := mustPolicy(t, testPolicy)
	for _, start := range []int{10, bindexMin + 10} {
		d := OrgData{Org: "big", Policy: m, Namespaces: []string{"prod"}}
		for i := 0; i < 50; i++ {
			d.Principals = append(d.Principals, Principal{ID: "user:u" + strconv.Itoa(i)})
		}
		bid := func(i int) string { return "b" + strconv.Itoa(i) }
		user := func(i int) string { return "user:u" + strconv.Itoa(i%50) }
		for i := 0; i < start; i++ {
			d.Bindings = append(d.Bindings, roleB(bid(i), user(i), "viewer", resScope("prod", "chains", "c"+strconv.Itoa(i))))
		}
		e := New()
		if err := e.LoadOrg(1, d); err != nil {
			t.Fatal(err)
		}
		rev := uint64(1)
		total := 2*bindexMin + 100
		for i := start; i < total; i += 500 {
			var cs []Change
			for j := i; j < min(i+500, total); j++ {
				cs = append(cs, Change{Org: "big", Op: OpPutBinding, Binding: roleB(bid(j), user(j), "viewer", resScope("prod", "chains", "c"+strconv.Itoa(j)))})
			}
			rev++
			if err := e.Apply(rev, cs...); err != nil {
				t.Fatal(err)
			}
		}
		o, _ := e.cur.Load().org("big")
		if !o.bindings.enabled || o.nBindings != total {
			t.Fatalf("start %d: indexed %v, %d bindings, want true, %d", start, o.bindings.enabled, o.nBindings, total)
		}
		// Move binding 7 to another user, delete binding 8.
		rev++
		if err := e.Apply(rev,
			Change{Org: "big", Op: OpPutBinding, Binding: roleB(bid(7), "user:u49", "operator", resScope("prod", "chains", "c7"))},
			Change{Org: "big", Op: OpDeleteBinding, ID: bid(8)},
		); err != nil {
			t.Fatal(err)
		}
		r := func(p, perm, id string) Request {
			return Request{Org: "big", Principal: p, Namespace: "prod", ResourceType: "chains", ResourceID: id, Action: perm}
		}
		for _, c := range []struct {
			req  Request
			want bool
		}{
			{r(user(7), "read", "c7"), false},
			{r("user:u49", "run", "c7"), true},
			{r(user(8), "read", "c8"), false},
			{r(user(9), "read", "c9"), true},
			{r(user(total-1), "read", "c"+strconv.Itoa(total-1)), true},
		} {
			// c7..c9 do not exist as resources: resource grants need them.
			if got := e.Check(&c.req).Allowed; got {
				t.Errorf("start %d: %+v allowed on a resource that does not exist", start, c.req)
			}
		}
		var cs []Change
		for _, id := range []string{"c7", "c8", "c9", "c" + strconv.Itoa(total-1)} {
			cs = append(cs, Change{Org: "big", Op: OpPutResource, Resource: Resource{Namespace: "prod", Type: "chains", ID: id}})
		}
		rev++
		if err := e.Apply(rev, cs...); err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			req  Request
			want bool
		}{
			{r(user(7), "read", "c7"), false},
			{r("user:u49", "run", "c7"), true},
			{r(user(8), "read", "c8"), false},
			{r(user(9), "read", "c9"), true},
			{r(user(total-1), "read", "c"+strconv.Itoa(total-1)), true},
		} {
			if got := e.Check(&c.req).Allowed; got != c.want {
				t.Errorf("start %d: %+v: allowed %v, want %v", start, c.req, got, c.want)
			}
		}
		o, _ = e.cur.Load().org("big")
		if o.nBindings != total-1 {
			t.Errorf("start %d: %d bindings, want %d", start, o.nBindings, total-1)
		}
	}
}

// TestNewBindex: an index built at once from entries in any order has
// every shard sorted, every entry in its shard and every binding found,
// for sizes from empty to several shards.
func TestNewBindex(t *testing.T) {
	for _, n := range []int{0, 1, bindexShardTarget, bindexShardTarget + 1, 5*bindexShardTarget + 3} {
		t.Run(strconv.Itoa(n), func(t *testing.T) {
			es := make([]bentry, n)
			for i := range es {
				j := (i * 7919) % n // not in hash order
				es[i] = bentry{bindingHash("b" + strconv.Itoa(j)), "user:u" + strconv.Itoa(j%7)}
			}
			x := newBindex(es)
			if x.n != n || len(x.shards) != 1<<x.bits {
				t.Fatalf("n %d, %d shards for %d bits; want n %d", x.n, len(x.shards), x.bits, n)
			}
			if n > bindexShardTarget && x.bits == 0 {
				t.Fatalf("%d entries in one shard", n)
			}
			total := 0
			for i, s := range x.shards {
				total += len(s)
				if !slices.IsSortedFunc(s, func(a, b bentry) int { return cmpU64(a.h, b.h) }) {
					t.Fatalf("shard %d not sorted", i)
				}
				for _, e := range s {
					if x.shard(e.h) != i {
						t.Fatalf("entry in shard %d belongs to %d", i, x.shard(e.h))
					}
				}
			}
			if total != n {
				t.Fatalf("%d entries in the shards, want %d", total, n)
			}
			for j := 0; j < n; j++ {
				id, hid := "b"+strconv.Itoa(j), "user:u"+strconv.Itoa(j%7)
				if got := x.holders(id); !slices.ContainsFunc(got, func(e bentry) bool { return e.hid == hid }) {
					t.Fatalf("%s → %v, want %s", id, got, hid)
				}
			}
		})
	}
}

// TestSmallOrgBatchFindsBindings: an Apply of many changes to a small org
// (no bindex) finds bindings by id from a map it builds after a few
// scans (scanMapAfter); replacing, moving and deleting bindings by id in
// one batch — a namespace deleted in between, dropping its bindings —
// leaves exactly the bindings a change-by-change Apply leaves.
func TestSmallOrgBatchFindsBindings(t *testing.T) {
	m := mustPolicy(t, testPolicy)
	user := func(i int) string { return "user:u" + strconv.Itoa(i%7) }
	bid := func(i int) string { return "b" + strconv.Itoa(i) }
	var cs []Change
	for i := range 40 {
		cs = append(cs, Change{Org: "small", Op: OpPutBinding, Binding: roleB(bid(i), user(i), "viewer", nsScope([]string{"prod", "dev"}[i%2]))})
	}
	cs = append(cs,
		Change{Org: "small", Op: OpPutBinding, Binding: roleB(bid(3), "user:u9", "operator", nsScope("prod"))}, // moved to a new holder
		Change{Org: "small", Op: OpPutBinding, Binding: roleB(bid(4), user(4), "operator", nsScope("prod"))},   // replaced in place
		Change{Org: "small", Op: OpDeleteBinding, ID: bid(6)},                                                  // deleted
		Change{Org: "small", Op: OpDeleteNamespace, ID: "dev"},                                                 // drops the odd ones
		Change{Org: "small", Op: OpPutBinding, Binding: roleB(bid(5), "user:u9", "viewer", nsScope("prod"))},   // dropped, made again
		Change{Org: "small", Op: OpDeleteBinding, ID: bid(7)},                                                  // already dropped
		Change{Org: "small", Op: OpPutBinding, Binding: roleB(bid(3), user(3), "viewer", nsScope("prod"))},     // moved back
		Change{Org: "small", Op: OpDeleteBinding, ID: bid(8)},                                                  // deleted
		Change{Org: "small", Op: OpPutNamespace, ID: "dev"},
	)
	load := func() *Engine {
		t.Helper()
		d := OrgData{Org: "small", Policy: m, Namespaces: []string{"prod", "dev"}}
		for i := range 10 {
			d.Principals = append(d.Principals, Principal{ID: "user:u" + strconv.Itoa(i)})
		}
		e := New()
		if err := e.LoadOrg(1, d); err != nil {
			t.Fatal(err)
		}
		return e
	}
	batch, one := load(), load()
	if err := batch.Apply(2, cs...); err != nil {
		t.Fatal(err)
	}
	for i, c := range cs {
		if err := one.Apply(uint64(2+i), c); err != nil {
			t.Fatal(err)
		}
	}
	holders := func(e *Engine) map[string]string {
		o, _ := e.cur.Load().org("small")
		if o.scan != nil {
			t.Error("a published snapshot keeps its writer's map")
		}
		got := map[string]string{}
		for hid, h := range o.holders.all() {
			for i := range h.gs() {
				got[h.str(h.gs()[i].id)] = string(hid) + "@" + o.nsNames[h.gs()[i].ns]
			}
		}
		if len(got) != o.nBindings {
			t.Errorf("%d bindings held, nBindings %d", len(got), o.nBindings)
		}
		return got
	}
	want := holders(one)
	if diff := cmp.Diff(want, holders(batch)); diff != "" {
		t.Errorf("bindings after one batch (-change by change +batch):\n%s", diff)
	}
	for id, w := range map[string]string{bid(3): "user:u3@prod", bid(5): "user:u9@prod", bid(4): "user:u4@prod"} {
		if want[id] != w {
			t.Errorf("binding %s held as %q, want %q", id, want[id], w)
		}
	}
	for _, id := range []string{bid(6), bid(7), bid(8)} {
		if _, ok := want[id]; ok {
			t.Errorf("binding %s survived", id)
		}
	}
}
