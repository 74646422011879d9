package server

import (
	"fmt"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/api"
)

// BenchmarkStrictDecode: what reading a body strictly (strictJSON before
// encoding/json: duplicates, case-folded duplicates, nesting) costs on
// the routes decoded by encoding/json, against encoding/json alone (the
// decoding before branch redteam4), in the same run: a binding (a small
// body) and a resource with a 10 KB spec.
func BenchmarkStrictDecode(b *testing.B) {
	binding := []byte(`{"principal":"user:bob","role":"builder","scope":{"namespace":"prod"}}`)
	var steps []string
	for i := range 100 {
		steps = append(steps, fmt.Sprintf(`{"name":"step%d","run":"echo %d","env":{"A":"1","B":"2"},"retries":3}`, i, i))
	}
	resource := []byte(`{"namespace":"prod","type":"chains","id":"c1","labels":{"tier":"1"},"spec":{"steps":[` + strings.Join(steps, ",") + `]}}`)
	for _, tc := range []struct {
		name string
		body []byte
		v    func() any
	}{
		{"binding", binding, func() any { return new(api.BindingSpec) }},
		{"resource10KB", resource, func() any { return new(api.ResourceSpec) }},
	} {
		b.Run(tc.name+"/encoding-json", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(tc.body)))
			for b.Loop() {
				if err := stdDecode(tc.body, tc.v()); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(tc.name+"/strict", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(tc.body)))
			for b.Loop() {
				if err := decodeStd(tc.body, tc.v()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
