package main

// Browser tests of the passkey list's Rename button and of the Recent
// activity section.

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/passkeyready/passkeys/passkeystest"
)

// TestBrowserRenamePasskey renames a passkey through the page: a name of
// markup shows as text (names are untrusted input), a name the page or the
// server refuses changes nothing and says why, and Cancel keeps the name.
func TestBrowserRenamePasskey(t *testing.T) {
	d := startBrowserDemo(t, 390, "")
	const email = "ren@example.com"
	d.signUp(email)
	d.addPasskey(1)
	token := d.token()
	before := d.serverPasskeys(token)[0].Name

	// Cancel keeps the name and sends nothing.
	mark := d.requestCount()
	d.click("#passkey-list li button.rename")
	d.do("name field shown", d.waitJS(`document.activeElement?.classList.contains("rename-name") === true`))
	if got := d.attr("#passkey-list li input.rename-name", "aria-label"); got != "New name for "+before {
		t.Errorf("name field label %q", got)
	}
	d.typeInto("#passkey-list li input.rename-name", "Never saved")
	d.click("#passkey-list li .rename-form button.plain")
	d.do("buttons back", d.waitJS(`document.activeElement?.classList.contains("rename") === true`))
	requireRequests(t, d.requestsSince(mark), nil, []string{"PATCH /auth/passkeys/" + d.serverPasskeys(token)[0].ID})

	// A blank name is refused by the page, a bidi override by the server.
	d.click("#passkey-list li button.rename")
	d.typeInto("#passkey-list li input.rename-name", "   ")
	d.click("#passkey-list li .rename-form button.primary")
	d.waitText("#passkey-msg", "Enter a name of 1 to 64 characters.")
	// Typed keys cannot carry a bidi override; the field is set directly.
	d.do("set the name", chromedp.Evaluate[chromedp.Void](`document.querySelector("#passkey-list li input.rename-name").value = "Work \u202elaptop"`))
	d.click("#passkey-list li .rename-form button.primary")
	d.waitText("#passkey-msg", "That name cannot be used: name must not hold control, format or bidi characters")
	d.shot("rename-refused")
	if got := d.serverPasskeys(token)[0].Name; got != before {
		t.Errorf("server name %q after the refused renames, want %q", got, before)
	}

	const name = `<img id="injected" src="x"> Work laptop`
	d.typeInto("#passkey-list li input.rename-name", "  "+name+"  ")
	mark = d.requestCount()
	d.click("#passkey-list li .rename-form button.primary")
	d.waitText("#passkey-msg", "Passkey renamed: "+name+".")
	d.shot("renamed")
	requireRequests(t, d.requestsSince(mark), []string{"PATCH /auth/passkeys/", "GET /auth/passkeys"}, nil)
	if got := d.serverPasskeys(token)[0].Name; got != name {
		t.Errorf("server name %q, want %q", got, name)
	}
	if got := d.text("#passkey-list li .name"); got != name {
		t.Errorf("listed name %q, want the text %q", got, name)
	}
	if d.count("#injected") != 0 || d.count("#passkey-list img:not(.provider-icon)") != 0 {
		t.Error("the passkey name's markup became an element")
	}
	if got := d.attr("#passkey-list li button.rename", "aria-label"); got != "Rename "+name {
		t.Errorf("Rename button label %q", got)
	}
	if got := d.attr("#passkey-list li button.danger", "aria-label"); got != "Delete "+name {
		t.Errorf("Delete button label %q", got)
	}
}

// TestBrowserRenameCorbado: the Corbado backend keeps no passkey names and
// answers not_supported; the page says so and offers no Rename any more.
func TestBrowserRenameCorbado(t *testing.T) {
	d := startBrowserDemoCorbado(t, 1280, "")
	const email = "cor@example.com"
	token := d.signInOverHTTP(email, "")
	c := passkeystest.NewClient(d.url+"/auth", passkeystest.ClientOptions{Authenticator: passkeystest.New(d.url)})
	if _, err := c.AppendPasskey(d.ctx, token); err != nil {
		t.Fatalf("append over HTTP: %v", err)
	}
	d.signUp(email)
	d.waitLoaded()
	before := d.text("#passkey-list li .name")
	d.click("#passkey-list li button.rename")
	d.typeInto("#passkey-list li input.rename-name", "Work laptop")
	d.click("#passkey-list li .rename-form button.primary")
	d.waitText("#passkey-msg", "This server cannot rename passkeys")
	d.shot("rename-not-supported")
	d.do("rename gone", d.waitJS(`document.querySelectorAll("#passkey-list li button.rename").length === 0 &&
		document.querySelectorAll("#passkey-list li button.danger").length === 1`))
	if got := d.text("#passkey-list li .name"); got != before {
		t.Errorf("listed name %q after not_supported, want %q", got, before)
	}
}

// TestBrowserActivity shows GET /auth/account/activity as Recent
// activity: what happened, how, on which device, as text, refreshed after
// each change the page makes. Where the server records no activity (404)
// the section stays hidden.
func TestBrowserActivity(t *testing.T) {
	d := startBrowserDemo(t, 1280, "")
	const email = "act@example.com"
	d.signUp(email)
	d.waitLoaded()
	if status := d.get("/auth/account/activity", d.token(), nil); status == http.StatusNotFound {
		if d.visible("#activity") {
			t.Error("Recent activity shown where the server records none (404)")
		}
		return
	}
	if !d.visible("#activity") {
		t.Fatal("Recent activity hidden")
	}
	d.waitActivity(`document.querySelector('#activity-list li[data-kind="sign_up"]')`)
	if got := d.text(`#activity-list li[data-kind="sign_up"] .event-what`); got != "Account created with an email code" {
		t.Errorf("sign-up shows %q", got)
	}
	if got := d.text(`#activity-list li[data-kind="sign_up"] .event-meta`); !strings.Contains(got, "Chrome on Linux") {
		t.Errorf("sign-up meta %q, want the device", got)
	}

	d.addPasskey(1)
	name := d.text("#passkey-list li .name")
	d.waitActivity(`document.querySelector('#activity-list li[data-kind="passkey_added"]')`)
	if got := d.text(`#activity-list li[data-kind="passkey_added"] .detail`); got != name {
		t.Errorf("passkey added shows %q, want %q", got, name)
	}

	// A sign-in elsewhere, whose user agent is markup, shows as text.
	const otherUA = `Mozilla/5.0 (Windows NT 10.0; Win64; x64) <img id="injected" src="x"> Firefox/133.0`
	d.signInOverHTTP(email, otherUA)
	d.waitActivity(`[...document.querySelectorAll('#activity-list li[data-kind="login"] .event-meta')].some((m) => m.textContent.includes("Firefox on Windows"))`)
	d.shot("activity")
	if got := d.text(`#activity-list li .event-what`); got != "Signed in with an email code" {
		t.Errorf("the other sign-in shows %q, want it made with an email code", got)
	}
	if d.count("#injected") != 0 || d.count("#activity-list img") != 0 {
		t.Error("the user agent's markup became an element")
	}
	if got := d.attr("#activity-list li", "data-kind"); got != "login" {
		t.Errorf("newest event %q, want the login first", got)
	}

	d.click("#passkey-list li button.danger")
	d.click("#passkey-list li button.confirm")
	d.waitText("#passkey-msg", "Passkey deleted.")
	d.waitActivity(`document.querySelector('#activity-list li[data-kind="passkey_removed"]')`)
}

// waitActivity presses Refresh in Recent activity until the JavaScript
// expression found is truthy, for up to five seconds: the server records
// events after it has answered the request that made them.
func (d *browserDemo) waitActivity(found string) {
	d.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		ok, err := chromedp.Run(d.ctx, chromedp.Evaluate[bool]("!!("+found+")"))
		if err != nil {
			d.t.Fatal(err)
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			d.t.Fatalf("Recent activity never had %s: %q", found, d.text("#activity"))
		}
		d.click("#activity-refresh")
		d.do("refreshed", d.waitJS(`!document.getElementById("activity-refresh").disabled`))
	}
}
