package storetest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/passkeyready/passkeys/selfhosted"
)

// testPurge checks, through h.Count, that expired records do not pile up.
func testPurge(t *testing.T, h Harness) {
	if h.Count == nil {
		t.Skip("Harness.Count is not set; the purge checks need it")
	}
	count := func(t *testing.T, s selfhosted.Store, kind Kind) int {
		t.Helper()
		return h.Count(t, s, kind)
	}

	t.Run("PutCeremonyPurgesAbandoned", func(t *testing.T) {
		s := h.NewStore(t)
		AbandonCeremonies(t, s, 1000)
		if n := count(t, s, Ceremonies); n >= 150 {
			t.Errorf("%d of 1000 abandoned ceremonies still stored, want fewer than 150", n)
		}
	})

	t.Run("PutCeremonyPurgeIsBounded", func(t *testing.T) {
		if h.PurgeEvery <= 0 || h.PurgeLimit <= 0 {
			t.Skip("Harness.PurgeEvery and PurgeLimit are not set")
		}
		ctx, s, now := t.Context(), h.NewStore(t), anchor()
		put := func(name string, n int, at time.Time) {
			t.Helper()
			for i := range n {
				c := selfhosted.Ceremony{Challenge: fmt.Sprint(name, i), Kind: selfhosted.CeremonyLogin, ExpiresAt: at.Add(time.Minute)}
				setup(t, "PutCeremony", s.PutCeremony(ctx, c, at))
			}
		}
		old := 2*h.PurgeLimit + 50
		put("old-", old, now)
		// Of the next PurgeEvery puts one purges, and deletes PurgeLimit.
		put("new-", h.PurgeEvery, now.Add(2*time.Minute))
		if n, want := count(t, s, Ceremonies), old+h.PurgeEvery-h.PurgeLimit; n != want {
			t.Errorf("%d ceremonies stored, want %d", n, want)
		}
	})

	t.Run("TakeCeremonyLeavesExpired", func(t *testing.T) {
		ctx, s, now := t.Context(), h.NewStore(t), anchor()
		c := selfhosted.Ceremony{Challenge: "old", Kind: selfhosted.CeremonyLogin, ExpiresAt: now}
		setup(t, "PutCeremony", s.PutCeremony(ctx, c, now.Add(-time.Minute)))
		if _, err := s.TakeCeremony(ctx, "old", now); !errors.Is(err, selfhosted.ErrNotFound) {
			t.Errorf("TakeCeremony(expired) = %v, want ErrNotFound", err)
		}
		if n := count(t, s, Ceremonies); n != 1 {
			t.Errorf("%d ceremonies stored after TakeCeremony of an expired one, want 1: purging is PutCeremony's", n)
		}
	})

	t.Run("PutOTPPurgesExpired", func(t *testing.T) {
		ctx, s, now := t.Context(), h.NewStore(t), anchor()
		put := func(email string, created, expires time.Time) {
			t.Helper()
			o := selfhosted.OTPRecord{Email: email, Hash: []byte{1}, CreatedAt: created, ExpiresAt: expires}
			_, err := s.PutOTP(ctx, o, created)
			setup(t, "PutOTP", err)
		}
		put("old@example.com", now, now.Add(time.Minute))
		put("live@example.com", now, now.Add(time.Hour))
		later := now.Add(2 * time.Minute)
		put("new@example.com", later, now.Add(time.Hour))
		if n := count(t, s, OTPs); n != 2 {
			t.Errorf("%d codes stored after PutOTP, want 2: the expired one purged, the live ones kept", n)
		}
		for _, email := range []string{"live@example.com", "new@example.com"} {
			if _, err := s.ReserveOTPAttempt(ctx, email, later, 5); err != nil {
				t.Errorf("ReserveOTPAttempt(%s) after the purge: %v", email, err)
			}
		}
	})
}
