package passkeys_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/passkeyready/passkeys"
)

// stubBackend answers the OTP flow for any code "123456" and fails or
// panics where told; it stands in for a backend only to test the handler's
// own behaviour.
type stubBackend struct {
	passkeys.Backend // nil: unexpected calls panic, which the handler must survive
	finishOTPErr     error
	panicOnList      bool
	finishErr        error // of FinishAppend and FinishLogin
}

func (b *stubBackend) FinishAppend(context.Context, passkeys.User, json.RawMessage, passkeys.Client) (passkeys.Passkey, error) {
	return passkeys.Passkey{}, b.finishErr
}

func (b *stubBackend) FinishLogin(context.Context, json.RawMessage, passkeys.Client) (passkeys.User, error) {
	return passkeys.User{}, b.finishErr
}

func (b *stubBackend) StartOTP(context.Context, string, passkeys.Client) (passkeys.OTPStart, error) {
	return passkeys.OTPStart{ExpiresIn: 10 * time.Minute}, nil
}

func (b *stubBackend) FinishOTP(_ context.Context, email, code string, _ passkeys.Client) (passkeys.User, bool, error) {
	if b.finishOTPErr != nil {
		return passkeys.User{}, false, b.finishOTPErr
	}
	if code != "123456" {
		return passkeys.User{}, false, passkeys.ErrOTPInvalid
	}
	return passkeys.User{ID: "usr_" + email, Email: email}, false, nil
}

func (b *stubBackend) ListPasskeys(context.Context, passkeys.User) ([]passkeys.Passkey, error) {
	if b.panicOnList {
		panic("list exploded")
	}
	return nil, nil
}

var key = []byte("0123456789abcdef0123456789abcdef")

func post(t *testing.T, h http.Handler, path, body, token string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest("POST", path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestNewValidates(t *testing.T) {
	b := &stubBackend{}
	for _, tc := range []struct {
		name string
		o    passkeys.Options
		want string
	}{
		{"no backend", passkeys.Options{JWTKey: key}, "Options.Backend"},
		{"no key", passkeys.Options{Backend: b}, "JWT key"},
		{"short key", passkeys.Options{Backend: b, JWTKey: []byte("short")}, "at least 32 bytes"},
		{"issuer without verifier", passkeys.Options{Backend: b, SessionIssuer: newOpaqueSessions()}, "SessionVerifier"},
		{"bad rate", passkeys.Options{Backend: b, JWTKey: key, IPLimit: passkeys.Rate{Events: 5}}, "Options.IPLimit"},
		{"body cap too big", passkeys.Options{Backend: b, JWTKey: key, MaxBodyBytes: 2 << 20}, "Options.MaxBodyBytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := passkeys.New(tc.o)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one mentioning %q", err, tc.want)
			}
		})
	}
}

func TestFailuresDoNotLeak(t *testing.T) {
	var logs bytes.Buffer
	b := &stubBackend{finishOTPErr: errors.New("dial tcp: password=hunter2 refused"), panicOnList: true}
	h, err := passkeys.New(passkeys.Options{Backend: b, JWTKey: key, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	rec := post(t, h, "/signUpOrLogin", `{"email":"a@example.com","otp":"123456"}`, "")
	if rec.Code != 500 || strings.Contains(rec.Body.String(), "hunter2") || !strings.Contains(rec.Body.String(), `"code":"internal"`) {
		t.Errorf("internal error: %d %s", rec.Code, rec.Body)
	}
	// The cause is logged, with the password in it masked.
	if !strings.Contains(logs.String(), "dial tcp: password=xxxxx refused") || strings.Contains(logs.String(), "hunter2") {
		t.Errorf("the cause was not logged, or logged with its password: %s", logs.String())
	}

	b.finishOTPErr = nil
	var sess struct{ SessionToken string }
	_ = json.Unmarshal(post(t, h, "/signUpOrLogin", `{"email":"a@example.com","otp":"123456"}`, "").Body.Bytes(), &sess)
	req := httptest.NewRequest("GET", "/passkeys", nil)
	req.Header.Set("Authorization", "Bearer "+sess.SessionToken)
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != 500 || strings.Contains(rec.Body.String(), "exploded") || rec.Header().Get("Content-Type") != "application/problem+json" {
		t.Errorf("panic: %d %s", rec.Code, rec.Body)
	}
	// A call the stub does not implement panics on a nil interface.
	rec = post(t, h, "/passkey/mediation/start", `{}`, "")
	if rec.Code != 500 {
		t.Errorf("nil backend method: %d %s", rec.Code, rec.Body)
	}
	if strings.Contains(logs.String(), sess.SessionToken) || strings.Contains(logs.String(), "123456") {
		t.Errorf("a token or code reached the log: %s", logs.String())
	}
}

// opaqueSessions is an application's own session store: random opaque
// tokens that can be revoked.
type opaqueSessions struct {
	mu       sync.Mutex
	sessions map[string]passkeys.User
}

func newOpaqueSessions() *opaqueSessions {
	return &opaqueSessions{sessions: map[string]passkeys.User{}}
}

func (s *opaqueSessions) IssueSession(_ context.Context, u passkeys.User) (string, error) {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	tok := hex.EncodeToString(b)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sessions[tok] = u
	return tok, nil
}

func (s *opaqueSessions) VerifySession(_ context.Context, token string) (passkeys.User, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.sessions[token]
	if !ok {
		return passkeys.User{}, fmt.Errorf("%w: unknown or revoked session", passkeys.ErrUnauthorized)
	}
	return u, nil
}

func (s *opaqueSessions) revoke(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.sessions, token)
}

func TestCustomSessionsUnderSubPath(t *testing.T) {
	store := newOpaqueSessions()
	h, err := passkeys.New(passkeys.Options{Backend: &stubBackend{}, SessionIssuer: store, SessionVerifier: store})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/api/v1/auth/", http.StripPrefix("/api/v1/auth", h))
	mux.Handle("/api/v1/me", h.RequireSession(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, _ := passkeys.UserFromContext(r.Context())
		w.Write([]byte(u.Email))
	})))
	rec := post(t, mux, "/api/v1/auth/signUpOrLogin", `{"email":"b@example.com","otp":"123456"}`, "")
	var sess struct{ SessionToken string }
	if err := json.Unmarshal(rec.Body.Bytes(), &sess); err != nil || rec.Code != 200 || strings.Count(sess.SessionToken, ".") != 0 {
		t.Fatalf("login: %d %s", rec.Code, rec.Body)
	}
	me := func() *httptest.ResponseRecorder {
		req := httptest.NewRequest("GET", "/api/v1/me", nil)
		req.Header.Set("Authorization", "Bearer "+sess.SessionToken)
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		return rec
	}
	if rec := me(); rec.Code != 200 || rec.Body.String() != "b@example.com" {
		t.Errorf("me: %d %s", rec.Code, rec.Body)
	}
	store.revoke(sess.SessionToken)
	if rec := me(); rec.Code != 401 || !strings.Contains(rec.Body.String(), `"code":"unauthorized"`) {
		t.Errorf("me after revoke: %d %s", rec.Code, rec.Body)
	}
}
