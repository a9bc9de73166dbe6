package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/google/uuid"

	"github.com/passkeyready/passkeys/passkeystest"
)

// recordAppendStarts keeps the body of every passkey/append/start request
// the page sends in window.appendStarts.
const recordAppendStarts = `(() => {
  window.appendStarts = [];
  const real = window.fetch;
  window.fetch = (input, init) => {
    if (String(input).endsWith('/auth/passkey/append/start')) window.appendStarts.push(String(init?.body ?? ''));
    return real(input, init);
  };
})();`

// TestBrowserConditionalUpgrade signs in by code in a Chromium that
// reports conditionalCreate (Chromium 156 does, with its virtual
// authenticator) and checks that the page asks for a conditional create at
// once, silently. Chromium's virtual authenticator never answers a
// conditional create (with presence simulation on or off): the request
// stays pending, as with a password manager that declines to offer one. So
// the test checks that the request is made with the right options, that
// nothing is shown while it waits, and that pressing "Add a passkey" ends it
// without a message and adds a passkey the plain way. Answering it, with
// and without user presence, is tested over HTTP with the software
// authenticator (internal/e2e ConditionalCreate).
func TestBrowserConditionalUpgrade(t *testing.T) {
	d := startBrowserDemo(t, 390, recordAppendStarts)
	const email = "upgrade@example.com"
	d.signUp(email)
	d.do("conditional create pending", d.waitJS(`document.documentElement.dataset.upgrade === "waiting"`))
	starts, err := chromedp.Run(d.ctx, chromedp.Evaluate[[]string](`window.appendStarts`))
	if err != nil || len(starts) != 1 || starts[0] != `{"mediation":"conditional"}` {
		t.Errorf("append start bodies %q (%v), want one {\"mediation\":\"conditional\"}", starts, err)
	}
	d.waitText("#account-msg", "Welcome! Your account is ready.")
	if msg := d.text("#passkey-msg"); msg != "" {
		t.Errorf("passkey message %q while the upgrade waits, want none", msg)
	}
	d.waitText("#passkey-empty", "No passkeys yet.")
	requireRequests(t, d.requestsSince(0), []string{"POST /auth/passkey/append/start"}, []string{"POST /auth/passkey/append/finish"})
	d.shot("upgrade-pending")

	d.addPasskey(1)
	if got := d.attr("html", "data-upgrade"); got != "declined" {
		t.Errorf("data-upgrade %q after adding a passkey, want declined (the pending request was ended)", got)
	}
	if n := len(d.credentials()); n != 1 {
		t.Errorf("virtual authenticator holds %d credentials, want 1", n)
	}
	if msg := d.text("#passkey-msg"); !strings.HasPrefix(msg, "Passkey added") {
		t.Errorf("passkey message %q", msg)
	}

	// Signing out ends a pending upgrade too, and autofill is offered again.
	d.signOut()
}

// TestBrowserNoConditionalCreate: a browser that does not report
// conditionalCreate gets no conditional create.
func TestBrowserNoConditionalCreate(t *testing.T) {
	d := startBrowserDemo(t, 390, recordAppendStarts+`
PublicKeyCredential.getClientCapabilities = async () => ({ conditionalGet: true, conditionalCreate: false });`)
	d.signUp("plain@example.com")
	d.do("upgrade skipped", d.waitJS(`document.documentElement.dataset.upgrade === "unsupported"`))
	requireRequests(t, d.requestsSince(0), nil, []string{"POST /auth/passkey/append/start"})
}

// TestBrowserProviderIcon shows a passkey of Google Password Manager
// (added over HTTP with the software authenticator and its AAGUID) with
// the provider's name and icon, as an image of a data URI that the page's
// Content-Security-Policy lets through.
func TestBrowserProviderIcon(t *testing.T) {
	d := startBrowserDemo(t, 390, "")
	const email = "gpm@example.com"
	token := d.signInOverHTTP(email, "")
	auth := passkeystest.New(d.url)
	auth.AAGUID = uuid.MustParse("ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4")
	c := passkeystest.NewClient(d.url+"/auth", passkeystest.ClientOptions{Authenticator: auth})
	p, err := c.AppendPasskey(d.ctx, token)
	if err != nil || p.Name != "Google Password Manager" || p.Provider == nil {
		t.Fatalf("append over HTTP: %+v, %v", p, err)
	}
	d.signUp(email)
	d.waitText("#passkey-list .name", "Google Password Manager")
	d.do("icon loaded", d.waitJS(`(() => { const i = document.querySelector("#passkey-list img.provider-icon"); return !!i && i.complete && i.naturalWidth > 0; })()`))
	if src := d.attr("#passkey-list img.provider-icon", "src"); src != p.Provider.IconLight {
		t.Errorf("icon src %.60q, want the light icon", src)
	}
	if n := d.count("#passkey-list svg, #passkey-list script"); n != 0 {
		t.Errorf("%d svg or script elements in the list: the icon was inserted as markup", n)
	}
	d.shot("provider-icon")
}

// TestBrowserClientUpgrade drives the module's upgradePasskey in Chromium,
// which reports conditionalCreate: the conditional create is asked for and
// stays pending (the virtual authenticator never answers one) until the
// caller aborts it, which resolves to declined with webauthn_aborted; in a
// browser without getClientCapabilities it resolves to unsupported without
// asking the server.
func TestBrowserClientUpgrade(t *testing.T) {
	d := startBrowserDemo(t, 1280, clientPageSetup)
	loadClient(d)
	token := d.signInOverHTTP("lift@example.com", "")
	d.value(fmt.Sprintf(`(window.token = %q, true)`, token), nil)

	type result struct {
		Outcome string `json:"outcome"`
		Error   *struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	mark := d.requestCount()
	d.value(`(window.upgrade = new AbortController(), window.upgradePending = false,
		window.upgradeDone = window.client.upgradePasskey({ signal: window.upgrade.signal, onPending: () => { window.upgradePending = true; } }), true)`, nil)
	d.do("conditional create pending", d.waitJS(`window.upgradePending === true`))
	d.value(`(window.upgrade.abort(), true)`, nil)
	var r result
	d.value(`window.upgradeDone`, &r)
	if r.Outcome != "declined" || r.Error == nil || r.Error.Code != "webauthn_aborted" {
		t.Errorf("aborted upgrade resolved to %+v, want declined with webauthn_aborted", r)
	}
	requireRequests(t, d.requestsSince(mark), []string{"POST /auth/passkey/append/start"}, []string{"POST /auth/passkey/append/finish"})
	if n := len(d.serverPasskeys(token)); n != 0 {
		t.Errorf("server has %d passkeys after the aborted upgrade, want 0", n)
	}

	mark = d.requestCount()
	r = result{}
	d.value(`(delete PublicKeyCredential.getClientCapabilities, window.client.upgradePasskey())`, &r)
	if r.Outcome != "unsupported" || r.Error != nil {
		t.Errorf("upgrade without getClientCapabilities resolved to %+v, want unsupported", r)
	}
	requireRequests(t, d.requestsSince(mark), nil, []string{"POST /auth/passkey/append/start"})
}
