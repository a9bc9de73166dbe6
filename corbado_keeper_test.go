package passkeys_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/passkeyready/passkeys"
	"github.com/passkeyready/passkeys/selfhosted"
	"github.com/passkeyready/passkeys/selfhosted/memstore"
	"github.com/passkeyready/passkeys/selfhosted/pgstore"
	"github.com/passkeyready/passkeys/selfhosted/sqlitestore"
)

func TestCeremonyKeepers(t *testing.T) {
	for _, tc := range []struct {
		name string
		new  func(t *testing.T) passkeys.CeremonyKeeper
	}{
		{"MemoryKeeper", func(*testing.T) passkeys.CeremonyKeeper { return passkeys.NewMemoryKeeper(0) }},
		{"selfhosted.Keeper(memstore)", func(*testing.T) passkeys.CeremonyKeeper { return selfhosted.Keeper(memstore.New()) }},
		{"selfhosted.Keeper(sqlitestore)", func(t *testing.T) passkeys.CeremonyKeeper {
			s, err := sqlitestore.Open(filepath.Join(t.TempDir(), "keeper.db"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return selfhosted.Keeper(s)
		}},
		{"selfhosted.Keeper(pgstore)", pgKeeper},
	} {
		t.Run(tc.name, func(t *testing.T) { checkKeeper(t, tc.new) })
	}
}

// pgKeeper returns a keeper on a fresh schema of the PostgreSQL database
// named by PASSKEYS_TEST_POSTGRES_DSN, or skips the test.
func pgKeeper(t *testing.T) passkeys.CeremonyKeeper {
	dsn := os.Getenv("PASSKEYS_TEST_POSTGRES_DSN")
	if dsn == "" {
		t.Skip("PASSKEYS_TEST_POSTGRES_DSN is not set")
	}
	pool, err := pgxpool.New(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	schema := "keeper_test_" + rand.Text()[:12]
	t.Cleanup(func() {
		if _, err := pool.Exec(context.Background(), "DROP SCHEMA IF EXISTS "+pgx.Identifier{schema}.Sanitize()+" CASCADE"); err != nil {
			t.Errorf("drop test schema: %v", err)
		}
	})
	s, err := pgstore.New(t.Context(), pool, pgstore.WithSchema(schema))
	if err != nil {
		t.Fatal(err)
	}
	return selfhosted.Keeper(s)
}

// checkKeeper checks the CeremonyKeeper contract on fresh keepers.
func checkKeeper(t *testing.T, newKeeper func(*testing.T) passkeys.CeremonyKeeper) {
	ctx := context.Background()
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	later := now.Add(time.Minute)

	t.Run("RoundTripOnce", func(t *testing.T) {
		k := newKeeper(t)
		state := []byte{0, 1, 2, 0xff, '"'}
		if err := k.Add(ctx, "a", state, now, later); err != nil {
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
	t.Run("AddKeepsLiveEntry", func(t *testing.T) {
		k := newKeeper(t)
		if err := k.Add(ctx, "a", []byte("old"), now, later); err != nil {
			t.Fatal(err)
		}
		if err := k.Add(ctx, "a", []byte("new"), now, later.Add(time.Hour)); !errors.Is(err, passkeys.ErrKeeperExists) {
			t.Errorf("Add over a live entry: %v, want ErrKeeperExists", err)
		}
		if got, err := k.Take(ctx, "a", now); err != nil || string(got) != "old" {
			t.Errorf("Take = %q, %v; want the first entry", got, err)
		}
		if err := k.Add(ctx, "a", []byte("after"), now, later); err != nil {
			t.Errorf("Add after the Take: %v", err)
		}
	})
	t.Run("AddReplacesExpired", func(t *testing.T) {
		k := newKeeper(t)
		if err := k.Add(ctx, "a", []byte("old"), now, later); err != nil {
			t.Fatal(err)
		}
		if err := k.Add(ctx, "a", []byte("new"), later, later.Add(time.Minute)); err != nil {
			t.Fatalf("Add over an expired entry: %v", err)
		}
		if got, err := k.Take(ctx, "a", later); err != nil || string(got) != "new" {
			t.Errorf("Take = %q, %v; want the replacement", got, err)
		}
	})
	t.Run("Expiry", func(t *testing.T) {
		k := newKeeper(t)
		for _, key := range []string{"a", "b"} {
			if err := k.Add(ctx, key, []byte(key), now, later); err != nil {
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
		k := newKeeper(t)
		if err := k.Add(ctx, "a", []byte("x"), now, later); err != nil {
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
	// 1,600 Adds, eight at a time on one key, each round a second after
	// the last so that the entry of the round before has expired.
	t.Run("ConcurrentAdds", func(t *testing.T) {
		k := newKeeper(t)
		const rounds, racers = 200, 8
		for r := range rounds {
			at := now.Add(time.Duration(r) * time.Second)
			var wg sync.WaitGroup
			var mu sync.Mutex
			var won []int
			for i := range racers {
				wg.Go(func() {
					err := k.Add(ctx, "a", []byte{byte(i)}, at, at.Add(time.Second))
					switch {
					case err == nil:
						mu.Lock()
						won = append(won, i)
						mu.Unlock()
					case !errors.Is(err, passkeys.ErrKeeperExists):
						t.Errorf("round %d: Add: %v", r, err)
					}
				})
			}
			wg.Wait()
			if len(won) != 1 {
				t.Fatalf("round %d: %d of %d concurrent Adds succeeded, want 1", r, len(won), racers)
			}
			if r%2 == 1 {
				continue // leave this round's entry to expire
			}
			if got, err := k.Take(ctx, "a", at); err != nil || !bytes.Equal(got, []byte{byte(won[0])}) {
				t.Fatalf("round %d: Take = %v, %v; want the state of Add %d", r, got, err, won[0])
			}
		}
	})
	t.Run("CancelledContext", func(t *testing.T) {
		k := newKeeper(t)
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if err := k.Add(cctx, "a", []byte("x"), now, later); err == nil || errors.Is(err, passkeys.ErrKeeperExists) {
			t.Errorf("Add with a cancelled context: %v, want the context's error", err)
		}
		if _, err := k.Take(cctx, "a", now); err == nil || errors.Is(err, passkeys.ErrKeeperMiss) {
			t.Errorf("Take with a cancelled context: %v, want the context's error", err)
		}
		if err := k.Add(ctx, "a", []byte("x"), now, later); err != nil {
			t.Errorf("Add after the cancelled one: %v", err)
		}
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
