package audit

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// marshalBody is what encodeBody wrote before appendBody: the reference.
func marshalBody(e *Entry) ([]byte, error) {
	b, err := json.Marshal(body{
		Roles: e.Actor.Roles, KeyID: e.Actor.KeyID, SessionID: e.Actor.SessionID, ClientAddr: e.Actor.ClientAddr,
		RequestID: e.Actor.RequestID, Message: e.Message, Before: e.Before, After: e.After, Details: e.Details,
	})
	if err == nil && len(b) > MaxBodyBytes {
		return nil, errors.New("too large")
	}
	return b, err
}

// TestBodyIsJSONMarshal: encodeBody writes json.Marshal's bytes (and its
// errors' kind) for every shape of entry, whether appendBody vouches for
// it (fast) or json.Marshal writes it.
func TestBodyIsJSONMarshal(t *testing.T) {
	share := `{"id":"b_1","principal":"user:u1","actions":["run"],"scope":{"namespace":"ns","type":"chains","id":"c1"},"org":"acme","created_by":"user:loader","created_at":"2026-12-06T14:00:00.123456789Z"}`
	for _, tc := range []struct {
		name    string
		e       Entry
		fast    bool // appendBody vouches for it
		invalid bool // ErrInvalid
	}{
		{name: "empty", e: Entry{}, fast: true},
		{name: "a share", e: Entry{Actor: Actor{Principal: "user:loader", Roles: []string{"owner"}, KeyID: "k1", RequestID: "r-1"}, After: json.RawMessage(share)}, fast: true},
		{name: "before and after", e: Entry{Before: json.RawMessage(`{"a":1}`), After: json.RawMessage(`{"a":2}`), Details: json.RawMessage(`{"changes":[{"kind":"user.put","key":"u1"},{"kind":"member.put","key":"acme/u1"}]}`)}, fast: true},
		{name: "every field", e: Entry{Actor: Actor{Roles: []string{"a", "b"}, KeyID: "k", SessionID: "s", ClientAddr: "127.0.0.1:9", RequestID: "r"}, Message: "no", Before: json.RawMessage(`[]`), After: json.RawMessage(`null`), Details: json.RawMessage(`{}`)}, fast: true},
		{name: "numbers and literals", e: Entry{Details: json.RawMessage(`{"a":[0,-1,12.5,1e9,-0.25E-3,true,false,null,""],"b":{"c":{}}}`)}, fast: true},
		{name: "escapes and UTF-8 in a payload", e: Entry{After: json.RawMessage(`{"a":"\"\\\/\b\f\n\r\t\u00e9\u2028","b":"é€😀","c":"` + "\xff" + `"}`)}, fast: true},
		{name: "larger than MaxBodyBytes", e: Entry{After: json.RawMessage(`"` + strings.Repeat("a", MaxBodyBytes) + `"`)}, fast: true, invalid: true},
		{name: "whitespace in a payload", e: Entry{After: json.RawMessage("{ \"a\" :\n[1, 2]\t}")}},
		{name: "HTML in a payload", e: Entry{After: json.RawMessage(`{"a":"<b>&</b>"}`)}},
		{name: "U+2028 and U+2029 in a payload", e: Entry{Before: json.RawMessage("{\"a\":\"x\u2028y\u2029\"}")}},
		{name: "deep nesting", e: Entry{Details: json.RawMessage(strings.Repeat("[", 100) + strings.Repeat("]", 100))}},
		{name: "a message that needs escapes", e: Entry{Message: "quote \" back \\ tab \t <html> & é \x00"}},
		{name: "HTML in a message: <", e: Entry{Message: "x < y"}},
		{name: "HTML in a key id: >", e: Entry{Actor: Actor{KeyID: "x > y"}}},
		{name: "HTML in a role: &", e: Entry{Actor: Actor{Roles: []string{"x & y"}}}},
		{name: "a role that needs escapes", e: Entry{Actor: Actor{Roles: []string{"ok", "a\"b"}}}},
		{name: "invalid UTF-8 in a message", e: Entry{Message: "bad \xff byte"}},
		{name: "not JSON", e: Entry{After: json.RawMessage(`{"a":}`)}, invalid: true},
		{name: "two values", e: Entry{After: json.RawMessage(`{}{}`)}, invalid: true},
		{name: "a bare string payload cut short", e: Entry{Details: json.RawMessage(`"abc`)}, invalid: true},
		{name: "a leading zero", e: Entry{Details: json.RawMessage(`01`)}, invalid: true},
		{name: "a control character in a string", e: Entry{Details: json.RawMessage("\"a\x01\"")}, invalid: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkBody(t, &tc.e, tc.invalid)
			if _, fast := appendBody(nil, &tc.e); fast != tc.fast {
				t.Errorf("appendBody vouched: %v, want %v", fast, tc.fast)
			}
		})
	}
}

// checkBody fails t unless encodeBody(e) is json.Marshal's answer.
func checkBody(t *testing.T, e *Entry, invalid bool) {
	t.Helper()
	want, werr := marshalBody(e)
	got, err := encodeBody(e)
	if (werr != nil) != (err != nil) || (err != nil) != invalid {
		t.Fatalf("encodeBody error %v, json.Marshal error %v, want an error: %v", err, werr, invalid)
	}
	if err != nil {
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("error %v is not ErrInvalid", err)
		}
		return
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("body differs from json.Marshal's (-want +got):\n%s", diff)
	}
}

// FuzzCompactJSON: whatever compactJSON vouches for, encoding/json takes
// as valid and copies verbatim into a body; and encodeBody writes
// json.Marshal's bytes for any payload and message.
func FuzzCompactJSON(f *testing.F) {
	for _, s := range []string{`{"a":[1,2,{"b":null}]}`, `"\u2028"`, "\"\xe2\x80\xa8\"", `-0.5e+3`, `{"a":"<"}`, `[1 ]`, `tru`, `"\ud800"`, `{"a":1,}`, `[,]`} {
		f.Add([]byte(s), "msg")
	}
	f.Fuzz(func(t *testing.T, raw []byte, msg string) {
		if compactJSON(raw) {
			if !json.Valid(raw) {
				t.Fatalf("compactJSON accepted %q, which is not JSON", raw)
			}
			var buf bytes.Buffer
			if err := json.Compact(&buf, raw); err != nil || !bytes.Equal(buf.Bytes(), raw) {
				t.Fatalf("compactJSON accepted %q, which is not compact (%q, %v)", raw, buf.Bytes(), err)
			}
			if m, err := json.Marshal(json.RawMessage(raw)); err != nil || !bytes.Equal(m, raw) {
				t.Fatalf("compactJSON accepted %q, which json.Marshal writes as %q (%v)", raw, m, err)
			}
		}
		e := Entry{Message: msg, After: raw, Actor: Actor{Roles: []string{msg}}}
		want, werr := marshalBody(&e)
		got, err := encodeBody(&e)
		if (werr != nil) != (err != nil) {
			t.Fatalf("encodeBody error %v, json.Marshal error %v", err, werr)
		}
		if err == nil && !bytes.Equal(got, want) {
			t.Fatalf("encodeBody wrote %q, json.Marshal %q", got, want)
		}
	})
}

// BenchmarkEncodeBody: a bulk share's entry body by json.Marshal (before)
// and by encodeBody (appendBody's path).
func BenchmarkEncodeBody(b *testing.B) {
	e := Entry{Actor: Actor{Principal: "user:loader", Roles: []string{"owner"}, KeyID: "k_0123456789", RequestID: "req-0123456789"},
		After: json.RawMessage(`{"id":"b_4k2n5x7q9z3m","principal":"user:u12345","actions":["run"],"scope":{"namespace":"ns-17","type":"chains","id":"chain-12345"},"org":"org-42","created_by":"user:loader","created_at":"2026-12-06T14:00:00.123456789Z"}`)}
	b.Run("json.Marshal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := marshalBody(&e); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encodeBody", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := encodeBody(&e); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestBodyContextLen checks the request context length encodeBodyContext
// reports (store.AuditRecord.ContextLen: what a run of entries stores
// once): the body's leading members roles to request_id and the ',' after
// them, when another member follows; 0 otherwise, and on the json.Marshal
// path.
func TestBodyContextLen(t *testing.T) {
	ctxActor := Actor{Principal: "user:loader", Roles: []string{"owner", "admin"}, KeyID: "k1", SessionID: "s1", ClientAddr: "127.0.0.1", RequestID: "r1"}
	tests := []struct {
		name string
		e    Entry
		ctx  string // the body's context prefix; "" for none
	}{
		{"context and after", Entry{Actor: ctxActor, After: json.RawMessage(`{"id":"b1"}`)},
			`{"roles":["owner","admin"],"key_id":"k1","session_id":"s1","client_addr":"127.0.0.1","request_id":"r1",`},
		{"context and message", Entry{Actor: Actor{RequestID: "r2"}, Message: "m"}, `{"request_id":"r2",`},
		{"one context member and details", Entry{Actor: Actor{ClientAddr: "::1"}, Details: json.RawMessage(`{"a":1}`)}, `{"client_addr":"::1",`},
		{"context only", Entry{Actor: ctxActor}, ""},
		{"no context", Entry{Message: "m", After: json.RawMessage(`{}`)}, ""},
		{"empty", Entry{}, ""},
		{"json.Marshal path", Entry{Actor: Actor{RequestID: "r<1>"}, Message: "m"}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, n, err := encodeBodyContext(&tc.e)
			if err != nil {
				t.Fatal(err)
			}
			want, err := marshalBody(&tc.e)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(b, want) {
				t.Fatalf("body %s, want %s", b, want)
			}
			if d := cmp.Diff(tc.ctx, string(b[:n])); d != "" {
				t.Errorf("context of %s (-want +got):\n%s", b, d)
			}
			if n > 0 && b[n] != '"' {
				t.Errorf("the body's rest after its context starts with %q, want '\"'", b[n])
			}
		})
	}
}
