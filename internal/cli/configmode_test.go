package cli

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestConfigRefusedUnlessOwnerOnly: the CLI's config holds credentials;
// save writes it 0600 and loadConfig refuses it whenever anyone but its
// owner may read or write it (any group or other bit).
func TestConfigRefusedUnlessOwnerOnly(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gatehouse", "config.json")
	t.Setenv(configEnv, path)
	c := &cliConfig{Current: "x", Contexts: []cliContext{{Name: "x", Server: "http://127.0.0.1:1", Token: "gth_0123456789abcdef_secret"}}}
	if err := c.save(path); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(os.FileMode(0o600), fi.Mode().Perm()); d != "" {
		t.Errorf("saved config mode (-want +got):\n%s", d)
	}
	tests := []struct {
		mode    os.FileMode
		refused bool
	}{
		{0o600, false},
		{0o400, false},
		{0o640, true}, // group-readable
		{0o620, true}, // group-writable: another could swap the server or token
		{0o604, true}, // world-readable
		{0o644, true},
		{0o666, true},
	}
	var got, want []string
	for _, tc := range tests {
		if err := os.Chmod(path, tc.mode); err != nil {
			t.Fatal(err)
		}
		_, _, err := loadConfig()
		got = append(got, tc.mode.String()+" refused="+boolString(err != nil))
		want = append(want, tc.mode.String()+" refused="+boolString(tc.refused))
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("loadConfig by mode (-want +got):\n%s", d)
	}
}

func boolString(b bool) string {
	if b {
		return "true"
	}
	return "false"
}
