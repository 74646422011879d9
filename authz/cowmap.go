package authz

import (
	"hash/maphash"
	"iter"
	"math/bits"
	"slices"
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
	// Every field counts, each rotated apart so that equal fields do not
	// cancel: the hash picks the slot as well as the shard (cowTable), so
	// resources with one type and id in many namespaces — a chain "main"
	// in every tenant's namespace — must not share a hash and make one
	// long probe.
	return maphash.String(shardSeed, k.id) ^ bits.RotateLeft64(maphash.String(shardSeed, k.typ), 21) ^
		bits.RotateLeft64(maphash.String(shardSeed, k.ns), 42)
}

// nsType is a (namespace, type) bucket of the resource index.
type nsType struct{ ns, typ string }

func (k nsType) shardHash() uint64 {
	return maphash.String(shardSeed, k.ns) ^ bits.RotateLeft64(maphash.String(shardSeed, k.typ), 21)
}

const (
	cowShardTarget = 1024 // default: aim for about this many entries per shard
	cowShardMax    = 4096 // never more shards than this
)

// cowMap is a persistent (copy-on-write) hash map: a power-of-two number of
// shards, each an open-addressing table (cowTable) shared between
// snapshots until a writer touches it.
//
// Invariant: a frozen cowMap (own == nil) is never modified; every snapshot
// a reader can reach holds only frozen tables. A writer calls thaw on its
// own copy of the header, mutates it (cloning each shard the first time it
// touches it, so a change costs O(n / shards) plus the shard table), then
// freeze. Readers need no locks: they only ever see frozen tables.
//
// The shards are tables rather than Go maps for the check's cold path
// (issue 19): a lookup in a Go map of a few hundred entries follows the
// map header, its directory, the table and the group before it reaches
// the key, each a likely cache miss on orgs1m; a cowTable lookup reads the
// shard's slot array (its header is in the shard slice) and the key, and
// the key's hash — computed once, for the shard and the slot — is stored
// in the slot, so other keys are rarely compared.
type cowMap[K hashKey, V any] struct {
	// one is the slot array of a frozen map's only shard (nil when the map
	// has more shards, none, or is thawed), so that a lookup in a small
	// map — an org's holders up to a few hundred members — reads the
	// slots without first reading the shard array: one cache miss fewer
	// on the check's cold path (issue 19). Set by freeze, cleared by
	// thaw.
	one    []cowSlot[K, V]
	shards []cowTable[K, V]
	n      int
	target int    // entries per shard to aim for (the cost of one write)
	own    []bool // writer only: shards already cloned by this writer
}

// cowTable is one shard: linear probing over a power-of-two slot array,
// at most 7/8 full (so a probe always ends at an empty slot; the tags make
// a longer probe cheap, and the bytes a binding costs stay within issue
// 19's bound), deletion by
// backward shift (no tombstones). A slot's tag is its key's hash with the
// top bit set; 0 marks an empty slot. The shard is chosen by the tag's low
// bits (the hash's) and the home slot by bits 32 and up, so the two do not
// correlate.
type cowTable[K hashKey, V any] struct {
	slots []cowSlot[K, V]
	n     int
}

type cowSlot[K hashKey, V any] struct {
	tag uint64
	k   K
	v   V
}

func tagOf(h uint64) uint64 { return h | 1<<63 }

func (t *cowTable[K, V]) home(tag uint64) int { return int(tag>>32) & (len(t.slots) - 1) }

// find returns the slot holding k (true), or the empty slot where k would
// go (false; -1 when the table has no slots).
func (t *cowTable[K, V]) find(tag uint64, k K) (int, bool) {
	if len(t.slots) == 0 {
		return -1, false
	}
	mask := len(t.slots) - 1
	for i := t.home(tag); ; i = (i + 1) & mask {
		s := &t.slots[i]
		if s.tag == 0 {
			return i, false
		}
		if s.tag == tag && s.k == k {
			return i, true
		}
	}
}

// slotsFor is the slot count for n entries: a power of two, at most 7/8
// full, at least 8 (0 for none).
func slotsFor(n int) int {
	if n <= 0 {
		return 0
	}
	c := 8
	for c*7 < n*8 {
		c *= 2
	}
	return c
}

func newCowTable[K hashKey, V any](n int) cowTable[K, V] {
	return cowTable[K, V]{slots: make([]cowSlot[K, V], slotsFor(n))}
}

// put stores v under k, whose tag is tag; it reports whether k was new.
func (t *cowTable[K, V]) put(tag uint64, k K, v V) bool {
	i, ok := t.find(tag, k)
	if ok {
		t.slots[i].v = v
		return false
	}
	if (t.n+1)*8 > len(t.slots)*7 {
		t.resize(slotsFor(t.n + 1))
		i, _ = t.find(tag, k)
	}
	t.slots[i] = cowSlot[K, V]{tag: tag, k: k, v: v}
	t.n++
	return true
}

func (t *cowTable[K, V]) resize(c int) {
	old := t.slots
	t.slots = make([]cowSlot[K, V], c)
	for j := range old {
		if old[j].tag != 0 {
			i, _ := t.find(old[j].tag, old[j].k)
			t.slots[i] = old[j]
		}
	}
}

// del removes the entry in slot i and shifts back the entries after it
// that would no longer be found from their home slot.
func (t *cowTable[K, V]) del(i int) {
	mask := len(t.slots) - 1
	for j := (i + 1) & mask; t.slots[j].tag != 0; j = (j + 1) & mask {
		h := t.home(t.slots[j].tag)
		// The entry at j may move to i when i lies cyclically in [h, j).
		if (i <= j && (h <= i || h > j)) || (i > j && h <= i && h > j) {
			t.slots[i] = t.slots[j]
			i = j
		}
	}
	t.slots[i] = cowSlot[K, V]{}
	t.n--
}

// newCowMap returns an empty, thawed map sized for about n entries, with
// about target entries a shard (0: cowShardTarget). A write clones one
// shard, so target trades write cost (and garbage) against the fixed cost
// of a shard. Up to 2·target entries it makes one shard, as set does
// before it grows a map (a map of one shard is read without its shard
// array: see one).
func newCowMap[K hashKey, V any](n, target int) cowMap[K, V] {
	if target <= 0 {
		target = cowShardTarget
	}
	s := 1
	for s*target < n && s < cowShardMax && n > 2*target {
		s *= 2
	}
	m := cowMap[K, V]{shards: make([]cowTable[K, V], s), own: make([]bool, s), target: target}
	for i := range m.shards {
		m.shards[i] = newCowTable[K, V](n / s)
		m.own[i] = true
	}
	return m
}

// get returns the value for k. It never allocates.
func (m *cowMap[K, V]) get(k K) (V, bool) {
	if m.one != nil {
		return lookupSlots(m.one, k)
	}
	if len(m.shards) == 0 {
		var zero V
		return zero, false
	}
	h := k.shardHash()
	t := &m.shards[int(h&uint64(len(m.shards)-1))]
	if i, ok := t.find(tagOf(h), k); ok {
		return t.slots[i].v, true
	}
	var zero V
	return zero, false
}

// lookupSlots finds k in one, a frozen map's single slot array (see
// cowMap.one), or in a copy of one that may be stale: it is never
// written, so reading it is safe; its caller decides whether the answer
// counts.
func lookupSlots[K hashKey, V any](one []cowSlot[K, V], k K) (V, bool) {
	t := cowTable[K, V]{slots: one}
	if i, ok := t.find(tagOf(k.shardHash()), k); ok {
		return t.slots[i].v, true
	}
	var zero V
	return zero, false
}

// thaw makes m a private, writable copy of the header; shards stay shared
// until written.
func (m *cowMap[K, V]) thaw() {
	if m.own != nil {
		return
	}
	m.one = nil
	if len(m.shards) == 0 {
		*m = newCowMap[K, V](0, m.target)
		return
	}
	m.shards = append([]cowTable[K, V](nil), m.shards...)
	m.own = make([]bool, len(m.shards))
}

// freeze ends writing; m must not be modified afterwards.
func (m *cowMap[K, V]) freeze() {
	m.own = nil
	m.one = nil
	if len(m.shards) == 1 && len(m.shards[0].slots) > 0 {
		m.one = m.shards[0].slots
	}
}

func (m *cowMap[K, V]) writable(i int) *cowTable[K, V] {
	if m.own == nil {
		// Defensive: writing a frozen map first takes a private header,
		// so a shared snapshot is never modified.
		m.thaw()
	}
	if !m.own[i] {
		m.shards[i].slots = slices.Clone(m.shards[i].slots)
		m.own[i] = true
	}
	return &m.shards[i]
}

// set stores v under k (m must be thawed).
func (m *cowMap[K, V]) set(k K, v V) {
	h := k.shardHash()
	i := int(h & uint64(len(m.shards)-1))
	if len(m.shards) == 0 {
		m.thaw()
		i = 0
	}
	sh := m.writable(i)
	if sh.put(tagOf(h), k, v) {
		m.n++
	}
	if sh.n > 2*m.target && len(m.shards) < cowShardMax {
		m.grow()
	}
}

// del removes k (m must be thawed). Absent keys are ignored.
func (m *cowMap[K, V]) del(k K) {
	if len(m.shards) == 0 {
		return
	}
	h := k.shardHash()
	i := int(h & uint64(len(m.shards)-1))
	if _, ok := m.shards[i].find(tagOf(h), k); !ok {
		return
	}
	sh := m.writable(i)
	j, _ := sh.find(tagOf(h), k)
	sh.del(j)
	m.n--
}

// grow doubles the number of shards, re-distributing every entry. It runs
// when a shard outgrows its target, so its O(n) cost is amortized over the
// inserts that led to it.
func (m *cowMap[K, V]) grow() {
	s := len(m.shards) * 2
	shards := make([]cowTable[K, V], s)
	for i := range shards {
		shards[i] = newCowTable[K, V](m.n/s + 1)
	}
	for _, sh := range m.shards {
		for j := range sh.slots {
			if e := &sh.slots[j]; e.tag != 0 {
				shards[int(e.tag&uint64(s-1))].put(e.tag, e.k, e.v)
			}
		}
	}
	m.shards = shards
	m.own = make([]bool, s)
	for i := range m.own {
		m.own[i] = true
	}
}

// all iterates over every entry, in no particular order. The map must not
// be modified during the iteration.
func (m *cowMap[K, V]) all() iter.Seq2[K, V] {
	return func(yield func(K, V) bool) {
		for i := range m.shards {
			sl := m.shards[i].slots
			for j := range sl {
				if sl[j].tag != 0 && !yield(sl[j].k, sl[j].v) {
					return
				}
			}
		}
	}
}
