package cli

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// decodeSlow is how a line is decoded without decodeFast.
func decodeSlow(line []byte) (importLine, error) {
	var l importLine
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	err := dec.Decode(&l)
	return l, err
}

// TestDecodeFast: a line decodeFast takes decodes to what encoding/json
// gives it, and every line it should leave to encoding/json (escapes,
// other spellings of a key, a key twice, non-strings, non-ASCII,
// unknown or unusual fields, trailing text) it leaves.
func TestDecodeFast(t *testing.T) {
	tests := []struct {
		line string
		fast bool
	}{
		{`{"email":"u0@peers.test","op":"user.create","org":"o0","role":"member","user":"u0"}`, true},
		{`{"actions":["run","read"],"id":"r1","namespace":"ns1","op":"share.create","org":"o1","principal":"user:u5","type":"chains"}`, true},
		{`{"op":"binding.create","org":"o1","principal":"user:u2","role":"builder","scope":{"namespace":"ns1","type":"chains","id":"c"}}`, true},
		{` { "op" : "binding.create" , "scope" : { } , "actions" : [ ] , "expires_in" : "1h" } `[1:], true},
		{`{"op":"x","display_name":"Gina G","condition":"c","binding":"b1"}`, true},
		{`{"op":"x","actions":[]}`, true},
		{`{"op":""}`, true},
		{`{}`, false},
		{`{"op":"user.create","user":"g\u0069na"}`, false},
		{`{"op":"user.create","user":"gïna"}`, false},
		{`{"OP":"user.create"}`, false},
		{`{"op":"a","op":"b"}`, false},
		{`{"op":"x","scope":{"id":"a","id":"b"}}`, false},
		{`{"op":"x","scope":{"Id":"a"}}`, false},
		{`{"op":"x","scope":null}`, false},
		{`{"op":"x","actions":null}`, false},
		{`{"op":"x","actions":["a",]}`, false},
		{`{"op":"x","actions":["a" "b"]}`, false},
		{`{"op":null}`, false},
		{`{"op":5}`, false},
		{`{"op":"x",}`, false},
		{`{"op":"x"}}`, false},
		{`{"op":"x"}{}`, false},
		{`{"op":"x" "id":"y"}`, false},
		{`{"op":"x","labels":{"a":"b"}}`, false},
		{`{"op":"x","spec":{}}`, false},
		{`{"op":"x","expires_at":"2030-01-01T00:00:00Z"}`, false},
		{`{"op":"x","nmespace":"y"}`, false},
		{`{"op":"x"`, false},
		{`{"op":"x\`, false},
		{`["op"]`, false},
	}
	for _, tc := range tests {
		t.Run(tc.line, func(t *testing.T) {
			var got importLine
			fast := decodeFast([]byte(tc.line), &got)
			if fast != tc.fast {
				t.Fatalf("decodeFast took the line: %v, want %v", fast, tc.fast)
			}
			if !fast {
				return
			}
			want, err := decodeSlow([]byte(tc.line))
			if err != nil {
				t.Fatalf("decodeFast took a line encoding/json refuses: %v", err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("decodeFast differs from encoding/json (-json +fast):\n%s", diff)
			}
		})
	}
}

// FuzzDecodeFast: whatever line decodeFast takes, encoding/json decodes
// to the same value.
func FuzzDecodeFast(f *testing.F) {
	for _, s := range []string{
		`{"email":"u0@peers.test","op":"user.create","org":"o0","role":"member","user":"u0"}`,
		`{"op":"binding.create","scope":{"namespace":"ns1","type":"chains","id":"c"},"actions":["a","b"]}`,
		`{"op":"x","actions":[]}`,
		`{"op":"a","op":"b"}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		var got importLine
		if !decodeFast([]byte(line), &got) {
			return
		}
		want, err := decodeSlow([]byte(line))
		if err != nil {
			t.Fatalf("decodeFast took %q, which encoding/json refuses: %v", line, err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%q: decodeFast differs from encoding/json (-json +fast):\n%s", line, diff)
		}
	})
}
