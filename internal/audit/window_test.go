package audit_test

import (
	"errors"
	"fmt"
	"path/filepath"
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
// lone entry's transaction open for the next entry (up to the window
// after the lone one arrived); the two share the transaction, and
// neither is answered before it commits (or fails: then both fail). A
// window that ends with no other entry, or the log's closing during one,
// commits the lone entry.
func TestDecisionLogWindow(t *testing.T) {
	const window = 3 * time.Millisecond
	for _, tc := range []struct {
		name    string
		end     string // how the hold ends: "next" (entry 2 arrives), "timer", "close"
		fail    string // target the recorder refuses
		wantErr bool
		sizes   []int // entries per transaction the recorder saw
	}{
		{name: "the next entry shares the held transaction", end: "next", sizes: []int{1, 2}},
		{name: "a failed commit fails both", end: "next", fail: "tools/t1", wantErr: true, sizes: []int{1, 1}},
		{name: "a window with no other entry commits the lone one", end: "timer", sizes: []int{1, 1}},
		{name: "closing during a window commits the lone entry", end: "close", sizes: []int{1, 1}},
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
			errs := make(chan error, 2)
			var wg sync.WaitGroup
			record := func(i int) {
				wg.Add(1)
				go func() {
					defer wg.Done()
					err := d.Record(ctx, callEntry(i))
					if err == nil && !isCommitted(t, s, callEntry(i).Target) {
						err = fmt.Errorf("Record %d returned before its entry was committed", i)
					}
					errs <- err
				}()
			}
			record(1)
			var ask windowAsk
			select { // entries now arrive often: the writer holds entry 1
			case ask = <-clk.asks:
			case err := <-errs:
				t.Fatalf("Record 1 returned (%v) without the writer holding its transaction open", err)
			}
			if ask.d != window {
				t.Errorf("window opened for %v, want %v (from the lone entry's arrival)", ask.d, window)
			}
			select {
			case err := <-errs:
				t.Fatalf("Record 1 returned while its window was open: %v", err)
			default:
			}
			if isCommitted(t, s, callEntry(1).Target) {
				t.Error("entry 1 committed while its window was open")
			}
			n := 1
			switch tc.end {
			case "next":
				record(2)
				n = 2
			case "timer":
				close(ask.end)
			case "close":
				go d.Close()
			}
			wg.Wait()
			for range n {
				err := <-errs
				switch {
				case tc.wantErr && !errors.Is(err, errRefused):
					t.Errorf("Record = %v, want the refusal of the transaction it shared", err)
				case !tc.wantErr && err != nil:
					t.Errorf("Record: %v", err)
				}
			}
			for i := 1; i <= n; i++ {
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
