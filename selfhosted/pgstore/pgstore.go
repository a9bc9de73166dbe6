// Package pgstore is a [selfhosted.Store] on PostgreSQL, through pgx and
// its connection pool, for several server instances sharing one database.
//
// The store keeps its tables in one schema ("passkeys" unless [WithSchema]
// names another), which [Open] and [New] create if missing and bring up to
// date: the package keeps an ordered list of migrations and records the
// ones applied in the schema's schema_migrations table. Migrating holds a
// transaction-scoped advisory lock, so instances that start at the same
// moment take turns.
//
// Every check-and-change the store contract calls atomic is a single SQL
// statement, safe under PostgreSQL's default READ COMMITTED isolation.
//
// Pending ceremonies, which live for minutes, are kept in an UNLOGGED
// table, which spares each login and registration two writes to the
// write-ahead log. A crash of the database server empties that table,
// cancelling the ceremonies pending then, and unlogged tables are not
// replicated to standby servers.
//
// A Store is also a [passkeys.Limiter] keeping its token buckets in the
// database, so that rate limits hold across every instance using the
// schema: set it as the handler's Options.Limiter. One-time codes, their
// attempts and resend cooldown live in the store already, so they count
// across instances with or without it.
package pgstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/passkeyready/passkeys"
	"github.com/passkeyready/passkeys/selfhosted"
)

// DefaultSchema is the schema that holds the tables unless [WithSchema]
// names another.
const DefaultSchema = "passkeys"

// purgeLimit bounds how many expired rows one call deletes in passing.
// PutCeremony and Allow purge on every purgeEvery-th call: up to
// purgeLimit rows, more than the calls in between add.
const (
	purgeLimit = 100
	purgeEvery = 16
)

// purgeMode runs the purges in passing as unnamed statements, planned at
// each run for the table as it is then. Every other statement is prepared
// once per connection, and after its fifth run PostgreSQL keeps one
// generic plan for it, made for the table's size at that moment. For a
// purge, whose outer DELETE looks up an array of keys, the generic plan
// made while a table was small is a sequential scan, and every later
// purge on that connection read the whole table, however large it had
// grown (TestSessionPurgeFollowsTableGrowth: two session purges read
// 40,636 rows of a table of 20,392). Planning costs a few tens of
// microseconds, once per purgeEvery calls.
const purgeMode = pgx.QueryExecModeExec

// Store is a [selfhosted.Store] and a [passkeys.Limiter] on PostgreSQL. It
// is safe for concurrent use.
type Store struct {
	pool         *pgxpool.Pool
	ownsPool     bool   // Close closes pool: Open opened it
	schema       string // quoted identifier
	clock        func() time.Time
	ceremonyPuts atomic.Uint64 // PutCeremony calls so far
	sessionPuts  atomic.Uint64 // CreateSession calls so far
	activityPuts atomic.Uint64 // activity records appended so far
	allows       atomic.Uint64 // Allow calls so far
	queries      sync.Map      // statement text with {schema} to the text sql made of it
}

var (
	_ selfhosted.Store                       = (*Store)(nil)
	_ selfhosted.UserByIDStore               = (*Store)(nil)
	_ selfhosted.CredentialByIDStore         = (*Store)(nil)
	_ selfhosted.CeremonyWithUserStore       = (*Store)(nil)
	_ selfhosted.CeremonyWithHandleUserStore = (*Store)(nil)
	_ passkeys.Limiter                       = (*Store)(nil)
)

// Option configures [Open] and [New].
type Option func(*config)

type config struct {
	schema string
	clock  func() time.Time
}

// WithSchema sets the schema that holds the store's tables; the default is
// [DefaultSchema]. The name is used as given (it is quoted, so case
// matters) and must be at most 63 bytes without NUL bytes.
func WithSchema(name string) Option {
	return func(c *config) { c.schema = name }
}

// WithClock sets the clock [Store.Allow] reads; the default, also for nil,
// is time.Now. The methods of [selfhosted.Store] take their times as
// arguments instead.
func WithClock(now func() time.Time) Option {
	return func(c *config) { c.clock = now }
}

// DefaultMaxConns is the size of the pool [Open] makes when dsn does not
// set pool_max_conns. pgxpool's own default, four connections or one per
// CPU, leaves concurrent requests waiting for a connection while the
// database has capacity to spare.
const DefaultMaxConns = 16

// Open connects to the database at dsn (a PostgreSQL URL or key=value
// connection string, as pgxpool.ParseConfig takes) with a pool of
// [DefaultMaxConns] connections unless dsn sets pool_max_conns, then
// proceeds as [New]. Close the Store to close the pool.
func Open(ctx context.Context, dsn string, opts ...Option) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("pgstore: connect: %w", err)
	}
	if !strings.Contains(dsn, "pool_max_conns") {
		cfg.MaxConns = DefaultMaxConns
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("pgstore: connect: %w", err)
	}
	s, err := New(ctx, pool, opts...)
	if err != nil {
		pool.Close()
		return nil, err
	}
	s.ownsPool = true
	return s, nil
}

// New returns a Store on pool after creating its schema if missing and
// applying the migrations the schema lacks. The application keeps
// ownership of pool: Close leaves it open.
func New(ctx context.Context, pool *pgxpool.Pool, opts ...Option) (*Store, error) {
	cfg := config{schema: DefaultSchema}
	for _, opt := range opts {
		opt(&cfg)
	}
	if cfg.clock == nil {
		cfg.clock = time.Now
	}
	if cfg.schema == "" || len(cfg.schema) > 63 || strings.ContainsRune(cfg.schema, 0) {
		return nil, fmt.Errorf("pgstore: WithSchema: invalid schema name %q", cfg.schema)
	}
	s := &Store{pool: pool, schema: pgx.Identifier{cfg.schema}.Sanitize(), clock: cfg.clock}
	if err := s.migrate(ctx, cfg.schema); err != nil {
		return nil, err
	}
	return s, nil
}

// Close closes the pool if Open opened it; a pool passed to New is left
// open.
func (s *Store) Close() {
	if s.ownsPool {
		s.pool.Close()
	}
}

// sql returns query with each {schema} replaced by the quoted schema name.
func (s *Store) sql(query string) string {
	// The statements are constants, so the cache holds a few dozen.
	if q, ok := s.queries.Load(query); ok {
		return q.(string)
	}
	q := strings.ReplaceAll(query, "{schema}", s.schema)
	s.queries.Store(query, q)
	return q
}

// nullTime returns t, or nil (SQL NULL) for the zero time.
func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t
}

// storeErr maps a failed statement to the contract: no rows becomes
// ErrNotFound, a unique violation (SQLSTATE 23505) ErrDuplicate; anything
// else is wrapped with what was being done by wrapErr, which adds
// passkeys.ErrUnavailable to a fault that passes by itself.
func storeErr(op string, err error) error {
	var pgErr *pgconn.PgError
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return selfhosted.ErrNotFound
	case errors.As(err, &pgErr) && pgErr.Code == "23505":
		return selfhosted.ErrDuplicate
	default:
		return wrapErr(op, err)
	}
}

// oneRow reports ErrNotFound unless the statement behind tag changed a row.
func oneRow(tag pgconn.CommandTag) error {
	if tag.RowsAffected() == 0 {
		return selfhosted.ErrNotFound
	}
	return nil
}
