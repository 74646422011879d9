package main

import (
	"bytes"
	"runtime/trace"
	"strings"
	"testing"
	"time"
)

// waitHere blocks on ch: a site the analysis must name.
//
//go:noinline
func waitHere(ch chan struct{}) { <-ch }

// TestAnalyzeNamesTheWait records a trace in which a goroutine blocks in
// waitHere and checks that the report has a blocked wait at that site.
func TestAnalyzeNamesTheWait(t *testing.T) {
	var buf bytes.Buffer
	if err := trace.Start(&buf); err != nil {
		t.Skipf("tracing unavailable: %v", err)
	}
	ch, done := make(chan struct{}), make(chan struct{})
	go func() { waitHere(ch); close(done) }()
	time.Sleep(10 * time.Millisecond) // let it block (what is measured is not asserted)
	close(ch)
	<-done
	trace.Stop()
	rep, err := analyze(&buf, 2)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for k, d := range rep.waits {
		if strings.Contains(k, "tracewait.waitHere") && strings.HasPrefix(k, "chan receive") && len(d.d) > 0 {
			found = true
		}
	}
	if !found {
		var sites []string
		for k := range rep.waits {
			sites = append(sites, k)
		}
		t.Errorf("no blocked wait at waitHere; sites: %q", sites)
	}
	if rep.span <= 0 {
		t.Errorf("span %v, want > 0", rep.span)
	}
}
