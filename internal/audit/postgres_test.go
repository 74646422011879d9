package audit_test

import (
	"bytes"
	"context"
	"errors"
	"github.com/gatehouse-dev/gatehouse/internal/store/postgres/pgtest"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/gatehouse-dev/gatehouse/internal/audit"
	"github.com/gatehouse-dev/gatehouse/internal/store"
	"github.com/gatehouse-dev/gatehouse/internal/store/postgres"
)

// pgSchema makes a fresh schema on GATEHOUSE_TEST_POSTGRES (dropped at the
// end) and returns a DSN using it. Without the variable the test skips,
// unless GATEHOUSE_REQUIRE_POSTGRES is set (CI), in which case it fails.
func pgSchema(t *testing.T) string {
	t.Helper()
	return pgtest.FreshSchema(t, "gh_audit")
}

// TestPostgres runs the log, checkpoints, export, verification and the
// append-only triggers on PostgreSQL.
func TestPostgres(t *testing.T) {
	dsn := pgSchema(t)
	ctx := context.Background()
	s, err := postgres.Open(ctx, dsn, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	l := newTestLog(t, s, audit.Options{Signer: testSigner(t), CheckpointEvery: 50})
	for i := 0; i < 300; i += 20 {
		if _, err := s.Write(ctx, func(tx store.Tx) error {
			for j := i; j < i+20; j++ {
				if err := l.Record(ctx, tx, fixtureEntry("acme", j)); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	keys := []audit.PublicKey{testSigner(t).Public()}
	rep, err := audit.Verify(ctx, s, "acme", audit.VerifyOptions{Keys: keys, Batch: 64})
	if err != nil || rep.Entries != 300 || rep.Anchored != 251 {
		t.Fatalf("verify = %+v, %v", rep, err)
	}
	var out bytes.Buffer
	x := &audit.Exporter{Store: s, Org: "acme", Name: "file", Sink: audit.JSONLines{W: &out}, Batch: 70}
	for {
		n, err := x.RunOnce(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
	}
	if lines := bytes.Count(out.Bytes(), []byte("\n")); lines != 300 {
		t.Errorf("exported %d lines, want 300", lines)
	}
	if _, err := l.Checkpoint(ctx, "acme", true); err != nil {
		t.Fatal(err)
	}
	if n, err := l.Prune(ctx, "acme", 101, "file", audit.Actor{Principal: "user:root"}); err != nil || n != 101 {
		t.Fatalf("prune = %d, %v", n, err)
	}
	if rep, err := audit.Verify(ctx, s, "acme", audit.VerifyOptions{Keys: keys}); err != nil || rep.First != 102 || rep.Last != 301 {
		t.Errorf("verify after prune = %+v, %v", rep, err)
	}

	// The database refuses UPDATE, DELETE and TRUNCATE.
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for _, q := range []string{
		`UPDATE audit_entries SET actor = 'x' WHERE seq = 200`,
		`DELETE FROM audit_entries WHERE seq = 200`,
		`TRUNCATE audit_entries`,
		`UPDATE audit_checkpoints SET at = 0`,
		`DELETE FROM audit_checkpoints`,
		`TRUNCATE audit_checkpoints`,
		`DELETE FROM audit_prunes`,
	} {
		if _, err := conn.Exec(ctx, q); err == nil {
			t.Errorf("%s: the database accepted it", q)
		}
	}
	// Past the triggers (an attacker with the database), changes are
	// detected.
	if _, err := conn.Exec(ctx, `DROP TRIGGER audit_entries_append_only ON audit_entries`); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `UPDATE audit_entries SET result = 'success' WHERE org = 'acme' AND seq = 207`); err != nil {
		t.Fatal(err)
	}
	_, err = audit.Verify(ctx, s, "acme", audit.VerifyOptions{Keys: keys})
	var ve *audit.VerifyError
	if !errors.As(err, &ve) || ve.Seq != 207 || ve.Problem != audit.ProblemHash {
		t.Errorf("verify after a change = %v, want a hash mismatch at 207", err)
	}
}
