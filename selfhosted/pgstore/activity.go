package pgstore

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/passkeyready/passkeys/selfhosted"
)

var _ selfhosted.ActivityStore = (*Store)(nil)

// The activity statements, with {schema} standing for the quoted schema
// name; each finds its rows through activity_by_user or activity_by_age.
const (
	purgeActivitySQL = `DELETE FROM {schema}.activity WHERE seq = ANY (ARRAY(
		SELECT seq FROM {schema}.activity WHERE at <= $1 ORDER BY at LIMIT $2 FOR UPDATE SKIP LOCKED))`
	insertActivitySQL = `INSERT INTO {schema}.activity (user_id, kind, at, method, detail, ip, user_agent)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`
	trimActivitySQL = `DELETE FROM {schema}.activity WHERE seq = ANY (ARRAY(
		SELECT seq FROM {schema}.activity WHERE user_id = $1 ORDER BY at DESC, seq DESC OFFSET $2))`
	deleteActivitySQL = `DELETE FROM {schema}.activity WHERE user_id = $1`
	activityByUserSQL = `SELECT user_id, kind, at, method, detail, ip, user_agent FROM {schema}.activity
		WHERE user_id = $1 AND at > $2 ORDER BY at DESC, seq DESC LIMIT $3`
)

// AppendActivity implements [selfhosted.ActivityStore]: it inserts r,
// then deletes the user's records beyond the newest ActivityMaxPerUser,
// both in one batch (one round trip, one transaction).
// On every purgeEvery-th call of this Store it first deletes up to
// purgeLimit records older than ActivityMaxAge at now that no other call
// is deleting.
func (s *Store) AppendActivity(ctx context.Context, r selfhosted.ActivityRecord, now time.Time) error {
	if s.activityPuts.Add(1)%purgeEvery == 1 {
		if _, err := s.pool.Exec(ctx, s.sql(purgeActivitySQL), now.Add(-selfhosted.ActivityMaxAge), purgeLimit); err != nil {
			return storeErr("purge activity", err)
		}
	}
	// One round trip and one commit: a batch runs as one transaction, the
	// trim seeing the insert.
	b := &pgx.Batch{}
	b.Queue(s.sql(insertActivitySQL), r.UserID, r.Kind, r.At, r.Method, r.Detail, r.IP, r.UserAgent)
	b.Queue(s.sql(trimActivitySQL), r.UserID, selfhosted.ActivityMaxPerUser)
	res := s.pool.SendBatch(ctx, b)
	if _, err := res.Exec(); err != nil {
		res.Close()
		return storeErr("append activity", err)
	}
	if _, err := res.Exec(); err != nil {
		res.Close()
		return storeErr("trim activity", err)
	}
	if err := res.Close(); err != nil {
		return storeErr("append activity", err)
	}
	return nil
}

// DeleteActivity implements [selfhosted.ActivityStore].
func (s *Store) DeleteActivity(ctx context.Context, userID string) error {
	if _, err := s.pool.Exec(ctx, s.sql(deleteActivitySQL), userID); err != nil {
		return storeErr("delete activity", err)
	}
	return nil
}

// ActivityByUser implements [selfhosted.ActivityStore].
func (s *Store) ActivityByUser(ctx context.Context, userID string, now time.Time, limit int) ([]selfhosted.ActivityRecord, error) {
	rows, err := s.pool.Query(ctx, s.sql(activityByUserSQL), userID, now.Add(-selfhosted.ActivityMaxAge), limit)
	if err != nil {
		return nil, storeErr("list activity", err)
	}
	defer rows.Close()
	list := []selfhosted.ActivityRecord{}
	for rows.Next() {
		var r selfhosted.ActivityRecord
		if err := rows.Scan(&r.UserID, &r.Kind, &r.At, &r.Method, &r.Detail, &r.IP, &r.UserAgent); err != nil {
			return nil, storeErr("list activity", err)
		}
		r.At = r.At.UTC()
		list = append(list, r)
	}
	if err := rows.Err(); err != nil {
		return nil, storeErr("list activity", err)
	}
	return list, nil
}
