package memstore

import (
	"bytes"
	"cmp"
	"container/heap"
	"context"
	"slices"
	"time"

	"github.com/passkeyready/passkeys/selfhosted"
)

var _ selfhosted.SessionStore = (*Store)(nil)

// sessionTable holds the sessions of a Store, under its lock. The zero
// value is empty and ready.
type sessionTable struct {
	byID   map[string]selfhosted.SessionRecord
	byHash map[string]string              // token hash to ID
	byUser map[string]map[string]struct{} // user ID to session IDs
	puts   uint64                         // CreateSession calls so far
	// ends orders the sessions by the earlier of their two expiries as
	// they were when the session was created or last seen by the purge,
	// so that the purge visits only sessions that may have expired instead
	// of every session. An entry can be stale (the session was deleted, or
	// touched to a later idle expiry); the purge checks the session itself.
	ends endHeap
}

// sessionEnd is an entry of sessionTable.ends, and of Store.otpEnds with
// the code's email as id.
type sessionEnd struct {
	at time.Time
	id string
}

// endHeap is a min-heap of sessionEnds by time, for container/heap.
type endHeap []sessionEnd

func (h endHeap) Len() int           { return len(h) }
func (h endHeap) Less(i, j int) bool { return h[i].at.Before(h[j].at) }
func (h endHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *endHeap) Push(x any)        { *h = append(*h, x.(sessionEnd)) }
func (h *endHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	*h = old[:len(old)-1]
	return e
}

// end is the earlier of r's two expiries.
func end(r selfhosted.SessionRecord) time.Time {
	if r.IdleExpiresAt.Before(r.ExpiresAt) {
		return r.IdleExpiresAt
	}
	return r.ExpiresAt
}

// purge drops up to purgeLimit sessions expired at now, earliest first;
// the caller holds the lock. It visits only the entries of ends that are
// due, so its cost does not grow with the live sessions.
func (t *sessionTable) purge(now time.Time) {
	for dropped := 0; dropped < purgeLimit && len(t.ends) > 0 && !t.ends[0].at.After(now); {
		e := heap.Pop(&t.ends).(sessionEnd)
		r, ok := t.byID[e.id]
		switch {
		case !ok: // deleted since
		case live(r, now): // touched since: due later
			heap.Push(&t.ends, sessionEnd{end(r), r.ID})
		default:
			t.remove(r)
			dropped++
		}
	}
}

// live reports whether r is live at now.
func live(r selfhosted.SessionRecord, now time.Time) bool {
	return r.ExpiresAt.After(now) && r.IdleExpiresAt.After(now)
}

// CreateSession implements [selfhosted.SessionStore]. On every
// purgeEvery-th call it first drops up to purgeLimit sessions expired at
// now.
func (s *Store) CreateSession(ctx context.Context, r selfhosted.SessionRecord, now time.Time) error {
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	t := &s.sessions
	if t.byID == nil {
		t.byID = make(map[string]selfhosted.SessionRecord)
		t.byHash = make(map[string]string)
		t.byUser = make(map[string]map[string]struct{})
	}
	if t.puts++; t.puts%purgeEvery == 1 {
		t.purge(now)
	}
	if _, ok := t.byID[r.ID]; ok {
		return selfhosted.ErrDuplicate
	}
	if _, ok := t.byHash[string(r.TokenHash)]; ok {
		return selfhosted.ErrDuplicate
	}
	r.TokenHash = bytes.Clone(r.TokenHash)
	t.byID[r.ID] = r
	t.byHash[string(r.TokenHash)] = r.ID
	heap.Push(&t.ends, sessionEnd{end(r), r.ID})
	ids := t.byUser[r.UserID]
	if ids == nil {
		ids = make(map[string]struct{})
		t.byUser[r.UserID] = ids
	}
	ids[r.ID] = struct{}{}
	return nil
}

// remove drops r from every index; the caller holds the lock.
func (t *sessionTable) remove(r selfhosted.SessionRecord) {
	delete(t.byID, r.ID)
	delete(t.byHash, string(r.TokenHash))
	if ids := t.byUser[r.UserID]; ids != nil {
		delete(ids, r.ID)
		if len(ids) == 0 {
			delete(t.byUser, r.UserID)
		}
	}
}

// SessionByTokenHash implements [selfhosted.SessionStore].
func (s *Store) SessionByTokenHash(ctx context.Context, tokenHash []byte, now time.Time) (selfhosted.SessionRecord, error) {
	if err := s.lock(ctx); err != nil {
		return selfhosted.SessionRecord{}, err
	}
	defer s.mu.Unlock()
	id, ok := s.sessions.byHash[string(tokenHash)]
	if !ok {
		return selfhosted.SessionRecord{}, selfhosted.ErrNotFound
	}
	r := s.sessions.byID[id]
	if !live(r, now) {
		return selfhosted.SessionRecord{}, selfhosted.ErrNotFound
	}
	r.TokenHash = bytes.Clone(r.TokenHash)
	return r, nil
}

// TouchSession implements [selfhosted.SessionStore].
func (s *Store) TouchSession(ctx context.Context, id string, seen, idleExpiresAt time.Time) error {
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	r, ok := s.sessions.byID[id]
	if !ok || !live(r, seen) {
		return selfhosted.ErrNotFound
	}
	if seen.After(r.LastSeenAt) {
		r.LastSeenAt = seen
	}
	if idleExpiresAt.After(r.IdleExpiresAt) {
		r.IdleExpiresAt = idleExpiresAt
	}
	s.sessions.byID[id] = r
	return nil
}

// SessionsByUser implements [selfhosted.SessionStore].
func (s *Store) SessionsByUser(ctx context.Context, userID string, now time.Time) ([]selfhosted.SessionRecord, error) {
	if err := s.lock(ctx); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	list := []selfhosted.SessionRecord{}
	for id := range s.sessions.byUser[userID] {
		if r := s.sessions.byID[id]; live(r, now) {
			r.TokenHash = bytes.Clone(r.TokenHash)
			list = append(list, r)
		}
	}
	slices.SortFunc(list, func(a, b selfhosted.SessionRecord) int {
		if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
			return c
		}
		return cmp.Compare(b.ID, a.ID)
	})
	return list, nil
}

// DeleteSession implements [selfhosted.SessionStore].
func (s *Store) DeleteSession(ctx context.Context, userID, id string, now time.Time) error {
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	r, ok := s.sessions.byID[id]
	if !ok || r.UserID != userID || !live(r, now) {
		return selfhosted.ErrNotFound
	}
	s.sessions.remove(r)
	return nil
}

// DeleteSessionByTokenHash implements [selfhosted.SessionStore].
func (s *Store) DeleteSessionByTokenHash(ctx context.Context, tokenHash []byte) error {
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	id, ok := s.sessions.byHash[string(tokenHash)]
	if !ok {
		return selfhosted.ErrNotFound
	}
	s.sessions.remove(s.sessions.byID[id])
	return nil
}

// DeleteUserSessions implements [selfhosted.SessionStore].
func (s *Store) DeleteUserSessions(ctx context.Context, userID string) error {
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	for id := range s.sessions.byUser[userID] {
		s.sessions.remove(s.sessions.byID[id])
	}
	return nil
}
