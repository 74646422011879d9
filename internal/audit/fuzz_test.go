package audit_test

import (
	"bytes"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/audit"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// FuzzParse feeds arbitrary bytes to everything that parses outside
// input (keys, exported checkpoints, stored bodies, hashes): errors are
// fine, panics are not, and what parses as a key signs and verifies.
func FuzzParse(f *testing.F) {
	s := testSigner(f)
	f.Add(s.MarshalPEM())
	f.Add(s.Public().MarshalPEM())
	f.Add([]byte(`{"org":"acme","seq":1,"head":"` + string(bytes.Repeat([]byte("ab"), 32)) + `","at":1,"key_id":"k","signature":"AA=="}`))
	f.Add([]byte(`{"roles":["a"],"before":{"x":1}}`))
	f.Add([]byte("AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA="))
	f.Fuzz(func(t *testing.T, b []byte) {
		if sg, err := audit.ParseSigner(b); err == nil {
			cp := sg.SignCheckpoint("acme", 1, audit.Hash{}, 1)
			if len(cp.Signature) == 0 {
				t.Fatal("a parsed key signed nothing")
			}
		}
		_, _ = audit.ParsePublicKeys(b)
		_, _ = audit.ReadCheckpoints(bytes.NewReader(b))
		_, _ = audit.FromRecord(store.AuditRecord{Org: "acme", Seq: 1, Body: b, Hash: b})
		var h audit.Hash
		_ = h.UnmarshalText(b)
		_ = audit.EntryHash(h, store.AuditRecord{Org: string(b), Body: b})
	})
}
