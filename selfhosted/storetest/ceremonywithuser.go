package storetest

import (
	"context"
	"fmt"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/passkeyready/passkeys/selfhosted"
)

// testCeremonyWithUser checks the optional [selfhosted.CeremonyWithUserStore]:
// it takes as TakeCeremony takes and reads the user as UserWithCredentials
// reads them.
func testCeremonyWithUser(t *testing.T, newStore newStoreFunc) {
	taker := func(t *testing.T) (selfhosted.Store, selfhosted.CeremonyWithUserStore) {
		s := newStore(t)
		ts, ok := s.(selfhosted.CeremonyWithUserStore)
		if !ok {
			t.Skip("the store is not a selfhosted.CeremonyWithUserStore")
		}
		return s, ts
	}
	t.Run("RoundTrip", func(t *testing.T) {
		s, ts := taker(t)
		ctx, now := t.Context(), anchor()
		seedUsersForTake(t, s, now)
		for _, tc := range []struct {
			name   string
			c      selfhosted.Ceremony
			userID string // "" when the answer has no user
		}{
			{"user with credentials", ceremony("login-1", selfhosted.CeremonyLogin, "user-1", now.Add(time.Minute)), "user-1"},
			{"user without credentials", ceremony("append-3", selfhosted.CeremonyAppend, "user-3", now.Add(time.Minute)), "user-3"},
			{"no user", ceremony("mediation-1", selfhosted.CeremonyMediation, "", now.Add(time.Minute)), ""},
			{"user gone", ceremony("login-9", selfhosted.CeremonyLogin, "user-9", now.Add(time.Minute)), ""},
		} {
			t.Run(tc.name, func(t *testing.T) {
				setup(t, "PutCeremony", s.PutCeremony(ctx, tc.c, now))
				c, u, creds, err := ts.TakeCeremonyWithUser(ctx, tc.c.Challenge, now)
				wantValue(t, "TakeCeremonyWithUser ceremony", showCeremony, tc.c, c, err)
				if tc.userID == "" {
					if u.ID != "" || len(creds) != 0 {
						t.Errorf("TakeCeremonyWithUser returned user %s with %d credentials, want none", showUser(u), len(creds))
					}
				} else {
					wantU, wantCreds, err := s.UserWithCredentials(ctx, selfhosted.UserKey{ID: tc.userID})
					setup(t, "UserWithCredentials", err)
					wantValue(t, "TakeCeremonyWithUser user", showUser, wantU, u, nil)
					wantValue(t, "TakeCeremonyWithUser credentials", showCredentials, wantCreds, creds, nil)
				}
				_, _, _, err = ts.TakeCeremonyWithUser(ctx, tc.c.Challenge, now)
				wantErr(t, "TakeCeremonyWithUser(again)", err, selfhosted.ErrNotFound)
				_, err = s.TakeCeremony(ctx, tc.c.Challenge, now)
				wantErr(t, "TakeCeremony(after)", err, selfhosted.ErrNotFound)
			})
		}
	})

	takeTests(t, "TakeCeremonyWithUser", selfhosted.CeremonyLogin, "user-1", func(t *testing.T) (selfhosted.Store, takeFunc) {
		s, ts := taker(t)
		return s, func(ctx context.Context, challenge string, now time.Time) (selfhosted.UserRecord, error) {
			_, u, _, err := ts.TakeCeremonyWithUser(ctx, challenge, now)
			return u, err
		}
	})
}

// testCeremonyWithHandleUser checks the optional
// [selfhosted.CeremonyWithHandleUserStore]: it takes as TakeCeremony takes
// and reads the user of the handle as UserWithCredentials reads them,
// whatever user the ceremony names.
func testCeremonyWithHandleUser(t *testing.T, newStore newStoreFunc) {
	taker := func(t *testing.T) (selfhosted.Store, selfhosted.CeremonyWithHandleUserStore) {
		s := newStore(t)
		ts, ok := s.(selfhosted.CeremonyWithHandleUserStore)
		if !ok {
			t.Skip("the store is not a selfhosted.CeremonyWithHandleUserStore")
		}
		return s, ts
	}
	t.Run("RoundTrip", func(t *testing.T) {
		s, ts := taker(t)
		ctx, now := t.Context(), anchor()
		seedUsersForTake(t, s, now)
		short := handle(1)[:31]
		for _, tc := range []struct {
			name   string
			c      selfhosted.Ceremony
			handle []byte
			userID string // "" when the answer has no user
		}{
			{"user with credentials", ceremony("mediation-1", selfhosted.CeremonyMediation, "", now.Add(time.Minute)), handle(1), "user-1"},
			{"user without credentials", ceremony("mediation-3", selfhosted.CeremonyMediation, "", now.Add(time.Minute)), handle(3), "user-3"},
			{"the handle's user, not the ceremony's", ceremony("login-2", selfhosted.CeremonyLogin, "user-1", now.Add(time.Minute)), handle(2), "user-2"},
			{"no user has the handle", ceremony("mediation-9", selfhosted.CeremonyMediation, "", now.Add(time.Minute)), handle(9), ""},
			{"a prefix of a handle", ceremony("mediation-p", selfhosted.CeremonyMediation, "", now.Add(time.Minute)), short, ""},
		} {
			t.Run(tc.name, func(t *testing.T) {
				setup(t, "PutCeremony", s.PutCeremony(ctx, tc.c, now))
				c, u, creds, err := ts.TakeCeremonyWithHandleUser(ctx, tc.c.Challenge, tc.handle, now)
				wantValue(t, "TakeCeremonyWithHandleUser ceremony", showCeremony, tc.c, c, err)
				if tc.userID == "" {
					if u.ID != "" || len(creds) != 0 {
						t.Errorf("TakeCeremonyWithHandleUser returned user %s with %d credentials, want none", showUser(u), len(creds))
					}
				} else {
					wantU, wantCreds, err := s.UserWithCredentials(ctx, selfhosted.UserKey{Handle: tc.handle})
					setup(t, "UserWithCredentials", err)
					if wantU.ID != tc.userID {
						t.Fatalf("fixture: handle's user is %s, want %s", wantU.ID, tc.userID)
					}
					wantValue(t, "TakeCeremonyWithHandleUser user", showUser, wantU, u, nil)
					wantValue(t, "TakeCeremonyWithHandleUser credentials", showCredentials, wantCreds, creds, nil)
				}
				_, _, _, err = ts.TakeCeremonyWithHandleUser(ctx, tc.c.Challenge, tc.handle, now)
				wantErr(t, "TakeCeremonyWithHandleUser(again)", err, selfhosted.ErrNotFound)
				_, err = s.TakeCeremony(ctx, tc.c.Challenge, now)
				wantErr(t, "TakeCeremony(after)", err, selfhosted.ErrNotFound)
			})
		}
	})

	takeTests(t, "TakeCeremonyWithHandleUser", selfhosted.CeremonyMediation, "", func(t *testing.T) (selfhosted.Store, takeFunc) {
		s, ts := taker(t)
		return s, func(ctx context.Context, challenge string, now time.Time) (selfhosted.UserRecord, error) {
			_, u, _, err := ts.TakeCeremonyWithHandleUser(ctx, challenge, handle(1), now)
			return u, err
		}
	})
}

// seedUsersForTake stores the users and passkeys the RoundTrip cases of
// testCeremonyWithUser and testCeremonyWithHandleUser read: users 1 to 3;
// user-1 with three passkeys, one of them used (its counter at the
// maximum, backed up, used an hour after now), user-2 with one, user-3
// with none.
func seedUsersForTake(t *testing.T, s selfhosted.Store, now time.Time) {
	t.Helper()
	ctx := t.Context()
	for _, n := range []int{1, 2, 3} {
		setup(t, "CreateUser", s.CreateUser(ctx, user(n, now)))
	}
	used := credential([]byte{0x01}, "user-1", now.Add(time.Microsecond))
	used.SignCount, used.BackupState, used.LastUsedAt = math.MaxUint32, true, now.Add(time.Hour)
	for _, c := range []selfhosted.CredentialRecord{
		credential([]byte{0x09}, "user-1", now.Add(time.Second)), used,
		credential([]byte{0x00, 0xff}, "user-1", now.Add(time.Microsecond)), credential([]byte{0x05}, "user-2", now),
	} {
		setup(t, "AddCredential", s.AddCredential(ctx, c))
	}
}

// takeFunc takes the ceremony of challenge at now and reads its user, as
// TakeCeremonyWithUser and TakeCeremonyWithHandleUser (with user 1's
// handle) do.
type takeFunc func(ctx context.Context, challenge string, now time.Time) (selfhosted.UserRecord, error)

// takeTests are the cases both take-with-user suites share, for
// ceremonies of kind naming userID: a challenge not stored (another case,
// a prefix, a longer one, none) or expired is ErrNotFound, and of
// concurrent takes exactly one wins, with user 1.
func takeTests(t *testing.T, name string, kind selfhosted.CeremonyKind, userID string, newTaker func(*testing.T) (selfhosted.Store, takeFunc)) {
	t.Run("NotFoundAndExpired", func(t *testing.T) {
		s, take := newTaker(t)
		ctx, now := t.Context(), anchor()
		setup(t, "CreateUser", s.CreateUser(ctx, user(1, now)))
		c := ceremony("Challenge-A", kind, userID, now.Add(time.Minute))
		setup(t, "PutCeremony", s.PutCeremony(ctx, c, now))
		for _, challenge := range []string{"challenge-a", "Challenge-", "Challenge-AA", ""} {
			_, err := take(ctx, challenge, now)
			wantErr(t, name+"("+challenge+")", err, selfhosted.ErrNotFound)
		}
		_, err := take(ctx, c.Challenge, c.ExpiresAt)
		wantErr(t, name+"(at expiry)", err, selfhosted.ErrNotFound)
	})

	t.Run("ConcurrentTakes", func(t *testing.T) {
		s, take := newTaker(t)
		ctx, now := t.Context(), anchor()
		setup(t, "CreateUser", s.CreateUser(ctx, user(1, now)))
		const rounds, racers = 10, 8
		for r := range rounds {
			c := ceremony(fmt.Sprintf("race-%d", r), kind, userID, now.Add(time.Minute))
			setup(t, "PutCeremony", s.PutCeremony(ctx, c, now))
			var (
				wg   sync.WaitGroup
				mu   sync.Mutex
				wins int
			)
			for range racers {
				wg.Go(func() {
					u, err := take(ctx, c.Challenge, now)
					mu.Lock()
					defer mu.Unlock()
					switch {
					case err == nil && u.ID == "user-1":
						wins++
					case err == nil:
						t.Errorf("%s won without its user: %s", name, showUser(u))
					default:
						wantErr(t, name+"(lost race)", err, selfhosted.ErrNotFound)
					}
				})
			}
			wg.Wait()
			if wins != 1 {
				t.Errorf("round %d: %d of %d concurrent takes succeeded, want exactly 1", r, wins, racers)
			}
		}
	})
}
