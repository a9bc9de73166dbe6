package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/passkeyready/passkeys/internal/racetest"
	"github.com/passkeyready/passkeys/selfhosted"
)

// winner returns the index of the first nil error, or -1.
func winner(errs []error) int {
	return slices.IndexFunc(errs, func(err error) bool { return err == nil })
}

func testRaces(t *testing.T, newStore newStoreFunc) {
	t.Run("CreateUser", func(t *testing.T) {
		ctx, s, now := t.Context(), newStore(t), anchor()
		users := make([]selfhosted.UserRecord, 20)
		for i := range users {
			users[i] = user(i, now)
			users[i].Email = "same@example.com"
		}
		errs := racetest.Race(len(users), func(i int) error { return s.CreateUser(ctx, users[i]) })
		racetest.Tally(t, "CreateUser(same email)", errs, 1, selfhosted.ErrDuplicate)
		if w := winner(errs); w >= 0 {
			got, err := s.UserByEmail(ctx, "same@example.com")
			wantValue(t, "UserByEmail", showUser, users[w], got, err)
		}
	})

	t.Run("AddCredential", func(t *testing.T) {
		now := anchor()
		ctx, s := t.Context(), withUsers(t, newStore, now)
		creds := make([]selfhosted.CredentialRecord, 20)
		for i := range creds {
			creds[i] = credential([]byte{0x00, 0x01}, []string{"user-1", "user-2"}[i%2], now)
			creds[i].SignCount = uint32(i)
		}
		errs := racetest.Race(len(creds), func(i int) error { return s.AddCredential(ctx, creds[i]) })
		racetest.Tally(t, "AddCredential(same ID)", errs, 1, selfhosted.ErrDuplicate)
		if w := winner(errs); w >= 0 {
			got, err := credentialByID(ctx, s, creds[w].UserID, creds[w].ID)
			wantValue(t, "Credential", showCredential, creds[w], got, err)
		}
	})

	t.Run("RecordCredentialUse", func(t *testing.T) {
		now := anchor()
		ctx, s := t.Context(), withUsers(t, newStore, now)
		c := credential([]byte{0x00, 0x01}, "user-1", now)
		setup(t, "AddCredential", s.AddCredential(ctx, c))
		use := selfhosted.CredentialUse{ID: c.ID, SignCount: c.SignCount + 1, BackupState: true, UsedAt: now.Add(time.Second)}
		errs := racetest.Race(20, func(int) error { return s.RecordCredentialUse(ctx, use) })
		racetest.Tally(t, "RecordCredentialUse(same count)", errs, 1, selfhosted.ErrCounterRegressed)
		want := c
		want.SignCount, want.BackupState, want.LastUsedAt = use.SignCount, use.BackupState, use.UsedAt
		got, err := credentialByID(ctx, s, c.UserID, c.ID)
		wantValue(t, "Credential", showCredential, want, got, err)
	})

	t.Run("PutCeremony", func(t *testing.T) {
		ctx, s, now := t.Context(), newStore(t), anchor()
		cs := make([]selfhosted.Ceremony, 20)
		for i := range cs {
			cs[i] = ceremony("same", selfhosted.CeremonyLogin, user(i, now).ID, now.Add(time.Minute))
		}
		errs := racetest.Race(len(cs), func(i int) error { return s.PutCeremony(ctx, cs[i], now) })
		racetest.Tally(t, "PutCeremony(same challenge)", errs, 1, selfhosted.ErrDuplicate)
		if w := winner(errs); w >= 0 {
			got, err := s.TakeCeremony(ctx, "same", now)
			wantValue(t, "TakeCeremony", showCeremony, cs[w], got, err)
		}
	})

	t.Run("PutCeremonyOverExpired", func(t *testing.T) {
		ctx, s, now := t.Context(), newStore(t), anchor()
		setup(t, "PutCeremony", s.PutCeremony(ctx, ceremony("same", selfhosted.CeremonyLogin, "old", now.Add(time.Minute)), now))
		later := now.Add(2 * time.Minute)
		cs := make([]selfhosted.Ceremony, 20)
		for i := range cs {
			cs[i] = ceremony("same", selfhosted.CeremonyLogin, user(i, now).ID, later.Add(time.Minute))
		}
		errs := racetest.Race(len(cs), func(i int) error { return s.PutCeremony(ctx, cs[i], later) })
		racetest.Tally(t, "PutCeremony(same expired challenge)", errs, 1, selfhosted.ErrDuplicate)
		if w := winner(errs); w >= 0 {
			got, err := s.TakeCeremony(ctx, "same", later)
			wantValue(t, "TakeCeremony", showCeremony, cs[w], got, err)
		}
	})

	t.Run("TakeCeremony", func(t *testing.T) {
		ctx, s, now := t.Context(), newStore(t), anchor()
		c := ceremony("contested", selfhosted.CeremonyMediation, "", now.Add(time.Minute))
		setup(t, "PutCeremony", s.PutCeremony(ctx, c, now))
		got := make([]selfhosted.Ceremony, 20)
		errs := racetest.Race(len(got), func(i int) (err error) {
			got[i], err = s.TakeCeremony(ctx, c.Challenge, now)
			return err
		})
		racetest.Tally(t, "TakeCeremony", errs, 1, selfhosted.ErrNotFound)
		if w := winner(errs); w >= 0 {
			wantValue(t, "TakeCeremony(winner)", showCeremony, c, got[w], nil)
		}
	})

	t.Run("PutOTP", func(t *testing.T) {
		ctx, s, now := t.Context(), newStore(t), anchor()
		codes := make([]selfhosted.OTPRecord, 20)
		for i := range codes {
			codes[i] = otp("a@example.com", byte(i), now)
		}
		stored := make([]bool, len(codes))
		errs := racetest.Race(len(codes), func(i int) (err error) {
			stored[i], err = s.PutOTP(ctx, codes[i], now.Add(-time.Minute))
			return err
		})
		racetest.Tally(t, "PutOTP(cooldown)", errs, len(codes), nil)
		if n := count(stored); n != 1 {
			t.Errorf("PutOTP(cooldown): %d of %d concurrent calls stored their code, want 1", n, len(codes))
		}
		if w := slices.Index(stored, true); w >= 0 {
			got, err := s.ReserveOTPAttempt(ctx, "a@example.com", now, 5)
			wantValue(t, "ReserveOTPAttempt", showOTP, attempted(codes[w], 1), got, err)
		}
	})

	t.Run("ReserveOTPAttempt", func(t *testing.T) {
		ctx, s, now := t.Context(), newStore(t), anchor()
		o := otp("a@example.com", 1, now)
		setup(t, "PutOTP", putOTP(t, s, o))
		got := make([]selfhosted.OTPRecord, 50)
		errs := racetest.Race(len(got), func(i int) (err error) {
			got[i], err = s.ReserveOTPAttempt(ctx, o.Email, now, 5)
			return err
		})
		racetest.Tally(t, "ReserveOTPAttempt(limit 5)", errs, 5, selfhosted.ErrNotFound)
		var seen []int
		for i, err := range errs {
			if err == nil {
				seen = append(seen, got[i].Attempts)
			}
		}
		slices.Sort(seen)
		if want := []int{1, 2, 3, 4, 5}; !slices.Equal(seen, want) {
			t.Errorf("ReserveOTPAttempt: winners saw Attempts %v, want %v", seen, want)
		}
	})

	t.Run("DeleteOTP", func(t *testing.T) {
		ctx, s, now := t.Context(), newStore(t), anchor()
		o := otp("a@example.com", 1, now)
		setup(t, "PutOTP", putOTP(t, s, o))
		errs := racetest.Race(20, func(int) error { return s.DeleteOTP(ctx, o.Email, o.Hash) })
		racetest.Tally(t, "DeleteOTP", errs, 1, selfhosted.ErrNotFound)
	})
}

// count returns how many of bs are true.
func count(bs []bool) int {
	n := 0
	for _, b := range bs {
		if b {
			n++
		}
	}
	return n
}
