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
