package directory_test

import (
	"context"
	"os"
	"strconv"
	"testing"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/internal/directory"
)

// BenchmarkCheckAt: a point-in-time check in an org whose history is N
// bindings written 1,000 per revision (SQLite; the changelog seeded by
// bulk SQL as the directory would have written it), asked at the newest
// seeded revision: the whole history is replayed. N is
// GATEHOUSE_BENCH_AT_BINDINGS (default 100,000).
func BenchmarkCheckAt(b *testing.B) {
	n := 100000
	if v, err := strconv.Atoi(os.Getenv("GATEHOUSE_BENCH_AT_BINDINGS")); err == nil && v > 0 {
		n = v
	}
	const users = 10000
	st, exec := benchBackends[0].open(b, "")
	seedOrg(b, "sqlite", st, exec, users, n)
	ctx := context.Background()
	base, err := st.CurrentRevision(ctx)
	if err != nil {
		b.Fatal(err)
	}
	// The changelog of the seeded memberships and bindings.
	exec(`INSERT INTO changelog (revision, seq, org, kind, change_key, payload, created_at)
		SELECT $1 + 1, rowid, 'acme', 'member.put', 'user:' || user_id, json_object('org', 'acme', 'user_id', user_id, 'created_at', '2026-01-01T00:00:00Z'), 0
		FROM members WHERE org = 'acme' AND user_id <> 'alice'`, base)
	exec(`WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < $1 - 1)
		INSERT INTO changelog (revision, seq, org, kind, change_key, payload, created_at)
		SELECT $2 + 2 + i / 1000, i % 1000, 'acme', 'binding.put', printf('s%08d', i),
		       json_object('id', printf('s%08d', i), 'principal', printf('user:u%07d', i % $3),
		                   'role', CASE i % 4 WHEN 0 THEN 'viewer' WHEN 1 THEN 'operator' WHEN 2 THEN 'builder' ELSE 'admin' END,
		                   'scope', json_object('namespace', CASE i % 3 WHEN 0 THEN '' WHEN 1 THEN 'default' ELSE 'prod' END),
		                   'org', 'acme', 'created_at', '2026-01-01T00:00:00Z'), 0 FROM n`, n, base, users)
	top := base + 2 + uint64((n-1)/1000)
	exec(`UPDATE store_revision SET revision = $1`, top)
	d := openDir(b, st, directory.Options{})
	req := authz.Request{Org: "acme", Principal: "user:u0000001", Namespace: "default", ResourceType: "chains", ResourceID: "x", Action: "run"}
	want := d.Allows(&req)
	b.ResetTimer()
	for b.Loop() {
		dec, err := d.CheckAt(ctx, alice, req, directory.At{Revision: top})
		if err != nil {
			b.Fatal(err)
		}
		if dec.Allowed != want {
			b.Fatalf("at the newest revision: %v, live %v", dec.Allowed, want)
		}
	}
	b.ReportMetric(float64(n), "bindings")
}
