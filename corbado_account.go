package passkeys

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/passkeyready/passkeys/internal/corbadoapi"
)

var _ AccountBackend = (*Corbado)(nil)

// DeleteAccount implements [AccountBackend]: it deletes the Corbado user,
// and with it their identifiers and passkeys. A user Corbado says does not
// exist is gone already, which is no error.
func (c *Corbado) DeleteAccount(ctx context.Context, u User) error {
	err := fromAPI(c.api.UserDelete(ctx, u.ID))
	if err == nil || doesNotExist(err, "userID") {
		return nil
	}
	return c.upstream(err)
}

// emailChangeKeys are the keeper keys of u's code in flight for moving to
// an email and of its resend cooldown; they hold a hash, not the address,
// and are apart from the keys of a sign-up code of that address.
func emailChangeKeys(userID, email string) (code, cooldown string) {
	h := sha256.Sum256([]byte(userID + "\x00" + email))
	x := hex.EncodeToString(h[:])
	return "corbado-email-change:" + x, "corbado-email-change-cooldown:" + x
}

// StartEmailChange implements [AccountBackend].
//
// Corbado sends codes only to an identifier of the user the challenge is
// for, and an identifier is found by every login and sign-up while it
// exists. So the new address is not put on u's account until it is
// proven: it is held by a pending user of its own (the one a sign-up of
// that address makes, created here when there is none) and the challenge
// goes to that holder. A sign-up of the address in the meantime makes the
// holder its own account, never u's, and a passkey login of it finds no
// passkeys. When the address belongs to an account (an active or disabled
// user, u included) nothing is sent and the answer is the same. Within the
// cooldown after a code was sent nothing is sent either, and that code
// stays valid.
func (c *Corbado) StartEmailChange(ctx context.Context, u User, newEmail string, cl Client) (OTPStart, error) {
	res := OTPStart{ExpiresIn: c.validity}
	if err := c.activeUser(ctx, u.ID); err != nil {
		return res, err
	}
	key, cooldown := emailChangeKeys(u.ID, newEmail)
	now := c.now()
	err := c.keeper.Add(ctx, cooldown, []byte{}, now, now.Add(c.cooldown))
	if errors.Is(err, ErrKeeperExists) {
		return res, nil
	}
	if err != nil {
		return res, err
	}
	st, sent, err := c.sendEmailChange(ctx, u, newEmail, cl)
	if err == nil && sent {
		err = c.storeOTP(ctx, key, st)
	}
	if err != nil {
		c.endCooldown(ctx, cooldown)
	}
	return res, err
}

// sendEmailChange has Corbado email a code to newEmail through the pending
// user holding it. It reports false, with no error, when the address
// belongs to an account and nothing was sent.
func (c *Corbado) sendEmailChange(ctx context.Context, u User, newEmail string, cl Client) (otpState, bool, error) {
	id, err := c.identifier(ctx, newEmail)
	if err != nil {
		return otpState{}, false, err
	}
	if id.UserID == u.ID {
		return otpState{}, false, nil
	}
	holder, err := call(c.api.UserGet(ctx, id.UserID))
	if doesNotExist(err, "userID") {
		// The identifier outlived its user for a moment; the address is
		// being claimed by someone, so it is not offered.
		return otpState{}, false, nil
	}
	if err != nil {
		return otpState{}, false, c.upstream(err)
	}
	if holder.Status != corbadoapi.UserPending {
		return otpState{}, false, nil
	}
	ch, err := call(c.api.ChallengeCreate(ctx, id.UserID, corbadoapi.ChallengeCreateReq{
		ChallengeType: "email_otp", IdentifierValue: newEmail,
		LifetimeSeconds: int(c.validity.Seconds()), ClientInformation: clientInformation(cl, nil),
	}))
	if doesNotExist(err, "userID") {
		return otpState{}, false, nil // the holder was just taken by another change
	}
	if err != nil {
		return otpState{}, false, c.upstream(err)
	}
	now := c.now()
	return otpState{
		UserID: id.UserID, IdentifierID: id.IdentifierID, IdentifierStatus: id.Status,
		ChallengeID: ch.ChallengeID, SentAt: now, ExpiresAt: now.Add(c.validity),
	}, true, nil
}

// FinishEmailChange implements [AccountBackend]. Corbado checks the code;
// this side allows at most five checks per code, as for sign-up codes,
// with the same bookkeeping when Corbado does not answer. A correct code
// releases the address from its pending holder, adds it to u's account as
// a verified email identifier and then deletes u's other email
// identifiers, so that the old address stops working. When the holder has
// become an account meanwhile (its owner signed up), or another user got
// the address between the release and the claim, the code is
// [ErrOTPInvalid] and u's account is unchanged.
func (c *Corbado) FinishEmailChange(ctx context.Context, u User, newEmail, code string, cl Client) (User, error) {
	key, cooldown := emailChangeKeys(u.ID, newEmail)
	var st otpState
	found, err := c.take(ctx, key, &st)
	if err != nil {
		return User{}, err
	}
	if !found {
		return User{}, ErrOTPInvalid.With("", errors.New("no email-change code in flight"))
	}
	ch, err := call(c.api.ChallengeUpdate(ctx, st.UserID, st.ChallengeID, corbadoapi.ChallengeUpdateReq{Value: code}))
	if err == nil && ch.Status == corbadoapi.ChallengeCompleted {
		c.endCooldown(ctx, cooldown)
		if err := c.moveEmail(ctx, u, newEmail, st); err != nil {
			return User{}, err
		}
		return User{ID: u.ID, Email: newEmail}, nil
	}
	st.Attempts++
	unanswered := err != nil && !refused(err)
	spent := st.Attempts >= corbadoOTPAttempts || doesNotExist(err, "userID", "challengeID")
	if !spent {
		if err := c.add(ctx, key, st, st.ExpiresAt); err != nil && !errors.Is(err, ErrKeeperExists) {
			return User{}, err
		}
	}
	if spent || unanswered {
		c.endCooldown(ctx, cooldown)
	}
	if unanswered {
		return User{}, c.upstream(err)
	}
	if err == nil {
		err = fmt.Errorf("challenge status %q after the check", ch.Status)
	}
	return User{}, ErrOTPInvalid.With("", fmt.Errorf("attempt %d: %w", st.Attempts, err))
}

// moveEmail moves u's account to newEmail, proven by the code of the
// challenge st names on the address's pending holder.
func (c *Corbado) moveEmail(ctx context.Context, u User, newEmail string, st otpState) error {
	holder, err := call(c.api.UserGet(ctx, st.UserID))
	if doesNotExist(err, "userID") {
		return ErrOTPInvalid.With("", errors.New("the holder of the new email is gone: another change took it"))
	}
	if err != nil {
		return c.upstream(err)
	}
	if holder.Status != corbadoapi.UserPending {
		return ErrOTPInvalid.With("", errors.New("the new email belongs to an account by now"))
	}
	if err := c.activeUser(ctx, u.ID); err != nil {
		return err
	}
	if err := fromAPI(c.api.UserDelete(ctx, holder.UserID)); err != nil && !doesNotExist(err, "userID") {
		return c.upstream(err)
	}
	id, err := call(c.api.IdentifierCreate(ctx, u.ID, corbadoapi.IdentifierCreateReq{
		IdentifierType: "email", IdentifierValue: newEmail, Status: corbadoapi.IdentifierVerified,
	}))
	switch {
	case doesNotExist(err, "userID"):
		return errAccountGone.With("", err)
	case refused(err):
		return ErrOTPInvalid.With("", fmt.Errorf("the new email was taken between its release and the claim: %w", err))
	case err != nil:
		return c.upstream(err)
	}
	l, err := call(c.api.IdentifierList(ctx, corbadoapi.ListParams{
		Filter:   []string{"userID:eq:" + u.ID, "identifierType:eq:email"},
		PageSize: 100,
	}))
	if err != nil {
		return c.oldAddressKept(u, c.upstream(err))
	}
	for _, old := range l.Identifiers {
		if old.IdentifierID == id.IdentifierID || old.UserID != u.ID || old.Type != "email" {
			continue
		}
		if err := fromAPI(c.api.IdentifierDelete(ctx, u.ID, old.IdentifierID)); err != nil && !doesNotExist(err, "identifierID") {
			return c.oldAddressKept(u, c.upstream(err))
		}
	}
	return nil
}

// oldAddressKept logs that an email change added the new address but
// could not remove an old one, which then still leads to the account, and
// returns err.
func (c *Corbado) oldAddressKept(u User, err error) error {
	c.logger.Warn("passkeys: an email change added the new address but kept an old one; delete it in Corbado",
		"user_id", u.ID, "cause", err.Error())
	return err
}
