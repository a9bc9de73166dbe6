package passkeys

import "context"

// AccountBackend is an optional capability of a [Backend]: with it, the
// handler serves DELETE account and POST account/email. Both backends of
// this module have it.
//
// Implementations must be safe for concurrent use.
type AccountBackend interface {
	// DeleteAccount removes u's account and every passkey of it. Deleting
	// an account that no longer exists is not an error.
	DeleteAccount(ctx context.Context, u User) error
	// StartEmailChange sends a one-time code to newEmail (normalised and
	// syntactically valid) for moving u's account to it. When newEmail
	// already belongs to an account it sends nothing and answers as if it
	// had, so that the answer does not tell whether the address is taken.
	StartEmailChange(ctx context.Context, u User, newEmail string, c Client) (OTPStart, error)
	// FinishEmailChange checks code for newEmail and moves u's account to
	// it, returning the updated user. A wrong, used or expired code, and a
	// newEmail that belongs to an account by now, are [ErrOTPInvalid].
	FinishEmailChange(ctx context.Context, u User, newEmail, code string, c Client) (User, error)
}
