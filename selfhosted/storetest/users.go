package storetest

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/passkeyready/passkeys/selfhosted"
)

func testUsers(t *testing.T, newStore newStoreFunc) {
	t.Run("RoundTrip", func(t *testing.T) {
		ctx, s, now := t.Context(), newStore(t), anchor()
		long := user(2, now.Add(time.Second))
		long.Handle = append(handle(2), make([]byte, 32)...) // 64 bytes, 33 trailing zeros
		users := []selfhosted.UserRecord{user(1, now), long}
		for _, u := range users {
			setup(t, "CreateUser", s.CreateUser(ctx, u))
		}
		for _, u := range users {
			got, err := userByID(ctx, s, u.ID)
			wantValue(t, "UserByID", showUser, u, got, err)
			got, err = s.UserByEmail(ctx, u.Email)
			wantValue(t, "UserByEmail", showUser, u, got, err)
			got, err = userByHandle(ctx, s, u.Handle)
			wantValue(t, "UserWithCredentials(Handle)", showUser, u, got, err)
		}
	})

	t.Run("NotFound", func(t *testing.T) {
		u := user(1, anchor())
		cases := []struct {
			name   string
			lookup func(ctx context.Context, s selfhosted.Store) error
			byID   bool // a check of the optional UserByIDStore only
		}{
			{"UnknownID", func(ctx context.Context, s selfhosted.Store) error {
				_, err := userByID(ctx, s, "user-2")
				return err
			}, false},
			{"EmptyID", func(ctx context.Context, s selfhosted.Store) error {
				_, err := s.(selfhosted.UserByIDStore).UserByID(ctx, "")
				return err
			}, true},
			{"IDInOtherCase", func(ctx context.Context, s selfhosted.Store) error {
				_, err := userByID(ctx, s, "USER-1")
				return err
			}, false},
			{"UnknownEmail", func(ctx context.Context, s selfhosted.Store) error {
				_, err := s.UserByEmail(ctx, "user2@example.com")
				return err
			}, false},
			{"EmptyEmail", func(ctx context.Context, s selfhosted.Store) error {
				_, err := s.UserByEmail(ctx, "")
				return err
			}, false},
			{"HandlePrefix", func(ctx context.Context, s selfhosted.Store) error {
				_, err := userByHandle(ctx, s, u.Handle[:len(u.Handle)-1])
				return err
			}, false},
			{"HandleWithExtraZero", func(ctx context.Context, s selfhosted.Store) error {
				_, err := userByHandle(ctx, s, append(bytes.Clone(u.Handle), 0))
				return err
			}, false},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				ctx, s := t.Context(), newStore(t)
				if _, ok := s.(selfhosted.UserByIDStore); tc.byID && !ok {
					t.Skip("the store does not implement the optional selfhosted.UserByIDStore")
				}
				setup(t, "CreateUser", s.CreateUser(ctx, u))
				wantErr(t, "lookup", tc.lookup(ctx, s), selfhosted.ErrNotFound)
			})
		}
	})

	t.Run("Duplicate", func(t *testing.T) {
		now := anchor()
		orig := user(1, now)
		cases := []struct {
			name  string
			clash func(u *selfhosted.UserRecord)
		}{
			{"SameID", func(u *selfhosted.UserRecord) { u.ID = orig.ID }},
			{"SameEmail", func(u *selfhosted.UserRecord) { u.Email = orig.Email }},
			{"SameHandle", func(u *selfhosted.UserRecord) { u.Handle = bytes.Clone(orig.Handle) }},
			{"SameEverything", func(u *selfhosted.UserRecord) { *u = orig; u.Handle = bytes.Clone(orig.Handle) }},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				ctx, s := t.Context(), newStore(t)
				setup(t, "CreateUser", s.CreateUser(ctx, orig))
				dup := user(2, now.Add(time.Minute))
				tc.clash(&dup)
				wantErr(t, "CreateUser(duplicate)", s.CreateUser(ctx, dup), selfhosted.ErrDuplicate)

				got, err := userByID(ctx, s, orig.ID)
				wantValue(t, "UserByID(original)", showUser, orig, got, err)
				got, err = s.UserByEmail(ctx, orig.Email)
				wantValue(t, "UserByEmail(original)", showUser, orig, got, err)
				got, err = userByHandle(ctx, s, orig.Handle)
				wantValue(t, "UserWithCredentials(original's handle)", showUser, orig, got, err)
				if dup.ID != orig.ID {
					_, err := userByID(ctx, s, dup.ID)
					wantErr(t, "UserByID(rejected duplicate)", err, selfhosted.ErrNotFound)
				}
				if dup.Email != orig.Email {
					_, err := s.UserByEmail(ctx, dup.Email)
					wantErr(t, "UserByEmail(rejected duplicate)", err, selfhosted.ErrNotFound)
				}
				if !bytes.Equal(dup.Handle, orig.Handle) {
					_, err := userByHandle(ctx, s, dup.Handle)
					wantErr(t, "UserWithCredentials(rejected duplicate's handle)", err, selfhosted.ErrNotFound)
				}
			})
		}
	})

	t.Run("SlicesNotShared", func(t *testing.T) {
		ctx, s := t.Context(), newStore(t)
		want := user(1, anchor())
		u := want
		u.Handle = bytes.Clone(want.Handle)
		setup(t, "CreateUser", s.CreateUser(ctx, u))
		u.Handle[5] ^= 0xff // the caller reuses its slice

		got, err := userByHandle(ctx, s, want.Handle)
		wantValue(t, "UserWithCredentials(Handle) after the caller changed its slice", showUser, want, got, err)
		if err == nil {
			got.Handle[6] ^= 0xff // the caller changes what it got
		}
		got, err = userByID(ctx, s, want.ID)
		wantValue(t, "UserByID after the caller changed a returned slice", showUser, want, got, err)
	})
}

// userByID returns the user with this ID: with the optional
// [selfhosted.UserByIDStore] when s implements it, else as
// UserWithCredentials finds it.
func userByID(ctx context.Context, s selfhosted.Store, id string) (selfhosted.UserRecord, error) {
	if s, ok := s.(selfhosted.UserByIDStore); ok {
		return s.UserByID(ctx, id)
	}
	u, _, err := s.UserWithCredentials(ctx, selfhosted.UserKey{ID: id})
	return u, err
}

// userByHandle returns the user with this handle, as UserWithCredentials
// finds it.
func userByHandle(ctx context.Context, s selfhosted.Store, handle []byte) (selfhosted.UserRecord, error) {
	u, _, err := s.UserWithCredentials(ctx, selfhosted.UserKey{Handle: handle})
	return u, err
}
