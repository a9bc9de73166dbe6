package memstore

import (
	"testing"
	"time"

	"github.com/passkeyready/passkeys/selfhosted"
	"github.com/passkeyready/passkeys/selfhosted/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) selfhosted.Store { return New() })
}

func TestTakeCeremonyPurgesExpired(t *testing.T) {
	ctx, s := t.Context(), New()
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, c := range []selfhosted.Ceremony{
		{Challenge: "old", Kind: selfhosted.CeremonyLogin, ExpiresAt: now.Add(time.Minute)},
		{Challenge: "live", Kind: selfhosted.CeremonyLogin, ExpiresAt: now.Add(time.Hour)},
	} {
		if err := s.PutCeremony(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.TakeCeremony(ctx, "missing", now.Add(2*time.Minute)); err == nil {
		t.Fatal("TakeCeremony(missing): no error")
	}
	if _, ok := s.ceremonies["old"]; ok {
		t.Error("expired ceremony still stored after TakeCeremony")
	}
	if _, ok := s.ceremonies["live"]; !ok {
		t.Error("live ceremony dropped by TakeCeremony")
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
