package passkeys

import (
	"context"
	"errors"
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

// SessionVerifier checks a session token and returns its user. Any token
// that is missing, malformed, expired, revoked or forged must yield an
// error; wrap [ErrUnauthorized] to control the detail the client sees.
// An [*Error] with a 5xx status (its database is down, say) is passed on
// as it is; any other error becomes 401.
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
// session token that v accepts, as "Authorization: Bearer <token>"; the
// user is then available through [UserFromContext]. Other requests get
// 401 application/problem+json. Failures are logged to slog.Default();
// [Handler.RequireSession] logs to [Options.Logger] instead.
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
