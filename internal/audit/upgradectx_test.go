package audit_test

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/pressly/goose/v3"

	"github.com/gatehouse-dev/gatehouse/internal/audit"
	"github.com/gatehouse-dev/gatehouse/internal/store"
	"github.com/gatehouse-dev/gatehouse/internal/store/migrations"
	"github.com/gatehouse-dev/gatehouse/internal/store/postgres"
	"github.com/gatehouse-dev/gatehouse/internal/store/sqlite"
)

// ctxEntry is an entry of a bulk write by user:loader with request
// context req (one shared by the write's entries, as the server writes
// them).
func ctxEntry(org, req string, i int) audit.Entry {
	return audit.Entry{Org: org, Action: "binding.create", Target: fmt.Sprintf("bindings/%s-%d", req, i), Result: audit.Success,
		Actor: audit.Actor{Principal: "user:loader", Roles: []string{"owner"}, KeyID: "b4405c96a3a3e236", ClientAddr: "127.0.0.1", RequestID: req},
		After: json.RawMessage(fmt.Sprintf(`{"id":"%s-%d","role":"viewer"}`, req, i))}
}

// writeCtxLog writes the upgrade tests' log: bulk writes whose entries
// share a request context (one that changes midway), the fixture's
// varied entries, and checkpoints.
func writeCtxLog(t *testing.T, s store.Store, orgs []string) {
	t.Helper()
	ctx := ctxT(t)
	l := newTestLog(t, s, audit.Options{Signer: testSigner(t), CheckpointEvery: 40})
	for w := range 6 {
		if _, err := s.Write(ctx, func(tx store.Tx) error {
			for _, org := range orgs {
				for i := range 12 {
					e := ctxEntry(org, fmt.Sprintf("req-%d-%d", w, i/8), i)
					if w%2 == 1 {
						e = fixtureEntry(org, w*100+i)
					}
					if err := l.Record(ctx, tx, e); err != nil {
						return err
					}
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
}

// copyTo19 copies src's log into db, a database at migration 00019, as
// 00019 stored it: every body whole (read back through src), the runs
// without a context. runsFrom is src's audit_runs as db names it; ph is
// the dialect's placeholder.
func copyTo19(t *testing.T, src store.Store, db *sql.DB, orgs []string, srcTable func(string) string, ph func(int) string) {
	t.Helper()
	ctx := ctxT(t)
	for _, table := range []string{"audit_checkpoints", "audit_heads"} {
		st := fmt.Sprintf(`INSERT INTO %s SELECT * FROM %s`, table, srcTable(table))
		if _, err := db.ExecContext(ctx, st); err != nil {
			t.Fatalf("%s: %v", st, err)
		}
	}
	// The new log's bulk writes store their contexts: 2 runs an org in
	// each of its 3 bulk writes.
	var n int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM `+srcTable("audit_runs")+` WHERE ctx <> ''`).Scan(&n); err != nil || n != 12 {
		t.Fatalf("the new log has %d runs with a context (%v), want 12", n, err)
	}
	st := `INSERT INTO audit_runs SELECT org, actor, last_seq, first_seq, at FROM ` + srcTable("audit_runs")
	if _, err := db.ExecContext(ctx, st); err != nil {
		t.Fatalf("%s: %v", st, err)
	}
	ins := `INSERT INTO audit_entries (org, seq, at, actor, action, target, result, body, hash, mac) VALUES (`
	for i := 1; i <= 10; i++ {
		if i > 1 {
			ins += ", "
		}
		ins += ph(i)
	}
	ins += ")"
	for _, org := range orgs {
		rs, err := src.ReadAudit(ctx, org, 0, store.MaxAuditBatch)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rs {
			if _, err := db.ExecContext(ctx, ins, r.Org, int64(r.Seq), r.At, r.Actor, r.Action, r.Target, r.Result, string(r.Body), r.Hash, r.MAC); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// checkCtxUpgrade compares got (upgraded from 00019) with want (the same
// log written at the newest schema): every org's listings under every
// filter, bodies included, and verification; then writes a bulk write of
// one context on got, which stores its context once and still verifies.
// ctxRuns counts db's runs that store a context.
func checkCtxUpgrade(t *testing.T, want, got store.Store, orgs []string, ctxRuns func() int) {
	t.Helper()
	ctx := ctxT(t)
	signer := testSigner(t)
	if n := ctxRuns(); n != 0 {
		t.Errorf("after the migration: %d runs store a context, want none (00019's bodies are whole)", n)
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
		if len(all) != 72 {
			t.Fatalf("%s: the new log lists %d entries, want 72", org, len(all))
		}
		mid := time.UnixMicro(all[len(all)/2].At)
		filters := []store.AuditFilter{{}, {Since: mid}, {Until: mid}, {After: 30}, {Actor: "user:loader"}, {Actor: "user:loader", Since: mid},
			{Actor: "user:u3"}, {Target: "bindings/req-2-1-9"}, {Action: "binding.*"}}
		for _, f := range filters {
			for _, newest := range []bool{false, true} {
				f.Newest = newest
				for _, size := range []int{7, store.MaxPageSize} {
					if d := cmp.Diff(list(want, org, f, size), list(got, org, f, size)); d != "" {
						t.Errorf("%s: ListAudit(%+v), pages of %d, after the upgrade (-new log +upgraded):\n%s", org, f, size, d)
					}
				}
			}
		}
		w, werr := want.ReadAudit(ctx, org, 0, 1000)
		g, gerr := got.ReadAudit(ctx, org, 0, 1000)
		if werr != nil || gerr != nil {
			t.Fatalf("%s: ReadAudit: %v, %v", org, werr, gerr)
		}
		if d := cmp.Diff(w, g); d != "" {
			t.Errorf("%s: ReadAudit after the upgrade (-new log +upgraded):\n%s", org, d)
		}
	}
	verify("after the upgrade")

	// The upgraded log goes on: a bulk write of one context stores it once.
	l := newTestLog(t, got, audit.Options{Signer: signer, CheckpointInterval: time.Hour}) // no checkpoint due by time midway (it would end the run): the test takes over a minute under -race
	if _, err := got.Write(ctx, func(tx store.Tx) error {
		for i := range 10 {
			if err := l.Record(ctx, tx, ctxEntry(orgs[0], "late", i)); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if n := ctxRuns(); n != 1 {
		t.Errorf("after a bulk write of one context: %d runs store a context, want 1", n)
	}
	rs := list(got, orgs[0], store.AuditFilter{Actor: "user:loader", After: 72}, 3)
	if len(rs) != 10 {
		t.Fatalf("the new write's actor lists %d entries, want 10", len(rs))
	}
	for _, r := range rs {
		e, err := audit.FromRecord(r)
		if err != nil || e.Actor.RequestID != "late" {
			t.Errorf("entry %d read back as %s (%v), want request late", r.Seq, r.Body, err)
		}
	}
	verify("after a write on the upgraded log")
}

// TestUpgradeToAuditRunContexts migrates a SQLite database at 00019 that
// holds a signed log with bulk writes (whole bodies) to 00020: listings,
// bodies and verification are as in the same log written at 00020 (whose
// bulk writes store their contexts once), and the log goes on.
func TestUpgradeToAuditRunContexts(t *testing.T) {
	ctx := ctxT(t)
	dir := t.TempDir()
	orgs := []string{"acme", "globex"}
	src := filepath.Join(dir, "src.db")
	want := openStore(t, src)
	writeCtxLog(t, want, orgs)

	old := filepath.Join(dir, "old.db")
	db, err := sql.Open("sqlite", "file:"+old)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1) // the ATTACH holds for every statement
	p, err := goose.NewProvider(goose.DialectSQLite3, db, migrations.SQLite(), goose.WithDisableGlobalRegistry(true))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.UpTo(ctx, 19); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `ATTACH DATABASE 'file:`+src+`' AS src`); err != nil {
		t.Fatal(err)
	}
	copyTo19(t, want, db, orgs, func(table string) string { return "src." + table }, func(int) string { return "?" })
	if _, err := db.ExecContext(ctx, `DETACH DATABASE src`); err != nil {
		t.Fatal(err)
	}
	got, err := sqlite.Open(ctx, old, sqlite.Options{Synchronous: "NORMAL"}) // migrates to the newest
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { got.Close() })
	ctxRuns := func() int {
		t.Helper()
		var n int
		if err := db.QueryRowContext(ctx, `SELECT count(*) FROM audit_runs WHERE ctx <> ''`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	checkCtxUpgrade(t, want, got, orgs, ctxRuns)
}

// TestUpgradeToAuditRunContextsPostgres is TestUpgradeToAuditRunContexts
// on PostgreSQL. Skips when GATEHOUSE_TEST_POSTGRES is unset (fails under
// GATEHOUSE_REQUIRE_POSTGRES).
func TestUpgradeToAuditRunContextsPostgres(t *testing.T) {
	ctx := ctxT(t)
	srcDSN, oldDSN := pgSchema(t), pgSchema(t)
	orgs := []string{"acme", "globex"}
	want, err := postgres.Open(ctx, srcDSN, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { want.Close() })
	writeCtxLog(t, want, orgs)

	db, err := sql.Open("pgx", oldDSN)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	p, err := goose.NewProvider(goose.DialectPostgres, db, migrations.Postgres(), goose.WithDisableGlobalRegistry(true))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.UpTo(ctx, 19); err != nil {
		t.Fatal(err)
	}
	var src string
	if err := func() error {
		c, err := sql.Open("pgx", srcDSN)
		if err != nil {
			return err
		}
		defer c.Close()
		return c.QueryRowContext(ctx, `SELECT current_schema()`).Scan(&src)
	}(); err != nil {
		t.Fatal(err)
	}
	copyTo19(t, want, db, orgs, func(table string) string { return src + "." + table }, func(i int) string { return fmt.Sprintf("$%d", i) })
	got, err := postgres.Open(ctx, oldDSN, postgres.Options{}) // migrates to the newest
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { got.Close() })
	checkCtxUpgrade(t, want, got, orgs, func() int {
		t.Helper()
		var n int
		if err := db.QueryRowContext(ctx, `SELECT count(*) FROM audit_runs WHERE ctx <> ''`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	})
}
