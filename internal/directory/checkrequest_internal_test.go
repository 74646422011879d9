package directory

import (
	"testing"

	"github.com/gatehouse-dev/gatehouse/authz"
)

// BenchmarkCheckRequest is the cost Asker.Check pays to validate a
// question's shape (no allocation).
func BenchmarkCheckRequest(b *testing.B) {
	req := authz.Request{Org: "acme", Principal: "user:bob", Namespace: "default", ResourceType: "chains", ResourceID: "triage", Action: "run"}
	b.ReportAllocs()
	for b.Loop() {
		if err := checkRequest(&req); err != nil {
			b.Fatal(err)
		}
	}
}
