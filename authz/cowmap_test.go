package authz

import (
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// collKey is a key whose hash takes few values, so that many keys share a
// shard, a home slot and even a tag: probing, backward-shift deletion and
// key comparison after a tag match are all exercised.
type collKey int

func (k collKey) shardHash() uint64 { return uint64(k%3)<<32 | uint64(k%2) | uint64(k%4)<<63 }

// TestCowMapAgainstMap drives cowMap through random sets and deletes —
// shard growth, table resizes, deletions in probe chains — beside a Go map,
// freezing and thawing now and then: the map always holds what the model
// holds, and every frozen copy keeps what it held when frozen.
func TestCowMapAgainstMap(t *testing.T) {
	t.Run("skey", func(t *testing.T) {
		testCowMap(t, func(i int) skey { return skey("user:u" + strconv.Itoa(i)) })
	})
	t.Run("colliding", func(t *testing.T) {
		testCowMap(t, func(i int) collKey { return collKey(i) })
	})
}

func testCowMap[K hashKey](t *testing.T, key func(int) K) {
	t.Helper()
	const keys, ops = 600, 20000
	r := rand.New(rand.NewPCG(1, 2))
	m := newCowMap[K, int](0, 8)
	model := map[K]int{}
	type frozen struct {
		m    cowMap[K, int]
		want map[K]int
	}
	var snaps []frozen
	for op := range ops {
		k := key(r.IntN(keys))
		if r.IntN(3) == 0 {
			m.del(k)
			delete(model, k)
		} else {
			m.set(k, op)
			model[k] = op
		}
		if op%997 == 0 {
			m.freeze()
			want := make(map[K]int, len(model))
			for k, v := range model {
				want[k] = v
			}
			snaps = append(snaps, frozen{m, want})
			m.thaw()
		}
	}
	if diff := cmp.Diff(model, contents(t, &m)); diff != "" {
		t.Fatalf("map differs from the model (-want +got):\n%s", diff)
	}
	for i := range keys {
		k := key(i)
		v, ok := m.get(k)
		w, wok := model[k]
		if v != w || ok != wok {
			t.Fatalf("get(%v) = %d, %v; want %d, %v", k, v, ok, w, wok)
		}
	}
	if len(m.shards) < 2 {
		t.Errorf("%d shards: the test did not grow the map", len(m.shards))
	}
	for i, s := range snaps {
		if diff := cmp.Diff(s.want, contents(t, &s.m)); diff != "" {
			t.Fatalf("frozen copy %d changed (-want +got):\n%s", i, diff)
		}
	}
}

// contents reads m by all(), checking that each entry is where get finds
// it and that the counts agree.
func contents[K hashKey](t *testing.T, m *cowMap[K, int]) map[K]int {
	t.Helper()
	got := map[K]int{}
	for k, v := range m.all() {
		if _, dup := got[k]; dup {
			t.Fatalf("all() yields %v twice", k)
		}
		got[k] = v
		if g, ok := m.get(k); !ok || g != v {
			t.Fatalf("all() yields %v → %d but get gives %d, %v", k, v, g, ok)
		}
	}
	n := 0
	for i := range m.shards {
		n += m.shards[i].n
	}
	if n != len(got) || m.n != len(got) {
		t.Fatalf("counts: shards %d, map %d, entries %d", n, m.n, len(got))
	}
	return got
}

// TestKeyHashesCoverEveryField: a composite key's hash changes with each
// of its fields, and equal fields do not cancel out. The hash picks a
// cowTable slot as well as a shard, so a field left out (resources with
// one type and id in many namespaces) would put every such key in one
// probe chain.
func TestKeyHashesCoverEveryField(t *testing.T) {
	res := resKey{"prod", "chains", "main"}
	for _, other := range []resKey{{"dev", "chains", "main"}, {"prod", "tools", "main"}, {"prod", "chains", "other"}, {"main", "chains", "prod"}} {
		if res.shardHash() == other.shardHash() {
			t.Errorf("%+v and %+v hash alike", res, other)
		}
	}
	if same := (resKey{"x", "x", "x"}); same.shardHash() == (resKey{"y", "y", "y"}).shardHash() {
		t.Errorf("keys of three equal fields hash alike (the fields cancel)")
	}
	nt := nsType{"prod", "chains"}
	for _, other := range []nsType{{"dev", "chains"}, {"prod", "tools"}, {"chains", "prod"}} {
		if nt.shardHash() == other.shardHash() {
			t.Errorf("%+v and %+v hash alike", nt, other)
		}
	}
	if (nsType{"a", "a"}).shardHash() == (nsType{"b", "b"}).shardHash() {
		t.Errorf("namespace and type equal: the fields cancel")
	}
}

// TestCowMapOneShard: a frozen map of one shard is read through its
// inline slot array (cowMap.one); a writer's thawed copy must not read
// that array once it has changed the map, and the frozen copy must not
// see the writer's changes.
func TestCowMapOneShard(t *testing.T) {
	m := newCowMap[skey, int](0, 0)
	for i := range 5 {
		m.set(skey("user:u"+strconv.Itoa(i)), i)
	}
	m.freeze()
	if m.one == nil {
		t.Fatal("a frozen one-shard map has no inline slot array: the test tests nothing")
	}
	old := m
	m.thaw()
	m.set("user:new", 10)
	m.del("user:u0")
	steps := []struct {
		name string
		m    *cowMap[skey, int]
		want map[skey]int
	}{
		{"thawed", &m, map[skey]int{"user:u1": 1, "user:u2": 2, "user:u3": 3, "user:u4": 4, "user:new": 10}},
		{"old frozen", &old, map[skey]int{"user:u0": 0, "user:u1": 1, "user:u2": 2, "user:u3": 3, "user:u4": 4}},
	}
	for _, s := range steps {
		for _, k := range []skey{"user:u0", "user:u1", "user:u4", "user:new"} {
			v, ok := s.m.get(k)
			w, wok := s.want[k]
			if v != w || ok != wok {
				t.Errorf("%s: get(%s) = %d, %v; want %d, %v", s.name, k, v, ok, w, wok)
			}
		}
	}
	m.freeze()
	if v, ok := m.get("user:new"); !ok || v != 10 {
		t.Errorf("refrozen: get(user:new) = %d, %v; want 10, true", v, ok)
	}
	if diff := cmp.Diff(steps[0].want, contents(t, &m)); diff != "" {
		t.Errorf("refrozen map (-want +got):\n%s", diff)
	}
}
