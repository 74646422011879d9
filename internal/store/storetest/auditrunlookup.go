package storetest

import (
	"context"
	"crypto/sha256"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// Exec runs one statement on a store's database directly, past the store:
// what a test needs to put rows there that the store's API never writes
// (a backend's test passes its own). Placeholders are $1, $2, ...
type Exec func(ctx context.Context, sql string, args ...any) error

// RunAuditRunLookup checks that an audit entry stored without its request
// context (migration 00020) is read with its own run's context only: an
// entry whose run is missing — which the store never writes, so exec
// inserts it past the store, as damage or tampering would — keeps the
// bytes stored, whatever path reads it, and never borrows the context of
// the actor's next run (verification then reports it, rather than
// checking a body the store made up). Every backend's tests run it.
func RunAuditRunLookup(t *testing.T, s store.Store, exec Exec) {
	ctx := ctxT(t)
	const (
		org   = "acme"
		alice = "user:alice"
		t0    = int64(1_700_000_000_000_000)
	)
	hash := func(body string) []byte { h := sha256.Sum256([]byte(body)); return h[:] }
	want := map[uint64]string{} // each entry's body as read
	// run appends seqs first..last by alice in one transaction, each
	// body starting with ctx (one run storing it once).
	run := func(first, last uint64, ctxID string) {
		t.Helper()
		c := `{"request_id":"` + ctxID + `",`
		write(t, s, func(ctx context.Context, tx store.Tx) error {
			for seq := first; seq <= last; seq++ {
				body := fmt.Sprintf(`%s"n":%d}`, c, seq)
				want[seq] = body
				if err := tx.AppendAudit(ctx, store.AuditRecord{Org: org, Seq: seq, At: t0, Actor: alice, Action: "bindings.create",
					Target: "bindings/b1", Result: "success", Body: []byte(body), ContextLen: len(c), Hash: hash(body)}); err != nil {
					return err
				}
			}
			return nil
		})
	}
	run(1, 3, "req-1")
	// Entry 4 stored without its context, and no run of it: its hash is
	// that of the body the next run's context would make of it, so a
	// store that spliced that context in would hand verification a body
	// that checks.
	rest := `"n":4}`
	later := `{"request_id":"req-5",` + rest
	if err := exec(ctx, `INSERT INTO audit_entries (org, seq, at, actor, action, target, result, body, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		org, int64(4), t0, alice, "bindings.create", "bindings/b1", "success", rest, hash(later)); err != nil {
		t.Fatalf("insert entry 4 past the store: %v", err)
	}
	want[4] = rest
	run(5, 7, "req-5")

	bodies := func(rs []store.AuditRecord) map[uint64]string {
		out := map[uint64]string{}
		for _, r := range rs {
			out[r.Seq] = string(r.Body)
		}
		return out
	}
	read := must(s.ReadAudit(ctx, org, 0, store.MaxAuditBatch)).get(t)
	if d := cmp.Diff(want, bodies(read)); d != "" {
		t.Errorf("ReadAudit bodies (-want +got):\n%s", d)
	}
	// ListAudit without an actor or time filter (each entry's own run
	// looked up with it), oldest and newest first, in pages that start
	// at the entry and after it.
	for _, f := range []store.AuditFilter{{}, {Newest: true}, {Target: "bindings/b1"}, {Action: "bindings.*", After: 3}, {Result: "success", Newest: true}} {
		for _, size := range []int{1, 3, store.MaxPageSize} {
			got := map[uint64]string{}
			cursor := ""
			for range 100 {
				rs, next, err := s.ListAudit(ctx, org, f, store.Page{Size: size, Cursor: cursor})
				if err != nil {
					t.Fatalf("ListAudit(%+v): %v", f, err)
				}
				for k, v := range bodies(rs) {
					got[k] = v
				}
				if cursor = next; next == "" {
					break
				}
			}
			w := map[uint64]string{}
			for seq, b := range want {
				if seq > f.After {
					w[seq] = b
				}
			}
			if d := cmp.Diff(w, got); d != "" {
				t.Errorf("ListAudit(%+v), pages of %d: bodies (-want +got):\n%s", f, size, d)
			}
		}
	}
}
