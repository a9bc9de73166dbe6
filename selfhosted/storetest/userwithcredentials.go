package storetest

import (
	"bytes"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/passkeyready/passkeys/selfhosted"
)

// keys returns the three keys that select u.
func keys(u selfhosted.UserRecord) map[string]selfhosted.UserKey {
	return map[string]selfhosted.UserKey{
		"ID":     {ID: u.ID},
		"Email":  {Email: u.Email},
		"Handle": {Handle: bytes.Clone(u.Handle)},
	}
}

func testUserWithCredentials(t *testing.T, newStore newStoreFunc) {
	t.Run("RoundTrip", func(t *testing.T) {
		now := anchor()
		ctx, s := t.Context(), newStore(t)
		users := []selfhosted.UserRecord{user(1, now), user(2, now), user(3, now)}
		for _, u := range users {
			setup(t, "CreateUser", s.CreateUser(ctx, u))
		}
		t0, t1, t2 := now, now.Add(time.Microsecond), now.Add(time.Second)
		// Added out of order; equal CreatedAt is broken by ID, compared
		// byte-wise with a shorter prefix first. One has been used.
		used := credential([]byte{0x01}, "user-1", t1)
		used.SignCount, used.BackupState, used.LastUsedAt = math.MaxUint32, true, t2.Add(time.Hour)
		added := []selfhosted.CredentialRecord{
			credential([]byte{0x02}, "user-1", t1),
			credential([]byte{0x09}, "user-1", t0),
			credential([]byte{0x05}, "user-2", t1),
			credential([]byte{0x00, 0xff}, "user-1", t1),
			used,
			credential([]byte{0x00}, "user-1", t2),
		}
		for _, c := range added {
			setup(t, "AddCredential", s.AddCredential(ctx, c))
		}
		want := map[string][]selfhosted.CredentialRecord{
			"user-1": {added[1], added[3], added[4], added[0], added[5]},
			"user-2": {added[2]},
			"user-3": {},
		}
		for _, u := range users {
			for kind, k := range keys(u) {
				got, creds, err := s.UserWithCredentials(ctx, k)
				call := "UserWithCredentials(" + kind + " of " + u.ID + ")"
				wantValue(t, call+" user", showUser, u, got, err)
				wantValue(t, call+" credentials", showCredentials, want[u.ID], creds, err)
			}
		}
	})

	t.Run("NotFound", func(t *testing.T) {
		now := anchor()
		ctx, s := t.Context(), withUsers(t, newStore, now)
		setup(t, "AddCredential", s.AddCredential(ctx, credential([]byte{0x00, 0x01}, "user-1", now)))
		h := handle(1)
		for name, k := range map[string]selfhosted.UserKey{
			"UnknownID":           {ID: "user-9"},
			"IDInOtherCase":       {ID: "USER-1"},
			"UnknownEmail":        {Email: "user9@example.com"},
			"EmailInOtherCase":    {Email: "USER1@example.com"},
			"UnknownHandle":       {Handle: handle(9)},
			"HandlePrefix":        {Handle: h[:len(h)-1]},
			"HandleWithExtraZero": {Handle: append(bytes.Clone(h), 0)},
		} {
			got, creds, err := s.UserWithCredentials(ctx, k)
			wantErr(t, "UserWithCredentials("+name+")", err, selfhosted.ErrNotFound)
			if got.ID != "" || len(creds) != 0 {
				t.Errorf("UserWithCredentials(%s) returned %s and %d credentials with its error", name, showUser(got), len(creds))
			}
		}
	})

	t.Run("InvalidKey", func(t *testing.T) {
		ctx, s := t.Context(), withUsers(t, newStore, anchor())
		for name, k := range map[string]selfhosted.UserKey{
			"Empty":       {},
			"EmptyHandle": {Handle: []byte{}},
			"IDAndEmail":  {ID: "user-1", Email: "user1@example.com"},
			"All":         {ID: "user-1", Email: "user1@example.com", Handle: handle(1)},
		} {
			_, _, err := s.UserWithCredentials(ctx, k)
			switch {
			case err == nil:
				t.Errorf("UserWithCredentials(%s key): no error", name)
			case errors.Is(err, selfhosted.ErrNotFound), errors.Is(err, selfhosted.ErrDuplicate), errors.Is(err, selfhosted.ErrCounterRegressed):
				t.Errorf("UserWithCredentials(%s key): error = %v, want UserKey.Check's, not a sentinel", name, err)
			}
		}
	})

	t.Run("SlicesNotShared", func(t *testing.T) {
		now := anchor()
		ctx, s := t.Context(), withUsers(t, newStore, now)
		want := credential([]byte{0x00, 0x01}, "user-1", now)
		setup(t, "AddCredential", s.AddCredential(ctx, cloneCredential(want)))
		k := selfhosted.UserKey{Handle: handle(1)}
		u, creds, err := s.UserWithCredentials(ctx, k)
		if err != nil || len(creds) != 1 {
			t.Fatalf("UserWithCredentials = %d credentials, %v; want 1", len(creds), err)
		}
		u.Handle[3] ^= 0xff // the caller changes what it got
		creds[0].ID[1], creds[0].Data[1] = 0x04, 0x04
		k.Handle[4] ^= 0xff // and reuses its key

		got, creds, err := s.UserWithCredentials(ctx, selfhosted.UserKey{Handle: handle(1)})
		wantValue(t, "UserWithCredentials after the caller changed returned slices", showUser, user(1, now), got, err)
		wantValue(t, "UserWithCredentials after the caller changed returned slices", showCredentials, []selfhosted.CredentialRecord{want}, creds, err)
	})
}
