package mcpgw

import (
	"fmt"
	"strings"
	"testing"
)

// BenchmarkCheckJSON: the gateway's strict reading of a request body
// (args.go), per body: a typical tools/call and one with 64 KB of
// arguments.
func BenchmarkCheckJSON(b *testing.B) {
	call := []byte(`{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"pay","arguments":{"amount":1,"memo":"rent","to":{"iban":"DE00","name":"x"}}}}`)
	var lines []string
	for i := range 600 {
		lines = append(lines, fmt.Sprintf(`{"sku":"s%04d","qty":%d,"note":"line %d of the order"}`, i, i, i))
	}
	big := []byte(`{"jsonrpc":"2.0","id":8,"method":"tools/call","params":{"name":"order","arguments":{"lines":[` + strings.Join(lines, ",") + `]}}}`)
	for _, tc := range []struct {
		name string
		body []byte
	}{{"call", call}, {"args64KB", big}} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(tc.body)))
			for b.Loop() {
				if err := checkJSON(tc.body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
