package cli

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/audit"
	"github.com/gatehouse-dev/gatehouse/internal/store"
	"github.com/gatehouse-dev/gatehouse/internal/store/sqlite"
)

// auditData makes a data directory whose SQLite store holds n entries of
// org "acme" (checkpoints every 10) signed with <data>/audit-key.pem.
func auditData(t *testing.T, n int) string {
	t.Helper()
	data := t.TempDir()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(data, "gatehouse.db"), sqlite.Options{Synchronous: "NORMAL"})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	signer, err := audit.WriteNewKey(auditKeyFile(data))
	if err != nil {
		t.Fatal(err)
	}
	l, err := audit.New(st, audit.Options{Signer: signer, CheckpointEvery: 10})
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= n; i++ {
		e := audit.Entry{Org: "acme", Actor: audit.Actor{Principal: fmt.Sprintf("user:u%d", i%3)}, Action: "bindings.create",
			Target: fmt.Sprintf("binding/b%d", i), Result: audit.Success}
		if i%4 == 0 {
			e.Result, e.Message, e.Action = audit.Denied, "forbidden", "bindings.delete"
		}
		if _, err := l.RecordAlone(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	return data
}

func TestAuditTailQueryVerify(t *testing.T) {
	data := auditData(t, 25)
	r := run(t, "", "audit", "tail", "--data", data, "--org", "acme", "--limit", "3")
	if r.code != 0 || strings.Count(r.stdout, "\n") != 3 || !strings.HasPrefix(r.stdout, "23 ") || !strings.Contains(r.stdout, "25 ") {
		t.Errorf("tail -n 3: code %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = run(t, "", "audit", "query", "--data", data, "--org", "acme", "--result", "denied", "-o", "json")
	var seqs []uint64
	var page struct{ Items []audit.Entry }
	if err := json.Unmarshal([]byte(r.stdout), &page); err != nil {
		t.Fatalf("query -o json: %v: %q", err, r.stdout)
	}
	for _, e := range page.Items {
		if e.Result != audit.Denied {
			t.Errorf("query --result denied returned %+v", e)
		}
		seqs = append(seqs, e.Seq)
	}
	if r.code != 0 || fmt.Sprint(seqs) != "[4 8 12 16 20 24]" {
		t.Errorf("query --result denied: code %d, seqs %v, stderr %s", r.code, seqs, r.stderr)
	}
	if r := run(t, "", "audit", "query", "--data", data, "--org", "acme", "--since", "yesterday"); r.code != ExitBadInput {
		t.Errorf("bad --since: code %d", r.code)
	}

	r = run(t, "", "audit", "verify", "--data", data)
	if r.code != 0 || !strings.Contains(r.stdout, "ok    acme: entries 1..25 (25)") {
		t.Errorf("verify: code %d\n%s%s", r.code, r.stdout, r.stderr)
	}

	// Export the checkpoints, then truncate the log and its checkpoints:
	// only the exported copy can tell.
	cps := filepath.Join(t.TempDir(), "checkpoints.jsonl")
	out := filepath.Join(t.TempDir(), "audit.jsonl")
	if r := run(t, "", "audit", "export", "--data", data, "--org", "acme", "--to", out, "--checkpoints", cps); r.code != 0 {
		t.Fatalf("export: %d %s", r.code, r.stderr)
	}
	db, err := sql.Open("sqlite", filepath.Join(data, "gatehouse.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, q := range []string{`DROP TRIGGER audit_entries_no_delete`, `DROP TRIGGER audit_checkpoints_no_delete`,
		`DELETE FROM audit_entries WHERE seq > 15`, `DELETE FROM audit_checkpoints WHERE seq > 15`} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	// The recorded head tells without them (issue 11: this passed before).
	if r := run(t, "", "audit", "verify", "--data", data); r.code != ExitDeny || !strings.Contains(r.stdout, "FAIL  acme: entry 16: truncated: the log ends at 15, but its recorded head is entry 25") {
		t.Errorf("verify of a truncated log without the exported checkpoints: code %d\n%s", r.code, r.stdout)
	}
	r = run(t, "", "audit", "verify", "--data", data, "--checkpoints", cps)
	if r.code != ExitDeny || !strings.Contains(r.stdout, "FAIL  acme: entry 16: truncated after checkpoint") {
		t.Errorf("verify --checkpoints after truncation: code %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	// A changed entry is named.
	if _, err := db.Exec(`DROP TRIGGER audit_entries_no_update`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`UPDATE audit_entries SET actor = 'user:mallory' WHERE seq = 7`); err != nil {
		t.Fatal(err)
	}
	r = run(t, "", "audit", "verify", "--data", data, "--org", "acme")
	if r.code != ExitDeny || !strings.Contains(r.stdout, "FAIL  acme: entry 7: hash mismatch") {
		t.Errorf("verify after a change: code %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	// With a key that did not sign: bad signature.
	other := filepath.Join(t.TempDir(), "other.pem")
	if r := run(t, "", "audit", "keygen", "--out", other); r.code != 0 || !strings.Contains(r.stdout, "BEGIN PUBLIC KEY") {
		t.Fatalf("keygen: %d %s %s", r.code, r.stdout, r.stderr)
	}
	r = run(t, "", "audit", "verify", "--data", data, "--org", "acme", "--key", other)
	if r.code != ExitDeny || !strings.Contains(r.stdout, "entry 1: bad signature") {
		t.Errorf("verify with another key: code %d\n%s", r.code, r.stdout)
	}
}

func TestAuditExportResumesAndPrunes(t *testing.T) {
	data := auditData(t, 25)
	out := filepath.Join(t.TempDir(), "audit.jsonl")
	for i := 0; i < 2; i++ { // the second run finds nothing new
		if r := run(t, "", "audit", "export", "--data", data, "--org", "acme", "--to", out, "--name", "archive", "--batch", "7"); r.code != 0 {
			t.Fatalf("export: %d %s", r.code, r.stderr)
		}
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(b), "\n"); n != 25 {
		t.Errorf("exported %d lines, want 25 (each entry once)", n)
	}
	if r := run(t, "", "audit", "export", "--data", data, "--org", "acme", "--format", "cef", "--to", "-"); r.code != 0 || !strings.HasPrefix(r.stdout, "CEF:0|Gatehouse|") {
		t.Errorf("cef export: %d %q", r.code, r.stdout)
	}
	// Prune needs an exporter that delivered through the checkpoint.
	if r := run(t, "", "audit", "prune", "--data", data, "--org", "acme", "--through", "21", "--exporter", "nobody"); r.code != ExitBadInput {
		t.Errorf("prune before export: code %d %s", r.code, r.stderr)
	}
	if r := run(t, "", "audit", "prune", "--data", data, "--org", "acme", "--through", "15", "--exporter", "archive"); r.code != ExitBadInput {
		t.Errorf("prune at a non-checkpoint: code %d %s", r.code, r.stderr)
	}
	if r := run(t, "", "audit", "prune", "--data", data, "--org", "acme", "--through", "21", "--exporter", "archive"); r.code != 0 || !strings.Contains(r.stdout, "pruned 21 entries") {
		t.Errorf("prune: code %d %s %s", r.code, r.stdout, r.stderr)
	}
	r := run(t, "", "audit", "verify", "--data", data, "--org", "acme")
	if r.code != 0 || !strings.Contains(r.stdout, "entries 22..26") {
		t.Errorf("verify after prune: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

// TestAuditVerifyKnowsEveryOrg: deleting an org's whole log (entries,
// checkpoints and recorded head) made `verify --org` say "ok, 0 entries"
// (issue 11). Verify lists the orgs that exist and names the one without a
// log; with only a public key it says that MACs were not checked.
func TestAuditVerifyKnowsEveryOrg(t *testing.T) {
	data := auditData(t, 5)
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(data, "gatehouse.db"), sqlite.Options{Synchronous: "NORMAL"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Write(ctx, func(tx store.Tx) error {
		for _, id := range []string{"acme", "beta"} {
			if _, err := tx.CreateOrg(ctx, store.Org{ID: id, Name: id}); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	st.Close()
	for _, args := range [][]string{{}, {"--org", "beta"}} {
		r := run(t, "", append([]string{"audit", "verify", "--data", data}, args...)...)
		if r.code != ExitDeny || !strings.Contains(r.stdout, `FAIL  beta: entry 1: log missing: org "beta" exists, but its log is gone`) {
			t.Errorf("verify %v with beta's log deleted: code %d\n%s%s", args, r.code, r.stdout, r.stderr)
		}
	}
	if r := run(t, "", "audit", "verify", "--data", data, "--org", "acme"); r.code != 0 || strings.Contains(r.stdout, "not checked") ||
		!strings.Contains(r.stdout, "ok    acme: entries 1..5 (5)") || !strings.Contains(r.stdout, "ends at its recorded head (MACs checked)") {
		t.Errorf("verify --org acme with the private key: code %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	pub := filepath.Join(t.TempDir(), "pub.pem")
	signer, err := audit.LoadSigner(auditKeyFile(data))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pub, signer.Public().MarshalPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	if r := run(t, "", "audit", "verify", "--data", data, "--org", "acme", "--key", pub); r.code != 0 || !strings.Contains(r.stdout, "entry MACs were not checked") {
		t.Errorf("verify --org acme with the public key: code %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

func TestAuditAdopt(t *testing.T) {
	data := auditData(t, 25) // checkpoints at 1, 11, 21: 22..25 unanchored
	r := run(t, "", "audit", "adopt", "--data", data)
	if r.code != 0 || !strings.Contains(r.stdout, "ok    acme: checkpointed at 25 (0 entries without a MAC adopted)") {
		t.Errorf("adopt: code %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = run(t, "", "audit", "adopt", "--data", data, "--org", "acme")
	if r.code != 0 || !strings.Contains(r.stdout, "ok    acme: already checkpointed at its head") {
		t.Errorf("adopt again: code %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

// TestInitRecordsAuthenticatedEntries: init writes the first user's and
// org's entries; without the audit key they had no MACs, and the server's
// checkpointer would refuse to sign over them for ever. init records
// through the signing log (creating the key on SQLite, as serve does).
func TestInitRecordsAuthenticatedEntries(t *testing.T) {
	data := filepath.Join(t.TempDir(), "d")
	if r := run(t, "", "init", "--data", data, "--user", "root", "--org", "acme"); r.code != 0 {
		t.Fatalf("init: %d %q", r.code, r.stderr)
	}
	r := run(t, "", "audit", "verify", "--data", data)
	if r.code != 0 || !strings.Contains(r.stdout, "ok    acme:") || !strings.Contains(r.stdout, "ok    _system:") ||
		strings.Contains(r.stdout, "not checked") {
		t.Errorf("verify after init: code %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(data, "gatehouse.db"), sqlite.Options{Synchronous: "NORMAL"})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	signer, err := audit.LoadSigner(auditKeyFile(data))
	if err != nil {
		t.Fatal(err)
	}
	l, err := audit.New(st, audit.Options{Signer: signer})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.RecordAlone(ctx, audit.Entry{Org: "acme", Actor: audit.Actor{Principal: "user:root"}, Action: "x.y", Target: "x/1", Result: audit.Success}); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Checkpoint(ctx, "acme", true); err != nil {
		t.Errorf("the server's checkpointer over init's entries: %v", err)
	}
}
