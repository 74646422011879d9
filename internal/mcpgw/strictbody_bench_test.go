package mcpgw

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/credscan"
)

// BenchmarkStrictBody: the gateway's whole reading of a request body
// (strictBody: read, checkJSON, and since branch secaudit the credential
// scan, row 103), per body: a typical tools/call and one with 64 KB of
// arguments, neither holding a credential; and, per body, checkJSON and
// the credential scan alone.
//
//	go test ./internal/mcpgw -run '^$' -bench StrictBody -benchmem
func BenchmarkStrictBody(b *testing.B) {
	call := []byte(`{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"pay","arguments":{"amount":1,"memo":"rent","to":{"iban":"DE00","name":"x"}}}}`)
	var lines []string
	for i := range 600 {
		lines = append(lines, fmt.Sprintf(`{"sku":"s_%04d","qty":%d,"note":"line %d of the order"}`, i, i, i))
	}
	big := []byte(`{"jsonrpc":"2.0","id":8,"method":"tools/call","params":{"name":"order","arguments":{"lines":[` + strings.Join(lines, ",") + `]}}}`)
	for _, tc := range []struct {
		name string
		body []byte
	}{{"call", call}, {"args64KB", big}} {
		// The scan alone, beside the check it follows: what the scan adds,
		// as a ratio in the same run.
		b.Run(tc.name+"/checkJSON", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := checkJSON(tc.body); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(tc.name+"/credscan", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, found := credscan.JSON(tc.body, nil); found {
					b.Fatal("a credential")
				}
			}
		})
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(tc.body)))
			w := httptest.NewRecorder()
			for b.Loop() {
				r, _ := http.NewRequest("POST", "/mcp/acme/prod/pay", bytes.NewReader(tc.body))
				if !strictBody(w, r) {
					b.Fatal(w.Body.String())
				}
			}
		})
	}
}
