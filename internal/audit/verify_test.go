package audit_test

import (
	"errors"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/audit"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

func TestVerifyFixture(t *testing.T) {
	path := fixturePath(t)
	buildFixture(t, path, "acme", 1000, 100)
	s := openStore(t, path)
	ctx := ctxT(t)
	keys := []audit.PublicKey{testSigner(t).Public()}
	rep, err := audit.Verify(ctx, s, "acme", audit.VerifyOptions{Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	if rep.First != 1 || rep.Last != 1000 || rep.Entries != 1000 || rep.Anchored != 1000 || rep.Checkpoints != 11 {
		t.Errorf("report = %+v, want entries 1..1000, anchored at 1000, 11 checkpoints (1, 101, ..., 901, 1000)", rep)
	}
	// The same log with only an untrusted key: every checkpoint is bad.
	_, err = audit.Verify(ctx, s, "acme", audit.VerifyOptions{Keys: []audit.PublicKey{otherSigner(t).Public()}})
	var ve *audit.VerifyError
	if !errors.As(err, &ve) || ve.Problem != audit.ProblemSignature || ve.Seq != 1 || !errors.Is(err, audit.ErrTampered) {
		t.Errorf("verify with an untrusted key = %v, want a bad signature at 1", err)
	}
	// No key at all is not "tampered": it is a missing input.
	if _, err := audit.Verify(ctx, s, "acme", audit.VerifyOptions{}); !errors.Is(err, audit.ErrNoKey) {
		t.Errorf("verify without keys = %v, want ErrNoKey", err)
	}
	// An org without a log verifies as empty.
	if rep, err := audit.Verify(ctx, s, "nobody", audit.VerifyOptions{Keys: keys}); err != nil || rep.Entries != 0 {
		t.Errorf("verify of an empty org = %+v, %v", rep, err)
	}
	// Incremental verification from every entry agrees.
	for _, from := range []uint64{2, 100, 101, 102, 500, 901, 1000, 1001} {
		if _, err := audit.Verify(ctx, s, "acme", audit.VerifyOptions{Keys: keys, From: from}); err != nil {
			t.Errorf("verify from %d: %v", from, err)
		}
	}
	var _ store.AuditReader = s
}
