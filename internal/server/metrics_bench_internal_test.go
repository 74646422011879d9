package server

import (
	"testing"
	"time"
)

// BenchmarkRouteMetricsObserveParallel: a route's metrics observed from
// every P at once with one status, as /check's are under load — what the
// per-request writes to shared memory cost when cores contend for them.
//
//	go test -run '^$' -bench RouteMetricsObserveParallel -cpu 2 ./internal/server
func BenchmarkRouteMetricsObserveParallel(b *testing.B) {
	s := &Server{}
	s.metrics = newMetrics(s)
	m := s.metrics.forRoute(checkRoutePattern)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			m.observe(200, 150*time.Microsecond)
		}
	})
}
