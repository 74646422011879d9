package storetest

import (
	"context"
	"crypto/sha256"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// testAuditRuns checks the audit log's actor and time filters over logs
// written the ways a deployment writes them (migration 00019 serves them
// from runs of entries rather than indexes of every entry): transactions
// of many entries of one actor and time, several transactions of the same
// actor, transactions whose entries change actor or time midway, whose
// orgs interleave, that read the log midway, bulk writes, a clock that
// goes back, and prunes that end inside a transaction's entries. Every
// answer, in both orders and at every page size, must be what filtering
// the org's entries one by one gives.
func testAuditRuns(t *testing.T, s store.Store) {
	// Thousands of listings: 20 s alone under the race detector, more in
	// CI beside other packages, so its own guard rather than ctxT's 60 s.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	t.Cleanup(cancel)
	seq := map[string]uint64{}
	var entries []store.AuditRecord // every entry written, in order
	// reqID is the request context of the entries appended next: their
	// bodies begin with it (AuditRecord.ContextLen; migration 00020 stores
	// a run's once); "" writes bodies without one.
	reqID := ""
	appendOne := func(ctx context.Context, tx store.Tx, org, actor string, at int64, action, target string) error {
		seq[org]++
		h := sha256.Sum256([]byte(fmt.Sprintf("%s/%d", org, seq[org])))
		r := store.AuditRecord{Org: org, Seq: seq[org], At: at, Actor: actor, Action: action, Target: target,
			Result: "success", Body: []byte(fmt.Sprintf(`{"n":%d}`, seq[org])), Hash: h[:]}
		if reqID != "" {
			c := `{"roles":["owner"],"key_id":"k-` + actor + `","request_id":"` + reqID + `",`
			r.Body, r.ContextLen = []byte(fmt.Sprintf(`%s"n":%d,"after":{"id":"b%d"}}`, c, seq[org], seq[org])), len(c)
		}
		if err := tx.AppendAudit(ctx, r); err != nil {
			return err
		}
		entries = append(entries, r)
		return nil
	}
	// tx writes n entries of org by actor at time at in one transaction
	// (a bulk write if bulk), all of one request context, except that a
	// transaction of 20 or more changes it halfway (a run's end: the
	// entries on either side keep their own context).
	tx := func(org, actor string, at int64, n int, bulk bool) {
		t.Helper()
		base := seq[org]
		added := len(entries)
		reqID = fmt.Sprintf("req-%s-%d", org, base)
		_, err := s.Write(ctx, func(tx store.Tx) error {
			if bw, ok := tx.(interface{ BulkWrite() }); ok && bulk {
				bw.BulkWrite()
			}
			for i := range n {
				if i == n/2 && n >= 20 {
					reqID += "-b"
				}
				if err := appendOne(ctx, tx, org, actor, at, "bindings.create", fmt.Sprintf("bindings/b%d", i%7)); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			seq[org], entries = base, entries[:added]
			t.Fatalf("Write: %v", err)
		}
	}
	const t0 = int64(1_700_000_000_000_000)
	tx("acme", "user:alice", t0+100, 50, false)
	tx("acme", "user:bob", t0+200, 30, true)
	tx("acme", "user:alice", t0+300, 40, true) // the same actor again
	tx("acme", "user:alice", t0+300, 1, false) // and at the same time
	tx("acme", "user:bob", t0+50, 5, false)    // the clock went back
	// One transaction whose entries change actor, time, org and context
	// midway (the context every 3 entries, sometimes without one), and
	// which reads the log midway.
	write(t, s, func(ctx context.Context, tx store.Tx) error {
		for i := range 24 {
			reqID = []string{"mixed-1", "mixed-2", "", "mixed-2"}[i/3%4]
			actor := []string{"user:alice", "user:bob", "user:carol"}[i/4%3]
			at := t0 + 400 + int64(i/6)
			org := "acme"
			if i%8 == 7 {
				org = "beta"
			}
			if err := appendOne(ctx, tx, org, actor, at, "secrets.read", "secrets/s1"); err != nil {
				return err
			}
			if i == 10 {
				if _, err := tx.ReadAudit(ctx, "acme", 0, 1); err != nil {
					return err
				}
			}
		}
		return nil
	})
	tx("beta", "user:alice", t0+500, 25, true)
	tx("acme", "user:carol", t0+600, 1, false)
	tx("acme", "user:alice", t0+700, 3, false)
	// More runs of one actor than a store may read at once (sqlcore
	// reads 64), interleaved with another's: one transaction, whose
	// entries change time or actor at each run's start (a transaction a
	// run cost 77 commits, and this test its 60 s guard on a CI host
	// whose disk other packages' tests kept busy).
	reqID = "runs-70"
	write(t, s, func(ctx context.Context, tx store.Tx) error {
		for i := range 70 {
			at := t0 + 800 + int64(i)
			if err := appendOne(ctx, tx, "acme", "user:dave", at, "bindings.create", "bindings/b0"); err != nil {
				return err
			}
			if i%10 != 0 {
				continue
			}
			for j := range 2 {
				if err := appendOne(ctx, tx, "acme", "user:erin", at, "bindings.create", fmt.Sprintf("bindings/b%d", j)); err != nil {
					return err
				}
			}
		}
		return nil
	})

	// Every read path must return each entry's body byte for byte as it
	// was written, whether its run stores the context or not.
	written := map[string][]byte{}
	body := func(stage, how string, r store.AuditRecord) {
		t.Helper()
		k := fmt.Sprintf("%s/%d", r.Org, r.Seq)
		if w, ok := written[k]; !ok || string(w) != string(r.Body) {
			t.Fatalf("%s: %s: entry %s has body %q, want %q", stage, how, k, r.Body, w)
		}
	}
	check := func(stage string) {
		t.Helper()
		for _, r := range entries {
			written[fmt.Sprintf("%s/%d", r.Org, r.Seq)] = r.Body
		}
		// What the log holds now: the entries ReadAudit returns.
		var have []store.AuditRecord
		for _, org := range []string{"acme", "beta"} {
			rs := must(s.ReadAudit(ctx, org, 0, store.MaxAuditBatch)).get(t)
			for _, r := range rs {
				body(stage, "ReadAudit", r)
			}
			// In pages that start inside runs too.
			for after := uint64(0); after < 400; after += 37 {
				for _, r := range must(s.ReadAudit(ctx, org, after, 3)).get(t) {
					body(stage, fmt.Sprintf("ReadAudit after %d", after), r)
				}
			}
			have = append(have, rs...)
		}
		byKey := map[string]store.AuditRecord{}
		for _, r := range have {
			byKey[fmt.Sprintf("%s/%d", r.Org, r.Seq)] = r
		}
		got := func(org string, f store.AuditFilter, size int) []uint64 {
			t.Helper()
			var out []uint64
			cursor := ""
			for pages := 0; pages < 1000; pages++ {
				rs, next, err := s.ListAudit(ctx, org, f, store.Page{Size: size, Cursor: cursor})
				if err != nil {
					t.Fatalf("%s: ListAudit(%s, %+v): %v", stage, org, f, err)
				}
				for _, r := range rs {
					if r.Org != org {
						t.Fatalf("%s: ListAudit(%s) returned a %q row", stage, org, r.Org)
					}
					body(stage, fmt.Sprintf("ListAudit(%s, %+v)", org, f), r)
					// The whole record, as ReadAudit reads it.
					if d := cmp.Diff(byKey[fmt.Sprintf("%s/%d", r.Org, r.Seq)], r); d != "" {
						t.Fatalf("%s: ListAudit(%s, %+v) entry %d differs from ReadAudit's (-ReadAudit +ListAudit):\n%s", stage, org, f, r.Seq, d)
					}
					out = append(out, r.Seq)
				}
				if next == "" {
					break
				}
				cursor = next
			}
			return out
		}
		micro := func(at int64) time.Time { return time.UnixMicro(at) }
		filters := []store.AuditFilter{
			{},
			{Actor: "user:alice"},
			{Actor: "user:bob"},
			{Actor: "user:carol"},
			{Actor: "user:nobody"},
			{Since: micro(t0 + 300)},
			{Since: micro(t0 + 301)},
			{Until: micro(t0 + 200)},
			{Until: micro(t0 + 402)},
			{Since: micro(t0 + 100), Until: micro(t0 + 300)},
			{Since: micro(t0 + 401), Until: micro(t0 + 403)},
			{Actor: "user:alice", Since: micro(t0 + 300)},
			{Actor: "user:bob", Until: micro(t0 + 201)},
			{Actor: "user:alice", Target: "bindings/b3"},
			{Actor: "user:alice", Action: "secrets.*"},
			{Actor: "user:alice", After: 60},
			{Since: micro(t0 + 300), After: 100},
			{Actor: "user:bob", After: 1000},
			{Actor: "user:dave"},
			{Actor: "user:dave", After: 200},
			{Since: micro(t0 + 800)},
			{Since: micro(t0 + 700), Until: micro(t0 + 869)},
			{Actor: "user:erin", Since: micro(t0 + 830)},
			// Neither actor nor time: every actor's runs in one page.
			{Target: "bindings/b3"},
			{Target: "secrets/s1", After: 90},
			{Action: "bindings.*"},
			{Action: "secrets.read", Result: "success"},
			{Result: "success", After: 150},
			{After: 200},
		}
		for _, org := range []string{"acme", "beta"} {
			for _, f := range filters {
				for _, newest := range []bool{false, true} {
					f.Newest = newest
					w := auditReference(have, org, f)
					// Pages of 5 put cursors inside runs and at their ends,
					// one page the whole answer; smaller pages add
					// statements (pages of 1, 7 and 50 took this test past
					// 60 s under the race detector in CI), not cases.
					for _, size := range []int{5, store.MaxPageSize} {
						diff(t, fmt.Sprintf("%s: %s %+v, pages of %d", stage, org, f, size), w, got(org, f, size))
					}
				}
			}
		}
	}
	check("before pruning")

	// A prune that ends inside a transaction's entries (acme 60 is the
	// 10th of bob's 30), and one that ends where a transaction's do.
	cp := func(org string, n uint64) store.AuditCheckpoint {
		h := sha256.Sum256([]byte(fmt.Sprintf("%s/%d", org, n)))
		return store.AuditCheckpoint{Org: org, Seq: n, Head: h[:], At: t0, KeyID: "k1", Signature: []byte("sig")}
	}
	for _, through := range []uint64{60, 120} {
		write(t, s, func(ctx context.Context, tx store.Tx) error {
			if err := tx.AppendAuditCheckpoint(ctx, cp("acme", through)); err != nil {
				return err
			}
			if err := appendOne(ctx, tx, "acme", "user:alice", t0+900, "audit.prune", "audit/acme"); err != nil {
				return err
			}
			n, err := tx.PruneAudit(ctx, "acme", through)
			if err == nil && n == 0 {
				err = fmt.Errorf("prune through %d deleted nothing", through)
			}
			return err
		})
		check(fmt.Sprintf("after pruning through %d", through))
	}
}

// auditReference is what ListAudit(org, f) answers, by filtering every
// entry of log one by one (the naive model the stores' pages are checked
// against): the sequence numbers of the entries that pass, oldest first,
// or newest first if f.Newest.
func auditReference(log []store.AuditRecord, org string, f store.AuditFilter) []uint64 {
	var out []uint64
	for _, r := range log {
		if r.Org != org || f.Actor != "" && r.Actor != f.Actor || f.Target != "" && r.Target != f.Target ||
			f.Action != "" && !(strings.HasSuffix(f.Action, "*") && strings.HasPrefix(r.Action, strings.TrimSuffix(f.Action, "*")) || r.Action == f.Action) ||
			!f.Since.IsZero() && r.At < f.Since.UnixMicro() || !f.Until.IsZero() && r.At >= f.Until.UnixMicro() || r.Seq <= f.After {
			continue
		}
		out = append(out, r.Seq)
	}
	if f.Newest {
		slices.Reverse(out)
	}
	return out
}
