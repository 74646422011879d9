package audit

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// checkpointTx takes the checkpoint writeCheckpoint appends; nothing else
// is called.
type checkpointTx struct {
	store.Tx
	now  time.Time
	rows []store.AuditCheckpoint
}

func (tx *checkpointTx) Now() time.Time { return tx.now }

func (tx *checkpointTx) AppendAuditCheckpoint(_ context.Context, c store.AuditCheckpoint) error {
	tx.rows = append(tx.rows, c)
	return nil
}

// TestSignedHereIsByteForByte: the checkpoint this Log signed last is
// taken without checking its signature again only when every byte is the
// one it signed; a row that differs in any field is checked, and refused
// if that field breaks the signature. An older checkpoint of the same key
// is still accepted, by its signature.
func TestSignedHereIsByteForByte(t *testing.T) {
	signer, err := GenerateSigner()
	if err != nil {
		t.Fatal(err)
	}
	l := &Log{opts: Options{Signer: signer}, refused: map[string]bool{}}
	tx := &checkpointTx{now: time.Unix(1700000000, 0)}
	var head Hash
	copy(head[:], bytes.Repeat([]byte{7}, len(head)))
	if err := l.writeCheckpoint(context.Background(), tx, "acme", 41, head); err != nil {
		t.Fatal(err)
	}
	tx.now = tx.now.Add(time.Second)
	head[0] = 8
	if err := l.writeCheckpoint(context.Background(), tx, "acme", 42, head); err != nil {
		t.Fatal(err)
	}
	older, last := tx.rows[0], tx.rows[1]
	edit := func(f func(c *store.AuditCheckpoint)) store.AuditCheckpoint {
		c := last
		c.Head = bytes.Clone(last.Head)
		c.Signature = bytes.Clone(last.Signature)
		f(&c)
		return c
	}
	tests := []struct {
		name       string
		cp         store.AuditCheckpoint
		signedHere bool
		trusted    bool
	}{
		{"the last one signed", last, true, true},
		{"an older one", older, false, true},
		{"another signature byte", edit(func(c *store.AuditCheckpoint) { c.Signature[5] ^= 1 }), false, false},
		{"another head byte", edit(func(c *store.AuditCheckpoint) { c.Head[3] ^= 1 }), false, false},
		{"another time", edit(func(c *store.AuditCheckpoint) { c.At++ }), false, false},
		{"another seq", edit(func(c *store.AuditCheckpoint) { c.Seq++ }), false, false},
		{"another org", edit(func(c *store.AuditCheckpoint) { c.Org = "acmf" }), false, false},
		{"another key id", edit(func(c *store.AuditCheckpoint) { c.KeyID = "other" }), false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := l.signedHere(tc.cp); got != tc.signedHere {
				t.Errorf("signedHere = %v, want %v", got, tc.signedHere)
			}
			_, _, err := l.fromCheckpoint(tc.cp.Org, tc.cp)
			var ve *VerifyError
			switch {
			case tc.trusted && err != nil:
				t.Errorf("fromCheckpoint: %v, want it accepted", err)
			case !tc.trusted && !errors.As(err, &ve):
				t.Errorf("fromCheckpoint: %v, want a *VerifyError", err)
			}
		})
	}
}
