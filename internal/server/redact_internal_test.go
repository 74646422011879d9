package server

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestPathCredentials: the segments of a path that credscan.Segment
// finds (its table says which segments are credentials), each whole.
func TestPathCredentials(t *testing.T) {
	key := "gth_0123456789abcdef_" + strings.Repeat("a", 52)
	tests := []struct {
		name, path string
		want       []string
	}{
		{"an id", "/v1/orgs/acme/apikeys/0123456789abcdef", nil},
		{"an id with an underscore", "/v1/orgs/acme/namespaces/my_ns/resources/chains/my_chain", nil},
		{"an API key pasted as the id", "/v1/orgs/acme/apikeys/" + key, []string{key}},
		{"a run token mid-path", "/v1/orgs/acme/runs/ghrun_abc/finish", []string{"ghrun_abc"}},
		{"a key inside a segment", "/v1/orgs/acme/apikeys/key=" + key, []string{"key=" + key}},
		{"two", "/v1/orgs/gti_01_x/apikeys/" + key, []string{"gti_01_x", key}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if d := cmp.Diff(tc.want, pathCredentials(tc.path)); d != "" {
				t.Errorf("pathCredentials(%q) (-want +got):\n%s", tc.path, d)
			}
		})
	}
}

func TestRedactCredentials(t *testing.T) {
	key := "gth_0123456789abcdef_" + strings.Repeat("a", 52)
	got := redactCredentials(`revoke api key: api key "`+key+`": not found`, pathCredentials("/v1/apikeys/"+key))
	if d := cmp.Diff(`revoke api key: api key "[credential redacted]": not found`, got); d != "" {
		t.Errorf("redacted detail (-want +got):\n%s", d)
	}
}

// BenchmarkPathCredentials is the cost the redaction adds to every
// refused request (writeProblem) and every logged one: a path without a
// credential, the common case.
//
//	go test ./internal/server -run '^$' -bench PathCredentials -benchmem
func BenchmarkPathCredentials(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if pathCredentials("/v1/orgs/acme/namespaces/prod/resources/chains/triage") != nil {
			b.Fatal("a credential in a plain path")
		}
	}
}

// TestBodyCredentials: a credential anywhere in a body — a value, an array
// element, a member's name — is found and named by its member; the
// members that take one (top-level "token" and "value") and look-alikes
// that are not credentials are left alone (row 91).
func TestBodyCredentials(t *testing.T) {
	key := "gth_0123456789abcdef_" + strings.Repeat("a", 52)
	jwt := "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ1c2VyOm93bmVyIn0.c2lnbmF0dXJlc2lnbmF0dXJl"
	run := "ghrun_" + strings.Repeat("Ab-_", 10)
	tests := []struct {
		name, body string
		field      string
		found      bool
	}{
		{"nothing", `{"id":"triage","labels":{"length_limit":"gth_v2"}}`, "", false},
		{"an id", `{"id":"` + key + `"}`, "id", true},
		{"quoted in text", `{"text":"role r { # my key ` + key + ` }"}`, "text", true},
		{"a session in a nested label", `{"labels":{"tier":"` + jwt + `"}}`, "labels.tier", true},
		{"a run token in an array", `{"actions":["read","` + run + `"]}`, "actions[1]", true},
		{"in a batch", `{"changes":[{"op":"user.create"},{"op":"user.create","email":"` + key + `"}]}`, "changes[1].email", true},
		{"as a member's name", `{"attributes":{"` + key + `":1}}`, "attributes", true},
		{"the token an accept takes", `{"token":"` + key + `"}`, "", false},
		{"a secret's value", `{"value":"` + key + `","description":"ci"}`, "", false},
		{"a nested token is no credential member", `{"spec":{"token":"` + key + `"}}`, "spec.token", true},
		{"a prefix glued to a word", `{"id":"xgth_` + strings.Repeat("a", 40) + `"}`, "", false},
		{"too short to be minted", `{"id":"gth_0123"}`, "", false},
		{"a J that starts no JWT", `{"id":"Jay-J","labels":{"k":"eyJ"}}`, "", false},
		{"not JSON", `{"id":"` + key, "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			field, found := bodyCredential([]byte(tc.body))
			if field != tc.field || found != tc.found {
				t.Errorf("bodyCredential(%s) = %q, %v; want %q, %v", tc.body, field, found, tc.field, tc.found)
			}
		})
	}
	if got, want := redactText(`bad id "`+key+`" and "`+jwt+`".`), `bad id "[credential redacted]" and "[credential redacted]".`; got != want {
		t.Errorf("redactText = %s, want %s", got, want)
	}
}

// BenchmarkMayHoldCredential is the quick test every JSON body now takes
// (row 91), on a /check body: compare it with BenchmarkCheckServeHTTP.
//
//	go test ./internal/server -run '^$' -bench 'MayHoldCredential|CheckServeHTTP$'
func BenchmarkMayHoldCredential(b *testing.B) {
	body := []byte(`{"principal":"user:member","action":"chains:run","resource":"chains/triage","namespace":"prod"}`)
	for b.Loop() {
		if mayHoldCredential(body) {
			b.Fatal("a check body holds no credential")
		}
	}
}
