package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/passkeyready/passkeys/selfhosted"
)

// testCancelledContext calls every method with a cancelled context. Each
// must fail with an error that is none of the contract's sentinels (which
// would tell the caller something false) and must change nothing.
func testCancelledContext(t *testing.T, newStore newStoreFunc) {
	now := anchor()
	cred := credential([]byte{0x00, 0x01}, "user-1", now)
	cer := ceremony("pending", selfhosted.CeremonyLogin, "user-1", now.Add(time.Minute))
	code := otp("a@example.com", 1, now)

	// Checks of what must still hold afterwards, run with a live context.
	credentialUnchanged := func(t *testing.T, s selfhosted.Store) {
		got, err := credentialByID(t.Context(), s, cred.UserID, cred.ID)
		wantValue(t, "Credential", showCredential, cred, got, err)
	}
	ceremonyPending := func(t *testing.T, s selfhosted.Store) {
		got, err := s.TakeCeremony(t.Context(), cer.Challenge, now)
		wantValue(t, "TakeCeremony", showCeremony, cer, got, err)
	}
	codeUnused := func(t *testing.T, s selfhosted.Store) {
		got, err := s.ReserveOTPAttempt(t.Context(), code.Email, now, 5)
		wantValue(t, "ReserveOTPAttempt", showOTP, attempted(code, 1), got, err)
	}

	cases := []struct {
		name  string
		call  func(ctx context.Context, s selfhosted.Store) error
		check func(t *testing.T, s selfhosted.Store)
	}{
		{"CreateUser", func(ctx context.Context, s selfhosted.Store) error {
			return s.CreateUser(ctx, user(3, now))
		}, func(t *testing.T, s selfhosted.Store) {
			_, err := userByID(t.Context(), s, user(3, now).ID)
			wantErr(t, "UserByID", err, selfhosted.ErrNotFound)
		}},
		{"UserByID", func(ctx context.Context, s selfhosted.Store) error {
			_, err := s.(selfhosted.UserByIDStore).UserByID(ctx, "user-1")
			return err
		}, nil},
		{"UserByEmail", func(ctx context.Context, s selfhosted.Store) error {
			_, err := s.UserByEmail(ctx, "user1@example.com")
			return err
		}, nil},
		{"UserWithCredentials", func(ctx context.Context, s selfhosted.Store) error {
			_, _, err := s.UserWithCredentials(ctx, selfhosted.UserKey{Handle: handle(1)})
			return err
		}, nil},
		{"AddCredential", func(ctx context.Context, s selfhosted.Store) error {
			return s.AddCredential(ctx, credential([]byte{0x00, 0x02}, "user-1", now))
		}, func(t *testing.T, s selfhosted.Store) {
			_, err := credentialByID(t.Context(), s, "user-1", []byte{0x00, 0x02})
			wantErr(t, "Credential", err, selfhosted.ErrNotFound)
		}},
		{"Credential", func(ctx context.Context, s selfhosted.Store) error {
			_, err := s.(selfhosted.CredentialByIDStore).Credential(ctx, cred.ID)
			return err
		}, nil},
		{"CredentialsByUser", func(ctx context.Context, s selfhosted.Store) error {
			_, err := s.CredentialsByUser(ctx, "user-1")
			return err
		}, nil},
		{"RecordCredentialUse", func(ctx context.Context, s selfhosted.Store) error {
			return s.RecordCredentialUse(ctx, selfhosted.CredentialUse{ID: cred.ID, SignCount: cred.SignCount + 1, UsedAt: now})
		}, credentialUnchanged},
		{"DeleteCredential", func(ctx context.Context, s selfhosted.Store) error {
			return s.DeleteCredential(ctx, "user-1", cred.ID)
		}, credentialUnchanged},
		{"PutCeremony", func(ctx context.Context, s selfhosted.Store) error {
			return s.PutCeremony(ctx, ceremony("other", selfhosted.CeremonyLogin, "user-1", now.Add(time.Minute)), now)
		}, func(t *testing.T, s selfhosted.Store) {
			_, err := s.TakeCeremony(t.Context(), "other", now)
			wantErr(t, "TakeCeremony", err, selfhosted.ErrNotFound)
		}},
		{"TakeCeremony", func(ctx context.Context, s selfhosted.Store) error {
			_, err := s.TakeCeremony(ctx, cer.Challenge, now)
			return err
		}, ceremonyPending},
		{"PutOTP", func(ctx context.Context, s selfhosted.Store) error {
			next := otp(code.Email, 2, now.Add(time.Minute))
			_, err := s.PutOTP(ctx, next, next.CreatedAt)
			return err
		}, codeUnused},
		{"ReserveOTPAttempt", func(ctx context.Context, s selfhosted.Store) error {
			_, err := s.ReserveOTPAttempt(ctx, code.Email, now, 5)
			return err
		}, codeUnused},
		{"DeleteOTP", func(ctx context.Context, s selfhosted.Store) error {
			return s.DeleteOTP(ctx, code.Email, code.Hash)
		}, codeUnused},
	}
	// The calls of optional interfaces, skipped when s does not have them.
	optional := map[string]func(s selfhosted.Store) bool{
		"UserByID":   func(s selfhosted.Store) bool { _, ok := s.(selfhosted.UserByIDStore); return ok },
		"Credential": func(s selfhosted.Store) bool { _, ok := s.(selfhosted.CredentialByIDStore); return ok },
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := withUsers(t, newStore, now)
			if has, ok := optional[tc.name]; ok && !has(s) {
				t.Skipf("the store does not implement the optional interface of %s", tc.name)
			}
			setup(t, "AddCredential", s.AddCredential(t.Context(), cred))
			setup(t, "PutCeremony", s.PutCeremony(t.Context(), cer, now))
			setup(t, "PutOTP", putOTP(t, s, code))

			ctx, cancel := context.WithCancel(t.Context())
			cancel()
			err := tc.call(ctx, s)
			switch {
			case err == nil:
				t.Errorf("%s with a cancelled context: no error", tc.name)
			case errors.Is(err, selfhosted.ErrNotFound), errors.Is(err, selfhosted.ErrDuplicate), errors.Is(err, selfhosted.ErrCounterRegressed):
				t.Errorf("%s with a cancelled context: error = %v, want a failure that is not a contract sentinel", tc.name, err)
			}
			if tc.check != nil {
				tc.check(t, s)
			}
		})
	}
}
