package storetest

import (
	"context"
	"fmt"
	"testing"

	"github.com/passkeyready/passkeys/internal/racetest"
	"github.com/passkeyready/passkeys/selfhosted"
)

// testAccounts checks the optional [selfhosted.AccountStore]: deleting a
// user with everything of theirs, and moving a user to another email.
func testAccounts(t *testing.T, newStore newStoreFunc) {
	if _, ok := newStore(t).(selfhosted.AccountStore); !ok {
		t.Skip("the store has no selfhosted.AccountStore")
	}
	// accounts returns a store with user(1), user(2) and user(10), whose
	// ID starts with user(1)'s; each has a credential, a code under their
	// email, an email-change code under their key prefix and, when the
	// store is an ActivityStore, an activity record.
	accounts := func(t *testing.T) (selfhosted.Store, selfhosted.AccountStore) {
		t.Helper()
		ctx, s, now := t.Context(), newStore(t), anchor()
		for i, n := range []int{1, 2, 10} {
			u := user(n, now)
			setup(t, "CreateUser", s.CreateUser(ctx, u))
			setup(t, "AddCredential", s.AddCredential(ctx, credential([]byte{byte(n), 0, 0xff}, u.ID, now)))
			setup(t, "PutOTP", putOTP(t, s, otp(u.Email, byte(i), now)))
			setup(t, "PutOTP", putOTP(t, s, otp(changeKey(u.ID), byte(i+10), now)))
			if as, ok := s.(selfhosted.ActivityStore); ok {
				setup(t, "AppendActivity", as.AppendActivity(ctx, activity(n, u.ID, now), now))
			}
		}
		return s, s.(selfhosted.AccountStore)
	}
	// codeLive reports whether the code stored under key can still be
	// checked.
	codeLive := func(t *testing.T, s selfhosted.Store, key string) bool {
		t.Helper()
		_, err := s.ReserveOTPAttempt(t.Context(), key, anchor(), 100)
		return err == nil
	}
	// intact reports every part of user(n) that is gone.
	intact := func(t *testing.T, s selfhosted.Store, n int) {
		t.Helper()
		ctx, u := t.Context(), user(n, anchor())
		if _, err := userByID(ctx, s, u.ID); err != nil {
			t.Errorf("user %s: %v", u.ID, err)
		}
		if _, err := credentialByID(ctx, s, u.ID, []byte{byte(n), 0, 0xff}); err != nil {
			t.Errorf("credential of %s: %v", u.ID, err)
		}
		for _, key := range []string{u.Email, changeKey(u.ID)} {
			if !codeLive(t, s, key) {
				t.Errorf("the code under %q is gone", key)
			}
		}
		if as, ok := s.(selfhosted.ActivityStore); ok {
			if list, err := as.ActivityByUser(ctx, u.ID, anchor(), 50); err != nil || len(list) != 1 {
				t.Errorf("activity of %s: %d records, %v; want its one", u.ID, len(list), err)
			}
		}
	}

	t.Run("DeleteUser", func(t *testing.T) {
		ctx := t.Context()
		s, as := accounts(t)
		u := user(1, anchor())
		wantErr(t, "DeleteUser", as.DeleteUser(ctx, u.ID), nil)
		if _, err := userByID(ctx, s, u.ID); err == nil {
			t.Errorf("UserByID after DeleteUser found the user")
		}
		for _, k := range keys(u) {
			_, creds, err := s.UserWithCredentials(ctx, k)
			wantErr(t, fmt.Sprintf("UserWithCredentials(%+v) after DeleteUser", k), err, selfhosted.ErrNotFound)
			if creds != nil {
				t.Errorf("UserWithCredentials(%+v) after DeleteUser returned credentials %s", k, showCredentials(creds))
			}
		}
		_, err := s.UserByEmail(ctx, u.Email)
		wantErr(t, "UserByEmail after DeleteUser", err, selfhosted.ErrNotFound)
		list, err := s.CredentialsByUser(ctx, u.ID)
		if err != nil || len(list) != 0 {
			t.Errorf("CredentialsByUser after DeleteUser = %s, %v; want none", showCredentials(list), err)
		}
		if c, ok := s.(selfhosted.CredentialByIDStore); ok {
			_, err := c.Credential(ctx, []byte{1, 0, 0xff})
			wantErr(t, "Credential after DeleteUser", err, selfhosted.ErrNotFound)
		}
		for _, key := range []string{u.Email, changeKey(u.ID)} {
			if codeLive(t, s, key) {
				t.Errorf("the code under %q survived DeleteUser", key)
			}
		}
		if as, ok := s.(selfhosted.ActivityStore); ok {
			if list, err := as.ActivityByUser(ctx, u.ID, anchor(), 50); err != nil || len(list) != 0 {
				t.Errorf("activity after DeleteUser: %d records, %v; want none", len(list), err)
			}
		}
		intact(t, s, 2)
		intact(t, s, 10)

		// What was the user's can be another user's now.
		again := user(1, anchor())
		again.ID = "user-1-again"
		wantErr(t, "CreateUser with the deleted user's email and handle", s.CreateUser(ctx, again), nil)
		wantErr(t, "AddCredential with the deleted credential's ID",
			s.AddCredential(ctx, credential([]byte{1, 0, 0xff}, again.ID, anchor())), nil)
		wantErr(t, "DeleteUser again", as.DeleteUser(ctx, u.ID), selfhosted.ErrNotFound)
	})

	t.Run("DeleteUnknownUser", func(t *testing.T) {
		s, as := accounts(t)
		ctx := t.Context()
		// A code under the prefix of a user that does not exist stays.
		setup(t, "PutOTP", putOTP(t, s, otp(changeKey("user-3"), 30, anchor())))
		for _, id := range []string{"user-3", "USER-1", "user-", ""} {
			wantErr(t, fmt.Sprintf("DeleteUser(%q)", id), as.DeleteUser(ctx, id), selfhosted.ErrNotFound)
		}
		if !codeLive(t, s, changeKey("user-3")) {
			t.Errorf("DeleteUser of an unknown user removed a code under its prefix")
		}
		for _, n := range []int{1, 2, 10} {
			intact(t, s, n)
		}
	})

	t.Run("UpdateUserEmail", func(t *testing.T) {
		ctx := t.Context()
		s, as := accounts(t)
		u := user(1, anchor())
		got, err := userByID(ctx, s, u.ID)
		setup(t, "UserByID", err)
		const moved = "moved@example.com"
		wantErr(t, "UpdateUserEmail", as.UpdateUserEmail(ctx, u.ID, moved), nil)
		want := got
		want.Email = moved
		for _, k := range []selfhosted.UserKey{{ID: u.ID}, {Email: moved}, {Handle: u.Handle}} {
			got, creds, err := s.UserWithCredentials(ctx, k)
			wantValue(t, fmt.Sprintf("UserWithCredentials(%+v) after UpdateUserEmail", k), showUser, want, got, err)
			if len(creds) != 1 {
				t.Errorf("UserWithCredentials(%+v) after UpdateUserEmail: %d credentials, want 1", k, len(creds))
			}
		}
		got, err = s.UserByEmail(ctx, moved)
		wantValue(t, "UserByEmail(new) after UpdateUserEmail", showUser, want, got, err)
		_, err = s.UserByEmail(ctx, u.Email)
		wantErr(t, "UserByEmail(old) after UpdateUserEmail", err, selfhosted.ErrNotFound)
		wantErr(t, "UpdateUserEmail to the user's own email", as.UpdateUserEmail(ctx, u.ID, moved), nil)

		// The old address is free for another user.
		other := user(3, anchor())
		other.Email = u.Email
		wantErr(t, "CreateUser with the old email", s.CreateUser(ctx, other), nil)
	})

	t.Run("UpdateUserEmailRefused", func(t *testing.T) {
		ctx := t.Context()
		s, as := accounts(t)
		one, two := user(1, anchor()), user(2, anchor())
		wantErr(t, "UpdateUserEmail to another user's email", as.UpdateUserEmail(ctx, one.ID, two.Email), selfhosted.ErrDuplicate)
		wantErr(t, "UpdateUserEmail of an unknown user", as.UpdateUserEmail(ctx, "user-3", "new@example.com"), selfhosted.ErrNotFound)
		for _, u := range []selfhosted.UserRecord{one, two} {
			got, err := s.UserByEmail(ctx, u.Email)
			if err != nil || got.ID != u.ID {
				t.Errorf("UserByEmail(%s) after refused updates = %s, %v; want user %s", u.Email, showUser(got), err, u.ID)
			}
		}
		_, err := s.UserByEmail(ctx, "new@example.com")
		wantErr(t, "UserByEmail of the refused address", err, selfhosted.ErrNotFound)
	})

	t.Run("Races", func(t *testing.T) {
		ctx := t.Context()
		s, as := accounts(t)
		const n = 8
		errs := racetest.Race(n, func(int) error { return as.DeleteUser(ctx, "user-2") })
		racetest.Tally(t, "DeleteUser", errs, 1, selfhosted.ErrNotFound)

		for i := range n {
			u := user(100+i, anchor())
			setup(t, "CreateUser", s.CreateUser(ctx, u))
		}
		errs = racetest.Race(n, func(i int) error { return as.UpdateUserEmail(ctx, user(100+i, anchor()).ID, "contested@example.com") })
		racetest.Tally(t, "UpdateUserEmail to one email", errs, 1, selfhosted.ErrDuplicate)
		got, err := s.UserByEmail(ctx, "contested@example.com")
		if w := winner(errs); err != nil || w < 0 || got.ID != user(100+w, anchor()).ID {
			t.Errorf("UserByEmail(contested) = %s, %v; want the winner of the race", showUser(got), err)
		}
	})

	t.Run("CancelledContext", func(t *testing.T) {
		s, as := accounts(t)
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if err := as.DeleteUser(ctx, "user-1"); err == nil {
			t.Errorf("DeleteUser with a cancelled context succeeded")
		}
		if err := as.UpdateUserEmail(ctx, "user-2", "cancelled@example.com"); err == nil {
			t.Errorf("UpdateUserEmail with a cancelled context succeeded")
		}
		for _, n := range []int{1, 2} {
			intact(t, s, n)
		}
	})
}

// changeKey is the key under which the engine keeps an email-change code
// of the user with this ID.
func changeKey(id string) string { return selfhosted.UserOTPKeyPrefix(id) + "new@example.com" }
