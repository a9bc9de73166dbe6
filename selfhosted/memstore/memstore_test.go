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
