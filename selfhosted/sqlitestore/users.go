package sqlitestore

import (
	"context"

	"github.com/passkeyready/passkeys/selfhosted"
)

// CreateUser implements [selfhosted.UserStore].
func (s *Store) CreateUser(ctx context.Context, u selfhosted.UserRecord) error {
	_, err := s.db.ExecContext(ctx,
		`INSERT INTO users (id, email, handle, created_at) VALUES (?, ?, ?, ?)`,
		u.ID, u.Email, u.Handle, micros(u.CreatedAt))
	if err != nil {
		return storeErr("create user", err)
	}
	return nil
}

// UserByID implements [selfhosted.UserStore].
func (s *Store) UserByID(ctx context.Context, id string) (selfhosted.UserRecord, error) {
	return s.user(ctx, `id = ?`, id)
}

// UserByEmail implements [selfhosted.UserStore].
func (s *Store) UserByEmail(ctx context.Context, email string) (selfhosted.UserRecord, error) {
	return s.user(ctx, `email = ?`, email)
}

// UserByHandle implements [selfhosted.UserStore].
func (s *Store) UserByHandle(ctx context.Context, handle []byte) (selfhosted.UserRecord, error) {
	return s.user(ctx, `handle = ?`, handle)
}

// user returns the user matching where, a condition on one parameter.
func (s *Store) user(ctx context.Context, where string, arg any) (selfhosted.UserRecord, error) {
	var u selfhosted.UserRecord
	var created int64
	err := s.db.QueryRowContext(ctx,
		`SELECT id, email, handle, created_at FROM users WHERE `+where, arg,
	).Scan(&u.ID, &u.Email, &u.Handle, &created)
	if err != nil {
		return selfhosted.UserRecord{}, storeErr("read user", err)
	}
	u.CreatedAt = fromMicros(created)
	return u, nil
}
