package cli

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/gatehouse-dev/gatehouse/internal/auth"
	"github.com/gatehouse-dev/gatehouse/internal/server"
)

// oidcFile is `serve --oidc-config FILE` (docs/oidc.md): the orgs whose
// people sign in with an identity provider.
type oidcFile struct {
	Providers []struct {
		Org              string   `yaml:"org"`
		Issuer           string   `yaml:"issuer"`
		ClientID         string   `yaml:"client_id"`
		ClientSecretFile string   `yaml:"client_secret_file"` // a file, so the secret is in no config or process list
		RedirectURL      string   `yaml:"redirect_url"`
		Scopes           []string `yaml:"scopes"`
		Provision        *struct {
			Role      string `yaml:"role"`
			GrantedBy string `yaml:"granted_by"`
		} `yaml:"provision"`
	} `yaml:"providers"`
}

// loadOIDCConfig reads the providers; a relative client_secret_file is
// relative to the config file. Unknown keys are errors.
func loadOIDCConfig(path string) ([]server.OIDCProvider, error) {
	if path == "" {
		return nil, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, badInput("--oidc-config: %v", err)
	}
	var f oidcFile
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		return nil, badInput("--oidc-config %s: %v", path, err)
	}
	var out []server.OIDCProvider
	for i, p := range f.Providers {
		where := fmt.Sprintf("--oidc-config %s: providers[%d]", path, i)
		if p.Org == "" || p.Issuer == "" || p.ClientID == "" || p.RedirectURL == "" {
			return nil, badInput("%s: org, issuer, client_id and redirect_url are required", where)
		}
		want := "/v1/auth/oidc/" + p.Org + "/callback"
		if !strings.HasSuffix(p.RedirectURL, want) {
			return nil, badInput("%s: redirect_url must end in %s", where, want)
		}
		sp := secretPath(path, p.ClientSecretFile)
		var secret string
		if sp != "" {
			sb, err := os.ReadFile(sp)
			if err != nil {
				return nil, badInput("%s: client_secret_file: %v", where, err)
			}
			secret = strings.TrimSpace(string(sb))
		}
		op := server.OIDCProvider{Org: p.Org, Issuer: p.Issuer, ClientID: p.ClientID, ClientSecret: secret,
			RedirectURL: p.RedirectURL, Scopes: p.Scopes}
		if p.Provision != nil {
			if p.Provision.Role == "" || !strings.HasPrefix(p.Provision.GrantedBy, "user:") {
				return nil, badInput("%s: provision needs a role and granted_by: user:<admin>", where)
			}
			op.Provision = &auth.OIDCProvisioning{Role: p.Provision.Role, GrantedBy: p.Provision.GrantedBy}
		}
		out = append(out, op)
	}
	return out, nil
}

// secretPath resolves a client_secret_file against the config's
// directory.
func secretPath(configPath, secretFile string) string {
	if secretFile == "" || filepath.IsAbs(secretFile) {
		return secretFile
	}
	return filepath.Join(filepath.Dir(configPath), secretFile)
}
