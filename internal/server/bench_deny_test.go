package server_test

import "testing"

// BenchmarkCheckServeHTTPDeny is BenchmarkCheckServeHTTP for denies: of
// an action the policy names (the common deny), and of one it does not,
// asked by the owner (who may read the policy, so the answer carries the
// unknown_action warning where the server gives it).
//
//	go test ./internal/server -run '^$' -bench CheckServeHTTPDeny -benchmem
func BenchmarkCheckServeHTTPDeny(b *testing.B) {
	for _, bc := range []struct{ name, action string }{{"named", "chains:delete"}, {"unknown", "chains:rnu"}} {
		b.Run(bc.name, func(b *testing.B) { benchCheckServe(b, bc.action, `"allowed":false`) })
	}
}
