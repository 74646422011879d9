package authz

import (
	"slices"
	"sort"
	"strings"
)

const idChunkMax = 512 // ids per chunk; a chunk splits when it would exceed this

// idList is an immutable sorted set of resource ids, stored as a list of
// sorted chunks so that inserting or removing one id copies one chunk and
// the chunk table (O(√n)-ish) instead of the whole list.
//
// Invariants: chunks are non-empty, each sorted and duplicate-free, and
// every id of chunk i sorts before every id of chunk i+1. An idList value
// reachable from a snapshot is never modified.
type idList struct {
	chunks [][]string
	n      int
}

// newIDList builds a list from ids, which it sorts and deduplicates in
// place.
func newIDList(ids []string) *idList {
	slices.Sort(ids)
	ids = slices.Clone(slices.Compact(ids)) // exact size: no spare capacity kept alive
	l := &idList{n: len(ids)}
	for len(ids) > 0 {
		k := min(len(ids), idChunkMax/2)
		if len(ids)-k < idChunkMax/4 {
			k = len(ids) // avoid a tiny last chunk
		}
		l.chunks = append(l.chunks, ids[:k:k])
		ids = ids[k:]
	}
	return l
}

// len is the number of ids.
func (l *idList) len() int {
	if l == nil {
		return 0
	}
	return l.n
}

// chunkFor returns the index of the chunk that holds or would hold id.
func (l *idList) chunkFor(id string) int {
	// First chunk whose last id is >= id; the last chunk if none.
	i := sort.Search(len(l.chunks), func(i int) bool {
		c := l.chunks[i]
		return c[len(c)-1] >= id
	})
	if i == len(l.chunks) {
		i--
	}
	return i
}

// has reports whether id is in the list.
func (l *idList) has(id string) bool {
	if l.len() == 0 {
		return false
	}
	c := l.chunks[l.chunkFor(id)]
	_, ok := slices.BinarySearch(c, id)
	return ok
}

// with returns a list that also holds id (l itself if it already does).
func (l *idList) with(id string) *idList {
	if l.len() == 0 {
		return &idList{chunks: [][]string{{id}}, n: 1}
	}
	ci := l.chunkFor(id)
	c := l.chunks[ci]
	j, ok := slices.BinarySearch(c, id)
	if ok {
		return l
	}
	nc := make([]string, 0, len(c)+1)
	nc = append(nc, c[:j]...)
	nc = append(nc, id)
	nc = append(nc, c[j:]...)
	chunks := make([][]string, 0, len(l.chunks)+1)
	chunks = append(chunks, l.chunks[:ci]...)
	if len(nc) > idChunkMax {
		h := len(nc) / 2
		chunks = append(chunks, nc[:h:h], nc[h:])
	} else {
		chunks = append(chunks, nc)
	}
	chunks = append(chunks, l.chunks[ci+1:]...)
	return &idList{chunks: chunks, n: l.n + 1}
}

// without returns a list without id (l itself if it does not hold it; nil
// when the list becomes empty).
func (l *idList) without(id string) *idList {
	if l.len() == 0 {
		return l
	}
	ci := l.chunkFor(id)
	c := l.chunks[ci]
	j, ok := slices.BinarySearch(c, id)
	if !ok {
		return l
	}
	if l.n == 1 {
		return nil
	}
	chunks := make([][]string, 0, len(l.chunks))
	chunks = append(chunks, l.chunks[:ci]...)
	if len(c) > 1 {
		nc := make([]string, 0, len(c)-1)
		nc = append(nc, c[:j]...)
		nc = append(nc, c[j+1:]...)
		chunks = append(chunks, nc)
	}
	chunks = append(chunks, l.chunks[ci+1:]...)
	return &idList{chunks: chunks, n: l.n - 1}
}

// after iterates, in order, over the ids greater than from (all ids when
// from is ""), calling f until it returns false.
func (l *idList) after(from string, f func(id string) bool) {
	if l.len() == 0 {
		return
	}
	ci := 0
	if from != "" {
		ci = l.chunkFor(from)
	}
	for ; ci < len(l.chunks); ci++ {
		c := l.chunks[ci]
		j := 0
		if from != "" {
			j = sort.Search(len(c), func(i int) bool { return strings.Compare(c[i], from) > 0 })
		}
		for _, id := range c[j:] {
			if !f(id) {
				return
			}
		}
	}
}
