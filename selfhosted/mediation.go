package selfhosted

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/passkeyready/passkeys"
)

// StartMediation implements [passkeys.Backend]. Its options carry no
// hints: autofill shows no dialog for them to guide.
func (e *Engine) StartMediation(ctx context.Context, _ passkeys.Client) (passkeys.LoginStart, error) {
	assertion, session, err := e.wa.BeginDiscoverableMediatedLogin(protocol.MediationConditional)
	if err != nil {
		return passkeys.LoginStart{}, err
	}
	return e.loginStarted(ctx, CeremonyMediation, "", assertion, session)
}

// FinishMediation implements [passkeys.Backend]. The user is the one whose
// handle the authenticator returned, and the credential must be theirs. A
// credential no account owns is [passkeys.ErrUnknownCredential].
func (e *Engine) FinishMediation(ctx context.Context, response json.RawMessage, _ passkeys.Client) (_ passkeys.User, err error) {
	defer restartOnOutage(&err, restartCeremony)
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
	var (
		wu      *waUser
		loadErr error // the store's answer, which go-webauthn would make a bad request
	)
	_, cred, err := e.wa.ValidatePasskeyLogin(func(_, handle []byte) (webauthn.User, error) {
		u, err := e.loadUser(ctx, UserKey{Handle: handle})
		if err != nil {
			loadErr = err
			return nil, err
		}
		wu = u
		return u, nil
	}, session, parsed)
	if loadErr != nil && !errors.Is(loadErr, ErrNotFound) {
		return passkeys.User{}, loadErr // a store failure, not the passkey's
	}
	if err != nil {
		if _, owned := wu.recordOf(parsed.RawID); !owned {
			return passkeys.User{}, e.unknownOr(ctx, parsed.RawID, err)
		}
		return passkeys.User{}, verificationFailed(err)
	}
	return e.loggedIn(ctx, wu, cred, parsed)
}
