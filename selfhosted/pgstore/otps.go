package pgstore

import (
	"context"
	"time"

	"github.com/passkeyready/passkeys/selfhosted"
)

// PutOTP implements [selfhosted.OTPStore]. It first deletes up to a hundred
// codes expired at o.CreatedAt that no other call is deleting.
func (s *Store) PutOTP(ctx context.Context, o selfhosted.OTPRecord, keepIfCreatedAfter time.Time) (bool, error) {
	if _, err := s.pool.Exec(ctx,
		s.sql(`DELETE FROM {schema}.otps WHERE email = ANY (ARRAY(
			SELECT email FROM {schema}.otps WHERE expires_at <= $1
			ORDER BY expires_at LIMIT $2 FOR UPDATE SKIP LOCKED))`),
		o.CreatedAt, purgeLimit,
	); err != nil {
		return false, storeErr("purge codes", err)
	}
	// The upsert leaves a live code created after keepIfCreatedAfter alone;
	// then no row changes.
	tag, err := s.pool.Exec(ctx,
		s.sql(`INSERT INTO {schema}.otps AS old (email, hash, created_at, expires_at, attempts)
		VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (email) DO UPDATE SET
			hash = excluded.hash, created_at = excluded.created_at,
			expires_at = excluded.expires_at, attempts = excluded.attempts
		WHERE old.expires_at <= excluded.created_at OR old.created_at <= $6`),
		o.Email, o.Hash, o.CreatedAt, o.ExpiresAt, o.Attempts, keepIfCreatedAfter)
	if err != nil {
		return false, storeErr("put code", err)
	}
	return tag.RowsAffected() == 1, nil
}

// ReserveOTPAttempt implements [selfhosted.OTPStore].
func (s *Store) ReserveOTPAttempt(ctx context.Context, email string, now time.Time, maxAttempts int) (selfhosted.OTPRecord, error) {
	o := selfhosted.OTPRecord{Email: email}
	err := s.pool.QueryRow(ctx,
		s.sql(`UPDATE {schema}.otps SET attempts = attempts + 1
		WHERE email = $1 AND expires_at > $2 AND attempts < $3
		RETURNING hash, created_at, expires_at, attempts`),
		email, now, maxAttempts,
	).Scan(&o.Hash, &o.CreatedAt, &o.ExpiresAt, &o.Attempts)
	if err != nil {
		return selfhosted.OTPRecord{}, storeErr("reserve code attempt", err)
	}
	o.CreatedAt, o.ExpiresAt = o.CreatedAt.UTC(), o.ExpiresAt.UTC()
	return o, nil
}

// DeleteOTP implements [selfhosted.OTPStore].
func (s *Store) DeleteOTP(ctx context.Context, email string, hash []byte) error {
	tag, err := s.pool.Exec(ctx, s.sql(`DELETE FROM {schema}.otps WHERE email = $1 AND hash = $2`), email, hash)
	if err != nil {
		return storeErr("delete code", err)
	}
	return oneRow(tag)
}
