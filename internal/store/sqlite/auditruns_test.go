package sqlite

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-dev/gatehouse/internal/store"
	"github.com/gatehouse-dev/gatehouse/internal/store/storetest"
)

// TestAuditRunRows checks the rows behind the audit log's actor and time
// filters (migration 00019): a transaction's entries of one actor and time
// are one run, a change of actor or time starts another, and a prune
// deletes the runs it covers whole and keeps one it ends inside — which
// no UPDATE or DELETE outside a prune can touch.
func TestAuditRunRows(t *testing.T) {
	ctx := context.Background()
	st, b := openTestStore(t, 2, nil)
	hash := func(n uint64) []byte { h := sha256.Sum256([]byte(fmt.Sprint(n))); return h[:] }
	var seq uint64
	write := func(actors ...string) {
		t.Helper()
		if _, err := st.Write(ctx, func(tx store.Tx) error {
			for _, a := range actors {
				seq++
				if err := tx.AppendAudit(ctx, store.AuditRecord{Org: "acme", Seq: seq, At: 1000, Actor: a, Action: "x", Target: "t/1",
					Result: "success", Body: []byte(`{}`), Hash: hash(seq)}); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	runs := func() [][2]int64 {
		t.Helper()
		rows, err := b.w.QueryContext(ctx, `SELECT first_seq, last_seq FROM audit_runs WHERE org = 'acme' ORDER BY last_seq`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out [][2]int64
		for rows.Next() {
			var r [2]int64
			if err := rows.Scan(&r[0], &r[1]); err != nil {
				t.Fatal(err)
			}
			out = append(out, r)
		}
		return out
	}
	many := make([]string, 100)
	for i := range many {
		many[i] = "user:alice"
	}
	write(many...)                              // 1-100
	write("user:bob", "user:bob", "user:alice") // 101-103
	write("user:alice")                         // 104
	if d := cmp.Diff([][2]int64{{1, 100}, {101, 102}, {103, 103}, {104, 104}}, runs()); d != "" {
		t.Errorf("runs (-want +got):\n%s", d)
	}
	for _, sql := range []string{`UPDATE audit_runs SET actor = 'user:mallory'`, `DELETE FROM audit_runs WHERE last_seq = 104`} {
		if _, err := b.w.ExecContext(ctx, sql); err == nil {
			t.Errorf("%s: no error, want the append-only trigger's", sql)
		}
	}
	// Prune through 101: run 1-100 goes, 101-102 stays (102 remains).
	if _, err := st.Write(ctx, func(tx store.Tx) error {
		if err := tx.AppendAuditCheckpoint(ctx, store.AuditCheckpoint{Org: "acme", Seq: 101, Head: hash(101), At: 1, KeyID: "k", Signature: []byte("s")}); err != nil {
			return err
		}
		_, err := tx.PruneAudit(ctx, "acme", 101)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([][2]int64{{101, 102}, {103, 103}, {104, 104}}, runs()); d != "" {
		t.Errorf("runs after pruning through 101 (-want +got):\n%s", d)
	}
	rs, _, err := st.ListAudit(ctx, "acme", store.AuditFilter{Actor: "user:bob"}, store.Page{})
	if err != nil || len(rs) != 1 || rs[0].Seq != 102 {
		t.Errorf("bob's entries after the prune: %v, %v; want 102 only", rs, err)
	}
}

// TestAuditRunContextRows checks the rows of migration 00020: a run of
// entries with one request context stores it once (audit_runs.ctx) and
// its entries the rest of their bodies; a change of context starts
// another run; a run of one entry, or of entries without a context,
// keeps whole bodies; and reads put the bodies back byte for byte.
func TestAuditRunContextRows(t *testing.T) {
	ctx := context.Background()
	st, b := openTestStore(t, 2, nil)
	hash := func(n uint64) []byte { h := sha256.Sum256([]byte(fmt.Sprint(n))); return h[:] }
	var seq uint64
	bodies := map[uint64]string{}
	// write appends one entry per context in one transaction of one
	// actor and time ("" for a body without a context).
	write := func(ctxs ...string) {
		t.Helper()
		if _, err := st.Write(ctx, func(tx store.Tx) error {
			for _, c := range ctxs {
				seq++
				r := store.AuditRecord{Org: "acme", Seq: seq, At: 1000, Actor: "user:alice", Action: "x", Target: "t/1",
					Result: "success", Body: []byte(fmt.Sprintf(`{"n":%d}`, seq)), Hash: hash(seq)}
				if c != "" {
					r.Body = []byte(fmt.Sprintf(`{"request_id":%q,"n":%d}`, c, seq))
					r.ContextLen = len(fmt.Sprintf(`{"request_id":%q,`, c))
				}
				bodies[seq] = string(r.Body)
				if err := tx.AppendAudit(ctx, r); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	write("r1", "r1", "r1", "r2", "r2", "", "") // 1-3, 4-5, 6-7
	write("r3")                                 // 8: a run of one
	type run struct {
		First, Last int64
		Ctx         string
	}
	var got []run
	rows, err := b.w.QueryContext(ctx, `SELECT first_seq, last_seq, ctx FROM audit_runs WHERE org = 'acme' ORDER BY last_seq`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var r run
		if err := rows.Scan(&r.First, &r.Last, &r.Ctx); err != nil {
			t.Fatal(err)
		}
		got = append(got, r)
	}
	rows.Close()
	want := []run{{1, 3, `{"request_id":"r1",`}, {4, 5, `{"request_id":"r2",`}, {6, 7, ""}, {8, 8, ""}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("runs (-want +got):\n%s", d)
	}
	var stored string
	if err := b.w.QueryRowContext(ctx, `SELECT body FROM audit_entries WHERE org = 'acme' AND seq = 2`).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if stored != `"n":2}` {
		t.Errorf("entry 2's stored body is %q, want the rest after its run's context", stored)
	}
	rs, err := st.ReadAudit(ctx, "acme", 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	gotBodies := map[uint64]string{}
	for _, r := range rs {
		gotBodies[r.Seq] = string(r.Body)
	}
	if d := cmp.Diff(bodies, gotBodies); d != "" {
		t.Errorf("bodies read (-written +read):\n%s", d)
	}
	if _, err := b.w.ExecContext(ctx, `UPDATE audit_runs SET ctx = '{"request_id":"forged",'`); err == nil {
		t.Errorf("UPDATE of a run's ctx: no error, want the append-only trigger's")
	}
	// A context that is not the body's leading members is refused.
	for _, n := range []int{1, 2, 5, 100} {
		_, err := st.Write(ctx, func(tx store.Tx) error {
			return tx.AppendAudit(ctx, store.AuditRecord{Org: "acme", Seq: seq + 1, At: 1000, Actor: "user:alice", Action: "x", Target: "t/1",
				Result: "success", Body: []byte(`{"a":"b","c":1}`), ContextLen: n, Hash: hash(seq + 1)})
		})
		if !errors.Is(err, store.ErrInvalid) {
			t.Errorf("ContextLen %d: %v, want ErrInvalid", n, err)
		}
	}
}

// TestAuditRunLookup runs storetest.RunAuditRunLookup: an entry whose run
// is missing never borrows a later run's context.
func TestAuditRunLookup(t *testing.T) {
	st, b := openTestStore(t, 2, nil)
	storetest.RunAuditRunLookup(t, st, func(ctx context.Context, sql string, args ...any) error {
		_, err := b.w.ExecContext(ctx, positional(sql), args...)
		return err
	})
}
