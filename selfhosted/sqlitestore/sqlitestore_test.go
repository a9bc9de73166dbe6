package sqlitestore

import (
	"bytes"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/passkeyready/passkeys"
	"github.com/passkeyready/passkeys/passkeystest/keepertest"
	"github.com/passkeyready/passkeys/selfhosted"
	"github.com/passkeyready/passkeys/selfhosted/storetest"
)

// openTemp opens a store on a new file in a temporary directory.
func openTemp(t *testing.T) *Store {
	t.Helper()
	return openTempWith(t, Options{})
}

// openTempWith opens a store with opts on a new file in a temporary
// directory, closed when the test ends.
func openTempWith(t *testing.T, opts Options) *Store {
	t.Helper()
	s, err := OpenWith(filepath.Join(t.TempDir(), "passkeys.db"), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s
}

func TestConformance(t *testing.T) {
	storetest.RunHarness(t, storetest.Harness{
		NewStore: func(t *testing.T) selfhosted.Store { return openTemp(t) },
		Count: func(t *testing.T, s selfhosted.Store, kind storetest.Kind) int {
			return rows(t, s.(*Store), string(kind))
		},
		PurgeEvery: purgeEvery, PurgeLimit: purgeLimit,
	})
}

func TestKeeperConformance(t *testing.T) {
	keepertest.Run(t, func(t *testing.T) passkeys.CeremonyKeeper { return selfhosted.Keeper(openTemp(t)) })
}

var day0 = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

func alice() selfhosted.UserRecord {
	return selfhosted.UserRecord{ID: "alice", Email: "alice@example.com", Handle: bytes.Repeat([]byte{0, 1}, 16), CreatedAt: day0}
}

// schemaVersion reads PRAGMA user_version.
func schemaVersion(t *testing.T, db *sql.DB) int {
	t.Helper()
	var v int
	if err := db.QueryRowContext(t.Context(), "PRAGMA user_version").Scan(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

// withMigrations replaces the package's migrations for the rest of the test.
func withMigrations(t *testing.T, steps []string) {
	saved := migrations
	migrations = steps
	t.Cleanup(func() { migrations = saved })
}

func TestReopen(t *testing.T) {
	ctx, path := t.Context(), filepath.Join(t.TempDir(), "passkeys.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateUser(ctx, alice()); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	// A later version of the package adds a step; reopening applies only
	// that step, and reopening again applies nothing (a repeated CREATE
	// TABLE would fail).
	withMigrations(t, append(slices.Clip(migrations), `CREATE TABLE extra (x INTEGER) STRICT`))
	for range 2 {
		s, err := Open(path)
		if err != nil {
			t.Fatalf("reopen: %v", err)
		}
		if got, want := schemaVersion(t, s.db), len(migrations); got != want {
			t.Errorf("schema version = %d, want %d", got, want)
		}
		if u, err := s.UserByID(ctx, "alice"); err != nil || u.Email != "alice@example.com" {
			t.Errorf("UserByID after reopen = %+v, %v; want alice", u, err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestFailedMigrationRollsBack(t *testing.T) {
	path := filepath.Join(t.TempDir(), "passkeys.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()

	applied := len(migrations)
	withMigrations(t, append(slices.Clip(migrations),
		`CREATE TABLE good (x INTEGER) STRICT`,
		`CREATE TABLE partial (x INTEGER) STRICT; CREATE TABLE users (x INTEGER)`))
	failing := fmt.Sprint("step ", applied+2)
	if _, err := Open(path); err == nil || !strings.Contains(err.Error(), failing) {
		t.Fatalf("Open with a failing step: error = %v, want one naming %s", err, failing)
	}

	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if got := schemaVersion(t, db); got != applied {
		t.Errorf("schema version after a failed migration = %d, want %d", got, applied)
	}
	var n int
	if err := db.QueryRowContext(t.Context(),
		`SELECT count(*) FROM sqlite_schema WHERE name IN ('good', 'partial')`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("%d tables of the failed migration remain, want 0", n)
	}
}

func TestNewerSchemaRejected(t *testing.T) {
	path := filepath.Join(t.TempDir(), "passkeys.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(t.Context(), "PRAGMA user_version = 99"); err != nil {
		t.Fatal(err)
	}
	if _, err := New(t.Context(), db); err == nil || !strings.Contains(err.Error(), "newer") {
		t.Errorf("New on a newer schema: error = %v, want one saying it is newer", err)
	}
}

func TestConcurrentOpen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "passkeys.db")
	errs := make([]error, 4)
	var wg sync.WaitGroup
	for i := range errs {
		wg.Go(func() {
			s, err := Open(path)
			if err == nil {
				err = s.Close()
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Open #%d: %v", i, err)
		}
	}
}

func TestOpenRejectsQueryInPath(t *testing.T) {
	for _, path := range []string{"", "passkeys.db?mode=ro"} {
		if _, err := Open(path); err == nil {
			t.Errorf("Open(%q): no error", path)
		}
	}
}

func TestNewOnApplicationDB(t *testing.T) {
	ctx := t.Context()
	db, err := sql.Open("sqlite", filepath.Join(t.TempDir(), "app.db")+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, `CREATE TABLE app (x INTEGER); INSERT INTO app VALUES (42)`); err != nil {
		t.Fatal(err)
	}

	s, err := New(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateUser(ctx, alice()); err != nil {
		t.Fatal(err)
	}
	if u, _, err := s.UserWithCredentials(ctx, selfhosted.UserKey{Handle: alice().Handle}); err != nil || u.ID != "alice" {
		t.Errorf("UserWithCredentials by handle = %+v, %v; want alice", u, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	// Close left the application's database open and its table alone.
	var x int
	if err := db.QueryRowContext(ctx, `SELECT x FROM app`).Scan(&x); err != nil || x != 42 {
		t.Errorf("app table after Close: %d, %v; want 42", x, err)
	}
	if _, err := New(ctx, db); err != nil {
		t.Errorf("New again on the same db: %v", err)
	}
}

// rows counts the rows of table.
func rows(t *testing.T, s *Store, table string) int {
	t.Helper()
	var n int
	if err := s.db.QueryRowContext(t.Context(), `SELECT count(*) FROM `+table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestOpenKeepsOneConnection(t *testing.T) {
	s := openTemp(t)
	if n := s.db.Stats().MaxOpenConnections; n != 1 {
		t.Errorf("Open's pool allows %d connections, want 1", n)
	}
}

// statements counts the store's prepared statements, on the writer's
// connection and the read-only ones.
func statements(s *Store) int {
	n := 0
	s.stmts.Range(func(any, any) bool { n++; return true })
	s.readStmts.Range(func(any, any) bool { n++; return true })
	return n
}

func TestStatementsPreparedOnceClosedByClose(t *testing.T) {
	ctx := t.Context()
	s, err := Open(filepath.Join(t.TempDir(), "passkeys.db"))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateUser(ctx, alice()); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := s.UserByID(ctx, "alice"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.UserByID(ctx, "bob"); !errors.Is(err, selfhosted.ErrNotFound) {
			t.Fatalf("UserByID(bob) = %v, want ErrNotFound", err)
		}
	}
	if n := statements(s); n != 2 {
		t.Errorf("%d statements prepared for two distinct queries, want 2", n)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if n := statements(s); n != 0 {
		t.Errorf("%d statements left after Close, want 0", n)
	}
}

// TestWithoutRowidMigrationKeepsRows opens a database at the schema before
// ceremonies and sessions became WITHOUT ROWID tables, stores one of each,
// and checks that the rebuild keeps them whole and their indexes serve.
func TestWithoutRowidMigrationKeepsRows(t *testing.T) {
	ctx, path := t.Context(), filepath.Join(t.TempDir(), "passkeys.db")
	full := migrations
	withMigrations(t, slices.Clip(full[:3]))
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	c := selfhosted.Ceremony{Challenge: "chal", Kind: selfhosted.CeremonyLogin, UserID: "alice", Session: []byte{1, 2, 0, 3}, ExpiresAt: day0.Add(time.Minute)}
	if err := s.PutCeremony(ctx, c, day0); err != nil {
		t.Fatal(err)
	}
	sess := selfhosted.SessionRecord{
		ID: "sid", TokenHash: bytes.Repeat([]byte{7}, 32), UserID: "alice", Email: "alice@example.com",
		CreatedAt: day0, LastSeenAt: day0, ExpiresAt: day0.Add(time.Hour), IdleExpiresAt: day0.Add(time.Hour),
		UserAgent: "ua", IP: "192.0.2.1", AuthMethod: "passkey", AuthenticatedAt: day0,
	}
	if err := s.CreateSession(ctx, sess, day0); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	migrations = full
	s, err = Open(path)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer s.Close()
	for _, table := range []string{"ceremonies", "sessions"} {
		var sql string
		if err := s.db.QueryRowContext(ctx, "SELECT sql FROM sqlite_schema WHERE name = ?", table).Scan(&sql); err != nil {
			t.Fatal(err)
		}
		if !strings.HasSuffix(sql, "WITHOUT ROWID") {
			t.Errorf("%s after migration: %s", table, sql)
		}
	}
	if got, err := s.SessionByTokenHash(ctx, sess.TokenHash, day0); err != nil || fmt.Sprint(got) != fmt.Sprint(sess) {
		t.Errorf("session after migration = %+v, %v; want %+v", got, err, sess)
	}
	if got, err := s.TakeCeremony(ctx, "chal", day0); err != nil || fmt.Sprint(got) != fmt.Sprint(c) {
		t.Errorf("ceremony after migration = %+v, %v; want %+v", got, err, c)
	}
	if err := s.PutCeremony(ctx, c, day0); err != nil {
		t.Errorf("PutCeremony after migration: %v", err)
	}
}
