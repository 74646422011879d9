package directory_test

import (
	"database/sql"
	"errors"
	"path/filepath"
	"testing"

	_ "modernc.org/sqlite"

	"github.com/gatehouse-dev/gatehouse/internal/audit"
	"github.com/gatehouse-dev/gatehouse/internal/directory"
)

// TestVerifyAuditChecksMACsAndKnowsTheOrgExists: the server's verification
// (POST /audit/verify) checks every entry's MAC with its key, and an org
// whose whole log was deleted with SQL (entries, checkpoints, recorded
// head) is "log missing", not "ok, 0 entries" (issue 11).
func TestVerifyAuditChecksMACsAndKnowsTheOrgExists(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "gatehouse.db")
	st := openSQLiteAt(t, path)
	signer, err := audit.GenerateSigner()
	if err != nil {
		t.Fatal(err)
	}
	l, err := audit.New(st, audit.Options{Signer: signer})
	if err != nil {
		t.Fatal(err)
	}
	d := openDir(t, st, directory.Options{Audit: l})
	mustUsers(t, d, "alice")
	ok(t, "create acme", third(d.CreateOrg(ctxT(t), alice, directory.OrgSpec{ID: "acme"})))
	rep, err := d.VerifyAudit(ctxT(t), alice, "acme", nil)
	if err != nil || !rep.MACsChecked || rep.Entries == 0 || rep.RecordedHead != rep.Last {
		t.Fatalf("verify = %+v, %v; want MACs checked and the log at its recorded head", rep, err)
	}

	raw, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	for _, q := range []string{
		`DROP TRIGGER audit_entries_no_delete`, `DROP TRIGGER audit_checkpoints_no_delete`, `DROP TRIGGER audit_heads_no_delete`,
		`DELETE FROM audit_entries WHERE org = 'acme'`, `DELETE FROM audit_checkpoints WHERE org = 'acme'`, `DELETE FROM audit_heads WHERE org = 'acme'`,
	} {
		if _, err := raw.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	_, err = d.VerifyAudit(ctxT(t), alice, "acme", nil)
	var ve *audit.VerifyError
	if !errors.As(err, &ve) || ve.Org != "acme" || ve.Problem != audit.ProblemMissing {
		t.Errorf("verify of a deleted log = %v, want acme's log missing", err)
	}
}

// TestVerifyAuditTrustsTheKeysBeforeARotation: after a rotation the
// directory's verify accepts the earlier key's checkpoints (the log's
// TrustedKeys) and the entries they vouch for; before, it passed only the
// current key, and every checkpoint was a bad signature.
func TestVerifyAuditTrustsTheKeysBeforeARotation(t *testing.T) {
	t.Parallel()
	st := openSQLiteAt(t, filepath.Join(t.TempDir(), "gatehouse.db"))
	oldKey, err1 := audit.GenerateSigner()
	newKey, err2 := audit.GenerateSigner()
	if err := errors.Join(err1, err2); err != nil {
		t.Fatal(err)
	}
	before, err := audit.New(st, audit.Options{Signer: oldKey})
	if err != nil {
		t.Fatal(err)
	}
	d := openDir(t, st, directory.Options{Audit: before})
	mustUsers(t, d, "alice")
	ok(t, "create acme", third(d.CreateOrg(ctxT(t), alice, directory.OrgSpec{ID: "acme"})))
	if _, err := before.Checkpoint(ctxT(t), "acme", true); err != nil {
		t.Fatal(err)
	}
	after, err := audit.New(st, audit.Options{Signer: newKey, TrustedKeys: []audit.PublicKey{oldKey.Public()}})
	if err != nil {
		t.Fatal(err)
	}
	d = openDir(t, st, directory.Options{Audit: after})
	ok(t, "create a namespace after the rotation", third(d.CreateNamespace(ctxT(t), alice, "acme", "dev")))
	if rep, err := d.VerifyAudit(ctxT(t), alice, "acme", nil); err != nil || rep.Checkpoints == 0 {
		t.Errorf("verify after a rotation = %+v, %v; want the old key's checkpoint trusted", rep, err)
	}
}
