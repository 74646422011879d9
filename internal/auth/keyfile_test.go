package auth

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/atomicfile"
)

// TestWriteKeyFileSyncs: the session key file reaches stable storage
// before WriteKeyFile returns: its data is synced before the rename and
// its directory after it (a crash must not leave an empty or missing key
// file that a restart would replace, logging everyone out).
func TestWriteKeyFileSyncs(t *testing.T) {
	var synced []string
	t.Cleanup(atomicfile.SetSyncForTest(func(f *os.File) error {
		synced = append(synced, f.Name())
		return f.Sync()
	}))
	dir := t.TempDir()
	if err := NewKeySet().WriteKeyFile(filepath.Join(dir, "keys.json")); err != nil {
		t.Fatal(err)
	}
	if len(synced) != 2 || filepath.Dir(synced[0]) != dir || synced[1] != dir {
		t.Errorf("synced %q, want a file in %s, then %s itself", synced, dir, dir)
	}
}
