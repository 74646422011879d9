package server

import (
	"encoding/json"
	"strings"
	"testing"
	"unsafe"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-dev/gatehouse/api"
)

// writesCases are bodies of POST /v1/orgs/{org}/writes; fast says whether
// the fast path takes the body (else it falls back to encoding/json).
var writesCases = []struct {
	name string
	body string
	fast bool
}{
	{"shares", `{"changes":[{"op":"share.create","namespace":"n0","type":"chains","id":"c11","principal":"user:u0","actions":["run"]},{"op":"share.create","namespace":"n0","type":"chains","id":"c12","principal":"user:u0","actions":["run","read"]}]}`, true},
	{"every kind", ` { "changes" : [ {"op":"namespace.create","namespace":"staging"}, {"op":"resource.create","namespace":"staging","type":"chains","id":"nightly"},
		{"op":"user.create","user":"gina","email":"gina@example.com","display_name":"Gina É","role":"viewer"}, {"op":"member.add","user":"erin","role":"viewer"},
		{"op":"binding.create","principal":"user:gina","role":"builder","scope":{"namespace":"staging","type":"chains","id":"x"},"condition":"request.x == 1"},
		{"op":"binding.delete","binding":"b1"}, {}, {"op":"share.create","actions":[]}, {"scope":{}} ] } `, true},
	{"no changes", `{}`, true},
	{"empty changes", `{"changes":[]}`, true},
	{"no body", ``, false},
	{"null", `null`, false},
	{"null changes", `{"changes":null}`, false},
	{"null change", `{"changes":[null]}`, false},
	{"null field", `{"changes":[{"op":null}]}`, false},
	{"null actions", `{"changes":[{"actions":null}]}`, false},
	{"other casing", `{"changes":[{"OP":"namespace.create","Namespace":"x"}]}`, false},
	{"other casing at the top", `{"Changes":[{"op":"namespace.create"}]}`, false},
	{"duplicate member", `{"changes":[{"op":"namespace.create","op":"resource.create"}]}`, false},
	{"duplicate changes", `{"changes":[{"op":"a"}],"changes":[{"op":"b"}]}`, false},
	{"duplicate scope member", `{"changes":[{"scope":{"namespace":"a","namespace":"b"}}]}`, false},
	{"escape", `{"changes":[{"op":"namespace.create","namespace":"a\u00e9\"b"}]}`, false},
	{"escaped key", `{"changes":[{"o\u0070":"namespace.create"}]}`, false},
	{"invalid UTF-8", "{\"changes\":[{\"op\":\"a\xffb\"}]}", false},
	{"control byte", "{\"changes\":[{\"op\":\"a\tb\"}]}", false},
	{"wrong type", `{"changes":[{},{},{},{"role":5}]}`, false},
	{"wrong type of actions", `{"changes":[{"actions":"run"}]}`, false},
	{"number in actions", `{"changes":[{"actions":[1]}]}`, false},
	{"wrong type of scope", `{"changes":[{"scope":"ns"}]}`, false},
	{"unknown field", `{"changes":[{"op":"namespace.create","colour":"red"}]}`, false},
	{"unknown scope field", `{"changes":[{"scope":{"org":"x"}}]}`, false},
	{"unknown top field", `{"changes":[],"dry_run":true}`, false},
	{"labels", `{"changes":[{"op":"resource.create","namespace":"n","type":"t","id":"i","labels":{"a":"b"}}]}`, false},
	{"attributes and spec", `{"changes":[{"op":"resource.create","attributes":{"a":1},"spec":{"steps":[]}}]}`, false},
	{"expiry", `{"changes":[{"op":"share.create","expires_in":"1h"}]}`, false},
	{"expires_at", `{"changes":[{"op":"share.create","expires_at":"2030-01-01T00:00:00Z"}]}`, false},
	{"trailing data", `{"changes":[]} {}`, false},
	{"truncated", `{"changes":[{"op":"namespace.create"`, false},
	{"trailing comma", `{"changes":[{"op":"a"},]}`, false},
	{"missing colon", `{"changes" [{"op":"a"}]}`, false},
	{"array at the top", `[{"op":"a"}]`, false},
}

// TestWritesDecoderMatchesEncodingJSON: the writes body decodes to exactly
// what encoding/json makes of it, errors included; the fast path takes
// the usual shape and leaves everything else to encoding/json.
func TestWritesDecoderMatchesEncodingJSON(t *testing.T) {
	for _, tc := range writesCases {
		t.Run(tc.name, func(t *testing.T) {
			b := []byte(tc.body)
			var fast, std api.WriteRequest
			ferr := (*writesDecoder)(&fast).decodeFast(b)
			serr := decodeStd(b, &std)
			if diff := cmp.Diff(std, fast); diff != "" {
				t.Errorf("value (-encoding/json +fast):\n%s", diff)
			}
			if diff := cmp.Diff(errText(serr), errText(ferr)); diff != "" {
				t.Errorf("error (-encoding/json +fast):\n%s", diff)
			}
			s := &scanner{b: b, intern: map[string]string{}}
			_, took := s.writes()
			if took != tc.fast {
				t.Errorf("fast path took the body: %v, want %v", took, tc.fast)
			}
			if took && stdDecode(b, &api.WriteRequest{}) != nil {
				t.Errorf("fast path took a body encoding/json refuses")
			}
		})
	}
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// TestWritesDecodeDoesNotAlias: the body's buffer is pooled and the
// changes outlive the request, so no decoded string may point into it:
// overwriting the buffer must leave the decoded request as it was.
func TestWritesDecodeDoesNotAlias(t *testing.T) {
	b := []byte(writesCases[1].body)
	var r api.WriteRequest
	if err := (*writesDecoder)(&r).decodeFast(b); err != nil {
		t.Fatal(err)
	}
	before, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	for i := range b {
		b[i] = 'x'
	}
	after, _ := json.Marshal(r)
	if diff := cmp.Diff(string(before), string(after)); diff != "" {
		t.Errorf("the decoded request changed with the buffer (-before +after):\n%s", diff)
	}
}

// FuzzWritesDecode: whatever the body, the writes decoder's value and
// error are encoding/json's, and what the fast path takes encoding/json
// takes too, to the same value.
func FuzzWritesDecode(f *testing.F) {
	for _, tc := range writesCases {
		f.Add([]byte(tc.body))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var fast, std api.WriteRequest
		ferr := (*writesDecoder)(&fast).decodeFast(b)
		serr := decodeStd(b, &std)
		if !cmp.Equal(std, fast) || errText(ferr) != errText(serr) {
			t.Fatalf("differs from encoding/json on %q:\n%s\nerrors %v / %v", b, cmp.Diff(std, fast), serr, ferr)
		}
		s := &scanner{b: b, intern: map[string]string{}}
		if changes, took := s.writes(); took {
			var oracle api.WriteRequest
			if err := stdDecode(b, &oracle); err != nil {
				t.Fatalf("fast path took %q, encoding/json refuses it: %v", b, err)
			}
			if diff := cmp.Diff(oracle, api.WriteRequest{Changes: changes}); diff != "" {
				t.Fatalf("fast path on %q (-encoding/json +fast):\n%s", b, diff)
			}
		}
	})
}

// TestWritesDecodeCopiesStrings: the decoded strings are not substrings of
// one copy of the body (as the check decoder's are): the engine keeps
// principals and ids, and one of them would keep the whole body, up to
// 8 MiB, in memory. Two strings of one change that sit in memory exactly
// as far apart as in the body are taken for such substrings.
func TestWritesDecodeCopiesStrings(t *testing.T) {
	body := writesCases[0].body
	var r api.WriteRequest
	if err := (*writesDecoder)(&r).decodeFast([]byte(body)); err != nil {
		t.Fatal(err)
	}
	c := r.Changes[0]
	inBody := strings.Index(body, `"user:u0"`) - strings.Index(body, `"c11"`)
	inMemory := int(uintptr(unsafe.Pointer(unsafe.StringData(c.Principal))) - uintptr(unsafe.Pointer(unsafe.StringData(c.ID))))
	if inBody == inMemory {
		t.Errorf("principal and id are %d bytes apart in memory as in the body: substrings of one copy of it", inMemory)
	}
}
