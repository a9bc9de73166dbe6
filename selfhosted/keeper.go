package selfhosted

import (
	"context"
	"errors"
	"time"

	"github.com/passkeyready/passkeys"
)

// keptKind marks the ceremony rows written through [Keeper].
const keptKind CeremonyKind = "kept"

// Keeper adapts a ceremony store to [passkeys.CeremonyKeeper], so that
// several instances running the Corbado backend
// (passkeys.CorbadoOptions.Ceremonies) share their pending ceremonies and
// one-time-code state through the engine's SQLite or PostgreSQL database.
// Each key is a ceremony row with the state as its session data; the
// store's PutCeremony already adds only where no live row is, and replaces
// an expired one atomically. The keeper is as safe for concurrent use as
// the store, which must be.
func Keeper(s CeremonyStore) passkeys.CeremonyKeeper { return keeper{s} }

type keeper struct{ s CeremonyStore }

var _ passkeys.CeremonyKeeper = keeper{}

// Add implements [passkeys.CeremonyKeeper].
func (k keeper) Add(ctx context.Context, key string, state []byte, now, expires time.Time) error {
	err := k.s.PutCeremony(ctx, Ceremony{Challenge: "kept:" + key, Kind: keptKind, Session: state, ExpiresAt: expires}, now)
	if errors.Is(err, ErrDuplicate) {
		return passkeys.ErrKeeperExists
	}
	return err
}

// Take implements [passkeys.CeremonyKeeper].
func (k keeper) Take(ctx context.Context, key string, now time.Time) ([]byte, error) {
	c, err := k.s.TakeCeremony(ctx, "kept:"+key, now)
	if errors.Is(err, ErrNotFound) {
		return nil, passkeys.ErrKeeperMiss
	}
	if err != nil {
		return nil, err
	}
	return c.Session, nil
}
