package corbadotest

import (
	"context"
	"errors"
	"net/http"

	"github.com/passkeyready/passkeys/selfhosted"
)

// identifierDelete removes a login identifier of a user, as Corbado's
// IdentifierDelete does: an unknown user is "userID: does not exist", an
// identifier that is not this user's "identifierID: does not exist".
func (e *Emulator) identifierDelete(userID, id string) (any, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, err := e.userIdentifier(userID, id); err != nil {
		return nil, err
	}
	delete(e.identifiers, id)
	return e.generic(http.StatusOK), nil
}

// userDeleteAll deletes a user as Corbado's UserDelete does, with their
// identifiers, and frees the username their passkeys were made with, so
// that the address can sign up anew and add passkeys to the new account.
// The engine keeps the old passkeys under the deleted user ID, so that a
// ceremony with one of them ends in "userID: does not exist".
func (e *Emulator) userDeleteAll(ctx context.Context, id string) (any, error) {
	rsp, err := e.userDelete(id)
	if err != nil {
		return nil, err
	}
	err = e.store.UpdateUserEmail(ctx, id, "deleted+"+id+"@corbado-emulator.invalid")
	if err != nil && !errors.Is(err, selfhosted.ErrNotFound) {
		return nil, err
	}
	return rsp, nil
}
