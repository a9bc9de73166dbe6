package passkeys

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// SessionIssuer creates a session for a user who just proved who they are
// (by OTP or passkey). The token is returned to the client as sessionToken
// and presented back as "Authorization: Bearer <token>".
type SessionIssuer interface {
	IssueSession(ctx context.Context, u User) (token string, err error)
}

// SessionVerifier checks a session token and returns its user. Any token
// that is missing, malformed, expired, revoked or forged must yield an
// error; wrap [ErrUnauthorized] to control the detail the client sees.
type SessionVerifier interface {
	VerifySession(ctx context.Context, token string) (User, error)
}

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
// both [SessionIssuer] and [SessionVerifier].
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

type userKey struct{}

// UserFromContext returns the user that [Handler.RequireSession] or
// [RequireSession] put into the request context.
func UserFromContext(ctx context.Context) (User, bool) {
	u, ok := ctx.Value(userKey{}).(User)
	return u, ok
}

// RequireSession wraps next so that it runs only for requests carrying a
// session token that v accepts, as "Authorization: Bearer <token>"; the
// user is then available through [UserFromContext]. Other requests get
// 401 application/problem+json. A nil logger means slog.Default().
func RequireSession(v SessionVerifier, next http.Handler) http.Handler {
	w := &errorWriter{}
	return w.guard(v, next)
}

func (ew *errorWriter) guard(v SessionVerifier, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, err := authenticate(r, v)
		if err != nil {
			ew.write(w, r, err)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), userKey{}, u)))
	})
}

func authenticate(r *http.Request, v SessionVerifier) (User, error) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return User{}, ErrUnauthorized.With("A session token is required (Authorization: Bearer <token>).", nil)
	}
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
		return User{}, ErrUnauthorized.With("The Authorization header must be \"Bearer <token>\".", nil)
	}
	u, err := v.VerifySession(r.Context(), strings.TrimSpace(token))
	if err != nil {
		// A verifier's own failure (its database is down, say) stays a 5xx;
		// every other error rejects the token.
		var e *Error
		if errors.As(err, &e) && (e.Status >= 500 || errors.Is(e, ErrUnauthorized)) {
			return User{}, e
		}
		return User{}, ErrUnauthorized.With("The session token is invalid.", err)
	}
	if u.ID == "" {
		return User{}, ErrUnauthorized.With("The session token is invalid.", errors.New("verifier returned a user without ID"))
	}
	return u, nil
}
