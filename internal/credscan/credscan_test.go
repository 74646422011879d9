package credscan_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/credscan"
)

var (
	key = "gth_0123456789abcdef_" + strings.Repeat("a", 52)
	jwt = "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ1c2VyOm93bmVyIn0.c2lnbmF0dXJlc2lnbmF0dXJl"
)

// TestForm: a credential in any field of a form post — its value, one of
// its values, its name — is found and named by its field; exempt fields
// and look-alikes are left alone.
func TestForm(t *testing.T) {
	for _, tc := range []struct {
		name  string
		form  url.Values
		field string
		found bool
	}{
		{"nothing", url.Values{"id": {"triage"}, "label": {"length_limit=gth_v2"}}, "", false},
		{"a name", url.Values{"csrf": {"x"}, "display_name": {key}}, "display_name", true},
		{"quoted in a policy", url.Values{"policy": {"role r { # " + jwt + " }"}}, "policy", true},
		{"the second value", url.Values{"action": {"read", "my key " + key}}, "action", true},
		{"as a field's name", url.Values{key: {"1"}}, "", true},
		{"an exempt field", url.Values{"api_key": {key}}, "", false},
		{"glued to a word", url.Values{"id": {"xgth_" + strings.Repeat("a", 40)}}, "", false},
	} {
		field, found := credscan.Form(tc.form, map[string]bool{"api_key": true})
		if field != tc.field || found != tc.found {
			t.Errorf("%s: Form = %q, %v; want %q, %v", tc.name, field, found, tc.field, tc.found)
		}
	}
}

// TestJSONExempt: the exempt members are exempt at the top level only.
func TestJSONExempt(t *testing.T) {
	exempt := map[string]bool{"token": true}
	for _, tc := range []struct {
		body, field string
		found       bool
	}{
		{`{"token":"` + key + `"}`, "", false},
		{`{"params":{"token":"` + key + `"}}`, "params.token", true},
		{`{"params":{"arguments":{"to":["x","` + jwt + `"]}}}`, "params.arguments.to[1]", true},
	} {
		field, found := credscan.JSON([]byte(tc.body), exempt)
		if field != tc.field || found != tc.found {
			t.Errorf("JSON(%s) = %q, %v; want %q, %v", tc.body, field, found, tc.field, tc.found)
		}
	}
}

// TestJSONForThirdParty: in a body bound for a third party, Gatehouse's
// prefixed credentials and its sessions (a JWT whose iss is "gatehouse")
// are found as in JSON; another issuer's JWT, or one without an iss, is
// the third party's business and is left alone.
func TestJSONForThirdParty(t *testing.T) {
	const (
		session = "eyJhbGciOiJFZERTQSIsImtpZCI6ImsxIiwidHlwIjoiSldUIn0.eyJpc3MiOiJnYXRlaG91c2UiLCJzdWIiOiJ1c2VyOm93bmVyIn0.c2lnbmF0dXJlc2lnbmF0dXJl"       // iss "gatehouse"
		theirs  = "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJodHRwczovL2FjY291bnRzLmV4YW1wbGUuY29tIiwic3ViIjoib2N0b2NhdCJ9.c2lnbmF0dXJlc2lnbmF0dXJl" // iss https://accounts.example.com
	)
	for _, tc := range []struct {
		name, body, field string
		found             bool
	}{
		{"an API key", `{"params":{"arguments":{"k":"` + key + `"}}}`, "params.arguments.k", true},
		{"a session", `{"params":{"arguments":{"to":["x","` + session + `"]}}}`, "params.arguments.to[1]", true},
		{"a session as a member's name", `{"params":{"arguments":{"` + session + `":1}}}`, "params.arguments", true},
		{"another issuer's JWT", `{"params":{"arguments":{"token":"` + theirs + `"}}}`, "", false},
		{"a JWT without an iss", `{"params":{"arguments":{"token":"` + jwt + `"}}}`, "", false},
		{"a JWT whose payload is not JSON", `{"params":{"arguments":{"token":"eyJhbGciOiJub25lIn0.eyJub3QganNvbg.c2lnbmF0dXJl"}}}`, "", false},
	} {
		field, found := credscan.JSONForThirdParty([]byte(tc.body))
		if field != tc.field || found != tc.found {
			t.Errorf("%s: JSONForThirdParty = %q, %v; want %q, %v", tc.name, field, found, tc.field, tc.found)
		}
		// The API's scan counts every JWT.
		if _, found := credscan.JSON([]byte(tc.body), nil); !found && strings.Contains(tc.body, "eyJ") {
			t.Errorf("%s: JSON found nothing, want every JWT found", tc.name)
		}
	}
}

func TestRedact(t *testing.T) {
	if got, want := credscan.Redact(`bad id "`+key+`" and `+jwt), `bad id "[credential redacted]" and [credential redacted]`; got != want {
		t.Errorf("Redact = %s, want %s", got, want)
	}
	if credscan.In("gth_v2 length_limit") {
		t.Error("look-alikes taken for credentials")
	}
}

// TestSegment: a path segment that is a credential, starts like one
// (however short), or holds one where In finds it is redacted whole; ids
// and look-alikes are not.
func TestSegment(t *testing.T) {
	for _, tc := range []struct {
		name, seg string
		want      bool
	}{
		{"an id", "0123456789abcdef", false},
		{"an API key", key, true},
		{"a session", jwt, true},
		{"a short session", "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ1c2VyOm93bmVyIn0.c2ln", true},
		{"a JWT with other characters", "eyJ~a.b.c", true},
		{"an invitation, short", "gti_01_x", true},
		{"an agent token, short", "gha_x.y.z", true},
		{"a run token, short", "ghrun_abc", true},
		{"an API key's head alone", "gth_", true},
		// Stricter than the server's own recogniser was: a credential
		// after another character of the segment.
		{"a key after an equals sign", "key=" + key, true},
		{"a session after a dash", "x-" + jwt, true},
		{"a name that merely starts like a JWT", "eyJteam", false},
		{"a JWT head with three dots", "eyJa.b.c.d", false},
		{"a resource id with dots", "a.b.c", false},
		{"a prefix glued to a word", "xgth_" + strings.Repeat("a", 40), false},
		{"a short prefix inside a word", "length_limit=gth_v2", false},
		{"empty", "", false},
	} {
		if got := credscan.Segment(tc.seg); got != tc.want {
			t.Errorf("%s: Segment(%q) = %v, want %v", tc.name, tc.seg, got, tc.want)
		}
	}
}
