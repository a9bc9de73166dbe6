package pgstore

import (
	"fmt"
	"testing"
	"time"

	"github.com/passkeyready/passkeys"
	"github.com/passkeyready/passkeys/internal/e2e"
	"github.com/passkeyready/passkeys/passkeystest/limitertest"
)

// allow calls s.Allow and stops the test on an error.
func allow(t *testing.T, s *Store, key string, r passkeys.Rate) (bool, time.Duration) {
	t.Helper()
	ok, wait, err := s.Allow(t.Context(), key, r)
	if err != nil {
		t.Fatalf("Allow(%q): %v", key, err)
	}
	return ok, wait
}

// wantAllowed reports a violation unless n calls on key are all allowed.
func wantAllowed(t *testing.T, s *Store, key string, r passkeys.Rate, n int) {
	t.Helper()
	for i := range n {
		if ok, wait := allow(t, s, key, r); !ok {
			t.Errorf("Allow(%q) #%d refused (wait %v), want allowed", key, i+1, wait)
		}
	}
}

// wantRefused reports a violation unless a call on key is refused with
// this wait.
func wantRefused(t *testing.T, s *Store, key string, r passkeys.Rate, want time.Duration) {
	t.Helper()
	if ok, wait := allow(t, s, key, r); ok || wait != want {
		t.Errorf("Allow(%q) = %t, %v; want refused with wait %v", key, ok, wait, want)
	}
}

func TestLimiterConformance(t *testing.T) {
	limitertest.RunHarness(t, limitertest.Harness{
		New:       func(t *testing.T, clock func() time.Time) passkeys.Limiter { return newStore(t, WithClock(clock)) },
		FloodKeys: 1000, // no cap to go past: a quick check that purging drops only full buckets
	})
}

func TestAllowSharedAcrossStores(t *testing.T) {
	clock := e2e.NewClock()
	pool := testPool(t)
	schema := freshSchema(t, pool)
	a, err := New(t.Context(), pool, WithSchema(schema), WithClock(clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	// A second store with a pool of its own on the same schema, as another
	// instance would have.
	b, err := New(t.Context(), testPool(t), WithSchema(schema), WithClock(clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	r := passkeys.Rate{Events: 3, Per: time.Minute, Burst: 3}
	wantAllowed(t, a, "ip:192.0.2.1", r, 2)
	wantAllowed(t, b, "ip:192.0.2.1", r, 1)
	wantRefused(t, a, "ip:192.0.2.1", r, 20*time.Second)
	wantRefused(t, b, "ip:192.0.2.1", r, 20*time.Second)
	clock.Advance(20 * time.Second)
	wantAllowed(t, b, "ip:192.0.2.1", r, 1)
	wantRefused(t, a, "ip:192.0.2.1", r, 20*time.Second)
}

func TestAllowDisabled(t *testing.T) {
	s := newStore(t)
	wantAllowed(t, s, "k", passkeys.Rate{Events: -1}, 100)
	if n := count(t, s, `SELECT count(*) FROM {schema}.rate_limits`); n != 0 {
		t.Errorf("%d buckets stored for a disabled rate, want 0", n)
	}
}

func TestAllowInvalidRate(t *testing.T) {
	s := newStore(t)
	for _, r := range []passkeys.Rate{
		{},
		{Events: 1, Per: 0, Burst: 1},
		{Events: 1, Per: time.Second, Burst: 0},
	} {
		if _, _, err := s.Allow(t.Context(), "k", r); err == nil {
			t.Errorf("Allow with %+v: no error", r)
		}
	}
}

func TestAllowPurgesFullBuckets(t *testing.T) {
	clock := e2e.NewClock()
	s := newStore(t, WithClock(clock.Now))
	r := passkeys.Rate{Events: 1, Per: time.Second, Burst: 5}
	for i := range purgeLimit {
		wantAllowed(t, s, fmt.Sprint("idle-", i), r, 1) // full again a second later
	}
	wantAllowed(t, s, "busy", r, 5) // full again five seconds later

	// Of the next sixteen calls one purges.
	clock.Advance(2 * time.Second)
	wantAllowed(t, s, "new", passkeys.Rate{Events: 100, Per: time.Second, Burst: 100}, purgeEvery)
	if n := count(t, s, `SELECT count(*) FROM {schema}.rate_limits`); n != 2 {
		t.Errorf("%d buckets stored, want 2 (busy and new)", n)
	}
	// The bucket that was not full kept its state: two tokens came back.
	wantAllowed(t, s, "busy", r, 2)
	wantRefused(t, s, "busy", r, time.Second)
}
