package selfhosted

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/protocol/webauthncose"
	"github.com/go-webauthn/webauthn/webauthn"
	"github.com/google/uuid"

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
// user's existing passkeys, require a discoverable credential and carry
// the request's hints, or else [Config.AppendHints]. A user
// the host's SessionVerifier vouches for but the engine has never seen
// gets the engine's record first (see "Bring your own users" in [Config]).
func (e *Engine) StartAppend(ctx context.Context, u passkeys.User, c passkeys.Client) (passkeys.AppendStart, error) {
	return e.startAppend(ctx, u, CeremonyAppend, protocol.MediationDefault,
		webauthn.WithPublicKeyCredentialHints(hintsFor(c.Hints, e.cfg.AppendHints)))
}

// StartConditionalAppend implements [passkeys.ConditionalAppender]: the
// options of StartAppend with "mediation":"conditional", for the automatic
// passkey upgrade. The ceremony is stored as [CeremonyAppendConditional],
// and only its finish lets the user presence flag be clear, and holds the
// user verification flag to [Config.ConditionalCreateUserVerification]
// instead of UserVerification. No hints: a conditional create shows no
// dialog for them to guide.
func (e *Engine) StartConditionalAppend(ctx context.Context, u passkeys.User, _ passkeys.Client) (passkeys.AppendStart, error) {
	sel := e.wa.Config.AuthenticatorSelection
	sel.UserVerification = e.cfg.ConditionalCreateUserVerification
	return e.startAppend(ctx, u, CeremonyAppendConditional, protocol.MediationConditional, webauthn.WithAuthenticatorSelection(sel))
}

func (e *Engine) startAppend(ctx context.Context, u passkeys.User, kind CeremonyKind, m protocol.CredentialMediationRequirement, extra ...webauthn.RegistrationOption) (passkeys.AppendStart, error) {
	wu, err := e.hostUser(ctx, u)
	if err != nil {
		return passkeys.AppendStart{}, err
	}
	creation, session, err := e.wa.BeginMediatedRegistration(wu, m, append([]webauthn.RegistrationOption{
		webauthn.WithExclusions(webauthn.Credentials(wu.creds).CredentialDescriptors()),
		webauthn.WithCredentialParameters(credentialParameters),
	}, extra...)...)
	if err != nil {
		return passkeys.AppendStart{}, err
	}
	if err := e.putCeremony(ctx, kind, wu.rec.ID, session); err != nil {
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
	cer, session, err := e.takeCeremony(ctx, parsed.Response.CollectedClientData.Challenge, CeremonyAppend, CeremonyAppendConditional)
	if err != nil {
		return passkeys.Passkey{}, err
	}
	// go-webauthn skips the user presence check when the session says
	// conditional, and the user verification check unless it says
	// required; the session is ours, but the kind the engine stored beside
	// it and the Config decide, so that nothing but a conditional start
	// can lift the presence check or take ConditionalCreateUserVerification.
	if cer.Kind == CeremonyAppendConditional {
		session.Mediation = protocol.MediationConditional
		session.UserVerification = e.cfg.ConditionalCreateUserVerification
	} else {
		session.Mediation = protocol.MediationDefault
		session.UserVerification = e.cfg.UserVerification
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
	name := useragent.Parse(c.UserAgent).PasskeyName()
	if a, err := uuid.FromBytes(cred.Authenticator.AAGUID); err == nil && a != uuid.Nil {
		if pr := provider(a.String()); pr != nil {
			name = pr.Name
		}
	}
	rec := CredentialRecord{
		ID: cred.ID, UserID: wu.rec.ID, Name: name, Data: data,
		SignCount: cred.Authenticator.SignCount, BackupState: cred.Flags.BackupState, CreatedAt: e.now(),
	}
	err = e.cfg.Store.AddCredential(ctx, rec)
	if errors.Is(err, ErrDuplicate) {
		return passkeys.Passkey{}, passkeys.ErrVerificationFailed.With("This passkey is already registered.", err).WithReason(passkeys.ReasonDuplicate)
	}
	if err != nil {
		return passkeys.Passkey{}, err
	}
	return toPasskey(rec, *cred), nil
}
