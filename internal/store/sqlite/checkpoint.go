package sqlite

import (
	"context"
	"database/sql"
	"sync/atomic"
	"time"
)

// WAL checkpoints out of the write lock (issue 19).
//
// A checkpoint copies the pages of the WAL into the database file and
// syncs it. SQLite's automatic checkpoint runs inside the Commit that
// leaves wal_autocheckpoint pages (1,000 by default) or more in the WAL:
// on the one writer connection, under the store's write lock, so every
// write queued behind that commit waits for the copy and the database
// file's sync (6–9 % of the write path's CPU in a bulk load). Here a
// goroutine on a connection of its own runs a PASSIVE checkpoint (it
// copies what it can without waiting for, or blocking, readers or the
// writer) after commits, at most once per checkpointEvery; commits in
// between are covered by the next one. The writer's own automatic
// checkpoint is kept, at writerAutoCheckpoint pages, as the bound on the
// WAL's size if the goroutine falls behind (or readers hold the WAL).
//
// Durability is unchanged: a commit is durable when its WAL frames are
// written and synced (synchronous=FULL), which happens in Commit, before
// and regardless of any checkpoint. A crash before a checkpoint leaves
// the commits in the WAL, from which SQLite recovers them at open, as it
// always did between automatic checkpoints.

// checkpointEvery is the longest a commit waits for its pages to be
// checkpointed, and the shortest time between two checkpoints. Each
// checkpoint copies the pages written since the last one once, however
// often they were written: at 100 ms the peers' bulk load wrote 6–10 %
// more bytes than with SQLite's 1,000-page checkpoint (hot pages copied
// again and again); at 500 ms about the same.
const checkpointEvery = 500 * time.Millisecond

// writerAutoCheckpoint is the writer connection's wal_autocheckpoint:
// SQLite's default would make the writer checkpoint inside most commits
// of a bulk load before the goroutine had a chance to.
const writerAutoCheckpoint = 10000

// checkpointer runs the WAL checkpoints of one store (see above).
type checkpointer struct {
	db   *sql.DB // one connection, its own
	kick chan struct{}
	stop chan struct{}
	done chan struct{}
	runs atomic.Int64 // checkpoints run
}

func startCheckpointer(db *sql.DB) *checkpointer {
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	c := &checkpointer{db: db, kick: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	go c.run()
	return c
}

// committed notes a commit: a checkpoint follows within checkpointEvery.
// It never blocks.
func (c *checkpointer) committed() {
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

func (c *checkpointer) run() {
	defer close(c.done)
	wait := time.NewTimer(checkpointEvery)
	wait.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-c.kick:
		}
		// Let the commits of the next checkpointEvery gather (their kick
		// is kept for the next round if they come during the checkpoint).
		wait.Reset(checkpointEvery)
		select {
		case <-c.stop:
			wait.Stop()
			return
		case <-wait.C:
		}
		// An error (SQLITE_BUSY: another process is checkpointing; I/O)
		// leaves the pages in the WAL for the next checkpoint, this
		// goroutine's or the writer's automatic one; the commits are
		// durable either way.
		_, _ = c.db.ExecContext(context.Background(), "PRAGMA wal_checkpoint(PASSIVE)")
		c.runs.Add(1)
	}
}

// close stops the goroutine (after the checkpoint it may be running) and
// closes its connection.
func (c *checkpointer) close() error {
	close(c.stop)
	<-c.done
	return c.db.Close()
}
