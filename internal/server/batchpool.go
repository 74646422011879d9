package server

import "sync"

// A /checks call of 1,000 items used to allocate ≈ 690 KB: the decoded
// items (grown by doubling), the results and the decoder's intern table.
// At a million decisions a second that is ≈ 0.7 GB/s of garbage, a GC
// cycle (marking the engine's whole heap) every fraction of a second.
// The items and results are the call's own (the intern table the decoder's) and are dropped once the
// answer is written, so they are reused from a pool instead.
//
// Nothing of one call may be seen by another: every slot is cleared
// before the scratch goes back (clear also drops the strings and context
// maps the items point to, so the pool retains no request data), and a
// call reads only the slots it filled itself.
type batchScratch struct {
	items   []BatchItem   // cap MaxBatch+1: the decoder notices the (MaxBatch+1)th item
	results []BatchResult // cap MaxBatch
}

var batchPool = sync.Pool{New: func() any {
	return &batchScratch{
		items:   make([]BatchItem, 0, MaxBatch+1),
		results: make([]BatchResult, 0, MaxBatch),
	}
}}

func getBatchScratch() *batchScratch { return batchPool.Get().(*batchScratch) }

// putBatchScratch clears sc and returns it to the pool.
func putBatchScratch(sc *batchScratch) {
	clear(sc.items[:cap(sc.items)])
	clear(sc.results[:cap(sc.results)])
	batchPool.Put(sc)
}

// batchResults is a results slice of n zeroed slots: the call's scratch
// when it has one and n fits, else a new slice.
func (c *call) batchResults(n int) []BatchResult {
	if c.batch != nil && n <= cap(c.batch.results) {
		r := c.batch.results[:n]
		clear(r)
		return r
	}
	return make([]BatchResult, n)
}

// internPool holds the batch decoder's intern tables, cleared before
// they go back (their strings belong to one request body).
var internPool = sync.Pool{New: func() any { return make(map[string]string, 256) }}
