package main

// Browser tests of the signed-in page's session and account controls:
// Sign out, Signed-in devices with Revoke, and Delete account, with the
// sign-in-again step the server asks for when the sign-in is not recent.
// The server's clock is moved on (browserDemo.advance) to make a sign-in
// stale; nothing waits.

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// stale is older than the server's ReauthenticationAge (10 minutes).
const stale = 11 * time.Minute

// TestBrowserSignOutEndsSession signs out through the page: the page calls
// POST /auth/logout, forgets the token, and the token is refused from then
// on.
func TestBrowserSignOutEndsSession(t *testing.T) {
	d := startBrowserDemo(t, 390, "")
	const email = "gus@example.com"
	d.signUp(email)
	token := d.token()
	if status := d.get("/api/me", token, &struct{}{}); status != http.StatusOK {
		t.Fatalf("GET /api/me before sign-out = %d, want 200", status)
	}
	mark := d.requestCount()
	d.signOut()
	d.shot("signed-out")
	requireRequests(t, d.requestsSince(mark), []string{"POST /auth/logout"}, nil)
	if tok := d.token(); tok != "" {
		t.Errorf("token kept after sign-out: %q", tok)
	}
	if !d.visible("#signin") || d.visible("#account") {
		t.Error("the signed-out view is not shown")
	}
	if status := d.get("/api/me", token, &struct{}{}); status != http.StatusUnauthorized {
		t.Errorf("GET /api/me with the signed-out token = %d, want 401", status)
	}
}

// TestBrowserSignedInDevices lists the account's sessions, this browser's
// and one made over HTTP whose user agent is markup, and revokes the other
// one: fresh, then with a stale sign-in that the page renews with an
// emailed code (the account has no passkey).
func TestBrowserSignedInDevices(t *testing.T) {
	d := startBrowserDemo(t, 1280, "")
	const email = "hal@example.com"
	const otherUA = `Mozilla/5.0 (Windows NT 10.0; Win64; x64) <img id="injected" src="x"> Firefox/133.0`
	d.signUp(email)
	d.waitText("#session-list li .name", "Chrome on Linux")
	if got := d.count("#session-list li"); got != 1 {
		t.Fatalf("devices listed after sign-up: %d, want 1", got)
	}
	if got := d.text("#session-list li .tag.current"); got != "This device" {
		t.Errorf(`current session tag = %q, want "This device"`, got)
	}
	if d.count("#session-list li button.revoke") != 0 {
		t.Error("the current session has a Revoke button")
	}
	if got := d.text("#session-list li .created"); !strings.HasSuffix(got, ", with an email code") {
		t.Errorf("current session's sign-in = %q, want it to say how", got)
	}
	pageToken := d.token()

	other := d.signInOverHTTP(email, otherUA)
	d.do("reload", chromedp.Navigate(d.url+"/"))
	d.waitText(`#session-list li:not([data-current]) .name`, "Firefox on Windows")
	d.shot("two-devices")
	if got := d.count("#session-list li"); got != 2 {
		t.Fatalf("devices listed: %d, want 2", got)
	}
	if got := d.attr("#session-list li", "data-current"); got != "true" {
		t.Error("this device is not listed first")
	}
	if got := d.text(`#session-list li:not([data-current]) .ua`); got != otherUA {
		t.Errorf("other device's user agent shows as %q, want the text %q", got, otherUA)
	}
	if d.count("#injected") != 0 || d.count("#session-list img") != 0 {
		t.Error("the user agent's markup became an element")
	}
	if got := d.attr(`#session-list li:not([data-current]) button.revoke`, "aria-label"); !strings.HasPrefix(got, "Revoke Firefox on Windows, signed in ") {
		t.Errorf("Revoke button label = %q", got)
	}

	mark := d.requestCount()
	d.click(`#session-list li:not([data-current]) button.revoke`)
	d.waitText("#devices-msg", "Firefox on Windows is signed out.")
	d.shot("other-device-revoked")
	requireRequests(t, d.requestsSince(mark), []string{"DELETE /auth/sessions/", "GET /auth/sessions"}, nil)
	if got := d.count("#session-list li"); got != 1 {
		t.Errorf("devices listed after revoking: %d, want 1", got)
	}
	if status := d.get("/api/me", other, &struct{}{}); status != http.StatusUnauthorized {
		t.Errorf("GET /api/me with the revoked session = %d, want 401", status)
	}
	if status := d.get("/api/me", pageToken, &struct{}{}); status != http.StatusOK {
		t.Errorf("GET /api/me with the page's session = %d, want 200", status)
	}

	// Later, revoking needs a recent sign-in: the page asks for one, gets
	// it with a code (no passkey on this account), then revokes.
	third := d.signInOverHTTP(email, otherUA)
	d.do("reload", chromedp.Navigate(d.url+"/"))
	d.waitText(`#session-list li:not([data-current]) .name`, "Firefox on Windows")
	d.advance(stale)
	mark = d.requestCount()
	d.click(`#session-list li:not([data-current]) button.revoke`)
	d.waitText("#reauth-msg", "Please confirm it's you: sign in again to sign out Firefox on Windows.")
	d.shot("sign-in-again")
	if d.visible("#reauth-passkey") {
		t.Error("sign in again with a passkey offered to an account without passkeys")
	}
	if status := d.get("/api/me", third, &struct{}{}); status != http.StatusOK {
		t.Fatalf("the other session after the refused revoke: GET /api/me = %d, want 200", status)
	}
	d.click("#reauth-send-code")
	d.waitText("#reauth-msg", "We sent a code to "+email)
	d.typeInto("#reauth-otp", d.otp(email))
	d.click("#reauth-verify")
	d.waitText("#devices-msg", "Firefox on Windows is signed out.")
	d.shot("revoked-after-sign-in-again")
	requireRequests(t, d.requestsSince(mark), []string{
		"DELETE /auth/sessions/", "POST /auth/signUpOrLogin", "POST /auth/signUpOrLogin",
		"DELETE /auth/sessions/", "DELETE /auth/sessions/", "GET /auth/sessions",
	}, nil)
	if d.visible("#reauth") {
		t.Error("the sign-in-again panel is still shown")
	}
	if status := d.get("/api/me", third, &struct{}{}); status != http.StatusUnauthorized {
		t.Errorf("GET /api/me with the revoked session = %d, want 401", status)
	}
	if status := d.get("/api/me", pageToken, &struct{}{}); status != http.StatusUnauthorized {
		t.Errorf("GET /api/me with the page's stale session, replaced by the new sign-in = %d, want 401", status)
	}
	if status := d.get("/api/me", d.token(), &struct{}{}); status != http.StatusOK {
		t.Errorf("GET /api/me with the page's new session = %d, want 200", status)
	}
	if got := d.count("#session-list li"); got != 1 {
		t.Errorf("devices listed: %d, want only this one", got)
	}
}

// TestBrowserDeleteAccount deletes a fresh account with a passkey: after a
// confirmation the account is gone, its token refused, the browser told
// to forget the passkey, and the email signs up afresh.
func TestBrowserDeleteAccount(t *testing.T) {
	d := startBrowserDemo(t, 390, "")
	const email = "ida@example.com"
	d.signUp(email)
	d.addPasskey(1)
	token := d.token()

	d.click("#delete-account")
	d.waitText("#delete-actions .question", "Delete the account "+email)
	d.shot("confirm-delete-account")
	d.click("#delete-actions button.plain")
	d.do("keep the account", d.waitJS(`document.activeElement?.id === "delete-account"`))
	if status := d.get("/api/me", token, &struct{}{}); status != http.StatusOK {
		t.Fatalf("GET /api/me after Keep = %d, want 200", status)
	}

	mark := d.requestCount()
	d.click("#delete-account")
	d.click("#delete-actions button.confirm")
	d.waitText("#email-msg", "Your account is deleted")
	d.shot("account-deleted")
	requireRequests(t, d.requestsSince(mark), []string{"DELETE /auth/account"}, nil)
	if tok := d.token(); tok != "" || !d.visible("#signin") {
		t.Errorf("still signed in after deleting the account (token %q)", tok)
	}
	if status := d.get("/api/me", token, &struct{}{}); status != http.StatusUnauthorized {
		t.Errorf("GET /api/me with the deleted account's token = %d, want 401", status)
	}
	if n := len(d.credentials()); n != 0 {
		t.Errorf("authenticator still holds %d credentials of the deleted account", n)
	}

	d.presence(false)
	d.signUp(email)
	d.waitText("#account-msg", "Welcome! Your account is ready.")
	d.waitText("#passkey-empty", "No passkeys yet.")
	d.shot("signed-up-afresh")
}

// TestBrowserDeleteAccountStale deletes the account long after signing
// in: the server says 403 reauthentication_required, the page asks to
// sign in again, the person does with their passkey, and the page deletes
// the account with the new session.
func TestBrowserDeleteAccountStale(t *testing.T) {
	d := startBrowserDemo(t, 1280, "")
	const email = "jo@example.com"
	d.signUp(email)
	d.addPasskey(1)
	token := d.token()
	d.advance(stale)

	// Cancelling the sign-in again changes nothing.
	d.click("#delete-account")
	d.click("#delete-actions button.confirm")
	d.waitText("#reauth-msg", "Please confirm it's you: sign in again to delete your account.")
	if !d.visible("#reauth-passkey") || !d.visible("#reauth-send-code") {
		t.Error("sign in again offers neither a passkey nor a code")
	}
	d.click("#reauth-cancel")
	d.waitText("#delete-msg", "Nothing was changed.")
	if status := d.get("/api/me", token, &struct{}{}); status != http.StatusOK {
		t.Fatalf("GET /api/me after the refused deletion = %d, want 200", status)
	}

	mark := d.requestCount()
	d.click("#delete-account")
	d.click("#delete-actions button.confirm")
	d.waitText("#reauth-msg", "Please confirm it's you: sign in again to delete your account.")
	d.shot("sign-in-again")
	d.click("#reauth-passkey")
	d.waitText("#email-msg", "Your account is deleted")
	d.shot("account-deleted")
	requireRequests(t, d.requestsSince(mark), []string{
		"DELETE /auth/account", "POST /auth/passkey/login/start", "POST /auth/passkey/login/finish",
		"DELETE /auth/sessions/", "DELETE /auth/account",
	}, []string{"POST /auth/signUpOrLogin"})
	if status := d.get("/api/me", token, &struct{}{}); status != http.StatusUnauthorized {
		t.Errorf("GET /api/me with the deleted account's token = %d, want 401", status)
	}

	d.presence(false)
	d.signUp(email)
	d.waitText("#account-msg", "Welcome! Your account is ready.")
}

// TestBrowserDeletePasskeyStale deletes a passkey long after signing in:
// the page asks to sign in again, here with that very passkey, and then
// deletes it with the new session.
func TestBrowserDeletePasskeyStale(t *testing.T) {
	d := startBrowserDemo(t, 390, "")
	const email = "lea@example.com"
	d.signUp(email)
	d.addPasskey(1)
	name := d.text("#passkey-list li .name")
	d.waitText("#session-list li .tag.current", "This device")
	olderID := d.attr("#session-list li", "data-id")
	d.advance(stale)

	mark := d.requestCount()
	d.click("#passkey-list li button.danger")
	d.click("#passkey-list li button.confirm")
	d.waitText("#reauth-msg", "Please confirm it's you: sign in again to delete the passkey "+name+".")
	if n := len(d.serverPasskeys(d.token())); n != 1 {
		t.Fatalf("server has %d passkeys after the refused delete, want 1", n)
	}
	d.shot("sign-in-again")
	d.click("#reauth-passkey")
	d.waitText("#passkey-msg", "Passkey deleted.")
	d.waitText("#passkey-empty", "No passkeys yet.")
	d.shot("passkey-deleted")
	requireRequests(t, d.requestsSince(mark), []string{
		"DELETE /auth/passkeys/", "POST /auth/passkey/login/start", "POST /auth/passkey/login/finish",
		"DELETE /auth/sessions/", "DELETE /auth/passkeys/", "GET /auth/passkeys",
	}, nil)
	if n := len(d.serverPasskeys(d.token())); n != 0 {
		t.Errorf("server has %d passkeys after the delete, want 0", n)
	}
	d.do("devices list renewed", d.waitJS(fmt.Sprintf(`(() => { const li = document.querySelector("#session-list li[data-current]"); return !!li && li.dataset.id !== %q; })()`, olderID)))
	if got := d.count("#session-list li"); got != 1 {
		t.Errorf("devices listed after signing in again: %d, want this one only", got)
	}
}

// TestBrowserJWTSessions runs the page against -sessions jwt, which lists
// no sessions (GET /auth/sessions is 404): the devices section stays
// hidden without an error, and Sign out and Delete account still work.
func TestBrowserJWTSessions(t *testing.T) {
	d := startBrowserDemoWith(t, 390, "", "-sessions", "jwt")
	const email = "kim@example.com"
	mark := d.requestCount()
	d.signUp(email)
	d.waitLoaded()
	requireRequests(t, d.requestsSince(mark), []string{"GET /auth/passkeys", "GET /auth/sessions"}, nil)
	if status := d.get("/auth/sessions", d.token(), nil); status != http.StatusNotFound {
		t.Fatalf("GET /auth/sessions with -sessions jwt = %d, want 404", status)
	}
	if d.visible("#devices") {
		t.Error("devices section shown with -sessions jwt")
	}
	if got := d.text("#account-msg"); !strings.HasPrefix(got, "Welcome!") {
		t.Errorf("account message %q, want the welcome", got)
	}
	for _, sel := range []string{"#devices-msg", "#passkey-msg"} {
		if got := d.text(sel); got != "" {
			t.Errorf("%s shows %q, want nothing", sel, got)
		}
	}
	d.shot("signed-in-jwt")

	mark = d.requestCount()
	d.signOut()
	requireRequests(t, d.requestsSince(mark), []string{"POST /auth/logout"}, nil)

	// The page still holds the same email from the first sign-up, so
	// signUp's wait is met at once: wait for the account to load, or the
	// click lands while the lists below it are still moving the button.
	d.signUp(email)
	d.waitLoaded()
	token := d.token()
	d.click("#delete-account")
	d.click("#delete-actions button.confirm")
	d.waitText("#email-msg", "Your account is deleted")
	if status := d.get("/api/me", token, &struct{}{}); status != http.StatusUnauthorized {
		t.Errorf("GET /api/me with the deleted account's JWT = %d, want 401", status)
	}
}

// TestBrowserCookieAccount runs the signed-in controls against -cookie,
// where the session is an HttpOnly cookie alone: the devices list, the
// sign-in again (whose login replaces the cookie, so the older session is
// revoked by its ID) and the account deletion, which clears the cookie.
func TestBrowserCookieAccount(t *testing.T) {
	d := startBrowserDemoWith(t, 1280, "", "-cookie")
	const email = "lou@example.com"
	d.signUp(email)
	d.waitLoaded()
	d.waitText("#session-list li .tag.current", "This device")
	first := d.sessionCookie()
	if first == nil || !first.HTTPOnly || first.Value == "" {
		t.Fatalf("session cookie after sign-up: %+v, want an HttpOnly cookie", first)
	}
	if status := d.withCookie(http.MethodGet, "/api/me", first.Value); status != http.StatusOK {
		t.Fatalf("GET /api/me with the page's cookie = %d, want 200", status)
	}

	// A stale sign-in: deleting the account asks for a sign-in again,
	// which replaces the cookie; the older session is revoked by its ID.
	d.addPasskey(1)
	older := d.sessionCookie()
	d.advance(stale)
	d.click("#delete-account")
	d.click("#delete-actions button.confirm")
	d.waitText("#reauth-msg", "Please confirm it's you: sign in again to delete your account.")
	mark := d.requestCount()
	d.click("#reauth-passkey")
	d.waitText("#email-msg", "Your account is deleted")
	requireRequests(t, d.requestsSince(mark), []string{
		"POST /auth/passkey/login/start", "POST /auth/passkey/login/finish", "DELETE /auth/sessions/", "DELETE /auth/account",
	}, nil)
	if c := d.sessionCookie(); c != nil {
		t.Errorf("session cookie kept after deleting the account: %+v", c)
	}
	if got := d.count("#session-list li"); got != 0 {
		t.Errorf("devices still listed after deleting the account: %d", got)
	}
	if status := d.withCookie(http.MethodGet, "/api/me", older.Value); status != http.StatusUnauthorized {
		t.Errorf("GET /api/me with the deleted account's cookie = %d, want 401", status)
	}
}

// sessionCookie is the browser's session cookie for the page, or nil.
func (d *browserDemo) sessionCookie() *network.Cookie {
	d.t.Helper()
	res, err := chromedp.Call(d.ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{d.url + "/"}})
	if err != nil {
		d.t.Fatalf("Network.getCookies: %v", err)
	}
	for _, c := range res.Cookies {
		if c.Name == "passkeys_session" {
			return c
		}
	}
	return nil
}

// withCookie sends a request with the session cookie value alone and
// returns the status.
func (d *browserDemo) withCookie(method, path, value string) int {
	d.t.Helper()
	req, err := http.NewRequestWithContext(d.ctx, method, d.url+path, nil)
	if err != nil {
		d.t.Fatal(err)
	}
	req.AddCookie(&http.Cookie{Name: "passkeys_session", Value: value})
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		d.t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}
