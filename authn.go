package passkeys

import (
	"context"
	"time"
)

// Method names how a user proved who they are.
type Method string

// The ways a user signs in through the handler.
const (
	// MethodOTP is a one-time code sent by email (signUpOrLogin).
	MethodOTP Method = "otp"
	// MethodPasskey is a passkey chosen after entering the email
	// (passkey/login).
	MethodPasskey Method = "passkey"
	// MethodAutofill is a passkey picked from the browser's autofill
	// (conditional UI, passkey/mediation).
	MethodAutofill Method = "autofill"
)

// Authentication describes one successful sign-in: how the user proved who
// they are, when, and whether the account was created by it.
type Authentication struct {
	Method Method `json:"method"`
	// NewUser is true when this sign-in created the account.
	NewUser bool `json:"newUser"`
	// At is when the proof was checked.
	At time.Time `json:"at"`
}

type authenticationKey struct{}

// AuthenticationFromContext returns the sign-in that the handler is issuing
// a session for. The handler puts it into the context it passes to
// [SessionIssuer.IssueSession], so a session system can record the method,
// whether the user is new and the time of authentication without a wider
// interface.
func AuthenticationFromContext(ctx context.Context) (Authentication, bool) {
	a, ok := ctx.Value(authenticationKey{}).(Authentication)
	return a, ok
}

// withAuthentication returns ctx carrying a.
func withAuthentication(ctx context.Context, a Authentication) context.Context {
	return context.WithValue(ctx, authenticationKey{}, a)
}

// Session is what the session guard knows about the session behind a
// request, beyond its user.
type Session struct {
	// ID identifies the session among its user's sessions (as listed by
	// GET sessions); it is not the token and is safe to show. Empty when
	// the session system has no such notion.
	ID string
	// User is the session's user.
	User User
	// Authentication is the sign-in that created the session. Its At is the
	// zero time when the session system does not know it; then the
	// operations that need a recent sign-in are refused.
	Authentication Authentication
}

// SessionDescriber is an optional capability of a [SessionVerifier]: when
// the verifier has it, the guard calls DescribeSession instead of
// VerifySession and learns the session's ID and authentication as well as
// its user. The error rules are VerifySession's.
type SessionDescriber interface {
	DescribeSession(ctx context.Context, token string) (Session, error)
}

type sessionKey struct{}

// SessionFromContext returns the session that [Handler.RequireSession] or
// [RequireSession] verified for this request. With a verifier that is not
// a [SessionDescriber], only its User is set.
func SessionFromContext(ctx context.Context) (Session, bool) {
	s, ok := ctx.Value(sessionKey{}).(Session)
	return s, ok
}

type clientKey struct{}

// ClientFromContext returns the client whose sign-in the handler is issuing
// a session for, as it passes the context to [SessionIssuer.IssueSession],
// so that a session system can record the user agent and IP address.
func ClientFromContext(ctx context.Context) (Client, bool) {
	c, ok := ctx.Value(clientKey{}).(Client)
	return c, ok
}

// withClient returns ctx carrying c.
func withClient(ctx context.Context, c Client) context.Context {
	return context.WithValue(ctx, clientKey{}, c)
}
