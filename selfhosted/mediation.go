package selfhosted

import (
	"context"
	"encoding/json"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/passkeyready/passkeys"
)

// StartMediation implements [passkeys.Backend].
func (e *Engine) StartMediation(ctx context.Context, _ passkeys.Client) (passkeys.LoginStart, error) {
	assertion, session, err := e.wa.BeginDiscoverableMediatedLogin(protocol.MediationConditional)
	if err != nil {
		return passkeys.LoginStart{}, err
	}
	return e.loginStarted(ctx, CeremonyMediation, "", assertion, session)
}

// FinishMediation implements [passkeys.Backend]. The user is the one whose
// handle the authenticator returned, and the credential must be theirs.
func (e *Engine) FinishMediation(ctx context.Context, response json.RawMessage, _ passkeys.Client) (passkeys.User, error) {
	parsed, err := protocol.ParseCredentialRequestResponseBytes(response)
	if err != nil {
		return passkeys.User{}, verificationFailed(err)
	}
	_, session, err := e.takeCeremony(ctx, parsed.Response.CollectedClientData.Challenge, CeremonyMediation)
	if err != nil {
		return passkeys.User{}, err
	}
	if err := e.origins.checkOrigin(parsed.Raw.AssertionResponse.ClientDataJSON); err != nil {
		return passkeys.User{}, err
	}
	var wu *waUser
	_, cred, err := e.wa.ValidatePasskeyLogin(func(_, handle []byte) (webauthn.User, error) {
		u, err := e.loadUser(ctx, UserKey{Handle: handle})
		if err != nil {
			return nil, err
		}
		wu = u
		return u, nil
	}, session, parsed)
	if err != nil {
		return passkeys.User{}, verificationFailed(err)
	}
	return e.loggedIn(ctx, wu, cred, parsed)
}
