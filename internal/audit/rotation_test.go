package audit_test

import (
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/audit"
)

// TestKeyRotation follows docs/audit.md's rotation: the old key checkpoints
// every org, the deployment restarts with a new key and the old public key
// trusted. Entries the old key MAC'd are vouched for by its checkpoints
// (the new MAC key cannot check them); entries after the rotation carry
// the new key's MACs and are checked; an idle org's head, MAC'd by the old
// key, is re-recorded by adopt. Before, a keyed verify called every old
// entry forged.
func TestKeyRotation(t *testing.T) {
	d := openSQLiteWriter(t)
	ctx := ctxT(t)
	oldKey := testSigner(t)
	d.populate(t) // acme 1..25, beta 1..5, with the old key
	old := writerLog(t, d.st, 10)
	for _, org := range []string{"acme", "beta"} {
		if _, err := old.Checkpoint(ctx, org, true); err != nil {
			t.Fatal(err)
		}
	}
	newKey, err := audit.GenerateSigner()
	if err != nil {
		t.Fatal(err)
	}
	l := newTestLog(t, d.st, audit.Options{Signer: newKey, TrustedKeys: []audit.PublicKey{oldKey.Public()},
		CheckpointEvery: 3, CheckpointInterval: time.Hour})
	writeEntries(t, d.st, l, "acme", 26, 30) // the new key checkpoints at 28 or so
	if _, err := l.Checkpoint(ctx, "acme", true); err != nil {
		t.Fatalf("the new key's checkpointer refused entries after the rotation: %v", err)
	}
	verify := func(org string) *audit.VerifyError {
		t.Helper()
		_, err := audit.Verify(ctx, d.st, org, audit.VerifyOptions{Keys: l.VerifyKeys(), MACKeys: []audit.MACKey{newKey.MACKey()}})
		return asVerifyError(t, err)
	}
	if ve := verify("acme"); ve != nil {
		t.Errorf("keyed verify of acme after the rotation = %v", ve)
	}
	if ve := verify("beta"); ve == nil || ve.Problem != audit.ProblemHead {
		t.Errorf("keyed verify of idle beta before adopt = %v, want its old head reported", ve)
	}
	if seq, n, err := l.Adopt(ctx, "beta"); err != nil || seq != 0 || n != 0 {
		t.Errorf("adopt of beta = %d, %d, %v; want its head re-recorded, nothing signed", seq, n, err)
	}
	if ve := verify("beta"); ve != nil {
		t.Errorf("keyed verify of beta after adopt = %v", ve)
	}

	// After the rotation the new key's MACs are checked: an entry the new
	// key wrote, with its MAC replaced, is forged even where a checkpoint
	// covers it; and the old key's checkpoints vouch only for what they
	// cover.
	d.exec(t, `UPDATE audit_entries SET mac = zeroblob(32) WHERE org = 'acme' AND seq = 27`)
	if ve := verify("acme"); ve == nil || ve.Seq != 27 || ve.Problem != audit.ProblemForged {
		t.Errorf("keyed verify with entry 27's MAC replaced = %v, want it forged", ve)
	}
}
