package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/passkeyready/passkeys/internal/racetest"
	"github.com/passkeyready/passkeys/selfhosted"
)

// Sessions is the [Kind] of the sessions of a [selfhosted.SessionStore]:
// with a Count that counts them, the suite checks that CreateSession
// purges expired sessions, at the PurgeEvery and PurgeLimit rate.
const Sessions Kind = "sessions"

// sessionStoreFunc returns a fresh store as a SessionStore.
type sessionStoreFunc = func(t *testing.T) selfhosted.SessionStore

// testSessions checks the optional [selfhosted.SessionStore], when the
// stores h makes implement it.
func testSessions(t *testing.T, h Harness) {
	if _, ok := h.NewStore(t).(selfhosted.SessionStore); !ok {
		t.Skip("the store does not implement the optional selfhosted.SessionStore")
	}
	newStore := func(t *testing.T) selfhosted.SessionStore {
		return h.NewStore(t).(selfhosted.SessionStore)
	}
	t.Run("RoundTrip", func(t *testing.T) { testSessionRoundTrip(t, newStore) })
	t.Run("NotFound", func(t *testing.T) { testSessionNotFound(t, newStore) })
	t.Run("Duplicate", func(t *testing.T) { testSessionDuplicate(t, newStore) })
	t.Run("Expiry", func(t *testing.T) { testSessionExpiry(t, newStore) })
	t.Run("Touch", func(t *testing.T) { testSessionTouch(t, newStore) })
	t.Run("SessionsByUser", func(t *testing.T) { testSessionsByUser(t, newStore) })
	t.Run("DeleteSession", func(t *testing.T) { testDeleteSession(t, newStore) })
	t.Run("DeleteSessionByTokenHash", func(t *testing.T) { testDeleteSessionByTokenHash(t, newStore) })
	t.Run("DeleteUserSessions", func(t *testing.T) { testDeleteUserSessions(t, newStore) })
	t.Run("Races", func(t *testing.T) { testSessionRaces(t, newStore) })
	t.Run("CancelledContext", func(t *testing.T) { testSessionCancelledContext(t, newStore) })
	t.Run("Purge", func(t *testing.T) { testSessionPurge(t, h) })
}

// tokenHash returns a 32-byte token hash, distinct for each n below
// 65536, that starts and ends with a zero byte and holds bytes above 0x7f.
func tokenHash(n int) []byte {
	h := make([]byte, 32)
	for i := range h {
		h[i] = byte(n*29 + i*89)
	}
	h[0], h[1], h[2], h[len(h)-1] = 0, byte(n>>8), byte(n), 0
	h[3] = 0xff
	return h
}

// session returns the n-th fixture session of userID, created at created
// with every field set: expiring after 30 days, or 7 idle ones; strings
// beyond ASCII.
func session(n int, userID string, created time.Time) selfhosted.SessionRecord {
	return selfhosted.SessionRecord{
		ID:              fmt.Sprintf("session-%d", n),
		TokenHash:       tokenHash(n),
		UserID:          userID,
		Email:           "jörg+" + userID + "@example.com",
		CreatedAt:       created,
		LastSeenAt:      created,
		ExpiresAt:       created.Add(30 * 24 * time.Hour),
		IdleExpiresAt:   created.Add(7 * 24 * time.Hour),
		UserAgent:       `Mozilla/5.0 (X11; Linux x86_64) "quoted" \ ✓ 🔑`,
		IP:              "2001:db8::1",
		AuthMethod:      "passkey",
		AuthenticatedAt: created.Add(-time.Second),
		NewUser:         n%2 == 0,
	}
}

func showSession(r selfhosted.SessionRecord) string {
	return fmt.Sprintf("{ID:%q TokenHash:%x UserID:%q Email:%q CreatedAt:%s LastSeenAt:%s ExpiresAt:%s IdleExpiresAt:%s UserAgent:%q IP:%q AuthMethod:%q AuthenticatedAt:%s NewUser:%t}",
		r.ID, r.TokenHash, r.UserID, r.Email, showTime(r.CreatedAt), showTime(r.LastSeenAt), showTime(r.ExpiresAt),
		showTime(r.IdleExpiresAt), r.UserAgent, r.IP, r.AuthMethod, showTime(r.AuthenticatedAt), r.NewUser)
}

func showSessions(rs []selfhosted.SessionRecord) string {
	if rs == nil {
		return "nil"
	}
	lines := make([]string, len(rs))
	for i, r := range rs {
		lines[i] = showSession(r)
	}
	return "[" + strings.Join(lines, "\n\t ") + "]"
}

// sessionIDs returns the IDs of rs in order.
func sessionIDs(rs []selfhosted.SessionRecord) []string {
	ids := make([]string, len(rs))
	for i, r := range rs {
		ids[i] = r.ID
	}
	return ids
}

// createSessions stores rs at now, stopping the test if one fails.
func createSessions(t *testing.T, s selfhosted.SessionStore, now time.Time, rs ...selfhosted.SessionRecord) {
	t.Helper()
	for _, r := range rs {
		setup(t, "CreateSession", s.CreateSession(t.Context(), r, now))
	}
}

// wantSession reports a violation unless the session with r's token hash
// is r at now.
func wantSession(t *testing.T, s selfhosted.SessionStore, r selfhosted.SessionRecord, now time.Time) {
	t.Helper()
	got, err := s.SessionByTokenHash(t.Context(), r.TokenHash, now)
	wantValue(t, "SessionByTokenHash("+r.ID+")", showSession, r, got, err)
}

// wantNoSession reports a violation unless no session with hash is live
// at now.
func wantNoSession(t *testing.T, s selfhosted.SessionStore, what string, hash []byte, now time.Time) {
	t.Helper()
	_, err := s.SessionByTokenHash(t.Context(), hash, now)
	wantErr(t, "SessionByTokenHash("+what+")", err, selfhosted.ErrNotFound)
}

// wantList reports a violation unless the user's sessions live at now
// are those with ids, in that order.
func wantList(t *testing.T, s selfhosted.SessionStore, userID string, now time.Time, ids ...string) {
	t.Helper()
	got, err := s.SessionsByUser(t.Context(), userID, now)
	if err != nil {
		t.Errorf("SessionsByUser(%s): %v", userID, err)
		return
	}
	if got == nil {
		t.Errorf("SessionsByUser(%s) = nil, want an empty slice", userID)
	}
	if g := sessionIDs(got); !slices.Equal(g, ids) {
		t.Errorf("SessionsByUser(%s) = %q, want %q", userID, g, ids)
	}
}

func testSessionRoundTrip(t *testing.T, newStore sessionStoreFunc) {
	t.Run("EveryField", func(t *testing.T) {
		s, now := newStore(t), anchor()
		r := session(1, "user-1", now)
		in := r
		in.TokenHash = slices.Clone(r.TokenHash)
		setup(t, "CreateSession", s.CreateSession(t.Context(), in, now))
		in.TokenHash[5] ^= 0xff // the store keeps its own copy
		wantSession(t, s, r, now)

		got, err := s.SessionByTokenHash(t.Context(), r.TokenHash, now)
		if err == nil {
			got.TokenHash[5] ^= 0xff // and returns one
		}
		wantSession(t, s, r, now)
		list, err := s.SessionsByUser(t.Context(), "user-1", now)
		wantValue(t, "SessionsByUser", showSessions, []selfhosted.SessionRecord{r}, list, err)
	})

	t.Run("UnknownFields", func(t *testing.T) {
		s, now := newStore(t), anchor()
		r := session(2, "user-1", now)
		r.Email, r.UserAgent, r.IP, r.AuthMethod = "", "", "", ""
		r.AuthenticatedAt, r.NewUser = time.Time{}, false
		createSessions(t, s, now, r)
		wantSession(t, s, r, now)
	})
}

func testSessionNotFound(t *testing.T, newStore sessionStoreFunc) {
	s, now := newStore(t), anchor()
	wantNoSession(t, s, "empty store", tokenHash(1), now)
	r := session(1, "user-1", now)
	createSessions(t, s, now, r)
	wantNoSession(t, s, "other hash", tokenHash(2), now)
	wantNoSession(t, s, "prefix of a hash", r.TokenHash[:31], now)
	wantNoSession(t, s, "empty hash", []byte{}, now)
	err := s.TouchSession(t.Context(), "session-2", now.Add(time.Minute), now.Add(time.Hour))
	wantErr(t, "TouchSession(unknown)", err, selfhosted.ErrNotFound)
	wantSession(t, s, r, now)
}

func testSessionDuplicate(t *testing.T, newStore sessionStoreFunc) {
	s, now := newStore(t), anchor()
	r := session(1, "user-1", now)
	createSessions(t, s, now, r)

	sameID := session(2, "user-2", now)
	sameID.ID = r.ID
	wantErr(t, "CreateSession(same ID)", s.CreateSession(t.Context(), sameID, now), selfhosted.ErrDuplicate)
	wantNoSession(t, s, "refused session", sameID.TokenHash, now)

	sameHash := session(3, "user-2", now)
	sameHash.TokenHash = r.TokenHash
	wantErr(t, "CreateSession(same token hash)", s.CreateSession(t.Context(), sameHash, now), selfhosted.ErrDuplicate)

	wantSession(t, s, r, now)
	wantList(t, s, "user-2", now)
}

func testSessionExpiry(t *testing.T, newStore sessionStoreFunc) {
	for _, tc := range []struct {
		name           string
		absolute, idle time.Duration
	}{
		{"Absolute", time.Hour, 2 * time.Hour},
		{"Idle", 2 * time.Hour, time.Hour},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, now := newStore(t), anchor()
			r := session(1, "user-1", now)
			r.ExpiresAt, r.IdleExpiresAt = now.Add(tc.absolute), now.Add(tc.idle)
			createSessions(t, s, now, r)
			end := now.Add(time.Hour)
			last := end.Add(-time.Microsecond)

			wantSession(t, s, r, last)
			wantList(t, s, "user-1", last, r.ID)
			wantNoSession(t, s, "at its expiry", r.TokenHash, end)
			wantNoSession(t, s, "after its expiry", r.TokenHash, end.Add(time.Hour))
			wantList(t, s, "user-1", end)
			err := s.TouchSession(t.Context(), r.ID, end, end.Add(time.Hour))
			wantErr(t, "TouchSession(at its expiry)", err, selfhosted.ErrNotFound)
			err = s.DeleteSession(t.Context(), "user-1", r.ID, end)
			wantErr(t, "DeleteSession(at its expiry)", err, selfhosted.ErrNotFound)
			// None of them revived or removed it.
			wantSession(t, s, r, last)
		})
	}
}

func testSessionTouch(t *testing.T, newStore sessionStoreFunc) {
	t.Run("MovesIdleExpiry", func(t *testing.T) {
		s, now := newStore(t), anchor()
		r := session(1, "user-1", now)
		r.IdleExpiresAt = now.Add(time.Hour)
		createSessions(t, s, now, r)
		seen := now.Add(30 * time.Minute)
		setup(t, "TouchSession", s.TouchSession(t.Context(), r.ID, seen, seen.Add(time.Hour)))
		want := r
		want.LastSeenAt, want.IdleExpiresAt = seen, seen.Add(time.Hour)
		wantSession(t, s, want, now.Add(time.Hour)) // live past the old idle expiry
		wantSession(t, s, want, seen.Add(time.Hour).Add(-time.Microsecond))
		wantNoSession(t, s, "at the new idle expiry", r.TokenHash, seen.Add(time.Hour))
	})

	t.Run("NeverBack", func(t *testing.T) {
		s, now := newStore(t), anchor()
		r := session(1, "user-1", now)
		r.IdleExpiresAt = now.Add(time.Hour)
		createSessions(t, s, now, r)
		seen := now.Add(30 * time.Minute)
		setup(t, "TouchSession", s.TouchSession(t.Context(), r.ID, seen, seen.Add(48*time.Hour)))
		// An older touch, arriving late: not an error, and it changes nothing.
		err := s.TouchSession(t.Context(), r.ID, now.Add(time.Minute), now.Add(time.Minute+time.Hour))
		wantErr(t, "TouchSession(older)", err, nil)
		want := r
		want.LastSeenAt, want.IdleExpiresAt = seen, seen.Add(48*time.Hour)
		wantSession(t, s, want, seen)
	})

	t.Run("Concurrent", func(t *testing.T) {
		s, now := newStore(t), anchor()
		r := session(1, "user-1", now)
		r.IdleExpiresAt = now.Add(time.Hour)
		createSessions(t, s, now, r)
		errs := racetest.Race(20, func(i int) error {
			seen := now.Add(time.Duration(i+1) * time.Second)
			return s.TouchSession(t.Context(), r.ID, seen, seen.Add(time.Hour))
		})
		racetest.Tally(t, "TouchSession(concurrent)", errs, len(errs), nil)
		want := r
		want.LastSeenAt = now.Add(20 * time.Second)
		want.IdleExpiresAt = want.LastSeenAt.Add(time.Hour)
		wantSession(t, s, want, now.Add(time.Minute))
	})

	t.Run("OtherSessionsUnchanged", func(t *testing.T) {
		s, now := newStore(t), anchor()
		a, b := session(1, "user-1", now), session(2, "user-1", now)
		createSessions(t, s, now, a, b)
		setup(t, "TouchSession", s.TouchSession(t.Context(), a.ID, now.Add(time.Minute), now.Add(time.Hour)))
		wantSession(t, s, b, now.Add(time.Minute))
	})
}

func testSessionsByUser(t *testing.T, newStore sessionStoreFunc) {
	s, now := newStore(t), anchor()
	newest := now.Add(time.Second)
	a := session(1, "user-1", now)
	b := session(2, "user-1", newest)
	c := session(3, "user-1", newest)
	expired := session(4, "user-1", newest)
	expired.IdleExpiresAt = newest.Add(time.Minute)
	other := session(5, "user-2", newest)
	createSessions(t, s, newest, a, b, c, expired, other)

	at := newest.Add(time.Minute)
	got, err := s.SessionsByUser(t.Context(), "user-1", at)
	wantValue(t, "SessionsByUser(user-1)", showSessions, []selfhosted.SessionRecord{c, b, a}, got, err)
	wantList(t, s, "user-2", at, other.ID)
	wantList(t, s, "user-3", at)
	wantList(t, s, "user-1", newest, expired.ID, c.ID, b.ID, a.ID)
}

func testDeleteSession(t *testing.T, newStore sessionStoreFunc) {
	s, now := newStore(t), anchor()
	mine, theirs := session(1, "user-1", now), session(2, "user-2", now)
	createSessions(t, s, now, mine, theirs)

	wantErr(t, "DeleteSession(another user's)", s.DeleteSession(t.Context(), "user-1", theirs.ID, now), selfhosted.ErrNotFound)
	wantSession(t, s, theirs, now)
	wantErr(t, "DeleteSession(unknown)", s.DeleteSession(t.Context(), "user-1", "session-9", now), selfhosted.ErrNotFound)

	wantErr(t, "DeleteSession(own)", s.DeleteSession(t.Context(), "user-1", mine.ID, now), nil)
	wantNoSession(t, s, "deleted", mine.TokenHash, now)
	wantList(t, s, "user-1", now)
	wantErr(t, "DeleteSession(again)", s.DeleteSession(t.Context(), "user-1", mine.ID, now), selfhosted.ErrNotFound)
	wantSession(t, s, theirs, now)
}

func testDeleteSessionByTokenHash(t *testing.T, newStore sessionStoreFunc) {
	s, now := newStore(t), anchor()
	a, b := session(1, "user-1", now), session(2, "user-1", now)
	expired := session(3, "user-1", now)
	expired.ExpiresAt = now.Add(time.Minute)
	createSessions(t, s, now, a, b, expired)

	wantErr(t, "DeleteSessionByTokenHash", s.DeleteSessionByTokenHash(t.Context(), a.TokenHash), nil)
	wantNoSession(t, s, "deleted", a.TokenHash, now)
	wantErr(t, "DeleteSessionByTokenHash(again)", s.DeleteSessionByTokenHash(t.Context(), a.TokenHash), selfhosted.ErrNotFound)
	wantErr(t, "DeleteSessionByTokenHash(unknown)", s.DeleteSessionByTokenHash(t.Context(), tokenHash(9)), selfhosted.ErrNotFound)
	wantSession(t, s, b, now)

	// An expired session is deleted too, so a revocation never depends on
	// the clock.
	wantErr(t, "DeleteSessionByTokenHash(expired)", s.DeleteSessionByTokenHash(t.Context(), expired.TokenHash), nil)
	wantNoSession(t, s, "deleted expired", expired.TokenHash, now)
	wantList(t, s, "user-1", now, b.ID)
}

func testDeleteUserSessions(t *testing.T, newStore sessionStoreFunc) {
	s, now := newStore(t), anchor()
	var mine []selfhosted.SessionRecord
	for i := range 3 {
		mine = append(mine, session(i+1, "user-1", now))
	}
	mine[2].IdleExpiresAt = now.Add(time.Minute)
	theirs := session(4, "user-2", now)
	createSessions(t, s, now, append(mine, theirs)...)

	wantErr(t, "DeleteUserSessions", s.DeleteUserSessions(t.Context(), "user-1"), nil)
	for _, r := range mine {
		wantNoSession(t, s, "deleted "+r.ID, r.TokenHash, now)
		// Deleted, expired or not: the hash and ID are free again.
		wantErr(t, "CreateSession(same ID and hash after DeleteUserSessions)", s.CreateSession(t.Context(), r, now), nil)
	}
	wantSession(t, s, theirs, now)
	wantErr(t, "DeleteUserSessions(none)", s.DeleteUserSessions(t.Context(), "user-3"), nil)
	wantList(t, s, "user-2", now, theirs.ID)
}

func testSessionRaces(t *testing.T, newStore sessionStoreFunc) {
	t.Run("CreateSameID", func(t *testing.T) {
		s, now := newStore(t), anchor()
		rs := make([]selfhosted.SessionRecord, 20)
		for i := range rs {
			rs[i] = session(i+1, "user-1", now)
			rs[i].ID = "same"
		}
		errs := racetest.Race(len(rs), func(i int) error { return s.CreateSession(t.Context(), rs[i], now) })
		racetest.Tally(t, "CreateSession(same ID)", errs, 1, selfhosted.ErrDuplicate)
		if w := winner(errs); w >= 0 {
			wantSession(t, s, rs[w], now)
		}
		wantList(t, s, "user-1", now, "same")
	})

	t.Run("CreateSameTokenHash", func(t *testing.T) {
		s, now := newStore(t), anchor()
		rs := make([]selfhosted.SessionRecord, 20)
		for i := range rs {
			rs[i] = session(i+1, "user-1", now)
			rs[i].TokenHash = tokenHash(0)
		}
		errs := racetest.Race(len(rs), func(i int) error { return s.CreateSession(t.Context(), rs[i], now) })
		racetest.Tally(t, "CreateSession(same token hash)", errs, 1, selfhosted.ErrDuplicate)
		if w := winner(errs); w >= 0 {
			wantSession(t, s, rs[w], now)
			wantList(t, s, "user-1", now, rs[w].ID)
		}
	})

	t.Run("DeleteSession", func(t *testing.T) {
		s, now := newStore(t), anchor()
		r := session(1, "user-1", now)
		createSessions(t, s, now, r)
		errs := racetest.Race(20, func(int) error { return s.DeleteSession(t.Context(), "user-1", r.ID, now) })
		racetest.Tally(t, "DeleteSession", errs, 1, selfhosted.ErrNotFound)
	})

	t.Run("DeleteSessionByTokenHash", func(t *testing.T) {
		s, now := newStore(t), anchor()
		r := session(1, "user-1", now)
		createSessions(t, s, now, r)
		errs := racetest.Race(20, func(int) error { return s.DeleteSessionByTokenHash(t.Context(), r.TokenHash) })
		racetest.Tally(t, "DeleteSessionByTokenHash", errs, 1, selfhosted.ErrNotFound)
	})

	// Readers check the session while it is revoked: each read either finds
	// it whole or finds nothing, and none that starts after the revocation
	// returned finds it.
	t.Run("RevokeRacingVerify", func(t *testing.T) {
		for _, tc := range []struct {
			name   string
			revoke func(s selfhosted.SessionStore, r selfhosted.SessionRecord, now time.Time) error
		}{
			{"ByTokenHash", func(s selfhosted.SessionStore, r selfhosted.SessionRecord, _ time.Time) error {
				return s.DeleteSessionByTokenHash(t.Context(), r.TokenHash)
			}},
			{"ByID", func(s selfhosted.SessionStore, r selfhosted.SessionRecord, now time.Time) error {
				return s.DeleteSession(t.Context(), r.UserID, r.ID, now)
			}},
			{"User", func(s selfhosted.SessionStore, r selfhosted.SessionRecord, _ time.Time) error {
				return s.DeleteUserSessions(t.Context(), r.UserID)
			}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				s, now := newStore(t), anchor()
				r := session(1, "user-1", now)
				createSessions(t, s, now, r)
				var revoked atomic.Bool
				var mu sync.Mutex
				var violations []string
				note := func(format string, args ...any) {
					mu.Lock()
					defer mu.Unlock()
					if len(violations) < 5 {
						violations = append(violations, fmt.Sprintf(format, args...))
					}
				}
				const readers = 8
				errs := racetest.Race(readers+1, func(i int) error {
					if i == readers {
						err := tc.revoke(s, r, now)
						revoked.Store(true)
						return err
					}
					for n := 0; n < 200; n++ {
						after := revoked.Load()
						got, err := s.SessionByTokenHash(context.Background(), r.TokenHash, now)
						switch {
						case err == nil && after:
							note("SessionByTokenHash found the session after its revocation returned")
						case err == nil && showSession(got) != showSession(r):
							note("SessionByTokenHash during the revocation returned\n\t%s\nwant\n\t%s", showSession(got), showSession(r))
						case err != nil && !errors.Is(err, selfhosted.ErrNotFound):
							return err
						}
						if after {
							break
						}
					}
					return nil
				})
				racetest.Tally(t, "revocation and readers", errs, len(errs), nil)
				for _, v := range violations {
					t.Error(v)
				}
				wantNoSession(t, s, "revoked", r.TokenHash, now)
			})
		}
	})

	// Sessions are created while CreateSession purges expired ones: every
	// live session survives, and every create succeeds.
	t.Run("CreateRacingPurge", func(t *testing.T) {
		s, now := newStore(t), anchor()
		for i := range 300 {
			r := session(1000+i, "old", now)
			r.IdleExpiresAt = now.Add(time.Minute)
			setup(t, "CreateSession", s.CreateSession(t.Context(), r, now))
		}
		later := now.Add(time.Hour)
		rs := make([]selfhosted.SessionRecord, 64)
		for i := range rs {
			rs[i] = session(i+1, "new", later)
		}
		errs := racetest.Race(len(rs), func(i int) error { return s.CreateSession(t.Context(), rs[i], later) })
		racetest.Tally(t, "CreateSession(while purging)", errs, len(rs), nil)
		got, err := s.SessionsByUser(t.Context(), "new", later)
		if err != nil {
			t.Fatalf("SessionsByUser: %v", err)
		}
		if len(got) != len(rs) {
			t.Errorf("%d of %d sessions created while purging are live, want all", len(got), len(rs))
		}
		for _, r := range rs {
			wantSession(t, s, r, later)
		}
	})
}

// testSessionCancelledContext calls every method with a cancelled
// context: each must fail with an error that is none of the contract's
// sentinels and must change nothing.
func testSessionCancelledContext(t *testing.T, newStore sessionStoreFunc) {
	now := anchor()
	r := session(1, "user-1", now)
	unchanged := func(t *testing.T, s selfhosted.SessionStore) { wantSession(t, s, r, now) }
	cases := []struct {
		name string
		call func(ctx context.Context, s selfhosted.SessionStore) error
	}{
		{"CreateSession", func(ctx context.Context, s selfhosted.SessionStore) error {
			return s.CreateSession(ctx, session(2, "user-1", now), now)
		}},
		{"SessionByTokenHash", func(ctx context.Context, s selfhosted.SessionStore) error {
			_, err := s.SessionByTokenHash(ctx, r.TokenHash, now)
			return err
		}},
		{"TouchSession", func(ctx context.Context, s selfhosted.SessionStore) error {
			return s.TouchSession(ctx, r.ID, now.Add(time.Minute), now.Add(time.Hour))
		}},
		{"SessionsByUser", func(ctx context.Context, s selfhosted.SessionStore) error {
			_, err := s.SessionsByUser(ctx, "user-1", now)
			return err
		}},
		{"DeleteSession", func(ctx context.Context, s selfhosted.SessionStore) error {
			return s.DeleteSession(ctx, "user-1", r.ID, now)
		}},
		{"DeleteSessionByTokenHash", func(ctx context.Context, s selfhosted.SessionStore) error {
			return s.DeleteSessionByTokenHash(ctx, r.TokenHash)
		}},
		{"DeleteUserSessions", func(ctx context.Context, s selfhosted.SessionStore) error {
			return s.DeleteUserSessions(ctx, "user-1")
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t)
			createSessions(t, s, now, r)
			ctx, cancel := context.WithCancel(t.Context())
			cancel()
			err := tc.call(ctx, s)
			switch {
			case err == nil:
				t.Errorf("%s with a cancelled context: no error", tc.name)
			case errors.Is(err, selfhosted.ErrNotFound), errors.Is(err, selfhosted.ErrDuplicate):
				t.Errorf("%s with a cancelled context: error = %v, want a failure that is not a contract sentinel", tc.name, err)
			}
			unchanged(t, s)
			wantNoSession(t, s, "session-2", tokenHash(2), now)
		})
	}
}

// testSessionPurge checks, through h.Count, that CreateSession purges
// expired sessions and only those.
func testSessionPurge(t *testing.T, h Harness) {
	if h.Count == nil {
		t.Skip("Harness.Count is not set; the purge checks need it")
	}
	newStore := func(t *testing.T) selfhosted.SessionStore { return h.NewStore(t).(selfhosted.SessionStore) }
	count := func(t *testing.T, s selfhosted.SessionStore) int {
		t.Helper()
		return h.Count(t, s.(selfhosted.Store), Sessions)
	}

	// A thousand sessions, each expired by the time the next is created:
	// every other one by its absolute expiry, the rest by the idle one.
	t.Run("CreatePurgesExpired", func(t *testing.T) {
		s, now := newStore(t), anchor()
		for i := range 1000 {
			at := now.Add(time.Duration(i) * time.Second)
			r := session(i, "user-1", at)
			if i%2 == 0 {
				r.ExpiresAt = at.Add(time.Second)
			} else {
				r.IdleExpiresAt = at.Add(time.Second)
			}
			setup(t, "CreateSession", s.CreateSession(t.Context(), r, at))
		}
		if n := count(t, s); n >= 150 {
			t.Errorf("%d of 1000 expired sessions still stored, want fewer than 150", n)
		}
	})

	t.Run("CreatePurgeIsBounded", func(t *testing.T) {
		if h.PurgeEvery <= 0 || h.PurgeLimit <= 0 {
			t.Skip("Harness.PurgeEvery and PurgeLimit are not set")
		}
		s, now := newStore(t), anchor()
		old := 2*h.PurgeLimit + 50
		for i := range old {
			r := session(i, "old", now)
			r.IdleExpiresAt = now.Add(time.Minute)
			setup(t, "CreateSession", s.CreateSession(t.Context(), r, now))
		}
		live := session(old, "live", now) // created with the old ones, live throughout
		setup(t, "CreateSession", s.CreateSession(t.Context(), live, now))
		later := now.Add(2 * time.Minute)
		for i := range h.PurgeEvery - 1 {
			setup(t, "CreateSession", s.CreateSession(t.Context(), session(old+1+i, "new", later), later))
		}
		// Of the PurgeEvery creates after the old ones one purged, and
		// deleted PurgeLimit.
		if n, want := count(t, s), old+h.PurgeEvery-h.PurgeLimit; n != want {
			t.Errorf("%d sessions stored, want %d", n, want)
		}
		wantSession(t, s, live, later)
		wantList(t, s, "new", later, listIDs(old+1, h.PurgeEvery-1)...)
	})
}

// listIDs returns the IDs of the fixture sessions first to first+n-1,
// newest (highest ID) first as SessionsByUser orders sessions created at
// one time.
func listIDs(first, n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("session-%d", first+i)
	}
	slices.SortFunc(ids, func(a, b string) int { return strings.Compare(b, a) })
	return ids
}
