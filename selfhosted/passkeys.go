package selfhosted

import (
	"context"
	"errors"

	"github.com/go-webauthn/webauthn/webauthn"
	"github.com/google/uuid"

	"github.com/passkeyready/passkeys"
	aaguidlist "github.com/passkeyready/passkeys/internal/aaguid"
)

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
		p.Provider = provider(p.AAGUID)
	}
	return p
}

// provider names the provider of an AAGUID from the embedded list, or nil.
func provider(aaguid string) *passkeys.Provider {
	pr, ok := aaguidlist.Lookup(aaguid)
	if !ok {
		return nil
	}
	return &passkeys.Provider{Name: pr.Name, IconLight: pr.IconLight, IconDark: pr.IconDark}
}

var _ passkeys.PasskeyRenamer = (*Engine)(nil)

// RenamePasskey implements [passkeys.PasskeyRenamer] on a store with
// [CredentialRenamer]; on one without it, it answers
// [passkeys.ErrNotSupported].
func (e *Engine) RenamePasskey(ctx context.Context, u passkeys.User, id, name string) (passkeys.Passkey, error) {
	rn, ok := e.cfg.Store.(CredentialRenamer)
	if !ok {
		return passkeys.Passkey{}, passkeys.ErrNotSupported.With("This server's store cannot rename passkeys.", nil)
	}
	raw, err := b64.DecodeString(id)
	if err != nil {
		return passkeys.Passkey{}, passkeys.ErrInvalidRequest.With("The passkey id must be unpadded base64url.", err)
	}
	rec, err := rn.RenameCredential(ctx, u.ID, raw, name)
	if errors.Is(err, ErrNotFound) {
		return passkeys.Passkey{}, passkeys.ErrNotFound.With("You have no passkey with this id.", err)
	}
	if err != nil {
		return passkeys.Passkey{}, err
	}
	c, err := decodeCredential(rec)
	if err != nil {
		return passkeys.Passkey{}, err
	}
	return toPasskey(rec, c), nil
}
