package selfhosted

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/passkeyready/passkeys"
	"github.com/passkeyready/passkeys/internal/loginmemo"
)

// errCounter refuses a login whose signature counter did not advance.
var errCounter = passkeys.ErrVerificationFailed.With("The passkey's signature counter went backwards; it may have been cloned.", nil).WithReason(passkeys.ReasonCounter)

// StartLogin implements [passkeys.Backend]. Unknown emails and accounts
// without passkeys get Allow false. The options carry the request's hints,
// or else [Config.LoginHints].
func (e *Engine) StartLogin(ctx context.Context, email string, c passkeys.Client) (passkeys.LoginStart, error) {
	wu, err := e.loadUser(ctx, UserKey{Email: email})
	if errors.Is(err, ErrNotFound) {
		return passkeys.LoginStart{}, nil
	}
	if err != nil || len(wu.creds) == 0 {
		return passkeys.LoginStart{}, err
	}
	assertion, session, err := e.wa.BeginLogin(wu, webauthn.WithAssertionPublicKeyCredentialHints(hintsFor(c.Hints, e.cfg.LoginHints)))
	if err != nil {
		return passkeys.LoginStart{}, err
	}
	return e.loginStarted(ctx, CeremonyLogin, wu.rec.ID, assertion, session)
}

func (e *Engine) loginStarted(ctx context.Context, kind CeremonyKind, userID string, a *protocol.CredentialAssertion, s *webauthn.SessionData) (passkeys.LoginStart, error) {
	if err := e.putCeremony(ctx, kind, userID, s); err != nil {
		return passkeys.LoginStart{}, err
	}
	opts, err := json.Marshal(a)
	return passkeys.LoginStart{Allow: true, Options: opts}, err
}

// FinishLogin implements [passkeys.Backend]. A credential that is no
// longer the user's and that no account owns is
// [passkeys.ErrUnknownCredential].
func (e *Engine) FinishLogin(ctx context.Context, response json.RawMessage, _ passkeys.Client) (_ passkeys.User, err error) {
	defer restartOnOutage(&err, restartCeremony)
	parsed, err := protocol.ParseCredentialRequestResponseBytes(response)
	if err != nil {
		return passkeys.User{}, verificationFailed(err)
	}
	_, session, wu, err := e.takeCeremonyAndUser(ctx, parsed.Response.CollectedClientData.Challenge, CeremonyLogin)
	if err != nil {
		return passkeys.User{}, err
	}
	if err := e.origins.checkOrigin(parsed.Raw.AssertionResponse.ClientDataJSON); err != nil {
		return passkeys.User{}, err
	}
	if wu == nil { // the account was deleted since the start
		return passkeys.User{}, e.unknownOr(ctx, parsed.RawID, ErrNotFound)
	}
	if session.AllowedCredentialIDs, err = wu.stillAllowed(session.AllowedCredentialIDs, parsed.RawID); err != nil {
		return passkeys.User{}, e.unknownOr(ctx, parsed.RawID, err)
	}
	cred, err := e.wa.ValidateLogin(wu, session, parsed)
	if err != nil {
		return passkeys.User{}, verificationFailed(err)
	}
	return e.loggedIn(ctx, wu, cred, parsed)
}

// unknownOr is the error of a login whose valid ceremony failed with
// cause: [passkeys.ErrUnknownCredential] when no account owns the
// credential id (the store says so through [CredentialByIDStore]), the
// verification failure otherwise. A store without that capability never
// gives unknown_credential.
func (e *Engine) unknownOr(ctx context.Context, id []byte, cause error) error {
	s, ok := e.cfg.Store.(CredentialByIDStore)
	if !ok || len(id) == 0 {
		return verificationFailed(cause)
	}
	_, err := s.Credential(ctx, id)
	switch {
	case errors.Is(err, ErrNotFound):
		return passkeys.UnknownCredential(id, cause)
	case err != nil:
		return err
	}
	return verificationFailed(cause)
}

// loggedIn refuses a passkey whose stored public key checkPublicKey
// refuses, enforces the signature counter and writes back the state of the
// login: counter, backup state and time of use.
func (e *Engine) loggedIn(ctx context.Context, wu *waUser, cred *webauthn.Credential, parsed *protocol.ParsedCredentialAssertionData) (passkeys.User, error) {
	rec, ok := wu.record(cred.ID)
	if !ok {
		return passkeys.User{}, verificationFailed(errors.New("credential vanished during login"))
	}
	if err := checkPublicKey(cred.PublicKey); err != nil { // a key stored before registration checked keys
		return passkeys.User{}, errBadKey.With("", err)
	}
	count := parsed.Response.AuthenticatorData.Counter
	if (rec.SignCount != 0 || count != 0) && count <= rec.SignCount {
		return passkeys.User{}, errCounter.With("", fmt.Errorf("counter %d after %d", count, rec.SignCount))
	}
	err := e.cfg.Store.RecordCredentialUse(ctx, CredentialUse{
		ID: cred.ID, SignCount: count, BackupState: parsed.Response.AuthenticatorData.Flags.HasBackupState(), UsedAt: e.now(),
	})
	switch {
	case errors.Is(err, ErrCounterRegressed):
		return passkeys.User{}, errCounter.With("", err)
	case errors.Is(err, ErrNotFound):
		return passkeys.User{}, verificationFailed(err)
	case err != nil:
		return passkeys.User{}, err
	}
	loginmemo.Put(ctx, wu.rec.ID, wu) // for Signals, which the handler calls next
	return wu.public(), nil
}
