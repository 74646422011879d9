package cli

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestSecretListJSONOmitsUnsetTimes: `secret list -o json` prints what
// the API answers: times that are not set (never rotated, never used, no
// expiry) are absent, never 0001-01-01T00:00:00Z.
func TestSecretListJSONOmitsUnsetTimes(t *testing.T) {
	vs := startVaultServer(t)
	vs.as(t, vs.admin)
	if r := run(t, "v1", "secret", "set", "FRESH", "-n", "prod"); r.code != 0 {
		t.Fatalf("set: %d %q", r.code, r.stderr)
	}
	var api struct {
		Items []map[string]any `json:"items"`
	}
	vs.call(t, 200, "GET", "/v1/orgs/acme/namespaces/prod/secrets", vs.admin, nil, &api)
	r := run(t, "", "secret", "list", "-n", "prod", "-o", "json")
	if r.code != 0 {
		t.Fatalf("list: %d %q", r.code, r.stderr)
	}
	if strings.Contains(r.stdout, "0001-01-01") {
		t.Errorf("list -o json prints zero times:\n%s", r.stdout)
	}
	var cli struct {
		Items []map[string]any `json:"items"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &cli); err != nil || len(cli.Items) != 1 || len(api.Items) != 1 {
		t.Fatalf("list -o json: %v %q; API %v", err, r.stdout, api.Items)
	}
	// Every field the CLI prints, the API answers, with the same value.
	for k, v := range cli.Items[0] {
		if diff := cmp.Diff(api.Items[0][k], v); diff != "" {
			t.Errorf("%s (-API +CLI):\n%s", k, diff)
		}
	}
}

// TestSecretDeleteReferenced: `secret delete` of a secret a chain's spec
// references fails with exit 6 (conflict) naming the chain and leaves it; --force
// deletes it.
func TestSecretDeleteReferenced(t *testing.T) {
	vs := startVaultServer(t)
	vs.as(t, vs.admin)
	if r := run(t, "v1", "secret", "set", "DB_PASSWORD", "-n", "prod"); r.code != 0 {
		t.Fatalf("set: %d %q", r.code, r.stderr)
	}
	vs.call(t, 201, "POST", "/v1/orgs/acme/resources", vs.admin, map[string]any{"namespace": "prod", "type": "chains", "id": "nightly",
		"spec": map[string]any{"secrets": []string{"DB_PASSWORD"}}}, nil)
	r := run(t, "", "secret", "delete", "DB_PASSWORD", "-n", "prod")
	if r.code != ExitConflict || !strings.Contains(r.stderr, "prod/chains/nightly") || !strings.Contains(r.stderr, "409") {
		t.Errorf("delete of a referenced secret: %d %q %q", r.code, r.stdout, r.stderr)
	}
	if r := run(t, "", "secret", "list", "-n", "prod"); !strings.Contains(r.stdout, "DB_PASSWORD") {
		t.Errorf("the refused delete deleted: %q", r.stdout)
	}
	if r := run(t, "", "secret", "delete", "DB_PASSWORD", "-n", "prod", "--force"); r.code != 0 || !strings.HasPrefix(r.stdout, "deleted prod/DB_PASSWORD (revision ") {
		t.Errorf("delete --force: %d %q %q", r.code, r.stdout, r.stderr)
	}
	if r := run(t, "", "secret", "list", "-n", "prod"); strings.Contains(r.stdout, "DB_PASSWORD") {
		t.Errorf("delete --force did not delete: %q", r.stdout)
	}
}
