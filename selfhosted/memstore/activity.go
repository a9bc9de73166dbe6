package memstore

import (
	"context"
	"slices"
	"time"

	"github.com/passkeyready/passkeys/selfhosted"
)

var _ selfhosted.ActivityBatchStore = (*Store)(nil)

// activityTable holds the audit trail of a Store, under its lock. The
// zero value is empty and ready.
type activityTable struct {
	byUser map[string][]activityRow // oldest first: by At, then seq
	seq    uint64
	puts   uint64 // AppendActivity calls so far
}

type activityRow struct {
	r   selfhosted.ActivityRecord
	seq uint64
}

// AppendActivity implements [selfhosted.ActivityStore]. It keeps the
// user's newest ActivityMaxPerUser records, and on every purgeEvery-th
// call drops up to purgeLimit records older than ActivityMaxAge.
func (s *Store) AppendActivity(ctx context.Context, r selfhosted.ActivityRecord, now time.Time) error {
	return s.AppendActivities(ctx, []selfhosted.ActivityRecord{r}, now)
}

// AppendActivities implements [selfhosted.ActivityBatchStore]: it appends
// rs under one lock, purging as len(rs) AppendActivity calls would, and
// trims each user once. A user's records are kept in list order, oldest
// first, so a record in time order goes at the end and the trim cuts the
// head.
func (s *Store) AppendActivities(ctx context.Context, rs []selfhosted.ActivityRecord, now time.Time) error {
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	t := &s.activity
	if t.byUser == nil {
		t.byUser = make(map[string][]activityRow)
	}
	for _, r := range rs {
		if t.puts++; t.puts%purgeEvery == 1 {
			t.purge(now.Add(-selfhosted.ActivityMaxAge))
		}
		t.seq++
		rows := t.byUser[r.UserID]
		i := len(rows)
		for i > 0 && rows[i-1].r.At.After(r.At) {
			i--
		}
		t.byUser[r.UserID] = slices.Insert(rows, i, activityRow{r, t.seq})
	}
	for _, r := range rs {
		if rows := t.byUser[r.UserID]; len(rows) > selfhosted.ActivityMaxPerUser {
			// The next append that outgrows the array copies the kept
			// records to a new one, leaving the cut ones behind.
			t.byUser[r.UserID] = rows[len(rows)-selfhosted.ActivityMaxPerUser:]
		}
	}
	return nil
}

// purgeUsers bounds how many users' records one purge looks at; the map's
// random order takes the next purge to others.
const purgeUsers = 256

// purge drops up to purgeLimit records at or before cutoff: the oldest of
// at most purgeUsers users, which head their lists.
func (t *activityTable) purge(cutoff time.Time) {
	dropped, seen := 0, 0
	for id, rows := range t.byUser {
		if dropped >= purgeLimit || seen >= purgeUsers {
			break
		}
		seen++
		n := 0
		for n < len(rows) && dropped < purgeLimit && !rows[n].r.At.After(cutoff) {
			n++
			dropped++
		}
		switch {
		case n == len(rows):
			delete(t.byUser, id)
		case n > 0:
			t.byUser[id] = rows[n:]
		}
	}
}

// ActivityByUser implements [selfhosted.ActivityStore].
func (s *Store) ActivityByUser(ctx context.Context, userID string, now time.Time, limit int) ([]selfhosted.ActivityRecord, error) {
	if err := s.lock(ctx); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	rows := s.activity.byUser[userID]
	cutoff := now.Add(-selfhosted.ActivityMaxAge)
	list := []selfhosted.ActivityRecord{}
	for i := len(rows) - 1; i >= 0 && len(list) < limit && rows[i].r.At.After(cutoff); i-- {
		list = append(list, rows[i].r)
	}
	return list, nil
}

// DeleteActivity implements [selfhosted.ActivityStore].
func (s *Store) DeleteActivity(ctx context.Context, userID string) error {
	if err := s.lock(ctx); err != nil {
		return err
	}
	delete(s.activity.byUser, userID)
	s.mu.Unlock()
	return nil
}
