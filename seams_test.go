package passkeys_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/passkeyready/passkeys"
	"github.com/passkeyready/passkeys/passkeystest/keepertest"
	"github.com/passkeyready/passkeys/passkeystest/limitertest"
)

// The shipped in-memory keeper and limiter pass the seams' conformance
// suites; selfhosted.Keeper on each store and pgstore's limiter run them
// in their store's tests.

func TestMemoryKeeperConformance(t *testing.T) {
	keepertest.Run(t, func(*testing.T) passkeys.CeremonyKeeper { return passkeys.NewMemoryKeeper(0) })
}

func TestMemoryLimiterConformance(t *testing.T) {
	limitertest.RunHarness(t, limitertest.Harness{
		New:       func(_ *testing.T, clock func() time.Time) passkeys.Limiter { return passkeys.NewMemoryLimiter(clock) },
		FloodKeys: 80_000, // past the cap of 65,536 keys per class
	})
}

// A full MemoryKeeper drops the entry closest to its expiry, so that a
// flood of short-lived entries cannot push out a longer-lived one.
func TestMemoryKeeperBounded(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	k := passkeys.NewMemoryKeeper(3)
	add := func(key string, at time.Time, life time.Duration) {
		t.Helper()
		if err := k.Add(ctx, key, []byte(key), at, at.Add(life)); err != nil {
			t.Fatalf("Add(%s): %v", key, err)
		}
	}
	add("code", now, 10*time.Minute)
	for i := range 10 {
		add(fmt.Sprint("ceremony", i), now.Add(time.Duration(i)*time.Second), 5*time.Minute)
	}
	at := now.Add(10 * time.Second)
	for _, key := range []string{"code", "ceremony8", "ceremony9"} {
		if _, err := k.Take(ctx, key, at); err != nil {
			t.Errorf("Take(%s): %v", key, err)
		}
	}
	if _, err := k.Take(ctx, "ceremony7", at); !errors.Is(err, passkeys.ErrKeeperMiss) {
		t.Errorf("an entry beyond the limit survived: %v", err)
	}

	// Expired entries make room before live ones are dropped.
	k = passkeys.NewMemoryKeeper(2)
	add("short", now, time.Second)
	add("long", now, time.Hour)
	add("new", now.Add(time.Minute), time.Hour)
	for _, key := range []string{"long", "new"} {
		if _, err := k.Take(ctx, key, now.Add(time.Minute)); err != nil {
			t.Errorf("Take(%s) after an expired entry made room: %v", key, err)
		}
	}
}
