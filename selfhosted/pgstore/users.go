package pgstore

import (
	"context"
	"time"

	"github.com/passkeyready/passkeys/selfhosted"
)

// CreateUser implements [selfhosted.UserStore].
func (s *Store) CreateUser(ctx context.Context, u selfhosted.UserRecord) error {
	_, err := s.pool.Exec(ctx,
		s.sql(`INSERT INTO {schema}.users (id, email, handle, created_at) VALUES ($1, $2, $3, $4)`),
		u.ID, u.Email, u.Handle, u.CreatedAt)
	if err != nil {
		return storeErr("create user", err)
	}
	return nil
}

// UserByID implements [selfhosted.UserByIDStore].
func (s *Store) UserByID(ctx context.Context, id string) (selfhosted.UserRecord, error) {
	return s.user(ctx, `id = $1`, id)
}

// UserByEmail implements [selfhosted.UserStore].
func (s *Store) UserByEmail(ctx context.Context, email string) (selfhosted.UserRecord, error) {
	return s.user(ctx, `email = $1`, email)
}

// user returns the user matching where, a condition on $1.
func (s *Store) user(ctx context.Context, where string, arg any) (selfhosted.UserRecord, error) {
	var u selfhosted.UserRecord
	var created time.Time
	err := s.pool.QueryRow(ctx,
		s.sql(`SELECT id, email, handle, created_at FROM {schema}.users WHERE `+where), arg,
	).Scan(&u.ID, &u.Email, &u.Handle, &created)
	if err != nil {
		return selfhosted.UserRecord{}, storeErr("read user", err)
	}
	u.CreatedAt = created.UTC()
	return u, nil
}

// UserWithCredentials implements [selfhosted.UserStore] with one query:
// the user with each of their credentials, or once with NULL credential
// columns when they have none.
func (s *Store) UserWithCredentials(ctx context.Context, k selfhosted.UserKey) (selfhosted.UserRecord, []selfhosted.CredentialRecord, error) {
	if err := k.Check(); err != nil {
		return selfhosted.UserRecord{}, nil, err
	}
	where, arg := `u.id = $1`, any(k.ID)
	switch {
	case k.Email != "":
		where, arg = `u.email = $1`, k.Email
	case len(k.Handle) > 0:
		where, arg = `u.handle = $1`, k.Handle
	}
	rows, err := s.pool.Query(ctx, s.sql(`SELECT u.id, u.email, u.handle, u.created_at,
		c.id, c.name, c.data, c.sign_count, c.backup_state, c.created_at, c.last_used_at
		FROM {schema}.users u LEFT JOIN {schema}.credentials c ON c.user_id = u.id
		WHERE `+where+` ORDER BY c.created_at, c.id`), arg)
	if err != nil {
		return selfhosted.UserRecord{}, nil, storeErr("read user with credentials", err)
	}
	defer rows.Close()
	var u selfhosted.UserRecord
	creds := []selfhosted.CredentialRecord{}
	for rows.Next() {
		var (
			c                     selfhosted.CredentialRecord
			name                  *string
			signCount             *int64
			backupState           *bool
			credCreated, lastUsed *time.Time
		)
		if err := rows.Scan(&u.ID, &u.Email, &u.Handle, &u.CreatedAt,
			&c.ID, &name, &c.Data, &signCount, &backupState, &credCreated, &lastUsed); err != nil {
			return selfhosted.UserRecord{}, nil, storeErr("read user with credentials", err)
		}
		if c.ID == nil {
			continue // the user has no credentials
		}
		c.UserID, c.Name, c.SignCount, c.BackupState = u.ID, *name, uint32(*signCount), *backupState
		c.CreatedAt = credCreated.UTC()
		if lastUsed != nil {
			c.LastUsedAt = lastUsed.UTC()
		}
		creds = append(creds, c)
	}
	if err := rows.Err(); err != nil {
		return selfhosted.UserRecord{}, nil, storeErr("read user with credentials", err)
	}
	if u.ID == "" {
		return selfhosted.UserRecord{}, nil, selfhosted.ErrNotFound
	}
	u.CreatedAt = u.CreatedAt.UTC()
	return u, creds, nil
}
