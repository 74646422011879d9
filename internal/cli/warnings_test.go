package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-dev/gatehouse/api"
	"github.com/gatehouse-dev/gatehouse/client"
	"github.com/gatehouse-dev/gatehouse/client/clienttest"
)

// TestWriteWarningsShown: a write the server answers with warnings — a
// demotion or removal that stops an API key its member minted
// (credentials-outrank-minter, docs/api.md) — prints them: on stderr
// after the table line, inside the document with -o json (the answer's
// "warnings" as the API gives them), the exit status still 0. A write
// that stops nothing prints nothing more than before.
func TestWriteWarningsShown(t *testing.T) {
	srv := clienttest.Start(t, clienttest.Options{})
	aliceKey := srv.User("alice")
	alice := srv.Client(aliceKey)
	bob := srv.Client(srv.User("bob"))
	t.Setenv("GATEHOUSE_SERVER", srv.URL)
	t.Setenv("GATEHOUSE_URL", "")
	t.Setenv("GATEHOUSE_ORG", "")
	t.Setenv("GATEHOUSE_TOKEN", aliceKey)
	n := 0
	// minted is a new org where bob, a builder, minted a key of service
	// ci (role svcrole: level 20, chains:read; a viewer is level 10), which bob outranks.
	minted := func(t *testing.T) (org, keyID string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		n++
		org = fmt.Sprintf("warn%d", n)
		steps := []func() error{
			func() error { _, _, err := alice.CreateOrg(ctx, client.CreateOrgRequest{ID: org}); return err },
			func() error { _, _, err := alice.AddMember(ctx, org, "bob", "builder"); return err },
			func() error {
				_, err := alice.CreateRole(ctx, org, client.RoleSpec{Name: "svcrole", Level: 20, Permissions: []string{"chains:read"}})
				return err
			},
			func() error {
				_, _, err := alice.CreateService(ctx, org, client.ServiceSpec{Name: "ci", Role: "svcrole"})
				return err
			},
			func() error {
				kc, err := bob.CreateKey(ctx, org, client.KeySpec{Principal: "service:ci"})
				keyID = kc.Item.ID
				return err
			},
		}
		for i, s := range steps {
			if err := s(); err != nil {
				t.Fatalf("setting up %s, step %d: %v", org, i, err)
			}
		}
		return org, keyID
	}
	// stopped is the warning of a write that stopped keyID (message and
	// reason are the server's text, checked in its tests).
	stopped := func(keyID string) []client.WriteWarning {
		return []client.WriteWarning{{Code: api.WarningCredentialsOutranked, Count: 1,
			Credentials: []client.OutrankedCredential{{Kind: client.CredentialAPIKey, ID: keyID, Principal: "service:ci", Minter: "user:bob"}}}}
	}
	// decoded is the "warnings" of a JSON document, without the server's
	// text.
	decoded := func(t *testing.T, stdout string) []client.WriteWarning {
		t.Helper()
		var doc struct {
			Revision uint64                `json:"revision"`
			Warnings []client.WriteWarning `json:"warnings"`
		}
		if err := json.Unmarshal([]byte(stdout), &doc); err != nil {
			t.Fatalf("stdout is not a JSON document: %v\n%s", err, stdout)
		}
		if doc.Revision == 0 {
			t.Errorf("no revision in %s", stdout)
		}
		for i := range doc.Warnings {
			if doc.Warnings[i].Message == "" {
				t.Errorf("warning %d has no message", i)
			}
			doc.Warnings[i].Message = ""
			for j := range doc.Warnings[i].Credentials {
				c := &doc.Warnings[i].Credentials[j]
				if c.Reason == "" {
					t.Errorf("credential %s has no reason", c.ID)
				}
				c.Reason, c.Scope = "", ""
			}
		}
		return doc.Warnings
	}

	for _, tc := range []struct {
		name string
		args func(org string) []string
		out  string // on stdout in table mode
	}{
		{"member set-role (a demotion)", func(org string) []string { return []string{"member", "set-role", "bob", "viewer", "--org", org} }, "bob is now viewer in "},
		{"member remove", func(org string) []string { return []string{"member", "remove", "bob", "--org", org} }, "removed bob from "},
		{"bind (the service raised)", func(org string) []string { return []string{"bind", "service:ci", "admin", "--org", org} }, "bound service:ci to admin"},
	} {
		t.Run(tc.name+", table", func(t *testing.T) {
			org, keyID := minted(t)
			r := run(t, "", tc.args(org)...)
			if r.code != 0 || !strings.Contains(r.stdout, tc.out) {
				t.Fatalf("exit %d, stdout %q, stderr %q; want 0 and %q", r.code, r.stdout, r.stderr, tc.out)
			}
			if strings.Contains(r.stdout, "warning") {
				t.Errorf("warnings on stdout:\n%s", r.stdout)
			}
			if n := strings.Count(r.stderr, "warning: "); n != 1 {
				t.Errorf("%d warnings on stderr, want 1:\n%s", n, r.stderr)
			}
			for _, want := range []string{"warning: credentials-outrank-minter: after this write", "api_key " + keyID, "service:ci", "minted by user:bob", "credential-outranks-minter"} {
				if !strings.Contains(r.stderr, want) {
					t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
				}
			}
		})
		t.Run(tc.name+", json", func(t *testing.T) {
			org, keyID := minted(t)
			r := run(t, "", append(tc.args(org), "-o", "json")...)
			if r.code != 0 || r.stderr != "" {
				t.Fatalf("exit %d, stderr %q; want 0 and nothing", r.code, r.stderr)
			}
			if diff := cmp.Diff(stopped(keyID), decoded(t, r.stdout)); diff != "" {
				t.Errorf("warnings (-want +got):\n%s\nstdout: %s", diff, r.stdout)
			}
		})
	}

	t.Run("policy put raising the service's role", func(t *testing.T) {
		org, keyID := minted(t)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		p, err := alice.GetPolicy(ctx, org)
		if err != nil {
			t.Fatal(err)
		}
		raised := strings.Replace(p.Text, "role svcrole level 20", "role svcrole level 60", 1)
		if raised == p.Text {
			t.Fatalf("no svcrole in the policy:\n%s", p.Text)
		}
		r := run(t, "", "policy", "put", writeFile(t, "raised.policy", raised), "--org", org, "-o", "json")
		if r.code != 0 || r.stderr != "" {
			t.Fatalf("exit %d, stderr %q; want 0 and nothing", r.code, r.stderr)
		}
		if diff := cmp.Diff(stopped(keyID), decoded(t, r.stdout)); diff != "" {
			t.Errorf("warnings (-want +got):\n%s\nstdout: %s", diff, r.stdout)
		}
	})

	t.Run("import, the org named", func(t *testing.T) {
		org, keyID := minted(t)
		file := writeFile(t, "raise.jsonl", fmt.Sprintf(`{"org":%q,"op":"binding.create","principal":"service:ci","role":"admin"}`+"\n", org))
		r := run(t, "", "import", file, "-o", "json")
		if r.code != 0 || r.stderr != "" {
			t.Fatalf("exit %d, stderr %q; want 0 and nothing", r.code, r.stderr)
		}
		want := stopped(keyID)
		want[0].Org = org
		if diff := cmp.Diff(want, decoded(t, r.stdout)); diff != "" {
			t.Errorf("warnings (-want +got):\n%s\nstdout: %s", diff, r.stdout)
		}
		org, keyID = minted(t)
		file = writeFile(t, "raise.jsonl", fmt.Sprintf(`{"org":%q,"op":"binding.create","principal":"service:ci","role":"admin"}`+"\n", org))
		r = run(t, "", "import", file)
		if r.code != 0 || !strings.Contains(r.stdout, "imported 1 change") {
			t.Fatalf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
		}
		for _, want := range []string{"warning: credentials-outrank-minter (org " + org + "): ", "api_key " + keyID} {
			if !strings.Contains(r.stderr, want) {
				t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
			}
		}
	})

	// A request made before one that fails still stopped what it
	// stopped: the failure does not swallow its warning.
	t.Run("import failing after a request that warned", func(t *testing.T) {
		org, keyID := minted(t)
		file := writeFile(t, "raise.jsonl", fmt.Sprintf(`{"org":%q,"op":"binding.create","principal":"service:ci","role":"admin"}`+"\n"+
			`{"org":%q,"op":"binding.create","principal":"service:ci","role":"no-such-role"}`+"\n", org, org))
		r := run(t, "", "import", file, "--batch", "1")
		if r.code == 0 || !strings.Contains(r.stderr, "line 2") {
			t.Fatalf("exit %d, stderr %q; want the failure of line 2", r.code, r.stderr)
		}
		for _, want := range []string{"warning: credentials-outrank-minter (org " + org + "): ", "api_key " + keyID} {
			if !strings.Contains(r.stderr, want) {
				t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
			}
		}
	})

	t.Run("a write that stops nothing", func(t *testing.T) {
		org, _ := minted(t)
		args := []string{"role", "update", "svcrole", "--level", "20", "--permission", "chains:read", "--org", org}
		r := run(t, "", args...)
		if r.code != 0 || r.stderr != "" || !strings.Contains(r.stdout, "updated role svcrole") {
			t.Errorf("table: exit %d, stdout %q, stderr %q; want 0, the line, no stderr", r.code, r.stdout, r.stderr)
		}
		r = run(t, "", append(args, "-o", "json")...)
		if r.code != 0 || r.stderr != "" || strings.Contains(r.stdout, "warnings") {
			t.Errorf("json: exit %d, stdout %q, stderr %q; want 0, no warnings", r.code, r.stdout, r.stderr)
		}
	})
}

// TestPrintWriteWarnings: the table form of a warning — its code, its org
// when it names one, its message, a line per listed credential, and what
// it only counts; the server's text on one line without control
// characters.
func TestPrintWriteWarnings(t *testing.T) {
	key := client.OutrankedCredential{Kind: client.CredentialAPIKey, ID: "k1", Principal: "service:ci", Minter: "user:bob", Reason: "refused"}
	token := client.OutrankedCredential{Kind: client.CredentialAgentToken, ID: "t1", Principal: "agent:Helper", Minter: "user:bob", Reason: "refused too"}
	code := api.WarningCredentialsOutranked
	for _, tc := range []struct {
		name string
		ws   []client.WriteWarning
		want string
	}{
		{"none", nil, ""},
		{"listed", []client.WriteWarning{{Code: code, Message: "stopped 2", Count: 2, Credentials: []client.OutrankedCredential{key, token}}},
			"warning: credentials-outrank-minter: stopped 2\n" +
				"  api_key k1 of service:ci, minted by user:bob: refused\n" +
				"  agent_token t1 of agent:Helper, minted by user:bob: refused too\n"},
		{"counted only", []client.WriteWarning{{Code: code, Message: "stopped 3", Count: 3}},
			"warning: credentials-outrank-minter: stopped 3\n  and 3 more, not listed (reading them needs apikeys:read)\n"},
		{"some listed", []client.WriteWarning{{Code: code, Message: "m", Count: 3, Credentials: []client.OutrankedCredential{key}}},
			"warning: credentials-outrank-minter: m\n  api_key k1 of service:ci, minted by user:bob: refused\n  and 2 more\n"},
		{"cut short", []client.WriteWarning{{Code: code, Message: "m", Count: 1, Truncated: true, Credentials: []client.OutrankedCredential{key}}},
			"warning: credentials-outrank-minter: m\n  api_key k1 of service:ci, minted by user:bob: refused\n  and at least 1 more\n"},
		{"an org per warning (DELETE /v1/me)", []client.WriteWarning{{Code: code, Org: "acme", Message: "m", Count: 1}, {Code: code, Org: "beta", Message: "n", Count: 2}},
			"warning: credentials-outrank-minter (org acme): m\n  and 1 more, not listed (reading them needs apikeys:read)\n" +
				"warning: credentials-outrank-minter (org beta): n\n  and 2 more, not listed (reading them needs apikeys:read)\n"},
		{"control characters", []client.WriteWarning{{Code: code, Message: "a\x1b[2Jb\nc", Count: 1, Credentials: []client.OutrankedCredential{{Kind: "api_key", ID: "k\r1", Principal: "p", Minter: "m", Reason: "r\u009b"}}}},
			"warning: credentials-outrank-minter: a [2Jb c\n  api_key k 1 of p, minted by m: r \n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b strings.Builder
			printWriteWarnings(&b, tc.ws)
			if diff := cmp.Diff(tc.want, b.String()); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
