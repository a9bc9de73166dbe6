package main

// End-to-end tests of the demo page in Chromium, with a virtual WebAuthn
// authenticator (the DevTools WebAuthn domain) standing in for the
// person's device. They skip when Chromium is missing, unless
// PASSKEYS_BROWSER_TESTS=required. Each step saves a screenshot; the test
// log names the folder.

import (
	"encoding/base64"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"
)

// TestBrowserSignUpAddPasskeyAndSignIn walks the main path at phone width:
// sign up with an emailed code, add a passkey, be refused a second one on
// the same device, sign out, sign in with the passkey button.
func TestBrowserSignUpAddPasskeyAndSignIn(t *testing.T) {
	d := startBrowserDemo(t, 390, "")
	const email = "ann@example.com"

	if got := d.attr("#email", "autocomplete"); got != "username webauthn" {
		t.Errorf(`email field autocomplete = %q, want "username webauthn"`, got)
	}
	d.shot("sign-in")

	d.typeInto("#email", "ann@")
	d.click("#send-code")
	d.waitText("#email-msg", "Enter a valid email address")
	if got := d.attr("#email", "aria-invalid"); got != "true" {
		t.Errorf("email field aria-invalid = %q after a bad address, want true", got)
	}
	d.shot("invalid-email")

	d.typeInto("#email", email)
	d.click("#send-code")
	d.waitText("#otp-email", email)
	d.shot("code-sent")

	code := d.otp(email)
	wrong := "000000"
	if code == wrong {
		wrong = "111111"
	}
	d.typeInto("#otp", wrong)
	d.click("#verify-code")
	d.waitText("#otp-msg", "That code is wrong, expired or already used.")
	d.shot("wrong-code")

	d.typeInto("#otp", code)
	d.click("#verify-code")
	d.waitText("#me-email", email)
	d.waitText("#account-msg", "Welcome! Your account is ready.")
	d.waitText("#passkey-empty", "No passkeys yet.")
	d.shot("signed-up")

	token := d.token()
	var me struct {
		User struct{ ID, Email string } `json:"user"`
	}
	if status := d.get("/api/me", token, &me); status != http.StatusOK || me.User.Email != email {
		t.Fatalf("GET /api/me with the page's token = %d %+v, want 200 for %s", status, me, email)
	}
	if got := d.text("#me-id"); got != me.User.ID {
		t.Errorf("page shows account ID %q, /api/me says %q", got, me.User.ID)
	}
	if got := d.serverPasskeys(token); len(got) != 0 {
		t.Fatalf("new account has passkeys on the server: %+v", got)
	}

	d.addPasskey(1)
	d.shot("passkey-added")
	server := d.serverPasskeys(token)
	creds := d.credentials()
	if len(server) != 1 || len(creds) != 1 {
		t.Fatalf("after adding one passkey: server has %d, authenticator has %d", len(server), len(creds))
	}
	if id := base64.RawURLEncoding.EncodeToString(creds[0].CredentialID); id != server[0].ID || !creds[0].IsResidentCredential {
		t.Errorf("authenticator credential %s (resident %v), server passkey %s", id, creds[0].IsResidentCredential, server[0].ID)
	}
	if got := d.attr("#passkey-list li", "data-id"); got != server[0].ID {
		t.Errorf("listed passkey id = %q, server has %q", got, server[0].ID)
	}
	if got := d.text("#passkey-list li .name"); got != server[0].Name || !strings.HasPrefix(got, "Passkey on ") {
		t.Errorf("listed passkey name = %q, server has %q", got, server[0].Name)
	}
	if got := d.text("#passkey-list li .last-used"); got != "Never" {
		t.Errorf("new passkey last used = %q, want Never", got)
	}
	if got := d.text("#passkey-list li .sync"); got != "This device only" || server[0].BackedUp {
		t.Errorf("new passkey shows %q, server backedUp %v; want a passkey that is not synced", got, server[0].BackedUp)
	}

	// The same device holds a passkey already: excludeCredentials makes the
	// authenticator refuse, and the page says so.
	d.click("#add-passkey")
	d.waitText("#passkey-msg", "This device already holds a passkey for your account")
	d.shot("second-passkey-refused")
	if n, m := len(d.serverPasskeys(token)), len(d.credentials()); n != 1 || m != 1 {
		t.Errorf("after the refused second passkey: server has %d, authenticator has %d, want 1 and 1", n, m)
	}

	d.signOut()
	if tok := d.token(); tok != "" {
		t.Errorf("token kept after sign-out: %q", tok)
	}
	d.shot("signed-out")

	d.typeInto("#email", email)
	d.presence(true)
	mark := d.requestCount()
	d.click("#passkey-login")
	d.waitText("#account-msg", "Signed in with your passkey.")
	d.waitText("#me-email", email)
	d.waitText("#passkey-list li .last-used", ",")
	d.shot("signed-in-with-button")
	requireRequests(t, d.requestsSince(mark),
		[]string{"POST /auth/passkey/login/start", "POST /auth/passkey/login/finish", "GET /api/me", "GET /auth/passkeys"},
		[]string{"POST /auth/passkey/mediation/finish", "POST /auth/signUpOrLogin"})
	if got := d.serverPasskeys(d.token()); len(got) != 1 || got[0].LastUsedAt == nil {
		t.Errorf("server passkeys after the button sign-in: %+v, want one with lastUsedAt", got)
	}
}

// TestBrowserAutofillSignIn signs in from the email field's autofill
// (conditional mediation). Chromium gives a conditional request to the
// virtual authenticator as soon as the page makes it, without waiting for
// the field to be focused, so the person "picks the passkey" by coming back
// to the page while the authenticator answers.
func TestBrowserAutofillSignIn(t *testing.T) {
	d := startBrowserDemo(t, 1280, "")
	const email = "bob@example.com"
	d.signUp(email)
	d.addPasskey(1)
	d.signOut()
	d.shot("autofill-offered")

	d.presence(true)
	mark := d.requestCount()
	d.do("come back to the page", chromedp.Navigate(d.url+"/"))
	d.waitText("#me-email", email)
	d.waitText("#account-msg", "Signed in with your passkey.")
	d.waitLoaded()
	d.shot("signed-in-with-autofill")
	requireRequests(t, d.requestsSince(mark),
		[]string{"POST /auth/passkey/mediation/start", "POST /auth/passkey/mediation/finish", "GET /api/me", "GET /auth/passkeys", "GET /auth/sessions"},
		[]string{"POST /auth/passkey/login/start", "POST /auth/signUpOrLogin"})
	if got := d.text("#session-list li[data-current] .created"); !strings.HasSuffix(got, ", with a passkey (autofill)") {
		t.Errorf("this device's sign-in shows %q, want it made with a passkey from autofill", got)
	}
	var me struct {
		User struct{ Email string } `json:"user"`
	}
	if status := d.get("/api/me", d.token(), &me); status != http.StatusOK || me.User.Email != email {
		t.Errorf("GET /api/me with the autofill session = %d %+v", status, me)
	}
	if got := d.serverPasskeys(d.token()); len(got) != 1 || got[0].LastUsedAt == nil {
		t.Errorf("server passkeys after the autofill sign-in: %+v, want one with lastUsedAt", got)
	}
}

// TestBrowserDeletedPasskey deletes a passkey in the page (the device is
// told and forgets it), then another one on the server while the device
// keeps it: the button falls back to an emailed code, and the autofill
// offer of the stale passkey is refused with a clear message.
func TestBrowserDeletedPasskey(t *testing.T) {
	d := startBrowserDemo(t, 390, "")
	const email = "cy@example.com"
	d.signUp(email)
	d.addPasskey(1)
	token := d.token()

	d.click("#passkey-list li button.danger")
	d.waitText("#passkey-list li .question", "Delete this passkey?")
	d.shot("confirm-delete")
	d.click("#passkey-list li button.confirm")
	d.waitText("#passkey-msg", "Passkey deleted.")
	d.waitText("#passkey-empty", "No passkeys yet.")
	d.shot("passkey-deleted")
	if got := d.serverPasskeys(token); len(got) != 0 {
		t.Fatalf("server still has passkeys after delete: %+v", got)
	}
	// The page passed on the passkeys left (signalAllAcceptedCredentials),
	// and Chromium's authenticator forgot the deleted one. Chromium applies
	// the signal after its promise resolves, so the check waits for it.
	if got := d.credentialsSettle(0); got != 0 {
		t.Fatalf("authenticator holds %d credentials after the page signalled the deletion, want 0", got)
	}

	// A passkey deleted elsewhere (over the API, not by this page) stays
	// on the device.
	d.addPasskey(1)
	token = d.token()
	if got := len(d.credentials()); got != 1 {
		t.Fatalf("authenticator holds %d credentials, want 1", got)
	}
	if status := d.call(http.MethodDelete, "/auth/passkeys/"+b64(d.credentials()[0].CredentialID), token, "", nil, nil); status != http.StatusOK {
		t.Fatalf("DELETE the passkey over the API = %d, want 200", status)
	}

	d.signOut()
	sent := d.otpCount(email)
	d.typeInto("#email", email)
	d.presence(true)
	mark := d.requestCount()
	d.click("#passkey-login")
	d.waitText("#otp-msg", "There is no passkey for "+email+" yet, so we sent a code to your email instead.")
	d.waitText("#otp-email", email)
	d.shot("button-falls-back-to-code")
	requireRequests(t, d.requestsSince(mark),
		[]string{"POST /auth/passkey/login/start", "POST /auth/signUpOrLogin"},
		[]string{"POST /auth/passkey/login/finish"})
	if got := d.otpCount(email); got != sent+1 {
		t.Errorf("codes sent to %s: %d, want %d", email, got, sent+1)
	}

	// Back at the email field the autofill request starts again; the
	// authenticator answers with the deleted passkey, the server refuses
	// it as unknown_credential and the page tells the browser to forget it.
	mark = d.requestCount()
	d.click("#change-email")
	d.waitText("#email-msg", "That passkey is no longer registered for any account here, so this device was asked to forget it.")
	d.shot("autofill-passkey-refused")
	requireRequests(t, d.requestsSince(mark),
		[]string{"POST /auth/passkey/mediation/start", "POST /auth/passkey/mediation/finish"},
		[]string{"GET /api/me"})
	if tok := d.token(); tok != "" || !d.visible("#signin") {
		t.Errorf("signed in with a deleted passkey (token %q)", tok)
	}

	// The emailed code still signs the person in.
	d.presence(false)
	d.typeInto("#email", email)
	d.click("#send-code")
	d.waitText("#otp-email", email)
	d.typeInto("#otp", d.otp(email))
	d.click("#verify-code")
	d.waitText("#account-msg", "Signed in with your email code.")
	d.shot("signed-in-with-code")
}

// TestBrowserWithoutPasskeySupport hides passkeys in a browser without the
// WebAuthn API and signs in with a code only.
func TestBrowserWithoutPasskeySupport(t *testing.T) {
	d := startBrowserDemo(t, 390, "delete window.PublicKeyCredential;")
	const email = "dee@example.com"
	d.waitText("#no-passkeys", "This browser does not support passkeys")
	if d.visible("#passkey-login") {
		t.Error("passkey button shown without WebAuthn")
	}
	d.shot("sign-in-without-passkeys")

	d.signUp(email)
	d.waitText("#passkey-empty", "This browser does not support passkeys.")
	if d.visible("#add-passkey") {
		t.Error("add-passkey button shown without WebAuthn")
	}
	d.shot("signed-in-without-passkeys")
	for _, r := range d.requestsSince(0) {
		if strings.Contains(r, "/auth/passkey/") {
			t.Errorf("page without WebAuthn sent %s", r)
		}
	}
}

// TestBrowserWithoutJSONHelpers runs the passkey ceremonies in a browser
// without PublicKeyCredential.parseCreationOptionsFromJSON,
// parseRequestOptionsFromJSON and toJSON, through the page's own base64url
// conversion, and shows the message for a passkey the device no longer has.
func TestBrowserWithoutJSONHelpers(t *testing.T) {
	d := startBrowserDemo(t, 1280, `
		delete PublicKeyCredential.parseCreationOptionsFromJSON;
		delete PublicKeyCredential.parseRequestOptionsFromJSON;
		delete PublicKeyCredential.prototype.toJSON;`)
	const email = "fay@example.com"
	gone, err := chromedp.Run(d.ctx, chromedp.Evaluate[bool](`!PublicKeyCredential.parseCreationOptionsFromJSON &&
		!PublicKeyCredential.parseRequestOptionsFromJSON && !PublicKeyCredential.prototype.toJSON`))
	if err != nil || !gone {
		t.Fatalf("JSON helpers still present (%v)", err)
	}
	d.signUp(email)
	d.addPasskey(1)
	d.shot("passkey-added")
	d.signOut()

	d.typeInto("#email", email)
	d.presence(true)
	d.click("#passkey-login")
	d.waitText("#account-msg", "Signed in with your passkey.")
	d.shot("signed-in-with-button")

	d.signOut()
	d.presence(true)
	mark := d.requestCount()
	d.do("come back to the page", chromedp.Navigate(d.url+"/"))
	d.waitText("#account-msg", "Signed in with your passkey.")
	requireRequests(t, d.requestsSince(mark),
		[]string{"POST /auth/passkey/mediation/start", "POST /auth/passkey/mediation/finish", "GET /api/me"}, nil)
	d.shot("signed-in-with-autofill")

	// The passkey is gone from the device but not from the account: the
	// browser finds nothing to sign in with.
	creds := d.credentials()
	if len(creds) != 1 {
		t.Fatalf("authenticator holds %d credentials, want 1", len(creds))
	}
	_, err = chromedp.Call(d.ctx, webauthn.RemoveCredential, webauthn.RemoveCredentialParams{
		AuthenticatorID: d.auth, CredentialID: creds[0].CredentialID,
	})
	if err != nil {
		t.Fatalf("WebAuthn.removeCredential: %v", err)
	}
	d.signOut()
	d.typeInto("#email", email)
	d.presence(true)
	d.click("#passkey-login")
	d.waitText("#email-msg", "Passkey sign-in was cancelled or timed out, or this device has no passkey for that account.")
	d.shot("no-passkey-on-device")
	if tok := d.token(); tok != "" {
		t.Errorf("signed in without a passkey on the device (token %q)", tok)
	}
}

// TestBrowserTooManyAttempts shows when to retry after the server's 429.
func TestBrowserTooManyAttempts(t *testing.T) {
	d := startBrowserDemo(t, 1280, "")
	const email = "eve@example.com"
	d.typeInto("#email", email)
	d.click("#send-code")
	d.waitText("#otp-email", email)
	// Each press is one request; the server allows 10 a minute per email.
	for range 10 {
		d.click("#resend-code")
		d.do("wait for the answer", d.waitJS(`!document.getElementById("resend-code").disabled`))
	}
	d.waitText("#otp-msg", "Too many attempts. Please try again in ")
	d.shot("too-many-attempts")
	if msg := d.text("#otp-msg"); !regexp.MustCompile(`try again in \d+ seconds? \(at `).MatchString(msg) {
		t.Errorf("429 message %q does not say when to retry", msg)
	}
	n := 0
	for _, r := range d.requestsSince(0) {
		if r == "POST /auth/signUpOrLogin" {
			n++
		}
	}
	if n != 11 {
		t.Errorf("page sent %d code requests, want 11 (10 allowed, the 11th refused)", n)
	}
}

// requireRequests checks that got holds every request of want, in that
// order, and none of never. A want that ends in "/" matches every path
// under it.
func requireRequests(t *testing.T, got, want, never []string) {
	t.Helper()
	i := 0
	for _, r := range got {
		if i < len(want) && (r == want[i] || strings.HasSuffix(want[i], "/") && strings.HasPrefix(r, want[i])) {
			i++
		}
	}
	if i < len(want) {
		t.Errorf("page requests %q lack %q (in order %q)", got, want[i], want)
	}
	for _, r := range never {
		if slices.Contains(got, r) {
			t.Errorf("page requests %q include %q", got, r)
		}
	}
}
