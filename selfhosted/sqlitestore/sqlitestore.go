// Package sqlitestore is a [selfhosted.Store] on SQLite, through the pure-Go
// driver modernc.org/sqlite: the embedded default for a single server.
//
// [Open] opens (or creates) a database file and configures it; [New] uses a
// *sql.DB the application already has. Both bring the schema up to date: the
// package keeps an ordered list of migrations and records how many have run
// in PRAGMA user_version, so opening a database again applies only the steps
// it lacks.
//
// Every check-and-change the store contract calls atomic is a single SQL
// statement, so several processes may share one database file. The writes
// of a login (taking and storing ceremonies, recording a passkey's use,
// creating a session, appending to the audit trail) that arrive while
// another is being written wait and are then committed together, each in
// a savepoint of its own, so that one commit carries several (group
// commit); each caller still returns after the commit that holds its
// write. Each statement is prepared once, on first use, and kept until
// Close. Times are stored as integer Unix microseconds in UTC.
package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/passkeyready/passkeys"
	"github.com/passkeyready/passkeys/selfhosted"
)

// purgeLimit bounds how many expired rows one call deletes in passing.
// PutCeremony purges on every purgeEvery-th call: up to purgeLimit expired
// ceremonies, more than the calls in between add.
const (
	purgeLimit = 100
	purgeEvery = 16
)

// Store is a [selfhosted.Store] on a SQLite database. It is safe for
// concurrent use.
type Store struct {
	db           *sql.DB
	ownsDB       bool           // Close closes db: Open opened it
	reads        *sql.DB        // the read-only connections Open opened beside db, or db itself
	mem          *memCeremonies // the ceremonies with Options.SingleProcess, else nil
	stmts        sync.Map       // query text to its *sql.Stmt on db, prepared on first use
	readStmts    sync.Map       // query text to its *sql.Stmt on reads, when reads is not db
	checkpoints  *checkpointer  // the log's checkpoints off the writer, when Open started one
	ceremonyPuts atomic.Uint64  // PutCeremony calls so far
	sessionPuts  atomic.Uint64  // CreateSession calls so far
	activityPuts atomic.Uint64  // activity records appended so far
	commits      groupCommit    // the write transactions of inTx
}

var (
	_ selfhosted.Store               = (*Store)(nil)
	_ selfhosted.UserByIDStore       = (*Store)(nil)
	_ selfhosted.CredentialByIDStore = (*Store)(nil)
)

// Open opens the SQLite database file at path, creating it if needed, and
// brings its schema up to date. It keeps one connection for writes, which
// uses write-ahead logging, synchronous=NORMAL, enforced foreign keys and
// a ten-second busy timeout: SQLite runs one writer at a time anyway, and
// with one connection concurrent writes queue in the store (see the
// package documentation) instead of opening connections and contending
// for the file's lock. Beside it four read-only connections run the
// store's SELECTs, which write-ahead logging lets read while a write
// commits, so that a read never waits for one; each read sees every write
// that returned before it started. A goroutine of the store, on a
// connection of its own, copies the write-ahead log back into the file
// (a checkpoint) after every 256 writes, so that no write waits for a
// checkpoint; Close stops it. path is a file name, not a URI, and must
// not contain '?'. Close the Store to close the database. Open is
// OpenWith with the zero Options: several processes may share the file.
//
// synchronous=NORMAL in write-ahead-log mode commits without waiting for
// the disk: a crash of the process loses nothing committed, but a power
// loss or a crash of the operating system may roll the database back to
// its last checkpoint (about every 256 writes, some hundred logins; the
// writer checkpoints by itself after 10,000 log pages, should the
// checkpoints fall that far behind), consistent but without the latest commits: sign-ups, passkeys
// added, sessions issued, and also sign-outs, revoked sessions, used
// one-time codes and consumed ceremonies, which come back until they
// expire; a passkey's signature counter may step back to its earlier
// value.
func Open(path string) (*Store, error) { return OpenWith(path, Options{}) }

// Options configure [OpenWith]. The zero value is what [Open] does.
type Options struct {
	// SingleProcess makes this process the only user of the database file
	// while the store is open, and keeps the ceremonies in progress (the
	// state between a passkey start and its finish, at most
	// selfhosted.Config.CeremonyTimeout old) in memory instead of the
	// database: a login then writes two transactions fewer. The file is
	// locked exclusively (SQLite's locking_mode=EXCLUSIVE), so another
	// process, or a second Open in this one, cannot read or write it
	// until Close; back it up from this process with [Store.Backup]. It
	// reads, writes and checkpoints on its one connection (SQLite's own
	// checkpoint, in the commit that brings the log to 1,000 pages), so
	// under concurrent requests it serves fewer than Open, which reads
	// beside the writer and checkpoints off it, despite its fewer
	// transactions. A restart or crash loses the ceremonies in progress: a sign-in or
	// passkey registration started before it fails at its finish (400,
	// start again); nothing else is lost that Open would keep. Default
	// false: the ceremonies are in the file and any number of processes
	// may share it.
	SingleProcess bool
}

// OpenWith is [Open] with options.
func OpenWith(path string, o Options) (*Store, error) {
	if path == "" || strings.ContainsRune(path, '?') {
		return nil, fmt.Errorf("sqlitestore: invalid database path %q", path)
	}
	dsn := path + "?_pragma=busy_timeout(10000)&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(1)"
	if o.SingleProcess {
		// Set before the first access, so that write-ahead logging keeps
		// its index in this connection's memory, without shared memory or
		// file locks per transaction.
		dsn += "&_pragma=locking_mode(EXCLUSIVE)"
	} else {
		// The checkpointer copies the log; the writer only when it lags.
		dsn += fmt.Sprintf("&_pragma=wal_autocheckpoint(%d)", fallbackCheckpointPages)
	}
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: open %s: %w", path, err)
	}
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	if err := useWAL(db, 10*time.Second); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlitestore: open %s: %w", path, err)
	}
	s, err := New(context.Background(), db)
	if err != nil {
		db.Close()
		return nil, err
	}
	s.ownsDB = true
	if o.SingleProcess {
		// No other connection can open the locked file: reads stay on db.
		s.mem = newMemCeremonies()
		return s, nil
	}
	reads, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(10000)&_pragma=query_only(1)")
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("sqlitestore: open %s for reading: %w", path, err)
	}
	reads.SetMaxOpenConns(readConns)
	reads.SetMaxIdleConns(readConns)
	s.reads = reads
	ckpt, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(10000)&_pragma=synchronous(NORMAL)")
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("sqlitestore: open %s for checkpoints: %w", path, err)
	}
	ckpt.SetMaxOpenConns(1)
	ckpt.SetMaxIdleConns(1)
	s.checkpoints = newCheckpointer(ckpt)
	return s, nil
}

// readConns is how many read-only connections Open keeps beside the
// writer's.
const readConns = 4

// useWAL switches the database file to write-ahead logging, which then
// stays on in the file. SQLite does not wait for a lock to make this
// switch, so while another connection holds one (another process opening
// the same new file, say) it is retried for up to timeout.
func useWAL(db *sql.DB, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		var mode string
		err := db.QueryRow("PRAGMA journal_mode = WAL").Scan(&mode)
		var se *sqlite.Error
		switch {
		case err == nil && mode == "wal":
			return nil
		case err == nil:
			return fmt.Errorf("journal mode is %s, not wal", mode)
		case !errors.As(err, &se) || se.Code()&0xff != sqlite3.SQLITE_BUSY || time.Now().After(deadline):
			return fmt.Errorf("enable write-ahead logging: %w", err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// New returns a Store on db, which must have been opened with the
// modernc.org/sqlite driver ("sqlite"), after bringing its schema up to
// date. The application keeps ownership of db: Close leaves it open. Its
// connections should set a busy timeout, as Open does, or concurrent
// writers fail with SQLITE_BUSY instead of waiting. The store is fastest
// on a single connection (db.SetMaxOpenConns(1), as Open does), but the
// pool is the application's to size; the store never holds a connection
// while it issues another statement, so any size works.
func New(ctx context.Context, db *sql.DB) (*Store, error) {
	if _, ok := db.Driver().(*sqlite.Driver); !ok {
		return nil, fmt.Errorf("sqlitestore: db uses driver %T, want modernc.org/sqlite", db.Driver())
	}
	if err := migrate(ctx, db); err != nil {
		return nil, err
	}
	s := &Store{db: db}
	s.reads = db
	return s, nil
}

// Close closes the store's prepared statements and, if Open opened it,
// the database; a database passed to New is left open.
func (s *Store) Close() error {
	errs := []error{s.checkpoints.close()}
	for _, m := range []*sync.Map{&s.stmts, &s.readStmts} {
		m.Range(func(query, st any) bool {
			errs = append(errs, st.(*sql.Stmt).Close())
			m.Delete(query)
			return true
		})
	}
	if s.ownsDB {
		if s.reads != s.db {
			errs = append(errs, s.reads.Close())
		}
		errs = append(errs, s.db.Close())
	}
	return errors.Join(errs...)
}

// Backup writes a consistent copy of the database to a new file at path
// with SQLite's VACUUM INTO, while the store keeps serving; the copy is
// the database as of one moment, compacted. path must not exist (SQLite
// refuses to overwrite a file). With [Options.SingleProcess] this is the
// way to back the database up, since no other connection can read the
// file; the copy has no ceremonies in progress, which are in memory.
// Statements of the store wait while it runs on Open's one connection.
func (s *Store) Backup(ctx context.Context, path string) error {
	if path == "" {
		return fmt.Errorf("sqlitestore: backup: empty path")
	}
	if _, err := s.db.ExecContext(ctx, "VACUUM INTO ?", path); err != nil {
		return fmt.Errorf("sqlitestore: backup to %s: %w", path, err)
	}
	return nil
}

// stmt returns the prepared statement for query, preparing it on first
// use, so that SQLite parses each statement once rather than on every call.
func (s *Store) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	return prepared(ctx, s.db, &s.stmts, query)
}

// readStmt is stmt for a query that only reads: prepared on the read-only
// connections when Open opened them.
func (s *Store) readStmt(ctx context.Context, query string) (*sql.Stmt, error) {
	if s.reads == s.db {
		return s.stmt(ctx, query)
	}
	return prepared(ctx, s.reads, &s.readStmts, query)
}

// prepared returns the statement of query in stmts, preparing it on db on
// first use.
func prepared(ctx context.Context, db *sql.DB, stmts *sync.Map, query string) (*sql.Stmt, error) {
	if st, ok := stmts.Load(query); ok {
		return st.(*sql.Stmt), nil
	}
	st, err := db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if prev, loaded := stmts.LoadOrStore(query, st); loaded {
		st.Close() // prepared concurrently; keep the first
		return prev.(*sql.Stmt), nil
	}
	return st, nil
}

// traceStatement, when set (by tests, before any store is used), sees every
// statement the store runs with its arguments.
var traceStatement func(query string, args []any)

// exec runs query, which changes rows, as a prepared statement.
func (s *Store) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if traceStatement != nil {
		traceStatement(query, args)
	}
	st, err := s.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(ctx, args...)
}

// query runs query, a SELECT, as a prepared statement on the read-only
// connections.
func (s *Store) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if traceStatement != nil {
		traceStatement(query, args)
	}
	st, err := s.readStmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

// txExec runs query, which changes rows and which inTx prepared, in tx.
func (s *Store) txExec(ctx context.Context, tx *sql.Tx, query string, args ...any) (sql.Result, error) {
	st, err := s.txStmt(ctx, tx, query, args)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(ctx, args...)
}

// txQueryRow runs query, which returns at most one row and which inTx
// prepared, in tx.
func (s *Store) txQueryRow(ctx context.Context, tx *sql.Tx, query string, args ...any) row {
	st, err := s.txStmt(ctx, tx, query, args)
	if err != nil {
		return errRow{err}
	}
	return st.QueryRowContext(ctx, args...)
}

func (s *Store) txStmt(ctx context.Context, tx *sql.Tx, query string, args []any) (*sql.Stmt, error) {
	if traceStatement != nil {
		traceStatement(query, args)
	}
	st, ok := s.stmts.Load(query)
	if !ok {
		return nil, fmt.Errorf("statement not prepared for the transaction: %s", query)
	}
	return tx.StmtContext(ctx, st.(*sql.Stmt)), nil
}

// row is what a query for one row returns: a *sql.Row, or errRow when the
// statement could not be prepared.
type row interface{ Scan(dest ...any) error }

type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }

// readRow runs query, a SELECT that returns at most one row, as a
// prepared statement on the read-only connections.
func (s *Store) readRow(ctx context.Context, query string, args ...any) row {
	if traceStatement != nil {
		traceStatement(query, args)
	}
	st, err := s.readStmt(ctx, query)
	if err != nil {
		return errRow{err}
	}
	return st.QueryRowContext(ctx, args...)
}

// queryRow runs query, which writes and returns at most one row (UPDATE
// ... RETURNING), as a prepared statement.
func (s *Store) queryRow(ctx context.Context, query string, args ...any) row {
	if traceStatement != nil {
		traceStatement(query, args)
	}
	st, err := s.stmt(ctx, query)
	if err != nil {
		return errRow{err}
	}
	return st.QueryRowContext(ctx, args...)
}

// micros encodes t as Unix microseconds.
func micros(t time.Time) int64 { return t.UnixMicro() }

// fromMicros decodes Unix microseconds as a UTC time.
func fromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }

// nullMicros encodes t as Unix microseconds, or NULL for the zero time.
func nullMicros(t time.Time) sql.NullInt64 {
	return sql.NullInt64{Int64: t.UnixMicro(), Valid: !t.IsZero()}
}

// fromNullMicros decodes what nullMicros encodes.
func fromNullMicros(us sql.NullInt64) time.Time {
	if !us.Valid {
		return time.Time{}
	}
	return fromMicros(us.Int64)
}

// storeErr maps a failed statement to the contract: no rows becomes
// ErrNotFound, a violated UNIQUE or PRIMARY KEY constraint ErrDuplicate;
// anything else is wrapped with what was being done, and a fault that
// passes by itself (see unavailable) becomes passkeys.ErrUnavailable with
// that as its cause, which the handler answers with 503 and Retry-After
// instead of 500.
func storeErr(op string, err error) error {
	var se *sqlite.Error
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return selfhosted.ErrNotFound
	case errors.As(err, &se) && (se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || se.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY):
		return selfhosted.ErrDuplicate
	case unavailable(err):
		return passkeys.ErrUnavailable.With("", fmt.Errorf("sqlitestore: %s: %w", op, err))
	default:
		return fmt.Errorf("sqlitestore: %s: %w", op, err)
	}
}

// unavailable reports whether err passes by itself: the database stayed
// locked by another connection or process beyond the busy timeout
// (SQLITE_BUSY, SQLITE_LOCKED and their extended codes), a deadline passed
// while waiting for the connection or the lock, or the connection was
// closed under the statement. Disk faults (SQLITE_IOERR, SQLITE_FULL,
// SQLITE_CORRUPT, SQLITE_READONLY, SQLITE_CANTOPEN) and memory exhaustion
// are not: they need an operator, and "try again shortly" would hide them,
// so they stay 500. A cancelled context is not either: the client has
// gone.
func unavailable(err error) bool {
	var se *sqlite.Error
	switch {
	case errors.As(err, &se):
		primary := se.Code() & 0xff
		return primary == sqlite3.SQLITE_BUSY || primary == sqlite3.SQLITE_LOCKED
	case errors.Is(err, context.Canceled):
		return false
	}
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, sql.ErrConnDone)
}

// oneRow reports ErrNotFound unless the statement behind res changed a row.
func oneRow(res sql.Result, op string) error {
	n, err := res.RowsAffected()
	switch {
	case err != nil:
		return storeErr(op, err)
	case n == 0:
		return selfhosted.ErrNotFound
	}
	return nil
}
