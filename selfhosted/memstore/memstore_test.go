package memstore

import (
	"testing"

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
