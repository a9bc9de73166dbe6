package pgstore

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/passkeyready/passkeys"
)

// Allow implements [passkeys.Limiter] with a token bucket per key in the
// schema's rate_limits table, so that every instance using the schema
// shares the limits. Each call reads and changes its bucket in one
// statement, reading the time from the Store's clock ([WithClock]); on
// every purgeEvery-th call it first deletes up to purgeLimit buckets that
// have refilled completely (planned at each run: see purgeMode). A negative r.Events allows every event without
// a query; otherwise r.Events, r.Per and r.Burst must be positive, as the
// handler's Options make them.
func (s *Store) Allow(ctx context.Context, key string, r passkeys.Rate) (bool, time.Duration, error) {
	if r.Events < 0 {
		return true, 0, nil
	}
	if r.Events == 0 || r.Per <= 0 || r.Burst <= 0 {
		return false, 0, fmt.Errorf("pgstore: rate limit %+v: Events, Per and Burst must be positive", r)
	}
	now := s.clock()
	perSecond := float64(r.Events) / r.Per.Seconds()
	if s.allows.Add(1)%purgeEvery == 1 {
		if _, err := s.pool.Exec(ctx,
			s.sql(`DELETE FROM {schema}.rate_limits WHERE key = ANY (ARRAY(
				SELECT key FROM {schema}.rate_limits WHERE full_at <= $1
				ORDER BY full_at LIMIT $2 FOR UPDATE SKIP LOCKED))`),
			purgeMode, now, purgeLimit,
		); err != nil {
			return false, 0, wrapErr("purge rate limits", err)
		}
	}
	var tokens float64
	if err := s.pool.QueryRow(ctx, s.sql(takeToken), key, now, float64(r.Burst), perSecond).Scan(&tokens); err != nil {
		return false, 0, wrapErr("rate limit", err)
	}
	if tokens >= 0 {
		return true, 0, nil
	}
	// Refused: -tokens is the part of a token still missing. The wait is
	// rounded up to the microsecond, the precision of the bucket's
	// timestamps, so that a retry after it finds the token.
	return false, time.Duration(math.Ceil(-tokens/perSecond*1e6)) * time.Microsecond, nil
}

// A bucket's tokens column holds what was left after the last call took
// one token: a negative value means that call found less than one token,
// took nothing and left tokens + 1.
//
// takeToken takes one token from bucket $1 at time $2, for a burst of $3
// tokens refilling at $4 a second, and returns the new tokens: a new
// bucket starts full; an existing one gains what flowed in since it was
// last updated, up to the burst. Under concurrent calls on one key the
// row lock makes each see the one before.
const takeToken = `INSERT INTO {schema}.rate_limits AS b (key, tokens, updated_at, full_at)
	VALUES ($1, $3::float8 - 1, $2, $2::timestamptz + make_interval(secs => 1 / $4::float8))
	ON CONFLICT (key) DO UPDATE SET
		tokens = ` + refilled + ` - 1,
		updated_at = greatest(b.updated_at, $2::timestamptz),
		full_at = greatest(b.updated_at, $2::timestamptz) + make_interval(secs => ($3::float8 + 1 - ` + refilled + `) / $4::float8)
	RETURNING tokens`

// refilled is the existing bucket's tokens at $2 before this call takes
// one. A clock behind the bucket's adds nothing.
const refilled = `least($3::float8, b.tokens + (CASE WHEN b.tokens < 0 THEN 1 ELSE 0 END)
	+ $4::float8 * extract(epoch FROM greatest($2::timestamptz - b.updated_at, interval '0'))::float8)`

var (
	_ passkeys.Limiter  = (*Store)(nil)
	_ passkeys.Refunder = (*Store)(nil)
)

// Refund implements [passkeys.Refunder]: it gives one token back to key's
// bucket in one statement, after the refill since the bucket was last
// updated and never beyond r.Burst. A key with no bucket (never seen, or
// purged once full) is left alone, as is every key for a negative
// r.Events.
func (s *Store) Refund(ctx context.Context, key string, r passkeys.Rate) error {
	if r.Events < 0 {
		return nil
	}
	if r.Events == 0 || r.Per <= 0 || r.Burst <= 0 {
		return fmt.Errorf("pgstore: rate limit %+v: Events, Per and Burst must be positive", r)
	}
	perSecond := float64(r.Events) / r.Per.Seconds()
	if _, err := s.pool.Exec(ctx, s.sql(refundToken), key, s.clock(), float64(r.Burst), perSecond); err != nil {
		return wrapErr("refund rate limit", err)
	}
	return nil
}

// Reset deletes key's bucket, so that its next event finds a full one:
// the operator's way to lift a limit early, such as the failure bound of
// one email, whose key is "otpfail:" followed by the canonical address
// (passkeys.Handler.ResetOTPFailures canonicalises it and calls Reset).
// The same in SQL:
//
//	DELETE FROM <schema>.rate_limits WHERE key = 'otpfail:user@example.com';
//
// Resetting a key with no bucket does nothing.
func (s *Store) Reset(ctx context.Context, key string) error {
	if _, err := s.pool.Exec(ctx, s.sql(`DELETE FROM {schema}.rate_limits WHERE key = $1`), key); err != nil {
		return wrapErr("reset rate limit", err)
	}
	return nil
}

// refundToken adds one token to bucket $1 at time $2 (burst $3, refill $4
// a second), up to the burst, with the same refill as takeToken. The row
// lock orders it with concurrent takes and refunds on the key.
const refundToken = `UPDATE {schema}.rate_limits AS b SET
		tokens = least($3::float8, ` + refilled + ` + 1),
		updated_at = greatest(b.updated_at, $2::timestamptz),
		full_at = greatest(b.updated_at, $2::timestamptz) + make_interval(secs => ($3::float8 - least($3::float8, ` + refilled + ` + 1)) / $4::float8)
	WHERE key = $1`
