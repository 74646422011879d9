package directory_test

import (
	"testing"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/internal/directory"
)

// BenchmarkDecide is the directory's part of a check once the right to
// ask is remembered: the per-revision cache (Check) or an Asker's own memo
// (what the server uses, per request or per batch), then the engine. The
// Asker path allocates nothing; Check copies its request to the heap (it
// takes the request by value, and the request escapes into the engine and
// decision logging).
func BenchmarkDecide(b *testing.B) {
	st := openSQLite(b)
	d := openDir(b, st, directory.Options{})
	ctx := ctxT(b)
	mustUsers(b, d, "alice", "bob")
	ok(b, "create acme", third(d.CreateOrg(ctx, alice, directory.OrgSpec{ID: "acme", Name: "Acme"})))
	ok(b, "add bob", third(d.AddMember(ctx, alice, "acme", "bob", "operator")))
	req := authz.Request{Org: "acme", Principal: "user:bob", Namespace: "default", ResourceType: "chains", ResourceID: "triage", Action: "run"}
	for _, bc := range []struct {
		name  string
		check func() (authz.Decision, error)
	}{
		{"Check", func() (authz.Decision, error) { return d.Check(ctx, alice, req, 0) }},
		{"Asker", func() func() (authz.Decision, error) {
			a := d.Asker(alice)
			return func() (authz.Decision, error) { return a.Check(ctx, &req) }
		}()},
	} {
		b.Run(bc.name, func(b *testing.B) {
			if _, err := bc.check(); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := bc.check(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
