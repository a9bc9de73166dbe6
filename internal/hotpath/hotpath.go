// Package hotpath runs the store calls of the engine's request hot path
// (login start and finish by button and by autofill, append finish, a
// guarded request's session check, and on a store with the audit trail
// the event recorded per request, a batch of them, the activity list and the deletion of
// a user's records) against a selfhosted store, so that a
// store's tests can look at the query plan of every statement those calls
// run.
package hotpath

import (
	"context"
	"crypto/rand"
	"fmt"
	"time"

	"github.com/passkeyready/passkeys/selfhosted"
)

// Seed adds n users through the store's API, each with one or two
// credentials (every other user has two) and, when the store is a
// selfhosted.ActivityStore, one or two activity records, and returns the
// last user.
func Seed(ctx context.Context, s selfhosted.Store, n int, now time.Time) (selfhosted.UserRecord, error) {
	var u selfhosted.UserRecord
	for i := range n {
		u = selfhosted.UserRecord{ID: fmt.Sprintf("seed-%08d", i), Email: fmt.Sprintf("seed-%08d@example.com", i), Handle: random(32), CreatedAt: now}
		if err := s.CreateUser(ctx, u); err != nil {
			return u, err
		}
		for j := range 1 + i%2 {
			if err := s.AddCredential(ctx, selfhosted.CredentialRecord{ID: random(16), UserID: u.ID, Name: "seed", Data: random(200), CreatedAt: now}); err != nil {
				return u, err
			}
			if as, ok := s.(selfhosted.ActivityStore); ok {
				if err := as.AppendActivity(ctx, activity(u.ID, now.Add(-time.Duration(n-i+j)*time.Minute)), now); err != nil {
					return u, err
				}
			}
		}
	}
	return u, nil
}

// Run makes the hot path's calls for user u (which has at least one
// credential) at now.
func Run(ctx context.Context, s selfhosted.Store, u selfhosted.UserRecord, now time.Time) error {
	// Login start by email; autofill start has no lookup.
	_, creds, err := s.UserWithCredentials(ctx, selfhosted.UserKey{Email: u.Email})
	if err != nil {
		return fmt.Errorf("user by email: %w", err)
	}
	// Enough ceremonies for PutCeremony's purge to run at least once.
	for i := range 20 {
		c := selfhosted.Ceremony{Challenge: fmt.Sprintf("hotpath-%d-%x", i, random(8)), Kind: selfhosted.CeremonyLogin, UserID: u.ID, Session: random(100), ExpiresAt: now.Add(5 * time.Minute)}
		if err := s.PutCeremony(ctx, c, now); err != nil {
			return fmt.Errorf("put ceremony: %w", err)
		}
		take := func() error { _, err := s.TakeCeremony(ctx, c.Challenge, now); return err }
		if ts, ok := s.(selfhosted.CeremonyWithUserStore); ok && i%3 == 1 {
			take = func() error { _, _, _, err := ts.TakeCeremonyWithUser(ctx, c.Challenge, now); return err }
		}
		if ts, ok := s.(selfhosted.CeremonyWithHandleUserStore); ok && i%3 == 2 {
			take = func() error {
				_, _, _, err := ts.TakeCeremonyWithHandleUser(ctx, c.Challenge, u.Handle, now)
				return err
			}
		}
		if err := take(); err != nil {
			return fmt.Errorf("take ceremony: %w", err)
		}
	}
	// Login finish by button (user by id) and by autofill (by handle).
	if _, _, err := s.UserWithCredentials(ctx, selfhosted.UserKey{ID: u.ID}); err != nil {
		return fmt.Errorf("user by id: %w", err)
	}
	if _, _, err := s.UserWithCredentials(ctx, selfhosted.UserKey{Handle: u.Handle}); err != nil {
		return fmt.Errorf("user by handle: %w", err)
	}
	use := selfhosted.CredentialUse{ID: creds[0].ID, SignCount: creds[0].SignCount + 1, UsedAt: now}
	if err := s.RecordCredentialUse(ctx, use); err != nil {
		return fmt.Errorf("record use: %w", err)
	}
	// A regressed counter costs one more statement.
	if err := s.RecordCredentialUse(ctx, use); err != selfhosted.ErrCounterRegressed {
		return fmt.Errorf("record regressed use: %v", err)
	}
	// Append finish.
	if err := s.AddCredential(ctx, selfhosted.CredentialRecord{ID: random(16), UserID: u.ID, Name: "hotpath", Data: random(200), CreatedAt: now}); err != nil {
		return fmt.Errorf("add credential: %w", err)
	}
	// The session a login issues and a guarded request's check.
	if ss, ok := s.(selfhosted.SessionStore); ok {
		for i := range 20 {
			r := selfhosted.SessionRecord{ID: fmt.Sprintf("hotpath-%d-%x", i, random(8)), TokenHash: random(32), UserID: u.ID, Email: u.Email,
				CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(time.Hour), IdleExpiresAt: now.Add(time.Hour)}
			if err := ss.CreateSession(ctx, r, now); err != nil {
				return fmt.Errorf("create session: %w", err)
			}
			if _, err := ss.SessionByTokenHash(ctx, r.TokenHash, now); err != nil {
				return fmt.Errorf("session by token: %w", err)
			}
		}
	}
	// The audit trail: a record per security event (enough for the purge
	// in passing to run), GET account/activity, and deleting the records
	// with the account.
	if as, ok := s.(selfhosted.ActivityStore); ok {
		for i := range 20 {
			if err := as.AppendActivity(ctx, activity(u.ID, now.Add(time.Duration(i)*time.Millisecond)), now); err != nil {
				return fmt.Errorf("append activity: %w", err)
			}
		}
		// The events queued together, of two users, in one write.
		if bs, ok := as.(selfhosted.ActivityBatchStore); ok {
			batch := make([]selfhosted.ActivityRecord, 20)
			for i := range batch {
				id := u.ID
				if i%2 == 1 {
					id = "seed-00000000"
				}
				batch[i] = activity(id, now.Add(time.Duration(20+i)*time.Millisecond))
			}
			if err := bs.AppendActivities(ctx, batch, now); err != nil {
				return fmt.Errorf("append activities: %w", err)
			}
		}
		if list, err := as.ActivityByUser(ctx, u.ID, now.Add(time.Second), 50); err != nil || len(list) == 0 {
			return fmt.Errorf("activity by user: %d records, %v", len(list), err)
		}
		if err := as.DeleteActivity(ctx, u.ID); err != nil {
			return fmt.Errorf("delete activity: %w", err)
		}
	}
	return nil
}

// activity is a login record of userID at at.
func activity(userID string, at time.Time) selfhosted.ActivityRecord {
	return selfhosted.ActivityRecord{UserID: userID, Kind: "login", At: at, Method: "passkey", IP: "192.0.2.1", UserAgent: "hotpath"}
}

func random(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}
