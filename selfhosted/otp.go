package selfhosted

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"errors"

	"github.com/passkeyready/passkeys"
)

// StartOTP implements [passkeys.Backend]. It behaves the same for known and
// unknown emails. Within the cooldown after a code was sent it sends
// nothing and the code already sent stays valid.
func (e *Engine) StartOTP(ctx context.Context, email string, c passkeys.Client) (passkeys.OTPStart, error) {
	return passkeys.OTPStart{ExpiresIn: e.cfg.OTPValidity}, e.sendCode(ctx, email, email, passkeys.OTPSignIn, c)
}

// FinishOTP implements [passkeys.Backend]. Each check, right or wrong,
// counts against the code's attempts; a correct code is used up.
func (e *Engine) FinishOTP(ctx context.Context, email, code string, _ passkeys.Client) (_ passkeys.User, _ bool, err error) {
	defer restartOnOutage(&err, restartCode)
	if err := e.checkCode(ctx, email, code); err != nil {
		return passkeys.User{}, false, err
	}
	return e.userForEmail(ctx, email)
}

// userForEmail returns the account for email, creating it on first use.
func (e *Engine) userForEmail(ctx context.Context, email string) (passkeys.User, bool, error) {
	u, err := e.cfg.Store.UserByEmail(ctx, email)
	if err == nil {
		return passkeys.User{ID: u.ID, Email: u.Email}, false, nil
	}
	if !errors.Is(err, ErrNotFound) {
		return passkeys.User{}, false, err
	}
	u = UserRecord{ID: "usr_" + b64.EncodeToString(randomBytes(16)), Email: email, Handle: randomBytes(32), CreatedAt: e.now()}
	err = e.cfg.Store.CreateUser(ctx, u)
	if errors.Is(err, ErrDuplicate) {
		// Created concurrently by another request for the same email.
		if u, err = e.cfg.Store.UserByEmail(ctx, email); err == nil {
			return passkeys.User{ID: u.ID, Email: u.Email}, false, nil
		}
	}
	if err != nil {
		return passkeys.User{}, false, err
	}
	return passkeys.User{ID: u.ID, Email: u.Email}, true, nil
}

// otpHash is HMAC-SHA256 over the email and the code, so a stolen table
// of hashes cannot be reversed without the key.
func (e *Engine) otpHash(email, code string) []byte {
	m := hmac.New(sha256.New, e.cfg.OTPKey)
	m.Write([]byte(email))
	m.Write([]byte{0})
	m.Write([]byte(code))
	return m.Sum(nil)
}
