package sqlitestore

import (
	"context"
	"time"

	"github.com/passkeyready/passkeys/selfhosted"
)

// PutOTP implements [selfhosted.OTPStore]. It first deletes up to a hundred
// codes expired at o.CreatedAt.
func (s *Store) PutOTP(ctx context.Context, o selfhosted.OTPRecord, keepIfCreatedAfter time.Time) (bool, error) {
	if _, err := s.exec(ctx,
		`DELETE FROM otps WHERE email IN (
			SELECT email FROM otps WHERE expires_at <= ? ORDER BY expires_at LIMIT ?)`,
		micros(o.CreatedAt), purgeLimit,
	); err != nil {
		return false, storeErr("purge codes", err)
	}
	// The upsert leaves a live code created after keepIfCreatedAfter alone;
	// then no row changes.
	res, err := s.exec(ctx,
		`INSERT INTO otps (email, hash, created_at, expires_at, attempts) VALUES (?1, ?2, ?3, ?4, ?5)
		ON CONFLICT (email) DO UPDATE SET
			hash = excluded.hash, created_at = excluded.created_at,
			expires_at = excluded.expires_at, attempts = excluded.attempts
		WHERE otps.expires_at <= excluded.created_at OR otps.created_at <= ?6`,
		o.Email, o.Hash, micros(o.CreatedAt), micros(o.ExpiresAt), o.Attempts, micros(keepIfCreatedAfter))
	if err != nil {
		return false, storeErr("put code", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, storeErr("put code", err)
	}
	return n == 1, nil
}

// ReserveOTPAttempt implements [selfhosted.OTPStore].
func (s *Store) ReserveOTPAttempt(ctx context.Context, email string, now time.Time, maxAttempts int) (selfhosted.OTPRecord, error) {
	o := selfhosted.OTPRecord{Email: email}
	var created, expires int64
	err := s.queryRow(ctx,
		`UPDATE otps SET attempts = attempts + 1 WHERE email = ? AND expires_at > ? AND attempts < ?
		RETURNING hash, created_at, expires_at, attempts`,
		email, micros(now), maxAttempts,
	).Scan(&o.Hash, &created, &expires, &o.Attempts)
	if err != nil {
		return selfhosted.OTPRecord{}, storeErr("reserve code attempt", err)
	}
	o.CreatedAt, o.ExpiresAt = fromMicros(created), fromMicros(expires)
	return o, nil
}

// DeleteOTP implements [selfhosted.OTPStore].
func (s *Store) DeleteOTP(ctx context.Context, email string, hash []byte) error {
	res, err := s.exec(ctx, `DELETE FROM otps WHERE email = ? AND hash = ?`, email, hash)
	if err != nil {
		return storeErr("delete code", err)
	}
	return oneRow(res, "delete code")
}
