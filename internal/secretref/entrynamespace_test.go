package secretref_test

import (
	"encoding/json"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/audit"
	"github.com/gatehouse-dev/gatehouse/internal/secretref"
)

// TestEntryNamespace: the one reading of an entry's namespace, which both
// the directory's namespace-confined audit reads and the redaction of
// secret names use (they once had two copies that disagreed on bindings).
func TestEntryNamespace(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name          string
		action        string
		target        string
		before, after string
		want          string
	}{
		{"resource write", "resource.update", "resource/prod/chains/x", "", "", "prod"},
		{"decision on a type", audit.DecisionAction, "resource/dev/chains", "", "", "dev"},
		{"refused in a namespace", "binding.create", "scope/ns/prod", "", "", "prod"},
		{"refused on a resource", "share", "scope/prod/chains/x", "", "", "prod"},
		{"refused at org scope", "namespace.create", "scope/org", "", "", ""},
		{"namespace", "namespace.delete", "namespace/dev", "", "", "dev"},
		{"secret", "secrets.rotate", "prod/secrets/KEY", "", "", "prod"},
		{"decision on a secret", audit.DecisionAction, "resource/prod/secrets/KEY", "", "", "prod"},
		{"run token", "secrets.run_token", "prod/chains/x", "", "", "prod"},
		{"not the vault's", "member.add", "prod/chains/x", "", "", ""},
		{"binding in a namespace", "binding.create", "binding/b1", "", `{"id":"b1","scope":{"namespace":"dev"}}`, "dev"},
		{"deleted binding", "binding.delete", "binding/b1", `{"id":"b1","scope":{"namespace":"prod","type":"chains","id":"x"}}`, "", "prod"},
		{"org-scope binding", "binding.create", "binding/b1", "", `{"id":"b1","scope":{}}`, ""},
		{"binding kept as a digest", "binding.create", "binding/b1", "", `{"sha256":"00","bytes":40000}`, ""},
		{"member", "member.add", "member/user:bob", "", "", ""},
		{"org", "org.rename", "org/acme", "", "", ""},
		{"settings", "audit_settings.update", "audit_settings/acme", "", "", ""},
		{"api key", "apikey.create", "apikey/k1", "", "", ""},
		{"malformed namespace", "resource.create", "resource/Prod!/chains/x", "", "", ""},
		{"empty namespace", "resource.create", "resource//chains/x", "", "", ""},
	} {
		e := audit.Entry{Action: tc.action, Target: tc.target}
		if tc.before != "" {
			e.Before = json.RawMessage(tc.before)
		}
		if tc.after != "" {
			e.After = json.RawMessage(tc.after)
		}
		if got := secretref.EntryNamespace(&e); got != tc.want {
			t.Errorf("%s: namespace of %s %s = %q, want %q", tc.name, tc.action, tc.target, got, tc.want)
		}
	}
}
