package pgstore

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/passkeyready/passkeys/selfhosted"
)

var _ selfhosted.SessionStore = (*Store)(nil)

// The session statements, with {schema} standing for the quoted schema
// name. Each finds its rows through an index (the primary key,
// sessions_token_hash_key, sessions_by_user or sessions_by_end), as
// TestSessionQueriesUseIndexes checks; none scans the table.
const (
	// purgeSessionsSQL deletes, like the ceremony purge, only rows no
	// other call is deleting, so that concurrent purges do not queue. The
	// IDs go through an array so that each is looked up in the primary
	// key, whatever the planner thinks of the subquery's size.
	purgeSessionsSQL = `DELETE FROM {schema}.sessions WHERE id = ANY (ARRAY(
		SELECT id FROM {schema}.sessions WHERE least(expires_at, idle_expires_at) <= $1
		ORDER BY least(expires_at, idle_expires_at) LIMIT $2 FOR UPDATE SKIP LOCKED))`
	insertSessionSQL = `INSERT INTO {schema}.sessions (id, token_hash, user_id, email, created_at, last_seen_at,
		expires_at, idle_expires_at, user_agent, ip, auth_method, authenticated_at, new_user)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`
	sessionColumns = `id, token_hash, user_id, email, created_at, last_seen_at, expires_at,
		idle_expires_at, user_agent, ip, auth_method, authenticated_at, new_user`
	sessionByHashSQL = `SELECT ` + sessionColumns + ` FROM {schema}.sessions
		WHERE token_hash = $1 AND expires_at > $2 AND idle_expires_at > $2`
	touchSessionSQL = `UPDATE {schema}.sessions SET last_seen_at = greatest(last_seen_at, $2),
		idle_expires_at = greatest(idle_expires_at, $3)
		WHERE id = $1 AND expires_at > $2 AND idle_expires_at > $2`
	sessionsByUserSQL = `SELECT ` + sessionColumns + ` FROM {schema}.sessions
		WHERE user_id = $1 AND expires_at > $2 AND idle_expires_at > $2
		ORDER BY created_at DESC, id DESC`
	deleteSessionSQL = `DELETE FROM {schema}.sessions
		WHERE id = $1 AND user_id = $2 AND expires_at > $3 AND idle_expires_at > $3`
	deleteSessionByHashSQL = `DELETE FROM {schema}.sessions WHERE token_hash = $1`
	deleteUserSessionsSQL  = `DELETE FROM {schema}.sessions WHERE user_id = $1`
)

// CreateSession implements [selfhosted.SessionStore]. On every
// purgeEvery-th call of this Store it first deletes up to purgeLimit
// sessions expired at now that no other call is deleting (planned at each
// run: see purgeMode).
func (s *Store) CreateSession(ctx context.Context, r selfhosted.SessionRecord, now time.Time) error {
	if s.sessionPuts.Add(1)%purgeEvery == 1 {
		if _, err := s.pool.Exec(ctx, s.sql(purgeSessionsSQL), purgeMode, now, purgeLimit); err != nil {
			return storeErr("purge sessions", err)
		}
	}
	_, err := s.pool.Exec(ctx, s.sql(insertSessionSQL),
		r.ID, r.TokenHash, r.UserID, r.Email, r.CreatedAt, r.LastSeenAt, r.ExpiresAt, r.IdleExpiresAt,
		r.UserAgent, r.IP, r.AuthMethod, nullTime(r.AuthenticatedAt), r.NewUser)
	if err != nil {
		return storeErr("create session", err)
	}
	return nil
}

// scanSession reads one row of sessionColumns.
func scanSession(row pgx.Row) (selfhosted.SessionRecord, error) {
	var (
		r             selfhosted.SessionRecord
		authenticated *time.Time
	)
	err := row.Scan(&r.ID, &r.TokenHash, &r.UserID, &r.Email, &r.CreatedAt, &r.LastSeenAt, &r.ExpiresAt,
		&r.IdleExpiresAt, &r.UserAgent, &r.IP, &r.AuthMethod, &authenticated, &r.NewUser)
	if err != nil {
		return selfhosted.SessionRecord{}, err
	}
	r.CreatedAt, r.LastSeenAt = r.CreatedAt.UTC(), r.LastSeenAt.UTC()
	r.ExpiresAt, r.IdleExpiresAt = r.ExpiresAt.UTC(), r.IdleExpiresAt.UTC()
	if authenticated != nil {
		r.AuthenticatedAt = authenticated.UTC()
	}
	return r, nil
}

// SessionByTokenHash implements [selfhosted.SessionStore].
func (s *Store) SessionByTokenHash(ctx context.Context, tokenHash []byte, now time.Time) (selfhosted.SessionRecord, error) {
	r, err := scanSession(s.pool.QueryRow(ctx, s.sql(sessionByHashSQL), tokenHash, now))
	if err != nil {
		return selfhosted.SessionRecord{}, storeErr("read session", err)
	}
	return r, nil
}

// TouchSession implements [selfhosted.SessionStore] with one UPDATE.
func (s *Store) TouchSession(ctx context.Context, id string, seen, idleExpiresAt time.Time) error {
	tag, err := s.pool.Exec(ctx, s.sql(touchSessionSQL), id, seen, idleExpiresAt)
	if err != nil {
		return storeErr("touch session", err)
	}
	return oneRow(tag)
}

// SessionsByUser implements [selfhosted.SessionStore].
func (s *Store) SessionsByUser(ctx context.Context, userID string, now time.Time) ([]selfhosted.SessionRecord, error) {
	rows, err := s.pool.Query(ctx, s.sql(sessionsByUserSQL), userID, now)
	if err != nil {
		return nil, storeErr("list sessions", err)
	}
	defer rows.Close()
	list := []selfhosted.SessionRecord{}
	for rows.Next() {
		r, err := scanSession(rows)
		if err != nil {
			return nil, storeErr("list sessions", err)
		}
		list = append(list, r)
	}
	if err := rows.Err(); err != nil {
		return nil, storeErr("list sessions", err)
	}
	return list, nil
}

// DeleteSession implements [selfhosted.SessionStore].
func (s *Store) DeleteSession(ctx context.Context, userID, id string, now time.Time) error {
	tag, err := s.pool.Exec(ctx, s.sql(deleteSessionSQL), id, userID, now)
	if err != nil {
		return storeErr("delete session", err)
	}
	return oneRow(tag)
}

// DeleteSessionByTokenHash implements [selfhosted.SessionStore].
func (s *Store) DeleteSessionByTokenHash(ctx context.Context, tokenHash []byte) error {
	tag, err := s.pool.Exec(ctx, s.sql(deleteSessionByHashSQL), tokenHash)
	if err != nil {
		return storeErr("delete session", err)
	}
	return oneRow(tag)
}

// DeleteUserSessions implements [selfhosted.SessionStore].
func (s *Store) DeleteUserSessions(ctx context.Context, userID string) error {
	if _, err := s.pool.Exec(ctx, s.sql(deleteUserSessionsSQL), userID); err != nil {
		return storeErr("delete user sessions", err)
	}
	return nil
}
