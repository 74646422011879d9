package storetest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// testAudit is the audit log's contract (store/audit.go): append-only,
// dense sequence numbers per org, same transaction as the change, audit-
// only writes commit without a revision, checkpoints name existing heads,
// prunes only whole checkpointed segments, filters and pagination, org
// isolation, exporter cursors and settings.
func testAudit(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	rec := func(org string, seq uint64, actor, action, target, result string) store.AuditRecord {
		h := sha256.Sum256([]byte(fmt.Sprintf("%s/%d", org, seq)))
		return store.AuditRecord{Org: org, Seq: seq, At: int64(seq) * 1000, Actor: actor, Action: action, Target: target,
			Result: result, Body: []byte(fmt.Sprintf(`{"n":%d}`, seq)), Hash: h[:]}
	}
	rev0 := must(s.CurrentRevision(ctx)).get(t)

	// Audit-only writes commit, without a revision or changelog entry.
	rev := write(t, s, func(ctx context.Context, tx store.Tx) error {
		return tx.AppendAudit(ctx, rec("acme", 1, "user:alice", "bindings.create", "bindings/b1", "success"))
	})
	if rev != rev0 || must(s.CurrentRevision(ctx)).get(t) != rev0 || len(changes(t, s, rev0)) != 0 {
		t.Errorf("an audit-only write moved the revision (%d -> %d) or wrote changelog", rev0, rev)
	}
	head := must(s.AuditHead(ctx, "acme")).get(t)
	if head.Seq != 1 || !bytes.Equal(head.Hash, rec("acme", 1, "", "", "", "").Hash) || head.At != 1000 {
		t.Errorf("head = %+v", head)
	}

	// Same transaction: a rolled-back write keeps no audit row.
	boom := errors.New("boom")
	if err := writeErr(t, s, func(ctx context.Context, tx store.Tx) error {
		if err := tx.AppendAudit(ctx, rec("acme", 2, "user:alice", "x", "x/1", "success")); err != nil {
			return err
		}
		return boom
	}); !errors.Is(err, boom) {
		t.Fatalf("Write = %v", err)
	}
	// An audit row commits with a directory change in one revision.
	rev = write(t, s, func(ctx context.Context, tx store.Tx) error {
		if _, err := tx.CreateOrg(ctx, store.Org{ID: "acme", Name: "Acme"}); err != nil {
			return err
		}
		return tx.AppendAudit(ctx, rec("acme", 2, "user:alice", "org.create", "org/acme", "success"))
	})
	if rev != rev0+1 {
		t.Errorf("revision = %d, want %d", rev, rev0+1)
	}

	// Dense sequence numbers; malformed records.
	for _, tc := range []struct {
		name string
		r    store.AuditRecord
		want error
	}{
		{"skips a number", rec("acme", 4, "a", "b", "c", "d"), store.ErrConflict},
		{"repeats a number", rec("acme", 2, "a", "b", "c", "d"), store.ErrConflict},
		{"first entry is not 1", rec("beta", 2, "a", "b", "c", "d"), store.ErrConflict},
		{"seq 0", rec("acme", 0, "a", "b", "c", "d"), store.ErrInvalid},
		{"empty org", rec("", 1, "a", "b", "c", "d"), store.ErrInvalid},
		{"short hash", func() store.AuditRecord { r := rec("acme", 3, "a", "b", "c", "d"); r.Hash = r.Hash[:31]; return r }(), store.ErrInvalid},
		{"body not an object", func() store.AuditRecord { r := rec("acme", 3, "a", "b", "c", "d"); r.Body = []byte(`[1]`); return r }(), store.ErrInvalid},
		{"body not JSON", func() store.AuditRecord { r := rec("acme", 3, "a", "b", "c", "d"); r.Body = []byte(`{`); return r }(), store.ErrInvalid},
		// A body the caller says it encoded itself is not parsed again,
		// but it must still be an object.
		{"encoded body not an object", func() store.AuditRecord {
			r := rec("acme", 3, "a", "b", "c", "d")
			r.Body, r.BodyEncoded = []byte(`[1]`), true
			return r
		}(), store.ErrInvalid},
		{"actor not UTF-8", rec("acme", 3, "\xff", "b", "c", "d"), store.ErrInvalid},
		{"NUL in action", rec("acme", 3, "a", "b\x00", "c", "d"), store.ErrInvalid},
		// Every entry names what it touched (DESIGN §7: "target").
		{"empty target", rec("acme", 3, "a", "b", "", "d"), store.ErrInvalid},
		{"short MAC", func() store.AuditRecord { r := rec("acme", 3, "a", "b", "c", "d"); r.MAC = r.Hash[:31]; return r }(), store.ErrInvalid},
		{"short head MAC", func() store.AuditRecord { r := rec("acme", 3, "a", "b", "c", "d"); r.HeadMAC = []byte{}; return r }(), store.ErrInvalid},
	} {
		err := writeErr(t, s, func(ctx context.Context, tx store.Tx) error {
			err := tx.AppendAudit(ctx, tc.r)
			wantErr(t, tc.name, err, tc.want)
			// The expected errors leave the transaction usable.
			if _, err := tx.AuditHead(ctx, "acme"); err != nil {
				t.Errorf("%s: transaction unusable afterwards: %v", tc.name, err)
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Errorf("%s: Write = %v", tc.name, err)
		}
	}

	// The recorded head follows the newest entry, with its MAC; an entry's
	// MAC is stored and read back (nil stays nil).
	headRow := func(org string) (store.AuditHeadRow, bool) {
		t.Helper()
		hr, ok, err := s.AuditHeadRow(ctx, org)
		if err != nil {
			t.Fatalf("AuditHeadRow(%s): %v", org, err)
		}
		return hr, ok
	}
	if hr, ok := headRow("acme"); !ok || hr.Seq != 2 || !bytes.Equal(hr.Hash, rec("acme", 2, "", "", "", "").Hash) || hr.MAC != nil {
		t.Errorf("recorded head of acme = %+v, %v; want entry 2 without a MAC", hr, ok)
	}
	if _, ok := headRow("nobody"); ok {
		t.Errorf("an org without entries has a recorded head")
	}
	mac, headMAC := bytes.Repeat([]byte{7}, 32), bytes.Repeat([]byte{9}, 32)
	write(t, s, func(ctx context.Context, tx store.Tx) error {
		r := rec("macs", 1, "user:alice", "x.y", "x/1", "success")
		r.MAC, r.HeadMAC = mac, headMAC
		return tx.AppendAudit(ctx, r)
	})
	if hr, ok := headRow("macs"); !ok || hr.Seq != 1 || !bytes.Equal(hr.MAC, headMAC) {
		t.Errorf("recorded head of macs = %+v, %v; want entry 1 with its head MAC", hr, ok)
	}
	// HeadMACOf: a run of entries in one transaction computes the head
	// MAC of its newest only, once; an explicit HeadMAC wins over it; a
	// malformed one fails the write.
	calls := map[uint64]int{}
	macOf := func(seq uint64, m []byte) func() []byte {
		return func() []byte { calls[seq]++; return m }
	}
	lastMAC := bytes.Repeat([]byte{3}, 32)
	write(t, s, func(ctx context.Context, tx store.Tx) error {
		for seq := uint64(1); seq <= 3; seq++ {
			r := rec("runs", seq, "user:alice", "x.y", "x/1", "success")
			r.HeadMACOf = macOf(seq, bytes.Repeat([]byte{byte(seq)}, 32))
			if err := tx.AppendAudit(ctx, r); err != nil {
				return err
			}
		}
		return nil
	})
	if hr, ok := headRow("runs"); !ok || hr.Seq != 3 || !bytes.Equal(hr.MAC, lastMAC) {
		t.Errorf("recorded head of runs = %+v, %v; want entry 3 with the MAC its HeadMACOf returned", hr, ok)
	}
	if diff := cmp.Diff(map[uint64]int{3: 1}, calls); diff != "" {
		t.Errorf("HeadMACOf calls by seq (-want +got):\n%s", diff)
	}
	write(t, s, func(ctx context.Context, tx store.Tx) error {
		r := rec("runs", 4, "user:alice", "x.y", "x/1", "success")
		r.HeadMAC, r.HeadMACOf = headMAC, macOf(4, lastMAC)
		return tx.AppendAudit(ctx, r)
	})
	if hr, ok := headRow("runs"); !ok || hr.Seq != 4 || !bytes.Equal(hr.MAC, headMAC) || calls[4] != 0 {
		t.Errorf("recorded head of runs = %+v, %v (HeadMACOf called %d times); want entry 4 with its HeadMAC", hr, ok, calls[4])
	}
	if err := writeErr(t, s, func(ctx context.Context, tx store.Tx) error {
		r := rec("runs", 5, "user:alice", "x.y", "x/1", "success")
		r.HeadMACOf = func() []byte { return []byte("short") }
		return tx.AppendAudit(ctx, r)
	}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("a HeadMACOf of 5 bytes: Write = %v, want ErrInvalid", err)
	}
	if hr, ok := headRow("runs"); !ok || hr.Seq != 4 {
		t.Errorf("recorded head of runs after a failed write = %+v, %v; want entry 4", hr, ok)
	}
	// RecordAuditHead records only the newest entry as the head.
	acme2 := rec("acme", 2, "", "", "", "").Hash
	for _, tc := range []struct {
		name string
		h    store.AuditHeadRow
		want error
	}{
		{"an older entry", store.AuditHeadRow{Org: "acme", Seq: 1, Hash: rec("acme", 1, "", "", "", "").Hash}, store.ErrConflict},
		{"a later entry", store.AuditHeadRow{Org: "acme", Seq: 3, Hash: acme2}, store.ErrConflict},
		{"another hash", store.AuditHeadRow{Org: "acme", Seq: 2, Hash: mac}, store.ErrConflict},
		{"an org without entries", store.AuditHeadRow{Org: "nobody", Seq: 1, Hash: acme2}, store.ErrConflict},
		{"seq 0", store.AuditHeadRow{Org: "acme", Seq: 0, Hash: acme2}, store.ErrInvalid},
		{"short hash", store.AuditHeadRow{Org: "acme", Seq: 2, Hash: acme2[:31]}, store.ErrInvalid},
		{"short MAC", store.AuditHeadRow{Org: "acme", Seq: 2, Hash: acme2, MAC: mac[:31]}, store.ErrInvalid},
		{"empty org", store.AuditHeadRow{Seq: 2, Hash: acme2}, store.ErrInvalid},
	} {
		err := writeErr(t, s, func(ctx context.Context, tx store.Tx) error {
			wantErr(t, tc.name, tx.RecordAuditHead(ctx, tc.h), tc.want)
			return nil
		})
		if err != nil {
			t.Errorf("%s: Write = %v", tc.name, err)
		}
	}
	if hr, ok := headRow("acme"); !ok || hr.Seq != 2 || hr.MAC != nil {
		t.Errorf("refused RecordAuditHead calls changed acme's head to %+v, %v", hr, ok)
	}
	write(t, s, func(ctx context.Context, tx store.Tx) error {
		return tx.RecordAuditHead(ctx, store.AuditHeadRow{Org: "acme", Seq: 2, Hash: acme2, MAC: headMAC})
	})
	if hr, ok := headRow("acme"); !ok || hr.Seq != 2 || !bytes.Equal(hr.Hash, acme2) || !bytes.Equal(hr.MAC, headMAC) {
		t.Errorf("recorded head of acme after RecordAuditHead = %+v, %v; want entry 2 with its head MAC", hr, ok)
	}
	if recs := must(s.ReadAudit(ctx, "macs", 0, 10)).get(t); len(recs) != 1 || !bytes.Equal(recs[0].MAC, mac) {
		t.Errorf("entry with a MAC read back as %+v", recs)
	}
	if recs := must(s.ReadAudit(ctx, "acme", 0, 10)).get(t); len(recs) != 2 || recs[0].MAC != nil {
		t.Errorf("entries without MACs read back as %+v", recs)
	}

	// 30 more entries in acme, 3 in beta: filters, order, pages, isolation.
	write(t, s, func(ctx context.Context, tx store.Tx) error {
		for i := uint64(3); i <= 32; i++ {
			actor := []string{"user:alice", "user:bob", "agent:Triage"}[i%3]
			action := []string{"bindings.create", "bindings.delete", "secrets.read"}[i%3]
			result := "success"
			if i%4 == 0 {
				result = "denied"
			}
			if err := tx.AppendAudit(ctx, rec("acme", i, actor, action, fmt.Sprintf("t/%d", i%5), result)); err != nil {
				return err
			}
		}
		for i := uint64(1); i <= 3; i++ {
			if err := tx.AppendAudit(ctx, rec("beta", i, "user:alice", "bindings.create", "t/1", "success")); err != nil {
				return err
			}
		}
		return nil
	})
	all := func(f store.AuditFilter, size int) []uint64 {
		t.Helper()
		var out []uint64
		cursor := ""
		for pages := 0; ; pages++ {
			rs, next, err := s.ListAudit(ctx, "acme", f, store.Page{Size: size, Cursor: cursor})
			if err != nil {
				t.Fatalf("ListAudit(%+v): %v", f, err)
			}
			for _, r := range rs {
				if r.Org != "acme" {
					t.Fatalf("ListAudit through acme returned a %q row", r.Org)
				}
				out = append(out, r.Seq)
			}
			if next == "" || pages > 100 {
				return out
			}
			cursor = next
		}
	}
	seqs := func(from, to uint64, keep func(uint64) bool) []uint64 {
		var out []uint64
		for i := from; i <= to; i++ {
			if keep(i) {
				out = append(out, i)
			}
		}
		return out
	}
	every := func(uint64) bool { return true }
	diff(t, "all entries, pages of 7", seqs(1, 32, every), all(store.AuditFilter{}, 7))
	newest := all(store.AuditFilter{Newest: true}, 5)
	if len(newest) != 32 || newest[0] != 32 || newest[31] != 1 {
		t.Errorf("newest first = %v", newest)
	}
	diff(t, "actor filter", seqs(3, 32, func(i uint64) bool { return i%3 == 1 }), all(store.AuditFilter{Actor: "user:bob"}, 4))
	diff(t, "action prefix", append([]uint64{1}, seqs(3, 32, func(i uint64) bool { return i%3 != 2 })...), all(store.AuditFilter{Action: "bindings.*"}, 100))
	diff(t, "exact action", seqs(3, 32, func(i uint64) bool { return i%3 == 2 }), all(store.AuditFilter{Action: "secrets.read"}, 100))
	diff(t, "result and target", seqs(3, 32, func(i uint64) bool { return i%4 == 0 && i%5 == 0 }), all(store.AuditFilter{Result: "denied", Target: "t/0"}, 100))
	diff(t, "time range", seqs(10, 19, every), all(store.AuditFilter{Since: time.UnixMicro(10000), Until: time.UnixMicro(20000)}, 3))
	diff(t, "after", seqs(30, 32, every), all(store.AuditFilter{After: 29}, 2))
	diff(t, "after, newest first", []uint64{32, 31, 30}, all(store.AuditFilter{After: 29, Newest: true}, 2))
	if _, _, err := s.ListAudit(ctx, "acme", store.AuditFilter{}, store.Page{Cursor: "garbage"}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("bad cursor: %v", err)
	}
	// A cursor of one org's list is not valid in another's.
	_, next, err := s.ListAudit(ctx, "acme", store.AuditFilter{}, store.Page{Size: 1})
	if err != nil || next == "" {
		t.Fatalf("first page: %q, %v", next, err)
	}
	if _, _, err := s.ListAudit(ctx, "beta", store.AuditFilter{}, store.Page{Size: 1, Cursor: next}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("acme's cursor in beta: %v", err)
	}
	got := must(s.ReadAudit(ctx, "acme", 30, 100)).get(t)
	if len(got) != 2 || got[0].Seq != 31 || got[1].Seq != 32 || got[0].Actor != "user:bob" || string(got[0].Body) != `{"n":31}` {
		t.Errorf("ReadAudit after 30 = %+v", got)
	}
	if _, err := s.ReadAudit(ctx, "acme", 0, store.MaxAuditBatch+1); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("ReadAudit over the limit: %v", err)
	}
	if rs := must(s.ReadAudit(ctx, "nobody", 0, 10)).get(t); len(rs) != 0 {
		t.Errorf("ReadAudit of an org without a log = %v", rs)
	}

	// Checkpoints name an existing entry and its hash.
	cp := func(org string, seq uint64, head []byte) store.AuditCheckpoint {
		return store.AuditCheckpoint{Org: org, Seq: seq, Head: head, At: 5, KeyID: "k1", Signature: []byte("sig")}
	}
	h10 := rec("acme", 10, "", "", "", "").Hash
	h20 := rec("acme", 20, "", "", "", "").Hash
	for _, tc := range []struct {
		name string
		c    store.AuditCheckpoint
		want error
	}{
		{"no such entry", cp("acme", 99, h10), store.ErrNotFound},
		{"wrong head", cp("acme", 10, h20), store.ErrConflict},
		{"short head", cp("acme", 10, h10[:5]), store.ErrInvalid},
		{"no signature", store.AuditCheckpoint{Org: "acme", Seq: 10, Head: h10, KeyID: "k"}, store.ErrInvalid},
		{"another org's entry", cp("beta", 10, h10), store.ErrNotFound},
	} {
		wantErr(t, tc.name, writeErr(t, s, func(ctx context.Context, tx store.Tx) error { return tx.AppendAuditCheckpoint(ctx, tc.c) }), tc.want)
	}
	write(t, s, func(ctx context.Context, tx store.Tx) error {
		return tx.AppendAuditCheckpoint(ctx, cp("acme", 10, h10))
	})
	write(t, s, func(ctx context.Context, tx store.Tx) error {
		return tx.AppendAuditCheckpoint(ctx, cp("acme", 20, h20))
	})
	wantErr(t, "duplicate checkpoint", writeErr(t, s, func(ctx context.Context, tx store.Tx) error {
		return tx.AppendAuditCheckpoint(ctx, cp("acme", 20, h20))
	}), store.ErrConflict)
	if h := must(s.AuditHead(ctx, "acme")).get(t); h.Checkpoint.Seq != 20 || h.Seq != 32 || h.Checkpoint.KeyID != "k1" || string(h.Checkpoint.Signature) != "sig" {
		t.Errorf("head after checkpoints = %+v", h)
	}
	cps := must(s.ListAuditCheckpoints(ctx, "acme", 10, 10)).get(t)
	if len(cps) != 1 || cps[0].Seq != 20 || !bytes.Equal(cps[0].Head, h20) {
		t.Errorf("checkpoints after 10 = %+v", cps)
	}

	// Prune: only through a checkpoint, never the whole log.
	wantErr(t, "prune through a non-checkpoint", writeErr(t, s, func(ctx context.Context, tx store.Tx) error {
		_, err := tx.PruneAudit(ctx, "acme", 15)
		return err
	}), store.ErrRefused)
	wantErr(t, "prune everything", writeErr(t, s, func(ctx context.Context, tx store.Tx) error {
		_, err := tx.PruneAudit(ctx, "beta", 3)
		return err
	}), store.ErrRefused)
	var n int64
	write(t, s, func(ctx context.Context, tx store.Tx) error {
		var err error
		n, err = tx.PruneAudit(ctx, "acme", 10)
		return err
	})
	if n != 10 {
		t.Errorf("pruned %d entries, want 10", n)
	}
	if rs := must(s.ReadAudit(ctx, "acme", 0, 1)).get(t); len(rs) != 1 || rs[0].Seq != 11 {
		t.Errorf("first entry after prune = %+v", rs)
	}
	if ps := must(s.ListAuditPrunes(ctx, "acme")).get(t); len(ps) != 1 || ps[0].Through != 10 {
		t.Errorf("prunes = %+v", ps)
	}
	wantErr(t, "prune twice", writeErr(t, s, func(ctx context.Context, tx store.Tx) error {
		_, err := tx.PruneAudit(ctx, "acme", 10)
		return err
	}), store.ErrConflict)
	// The log goes on after a prune.
	write(t, s, func(ctx context.Context, tx store.Tx) error {
		return tx.AppendAudit(ctx, rec("acme", 33, "user:alice", "audit.prune", "audit/acme", "success"))
	})

	diff(t, "audit orgs", []string{"acme", "beta", "macs", "runs"}, must(s.AuditOrgs(ctx)).get(t))

	// Exporter cursors and settings.
	if c := must(s.AuditCursor(ctx, "acme", "siem")).get(t); c != 0 {
		t.Errorf("cursor before any = %d", c)
	}
	write(t, s, func(ctx context.Context, tx store.Tx) error { return tx.SetAuditCursor(ctx, "acme", "siem", 12) })
	write(t, s, func(ctx context.Context, tx store.Tx) error { return tx.SetAuditCursor(ctx, "acme", "siem", 20) })
	if c := must(s.AuditCursor(ctx, "acme", "siem")).get(t); c != 20 {
		t.Errorf("cursor = %d, want 20", c)
	}
	if c := must(s.AuditCursor(ctx, "beta", "siem")).get(t); c != 0 {
		t.Errorf("beta's cursor = %d, want 0 (cursors are per org)", c)
	}
	wantErr(t, "empty exporter name", writeErr(t, s, func(ctx context.Context, tx store.Tx) error { return tx.SetAuditCursor(ctx, "acme", "", 1) }), store.ErrInvalid)
	if b := must(s.AuditSettings(ctx, "acme")).get(t); b != nil {
		t.Errorf("settings before any = %s", b)
	}
	// A settings change is a revision with one changelog entry carrying
	// the settings (other processes' decision logs follow it), not an
	// unlogged audit row.
	base := must(s.CurrentRevision(ctx)).get(t)
	srev := write(t, s, func(ctx context.Context, tx store.Tx) error {
		return tx.SetAuditSettings(ctx, "acme", []byte(`{"decisions":"denies"}`))
	})
	if srev != base+1 {
		t.Errorf("settings write: revision %d, want %d (a new revision)", srev, base+1)
	}
	if b := must(s.AuditSettings(ctx, "acme")).get(t); string(b) != `{"decisions":"denies"}` {
		t.Errorf("settings = %s", b)
	}
	cs := must(s.ChangesSince(ctx, base, 10)).get(t)
	if len(cs) != 1 {
		t.Fatalf("changes after the settings write: %d, want 1", len(cs))
	}
	diff(t, "settings change", []string{"audit_settings.put acme acme"}, []string{string(cs[0].Kind) + " " + cs[0].Org + " " + cs[0].Key})
	diff(t, "settings change payload", store.AuditSettingsChange{Org: "acme", Settings: json.RawMessage(`{"decisions":"denies"}`)}, must(cs[0].Decode()).get(t))
	if got := must(s.OrgChangesSince(ctx, "acme", base, 10)).get(t); len(got) != 1 || got[0].Kind != store.KindAuditSettingsPut {
		t.Errorf("the org's changes after the settings write: %v, want its audit_settings.put", got)
	}
	wantErr(t, "settings not an object", writeErr(t, s, func(ctx context.Context, tx store.Tx) error {
		return tx.SetAuditSettings(ctx, "acme", []byte(`"all"`))
	}), store.ErrInvalid)

	// Deleting the org keeps its log.
	write(t, s, func(ctx context.Context, tx store.Tx) error { return tx.DeleteOrg(ctx, "acme") })
	if h := must(s.AuditHead(ctx, "acme")).get(t); h.Seq != 33 {
		t.Errorf("head after the org's deletion = %d, want 33", h.Seq)
	}

	// A second handle sees the log at once.
	if r, ok := s.(Reopener); ok {
		s2, err := r.Reopen(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer s2.Close()
		if h := must(s2.AuditHead(ctx, "beta")).get(t); h.Seq != 3 {
			t.Errorf("second handle: beta head = %d", h.Seq)
		}
	}

	// Hostile lookups are empty, not errors.
	if h := must(s.AuditHead(ctx, "\xff\x00")).get(t); h.Seq != 0 {
		t.Errorf("head of a hostile org = %+v", h)
	}
	if _, _, err := s.ListAudit(ctx, "acme", store.AuditFilter{Actor: "\xff"}, store.Page{}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("hostile filter: %v", err)
	}
}
