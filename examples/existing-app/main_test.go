package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/passkeyready/passkeys/passkeystest"
	"github.com/passkeyready/passkeys/selfhosted/sqlitestore"
)

type testApp struct {
	t      *testing.T
	url    string // where the test reaches the server
	origin string // the origin the browser claims
	http   *http.Client
	pk     *passkeystest.Client
}

// newTestApp serves the app over real HTTP on 127.0.0.1 with both databases
// in SQLite files, as main does. The browser side claims the origin
// http://localhost:<port>, passkeys' RP ID being localhost.
func newTestApp(t *testing.T) (*testApp, *App) {
	t.Helper()
	dir := t.TempDir()
	db, err := OpenDB(filepath.Join(dir, "app.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	store, err := sqlitestore.Open(filepath.Join(dir, "passkeys.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })

	ts := httptest.NewUnstartedServer(nil)
	_, port, _ := net.SplitHostPort(ts.Listener.Addr().String())
	origin := "http://localhost:" + port
	app, err := NewApp(Config{DB: db, PasskeyStore: store, Origin: origin})
	if err != nil {
		t.Fatal(err)
	}
	ts.Config.Handler = app
	ts.Start()
	t.Cleanup(ts.Close)

	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	// The browser's cookie jar; redirects are not followed, so a test sees
	// the app's 303s.
	hc := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return &testApp{
		t: t, url: ts.URL, origin: origin, http: hc,
		pk: passkeystest.NewClient(ts.URL+"/auth", passkeystest.ClientOptions{
			HTTPClient:    hc,
			Authenticator: passkeystest.New(origin),
		}),
	}, app
}

func (a *testApp) signIn(email, password string) int {
	a.t.Helper()
	resp, err := a.http.PostForm(a.url+"/signin", url.Values{"email": {email}, "password": {password}})
	if err != nil {
		a.t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func (a *testApp) signOut() {
	a.t.Helper()
	resp, err := a.http.Post(a.url+"/signout", "", nil)
	if err != nil {
		a.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/" {
		a.t.Fatalf("sign-out: %d to %q, want a 303 home", resp.StatusCode, resp.Header.Get("Location"))
	}
}

type me struct {
	ID, Email, SignedInWith, PasskeyToken string
}

// me calls the app's own protected API with whatever cookie the jar holds.
func (a *testApp) me() (me, int) {
	a.t.Helper()
	resp, err := a.http.Get(a.url + "/api/me")
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	var m me
	if resp.StatusCode == http.StatusOK {
		if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
			a.t.Fatal(err)
		}
	}
	return m, resp.StatusCode
}

func (a *testApp) sessionCookie() string {
	u, _ := url.Parse(a.url)
	for _, c := range a.http.Jar.Cookies(u) {
		if c.Name == "app_session" {
			return c.Value
		}
	}
	return ""
}

func wantStatus(t *testing.T, what string, err error, status int) {
	t.Helper()
	var e *passkeystest.Error
	if !errors.As(err, &e) || e.Status != status {
		t.Fatalf("%s: %v, want status %d", what, err, status)
	}
}

// TestStory runs the whole story of an existing password user over HTTP:
// password sign-in, adding a passkey through the app's own session, sign-out,
// passkey sign-in by button and by autofill into the app's own session, and
// the app's protected route working with the app's cookie.
func TestStory(t *testing.T) {
	ctx := context.Background()
	a, app := newTestApp(t)
	id, err := CreateUser(ctx, app.db, " Alice@Example.com ", "correct horse battery")
	if err != nil {
		t.Fatal(err)
	}

	// Signed out, the app's route refuses; a wrong password or an unknown
	// email gets the same 401 and no session.
	if _, st := a.me(); st != http.StatusUnauthorized {
		t.Fatalf("GET /api/me signed out: %d, want 401", st)
	}
	if st := a.signIn("alice@example.com", "wrong password"); st != http.StatusUnauthorized {
		t.Fatalf("wrong password: %d, want 401", st)
	}
	if st := a.signIn("nobody@example.com", "correct horse battery"); st != http.StatusUnauthorized {
		t.Fatalf("unknown email: %d, want 401", st)
	}
	if c := a.sessionCookie(); c != "" {
		t.Fatalf("a failed sign-in set the session cookie")
	}
	// A cross-site form post (login CSRF) is refused before the password
	// is looked at.
	req, _ := http.NewRequest("POST", a.url+"/signin", strings.NewReader("email=alice%40example.com&password=correct+horse+battery"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	resp, err := a.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || a.sessionCookie() != "" {
		t.Fatalf("cross-site sign-in: %d, cookie %q; want 403 and no session", resp.StatusCode, a.sessionCookie())
	}

	// Password sign-in into the app's scs session.
	if st := a.signIn("alice@example.com", "correct horse battery"); st != http.StatusSeeOther {
		t.Fatalf("password sign-in: %d", st)
	}
	pw := a.sessionCookie()
	m, st := a.me()
	if st != http.StatusOK || m.ID != id || m.Email != "alice@example.com" || m.SignedInWith != "password" || m.PasskeyToken == "" {
		t.Fatalf("GET /api/me after password sign-in: %d %+v", st, m)
	}

	// The guard finds the user through the app's own session: the passkey
	// token works only with that session's cookie.
	if _, err := a.pk.StartAppend(ctx, "not-the-token"); err == nil {
		t.Fatal("append with a wrong passkey token: no error")
	} else {
		wantStatus(t, "append with a wrong passkey token", err, http.StatusUnauthorized)
	}
	cookieless := passkeystest.NewClient(a.url+"/auth", passkeystest.ClientOptions{Authenticator: passkeystest.New(a.origin)})
	_, err = cookieless.StartAppend(ctx, m.PasskeyToken)
	wantStatus(t, "append with the token but without the app's cookie", err, http.StatusUnauthorized)

	pk, err := a.pk.AppendPasskey(ctx, m.PasskeyToken)
	if err != nil {
		t.Fatalf("append a passkey: %v", err)
	}
	list, err := a.pk.Passkeys(ctx, m.PasskeyToken)
	if err != nil || len(list) != 1 || list[0].ID != pk.ID {
		t.Fatalf("passkeys after append: %v %+v", err, list)
	}

	// Sign-out ends the scs session and the passkey token with it.
	a.signOut()
	if _, st := a.me(); st != http.StatusUnauthorized {
		t.Fatalf("GET /api/me after sign-out: %d, want 401", st)
	}
	_, err = a.pk.Passkeys(ctx, m.PasskeyToken)
	wantStatus(t, "passkeys with the signed-out token", err, http.StatusUnauthorized)

	// Passkey sign-in by button: the app's own session, with a new scs token.
	s, err := a.pk.LoginWithPasskey(ctx, "alice@example.com")
	if err != nil {
		t.Fatalf("passkey login: %v", err)
	}
	if s.User.ID != id || s.User.Email != "alice@example.com" {
		t.Fatalf("passkey login user: %+v, want the app's user %s", s.User, id)
	}
	button := a.sessionCookie()
	if button == "" || button == pw {
		t.Fatalf("passkey login: scs cookie %q, want a new token (password session's was %q)", button, pw)
	}
	m, st = a.me()
	if st != http.StatusOK || m.ID != id || m.SignedInWith != "passkey" || m.PasskeyToken != s.Token {
		t.Fatalf("GET /api/me after passkey login: %d %+v (sessionToken %q)", st, m, s.Token)
	}

	// Passkey sign-in by autofill.
	a.signOut()
	s, err = a.pk.LoginWithAutofill(ctx)
	if err != nil {
		t.Fatalf("autofill login: %v", err)
	}
	if s.User.ID != id {
		t.Fatalf("autofill login user: %+v, want the app's user %s", s.User, id)
	}
	if c := a.sessionCookie(); c == "" || c == button {
		t.Fatalf("autofill login: scs cookie %q, want a new token", c)
	}
	m, st = a.me()
	// "autofill" once the handler names the method in IssueSession's
	// context; "passkey" (the bridge's fallback) until then.
	if st != http.StatusOK || m.ID != id || m.SignedInWith != "autofill" {
		t.Fatalf("GET /api/me after autofill login: %d %+v", st, m)
	}

	t.Run("signUpOrLogin is off", func(t *testing.T) {
		_, err := a.pk.RequestCode(ctx, "bob@example.com")
		var e *passkeystest.Error
		if !errors.As(err, &e) || e.Status != http.StatusNotFound {
			t.Fatalf("signUpOrLogin with DisableOTP: %v, want 404", err)
		}
	})

	t.Run("deleted app user", func(t *testing.T) {
		a.signOut()
		if _, err := app.db.Exec(`DELETE FROM users WHERE id = ?`, id); err != nil {
			t.Fatal(err)
		}
		_, err := a.pk.LoginWithPasskey(ctx, "alice@example.com")
		wantStatus(t, "passkey login of a deleted app user", err, http.StatusUnauthorized)
		if c := a.sessionCookie(); c != "" {
			t.Fatal("a refused passkey login set the session cookie")
		}
		if _, st := a.me(); st != http.StatusUnauthorized {
			t.Fatalf("GET /api/me: %d, want 401", st)
		}
	})
}

func TestCreateUserRefusesBadInput(t *testing.T) {
	db, err := OpenDB(filepath.Join(t.TempDir(), "app.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	for _, c := range []struct{ name, email, password string }{
		{"no email", " ", "long enough password"},
		{"short password", "a@example.com", "short"},
	} {
		if _, err := CreateUser(ctx, db, c.email, c.password); err == nil {
			t.Errorf("%s: no error", c.name)
		}
	}
	if _, err := CreateUser(ctx, db, "a@example.com", "long enough password"); err != nil {
		t.Fatal(err)
	}
	if _, err := CreateUser(ctx, db, "A@example.com", "another password"); err == nil || !strings.Contains(err.Error(), "a@example.com") {
		t.Errorf("duplicate email: %v", err)
	}
}
