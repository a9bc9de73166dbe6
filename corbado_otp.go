package passkeys

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/passkeyready/passkeys/internal/corbadoapi"
)

// otpState is the one-time code in flight for an email.
type otpState struct {
	UserID           string    `json:"u"`
	IdentifierID     string    `json:"i"`
	IdentifierStatus string    `json:"is"`
	ChallengeID      string    `json:"c"`
	SentAt           time.Time `json:"s"`
	ExpiresAt        time.Time `json:"x"`
	Attempts         int       `json:"a"`
}

// otpKeys are the keeper keys of an email's code in flight and of its
// resend cooldown; they hold a hash, not the address.
func otpKeys(email string) (code, cooldown string) {
	h := sha256.Sum256([]byte(email))
	x := hex.EncodeToString(h[:])
	return "corbado-otp:" + x, "corbado-otp-cooldown:" + x
}

// StartOTP implements [Backend]. It finds the user by their email
// identifier, creating both when absent, and has Corbado email a code.
//
// A request claims the email's cooldown first and sends only when it got
// the claim, so that of concurrent requests one sends; within the cooldown
// nothing is sent and the code already sent stays valid. So does it when
// sending a new one fails, and the claim is given up again then. The
// cooldown ends early when the code is used up: confirmed, checked too
// often, or lost in a check Corbado did not answer.
func (c *Corbado) StartOTP(ctx context.Context, email string, cl Client) (OTPStart, error) {
	res := OTPStart{ExpiresIn: c.validity}
	key, cooldown := otpKeys(email)
	now := c.now()
	err := c.keeper.Add(ctx, cooldown, []byte{}, now, now.Add(c.cooldown))
	if errors.Is(err, ErrKeeperExists) {
		return res, nil
	}
	if err != nil {
		return res, err
	}
	next, err := c.sendOTP(ctx, email, cl)
	if err == nil {
		err = c.storeOTP(ctx, key, next)
	}
	if err != nil {
		c.endCooldown(ctx, cooldown)
	}
	return res, err
}

// storeOTP makes st the code in flight under key, in place of an older
// one. A code sent later by an overlapping request is kept instead, and
// so is anything a check puts back meanwhile.
func (c *Corbado) storeOTP(ctx context.Context, key string, st otpState) error {
	const tries = 3
	for range tries {
		var old otpState
		found, err := c.take(ctx, key, &old)
		if err != nil {
			return err
		}
		if found && old.SentAt.After(st.SentAt) {
			st = old
		}
		if err := c.add(ctx, key, st, st.ExpiresAt); !errors.Is(err, ErrKeeperExists) {
			return err
		}
	}
	return fmt.Errorf("the code in flight changed %d times while a new one was stored", tries)
}

// endCooldown lets the next request for the email send a code at once.
func (c *Corbado) endCooldown(ctx context.Context, cooldown string) {
	_, err := c.keeper.Take(context.WithoutCancel(ctx), cooldown, c.now())
	if err != nil && !errors.Is(err, ErrKeeperMiss) {
		c.logger.Warn("passkeys: could not end a one-time-code cooldown", "cause", err.Error())
	}
}

// sendOTP has Corbado email a new code to email. When the user of the
// email's identifier was deleted between finding the identifier and
// sending, the identifier is looked up (or created) once more.
func (c *Corbado) sendOTP(ctx context.Context, email string, cl Client) (otpState, error) {
	var id corbadoapi.Identifier
	var ch corbadoapi.Challenge
	var err error
	for range 2 {
		id, err = c.identifier(ctx, email)
		if err != nil {
			return otpState{}, err
		}
		ch, err = call(c.api.ChallengeCreate(ctx, id.UserID, corbadoapi.ChallengeCreateReq{
			ChallengeType: "email_otp", IdentifierValue: email,
			LifetimeSeconds: int(c.validity / time.Second), ClientInformation: clientInformation(cl, nil),
		}))
		if !doesNotExist(err, "userID") {
			break
		}
	}
	if err != nil {
		return otpState{}, c.upstream(err)
	}
	now := c.now()
	return otpState{
		UserID: id.UserID, IdentifierID: id.IdentifierID, IdentifierStatus: id.Status,
		ChallengeID: ch.ChallengeID, SentAt: now, ExpiresAt: now.Add(c.validity),
	}, nil
}

// identifier returns the email identifier of email, creating a pending
// user with a pending identifier when there is none. A user whose
// identifier could not be created is deleted again, so that no user is
// left that nobody can find; when the identifier was refused because a
// concurrent request created it, that one is used.
func (c *Corbado) identifier(ctx context.Context, email string) (corbadoapi.Identifier, error) {
	if id, ok, err := c.findIdentifier(ctx, email); ok || err != nil {
		return id, err
	}
	u, err := call(c.api.UserCreate(ctx, corbadoapi.UserCreateReq{Status: corbadoapi.UserPending}))
	if err != nil {
		return corbadoapi.Identifier{}, c.upstream(err)
	}
	id, err := call(c.api.IdentifierCreate(ctx, u.UserID, corbadoapi.IdentifierCreateReq{
		IdentifierType: "email", IdentifierValue: email, Status: corbadoapi.IdentifierPending,
	}))
	if err == nil {
		return id, nil
	}
	if derr := fromAPI(c.api.UserDelete(context.WithoutCancel(ctx), u.UserID)); derr != nil {
		c.logger.Warn("passkeys: could not delete a Corbado user left without an identifier", "user_id", u.UserID, "cause", derr.Error())
	}
	if refused(err) {
		// Another request may have created the identifier meanwhile.
		if other, ok, ferr := c.findIdentifier(ctx, email); ferr == nil && ok {
			return other, nil
		}
	}
	return id, c.upstream(err)
}

// findIdentifier looks up the email identifier of email.
func (c *Corbado) findIdentifier(ctx context.Context, email string) (corbadoapi.Identifier, bool, error) {
	l, err := call(c.api.IdentifierList(ctx, corbadoapi.ListParams{
		Filter:   []string{"identifierValue:eq:" + email, "identifierType:eq:email"},
		PageSize: 1,
	}))
	if err != nil {
		return corbadoapi.Identifier{}, false, c.upstream(err)
	}
	for _, id := range l.Identifiers {
		if id.Type == "email" && strings.EqualFold(id.Value, email) && id.UserID != "" && id.IdentifierID != "" {
			return id, true, nil
		}
	}
	return corbadoapi.Identifier{}, false, nil
}

// FinishOTP implements [Backend]. Corbado checks the code; this side
// also allows at most five checks per code. The first correct code of a
// new account verifies its identifier and activates the user.
//
// The code is taken out of the keeper for the check and put back after a
// failed one only if no newer code took its place meanwhile. When Corbado
// does not answer the check, it may still have applied it, so the code is
// put back for a retry and the cooldown ends, letting the next request
// send a new one. When Corbado says the code's user or challenge no
// longer exists (the account was deleted meanwhile), the code is used up:
// the check fails and the next request sends a new code at once.
func (c *Corbado) FinishOTP(ctx context.Context, email, code string, cl Client) (User, bool, error) {
	key, cooldown := otpKeys(email)
	var st otpState
	found, err := c.take(ctx, key, &st)
	if err != nil {
		return User{}, false, err
	}
	if !found {
		return User{}, false, ErrOTPInvalid.With("", errors.New("no code in flight for this email"))
	}
	ch, err := call(c.api.ChallengeUpdate(ctx, st.UserID, st.ChallengeID, corbadoapi.ChallengeUpdateReq{Value: code}))
	if err == nil && ch.Status == corbadoapi.ChallengeCompleted {
		c.endCooldown(ctx, cooldown)
		created, err := c.confirm(ctx, st)
		if err != nil {
			return User{}, false, err
		}
		return User{ID: st.UserID, Email: email}, created, nil
	}
	st.Attempts++
	unanswered := err != nil && !refused(err)
	spent := st.Attempts >= corbadoOTPAttempts || doesNotExist(err, "userID", "challengeID")
	if !spent {
		if err := c.add(ctx, key, st, st.ExpiresAt); err != nil && !errors.Is(err, ErrKeeperExists) {
			return User{}, false, err
		}
	}
	if spent || unanswered {
		c.endCooldown(ctx, cooldown)
	}
	if unanswered {
		return User{}, false, c.upstream(err)
	}
	if err == nil {
		err = fmt.Errorf("challenge status %q after the check", ch.Status)
	}
	return User{}, false, ErrOTPInvalid.With("", fmt.Errorf("attempt %d: %w", st.Attempts, err))
}

// confirm activates a pending user after their first correct code and
// reports whether it did. A user or identifier deleted meanwhile is
// [ErrUnauthorized].
func (c *Corbado) confirm(ctx context.Context, st otpState) (bool, error) {
	u, err := call(c.api.UserGet(ctx, st.UserID))
	if err != nil {
		return false, c.gone(err, "userID")
	}
	switch u.Status {
	case corbadoapi.UserActive:
		return false, nil
	case corbadoapi.UserPending:
	default:
		return false, ErrUnauthorized.With("This account is disabled.", fmt.Errorf("corbado user status %q", u.Status))
	}
	if st.IdentifierStatus == corbadoapi.IdentifierPending {
		if _, err := call(c.api.IdentifierUpdate(ctx, st.UserID, st.IdentifierID, corbadoapi.IdentifierUpdateReq{Status: corbadoapi.IdentifierVerified})); err != nil {
			return false, c.gone(err, "userID", "identifierID")
		}
	}
	if _, err := call(c.api.UserUpdate(ctx, st.UserID, corbadoapi.UserUpdateReq{Status: corbadoapi.UserActive})); err != nil {
		return false, c.gone(err, "userID")
	}
	return true, nil
}
