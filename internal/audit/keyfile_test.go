package audit_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/atomicfile"
	"github.com/gatehouse-dev/gatehouse/internal/audit"
)

// TestWriteNewKeySyncs: the checkpoint signing key reaches stable storage
// before WriteNewKey returns (data, then directory), is mode 0600, and an
// existing key file is never replaced.
func TestWriteNewKeySyncs(t *testing.T) {
	var synced []string
	t.Cleanup(atomicfile.SetSyncForTest(func(f *os.File) error {
		synced = append(synced, f.Name())
		return f.Sync()
	}))
	dir := t.TempDir()
	path := filepath.Join(dir, "audit-key.pem")
	s, err := audit.WriteNewKey(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(synced) != 2 || filepath.Dir(synced[0]) != dir || synced[1] != dir {
		t.Errorf("synced %q, want a file in %s, then %s itself", synced, dir, dir)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("key file: %v %v", fi, err)
	}
	if _, err := audit.WriteNewKey(path); !errors.Is(err, fs.ErrExist) {
		t.Errorf("a second WriteNewKey: err = %v, want fs.ErrExist", err)
	}
	back, err := audit.LoadSigner(path)
	if err != nil || back.Public().ID != s.Public().ID {
		t.Errorf("the file holds another key after a refused overwrite: %v", err)
	}
}
