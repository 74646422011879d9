package server

import (
	"fmt"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/api"
)

// BenchmarkFastDecode keeps the hand-written decoder's reason to exist
// measured: the same /check and /checks bodies decoded by it and by what
// the generic handler would do (encoding/json, unknown fields refused).
//
//	go test -run '^$' -bench FastDecode -benchmem -count 5 ./internal/server
func BenchmarkFastDecode(b *testing.B) {
	check := []byte(`{"principal":"user:u123","action":"chains:run","resource":"chains/c42","namespace":"n1","consistency":{"at_least":12345}}`)
	var items []string
	for i := range 100 {
		items = append(items, fmt.Sprintf(`{"principal":"user:u%d","action":"chains:run","resource":"chains/c%d","namespace":"n%d"}`, i, i%97, i%3))
	}
	batch := []byte(`{"checks":[` + strings.Join(items, ",") + `],"consistency":{"at_least":12345}}`)
	b.Run("check/fast", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(check)))
		for b.Loop() {
			var r CheckRequest
			if err := (*checkDecoder)(&r).decodeFast(check); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("check/encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(check)))
		for b.Loop() {
			var r CheckRequest
			if err := stdDecode(check, &r); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("batch100/fast", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(batch)))
		for b.Loop() {
			var r BatchCheckRequest
			if err := (*batchDecoder)(&r).decodeFast(batch); err != nil || len(r.Checks) != 100 {
				b.Fatal(err, len(r.Checks))
			}
		}
	})
	b.Run("batch100/encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(batch)))
		for b.Loop() {
			var r BatchCheckRequest
			if err := stdDecode(batch, &r); err != nil || len(r.Checks) != 100 {
				b.Fatal(err, len(r.Checks))
			}
		}
	})
}

// BenchmarkWritesDecode: a bulk write's body of 1,000 shares (the bulk
// load's commonest change, as the CLI's import sends it) decoded by the
// writes decoder and by encoding/json (what the route did before it).
//
//	go test -run '^$' -bench WritesDecode -benchmem -count 5 ./internal/server
func BenchmarkWritesDecode(b *testing.B) {
	var items []string
	for i := range 1000 {
		items = append(items, fmt.Sprintf(`{"op":"share.create","namespace":"n%d","type":"chains","id":"c%d","principal":"user:u%d","actions":["run"]}`, i%3, i%300, i))
	}
	body := []byte(`{"changes":[` + strings.Join(items, ",") + `]}`)
	b.Run("fast", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			var r api.WriteRequest
			if err := (*writesDecoder)(&r).decodeFast(body); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			var r api.WriteRequest
			if err := decodeStd(body, &r); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkAppendCheckResponse is the /check answer's encoding: an allow,
// and a deny carrying the unknown_action warning (≈ 38 % of orgs1m's mix,
// asked with the owner's key).
//
//	go test -run '^$' -bench AppendCheckResponse -benchmem ./internal/server
func BenchmarkAppendCheckResponse(b *testing.B) {
	for _, bc := range []struct {
		name string
		r    CheckResponse
	}{
		{"allow", CheckResponse{Allowed: true, Revision: 1002}},
		{"warned-deny", CheckResponse{Revision: 1002, Reason: "no_grant", Warnings: []api.CheckWarning{{Code: "unknown_action",
			Message: "the org's policy names no action approve for chains (no role, agent rule, ask rule or resource declaration; only a wildcard or a share can grant it)"}}}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			buf := make([]byte, 0, 512)
			for b.Loop() {
				buf = appendCheckResponse(buf[:0], bc.r)
			}
		})
	}
}

// BenchmarkAppendBatchWarned is a 100-item /checks answer as orgs1m's
// batches get it with the owner's key: 38 of the items denies carrying the
// unknown_action warning, the rest allows and plain denies.
//
//	go test -run '^$' -bench AppendBatchWarned -benchmem ./internal/server
func BenchmarkAppendBatchWarned(b *testing.B) {
	ws := []api.CheckWarning{{Code: "unknown_action",
		Message: "the org's policy names no action approve for chains (no role, agent rule, ask rule or resource declaration; only a wildcard or a share can grant it)"}}
	r := batchEncoder{Revision: 1002, Results: make([]BatchResult, 100)}
	for i := range r.Results {
		switch {
		case i%8 < 3:
			r.Results[i] = BatchResult{Reason: "no_grant", Warnings: ws}
		case i%2 == 0:
			r.Results[i] = BatchResult{Allowed: true}
		default:
			r.Results[i] = BatchResult{Reason: "no_grant"}
		}
	}
	b.ReportAllocs()
	buf := make([]byte, 0, 32<<10)
	for b.Loop() {
		buf = r.appendJSON(buf[:0])
	}
}
