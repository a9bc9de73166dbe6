package pgstore

import (
	"context"
	"fmt"
	"hash/fnv"
)

// migrations are the schema changes in the order they apply, with {schema}
// standing for the quoted schema name. Step i is recorded as version i+1.
// Steps are only ever appended.
var migrations = []string{
	`CREATE TABLE {schema}.users (
		id         text PRIMARY KEY,
		email      text NOT NULL UNIQUE,
		handle     bytea NOT NULL UNIQUE,
		created_at timestamptz NOT NULL
	);
	CREATE TABLE {schema}.credentials (
		id           bytea PRIMARY KEY,
		user_id      text NOT NULL REFERENCES {schema}.users (id),
		name         text NOT NULL,
		data         bytea,
		sign_count   bigint NOT NULL CHECK (sign_count BETWEEN 0 AND 4294967295),
		backup_state boolean NOT NULL,
		created_at   timestamptz NOT NULL,
		last_used_at timestamptz
	);
	CREATE INDEX credentials_by_user ON {schema}.credentials (user_id, created_at, id);
	CREATE TABLE {schema}.ceremonies (
		challenge  text PRIMARY KEY,
		kind       text NOT NULL,
		user_id    text NOT NULL,
		session    bytea,
		expires_at timestamptz NOT NULL
	);
	CREATE INDEX ceremonies_by_expiry ON {schema}.ceremonies (expires_at);
	CREATE TABLE {schema}.otps (
		email      text PRIMARY KEY,
		hash       bytea,
		created_at timestamptz NOT NULL,
		expires_at timestamptz NOT NULL,
		attempts   integer NOT NULL
	);
	CREATE INDEX otps_by_expiry ON {schema}.otps (expires_at);`,
	// The limiter's token buckets; see Store.Allow for what tokens holds.
	// full_at is a time by which the bucket has refilled completely, so
	// that forgetting it changes nothing.
	`CREATE TABLE {schema}.rate_limits (
		key        text PRIMARY KEY,
		tokens     double precision NOT NULL,
		updated_at timestamptz NOT NULL,
		full_at    timestamptz NOT NULL
	);
	CREATE INDEX rate_limits_by_full ON {schema}.rate_limits (full_at);`,
	// Ceremonies live for minutes and are written and deleted once each,
	// so their table skips the write-ahead log. What that gives up: a
	// crash of the database server empties the table, which cancels the
	// ceremonies pending then (users start again; with the Corbado backend
	// sharing state through selfhosted.Keeper, codes in flight must be
	// requested anew); and unlogged tables are not replicated, so a standby
	// promoted to primary starts with none either.
	`ALTER TABLE {schema}.ceremonies SET UNLOGGED`,
	// The sessions of selfhosted.Sessions (sessions.go), in a logged table:
	// they live for weeks. No foreign key to users: a host may bring its
	// own users. sessions_by_end serves the purge, which deletes by the
	// earlier of the two expiries.
	`CREATE TABLE {schema}.sessions (
		id               text PRIMARY KEY,
		token_hash       bytea NOT NULL UNIQUE,
		user_id          text NOT NULL,
		email            text NOT NULL,
		created_at       timestamptz NOT NULL,
		last_seen_at     timestamptz NOT NULL,
		expires_at       timestamptz NOT NULL,
		idle_expires_at  timestamptz NOT NULL,
		user_agent       text NOT NULL,
		ip               text NOT NULL,
		auth_method      text NOT NULL,
		authenticated_at timestamptz,
		new_user         boolean NOT NULL
	);
	CREATE INDEX sessions_by_user ON {schema}.sessions (user_id, created_at, id);
	CREATE INDEX sessions_by_end ON {schema}.sessions (least(expires_at, idle_expires_at));`,
	// The audit trail of selfhosted.ActivityStore (activity.go). seq
	// orders appends made in the same microsecond.
	`CREATE TABLE {schema}.activity (
		seq        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
		user_id    text NOT NULL,
		kind       text NOT NULL,
		at         timestamptz NOT NULL,
		method     text NOT NULL,
		detail     text NOT NULL,
		ip         text NOT NULL,
		user_agent text NOT NULL
	);
	CREATE INDEX activity_by_user ON {schema}.activity (user_id, at, seq);
	CREATE INDEX activity_by_age ON {schema}.activity (at);`,
	// Every login rewrites its passkey's row (RecordCredentialUse: the
	// counter, backup state and last use). PostgreSQL keeps the new version
	// on the old one's page (a HOT update: no new index entries, and the
	// dead version is reclaimed by a later reader of the page without
	// waiting for VACUUM) only while that page has room. On pages packed
	// full at insert, or whose dead versions could not be reclaimed yet
	// because another connection was reading the page, the update moved
	// the row to another page and added an entry to both indexes, which
	// every later lookup of the user read through until VACUUM removed it:
	// one login in six under 8 concurrent users. Pages filled to 80 % leave
	// room for a new version or two (a stored passkey is about 900 bytes).
	// It applies to pages filled from now on; VACUUM FULL
	// {schema}.credentials repacks the existing ones.
	`ALTER TABLE {schema}.credentials SET (fillfactor = 80)`,
}

// migrate creates the schema if missing and applies the migrations it
// lacks, in one transaction that first takes an advisory lock keyed by the
// schema name: concurrent migrators of one schema wait for each other, and
// a failed step leaves the schema as it was.
func (s *Store) migrate(ctx context.Context, name string) error {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("pgstore: migrate: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) // a no-op after Commit

	key := fnv.New64a()
	key.Write([]byte("github.com/passkeyready/passkeys/selfhosted/pgstore\x00" + name))
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(key.Sum64())); err != nil {
		return fmt.Errorf("pgstore: migrate: lock: %w", err)
	}
	if _, err := tx.Exec(ctx, s.sql(`CREATE SCHEMA IF NOT EXISTS {schema};
		CREATE TABLE IF NOT EXISTS {schema}.schema_migrations (
			version    integer PRIMARY KEY,
			applied_at timestamptz NOT NULL DEFAULT now()
		)`)); err != nil {
		return fmt.Errorf("pgstore: migrate: create schema: %w", err)
	}
	var version int
	if err := tx.QueryRow(ctx, s.sql(`SELECT coalesce(max(version), 0) FROM {schema}.schema_migrations`)).Scan(&version); err != nil {
		return fmt.Errorf("pgstore: migrate: read schema version: %w", err)
	}
	if version > len(migrations) {
		return fmt.Errorf("pgstore: migrate: schema version %d is newer than this package's %d", version, len(migrations))
	}
	for i := version; i < len(migrations); i++ {
		if _, err := tx.Exec(ctx, s.sql(migrations[i])); err != nil {
			return fmt.Errorf("pgstore: migrate: step %d: %w", i+1, err)
		}
		if _, err := tx.Exec(ctx, s.sql(`INSERT INTO {schema}.schema_migrations (version) VALUES ($1)`), i+1); err != nil {
			return fmt.Errorf("pgstore: migrate: record step %d: %w", i+1, err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("pgstore: migrate: commit: %w", err)
	}
	return nil
}
