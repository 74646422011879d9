package sqlite_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	_ "modernc.org/sqlite"

	"github.com/gatehouse-dev/gatehouse/internal/store"
	"github.com/gatehouse-dev/gatehouse/internal/store/migrations"
	"github.com/gatehouse-dev/gatehouse/internal/store/sqlite"
	"github.com/gatehouse-dev/gatehouse/internal/store/storetest"
)

func open(t *testing.T) store.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "gatehouse.db"), sqlite.Options{
		PollInterval: 20 * time.Millisecond, // other handles on the file are seen by polling
		Synchronous:  "NORMAL",              // tests need no power-loss durability
	})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestConformance(t *testing.T) { storetest.RunConformance(t, open) }

// TestSchema migrates an empty file and checks the tables, their key
// columns, the pragmas and goose's recorded version.
func TestSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "schema.db")
	s, err := sqlite.Open(context.Background(), path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	db := closeAndOpenRaw(t, s, path)

	want := storetest.Schema
	got := map[string][]string{}
	rows, err := db.Query(`SELECT m.name, p.name FROM sqlite_master m JOIN pragma_table_info(m.name) p WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' ORDER BY m.name, p.cid`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var table, col string
		if err := rows.Scan(&table, &col); err != nil {
			t.Fatal(err)
		}
		got[table] = append(got[table], col)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("schema mismatch (-want +got):\n%s", d)
	}

	// Every org-scoped table's primary key starts with org.
	for table := range want {
		switch table {
		case "store_revision", "changelog", "orgs", "users", "goose_db_version", "vault_keys",
			"api_keys", "invitations": // deployment-wide, found by id alone
			continue
		}
		var first string
		if err := db.QueryRow(`SELECT name FROM pragma_table_info(?) WHERE pk = 1`, table).Scan(&first); err != nil || first != "org" {
			t.Errorf("primary key of %s starts with %q (err %v), want org", table, first, err)
		}
	}

	var version int64
	if err := db.QueryRow(`SELECT MAX(version_id) FROM goose_db_version WHERE is_applied`).Scan(&version); err != nil || version != storetest.LatestMigration(migrations.SQLite()) {
		t.Errorf("goose version = %d (err %v), want %d", version, err, storetest.LatestMigration(migrations.SQLite()))
	}
	var mode string
	if err := db.QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode = %q (err %v), want wal", mode, err)
	}

	// Re-opening a migrated file applies nothing and keeps the data.
	s, err = sqlite.Open(context.Background(), path, sqlite.Options{})
	if err != nil {
		t.Fatalf("re-open: %v", err)
	}
	defer s.Close()
	if rev, err := s.CurrentRevision(context.Background()); err != nil || rev != 0 {
		t.Errorf("revision after re-open = %d, %v", rev, err)
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		path string
		opts sqlite.Options
		want error
	}{
		{"empty path", "", sqlite.Options{}, store.ErrInvalid},
		{"memory database", ":memory:", sqlite.Options{}, store.ErrInvalid},
		{"URI", "file:x.db", sqlite.Options{}, store.ErrInvalid},
		{"query in the path", filepath.Join(dir, "x.db?mode=ro"), sqlite.Options{}, store.ErrInvalid},
		{"bad synchronous", filepath.Join(dir, "x.db"), sqlite.Options{Synchronous: "OFF"}, store.ErrInvalid},
		{"directory that does not exist", filepath.Join(dir, "nope", "x.db"), sqlite.Options{}, store.ErrBackend},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := sqlite.Open(context.Background(), tc.path, tc.opts)
			if err == nil {
				s.Close()
			}
			if !errors.Is(err, tc.want) {
				t.Errorf("Open(%q) = %v, want %v", tc.path, err, tc.want)
			}
		})
	}
}

// TestChangelogRunRows: a transaction's consecutive changes to one org
// are stored as one changelog row (a run), not a row each: a bulk write
// of a thousand changes inserted a thousand rows and their three B-trees.
// Changes of another org, or deployment-wide ones, break the run. (What
// readers see is storetest's ChangelogRuns.)
func TestChangelogRunRows(t *testing.T) {
	path := filepath.Join(t.TempDir(), "runs.db")
	s, err := sqlite.Open(context.Background(), path, sqlite.Options{Synchronous: "NORMAL"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := s.Write(ctx, func(tx store.Tx) error {
		if _, err := tx.CreateOrg(ctx, store.Org{ID: "a"}); err != nil { // org.put, namespace.put default
			return err
		}
		for i := range 50 {
			if _, err := tx.CreateNamespace(ctx, "a", fmt.Sprintf("n%d", i)); err != nil {
				return err
			}
		}
		if _, err := tx.CreateUser(ctx, store.User{ID: "u1"}); err != nil { // org "": its own row
			return err
		}
		_, err := tx.CreateNamespace(ctx, "a", "last") // a run of one: its own row
		return err
	}); err != nil {
		t.Fatal(err)
	}
	db := closeAndOpenRaw(t, s, path)
	type row struct {
		Seq  int
		Org  string
		Kind string
	}
	var got []row
	rows, err := db.Query(`SELECT seq, org, kind FROM changelog ORDER BY revision, seq`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var r row
		if err := rows.Scan(&r.Seq, &r.Org, &r.Kind); err != nil {
			t.Fatal(err)
		}
		got = append(got, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	want := []row{{0, "a", "changes2"}, {52, "", "user.put"}, {53, "a", "namespace.put"}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("changelog rows (-want +got):\n%s", d)
	}
}

// TestChangelogOldRunRows: a run row of kind "changes", as versions
// before dense runs (branch clog) wrote them, still reads as its changes
// beside the rows written now: a database written by an older binary
// keeps its changelog.
func TestChangelogOldRunRows(t *testing.T) {
	path := filepath.Join(t.TempDir(), "old.db")
	ctx := context.Background()
	s, err := sqlite.Open(ctx, path, sqlite.Options{Synchronous: "NORMAL"})
	if err != nil {
		t.Fatal(err)
	}
	var recorded []store.Change
	if _, err := s.Write(ctx, func(tx store.Tx) error {
		if _, err := tx.CreateOrg(ctx, store.Org{ID: "a"}); err != nil {
			return err
		}
		_, err := tx.CreateNamespace(ctx, "a", "n1")
		recorded = append(recorded, tx.Changes()...)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	db := closeAndOpenRaw(t, s, path)
	// Revision 2 as the older binary wrote it: one run row of kind changes.
	at := recorded[0].CreatedAt
	old := []store.Change{
		{Revision: 2, Seq: 0, Org: "a", Kind: store.KindNamespacePut, Key: "n2", Payload: []byte(`{"org":"a","name":"n2"}`), CreatedAt: at},
		{Revision: 2, Seq: 1, Org: "a", Kind: store.KindNamespacePut, Key: "n\"3", Payload: []byte(`{"org":"a","name":"é\"}"}`), CreatedAt: at},
	}
	if _, err := db.Exec(`INSERT INTO changelog (revision, seq, org, kind, change_key, payload, created_at) VALUES (2, 0, 'a', 'changes', '2', ?, ?)`,
		`[{"k":"namespace.put","key":"n2","p":{"org":"a","name":"n2"}},{"k":"namespace.put","key":"n\"3","p":{"org":"a","name":"é\"}"}}]`, at.UnixMicro()); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`UPDATE store_revision SET revision = 2 WHERE id = 1`); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = sqlite.Open(ctx, path, sqlite.Options{Synchronous: "NORMAL"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Write(ctx, func(tx store.Tx) error { // a dense run at revision 3
		for _, ns := range []string{"n4", "n5"} {
			if _, err := tx.CreateNamespace(ctx, "a", ns); err != nil {
				return err
			}
		}
		recorded = append(recorded, tx.Changes()...)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	want := append(append(recorded[:len(recorded)-2:len(recorded)-2], old...), recorded[len(recorded)-2:]...)
	for _, read := range []struct {
		name string
		fn   func() ([]store.Change, error)
	}{
		{"ChangesSince", func() ([]store.Change, error) { return s.ChangesSince(ctx, 0, 0) }},
		{"OrgChangesSince", func() ([]store.Change, error) { return s.OrgChangesSince(ctx, "a", 0, 0) }},
	} {
		got, err := read.fn()
		if err != nil {
			t.Fatalf("%s: %v", read.name, err)
		}
		var wantOrg []store.Change
		for _, c := range want {
			if read.name == "ChangesSince" || c.Org == "a" {
				wantOrg = append(wantOrg, c)
			}
		}
		if d := cmp.Diff(wantOrg, got); d != "" {
			t.Errorf("%s (-want +got):\n%s", read.name, d)
		}
	}
}

// closeAndOpenRaw closes the store and opens its file with database/sql,
// to read what the store wrote as SQLite stores it.
func closeAndOpenRaw(t *testing.T, s *sqlite.Store, path string) *sql.DB {
	t.Helper()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}
