package cli

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-dev/gatehouse/client"
)

// batchesOf makes one batch per spec "org:op" (op short for its change's
// op: share, user, ns, del), each of one change on line i+1.
func batchesOf(t *testing.T, specs ...string) []importBatch {
	t.Helper()
	ops := map[string]string{"share": "share.create", "bind": "binding.create", "member": "member.add",
		"user": "user.create", "ns": "namespace.create", "res": "resource.create", "del": "binding.delete"}
	out := make([]importBatch, len(specs))
	for i, s := range specs {
		org, op, ok := strings.Cut(s, ":")
		if !ok || ops[op] == "" {
			t.Fatalf("bad spec %q", s)
		}
		out[i] = importBatch{org: org, lines: []int{i + 1}, changes: []client.WriteChange{{Op: ops[op]}}}
	}
	return out
}

// orderRecorder is a send that checks, when batch i starts, that every
// earlier batch it must follow (the same org, or a barrier on either side)
// has finished, and that nothing it must not overlap is in flight.
type orderRecorder struct {
	t       *testing.T
	batches []importBatch
	mu      sync.Mutex
	started map[int]bool
	done    map[int]bool
	order   []int
	fail    map[int]bool
}

func newOrderRecorder(t *testing.T, bs []importBatch, fail ...int) *orderRecorder {
	r := &orderRecorder{t: t, batches: bs, started: map[int]bool{}, done: map[int]bool{}, fail: map[int]bool{}}
	for _, i := range fail {
		r.fail[i] = true
	}
	return r
}

func (r *orderRecorder) index(b importBatch) int { return b.lines[0] - 1 }

func (r *orderRecorder) start(i int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	b := r.batches[i]
	for j := range i {
		o := r.batches[j]
		mustFollow := o.org == b.org || o.barrier() || b.barrier()
		if mustFollow && !r.done[j] {
			r.t.Errorf("batch %d (%s %s) sent before batch %d (%s %s) was made", i, b.org, b.changes[0].Op, j, o.org, o.changes[0].Op)
		}
	}
	r.started[i] = true
	r.order = append(r.order, i)
}

func (r *orderRecorder) finish(i int) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.done[i] = true
	if r.fail[i] {
		return fmt.Errorf("change 0: refused")
	}
	return nil
}

func (r *orderRecorder) send(b importBatch) (uint64, error) {
	i := r.index(b)
	r.start(i)
	err := r.finish(i)
	if err != nil {
		return 0, err
	}
	return uint64(i + 1), nil
}

// TestSendImportKeepsOrder: whatever --parallel, a batch is sent only
// after every earlier batch of its org and every earlier barrier, and a
// barrier only after every earlier batch; every batch is made once; with
// --parallel 1 they are sent in file order.
func TestSendImportKeepsOrder(t *testing.T) {
	specs := []string{"a:user", "b:user", "a:share", "b:share", "c:bind", "a:member", "b:share", "a:ns",
		"c:share", "a:share", "b:bind", "c:del", "a:share", "b:share", "c:share", "a:res", "a:share", "b:share"}
	for _, parallel := range []int{1, 2, 4, 16} {
		t.Run(fmt.Sprint(parallel), func(t *testing.T) {
			bs := batchesOf(t, specs...)
			r := newOrderRecorder(t, bs)
			n, rev, err := sendImport(bs, parallel, r.send)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([2]uint64{uint64(len(bs)), uint64(len(bs))}, [2]uint64{uint64(n), rev}); diff != "" {
				t.Errorf("changes, revision (-want +got):\n%s", diff)
			}
			if len(r.order) != len(bs) {
				t.Errorf("%d batches sent, want %d", len(r.order), len(bs))
			}
			if parallel == 1 {
				want := make([]int, len(bs))
				for i := range want {
					want[i] = i
				}
				if diff := cmp.Diff(want, r.order); diff != "" {
					t.Errorf("order with --parallel 1 (-want +got):\n%s", diff)
				}
			}
		})
	}
}

// TestSendImportOverlaps: with --parallel 2, two batches of different orgs
// are in flight at once (each waits for the other to start: sent one after
// the other, the first would wait forever, and the test fails after its
// bound instead).
func TestSendImportOverlaps(t *testing.T) {
	bs := batchesOf(t, "a:share", "b:share")
	var started sync.WaitGroup
	started.Add(2)
	both := make(chan struct{})
	go func() { started.Wait(); close(both) }()
	_, _, err := sendImport(bs, 2, func(b importBatch) (uint64, error) {
		started.Done()
		select {
		case <-both:
			return 1, nil
		case <-time.After(30 * time.Second):
			return 0, errors.New("the other batch was not sent alongside")
		}
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestSendImportFailure: the error is the earliest failed batch's; the
// changes counted as made are those before it; nothing is sent after a
// failure is seen; with --parallel 1 nothing after the failed batch is
// sent.
func TestSendImportFailure(t *testing.T) {
	tests := []struct {
		name     string
		specs    []string
		fail     []int
		parallel int
		wantN    int
		wantErr  []string
		maxSent  int // how many batches may have been sent at most
	}{
		{name: "serial", specs: []string{"a:share", "b:share", "c:share", "d:share"}, fail: []int{1}, parallel: 1,
			wantN: 1, wantErr: []string{"line 2 (org b)", "nothing of line 2 was made, 1 change before it was", "--from 2"}, maxSent: 2},
		{name: "serial, two failures", specs: []string{"a:share", "b:share", "c:share"}, fail: []int{1, 2}, parallel: 1,
			wantN: 1, wantErr: []string{"line 2 (org b)"}, maxSent: 2},
		{name: "a barrier fails", specs: []string{"a:share", "b:user", "c:share", "d:share"}, fail: []int{1}, parallel: 4,
			wantN: 1, wantErr: []string{"line 2 (org b)", "--from 2"}, maxSent: 2},
		{name: "same org after the failure", specs: []string{"a:share", "a:share", "a:share"}, fail: []int{0}, parallel: 4,
			wantN: 0, wantErr: []string{"line 1 (org a)"}, maxSent: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			bs := batchesOf(t, tc.specs...)
			r := newOrderRecorder(t, bs, tc.fail...)
			n, _, err := sendImport(bs, tc.parallel, r.send)
			if err == nil {
				t.Fatal("no error")
			}
			if n != tc.wantN {
				t.Errorf("%d changes made before the failure, want %d", n, tc.wantN)
			}
			for _, w := range tc.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if len(r.order) > tc.maxSent {
				t.Errorf("%d batches sent (%v), want at most %d", len(r.order), r.order, tc.maxSent)
			}
		})
	}
}

// TestSendImportNamesLaterMade: a failure of a batch sent alongside later
// ones that were made lists those later ones.
func TestSendImportNamesLaterMade(t *testing.T) {
	bs := batchesOf(t, "a:share", "b:share", "c:share")
	var started sync.WaitGroup
	started.Add(3)
	all := make(chan struct{})
	go func() { started.Wait(); close(all) }()
	n, _, err := sendImport(bs, 3, func(b importBatch) (uint64, error) {
		started.Done()
		<-all
		if b.org == "a" {
			return 0, errors.New("change 0: refused")
		}
		return 2, nil
	})
	if err == nil || n != 0 {
		t.Fatalf("n %d, err %v; want 0 and an error", n, err)
	}
	for _, w := range []string{"line 1 (org a)", "lines 2-2, 3-3, sent alongside, were made too"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not say %q", err, w)
		}
	}
}
