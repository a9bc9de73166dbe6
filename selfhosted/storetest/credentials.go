package storetest

import (
	"bytes"
	"context"
	"math"
	"testing"
	"time"

	"github.com/passkeyready/passkeys/selfhosted"
)

// credentialByID returns the credential with this ID, which owner holds
// if anyone does: with the optional [selfhosted.CredentialByIDStore] when
// s implements it, which must find it whoever owns it, else from
// CredentialsByUser(owner).
func credentialByID(ctx context.Context, s selfhosted.Store, owner string, id []byte) (selfhosted.CredentialRecord, error) {
	if s, ok := s.(selfhosted.CredentialByIDStore); ok {
		return s.Credential(ctx, id)
	}
	list, err := s.CredentialsByUser(ctx, owner)
	if err != nil {
		return selfhosted.CredentialRecord{}, err
	}
	for _, c := range list {
		if bytes.Equal(c.ID, id) {
			return c, nil
		}
	}
	return selfhosted.CredentialRecord{}, selfhosted.ErrNotFound
}

// withUsers returns a new store holding user(1) and user(2), created at now.
func withUsers(t *testing.T, newStore newStoreFunc, now time.Time) selfhosted.Store {
	t.Helper()
	s := newStore(t)
	for n := 1; n <= 2; n++ {
		setup(t, "CreateUser", s.CreateUser(t.Context(), user(n, now)))
	}
	return s
}

func testCredentials(t *testing.T, newStore newStoreFunc) {
	t.Run("RoundTrip", func(t *testing.T) {
		now := anchor()
		ctx, s := t.Context(), withUsers(t, newStore, now)
		zero := credential([]byte{0x00}, "user-1", now)
		zero.SignCount = 0
		zeros := credential([]byte{0x00, 0x00}, "user-1", now.Add(time.Second))
		zeros.SignCount = math.MaxUint32
		zeros.BackupState = true
		zeros.LastUsedAt = now.Add(time.Hour)
		long := credential(append(handle(9), handle(10)...), "user-2", now.Add(time.Minute))
		long.Name = "Schlüssel 🔑"
		long.SignCount = 1<<31 + 1
		creds := []selfhosted.CredentialRecord{zero, zeros, long}
		for _, c := range creds {
			setup(t, "AddCredential", s.AddCredential(ctx, c))
		}
		for _, c := range creds {
			got, err := credentialByID(ctx, s, c.UserID, c.ID)
			wantValue(t, "Credential", showCredential, c, got, err)
		}
	})

	t.Run("NotFound", func(t *testing.T) {
		now := anchor()
		ctx, s := t.Context(), withUsers(t, newStore, now)
		c := credential([]byte{0x00, 0x01, 0x00}, "user-1", now)
		setup(t, "AddCredential", s.AddCredential(ctx, c))
		for _, id := range [][]byte{nil, {0x00}, {0x00, 0x01}, {0x00, 0x01, 0x00, 0x00}, {0x01, 0x01, 0x00}} {
			_, err := credentialByID(ctx, s, "user-1", id)
			wantErr(t, "Credential(unknown ID)", err, selfhosted.ErrNotFound)
		}
	})

	t.Run("Duplicate", func(t *testing.T) {
		for _, owner := range []string{"user-1", "user-2"} {
			t.Run("Owner="+owner, func(t *testing.T) {
				now := anchor()
				ctx, s := t.Context(), withUsers(t, newStore, now)
				orig := credential([]byte{0x00, 0xff}, "user-1", now)
				setup(t, "AddCredential", s.AddCredential(ctx, orig))
				dup := credential([]byte{0x00, 0xff}, owner, now.Add(time.Minute))
				dup.Name, dup.Data, dup.SignCount = "other", []byte("other"), 99
				wantErr(t, "AddCredential(duplicate)", s.AddCredential(ctx, dup), selfhosted.ErrDuplicate)

				got, err := credentialByID(ctx, s, orig.UserID, orig.ID)
				wantValue(t, "Credential(original)", showCredential, orig, got, err)
				list, err := s.CredentialsByUser(ctx, "user-1")
				wantValue(t, "CredentialsByUser(user-1)", showCredentials, []selfhosted.CredentialRecord{orig}, list, err)
				list, err = s.CredentialsByUser(ctx, "user-2")
				wantValue(t, "CredentialsByUser(user-2)", showCredentials, []selfhosted.CredentialRecord{}, list, err)
			})
		}
	})

	t.Run("ByUserOrder", func(t *testing.T) {
		now := anchor()
		ctx, s := t.Context(), withUsers(t, newStore, now)
		t0, t1, t2 := now, now.Add(time.Microsecond), now.Add(time.Second)
		// Added out of order; equal CreatedAt is broken by ID, compared
		// byte-wise with a shorter prefix first.
		added := []selfhosted.CredentialRecord{
			credential([]byte{0x02}, "user-1", t1),
			credential([]byte{0x09}, "user-1", t0),
			credential([]byte{0x05}, "user-2", t1),
			credential([]byte{0x01, 0x00}, "user-1", t1),
			credential([]byte{0x00, 0xff}, "user-1", t1),
			credential([]byte{0x01}, "user-1", t1),
			credential([]byte{0x00}, "user-1", t2),
		}
		for _, c := range added {
			setup(t, "AddCredential", s.AddCredential(ctx, c))
		}
		want := []selfhosted.CredentialRecord{added[1], added[4], added[5], added[3], added[0], added[6]}
		got, err := s.CredentialsByUser(ctx, "user-1")
		wantValue(t, "CredentialsByUser(user-1)", showCredentials, want, got, err)
		got, err = s.CredentialsByUser(ctx, "user-2")
		wantValue(t, "CredentialsByUser(user-2)", showCredentials, []selfhosted.CredentialRecord{added[2]}, got, err)
	})

	t.Run("ByUserEmpty", func(t *testing.T) {
		ctx, s := t.Context(), withUsers(t, newStore, anchor())
		for _, id := range []string{"user-1", "no-such-user", ""} {
			got, err := s.CredentialsByUser(ctx, id)
			wantValue(t, "CredentialsByUser("+id+")", showCredentials, []selfhosted.CredentialRecord{}, got, err)
		}
	})

	t.Run("RecordUse", func(t *testing.T) {
		cases := []struct {
			name         string
			stored, next uint32
			want         error
		}{
			{"Advances", 5, 6, nil},
			{"Jumps", 5, 1000, nil},
			{"ZeroStaysZero", 0, 0, nil},
			{"ZeroStartsCounting", 0, 3, nil},
			{"PastInt32", math.MaxInt32, math.MaxInt32 + 1, nil},
			{"ToMax", math.MaxUint32 - 1, math.MaxUint32, nil},
			{"Equal", 5, 5, selfhosted.ErrCounterRegressed},
			{"Lower", 5, 4, selfhosted.ErrCounterRegressed},
			{"BackToZero", 5, 0, selfhosted.ErrCounterRegressed},
			{"BelowMax", math.MaxUint32, math.MaxUint32 - 1, selfhosted.ErrCounterRegressed},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				now := anchor()
				ctx, s := t.Context(), withUsers(t, newStore, now)
				orig := credential([]byte{0x00, 0x01}, "user-1", now)
				orig.SignCount, orig.BackupState = tc.stored, true
				neighbour := credential([]byte{0x00, 0x02}, "user-1", now)
				setup(t, "AddCredential", s.AddCredential(ctx, orig))
				setup(t, "AddCredential", s.AddCredential(ctx, neighbour))

				use := selfhosted.CredentialUse{ID: orig.ID, SignCount: tc.next, BackupState: false, UsedAt: now.Add(time.Minute)}
				wantErr(t, "RecordCredentialUse", s.RecordCredentialUse(ctx, use), tc.want)

				want := orig
				if tc.want == nil {
					want.SignCount, want.BackupState, want.LastUsedAt = use.SignCount, use.BackupState, use.UsedAt
				}
				got, err := credentialByID(ctx, s, orig.UserID, orig.ID)
				wantValue(t, "Credential(used)", showCredential, want, got, err)
				got, err = credentialByID(ctx, s, neighbour.UserID, neighbour.ID)
				wantValue(t, "Credential(neighbour)", showCredential, neighbour, got, err)
			})
		}
	})

	t.Run("RecordUseNotFound", func(t *testing.T) {
		now := anchor()
		ctx, s := t.Context(), withUsers(t, newStore, now)
		setup(t, "AddCredential", s.AddCredential(ctx, credential([]byte{0x00, 0x01}, "user-1", now)))
		for _, count := range []uint32{0, 8} {
			use := selfhosted.CredentialUse{ID: []byte{0x00}, SignCount: count, UsedAt: now}
			wantErr(t, "RecordCredentialUse(unknown ID)", s.RecordCredentialUse(ctx, use), selfhosted.ErrNotFound)
		}
	})

	t.Run("Delete", func(t *testing.T) {
		now := anchor()
		ctx, s := t.Context(), withUsers(t, newStore, now)
		a1 := credential([]byte{0x00, 0xa1}, "user-1", now)
		a2 := credential([]byte{0x00, 0xa2}, "user-1", now.Add(time.Second))
		b1 := credential([]byte{0x00, 0xb1}, "user-2", now)
		for _, c := range []selfhosted.CredentialRecord{a1, a2, b1} {
			setup(t, "AddCredential", s.AddCredential(ctx, c))
		}

		wantErr(t, "DeleteCredential(another user's)", s.DeleteCredential(ctx, "user-2", a1.ID), selfhosted.ErrNotFound)
		got, err := credentialByID(ctx, s, a1.UserID, a1.ID)
		wantValue(t, "Credential after another user tried to delete it", showCredential, a1, got, err)
		wantErr(t, "DeleteCredential(unknown ID)", s.DeleteCredential(ctx, "user-1", []byte{0x00}), selfhosted.ErrNotFound)

		wantErr(t, "DeleteCredential", s.DeleteCredential(ctx, "user-1", a1.ID), nil)
		_, err = credentialByID(ctx, s, a1.UserID, a1.ID)
		wantErr(t, "Credential(deleted)", err, selfhosted.ErrNotFound)
		list, err := s.CredentialsByUser(ctx, "user-1")
		wantValue(t, "CredentialsByUser after delete", showCredentials, []selfhosted.CredentialRecord{a2}, list, err)
		list, err = s.CredentialsByUser(ctx, "user-2")
		wantValue(t, "CredentialsByUser(other user) after delete", showCredentials, []selfhosted.CredentialRecord{b1}, list, err)
		wantErr(t, "DeleteCredential(again)", s.DeleteCredential(ctx, "user-1", a1.ID), selfhosted.ErrNotFound)
	})

	t.Run("SlicesNotShared", func(t *testing.T) {
		now := anchor()
		ctx, s := t.Context(), withUsers(t, newStore, now)
		want := credential([]byte{0x00, 0x01}, "user-1", now)
		c := cloneCredential(want)
		setup(t, "AddCredential", s.AddCredential(ctx, c))
		c.ID[1], c.Data[1] = 0x02, 0x02 // the caller reuses its slices

		got, err := credentialByID(ctx, s, want.UserID, want.ID)
		wantValue(t, "Credential after the caller changed its slices", showCredential, want, got, err)
		if err == nil {
			got.ID[1], got.Data[1] = 0x03, 0x03 // the caller changes what it got
		}
		list, err := s.CredentialsByUser(ctx, "user-1")
		wantValue(t, "CredentialsByUser after the caller changed returned slices", showCredentials, []selfhosted.CredentialRecord{want}, list, err)
		if err == nil && len(list) == 1 {
			list[0].ID[1], list[0].Data[1] = 0x04, 0x04
		}
		got, err = credentialByID(ctx, s, want.UserID, want.ID)
		wantValue(t, "Credential after the caller changed returned slices", showCredential, want, got, err)

		use := selfhosted.CredentialUse{ID: bytes.Clone(want.ID), SignCount: 8, UsedAt: now}
		setup(t, "RecordCredentialUse", s.RecordCredentialUse(ctx, use))
		use.ID[1] = 0x05
		want.SignCount, want.LastUsedAt = 8, now
		got, err = credentialByID(ctx, s, want.UserID, want.ID)
		wantValue(t, "Credential after RecordCredentialUse", showCredential, want, got, err)
	})
}
