// Package limitertest is the conformance suite for [passkeys.Limiter]
// implementations. A limiter conforms when
//
//	func TestLimiter(t *testing.T) {
//		limitertest.Run(t, func(t *testing.T, clock func() time.Time) passkeys.Limiter {
//			return mylimiter.New(clock)
//		})
//	}
//
// passes. Run calls newLimiter once per subtest with a clock the suite
// moves; the limiter must read the time from it and from nothing else,
// and must start with no state that another subtest sees. newLimiter may
// register clean-up with t.Cleanup and stop the test with t.Fatal.
//
// A conforming limiter is a token bucket per key: a key starts with Burst
// tokens, each allowed event takes one, a refused event takes nothing,
// tokens flow back at Events per Per up to Burst, and a refusal's
// retryAfter is the time until the next whole token, rounded up to the
// nanosecond. A negative Events allows everything. A limiter that is also
// a [passkeys.Refunder] gives one token back per Refund, never beyond
// Burst, and ignores a refund of a key it holds nothing for. Every violation is
// reported with t.Errorf; time moves only when the suite advances the
// clock, never by sleeping.
//
// The package imports only the standard library and the passkeys root
// package, so a limiter's tests stay light.
package limitertest

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/passkeyready/passkeys"
	"github.com/passkeyready/passkeys/internal/racetest"
	"github.com/passkeyready/passkeys/internal/testclock"
)

// Run runs the conformance suite against the limiters newLimiter returns:
// RunHarness without the flood.
func Run(t *testing.T, newLimiter func(t *testing.T, clock func() time.Time) passkeys.Limiter) {
	RunHarness(t, Harness{New: newLimiter})
}

// Harness describes a limiter to [RunHarness].
type Harness struct {
	// New returns a fresh limiter reading the time from clock, as Run's
	// newLimiter does. Required.
	New func(t *testing.T, clock func() time.Time) passkeys.Limiter
	// FloodKeys, when positive, adds the subtest Flood: it drains a few
	// victim keys, makes one call on each of FloodKeys fresh keys of the
	// victims' class ("otpcheck:") and as many of another ("email:"),
	// then checks that every flood call was allowed (a fresh key is never
	// refused, however many keys are held), that every victim is still
	// drained, that a new key of each class gets its whole burst at once
	// while the flood's buckets are still short, and that once they have
	// refilled the victims have too. For a limiter that caps the keys it
	// holds, make it well past the cap (the suite runs MemoryLimiter with
	// 80,000): such a limiter must make room by forgetting buckets that
	// lose less than the victims' (MemoryLimiter drops the one closest to
	// full), neither refusing new keys nor dropping drained ones. The
	// subtest makes about 2×FloodKeys calls. Zero skips it.
	FloodKeys int
}

// RunHarness runs the conformance suite against the limiters h.New
// returns. The Refund subtests run when the limiter is a
// [passkeys.Refunder] and are skipped otherwise.
func RunHarness(t *testing.T, h Harness) {
	// start returns a new limiter and the clock it reads.
	start := func(t *testing.T) (passkeys.Limiter, *testclock.Clock) {
		c := testclock.New()
		return h.New(t, c.Now), c
	}

	t.Run("Burst", func(t *testing.T) {
		l, _ := start(t)
		// Two tokens a second, so a token takes 500ms; bursts of four.
		r := passkeys.Rate{Events: 2, Per: time.Second, Burst: 4}
		wantAllowed(t, l, "k", r, 4)
		wantRefused(t, l, "k", r, 500*time.Millisecond)
		wantRefused(t, l, "k", r, 500*time.Millisecond) // a refusal takes nothing
		wantAllowed(t, l, "other", r, 4)
	})

	t.Run("Refill", func(t *testing.T) {
		l, c := start(t)
		r := passkeys.Rate{Events: 2, Per: time.Second, Burst: 4}
		wantAllowed(t, l, "k", r, 4)
		c.Advance(250 * time.Millisecond)
		wantRefused(t, l, "k", r, 250*time.Millisecond)
		c.Advance(250 * time.Millisecond)
		wantAllowed(t, l, "k", r, 1)
		wantRefused(t, l, "k", r, 500*time.Millisecond)
		// A long pause refills up to the burst, not beyond.
		c.Advance(time.Hour)
		wantAllowed(t, l, "k", r, 4)
		wantRefused(t, l, "k", r, 500*time.Millisecond)
	})

	t.Run("RetryAfterSuffices", func(t *testing.T) {
		l, c := start(t)
		for _, r := range []passkeys.Rate{
			{Events: 6, Per: time.Minute, Burst: 3},
			{Events: 10, Per: time.Hour, Burst: 10},
			{Events: 600, Per: time.Minute, Burst: 60},
			{Events: 3, Per: time.Second, Burst: 1},
		} {
			key := fmt.Sprintf("%d/%s/%d", r.Events, r.Per, r.Burst)
			wantAllowed(t, l, key, r, r.Burst)
			ok, wait := allow(t, l, key, r)
			if ok || wait <= 0 {
				t.Errorf("Allow(%q) past the burst = %t, %v; want refused with a positive wait", key, ok, wait)
				continue
			}
			if token := r.Per / time.Duration(r.Events); wait < token-time.Microsecond || wait > token+time.Microsecond {
				t.Errorf("Allow(%q) past the burst: wait %v, want %v (one token)", key, wait, token)
			}
			c.Advance(wait - time.Millisecond)
			if ok, _ := allow(t, l, key, r); ok {
				t.Errorf("Allow(%q) a millisecond before the wait was over: allowed", key)
			}
			c.Advance(time.Millisecond)
			wantAllowed(t, l, key, r, 1)
		}
	})

	t.Run("Disabled", func(t *testing.T) {
		l, _ := start(t)
		for i := range 100 {
			ok, wait, err := l.Allow(t.Context(), "k", passkeys.Rate{Events: -1})
			if !ok || wait != 0 || err != nil {
				t.Errorf("Allow #%d with a disabled rate = %t, %v, %v; want allowed", i+1, ok, wait, err)
				return
			}
		}
	})

	t.Run("KeysAreOpaque", func(t *testing.T) {
		l, _ := start(t)
		r := passkeys.Rate{Events: 1, Per: time.Hour, Burst: 1}
		keys := []string{
			"ip:192.0.2.1", "ip:192.0.2.10", "email:a@example.com", "email:A@example.com",
			"otp:a@example.com", "ip:2001:db8::1", "k ", "k", "schlüssel 🔑", `k'"\%_`, strings.Repeat("k", 300),
		}
		for _, key := range keys {
			wantAllowed(t, l, key, r, 1)
		}
		for _, key := range keys {
			wantRefused(t, l, key, r, time.Hour)
		}
	})

	t.Run("ClockBehind", func(t *testing.T) {
		// Instances' clocks differ: a call that reads an earlier time than
		// the last one must not refill the bucket.
		l, c := start(t)
		r := passkeys.Rate{Events: 1, Per: time.Minute, Burst: 2}
		wantAllowed(t, l, "k", r, 2)
		c.Advance(-time.Hour)
		if ok, _ := allow(t, l, "k", r); ok {
			t.Error("Allow with the clock an hour behind: allowed from an empty bucket")
		}
		c.Advance(time.Hour + time.Minute)
		wantAllowed(t, l, "k", r, 1)
	})

	t.Run("ConcurrentSingleWinner", func(t *testing.T) {
		l, _ := start(t)
		r := passkeys.Rate{Events: 1, Per: time.Hour, Burst: 1}
		if n := allowedOf(t, l, "contested", r, 20); n != 1 {
			t.Errorf("%d of 20 concurrent calls allowed on a bucket of one, want 1", n)
		}
	})

	t.Run("ConcurrentBurst", func(t *testing.T) {
		l, _ := start(t)
		r := passkeys.Rate{Events: 10, Per: time.Hour, Burst: 10}
		if n := allowedOf(t, l, "contested", r, 50); n != 10 {
			t.Errorf("%d of 50 concurrent calls allowed, want 10 (the burst)", n)
		}
		wantRefused(t, l, "contested", r, 6*time.Minute)
	})

	t.Run("ConcurrentDistinctKeys", func(t *testing.T) {
		l, _ := start(t)
		r := passkeys.Rate{Events: 1, Per: time.Hour, Burst: 1}
		var wg sync.WaitGroup
		oks := make([]bool, 20)
		errs := make([]error, len(oks))
		for i := range oks {
			wg.Go(func() { oks[i], _, errs[i] = l.Allow(t.Context(), fmt.Sprint("key-", i), r) })
		}
		wg.Wait()
		for i, ok := range oks {
			if !ok || errs[i] != nil {
				t.Errorf("Allow(key-%d), the first call on its key, concurrent with others = %t, %v; want allowed", i, ok, errs[i])
			}
		}
	})

	t.Run("CancelledContext", func(t *testing.T) {
		l, _ := start(t)
		r := passkeys.Rate{Events: 1, Per: time.Hour, Burst: 1}
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if ok, _, err := l.Allow(ctx, "k", r); err != nil && ok {
			t.Errorf("Allow with a cancelled context = allowed with error %v; an error must refuse", err)
		}
	})

	// startRefunder is start for the Refund subtests, which are skipped
	// for a limiter that cannot refund.
	startRefunder := func(t *testing.T) (passkeys.Limiter, passkeys.Refunder, *testclock.Clock) {
		l, c := start(t)
		rf, ok := l.(passkeys.Refunder)
		if !ok {
			t.Skipf("%T does not implement passkeys.Refunder", l)
		}
		return l, rf, c
	}
	hourly := passkeys.Rate{Events: 1, Per: time.Hour, Burst: 3}

	t.Run("RefundGivesBackOne", func(t *testing.T) {
		l, rf, _ := startRefunder(t)
		wantAllowed(t, l, "k", hourly, 3)
		wantRefused(t, l, "k", hourly, time.Hour)
		refund(t, rf, "k", hourly)
		wantAllowed(t, l, "k", hourly, 1)
		wantRefused(t, l, "k", hourly, time.Hour)
		wantAllowed(t, l, "other", hourly, 3) // other keys are untouched
	})

	t.Run("RefundNeverExceedsBurst", func(t *testing.T) {
		l, rf, c := startRefunder(t)
		wantAllowed(t, l, "k", hourly, 1)
		for range 5 {
			refund(t, rf, "k", hourly)
		}
		wantAllowed(t, l, "k", hourly, 3)
		wantRefused(t, l, "k", hourly, time.Hour)
		// A refund on top of a partial refill fills up to the burst.
		c.Advance(2 * time.Hour)
		refund(t, rf, "k", hourly)
		refund(t, rf, "k", hourly)
		wantAllowed(t, l, "k", hourly, 3)
		wantRefused(t, l, "k", hourly, time.Hour)
	})

	t.Run("RefundUnknownKey", func(t *testing.T) {
		l, rf, _ := startRefunder(t)
		refund(t, rf, "never seen", hourly)
		wantAllowed(t, l, "never seen", hourly, 3)
		wantRefused(t, l, "never seen", hourly, time.Hour)
		if err := rf.Refund(t.Context(), "k", passkeys.Rate{Events: -1}); err != nil {
			t.Errorf("Refund with a disabled rate: %v", err)
		}
	})

	t.Run("RefundClockBehind", func(t *testing.T) {
		// A refund read at an earlier time gives back its one token and
		// refills nothing.
		l, rf, c := startRefunder(t)
		r := passkeys.Rate{Events: 1, Per: time.Minute, Burst: 2}
		wantAllowed(t, l, "k", r, 2)
		c.Advance(-time.Hour)
		refund(t, rf, "k", r)
		c.Advance(time.Hour)
		wantAllowed(t, l, "k", r, 1)
		wantRefused(t, l, "k", r, time.Minute)
	})

	t.Run("ConcurrentRefund", func(t *testing.T) {
		l, rf, _ := startRefunder(t)
		r := passkeys.Rate{Events: 10, Per: time.Hour, Burst: 10}
		wantAllowed(t, l, "k", r, 10)
		// 20 refunds at once on an empty bucket of 10 fill it, no more.
		var wg sync.WaitGroup
		errs := make([]error, 20)
		for i := range errs {
			wg.Go(func() { errs[i] = rf.Refund(t.Context(), "k", r) })
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("Refund #%d: %v", i, err)
			}
		}
		wantAllowed(t, l, "k", r, 10)
		wantRefused(t, l, "k", r, 6*time.Minute)

		// Takes racing refunds: every token is accounted for. Of 5
		// refunds on an empty bucket and 10 takes at once, the takes
		// allowed are at most the refunds, and the rest stays.
		start := make(chan struct{})
		oks := make([]bool, 10)
		for i := range oks {
			wg.Go(func() {
				<-start
				oks[i], _, _ = l.Allow(t.Context(), "k", r)
			})
		}
		for range 5 {
			wg.Go(func() {
				<-start
				if err := rf.Refund(t.Context(), "k", r); err != nil {
					t.Errorf("Refund: %v", err)
				}
			})
		}
		close(start)
		wg.Wait()
		allowed := 0
		for _, ok := range oks {
			if ok {
				allowed++
			}
		}
		if allowed > 5 {
			t.Errorf("%d takes allowed after 5 refunds on an empty bucket, want at most 5", allowed)
		}
		wantAllowed(t, l, "k", r, 5-allowed)
		wantRefused(t, l, "k", r, 6*time.Minute)
	})

	if h.FloodKeys > 0 {
		t.Run("Flood", func(t *testing.T) { flood(t, start, h.FloodKeys) })
	}
}

// flood drains victim keys of two classes, makes one call on each of n
// fresh keys of each class, and checks that no fresh key was refused, no
// victim got a fresh bucket and a new key is served at once.
func flood(t *testing.T, start func(*testing.T) (passkeys.Limiter, *testclock.Clock), n int) {
	l, c := start(t)
	r := passkeys.Rate{Events: 10, Per: time.Hour, Burst: 10}
	var victims []string
	for i := range 5 {
		victims = append(victims, fmt.Sprintf("otpcheck:victim-%d@example.com", i), fmt.Sprintf("email:victim-%d@example.com", i))
	}
	for _, v := range victims {
		wantAllowed(t, l, v, r, r.Burst)
		wantRefused(t, l, v, r, 6*time.Minute)
	}
	classes := []string{"otpcheck", "email"}
	for _, class := range classes {
		refused, first := 0, ""
		for i := range n {
			key := fmt.Sprintf("%s:flood-%d@example.com", class, i)
			ok, _, err := l.Allow(t.Context(), key, r)
			if err != nil {
				t.Fatalf("Allow(%q) in the flood: %v", key, err)
			}
			if !ok {
				if refused++; first == "" {
					first = key
				}
			}
			if i == n/2 {
				c.Advance(time.Second) // not enough to refill anything
			}
		}
		if refused > 0 {
			t.Errorf("%d of %d fresh %s keys refused on their first call, the first %q: a flood of fresh keys locks new keys out", refused, n, class, first)
		}
	}
	for _, v := range victims {
		if ok, wait := allow(t, l, v, r); ok {
			t.Errorf("Allow(%q), drained before a flood of %d fresh keys = allowed; the flood gave it a fresh bucket", v, n)
		} else if wait <= 0 || wait > 6*time.Minute {
			t.Errorf("Allow(%q) after the flood: refused with wait %v, want (0, 6m]", v, wait)
		}
	}
	// The flood's buckets are a token short each and none has refilled:
	// a new key of each class still gets its whole burst.
	for _, class := range classes {
		wantAllowed(t, l, class+":new-during-the-flood@example.com", r, r.Burst)
	}
	// Once every bucket has refilled, new keys and victims are served in
	// full again.
	c.Advance(time.Hour)
	for _, class := range classes {
		wantAllowed(t, l, class+":after-the-flood@example.com", r, 1)
	}
	for _, v := range victims {
		wantAllowed(t, l, v, r, r.Burst)
		wantRefused(t, l, v, r, 6*time.Minute)
	}
}

// refund calls rf.Refund and reports an error.
func refund(t *testing.T, rf passkeys.Refunder, key string, r passkeys.Rate) {
	t.Helper()
	if err := rf.Refund(t.Context(), key, r); err != nil {
		t.Errorf("Refund(%q, %+v): %v", key, r, err)
	}
}

// allow calls l.Allow and stops the test on an error.
func allow(t *testing.T, l passkeys.Limiter, key string, r passkeys.Rate) (bool, time.Duration) {
	t.Helper()
	ok, wait, err := l.Allow(t.Context(), key, r)
	if err != nil {
		t.Fatalf("Allow(%q, %+v): %v", key, r, err)
	}
	return ok, wait
}

// wantAllowed reports a violation unless n calls on key are all allowed
// with no wait.
func wantAllowed(t *testing.T, l passkeys.Limiter, key string, r passkeys.Rate, n int) {
	t.Helper()
	for i := range n {
		if ok, wait := allow(t, l, key, r); !ok || wait != 0 {
			t.Errorf("Allow(%q) #%d = %t, %v; want allowed with no wait", key, i+1, ok, wait)
		}
	}
}

// wantRefused reports a violation unless a call on key is refused with
// this wait.
func wantRefused(t *testing.T, l passkeys.Limiter, key string, r passkeys.Rate, want time.Duration) {
	t.Helper()
	if ok, wait := allow(t, l, key, r); ok || wait != want {
		t.Errorf("Allow(%q) = %t, %v; want refused with wait %v", key, ok, wait, want)
	}
}

// allowedOf makes n concurrent calls on key, released at once, and returns
// how many were allowed.
func allowedOf(t *testing.T, l passkeys.Limiter, key string, r passkeys.Rate, n int) int {
	t.Helper()
	oks := make([]bool, n)
	errs := racetest.Race(n, func(i int) (err error) {
		oks[i], _, err = l.Allow(t.Context(), key, r)
		return err
	})
	allowed := 0
	for i, ok := range oks {
		if errs[i] != nil {
			t.Errorf("Allow #%d: %v", i, errs[i])
		}
		if ok {
			allowed++
		}
	}
	return allowed
}
