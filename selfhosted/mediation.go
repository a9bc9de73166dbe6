package selfhosted

import (
	"bytes"
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
	challenge, handle := parsed.Response.CollectedClientData.Challenge, parsed.Response.UserHandle
	session, pre, preloaded, err := e.takeMediation(ctx, challenge, handle)
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
	_, cred, err := e.wa.ValidatePasskeyLogin(func(_, h []byte) (webauthn.User, error) {
		var (
			u   *waUser
			err error
		)
		switch {
		case preloaded && bytes.Equal(h, handle) && pre == nil:
			err = ErrNotFound
		case preloaded && bytes.Equal(h, handle):
			u = pre
		default:
			u, err = e.loadUser(ctx, UserKey{Handle: h})
		}
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

// takeMediation takes an autofill login's ceremony and, when the store is
// a [CeremonyWithHandleUserStore] and the response names a user handle,
// reads the user of that handle in the same round trip: preloaded is then
// true and wu that user, nil when no user has the handle. Otherwise the
// user is left for go-webauthn's handler to load.
func (e *Engine) takeMediation(ctx context.Context, challenge string, handle []byte) (s webauthn.SessionData, wu *waUser, preloaded bool, err error) {
	ts, ok := e.cfg.Store.(CeremonyWithHandleUserStore)
	if !ok || challenge == "" || len(handle) == 0 {
		_, s, err = e.takeCeremony(ctx, challenge, CeremonyMediation)
		return s, nil, false, err
	}
	c, rec, recs, err := ts.TakeCeremonyWithHandleUser(ctx, challenge, handle, e.now())
	if _, s, err = e.checkCeremony(c, err, CeremonyMediation); err != nil || rec.ID == "" {
		return s, nil, err == nil, err
	}
	wu, err = newWAUser(rec, recs)
	return s, wu, err == nil, err
}
