package selfhosted

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"math/big"

	"github.com/passkeyready/passkeys"
)

// StartOTP implements [passkeys.Backend]. It behaves the same for known and
// unknown emails. Within the cooldown after a code was sent it sends
// nothing and the code already sent stays valid.
func (e *Engine) StartOTP(ctx context.Context, email string, _ passkeys.Client) (passkeys.OTPStart, error) {
	res := passkeys.OTPStart{ExpiresIn: e.cfg.OTPValidity}
	n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
	if err != nil {
		return res, err
	}
	code := fmt.Sprintf("%06d", n.Int64())
	now := e.now()
	rec := OTPRecord{Email: email, Hash: e.otpHash(email, code), CreatedAt: now, ExpiresAt: now.Add(e.cfg.OTPValidity)}
	stored, err := e.cfg.Store.PutOTP(ctx, rec, now.Add(-e.cfg.OTPCooldown))
	if err != nil || !stored {
		return res, err
	}
	if err := e.cfg.OTPSender.SendOTP(ctx, email, code, e.cfg.OTPValidity); err != nil {
		// A code nobody received must not hold off the next request.
		_ = e.cfg.Store.DeleteOTP(context.WithoutCancel(ctx), email, rec.Hash)
		return res, fmt.Errorf("sending one-time code: %w", err)
	}
	return res, nil
}

// FinishOTP implements [passkeys.Backend]. Each check, right or wrong,
// counts against the code's attempts; a correct code is used up.
func (e *Engine) FinishOTP(ctx context.Context, email, code string, _ passkeys.Client) (passkeys.User, bool, error) {
	rec, err := e.cfg.Store.ReserveOTPAttempt(ctx, email, e.now(), e.cfg.OTPMaxAttempts)
	if errors.Is(err, ErrNotFound) {
		return passkeys.User{}, false, passkeys.ErrOTPInvalid.With("", errors.New("no live code for this email"))
	}
	if err != nil {
		return passkeys.User{}, false, err
	}
	if !hmac.Equal(rec.Hash, e.otpHash(email, code)) {
		if rec.Attempts >= e.cfg.OTPMaxAttempts {
			if err := e.cfg.Store.DeleteOTP(ctx, email, rec.Hash); err != nil && !errors.Is(err, ErrNotFound) {
				return passkeys.User{}, false, err
			}
		}
		return passkeys.User{}, false, passkeys.ErrOTPInvalid.With("", fmt.Errorf("wrong code, attempt %d", rec.Attempts))
	}
	if err := e.cfg.Store.DeleteOTP(ctx, email, rec.Hash); errors.Is(err, ErrNotFound) {
		return passkeys.User{}, false, passkeys.ErrOTPInvalid.With("", errors.New("code used concurrently"))
	} else if err != nil {
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
