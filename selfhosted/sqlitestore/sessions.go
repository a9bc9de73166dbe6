package sqlitestore

import (
	"context"
	"database/sql"
	"time"

	"github.com/passkeyready/passkeys/selfhosted"
)

var _ selfhosted.SessionStore = (*Store)(nil)

// The session statements. Each finds its rows through an index (the
// primary key, sessions_token_hash, sessions_by_user or sessions_by_end),
// as TestSessionQueriesUseIndexes checks; none scans the table.
const (
	purgeSessionsSQL = `DELETE FROM sessions WHERE id IN (
		SELECT id FROM sessions WHERE min(expires_at, idle_expires_at) <= ?
		ORDER BY min(expires_at, idle_expires_at) LIMIT ?)`
	insertSessionSQL = `INSERT INTO sessions (id, token_hash, user_id, email, created_at, last_seen_at,
		expires_at, idle_expires_at, user_agent, ip, auth_method, authenticated_at, new_user)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	sessionColumns = `id, token_hash, user_id, email, created_at, last_seen_at, expires_at,
		idle_expires_at, user_agent, ip, auth_method, authenticated_at, new_user`
	sessionByHashSQL = `SELECT ` + sessionColumns + ` FROM sessions
		WHERE token_hash = ?1 AND expires_at > ?2 AND idle_expires_at > ?2`
	touchSessionSQL = `UPDATE sessions SET last_seen_at = max(last_seen_at, ?2),
		idle_expires_at = max(idle_expires_at, ?3)
		WHERE id = ?1 AND expires_at > ?2 AND idle_expires_at > ?2`
	sessionsByUserSQL = `SELECT ` + sessionColumns + ` FROM sessions
		WHERE user_id = ?1 AND expires_at > ?2 AND idle_expires_at > ?2
		ORDER BY created_at DESC, id DESC`
	deleteSessionSQL = `DELETE FROM sessions
		WHERE id = ?1 AND user_id = ?2 AND expires_at > ?3 AND idle_expires_at > ?3`
	deleteSessionByHashSQL = `DELETE FROM sessions WHERE token_hash = ?`
	deleteUserSessionsSQL  = `DELETE FROM sessions WHERE user_id = ?`
)

// CreateSession implements [selfhosted.SessionStore]. On every
// purgeEvery-th call of this Store it first deletes up to purgeLimit
// sessions expired at now.
func (s *Store) CreateSession(ctx context.Context, r selfhosted.SessionRecord, now time.Time) error {
	purge := s.sessionPuts.Add(1)%purgeEvery == 1
	return s.inTx(ctx, "create session", createSessionSQL, func(ctx context.Context, tx *sql.Tx) error {
		if purge {
			if _, err := s.txExec(ctx, tx, purgeSessionsSQL, micros(now), purgeLimit); err != nil {
				return storeErr("purge sessions", err)
			}
		}
		_, err := s.txExec(ctx, tx, insertSessionSQL,
			r.ID, r.TokenHash, r.UserID, r.Email, micros(r.CreatedAt), micros(r.LastSeenAt),
			micros(r.ExpiresAt), micros(r.IdleExpiresAt), r.UserAgent, r.IP, r.AuthMethod,
			nullMicros(r.AuthenticatedAt), r.NewUser)
		if err != nil {
			return storeErr("create session", err)
		}
		return nil
	})
}

// createSessionSQL are the statements of CreateSession's transaction.
var createSessionSQL = []string{purgeSessionsSQL, insertSessionSQL}

// scanSession reads one row of sessionColumns.
func scanSession(row interface{ Scan(...any) error }) (selfhosted.SessionRecord, error) {
	var (
		r                                   selfhosted.SessionRecord
		created, seen, expires, idleExpires int64
		authenticated                       sql.NullInt64
	)
	err := row.Scan(&r.ID, &r.TokenHash, &r.UserID, &r.Email, &created, &seen, &expires, &idleExpires,
		&r.UserAgent, &r.IP, &r.AuthMethod, &authenticated, &r.NewUser)
	if err != nil {
		return selfhosted.SessionRecord{}, err
	}
	r.CreatedAt, r.LastSeenAt = fromMicros(created), fromMicros(seen)
	r.ExpiresAt, r.IdleExpiresAt = fromMicros(expires), fromMicros(idleExpires)
	r.AuthenticatedAt = fromNullMicros(authenticated)
	return r, nil
}

// SessionByTokenHash implements [selfhosted.SessionStore].
func (s *Store) SessionByTokenHash(ctx context.Context, tokenHash []byte, now time.Time) (selfhosted.SessionRecord, error) {
	r, err := scanSession(s.readRow(ctx, sessionByHashSQL, tokenHash, micros(now)))
	if err != nil {
		return selfhosted.SessionRecord{}, storeErr("read session", err)
	}
	return r, nil
}

// TouchSession implements [selfhosted.SessionStore] with one UPDATE.
func (s *Store) TouchSession(ctx context.Context, id string, seen, idleExpiresAt time.Time) error {
	res, err := s.exec(ctx, touchSessionSQL, id, micros(seen), micros(idleExpiresAt))
	if err != nil {
		return storeErr("touch session", err)
	}
	return oneRow(res, "touch session")
}

// SessionsByUser implements [selfhosted.SessionStore].
func (s *Store) SessionsByUser(ctx context.Context, userID string, now time.Time) ([]selfhosted.SessionRecord, error) {
	rows, err := s.query(ctx, sessionsByUserSQL, userID, micros(now))
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
	res, err := s.exec(ctx, deleteSessionSQL, id, userID, micros(now))
	if err != nil {
		return storeErr("delete session", err)
	}
	return oneRow(res, "delete session")
}

// DeleteSessionByTokenHash implements [selfhosted.SessionStore].
func (s *Store) DeleteSessionByTokenHash(ctx context.Context, tokenHash []byte) error {
	res, err := s.exec(ctx, deleteSessionByHashSQL, tokenHash)
	if err != nil {
		return storeErr("delete session", err)
	}
	return oneRow(res, "delete session")
}

// DeleteUserSessions implements [selfhosted.SessionStore].
func (s *Store) DeleteUserSessions(ctx context.Context, userID string) error {
	if _, err := s.exec(ctx, deleteUserSessionsSQL, userID); err != nil {
		return storeErr("delete user sessions", err)
	}
	return nil
}
