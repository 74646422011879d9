package vault

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/atomicfile"
)

// TestKeyFilesSync: the --dev key and a rotated keyring reach stable
// storage, data and directory entry, before they are used.
func TestKeyFilesSync(t *testing.T) {
	var synced []string
	t.Cleanup(atomicfile.SetSyncForTest(func(f *os.File) error {
		synced = append(synced, f.Name())
		return f.Sync()
	}))
	dir := t.TempDir()
	if _, err := LoadKeyring(KeyringOptions{Dev: true, DataDir: dir, Getenv: func(string) string { return "" }}); err != nil {
		t.Fatal(err)
	}
	if len(synced) != 2 || filepath.Dir(synced[0]) != dir || synced[1] != dir {
		t.Errorf("dev key: synced %q, want a file in %s, then %s itself", synced, dir, dir)
	}
	synced = nil
	if _, err := AddKeyToFile(filepath.Join(dir, DevKeyFile)); err != nil {
		t.Fatal(err)
	}
	if len(synced) != 2 || filepath.Dir(synced[0]) != dir || synced[1] != dir {
		t.Errorf("rotated keyring: synced %q, want a file in %s, then %s itself", synced, dir, dir)
	}
}
