package server_test

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/server"
)

// Benchmarks of the decision path over real HTTP on loopback (the client
// shares the machine). Throughput goals are measured with the load tool
// (docs/benchmarks.md); these are for profiling:
//
//	go test ./internal/server -run '^$' -bench Check -cpuprofile cpu.out

func BenchmarkCheckHTTP(b *testing.B) {
	e := newEnv(b, "sqlite", envOpts{})
	w := buildWorldTB(b, e, "")
	body := []byte(`{"principal":"user:member","action":"chains:run","resource":"chains/triage","namespace":"prod"}`)
	url := e.URL + "/v1/orgs/acme/check"
	tr := &http.Transport{MaxIdleConnsPerHost: 256, MaxConnsPerHost: 256}
	hc := &http.Client{Transport: tr}
	defer tr.CloseIdleConnections()
	b.SetParallelism(16)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req, _ := http.NewRequest("POST", url, bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+w.owner)
			res, err := hc.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			out, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != 200 || !bytes.Contains(out, []byte(`"allowed":true`)) {
				b.Fatalf("%d %s", res.StatusCode, out)
			}
		}
	})
}

func BenchmarkChecksBatchHTTP(b *testing.B) {
	e := newEnv(b, "sqlite", envOpts{})
	w := buildWorldTB(b, e, "")
	item := `{"principal":"user:member","action":"chains:run","resource":"chains/triage","namespace":"prod"}`
	items := make([]string, server.MaxBatch)
	for i := range items {
		items[i] = item
	}
	body := []byte(`{"checks":[` + strings.Join(items, ",") + `]}`)
	url := e.URL + "/v1/orgs/acme/checks"
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr}
	b.SetParallelism(2)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req, _ := http.NewRequest("POST", url, bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+w.owner)
			res, err := hc.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode != 200 {
				b.Fatalf("%d", res.StatusCode)
			}
		}
	})
	b.ReportMetric(float64(b.N*server.MaxBatch)/b.Elapsed().Seconds(), "decisions/s")
}
