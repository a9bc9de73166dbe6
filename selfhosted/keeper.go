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
// Each key is a row of the ceremonies table, with the state as its
// session data.
func Keeper(s CeremonyStore) passkeys.CeremonyKeeper { return keeper{s} }

type keeper struct{ s CeremonyStore }

// Keep implements [passkeys.CeremonyKeeper]. A ceremony store never
// overwrites, so a key already in use is taken first and written again.
func (k keeper) Keep(ctx context.Context, key string, state []byte, now, expires time.Time) error {
	c := Ceremony{Challenge: key, Kind: keptKind, Session: state, ExpiresAt: expires}
	err := k.s.PutCeremony(ctx, c, now)
	if !errors.Is(err, ErrDuplicate) {
		return err
	}
	if _, err := k.s.TakeCeremony(ctx, key, time.Time{}); err != nil && !errors.Is(err, ErrNotFound) {
		return err
	}
	return k.s.PutCeremony(ctx, c, now)
}

// Take implements [passkeys.CeremonyKeeper].
func (k keeper) Take(ctx context.Context, key string, now time.Time) ([]byte, error) {
	c, err := k.s.TakeCeremony(ctx, key, now)
	if errors.Is(err, ErrNotFound) {
		return nil, passkeys.ErrKeeperMiss
	}
	if err != nil {
		return nil, err
	}
	return c.Session, nil
}
