package corbadotest

import "net/http"

// identifierDelete removes a login identifier of a user, as Corbado's
// IdentifierDelete does: an unknown user is "userID: does not exist", an
// identifier that is not this user's "identifierID: does not exist".
func (e *Emulator) identifierDelete(userID, id string) (any, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, ok := e.users[userID]; !ok {
		return nil, doesNotExist("userID")
	}
	i, ok := e.identifiers[id]
	if !ok || i.UserID != userID {
		return nil, doesNotExist("identifierID")
	}
	delete(e.identifiers, id)
	return e.generic(http.StatusOK), nil
}
