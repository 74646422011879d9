package server_test

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// Gateway benchmarks (docs/benchmarks.md, "MCP gateway"). Loopback, one
// process: the fake upstream, Gatehouse (SQLite) and the agent.

// openLoop calls pay at rate calls per second for d, each call sent at
// its scheduled time whatever the others do (open loop: no coordinated
// omission), and returns each call's latency from its scheduled time.
func openLoop(b *testing.B, cs *mcp.ClientSession, rate int, d time.Duration) []time.Duration {
	b.Helper()
	n := int(d.Seconds() * float64(rate))
	interval := time.Second / time.Duration(rate)
	lat := make([]time.Duration, n)
	var wg sync.WaitGroup
	var failed sync.Once
	start := time.Now().Add(10 * time.Millisecond)
	for i := range n {
		due := start.Add(time.Duration(i) * interval)
		time.Sleep(time.Until(due))
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := cs.CallTool(ctxT(b), &mcp.CallToolParams{Name: "pay", Arguments: map[string]any{"amount": 1}})
			lat[i] = time.Since(due)
			if err != nil || res.IsError {
				failed.Do(func() { b.Errorf("call %d: %v %+v", i, err, res) })
			}
		}()
	}
	wg.Wait()
	return lat
}

func quantile(ds []time.Duration, q float64) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[min(len(s)-1, int(q*float64(len(s))))]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// benchRate is the open-loop rate (calls/s): GATEHOUSE_MCP_BENCH_RATE,
// default 1,000.
func benchRate() int {
	if n, err := strconv.Atoi(os.Getenv("GATEHOUSE_MCP_BENCH_RATE")); err == nil && n > 0 {
		return n
	}
	return 1000
}

// BenchmarkMCPGatewayOverhead: the latency the gateway adds to a tool
// call at 1,000 calls/s (open loop; GATEHOUSE_MCP_BENCH_RATE changes the
// rate), paired runs interleaved: direct to the upstream, then through
// the gateway, three times each, 2 s a run. Run with -benchtime=1x. On a
// machine that cannot sustain the rate even direct, latencies are queueing
// (see BenchmarkMCPGatewayCallSerial for the per-call cost).
func BenchmarkMCPGatewayOverhead(b *testing.B) {
	w := newMCPWorld(b, "sqlite")
	direct := connectMCP(b, w.up.URL, gwCanary)
	gw := w.agent(b, w.caller)
	for _, cs := range []*mcp.ClientSession{direct, gw} { // warm both paths
		openLoop(b, cs, 500, 200*time.Millisecond)
	}
	b.ResetTimer()
	for b.Loop() {
		var d, g []time.Duration
		for range 3 {
			d = append(d, openLoop(b, direct, benchRate(), 2*time.Second)...)
			g = append(g, openLoop(b, gw, benchRate(), 2*time.Second)...)
		}
		for _, x := range []struct {
			name string
			q    float64
		}{{"p50", 0.50}, {"p99", 0.99}} {
			dq, gq := quantile(d, x.q), quantile(g, x.q)
			b.ReportMetric(ms(dq), "direct-"+x.name+"-ms")
			b.ReportMetric(ms(gq), "gateway-"+x.name+"-ms")
			b.ReportMetric(ms(gq-dq), "added-"+x.name+"-ms")
		}
	}
}

// BenchmarkMCPGatewayCallSerial: one call at a time, alternating direct
// and through the gateway (pairs, so that the machine's load hits both
// alike): each path's p50 and p99, and what the gateway adds.
func BenchmarkMCPGatewayCallSerial(b *testing.B) {
	w := newMCPWorld(b, "sqlite")
	direct := connectMCP(b, w.up.URL, gwCanary)
	gw := w.agent(b, w.caller)
	call := func(cs *mcp.ClientSession) time.Duration {
		t0 := time.Now()
		res, err := cs.CallTool(ctxT(b), &mcp.CallToolParams{Name: "pay", Arguments: map[string]any{"amount": 1}})
		d := time.Since(t0)
		if err != nil || res.IsError {
			b.Fatalf("call: %v %+v", err, res)
		}
		return d
	}
	for range 200 {
		call(direct)
		call(gw)
	}
	var d, g []time.Duration
	for b.Loop() {
		d = append(d, call(direct))
		g = append(g, call(gw))
	}
	for _, x := range []struct {
		name string
		q    float64
	}{{"p50", 0.50}, {"p99", 0.99}} {
		dq, gq := quantile(d, x.q), quantile(g, x.q)
		b.ReportMetric(ms(dq), "direct-"+x.name+"-ms")
		b.ReportMetric(ms(gq), "gateway-"+x.name+"-ms")
		b.ReportMetric(ms(gq-dq), "added-"+x.name+"-ms")
	}
}

// rawMCP is a bare JSON-RPC session over streamable HTTP: it measures
// what a server does for a request without the SDK client's own
// processing of the answer (it validates every tool's schema, which
// costs more than the gateway's whole answer for 1,000 tools).
type rawMCP struct {
	url, token, session string
	hc                  *http.Client
}

func newRawMCP(b *testing.B, url, token string) *rawMCP {
	b.Helper()
	r := &rawMCP{url: url, token: token, hc: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}}
	res := r.post(b, `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"bench","version":"1"}}}`)
	r.session = res.Header.Get("Mcp-Session-Id")
	r.post(b, `{"jsonrpc":"2.0","method":"notifications/initialized"}`)
	return r
}

func (r *rawMCP) post(b *testing.B, body string) *http.Response {
	req, _ := http.NewRequestWithContext(ctxT(b), "POST", r.url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("Authorization", "Bearer "+r.token)
	if r.session != "" {
		req.Header.Set("Mcp-Session-Id", r.session)
	}
	res, err := r.hc.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	n, _ := io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.StatusCode >= 300 {
		b.Fatalf("%s: %d (%d bytes)", body, res.StatusCode, n)
	}
	return res
}

// BenchmarkMCPGatewayList1000: tools/list of a server with 1,000 imported
// tools, through the gateway (each decided for the caller; the upstream's
// list is reused by the connection) and, for comparison, straight from
// the upstream. raw/ sends bare JSON-RPC (the servers' work and the
// loopback); sdk/ uses the SDK client (its schema checks included).
func BenchmarkMCPGatewayList1000(b *testing.B) {
	w := newMCPWorld(b, "sqlite")
	big := newFakeUpstreamN(b, 1000)
	e := w.e
	org := "/v1/orgs/" + w.org
	e.must(201, "POST", org+"/resources", w.owner, map[string]any{"namespace": "prod", "type": "mcp_servers", "id": "big",
		"spec": map[string]any{"url": big.URL, "secrets": []string{"UPSTREAM_TOKEN"}, "credential": map[string]any{"secret": "UPSTREAM_TOKEN"}}}, nil)
	for i := range 1000 {
		e.must(201, "POST", org+"/resources", w.owner, map[string]any{"namespace": "prod", "type": "tools", "id": fmt.Sprintf("big.t%04d", i),
			"spec": map[string]any{"server": "big", "tool": fmt.Sprintf("t%04d", i)}}, nil)
	}
	for _, c := range []struct {
		name, token string
		want        int
		url         string
	}{
		{"gateway/toolcaller-all", w.caller, 1000, ""},
		{"gateway/agent-for-viewer-none", w.mintAgentToken(b, "Helper", w.endpoint("big"), "user:mcpviewer"), 0, ""},
		{"direct", gwCanary, 1004, big.URL},
	} {
		url := c.url
		if url == "" {
			url = w.endpoint("big")
		}
		b.Run("raw/"+c.name, func(b *testing.B) {
			r := newRawMCP(b, url, c.token)
			for b.Loop() {
				r.post(b, `{"jsonrpc":"2.0","id":2,"method":"tools/list"}`)
			}
		})
		if c.url != "" {
			continue
		}
		// Cold: the first list after a change to one of the server's tools
		// (the catalog is re-read and the caller's tools decided again).
		b.Run("raw/"+c.name+"/after-a-change", func(b *testing.B) {
			r := newRawMCP(b, url, c.token)
			i := 0
			for b.Loop() {
				b.StopTimer()
				i++
				e.must(200, "PATCH", org+"/namespaces/prod/resources/tools/big.t0000", w.owner, map[string]any{"labels": map[string]string{"n": fmt.Sprint(i)}}, nil)
				b.StartTimer()
				r.post(b, `{"jsonrpc":"2.0","id":2,"method":"tools/list"}`)
			}
		})
		b.Run("sdk/"+c.name, func(b *testing.B) {
			cs := connectMCP(b, url, c.token)
			for b.Loop() {
				res, err := cs.ListTools(ctxT(b), nil)
				if err != nil {
					b.Fatal(err)
				}
				if len(res.Tools) != c.want && c.url == "" {
					b.Fatalf("listed %d tools, want %d", len(res.Tools), c.want)
				}
			}
		})
	}
}
