package selfhosted

import (
	"context"
	"errors"
	"slices"

	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/passkeyready/passkeys"
)

// waUser adapts a stored user and its credentials to go-webauthn.
type waUser struct {
	rec   UserRecord
	creds []webauthn.Credential
	recs  []CredentialRecord
}

func (u *waUser) WebAuthnID() []byte                         { return u.rec.Handle }
func (u *waUser) WebAuthnName() string                       { return u.rec.Email }
func (u *waUser) WebAuthnDisplayName() string                { return u.rec.Email }
func (u *waUser) WebAuthnCredentials() []webauthn.Credential { return u.creds }

func (u *waUser) public() passkeys.User { return passkeys.User{ID: u.rec.ID, Email: u.rec.Email} }

// loadUser reads the user k selects and their credentials, with the
// counters and backup state of the store's columns laid over the stored
// records. It returns ErrNotFound when there is no such user.
func (e *Engine) loadUser(ctx context.Context, k UserKey) (*waUser, error) {
	rec, recs, err := e.cfg.Store.UserWithCredentials(ctx, k)
	if err != nil {
		return nil, err
	}
	return newWAUser(rec, recs)
}

// newWAUser decodes the credentials of a user the store returned.
func newWAUser(rec UserRecord, recs []CredentialRecord) (*waUser, error) {
	u := &waUser{rec: rec, recs: recs, creds: make([]webauthn.Credential, 0, len(recs))}
	for _, r := range recs {
		c, err := decodeCredential(r)
		if err != nil {
			return nil, err
		}
		u.creds = append(u.creds, c)
	}
	return u, nil
}

func (u *waUser) record(id []byte) (CredentialRecord, bool) {
	for _, r := range u.recs {
		if string(r.ID) == string(id) {
			return r, true
		}
	}
	return CredentialRecord{}, false
}

// recordOf is record on a user that may be nil (none was found).
func (u *waUser) recordOf(id []byte) (CredentialRecord, bool) {
	if u == nil {
		return CredentialRecord{}, false
	}
	return u.record(id)
}

// sessionUser loads the account behind a session. A session whose account
// no longer exists is unauthorized.
func (e *Engine) sessionUser(ctx context.Context, u passkeys.User) (*waUser, error) {
	wu, err := e.loadUser(ctx, UserKey{ID: u.ID})
	if errors.Is(err, ErrNotFound) {
		return nil, passkeys.ErrUnauthorized.With("The account of this session no longer exists.", err)
	}
	return wu, err
}

// stillAllowed returns the credentials of a button login's allow list
// (allowed, fixed at start) that the user still has, so that deleting one
// passkey does not break a login in flight that finishes with another:
// go-webauthn refuses a login whose allow list names a credential the user
// no longer owns. The response's credential id must have been on the list
// and must still be the user's; otherwise stillAllowed fails. An empty
// list (a discoverable login) is returned as it is.
func (u *waUser) stillAllowed(allowed [][]byte, id []byte) ([][]byte, error) {
	if len(allowed) == 0 {
		return allowed, nil
	}
	if !slices.ContainsFunc(allowed, func(a []byte) bool { return string(a) == string(id) }) {
		return nil, errors.New("the credential was not in the login's allow list")
	}
	if _, ok := u.record(id); !ok {
		return nil, errors.New("the credential was deleted after the login started")
	}
	kept := make([][]byte, 0, len(allowed))
	for _, a := range allowed {
		if _, ok := u.record(a); ok {
			kept = append(kept, a)
		}
	}
	return kept, nil
}
