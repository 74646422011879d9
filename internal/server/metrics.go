package server

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// metrics are the server's Prometheus collectors, in a registry of its own
// (so that several servers can live in one test process).
type metrics struct {
	reg       *prometheus.Registry
	requests  *prometheus.CounterVec   // route, code
	latency   *prometheus.HistogramVec // route
	decisions *prometheus.CounterVec   // endpoint, result
	authFails *prometheus.CounterVec   // reason
}

func newMetrics(s *Server) *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatehouse_http_requests_total",
			Help: "HTTP requests by route pattern and status code.",
		}, []string{"route", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "gatehouse_http_request_duration_seconds",
			Help:    "HTTP request latency by route pattern.",
			Buckets: []float64{.0001, .00025, .0005, .001, .002, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"route"}),
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatehouse_decisions_total",
			Help: "Decisions answered, by endpoint and result (allow, deny, error).",
		}, []string{"endpoint", "result"}),
		authFails: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatehouse_auth_failures_total",
			Help: "Failed authentications by reason (missing, unauthenticated, rate_limited, metrics_token).",
		}, []string{"reason"}),
	}
	m.reg.MustRegister(m.requests, m.latency, m.decisions, m.authFails,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "gatehouse_audit_group_commit_entries_total",
			Help: "Decision and MCP tool-call audit entries written by the group commit.",
		}, func() float64 { return float64(s.dir.DecisionLogStats().Entries) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "gatehouse_audit_group_commit_transactions_total",
			Help: "Transactions the group commit ran for them (entries / transactions: its mean batch; --audit-commit-window raises it under a steady stream).",
		}, func() float64 { return float64(s.dir.DecisionLogStats().Transactions) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "gatehouse_audit_settings_reads_total",
			Help: "Store reads of orgs' audit settings by the decision log (a lookup with nothing usable cached, or a refresh ahead).",
		}, func() float64 { return float64(s.dir.DecisionLogStats().SettingsReads) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "gatehouse_long_polls_held",
			Help: "Long polls, event streams and MCP gateway approval waits held open now (each principal at most --max-long-polls).",
		}, func() float64 { return float64(s.longPolls.held()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "gatehouse_engine_revision",
			Help: "The revision the decision engine is at.",
		}, func() float64 { return float64(s.dir.Revision()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "gatehouse_engine_revision_lag",
			Help: "How many revisions the engine is behind the store (-1 when the store cannot be read).",
		}, func() float64 {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			rev, err := s.store.CurrentRevision(ctx)
			if err != nil {
				return -1
			}
			eng := s.dir.Revision()
			if rev <= eng {
				return 0
			}
			return float64(rev - eng)
		}),
	)
	return m
}

// routeMetrics are one route's collectors, resolved once: the hot path
// does no label hashing for the latency and caches counters per code.
type routeMetrics struct {
	m       *metrics
	route   string
	latency prometheus.Observer
	mu      sync.RWMutex
	codes   map[int]*statusCounter
	// last is the counter of the status observed last, read without the
	// lock: a route answering one status (a /check under load: 200) reads
	// it and writes nothing shared but the counters themselves, where the
	// read lock was two atomic writes to one cache line per request.
	last atomic.Pointer[statusCounter]
}

// statusCounter is a route's request counter for one status.
type statusCounter struct {
	status int
	c      prometheus.Counter
}

func (m *metrics) forRoute(route string) *routeMetrics {
	return &routeMetrics{m: m, route: route, latency: m.latency.WithLabelValues(route), codes: map[int]*statusCounter{}}
}

func (rm *routeMetrics) observe(status int, d time.Duration) {
	rm.latency.Observe(d.Seconds())
	if sc := rm.last.Load(); sc != nil && sc.status == status {
		sc.c.Inc()
		return
	}
	rm.mu.RLock()
	sc, ok := rm.codes[status]
	rm.mu.RUnlock()
	if !ok {
		rm.mu.Lock()
		if sc, ok = rm.codes[status]; !ok {
			sc = &statusCounter{status: status, c: rm.m.requests.WithLabelValues(rm.route, strconv.Itoa(status))}
			rm.codes[status] = sc
		}
		rm.mu.Unlock()
	}
	rm.last.Store(sc)
	sc.c.Inc()
}

// decision counters resolved once per endpoint.
type decisionMetrics struct {
	allow, deny, errs prometheus.Counter
}

func (m *metrics) forDecisions(endpoint string) decisionMetrics {
	return decisionMetrics{
		allow: m.decisions.WithLabelValues(endpoint, "allow"),
		deny:  m.decisions.WithLabelValues(endpoint, "deny"),
		errs:  m.decisions.WithLabelValues(endpoint, "error"),
	}
}

func (d decisionMetrics) record(allowed bool) {
	if allowed {
		d.allow.Inc()
	} else {
		d.deny.Inc()
	}
}
