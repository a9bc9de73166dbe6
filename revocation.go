package passkeys

import (
	"context"
	"time"
)

// SessionRevoker is an optional capability of a [SessionVerifier]: with
// it, POST logout revokes the presented session, so that the same token is
// refused from the next request on, on every instance that shares the
// session system. Without it (the demo JWTs), logout only clears the
// session cookie, if there is one, and the token stays valid until it
// expires.
//
// Implementations must be safe for concurrent use.
type SessionRevoker interface {
	// RevokeSession ends the session of token. Revoking a session that is
	// unknown, expired or already revoked is not an error.
	RevokeSession(ctx context.Context, token string) error
}

// SessionInfo describes one of a user's sessions, as listed by GET sessions.
type SessionInfo struct {
	ID             string         `json:"id"`
	CreatedAt      time.Time      `json:"createdAt"`
	LastSeenAt     time.Time      `json:"lastSeenAt"`
	UserAgent      string         `json:"userAgent"`
	Authentication Authentication `json:"authentication"`
	// Current is true for the session of the request that lists them.
	Current bool `json:"current"`
}

// SessionManager is an optional capability of a [SessionVerifier] that
// keeps its sessions on the server: with it, the handler serves GET
// sessions and DELETE sessions/{id}, and deleting an account ends all of
// its sessions.
//
// Implementations must be safe for concurrent use.
type SessionManager interface {
	// ListSessions returns the user's live sessions, newest first.
	ListSessions(ctx context.Context, userID string) ([]SessionInfo, error)
	// RevokeSessionByID ends the user's session with this ID. A session
	// that does not exist, or belongs to another user, is [ErrNotFound].
	RevokeSessionByID(ctx context.Context, userID, id string) error
	// RevokeUserSessions ends every session of the user.
	RevokeUserSessions(ctx context.Context, userID string) error
}
