package sqlitestore

import (
	"context"
	"time"

	"github.com/passkeyready/passkeys/selfhosted"
)

// PutCeremony implements [selfhosted.CeremonyStore]. On every
// purgeEvery-th call of this Store it first deletes up to purgeLimit
// ceremonies expired at now. With [Options.SingleProcess] the ceremony is
// kept in memory instead of the database.
func (s *Store) PutCeremony(ctx context.Context, c selfhosted.Ceremony, now time.Time) error {
	if s.mem != nil {
		return s.mem.put(ctx, c, now)
	}
	if s.ceremonyPuts.Add(1)%purgeEvery == 1 {
		if _, err := s.exec(ctx,
			`DELETE FROM ceremonies WHERE challenge IN (
				SELECT challenge FROM ceremonies WHERE expires_at <= ? ORDER BY expires_at LIMIT ?)`,
			micros(now), purgeLimit,
		); err != nil {
			return storeErr("purge ceremonies", err)
		}
	}
	res, err := s.exec(ctx,
		`INSERT INTO ceremonies (challenge, kind, user_id, session, expires_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (challenge) DO UPDATE SET kind = excluded.kind, user_id = excluded.user_id,
			session = excluded.session, expires_at = excluded.expires_at
		WHERE ceremonies.expires_at <= ?`,
		c.Challenge, string(c.Kind), c.UserID, c.Session, micros(c.ExpiresAt), micros(now))
	if err != nil {
		return storeErr("put ceremony", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return storeErr("put ceremony", err)
	} else if n == 0 {
		return selfhosted.ErrDuplicate
	}
	return nil
}

// TakeCeremony implements [selfhosted.CeremonyStore] with one DELETE ...
// RETURNING, or from memory with [Options.SingleProcess]. An expired
// ceremony is left for PutCeremony to purge.
func (s *Store) TakeCeremony(ctx context.Context, challenge string, now time.Time) (selfhosted.Ceremony, error) {
	if s.mem != nil {
		return s.mem.take(ctx, challenge, now)
	}
	c := selfhosted.Ceremony{Challenge: challenge}
	var expires int64
	err := s.queryRow(ctx,
		`DELETE FROM ceremonies WHERE challenge = ? AND expires_at > ?
		RETURNING kind, user_id, session, expires_at`,
		challenge, micros(now),
	).Scan(&c.Kind, &c.UserID, &c.Session, &expires)
	if err != nil {
		return selfhosted.Ceremony{}, storeErr("take ceremony", err)
	}
	c.ExpiresAt = fromMicros(expires)
	return c, nil
}
