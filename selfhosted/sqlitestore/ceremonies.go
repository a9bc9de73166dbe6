package sqlitestore

import (
	"context"
	"time"

	"github.com/passkeyready/passkeys/selfhosted"
)

// PutCeremony implements [selfhosted.CeremonyStore].
func (s *Store) PutCeremony(ctx context.Context, c selfhosted.Ceremony) error {
	_, err := s.db.ExecContext(ctx,
		`INSERT INTO ceremonies (challenge, kind, user_id, session, expires_at) VALUES (?, ?, ?, ?, ?)`,
		c.Challenge, string(c.Kind), c.UserID, c.Session, micros(c.ExpiresAt))
	if err != nil {
		return storeErr("put ceremony", err)
	}
	return nil
}

// TakeCeremony implements [selfhosted.CeremonyStore]. It first deletes this
// challenge's ceremony if it has expired at now, and up to a hundred other
// expired ceremonies.
func (s *Store) TakeCeremony(ctx context.Context, challenge string, now time.Time) (selfhosted.Ceremony, error) {
	if _, err := s.db.ExecContext(ctx,
		`DELETE FROM ceremonies WHERE expires_at <= ?1 AND (challenge = ?2 OR challenge IN (
			SELECT challenge FROM ceremonies WHERE expires_at <= ?1 ORDER BY expires_at LIMIT ?3))`,
		micros(now), challenge, purgeLimit,
	); err != nil {
		return selfhosted.Ceremony{}, storeErr("purge ceremonies", err)
	}
	c := selfhosted.Ceremony{Challenge: challenge}
	var expires int64
	err := s.db.QueryRowContext(ctx,
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
