package audit_test

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/audit"
	"github.com/gatehouse-dev/gatehouse/internal/store"
	"github.com/gatehouse-dev/gatehouse/internal/store/sqlite"
)

// TestTamperRunContext attacks the request context a run of entries
// stores once (audit_runs.ctx, migration 00020): it is part of every
// entry's hashed body once read back, so changing any byte of it,
// swapping two runs' contexts or deleting a run must fail verification
// at the run's first entry, with the MAC key and without it.
func TestTamperRunContext(t *testing.T) {
	ctx := ctxT(t)
	src := filepath.Join(t.TempDir(), "ctx.db")
	s, err := sqlite.Open(ctx, src, sqlite.Options{Synchronous: "NORMAL"})
	if err != nil {
		t.Fatal(err)
	}
	l := newTestLog(t, s, audit.Options{Signer: testSigner(t), CheckpointEvery: 1000})
	// Two bulk writes of 10 entries, of one actor and one context each
	// (contexts of equal length, so they can be swapped).
	for w := 1; w <= 2; w++ {
		if _, err := s.Write(ctx, func(tx store.Tx) error {
			for i := range 10 {
				e := audit.Entry{Org: tamperOrg, Action: "binding.create", Target: fmt.Sprintf("bindings/b%d-%d", w, i), Result: audit.Success,
					Actor: audit.Actor{Principal: "user:loader", Roles: []string{"owner"}, KeyID: "b4405c96a3a3e236",
						ClientAddr: "127.0.0.1", RequestID: fmt.Sprintf("req-%d", w)},
					After: json.RawMessage(fmt.Sprintf(`{"id":"b%d-%d","role":"viewer"}`, w, i))}
				if err := l.Record(ctx, tx, e); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := l.Checkpoint(ctx, tamperOrg, true); err != nil {
		t.Fatal(err)
	}
	s.Close()

	type run struct {
		first int64
		ctx   string
	}
	open := func(t *testing.T) (*sql.DB, *tamperDB, []run) {
		t.Helper()
		dst := filepath.Join(t.TempDir(), "tampered.db")
		copyFile(t, src, dst)
		raw, err := sql.Open("sqlite", dst+"?_pragma=busy_timeout(10000)")
		if err != nil {
			t.Fatal(err)
		}
		raw.SetMaxOpenConns(1)
		t.Cleanup(func() { raw.Close() })
		for _, tr := range []string{"audit_runs_no_update", "audit_runs_no_delete"} {
			if _, err := raw.Exec(`DROP TRIGGER ` + tr); err != nil {
				t.Fatal(err)
			}
		}
		rows, err := raw.Query(`SELECT first_seq, ctx FROM audit_runs WHERE org = ? ORDER BY last_seq`, tamperOrg)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var runs []run
		for rows.Next() {
			var r run
			if err := rows.Scan(&r.first, &r.ctx); err != nil {
				t.Fatal(err)
			}
			if r.ctx != "" {
				runs = append(runs, r)
			}
		}
		if len(runs) != 2 {
			t.Fatalf("%d runs store a context, want the 2 bulk writes'", len(runs))
		}
		d := &tamperDB{raw: raw, st: openStore(t, dst), keys: []audit.PublicKey{testSigner(t).Public()},
			macs: []audit.MACKey{testSigner(t).MACKey()}}
		return raw, d, runs
	}
	check := func(t *testing.T, d *tamperDB, seq uint64) {
		t.Helper()
		for _, keyless := range []bool{false, true} {
			ve := d.verifyAll(t)
			if keyless {
				ve = d.verifyKeyless(t)
			}
			if ve == nil {
				t.Fatalf("keyless %v: the tampered log verifies", keyless)
			}
			if ve.Seq != seq {
				t.Errorf("keyless %v: first problem at entry %d (%v), want %d", keyless, ve.Seq, ve, seq)
			}
		}
	}

	t.Run("untouched", func(t *testing.T) {
		_, d, _ := open(t)
		if ve := d.verifyAll(t); ve != nil {
			t.Fatalf("the untouched copy does not verify: %v", ve)
		}
	})
	t.Run("every byte of a context", func(t *testing.T) {
		raw, d, runs := open(t)
		c := runs[1].ctx
		for i := range len(c) {
			if raceEnabled && i != 0 && i != len(c)/2 && i != len(c)-1 {
				continue // ~10x slower verifications: the ends and the middle
			}
			b := []byte(c)
			b[i] ^= 0x01
			if _, err := raw.Exec(`UPDATE audit_runs SET ctx = ? WHERE org = ? AND first_seq = ?`, string(b), tamperOrg, runs[1].first); err != nil {
				t.Fatal(err)
			}
			check(t, d, uint64(runs[1].first))
		}
		if _, err := raw.Exec(`UPDATE audit_runs SET ctx = ? WHERE org = ? AND first_seq = ?`, c, tamperOrg, runs[1].first); err != nil {
			t.Fatal(err)
		}
		if ve := d.verifyAll(t); ve != nil {
			t.Fatalf("the restored copy does not verify: %v", ve)
		}
	})
	t.Run("swap two runs' contexts", func(t *testing.T) {
		raw, d, runs := open(t)
		for i, r := range runs {
			if _, err := raw.Exec(`UPDATE audit_runs SET ctx = ? WHERE org = ? AND first_seq = ?`, runs[1-i].ctx, tamperOrg, r.first); err != nil {
				t.Fatal(err)
			}
		}
		check(t, d, uint64(runs[0].first))
	})
	t.Run("delete a run", func(t *testing.T) {
		raw, d, runs := open(t)
		if _, err := raw.Exec(`DELETE FROM audit_runs WHERE org = ? AND first_seq = ?`, tamperOrg, runs[1].first); err != nil {
			t.Fatal(err)
		}
		check(t, d, uint64(runs[1].first))
	})
}
