package passkeys

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// JWTOptions configures [NewJWTSessions].
type JWTOptions struct {
	// Key is the HS256 key; at least 32 bytes. Required.
	Key []byte
	// Issuer and Audience are the iss and aud claims. Default "passkeys".
	Issuer   string
	Audience string
	// Lifetime is the time from iat to exp. Default 1 hour. A token
	// that claims a longer life (exp − iat more than Lifetime plus
	// ClockSkew) is refused, whoever signed it.
	Lifetime time.Duration
	// ClockSkew is how far the clocks of instances that share the key may
	// differ: a token whose iat is up to ClockSkew in the future is
	// accepted (another instance issued it a moment ahead), one further
	// ahead is refused. Default [DefaultJWTClockSkew]; it cannot be
	// negative.
	ClockSkew time.Duration
	// Clock returns the current time. Default time.Now.
	Clock func() time.Time
	// Lookup, when set, reads the account of every token that verifies:
	// the session's user is then the account as it is now (its email is
	// the account's, not the token's), and a token whose account was
	// deleted or disabled since it was issued is refused. [New] sets it to
	// the Backend when the Backend is a [UserLookup]. Default nil: the
	// user is sub with the email claim as it was issued.
	Lookup UserLookup
}

// DefaultJWTClockSkew is the default of [JWTOptions.ClockSkew].
const DefaultJWTClockSkew = time.Minute

// JWTSessions is the demo session system: stateless HS256 JWTs carrying
// sub (user ID), email, iss, aud, iat, exp and a random jti. Identity comes
// from sub alone; with [JWTOptions.Lookup] the account is read on every
// verification, so a deleted account's tokens stop working at once. It implements
// both [SessionIssuer] and [SessionVerifier] and is safe for concurrent
// use.
//
// It exists so the library works out of the box. A real application
// replaces it with its own session system: stateless tokens cannot be
// revoked before they expire, and logging out only forgets the token on the
// client.
type JWTSessions struct {
	key      []byte
	issuer   string
	audience string
	lifetime time.Duration
	skew     time.Duration
	clock    func() time.Time
	lookup   UserLookup
	parser   *jwt.Parser
}

var (
	_ SessionIssuer    = (*JWTSessions)(nil)
	_ SessionVerifier  = (*JWTSessions)(nil)
	_ SessionDescriber = (*JWTSessions)(nil)
	_ SessionLifetimer = (*JWTSessions)(nil)
)

// SessionLifetime implements [SessionLifetimer]: [JWTOptions.Lifetime].
func (s *JWTSessions) SessionLifetime() time.Duration { return s.lifetime }

// MinJWTKeyLen is the shortest key [NewJWTSessions] accepts.
const MinJWTKeyLen = 32

// NewJWTSessions validates o and returns the demo JWT session system.
func NewJWTSessions(o JWTOptions) (*JWTSessions, error) {
	if len(o.Key) < MinJWTKeyLen {
		return nil, fmt.Errorf("passkeys: JWT key must be at least %d bytes, got %d", MinJWTKeyLen, len(o.Key))
	}
	if o.Issuer == "" {
		o.Issuer = "passkeys"
	}
	if o.Audience == "" {
		o.Audience = "passkeys"
	}
	if o.Lifetime == 0 {
		o.Lifetime = time.Hour
	}
	if o.Lifetime < 0 {
		return nil, errors.New("passkeys: JWT lifetime must be positive")
	}
	switch {
	case o.ClockSkew == 0:
		o.ClockSkew = DefaultJWTClockSkew
	case o.ClockSkew < 0:
		return nil, errors.New("passkeys: JWT clock skew must not be negative")
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
	s := &JWTSessions{
		key: append([]byte(nil), o.Key...), issuer: o.Issuer, audience: o.Audience,
		lifetime: o.Lifetime, skew: o.ClockSkew, clock: o.Clock, lookup: o.Lookup,
	}
	s.parser = jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithExpirationRequired(),
		jwt.WithIssuer(o.Issuer),
		jwt.WithAudience(o.Audience),
		jwt.WithTimeFunc(o.Clock),
	)
	return s, nil
}

type sessionClaims struct {
	Email string `json:"email"`
	// AuthTime and AMR are the sign-in's time and Method; tokens issued
	// before they existed have neither.
	AuthTime *jwt.NumericDate `json:"auth_time,omitempty"`
	AMR      []string         `json:"amr,omitempty"`
	jwt.RegisteredClaims
}

// IssueSession returns a signed JWT for u.
// The sign-in from [AuthenticationFromContext], if any, becomes the
// auth_time and amr claims.
func (s *JWTSessions) IssueSession(ctx context.Context, u User) (string, error) {
	var jti [16]byte
	if _, err := rand.Read(jti[:]); err != nil {
		return "", err
	}
	now := s.clock()
	claims := sessionClaims{
		Email: u.Email,
		RegisteredClaims: jwt.RegisteredClaims{
			Subject:   u.ID,
			Issuer:    s.issuer,
			Audience:  jwt.ClaimStrings{s.audience},
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(s.lifetime)),
			ID:        base64.RawURLEncoding.EncodeToString(jti[:]),
		},
	}
	if a, ok := AuthenticationFromContext(ctx); ok {
		if !a.At.IsZero() {
			claims.AuthTime = jwt.NewNumericDate(a.At)
		}
		if a.Method != "" {
			claims.AMR = []string{string(a.Method)}
		}
	}
	return jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(s.key)
}

// VerifySession checks the signature (HS256 only), exp (required), iss,
// aud and iat (required, at most ClockSkew in the future, so instances
// whose clocks differ by a moment accept each other's tokens), and that
// exp − iat is at most Lifetime plus ClockSkew; iat, exp, nbf and
// auth_time must be JSON numbers. The user is sub; with a
// Lookup it is the account Lookup returns for sub, and an account that is
// gone is [ErrUnauthorized].
func (s *JWTSessions) VerifySession(ctx context.Context, token string) (User, error) {
	u, _, err := s.verify(ctx, token)
	return u, err
}

// DescribeSession is VerifySession that also returns the session: its ID
// is the jti, its Authentication the auth_time and amr claims (zero for a
// token without them).
func (s *JWTSessions) DescribeSession(ctx context.Context, token string) (Session, error) {
	u, c, err := s.verify(ctx, token)
	if err != nil {
		return Session{}, err
	}
	sess := Session{ID: c.ID, User: u}
	if c.AuthTime != nil {
		sess.Authentication.At = c.AuthTime.Time
	}
	if len(c.AMR) > 0 {
		sess.Authentication.Method = Method(c.AMR[0])
	}
	return sess, nil
}

func (s *JWTSessions) verify(ctx context.Context, token string) (User, sessionClaims, error) {
	u, c, err := s.verifyClaims(ctx, token)
	return u, c, err
}

func (s *JWTSessions) verifyClaims(ctx context.Context, token string) (User, sessionClaims, error) {
	var c sessionClaims
	u, err := s.verifyInto(ctx, token, &c)
	return u, c, err
}

func (s *JWTSessions) verifyInto(ctx context.Context, token string, cp *sessionClaims) (User, error) {
	c := cp
	_, err := s.parser.ParseWithClaims(token, c, func(*jwt.Token) (any, error) { return s.key, nil })
	invalid := func(cause error) (User, error) {
		return User{}, ErrUnauthorized.With("The session token is invalid.", cause)
	}
	var dateErr error
	if err == nil {
		dateErr = numericDates(token)
	}
	switch {
	case errors.Is(err, jwt.ErrTokenExpired):
		return User{}, ErrUnauthorized.With("The session has expired.", err)
	case err != nil:
		return invalid(err)
	case c.Subject == "":
		return invalid(errors.New("token has no subject"))
	case dateErr != nil:
		return invalid(dateErr)
	case c.IssuedAt == nil:
		return invalid(errors.New("token has no iat"))
	case c.IssuedAt.After(s.clock().Add(s.skew)):
		return invalid(fmt.Errorf("token issued at %s, more than %s in the future", c.IssuedAt.UTC().Format(time.RFC3339), s.skew))
	case c.ExpiresAt.Sub(c.IssuedAt.Time) > s.lifetime+s.skew:
		return invalid(fmt.Errorf("token lives %s, longer than the lifetime %s", c.ExpiresAt.Sub(c.IssuedAt.Time), s.lifetime))
	}
	if s.lookup == nil {
		return User{ID: c.Subject, Email: c.Email}, nil
	}
	u, err := s.lookup.LookupUser(ctx, c.Subject)
	var e *Error
	switch {
	case err == nil && u.ID != c.Subject:
		return invalid(fmt.Errorf("the account lookup of %q returned user %q", c.Subject, u.ID))
	case err == nil:
		return u, nil
	case errors.Is(err, ErrUnauthorized):
		return User{}, err
	case errors.Is(err, ErrNotFound):
		return User{}, ErrUnauthorized.With("The account of this session no longer exists.", err)
	case errors.As(err, &e) && e.Status >= 500:
		return User{}, err
	}
	return User{}, ErrInternal.With("", fmt.Errorf("looking up the account of a session: %w", err))
}

// numericDates refuses a token whose time claims are not JSON numbers (RFC
// 7519 §2, NumericDate): golang-jwt also reads a string holding digits,
// "1700000000", so two encodings of one time would both verify. token has
// been parsed already, so its payload is valid base64url JSON.
func numericDates(token string) error {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return errors.New("token is not three parts")
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return fmt.Errorf("token payload: %w", err)
	}
	var dates struct {
		Iat, Exp, Nbf json.RawMessage
		AuthTime      json.RawMessage `json:"auth_time"`
	}
	if err := json.Unmarshal(payload, &dates); err != nil {
		return fmt.Errorf("token payload: %w", err)
	}
	for name, v := range map[string]json.RawMessage{"iat": dates.Iat, "exp": dates.Exp, "nbf": dates.Nbf, "auth_time": dates.AuthTime} {
		if len(v) > 0 && (v[0] != '-' && (v[0] < '0' || v[0] > '9')) {
			return fmt.Errorf("token claim %s is not a number", name)
		}
	}
	return nil
}
