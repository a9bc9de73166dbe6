package passkeys

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
)

// SessionIssuer creates a session for a user who just proved who they are
// (by OTP or passkey). The token is returned to the client as sessionToken
// and presented back as "Authorization: Bearer <token>".
//
// Implementations must be safe for concurrent use: the handler calls
// IssueSession from every request goroutine at once.
type SessionIssuer interface {
	IssueSession(ctx context.Context, u User) (token string, err error)
}

// SessionVerifier checks a session token and returns its user. A token
// that is malformed, expired, revoked or forged must yield an error
// wrapping [ErrUnauthorized] (401; its detail is what the client sees).
// Any other error means the session system itself failed (its database is
// down, say): the client gets 503 unavailable with Retry-After and the
// error is logged at ERROR.
//
// Implementations must be safe for concurrent use: the handler and the
// session guard call VerifySession from every request goroutine at once.
type SessionVerifier interface {
	VerifySession(ctx context.Context, token string) (User, error)
}

type userKey struct{}

// UserFromContext returns the user that [Handler.RequireSession] or
// [RequireSession] put into the request context.
func UserFromContext(ctx context.Context) (User, bool) {
	u, ok := ctx.Value(userKey{}).(User)
	return u, ok
}

// RequireSession wraps next so that it runs only for requests carrying a
// session token that v accepts, as "Authorization: Bearer <token>" (it
// never reads a cookie: [Handler.RequireSession] does, with
// [Options.Cookie]); the
// user is then available through [UserFromContext] and the session through
// [SessionFromContext]. A token that v refuses with an error wrapping
// [ErrUnauthorized] gets 401 application/problem+json; any other error of
// v (its database is down, say) gets 503 unavailable with Retry-After, and
// is logged at ERROR, so that an outage does not sign everyone out.
// Refused tokens are logged at DEBUG to slog.Default();
// [Handler.RequireSession] logs to [Options.Logger] instead.
func RequireSession(v SessionVerifier, next http.Handler) http.Handler {
	w := &errorWriter{}
	return w.guard(v, nil, next, slog.LevelDebug)
}

type tokenKey struct{}

// guard verifies the session and logs a refused one at level. With jar
// (cookie sessions), a request without an Authorization header may
// present the session cookie instead; a cookie that is refused with 401
// is cleared.
func (ew *errorWriter) guard(v SessionVerifier, jar *cookieJar, next http.Handler, level slog.Level) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, token, err := authenticate(r, v, jar)
		if err != nil {
			if errors.Is(err, errCookieRefused) {
				jar.clear(w)
			}
			ew.writeAt(w, r, err, level)
			return
		}
		ctx := context.WithValue(r.Context(), userKey{}, s.User)
		ctx = context.WithValue(ctx, sessionKey{}, s)
		ctx = context.WithValue(ctx, tokenKey{}, token)
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// tokenFromContext is the session token the guard verified.
func tokenFromContext(ctx context.Context) string {
	t, _ := ctx.Value(tokenKey{}).(string)
	return t
}

// errCookieRefused marks (as a cause beside the 401) a session cookie
// that the verifier refused, so that the guard clears it.
var errCookieRefused = errors.New("session cookie refused")

// authenticate finds the request's session token, in the Authorization
// header or, only when that is absent and jar is set, in the session
// cookie, and verifies it.
func authenticate(r *http.Request, v SessionVerifier, jar *cookieJar) (Session, string, error) {
	h := r.Header.Get("Authorization")
	if h == "" && jar != nil {
		token, ok := jar.token(r)
		if !ok {
			return Session{}, "", ErrUnauthorized.With("A session is required (the session cookie or Authorization: Bearer <token>).", nil)
		}
		if err := jar.checkOrigin(r); err != nil {
			return Session{}, "", err
		}
		s, err := verify(r, v, token)
		var e *Error
		if errors.As(err, &e) && e.Status == http.StatusUnauthorized {
			c := *e
			c.Err = errCookieRefused
			if e.Err != nil {
				c.Err = fmt.Errorf("%w: %w", errCookieRefused, e.Err)
			}
			err = &c
		}
		return s, token, err
	}
	if h == "" {
		return Session{}, "", ErrUnauthorized.With("A session token is required (Authorization: Bearer <token>).", nil)
	}
	scheme, token, ok := strings.Cut(h, " ")
	token = strings.TrimSpace(token)
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return Session{}, "", ErrUnauthorized.With("The Authorization header must be \"Bearer <token>\".", nil)
	}
	s, err := verify(r, v, token)
	return s, token, err
}

// verify checks token with v.
func verify(r *http.Request, v SessionVerifier, token string) (Session, error) {
	var s Session
	var err error
	if d, ok := v.(SessionDescriber); ok {
		s, err = d.DescribeSession(r.Context(), token)
	} else {
		s.User, err = v.VerifySession(r.Context(), token)
	}
	if err != nil {
		return Session{}, sessionError(err)
	}
	if s.User.ID == "" {
		return Session{}, ErrUnauthorized.With("The session token is invalid.", errors.New("verifier returned a user without ID"))
	}
	return s, nil
}

// sessionError maps a verifier's error: one wrapping ErrUnauthorized
// refuses the token (401); any other is the session system's own failure
// and becomes 503 unavailable. Whatever the answer, the verifier's whole
// error is kept as its cause, for the log.
func sessionError(err error) error {
	var e *Error
	found := errors.As(err, &e)
	if errors.Is(err, ErrUnauthorized) {
		if found && e.Status == http.StatusUnauthorized {
			return withChain(e, err)
		}
		return ErrUnauthorized.With("The session token is invalid.", err)
	}
	if found && e.Status >= 500 {
		return withChain(e, err)
	}
	return ErrUnavailable.With("", fmt.Errorf("session verifier: %w", err))
}

// withChain is e, found in err's chain, with all of err as its cause
// when err wraps e: the wrapping adds what the verifier knew (the store,
// the query), which the log must not lose.
func withChain(e *Error, err error) *Error {
	if e == err {
		return e
	}
	c := *e
	c.Err = err
	return &c
}
