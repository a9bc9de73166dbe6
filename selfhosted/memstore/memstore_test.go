package memstore

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/passkeyready/passkeys/selfhosted"
	"github.com/passkeyready/passkeys/selfhosted/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) selfhosted.Store { return New() })
}

func TestPutCeremonyPurgesAbandoned(t *testing.T) {
	s := New()
	storetest.AbandonCeremonies(t, s, 1000)
	if n := len(s.ceremonies); n >= 150 {
		t.Errorf("%d of 1000 abandoned ceremonies still stored, want fewer than 150", n)
	}
}

func TestPutCeremonyPurgeIsBounded(t *testing.T) {
	ctx, s := t.Context(), New()
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	put := func(name string, n int, at time.Time) {
		t.Helper()
		for i := range n {
			c := selfhosted.Ceremony{Challenge: fmt.Sprint(name, i), Kind: selfhosted.CeremonyLogin, ExpiresAt: at.Add(time.Minute)}
			if err := s.PutCeremony(ctx, c, at); err != nil {
				t.Fatal(err)
			}
		}
	}
	put("old-", 250, now)
	// Of the next sixteen puts one purges, and deletes a hundred.
	put("new-", purgeEvery, now.Add(2*time.Minute))
	if n, want := len(s.ceremonies), 250+purgeEvery-purgeLimit; n != want {
		t.Errorf("%d ceremonies stored, want %d", n, want)
	}
}

func TestTakeCeremonyLeavesExpired(t *testing.T) {
	ctx, s := t.Context(), New()
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	c := selfhosted.Ceremony{Challenge: "old", Kind: selfhosted.CeremonyLogin, ExpiresAt: now}
	if err := s.PutCeremony(ctx, c, now.Add(-time.Minute)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.TakeCeremony(ctx, "old", now); !errors.Is(err, selfhosted.ErrNotFound) {
		t.Fatalf("TakeCeremony(expired) = %v, want ErrNotFound", err)
	}
	if _, ok := s.ceremonies["old"]; !ok {
		t.Error("TakeCeremony deleted an expired ceremony; purging is PutCeremony's")
	}
}

func TestPutOTPPurgesExpired(t *testing.T) {
	ctx, s := t.Context(), New()
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	put := func(email string, created, expires time.Time) {
		t.Helper()
		o := selfhosted.OTPRecord{Email: email, Hash: []byte{1}, CreatedAt: created, ExpiresAt: expires}
		if _, err := s.PutOTP(ctx, o, created); err != nil {
			t.Fatal(err)
		}
	}
	put("old@example.com", now, now.Add(time.Minute))
	put("live@example.com", now, now.Add(time.Hour))
	put("new@example.com", now.Add(2*time.Minute), now.Add(time.Hour))
	if _, ok := s.otps["old@example.com"]; ok {
		t.Error("expired code still stored after PutOTP")
	}
	if len(s.otps) != 2 {
		t.Errorf("%d codes stored, want 2", len(s.otps))
	}
}
