package directory

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestAuditObjectsEncodeAsTheirMaps: the structs a bulk write's entries use
// for a provisioned user's "after" and a multi-change entry's details
// encode as the map[string]any each replaced (audit bodies, and so their
// hashes, keep their bytes).
func TestAuditObjectsEncodeAsTheirMaps(t *testing.T) {
	for _, tc := range []struct {
		name string
		v    any
		want map[string]any
	}{
		{"provisioned user",
			provisioned{ID: "u1", EmailSHA256: "ab12", DisplayName: "Ann <a&b>", Org: "acme", Role: "viewer"},
			map[string]any{"id": "u1", "email_sha256": "ab12", "display_name": "Ann <a&b>", "org": "acme", "role": "viewer"}},
		{"provisioned user without a display name",
			provisioned{ID: "u\u2028", EmailSHA256: "", Org: "acme", Role: "r"},
			map[string]any{"id": "u\u2028", "email_sha256": "", "display_name": "", "org": "acme", "role": "r"}},
		{"changes",
			changesDetail{Changes: []changeRef{{Kind: "user.put", Key: "u1"}, {Kind: "member.put", Key: "acme/\"u1\""}}},
			map[string]any{"changes": []changeRef{{Kind: "user.put", Key: "u1"}, {Kind: "member.put", Key: "acme/\"u1\""}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want, err := json.Marshal(tc.want)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(string(want), string(auditObject(tc.v))); diff != "" {
				t.Errorf("encoding differs from the map's (-want +got):\n%s", diff)
			}
		})
	}
}
