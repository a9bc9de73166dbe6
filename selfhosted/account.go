package selfhosted

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/passkeyready/passkeys"
	"github.com/passkeyready/passkeys/internal/mailaddr"
)

// AccountStore is an optional capability of a [Store]: deleting an
// account and moving it to another email. The engine's
// [Engine.DeleteAccount], [Engine.StartEmailChange] and
// [Engine.FinishEmailChange] need it and fail with an error naming it
// when the Store lacks it; every other flow works without it. memstore,
// sqlitestore and pgstore have it, and storetest checks it when a store
// implements it:
//
//	as, ok := store.(selfhosted.AccountStore)
//
// Its methods must be safe for concurrent use, also across instances
// when the store is shared.
type AccountStore interface {
	// DeleteUser removes, in one atomic step, the user with this ID, every
	// credential of theirs and their pending one-time codes: the code
	// stored under their email and every code stored under a key that
	// starts with [UserOTPKeyPrefix](id). It returns ErrNotFound, and
	// changes nothing, when there is no such user. Sessions are not the
	// store's to remove here: [Sessions] keeps them apart.
	DeleteUser(ctx context.Context, id string) error
	// UpdateUserEmail makes email (normalised) the email of the user with
	// this ID and changes nothing else. It returns ErrDuplicate, and
	// changes nothing, when another user has email, and ErrNotFound when
	// there is no user with this ID. Setting a user's own email again
	// succeeds. Of concurrent calls moving different users to one email
	// at most one succeeds.
	UpdateUserEmail(ctx context.Context, id, email string) error
}

var _ passkeys.AccountBackend = (*Engine)(nil)

// UserOTPKeyPrefix is how the key of every one-time code the engine
// stores for the user with this ID, rather than for an address, begins:
// the code of an email change is stored under
// UserOTPKeyPrefix(id)+newEmail, apart from any sign-up code of newEmail,
// which is stored under newEmail itself. The length of id is part of the
// prefix, so no user's prefix starts another's, and no key of an address
// starts with it: the canonical addresses the engine is given hold no
// colon. [AccountStore.DeleteUser] removes the codes under it.
func UserOTPKeyPrefix(id string) string {
	return "user:" + strconv.Itoa(len(id)) + ":" + id + ":"
}

// emailChangeKey is the OTP store key of u's code for moving to newEmail.
func emailChangeKey(userID, newEmail string) string { return UserOTPKeyPrefix(userID) + newEmail }

// accountStore returns the Store's AccountStore capability.
func (e *Engine) accountStore() (AccountStore, error) {
	as, ok := e.cfg.Store.(AccountStore)
	if !ok {
		return nil, fmt.Errorf("selfhosted: the Store %T has no selfhosted.AccountStore methods (DeleteUser, UpdateUserEmail)", e.cfg.Store)
	}
	return as, nil
}

// DeleteAccount implements [passkeys.AccountBackend]: it removes the
// user, their passkeys and their pending codes in one step. Sessions are
// the session system's to revoke. An account the engine never had, or
// has no longer, is not an error.
func (e *Engine) DeleteAccount(ctx context.Context, u passkeys.User) error {
	as, err := e.accountStore()
	if err != nil {
		return err
	}
	if err := as.DeleteUser(ctx, u.ID); err != nil && !errors.Is(err, ErrNotFound) {
		return err
	}
	return nil
}

// StartEmailChange implements [passkeys.AccountBackend]. It sends a code
// to newEmail through Config.OTPSender, with the validity, cooldown and
// attempts of a sign-up code but stored apart from any sign-up code of
// that address. When newEmail belongs to an account (u's own included)
// it sends and stores nothing and answers the same.
func (e *Engine) StartEmailChange(ctx context.Context, u passkeys.User, newEmail string, c passkeys.Client) (passkeys.OTPStart, error) {
	res := passkeys.OTPStart{ExpiresIn: e.cfg.OTPValidity}
	if _, err := e.accountStore(); err != nil {
		return res, err
	}
	if _, err := e.sessionUser(ctx, u); err != nil {
		return res, err
	}
	if _, err := e.cfg.Store.UserByEmail(ctx, newEmail); err == nil {
		return res, nil // taken: nothing is sent, and the answer is the same
	} else if !errors.Is(err, ErrNotFound) {
		return res, err
	}
	return res, e.sendCode(ctx, emailChangeKey(u.ID, newEmail), newEmail, passkeys.OTPEmailChange, c)
}

// sendCode stores a new code under key and sends it to email, unless a
// code sent to it within the cooldown is still live: then it sends
// nothing and that code stays valid. A sender that is an
// [passkeys.OTPMessageSender] gets the purpose and the client too.
func (e *Engine) sendCode(ctx context.Context, key, email string, purpose passkeys.OTPPurpose, c passkeys.Client) error {
	n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
	if err != nil {
		return err
	}
	code := fmt.Sprintf("%06d", n.Int64())
	now := e.now()
	rec := OTPRecord{Email: key, Hash: e.otpHash(key, code), CreatedAt: now, ExpiresAt: now.Add(e.cfg.OTPValidity)}
	stored, err := e.cfg.Store.PutOTP(ctx, rec, now.Add(-e.cfg.OTPCooldown))
	if err != nil || !stored {
		return err
	}
	if ms, ok := e.cfg.OTPSender.(passkeys.OTPMessageSender); ok {
		err = ms.SendOTPMessage(ctx, passkeys.OTPMessage{Email: email, Code: code, ValidFor: e.cfg.OTPValidity, Purpose: purpose, Client: c})
	} else {
		err = e.cfg.OTPSender.SendOTP(ctx, email, code, e.cfg.OTPValidity)
	}
	if err != nil {
		// A code nobody received must not hold off the next request.
		_ = e.cfg.Store.DeleteOTP(context.WithoutCancel(ctx), key, rec.Hash)
		return sendFailed(err)
	}
	return nil
}

// sendFailed is the error of a code the sender could not deliver: the
// sender's own [*passkeys.Error] (and so its status) when it gave one,
// otherwise 502 upstream_error saying that the code was not sent.
func sendFailed(err error) error {
	err = fmt.Errorf("sending one-time code: %w", err)
	var pe *passkeys.Error
	if errors.As(err, &pe) {
		return err
	}
	return passkeys.ErrUpstream.With(errCodeNotSent, err)
}

// errCodeNotSent is the detail of a code the sender could not deliver.
const errCodeNotSent = "The code could not be sent; try again shortly."

// FinishEmailChange implements [passkeys.AccountBackend]. Each check,
// right or wrong, counts against the code's attempts; a correct code is
// used up and moves the account. A newEmail taken meanwhile is
// [passkeys.ErrOTPInvalid] too, and the account stays as it was.
func (e *Engine) FinishEmailChange(ctx context.Context, u passkeys.User, newEmail, code string, _ passkeys.Client) (_ passkeys.User, err error) {
	defer restartOnOutage(&err, restartCode)
	as, err := e.accountStore()
	if err != nil {
		return passkeys.User{}, err
	}
	if err := e.checkCode(ctx, emailChangeKey(u.ID, newEmail), code); err != nil {
		return passkeys.User{}, err
	}
	err = as.UpdateUserEmail(ctx, u.ID, newEmail)
	switch {
	case errors.Is(err, ErrDuplicate):
		return passkeys.User{}, passkeys.ErrOTPInvalid.With("", errors.New("the new email belongs to another account by now"))
	case errors.Is(err, ErrNotFound):
		return passkeys.User{}, passkeys.ErrUnauthorized.With("The account of this session no longer exists.", err)
	case err != nil:
		return passkeys.User{}, err
	}
	return passkeys.User{ID: u.ID, Email: newEmail}, nil
}

// checkCode checks code against the one stored under key: each check
// counts against its attempts, the last wrong one deletes it, and a
// correct one is used up. Every failure is [passkeys.ErrOTPInvalid].
func (e *Engine) checkCode(ctx context.Context, key, code string) error {
	rec, err := e.cfg.Store.ReserveOTPAttempt(ctx, key, e.now(), e.cfg.OTPMaxAttempts)
	if errors.Is(err, ErrNotFound) {
		return passkeys.ErrOTPInvalid.With("", errors.New("no live code"))
	}
	if err != nil {
		return err
	}
	if !hmac.Equal(rec.Hash, e.otpHash(key, code)) {
		if rec.Attempts >= e.cfg.OTPMaxAttempts {
			if err := e.cfg.Store.DeleteOTP(ctx, key, rec.Hash); err != nil && !errors.Is(err, ErrNotFound) {
				return err
			}
		}
		return passkeys.ErrOTPInvalid.With("", fmt.Errorf("wrong code, attempt %d", rec.Attempts))
	}
	if err := e.cfg.Store.DeleteOTP(ctx, key, rec.Hash); errors.Is(err, ErrNotFound) {
		return passkeys.ErrOTPInvalid.With("", errors.New("code used concurrently"))
	} else if err != nil {
		return err
	}
	return nil
}

// errEmailTaken refuses to create the engine's record of a host's user
// whose email is another account's: the engine never merges two accounts.
var errEmailTaken = &passkeys.Error{
	Status: http.StatusConflict, Code: "account_conflict", Title: "Account conflict",
	Detail: "Your email address belongs to another account of the passkey service; a passkey cannot be added until that is resolved.",
}

// hostUser returns the engine's record of the session's user, creating it
// on first need when the host's SessionVerifier vouches for a user the
// engine has never seen ("bring your own users", see [Config]). Its ID is
// the host's user ID, its email the host's email canonicalised, its
// WebAuthn user handle 32 fresh random bytes. Of concurrent first calls
// one creates the record and the others use it.
//
// An ID of the engine's own form (see [isEngineID]) is never created on
// demand: an account the engine made and then deleted stays deleted even
// while an old signed token of it is presented.
func (e *Engine) hostUser(ctx context.Context, u passkeys.User) (*waUser, error) {
	wu, err := e.sessionUser(ctx, u)
	if err == nil || !errors.Is(err, ErrNotFound) || isEngineID(u.ID) {
		return wu, err
	}
	if u.ID == "" || !utf8.ValidString(u.ID) || strings.ContainsRune(u.ID, 0) || len(u.ID) > 255 {
		return nil, fmt.Errorf("selfhosted: the session's user ID must be 1 to 255 bytes of UTF-8 without NUL, got %d bytes", len(u.ID))
	}
	email, err := mailaddr.Canonical(u.Email)
	if err != nil {
		return nil, fmt.Errorf("selfhosted: the session's user %q has no valid email, which the engine needs as the passkey's user name: %w", u.ID, err)
	}
	rec := UserRecord{ID: u.ID, Email: email, Handle: randomBytes(32), CreatedAt: e.now()}
	err = e.cfg.Store.CreateUser(ctx, rec)
	if err != nil && !errors.Is(err, ErrDuplicate) {
		return nil, err
	}
	// Created now, or concurrently by another first request for this user;
	// otherwise the email is another account's.
	wu, err = e.loadUser(ctx, UserKey{ID: u.ID})
	if errors.Is(err, ErrNotFound) {
		return nil, errEmailTaken.With("", fmt.Errorf("the email of host user %q belongs to another engine user", u.ID))
	}
	return wu, err
}

// isEngineID reports whether id has the form of the IDs the engine gives
// the accounts it creates itself: "usr_" and 22 base64url characters.
func isEngineID(id string) bool {
	rest, ok := strings.CutPrefix(id, "usr_")
	if !ok || len(rest) != 22 {
		return false
	}
	_, err := b64.DecodeString(rest)
	return err == nil
}
