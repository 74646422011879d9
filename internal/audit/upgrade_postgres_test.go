package audit_test

import (
	"database/sql"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx", for goose
	"github.com/pressly/goose/v3"

	"github.com/gatehouse-dev/gatehouse/internal/audit"
	"github.com/gatehouse-dev/gatehouse/internal/store"
	"github.com/gatehouse-dev/gatehouse/internal/store/migrations"
	"github.com/gatehouse-dev/gatehouse/internal/store/postgres"
)

// TestUpgradeToAuditRunsPostgres is TestUpgradeToAuditRuns on PostgreSQL,
// with several orgs in the same transactions and runs of several entries
// in the log written at the newest schema: a schema at 00018 holding the
// same signed log, migrated to 00019 by Open, has one run per entry, every
// org's filtered listings answer what the new log answers, nothing of one
// org appears in another's, and every org verifies with its keys and MACs.
// Skips when GATEHOUSE_TEST_POSTGRES is unset (fails under
// GATEHOUSE_REQUIRE_POSTGRES).
func TestUpgradeToAuditRunsPostgres(t *testing.T) {
	ctx := ctxT(t)
	srcDSN, oldDSN := pgSchema(t), pgSchema(t)
	orgs := []string{"acme", "globex", "initech"}
	signer := testSigner(t)

	// The log written at the newest schema: transactions of 1 to 30
	// entries, each spanning every org; some write a stretch of one actor
	// (a run of several entries in the new log, one run per entry after
	// the upgrade's backfill).
	want, err := postgres.Open(ctx, srcDSN, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { want.Close() })
	l := newTestLog(t, want, audit.Options{Signer: signer, CheckpointEvery: 40})
	sizes := []int{1, 7, 30, 2, 13}
	wantEntries := map[string]int{}
	for i, w := 0, 0; i < 180; i, w = i+sizes[w%len(sizes)], w+1 {
		n := sizes[w%len(sizes)]
		if _, err := want.Write(ctx, func(tx store.Tx) error {
			for k, org := range orgs {
				for j := i; j < i+n; j++ {
					if (j+k)%4 == 3 { // orgs' entry counts and sequence numbers differ
						continue
					}
					e := fixtureEntry(org, j)
					if w%3 == 1 {
						e.Actor.Principal = fmt.Sprintf("user:bulk%d", w%2)
					}
					if err := l.Record(ctx, tx, e); err != nil {
						return err
					}
					wantEntries[org]++
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	for _, org := range orgs {
		if _, err := l.Checkpoint(ctx, org, true); err != nil {
			t.Fatal(err)
		}
	}
	total := 0
	for _, n := range wantEntries {
		total += n
	}

	// The same rows in a schema at 00018, copied with SQL.
	db, err := sql.Open("pgx", oldDSN)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	p, err := goose.NewProvider(goose.DialectPostgres, db, migrations.Postgres(), goose.WithDisableGlobalRegistry(true))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.UpTo(ctx, 18); err != nil {
		t.Fatal(err)
	}
	schemaOf := func(dsn string) string {
		t.Helper()
		c, err := sql.Open("pgx", dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		var s string
		if err := c.QueryRowContext(ctx, `SELECT current_schema()`).Scan(&s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	src := schemaOf(srcDSN)
	for _, table := range []string{"audit_entries", "audit_checkpoints", "audit_heads"} {
		st := fmt.Sprintf(`INSERT INTO %s SELECT * FROM %s.%s`, table, src, table)
		if _, err := db.ExecContext(ctx, st); err != nil {
			t.Fatalf("%s: %v", st, err)
		}
	}
	var runs, entries int
	if err := db.QueryRowContext(ctx, fmt.Sprintf(`SELECT (SELECT count(*) FROM %s.audit_runs), (SELECT count(*) FROM %s.audit_entries)`, src, src)).Scan(&runs, &entries); err != nil {
		t.Fatal(err)
	}
	if entries != total || runs >= entries {
		t.Fatalf("the new log has %d runs of %d entries, want %d entries in fewer runs", runs, entries, total)
	}
	count := func() {
		t.Helper()
		if err := db.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM audit_runs), (SELECT count(*) FROM audit_entries)`).Scan(&runs, &entries); err != nil {
			t.Fatal(err)
		}
	}

	got, err := postgres.Open(ctx, oldDSN, postgres.Options{}) // migrates to the newest
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { got.Close() })
	if count(); runs != total || entries != total {
		t.Errorf("after the migration: %d runs of %d entries, want one run per entry (%d)", runs, entries, total)
	}

	list := func(s store.Store, org string, f store.AuditFilter, size int) []store.AuditRecord {
		t.Helper()
		return listAllAudit(t, ctx, s, org, f, size)
	}
	verify := func(when string) {
		t.Helper()
		verifyOrgs(t, ctx, got, signer, orgs, when)
	}
	for _, org := range orgs {
		all := list(want, org, store.AuditFilter{}, store.MaxPageSize)
		if len(all) != wantEntries[org] {
			t.Fatalf("%s: the fixture lists %d entries, want %d", org, len(all), wantEntries[org])
		}
		mid := time.UnixMicro(all[len(all)/2].At)
		filters := []store.AuditFilter{{}, {Since: mid}, {Until: mid}, {Since: mid, Until: mid.Add(time.Microsecond)}, {After: 40}}
		for _, a := range []string{"user:u0", "user:u3", "user:u6", "user:bulk0", "user:bulk1", "user:nobody"} {
			filters = append(filters, store.AuditFilter{Actor: a}, store.AuditFilter{Actor: a, Since: mid}, store.AuditFilter{Actor: a, Until: mid})
		}
		filters = append(filters, store.AuditFilter{Actor: "user:u3", Action: "bindings.*"}, store.AuditFilter{Actor: "user:bulk1", After: 40})
		for _, f := range filters {
			for _, newest := range []bool{false, true} {
				f.Newest = newest
				for _, size := range []int{1, 9, store.MaxPageSize} {
					w, g := list(want, org, f, size), list(got, org, f, size)
					if d := cmp.Diff(w, g); d != "" {
						t.Errorf("%s: ListAudit(%+v), pages of %d, after the upgrade (-new log +upgraded):\n%s", org, f, size, d)
					}
					for _, r := range g {
						if r.Org != org {
							t.Fatalf("%s: ListAudit(%+v) after the upgrade lists an entry of %s", org, f, r.Org)
						}
					}
				}
			}
		}
	}
	verify("after the upgrade")

	// The upgraded log goes on: a transaction of one actor's 10 entries is
	// one more run, listed by its actor in its org only.
	l = newTestLog(t, got, audit.Options{Signer: signer, CheckpointInterval: time.Hour}) // no checkpoint due by time midway (it would end the run): the test takes over a minute under -race
	if _, err := got.Write(ctx, func(tx store.Tx) error {
		for j := range 10 {
			e := fixtureEntry("globex", 1000+j)
			e.Actor.Principal = "user:late"
			if err := l.Record(ctx, tx, e); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for _, org := range orgs {
		wantN := 0
		if org == "globex" {
			wantN = 10
		}
		if n := len(list(got, org, store.AuditFilter{Actor: "user:late"}, 3)); n != wantN {
			t.Errorf("%s: the new write's actor lists %d entries, want %d", org, n, wantN)
		}
	}
	if count(); runs != total+1 || entries != total+10 {
		t.Errorf("after a write of 10 entries: %d runs of %d entries, want %d of %d", runs, entries, total+1, total+10)
	}
	verify("after a write on the upgraded log")
}
