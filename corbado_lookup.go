package passkeys

import (
	"context"
	"errors"
	"strings"
	"sync"

	"github.com/passkeyready/passkeys/internal/corbadoapi"
	"github.com/passkeyready/passkeys/internal/mailaddr"
)

var _ UserLookup = (*Corbado)(nil)

// LookupUser implements [UserLookup]; the demo JWT sessions call it on
// every request that needs a session. It costs two Backend API calls,
// sent at once, so one round trip to Corbado: UserGet (the user must
// exist and be active) and IdentifierList filtered by the user's ID (its
// email identifier gives the email). A user Corbado says does not exist,
// or that has no email identifier left, is [ErrUnauthorized], and so is a
// user that is not active.
func (c *Corbado) LookupUser(ctx context.Context, id string) (User, error) {
	if id == "" {
		return User{}, errAccountGone.With("", errors.New("empty user id"))
	}
	var (
		wg    sync.WaitGroup
		ids   corbadoapi.IdentifierList
		idErr error
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		ids, idErr = call(c.api.IdentifierList(ctx, corbadoapi.ListParams{
			Filter: []string{"userID:eq:" + id, "identifierType:eq:email"}, PageSize: 1,
		}))
	}()
	userErr := c.activeUser(ctx, id)
	wg.Wait()
	if userErr != nil {
		return User{}, userErr
	}
	if idErr != nil {
		return User{}, c.gone(idErr, "userID")
	}
	for _, i := range ids.Identifiers {
		if i.Type == "email" && i.UserID == id && i.Value != "" {
			return User{ID: id, Email: corbadoEmail(i.Value)}, nil
		}
	}
	return User{}, errAccountGone.With("", errors.New("corbado lists no email identifier for the user"))
}

// corbadoEmail is the canonical form of an email Corbado holds, or, for
// one stored before the email policy that the policy refuses, the value
// trimmed and lower-cased, as it was stored.
func corbadoEmail(s string) string {
	if e, err := mailaddr.Canonical(s); err == nil {
		return e
	}
	return strings.ToLower(strings.TrimSpace(s))
}
