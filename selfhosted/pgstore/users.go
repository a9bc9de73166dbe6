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

// UserByID implements [selfhosted.UserStore].
func (s *Store) UserByID(ctx context.Context, id string) (selfhosted.UserRecord, error) {
	return s.user(ctx, `id = $1`, id)
}

// UserByEmail implements [selfhosted.UserStore].
func (s *Store) UserByEmail(ctx context.Context, email string) (selfhosted.UserRecord, error) {
	return s.user(ctx, `email = $1`, email)
}

// UserByHandle implements [selfhosted.UserStore].
func (s *Store) UserByHandle(ctx context.Context, handle []byte) (selfhosted.UserRecord, error) {
	return s.user(ctx, `handle = $1`, handle)
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
