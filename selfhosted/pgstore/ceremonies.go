package pgstore

import (
	"context"
	"time"

	"github.com/passkeyready/passkeys/selfhosted"
)

// PutCeremony implements [selfhosted.CeremonyStore]. On every
// purgeEvery-th call of this Store it first deletes up to purgeLimit
// ceremonies expired at now that no other call is deleting. The challenges
// go through an array so that each is looked up in the primary key: as a
// semi-join (challenge IN (SELECT ...)) the planner hashes the subquery and
// reads every expired ceremony to probe it.
func (s *Store) PutCeremony(ctx context.Context, c selfhosted.Ceremony, now time.Time) error {
	if s.ceremonyPuts.Add(1)%purgeEvery == 1 {
		if _, err := s.pool.Exec(ctx,
			s.sql(`DELETE FROM {schema}.ceremonies WHERE challenge = ANY (ARRAY(
				SELECT challenge FROM {schema}.ceremonies WHERE expires_at <= $1
				ORDER BY expires_at LIMIT $2 FOR UPDATE SKIP LOCKED))`),
			now, purgeLimit,
		); err != nil {
			return storeErr("purge ceremonies", err)
		}
	}
	tag, err := s.pool.Exec(ctx,
		s.sql(`INSERT INTO {schema}.ceremonies AS c (challenge, kind, user_id, session, expires_at) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (challenge) DO UPDATE SET kind = excluded.kind, user_id = excluded.user_id,
			session = excluded.session, expires_at = excluded.expires_at
		WHERE c.expires_at <= $6`),
		c.Challenge, string(c.Kind), c.UserID, c.Session, c.ExpiresAt, now)
	if err != nil {
		return storeErr("put ceremony", err)
	}
	if tag.RowsAffected() == 0 {
		return selfhosted.ErrDuplicate
	}
	return nil
}

// TakeCeremony implements [selfhosted.CeremonyStore] with one DELETE ...
// RETURNING. An expired ceremony is left for PutCeremony to purge.
func (s *Store) TakeCeremony(ctx context.Context, challenge string, now time.Time) (selfhosted.Ceremony, error) {
	c := selfhosted.Ceremony{Challenge: challenge}
	var kind string
	err := s.pool.QueryRow(ctx,
		s.sql(`DELETE FROM {schema}.ceremonies WHERE challenge = $1 AND expires_at > $2
		RETURNING kind, user_id, session, expires_at`),
		challenge, now,
	).Scan(&kind, &c.UserID, &c.Session, &c.ExpiresAt)
	if err != nil {
		return selfhosted.Ceremony{}, storeErr("take ceremony", err)
	}
	c.Kind, c.ExpiresAt = selfhosted.CeremonyKind(kind), c.ExpiresAt.UTC()
	return c, nil
}
