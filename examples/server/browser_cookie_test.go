package main

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserCookieSessions runs the demo with -cookie in Chromium: the
// page holds no token, the HttpOnly cookie carries the session through
// Chromium's own Origin and Sec-Fetch-Site headers (so the cross-origin
// check lets the page's POSTs through), the session survives a reload,
// and signing out ends it on the server.
func TestBrowserCookieSessions(t *testing.T) {
	d := startBrowserDemoWith(t, 1024, "", "-cookie")
	const email = "cora@example.com"
	d.signUp(email)
	if tok, err := chromedp.Run(d.ctx, chromedp.Evaluate[string](`String(sessionStorage.getItem("passkeys.sessionToken"))`)); err != nil || tok != "" {
		t.Errorf("the page keeps %q (%v), want the empty marker and no token", tok, err)
	}
	if c, err := chromedp.Run(d.ctx, chromedp.Evaluate[string](`document.cookie`)); err != nil || strings.Contains(c, "passkeys_session") {
		t.Errorf("document.cookie = %q (%v): the session cookie must be HttpOnly", c, err)
	}
	d.addPasskey(1)
	d.shot("cookie-passkey-added")

	d.do("reload", chromedp.Navigate(d.url+"/"), d.waitJS(`document.documentElement.dataset.ready === "true"`))
	d.waitText("#me-email", email)

	status := func() string {
		d.t.Helper()
		d.do("fetch /api/me", chromedp.Evaluate[chromedp.Void](`window.meStatus = ""; fetch("/api/me").then((r) => { window.meStatus = String(r.status); })`),
			d.waitJS(`window.meStatus !== ""`))
		s, _ := chromedp.Run(d.ctx, chromedp.Evaluate[string](`window.meStatus`))
		return s
	}
	if s := status(); s != "200" {
		t.Errorf("GET /api/me from the page with the cookie: %s", s)
	}
	d.signOut()
	if s := status(); s != "401" {
		t.Errorf("GET /api/me from the page after signing out: %s, want 401", s)
	}
}
