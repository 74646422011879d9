package authz

import (
	"hash/maphash"
	"iter"
	"maps"
)

// hashKey is a map key that can pick its shard.
type hashKey interface {
	comparable
	shardHash() uint64
}

var shardSeed = maphash.MakeSeed()

// skey is a string key (org names, principal ids, binding ids).
type skey string

func (k skey) shardHash() uint64 { return maphash.String(shardSeed, string(k)) }

// resKey identifies a resource inside an org.
type resKey struct{ ns, typ, id string }

func (k resKey) shardHash() uint64 {
	// Resources of one (namespace, type) spread over all shards by id.
	return maphash.String(shardSeed, k.id) ^ maphash.String(shardSeed, k.typ)
}

// nsType is a (namespace, type) bucket of the resource index.
type nsType struct{ ns, typ string }

func (k nsType) shardHash() uint64 {
	return maphash.String(shardSeed, k.ns) ^ maphash.String(shardSeed, k.typ)*31
}

const (
	cowShardTarget = 1024 // default: aim for about this many entries per shard
	cowShardMax    = 4096 // never more shards than this
)

// cowMap is a persistent (copy-on-write) hash map: a power-of-two number of
// ordinary Go maps, each shared between snapshots until a writer touches it.
//
// Invariant: a frozen cowMap (own == nil) is never modified; every snapshot
// a reader can reach holds only frozen maps. A writer calls thaw on its own
// copy of the header, mutates it (cloning each shard the first time it
// touches it, so a change costs O(n / shards) plus the shard table), then
// freeze. Readers need no locks: they only ever see frozen maps.
type cowMap[K hashKey, V any] struct {
	shards []map[K]V
	n      int
	target int    // entries per shard to aim for (the cost of one write)
	own    []bool // writer only: shards already cloned by this writer
}

// newCowMap returns an empty, thawed map sized for about n entries, with
// about target entries a shard (0: cowShardTarget). A write clones one
// shard, so target trades write cost (and garbage) against the fixed cost
// of a shard.
func newCowMap[K hashKey, V any](n, target int) cowMap[K, V] {
	if target <= 0 {
		target = cowShardTarget
	}
	s := 1
	for s*target < n && s < cowShardMax {
		s *= 2
	}
	m := cowMap[K, V]{shards: make([]map[K]V, s), own: make([]bool, s), target: target}
	for i := range m.shards {
		m.shards[i] = make(map[K]V, n/s)
		m.own[i] = true
	}
	return m
}

func (m *cowMap[K, V]) shard(k K) int {
	if len(m.shards) == 1 {
		return 0
	}
	return int(k.shardHash() & uint64(len(m.shards)-1))
}

// get returns the value for k. It never allocates.
func (m *cowMap[K, V]) get(k K) (V, bool) {
	if len(m.shards) == 0 {
		var zero V
		return zero, false
	}
	v, ok := m.shards[m.shard(k)][k]
	return v, ok
}

// thaw makes m a private, writable copy of the header; shards stay shared
// until written.
func (m *cowMap[K, V]) thaw() {
	if m.own != nil {
		return
	}
	if len(m.shards) == 0 {
		*m = newCowMap[K, V](0, m.target)
		return
	}
	m.shards = append([]map[K]V(nil), m.shards...)
	m.own = make([]bool, len(m.shards))
}

// freeze ends writing; m must not be modified afterwards.
func (m *cowMap[K, V]) freeze() { m.own = nil }

func (m *cowMap[K, V]) writable(i int) map[K]V {
	if m.own == nil {
		// Defensive: writing a frozen map first takes a private header,
		// so a shared snapshot is never modified.
		m.thaw()
	}
	if !m.own[i] {
		m.shards[i] = maps.Clone(m.shards[i])
		if m.shards[i] == nil {
			m.shards[i] = map[K]V{}
		}
		m.own[i] = true
	}
	return m.shards[i]
}

// set stores v under k (m must be thawed).
func (m *cowMap[K, V]) set(k K, v V) {
	sh := m.writable(m.shard(k))
	if _, ok := sh[k]; !ok {
		m.n++
	}
	sh[k] = v
	if len(sh) > 2*m.target && len(m.shards) < cowShardMax {
		m.grow()
	}
}

// del removes k (m must be thawed). Absent keys are ignored.
func (m *cowMap[K, V]) del(k K) {
	i := m.shard(k)
	if _, ok := m.shards[i][k]; !ok {
		return
	}
	delete(m.writable(i), k)
	m.n--
}

// grow doubles the number of shards, re-distributing every entry. It runs
// when a shard outgrows its target, so its O(n) cost is amortized over the
// inserts that led to it.
func (m *cowMap[K, V]) grow() {
	s := len(m.shards) * 2
	shards := make([]map[K]V, s)
	for i := range shards {
		shards[i] = make(map[K]V, m.n/s+1)
	}
	for _, sh := range m.shards {
		for k, v := range sh {
			shards[int(k.shardHash()&uint64(s-1))][k] = v
		}
	}
	m.shards = shards
	m.own = make([]bool, s)
	for i := range m.own {
		m.own[i] = true
	}
}

// all iterates over every entry, in no particular order.
func (m *cowMap[K, V]) all() iter.Seq2[K, V] {
	return func(yield func(K, V) bool) {
		for _, sh := range m.shards {
			for k, v := range sh {
				if !yield(k, v) {
					return
				}
			}
		}
	}
}
