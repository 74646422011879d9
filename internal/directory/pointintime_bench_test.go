package directory_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/internal/directory"
	"github.com/gatehouse-dev/gatehouse/internal/store"
	"github.com/gatehouse-dev/gatehouse/internal/store/sqlite"
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
// engines cannot answer); every answer must equal a full replay's.
//
//	first  the first point after its snapshot: the directory's caches are
//	       emptied before each question, so it decodes the snapshot and
//	       builds the org's engine
//	later  a later point after the same snapshot: the engine built from
//	       it is cached (one untimed question first), each question forks
//	       it and applies the changes after the snapshot
//
// N is GATEHOUSE_BENCH_AT_BINDINGS (default 1,000,000). Seeding, the
// snapshotter and the full replay take minutes, so the seeded database
// (with its snapshots) and the full replay's answer are kept in
// os.TempDir() under a name holding the parameters (see at30Days) and
// reused by later runs; delete the files to seed again.
func BenchmarkCheckAt30Days(b *testing.B) {
	n := 1000000
	if v, err := strconv.Atoi(os.Getenv("GATEHOUSE_BENCH_AT_BINDINGS")); err == nil && v > 0 {
		n = v
	}
	st, seed := at30Days(b, n)
	ctx := context.Background()
	// user:u0000001 holds s00000001 (operator, default) until change
	// 2·k with 7919·2k ≡ 1 (mod n) removes it, if that falls in the
	// window; whatever the answer, it must be the full replay's.
	req := authz.Request{Org: "acme", Principal: "user:u0000001", Namespace: "default", ResourceType: "chains", ResourceID: "x", Action: "run"}
	point := seed.Now.Add(-30 * 24 * time.Hour)
	for _, first := range []bool{true, false} {
		name := map[bool]string{true: "first", false: "later"}[first]
		b.Run(name, func(b *testing.B) {
			d := openDir(b, st, directory.Options{SnapshotEvery: -1})
			i := 0
			ask := func() {
				i++
				at := point.Add(time.Duration(i) * time.Microsecond) // a new instant: no past engine answers
				dec, err := d.CheckAt(ctx, alice, req, directory.At{Time: at})
				if err != nil {
					b.Fatal(err)
				}
				if dec.Allowed != seed.Allowed || dec.Revision != seed.Revision {
					b.Fatalf("30 days back: allowed %v at revision %d, a full replay says %v at %d", dec.Allowed, dec.Revision, seed.Allowed, seed.Revision)
				}
			}
			if !first {
				ask() // builds the snapshot's engine
			}
			replayed0, asked0 := directory.ReplayedForTest(d), i
			cpu0 := cpuTime()
			b.ResetTimer()
			for b.Loop() {
				if first {
					directory.DropPastEnginesForTest(d)
				}
				ask()
			}
			b.StopTimer()
			q := float64(i - asked0)
			// CPU seconds of the whole process (GC included) per question:
			// on a shared machine the wall time also counts waiting for a core.
			b.ReportMetric((cpuTime()-cpu0).Seconds()/q, "cpu-s/op")
			b.ReportMetric(float64(directory.ReplayedForTest(d)-replayed0)/q, "replayed/op")
			b.ReportMetric(float64(n), "bindings")
			if bad := directory.UnusableSnapshotsForTest(d); bad != 0 {
				b.Fatalf("%d stored snapshots did not decode (a seed kept from an older encoding? delete it)", bad)
			}
		})
	}
}

// at30Seed is what BenchmarkCheckAt30Days keeps beside its seeded
// database: the instant the history was written relative to, and the
// full replay's answer 30 days before it.
type at30Seed struct {
	Now      time.Time
	Allowed  bool
	Revision uint64
}

// at30Days returns a store holding BenchmarkCheckAt30Days's history for n
// bindings: a copy of the one kept in os.TempDir(), seeded (and answered
// by a full replay) first if there is none.
func at30Days(b *testing.B, n int) (store.Store, at30Seed) {
	b.Helper()
	const users, changes, perRev = 10000, 100000, 100
	ctx := context.Background()
	// v1: the shape below; change it when the seeding changes.
	kept := filepath.Join(os.TempDir(), fmt.Sprintf("gatehouse-bench-at30days-v1-%d-%d-%d-%d", n, users, changes, perRev))
	path := filepath.Join(b.TempDir(), "bench.db")
	var seed at30Seed
	if js, err := os.ReadFile(kept + ".json"); err == nil && json.Unmarshal(js, &seed) == nil && copyFile(kept+".db", path) == nil {
		b.Logf("history kept in %s.db (written %s)", kept, seed.Now.Format(time.RFC3339))
		st, err := sqlite.Open(ctx, path, sqlite.Options{})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = st.Close() })
		return st, seed
	}
	st, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		b.Fatal(err)
	}
	db, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		b.Fatal(err)
	}
	exec := func(q string, args ...any) {
		if _, err := db.Exec(q, args...); err != nil {
			b.Fatalf("seed: %v", err)
		}
	}
	seedOrg(b, "sqlite", st, exec, users, 0)
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

	req := authz.Request{Org: "acme", Principal: "user:u0000001", Namespace: "default", ResourceType: "chains", ResourceID: "x", Action: "run"}
	replay := openDir(b, st, directory.Options{SnapshotEvery: -1})
	directory.ReplayOnlyForTest(replay)
	start = time.Now()
	want, err := replay.CheckAt(ctx, alice, req, directory.At{Time: now.Add(-30 * 24 * time.Hour)})
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("full replay: %v (allowed %v, %d entries)", time.Since(start).Round(time.Millisecond), want.Allowed, directory.ReplayedForTest(replay))
	seed = at30Seed{Now: now, Allowed: want.Allowed, Revision: want.Revision}

	// Keep a copy: every handle closed first, so the file is whole.
	_ = d.Close()
	_ = replay.Close()
	_ = db.Close()
	if err := st.Close(); err != nil {
		b.Fatal(err)
	}
	js, _ := json.Marshal(seed)
	if fi, err := os.Stat(path + "-wal"); err == nil && fi.Size() > 0 {
		b.Logf("not keeping the seeded history: its write-ahead log was not checkpointed")
	} else if err := copyFile(path, kept+".db"); err != nil {
		b.Logf("keeping the seeded history: %v", err)
	} else if err := os.WriteFile(kept+".json", js, 0o644); err != nil {
		b.Logf("keeping the seeded history: %v", err)
	}
	st, err = sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = st.Close() })
	return st, seed
}

// copyFile copies the file from to to (through a temporary file renamed
// into place, so a reader never sees half of it).
func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.CreateTemp(filepath.Dir(to), filepath.Base(to)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(out.Name())
	if _, err := io.Copy(out, in); err != nil {
		_ = out.Close()
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	return os.Rename(out.Name(), to)
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
