package memstore

import (
	"cmp"
	"context"
	"slices"
	"time"

	"github.com/passkeyready/passkeys/selfhosted"
)

var _ selfhosted.ActivityStore = (*Store)(nil)

// activityTable holds the audit trail of a Store, under its lock. The
// zero value is empty and ready.
type activityTable struct {
	byUser map[string][]activityRow // in append order
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
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	t := &s.activity
	if t.byUser == nil {
		t.byUser = make(map[string][]activityRow)
	}
	cutoff := now.Add(-selfhosted.ActivityMaxAge)
	if t.puts++; t.puts%purgeEvery == 1 {
		dropped := 0
		for id, rows := range t.byUser {
			if dropped >= purgeLimit {
				break
			}
			kept := rows[:0]
			for _, row := range rows {
				if dropped < purgeLimit && !row.r.At.After(cutoff) {
					dropped++
					continue
				}
				kept = append(kept, row)
			}
			if len(kept) == 0 {
				delete(t.byUser, id)
			} else {
				t.byUser[id] = kept
			}
		}
	}
	t.seq++
	rows := append(t.byUser[r.UserID], activityRow{r, t.seq})
	if len(rows) > selfhosted.ActivityMaxPerUser {
		sortNewestFirst(rows)
		rows = slices.Clone(rows[:selfhosted.ActivityMaxPerUser])
	}
	t.byUser[r.UserID] = rows
	return nil
}

// ActivityByUser implements [selfhosted.ActivityStore].
func (s *Store) ActivityByUser(ctx context.Context, userID string, now time.Time, limit int) ([]selfhosted.ActivityRecord, error) {
	if err := s.lock(ctx); err != nil {
		return nil, err
	}
	rows := slices.Clone(s.activity.byUser[userID])
	s.mu.Unlock()
	sortNewestFirst(rows)
	cutoff := now.Add(-selfhosted.ActivityMaxAge)
	list := []selfhosted.ActivityRecord{}
	for _, row := range rows {
		if len(list) >= limit {
			break
		}
		if row.r.At.After(cutoff) {
			list = append(list, row.r)
		}
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

func sortNewestFirst(rows []activityRow) {
	slices.SortFunc(rows, func(a, b activityRow) int {
		if c := b.r.At.Compare(a.r.At); c != 0 {
			return c
		}
		return cmp.Compare(b.seq, a.seq)
	})
}
