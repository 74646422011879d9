package secretref

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-dev/gatehouse/internal/audit"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

func TestWithoutMember(t *testing.T) {
	tests := []struct{ in, want string }{
		{`{"a":1,"secrets":["X"],"b":{"secrets":2}}`, `{"a":1,"b":{"secrets":2}}`},
		{`{"secrets":["X"]}`, `{}`},
		{` { "b" : 1 , "secrets" : [] } `, `{"b":1}`},
		{`{"a":1}`, `{"a":1}`},
		{`[{"secrets":1}]`, `[{"secrets":1}]`},
		{`{"secrets":1`, `{"secrets":1`},
		{`{"secrets":1} x`, `{"secrets":1} x`},
		{`null`, `null`},
		{``, ``},
	}
	for _, tc := range tests {
		if got := string(withoutMember(json.RawMessage(tc.in), "secrets")); got != tc.want {
			t.Errorf("withoutMember(%s) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

func TestNames(t *testing.T) {
	tests := []struct {
		spec      string
		want      []string
		wantField string // of the *InvalidError, "" for none
	}{
		{`{"secrets":["B","A","B"]}`, []string{"A", "B"}, ""},
		{`{"secrets":null}`, nil, ""},
		{`{"other":["A"]}`, nil, ""},
		{`[1,2]`, nil, ""},
		{`"x"`, nil, ""},
		{``, nil, ""},
		{`{"secrets":"A"}`, nil, Member},
		{`{"secrets":[1]}`, nil, Member},
		{`{"secrets":["a"]}`, nil, "name"},
		{`{"secrets":["1A"]}`, nil, "name"},
	}
	for _, tc := range tests {
		got, err := Names(json.RawMessage(tc.spec))
		var ie *InvalidError
		field := ""
		if errors.As(err, &ie) {
			field = ie.Field
		}
		if (err != nil) != (tc.wantField != "") || field != tc.wantField || err != nil && !errors.Is(err, ErrInvalid) {
			t.Errorf("Names(%s): error %v, want one of field %q", tc.spec, err, tc.wantField)
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("Names(%s) (-want +got):\n%s", tc.spec, diff)
		}
	}
}

func TestRedactDiff(t *testing.T) {
	in := []store.DiffEntry{
		{Path: "/spec/secrets", Old: json.RawMessage(`["A"]`), New: json.RawMessage(`["B"]`)},
		{Path: "/spec/secrets/0", Old: json.RawMessage(`"A"`)},
		{Path: "/spec/steps", New: json.RawMessage(`["x"]`)},
		{Path: "/spec/credential/secret", Old: json.RawMessage(`"A"`), New: json.RawMessage(`"B"`)},
		{Path: "/spec/credential", New: json.RawMessage(`{"secret":"B"}`)},
		{Path: "/spec/credentials", New: json.RawMessage(`1`)},
		{Path: "/spec", Old: json.RawMessage(`{"secrets":["A"],"s":1,"credential":{"secret":"A"}}`), New: json.RawMessage(`null`)},
		{Path: "", Old: json.RawMessage(`{"spec":{"secrets":["A"],"credential":{"secret":"A"}},"v":1}`)},
	}
	want := []store.DiffEntry{
		{Path: "/spec/steps", New: json.RawMessage(`["x"]`)},
		{Path: "/spec/credentials", New: json.RawMessage(`1`)},
		{Path: "/spec", Old: json.RawMessage(`{"s":1}`), New: json.RawMessage(`null`)},
		{Path: "", Old: json.RawMessage(`{"spec":{},"v":1}`)},
	}
	if diff := cmp.Diff(want, RedactDiff(in)); diff != "" {
		t.Errorf("RedactDiff (-want +got):\n%s", diff)
	}
}

// TestRedactSpecCredential: an MCP server's credential names a secret, so
// it is hidden with "secrets".
func TestRedactSpecCredential(t *testing.T) {
	got := RedactSpec(json.RawMessage(`{"url":"http://h/mcp","secrets":["TOKEN"],"credential":{"secret":"TOKEN","header":"Authorization"}}`))
	if string(got) != `{"url":"http://h/mcp"}` {
		t.Errorf("RedactSpec = %s", got)
	}
}

// A view without a lister (or whose lister grants nothing, or is asked
// about a malformed namespace) hides every name: it fails closed.
func TestAuditViewFailsClosed(t *testing.T) {
	entry := func() audit.Entry {
		return audit.Entry{Action: "secrets.read", Target: "prod/secrets/KEY", Details: json.RawMessage(`{"name":"KEY"}`)}
	}
	tests := []struct {
		name  string
		lists func(string) bool
		want  string // the target shown
	}{
		{"no lister", nil, "prod/secrets/" + Redacted},
		{"lists nothing", func(string) bool { return false }, "prod/secrets/" + Redacted},
		{"lists prod only", func(ns string) bool { return ns == "prod" }, "prod/secrets/KEY"},
		{"lists the org", func(string) bool { return true }, "prod/secrets/KEY"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := NewAuditView(tc.lists)
			e := entry()
			v.Redact(&e)
			if e.Target != tc.want {
				t.Errorf("target %q, want %q", e.Target, tc.want)
			}
			if hides := v.Hides(store.AuditFilter{Target: "prod/secrets/KEY"}); hides != (tc.want != "prod/secrets/KEY") {
				t.Errorf("Hides = %v", hides)
			}
		})
	}
	// A malformed namespace is never asked about, and never listable.
	v := NewAuditView(func(ns string) bool { return ns != "" })
	e := audit.Entry{Action: "secrets.read", Target: "Prod/secrets/KEY"}
	if !v.Redact(&e) || e.Target != "Prod/secrets/"+Redacted {
		t.Errorf("a malformed namespace's entry: %+v", e)
	}
}

func TestCheckCredential(t *testing.T) {
	for _, tc := range []struct {
		spec string
		ok   bool
	}{
		{`{"url":"x"}`, true},
		{`{"credential":null}`, true},
		{`{"secrets":["T"],"credential":{"secret":"T"}}`, true},
		{`{"credential":{"secret":"T"}}`, false},
		{`{"secrets":["A"],"credential":{"secret":"T"}}`, false},
		{`{"secrets":["T"],"credential":{"secret":""}}`, false},
		{`{"secrets":["T"],"credential":"T"}`, false},
		{`{"secrets":["T"],"credential":{"secret":1}}`, false},
	} {
		names, err := Names(json.RawMessage(tc.spec))
		if err != nil {
			t.Fatalf("Names(%s): %v", tc.spec, err)
		}
		err = CheckCredential(json.RawMessage(tc.spec), names)
		if (err == nil) != tc.ok || err != nil && !errors.Is(err, ErrInvalid) {
			t.Errorf("CheckCredential(%s) = %v, want ok %v", tc.spec, err, tc.ok)
		}
	}
}
