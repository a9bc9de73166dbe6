package passkeys

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
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
	// Lifetime is the time from iat to exp. Default 1 hour.
	Lifetime time.Duration
	// Clock returns the current time. Default time.Now.
	Clock func() time.Time
}

// JWTSessions is the demo session system: stateless HS256 JWTs carrying
// sub (user ID), email, iss, aud, iat, exp and a random jti. It implements
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
	clock    func() time.Time
	parser   *jwt.Parser
}

var (
	_ SessionIssuer   = (*JWTSessions)(nil)
	_ SessionVerifier = (*JWTSessions)(nil)
)

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
	if o.Clock == nil {
		o.Clock = time.Now
	}
	s := &JWTSessions{
		key: append([]byte(nil), o.Key...), issuer: o.Issuer, audience: o.Audience,
		lifetime: o.Lifetime, clock: o.Clock,
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
	jwt.RegisteredClaims
}

// IssueSession returns a signed JWT for u.
func (s *JWTSessions) IssueSession(_ context.Context, u User) (string, error) {
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
	return jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(s.key)
}

// VerifySession checks the signature (HS256 only), exp (required), iss and
// aud, and returns the user in the token. iat is not compared with the
// clock, so instances whose clocks differ by a moment accept each other's
// tokens.
func (s *JWTSessions) VerifySession(_ context.Context, token string) (User, error) {
	var c sessionClaims
	_, err := s.parser.ParseWithClaims(token, &c, func(*jwt.Token) (any, error) { return s.key, nil })
	switch {
	case errors.Is(err, jwt.ErrTokenExpired):
		return User{}, ErrUnauthorized.With("The session has expired.", err)
	case err != nil:
		return User{}, ErrUnauthorized.With("The session token is invalid.", err)
	case c.Subject == "":
		return User{}, ErrUnauthorized.With("The session token is invalid.", errors.New("token has no subject"))
	}
	return User{ID: c.Subject, Email: c.Email}, nil
}
