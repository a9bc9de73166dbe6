package pgstore

import (
	"context"
	"strings"
	"time"

	"github.com/passkeyready/passkeys/selfhosted"
)

// PutCeremony implements [selfhosted.CeremonyStore]. On every
// purgeEvery-th call of this Store it first deletes up to purgeLimit
// ceremonies expired at now that no other call is deleting. The challenges
// go through an array so that each is looked up in the primary key: as a
// semi-join (challenge IN (SELECT ...)) the planner hashes the subquery and
// reads every expired ceremony to probe it. The purge is planned at each
// run (purgeMode).
func (s *Store) PutCeremony(ctx context.Context, c selfhosted.Ceremony, now time.Time) error {
	if s.ceremonyPuts.Add(1)%purgeEvery == 1 {
		if _, err := s.pool.Exec(ctx,
			s.sql(`DELETE FROM {schema}.ceremonies WHERE challenge = ANY (ARRAY(
				SELECT challenge FROM {schema}.ceremonies WHERE expires_at <= $1
				ORDER BY expires_at LIMIT $2 FOR UPDATE SKIP LOCKED))`),
			purgeMode, now, purgeLimit,
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

// TakeCeremonyWithUser implements [selfhosted.CeremonyWithUserStore] with
// one statement: the DELETE ... RETURNING of TakeCeremony in a
// data-modifying WITH, joined to the user it names and their credentials
// as UserWithCredentials reads them. No row means no live ceremony.
func (s *Store) TakeCeremonyWithUser(ctx context.Context, challenge string, now time.Time) (selfhosted.Ceremony, selfhosted.UserRecord, []selfhosted.CredentialRecord, error) {
	return s.takeCeremonyJoined(ctx, takeCeremonyWithUserSQL, challenge, now)
}

// TakeCeremonyWithHandleUser implements
// [selfhosted.CeremonyWithHandleUserStore] with one statement, as
// TakeCeremonyWithUser does, joined to the user whose handle is handle
// (through the users' unique handle index) instead of the ceremony's user.
func (s *Store) TakeCeremonyWithHandleUser(ctx context.Context, challenge string, handle []byte, now time.Time) (selfhosted.Ceremony, selfhosted.UserRecord, []selfhosted.CredentialRecord, error) {
	return s.takeCeremonyJoined(ctx, takeCeremonyWithHandleUserSQL, challenge, now, handle)
}

// takeCeremonySQL is the statement of takeCeremonyJoined: the ceremony
// taken, joined to the user {join} names (a condition on u and c) and
// their credentials.
const takeCeremonySQL = `WITH c AS (
			DELETE FROM {schema}.ceremonies WHERE challenge = $1 AND expires_at > $2
			RETURNING kind, user_id, session, expires_at)
		SELECT c.kind, c.user_id, c.session, c.expires_at, u.id, u.email, u.handle, u.created_at,
			cr.id, cr.name, cr.data, cr.sign_count, cr.backup_state, cr.created_at, cr.last_used_at
		FROM c LEFT JOIN {schema}.users u ON {join}
			LEFT JOIN {schema}.credentials cr ON cr.user_id = u.id
		ORDER BY cr.created_at, cr.id`

var (
	takeCeremonyWithUserSQL       = strings.Replace(takeCeremonySQL, "{join}", "u.id = c.user_id", 1)
	takeCeremonyWithHandleUserSQL = strings.Replace(takeCeremonySQL, "{join}", "u.handle = $3", 1)
)

// takeCeremonyJoined takes the ceremony and reads, in the same statement
// (query, one of the takeCeremony statements), the user it joins with
// their credentials.
func (s *Store) takeCeremonyJoined(ctx context.Context, query, challenge string, now time.Time, args ...any) (selfhosted.Ceremony, selfhosted.UserRecord, []selfhosted.CredentialRecord, error) {
	rows, err := s.pool.Query(ctx, s.sql(query), append([]any{challenge, now}, args...)...)
	if err != nil {
		return selfhosted.Ceremony{}, selfhosted.UserRecord{}, nil, storeErr("take ceremony with user", err)
	}
	defer rows.Close()
	var (
		c     = selfhosted.Ceremony{Challenge: challenge}
		u     selfhosted.UserRecord
		creds = []selfhosted.CredentialRecord{}
		found bool
	)
	for rows.Next() {
		var (
			kind                  string
			userID, email         *string
			userCreated           *time.Time
			cr                    selfhosted.CredentialRecord
			name                  *string
			signCount             *int64
			backupState           *bool
			credCreated, lastUsed *time.Time
		)
		if err := rows.Scan(&kind, &c.UserID, &c.Session, &c.ExpiresAt, &userID, &email, &u.Handle, &userCreated,
			&cr.ID, &name, &cr.Data, &signCount, &backupState, &credCreated, &lastUsed); err != nil {
			return selfhosted.Ceremony{}, selfhosted.UserRecord{}, nil, storeErr("take ceremony with user", err)
		}
		found = true
		c.Kind, c.ExpiresAt = selfhosted.CeremonyKind(kind), c.ExpiresAt.UTC()
		if userID == nil {
			continue // no such user
		}
		u.ID, u.Email, u.CreatedAt = *userID, *email, userCreated.UTC()
		if cr.ID == nil {
			continue // the user has no credentials
		}
		cr.UserID, cr.Name, cr.SignCount, cr.BackupState = u.ID, *name, uint32(*signCount), *backupState
		cr.CreatedAt = credCreated.UTC()
		if lastUsed != nil {
			cr.LastUsedAt = lastUsed.UTC()
		}
		creds = append(creds, cr)
	}
	if err := rows.Err(); err != nil {
		return selfhosted.Ceremony{}, selfhosted.UserRecord{}, nil, storeErr("take ceremony with user", err)
	}
	if !found {
		return selfhosted.Ceremony{}, selfhosted.UserRecord{}, nil, selfhosted.ErrNotFound
	}
	if u.ID == "" {
		return c, selfhosted.UserRecord{}, nil, nil
	}
	return c, u, creds, nil
}
