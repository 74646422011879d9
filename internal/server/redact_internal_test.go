package server

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestPathCredentials(t *testing.T) {
	key := "gth_0123456789abcdef_" + strings.Repeat("a", 52)
	jwt := "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ1c2VyOm93bmVyIn0.c2ln"
	tests := []struct {
		name, path string
		want       []string
	}{
		{"an id", "/v1/orgs/acme/apikeys/0123456789abcdef", nil},
		{"an API key pasted as the id", "/v1/orgs/acme/apikeys/" + key, []string{key}},
		{"a session pasted as the id", "/v1/apikeys/" + jwt, []string{jwt}},
		{"an invitation", "/v1/orgs/acme/invitations/gti_01_x", []string{"gti_01_x"}},
		{"an agent token", "/v1/apikeys/gha_x.y.z", []string{"gha_x.y.z"}},
		{"a run token", "/v1/orgs/acme/runs/ghrun_abc/finish", []string{"ghrun_abc"}},
		{"a name that merely starts like a JWT", "/v1/orgs/acme/teams/eyJteam", nil},
		{"a resource id with dots", "/v1/orgs/acme/namespaces/default/resources/files/a.b.c", nil},
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
