package sqlitestore

import (
	"context"
	"database/sql"
	"slices"
	"time"

	"github.com/passkeyready/passkeys/selfhosted"
)

var _ selfhosted.ActivityBatchStore = (*Store)(nil)

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

// appendActivitySQL are the statements of AppendActivities' transaction.
var appendActivitySQL = []string{purgeActivitySQL, insertActivitySQL, trimActivitySQL}

// AppendActivity implements [selfhosted.ActivityStore]: it is
// AppendActivities with r alone.
func (s *Store) AppendActivity(ctx context.Context, r selfhosted.ActivityRecord, now time.Time) error {
	return s.AppendActivities(ctx, []selfhosted.ActivityRecord{r}, now)
}

// AppendActivities implements [selfhosted.ActivityBatchStore]: in one
// transaction (one write of the group commit) it inserts rs, then deletes
// the records of each of their users beyond the newest
// ActivityMaxPerUser, one statement per user. For every purgeEvery-th
// record this Store appends it first deletes up to purgeLimit records
// older than ActivityMaxAge at now, in the same transaction. Its first
// statement writes, so the transaction takes the write lock at once and
// waits out the busy timeout for it.
func (s *Store) AppendActivities(ctx context.Context, rs []selfhosted.ActivityRecord, now time.Time) error {
	if len(rs) == 0 {
		return nil
	}
	// Appends number 1, 1+purgeEvery, 1+2*purgeEvery, ... purge.
	n := s.activityPuts.Add(uint64(len(rs)))
	purges := (n+purgeEvery-1)/purgeEvery - (n-uint64(len(rs))+purgeEvery-1)/purgeEvery
	return s.inTx(ctx, "append activity", appendActivitySQL, func(ctx context.Context, tx *sql.Tx) error {
		if purges > 0 {
			if _, err := s.txExec(ctx, tx, purgeActivitySQL, micros(now.Add(-selfhosted.ActivityMaxAge)), purges*purgeLimit); err != nil {
				return storeErr("purge activity", err)
			}
		}
		for _, r := range rs {
			if _, err := s.txExec(ctx, tx, insertActivitySQL, r.UserID, r.Kind, micros(r.At), r.Method, r.Detail, r.IP, r.UserAgent); err != nil {
				return storeErr("append activity", err)
			}
		}
		for i, r := range rs {
			if slices.ContainsFunc(rs[:i], func(p selfhosted.ActivityRecord) bool { return p.UserID == r.UserID }) {
				continue // trimmed already
			}
			if _, err := s.txExec(ctx, tx, trimActivitySQL, r.UserID, selfhosted.ActivityMaxPerUser); err != nil {
				return storeErr("trim activity", err)
			}
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
