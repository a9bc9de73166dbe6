package selfhosted

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/protocol/webauthncose"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/passkeyready/passkeys"
	"github.com/passkeyready/passkeys/internal/useragent"
)

// credentialParameters: ES256 first (every platform authenticator), then
// EdDSA and RS256 (Windows Hello).
var credentialParameters = []protocol.CredentialParameter{
	{Type: protocol.PublicKeyCredentialType, Algorithm: webauthncose.AlgES256},
	{Type: protocol.PublicKeyCredentialType, Algorithm: webauthncose.AlgEdDSA},
	{Type: protocol.PublicKeyCredentialType, Algorithm: webauthncose.AlgRS256},
}

// StartAppend implements [passkeys.Backend]. The options exclude the
// user's existing passkeys and require a discoverable credential. A user
// the host's SessionVerifier vouches for but the engine has never seen
// gets the engine's record first (see "Bring your own users" in [Config]).
func (e *Engine) StartAppend(ctx context.Context, u passkeys.User, _ passkeys.Client) (passkeys.AppendStart, error) {
	wu, err := e.hostUser(ctx, u)
	if err != nil {
		return passkeys.AppendStart{}, err
	}
	creation, session, err := e.wa.BeginRegistration(wu,
		webauthn.WithExclusions(webauthn.Credentials(wu.creds).CredentialDescriptors()),
		webauthn.WithCredentialParameters(credentialParameters),
	)
	if err != nil {
		return passkeys.AppendStart{}, err
	}
	if err := e.putCeremony(ctx, CeremonyAppend, wu.rec.ID, session); err != nil {
		return passkeys.AppendStart{}, err
	}
	opts, err := json.Marshal(creation)
	return passkeys.AppendStart{Allow: true, Options: opts}, err
}

// FinishAppend implements [passkeys.Backend].
func (e *Engine) FinishAppend(ctx context.Context, u passkeys.User, response json.RawMessage, c passkeys.Client) (_ passkeys.Passkey, err error) {
	defer restartOnOutage(&err, restartCeremony)
	parsed, err := protocol.ParseCredentialCreationResponseBytes(response)
	if err != nil {
		return passkeys.Passkey{}, verificationFailed(err)
	}
	cer, session, err := e.takeCeremony(ctx, parsed.Response.CollectedClientData.Challenge, CeremonyAppend)
	if err != nil {
		return passkeys.Passkey{}, err
	}
	if err := e.origins.checkOrigin(parsed.Raw.AttestationResponse.ClientDataJSON); err != nil {
		return passkeys.Passkey{}, err
	}
	if cer.UserID != u.ID {
		return passkeys.Passkey{}, passkeys.ErrVerificationFailed.With("", fmt.Errorf("append ceremony of user %s finished by user %s", cer.UserID, u.ID))
	}
	wu, err := e.sessionUser(ctx, u)
	if err != nil {
		return passkeys.Passkey{}, err
	}
	cred, err := e.wa.CreateCredential(wu, session, parsed)
	if err != nil {
		return passkeys.Passkey{}, verificationFailed(err)
	}
	if err := checkPublicKey(cred.PublicKey); err != nil {
		return passkeys.Passkey{}, errBadKey.With("", err)
	}
	data, err := encode(cred)
	if err != nil {
		return passkeys.Passkey{}, err
	}
	rec := CredentialRecord{
		ID: cred.ID, UserID: wu.rec.ID, Name: useragent.Parse(c.UserAgent).PasskeyName(), Data: data,
		SignCount: cred.Authenticator.SignCount, BackupState: cred.Flags.BackupState, CreatedAt: e.now(),
	}
	err = e.cfg.Store.AddCredential(ctx, rec)
	if errors.Is(err, ErrDuplicate) {
		return passkeys.Passkey{}, passkeys.ErrVerificationFailed.With("This passkey is already registered.", err)
	}
	if err != nil {
		return passkeys.Passkey{}, err
	}
	return toPasskey(rec, *cred), nil
}
