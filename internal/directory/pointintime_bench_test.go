package directory_test

import (
	"context"
	"os"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/internal/directory"
)

// BenchmarkCheckAt: a point-in-time check in an org whose history is N
// bindings written 1,000 per revision (SQLite; the changelog seeded by
// bulk SQL as the directory would have written it), asked at the newest
// seeded revision without snapshots and without the cache of past
// engines: the org's whole history is replayed (the fallback path). N is
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
	d := openDir(b, st, directory.Options{SnapshotEvery: -1})
	directory.ReplayOnlyForTest(d)
	req := authz.Request{Org: "acme", Principal: "user:u0000001", Namespace: "default", ResourceType: "chains", ResourceID: "x", Action: "run"}
	want := d.Allows(&req)
	b.ResetTimer()
	for b.Loop() {
		directory.DropPastEnginesForTest(d)
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

// BenchmarkCheckAt30Days: issue 20's goal (≤ 2 s). An org whose history
// is N bindings written 1,000 per revision 60 days ago, then 100,000
// changes (bindings removed and added, 100 per revision) spread over the
// last 35 days — SQLite, the changelog seeded by bulk SQL as the
// directory would have written it, snapshots written by the snapshotter
// (SnapshotEvery at its default) before timing. Timed: a point-in-time
// check 30 days back, each iteration at a new instant (the cache of past
// engines cannot answer). The answer must equal a full replay's.
// N is GATEHOUSE_BENCH_AT_BINDINGS (default 1,000,000).
func BenchmarkCheckAt30Days(b *testing.B) {
	n := 1000000
	if v, err := strconv.Atoi(os.Getenv("GATEHOUSE_BENCH_AT_BINDINGS")); err == nil && v > 0 {
		n = v
	}
	const users, changes, perRev = 10000, 100000, 100
	st, exec := benchBackends[0].open(b, "")
	seedOrg(b, "sqlite", st, exec, users, 0)
	ctx := context.Background()
	base, err := st.CurrentRevision(ctx)
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	t0 := now.Add(-60 * 24 * time.Hour)
	span := 35 * 24 * time.Hour
	// The org's setup 60 days ago, then its memberships and bindings.
	exec(`UPDATE changelog SET created_at = $1`, t0.UnixMicro())
	exec(`INSERT INTO changelog (revision, seq, org, kind, change_key, payload, created_at)
		SELECT $1 + 1, rowid, 'acme', 'member.put', 'user:' || user_id, json_object('org', 'acme', 'user_id', user_id, 'created_at', '2026-01-01T00:00:00Z'), $2
		FROM members WHERE org = 'acme' AND user_id <> 'alice'`, base, t0.UnixMicro())
	exec(`WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < $1 - 1)
		INSERT INTO changelog (revision, seq, org, kind, change_key, payload, created_at)
		SELECT $2 + 2 + i / 1000, i % 1000, 'acme', 'binding.put', printf('s%08d', i),
		       json_object('id', printf('s%08d', i), 'principal', printf('user:u%07d', i % $3),
		                   'role', CASE i % 4 WHEN 0 THEN 'viewer' WHEN 1 THEN 'operator' WHEN 2 THEN 'builder' ELSE 'admin' END,
		                   'scope', json_object('namespace', CASE i % 3 WHEN 0 THEN '' WHEN 1 THEN 'default' ELSE 'prod' END),
		                   'org', 'acme', 'created_at', '2026-01-01T00:00:00Z'), $4 + i / 1000 FROM n`, n, base, users, t0.UnixMicro())
	first := base + 2 + uint64((n-1)/1000) + 1
	// 100,000 changes: even ones remove a seeded binding, odd ones add one.
	exec(`WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < $1 - 1)
		INSERT INTO changelog (revision, seq, org, kind, change_key, payload, created_at)
		SELECT $2 + i / $3, i % $3, 'acme',
		       CASE i % 2 WHEN 0 THEN 'binding.delete' ELSE 'binding.put' END,
		       CASE i % 2 WHEN 0 THEN printf('s%08d', (i * 7919) % $4) ELSE printf('c%08d', i) END,
		       CASE i % 2 WHEN 0 THEN json_object('id', printf('s%08d', (i * 7919) % $4), 'org', 'acme')
		       ELSE json_object('id', printf('c%08d', i), 'principal', printf('user:u%07d', (i * 31) % $5), 'role', 'operator',
		                        'scope', json_object('namespace', 'default'), 'org', 'acme', 'created_at', '2026-01-01T00:00:00Z') END,
		       $6 + (i / $3) * $7
		FROM n`, changes, first, perRev, n, users, now.Add(-span).UnixMicro(), (span / (changes / perRev)).Microseconds())
	top := first + uint64(changes/perRev) - 1
	exec(`UPDATE store_revision SET revision = $1`, top)

	d := openDir(b, st, directory.Options{SnapshotEvery: -1}) // no background snapshotter
	// The snapshotter's work: one snapshot after the org's first
	// 1,000,000 changes (the era 60 days ago; a backfill at the default
	// interval would store ~100 more there, which points 30 days back do
	// not use), then the default interval through the last 100,000.
	start := time.Now()
	directory.SetSnapshotEveryForTest(d, 1000000)
	written, err := directory.SnapshotOrgForTest(ctx, d, "acme")
	if err != nil {
		b.Fatal(err)
	}
	directory.SetSnapshotEveryForTest(d, directory.DefaultSnapshotEvery)
	more, err := directory.SnapshotOrgForTest(ctx, d, "acme")
	if err != nil {
		b.Fatal(err)
	}
	written += more
	b.Logf("snapshotter: %d snapshots of %d changes in %v", written, n+users+changes, time.Since(start).Round(time.Millisecond))

	// user:u0000001 holds s00000001 (operator, default) until change
	// 2·k with 7919·2k ≡ 1 (mod n) removes it, if that falls in the
	// window; whatever the answer, it must be the full replay's.
	req := authz.Request{Org: "acme", Principal: "user:u0000001", Namespace: "default", ResourceType: "chains", ResourceID: "x", Action: "run"}
	point := now.Add(-30 * 24 * time.Hour)
	replay := openDir(b, st, directory.Options{SnapshotEvery: -1})
	directory.ReplayOnlyForTest(replay)
	start = time.Now()
	want, err := replay.CheckAt(ctx, alice, req, directory.At{Time: point})
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("full replay: %v (allowed %v, %d entries)", time.Since(start).Round(time.Millisecond), want.Allowed, directory.ReplayedForTest(replay))
	cpu0 := cpuTime()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		i++
		at := point.Add(time.Duration(i) * time.Microsecond) // a new instant: the cache cannot answer
		dec, err := d.CheckAt(ctx, alice, req, directory.At{Time: at})
		if err != nil {
			b.Fatal(err)
		}
		if dec.Allowed != want.Allowed || dec.Revision != want.Revision {
			b.Fatalf("30 days back: allowed %v at revision %d, a full replay says %v at %d", dec.Allowed, dec.Revision, want.Allowed, want.Revision)
		}
	}
	b.StopTimer()
	// CPU seconds of the whole process (GC included) per question: on a
	// shared machine the wall time also counts waiting for a core.
	b.ReportMetric((cpuTime()-cpu0).Seconds()/float64(i), "cpu-s/op")
	b.ReportMetric(float64(directory.ReplayedForTest(d))/float64(i), "replayed/op")
	b.ReportMetric(float64(n), "bindings")
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
