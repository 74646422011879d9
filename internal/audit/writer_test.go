package audit_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"github.com/gatehouse-dev/gatehouse/internal/audit"
	"github.com/gatehouse-dev/gatehouse/internal/store"
	"github.com/gatehouse-dev/gatehouse/internal/store/postgres"
)

// The attacker of these tests can write to the database (SQL, triggers
// dropped) but does not hold the audit key (issue 11, DESIGN §7). The log
// of each test is written by the real code on SQLite and on PostgreSQL:
// org "acme" with 25 entries, checkpoints at 1, 11 and 21 (22 to 25 are
// after the newest checkpoint: the "unsigned tail"), and org "beta" with
// 5 entries (a checkpoint at 1).

// writerDB is one backend's store and the attacker's SQL on it.
type writerDB struct {
	st   store.Store
	exec func(t *testing.T, q string, args ...any)
}

type backend struct {
	name string
	open func(t *testing.T) writerDB
}

func backends() []backend {
	return []backend{{"sqlite", openSQLiteWriter}, {"postgres", openPostgresWriter}}
}

func openSQLiteWriter(t *testing.T) writerDB {
	t.Helper()
	path := filepath.Join(t.TempDir(), "w.db")
	st := openStore(t, path)
	raw, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	d := writerDB{st: st, exec: func(t *testing.T, q string, args ...any) {
		t.Helper()
		if _, err := raw.Exec(q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}}
	for _, tr := range triggerNames {
		d.exec(t, `DROP TRIGGER `+tr)
	}
	return d
}

func openPostgresWriter(t *testing.T) writerDB {
	t.Helper()
	dsn := pgSchema(t)
	ctx := context.Background()
	st, err := postgres.Open(ctx, dsn, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	d := writerDB{st: st, exec: func(t *testing.T, q string, args ...any) {
		t.Helper()
		if _, err := conn.Exec(ctx, q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}}
	for _, tr := range []string{"audit_entries_append_only ON audit_entries", "audit_checkpoints_append_only ON audit_checkpoints",
		"audit_heads_no_delete ON audit_heads"} {
		d.exec(t, `DROP TRIGGER `+tr)
	}
	return d
}

// writerLog is the deployment's log: checkpoints every 10 entries, never
// by time during a test.
func writerLog(t *testing.T, st store.Store, every uint64) *audit.Log {
	t.Helper()
	return newTestLog(t, st, audit.Options{Signer: testSigner(t), CheckpointEvery: every, CheckpointInterval: time.Hour})
}

func writeEntries(t *testing.T, st store.Store, l audit.Recorder, org string, from, to int) {
	t.Helper()
	ctx := ctxT(t)
	if _, err := st.Write(ctx, func(tx store.Tx) error {
		for i := from; i <= to; i++ {
			if err := l.Record(ctx, tx, fixtureEntry(org, i)); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

func (d writerDB) populate(t *testing.T) {
	t.Helper()
	l := writerLog(t, d.st, 10)
	for i := 1; i <= 25; i += 5 {
		writeEntries(t, d.st, l, "acme", i, i+4)
	}
	writeEntries(t, d.st, l, "beta", 1, 5)
}

// keyed verifies every org (and the orgs that exist, acme and beta) with
// the public key and the MAC key, as the server does.
func (d writerDB) keyed(t *testing.T) (*audit.VerifyError, []audit.Report) {
	t.Helper()
	reps, err := audit.VerifyAll(ctxT(t), d.st, audit.VerifyOptions{
		Keys: []audit.PublicKey{testSigner(t).Public()}, MACKeys: []audit.MACKey{testSigner(t).MACKey()},
		Orgs: []string{"acme", "beta"},
	})
	return asVerifyError(t, err), reps
}

// keyless verifies with the public key only (the CLI given a public key).
func (d writerDB) keyless(t *testing.T) *audit.VerifyError {
	t.Helper()
	_, err := audit.VerifyAll(ctxT(t), d.st, audit.VerifyOptions{Keys: []audit.PublicKey{testSigner(t).Public()}, Orgs: []string{"acme", "beta"}})
	return asVerifyError(t, err)
}

func (d writerDB) record(t *testing.T, org string, seq uint64) store.AuditRecord {
	t.Helper()
	recs, err := d.st.ReadAudit(ctxT(t), org, seq-1, 1)
	if err != nil || len(recs) != 1 || recs[0].Seq != seq {
		t.Fatalf("read entry %d of %s: %v, %v", seq, org, recs, err)
	}
	return recs[0]
}

// forge inserts entry 26 of acme with SQL, chained correctly to entry 25
// (an attacker can compute a hash: there is nothing secret in it), with
// the given MAC, and moves the recorded head to it.
func (d writerDB) forge(t *testing.T, mac []byte) {
	t.Helper()
	prev := d.record(t, "acme", 25)
	var ph audit.Hash
	copy(ph[:], prev.Hash)
	r := store.AuditRecord{Org: "acme", Seq: 26, At: prev.At + 1, Actor: "user:mallory", Action: "bindings.create",
		Target: "binding/backdoor", Result: "success", Body: []byte(`{"after":{"principal":"user:mallory","role":"owner"}}`)}
	h := audit.EntryHash(ph, r)
	d.exec(t, `INSERT INTO audit_entries (org, seq, at, actor, action, target, result, body, hash, mac) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		r.Org, int64(r.Seq), r.At, r.Actor, r.Action, r.Target, r.Result, string(r.Body), h[:], mac)
	d.exec(t, `UPDATE audit_heads SET seq = 26, hash = $1, mac = $2 WHERE org = 'acme'`, h[:], mac)
}

// TestWriterForgedEntryIsDetected: a row appended with SQL and a correctly
// chained hash verified before issue 11. It is a forged entry, with no MAC
// or any MAC the attacker can make.
func TestWriterForgedEntryIsDetected(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			for _, tc := range []struct {
				name string
				mac  func(d writerDB) []byte
			}{
				{"no MAC", func(writerDB) []byte { return nil }},
				{"another entry's MAC", func(d writerDB) []byte { return d.record(t, "acme", 25).MAC }},
				{"a MAC under another key", func(writerDB) []byte {
					var h audit.Hash
					return otherSigner(t).MACKey().EntryMAC(h)
				}},
			} {
				t.Run(tc.name, func(t *testing.T) {
					d := b.open(t)
					d.populate(t)
					if ve, _ := d.keyed(t); ve != nil {
						t.Fatalf("the untouched log does not verify: %v", ve)
					}
					d.forge(t, tc.mac(d))
					ve, _ := d.keyed(t)
					if ve == nil || ve.Org != "acme" || ve.Seq != 26 || ve.Problem != audit.ProblemForged {
						t.Errorf("verify = %v, want a forged entry at acme 26", ve)
					}
				})
			}
		})
	}
}

// TestCheckpointerRefusesToSignOverAForgedEntry: before issue 11 the
// checkpointer signed a checkpoint over an SQL-inserted entry within a
// minute. It verifies the entries since the last checkpoint first, and
// signs nothing over one it did not write: neither from Run/Checkpoint nor
// when an entry makes a checkpoint due (that write still succeeds).
func TestCheckpointerRefusesToSignOverAForgedEntry(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			d := b.open(t)
			d.populate(t)
			d.forge(t, nil)
			l := writerLog(t, d.st, 1) // a checkpoint after every entry
			ctx := ctxT(t)
			wrote, err := l.Checkpoint(ctx, "acme", true)
			var ve *audit.VerifyError
			if wrote || !errors.As(err, &ve) || ve.Seq != 26 || ve.Problem != audit.ProblemForged {
				t.Errorf("checkpoint over a forged entry = %v, %v; want a refusal naming entry 26", wrote, err)
			}
			// The background job (Run) too, for a log whose checkpoint is due.
			due := newTestLog(t, d.st, audit.Options{Signer: testSigner(t), CheckpointInterval: time.Microsecond})
			if err := due.CheckpointDue(ctx); !errors.As(err, &ve) || ve.Seq != 26 {
				t.Errorf("CheckpointDue = %v, want the refusal", err)
			}
			// A new entry is written (with its MAC), but not checkpointed,
			// by a process that has not refused before either.
			writeEntries(t, d.st, writerLog(t, d.st, 1), "acme", 27, 27)
			cps, err := d.st.ListAuditCheckpoints(ctx, "acme", 21, 10)
			if err != nil || len(cps) != 0 {
				t.Errorf("checkpoints after 21 = %v, %v; want none", cps, err)
			}
			// Other orgs are still checkpointed (beta at 5 by CheckpointDue
			// above, and at 6 now).
			writeEntries(t, d.st, l, "beta", 6, 6)
			if cps, err := d.st.ListAuditCheckpoints(ctx, "beta", 5, 10); err != nil || len(cps) != 1 || cps[0].Seq != 6 {
				t.Errorf("beta's checkpoints after 5 = %v, %v; want one at 6", cps, err)
			}
			if ve, _ := d.keyed(t); ve == nil || ve.Seq != 26 || ve.Problem != audit.ProblemForged {
				t.Errorf("verify = %v, want the forged entry at 26", ve)
			}
		})
	}
}

// TestWriterTailRewriteIsDetected: rewriting the entries after the newest
// checkpoint with recomputed hashes (and the recorded head) passed plain
// verify before issue 11. With the key it is a forged entry; without it,
// verification cannot tell and says that MACs were not checked.
func TestWriterTailRewriteIsDetected(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			d := b.open(t)
			d.populate(t)
			h := d.rewriteTail(t, 23)
			d.exec(t, `UPDATE audit_heads SET hash = $1 WHERE org = 'acme'`, h[:])
			if ve, _ := d.keyed(t); ve == nil || ve.Seq != 23 || ve.Problem != audit.ProblemForged {
				t.Errorf("keyed verify = %v, want a forged entry at 23", ve)
			}
			_, err := audit.Verify(ctxT(t), d.st, "acme", audit.VerifyOptions{Keys: []audit.PublicKey{testSigner(t).Public()}})
			var ve *audit.VerifyError
			if errors.As(err, &ve) {
				t.Fatalf("keyless verify = %v; the rewrite is undetectable without the MAC key and the test assumed so", err)
			}
		})
	}
}

// rewriteTail changes entry from's actor and recomputes its hash and every
// later one, as an attacker without the key would; it returns the new
// head hash.
func (d writerDB) rewriteTail(t *testing.T, from uint64) audit.Hash {
	t.Helper()
	recs, err := d.st.ReadAudit(ctxT(t), "acme", 0, store.MaxAuditBatch)
	if err != nil {
		t.Fatal(err)
	}
	var prev audit.Hash
	for _, r := range recs {
		if r.Seq == from {
			r.Actor = "user:mallory"
		}
		h := audit.EntryHash(prev, r)
		if r.Seq >= from {
			d.exec(t, `UPDATE audit_entries SET actor = $1, hash = $2 WHERE org = 'acme' AND seq = $3`, r.Actor, h[:], int64(r.Seq))
		}
		prev = h
	}
	return prev
}

// TestWriterTailDeletionIsDetected: deleting the last entries (after the
// newest checkpoint) passed plain verify before issue 11. The log ends
// before its recorded head; an attacker who also moves the head cannot
// make its MAC.
func TestWriterTailDeletionIsDetected(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			for _, tc := range []struct {
				name    string
				attack  func(t *testing.T, d writerDB)
				seq     uint64
				problem audit.Problem
				keyless bool // also detected without the MAC key
			}{
				{"delete the last two entries", func(t *testing.T, d writerDB) {
					d.exec(t, `DELETE FROM audit_entries WHERE org = 'acme' AND seq > 23`)
				}, 24, audit.ProblemTail, true},
				{"delete the last two entries and the recorded head", func(t *testing.T, d writerDB) {
					d.exec(t, `DELETE FROM audit_entries WHERE org = 'acme' AND seq > 23`)
					d.exec(t, `DELETE FROM audit_heads WHERE org = 'acme'`)
				}, 24, audit.ProblemTail, true},
				{"delete the last two entries and move the head back, with the entry's MAC", func(t *testing.T, d writerDB) {
					d.exec(t, `DELETE FROM audit_entries WHERE org = 'acme' AND seq > 23`)
					d.exec(t, `UPDATE audit_heads SET seq = 23, hash = (SELECT hash FROM audit_entries WHERE org = 'acme' AND seq = 23),
						mac = (SELECT mac FROM audit_entries WHERE org = 'acme' AND seq = 23) WHERE org = 'acme'`)
				}, 23, audit.ProblemHead, false},
				// Entries 1 to 21 are checkpointed: with their MACs stripped,
				// no entry carries one, and the head was once required only
				// when some entry did (the review of issue 11).
				{"strip every MAC, delete the unanchored entries and the recorded head", func(t *testing.T, d writerDB) {
					d.exec(t, `UPDATE audit_entries SET mac = NULL WHERE org = 'acme'`)
					d.exec(t, `DELETE FROM audit_entries WHERE org = 'acme' AND seq > 21`)
					d.exec(t, `DELETE FROM audit_heads WHERE org = 'acme'`)
				}, 22, audit.ProblemTail, false},
				{"strip every MAC, delete the unanchored entries and move the head back without a MAC", func(t *testing.T, d writerDB) {
					d.exec(t, `UPDATE audit_entries SET mac = NULL WHERE org = 'acme'`)
					d.exec(t, `DELETE FROM audit_entries WHERE org = 'acme' AND seq > 21`)
					d.exec(t, `UPDATE audit_heads SET seq = 21, hash = (SELECT hash FROM audit_entries WHERE org = 'acme' AND seq = 21),
						mac = NULL WHERE org = 'acme'`)
				}, 21, audit.ProblemHead, false},
			} {
				t.Run(tc.name, func(t *testing.T) {
					d := b.open(t)
					d.populate(t)
					tc.attack(t, d)
					if ve, _ := d.keyed(t); ve == nil || ve.Org != "acme" || ve.Seq != tc.seq || ve.Problem != tc.problem {
						t.Errorf("keyed verify = %v, want %q at acme %d", ve, tc.problem, tc.seq)
					}
					if ve := d.keyless(t); tc.keyless && (ve == nil || ve.Seq != tc.seq || ve.Problem != tc.problem) {
						t.Errorf("keyless verify = %v, want %q at %d", ve, tc.problem, tc.seq)
					}
				})
			}
		})
	}
}

// TestWriterWholeLogDeletionIsDetected: deleting an org's whole log,
// entries and checkpoints, made `verify --org` say "ok, 0 entries" before
// issue 11. Verification knows the orgs that exist and each org's
// recorded head, and names the org.
func TestWriterWholeLogDeletionIsDetected(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			for _, tc := range []struct {
				name   string
				attack func(t *testing.T, d writerDB)
			}{
				{"entries and checkpoints", func(t *testing.T, d writerDB) {
					d.exec(t, `DELETE FROM audit_entries WHERE org = 'beta'`)
					d.exec(t, `DELETE FROM audit_checkpoints WHERE org = 'beta'`)
				}},
				{"entries, checkpoints and the recorded head", func(t *testing.T, d writerDB) {
					d.exec(t, `DELETE FROM audit_entries WHERE org = 'beta'`)
					d.exec(t, `DELETE FROM audit_checkpoints WHERE org = 'beta'`)
					d.exec(t, `DELETE FROM audit_heads WHERE org = 'beta'`)
				}},
			} {
				t.Run(tc.name, func(t *testing.T) {
					d := b.open(t)
					d.populate(t)
					tc.attack(t, d)
					for name, ve := range map[string]*audit.VerifyError{"keyed": first(d.keyed(t)), "keyless": d.keyless(t)} {
						if ve == nil || ve.Org != "beta" || ve.Seq != 1 || ve.Problem != audit.ProblemMissing {
							t.Errorf("%s verify = %v, want beta's log missing", name, ve)
						}
					}
					// One org at a time, as `verify --org beta` does.
					_, err := audit.Verify(ctxT(t), d.st, "beta", audit.VerifyOptions{Keys: []audit.PublicKey{testSigner(t).Public()}, Orgs: []string{"acme", "beta"}})
					if ve := asVerifyError(t, err); ve == nil || ve.Problem != audit.ProblemMissing {
						t.Errorf("verify of beta alone = %v, want its log missing", err)
					}
				})
			}
		})
	}
}

func first[A, B any](a A, _ B) A { return a }

// TestEntriesCarryMACs: the log's entries and recorded head carry MACs
// that verify, and the plain Append writes none (it has no key).
func TestEntriesCarryMACs(t *testing.T) {
	d := openSQLiteWriter(t)
	d.populate(t)
	ctx := ctxT(t)
	k := testSigner(t).MACKey()
	r := d.record(t, "acme", 25)
	var h audit.Hash
	copy(h[:], r.Hash)
	if got := k.EntryMAC(h); string(got) != string(r.MAC) {
		t.Errorf("entry 25's MAC = %x, want %x", r.MAC, got)
	}
	hr, ok, err := d.st.AuditHeadRow(ctx, "acme")
	if err != nil || !ok || hr.Seq != 25 || string(hr.Hash) != string(r.Hash) || string(hr.MAC) != string(k.HeadMAC("acme", 25, h)) {
		t.Errorf("recorded head = %+v, %v, %v; want entry 25 with its head MAC", hr, ok, err)
	}
	writeEntries(t, d.st, audit.Append, "gamma", 1, 1)
	if r := d.record(t, "gamma", 1); r.MAC != nil {
		t.Errorf("audit.Append wrote a MAC: %x", r.MAC)
	}
	// Without the key, such entries verify; with it, an entry no checkpoint
	// covers and without a MAC is not this deployment's.
	if ve := d.keyless(t); ve != nil {
		t.Errorf("keyless verify = %v", ve)
	}
	if ve, _ := d.keyed(t); ve == nil || ve.Org != "gamma" || ve.Problem != audit.ProblemForged {
		t.Errorf("keyed verify = %v, want gamma's unauthenticated entry", ve)
	}
}

// TestAdoptAnchorsEntriesWrittenBeforeMACs: entries without a MAC (written
// before migration 00006, simulated with the key-less Append) after the
// newest checkpoint are refused by the checkpointer and reported by a keyed
// verify, until an operator adopts them; Adopt still refuses a wrong MAC.
func TestAdoptAnchorsEntriesWrittenBeforeMACs(t *testing.T) {
	d := openSQLiteWriter(t)
	ctx := ctxT(t)
	l := writerLog(t, d.st, 1000)
	// Before the upgrade: no MACs, no recorded head.
	writeEntries(t, d.st, audit.Append, "acme", 1, 6)
	d.exec(t, `DELETE FROM audit_heads`)
	if ve, _ := d.keyed(t); ve == nil || ve.Seq != 1 || ve.Problem != audit.ProblemForged {
		t.Fatalf("keyed verify = %v, want entry 1 unauthenticated", ve)
	}
	if _, err := l.Checkpoint(ctx, "acme", true); !errors.Is(err, audit.ErrTampered) {
		t.Errorf("checkpoint over entries without MACs = %v, want a refusal", err)
	}
	seq, adopted, err := l.Adopt(ctx, "acme")
	if err != nil || seq != 6 || adopted != 6 {
		t.Fatalf("adopt = %d, %d, %v; want a checkpoint at 6 vouching for 6 entries", seq, adopted, err)
	}
	keyed := func() error {
		_, err := audit.Verify(ctx, d.st, "acme", audit.VerifyOptions{Keys: []audit.PublicKey{testSigner(t).Public()},
			MACKeys: []audit.MACKey{testSigner(t).MACKey()}})
		return err
	}
	if err := keyed(); err != nil {
		t.Errorf("keyed verify after adopt: %v", err)
	}
	writeEntries(t, d.st, l, "acme", 7, 8) // after the upgrade
	if err := keyed(); err != nil {
		t.Errorf("keyed verify after new entries: %v", err)
	}
	d.exec(t, `UPDATE audit_entries SET mac = $1 WHERE org = 'acme' AND seq = 8`, make([]byte, 32))
	if _, _, err := l.Adopt(ctx, "acme"); !errors.Is(err, audit.ErrTampered) {
		t.Errorf("adopt over a wrong MAC = %v, want a refusal", err)
	}
}

// TestAdoptRecordsTheHeadOfACheckpointedLog: a log every entry of which a
// checkpoint covered before the upgrade has no recorded head; keyed
// verification requires one (a cut tail with its head row deleted looks
// the same), and adopt records it without signing anything new.
func TestAdoptRecordsTheHeadOfACheckpointedLog(t *testing.T) {
	d := openSQLiteWriter(t)
	ctx := ctxT(t)
	l := writerLog(t, d.st, 1000)
	writeEntries(t, d.st, audit.Append, "acme", 1, 6)
	d.exec(t, `DELETE FROM audit_heads`)
	if _, _, err := l.Adopt(ctx, "acme"); err != nil {
		t.Fatal(err)
	}
	d.exec(t, `DELETE FROM audit_heads`) // as if checkpointed by the version before heads
	keyed := func() *audit.VerifyError {
		_, err := audit.Verify(ctx, d.st, "acme", audit.VerifyOptions{Keys: []audit.PublicKey{testSigner(t).Public()},
			MACKeys: []audit.MACKey{testSigner(t).MACKey()}})
		return asVerifyError(t, err)
	}
	if ve := keyed(); ve == nil || ve.Seq != 7 || ve.Problem != audit.ProblemTail {
		t.Fatalf("keyed verify without a recorded head = %v, want the tail reported at 7", ve)
	}
	seq, adopted, err := l.Adopt(ctx, "acme")
	if err != nil || seq != 0 || adopted != 0 {
		t.Fatalf("adopt = %d, %d, %v; want nothing signed, nothing adopted", seq, adopted, err)
	}
	if ve := keyed(); ve != nil {
		t.Errorf("keyed verify after adopt = %v", ve)
	}
}

// TestAdoptNeverMovesAnAuthenticHead: adopt after a tail cut must not
// sign over the shortened log or move the recorded head back to it, which
// would hide the cut; a head with a wrong MAC is refused too.
func TestAdoptNeverMovesAnAuthenticHead(t *testing.T) {
	for _, tc := range []struct {
		name    string
		attack  string
		seq     uint64
		problem audit.Problem
	}{
		{"the unanchored tail deleted", `DELETE FROM audit_entries WHERE org = 'acme' AND seq > 23`, 24, audit.ProblemTail},
		{"the head's MAC replaced", `UPDATE audit_heads SET mac = zeroblob(32) WHERE org = 'acme'`, 25, audit.ProblemHead},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := openSQLiteWriter(t)
			d.populate(t)
			ctx := ctxT(t)
			before, _, err := d.st.AuditHeadRow(ctx, "acme")
			if err != nil {
				t.Fatal(err)
			}
			d.exec(t, tc.attack)
			mid, _, _ := d.st.AuditHeadRow(ctx, "acme")
			_, _, err = writerLog(t, d.st, 1000).Adopt(ctx, "acme")
			if ve := asVerifyError(t, err); ve == nil || ve.Seq != tc.seq || ve.Problem != tc.problem {
				t.Errorf("adopt = %v, want %q at %d", err, tc.problem, tc.seq)
			}
			after, _, _ := d.st.AuditHeadRow(ctx, "acme")
			if diff := cmp.Diff(mid, after); diff != "" {
				t.Errorf("adopt changed the recorded head (-before +after):\n%s", diff)
			}
			if after.Seq != before.Seq {
				t.Errorf("recorded head moved from %d to %d", before.Seq, after.Seq)
			}
			cps, _ := d.st.ListAuditCheckpoints(ctx, "acme", 21, 10)
			if len(cps) != 0 {
				t.Errorf("adopt signed %d checkpoints after 21 over the attacked log", len(cps))
			}
		})
	}
}
