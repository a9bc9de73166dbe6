package passkeystest_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/passkeyready/passkeys"
	"github.com/passkeyready/passkeys/passkeystest"
	"github.com/passkeyready/passkeys/selfhosted"
	"github.com/passkeyready/passkeys/selfhosted/memstore"
)

const (
	rpOrigin = "http://localhost:3000"
	jwtKey   = "a passkeystest key of at least 32 bytes"
)

// hostApp is a host application as a test of its own would start it: the
// handler on the self-hosted engine over memstore, mounted under /auth/
// next to a guarded route, with a Mailbox for the codes.
type hostApp struct {
	url  string
	mail *passkeystest.Mailbox

	mu     sync.Mutex
	agents []string // User-Agent of every request
}

func newHostApp(t *testing.T) *hostApp {
	t.Helper()
	return newHostAppWith(t, false)
}

// newHostAppWith is newHostApp, with the revocable sessions of
// selfhosted.NewSessions instead of the demo JWTs when storeSessions is set.
func newHostAppWith(t *testing.T, storeSessions bool) *hostApp {
	t.Helper()
	app := &hostApp{mail: passkeystest.NewMailbox()}
	store := memstore.New()
	engine, err := selfhosted.New(selfhosted.Config{
		RPID: "localhost", Origins: []string{rpOrigin}, Store: store, OTPSender: app.mail,
	})
	if err != nil {
		t.Fatal(err)
	}
	opts := passkeys.Options{Backend: engine, JWTKey: []byte(jwtKey)}
	if storeSessions {
		sessions, err := selfhosted.NewSessions(store, selfhosted.SessionsConfig{})
		if err != nil {
			t.Fatal(err)
		}
		opts.SessionIssuer, opts.SessionVerifier = sessions, sessions
	}
	h, err := passkeys.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/auth/", http.StripPrefix("/auth", h))
	mux.Handle("GET /api/me", h.RequireSession(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, _ := passkeys.UserFromContext(r.Context())
		_ = json.NewEncoder(w).Encode(u)
	})))
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		app.mu.Lock()
		app.agents = append(app.agents, r.UserAgent())
		app.mu.Unlock()
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(ts.Close)
	app.url = ts.URL
	return app
}

func (app *hostApp) client(o passkeystest.ClientOptions) *passkeystest.Client {
	if o.Authenticator == nil {
		o.Authenticator = passkeystest.New(rpOrigin)
	}
	if o.Mailbox == nil {
		o.Mailbox = app.mail
	}
	return passkeystest.NewClient(app.url+"/auth/", o)
}

// me returns the user the guarded route sees for token.
func (app *hostApp) me(t *testing.T, token string) passkeys.User {
	t.Helper()
	req, _ := http.NewRequest("GET", app.url+"/api/me", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var u passkeys.User
	if res.StatusCode != 200 || json.NewDecoder(res.Body).Decode(&u) != nil {
		t.Fatalf("/api/me: status %d", res.StatusCode)
	}
	return u
}

// Sign-up, append and login through the handler with nothing but the
// helpers of passkeystest.
func TestClientCeremonies(t *testing.T) {
	app := newHostApp(t)
	ctx := t.Context()
	c := app.client(passkeystest.ClientOptions{Header: http.Header{"user-agent": {"host-app-test/1.0"}}})

	signUp, err := c.SignUpOrLogin(ctx, "  Alice@Example.com ")
	if err != nil {
		t.Fatal(err)
	}
	if signUp.NewUser == nil || !*signUp.NewUser || signUp.User.Email != "alice@example.com" || signUp.Token == "" {
		t.Fatalf("sign-up: %+v", signUp)
	}
	if got := app.me(t, signUp.Token); got != signUp.User {
		t.Errorf("/api/me = %+v, want %+v", got, signUp.User)
	}
	if codes := app.mail.Codes("alice@example.com"); len(codes) != 1 || len(codes[0]) != 6 {
		t.Errorf("mailbox holds %q, want one 6-digit code", codes)
	}

	pk, err := c.AppendPasskey(ctx, signUp.Token)
	if err != nil {
		t.Fatal(err)
	}
	creds := c.Authenticator().Credentials()
	if len(creds) != 1 || pk.ID == "" || pk.Name == "" || pk.CreatedAt.IsZero() {
		t.Fatalf("append: %+v, authenticator holds %d", pk, len(creds))
	}
	if _, err := c.AppendPasskey(ctx, signUp.Token); !errors.Is(err, passkeystest.ErrExcluded) {
		t.Errorf("second append on the same authenticator: %v, want ErrExcluded", err)
	}

	for name, login := range map[string]func() (passkeystest.Session, error){
		"button":   func() (passkeystest.Session, error) { return c.LoginWithPasskey(ctx, "alice@example.com") },
		"autofill": func() (passkeystest.Session, error) { return c.LoginWithAutofill(ctx) },
	} {
		s, err := login()
		if err != nil {
			t.Fatalf("%s login: %v", name, err)
		}
		if s.User != signUp.User || s.NewUser != nil || s.Token == "" {
			t.Errorf("%s login: %+v", name, s)
		}
		if got := app.me(t, s.Token); got != signUp.User {
			t.Errorf("%s login: /api/me = %+v", name, got)
		}
	}

	again, err := c.SignUpOrLogin(ctx, "alice@example.com")
	if err != nil || again.NewUser == nil || *again.NewUser || again.User != signUp.User {
		t.Errorf("second code login: %+v, %v", again, err)
	}

	list, err := c.Passkeys(ctx, signUp.Token)
	if err != nil || len(list) != 1 || list[0].ID != pk.ID || list[0].LastUsedAt == nil {
		t.Fatalf("list: %+v, %v", list, err)
	}
	if err := c.DeletePasskey(ctx, signUp.Token, pk.ID); err != nil {
		t.Fatal(err)
	}
	if list, err := c.Passkeys(ctx, signUp.Token); err != nil || len(list) != 0 {
		t.Errorf("list after delete: %+v, %v", list, err)
	}
	if _, err := c.LoginWithPasskey(ctx, "alice@example.com"); !errors.Is(err, passkeystest.ErrNotAllowed) {
		t.Errorf("login after deleting the only passkey: %v, want ErrNotAllowed", err)
	}

	app.mu.Lock()
	defer app.mu.Unlock()
	for _, ua := range app.agents {
		if ua != "host-app-test/1.0" && ua != "Go-http-client/1.1" {
			t.Errorf("request with User-Agent %q", ua)
		}
	}
	if app.agents[0] != "host-app-test/1.0" {
		t.Errorf("ClientOptions.Header not sent: User-Agent %q", app.agents[0])
	}
}

// Logout, the sessions list and revocation, the account export, the email
// change and the deletion through the Client.
func TestClientSessionsAndAccount(t *testing.T) {
	app := newHostAppWith(t, true)
	ctx := t.Context()
	c := app.client(passkeystest.ClientOptions{Header: http.Header{"User-Agent": {"host-app-test/1.0"}}})
	first, err := c.SignUpOrLogin(ctx, "frank@example.com")
	if err != nil {
		t.Fatal(err)
	}
	second, err := c.SignUpOrLogin(ctx, "frank@example.com")
	if err != nil {
		t.Fatal(err)
	}
	list, err := c.Sessions(ctx, second.Token)
	if err != nil || len(list) != 2 || !list[0].Current || list[1].Current || list[0].UserAgent != "host-app-test/1.0" {
		t.Fatalf("sessions: %+v, %v", list, err)
	}
	if err := c.RevokeSession(ctx, second.Token, list[1].ID); err != nil {
		t.Fatal(err)
	}
	var e *passkeystest.Error
	if _, err := c.Sessions(ctx, first.Token); !errors.As(err, &e) || e.Status != 401 {
		t.Errorf("sessions with the revoked token: %v, want a 401 *Error", err)
	}
	if err := c.RevokeSession(ctx, second.Token, list[1].ID); !errors.As(err, &e) || e.Status != 404 || e.Code != "not_found" || e.Path != "/sessions/"+list[1].ID {
		t.Errorf("revoking it again: %v, want a 404 *Error", err)
	}
	pk, err := c.AppendPasskey(ctx, second.Token)
	if err != nil {
		t.Fatal(err)
	}
	acc, err := c.Account(ctx, second.Token)
	if err != nil || acc.User != second.User || len(acc.Passkeys) != 1 || acc.Passkeys[0].ID != pk.ID || len(acc.Sessions) != 1 || !acc.Sessions[0].Current {
		t.Fatalf("account: %+v, %v", acc, err)
	}

	sent, err := c.RequestEmailChange(ctx, second.Token, "frank@example.org")
	if err != nil || sent.ExpiresIn != 10*time.Minute {
		t.Fatalf("request email change: %+v, %v", sent, err)
	}
	code, _ := app.mail.Last("frank@example.org")
	moved, err := c.SubmitEmailChange(ctx, second.Token, "frank@example.org", code)
	if err != nil || moved.User.ID != second.User.ID || moved.User.Email != "frank@example.org" {
		t.Fatalf("submit email change: %+v, %v", moved, err)
	}
	again, err := c.ChangeEmail(ctx, moved.Token, "frank@example.net")
	if err != nil || again.User.ID != second.User.ID || again.User.Email != "frank@example.net" {
		t.Fatalf("ChangeEmail: %+v, %v", again, err)
	}
	noMail := passkeystest.NewClient(app.url+"/auth", passkeystest.ClientOptions{Authenticator: passkeystest.New(rpOrigin)})
	if _, err := noMail.ChangeEmail(ctx, again.Token, "frank@example.com"); !errors.Is(err, passkeystest.ErrNoCode) {
		t.Errorf("ChangeEmail without a mailbox: %v, want ErrNoCode", err)
	}

	if err := c.Logout(ctx, again.Token); err != nil {
		t.Fatal(err)
	}
	if err := c.Logout(ctx, again.Token); !errors.As(err, &e) || e.Status != 401 {
		t.Errorf("logout with a revoked token: %v, want a 401 *Error", err)
	}
	last, err := c.LoginWithPasskey(ctx, "frank@example.net")
	if err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteAccount(ctx, last.Token); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Account(ctx, last.Token); !errors.As(err, &e) || e.Status != 401 {
		t.Errorf("account after deletion: %v, want a 401 *Error", err)
	}
	if _, err := c.LoginWithPasskey(ctx, "frank@example.net"); !errors.Is(err, passkeystest.ErrNotAllowed) {
		t.Errorf("login after deletion: %v, want ErrNotAllowed", err)
	}
}

// Errors carry the status and the problem's fields; helper failures wrap a
// sentinel.
func TestClientErrors(t *testing.T) {
	app := newHostApp(t)
	ctx := t.Context()
	c := app.client(passkeystest.ClientOptions{})

	if _, err := c.RequestCode(ctx, "bob@example.com"); err != nil {
		t.Fatal(err)
	}
	code, _ := app.mail.Last("bob@example.com")
	wrong := "000000"
	if code == wrong {
		wrong = "111111"
	}
	_, err := c.SubmitCode(ctx, "bob@example.com", wrong)
	var e *passkeystest.Error
	if !errors.As(err, &e) {
		t.Fatalf("wrong code: %v, want *passkeystest.Error", err)
	}
	if e.Status != 401 || e.Code != "otp_invalid" || e.Title == "" || e.Detail == "" || e.Type == "" || e.Method != "POST" || e.Path != "/signUpOrLogin" {
		t.Errorf("wrong code: %+v", e)
	}
	if ct := e.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("Content-Type %q", ct)
	}
	if msg := e.Error(); !strings.HasPrefix(msg, "passkeystest: POST /signUpOrLogin: status 401 otp_invalid: ") {
		t.Errorf("Error() = %q", msg)
	}
	if strings.Contains(err.Error(), code) {
		t.Errorf("the error names the code: %v", err)
	}

	if _, err := c.Passkeys(ctx, "not-a-token"); !errors.As(err, &e) || e.Status != 401 || e.Code != "unauthorized" {
		t.Errorf("list without a session: %v", err)
	}
	if _, err := c.LoginWithPasskey(ctx, "nobody@example.com"); !errors.Is(err, passkeystest.ErrNotAllowed) {
		t.Errorf("login for an unknown email: %v, want ErrNotAllowed", err)
	}
	if _, err := c.LoginWithAutofill(ctx); !errors.Is(err, passkeystest.ErrNoCredential) {
		t.Errorf("autofill without a passkey: %v, want ErrNoCredential", err)
	}

	noMail := passkeystest.NewClient(app.url+"/auth", passkeystest.ClientOptions{Authenticator: passkeystest.New(rpOrigin)})
	if _, err := noMail.SignUpOrLogin(ctx, "carol@example.com"); !errors.Is(err, passkeystest.ErrNoCode) {
		t.Errorf("SignUpOrLogin without a mailbox: %v, want ErrNoCode", err)
	}
	otherMail := app.client(passkeystest.ClientOptions{Mailbox: passkeystest.NewMailbox()})
	if _, err := otherMail.SignUpOrLogin(ctx, "dave@example.com"); !errors.Is(err, passkeystest.ErrNoCode) {
		t.Errorf("SignUpOrLogin with an empty mailbox: %v, want ErrNoCode", err)
	}

	// A mount prefix left out reaches no endpoint.
	unmounted := passkeystest.NewClient(app.url, passkeystest.ClientOptions{Authenticator: passkeystest.New(rpOrigin)})
	if _, err := unmounted.RequestCode(ctx, "erin@example.com"); !errors.As(err, &e) || e.Status != 404 {
		t.Errorf("without the mount prefix: %v, want a 404 *Error", err)
	}
	for _, base := range []string{"", "localhost/auth", "http://[::1"} {
		if _, err := passkeystest.NewClient(base, passkeystest.ClientOptions{}).RequestCode(ctx, "a@example.com"); err == nil || !strings.Contains(err.Error(), "base URL") {
			t.Errorf("base URL %q: %v", base, err)
		}
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := c.RequestCode(cancelled, "a@example.com"); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: %v", err)
	}
}

// The default authenticator claims the base URL's origin, as a browser
// on a page served by the same server does.
func TestClientDefaultAuthenticator(t *testing.T) {
	c := passkeystest.NewClient("http://localhost:8080/auth/", passkeystest.ClientOptions{})
	if got := c.Authenticator().Origin; got != "http://localhost:8080" {
		t.Errorf("default authenticator origin %q", got)
	}
	a := passkeystest.New(rpOrigin)
	if got := passkeystest.NewClient("http://127.0.0.1:1/auth", passkeystest.ClientOptions{Authenticator: a}).Authenticator(); got != a {
		t.Error("ClientOptions.Authenticator not used")
	}
}

func TestMailbox(t *testing.T) {
	var m passkeystest.Mailbox // the zero value is ready
	if _, ok := m.Last("a@example.com"); ok || m.Codes("a@example.com") != nil || m.All() != nil {
		t.Error("empty mailbox holds codes")
	}
	if err := m.SendOTP(t.Context(), "a@example.com", "111111", 10*time.Minute); err != nil {
		t.Fatal(err)
	}
	m.Deliver("b@example.com", "222222")
	_ = m.SendOTP(t.Context(), "a@example.com", "333333", time.Minute)
	if got, ok := m.Last("a@example.com"); !ok || got != "333333" {
		t.Errorf("Last = %q, %v", got, ok)
	}
	if got := m.Codes("a@example.com"); len(got) != 2 || got[0] != "111111" || got[1] != "333333" {
		t.Errorf("Codes = %q", got)
	}
	if got := m.Codes("A@Example.com "); len(got) != 2 {
		t.Errorf("Codes did not match the canonical form of another spelling: %q", got)
	}
	if got := m.Codes("a@example.org"); got != nil {
		t.Errorf("Codes matched another address: %q", got)
	}
	if got := m.All(); strings.Join(got, ",") != "111111,222222,333333" {
		t.Errorf("All = %q", got)
	}
	m.Codes("a@example.com")[0] = "changed"
	if m.Codes("a@example.com")[0] != "111111" {
		t.Error("Codes returned the mailbox's own slice")
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() { m.Deliver("c@example.com", "444444"); m.All() })
	}
	wg.Wait()
	if n := len(m.Codes("c@example.com")); n != 8 {
		t.Errorf("%d concurrent deliveries kept, want 8", n)
	}
}

// Importing passkeystest compiles neither the WebAuthn library nor the
// OpenAPI tooling nor a database driver.
func TestLightImports(t *testing.T) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command on PATH to list the package's imports: " + err.Error())
	}
	out, err := exec.Command(gobin, "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	for _, heavy := range []string{"github.com/go-webauthn/", "github.com/getkin/kin-openapi", "sqlite", "github.com/jackc/", "chromedp", "selfhosted", "corbadotest", "corbadospec"} {
		if strings.Contains(string(out), heavy) {
			t.Errorf("passkeystest depends on %s:\n%s", heavy, out)
		}
	}
}
