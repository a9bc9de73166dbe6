package passkeys_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/passkeyready/passkeys"
	"github.com/passkeyready/passkeys/selfhosted"
	"github.com/passkeyready/passkeys/selfhosted/memstore"
	"github.com/passkeyready/passkeys/selfhosted/sqlitestore"
)

func TestCeremonyKeepers(t *testing.T) {
	for _, tc := range []struct {
		name string
		new  func() passkeys.CeremonyKeeper
	}{
		{"MemoryKeeper", func() passkeys.CeremonyKeeper { return passkeys.NewMemoryKeeper(0) }},
		{"selfhosted.Keeper(memstore)", func() passkeys.CeremonyKeeper { return selfhosted.Keeper(memstore.New()) }},
		{"selfhosted.Keeper(sqlitestore)", func() passkeys.CeremonyKeeper {
			s, err := sqlitestore.Open(filepath.Join(t.TempDir(), "keeper.db"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return selfhosted.Keeper(s)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) { checkKeeper(t, tc.new) })
	}
}

// checkKeeper checks the CeremonyKeeper contract on fresh keepers.
func checkKeeper(t *testing.T, newKeeper func() passkeys.CeremonyKeeper) {
	ctx := context.Background()
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	later := now.Add(time.Minute)

	t.Run("RoundTripOnce", func(t *testing.T) {
		k := newKeeper()
		state := []byte{0, 1, 2, 0xff, '"'}
		if err := k.Keep(ctx, "a", state, now, later); err != nil {
			t.Fatal(err)
		}
		state[0] = 9 // the keeper holds its own copy
		got, err := k.Take(ctx, "a", now)
		if err != nil || !bytes.Equal(got, []byte{0, 1, 2, 0xff, '"'}) {
			t.Errorf("Take = %v, %v", got, err)
		}
		if _, err := k.Take(ctx, "a", now); !errors.Is(err, passkeys.ErrKeeperMiss) {
			t.Errorf("second Take: %v, want ErrKeeperMiss", err)
		}
		if _, err := k.Take(ctx, "never", now); !errors.Is(err, passkeys.ErrKeeperMiss) {
			t.Errorf("Take of an unknown key: %v, want ErrKeeperMiss", err)
		}
	})
	t.Run("Replace", func(t *testing.T) {
		k := newKeeper()
		for _, s := range []string{"old", "new"} {
			if err := k.Keep(ctx, "a", []byte(s), now, later); err != nil {
				t.Fatal(err)
			}
		}
		if got, err := k.Take(ctx, "a", now); err != nil || string(got) != "new" {
			t.Errorf("Take = %q, %v; want the replacement", got, err)
		}
	})
	t.Run("Expiry", func(t *testing.T) {
		k := newKeeper()
		for _, key := range []string{"a", "b"} {
			if err := k.Keep(ctx, key, []byte(key), now, later); err != nil {
				t.Fatal(err)
			}
		}
		if got, err := k.Take(ctx, "b", later.Add(-time.Microsecond)); err != nil || string(got) != "b" {
			t.Errorf("Take just before the expiry = %q, %v", got, err)
		}
		if _, err := k.Take(ctx, "a", later); !errors.Is(err, passkeys.ErrKeeperMiss) {
			t.Errorf("Take at the expiry: %v, want ErrKeeperMiss", err)
		}
	})
	t.Run("ConcurrentTakes", func(t *testing.T) {
		k := newKeeper()
		if err := k.Keep(ctx, "a", []byte("x"), now, later); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		won := 0
		for range 20 {
			wg.Go(func() {
				_, err := k.Take(ctx, "a", now)
				switch {
				case err == nil:
					mu.Lock()
					won++
					mu.Unlock()
				case !errors.Is(err, passkeys.ErrKeeperMiss):
					t.Errorf("Take: %v", err)
				}
			})
		}
		wg.Wait()
		if won != 1 {
			t.Errorf("%d of 20 concurrent Takes got the state, want 1", won)
		}
	})
	t.Run("CancelledContext", func(t *testing.T) {
		k := newKeeper()
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if err := k.Keep(cctx, "a", []byte("x"), now, later); err == nil {
			t.Error("Keep with a cancelled context succeeded")
		}
		if _, err := k.Take(cctx, "a", now); err == nil || errors.Is(err, passkeys.ErrKeeperMiss) {
			t.Errorf("Take with a cancelled context: %v, want the context's error", err)
		}
	})
}

func TestMemoryKeeperBounded(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	k := passkeys.NewMemoryKeeper(3)
	for i := range 4 {
		if err := k.Keep(ctx, fmt.Sprint(i), []byte{byte(i)}, now, now.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := k.Take(ctx, "0", now); !errors.Is(err, passkeys.ErrKeeperMiss) {
		t.Errorf("the oldest entry survived a full keeper: %v", err)
	}
	for _, key := range []string{"1", "2", "3"} {
		if _, err := k.Take(ctx, key, now); err != nil {
			t.Errorf("Take(%s): %v", key, err)
		}
	}
	// Expired entries make room before live ones are dropped.
	k = passkeys.NewMemoryKeeper(2)
	_ = k.Keep(ctx, "short", []byte("s"), now, now.Add(time.Second))
	_ = k.Keep(ctx, "long", []byte("l"), now, now.Add(time.Hour))
	_ = k.Keep(ctx, "new", []byte("n"), now.Add(time.Minute), now.Add(time.Hour))
	for _, key := range []string{"long", "new"} {
		if _, err := k.Take(ctx, key, now.Add(time.Minute)); err != nil {
			t.Errorf("Take(%s) after an expired entry made room: %v", key, err)
		}
	}
}
