package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/api"
	"github.com/gatehouse-dev/gatehouse/internal/directory"
)

// Latency of the approval paths over HTTP on loopback, one request at a
// time (docs/approvals.md has the figures):
//
//	go test ./internal/server -run '^$' -bench 'Approval' -benchtime 300x -count 3
//
// p50 and p99 are reported per op, in microseconds.

func apvPost(b *testing.B, hc *http.Client, url, token string, body []byte) api.CheckResponse {
	req, _ := http.NewRequest("POST", url, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := hc.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	out, _ := io.ReadAll(res.Body)
	res.Body.Close()
	var d api.CheckResponse
	if res.StatusCode != 200 || json.Unmarshal(out, &d) != nil {
		b.Fatalf("%d %s", res.StatusCode, out)
	}
	return d
}

func reportLatency(b *testing.B, ds []time.Duration) {
	slices.Sort(ds)
	b.ReportMetric(float64(ds[len(ds)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(ds[len(ds)*99/100].Microseconds()), "p99-µs")
}

// BenchmarkApprovalPendingHTTP: a check answered approval_required from
// an existing pending approval (the question asked again).
func BenchmarkApprovalPendingHTTP(b *testing.B) {
	w := newApvWorldTB(b, "sqlite")
	hc := &http.Client{}
	url := w.e.URL + "/v1/orgs/" + w.org + "/check"
	body := []byte(`{"action":"chains:run","resource":"chains/deploy","namespace":"prod","arguments":{"ticket":1}}`)
	first := apvPost(b, hc, url, w.op, body)
	if first.Approval == nil {
		b.Fatalf("no approval: %+v", first)
	}
	ds := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for range b.N {
		t0 := time.Now()
		d := apvPost(b, hc, url, w.op, body)
		ds = append(ds, time.Since(t0))
		if d.Allowed || d.Approval == nil || d.Approval.ID != first.Approval.ID {
			b.Fatalf("not the pending approval: %+v", d)
		}
	}
	reportLatency(b, ds)
}

// BenchmarkApprovalConsumeHTTP: a check presenting a granted approval,
// allowed once (the consume is a durable write with its audit entry).
// Each op's approval is requested and granted outside the timer.
func BenchmarkApprovalConsumeHTTP(b *testing.B) {
	w := newApvWorldTB(b, "sqlite")
	hc := &http.Client{}
	url := w.e.URL + "/v1/orgs/" + w.org + "/check"
	ctx := context.Background()
	ds := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		body := fmt.Appendf(nil, `{"action":"chains:run","resource":"chains/deploy","namespace":"prod","arguments":{"ticket":%d}}`, i)
		d := apvPost(b, hc, url, w.op, body)
		for _, who := range []string{"apvann", "apvamy"} {
			if _, err := w.e.dir.DecideApproval(ctx, directory.Actor{Principal: "user:" + who}, w.org, d.Approval.ID, true, ""); err != nil {
				b.Fatal(err)
			}
		}
		present := fmt.Appendf(nil, `{"action":"chains:run","resource":"chains/deploy","namespace":"prod","arguments":{"ticket":%d},"approval_id":%q}`, i, d.Approval.ID)
		b.StartTimer()
		t0 := time.Now()
		got := apvPost(b, hc, url, w.op, present)
		ds = append(ds, time.Since(t0))
		if !got.Allowed {
			b.Fatalf("not allowed: %+v", got)
		}
	}
	reportLatency(b, ds)
}
