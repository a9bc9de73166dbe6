package selfhosted_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/passkeyready/passkeys"
	"github.com/passkeyready/passkeys/internal/e2e"
	"github.com/passkeyready/passkeys/passkeystest"
	"github.com/passkeyready/passkeys/selfhosted"
	"github.com/passkeyready/passkeys/selfhosted/memstore"
)

// spyStore is a SessionStore that counts the calls Sessions makes and can
// be told to fail them.
type spyStore struct {
	selfhosted.SessionStore
	reads, touches atomic.Int32
	fail           atomic.Pointer[error] // returned by every call when set
}

func (s *spyStore) failWith(err error) { s.fail.Store(&err) }

func (s *spyStore) err() error {
	if p := s.fail.Load(); p != nil {
		return *p
	}
	return nil
}

func (s *spyStore) SessionByTokenHash(ctx context.Context, h []byte, now time.Time) (selfhosted.SessionRecord, error) {
	s.reads.Add(1)
	if err := s.err(); err != nil {
		return selfhosted.SessionRecord{}, err
	}
	return s.SessionStore.SessionByTokenHash(ctx, h, now)
}

func (s *spyStore) TouchSession(ctx context.Context, id string, seen, idle time.Time) error {
	s.touches.Add(1)
	if err := s.err(); err != nil {
		return err
	}
	return s.SessionStore.TouchSession(ctx, id, seen, idle)
}

// sessionsEnv is a Sessions on a spied memstore with a settable clock.
type sessionsEnv struct {
	*selfhosted.Sessions
	store *spyStore
	clock *e2e.Clock
}

func newSessionsEnv(t *testing.T, cfg selfhosted.SessionsConfig) *sessionsEnv {
	t.Helper()
	env := &sessionsEnv{store: &spyStore{SessionStore: memstore.New()}, clock: e2e.NewClock()}
	cfg.Clock = env.clock.Now
	s, err := selfhosted.NewSessions(env.store, cfg)
	if err != nil {
		t.Fatal(err)
	}
	env.Sessions = s
	return env
}

func (env *sessionsEnv) issue(t *testing.T, u passkeys.User) string {
	t.Helper()
	token, err := env.IssueSession(t.Context(), u)
	if err != nil {
		t.Fatalf("IssueSession(%s): %v", u.ID, err)
	}
	return token
}

var (
	alice = passkeys.User{ID: "alice", Email: "alice@example.com"}
	bob   = passkeys.User{ID: "bob", Email: "bob@example.com"}
)

// wantAccepted reports a violation unless token is u's live session.
func wantAccepted(t *testing.T, s *selfhosted.Sessions, what, token string, u passkeys.User) passkeys.Session {
	t.Helper()
	sess, err := s.DescribeSession(t.Context(), token)
	if err != nil {
		t.Errorf("%s: DescribeSession: %v", what, err)
		return sess
	}
	if sess.User != u || sess.ID == "" {
		t.Errorf("%s: DescribeSession = %+v, want user %+v and an ID", what, sess, u)
	}
	if got, err := s.VerifySession(t.Context(), token); err != nil || got != u {
		t.Errorf("%s: VerifySession = %+v, %v; want %+v", what, got, err, u)
	}
	return sess
}

// wantRefused reports a violation unless token is refused with a 401.
func wantRefused(t *testing.T, s *selfhosted.Sessions, what, token string) {
	t.Helper()
	_, err := s.VerifySession(t.Context(), token)
	var e *passkeys.Error
	if !errors.Is(err, passkeys.ErrUnauthorized) || !errors.As(err, &e) || e.Status != http.StatusUnauthorized {
		t.Errorf("%s: VerifySession = %v, want a 401 wrapping ErrUnauthorized", what, err)
	}
}

func TestSessionTokens(t *testing.T) {
	env := newSessionsEnv(t, selfhosted.SessionsConfig{})
	seen := map[string]bool{}
	for range 50 {
		token := env.issue(t, alice)
		rest, ok := strings.CutPrefix(token, selfhosted.SessionTokenPrefix)
		raw, err := base64.RawURLEncoding.Strict().DecodeString(rest)
		if !ok || err != nil || len(raw) < 32 {
			t.Fatalf("token %q: want %q and at least 32 bytes in unpadded base64url (%v)", token, selfhosted.SessionTokenPrefix, err)
		}
		if seen[token] {
			t.Fatalf("token %q issued twice", token)
		}
		seen[token] = true
	}

	// The store holds the SHA-256 of the token, and the token nowhere.
	token := env.issue(t, bob)
	h := sha256.Sum256([]byte(token))
	r, err := env.store.SessionByTokenHash(t.Context(), h[:], env.clock.Now())
	if err != nil {
		t.Fatalf("the session is not stored under the SHA-256 of its token: %v", err)
	}
	if fields := fmt.Sprintf("%+v", r); strings.Contains(fields, token) || strings.Contains(fields, strings.TrimPrefix(token, selfhosted.SessionTokenPrefix)) {
		t.Errorf("the stored record holds the token: %s", fields)
	}
	if strings.Contains(token, r.ID) {
		t.Errorf("session ID %q is part of the token", r.ID)
	}
	sess := wantAccepted(t, env.Sessions, "new session", token, bob)
	if sess.ID != r.ID {
		t.Errorf("DescribeSession ID = %q, want the stored %q", sess.ID, r.ID)
	}
	// Issued outside a handler, the sign-in is unknown.
	if sess.Authentication != (passkeys.Authentication{}) {
		t.Errorf("Authentication = %+v, want the zero value without a sign-in in the context", sess.Authentication)
	}
}

func TestSessionsRefuse(t *testing.T) {
	env := newSessionsEnv(t, selfhosted.SessionsConfig{})
	token := env.issue(t, alice)
	last := token[len(token)-1]
	flipped := token[:len(token)-1] + string("AB"[bool2int(last == 'A')])
	for _, tc := range []struct {
		name, token string
		reads       bool // whether the store is asked
	}{
		{"empty", "", false},
		{"no prefix", strings.TrimPrefix(token, selfhosted.SessionTokenPrefix), false},
		{"other prefix", "pkx_" + strings.TrimPrefix(token, selfhosted.SessionTokenPrefix), false},
		{"short", token[:len(token)-1], false},
		{"long", token + "A", false},
		{"padding", token[:len(token)-1] + "=", false},
		{"standard base64", token[:len(token)-1] + "+", false},
		{"NUL", token[:len(token)-1] + "\x00", false},
		{"JWT", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl", false},
		{"one character changed", flipped, true},
		{"unknown", selfhosted.SessionTokenPrefix + strings.Repeat("A", len(token)-len(selfhosted.SessionTokenPrefix)), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := env.store.reads.Load()
			wantRefused(t, env.Sessions, tc.name, tc.token)
			if read := env.store.reads.Load() != before; read != tc.reads {
				t.Errorf("store read = %t, want %t", read, tc.reads)
			}
			if err := env.RevokeSession(t.Context(), tc.token); err != nil {
				t.Errorf("RevokeSession: %v, want nil for a token without a session", err)
			}
		})
	}
	wantAccepted(t, env.Sessions, "the real token, after the others were revoked", token, alice)
}

func bool2int(b bool) int {
	if b {
		return 1
	}
	return 0
}

func TestSessionsExpire(t *testing.T) {
	cfg := selfhosted.SessionsConfig{AbsoluteLifetime: 10 * time.Hour, IdleTimeout: time.Hour, TouchInterval: time.Minute}

	t.Run("Idle", func(t *testing.T) {
		env := newSessionsEnv(t, cfg)
		token := env.issue(t, alice)
		env.clock.Advance(time.Hour - time.Microsecond)
		wantAccepted(t, env.Sessions, "just before the idle timeout", token, alice)
		// That check moved the idle expiry on by an hour.
		env.clock.Advance(time.Hour - time.Microsecond)
		wantAccepted(t, env.Sessions, "an hour after the last request, less a microsecond", token, alice)
		env.clock.Advance(time.Hour)
		wantRefused(t, env.Sessions, "an hour after the last request", token)
	})

	t.Run("Absolute", func(t *testing.T) {
		env := newSessionsEnv(t, cfg)
		token := env.issue(t, alice)
		for i := 1; i < 20; i++ {
			env.clock.Advance(30 * time.Minute)
			wantAccepted(t, env.Sessions, fmt.Sprintf("active, after %v", time.Duration(i)*30*time.Minute), token, alice)
		}
		env.clock.Advance(30*time.Minute - time.Microsecond)
		wantAccepted(t, env.Sessions, "active, just before the absolute lifetime", token, alice)
		env.clock.Advance(time.Microsecond)
		wantRefused(t, env.Sessions, "active, at the absolute lifetime", token)
	})
}

func TestSessionsTouchThrottled(t *testing.T) {
	env := newSessionsEnv(t, selfhosted.SessionsConfig{TouchInterval: time.Minute})
	token := env.issue(t, alice)
	issued := env.clock.Now()
	for _, step := range []struct {
		advance time.Duration
		touch   bool
		seen    time.Duration // LastSeenAt after the check, since issue
	}{
		{0, false, 0},
		{30 * time.Second, false, 0},
		{30*time.Second - time.Microsecond, false, 0},
		{time.Microsecond, true, time.Minute},
		{59 * time.Second, false, time.Minute},
		{time.Second, true, 2 * time.Minute},
		{time.Hour, true, time.Hour + 2*time.Minute},
	} {
		env.clock.Advance(step.advance)
		before := env.store.touches.Load()
		for range 3 {
			wantAccepted(t, env.Sessions, "check", token, alice)
		}
		at := env.clock.Now().Sub(issued)
		if n, want := env.store.touches.Load()-before, int32(bool2int(step.touch)); n != want {
			t.Errorf("at +%v: %d touches in three checks, want %d", at, n, want)
		}
		list, err := env.ListSessions(t.Context(), alice.ID)
		if err != nil || len(list) != 1 {
			t.Fatalf("ListSessions = %+v, %v", list, err)
		}
		if got, want := list[0].LastSeenAt, issued.Add(step.seen); !got.Equal(want) {
			t.Errorf("at +%v: LastSeenAt = %v, want %v", at, got, want)
		}
	}
}

// A store that fails does not sign anyone out: the check is a 5xx.
func TestSessionsStoreFailureIsNotUnauthorized(t *testing.T) {
	down := errors.New("connection refused")
	for _, tc := range []struct {
		name    string
		err     error
		touch   bool
		wantIs  error
		status  int
		advance time.Duration
	}{
		{name: "read, plain error", err: down, wantIs: passkeys.ErrUnavailable, status: 503},
		{name: "read, store's own 503", err: fmt.Errorf("pgstore: %w: %w", passkeys.ErrUnavailable, down), wantIs: passkeys.ErrUnavailable, status: 503},
		{name: "read, store's own 500", err: passkeys.ErrInternal.With("", down), wantIs: passkeys.ErrInternal, status: 500},
		{name: "touch, plain error", err: down, touch: true, wantIs: passkeys.ErrUnavailable, status: 503, advance: time.Hour},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := newSessionsEnv(t, selfhosted.SessionsConfig{})
			token := env.issue(t, alice)
			env.clock.Advance(tc.advance)
			s := env.Sessions
			if tc.touch { // only the touch fails
				var err error
				s, err = selfhosted.NewSessions(touchFails{env.store, tc.err}, selfhosted.SessionsConfig{Clock: env.clock.Now})
				if err != nil {
					t.Fatal(err)
				}
			} else {
				env.store.failWith(tc.err)
			}
			_, err := s.VerifySession(t.Context(), token)
			var e *passkeys.Error
			switch {
			case errors.Is(err, passkeys.ErrUnauthorized):
				t.Fatalf("VerifySession with the store failing = %v, a 401", err)
			case !errors.Is(err, tc.wantIs) || !errors.As(err, &e) || e.Status != tc.status:
				t.Fatalf("VerifySession with the store failing = %v, want %v (%d)", err, tc.wantIs, tc.status)
			case !errors.Is(err, down):
				t.Errorf("VerifySession error %v lost the cause", err)
			}
		})
	}
}

// touchFails is a SessionStore whose TouchSession fails with err.
type touchFails struct {
	selfhosted.SessionStore
	err error
}

func (s touchFails) TouchSession(context.Context, string, time.Time, time.Time) error { return s.err }

func TestSessionsRevoke(t *testing.T) {
	env := newSessionsEnv(t, selfhosted.SessionsConfig{})
	a1, a2, b1 := env.issue(t, alice), env.issue(t, alice), env.issue(t, bob)
	if err := env.RevokeSession(t.Context(), a1); err != nil {
		t.Fatalf("RevokeSession: %v", err)
	}
	wantRefused(t, env.Sessions, "revoked", a1)
	if err := env.RevokeSession(t.Context(), a1); err != nil {
		t.Errorf("RevokeSession again: %v, want nil", err)
	}
	wantAccepted(t, env.Sessions, "alice's other session", a2, alice)
	wantAccepted(t, env.Sessions, "bob's session", b1, bob)

	if err := env.RevokeUserSessions(t.Context(), alice.ID); err != nil {
		t.Fatalf("RevokeUserSessions: %v", err)
	}
	wantRefused(t, env.Sessions, "after RevokeUserSessions", a2)
	wantAccepted(t, env.Sessions, "bob's session after alice's were revoked", b1, bob)
	if err := env.RevokeUserSessions(t.Context(), "nobody"); err != nil {
		t.Errorf("RevokeUserSessions(no sessions): %v", err)
	}
}

func TestSessionsList(t *testing.T) {
	env := newSessionsEnv(t, selfhosted.SessionsConfig{})
	if list, err := env.ListSessions(t.Context(), alice.ID); err != nil || list == nil || len(list) != 0 {
		t.Errorf("ListSessions(no sessions) = %#v, %v; want an empty slice", list, err)
	}
	first := env.issue(t, alice)
	env.clock.Advance(time.Second)
	second := env.issue(t, alice)
	theirs := env.issue(t, bob)
	env.clock.Advance(time.Hour)
	firstSess := wantAccepted(t, env.Sessions, "first", first, alice)
	secondSess := wantAccepted(t, env.Sessions, "second", second, alice)
	theirSess := wantAccepted(t, env.Sessions, "theirs", theirs, bob)

	list, err := env.ListSessions(t.Context(), alice.ID)
	if err != nil {
		t.Fatal(err)
	}
	start := e2e.NewClock().Now()
	var ids []string
	for _, s := range list {
		ids = append(ids, s.ID)
		if s.Current || s.UserAgent != "" || !s.LastSeenAt.Equal(start.Add(time.Hour+time.Second)) {
			t.Errorf("listed %+v: want not current, no user agent, last seen at the check", s)
		}
	}
	if want := []string{secondSess.ID, firstSess.ID}; fmt.Sprint(ids) != fmt.Sprint(want) {
		t.Errorf("ListSessions IDs = %q, want newest first %q", ids, want)
	}
	if !list[0].CreatedAt.Equal(start.Add(time.Second)) || !list[1].CreatedAt.Equal(start) {
		t.Errorf("CreatedAt = %v, %v; want %v, %v", list[0].CreatedAt, list[1].CreatedAt, start.Add(time.Second), start)
	}

	// Another user's session, an unknown and a malformed ID are not found
	// and change nothing.
	for _, id := range []string{theirSess.ID, "AAAAAAAAAAAAAAAAAAAAAA", "", "x\x00", strings.Repeat("A", 1000)} {
		if err := env.RevokeSessionByID(t.Context(), alice.ID, id); !errors.Is(err, passkeys.ErrNotFound) {
			t.Errorf("RevokeSessionByID(%q) = %v, want ErrNotFound", id, err)
		}
	}
	wantAccepted(t, env.Sessions, "theirs, after alice tried to revoke it", theirs, bob)

	if err := env.RevokeSessionByID(t.Context(), alice.ID, firstSess.ID); err != nil {
		t.Fatalf("RevokeSessionByID(own): %v", err)
	}
	wantRefused(t, env.Sessions, "revoked by ID", first)
	wantAccepted(t, env.Sessions, "the other one", second, alice)
	if err := env.RevokeSessionByID(t.Context(), alice.ID, firstSess.ID); !errors.Is(err, passkeys.ErrNotFound) {
		t.Errorf("RevokeSessionByID(again) = %v, want ErrNotFound", err)
	}
}

func TestNewSessionsValidates(t *testing.T) {
	store := memstore.New()
	for _, tc := range []struct {
		cfg   selfhosted.SessionsConfig
		field string
	}{
		{selfhosted.SessionsConfig{AbsoluteLifetime: -1}, "AbsoluteLifetime"},
		{selfhosted.SessionsConfig{IdleTimeout: -time.Hour}, "IdleTimeout"},
		{selfhosted.SessionsConfig{TouchInterval: -time.Second}, "TouchInterval"},
		{selfhosted.SessionsConfig{IdleTimeout: time.Minute}, "TouchInterval"},
		{selfhosted.SessionsConfig{IdleTimeout: time.Hour, TouchInterval: 2 * time.Hour}, "TouchInterval"},
	} {
		if _, err := selfhosted.NewSessions(store, tc.cfg); err == nil || !strings.Contains(err.Error(), "SessionsConfig."+tc.field) {
			t.Errorf("NewSessions(%+v) = %v, want an error naming %s", tc.cfg, err, tc.field)
		}
	}
	if _, err := selfhosted.NewSessions(nil, selfhosted.SessionsConfig{}); err == nil {
		t.Error("NewSessions(nil store): no error")
	}
	if _, err := selfhosted.NewSessions(store, selfhosted.SessionsConfig{IdleTimeout: time.Hour, TouchInterval: time.Nanosecond}); err != nil {
		t.Errorf("NewSessions with a touch on every request: %v", err)
	}
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("no entropy") }

func TestIssueSessionFailures(t *testing.T) {
	store := memstore.New()
	s, err := selfhosted.NewSessions(store, selfhosted.SessionsConfig{Random: failingReader{}})
	if err != nil {
		t.Fatal(err)
	}
	if token, err := s.IssueSession(t.Context(), alice); err == nil || token != "" {
		t.Errorf("IssueSession with a failing random source = %q, %v; want an error", token, err)
	}
	s, err = selfhosted.NewSessions(store, selfhosted.SessionsConfig{})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []passkeys.User{{Email: "no-id@example.com"}, {ID: "nul\x00", Email: "nul@example.com"}} {
		if token, err := s.IssueSession(t.Context(), u); err == nil || token != "" {
			t.Errorf("IssueSession(%+v) = %q, %v; want an error", u, token, err)
		}
	}
	if list, err := store.SessionsByUser(t.Context(), "", time.Now()); err != nil || len(list) != 0 {
		t.Errorf("sessions stored after failed issues: %+v, %v", list, err)
	}
}

// The handler issues and checks Sessions' tokens: a code sign-in gets a
// "pks_" token that the guarded routes accept until it is revoked.
func TestSessionsThroughHandler(t *testing.T) {
	clock, mail, store := e2e.NewClock(), passkeystest.NewMailbox(), memstore.New()
	engine, err := selfhosted.New(selfhosted.Config{
		RPID: e2e.RPID, Origins: []string{e2e.Origin}, Store: store, OTPSender: mail, Clock: clock.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	sessions, err := selfhosted.NewSessions(store, selfhosted.SessionsConfig{Clock: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	h, err := passkeys.New(passkeys.Options{Backend: engine, SessionIssuer: sessions, SessionVerifier: sessions, Clock: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	c := passkeystest.NewClient(ts.URL, passkeystest.ClientOptions{Authenticator: passkeystest.New(e2e.Origin), Mailbox: mail})
	ctx := t.Context()

	signUp, err := c.SignUpOrLogin(ctx, "carol@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(signUp.Token, selfhosted.SessionTokenPrefix) {
		t.Fatalf("session token %q, want one of Sessions", signUp.Token)
	}
	if _, err := c.AppendPasskey(ctx, signUp.Token); err != nil {
		t.Fatalf("AppendPasskey with the session: %v", err)
	}
	login, err := c.LoginWithPasskey(ctx, "carol@example.com")
	if err != nil {
		t.Fatal(err)
	}
	list, err := sessions.ListSessions(ctx, signUp.User.ID)
	if err != nil || len(list) != 2 {
		t.Fatalf("ListSessions = %+v, %v; want the sign-up's and the login's", list, err)
	}

	if err := sessions.RevokeSession(ctx, signUp.Token); err != nil {
		t.Fatal(err)
	}
	var e *passkeystest.Error
	if _, err := c.Passkeys(ctx, signUp.Token); !errors.As(err, &e) || e.Status != http.StatusUnauthorized {
		t.Errorf("GET passkeys with the revoked token = %v, want 401", err)
	}
	if got, err := c.Passkeys(ctx, login.Token); err != nil || len(got) != 1 {
		t.Errorf("GET passkeys with the login's token = %+v, %v; want the one passkey", got, err)
	}

	// Once the handler passes the sign-in to IssueSession, Sessions records
	// it; until then it is unknown.
	list, _ = sessions.ListSessions(ctx, signUp.User.ID)
	if len(list) == 1 && list[0].Authentication.Method == "" {
		t.Skip("the handler does not pass the sign-in to IssueSession yet")
	}
	if len(list) != 1 || list[0].Authentication.Method != passkeys.MethodPasskey || list[0].Authentication.NewUser || !list[0].Authentication.At.Equal(clock.Now()) {
		t.Errorf("the login's session = %+v, want a passkey sign-in of an existing user now", list)
	}
}
