package authz

import (
	"cmp"
	"hash/maphash"
	"slices"
	"sort"
)

// bindex maps binding ids to the id of the holder (principal or team) whose
// lists hold the binding. Only writers use it (to delete or replace a
// binding by id), so it is built for memory, not speed: sorted arrays of
// (hash of binding id, holder id), 24 bytes a binding, split into
// copy-on-write shards by the hash's top bits so a change copies one shard.
//
// It does not store the binding id itself: two ids with the same 64-bit
// hash yield two candidates, and the caller keeps the holder that really
// has the binding. Invariants: every shard is sorted by h; shard i holds
// exactly the hashes whose top `bits` bits are i; a frozen bindex (own ==
// nil) is never modified.
type bindex struct {
	// enabled: the org is big enough to index (see bindexMin); a small
	// org finds a binding by scanning its holders instead.
	enabled bool
	shards  [][]bentry
	bits    uint8 // len(shards) == 1<<bits
	n       int
	own     []bool // writer only: shards this writer has copied
}

type bentry struct {
	h   uint64
	hid string
}

const bindexShardTarget = 2048

// bindexMin is the number of bindings from which an org keeps a bindex.
// Below it, scanning the org's holders (a few microseconds) is cheaper than
// 24 bytes a binding.
const bindexMin = 4096

func bindingHash(id string) uint64 { return maphash.String(shardSeed, id) }

func (x *bindex) shard(h uint64) int {
	if x.bits == 0 {
		return 0
	}
	return int(h >> (64 - x.bits))
}

// newBindex builds a thawed index from entries (reordered here). The
// entries are first distributed to their shards (by the hash's top bits,
// one counting pass) and each shard is then sorted on its own: the same
// order as sorting them all by hash, for about half the comparisons on a
// large org.
func newBindex(es []bentry) bindex {
	x := bindex{enabled: true, n: len(es)}
	for (1<<x.bits)*bindexShardTarget < len(es) && x.bits < 16 {
		x.bits++
	}
	x.shards = make([][]bentry, 1<<x.bits)
	x.own = make([]bool, len(x.shards))
	all := es
	start := make([]int, len(x.shards)+1) // shard i is all[start[i]:start[i+1]]
	if x.bits > 0 {
		for _, e := range es {
			start[x.shard(e.h)+1]++
		}
		for i := 1; i < len(start); i++ {
			start[i] += start[i-1]
		}
		all = make([]bentry, len(es))
		next := slices.Clone(start[:len(x.shards)])
		for _, e := range es {
			i := x.shard(e.h)
			all[next[i]] = e
			next[i]++
		}
	}
	start[len(x.shards)] = len(all)
	for i := range x.shards {
		s := all[start[i]:start[i+1]:start[i+1]]
		slices.SortFunc(s, func(a, b bentry) int { return cmp.Compare(a.h, b.h) })
		x.shards[i] = s
		x.own[i] = true
	}
	return x
}

// holders returns the holder ids recorded for binding id (normally zero or
// one; more only on a hash collision).
func (x *bindex) holders(id string) []bentry {
	if !x.enabled || len(x.shards) == 0 {
		return nil
	}
	h := bindingHash(id)
	s := x.shards[x.shard(h)]
	i := sort.Search(len(s), func(i int) bool { return s[i].h >= h })
	j := i
	for j < len(s) && s[j].h == h {
		j++
	}
	return s[i:j]
}

func (x *bindex) thaw() {
	if !x.enabled || x.own != nil {
		return
	}
	if len(x.shards) == 0 {
		x.shards = [][]bentry{nil}
	} else {
		x.shards = slices.Clone(x.shards)
	}
	x.own = make([]bool, len(x.shards))
}

func (x *bindex) freeze() { x.own = nil }

// add records that binding id is held by hid (x must be thawed).
func (x *bindex) add(id, hid string) {
	if !x.enabled {
		return
	}
	x.thaw()
	e := bentry{bindingHash(id), hid}
	i := x.shard(e.h)
	s := x.shards[i]
	j := sort.Search(len(s), func(k int) bool { return s[k].h >= e.h })
	var ns []bentry
	if x.own[i] {
		ns = append(s, bentry{}) // this writer's own array: insert in place
		copy(ns[j+1:], ns[j:])
		ns[j] = e
	} else {
		ns = make([]bentry, 0, len(s)+1)
		ns = append(ns, s[:j]...)
		ns = append(ns, e)
		ns = append(ns, s[j:]...)
	}
	x.shards[i], x.own[i] = ns, true
	x.n++
	if len(ns) > 2*bindexShardTarget && x.bits < 16 {
		x.split()
	}
}

// remove forgets that binding id is held by hid (x must be thawed).
func (x *bindex) remove(id, hid string) {
	if !x.enabled {
		return
	}
	x.thaw()
	h := bindingHash(id)
	i := x.shard(h)
	s := x.shards[i]
	for j := sort.Search(len(s), func(k int) bool { return s[k].h >= h }); j < len(s) && s[j].h == h; j++ {
		if s[j].hid == hid {
			if x.own[i] {
				x.shards[i] = append(s[:j], s[j+1:]...)
			} else {
				ns := make([]bentry, 0, len(s)-1)
				ns = append(ns, s[:j]...)
				x.shards[i], x.own[i] = append(ns, s[j+1:]...), true
			}
			x.n--
			return
		}
	}
}

// split doubles the shards; each shard splits in two contiguous halves.
func (x *bindex) split() {
	x.bits++
	shards := make([][]bentry, 1<<x.bits)
	for i, s := range x.shards {
		k := sort.Search(len(s), func(j int) bool { return x.shard(s[j].h) > 2*i })
		shards[2*i] = slices.Clip(s[:k])
		shards[2*i+1] = s[k:]
	}
	x.shards = shards
	x.own = make([]bool, len(shards)) // halves still share arrays: copy on write
}
