package sqlitestore

import (
	"context"
	"database/sql"
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
	purge := s.ceremonyPuts.Add(1)%purgeEvery == 1
	return s.inTx(ctx, "put ceremony", putCeremonySQL, func(ctx context.Context, tx *sql.Tx) error {
		if purge {
			if _, err := s.txExec(ctx, tx, putCeremonySQL[0], micros(now), purgeLimit); err != nil {
				return storeErr("purge ceremonies", err)
			}
		}
		res, err := s.txExec(ctx, tx, putCeremonySQL[1],
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
	})
}

// putCeremonySQL are the statements of PutCeremony: the purge and the
// insert, which replaces only an expired ceremony.
var putCeremonySQL = []string{
	`DELETE FROM ceremonies WHERE challenge IN (
		SELECT challenge FROM ceremonies WHERE expires_at <= ? ORDER BY expires_at LIMIT ?)`,
	`INSERT INTO ceremonies (challenge, kind, user_id, session, expires_at) VALUES (?, ?, ?, ?, ?)
	ON CONFLICT (challenge) DO UPDATE SET kind = excluded.kind, user_id = excluded.user_id,
		session = excluded.session, expires_at = excluded.expires_at
	WHERE ceremonies.expires_at <= ?`,
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
	err := s.inTx(ctx, "take ceremony", takeCeremonySQL, func(ctx context.Context, tx *sql.Tx) error {
		err := s.txQueryRow(ctx, tx, takeCeremonySQL[0], challenge, micros(now)).
			Scan(&c.Kind, &c.UserID, &c.Session, &expires)
		if err != nil {
			return storeErr("take ceremony", err)
		}
		return nil
	})
	if err != nil {
		return selfhosted.Ceremony{}, err
	}
	c.ExpiresAt = fromMicros(expires)
	return c, nil
}

// takeCeremonySQL is TakeCeremony's statement.
var takeCeremonySQL = []string{`DELETE FROM ceremonies WHERE challenge = ? AND expires_at > ?
	RETURNING kind, user_id, session, expires_at`}
