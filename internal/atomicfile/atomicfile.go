// Package atomicfile writes small files that must never be seen half
// written and must survive a crash once written: key files (session
// signing keys, the audit checkpoint key, the vault's master keyring).
//
// Invariants:
//   - The data is written to a temporary file in the target's directory,
//     created with the final permissions (never wider), synced, closed,
//     and only then moved into place; the directory is synced after the
//     move. A reader sees the old file or the complete new one, never a
//     partial one, and a file reported written is on stable storage.
//   - On any failure the temporary file is removed and the target is left
//     as it was.
//   - Create never replaces an existing file: it fails with an error
//     wrapping fs.ErrExist, so two processes racing to create a key agree
//     on one.
package atomicfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync/atomic"
)

// ErrWrite is wrapped by every error of Write and Create other than
// fs.ErrExist.
var ErrWrite = errors.New("atomic write failed")

// syncHook, when set, replaces (*os.File).Sync: tests set it
// (SetSyncForTest) to observe that every write is synced.
var syncHook atomic.Pointer[func(*os.File) error]

// syncFile flushes a file (or a directory) to stable storage.
func syncFile(f *os.File) error {
	if h := syncHook.Load(); h != nil {
		return (*h)(f)
	}
	return f.Sync()
}

// SetSyncForTest replaces the function that syncs files and directories
// and returns a function that restores it. For tests only (of this
// package and of the packages whose key files it writes).
func SetSyncForTest(fn func(f *os.File) error) (restore func()) {
	old := syncHook.Swap(&fn)
	return func() { syncHook.Store(old) }
}

// Write replaces path with data, atomically and durably, with mode perm.
func Write(path string, data []byte, perm fs.FileMode) error {
	return write(path, data, perm, false)
}

// Create writes data to path, atomically and durably, with mode perm, only
// if path does not exist; otherwise it fails with an error wrapping
// fs.ErrExist and leaves the existing file alone.
func Create(path string, data []byte, perm fs.FileMode) error {
	return write(path, data, perm, true)
}

func write(path string, data []byte, perm fs.FileMode, exclusive bool) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("%w: %s: %v", ErrWrite, path, errors.Unwrap(err))
	}
	tmp := f.Name()
	closed := false
	defer func() {
		if !closed {
			f.Close()
		}
		os.Remove(tmp) // after a rename or link: a no-op or the spare name
	}()
	if err := f.Chmod(perm); err != nil {
		return fmt.Errorf("%w: %s: chmod: %v", ErrWrite, path, errors.Unwrap(err))
	}
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("%w: %s: %v", ErrWrite, path, errors.Unwrap(err))
	}
	if err := syncFile(f); err != nil {
		return fmt.Errorf("%w: %s: sync: %v", ErrWrite, path, err)
	}
	closed = true
	if err := f.Close(); err != nil {
		return fmt.Errorf("%w: %s: %v", ErrWrite, path, errors.Unwrap(err))
	}
	if exclusive {
		// A hard link fails if path exists: creation without replacing.
		if err := os.Link(tmp, path); err != nil {
			if errors.Is(err, fs.ErrExist) {
				return fmt.Errorf("%s: %w", path, fs.ErrExist)
			}
			return fmt.Errorf("%w: %s: %v", ErrWrite, path, errors.Unwrap(err))
		}
	} else if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("%w: %s: %v", ErrWrite, path, errors.Unwrap(err))
	}
	return syncDir(dir)
}

// syncDir makes a rename or link in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("%w: %s: %v", ErrWrite, dir, errors.Unwrap(err))
	}
	defer d.Close()
	if err := syncFile(d); err != nil {
		return fmt.Errorf("%w: %s: sync: %v", ErrWrite, dir, err)
	}
	return nil
}
