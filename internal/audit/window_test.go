package audit_test

import (
	"errors"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-dev/gatehouse/internal/audit"
)

// fakeWindows is a clock for the decision log's writer: time stands
// still (every entry arrives at the same instant, so entries look
// frequent), and each commit window the writer opens is announced on
// asks and ends when the test closes its end channel.
type fakeWindows struct {
	asks chan windowAsk
}

type windowAsk struct {
	d   time.Duration
	end chan time.Time
}

func newFakeWindows() *fakeWindows { return &fakeWindows{asks: make(chan windowAsk, 16)} }

func (f *fakeWindows) now() time.Time { return time.Date(2026, 12, 6, 7, 0, 0, 0, time.UTC) }

func (f *fakeWindows) after(d time.Duration) <-chan time.Time {
	a := windowAsk{d: d, end: make(chan time.Time)}
	f.asks <- a
	return a.end
}

// TestDecisionLogWindow: while entries arrive often, the writer holds a
// transaction open for the window after its first entry; the entries
// arriving within it share the transaction, and none is answered before
// it commits (or fails: then all of them fail). Closing the log during a
// window commits what it holds.
func TestDecisionLogWindow(t *testing.T) {
	const window = 3 * time.Millisecond
	for _, tc := range []struct {
		name    string
		fail    string // target the recorder refuses
		close   bool   // end the window by closing the log
		wantErr bool
		sizes   []int // entries per transaction the recorder saw
	}{
		{name: "entries within the window share one commit", sizes: []int{1, 3}},
		// The batch's first entry is refused: the recorder sees no other.
		{name: "a failed commit fails every entry of the window", fail: "tools/t1", wantErr: true, sizes: []int{1, 1}},
		{name: "closing during a window commits what it holds", close: true, sizes: []int{1, 3}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := ctxT(t)
			s := openStore(t, filepath.Join(t.TempDir(), "audit.db"))
			rec := &holdingRecorder{fail: tc.fail}
			clk := newFakeWindows()
			d := audit.NewDecisionLogClock(s, rec, audit.DecisionLogOptions{Window: window}, clk.now, clk.after)
			defer d.Close()

			// The first entry: no arrival rate known yet, no window.
			if err := d.Record(ctx, callEntry(0)); err != nil {
				t.Fatalf("Record 0: %v", err)
			}
			errs := make(chan error, 3)
			record := func(i int) { errs <- d.Record(ctx, callEntry(i)) }
			go record(1)
			ask := <-clk.asks // entries now arrive often: the writer opens a window
			if ask.d != window {
				t.Errorf("window opened for %v, want %v (from the first entry's arrival)", ask.d, window)
			}
			var wg sync.WaitGroup
			for i := 2; i <= 3; i++ {
				wg.Add(1)
				go func() { defer wg.Done(); record(i) }()
			}
			for audit.TakenDecisions(d) < 4 { // entries 2 and 3 are in the held batch
				runtime.Gosched()
			}
			select {
			case err := <-errs:
				t.Fatalf("a Record returned while its window was open: %v", err)
			default:
			}
			for i := 1; i <= 3; i++ {
				if isCommitted(t, s, callEntry(i).Target) {
					t.Errorf("entry %d committed while the window was open", i)
				}
			}
			if tc.close {
				go d.Close()
			} else {
				close(ask.end)
			}
			wg.Wait()
			for range 3 {
				err := <-errs
				switch {
				case tc.wantErr && !errors.Is(err, errRefused):
					t.Errorf("Record = %v, want the refusal of the batch it shared", err)
				case !tc.wantErr && err != nil:
					t.Errorf("Record: %v", err)
				}
			}
			for i := 1; i <= 3; i++ {
				if got := isCommitted(t, s, callEntry(i).Target); got == tc.wantErr {
					t.Errorf("entry %d committed = %v, want %v", i, got, !tc.wantErr)
				}
			}
			if diff := cmp.Diff(tc.sizes, rec.txSizes()); diff != "" {
				t.Errorf("entries per transaction (-want +got):\n%s", diff)
			}
		})
	}
}

// TestDecisionLogWindowSerial: a caller that records one entry at a time
// (its next cannot arrive while it waits) is not held for long: after a
// few windows that gathered nothing, entries commit at once.
func TestDecisionLogWindowSerial(t *testing.T) {
	ctx := ctxT(t)
	s := openStore(t, filepath.Join(t.TempDir(), "audit.db"))
	rec := &holdingRecorder{}
	clk := newFakeWindows()
	d := audit.NewDecisionLogClock(s, rec, audit.DecisionLogOptions{Window: time.Millisecond}, clk.now, clk.after)
	defer d.Close()
	errs := make(chan error, 1)
	held := 0
	for i := range 10 {
		go func() { errs <- d.Record(ctx, callEntry(i)) }()
		select {
		case err := <-errs:
			if err != nil {
				t.Fatalf("Record %d: %v", i, err)
			}
		case ask := <-clk.asks:
			held++
			close(ask.end)
			if err := <-errs; err != nil {
				t.Fatalf("Record %d: %v", i, err)
			}
		}
	}
	if held != 3 {
		t.Errorf("%d of 10 serial entries were held in a window, want 3 (then no more)", held)
	}
	if diff := cmp.Diff([]int{1, 1, 1, 1, 1, 1, 1, 1, 1, 1}, rec.txSizes()); diff != "" {
		t.Errorf("entries per transaction (-want +got):\n%s", diff)
	}
}
