package sqlitestore

import (
	"context"
	"database/sql"
	"time"

	"github.com/passkeyready/passkeys/selfhosted"
)

var _ selfhosted.ActivityStore = (*Store)(nil)

// The activity statements; each finds its rows through activity_by_user
// or activity_by_age.
const (
	purgeActivitySQL = `DELETE FROM activity WHERE seq IN (
		SELECT seq FROM activity WHERE at <= ? ORDER BY at LIMIT ?)`
	insertActivitySQL = `INSERT INTO activity (user_id, kind, at, method, detail, ip, user_agent)
		VALUES (?, ?, ?, ?, ?, ?, ?)`
	trimActivitySQL = `DELETE FROM activity WHERE seq IN (
		SELECT seq FROM activity WHERE user_id = ?1 ORDER BY at DESC, seq DESC LIMIT -1 OFFSET ?2)`
	deleteActivitySQL = `DELETE FROM activity WHERE user_id = ?`
	activityByUserSQL = `SELECT user_id, kind, at, method, detail, ip, user_agent FROM activity
		WHERE user_id = ?1 AND at > ?2 ORDER BY at DESC, seq DESC LIMIT ?3`
)

// appendActivitySQL are the statements of AppendActivity's transaction.
var appendActivitySQL = []string{purgeActivitySQL, insertActivitySQL, trimActivitySQL}

// AppendActivity implements [selfhosted.ActivityStore]: in one
// transaction it inserts r, then deletes the user's records beyond the
// newest ActivityMaxPerUser. On every purgeEvery-th call of this Store it
// first deletes up to purgeLimit records older than ActivityMaxAge at now,
// in the same transaction. Its first statement writes, so the transaction
// takes the write lock at once and waits out the busy timeout for it.
func (s *Store) AppendActivity(ctx context.Context, r selfhosted.ActivityRecord, now time.Time) error {
	purge := s.activityPuts.Add(1)%purgeEvery == 1
	return s.inTx(ctx, "append activity", appendActivitySQL, func(ctx context.Context, tx *sql.Tx) error {
		if purge {
			if _, err := s.txExec(ctx, tx, purgeActivitySQL, micros(now.Add(-selfhosted.ActivityMaxAge)), purgeLimit); err != nil {
				return storeErr("purge activity", err)
			}
		}
		if _, err := s.txExec(ctx, tx, insertActivitySQL, r.UserID, r.Kind, micros(r.At), r.Method, r.Detail, r.IP, r.UserAgent); err != nil {
			return storeErr("append activity", err)
		}
		if _, err := s.txExec(ctx, tx, trimActivitySQL, r.UserID, selfhosted.ActivityMaxPerUser); err != nil {
			return storeErr("trim activity", err)
		}
		return nil
	})
}

// DeleteActivity implements [selfhosted.ActivityStore].
func (s *Store) DeleteActivity(ctx context.Context, userID string) error {
	if _, err := s.exec(ctx, deleteActivitySQL, userID); err != nil {
		return storeErr("delete activity", err)
	}
	return nil
}

// ActivityByUser implements [selfhosted.ActivityStore].
func (s *Store) ActivityByUser(ctx context.Context, userID string, now time.Time, limit int) ([]selfhosted.ActivityRecord, error) {
	rows, err := s.query(ctx, activityByUserSQL, userID, micros(now.Add(-selfhosted.ActivityMaxAge)), limit)
	if err != nil {
		return nil, storeErr("list activity", err)
	}
	defer rows.Close()
	list := []selfhosted.ActivityRecord{}
	for rows.Next() {
		var (
			r  selfhosted.ActivityRecord
			at int64
		)
		if err := rows.Scan(&r.UserID, &r.Kind, &at, &r.Method, &r.Detail, &r.IP, &r.UserAgent); err != nil {
			return nil, storeErr("list activity", err)
		}
		r.At = fromMicros(at)
		list = append(list, r)
	}
	if err := rows.Err(); err != nil {
		return nil, storeErr("list activity", err)
	}
	return list, nil
}
