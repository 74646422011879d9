package storetest

import (
	"context"
	"crypto/sha256"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// testAuditPagesRandom pages through an org's audit log under random
// filters (actor, since, until, target, after, either order) and page
// sizes, and compares the pages, joined, with a filter of every entry:
// a page that skipped or repeated an entry, or a cursor that lost its
// place, fails. The log has 320 runs (more than a store reads a
// statement), their times mostly rising but sometimes stepping back, so
// cursors fall deep, inside runs and at their ends.
func testAuditPagesRandom(t *testing.T, s store.Store) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	t.Cleanup(cancel)
	const t0 = int64(1_700_000_000_000_000)
	rng := rand.New(rand.NewPCG(19, 2026))
	actors := []string{"user:alice", "user:bob", "service:ci"}
	var entries []store.AuditRecord
	seq := map[string]uint64{}
	at := t0
	for range 4 {
		write(t, s, func(ctx context.Context, tx store.Tx) error {
			for range 80 {
				org := "acme"
				if rng.IntN(8) == 0 {
					org = "beta"
				}
				actor := actors[rng.IntN(len(actors))]
				at += int64(rng.IntN(3)) * 1000
				if rng.IntN(10) == 0 {
					at -= 5000 // the clock stepped back
				}
				for range 1 + rng.IntN(4) {
					seq[org]++
					h := sha256.Sum256(fmt.Appendf(nil, "%s/%d", org, seq[org]))
					r := store.AuditRecord{Org: org, Seq: seq[org], At: at, Actor: actor, Action: "bindings.create",
						Target: fmt.Sprintf("bindings/b%d", rng.IntN(3)), Result: "success",
						Body: fmt.Appendf(nil, `{"n":%d}`, seq[org]), Hash: h[:]}
					if err := tx.AppendAudit(ctx, r); err != nil {
						return err
					}
					entries = append(entries, r)
				}
			}
			return nil
		})
	}
	lo, hi := t0-5000, at+5000
	randTime := func() time.Time { return time.UnixMicro(lo + rng.Int64N(hi-lo)) }
	for i := range 40 {
		org := "acme"
		if i%6 == 5 {
			org = "beta"
		}
		var f store.AuditFilter
		if rng.IntN(4) == 0 {
			f.Actor = actors[rng.IntN(len(actors))]
		}
		if rng.IntN(2) == 0 {
			f.Since = randTime()
		}
		if rng.IntN(2) == 0 || f.Actor == "" && f.Since.IsZero() {
			f.Until = randTime()
		}
		if rng.IntN(6) == 0 {
			f.Target = fmt.Sprintf("bindings/b%d", rng.IntN(3))
		}
		if rng.IntN(6) == 0 {
			f.After = uint64(rng.IntN(int(seq[org]) + 1))
		}
		f.Newest = rng.IntN(2) == 0
		size := 2 + rng.IntN(24)
		want := auditReference(entries, org, f)
		what := fmt.Sprintf("ListAudit(%s, %+v), pages of %d", org, f, size)
		var got []uint64
		p := store.Page{Size: size}
		for pages := 0; ; pages++ {
			if pages > len(want)/size+1 {
				t.Fatalf("%s: more pages than %d entries fill", what, len(want))
			}
			rs, next, err := s.ListAudit(ctx, org, f, p)
			if err != nil {
				t.Fatalf("%s: %v", what, err)
			}
			if len(rs) > size || next != "" && len(rs) != size {
				t.Fatalf("%s: a page of %d entries, next %q", what, len(rs), next)
			}
			for _, r := range rs {
				got = append(got, r.Seq)
			}
			if next == "" {
				break
			}
			p.Cursor = next
		}
		diff(t, what, want, got)
	}
}
