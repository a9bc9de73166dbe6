// Package e2e is the end-to-end suite of the HTTP contract. It drives a
// [passkeys.Handler] over real HTTP with a software authenticator and runs
// unchanged against every Backend: each backend's tests call [Run] with a
// Setup that builds that backend on the suite's clock and mailbox.
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/passkeyready/passkeys"
	"github.com/passkeyready/passkeys/passkeystest"
)

// RPID and Origin are the relying party every backend is set up with.
const (
	RPID   = "localhost"
	Origin = "http://localhost:3000"
)

// Env is what a Setup builds its backend on.
type Env struct {
	// Clock is the time for the backend and the handler.
	Clock *Clock
	// Mailbox receives the one-time codes the backend sends.
	Mailbox *Mailbox
}

// Setup returns a fresh, isolated backend for one subtest, using env's
// clock and mailbox, for RPID and Origin.
type Setup func(t *testing.T, env *Env) passkeys.Backend

// Clock is a settable clock for tests; it starts at a fixed instant.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a clock at 2030-01-02 03:04:05 UTC.
func NewClock() *Clock { return &Clock{now: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// Mailbox is an OTPSender that keeps every code, for tests.
type Mailbox struct {
	mu    sync.Mutex
	codes map[string][]string
}

// NewMailbox returns an empty mailbox.
func NewMailbox() *Mailbox { return &Mailbox{codes: map[string][]string{}} }

// SendOTP implements passkeys.OTPSender.
func (m *Mailbox) SendOTP(_ context.Context, email, code string, _ time.Duration) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.codes[email] = append(m.codes[email], code)
	return nil
}

// Deliver records a code for email; for backends that learn codes from
// another channel.
func (m *Mailbox) Deliver(email, code string) { _ = m.SendOTP(context.Background(), email, code, 0) }

// Codes returns every code sent to email, oldest first.
func (m *Mailbox) Codes(email string) []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.codes[email]...)
}

// All returns every code sent to anyone.
func (m *Mailbox) All() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var all []string
	for _, c := range m.codes {
		all = append(all, c...)
	}
	return all
}

// JWTKey is the session key of the suite's handlers.
var JWTKey = []byte("e2e-suite-session-key-0123456789abcdef")

// server is one handler under test, mounted under /auth/ next to a guarded
// /api/me, the way examples/server mounts it.
type server struct {
	t       *testing.T
	env     *Env
	url     string
	logs    *Buffer
	handler *passkeys.Handler
}

// Buffer is a bytes.Buffer that goroutines may share: a server writes its
// log to it while a test reads it.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write implements io.Writer.
func (s *Buffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String returns everything written so far.
func (s *Buffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func newServer(t *testing.T, setup Setup, tweak func(*passkeys.Options)) *server {
	t.Helper()
	env := &Env{Clock: NewClock(), Mailbox: NewMailbox()}
	logs := &Buffer{}
	opts := passkeys.Options{
		Backend: setup(t, env),
		JWTKey:  JWTKey,
		Clock:   env.Clock.Now,
		Logger:  slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	if tweak != nil {
		tweak(&opts)
	}
	h, err := passkeys.New(opts)
	if err != nil {
		t.Fatalf("passkeys.New: %v", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/auth/", http.StripPrefix("/auth", h))
	mux.Handle("GET /api/me", h.RequireSession(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, _ := passkeys.UserFromContext(r.Context())
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"user": u})
	})))
	ts := httptest.NewServer(mux)
	t.Cleanup(ts.Close)
	s := &server{t: t, env: env, url: ts.URL, logs: logs, handler: h}
	t.Cleanup(s.checkLogs)
	return s
}

// checkLogs fails the test if a code or a session token reached a log line.
func (s *server) checkLogs() {
	logs := s.logs.String()
	for _, code := range s.env.Mailbox.All() {
		if regexp.MustCompile(`\b` + code + `\b`).MatchString(logs) {
			s.t.Errorf("a one-time code reached the log:\n%s", logs)
		}
	}
	if regexp.MustCompile(`eyJ[A-Za-z0-9_-]{10,}\.`).MatchString(logs) {
		s.t.Errorf("a token reached the log:\n%s", logs)
	}
}

// response is a decoded reply.
type response struct {
	status int
	header http.Header
	body   map[string]any
	raw    []byte
}

func (r response) str(path ...string) string {
	v := r.get(path...)
	s, _ := v.(string)
	return s
}

func (r response) get(path ...string) any {
	var v any = r.body
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[p]
	}
	return v
}

// object returns the JSON at path, re-encoded, for the authenticator.
func (r response) object(path ...string) []byte {
	b, _ := json.Marshal(r.get(path...))
	return b
}

// do sends a request with an optional JSON body (a string is sent as is)
// and bearer token.
func (s *server) do(method, path string, body any, token string, hdr ...string) response {
	s.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			s.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, s.url+path, rd)
	if err != nil {
		s.t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i+1] == "" {
			req.Header.Del(hdr[i])
		} else {
			req.Header.Set(hdr[i], hdr[i+1])
		}
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		s.t.Fatal(err)
	}
	out := response{status: res.StatusCode, header: res.Header, raw: raw}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &out.body); err != nil {
			s.t.Fatalf("%s %s: body is not a JSON object: %v: %s", method, path, err, raw)
		}
	}
	return out
}

func (s *server) post(path string, body any, token string) response {
	s.t.Helper()
	return s.do(http.MethodPost, path, body, token)
}

// expect checks the status and, for errors, the problem+json shape and code.
func expect(t *testing.T, what string, r response, status int, code string) {
	t.Helper()
	if r.status != status {
		t.Errorf("%s: status %d, want %d; body %s", what, r.status, status, r.raw)
		return
	}
	if code == "" {
		return
	}
	if ct := r.header.Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("%s: Content-Type %q, want application/problem+json", what, ct)
	}
	if r.str("code") != code {
		t.Errorf("%s: code %q, want %q; body %s", what, r.str("code"), code, r.raw)
	}
	if got, _ := r.get("status").(float64); int(got) != status || r.str("title") == "" || r.str("detail") == "" || r.str("type") == "" {
		t.Errorf("%s: problem document incomplete: %s", what, r.raw)
	}
}

// account is a signed-up user with an authenticator of their own.
type account struct {
	email string
	id    string
	token string
	auth  *passkeystest.Authenticator
}

// signUp runs the OTP flow for email and returns the session.
func (s *server) signUp(email string) *account {
	s.t.Helper()
	r := s.post("/auth/signUpOrLogin", map[string]string{"email": email}, "")
	expect(s.t, "request code", r, 200, "")
	code := s.lastCode(email)
	r = s.post("/auth/signUpOrLogin", map[string]string{"email": email, "otp": code}, "")
	expect(s.t, "check code", r, 200, "")
	if r.str("sessionToken") == "" || r.str("user", "id") == "" {
		s.t.Fatalf("sign-up gave no session: %s", r.raw)
	}
	return &account{email: email, id: r.str("user", "id"), token: r.str("sessionToken"), auth: passkeystest.New(Origin)}
}

func (s *server) lastCode(email string) string {
	s.t.Helper()
	codes := s.env.Mailbox.Codes(email)
	if len(codes) == 0 {
		s.t.Fatalf("no code was sent to %s", email)
	}
	return codes[len(codes)-1]
}

// addPasskey runs append start and finish with a's authenticator and
// returns the finish response.
func (s *server) addPasskey(a *account) response {
	s.t.Helper()
	r := s.post("/auth/passkey/append/start", map[string]any{}, a.token)
	expect(s.t, "append start", r, 200, "")
	att, err := a.auth.Create(r.object("attestationOptions"))
	if err != nil {
		s.t.Fatalf("authenticator create: %v", err)
	}
	return s.post("/auth/passkey/append/finish", map[string]json.RawMessage{"attestationResponse": att}, a.token)
}

// loginOptions starts a button login for a.
func (s *server) loginOptions(a *account) []byte {
	s.t.Helper()
	r := s.post("/auth/passkey/login/start", map[string]string{"email": a.email}, "")
	expect(s.t, "login start", r, 200, "")
	if r.get("loginAllow") != true {
		s.t.Fatalf("login start: loginAllow false: %s", r.raw)
	}
	return r.object("assertionOptions")
}

// mediationOptions starts a conditional-UI login.
func (s *server) mediationOptions() []byte {
	s.t.Helper()
	r := s.post("/auth/passkey/mediation/start", map[string]any{}, "")
	expect(s.t, "mediation start", r, 200, "")
	return r.object("assertionOptions")
}

func assertion(t *testing.T, a *passkeystest.Authenticator, opts []byte, tamper ...passkeystest.Tamper) json.RawMessage {
	t.Helper()
	resp, err := a.Get(opts, tamper...)
	if err != nil {
		t.Fatalf("authenticator get: %v", err)
	}
	return resp
}

func finishBody(resp []byte) map[string]json.RawMessage {
	return map[string]json.RawMessage{"assertionResponse": resp}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(fmt.Sprintf("e2e: %v", err))
	}
	return v
}
