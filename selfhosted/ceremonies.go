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

// sessionUser loads the account behind a session. A session whose account
// no longer exists is unauthorized.
func (e *Engine) sessionUser(ctx context.Context, u passkeys.User) (*waUser, error) {
	wu, err := e.loadUser(ctx, UserKey{ID: u.ID})
	if errors.Is(err, ErrNotFound) {
		return nil, passkeys.ErrUnauthorized.With("The account of this session no longer exists.", err)
	}
	return wu, err
}

// StartAppend implements [passkeys.Backend]. The options exclude the
// user's existing passkeys and require a discoverable credential.
func (e *Engine) StartAppend(ctx context.Context, u passkeys.User, _ passkeys.Client) (passkeys.AppendStart, error) {
	wu, err := e.sessionUser(ctx, u)
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
func (e *Engine) FinishAppend(ctx context.Context, u passkeys.User, response json.RawMessage, c passkeys.Client) (passkeys.Passkey, error) {
	parsed, err := protocol.ParseCredentialCreationResponseBytes(response)
	if err != nil {
		return passkeys.Passkey{}, verificationFailed(err)
	}
	cer, session, err := e.takeCeremony(ctx, parsed.Response.CollectedClientData.Challenge, CeremonyAppend)
	if err != nil {
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

// StartLogin implements [passkeys.Backend]. Unknown emails and accounts
// without passkeys get Allow false.
func (e *Engine) StartLogin(ctx context.Context, email string, _ passkeys.Client) (passkeys.LoginStart, error) {
	wu, err := e.loadUser(ctx, UserKey{Email: email})
	if errors.Is(err, ErrNotFound) {
		return passkeys.LoginStart{}, nil
	}
	if err != nil || len(wu.creds) == 0 {
		return passkeys.LoginStart{}, err
	}
	assertion, session, err := e.wa.BeginLogin(wu)
	if err != nil {
		return passkeys.LoginStart{}, err
	}
	return e.loginStarted(ctx, CeremonyLogin, wu.rec.ID, assertion, session)
}

// StartMediation implements [passkeys.Backend].
func (e *Engine) StartMediation(ctx context.Context, _ passkeys.Client) (passkeys.LoginStart, error) {
	assertion, session, err := e.wa.BeginDiscoverableMediatedLogin(protocol.MediationConditional)
	if err != nil {
		return passkeys.LoginStart{}, err
	}
	return e.loginStarted(ctx, CeremonyMediation, "", assertion, session)
}

func (e *Engine) loginStarted(ctx context.Context, kind CeremonyKind, userID string, a *protocol.CredentialAssertion, s *webauthn.SessionData) (passkeys.LoginStart, error) {
	if err := e.putCeremony(ctx, kind, userID, s); err != nil {
		return passkeys.LoginStart{}, err
	}
	opts, err := json.Marshal(a)
	return passkeys.LoginStart{Allow: true, Options: opts}, err
}

// FinishLogin implements [passkeys.Backend].
func (e *Engine) FinishLogin(ctx context.Context, response json.RawMessage, _ passkeys.Client) (passkeys.User, error) {
	parsed, err := protocol.ParseCredentialRequestResponseBytes(response)
	if err != nil {
		return passkeys.User{}, verificationFailed(err)
	}
	cer, session, err := e.takeCeremony(ctx, parsed.Response.CollectedClientData.Challenge, CeremonyLogin)
	if err != nil {
		return passkeys.User{}, err
	}
	wu, err := e.loadUser(ctx, UserKey{ID: cer.UserID})
	if errors.Is(err, ErrNotFound) {
		return passkeys.User{}, verificationFailed(err)
	}
	if err != nil {
		return passkeys.User{}, err
	}
	cred, err := e.wa.ValidateLogin(wu, session, parsed)
	if err != nil {
		return passkeys.User{}, verificationFailed(err)
	}
	return e.loggedIn(ctx, wu, cred, parsed)
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

// loggedIn enforces the signature counter and writes back the state of the
// login: counter, backup state and time of use.
func (e *Engine) loggedIn(ctx context.Context, wu *waUser, cred *webauthn.Credential, parsed *protocol.ParsedCredentialAssertionData) (passkeys.User, error) {
	rec, ok := wu.record(cred.ID)
	if !ok {
		return passkeys.User{}, verificationFailed(errors.New("credential vanished during login"))
	}
	count := parsed.Response.AuthenticatorData.Counter
	if (rec.SignCount != 0 || count != 0) && count <= rec.SignCount {
		return passkeys.User{}, passkeys.ErrVerificationFailed.With("The passkey's signature counter went backwards; it may have been cloned.",
			fmt.Errorf("counter %d after %d", count, rec.SignCount))
	}
	err := e.cfg.Store.RecordCredentialUse(ctx, CredentialUse{
		ID: cred.ID, SignCount: count, BackupState: parsed.Response.AuthenticatorData.Flags.HasBackupState(), UsedAt: e.now(),
	})
	switch {
	case errors.Is(err, ErrCounterRegressed):
		return passkeys.User{}, passkeys.ErrVerificationFailed.With("The passkey's signature counter went backwards; it may have been cloned.", err)
	case errors.Is(err, ErrNotFound):
		return passkeys.User{}, verificationFailed(err)
	case err != nil:
		return passkeys.User{}, err
	}
	return wu.public(), nil
}

// ListPasskeys implements [passkeys.Backend].
func (e *Engine) ListPasskeys(ctx context.Context, u passkeys.User) ([]passkeys.Passkey, error) {
	recs, err := e.cfg.Store.CredentialsByUser(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	out := make([]passkeys.Passkey, 0, len(recs))
	for _, r := range recs {
		c, err := decodeCredential(r)
		if err != nil {
			return nil, err
		}
		out = append(out, toPasskey(r, c))
	}
	return out, nil
}

// DeletePasskey implements [passkeys.Backend].
func (e *Engine) DeletePasskey(ctx context.Context, u passkeys.User, id string) error {
	raw, err := b64.DecodeString(id)
	if err != nil {
		return passkeys.ErrInvalidRequest.With("The passkey id must be unpadded base64url.", err)
	}
	err = e.cfg.Store.DeleteCredential(ctx, u.ID, raw)
	if errors.Is(err, ErrNotFound) {
		return passkeys.ErrNotFound.With("You have no passkey with this id.", err)
	}
	return err
}

func toPasskey(r CredentialRecord, c webauthn.Credential) passkeys.Passkey {
	p := passkeys.Passkey{
		ID: b64.EncodeToString(r.ID), Name: r.Name, CreatedAt: r.CreatedAt,
		BackupEligible: c.Flags.BackupEligible, BackedUp: r.BackupState, Transports: []string{},
	}
	if !r.LastUsedAt.IsZero() {
		t := r.LastUsedAt
		p.LastUsedAt = &t
	}
	for _, t := range c.Transport {
		p.Transports = append(p.Transports, string(t))
	}
	if a, err := uuid.FromBytes(c.Authenticator.AAGUID); err == nil && a != uuid.Nil {
		p.AAGUID = a.String()
	}
	return p
}
