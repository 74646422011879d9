package audit_test

import (
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/pressly/goose/v3"

	"github.com/gatehouse-dev/gatehouse/internal/audit"
	"github.com/gatehouse-dev/gatehouse/internal/store"
	"github.com/gatehouse-dev/gatehouse/internal/store/migrations"
)

// TestUpgradeToAuditRuns migrates a database at 00018 that holds a signed
// log to 00019, which serves the actor and time filters from audit_runs
// (one run per existing entry) instead of the entries' own indexes: every
// filtered listing answers what the same log answers when written after
// the migration, and the log still verifies with its keys and MACs.
func TestUpgradeToAuditRuns(t *testing.T) {
	ctx := ctxT(t)
	dir := t.TempDir()
	src := filepath.Join(dir, "src.db") // written at the newest schema
	buildFixture(t, src, "acme", 230, 100)

	// The same rows in a database at 00018, copied with SQL.
	old := filepath.Join(dir, "old.db")
	db, err := sql.Open("sqlite", "file:"+old)
	if err != nil {
		t.Fatal(err)
	}
	p, err := goose.NewProvider(goose.DialectSQLite3, db, migrations.SQLite(), goose.WithDisableGlobalRegistry(true))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.UpTo(ctx, 18); err != nil {
		t.Fatal(err)
	}
	for _, st := range []string{
		`ATTACH DATABASE 'file:` + src + `' AS src`,
		`INSERT INTO audit_entries SELECT * FROM src.audit_entries`,
		`INSERT INTO audit_checkpoints SELECT * FROM src.audit_checkpoints`,
		`INSERT INTO audit_heads SELECT * FROM src.audit_heads`,
		`DETACH DATABASE src`,
	} {
		if _, err := db.ExecContext(ctx, st); err != nil {
			t.Fatalf("%s: %v", st, err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	want, got := openStore(t, src), openStore(t, old) // Open migrates old to the newest
	var runs, entries int
	raw, err := sql.Open("sqlite", "file:"+old)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if err := raw.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM audit_runs), (SELECT count(*) FROM audit_entries)`).Scan(&runs, &entries); err != nil {
		t.Fatal(err)
	}
	if runs != 230 || entries != 230 {
		t.Errorf("after the migration: %d runs of %d entries, want one run per entry (230)", runs, entries)
	}

	list := func(s store.Store, f store.AuditFilter, size int) []store.AuditRecord {
		t.Helper()
		return listAllAudit(t, ctx, s, "acme", f, size)
	}
	all := list(want, store.AuditFilter{}, store.MaxPageSize)
	if len(all) != 230 {
		t.Fatalf("the fixture has %d entries, want 230", len(all))
	}
	mid := time.UnixMicro(all[len(all)/2].At)
	filters := []store.AuditFilter{{}, {Since: mid}, {Until: mid}, {Since: mid, Until: mid.Add(time.Microsecond)}, {After: 100}}
	for i := range 8 {
		filters = append(filters, store.AuditFilter{Actor: fmt.Sprintf("user:u%d", i)})
	}
	filters = append(filters, store.AuditFilter{Actor: "user:u3", Since: mid}, store.AuditFilter{Actor: "user:u3", Action: "bindings.*"})
	for _, f := range filters {
		for _, newest := range []bool{false, true} {
			f.Newest = newest
			for _, size := range []int{1, 9, store.MaxPageSize} {
				if d := cmp.Diff(list(want, f, size), list(got, f, size)); d != "" {
					t.Errorf("ListAudit(%+v), pages of %d, after the upgrade (-new log +upgraded):\n%s", f, size, d)
				}
			}
		}
	}

	signer := testSigner(t)
	if _, err := audit.Verify(ctx, got, "acme", audit.VerifyOptions{Keys: []audit.PublicKey{signer.Public()}, MACKeys: []audit.MACKey{signer.MACKey()}}); err != nil {
		t.Errorf("Verify after the upgrade: %v", err)
	}
	// The upgraded log goes on: a new write is one more run.
	l := newTestLog(t, got, audit.Options{Signer: signer, CheckpointInterval: time.Hour}) // no checkpoint due by time midway (it would end the run): the test takes over a minute under -race
	if _, err := got.Write(ctx, func(tx store.Tx) error {
		for j := 230; j < 240; j++ {
			e := fixtureEntry("acme", j)
			e.Actor.Principal = "user:bulk"
			if err := l.Record(ctx, tx, e); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if n := len(list(got, store.AuditFilter{Actor: "user:bulk"}, 3)); n != 10 {
		t.Errorf("the new write's actor lists %d entries, want 10", n)
	}
	if err := raw.QueryRowContext(ctx, `SELECT count(*) FROM audit_runs`).Scan(&runs); err != nil || runs != 231 {
		t.Errorf("after a write of 10 entries: %d runs (%v), want 231", runs, err)
	}
	if _, err := audit.Verify(ctx, got, "acme", audit.VerifyOptions{Keys: []audit.PublicKey{signer.Public()}, MACKeys: []audit.MACKey{signer.MACKey()}}); err != nil {
		t.Errorf("Verify after a write on the upgraded log: %v", err)
	}
}
