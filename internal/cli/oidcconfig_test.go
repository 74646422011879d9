package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/auth"
	"github.com/gatehouse-dev/gatehouse/internal/server"
	"github.com/google/go-cmp/cmp"
)

func TestLoadOIDCConfig(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "acme.secret"), []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	good := `providers:
  - org: acme
    issuer: https://idp.example.com
    client_id: gh
    client_secret_file: acme.secret
    redirect_url: https://gh.example.com/v1/auth/oidc/acme/callback
    provision: {role: viewer, granted_by: user:admin}
`
	tests := []struct {
		name, src string
		want      []server.OIDCProvider
		err       string
	}{
		{name: "good", src: good, want: []server.OIDCProvider{{Org: "acme", Issuer: "https://idp.example.com", ClientID: "gh", ClientSecret: "s3cret",
			RedirectURL: "https://gh.example.com/v1/auth/oidc/acme/callback", Provision: &auth.OIDCProvisioning{Role: "viewer", GrantedBy: "user:admin"}}}},
		{name: "unknown key", src: strings.Replace(good, "issuer:", "isuer:", 1), err: "isuer"},
		{name: "missing issuer", src: strings.Replace(good, "    issuer: https://idp.example.com\n", "", 1), err: "issuer"},
		{name: "redirect to another org", src: strings.Replace(good, "oidc/acme/callback", "oidc/bravo/callback", 1), err: "must end in /v1/auth/oidc/acme/callback"},
		{name: "missing secret file", src: strings.Replace(good, "acme.secret", "nope.secret", 1), err: "client_secret_file"},
		{name: "provision without granter", src: strings.Replace(good, ", granted_by: user:admin", "", 1), err: "granted_by"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(dir, "oidc.yaml")
			if err := os.WriteFile(p, []byte(tc.src), 0o600); err != nil {
				t.Fatal(err)
			}
			got, err := loadOIDCConfig(p)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one mentioning %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// FuzzLoadOIDCConfig: the --oidc-config decoder never panics, and what it
// accepts is complete (every provider has an org, issuer, client id and
// its own callback).
func FuzzLoadOIDCConfig(f *testing.F) {
	f.Add("providers:\n  - {org: a, issuer: https://i, client_id: c, redirect_url: https://g/v1/auth/oidc/a/callback}\n")
	f.Add("providers:\n  - org: a\n    provision: {role: viewer, granted_by: user:x}\n")
	f.Add("providers: [")
	f.Add("")
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, src string) {
		p := filepath.Join(dir, "oidc.yaml")
		if err := os.WriteFile(p, []byte(src), 0o600); err != nil {
			t.Fatal(err)
		}
		ps, err := loadOIDCConfig(p)
		if err != nil {
			return
		}
		for _, x := range ps {
			if x.Org == "" || x.Issuer == "" || x.ClientID == "" || !strings.HasSuffix(x.RedirectURL, "/v1/auth/oidc/"+x.Org+"/callback") {
				t.Fatalf("accepted an incomplete provider %+v", x)
			}
		}
	})
}
