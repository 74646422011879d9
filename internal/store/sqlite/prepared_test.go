package sqlite

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-dev/gatehouse/internal/store"
	"github.com/gatehouse-dev/gatehouse/internal/store/sqlcore"
)

// TestPreparedStatements checks that a write transaction runs the
// statements sqlcore asks to keep prepared through the statements
// prepared at Open, and anything else as a plain statement.
func TestPreparedStatements(t *testing.T) {
	ctx := context.Background()
	b, err := openBackend(ctx, filepath.Join(t.TempDir(), "p.db"), Options{BusyTimeout: time.Second, Synchronous: "NORMAL", Readers: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	want := sqlcore.PreparedStatements()
	if len(want) == 0 {
		t.Fatal("sqlcore keeps no statement prepared")
	}
	c, err := b.BeginWrite(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Rollback(ctx)
	p, ok := c.(sqlcore.Preparer)
	if !ok {
		t.Fatalf("a write transaction (%T) is not a sqlcore.Preparer", c)
	}
	for _, q := range want {
		if _, ok := p.Prepared(q).(preparedQ); !ok {
			t.Errorf("Prepared(%.40q…) is not a kept statement", q)
		}
	}
	const other = `SELECT COUNT(*) FROM audit_entries WHERE org = $1`
	if _, ok := p.Prepared(other).(preparedQ); ok {
		t.Errorf("Prepared of a statement sqlcore did not list is a kept statement")
	}
	// A kept statement's Querier runs any other text as a plain statement.
	rows, err := p.Prepared(want[0]).Query(ctx, other, "acme")
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	if !rows.Next() || rows.Scan(&n) != nil || n != 0 {
		t.Errorf("plain statement through a kept statement's Querier: n = %d, %v", n, rows.Err())
	}
	rows.Close()
	r, err := b.BeginRead(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Rollback(ctx)
	if _, ok := r.(sqlcore.Preparer).Prepared(want[0]).(preparedQ); ok {
		t.Errorf("a read transaction hands out the writer's kept statements")
	}
}

// TestPreparedStatementsSurviveSchemaChanges appends audit entries through
// one handle while another connection (another process, a newer version
// migrating) changes the audit table's indexes, and while a second handle
// appends: the kept statements are prepared again by SQLite and the chain
// stays dense.
func TestPreparedStatementsSurviveSchemaChanges(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "s.db")
	s, err := Open(ctx, path, Options{Synchronous: "NORMAL"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s2, err := s.Reopen(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()

	appendNext := func(st store.Store) uint64 {
		t.Helper()
		var seq uint64
		if _, err := st.Write(ctx, func(tx store.Tx) error {
			h, err := tx.AuditHead(ctx, "acme")
			if err != nil {
				return err
			}
			seq = h.Seq + 1
			sum := sha256.Sum256(fmt.Appendf(h.Hash, "%d", seq))
			return tx.AppendAudit(ctx, store.AuditRecord{Org: "acme", Seq: seq, At: int64(seq), Actor: "user:alice",
				Action: "x", Target: "t", Result: "success", Body: []byte(`{}`), Hash: sum[:]})
		}); err != nil {
			t.Fatalf("append %d: %v", seq, err)
		}
		return seq
	}
	var got []uint64
	got = append(got, appendNext(s), appendNext(s))
	for _, ddl := range []string{
		`CREATE INDEX zz_audit_result ON audit_entries (org, result, seq)`,
		`DROP INDEX zz_audit_result`,
		`CREATE TABLE zz_other (x INTEGER)`,
	} {
		if _, err := raw.ExecContext(ctx, ddl); err != nil {
			t.Fatalf("%s: %v", ddl, err)
		}
		got = append(got, appendNext(s), appendNext(s2), appendNext(s))
	}
	if d := cmp.Diff([]uint64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, got); d != "" {
		t.Errorf("sequence numbers (-want +got):\n%s", d)
	}
	recs, err := s.ReadAudit(ctx, "acme", 0, 100)
	if err != nil || len(recs) != 11 || recs[10].Seq != 11 {
		t.Errorf("ReadAudit: %d entries, %v", len(recs), err)
	}
}

// TestPreparedReads checks that the reads sqlcore lists are kept prepared
// on the reader pool, and that a kept read sees every committed change —
// another handle's (another process's) included, and across a schema
// change made by a third connection — rather than a value from when it
// was prepared.
func TestPreparedReads(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "r.db")
	b, err := openBackend(ctx, path, Options{BusyTimeout: time.Second, Synchronous: "NORMAL", Readers: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	want := sqlcore.PreparedReads()
	if len(want) == 0 {
		t.Fatal("sqlcore lists no read to keep prepared")
	}
	for _, q := range want {
		if b.reads[q] == nil {
			t.Errorf("read %.40q… is not kept prepared", q)
		}
	}

	s, err := Open(ctx, path, Options{Synchronous: "NORMAL"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	other, err := s.Reopen(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	set := func(v string) {
		t.Helper()
		if _, err := other.Write(ctx, func(tx store.Tx) error {
			return tx.SetAuditSettings(ctx, "acme", []byte(v))
		}); err != nil {
			t.Fatalf("set %s: %v", v, err)
		}
	}
	read := func() string {
		t.Helper()
		raw, err := s.AuditSettings(ctx, "acme")
		if err != nil {
			t.Fatal(err)
		}
		return string(raw)
	}
	var got []string
	got = append(got, read())
	set(`{"decisions":"denies"}`)
	got = append(got, read(), read())
	if _, err := raw.ExecContext(ctx, `CREATE INDEX zz_settings ON audit_settings (updated_at)`); err != nil {
		t.Fatal(err)
	}
	set(`{"decisions":"all"}`)
	got = append(got, read())
	if _, err := raw.ExecContext(ctx, `DROP INDEX zz_settings`); err != nil {
		t.Fatal(err)
	}
	set(`{"decisions":"off"}`)
	got = append(got, read(), read())
	wantGot := []string{"", `{"decisions":"denies"}`, `{"decisions":"denies"}`, `{"decisions":"all"}`, `{"decisions":"off"}`, `{"decisions":"off"}`}
	if d := cmp.Diff(wantGot, got); d != "" {
		t.Errorf("settings read through the kept statement (-want +got):\n%s", d)
	}
}

// BenchmarkSettingsRead is the decision log's settings read on the reader
// pool, parsed each time (plain, as before PreparedReads) and through its
// kept statement (kept).
func BenchmarkSettingsRead(b *testing.B) {
	ctx := context.Background()
	be, err := openBackend(ctx, filepath.Join(b.TempDir(), "b.db"), Options{BusyTimeout: time.Second, Synchronous: "NORMAL", Readers: 4})
	if err != nil {
		b.Fatal(err)
	}
	defer be.Close()
	q := sqlcore.PreparedReads()[0]
	for _, c := range []struct {
		name string
		q    sqlcore.Querier
	}{{"plain", be.sqlQ}, {"kept", be}} {
		b.Run(c.name, func(b *testing.B) {
			for i := 0; b.Loop(); i++ {
				rows, err := c.q.Query(ctx, q, fmt.Sprint("org", i%1000))
				if err != nil {
					b.Fatal(err)
				}
				for rows.Next() {
				}
				rows.Close()
			}
		})
	}
}
