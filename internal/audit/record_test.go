package audit_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/audit"
	"github.com/gatehouse-dev/gatehouse/internal/store"
	"github.com/gatehouse-dev/gatehouse/internal/store/sqlite"
)

func openSQLite(t testing.TB) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "audit.db"), sqlite.Options{Synchronous: "NORMAL"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestRecordAppendsInTheCallersTransaction(t *testing.T) {
	s := openSQLite(t)
	ctx := context.Background()
	e := audit.Entry{Org: "acme", Actor: audit.Actor{Principal: "user:alice"}, Action: "bindings.create", Target: "bindings/b1", Result: audit.Success}
	if _, err := s.Write(ctx, func(tx store.Tx) error { return audit.Record(ctx, tx, e) }); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	if _, err := s.Write(ctx, func(tx store.Tx) error {
		if err := audit.Record(ctx, tx, e); err != nil {
			return err
		}
		return boom
	}); !errors.Is(err, boom) {
		t.Fatalf("Write = %v", err)
	}
	recs, err := s.ReadAudit(ctx, "acme", 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 || recs[0].Seq != 1 {
		t.Fatalf("records = %+v, want exactly entry 1 (the rolled-back one is gone)", recs)
	}
}
