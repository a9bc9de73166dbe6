package pgstore

import (
	"context"

	"github.com/passkeyready/passkeys/selfhosted"
)

var _ selfhosted.AccountStore = (*Store)(nil)

// DeleteUser implements [selfhosted.AccountStore] with one statement: its
// deletions (user, credentials, codes, activity) see one snapshot and
// commit together, and the foreign key from credentials to users is
// checked at its end.
func (s *Store) DeleteUser(ctx context.Context, id string) error {
	var n int
	err := s.pool.QueryRow(ctx, s.sql(`WITH
		u AS (DELETE FROM {schema}.users WHERE id = $1 RETURNING email),
		c AS (DELETE FROM {schema}.credentials WHERE user_id = $1),
		a AS (DELETE FROM {schema}.activity WHERE user_id = $1 AND EXISTS (SELECT 1 FROM u)),
		o AS (DELETE FROM {schema}.otps WHERE EXISTS (SELECT 1 FROM u)
			AND (email IN (SELECT email FROM u) OR starts_with(email, $2)))
		SELECT count(*) FROM u`), id, selfhosted.UserOTPKeyPrefix(id)).Scan(&n)
	if err != nil {
		return storeErr("delete user", err)
	}
	if n == 0 {
		return selfhosted.ErrNotFound
	}
	return nil
}

// UpdateUserEmail implements [selfhosted.AccountStore] with one UPDATE.
func (s *Store) UpdateUserEmail(ctx context.Context, id, email string) error {
	tag, err := s.pool.Exec(ctx, s.sql(`UPDATE {schema}.users SET email = $2 WHERE id = $1`), id, email)
	if err != nil {
		return storeErr("update user email", err)
	}
	return oneRow(tag)
}
