package sqlite

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// TestCheckpointAfterCommit checks that a write's pages reach the
// database file after its commit, by the checkpointer (checkpoint.go),
// and that the writer's own automatic checkpoint, which runs inside
// Commit under the write lock, waits for a WAL of writerAutoCheckpoint
// pages instead of SQLite's 1,000.
func TestCheckpointAfterCommit(t *testing.T) {
	ctx := context.Background()
	st, b := openTestStore(t, 2, nil)
	path := st.path

	var auto int
	if err := b.w.QueryRowContext(ctx, "PRAGMA wal_autocheckpoint").Scan(&auto); err != nil {
		t.Fatal(err)
	}
	if auto != writerAutoCheckpoint {
		t.Errorf("the writer's wal_autocheckpoint is %d, want %d", auto, writerAutoCheckpoint)
	}

	runs := b.ckpt.runs.Load()
	if _, err := st.Write(ctx, func(tx store.Tx) error {
		for i := range 200 {
			if _, err := tx.CreateUser(ctx, store.User{ID: fmt.Sprintf("u%d", i), Email: fmt.Sprintf("u%d@example.com", i)}); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	// A complete checkpoint leaves the database file exactly the size of
	// the database the last commit left (page_count pages).
	var pages, size int64
	if err := b.r.QueryRowContext(ctx, "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()").Scan(&pages); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		size = fi.Size()
		if (size == pages && b.ckpt.runs.Load() > runs) || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if size != pages || b.ckpt.runs.Load() == runs {
		t.Errorf("5 s after a commit: database file %d bytes, database %d bytes, %d checkpoints run after it; want the WAL checkpointed into the file",
			size, pages, b.ckpt.runs.Load()-runs)
	}
}
