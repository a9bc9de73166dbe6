// Package keepertest is the conformance suite for [passkeys.CeremonyKeeper]
// implementations. A keeper conforms when
//
//	func TestKeeper(t *testing.T) {
//		keepertest.Run(t, func(t *testing.T) passkeys.CeremonyKeeper { return mykeeper.New() })
//	}
//
// passes. Run calls newKeeper once per subtest; each call must return an
// empty keeper that no other subtest sees. newKeeper may register
// clean-up with t.Cleanup and stop the test with t.Fatal.
//
// Expiry is driven by the times the suite passes to Add and Take, never by
// sleeping. Those times lie in 2030 and are UTC at whole microseconds, the
// precision a database keeps. Every violation is reported with t.Errorf.
//
// The package imports only the standard library and the passkeys root
// package, so a keeper's tests stay light.
package keepertest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/passkeyready/passkeys"
	"github.com/passkeyready/passkeys/internal/racetest"
)

// Run runs the conformance suite against the keepers newKeeper returns.
func Run(t *testing.T, newKeeper func(t *testing.T) passkeys.CeremonyKeeper) {
	ctx := context.Background()
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	later := now.Add(time.Minute)

	// add adds state under key and stops the subtest when it cannot: what
	// follows would check nothing.
	add := func(t *testing.T, k passkeys.CeremonyKeeper, key string, state []byte, now, expires time.Time) {
		t.Helper()
		if err := k.Add(ctx, key, state, now, expires); err != nil {
			t.Fatalf("setup: Add(%q): %v", key, err)
		}
	}
	// wantState reports a violation unless Take(key) at now returns want.
	wantState := func(t *testing.T, k passkeys.CeremonyKeeper, key string, now time.Time, want []byte, why string) {
		t.Helper()
		got, err := k.Take(ctx, key, now)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("Take(%q) %s = %q, %v; want %q", key, why, got, err, want)
		}
	}
	// wantMiss reports a violation unless Take(key) at now misses.
	wantMiss := func(t *testing.T, k passkeys.CeremonyKeeper, key string, now time.Time, why string) {
		t.Helper()
		if got, err := k.Take(ctx, key, now); !errors.Is(err, passkeys.ErrKeeperMiss) {
			t.Errorf("Take(%q) %s = %q, %v; want ErrKeeperMiss", key, why, got, err)
		}
	}

	t.Run("RoundTripOnce", func(t *testing.T) {
		k := newKeeper(t)
		state := []byte{0, 1, 2, 0xff, '"', 0}
		add(t, k, "a", state, now, later)
		state[0] = 9 // the keeper holds its own copy
		wantState(t, k, "a", now, []byte{0, 1, 2, 0xff, '"', 0}, "after the caller changed its slice")
		wantMiss(t, k, "a", now, "a second time")
		wantMiss(t, k, "never", now, "of an unknown key")
	})

	t.Run("LargeState", func(t *testing.T) {
		k := newKeeper(t)
		state := bytes.Repeat([]byte{0, 0x80, 0xff, 'x'}, 4096) // 16 KiB
		add(t, k, "a", state, now, later)
		wantState(t, k, "a", now, state, "of 16 KiB")
	})

	t.Run("KeysAreOpaque", func(t *testing.T) {
		k := newKeeper(t)
		keys := []string{
			"a", "A", "a ", " a", "a:b", "otp:user@example.com", "ceremony:pro-123",
			"schlüssel 🔑", "a%", "a_", `a'"\`, strings.Repeat("k", 300),
		}
		for i, key := range keys {
			add(t, k, key, []byte(fmt.Sprint(i)), now, later)
		}
		for i, key := range keys {
			wantState(t, k, key, now, []byte(fmt.Sprint(i)), "among keys that differ in case, space or punctuation")
		}
	})

	t.Run("AddKeepsLiveEntry", func(t *testing.T) {
		k := newKeeper(t)
		add(t, k, "a", []byte("old"), now, later)
		for _, at := range []time.Time{now, later.Add(-time.Microsecond)} {
			if err := k.Add(ctx, "a", []byte("new"), at, later.Add(time.Hour)); !errors.Is(err, passkeys.ErrKeeperExists) {
				t.Errorf("Add over a live entry at %s: %v, want ErrKeeperExists", at.Format(time.RFC3339Nano), err)
			}
		}
		wantState(t, k, "a", now, []byte("old"), "after a refused Add")
		if err := k.Add(ctx, "a", []byte("after"), now, later); err != nil {
			t.Errorf("Add after the Take: %v", err)
		}
		wantState(t, k, "a", now, []byte("after"), "of the Add after the Take")
	})

	t.Run("AddReplacesExpired", func(t *testing.T) {
		k := newKeeper(t)
		add(t, k, "a", []byte("old"), now, later)
		if err := k.Add(ctx, "a", []byte("new"), later, later.Add(time.Minute)); err != nil {
			t.Errorf("Add over an expired entry: %v", err)
		}
		wantState(t, k, "a", later, []byte("new"), "after the replacement")
	})

	t.Run("Expiry", func(t *testing.T) {
		k := newKeeper(t)
		for _, key := range []string{"a", "b"} {
			add(t, k, key, []byte(key), now, later)
		}
		wantState(t, k, "b", later.Add(-time.Microsecond), []byte("b"), "just before the expiry")
		wantMiss(t, k, "a", later, "at the expiry")
	})

	t.Run("TakeLeavesOtherKeys", func(t *testing.T) {
		k := newKeeper(t)
		add(t, k, "a", []byte("a"), now, later)
		add(t, k, "b", []byte("b"), now, later.Add(time.Hour))
		wantState(t, k, "a", now, []byte("a"), "before b's expiry")
		wantMiss(t, k, "b", later.Add(time.Hour), "at b's expiry")
		add(t, k, "c", []byte("c"), now, later)
		wantMiss(t, k, "c", later, "at c's expiry")
	})

	t.Run("ConcurrentTakes", func(t *testing.T) {
		k := newKeeper(t)
		add(t, k, "a", []byte("x"), now, later)
		errs := racetest.Race(20, func(int) error {
			got, err := k.Take(ctx, "a", now)
			if err == nil && string(got) != "x" {
				return fmt.Errorf("got %q, want %q", got, "x")
			}
			return err
		})
		racetest.Tally(t, "Take", errs, 1, passkeys.ErrKeeperMiss)
	})

	// 1,600 Adds, eight at a time on one key, each round a second after
	// the last so that the entry of the round before has expired.
	t.Run("ConcurrentAdds", func(t *testing.T) {
		k := newKeeper(t)
		const rounds, racers = 200, 8
		for r := range rounds {
			at := now.Add(time.Duration(r) * time.Second)
			errs := racetest.Race(racers, func(i int) error {
				return k.Add(ctx, "a", []byte{byte(i)}, at, at.Add(time.Second))
			})
			if !racetest.Tally(t, fmt.Sprintf("round %d: Add", r), errs, 1, passkeys.ErrKeeperExists) {
				return
			}
			if r%2 == 1 {
				continue // leave this round's entry to expire
			}
			w := winner(errs)
			if got, err := k.Take(ctx, "a", at); err != nil || !bytes.Equal(got, []byte{byte(w)}) {
				t.Errorf("round %d: Take = %v, %v; want the state of the winning Add %d", r, got, err, w)
				return
			}
		}
	})

	t.Run("ConcurrentDistinctKeys", func(t *testing.T) {
		k := newKeeper(t)
		errs := racetest.Race(20, func(i int) error {
			return k.Add(ctx, fmt.Sprint("key-", i), []byte{byte(i)}, now, later)
		})
		racetest.Tally(t, "Add(distinct keys)", errs, len(errs), nil)
		for i := range errs {
			wantState(t, k, fmt.Sprint("key-", i), now, []byte{byte(i)}, "after concurrent Adds of distinct keys")
		}
	})

	t.Run("CancelledContext", func(t *testing.T) {
		k := newKeeper(t)
		add(t, k, "kept", []byte("x"), now, later)
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if err := k.Add(cctx, "a", []byte("x"), now, later); err == nil || errors.Is(err, passkeys.ErrKeeperExists) {
			t.Errorf("Add with a cancelled context: %v, want the context's error", err)
		}
		if _, err := k.Take(cctx, "kept", now); err == nil || errors.Is(err, passkeys.ErrKeeperMiss) {
			t.Errorf("Take with a cancelled context: %v, want the context's error", err)
		}
		if err := k.Add(ctx, "a", []byte("x"), now, later); err != nil {
			t.Errorf("Add after the cancelled one: %v", err)
		}
		wantState(t, k, "kept", now, []byte("x"), "after a cancelled Take")
	})
}

// winner returns the index of the first nil error, or -1.
func winner(errs []error) int {
	for i, err := range errs {
		if err == nil {
			return i
		}
	}
	return -1
}
