// Package e2e is the end-to-end suite of the HTTP contract. It drives a
// [passkeys.Handler] over real HTTP with the test kit of package
// passkeystest (its Client, Mailbox and software Authenticator, the same
// helpers a host app tests with) and runs unchanged against every Backend:
// each backend's tests call [Run] with a Setup that builds that backend on
// the suite's clock and mailbox. Requests whose exact wire form a test
// checks (headers, bodies byte for byte, malformed input) go out raw.
package e2e

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sync"
	"testing"

	"github.com/passkeyready/passkeys"
	"github.com/passkeyready/passkeys/internal/testclock"
	"github.com/passkeyready/passkeys/passkeystest"
)

// RPID and Origin are the relying party every backend is set up with.
const (
	RPID   = "localhost"
	Origin = "http://localhost:3000"
)

// The native apps and the related origin every backend is set up with
// (see [Config]).
const (
	// AndroidPackage is signed with AndroidCert, OtherAndroidPackage with
	// OtherAndroidCert.
	AndroidPackage      = "com.example.app"
	OtherAndroidPackage = "com.example.other"
	// AppleAppID is the iOS app; its clientDataJSON carries IOSOrigin.
	AppleAppID = "ABCDE12345.com.example.app"
	IOSOrigin  = "https://" + RPID
	// RelatedOrigin is a web origin on another site allowed to use RPID.
	RelatedOrigin = "https://example.org"
)

// AndroidCert and OtherAndroidCert stand for the DER signing certificates
// of the Android apps; only their SHA-256 matters.
var (
	AndroidCert      = []byte("signing certificate of com.example.app")
	OtherAndroidCert = []byte("signing certificate of com.example.other")
)

// Config is the relying party every Setup configures its backend with:
// the web origins Origin and IOSOrigin, the two Android apps and the
// related origin. The Corbado emulator takes them as its project's
// settings, since Corbado checks origins on its side.
type Config struct {
	RPID           string
	Origins        []string
	AndroidApps    []passkeys.AndroidApp
	AppleAppIDs    []string
	RelatedOrigins []string
}

// RP returns the suite's Config.
func RP() Config {
	return Config{
		RPID:    RPID,
		Origins: []string{Origin, IOSOrigin},
		AndroidApps: []passkeys.AndroidApp{
			{PackageName: AndroidPackage, Fingerprints: []string{passkeystest.AndroidFingerprint(AndroidCert)}},
			{PackageName: OtherAndroidPackage, Fingerprints: []string{passkeystest.AndroidFingerprint(OtherAndroidCert)}},
		},
		AppleAppIDs:    []string{AppleAppID},
		RelatedOrigins: []string{RelatedOrigin},
	}
}

// Env is what a Setup builds its backend on.
type Env struct {
	// Clock is the time for the backend and the handler.
	Clock *Clock
	// Mailbox receives the one-time codes the backend sends.
	Mailbox *Mailbox
}

// Setup returns a fresh, isolated target for one subtest, using env's
// clock and mailbox, for the relying party of [RP].
type Setup func(t *testing.T, env *Env) Target

// Target is what a Setup builds.
type Target struct {
	// Backend performs the ceremonies.
	Backend passkeys.Backend
	// Sessions is the host's revocable session system, on env's clock:
	// selfhosted.NewSessions on the backend's store (for a backend without
	// one, on a store of its own). The tests of logout, the sessions list
	// and the account endpoints sign in with it; the others with the demo
	// JWTs.
	Sessions Sessions
	// Activity, when set, is an audit trail on the target's storage
	// (selfhosted.NewActivitySink): the activity tests hand it to
	// Options.Events and Options.Activity and read GET account/activity.
	// The tests that need it are skipped without it.
	Activity ActivityTrail
	// UpstreamOrigins is set when a service behind the Backend checks the
	// origin of each passkey response (Corbado, its emulator): a refused
	// origin is then logged by that service, and the handler's log holds
	// the service's error instead of the origin.
	UpstreamOrigins bool
}

// ActivityTrail records a handler's events and lists them per user.
type ActivityTrail interface {
	passkeys.EventSink
	passkeys.ActivityLister
}

// Sessions is a session system that keeps its sessions on the server: it
// issues, verifies, revokes and lists them.
type Sessions interface {
	passkeys.SessionIssuer
	passkeys.SessionVerifier
	passkeys.SessionRevoker
	passkeys.SessionManager
}

// Clock is the suite's settable clock ([testclock.Clock]); only the tests
// move it.
type Clock = testclock.Clock

// NewClock returns a clock at 2030-01-02 03:04:05 UTC.
func NewClock() *Clock { return testclock.New() }

// Mailbox is the suite's code-capturing OTP sender; it is
// [passkeystest.Mailbox], named here for the suite's callers.
type Mailbox = passkeystest.Mailbox

// NewMailbox returns an empty mailbox.
func NewMailbox() *Mailbox { return passkeystest.NewMailbox() }

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
	backend passkeys.Backend
	// http sends every request of the test, checked against the
	// handler's OpenAPI description (see Contract).
	http *http.Client
	// upstreamOrigins is Target.UpstreamOrigins.
	upstreamOrigins bool
	// c runs the ceremony steps that need no authenticator of an account.
	c *passkeystest.Client
	// signals reports whether the backend sends Signal API data
	// (passkeys.SignalBackend).
	signals bool
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

// newServer starts a handler on a fresh target of setup with the demo JWT
// sessions; tweak, when not nil, changes its Options.
func newServer(t *testing.T, setup Setup, tweak func(*passkeys.Options)) *server {
	t.Helper()
	env := &Env{Clock: NewClock(), Mailbox: NewMailbox()}
	return startServer(t, env, setup(t, env), false, tweak)
}

// newStoreServer is newServer with the target's revocable Sessions.
func newStoreServer(t *testing.T, setup Setup, tweak func(*passkeys.Options)) *server {
	t.Helper()
	env := &Env{Clock: NewClock(), Mailbox: NewMailbox()}
	return startServer(t, env, setup(t, env), true, tweak)
}

// startServer starts a handler on target, with its Sessions when
// storeSessions is set and the demo JWTs otherwise.
func startServer(t *testing.T, env *Env, target Target, storeSessions bool, tweak func(*passkeys.Options)) *server {
	t.Helper()
	logs := &Buffer{}
	opts := passkeys.Options{
		Backend: target.Backend,
		JWTKey:  JWTKey,
		Clock:   env.Clock.Now,
		Logger:  slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	if storeSessions {
		if target.Sessions == nil {
			t.Fatal("e2e: the Setup returned no Target.Sessions")
		}
		opts.SessionIssuer, opts.SessionVerifier = target.Sessions, target.Sessions
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
	_, signals := target.Backend.(passkeys.SignalBackend)
	s := &server{t: t, env: env, url: ts.URL, logs: logs, handler: h, backend: target.Backend, http: contractClient(t), upstreamOrigins: target.UpstreamOrigins, signals: signals}
	s.c = s.client(passkeystest.New(Origin))
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
	if regexp.MustCompile(`eyJ[A-Za-z0-9_-]{10,}\.|pks_[A-Za-z0-9_-]{20,}`).MatchString(logs) {
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

// do sends a request with an optional JSON body (a string is sent as is)
// and bearer token (see [Call]).
func (s *server) do(method, path string, body any, token string, hdr ...string) response {
	s.t.Helper()
	r := Call(s.t, s.http, method, s.url+path, body, token, hdr...)
	out := response{status: r.Status, header: r.Header, raw: r.Body}
	if len(r.Body) > 0 {
		if err := json.Unmarshal(r.Body, &out.body); err != nil {
			s.t.Fatalf("%s %s: body is not a JSON object: %v: %s", method, path, err, r.Body)
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

// client returns a passkeystest client for the handler under /auth,
// answering ceremonies with auth and reading codes from the mailbox.
func (s *server) client(auth *passkeystest.Authenticator) *passkeystest.Client {
	return passkeystest.NewClient(s.url+"/auth", passkeystest.ClientOptions{HTTPClient: s.http, Authenticator: auth, Mailbox: s.env.Mailbox})
}

// check asserts the outcome of a passkeystest call: success when status
// is below 300, otherwise a *passkeystest.Error with that status whose body
// is a complete problem document with that code (see expect).
func check(t *testing.T, what string, err error, status int, code string) {
	t.Helper()
	if status < 300 {
		if err != nil {
			t.Errorf("%s: %v, want status %d", what, err, status)
		}
		return
	}
	var e *passkeystest.Error
	if !errors.As(err, &e) {
		t.Errorf("%s: error %v, want status %d %s", what, err, status, code)
		return
	}
	r := response{status: e.Status, header: e.Header, raw: e.Body}
	if err := json.Unmarshal(e.Body, &r.body); err != nil {
		t.Errorf("%s: error body is not a JSON object: %v: %s", what, err, e.Body)
	}
	expect(t, what, r, status, code)
}

// status is the HTTP status of a passkeystest call's outcome: 200 for
// success, the *passkeystest.Error's status, or 0 for another error.
func status(err error) int {
	var e *passkeystest.Error
	switch {
	case err == nil:
		return 200
	case errors.As(err, &e):
		return e.Status
	}
	return 0
}

// account is a signed-up user with an authenticator of their own and a
// client that answers with it.
type account struct {
	email string
	id    string
	token string
	auth  *passkeystest.Authenticator
	c     *passkeystest.Client
}

// newAccount returns the account of a session, on a new authenticator.
func (s *server) newAccount(email, id, token string) *account {
	auth := passkeystest.New(Origin)
	return &account{email: email, id: id, token: token, auth: auth, c: s.client(auth)}
}

// signUp runs the OTP flow for email and returns the session.
func (s *server) signUp(email string) *account {
	s.t.Helper()
	sess, err := s.c.SignUpOrLogin(s.t.Context(), email)
	if err != nil {
		s.t.Fatalf("sign-up: %v", err)
	}
	return s.newAccount(email, sess.User.ID, sess.Token)
}

func (s *server) lastCode(email string) string {
	s.t.Helper()
	code, ok := s.env.Mailbox.Last(email)
	if !ok {
		s.t.Fatalf("no code was sent to %s", email)
	}
	return code
}

// addPasskey adds a passkey on a's authenticator to a.
func (s *server) addPasskey(a *account) error {
	s.t.Helper()
	_, err := a.c.AppendPasskey(s.t.Context(), a.token)
	return err
}

// appendOptions starts an append for a and returns its options.
func (s *server) appendOptions(a *account) []byte {
	s.t.Helper()
	cer, err := s.c.StartAppend(s.t.Context(), a.token)
	if err != nil || !cer.Allowed {
		s.t.Fatalf("append start: %+v, %v", cer, err)
	}
	return cer.Options
}

// finishAppend finishes an append for a with an attestation response.
func (s *server) finishAppend(a *account, att []byte) error {
	s.t.Helper()
	_, err := s.c.FinishAppend(s.t.Context(), a.token, att)
	return err
}

// loginOptions starts a button login for a.
func (s *server) loginOptions(a *account) []byte {
	s.t.Helper()
	cer, err := s.c.StartLogin(s.t.Context(), a.email)
	check(s.t, "login start", err, 200, "")
	if !cer.Allowed {
		s.t.Fatalf("login start: loginAllow false (%v)", err)
	}
	return cer.Options
}

// mediationOptions starts a conditional-UI login.
func (s *server) mediationOptions() []byte {
	s.t.Helper()
	cer, err := s.c.StartMediation(s.t.Context())
	check(s.t, "mediation start", err, 200, "")
	if !cer.Allowed {
		s.t.Fatalf("mediation start: loginAllow false (%v)", err)
	}
	return cer.Options
}

// finish posts an assertion response to the finish endpoint of kind path
// ("login" or "mediation").
func (s *server) finish(path string, resp []byte) (passkeystest.Session, error) {
	if path == "login" {
		return s.c.FinishLogin(s.t.Context(), resp)
	}
	return s.c.FinishMediation(s.t.Context(), resp)
}

// passkeys lists a's passkeys.
func (s *server) passkeys(a *account) []passkeys.Passkey {
	s.t.Helper()
	list, err := s.c.Passkeys(s.t.Context(), a.token)
	if err != nil {
		s.t.Fatalf("list passkeys of %s: %v", a.email, err)
	}
	return list
}

func assertion(t *testing.T, a *passkeystest.Authenticator, opts []byte, tamper ...passkeystest.Tamper) json.RawMessage {
	t.Helper()
	resp, err := a.Get(opts, tamper...)
	if err != nil {
		t.Fatalf("authenticator get: %v", err)
	}
	return resp
}

// field returns the JSON value at path in options, or nil.
func field(options []byte, path ...string) any {
	var v any
	_ = json.Unmarshal(options, &v)
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[p]
	}
	return v
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(fmt.Sprintf("e2e: %v", err))
	}
	return v
}
