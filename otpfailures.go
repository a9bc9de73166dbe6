package passkeys

import (
	"context"
	"errors"
	"fmt"
	"net/http"
)

// otpFailureKey is the Limiter key of the failure bound of a canonical
// email address ([Options.OTPFailureLimit]).
func otpFailureKey(email string) string { return "otpfail:" + email }

// errOTPFailures answers a code check for an address past its failure
// bound. With the shipped limiters that is the only cause: neither
// refuses a key it holds no bucket for (MemoryLimiter makes room in a
// full class by dropping the bucket closest to full; pgstore has no
// cap), so an address no wrong code was tried for is never told this.
var errOTPFailures = ErrTooManyAttempts.With("Too many wrong codes were tried for this email address, so code sign-in is paused for it. Sign in with a passkey instead, which still works, or try again after the time in Retry-After.", nil)

// checkOTP runs check, one code check for the canonical address email,
// under the per-email check limit and the failure bound: it takes a token
// from each before the check and gives the failure bound's back when the
// check succeeds, or fails with ErrUnavailable (the store could not be
// reached, so no code was judged; an outage must not lock accounts out).
// Every other failure counts.
func (h *Handler) checkOTP(r *http.Request, email string, check func() error) error {
	if err := h.limit(r, "otpcheck:"+email, h.opts.OTPCheckLimit); err != nil {
		return err
	}
	key, bound := otpFailureKey(email), h.opts.OTPFailureLimit
	ok, wait, err := h.opts.Limiter.Allow(r.Context(), key, bound)
	if err != nil {
		return fmt.Errorf("rate limiter: %w", err)
	}
	if !ok {
		h.emit(r, Event{Kind: EventRateLimited, Reason: limitClass(key)})
		e := errOTPFailures.With(errOTPFailures.Detail, nil)
		e.RetryAfter = wait
		return e
	}
	err = check()
	if (err != nil && !errors.Is(err, ErrUnavailable)) || bound.disabled() {
		return err
	}
	if rerr := h.opts.Limiter.(Refunder).Refund(r.Context(), key, bound); rerr != nil {
		// The check's answer stands (a successful one has used its code
		// up, and failing now would lose the sign-in); the token stays
		// taken.
		h.opts.Logger.WarnContext(r.Context(), "passkeys: could not give back a code check's failure token", "cause", rerr.Error())
	}
	return err
}

// ResetOTPFailures clears the failure bound ([Options.OTPFailureLimit]) of
// email, so that code checks for it are allowed again at once: the
// operator's way out for a user locked out of code sign-in who has no
// passkey. email is canonicalised as the endpoints do. It needs a Limiter
// with a Reset(ctx, key string) error method, as MemoryLimiter and
// pgstore's Store have; with another it returns an error. The key it
// resets is "otpfail:" followed by the canonical address, for limiters
// managed by other means.
func (h *Handler) ResetOTPFailures(ctx context.Context, email string) error {
	canonical, err := normalizeEmail(email)
	if err != nil {
		return fmt.Errorf("passkeys: ResetOTPFailures: %w", err)
	}
	l, ok := h.opts.Limiter.(interface {
		Reset(ctx context.Context, key string) error
	})
	if !ok {
		return fmt.Errorf("passkeys: ResetOTPFailures: Options.Limiter (%T) has no Reset method", h.opts.Limiter)
	}
	return l.Reset(ctx, otpFailureKey(canonical))
}
