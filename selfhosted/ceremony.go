package selfhosted

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/passkeyready/passkeys"
)

// putCeremony stores the session data whole under its challenge.
func (e *Engine) putCeremony(ctx context.Context, kind CeremonyKind, userID string, s *webauthn.SessionData) error {
	data, err := encode(s)
	if err != nil {
		return err
	}
	now := e.now()
	return e.cfg.Store.PutCeremony(ctx, Ceremony{
		Challenge: s.Challenge, Kind: kind, UserID: userID, Session: data,
		ExpiresAt: now.Add(e.cfg.CeremonyTimeout),
	}, now)
}

var errCeremony = passkeys.ErrVerificationFailed.With("The passkey ceremony is unknown, expired or already used; start again.", nil).WithReason(passkeys.ReasonCeremony)

// takeCeremony consumes the ceremony named by the challenge in the
// response's clientDataJSON. A ceremony of another kind than kinds is
// consumed too and fails: a challenge is good for one finish only.
func (e *Engine) takeCeremony(ctx context.Context, challenge string, kinds ...CeremonyKind) (Ceremony, webauthn.SessionData, error) {
	var s webauthn.SessionData
	if challenge == "" {
		return Ceremony{}, s, errCeremony
	}
	c, err := e.cfg.Store.TakeCeremony(ctx, challenge, e.now())
	return e.checkCeremony(c, err, kinds...)
}

// takeCeremonyAndUser is takeCeremony followed by reading the ceremony's
// user, in one round trip when the store is a [CeremonyWithUserStore]. wu
// is nil when the user does not exist; the ceremony is consumed either way.
func (e *Engine) takeCeremonyAndUser(ctx context.Context, challenge string, kind CeremonyKind) (Ceremony, webauthn.SessionData, *waUser, error) {
	ts, ok := e.cfg.Store.(CeremonyWithUserStore)
	if !ok || challenge == "" {
		c, s, err := e.takeCeremony(ctx, challenge, kind)
		if err != nil {
			return c, s, nil, err
		}
		wu, err := e.loadUser(ctx, UserKey{ID: c.UserID})
		if errors.Is(err, ErrNotFound) {
			return c, s, nil, nil
		}
		return c, s, wu, err
	}
	c, rec, recs, err := ts.TakeCeremonyWithUser(ctx, challenge, e.now())
	c, s, err := e.checkCeremony(c, err, kind)
	if err != nil || rec.ID == "" {
		return c, s, nil, err
	}
	wu, err := newWAUser(rec, recs)
	return c, s, wu, err
}

// checkCeremony checks a taken ceremony c (err is the store's answer) to
// be of one of kinds and decodes its session data.
func (e *Engine) checkCeremony(c Ceremony, err error, kinds ...CeremonyKind) (Ceremony, webauthn.SessionData, error) {
	var s webauthn.SessionData
	if errors.Is(err, ErrNotFound) {
		return c, s, errCeremony
	}
	if err != nil {
		return c, s, err
	}
	if !slices.Contains(kinds, c.Kind) {
		return c, s, passkeys.ErrVerificationFailed.With("", fmt.Errorf("ceremony of kind %s finished as %s", c.Kind, kinds[0]))
	}
	if err := decode(c.Session, &s); err != nil {
		return c, s, fmt.Errorf("decoding ceremony: %w", err)
	}
	return c, s, nil
}
