package sqlite

import (
	"context"
	"crypto/sha256"
	"fmt"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// BenchmarkListAuditPage reads one page of 1,000 audit entries of an org
// whose log is bulk writes of 1,000 entries by two actors (runs that
// store their request context once, migration 00020): without a filter
// (each entry's run found for the page) and by actor (the runs first).
func BenchmarkListAuditPage(b *testing.B) {
	ctx := context.Background()
	st, _ := openTestStore(b, 2, nil)
	const per, txs = 1000, 4
	seq := uint64(0)
	for k := range txs {
		actor := []string{"user:alice", "user:bob"}[k%2]
		c := fmt.Sprintf(`{"roles":["owner"],"key_id":"k-%s","session_id":"s-%d","request_id":"req-%d",`, actor, k, k)
		if _, err := st.Write(ctx, func(tx store.Tx) error {
			for range per {
				seq++
				body := fmt.Sprintf(`%s"action":"bindings.create","n":%d,"after":{"id":"b%d"}}`, c, seq, seq)
				h := sha256.Sum256([]byte(body))
				if err := tx.AppendAudit(ctx, store.AuditRecord{Org: "acme", Seq: seq, At: int64(1000 + k), Actor: actor, Action: "bindings.create",
					Target: fmt.Sprintf("bindings/b%d", seq%7), Result: "success", Body: []byte(body), ContextLen: len(c), Hash: h[:]}); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			b.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name string
		f    store.AuditFilter
	}{
		{"all", store.AuditFilter{Newest: true}},
		{"actor", store.AuditFilter{Actor: "user:alice"}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				rs, _, err := st.ListAudit(ctx, "acme", tc.f, store.Page{Size: store.MaxPageSize})
				if err != nil {
					b.Fatal(err)
				}
				if len(rs) != store.MaxPageSize {
					b.Fatalf("%d entries, want %d", len(rs), store.MaxPageSize)
				}
			}
		})
	}
}
