package sqlitestore

import (
	"context"
	"database/sql"
	"sync"
	"sync/atomic"
)

// checkpointWrites is how many committed writes (calls of inTx) make the
// checkpointer copy the write-ahead log into the database: about 1,000
// log pages, SQLite's own automatic checkpoint, at the three to five pages
// a login's write changes.
const checkpointWrites = 256

// fallbackCheckpointPages is the writer connection's own automatic
// checkpoint while a checkpointer runs, in log pages: it checkpoints in
// the writer's commit, as SQLite does by default after 1,000 pages, only
// when the checkpointer has fallen that far behind.
const fallbackCheckpointPages = 10 * 1000

// checkpointer copies the write-ahead log back into the database file on
// a connection and goroutine of its own, so that no write waits for it.
// SQLite otherwise checkpoints in the commit that brings the log past
// 1,000 pages, on the one writer connection: copying the pages and the
// two fsyncs of a checkpoint held every write queued behind it, which on
// the example server under load cost about a fifth of its login
// throughput and most of its p99 (see docs/performance.md). A PASSIVE
// checkpoint neither waits for nor blocks the writer or the readers; the
// next write after it has copied the whole log starts the log anew. Close
// stops it.
type checkpointer struct {
	db     *sql.DB
	writes atomic.Int64  // writes committed since the store opened
	kick   chan struct{} // a checkpoint is due; buffered, one pending at most
	done   chan struct{} // closed when the goroutine has returned
	stop   sync.Once
}

// afterCheckpoint, when set (by tests, before any store is used), is
// called after each checkpoint the checkpointer runs, with its error.
var afterCheckpoint func(error)

func newCheckpointer(db *sql.DB) *checkpointer {
	c := &checkpointer{db: db, kick: make(chan struct{}, 1), done: make(chan struct{})}
	go c.run()
	return c
}

func (c *checkpointer) run() {
	defer close(c.done)
	for range c.kick {
		// A failure (the database locked by another process's
		// checkpoint, say) leaves the log for the next one, or for the
		// writer's fallback.
		_, err := c.db.ExecContext(context.Background(), "PRAGMA wal_checkpoint(PASSIVE)")
		if afterCheckpoint != nil {
			afterCheckpoint(err)
		}
	}
}

// committed counts n writes committed and starts a checkpoint when they
// bring the count past a multiple of checkpointWrites.
func (c *checkpointer) committed(n int) {
	if c == nil {
		return
	}
	after := c.writes.Add(int64(n))
	if after/checkpointWrites == (after-int64(n))/checkpointWrites {
		return
	}
	select {
	case c.kick <- struct{}{}:
	default: // one is pending already
	}
}

// close stops the goroutine, waiting for a checkpoint in progress, and
// closes its connection.
func (c *checkpointer) close() error {
	if c == nil {
		return nil
	}
	var err error
	c.stop.Do(func() {
		close(c.kick)
		<-c.done
		err = c.db.Close()
	})
	return err
}
