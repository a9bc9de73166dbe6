package selfhosted

import (
	"context"
	"time"
)

// SessionRecord is a stored session of [Sessions]. The token itself is
// never stored, only its SHA-256 hash.
//
// Strings are valid UTF-8 without NUL bytes (PostgreSQL's text cannot hold
// them); [Sessions] cleans what it takes from the request. Times are
// stored to the microsecond.
type SessionRecord struct {
	// ID identifies the session; random, unique and safe to show (it is
	// not the token and does not lead to it).
	ID string
	// TokenHash is the SHA-256 hash of the session token; unique.
	TokenHash []byte
	// UserID and Email are the session's user, as IssueSession got it.
	UserID string
	Email  string
	// CreatedAt is when the session was issued.
	CreatedAt time.Time
	// LastSeenAt is when a request last presented the token, as written by
	// TouchSession; CreatedAt until then.
	LastSeenAt time.Time
	// ExpiresAt is the absolute end of the session, however active it is.
	ExpiresAt time.Time
	// IdleExpiresAt is when the session ends unless a request presents it
	// before; TouchSession moves it on. The session is live at a time t
	// while both ExpiresAt and IdleExpiresAt are after t.
	IdleExpiresAt time.Time
	// UserAgent and IP describe the client that signed in; empty when
	// unknown.
	UserAgent string
	IP        string
	// AuthMethod is how the user signed in (a [passkeys.Method]: "otp",
	// "passkey", "autofill"), AuthenticatedAt when, and NewUser whether
	// that sign-in created the account. AuthMethod is empty and
	// AuthenticatedAt the zero time when unknown.
	AuthMethod      string
	AuthenticatedAt time.Time
	NewUser         bool
}

// SessionStore stores the sessions of [Sessions]. It is an optional
// capability of a [Store], discovered with a type assertion; memstore,
// sqlitestore and pgstore have it:
//
//	ss, ok := store.(selfhosted.SessionStore)
//
// storetest.RunHarness checks it when a store implements it.
//
// Its methods are called from every request at once and must be safe for
// concurrent use, also across instances when the store is shared. Nothing
// may be cached: a session deleted by one call, on any instance sharing
// the database, is not found by any call that starts after it returned.
//
// A session is live at now while ExpiresAt and IdleExpiresAt are both
// after now. Methods that take now see only live sessions; expired ones
// may stay stored until CreateSession purges them.
type SessionStore interface {
	// CreateSession stores r. It returns ErrDuplicate, and changes
	// nothing, when a stored session (live, or expired and not yet purged)
	// has r's ID or TokenHash; of concurrent calls with the same ID or
	// TokenHash at most one succeeds.
	// Implementations purge sessions expired at now here, a bounded number
	// at a time and at least as many as they add on average, so that
	// expired sessions cannot accumulate; a session live at now is never
	// purged.
	CreateSession(ctx context.Context, r SessionRecord, now time.Time) error
	// SessionByTokenHash returns the session with this token hash if it is
	// live at now, and ErrNotFound when there is none or it has expired.
	SessionByTokenHash(ctx context.Context, tokenHash []byte, now time.Time) (SessionRecord, error)
	// TouchSession records a request at seen on the session id: in one
	// atomic step, if the session is live at seen, LastSeenAt becomes
	// seen and IdleExpiresAt becomes idleExpiresAt, each only if that
	// moves it later (so concurrent touches never move it back). It
	// returns ErrNotFound when no session with this ID is live at seen.
	// Callers throttle it; it writes on every call.
	TouchSession(ctx context.Context, id string, seen, idleExpiresAt time.Time) error
	// SessionsByUser returns the user's sessions live at now, newest
	// first: by CreatedAt descending, then ID descending. A user without
	// sessions gets an empty slice and no error.
	SessionsByUser(ctx context.Context, userID string, now time.Time) ([]SessionRecord, error)
	// DeleteSession removes the session id if it belongs to userID and is
	// live at now. It returns ErrNotFound, and changes nothing, when there
	// is no such session: unknown, expired or another user's (whose
	// session is left untouched). Of concurrent callers exactly one
	// succeeds.
	DeleteSession(ctx context.Context, userID, id string, now time.Time) error
	// DeleteSessionByTokenHash removes the session with this token hash,
	// live or expired. It returns ErrNotFound when none is stored; of
	// concurrent callers exactly one succeeds.
	DeleteSessionByTokenHash(ctx context.Context, tokenHash []byte) error
	// DeleteUserSessions removes every session of the user, live or
	// expired, in one atomic step. A user without sessions is not an
	// error.
	DeleteUserSessions(ctx context.Context, userID string) error
}
