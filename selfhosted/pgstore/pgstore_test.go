package pgstore

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/passkeyready/passkeys"
	"github.com/passkeyready/passkeys/passkeystest/keepertest"
	"github.com/passkeyready/passkeys/selfhosted"
	"github.com/passkeyready/passkeys/selfhosted/storetest"
)

// dsnEnv names the variable that points the tests at a PostgreSQL server.
const dsnEnv = "PASSKEYS_TEST_POSTGRES_DSN"

// testDSN returns the server to test against, or skips the test.
func testDSN(t *testing.T) string {
	t.Helper()
	dsn := os.Getenv(dsnEnv)
	if dsn == "" {
		t.Skipf("%s is not set; set it to a PostgreSQL URL (for example postgres://user@127.0.0.1:5432/db?sslmode=disable) to run the PostgreSQL tests", dsnEnv)
	}
	return dsn
}

// testPool connects to the test server for the duration of the test.
func testPool(t *testing.T) *pgxpool.Pool {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(testDSN(t))
	if err != nil {
		t.Fatal(err)
	}
	cfg.MaxConns = 10 // let the race tests race
	pool, err := pgxpool.NewWithConfig(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// freshSchema returns the name of a schema that does not exist yet and is
// dropped, with everything in it, when the test ends. The name holds a
// space, a double quote and capitals, so every statement exercises quoting.
func freshSchema(t *testing.T, pool *pgxpool.Pool) string {
	t.Helper()
	name := fmt.Sprintf(`Passkeys Test "%s"`, rand.Text()[:12])
	t.Cleanup(func() {
		_, err := pool.Exec(context.Background(), `DROP SCHEMA IF EXISTS `+pgx.Identifier{name}.Sanitize()+` CASCADE`)
		if err != nil {
			t.Errorf("drop test schema: %v", err)
		}
	})
	return name
}

func TestConformance(t *testing.T) {
	pool := testPool(t)
	storetest.RunHarness(t, storetest.Harness{
		NewStore: func(t *testing.T) selfhosted.Store {
			s, err := New(t.Context(), pool, WithSchema(freshSchema(t, pool)))
			if err != nil {
				t.Fatal(err)
			}
			return s
		},
		Count: func(t *testing.T, s selfhosted.Store, kind storetest.Kind) int {
			return count(t, s.(*Store), `SELECT count(*) FROM {schema}.`+string(kind))
		},
		PurgeEvery: purgeEvery, PurgeLimit: purgeLimit,
	})
}

func TestKeeperConformance(t *testing.T) {
	keepertest.Run(t, func(t *testing.T) passkeys.CeremonyKeeper { return selfhosted.Keeper(newStore(t)) })
}

var day0 = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

func alice() selfhosted.UserRecord {
	return selfhosted.UserRecord{ID: "alice", Email: "alice@example.com", Handle: bytes.Repeat([]byte{0, 1}, 16), CreatedAt: day0}
}

// withMigrations replaces the package's migrations for the rest of the test.
func withMigrations(t *testing.T, steps []string) {
	saved := migrations
	migrations = steps
	t.Cleanup(func() { migrations = saved })
}

// count runs a count(*) query, with {schema} standing for s's schema.
func count(t *testing.T, s *Store, query string) int {
	t.Helper()
	var n int
	if err := s.pool.QueryRow(t.Context(), s.sql(query)).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestReopen(t *testing.T) {
	ctx, dsn := t.Context(), testDSN(t)
	schema := freshSchema(t, testPool(t))
	s, err := Open(ctx, dsn, WithSchema(schema))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateUser(ctx, alice()); err != nil {
		t.Fatal(err)
	}
	s.Close()

	// A later version of the package adds a step; reopening applies only
	// that step, and reopening again applies nothing (a repeated CREATE
	// TABLE would fail).
	withMigrations(t, append(slices.Clip(migrations), `CREATE TABLE {schema}.extra (x integer)`))
	for range 2 {
		s, err := Open(ctx, dsn, WithSchema(schema))
		if err != nil {
			t.Fatalf("reopen: %v", err)
		}
		if got, want := count(t, s, `SELECT count(*) FROM {schema}.schema_migrations`), len(migrations); got != want {
			t.Errorf("%d migrations recorded, want %d", got, want)
		}
		if u, err := s.UserByID(ctx, "alice"); err != nil || u.Email != "alice@example.com" {
			t.Errorf("UserByID after reopen = %+v, %v; want alice", u, err)
		}
		s.Close()
	}
}

func TestConcurrentOpen(t *testing.T) {
	dsn := testDSN(t)
	pool := testPool(t)
	schema := freshSchema(t, pool)
	errs := make([]error, 4)
	var wg sync.WaitGroup
	for i := range errs {
		wg.Go(func() {
			s, err := Open(t.Context(), dsn, WithSchema(schema))
			if err == nil {
				s.Close()
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
	s, err := New(t.Context(), pool, WithSchema(schema))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := count(t, s, `SELECT count(*) FROM {schema}.schema_migrations`), len(migrations); got != want {
		t.Errorf("%d migrations recorded, want %d", got, want)
	}
}

func TestFailedMigrationRollsBack(t *testing.T) {
	pool := testPool(t)
	schema := freshSchema(t, pool)
	s, err := New(t.Context(), pool, WithSchema(schema))
	if err != nil {
		t.Fatal(err)
	}

	applied := len(migrations)
	withMigrations(t, append(slices.Clip(migrations),
		`CREATE TABLE {schema}.good (x integer)`,
		`CREATE TABLE {schema}.partial (x integer); CREATE TABLE {schema}.users (x integer)`))
	failing := fmt.Sprint("step ", applied+2)
	if _, err := New(t.Context(), pool, WithSchema(schema)); err == nil || !strings.Contains(err.Error(), failing) {
		t.Fatalf("New with a failing step: error = %v, want one naming %s", err, failing)
	}
	if got := count(t, s, `SELECT count(*) FROM {schema}.schema_migrations`); got != applied {
		t.Errorf("%d migrations recorded after a failed migration, want %d", got, applied)
	}
	if got := count(t, s, `SELECT count(*) FROM pg_tables WHERE schemaname = '`+strings.ReplaceAll(schema, "'", "''")+`' AND tablename IN ('good', 'partial')`); got != 0 {
		t.Errorf("%d tables of the failed migration remain, want 0", got)
	}
}

func TestNewerSchemaRejected(t *testing.T) {
	pool := testPool(t)
	schema := freshSchema(t, pool)
	s, err := New(t.Context(), pool, WithSchema(schema))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(t.Context(), s.sql(`INSERT INTO {schema}.schema_migrations (version) VALUES (99)`)); err != nil {
		t.Fatal(err)
	}
	if _, err := New(t.Context(), pool, WithSchema(schema)); err == nil || !strings.Contains(err.Error(), "newer") {
		t.Errorf("New on a newer schema: error = %v, want one saying it is newer", err)
	}
}

func TestInvalidSchemaName(t *testing.T) {
	for _, name := range []string{"", strings.Repeat("s", 64), "a\x00b"} {
		// The name is checked before the pool is used.
		if _, err := New(t.Context(), nil, WithSchema(name)); err == nil {
			t.Errorf("New(WithSchema(%q)): no error", name)
		}
	}
}

func TestCloseLeavesPoolOpen(t *testing.T) {
	pool := testPool(t)
	s, err := New(t.Context(), pool, WithSchema(freshSchema(t, pool)))
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if err := pool.Ping(t.Context()); err != nil {
		t.Errorf("pool after Close: %v", err)
	}
}

// newStore returns a Store on a fresh schema of the test server.
func newStore(t *testing.T, opts ...Option) *Store {
	t.Helper()
	pool := testPool(t)
	s, err := New(t.Context(), pool, append([]Option{WithSchema(freshSchema(t, pool))}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestOpenPoolSize(t *testing.T) {
	ctx, dsn := t.Context(), testDSN(t)
	schema := freshSchema(t, testPool(t))
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	for _, tc := range []struct {
		dsn  string
		want int32
	}{
		{dsn, DefaultMaxConns},
		{dsn + sep + "pool_max_conns=3", 3},
	} {
		s, err := Open(ctx, tc.dsn, WithSchema(schema))
		if err != nil {
			t.Fatal(err)
		}
		if got := s.pool.Config().MaxConns; got != tc.want {
			t.Errorf("Open(%q): pool of %d connections, want %d", tc.dsn, got, tc.want)
		}
		s.Close()
	}
}

func TestCeremoniesUnlogged(t *testing.T) {
	s := newStore(t)
	var persistence string
	err := s.pool.QueryRow(t.Context(), s.sql(`SELECT relpersistence FROM pg_class WHERE oid = '{schema}.ceremonies'::regclass`)).Scan(&persistence)
	if err != nil {
		t.Fatal(err)
	}
	if persistence != "u" {
		t.Errorf("ceremonies table persistence %q, want u (unlogged)", persistence)
	}
}

// TestCredentialsFillfactor checks that the credentials table leaves room
// on its pages for the row versions RecordCredentialUse writes (migration
// 6), so that they stay on their page without new index entries.
func TestCredentialsFillfactor(t *testing.T) {
	s := newStore(t)
	var options []string
	err := s.pool.QueryRow(t.Context(), s.sql(`SELECT coalesce(reloptions, '{}') FROM pg_class WHERE oid = '{schema}.credentials'::regclass`)).Scan(&options)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(options, "fillfactor=80") {
		t.Errorf("credentials table options %q, want fillfactor=80", options)
	}
}
