package audit_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-dev/gatehouse/internal/audit"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// holdingRecorder appends entries (audit.Append) and remembers how many
// each transaction held; with entered set, the first transaction waits
// for release. An entry whose target is fail is refused (errRefused).
type holdingRecorder struct {
	entered, release chan struct{}
	fail             string

	mu    sync.Mutex
	txs   []store.Tx
	sizes []int
}

func (h *holdingRecorder) Record(ctx context.Context, tx store.Tx, e audit.Entry) error {
	h.mu.Lock()
	if len(h.txs) == 0 || h.txs[len(h.txs)-1] != tx {
		h.txs = append(h.txs, tx)
		h.sizes = append(h.sizes, 0)
		if len(h.txs) == 1 && h.entered != nil {
			h.mu.Unlock()
			close(h.entered)
			<-h.release
			h.mu.Lock()
		}
	}
	h.sizes[len(h.sizes)-1]++
	h.mu.Unlock()
	if h.fail != "" && e.Target == h.fail {
		return errRefused
	}
	return audit.Append.Record(ctx, tx, e)
}

var errRefused = errors.New("refused by the test recorder")

func (h *holdingRecorder) txSizes() []int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.sizes)
}

// callEntry is the i-th tool call entry of org acme (target tools/t<i>).
func callEntry(i int) audit.Entry {
	return audit.Entry{Org: "acme", Actor: audit.Actor{Principal: "user:alice"}, Action: "mcp.call", Target: fmt.Sprint("tools/t", i), Result: audit.Success}
}

// isCommitted reports whether an entry of org acme with target is in s.
func isCommitted(t *testing.T, s store.Store, target string) bool {
	t.Helper()
	recs, err := s.ReadAudit(ctxT(t), "acme", 0, 1000)
	if err != nil {
		t.Fatalf("ReadAudit: %v", err)
	}
	for _, r := range recs {
		if r.Target == target {
			return true
		}
	}
	return false
}

// TestDecisionLogGroupCommit: entries recorded concurrently while a
// commit is under way share the next transaction (one commit, one fsync,
// for all of them: what a tool call through the MCP gateway waits for),
// and Record returns only once its entry is committed.
func TestDecisionLogGroupCommit(t *testing.T) {
	const n = 20
	ctx := ctxT(t)
	s := openStore(t, filepath.Join(t.TempDir(), "audit.db"))
	rec := &holdingRecorder{entered: make(chan struct{}), release: make(chan struct{})}
	d := audit.NewDecisionLog(s, rec, audit.DecisionLogOptions{})
	defer d.Close()
	committed := func(target string) bool { return isCommitted(t, s, target) }

	errs := make(chan error, n+1)
	go func() { errs <- d.Record(ctx, callEntry(0)) }()
	<-rec.entered // the first transaction is open and held
	var wg sync.WaitGroup
	notYet := make(chan string, n+1)
	for i := 1; i <= n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := d.Record(ctx, callEntry(i))
			if err == nil && !committed(callEntry(i).Target) {
				notYet <- callEntry(i).Target
			}
			errs <- err
		}()
	}
	for audit.QueuedDecisions(d) < n { // all n wait behind the held commit
		runtime.Gosched()
		select {
		case err := <-errs:
			t.Fatalf("a Record returned while the writer was held: %v", err)
		default:
		}
	}
	close(rec.release)
	wg.Wait()
	for range n + 1 {
		if err := <-errs; err != nil {
			t.Errorf("Record: %v", err)
		}
	}
	close(notYet)
	for target := range notYet {
		t.Errorf("Record of %s returned before its entry was committed", target)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if diff := cmp.Diff([]int{1, n}, rec.sizes); diff != "" {
		t.Errorf("entries per transaction (-want +got):\n%s", diff)
	}
}
