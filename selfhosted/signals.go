package selfhosted

import (
	"context"

	"github.com/go-webauthn/webauthn/protocol"

	"github.com/passkeyready/passkeys"
)

var _ passkeys.SignalBackend = (*Engine)(nil)

// Signals implements [passkeys.SignalBackend]: the user handle, the IDs
// of every passkey of the account and its WebAuthn name and display name
// (its email, as in the creation options), on the engine's RP ID.
func (e *Engine) Signals(ctx context.Context, u passkeys.User) (passkeys.Signals, error) {
	wu, err := e.sessionUser(ctx, u)
	if err != nil {
		return passkeys.Signals{}, err
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
