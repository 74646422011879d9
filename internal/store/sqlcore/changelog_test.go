package sqlcore

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// TestRunRoundTrip: a run row's payload decodes to the changes encodeRun
// was given, through the scanner for encodeRun's own shape and through
// encoding/json for anything else (keys that need escaping, other
// spacing); malformed runs are errors.
func TestRunRoundTrip(t *testing.T) {
	tests := []struct {
		name    string
		changes []store.Change
		scanned bool // scanRun reads it (else encoding/json)
	}{
		{"plain", []store.Change{
			{Kind: store.KindBindingPut, Key: "b1", Payload: json.RawMessage(`{"id":"b1","actions":["run"],"scope":{"namespace":"n","type":"chains","id":"c1"}}`)},
			{Kind: store.KindMemberPut, Key: "user:u1", Payload: json.RawMessage(`{}`)},
		}, true},
		{"payload strings with braces, quotes and escapes", []store.Change{
			{Kind: store.KindResourcePut, Key: "n/chains/c1", Payload: json.RawMessage(`{"spec":{"a":"}{][\"\\","b":[{"c":"\u003c"}]},"x":"\\"}`)},
			{Kind: store.KindResourcePut, Key: "n/chains/c2", Payload: json.RawMessage(`{"s":"]}"}`)},
		}, true},
		{"key needing escapes", []store.Change{
			{Kind: store.KindBindingPut, Key: `a"b\c<`, Payload: json.RawMessage(`{"id":"x"}`)},
			{Kind: store.KindBindingPut, Key: "é", Payload: json.RawMessage(`{"id":"y"}`)},
		}, false},
	}
	for _, tc := range tests {
		enc := []byte(encodeRun(tc.changes))
		if !json.Valid(enc) {
			t.Fatalf("%s: encodeRun wrote invalid JSON: %s", tc.name, enc)
		}
		if _, ok := scanRun(enc); ok != tc.scanned {
			t.Errorf("%s: scanRun ok = %v, want %v", tc.name, ok, tc.scanned)
		}
		got, err := decodeRun(enc)
		if err != nil {
			t.Fatalf("%s: decodeRun: %v", tc.name, err)
		}
		var want []runChange
		for _, c := range tc.changes {
			want = append(want, runChange{Kind: string(c.Kind), Key: c.Key, Payload: c.Payload})
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("%s: decodeRun(encodeRun) (-want +got):\n%s", tc.name, d)
		}
		// The same run as encoding/json writes it (other spacing):
		// the slow path, the same changes.
		indented, err := json.MarshalIndent(want, "", " ")
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := scanRun(indented); ok {
			t.Errorf("%s: scanRun read an indented run", tc.name)
		}
		slow, err := decodeRun(indented)
		if err != nil {
			t.Fatalf("%s: decodeRun(indented): %v", tc.name, err)
		}
		for i := range slow { // MarshalIndent indents the payloads too
			var a, b any
			_ = json.Unmarshal(slow[i].Payload, &a)
			_ = json.Unmarshal(want[i].Payload, &b)
			if d := cmp.Diff(b, a); d != "" || slow[i].Kind != want[i].Kind || slow[i].Key != want[i].Key {
				t.Errorf("%s: change %d through encoding/json: %+v (-want +got):\n%s", tc.name, i, slow[i], d)
			}
		}
	}
	for _, bad := range []string{``, `[`, `[{"k":"a","key":"b","p":{}}`, `[{"k":"a","key":"b","p":{"x":"}`, `{"k":"a"}`, `[{"k":"a","key":"b","p":{}}]x`} {
		if _, ok := scanRun([]byte(bad)); ok {
			t.Errorf("scanRun accepted %q", bad)
		}
		if _, err := decodeRun([]byte(bad)); err == nil {
			t.Errorf("decodeRun accepted %q", bad)
		}
	}
}
