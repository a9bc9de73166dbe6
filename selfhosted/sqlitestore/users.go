package sqlitestore

import (
	"context"
	"database/sql"

	"github.com/passkeyready/passkeys/selfhosted"
)

// CreateUser implements [selfhosted.UserStore].
func (s *Store) CreateUser(ctx context.Context, u selfhosted.UserRecord) error {
	_, err := s.exec(ctx,
		`INSERT INTO users (id, email, handle, created_at) VALUES (?, ?, ?, ?)`,
		u.ID, u.Email, u.Handle, micros(u.CreatedAt))
	if err != nil {
		return storeErr("create user", err)
	}
	return nil
}

// UserByID implements [selfhosted.UserByIDStore].
func (s *Store) UserByID(ctx context.Context, id string) (selfhosted.UserRecord, error) {
	return s.user(ctx, userColumnsFrom+`WHERE id = ?`, id)
}

// UserByEmail implements [selfhosted.UserStore].
func (s *Store) UserByEmail(ctx context.Context, email string) (selfhosted.UserRecord, error) {
	return s.user(ctx, userColumnsFrom+`WHERE email = ?`, email)
}

// userColumnsFrom starts the queries user runs.
const userColumnsFrom = `SELECT id, email, handle, created_at FROM users `

// user runs query, a userColumnsFrom query with one parameter, and returns
// the user it finds.
func (s *Store) user(ctx context.Context, query string, arg any) (selfhosted.UserRecord, error) {
	var u selfhosted.UserRecord
	var created int64
	err := s.readRow(ctx, query, arg).Scan(&u.ID, &u.Email, &u.Handle, &created)
	if err != nil {
		return selfhosted.UserRecord{}, storeErr("read user", err)
	}
	u.CreatedAt = fromMicros(created)
	return u, nil
}

// userWithCredentials starts the queries of UserWithCredentials: the user
// with each of their credentials, or once with NULL credential columns
// when they have none.
const userWithCredentials = `SELECT u.id, u.email, u.handle, u.created_at,
	c.id, c.name, c.data, c.sign_count, c.backup_state, c.created_at, c.last_used_at
	FROM users u LEFT JOIN credentials c ON c.user_id = u.id `

// UserWithCredentials implements [selfhosted.UserStore] with one query.
func (s *Store) UserWithCredentials(ctx context.Context, k selfhosted.UserKey) (selfhosted.UserRecord, []selfhosted.CredentialRecord, error) {
	if err := k.Check(); err != nil {
		return selfhosted.UserRecord{}, nil, err
	}
	query, arg := userWithCredentials+`WHERE u.id = ? ORDER BY c.created_at, c.id`, any(k.ID)
	switch {
	case k.Email != "":
		query, arg = userWithCredentials+`WHERE u.email = ? ORDER BY c.created_at, c.id`, k.Email
	case len(k.Handle) > 0:
		query, arg = userWithCredentials+`WHERE u.handle = ? ORDER BY c.created_at, c.id`, k.Handle
	}
	rows, err := s.query(ctx, query, arg)
	if err != nil {
		return selfhosted.UserRecord{}, nil, storeErr("read user with credentials", err)
	}
	defer rows.Close()
	var u selfhosted.UserRecord
	creds := []selfhosted.CredentialRecord{}
	for rows.Next() {
		var (
			c                      selfhosted.CredentialRecord
			userCreated            int64
			name                   sql.NullString
			signCount, credCreated sql.NullInt64
			backupState            sql.NullBool
			lastUsed               sql.NullInt64
		)
		if err := rows.Scan(&u.ID, &u.Email, &u.Handle, &userCreated,
			&c.ID, &name, &c.Data, &signCount, &backupState, &credCreated, &lastUsed); err != nil {
			return selfhosted.UserRecord{}, nil, storeErr("read user with credentials", err)
		}
		u.CreatedAt = fromMicros(userCreated)
		if c.ID == nil {
			continue // the user has no credentials
		}
		c.UserID, c.Name, c.SignCount, c.BackupState = u.ID, name.String, uint32(signCount.Int64), backupState.Bool
		c.CreatedAt, c.LastUsedAt = fromMicros(credCreated.Int64), fromNullMicros(lastUsed)
		creds = append(creds, c)
	}
	if err := rows.Err(); err != nil {
		return selfhosted.UserRecord{}, nil, storeErr("read user with credentials", err)
	}
	if u.ID == "" {
		return selfhosted.UserRecord{}, nil, selfhosted.ErrNotFound
	}
	return u, creds, nil
}
