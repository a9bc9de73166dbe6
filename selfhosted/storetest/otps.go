package storetest

import (
	"bytes"
	"testing"
	"time"

	"github.com/passkeyready/passkeys/selfhosted"
)

// attempted returns o as ReserveOTPAttempt returns it after n checks.
func attempted(o selfhosted.OTPRecord, n int) selfhosted.OTPRecord {
	o.Attempts = n
	return o
}

func testOTPs(t *testing.T, newStore newStoreFunc) {
	const email = "a@example.com"

	t.Run("RoundTrip", func(t *testing.T) {
		ctx, s, now := t.Context(), newStore(t), anchor()
		o := otp(email, 1, now)
		stored, err := s.PutOTP(ctx, o, now.Add(-time.Minute))
		wantErr(t, "PutOTP", err, nil)
		if !stored {
			t.Errorf("PutOTP without a previous code: stored = false, want true")
		}
		got, err := s.ReserveOTPAttempt(ctx, email, now, 5)
		wantValue(t, "ReserveOTPAttempt", showOTP, attempted(o, 1), got, err)
	})

	t.Run("Cooldown", func(t *testing.T) {
		cases := []struct {
			name     string
			at, keep time.Duration // CreatedAt of the new code and keepIfCreatedAfter, from the old code's CreatedAt
			kept     bool
		}{
			{"LiveAndRecent", 30 * time.Second, -30 * time.Second, true},
			{"LastLiveMoment", 10*time.Minute - time.Microsecond, -time.Hour, true},
			{"CreatedAtCooldownStart", 30 * time.Second, 0, false},
			{"OlderThanCooldown", 2 * time.Minute, time.Minute, false},
			{"ExpiresAsNewIsCreated", 10 * time.Minute, -time.Hour, false},
			{"LongExpired", time.Hour, -2 * time.Hour, false},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				ctx, s, now := t.Context(), newStore(t), anchor()
				old := otp(email, 1, now)
				setup(t, "PutOTP", putOTP(t, s, old))
				for range 2 {
					_, err := s.ReserveOTPAttempt(ctx, email, now, 10)
					setup(t, "ReserveOTPAttempt", err)
				}

				next := otp(email, 2, now.Add(tc.at))
				stored, err := s.PutOTP(ctx, next, now.Add(tc.keep))
				wantErr(t, "PutOTP", err, nil)
				if stored == tc.kept {
					t.Errorf("PutOTP: stored = %t, want %t", stored, !tc.kept)
				}
				want := attempted(next, 1) // replacing resets Attempts
				if tc.kept {
					want = attempted(old, 3)
				}
				got, err := s.ReserveOTPAttempt(ctx, email, next.CreatedAt, 10)
				wantValue(t, "ReserveOTPAttempt after PutOTP", showOTP, want, got, err)
			})
		}
	})

	t.Run("Reserve", func(t *testing.T) {
		cases := []struct {
			name  string
			email string
			after time.Duration // from CreatedAt
			max   int
			want  error
		}{
			{"Live", email, 0, 5, nil},
			{"LastLiveMoment", email, 10*time.Minute - time.Microsecond, 5, nil},
			{"AtExpiry", email, 10 * time.Minute, 5, selfhosted.ErrNotFound},
			{"AfterExpiry", email, time.Hour, 5, selfhosted.ErrNotFound},
			{"ZeroMax", email, 0, 0, selfhosted.ErrNotFound},
			{"UnknownEmail", "b@example.com", 0, 5, selfhosted.ErrNotFound},
			{"EmailInOtherCase", "A@example.com", 0, 5, selfhosted.ErrNotFound},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				ctx, s, now := t.Context(), newStore(t), anchor()
				o := otp(email, 1, now)
				setup(t, "PutOTP", putOTP(t, s, o))
				got, err := s.ReserveOTPAttempt(ctx, tc.email, now.Add(tc.after), tc.max)
				if tc.want == nil {
					wantValue(t, "ReserveOTPAttempt", showOTP, attempted(o, 1), got, err)
				} else {
					wantErr(t, "ReserveOTPAttempt", err, tc.want)
				}
			})
		}
	})

	t.Run("ReserveUntilExhausted", func(t *testing.T) {
		ctx, s, now := t.Context(), newStore(t), anchor()
		o := otp(email, 1, now)
		setup(t, "PutOTP", putOTP(t, s, o))
		for n := 1; n <= 3; n++ {
			got, err := s.ReserveOTPAttempt(ctx, email, now, 3)
			wantValue(t, "ReserveOTPAttempt", showOTP, attempted(o, n), got, err)
		}
		for range 2 {
			_, err := s.ReserveOTPAttempt(ctx, email, now, 3)
			wantErr(t, "ReserveOTPAttempt(exhausted)", err, selfhosted.ErrNotFound)
		}
		// Refused reservations are not counted.
		got, err := s.ReserveOTPAttempt(ctx, email, now, 4)
		wantValue(t, "ReserveOTPAttempt(higher limit)", showOTP, attempted(o, 4), got, err)
	})

	t.Run("Delete", func(t *testing.T) {
		ctx, s, now := t.Context(), newStore(t), anchor()
		o := otp(email, 1, now)
		setup(t, "PutOTP", putOTP(t, s, o))
		wrong := [][]byte{nil, o.Hash[:len(o.Hash)-1], append(bytes.Clone(o.Hash), 0), otp(email, 2, now).Hash}
		for _, h := range wrong {
			wantErr(t, "DeleteOTP(wrong hash)", s.DeleteOTP(ctx, email, h), selfhosted.ErrNotFound)
		}
		wantErr(t, "DeleteOTP(unknown email)", s.DeleteOTP(ctx, "b@example.com", o.Hash), selfhosted.ErrNotFound)
		got, err := s.ReserveOTPAttempt(ctx, email, now, 5)
		wantValue(t, "ReserveOTPAttempt after failed deletes", showOTP, attempted(o, 1), got, err)

		wantErr(t, "DeleteOTP", s.DeleteOTP(ctx, email, o.Hash), nil)
		_, err = s.ReserveOTPAttempt(ctx, email, now, 5)
		wantErr(t, "ReserveOTPAttempt(deleted)", err, selfhosted.ErrNotFound)
		wantErr(t, "DeleteOTP(again)", s.DeleteOTP(ctx, email, o.Hash), selfhosted.ErrNotFound)
	})

	t.Run("DeleteReplaced", func(t *testing.T) {
		ctx, s, now := t.Context(), newStore(t), anchor()
		old, next := otp(email, 1, now), otp(email, 2, now.Add(time.Minute))
		setup(t, "PutOTP", putOTP(t, s, old))
		setup(t, "PutOTP", putOTP(t, s, next))
		wantErr(t, "DeleteOTP(replaced code)", s.DeleteOTP(ctx, email, old.Hash), selfhosted.ErrNotFound)
		wantErr(t, "DeleteOTP(current code)", s.DeleteOTP(ctx, email, next.Hash), nil)
	})

	t.Run("PerEmail", func(t *testing.T) {
		ctx, s, now := t.Context(), newStore(t), anchor()
		a, b := otp("a@example.com", 1, now), otp("b@example.com", 1, now)
		setup(t, "PutOTP", putOTP(t, s, a))
		stored, err := s.PutOTP(ctx, b, now.Add(-time.Minute))
		wantErr(t, "PutOTP(other email)", err, nil)
		if !stored {
			t.Errorf("PutOTP(other email): stored = false, want true")
		}
		wantErr(t, "DeleteOTP(a)", s.DeleteOTP(ctx, a.Email, a.Hash), nil)
		got, err := s.ReserveOTPAttempt(ctx, b.Email, now, 5)
		wantValue(t, "ReserveOTPAttempt(b)", showOTP, attempted(b, 1), got, err)
	})

	t.Run("SlicesNotShared", func(t *testing.T) {
		ctx, s, now := t.Context(), newStore(t), anchor()
		want := otp(email, 1, now)
		o := want
		o.Hash = bytes.Clone(want.Hash)
		setup(t, "PutOTP", putOTP(t, s, o))
		o.Hash[3] ^= 0xff // the caller reuses its slice

		got, err := s.ReserveOTPAttempt(ctx, email, now, 5)
		wantValue(t, "ReserveOTPAttempt after the caller changed its slice", showOTP, attempted(want, 1), got, err)
		if err == nil {
			got.Hash[4] ^= 0xff // the caller changes what it got
		}
		wantErr(t, "DeleteOTP after the caller changed a returned slice", s.DeleteOTP(ctx, email, want.Hash), nil)
	})
}

// putOTP stores o as the email's code, replacing any other, and reports an
// error unless it was stored.
func putOTP(t *testing.T, s selfhosted.Store, o selfhosted.OTPRecord) error {
	t.Helper()
	stored, err := s.PutOTP(t.Context(), o, o.CreatedAt)
	if err == nil && !stored {
		t.Errorf("PutOTP(%s, created %s): stored = false, want true", o.Email, showTime(o.CreatedAt))
	}
	return err
}
