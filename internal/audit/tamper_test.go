package audit_test

import (
	"database/sql"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	_ "modernc.org/sqlite"

	"github.com/gatehouse-dev/gatehouse/internal/audit"
	"github.com/gatehouse-dev/gatehouse/internal/store"
	"github.com/gatehouse-dev/gatehouse/internal/store/sqlite"
)

// The tamper tests attack a copy of a real SQLite database written by the
// real code: 1,000 entries of org "acme" with checkpoints at 1, 101, ...,
// 901 and 1000. The attacker has the file: it drops the append-only
// triggers and rewrites rows with SQL. Every attack must be detected by
// Verify, which reads the database through the real store.

const tamperOrg = "acme"

// tamperDB is the attacker's handle (raw SQL, triggers dropped) and the
// verifier's (the store) on one copy of the fixture.
type tamperDB struct {
	raw  *sql.DB
	st   *sqlite.Store
	keys []audit.PublicKey
	macs []audit.MACKey // the verifier holds the key, as the server does
}

var (
	fixtureOnce  = map[string]string{}
	triggerNames = []string{"audit_entries_no_update", "audit_entries_no_delete", "audit_checkpoints_no_update",
		"audit_checkpoints_no_delete", "audit_prunes_no_update", "audit_prunes_no_delete", "audit_heads_no_delete"}
)

// sharedFixture builds the 1,000-entry fixture once per test binary.
func sharedFixture(t *testing.T) string {
	t.Helper()
	if p, ok := fixtureOnce["acme"]; ok {
		return p
	}
	dir, err := os.MkdirTemp("", "audit-fixture-")
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "fixture.db")
	buildFixture(t, p, tamperOrg, 1000, 100)
	fixtureOnce["acme"] = p
	return p
}

func TestMain(m *testing.M) {
	code := m.Run()
	for _, p := range fixtureOnce {
		_ = os.RemoveAll(filepath.Dir(p))
	}
	os.Exit(code)
}

// tamperCopy copies the fixture and opens both handles on the copy.
func tamperCopy(t *testing.T) *tamperDB {
	t.Helper()
	src := sharedFixture(t)
	dst := filepath.Join(t.TempDir(), "tampered.db")
	copyFile(t, src, dst)
	raw, err := sql.Open("sqlite", dst+"?_pragma=busy_timeout(10000)&_pragma=synchronous(OFF)")
	if err != nil {
		t.Fatal(err)
	}
	raw.SetMaxOpenConns(1)
	t.Cleanup(func() { raw.Close() })
	// With the triggers in place, the database itself refuses.
	if _, err := raw.Exec(`UPDATE audit_entries SET actor = 'x' WHERE org = 'acme' AND seq = 5`); err == nil {
		t.Fatal("UPDATE of an audit entry succeeded with the triggers in place")
	}
	if _, err := raw.Exec(`DELETE FROM audit_entries WHERE org = 'acme' AND seq = 5`); err == nil {
		t.Fatal("DELETE of an audit entry succeeded with the triggers in place")
	}
	if _, err := raw.Exec(`DELETE FROM audit_checkpoints WHERE org = 'acme'`); err == nil {
		t.Fatal("DELETE of a checkpoint succeeded with the triggers in place")
	}
	for _, tr := range triggerNames {
		if _, err := raw.Exec(`DROP TRIGGER ` + tr); err != nil {
			t.Fatal(err)
		}
	}
	return &tamperDB{raw: raw, st: openStore(t, dst), keys: []audit.PublicKey{testSigner(t).Public()},
		macs: []audit.MACKey{testSigner(t).MACKey()}}
}

func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	for _, suffix := range []string{"", "-wal"} {
		in, err := os.Open(src + suffix)
		if errors.Is(err, os.ErrNotExist) && suffix != "" {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		out, err := os.Create(dst + suffix)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(out, in); err != nil {
			t.Fatal(err)
		}
		in.Close()
		if err := out.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

func (d *tamperDB) exec(t *testing.T, q string, args ...any) {
	t.Helper()
	if _, err := d.raw.Exec(q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

// verifyErr runs a full verification of every org and returns the first
// problem.
func (d *tamperDB) verifyAll(t *testing.T, extra ...audit.Checkpoint) *audit.VerifyError {
	t.Helper()
	_, err := audit.VerifyAll(ctxT(t), d.st, audit.VerifyOptions{Keys: d.keys, MACKeys: d.macs, Checkpoints: extra, Orgs: []string{tamperOrg}})
	return asVerifyError(t, err)
}

// verifyKeyless is verifyAll without the MAC key (the CLI given only the
// public key).
func (d *tamperDB) verifyKeyless(t *testing.T, extra ...audit.Checkpoint) *audit.VerifyError {
	t.Helper()
	_, err := audit.VerifyAll(ctxT(t), d.st, audit.VerifyOptions{Keys: d.keys, Checkpoints: extra})
	return asVerifyError(t, err)
}

func asVerifyError(t *testing.T, err error) *audit.VerifyError {
	t.Helper()
	if err == nil {
		return nil
	}
	var ve *audit.VerifyError
	if !errors.As(err, &ve) || !errors.Is(err, audit.ErrTampered) {
		t.Fatalf("verify failed without naming a problem: %v", err)
	}
	return ve
}

// column is one column of an audit table as the attacker sees it.
type column struct {
	name string
	kind byte // 't' text, 'b' blob, 'i' integer
}

var (
	entryCols      = []column{{"org", 't'}, {"seq", 'i'}, {"at", 'i'}, {"actor", 't'}, {"action", 't'}, {"target", 't'}, {"result", 't'}, {"body", 't'}, {"hash", 'b'}, {"mac", 'b'}}
	checkpointCols = []column{{"org", 't'}, {"seq", 'i'}, {"head", 'b'}, {"at", 'i'}, {"key_id", 't'}, {"signature", 'b'}}
	headCols       = []column{{"org", 't'}, {"seq", 'i'}, {"hash", 'b'}, {"mac", 'b'}}
)

// rowBytes reads one row's columns as bytes (integers as 8 big-endian
// bytes).
func (d *tamperDB) rowBytes(t *testing.T, table string, cols []column, seq uint64) [][]byte {
	t.Helper()
	dest := make([]any, len(cols))
	out := make([][]byte, len(cols))
	ints := make([]int64, len(cols))
	for i, c := range cols {
		if c.kind == 'i' {
			dest[i] = &ints[i]
		} else {
			dest[i] = &out[i]
		}
	}
	if err := d.raw.QueryRow(`SELECT `+colList(cols)+` FROM `+table+` WHERE org = ? AND seq = ?`, tamperOrg, int64(seq)).Scan(dest...); err != nil {
		t.Fatalf("read %s %d: %v", table, seq, err)
	}
	for i, c := range cols {
		if c.kind == 'i' {
			out[i] = binary.BigEndian.AppendUint64(nil, uint64(ints[i]))
		}
	}
	return out
}

func colList(cols []column) string {
	s := ""
	for i, c := range cols {
		if i > 0 {
			s += ", "
		}
		s += c.name
	}
	return s
}

func colValue(c column, b []byte) any {
	switch c.kind {
	case 't':
		return string(b)
	case 'i':
		return int64(binary.BigEndian.Uint64(b))
	}
	return b
}

// set writes one column of the row keyed (org, seq) and returns the row's
// key afterwards; ok is false if the database refused the value (a
// CHECK or primary-key violation: that tampering cannot be stored).
func (d *tamperDB) set(table string, c column, org string, seq int64, v any) (string, int64, bool) {
	if _, err := d.raw.Exec(`UPDATE `+table+` SET `+c.name+` = ? WHERE org = ? AND seq = ?`, v, org, seq); err != nil {
		return org, seq, false
	}
	switch c.name {
	case "org":
		org = v.(string)
	case "seq":
		seq = v.(int64)
	}
	return org, seq, true
}

// stats counts what a sweep did.
type stats struct{ tried, detected, refused int }

// sweep changes, one at a time, every byte of every column of the given
// rows of table, checks that verification detects it (at the row, or
// earlier for checkpoints) and restores the row.
func (d *tamperDB) sweep(t *testing.T, table string, cols []column, seqs []uint64, st *stats) {
	t.Helper()
	ctx := ctxT(t)
	for _, seq := range seqs {
		orig := d.rowBytes(t, table, cols, seq)
		for ci, c := range cols {
			for k := range orig[ci] {
				mut := append([]byte(nil), orig[ci]...)
				mut[k] ^= 1 << (k % 8)
				org, key, ok := d.set(table, c, tamperOrg, int64(seq), colValue(c, mut))
				st.tried++
				if !ok {
					st.refused++
					continue
				}
				var err error
				if table == "audit_checkpoints" && (c.name == "org" || c.name == "seq") {
					// Full verification: a checkpoint moved to another org
					// or to an earlier sequence is behind an incremental
					// check's starting point.
					_, err = audit.VerifyAll(ctx, d.st, audit.VerifyOptions{Keys: d.keys, MACKeys: d.macs})
				} else {
					_, err = audit.Verify(ctx, d.st, tamperOrg, audit.VerifyOptions{Keys: d.keys, MACKeys: d.macs, From: seq, Batch: 128})
				}
				ve := asVerifyError(t, err)
				if ve == nil {
					t.Errorf("%s %d: changing byte %d of %s (%x -> %x) was not detected", table, seq, k, c.name, orig[ci][k], mut[k])
				} else {
					st.detected++
					if ve.Seq > seq && c.name != "org" && c.name != "seq" {
						t.Errorf("%s %d: changing byte %d of %s was reported at %d (%s), after the changed row", table, seq, k, c.name, ve.Seq, ve.Problem)
					}
				}
				// Every 61st change: the full verification agrees (for a
				// changed org, it may find the other org first).
				if st.tried%61 == 0 && c.name != "org" {
					fe := d.verifyAll(t)
					if fe == nil || ve == nil || fe.Seq != ve.Seq || fe.Problem != ve.Problem {
						t.Errorf("%s %d byte %d of %s: full verification = %v, incremental = %v", table, seq, k, c.name, fe, ve)
					}
				}
				if _, _, ok := d.set(table, c, org, key, colValue(c, orig[ci])); !ok {
					t.Fatalf("restoring %s %d failed", table, seq)
				}
			}
		}
	}
}

// TestTamperEveryByte changes every byte of every stored column of
// entries and of every checkpoint of the fixture, one at a time, in the
// database. A sweep of all 1,000 entries (~105,000 changes) takes minutes,
// so by default it sweeps every 25th entry, the entries at and next to
// every checkpoint and the last ones (under the race detector, as CI runs
// it, a handful: 1, 2, 101, 503, 999, 1000 and two checkpoints);
// GATEHOUSE_AUDIT_EXHAUSTIVE=1 sweeps all 1,000. It logs which it did.
func TestTamperEveryByte(t *testing.T) {
	d := tamperCopy(t)
	if ve := d.verifyAll(t); ve != nil {
		t.Fatalf("the untouched copy does not verify: %v", ve)
	}
	step, near := uint64(25), uint64(100) // entries near every checkpoint
	cps := []uint64{1, 101, 201, 301, 401, 501, 601, 701, 801, 901, 1000}
	if raceEnabled {
		// The race detector makes each verification ~10x slower; CI runs
		// this way, so it sweeps a handful of rows there.
		step, near = 500, 1000
		cps = []uint64{1, 1000}
	}
	if os.Getenv("GATEHOUSE_AUDIT_EXHAUSTIVE") != "" {
		step, near = 1, 100
	}
	var seqs []uint64
	for s := uint64(1); s <= 1000; s++ {
		if s%step == 3%step || s%near <= 1 || s == 101 || s >= 999 {
			seqs = append(seqs, s)
		}
	}
	t.Logf("sweeping %d of 1000 entries (every %d plus checkpoint neighbours and the tail)", len(seqs), step)
	var es, cs, hs stats
	d.sweep(t, "audit_entries", entryCols, seqs, &es)
	d.sweep(t, "audit_checkpoints", checkpointCols, cps, &cs)
	d.sweep(t, "audit_heads", headCols, []uint64{1000}, &hs)
	t.Logf("entries: %d rows, %d single-byte changes, %d detected, %d refused by the database (CHECK/PRIMARY KEY)", len(seqs), es.tried, es.detected, es.refused)
	t.Logf("checkpoints: %d rows, %d single-byte changes, %d detected, %d refused by the database", len(cps), cs.tried, cs.detected, cs.refused)
	t.Logf("recorded head: %d single-byte changes, %d detected, %d refused by the database", hs.tried, hs.detected, hs.refused)
	if es.detected+es.refused != es.tried || cs.detected+cs.refused != cs.tried || hs.detected+hs.refused != hs.tried {
		t.Errorf("not every change was detected")
	}
	if ve := d.verifyAll(t); ve != nil {
		t.Fatalf("the restored copy does not verify: %v", ve)
	}
}

// TestTamperStructure attacks the log as a whole: deletions, reorders,
// insertions, truncation, forged and deleted checkpoints, a rewrite.
func TestTamperStructure(t *testing.T) {
	forger := otherSigner(t)
	tests := []struct {
		name    string
		attack  func(t *testing.T, d *tamperDB) []audit.Checkpoint // returns exported checkpoints to give Verify
		seq     uint64
		problem audit.Problem
		keyless bool // verify without the MAC key
	}{
		{"delete one entry", func(t *testing.T, d *tamperDB) []audit.Checkpoint {
			d.exec(t, `DELETE FROM audit_entries WHERE org = 'acme' AND seq = 500`)
			return nil
		}, 500, audit.ProblemGap, false},
		{"delete the first entry", func(t *testing.T, d *tamperDB) []audit.Checkpoint {
			d.exec(t, `DELETE FROM audit_entries WHERE org = 'acme' AND seq = 1`)
			return nil
		}, 1, audit.ProblemGap, false},
		{"delete a range", func(t *testing.T, d *tamperDB) []audit.Checkpoint {
			d.exec(t, `DELETE FROM audit_entries WHERE org = 'acme' AND seq BETWEEN 200 AND 260`)
			return nil
		}, 200, audit.ProblemGap, false},
		{"delete one entry and renumber the rest", func(t *testing.T, d *tamperDB) []audit.Checkpoint {
			d.exec(t, `DELETE FROM audit_entries WHERE org = 'acme' AND seq = 500`)
			d.exec(t, `UPDATE audit_entries SET seq = seq + 1000000 WHERE org = 'acme' AND seq > 500`)
			d.exec(t, `UPDATE audit_entries SET seq = seq - 1000001 WHERE org = 'acme' AND seq > 1000000`)
			return nil
		}, 500, audit.ProblemHash, false},
		{"swap two adjacent entries", func(t *testing.T, d *tamperDB) []audit.Checkpoint {
			d.exec(t, `UPDATE audit_entries SET seq = 999999 WHERE org = 'acme' AND seq = 300`)
			d.exec(t, `UPDATE audit_entries SET seq = 300 WHERE org = 'acme' AND seq = 301`)
			d.exec(t, `UPDATE audit_entries SET seq = 301 WHERE org = 'acme' AND seq = 999999`)
			return nil
		}, 300, audit.ProblemReorder, false},
		{"move an entry later", func(t *testing.T, d *tamperDB) []audit.Checkpoint {
			d.exec(t, `UPDATE audit_entries SET seq = 999999 WHERE org = 'acme' AND seq = 400`)
			d.exec(t, `UPDATE audit_entries SET seq = 400 WHERE org = 'acme' AND seq = 410`)
			d.exec(t, `UPDATE audit_entries SET seq = 410 WHERE org = 'acme' AND seq = 999999`)
			return nil
		}, 400, audit.ProblemReorder, false},
		{"insert an entry and renumber the rest", func(t *testing.T, d *tamperDB) []audit.Checkpoint {
			d.exec(t, `UPDATE audit_entries SET seq = seq + 1000000 WHERE org = 'acme' AND seq >= 700`)
			d.exec(t, `UPDATE audit_entries SET seq = seq - 999999 WHERE org = 'acme' AND seq > 1000000`)
			d.exec(t, `INSERT INTO audit_entries (org, seq, at, actor, action, target, result, body, hash)
				SELECT org, 700, at, 'user:mallory', action, target, result, body, hash FROM audit_entries WHERE org = 'acme' AND seq = 699`)
			return nil
		}, 700, audit.ProblemInserted, false},
		{"change an entry's content", func(t *testing.T, d *tamperDB) []audit.Checkpoint {
			d.exec(t, `UPDATE audit_entries SET result = 'success' WHERE org = 'acme' AND seq = 42`)
			return nil
		}, 42, audit.ProblemHash, false},
		{"truncate after the last checkpoint's entry", func(t *testing.T, d *tamperDB) []audit.Checkpoint {
			d.exec(t, `DELETE FROM audit_entries WHERE org = 'acme' AND seq > 950`)
			return nil
		}, 951, audit.ProblemTruncated, false},
		{"truncate the log and its checkpoints, with an exported copy", func(t *testing.T, d *tamperDB) []audit.Checkpoint {
			cps := d.exportCheckpoints(t)
			d.exec(t, `DELETE FROM audit_entries WHERE org = 'acme' AND seq > 850`)
			d.exec(t, `DELETE FROM audit_checkpoints WHERE org = 'acme' AND seq > 850`)
			return cps
		}, 851, audit.ProblemTruncated, false},
		{"truncate the whole log and its checkpoints, with an exported copy", func(t *testing.T, d *tamperDB) []audit.Checkpoint {
			cps := d.exportCheckpoints(t)
			d.exec(t, `DELETE FROM audit_entries`)
			d.exec(t, `DELETE FROM audit_checkpoints`)
			return cps
		}, 1, audit.ProblemTruncated, false},
		{"forge a checkpoint with another key", func(t *testing.T, d *tamperDB) []audit.Checkpoint {
			d.forge(t, forger, 950, "")
			return nil
		}, 950, audit.ProblemSignature, false},
		{"forge a checkpoint claiming the trusted key id", func(t *testing.T, d *tamperDB) []audit.Checkpoint {
			d.forge(t, forger, 950, testSigner(t).Public().ID)
			return nil
		}, 950, audit.ProblemSignature, false},
		{"replace a checkpoint's signature", func(t *testing.T, d *tamperDB) []audit.Checkpoint {
			d.exec(t, `UPDATE audit_checkpoints SET signature = (SELECT signature FROM audit_checkpoints WHERE org = 'acme' AND seq = 101) WHERE org = 'acme' AND seq = 201`)
			return nil
		}, 201, audit.ProblemSignature, false},
		{"forged exported checkpoint", func(t *testing.T, d *tamperDB) []audit.Checkpoint {
			cps := d.exportCheckpoints(t)
			cps[3].Head[0] ^= 1
			return cps
		}, cps3Seq, audit.ProblemSignature, false},
		{"rewrite the chain from 650 on (new hashes), keeping the old checkpoints", func(t *testing.T, d *tamperDB) []audit.Checkpoint {
			d.rewriteFrom(t, 650)
			return nil
		}, 651, audit.ProblemForged, false}, // the MAC; without the key, the checkpoint at 701
		{"rewrite the chain from 600 on (new hashes), keeping the old checkpoints, without the MAC key", func(t *testing.T, d *tamperDB) []audit.Checkpoint {
			d.rewriteFrom(t, 600)
			return nil
		}, 601, audit.ProblemCheckpoint, true},
		{"rewrite the chain from 650 on and drop the later checkpoints", func(t *testing.T, d *tamperDB) []audit.Checkpoint {
			d.rewriteFrom(t, 650)
			d.exec(t, `DELETE FROM audit_checkpoints WHERE org = 'acme' AND seq >= 600`)
			return nil
		}, 651, audit.ProblemForged, false}, // without the key: only with an exported copy
		{"rewrite the chain from 600 on and drop the later checkpoints, with an exported copy, without the MAC key", func(t *testing.T, d *tamperDB) []audit.Checkpoint {
			cps := d.exportCheckpoints(t)
			d.rewriteFrom(t, 600)
			d.exec(t, `DELETE FROM audit_checkpoints WHERE org = 'acme' AND seq >= 600`)
			return cps
		}, 601, audit.ProblemCheckpoint, true},
		{"append an entry with SQL, correctly chained, and move the recorded head", func(t *testing.T, d *tamperDB) []audit.Checkpoint {
			d.appendForged(t)
			return nil
		}, 1001, audit.ProblemForged, false},
		{"delete the whole log, its checkpoints and its recorded head", func(t *testing.T, d *tamperDB) []audit.Checkpoint {
			d.exec(t, `DELETE FROM audit_entries`)
			d.exec(t, `DELETE FROM audit_checkpoints`)
			d.exec(t, `DELETE FROM audit_heads`)
			return nil
		}, 1, audit.ProblemMissing, false}, // the org exists (VerifyOptions.Orgs)
		{"prune without a record", func(t *testing.T, d *tamperDB) []audit.Checkpoint {
			d.exec(t, `INSERT INTO audit_prunes (org, through_seq, at) VALUES ('acme', 101, 0)`)
			d.exec(t, `DELETE FROM audit_entries WHERE org = 'acme' AND seq <= 101`)
			return nil
		}, 102, audit.ProblemPrune, false},
		{"delete a prefix without a prune record", func(t *testing.T, d *tamperDB) []audit.Checkpoint {
			d.exec(t, `DELETE FROM audit_entries WHERE org = 'acme' AND seq <= 101`)
			return nil
		}, 1, audit.ProblemGap, false},
		{"move an entry to another org", func(t *testing.T, d *tamperDB) []audit.Checkpoint {
			d.exec(t, `UPDATE audit_entries SET org = 'acmf' WHERE org = 'acme' AND seq = 77`)
			return nil
		}, 77, audit.ProblemGap, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := tamperCopy(t)
			extra := tc.attack(t, d)
			verify := d.verifyAll
			if tc.keyless {
				verify = d.verifyKeyless
			}
			ve := verify(t, extra...)
			if ve == nil {
				t.Fatal("not detected")
			}
			if ve.Seq != tc.seq || ve.Problem != tc.problem {
				t.Errorf("detected %q at %d (%s), want %q at %d", ve.Problem, ve.Seq, ve.Detail, tc.problem, tc.seq)
			}
		})
	}
}

// cps3Seq is the sequence of the fourth checkpoint (1, 101, 201, 301).
const cps3Seq = 301

func (d *tamperDB) exportCheckpoints(t *testing.T) []audit.Checkpoint {
	t.Helper()
	cps, err := d.st.ListAuditCheckpoints(ctxT(t), tamperOrg, 0, store.MaxAuditBatch)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]audit.Checkpoint, len(cps))
	for i, c := range cps {
		out[i] = audit.CheckpointFromStore(c)
	}
	return out
}

// appendForged appends entry 1001 with SQL, chained to entry 1000, and
// moves the recorded head to it: what an attacker with the database but
// not the key can do.
func (d *tamperDB) appendForged(t *testing.T) {
	t.Helper()
	recs, err := d.st.ReadAudit(ctxT(t), tamperOrg, 999, 1)
	if err != nil || len(recs) != 1 {
		t.Fatal(recs, err)
	}
	var prev audit.Hash
	copy(prev[:], recs[0].Hash)
	r := store.AuditRecord{Org: tamperOrg, Seq: 1001, At: recs[0].At, Actor: "user:mallory", Action: "bindings.create",
		Target: "binding/backdoor", Result: "success", Body: []byte(`{}`)}
	h := audit.EntryHash(prev, r)
	d.exec(t, `INSERT INTO audit_entries (org, seq, at, actor, action, target, result, body, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.Org, 1001, r.At, r.Actor, r.Action, r.Target, r.Result, string(r.Body), h[:])
	d.exec(t, `UPDATE audit_heads SET seq = 1001, hash = ? WHERE org = ?`, h[:], tamperOrg)
}

// forge inserts a checkpoint at seq signed by the wrong key.
func (d *tamperDB) forge(t *testing.T, s *audit.Signer, seq uint64, keyID string) {
	t.Helper()
	var head []byte
	if err := d.raw.QueryRow(`SELECT hash FROM audit_entries WHERE org = 'acme' AND seq = ?`, int64(seq)).Scan(&head); err != nil {
		t.Fatal(err)
	}
	if keyID == "" {
		keyID = s.Public().ID
	}
	var h audit.Hash
	copy(h[:], head)
	cp := s.SignCheckpoint(tamperOrg, seq, h, 1)
	d.exec(t, `INSERT INTO audit_checkpoints (org, seq, head, at, key_id, signature) VALUES ('acme', ?, ?, 1, ?, ?)`, int64(seq), head, keyID, cp.Signature)
}

// rewriteFrom changes entry `from`+1's actor and recomputes every later
// hash, as an attacker without the key would.
func (d *tamperDB) rewriteFrom(t *testing.T, from uint64) {
	t.Helper()
	recs, err := d.st.ReadAudit(ctxT(t), tamperOrg, 0, store.MaxAuditBatch)
	if err != nil {
		t.Fatal(err)
	}
	var prev audit.Hash
	for _, r := range recs {
		if r.Seq == from+1 {
			r.Actor = "user:mallory"
		}
		h := audit.EntryHash(prev, r)
		if r.Seq > from {
			d.exec(t, `UPDATE audit_entries SET actor = ?, hash = ? WHERE org = 'acme' AND seq = ?`, r.Actor, h[:], int64(r.Seq))
		}
		prev = h
	}
}

func TestTriggersRefuseUpdateAndDelete(t *testing.T) {
	path := fixturePath(t)
	buildFixture(t, path, tamperOrg, 10, 5)
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	for _, q := range []string{
		`UPDATE audit_entries SET actor = 'x'`,
		`DELETE FROM audit_entries`,
		`UPDATE audit_checkpoints SET at = 0`,
		`DELETE FROM audit_checkpoints`,
		`INSERT INTO audit_prunes (org, through_seq, at) VALUES ('acme', 1, 0)`, // allowed: an insert
		`UPDATE audit_prunes SET through_seq = 2`,
		`DELETE FROM audit_prunes`,
	} {
		_, err := raw.Exec(q)
		if wantOK := q[0] == 'I'; (err == nil) != wantOK {
			t.Errorf("%s: err = %v", q, err)
		}
	}
	var n int
	if err := raw.QueryRow(`SELECT COUNT(*) FROM audit_entries`).Scan(&n); err != nil || n != 10 {
		t.Errorf("entries = %d, %v; want all 10 kept", n, err)
	}
}
