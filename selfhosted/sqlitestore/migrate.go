package sqlitestore

import (
	"context"
	"database/sql"
	"fmt"
)

// migrations are the schema changes in the order they apply. Step i brings
// a database from user_version i to i+1. Steps are only ever appended.
var migrations = []string{
	`CREATE TABLE users (
		id         TEXT PRIMARY KEY NOT NULL,
		email      TEXT NOT NULL UNIQUE,
		handle     BLOB NOT NULL UNIQUE,
		created_at INTEGER NOT NULL
	) STRICT;
	CREATE TABLE credentials (
		id           BLOB PRIMARY KEY NOT NULL,
		user_id      TEXT NOT NULL REFERENCES users (id),
		name         TEXT NOT NULL,
		data         BLOB,
		sign_count   INTEGER NOT NULL,
		backup_state INTEGER NOT NULL,
		created_at   INTEGER NOT NULL,
		last_used_at INTEGER
	) STRICT;
	CREATE INDEX credentials_by_user ON credentials (user_id, created_at, id);
	CREATE TABLE ceremonies (
		challenge  TEXT PRIMARY KEY NOT NULL,
		kind       TEXT NOT NULL,
		user_id    TEXT NOT NULL,
		session    BLOB,
		expires_at INTEGER NOT NULL
	) STRICT;
	CREATE INDEX ceremonies_by_expiry ON ceremonies (expires_at);
	CREATE TABLE otps (
		email      TEXT PRIMARY KEY NOT NULL,
		hash       BLOB,
		created_at INTEGER NOT NULL,
		expires_at INTEGER NOT NULL,
		attempts   INTEGER NOT NULL
	) STRICT;
	CREATE INDEX otps_by_expiry ON otps (expires_at);`,
	// The sessions of selfhosted.Sessions (sessions.go). No foreign key to
	// users: a host may bring its own users. sessions_by_end serves the
	// purge, which deletes by the earlier of the two expiries.
	`CREATE TABLE sessions (
		id               TEXT PRIMARY KEY NOT NULL,
		token_hash       BLOB NOT NULL,
		user_id          TEXT NOT NULL,
		email            TEXT NOT NULL,
		created_at       INTEGER NOT NULL,
		last_seen_at     INTEGER NOT NULL,
		expires_at       INTEGER NOT NULL,
		idle_expires_at  INTEGER NOT NULL,
		user_agent       TEXT NOT NULL,
		ip               TEXT NOT NULL,
		auth_method      TEXT NOT NULL,
		authenticated_at INTEGER,
		new_user         INTEGER NOT NULL
	) STRICT;
	CREATE UNIQUE INDEX sessions_token_hash ON sessions (token_hash);
	CREATE INDEX sessions_by_user ON sessions (user_id, created_at, id);
	CREATE INDEX sessions_by_end ON sessions (min(expires_at, idle_expires_at));`,
	// The audit trail of selfhosted.ActivityStore (activity.go). seq
	// orders appends made in the same microsecond.
	`CREATE TABLE activity (
		seq        INTEGER PRIMARY KEY,
		user_id    TEXT NOT NULL,
		kind       TEXT NOT NULL,
		at         INTEGER NOT NULL,
		method     TEXT NOT NULL,
		detail     TEXT NOT NULL,
		ip         TEXT NOT NULL,
		user_agent TEXT NOT NULL
	) STRICT;
	CREATE INDEX activity_by_user ON activity (user_id, at, seq);
	CREATE INDEX activity_by_age ON activity (at);`,
	// Ceremonies and sessions WITHOUT ROWID: the primary key is the
	// table's own B-tree instead of an index beside a rowid table, so each
	// insert and delete writes one B-tree fewer.
	`CREATE TABLE ceremonies_v4 (
		challenge  TEXT PRIMARY KEY NOT NULL,
		kind       TEXT NOT NULL,
		user_id    TEXT NOT NULL,
		session    BLOB,
		expires_at INTEGER NOT NULL
	) STRICT, WITHOUT ROWID;
	INSERT INTO ceremonies_v4 SELECT challenge, kind, user_id, session, expires_at FROM ceremonies;
	DROP TABLE ceremonies;
	ALTER TABLE ceremonies_v4 RENAME TO ceremonies;
	CREATE INDEX ceremonies_by_expiry ON ceremonies (expires_at);
	CREATE TABLE sessions_v4 (
		id               TEXT PRIMARY KEY NOT NULL,
		token_hash       BLOB NOT NULL,
		user_id          TEXT NOT NULL,
		email            TEXT NOT NULL,
		created_at       INTEGER NOT NULL,
		last_seen_at     INTEGER NOT NULL,
		expires_at       INTEGER NOT NULL,
		idle_expires_at  INTEGER NOT NULL,
		user_agent       TEXT NOT NULL,
		ip               TEXT NOT NULL,
		auth_method      TEXT NOT NULL,
		authenticated_at INTEGER,
		new_user         INTEGER NOT NULL
	) STRICT, WITHOUT ROWID;
	INSERT INTO sessions_v4 SELECT id, token_hash, user_id, email, created_at, last_seen_at, expires_at,
		idle_expires_at, user_agent, ip, auth_method, authenticated_at, new_user FROM sessions;
	DROP TABLE sessions;
	ALTER TABLE sessions_v4 RENAME TO sessions;
	CREATE UNIQUE INDEX sessions_token_hash ON sessions (token_hash);
	CREATE INDEX sessions_by_user ON sessions (user_id, created_at, id);
	CREATE INDEX sessions_by_end ON sessions (min(expires_at, idle_expires_at));`,
}

// migrate applies the migrations db lacks, all in one IMMEDIATE
// transaction, so that concurrent openers wait for each other and a failed
// step leaves the schema as it was.
func migrate(ctx context.Context, db *sql.DB) (err error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("sqlitestore: migrate: connect: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return fmt.Errorf("sqlitestore: migrate: begin: %w", err)
	}
	defer func() {
		if err != nil {
			// The transaction may already be gone; the step's error is the
			// one to report.
			_, _ = conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK")
		}
	}()

	var version int
	if err := conn.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return fmt.Errorf("sqlitestore: migrate: read schema version: %w", err)
	}
	if version > len(migrations) {
		return fmt.Errorf("sqlitestore: migrate: schema version %d is newer than this package's %d", version, len(migrations))
	}
	for i := version; i < len(migrations); i++ {
		if _, err := conn.ExecContext(ctx, migrations[i]); err != nil {
			return fmt.Errorf("sqlitestore: migrate: step %d: %w", i+1, err)
		}
		// PRAGMA takes no parameters; the value is a formatted integer.
		if _, err := conn.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", i+1)); err != nil {
			return fmt.Errorf("sqlitestore: migrate: set schema version: %w", err)
		}
	}
	if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
		return fmt.Errorf("sqlitestore: migrate: commit: %w", err)
	}
	return nil
}
