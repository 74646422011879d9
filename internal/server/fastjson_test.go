package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"github.com/gatehouse-dev/gatehouse/api"
	"reflect"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// stdDecode is what the generic handler does: encoding/json with unknown
// fields refused and nothing after the value.
func stdDecode(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); err == nil || !errors.Is(err, errEOF(err)) {
		return errors.New("trailing data")
	}
	return nil
}

func errEOF(err error) error {
	if err != nil && err.Error() == "EOF" {
		return err
	}
	return errors.New("not EOF")
}

var fastCases = []struct {
	name string
	body string
	ok   bool
	want CheckRequest
	// stricter: refused on purpose though encoding/json takes it.
	stricter bool
}{
	{"minimal", `{"action":"chains:run"}`, true, CheckRequest{Action: "chains:run"}, false},
	{"approval", `{"action":"chains:run","arguments" : { "b": [1, 2.50], "a":"x" } ,"approval_id":"0123456789abcdef0123456789abcdef"}`, true,
		CheckRequest{Action: "chains:run", Arguments: json.RawMessage(`{ "b": [1, 2.50], "a":"x" }`), ApprovalID: "0123456789abcdef0123456789abcdef"}, false},
	{"null arguments", `{"action":"chains:run","arguments":null}`, true, CheckRequest{Action: "chains:run", Arguments: json.RawMessage(`null`)}, false},
	{"everything", ` { "principal" : "user:bob", "action":"chains:run","resource":"chains/x","namespace":"prod",
		"context":{"hour":10,"tags":["a",{"b":null}]},"on_behalf_of":"user:alice","consistency":{"at_least":42} } `, true,
		CheckRequest{Principal: "user:bob", Action: "chains:run", Resource: "chains/x", Namespace: "prod",
			Context: map[string]any{"hour": 10.0, "tags": []any{"a", map[string]any{"b": nil}}}, OnBehalfOf: "user:alice",
			Consistency: &Consistency{AtLeast: 42}}, false},
	{"nulls", `{"principal":null,"action":"a:b","context":null,"consistency":null}`, true, CheckRequest{Action: "a:b"}, false},
	{"escapes", `{"action":"a:\u0062\n\"\\\/","resource":"x/\ud83d\ude00"}`, true, CheckRequest{Action: "a:b\n\"\\/", Resource: "x/😀"}, false},
	{"lone surrogate", `{"action":"\ud800x"}`, true, CheckRequest{Action: "\uFFFDx"}, false},
	{"empty object", `{}`, true, CheckRequest{}, false},
	{"as of", `{"action":"a:b","at_time":"2026-11-01T10:00:00Z","at_revision":7}`, true,
		CheckRequest{Action: "a:b", AtTime: time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC), AtRevision: 7}, false},
	{"as of with an approval", `{"action":"a:b","approval_id":"x","at_time":"2026-11-01T10:00:00Z","arguments":[1],"at_revision":7}`, true,
		CheckRequest{Action: "a:b", ApprovalID: "x", Arguments: json.RawMessage(`[1]`), AtTime: time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC), AtRevision: 7}, false},
	{"arguments twice", `{"arguments":1,"arguments":2}`, false, CheckRequest{}, true},
	{"approval_id not a string", `{"approval_id":7}`, false, CheckRequest{}, false},
	{"arguments truncated", `{"arguments":{"a":}`, false, CheckRequest{}, false},
	{"as of a bad time", `{"at_time":"last tuesday"}`, false, CheckRequest{}, false},
	{"as of revision 0", `{"at_revision":0}`, false, CheckRequest{}, true},
	{"as of twice", `{"at_revision":1,"at_revision":2}`, false, CheckRequest{}, true},
	{"unknown field", `{"actoin":"x"}`, false, CheckRequest{}, false},
	{"unknown nested", `{"consistency":{"at_most":1}}`, false, CheckRequest{}, false},
	{"wrong type", `{"action":1}`, false, CheckRequest{}, false},
	{"context not object", `{"context":[1]}`, false, CheckRequest{}, false},
	{"negative revision", `{"consistency":{"at_least":-1}}`, false, CheckRequest{}, false},
	{"fractional revision", `{"consistency":{"at_least":1.5}}`, false, CheckRequest{}, false},
	{"trailing", `{} x`, false, CheckRequest{}, false},
	{"two values", `{}{}`, false, CheckRequest{}, false},
	{"array", `[]`, false, CheckRequest{}, false},
	{"empty", ``, false, CheckRequest{}, false},
	{"truncated", `{"action":"a`, false, CheckRequest{}, false},
	{"bad escape", `{"action":"\x"}`, false, CheckRequest{}, false},
	{"control char", "{\"action\":\"a\x01\"}", false, CheckRequest{}, false},
	{"leading zero", `{"consistency":{"at_least":01}}`, false, CheckRequest{}, false},
	{"duplicate key", `{"action":"a","action":"b"}`, false, CheckRequest{}, true},
	{"other casing", `{"Action":"a"}`, false, CheckRequest{}, true},
	{"invalid utf-8", "{\"action\":\"\xff\"}", false, CheckRequest{}, true},
}

// TestFastDecoderMatchesEncodingJSON: the hand-written decoder accepts what
// encoding/json accepts, into the same value, except where it is stricter
// on purpose (duplicate keys, other casings, invalid UTF-8).
func TestFastDecoderMatchesEncodingJSON(t *testing.T) {
	for _, tc := range fastCases {
		t.Run(tc.name, func(t *testing.T) {
			var fast CheckRequest
			ferr := (*checkDecoder)(&fast).decodeFast([]byte(tc.body))
			if (ferr == nil) != tc.ok {
				t.Fatalf("fast: err %v, want ok=%v", ferr, tc.ok)
			}
			var p *Problem
			if ferr != nil && (!errors.As(ferr, &p) || p.Status != 400) {
				t.Errorf("fast error %v is not a 400 problem", ferr)
			}
			var std CheckRequest
			serr := stdDecode([]byte(tc.body), &std)
			if tc.stricter {
				if serr != nil {
					t.Errorf("encoding/json refuses it too (%v): not a case of strictness", serr)
				}
				return
			}
			if (serr == nil) != tc.ok {
				t.Errorf("encoding/json: err %v, want ok=%v", serr, tc.ok)
			}
			if tc.ok {
				if d := cmp.Diff(tc.want, fast); d != "" {
					t.Errorf("fast (-want +got):\n%s", d)
				}
				if d := cmp.Diff(std, fast); d != "" {
					t.Errorf("fast differs from encoding/json (-std +fast):\n%s", d)
				}
			}
		})
	}
}

// FuzzFastDecode: on any input, if the fast decoder accepts a document,
// encoding/json accepts it into the same value; if encoding/json refuses,
// so does the fast decoder. Neither panics.
func FuzzFastDecode(f *testing.F) {
	for _, tc := range fastCases {
		f.Add([]byte(tc.body))
		f.Add([]byte(`{"checks":[` + tc.body + `]}`))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var fast, std CheckRequest
		ferr := (*checkDecoder)(&fast).decodeFast(b)
		serr := stdDecode(b, &std)
		if ferr == nil && serr != nil {
			t.Fatalf("fast accepts what encoding/json refuses (%v): %q", serr, b)
		}
		if ferr == nil && !cmp.Equal(std, fast) {
			t.Fatalf("values differ on %q:\n%s", b, cmp.Diff(std, fast))
		}
		var fb, sb BatchCheckRequest
		ferr = (*batchDecoder)(&fb).decodeFast(b)
		serr = stdDecode(b, &sb)
		if ferr == nil && serr != nil {
			t.Fatalf("batch: fast accepts what encoding/json refuses (%v): %q", serr, b)
		}
		if ferr == nil && !cmp.Equal(sb, fb) {
			t.Fatalf("batch values differ on %q:\n%s", b, cmp.Diff(sb, fb))
		}
	})
}

func TestFastEncoderMatchesEncodingJSON(t *testing.T) {
	for _, v := range []fastEncoder{
		checkEncoder{Allowed: true, Revision: 7},
		checkEncoder{Allowed: true, Revision: 1, Obligations: []RuleOut{{Kind: "must", Text: `must "escalate" <ticket>`}}, Advice: []RuleOut{{Kind: "should", Text: "should report"}}},
		batchEncoder{Revision: 3, Results: []BatchResult{{Allowed: true}, {}, {Error: &api.Problem{Type: "t", Status: 400, Field: "checks[2].action"}}}},
		batchEncoder{Results: []BatchResult{}},
		batchEncoder{Revision: 5, Results: []BatchResult{{Reason: "approval_required", Result: "approval_required", Approval: &api.Approval{ID: "0123", Status: "pending", Quorum: 2}},
			{Allowed: true, Result: "", Approval: &api.Approval{ID: "4567", Status: "consumed"}}}},
		checkEncoder{Revision: 9, Reason: "no_grant"},
		batchEncoder{Revision: 4, Results: []BatchResult{{Reason: "not_member"}, {Allowed: true}, {Reason: "condition_failed", Advice: []RuleOut{{Kind: "should", Text: "x"}}}}},
	} {
		got := v.appendJSON(nil)
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(v); err != nil {
			t.Fatal(err)
		}
		var a, b any
		if err := json.Unmarshal(got, &a); err != nil {
			t.Fatalf("fast output %s: %v", got, err)
		}
		_ = json.Unmarshal(buf.Bytes(), &b)
		if d := cmp.Diff(b, a); d != "" {
			t.Errorf("fast encoding differs (-std +fast):\n%s", d)
		}
	}
}

// TestFastDecodeDoesNotAlias: request bodies are read into pooled buffers,
// so nothing decoded may point into the buffer: overwriting it after the
// decode must leave every decoded string as it was.
func TestFastDecodeDoesNotAlias(t *testing.T) {
	for _, body := range []string{
		`{"principal":"user:ann","action":"chains:run","resource":"chains/a","namespace":"prod"}`,
		`{"principal":"user:\u00e9ve","action":"chains:run","namespace":"pr\u006fd"}`, // escapes: the slow path
	} {
		b := []byte(body)
		var single CheckRequest
		if err := (*checkDecoder)(&single).decodeFast(b); err != nil {
			t.Fatalf("decode %s: %v", body, err)
		}
		var want CheckRequest
		if err := json.Unmarshal([]byte(body), &want); err != nil {
			t.Fatal(err)
		}
		batchBody := []byte(`{"checks":[` + body + `,` + body + `]}`)
		var batch BatchCheckRequest
		if err := (*batchDecoder)(&batch).decodeFast(batchBody); err != nil {
			t.Fatalf("decode batch: %v", err)
		}
		for i := range b {
			b[i] = 'X'
		}
		for i := range batchBody {
			batchBody[i] = 'X'
		}
		if diff := cmp.Diff(want, single); diff != "" {
			t.Errorf("single check after the buffer was overwritten (-want +got):\n%s", diff)
		}
		for i, it := range batch.Checks {
			got := CheckRequest{Principal: it.Principal, Action: it.Action, Resource: it.Resource, Namespace: it.Namespace}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("batch item %d after the buffer was overwritten (-want +got):\n%s", i, diff)
			}
		}
	}
}

// TestBatchDecoderTakesApprovalFields: batch items take arguments and
// approval_id as /check does, each item its own, into the values
// encoding/json gives.
func TestBatchDecoderTakesApprovalFields(t *testing.T) {
	body := `{"checks":[{"action":"chains:run","arguments":{"t":1},"approval_id":"0123456789abcdef0123456789abcdef"},` +
		`{"action":"chains:run","arguments":null},{"action":"chains:read"}]}`
	var fast, std BatchCheckRequest
	if err := (*batchDecoder)(&fast).decodeFast([]byte(body)); err != nil {
		t.Fatal(err)
	}
	if err := stdDecode([]byte(body), &std); err != nil {
		t.Fatal(err)
	}
	want := []BatchItem{
		{Action: "chains:run", Arguments: json.RawMessage(`{"t":1}`), ApprovalID: "0123456789abcdef0123456789abcdef"},
		{Action: "chains:run", Arguments: json.RawMessage(`null`)},
		{Action: "chains:read"},
	}
	if diff := cmp.Diff(want, fast.Checks); diff != "" {
		t.Errorf("fast (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(std.Checks, fast.Checks); diff != "" {
		t.Errorf("fast vs encoding/json (-std +fast):\n%s", diff)
	}
	for _, bad := range []string{`{"checks":[{"arguments":1,"arguments":2}]}`, `{"checks":[{"approval_id":[]}]}`} {
		if err := (*batchDecoder)(&fast).decodeFast([]byte(bad)); err == nil {
			t.Errorf("%s: accepted", bad)
		}
	}
}

// TestAppendWarningsAsEncodingJSON: a /check answer's warnings are the
// bytes encoding/json (HTML not escaped) writes for them, whatever the
// text holds.
func TestAppendWarningsAsEncodingJSON(t *testing.T) {
	tests := []struct {
		name string
		ws   []api.CheckWarning
	}{
		{"plain", []api.CheckWarning{{Code: "unknown_action", Message: "the org's policy names no action rnu for chains: did you mean chains:run?"}}},
		{"empty", []api.CheckWarning{{}}},
		{"two", []api.CheckWarning{{Code: "a", Message: "x"}, {Code: "b", Message: "y"}}},
		{"quote and backslash", []api.CheckWarning{{Code: `c"`, Message: `say "hi" \ bye`}}},
		{"control bytes", []api.CheckWarning{{Code: "c", Message: "tab\tnew\nline\x00\x1f\x7f"}}},
		{"html kept", []api.CheckWarning{{Code: "c", Message: "<a> & <b>"}}},
		{"non-ASCII", []api.CheckWarning{{Code: "c", Message: "déjà vu \u2028 \u2029 ☃"}}},
		{"invalid UTF-8", []api.CheckWarning{{Code: "c", Message: "bad \xff\xfe end"}}},
	}
	// appendWarnings writes a warning's code and message only: a field
	// added to api.CheckWarning must be added there too.
	if n := reflect.TypeFor[api.CheckWarning]().NumField(); n != 2 {
		t.Fatalf("api.CheckWarning has %d fields; appendWarnings writes 2 (code, message)", n)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want, err := marshal(tt.ws)
			if err != nil {
				t.Fatal(err)
			}
			got := appendWarnings(nil, tt.ws)
			if diff := cmp.Diff(string(want), string(got)); diff != "" {
				t.Errorf("appendWarnings (-encoding/json +got):\n%s", diff)
			}
			r := CheckResponse{Allowed: false, Revision: 7, Reason: "no_grant", Warnings: tt.ws}
			full, err := marshal(r)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(string(full)+"\n", string(appendCheckResponse(nil, r))); diff != "" {
				t.Errorf("appendCheckResponse (-encoding/json +got):\n%s", diff)
			}
			item := BatchResult{Reason: "no_grant", Warnings: tt.ws}
			raw, err := marshal(item)
			if err != nil {
				t.Fatal(err)
			}
			wantBatch := `{"results":[{"allowed":true},` + string(raw) + `],"revision":7}` + "\n"
			gotBatch := batchEncoder{Revision: 7, Results: []BatchResult{{Allowed: true}, item}}.appendJSON(nil)
			if diff := cmp.Diff(wantBatch, string(gotBatch)); diff != "" {
				t.Errorf("a batch item with warnings (-encoding/json +got):\n%s", diff)
			}
		})
	}
}
