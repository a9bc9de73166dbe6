// # Sessions
//
// The package also ships a revocable session system, [Sessions], for
// hosts that have none of their own. It issues opaque
// random tokens ("pks_" and 43 base64url characters, 256 random bits),
// keeps only their SHA-256 hashes in a [SessionStore] (memstore,
// sqlitestore and pgstore have one) together with the user, the user
// agent and IP address of the sign-in, the time of creation and of the
// last request, the sign-in method and time, and an absolute and an idle
// expiry. Every check reads the store, so a logout, a revoked session or a
// deleted account is refused from the next request on, on every instance
// sharing the database. A host passes it as both seams:
//
//	sessions, err := selfhosted.NewSessions(store, selfhosted.SessionsConfig{})
//	h, err := passkeys.New(passkeys.Options{
//		Backend: engine, SessionIssuer: sessions, SessionVerifier: sessions,
//	})
//
// [Sessions.RevokeSession] serves logout, [Sessions.ListSessions] and
// [Sessions.RevokeSessionByID] the list of signed-in devices, and
// [Sessions.RevokeUserSessions] account deletion. IssueSession records the
// sign-in (method, time, whether the user is new) and the client that the
// handler puts into its context ([passkeys.AuthenticationFromContext],
// [passkeys.ClientFromContext]); without them, they are unknown.
package selfhosted

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/passkeyready/passkeys"
)

// SessionsConfig configures [NewSessions]. The zero value is the default
// configuration.
type SessionsConfig struct {
	// AbsoluteLifetime is how long a session lasts after its sign-in, however
	// active it is. Default 30 days.
	AbsoluteLifetime time.Duration
	// IdleTimeout ends a session that no request has presented for this
	// long. Default 7 days. A value of AbsoluteLifetime or more turns the
	// idle expiry off.
	IdleTimeout time.Duration
	// TouchInterval is how often, at most, a request writes the session's
	// last-seen time (and so moves its idle expiry on): a check within
	// TouchInterval of the last write only reads. Default 1 minute; it
	// must be shorter than IdleTimeout, and 1ns writes on every request.
	TouchInterval time.Duration
	// Clock returns the current time. Default time.Now.
	Clock func() time.Time
	// Random is the source of tokens and session IDs. Default
	// crypto/rand.Reader; anything else must be as unpredictable.
	Random io.Reader
}

// The defaults of [SessionsConfig].
const (
	DefaultSessionLifetime      = 30 * 24 * time.Hour
	DefaultSessionIdleTimeout   = 7 * 24 * time.Hour
	DefaultSessionTouchInterval = time.Minute
)

// SessionTokenPrefix starts every token [Sessions] issues, so that secret
// scanners can recognise a leaked one.
const SessionTokenPrefix = "pks_"

const (
	tokenBytes = 32 // random bytes in a token: 256 bits
	tokenLen   = len(SessionTokenPrefix) + (tokenBytes*8+5)/6
	idBytes    = 16 // random bytes in a session ID
	idLen      = (idBytes*8 + 5) / 6
	// maxUserAgent bounds the user agent stored with a session, in bytes.
	maxUserAgent = 512
	// maxIP bounds the IP address stored with a session, in bytes; an
	// IPv6 address with a zone fits.
	maxIP = 64
)

// Sessions is a revocable session system on a [SessionStore]: see the
// package documentation. It implements [passkeys.SessionIssuer],
// [passkeys.SessionVerifier], [passkeys.SessionDescriber],
// [passkeys.SessionRevoker] and [passkeys.SessionManager]. Create it with
// [NewSessions]; it is safe for concurrent use, and several instances may
// use one shared store. It caches nothing.
type Sessions struct {
	store    SessionStore
	lifetime time.Duration
	idle     time.Duration
	touch    time.Duration
	clock    func() time.Time
	random   io.Reader
}

var (
	_ passkeys.SessionIssuer    = (*Sessions)(nil)
	_ passkeys.SessionVerifier  = (*Sessions)(nil)
	_ passkeys.SessionDescriber = (*Sessions)(nil)
	_ passkeys.SessionRevoker   = (*Sessions)(nil)
	_ passkeys.SessionManager   = (*Sessions)(nil)
	_ passkeys.SessionLifetimer = (*Sessions)(nil)
)

// SessionLifetime implements [passkeys.SessionLifetimer]: the absolute
// lifetime, which the session cookie's Max-Age follows (the idle timeout
// is enforced here, on the server).
func (s *Sessions) SessionLifetime() time.Duration { return s.lifetime }

// NewSessions validates cfg, fills its defaults and returns the session
// system on store. Its error names the field at fault.
func NewSessions(store SessionStore, cfg SessionsConfig) (*Sessions, error) {
	if store == nil {
		return nil, errors.New("selfhosted: NewSessions: store is nil")
	}
	for _, f := range []struct {
		name string
		v    *time.Duration
		def  time.Duration
	}{
		{"AbsoluteLifetime", &cfg.AbsoluteLifetime, DefaultSessionLifetime},
		{"IdleTimeout", &cfg.IdleTimeout, DefaultSessionIdleTimeout},
		{"TouchInterval", &cfg.TouchInterval, DefaultSessionTouchInterval},
	} {
		switch {
		case *f.v < 0:
			return nil, fmt.Errorf("selfhosted: SessionsConfig.%s must not be negative, got %v", f.name, *f.v)
		case *f.v == 0:
			*f.v = f.def
		}
	}
	if cfg.TouchInterval >= cfg.IdleTimeout {
		return nil, fmt.Errorf("selfhosted: SessionsConfig.TouchInterval (%v) must be shorter than IdleTimeout (%v), or active sessions would expire", cfg.TouchInterval, cfg.IdleTimeout)
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.Random == nil {
		cfg.Random = rand.Reader
	}
	return &Sessions{
		store: store, lifetime: cfg.AbsoluteLifetime, idle: cfg.IdleTimeout, touch: cfg.TouchInterval,
		clock: cfg.Clock, random: cfg.Random,
	}, nil
}

// now returns the clock's time in UTC to the microsecond, the precision
// every store keeps.
func (s *Sessions) now() time.Time {
	return s.clock().UTC().Truncate(time.Microsecond)
}

// IssueSession implements [passkeys.SessionIssuer]: it stores a new session
// for u and returns its token. It records the sign-in and the client that
// [passkeys.AuthenticationFromContext] and [passkeys.ClientFromContext]
// find in ctx; without them the method, time, user agent and IP are
// recorded as unknown, and then the operations that need a recent sign-in
// are refused for the session.
func (s *Sessions) IssueSession(ctx context.Context, u passkeys.User) (string, error) {
	if u.ID == "" {
		return "", errors.New("selfhosted: IssueSession: user without ID")
	}
	buf := make([]byte, tokenBytes+idBytes)
	if _, err := io.ReadFull(s.random, buf); err != nil {
		return "", fmt.Errorf("selfhosted: IssueSession: read random: %w", err)
	}
	token := SessionTokenPrefix + base64.RawURLEncoding.EncodeToString(buf[:tokenBytes])
	now := s.now()
	r := SessionRecord{
		ID:            base64.RawURLEncoding.EncodeToString(buf[tokenBytes:]),
		TokenHash:     hashToken(token),
		UserID:        clean(u.ID, -1),
		Email:         clean(u.Email, -1),
		CreatedAt:     now,
		LastSeenAt:    now,
		ExpiresAt:     now.Add(s.lifetime),
		IdleExpiresAt: now.Add(s.idle),
	}
	if r.UserID != u.ID {
		return "", errors.New("selfhosted: IssueSession: user ID is not valid UTF-8 without NUL bytes")
	}
	if a, ok := passkeys.AuthenticationFromContext(ctx); ok {
		r.AuthMethod = clean(string(a.Method), 32)
		r.NewUser = a.NewUser
		if !a.At.IsZero() {
			r.AuthenticatedAt = a.At.UTC().Truncate(time.Microsecond)
		}
	}
	if c, ok := passkeys.ClientFromContext(ctx); ok {
		r.UserAgent = clean(displayText(c.UserAgent), maxUserAgent)
		r.IP = clean(c.RemoteAddr, maxIP)
	}
	if err := s.store.CreateSession(ctx, r, now); err != nil {
		return "", fmt.Errorf("selfhosted: IssueSession: %w", err)
	}
	return token, nil
}

// VerifySession implements [passkeys.SessionVerifier]; it is
// [Sessions.DescribeSession]'s User.
func (s *Sessions) VerifySession(ctx context.Context, token string) (passkeys.User, error) {
	sess, err := s.DescribeSession(ctx, token)
	return sess.User, err
}

// DescribeSession implements [passkeys.SessionDescriber]: it finds the
// session of token in the store and returns it, writing the time of this
// request to it when the last write is TouchInterval old or older. A
// token that is malformed, unknown, expired or revoked is an error wrapping
// [passkeys.ErrUnauthorized] (401). A store failure is never that, so an
// outage signs nobody out: the store's own [*passkeys.Error] is returned
// as it is, any other failure wrapped in [passkeys.ErrUnavailable] (503).
func (s *Sessions) DescribeSession(ctx context.Context, token string) (passkeys.Session, error) {
	if !wellFormed(token) {
		return passkeys.Session{}, errInvalidSession.With("", errors.New("selfhosted: malformed session token"))
	}
	now := s.now()
	r, err := s.store.SessionByTokenHash(ctx, hashToken(token), now)
	if err != nil {
		return passkeys.Session{}, s.verifyErr("read session", err)
	}
	if now.Sub(r.LastSeenAt) >= s.touch {
		if err := s.store.TouchSession(ctx, r.ID, now, now.Add(s.idle)); err != nil {
			// ErrNotFound: revoked or expired since the read.
			return passkeys.Session{}, s.verifyErr("touch session", err)
		}
	}
	return passkeys.Session{
		ID:   r.ID,
		User: passkeys.User{ID: r.UserID, Email: r.Email},
		Authentication: passkeys.Authentication{
			Method: passkeys.Method(r.AuthMethod), NewUser: r.NewUser, At: r.AuthenticatedAt,
		},
	}, nil
}

// errInvalidSession is the answer to a token that has no live session.
var errInvalidSession = passkeys.ErrUnauthorized.With("The session token is invalid or has expired.", nil)

// verifyErr maps a store error met while checking a token: ErrNotFound is
// a 401, anything else a 5xx.
func (s *Sessions) verifyErr(op string, err error) error {
	if errors.Is(err, ErrNotFound) {
		return errInvalidSession.With("", fmt.Errorf("selfhosted: %s: no live session", op))
	}
	var e *passkeys.Error
	if errors.As(err, &e) && e.Status >= 500 {
		return err
	}
	return fmt.Errorf("selfhosted: %s: %w: %w", op, passkeys.ErrUnavailable, err)
}

// RevokeSession implements [passkeys.SessionRevoker]: it deletes the
// session of token from the store. A token without a stored session is
// not an error.
func (s *Sessions) RevokeSession(ctx context.Context, token string) error {
	if !wellFormed(token) {
		return nil
	}
	err := s.store.DeleteSessionByTokenHash(ctx, hashToken(token))
	if err != nil && !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("selfhosted: RevokeSession: %w", err)
	}
	return nil
}

// ListSessions implements [passkeys.SessionManager]: the user's live
// sessions, newest first. Current is left false; the handler knows which
// session is the request's.
func (s *Sessions) ListSessions(ctx context.Context, userID string) ([]passkeys.SessionInfo, error) {
	rs, err := s.store.SessionsByUser(ctx, userID, s.now())
	if err != nil {
		return nil, fmt.Errorf("selfhosted: ListSessions: %w", err)
	}
	list := make([]passkeys.SessionInfo, len(rs))
	for i, r := range rs {
		list[i] = passkeys.SessionInfo{
			ID: r.ID, CreatedAt: r.CreatedAt, LastSeenAt: r.LastSeenAt, UserAgent: r.UserAgent,
			Authentication: passkeys.Authentication{Method: passkeys.Method(r.AuthMethod), NewUser: r.NewUser, At: r.AuthenticatedAt},
		}
	}
	return list, nil
}

// RevokeSessionByID implements [passkeys.SessionManager]. An ID that is
// not one of the user's live sessions is [passkeys.ErrNotFound], and
// changes nothing.
func (s *Sessions) RevokeSessionByID(ctx context.Context, userID, id string) error {
	if !isBase64URL(id, idLen) {
		return errNoSession
	}
	err := s.store.DeleteSession(ctx, userID, id, s.now())
	switch {
	case errors.Is(err, ErrNotFound):
		return errNoSession
	case err != nil:
		return fmt.Errorf("selfhosted: RevokeSessionByID: %w", err)
	}
	return nil
}

var errNoSession = passkeys.ErrNotFound.With("The session does not exist.", nil)

// RevokeUserSessions implements [passkeys.SessionManager]: it deletes every
// session of the user. A user without sessions is not an error.
func (s *Sessions) RevokeUserSessions(ctx context.Context, userID string) error {
	if err := s.store.DeleteUserSessions(ctx, userID); err != nil {
		return fmt.Errorf("selfhosted: RevokeUserSessions: %w", err)
	}
	return nil
}

// hashToken returns the SHA-256 hash under which token's session is
// stored.
func hashToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// wellFormed reports whether token has the shape of a token IssueSession
// makes, so that anything else is refused without a store query.
func wellFormed(token string) bool {
	rest, ok := strings.CutPrefix(token, SessionTokenPrefix)
	return ok && isBase64URL(rest, tokenLen-len(SessionTokenPrefix))
}

// isBase64URL reports whether s is n characters of the unpadded base64url
// alphabet.
func isBase64URL(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := range len(s) {
		c := s[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// displayText drops the characters that would make s display as
// something else where it is shown (the sessions list shows the User-Agent
// a client sent): control characters and format characters, which hold
// the bidi overrides and isolates, zero-width and other invisible ones.
func displayText(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.In(r, unicode.Cc, unicode.Cf) {
			return -1
		}
		return r
	}, s)
}

// clean makes s storable: invalid UTF-8 and NUL bytes are dropped, and
// when limit is not negative the result is cut to at most limit bytes on a
// character boundary.
func clean(s string, limit int) string {
	s = strings.ToValidUTF8(s, "")
	s = strings.ReplaceAll(s, "\x00", "")
	if limit < 0 || len(s) <= limit {
		return s
	}
	s = s[:limit]
	for len(s) > 0 {
		r, size := utf8.DecodeLastRuneInString(s)
		if r != utf8.RuneError || size > 1 {
			break
		}
		s = s[:len(s)-1]
	}
	return s
}
