package vault

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/authz"
)

// sealedRow is one secret_versions row as raw SQL sees it.
type sealedRow struct {
	keyID           int64
	wrapped, cipher []byte
}

func (f *fx) readRow(o, ns, name string, version int) sealedRow {
	f.t.Helper()
	var r sealedRow
	err := f.raw.QueryRowContext(f.ctx, `SELECT key_id, wrapped_key, ciphertext FROM secret_versions
		WHERE org = $1 AND namespace = $2 AND name = $3 AND version = $4`, o, ns, name, version).Scan(&r.keyID, &r.wrapped, &r.cipher)
	if err != nil {
		f.t.Fatalf("read %s/%s/%s@%d: %v", o, ns, name, version, err)
	}
	return r
}

func (f *fx) writeRow(o, ns, name string, version int, r sealedRow) {
	f.t.Helper()
	_, err := f.raw.ExecContext(f.ctx, `UPDATE secret_versions SET key_id = $5, wrapped_key = $6, ciphertext = $7
		WHERE org = $1 AND namespace = $2 AND name = $3 AND version = $4`, o, ns, name, version, r.keyID, r.wrapped, r.cipher)
	if err != nil {
		f.t.Fatalf("write %s/%s/%s@%d: %v", o, ns, name, version, err)
	}
}

// A ciphertext moved to another row, version or org does not open: the
// test moves sealed bytes around in the real database with raw SQL, as an
// attacker with write access to the database (but not the key) would.
func TestMovedCiphertextsDoNotOpen(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		f := newFx(t, b)
		f.secret("prod", "A", "value-of-A-"+canary, Meta{})
		f.secret("prod", "B", "value-of-B-"+canary, Meta{})
		f.secret("dev", "A", "dev-A-"+canary, Meta{})
		f.ok("A v2", third(f.v.Rotate(f.ctx, alice, org, "prod", "A", []byte("value-of-A2-"+canary), 0)))
		f.ok("other org's prod", third(f.dir.CreateNamespace(f.ctx, eve, "other", "prod")))
		f.ok("other org's A", third(f.v.Create(f.ctx, eve, "other", "prod", "A", []byte("other-A-"+canary), Meta{})))
		a1, a2, bb := f.readRow(org, "prod", "A", 1), f.readRow(org, "prod", "B", 1), f.readRow(org, "prod", "B", 1)
		devA, otherA := f.readRow(org, "dev", "A", 1), f.readRow("other", "prod", "A", 1)
		a2 = f.readRow(org, "prod", "A", 2)

		tests := []struct {
			name string
			dst  [4]any // org, ns, name, version overwritten
			with sealedRow
		}{
			{"another secret's row (same org and namespace)", [4]any{org, "prod", "A", 2}, bb},
			{"an older version of the same secret", [4]any{org, "prod", "A", 2}, a1},
			{"the same name in another namespace", [4]any{org, "prod", "A", 2}, devA},
			{"the same name in another org", [4]any{org, "prod", "A", 2}, otherA},
			{"only the ciphertext swapped", [4]any{org, "prod", "A", 2}, sealedRow{a2.keyID, a2.wrapped, bb.cipher}},
			{"only the wrapped key swapped", [4]any{org, "prod", "A", 2}, sealedRow{a2.keyID, bb.wrapped, a2.cipher}},
			{"a flipped ciphertext byte", [4]any{org, "prod", "A", 2}, sealedRow{a2.keyID, a2.wrapped, flipLast(a2.cipher)}},
			{"a wrong key id", [4]any{org, "prod", "A", 2}, sealedRow{a2.keyID + 1, a2.wrapped, a2.cipher}},
		}
		for _, tc := range tests {
			o, ns, name, ver := tc.dst[0].(string), tc.dst[1].(string), tc.dst[2].(string), tc.dst[3].(int)
			f.writeRow(o, ns, name, ver, tc.with)
			r, err := f.v.Reveal(f.ctx, alice, o, ns, name, uint64(ver))
			if err == nil {
				t.Errorf("%s: opened as %q", tc.name, r.Value)
			} else if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrKeyMissing) {
				t.Errorf("%s: %v, want ErrCorrupt", tc.name, err)
			} else if strings.Contains(err.Error(), canary) {
				t.Errorf("%s: the error carries a value: %v", tc.name, err)
			}
			f.writeRow(o, ns, name, ver, a2)
		}
		// Restored, everything opens again: the vault lost nothing.
		for _, c := range []struct {
			o, ns, name string
			want        string
		}{{org, "prod", "A", "value-of-A2-"}, {org, "prod", "B", "value-of-B-"}, {org, "dev", "A", "dev-A-"}} {
			r, err := f.v.Reveal(f.ctx, alice, c.o, c.ns, c.name, 0)
			if err != nil || string(r.Value) != c.want+canary {
				t.Errorf("after restoring, %s/%s = %v, %v", c.ns, c.name, r, err)
			}
		}
		// A run token exchange of a moved ciphertext fails too, and consumes
		// nothing.
		f.ok("chain", second(f.chain(bob, "prod", "c", "A")))
		g, err := f.v.IssueRunToken(f.ctx, olga, org, triageAt("c"), RunOptions{})
		f.ok("issue", err)
		f.writeRow(org, "prod", "A", 2, bb)
		wantErr(t, "exchange of a moved ciphertext", second(f.v.Exchange(f.ctx, runner, org, g.Token)), ErrCorrupt)
		f.writeRow(org, "prod", "A", 2, a2)
		rel, err := f.v.Exchange(f.ctx, runner, org, g.Token)
		if err != nil || values(rel)["A"] != "value-of-A2-"+canary {
			t.Errorf("exchange after restoring: %v, %v", rel, err)
		}
	})
}

func triageAt(id string) authz.ResourceRef {
	return authz.ResourceRef{Namespace: "prod", Type: "chains", ID: id}
}

func flipLast(b []byte) []byte {
	c := bytes.Clone(b)
	c[len(c)-1] ^= 1
	return c
}

// An attacker with the database but not the master key gets names and
// metadata only: no value appears anywhere in the stored data, in the
// SQLite file and its WAL, or in the changelog and audit rows.
func TestDatabaseHoldsNoPlaintext(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		f := runFx(t, b)
		f.ok("rotate", third(f.v.Rotate(f.ctx, alice, org, "prod", "OPENAI_API_KEY", []byte("rotated-"+canary), 0)))
		f.ok("reveal", second(f.v.Reveal(f.ctx, alice, org, "prod", "OPENAI_API_KEY", 0)))
		g, err := f.v.IssueRunToken(f.ctx, olga, org, triage, RunOptions{})
		f.ok("issue", err)
		f.ok("exchange", second(f.v.Exchange(f.ctx, runner, org, g.Token)))

		dump := f.tableDump()
		for _, needle := range []string{canary, "rotated-", g.Token} {
			if bytes.Contains(dump, []byte(needle)) {
				t.Errorf("the database holds %q in plain text", needle)
			}
		}
		if !bytes.Contains(dump, []byte("OPENAI_API_KEY")) {
			t.Error("the dump does not even hold the names: the scan is not looking at the data")
		}
		if f.file != "" {
			for _, suffix := range []string{"", "-wal", "-shm"} {
				raw, err := os.ReadFile(f.file + suffix)
				if err != nil {
					continue
				}
				if bytes.Contains(raw, []byte(canary)) || bytes.Contains(raw, []byte(g.Token)) {
					t.Errorf("the database file %s holds a value or token", f.file+suffix)
				}
			}
		}
		cs, err := f.st.ChangesSince(f.ctx, 0, 0)
		f.ok("changes", err)
		for _, c := range cs {
			if bytes.Contains(c.Payload, []byte(canary)) {
				t.Errorf("changelog %s carries a value", c.Kind)
			}
		}
	})
}

// Starting with the wrong master key fails fast with a clear message and
// changes nothing; the right key still opens everything afterwards.
func TestWrongMasterKeyRefusesToStart(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		f := newFx(t, b)
		f.secret("prod", "KEEP", canary, Meta{})
		before := f.tableDump()

		wrong, _ := testKeyring(t, 1)
		_, err := f.tryOpen(wrong)
		wantErr(t, "open with another key 1", err, ErrWrongMasterKey)
		if err != nil && (!strings.Contains(err.Error(), "master key 1") || !strings.Contains(err.Error(), "refusing to start")) {
			t.Errorf("the message does not say what is wrong: %v", err)
		}
		only2, _ := testKeyring(t, 2)
		_, err = f.tryOpen(only2)
		wantErr(t, "open with a keyring lacking key 1", err, ErrKeyMissing)
		if err != nil && !strings.Contains(err.Error(), "master key 1") {
			t.Errorf("the message does not name the missing key: %v", err)
		}
		if after := f.tableDump(); !bytes.Equal(before, after) {
			t.Error("a refused start changed the database")
		}
		v := f.open(f.keys)
		if r, err := v.Reveal(f.ctx, alice, org, "prod", "KEEP", 0); err != nil || string(r.Value) != canary {
			t.Errorf("the right key after refused starts: %v, %v", r, err)
		}
		// Even with the key-check rows gone, a wrong key is caught by its
		// data keys.
		_, err = f.raw.ExecContext(f.ctx, `DELETE FROM vault_keys`)
		f.ok("delete key checks", err)
		_, err = f.tryOpen(wrong)
		wantErr(t, "a wrong key without key checks", err, ErrWrongMasterKey)
	})
}

// rotate-master re-wraps every data key under the new key without
// touching a ciphertext, keeps every version readable, and lets the old
// key be retired and dropped.
func TestRotateMaster(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		f := newFx(t, b)
		want := map[string]string{}
		for _, n := range []string{"A", "B", "C"} {
			f.secret("prod", n, n+"-"+canary, Meta{})
			want[n] = n + "-" + canary
		}
		f.ok("A v2", third(f.v.Rotate(f.ctx, alice, org, "prod", "A", []byte("A2-"+canary), 0)))
		f.ok("other org", third(f.v.Create(f.ctx, eve, "other", "default", "X", []byte("X-"+canary), Meta{})))
		ciphers := map[string][]byte{}
		for _, k := range []struct {
			o, ns, n string
			v        int
		}{{org, "prod", "A", 1}, {org, "prod", "A", 2}, {org, "prod", "B", 1}, {org, "prod", "C", 1}, {"other", "default", "X", 1}} {
			ciphers[k.o+k.ns+k.n+string(rune('0'+k.v))] = f.readRow(k.o, k.ns, k.n, k.v).cipher
		}

		// Key 2 joins the keyring (as an operator would add it to the key
		// file); key 1 stays until the re-wrap is done.
		_, k2 := testKeyring(t, 2)
		both, err := NewKeyring(map[uint32][]byte{1: f.keyBytes[1], 2: k2[2]})
		if err != nil {
			t.Fatal(err)
		}
		v := f.open(both)
		rep, err := v.RotateMaster(f.ctx, "user:operator")
		if err != nil {
			t.Fatal(err)
		}
		if rep.Active != 2 || rep.Rewrapped[1] != 5 || len(rep.Unused) != 1 || rep.Unused[0] != 1 {
			t.Errorf("report = %+v", rep)
		}
		for _, k := range []struct {
			o, ns, n string
			v        int
		}{{org, "prod", "A", 1}, {org, "prod", "A", 2}, {org, "prod", "B", 1}, {org, "prod", "C", 1}, {"other", "default", "X", 1}} {
			r := f.readRow(k.o, k.ns, k.n, k.v)
			if r.keyID != 2 || !bytes.Equal(r.cipher, ciphers[k.o+k.ns+k.n+string(rune('0'+k.v))]) {
				t.Errorf("%s/%s/%s@%d after rotation: key %d, ciphertext untouched %v", k.o, k.ns, k.n, k.v, r.keyID,
					bytes.Equal(r.cipher, ciphers[k.o+k.ns+k.n+string(rune('0'+k.v))]))
			}
		}
		// Running it again does nothing.
		if rep, err := v.RotateMaster(f.ctx, ""); err != nil || len(rep.Rewrapped) != 0 {
			t.Errorf("second rotation = %+v, %v", rep, err)
		}
		wantErr(t, "retire the active key", v.RetireKey(f.ctx, "", 2), ErrConflict)
		f.ok("retire key 1", v.RetireKey(f.ctx, "user:operator", 1))
		ks, err := v.Keys(f.ctx)
		if err != nil || len(ks) != 2 || !ks[0].Retired || ks[0].Versions != 0 || !ks[1].Active || ks[1].Versions != 5 {
			t.Errorf("keys after retiring 1 = %+v, %v", ks, err)
		}

		// Key 1 is gone from the keyring: the vault starts with key 2 alone
		// and every version of every secret still opens.
		only2, err := NewKeyring(map[uint32][]byte{2: k2[2]})
		if err != nil {
			t.Fatal(err)
		}
		v = f.open(only2)
		for n, w := range want {
			r, err := v.Reveal(f.ctx, alice, org, "prod", n, 1)
			if err != nil || string(r.Value) != w {
				t.Errorf("%s@1 after rotation: %v, %v", n, r, err)
			}
		}
		if r, err := v.Reveal(f.ctx, alice, org, "prod", "A", 2); err != nil || string(r.Value) != "A2-"+canary {
			t.Errorf("A@2 after rotation: %v, %v", r, err)
		}
		if r, err := v.Reveal(f.ctx, eve, "other", "default", "X", 0); err != nil || string(r.Value) != "X-"+canary {
			t.Errorf("other org's X after rotation: %v, %v", r, err)
		}
		// New secrets are wrapped by key 2.
		f.ok("new", third(v.Create(f.ctx, alice, org, "prod", "NEW", []byte("n"), Meta{})))
		if r := f.readRow(org, "prod", "NEW", 1); r.keyID != 2 {
			t.Errorf("a new secret is wrapped by key %d", r.keyID)
		}
		// The old keyring alone no longer starts: its key is retired and
		// nothing it holds wraps anything.
		_, err = f.tryOpen(f.keys)
		wantErr(t, "the old keyring", err, ErrKeyMissing)

		var actions []string
		for _, r := range f.auditRows("_system") {
			if strings.HasPrefix(r.Action, "vault.") {
				actions = append(actions, r.Action)
			}
		}
		if strings.Join(actions, ",") != "vault.rotate_master,vault.rotate_master,vault.retire_key" {
			t.Errorf("system audit entries = %v", actions)
		}
	})
}
