package atomicfile_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-dev/gatehouse/internal/atomicfile"
)

// recordSyncs makes every sync record the synced path.
func recordSyncs(t *testing.T) *[]string {
	t.Helper()
	var synced []string
	t.Cleanup(atomicfile.SetSyncForTest(func(f *os.File) error {
		synced = append(synced, f.Name())
		return f.Sync()
	}))
	return &synced
}

// listDir lists dir's entries, to show no temporary file is left.
func listDir(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}

func TestWrite(t *testing.T) {
	tests := []struct {
		name    string
		create  bool
		before  string // "" for no file
		want    string
		wantErr error
	}{
		{"write a new file", false, "", "new", nil},
		{"write replaces", false, "old", "new", nil},
		{"create a new file", true, "", "new", nil},
		{"create keeps an existing file", true, "old", "old", fs.ErrExist},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synced := recordSyncs(t)
			dir := t.TempDir()
			path := filepath.Join(dir, "key")
			if tt.before != "" {
				if err := os.WriteFile(path, []byte(tt.before), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			write := atomicfile.Write
			if tt.create {
				write = atomicfile.Create
			}
			err := write(path, []byte("new"), 0o600)
			if !errors.Is(err, tt.wantErr) || (err == nil) != (tt.wantErr == nil) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			got, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("content = %q, want %q", got, tt.want)
			}
			if diff := cmp.Diff([]string{"key"}, listDir(t, dir)); diff != "" {
				t.Errorf("directory (-want +got):\n%s", diff)
			}
			if tt.wantErr != nil {
				return
			}
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().Perm() != 0o600 {
				t.Errorf("mode = %v, want 0600", fi.Mode().Perm())
			}
			// The data and then the directory entry reach the disk.
			if len(*synced) != 2 || filepath.Dir((*synced)[0]) != dir || (*synced)[1] != dir {
				t.Errorf("synced %v, want the temporary file in %s, then %s", *synced, dir, dir)
			}
		})
	}
}

// A failed sync leaves the target untouched and no temporary file behind.
func TestWriteSyncFailure(t *testing.T) {
	t.Cleanup(atomicfile.SetSyncForTest(func(*os.File) error { return errors.New("disk on fire") }))
	dir := t.TempDir()
	path := filepath.Join(dir, "key")
	if err := os.WriteFile(path, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	err := atomicfile.Write(path, []byte("new"), 0o600)
	if !errors.Is(err, atomicfile.ErrWrite) {
		t.Fatalf("err = %v, want ErrWrite", err)
	}
	if got, _ := os.ReadFile(path); string(got) != "old" {
		t.Errorf("content = %q after a failed write", got)
	}
	if diff := cmp.Diff([]string{"key"}, listDir(t, dir)); diff != "" {
		t.Errorf("directory (-want +got):\n%s", diff)
	}
}

func TestWriteMissingDir(t *testing.T) {
	err := atomicfile.Write(filepath.Join(t.TempDir(), "no", "key"), []byte("x"), 0o600)
	if !errors.Is(err, atomicfile.ErrWrite) {
		t.Fatalf("err = %v, want ErrWrite", err)
	}
}
