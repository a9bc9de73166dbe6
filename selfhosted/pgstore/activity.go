package pgstore

import (
	"context"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/passkeyready/passkeys/selfhosted"
)

var _ selfhosted.ActivityBatchStore = (*Store)(nil)

// The activity statements, with {schema} standing for the quoted schema
// name; each finds its rows through activity_by_user or activity_by_age.
const (
	purgeActivitySQL = `DELETE FROM {schema}.activity WHERE seq = ANY (ARRAY(
		SELECT seq FROM {schema}.activity WHERE at <= $1 ORDER BY at LIMIT $2 FOR UPDATE SKIP LOCKED))`
	// The records in order, so that seq follows it.
	insertActivitySQL = `INSERT INTO {schema}.activity (user_id, kind, at, method, detail, ip, user_agent)
		SELECT user_id, kind, at, method, detail, ip, user_agent
		FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::text[], $5::text[], $6::text[], $7::text[])
			WITH ORDINALITY AS r (user_id, kind, at, method, detail, ip, user_agent, n)
		ORDER BY n`
	// Each user's records beyond the newest $2, through activity_by_user.
	trimActivitySQL = `DELETE FROM {schema}.activity WHERE seq = ANY (ARRAY(
		SELECT a.seq FROM unnest($1::text[]) AS u (id), LATERAL (
			SELECT seq FROM {schema}.activity WHERE user_id = u.id ORDER BY at DESC, seq DESC OFFSET $2) AS a))`
	deleteActivitySQL = `DELETE FROM {schema}.activity WHERE user_id = $1`
	activityByUserSQL = `SELECT user_id, kind, at, method, detail, ip, user_agent FROM {schema}.activity
		WHERE user_id = $1 AND at > $2 ORDER BY at DESC, seq DESC LIMIT $3`
)

// AppendActivity implements [selfhosted.ActivityStore]: it is
// AppendActivities with r alone.
func (s *Store) AppendActivity(ctx context.Context, r selfhosted.ActivityRecord, now time.Time) error {
	return s.AppendActivities(ctx, []selfhosted.ActivityRecord{r}, now)
}

// AppendActivities implements [selfhosted.ActivityBatchStore]: in one
// batch (one round trip, one transaction) it inserts rs with one
// statement, then deletes the records of their users beyond the newest
// ActivityMaxPerUser with another. For every purgeEvery-th record this
// Store appends it first deletes, in the same batch, up to purgeLimit
// records older than ActivityMaxAge at now that no other call is
// deleting.
func (s *Store) AppendActivities(ctx context.Context, rs []selfhosted.ActivityRecord, now time.Time) error {
	if len(rs) == 0 {
		return nil
	}
	b := &pgx.Batch{}
	var ops []string // of b's statements, for their errors
	// Appends number 1, 1+purgeEvery, 1+2*purgeEvery, ... purge.
	n := s.activityPuts.Add(uint64(len(rs)))
	if purges := (n+purgeEvery-1)/purgeEvery - (n-uint64(len(rs))+purgeEvery-1)/purgeEvery; purges > 0 {
		b.Queue(s.sql(purgeActivitySQL), now.Add(-selfhosted.ActivityMaxAge), purges*purgeLimit)
		ops = append(ops, "purge activity")
	}
	var (
		users, kinds, methods, details, ips, agents = make([]string, len(rs)), make([]string, len(rs)),
			make([]string, len(rs)), make([]string, len(rs)), make([]string, len(rs)), make([]string, len(rs))
		ats     = make([]time.Time, len(rs))
		trimmed = make([]string, 0, 1)
	)
	for i, r := range rs {
		users[i], kinds[i], ats[i], methods[i], details[i], ips[i], agents[i] = r.UserID, r.Kind, r.At, r.Method, r.Detail, r.IP, r.UserAgent
		if !slices.Contains(trimmed, r.UserID) {
			trimmed = append(trimmed, r.UserID)
		}
	}
	b.Queue(s.sql(insertActivitySQL), users, kinds, ats, methods, details, ips, agents)
	b.Queue(s.sql(trimActivitySQL), trimmed, selfhosted.ActivityMaxPerUser)
	ops = append(ops, "append activity", "trim activity")
	res := s.pool.SendBatch(ctx, b)
	for _, op := range ops {
		if _, err := res.Exec(); err != nil {
			res.Close()
			return storeErr(op, err)
		}
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
