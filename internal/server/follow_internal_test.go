package server

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"
)

// TestAuditFollowIsNotCutAtTheRequestTimeout: the audit list waits up to
// wait (≤ 30 s) for new entries; the 15 s request timeout used to end it
// at 15 s whatever wait said. The route bounds itself: its context lasts
// the wait plus the request timeout for its reads. (Asserted on the
// deadline computed, not by waiting.)
func TestAuditFollowIsNotCutAtTheRequestTimeout(t *testing.T) {
	t.Parallel()
	s := &Server{requestTimeout: 15 * time.Second, longPolls: newLongPolls(0)}
	var follow *Route
	for _, rt := range s.auditRoutes() {
		if rt.Method == "GET" && rt.Path == "/v1/orgs/{org}/audit" {
			follow = rt
		}
	}
	if follow == nil {
		t.Fatal("no GET /v1/orgs/{org}/audit route")
	}
	if !follow.bounded {
		t.Error("the audit list runs under the 15 s request timeout: a wait above it is cut")
	}
	for _, tc := range []struct {
		wait, want time.Duration
	}{
		{0, 15 * time.Second},
		{20 * time.Second, 35 * time.Second},
		{30 * time.Second, 45 * time.Second},
	} {
		c := &call{ctx: context.Background(), w: httptest.NewRecorder()}
		before := time.Now()
		ctx, cancel, err := s.followBudget(c, tc.wait)
		if err != nil {
			t.Fatal(err)
		}
		after := time.Now()
		dl, ok := ctx.Deadline()
		cancel()
		if !ok {
			t.Errorf("wait %v: no deadline", tc.wait)
			continue
		}
		if got := dl.Sub(before); got < tc.want {
			t.Errorf("wait %v: the call may last %v, want %v", tc.wait, got, tc.want)
		}
		if got := dl.Sub(after); got > tc.want {
			t.Errorf("wait %v: the call may last %v, want at most %v", tc.wait, got, tc.want)
		}
	}
}
