package server

import (
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestDateHeaderIsTheRequestsSecond: whatever order requests of different
// seconds ask in, each gets its own second in net/http's format — a value
// cached for one second is never handed to a request of another.
func TestDateHeaderIsTheRequestsSecond(t *testing.T) {
	t.Parallel()
	base := time.Date(2026, 12, 6, 17, 59, 58, 0, time.UTC)
	local := time.FixedZone("UTC+5", 5*3600)
	tests := []struct {
		name string
		at   time.Time
	}{
		{"first", base.Add(100 * time.Millisecond)},
		{"same second", base.Add(900 * time.Millisecond)},
		{"next second", base.Add(time.Second)},
		{"back to an earlier second (a request that began before the last one)", base.Add(999 * time.Millisecond)},
		{"a minute later", base.Add(time.Minute)},
		{"a time in another zone", base.Add(2 * time.Minute).In(local)},
		{"the second before the Unix epoch", time.Unix(-1, 500_000_000)},
	}
	var d dateHeader
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := []string{tt.at.UTC().Format(http.TimeFormat)}
			if diff := cmp.Diff(want, d.at(tt.at)); diff != "" {
				t.Errorf("Date (-want +got):\n%s", diff)
			}
		})
	}
}

// BenchmarkDateHeader: the cached case, what nearly every request pays.
func BenchmarkDateHeader(b *testing.B) {
	var d dateHeader
	t := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		_ = d.at(t)
	}
}
