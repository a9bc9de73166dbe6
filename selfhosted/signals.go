package selfhosted

import (
	"context"

	"github.com/go-webauthn/webauthn/protocol"

	"github.com/passkeyready/passkeys"
	"github.com/passkeyready/passkeys/internal/loginmemo"
)

var _ passkeys.SignalBackend = (*Engine)(nil)

// Signals implements [passkeys.SignalBackend]: the user handle, the IDs
// of every passkey of the account and its WebAuthn name and display name
// (its email, as in the creation options), on the engine's RP ID.
func (e *Engine) Signals(ctx context.Context, u passkeys.User) (passkeys.Signals, error) {
	// Right after a login the handler asks for the account the login
	// read; the set of its passkeys is the one the login checked.
	wu, ok := loginmemoUser(ctx, u.ID)
	if !ok {
		var err error
		if wu, err = e.sessionUser(ctx, u); err != nil {
			return passkeys.Signals{}, err
		}
	}
	accepted := protocol.NewSignalAllAcceptedCredentials(e.cfg.RPID, wu)
	details := protocol.NewSignalCurrentUserDetails(e.cfg.RPID, wu)
	ids := make([]string, 0, len(accepted.AllAcceptedCredentialIDs))
	for _, id := range accepted.AllAcceptedCredentialIDs {
		ids = append(ids, b64.EncodeToString(id))
	}
	return passkeys.Signals{
		AllAcceptedCredentials: &passkeys.AllAcceptedCredentials{
			RPID: accepted.RPID, UserID: b64.EncodeToString(accepted.UserID), AllAcceptedCredentialIDs: ids,
		},
		CurrentUserDetails: &passkeys.CurrentUserDetails{
			RPID: details.RPID, UserID: b64.EncodeToString(details.UserID), Name: details.Name, DisplayName: details.DisplayName,
		},
	}, nil
}

// WebAuthnCredentialIDs returns the IDs of the user's passkeys, for
// go-webauthn's signal constructors.
func (u *waUser) WebAuthnCredentialIDs() [][]byte {
	ids := make([][]byte, 0, len(u.recs))
	for _, r := range u.recs {
		ids = append(ids, r.ID)
	}
	return ids
}

// loginmemoUser is the account a login finish of this request read for
// userID, if any ([loginmemo]).
func loginmemoUser(ctx context.Context, userID string) (*waUser, bool) {
	v, ok := loginmemo.Take(ctx, userID)
	if !ok {
		return nil, false
	}
	wu, ok := v.(*waUser)
	return wu, ok
}
