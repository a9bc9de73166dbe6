package memstore

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/passkeyready/passkeys"
	"github.com/passkeyready/passkeys/passkeystest/keepertest"
	"github.com/passkeyready/passkeys/selfhosted"
	"github.com/passkeyready/passkeys/selfhosted/storetest"
)

func TestConformance(t *testing.T) {
	storetest.RunHarness(t, storetest.Harness{
		NewStore: func(t *testing.T) selfhosted.Store { return New() },
		Count: func(t *testing.T, s selfhosted.Store, kind storetest.Kind) int {
			m := s.(*Store)
			m.mu.Lock()
			defer m.mu.Unlock()
			switch kind {
			case storetest.Ceremonies:
				return len(m.ceremonies)
			case storetest.Sessions:
				return len(m.sessions.byID)
			}
			return len(m.otps)
		},
		PurgeEvery: purgeEvery, PurgeLimit: purgeLimit,
	})
}

func TestKeeperConformance(t *testing.T) {
	keepertest.Run(t, func(*testing.T) passkeys.CeremonyKeeper { return selfhosted.Keeper(New()) })
}

// BenchmarkCreateSession creates sessions beside 100,000 live ones; the
// purge on every purgeEvery-th create visits only expired sessions, so the
// cost does not grow with the live ones.
func BenchmarkCreateSession(b *testing.B) {
	s := New()
	now := time.Unix(1_700_000_000, 0)
	rec := func(i int) selfhosted.SessionRecord {
		id := strconv.Itoa(i)
		return selfhosted.SessionRecord{
			ID: id, TokenHash: []byte("hash-" + id), UserID: "u" + strconv.Itoa(i%1000), Email: "a@example.com",
			CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(24 * time.Hour), IdleExpiresAt: now.Add(time.Hour),
		}
	}
	ctx := context.Background()
	const live = 100_000
	for i := range live {
		if err := s.CreateSession(ctx, rec(i), now); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if err := s.CreateSession(ctx, rec(live+i), now); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPutOTP replaces codes beside 10,000 live ones; the purge on
// every put visits only codes that may have expired, so the cost does not
// grow with the live ones.
func BenchmarkPutOTP(b *testing.B) {
	s := New()
	now := time.Unix(1_700_000_000, 0)
	ctx := context.Background()
	const live = 10_000
	rec := func(i int) selfhosted.OTPRecord {
		return selfhosted.OTPRecord{Email: "u" + strconv.Itoa(i%live) + "@example.com", Hash: []byte("hash"), CreatedAt: now, ExpiresAt: now.Add(10 * time.Minute)}
	}
	for i := range live {
		if _, err := s.PutOTP(ctx, rec(i), now); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if ok, err := s.PutOTP(ctx, rec(i), now); err != nil || !ok {
			b.Fatalf("PutOTP = %v, %v", ok, err)
		}
	}
}

// TestPutOTPPurgesBounded: a put drops at most purgeLimit expired codes,
// earliest first, and an expired code not yet dropped does not keep its
// email from a new one.
func TestPutOTPPurgesBounded(t *testing.T) {
	s := New()
	ctx, now := t.Context(), time.Unix(1_700_000_000, 0)
	put := func(email string, created, expires time.Time) bool {
		t.Helper()
		ok, err := s.PutOTP(ctx, selfhosted.OTPRecord{Email: email, Hash: []byte{1}, CreatedAt: created, ExpiresAt: expires}, created)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	const old = 2*purgeLimit + 50
	for i := range old {
		// Earlier codes expire earlier; every one by now+2m.
		put("old"+strconv.Itoa(i)+"@example.com", now, now.Add(time.Minute+time.Duration(i)*time.Millisecond))
	}
	later := now.Add(2 * time.Minute)
	if !put("new@example.com", later, later.Add(time.Minute)) {
		t.Fatal("PutOTP of a new email kept nothing")
	}
	if n, want := len(s.otps), old-purgeLimit+1; n != want {
		t.Errorf("%d codes after a put, want %d: %d expired dropped and the new one added", n, want, purgeLimit)
	}
	if _, ok := s.otps["old0@example.com"]; ok {
		t.Error("the earliest expired code was kept")
	}
	last := "old" + strconv.Itoa(old-1) + "@example.com"
	if _, ok := s.otps[last]; !ok {
		t.Fatal("the latest expired code was dropped before the earlier ones")
	}
	if !put(last, later, later.Add(time.Minute)) {
		t.Errorf("an expired code not yet purged kept %s from a new one", last)
	}
	if _, err := s.ReserveOTPAttempt(ctx, last, later, 5); err != nil {
		t.Errorf("ReserveOTPAttempt(%s) after the new code: %v", last, err)
	}
}
