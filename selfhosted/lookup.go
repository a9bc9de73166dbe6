package selfhosted

import (
	"context"
	"errors"

	"github.com/passkeyready/passkeys"
)

var _ passkeys.UserLookup = (*Engine)(nil)

// LookupUser implements [passkeys.UserLookup]: the demo JWT sessions ask
// it on every request that needs a session, so that a token whose account
// was deleted is refused. It reads one user row with
// [UserByIDStore.UserByID] when the store has it (all three stores of
// this module do), and otherwise the user and its credentials with
// UserWithCredentials. An account that does not exist is
// [passkeys.ErrUnauthorized]; a store error is returned as it is.
func (e *Engine) LookupUser(ctx context.Context, id string) (passkeys.User, error) {
	if id == "" {
		return passkeys.User{}, passkeys.ErrUnauthorized.With("The account of this session no longer exists.", errors.New("empty user id"))
	}
	var (
		rec UserRecord
		err error
	)
	if s, ok := e.cfg.Store.(UserByIDStore); ok {
		rec, err = s.UserByID(ctx, id)
	} else {
		rec, _, err = e.cfg.Store.UserWithCredentials(ctx, UserKey{ID: id})
	}
	switch {
	case errors.Is(err, ErrNotFound):
		return passkeys.User{}, passkeys.ErrUnauthorized.With("The account of this session no longer exists.", err)
	case err != nil:
		return passkeys.User{}, err
	}
	return passkeys.User{ID: rec.ID, Email: rec.Email}, nil
}
