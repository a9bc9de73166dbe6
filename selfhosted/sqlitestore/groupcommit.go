package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
)

// groupCommit runs the store's write transactions, several to a commit
// when they arrive together: SQLite writes one at a time anyway, and most
// of a small write's cost is its commit (appending every page it changed
// to the write-ahead log), so writes that wait for the writer are run,
// when it is their turn, in one transaction, each in a savepoint of its
// own, and committed once; pages they share (the last leaf of a table, an
// index's) are written once. No write waits for others to arrive: a write
// that finds the writer free commits alone. Each caller returns after the
// commit that holds its write, with its own result; one that fails is
// rolled back to its savepoint and the others commit without it.
type groupCommit struct {
	writer sync.Mutex // held by the caller that runs a batch
	mu     sync.Mutex // guards queue
	queue  []*pendingWrite
}

type pendingWrite struct {
	ctx  context.Context
	op   string
	fn   func(ctx context.Context, tx *sql.Tx) error
	done bool  // set, with err, by the caller that ran it, under writer
	err  error // fn's error or the commit's
}

// inTx runs fn in a write transaction, possibly shared with other writes
// (see groupCommit), and returns once that is committed, or fn's error
// after undoing what fn did. fn runs its statements, which must be among
// queries, through txExec and txQueryRow with the context it is given
// (never ctx itself: a statement interrupted by its context's end makes
// SQLite roll back the whole transaction, the other callers' writes in it
// too, so in a shared transaction ctx is checked only before fn starts and
// fn runs under a context that does not end); inTx prepares them first, since
// with one connection (as Open keeps) the transaction holds the only one.
// The first statement of fn should write, so that the transaction takes
// the write lock before it reads: a transaction that reads first may find,
// when it comes to write, that another connection wrote in between, and
// fails with SQLITE_BUSY without waiting.
func (s *Store) inTx(ctx context.Context, op string, queries []string, fn func(ctx context.Context, tx *sql.Tx) error) error {
	for _, q := range append(queries, savepointSQL[:]...) {
		if _, err := s.stmt(ctx, q); err != nil {
			return storeErr(op, err)
		}
	}
	w := &pendingWrite{ctx: ctx, op: op, fn: fn}
	g := &s.commits
	g.mu.Lock()
	g.queue = append(g.queue, w)
	g.mu.Unlock()

	g.writer.Lock()
	defer g.writer.Unlock()
	if !w.done {
		// w is still queued: run the queue, w among it.
		g.mu.Lock()
		batch := g.queue
		g.queue = nil
		g.mu.Unlock()
		s.runBatch(batch)
	}
	return w.err
}

// runBatch runs the writes of batch in one transaction and commits it.
func (s *Store) runBatch(batch []*pendingWrite) {
	finish := func(ws []*pendingWrite, err error) {
		for _, w := range ws {
			if !w.done {
				w.done, w.err = true, err
			}
		}
	}
	// The transaction is every caller's, so no one caller's context ends
	// it: a write's context is checked before its statements run, which
	// then run under it without its cancellation (an interrupted statement
	// would roll the whole transaction back). A write alone keeps its own.
	ctx := context.WithoutCancel(batch[0].ctx)
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		for _, w := range batch {
			finish([]*pendingWrite{w}, storeErr(w.op, err))
		}
		return
	}
	single := len(batch) == 1
	for _, w := range batch {
		if err := w.ctx.Err(); err != nil {
			finish([]*pendingWrite{w}, storeErr(w.op, err))
			continue
		}
		if single {
			if err := w.fn(w.ctx, tx); err != nil {
				_ = tx.Rollback() // fn's error is the one to report
				finish(batch, err)
				return
			}
			break
		}
		if _, err := s.savepoint(ctx, tx, 0); err != nil {
			s.abandon(tx, batch, err, finish)
			return
		}
		if err := w.fn(context.WithoutCancel(w.ctx), tx); err != nil {
			finish([]*pendingWrite{w}, err)
			if _, rerr := s.savepoint(ctx, tx, 2); rerr != nil {
				// SQLite rolled the whole transaction back (as it does
				// after some errors): the writes before w are undone too.
				s.abandon(tx, batch, fmt.Errorf("%w (after %w)", rerr, err), finish)
				return
			}
		}
		if _, err := s.savepoint(ctx, tx, 1); err != nil {
			s.abandon(tx, batch, err, finish)
			return
		}
	}
	if err := tx.Commit(); err != nil {
		for _, w := range batch {
			finish([]*pendingWrite{w}, storeErr(w.op, err))
		}
		return
	}
	finish(batch, nil)
	s.checkpoints.committed(len(batch))
}

// abandon rolls tx back and fails every write of ws that has no result
// yet with err.
func (s *Store) abandon(tx *sql.Tx, ws []*pendingWrite, err error, finish func([]*pendingWrite, error)) {
	_ = tx.Rollback() // err is the one to report
	for _, w := range ws {
		finish([]*pendingWrite{w}, storeErr(w.op, errors.Join(errBatchAbandoned, err)))
	}
}

// savepointSQL are the statements that keep a batch's writes apart:
// open, release and roll back the savepoint of one write.
var savepointSQL = [...]string{"SAVEPOINT write", "RELEASE write", "ROLLBACK TO write"}

// savepoint runs savepointSQL[i], prepared by inTx, in tx.
func (s *Store) savepoint(ctx context.Context, tx *sql.Tx, i int) (sql.Result, error) {
	st, ok := s.stmts.Load(savepointSQL[i])
	if !ok {
		return nil, fmt.Errorf("statement not prepared for the transaction: %s", savepointSQL[i])
	}
	return tx.StmtContext(ctx, st.(*sql.Stmt)).ExecContext(ctx)
}

var errBatchAbandoned = errors.New("write transaction rolled back")
