package cli

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	yaml "go.yaml.in/yaml/v3"

	"github.com/gatehouse-dev/gatehouse/api"
)

// TestYAMLIsTheJSONDocument: -o yaml prints the same document as -o json
// (field names, omitted fields, numbers as numbers, not 1e+06).
func TestYAMLIsTheJSONDocument(t *testing.T) {
	at := time.Date(2026, 12, 5, 1, 2, 3, 0, time.UTC)
	tests := []any{
		api.Written[any]{Revision: 1_000_000, Item: api.Namespace{Org: "acme", Name: "prod", CreatedAt: at}},
		listOf([]api.Member{{Org: "acme", UserID: "bob", CreatedAt: at}}, "c1"),
		listOf[api.Member](nil, ""),
		map[string]any{"big": uint64(18446744073709551615), "neg": -3, "f": 1.5, "s": "1e6", "yes": "true", "nil": nil},
	}
	for _, v := range tests {
		var j, y bytes.Buffer
		if err := writeJSON(&j, v); err != nil {
			t.Fatal(err)
		}
		if err := writeYAML(&y, v); err != nil {
			t.Fatal(err)
		}
		var fromJSON, fromYAML any
		if err := json.Unmarshal(j.Bytes(), &fromJSON); err != nil {
			t.Fatal(err)
		}
		if err := yaml.Unmarshal(y.Bytes(), &fromYAML); err != nil {
			t.Fatalf("%v\n%s", err, y.String())
		}
		// YAML decodes integers as int and uint64; JSON as float64.
		norm, _ := json.Marshal(fromYAML)
		var fromYAMLviaJSON any
		_ = json.Unmarshal(norm, &fromYAMLviaJSON)
		if diff := cmp.Diff(fromJSON, fromYAMLviaJSON); diff != "" {
			t.Errorf("yaml differs from json (-json +yaml):\n%s\n%s", diff, y.String())
		}
		if bytes.Contains(y.Bytes(), []byte("e+")) {
			t.Errorf("yaml prints a number in exponent form:\n%s", y.String())
		}
	}
}
