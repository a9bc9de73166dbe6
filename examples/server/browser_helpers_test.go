package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"

	"github.com/passkeyready/passkeys/internal/e2e"
)

// browserTimeout bounds each browser test, from starting Chromium to the
// last check.
const browserTimeout = 60 * time.Second

// chromiumPath returns the Chromium binary, or skips the test when there is
// none, unless PASSKEYS_BROWSER_TESTS=required makes that a failure.
func chromiumPath(t *testing.T) string {
	t.Helper()
	path := os.Getenv("PASSKEYS_CHROMIUM")
	if path == "" {
		path = "/usr/bin/chromium"
	}
	if _, err := os.Stat(path); err != nil {
		msg := fmt.Sprintf("no Chromium at %s (apt-get install chromium, or set PASSKEYS_CHROMIUM to its path): %v", path, err)
		if os.Getenv("PASSKEYS_BROWSER_TESTS") == "required" {
			t.Fatal("browser tests are required (PASSKEYS_BROWSER_TESTS=required) but there is " + msg)
		}
		t.Skip("skipping browser test: " + msg + "; PASSKEYS_BROWSER_TESTS=required makes this a failure")
	}
	return path
}

// browserDemo is the example server and one Chromium tab with a virtual
// authenticator, driven like a person would.
type browserDemo struct {
	t      *testing.T
	ctx    context.Context
	url    string
	log    *e2e.Buffer // the server's
	codes  *e2e.Buffer // where the one-time codes are written: log, or the Corbado emulator's
	clock  *offsetClock
	auth   webauthn.AuthenticatorID
	shots  string
	nshots int

	mu       sync.Mutex
	requests []string // "METHOD /path" of every API request the page sent
	problems []string // uncaught exceptions and policy violations in the page
}

// startBrowserDemo starts the example server on a free loopback port and
// Chromium on its page, width pixels wide, with a virtual authenticator.
// A non-empty script runs in the page before the page's own, to take
// browser features away.
func startBrowserDemo(t *testing.T, width int64, script string) *browserDemo {
	t.Helper()
	return startBrowserDemoWith(t, width, script)
}

// startBrowserDemoWith is startBrowserDemo with more flags for the server.
func startBrowserDemoWith(t *testing.T, width int64, script string, serverArgs ...string) *browserDemo {
	t.Helper()
	return startBrowserDemoEnv(t, width, script, nil, serverArgs...)
}

// startBrowserDemoCorbado is startBrowserDemo on the Corbado backend,
// pointed at the emulator; d.otp reads the codes the emulator sends.
func startBrowserDemoCorbado(t *testing.T, width int64, script string) *browserDemo {
	t.Helper()
	return startBrowserDemoEnv(t, width, script, func(origin string) (map[string]string, *e2e.Buffer) {
		return corbadoEmulator(t, origin)
	})
}

// startBrowserDemoEnv is startBrowserDemoWith with the server's
// environment from env (nil for none), called with the page's origin
// before the server starts; the codes it returns, if not nil, are where
// d.otp finds them instead of the server's log.
func startBrowserDemoEnv(t *testing.T, width int64, script string, env func(origin string) (map[string]string, *e2e.Buffer), serverArgs ...string) *browserDemo {
	t.Helper()
	chromium := chromiumPath(t)
	clock := &offsetClock{}
	url, log, codes := startBrowserServer(t, clock, env, serverArgs...)

	parent, cancel := context.WithTimeout(context.Background(), browserTimeout)
	t.Cleanup(cancel)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(parent,
		chromedp.ExecPath(chromium),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-first-run", true),
		chromedp.UserDataDir(t.TempDir()),
	)
	t.Cleanup(cancelAlloc)
	ctx, cancelTab := chromedp.NewContext(allocCtx)
	t.Cleanup(cancelTab)

	d := &browserDemo{t: t, ctx: ctx, url: url, log: log, codes: codes, clock: clock, shots: browserScreenshotDir(t)}
	d.do("start Chromium", chromedp.EmulateViewport(width, 900))
	if err := chromedp.Listen(ctx, d.record); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		d.mu.Lock()
		defer d.mu.Unlock()
		for _, p := range d.problems {
			t.Errorf("page: %s", p)
		}
	})
	if _, err := chromedp.Call(ctx, webauthn.Enable, webauthn.EnableParams{}); err != nil {
		t.Fatalf("WebAuthn.enable: %v", err)
	}
	res, err := chromedp.Call(ctx, webauthn.AddVirtualAuthenticator, webauthn.AddVirtualAuthenticatorParams{
		Options: &webauthn.VirtualAuthenticatorOptions{
			Protocol:                    webauthn.AuthenticatorProtocolCtap2,
			Transport:                   webauthn.AuthenticatorTransportInternal,
			HasResidentKey:              true,
			HasUserVerification:         true,
			IsUserVerified:              true,
			AutomaticPresenceSimulation: true,
		},
	})
	if err != nil {
		t.Fatalf("WebAuthn.addVirtualAuthenticator: %v", err)
	}
	d.auth = res.AuthenticatorID
	if script != "" {
		_, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: script})
		if err != nil {
			t.Fatalf("Page.addScriptToEvaluateOnNewDocument: %v", err)
		}
	}
	d.do("open the page", chromedp.Navigate(url+"/"), d.waitJS(`document.documentElement.dataset.ready === "true"`))
	return d
}

// record notes the page's API requests, uncaught exceptions and
// Content-Security-Policy violations. It runs in the tab's event loop.
func (d *browserDemo) record(ev any) {
	d.mu.Lock()
	defer d.mu.Unlock()
	switch ev := ev.(type) {
	case *network.EventRequestWillBeSent:
		if path, ok := strings.CutPrefix(ev.Request.URL, d.url); ok && (strings.HasPrefix(path, "/auth/") || strings.HasPrefix(path, "/api/")) {
			d.requests = append(d.requests, ev.Request.Method+" "+path)
		}
	case *runtime.EventExceptionThrown:
		msg := "uncaught: " + ev.ExceptionDetails.Text
		if ex := ev.ExceptionDetails.Exception; ex != nil {
			msg += " " + ex.Description
		}
		d.problems = append(d.problems, msg)
	case *cdplog.EventEntryAdded:
		if strings.Contains(ev.Entry.Text, "Content Security Policy") {
			d.problems = append(d.problems, ev.Entry.Text)
		}
	}
}

// requestsSince returns the API requests the page sent after the first n.
func (d *browserDemo) requestsSince(n int) []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.requests[n:]...)
}

// requestCount is how many API requests the page has sent.
func (d *browserDemo) requestCount() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.requests)
}

// presence switches the virtual authenticator's automatic presence
// simulation. Chromium hands every WebAuthn request, conditional ones
// included, to the virtual authenticator as soon as the page makes it; with
// presence on the authenticator answers at once, with presence off it never
// answers (like a person who ignores the prompt), and switching presence on
// later does not answer a request already waiting.
func (d *browserDemo) presence(on bool) {
	d.t.Helper()
	_, err := chromedp.Call(d.ctx, webauthn.SetAutomaticPresenceSimulation, webauthn.SetAutomaticPresenceSimulationParams{
		AuthenticatorID: d.auth, Enabled: on,
	})
	if err != nil {
		d.t.Fatalf("WebAuthn.setAutomaticPresenceSimulation: %v", err)
	}
}

// offsetClock is the server's clock in the browser tests: the real time
// plus an offset that a test moves on instead of waiting.
type offsetClock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *offsetClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

// advance moves the server's clock on by d.
func (d *browserDemo) advance(by time.Duration) {
	d.clock.mu.Lock()
	defer d.clock.mu.Unlock()
	d.clock.offset += by
}

// startBrowserServer runs the example server in this process with a fresh
// database, on clock, with more flags args, and returns its origin and its
// log, and where the codes are written (log, unless env returns another
// place). A non-nil env gives the server's environment.
func startBrowserServer(t *testing.T, clock *offsetClock, env func(origin string) (map[string]string, *e2e.Buffer), args ...string) (string, *e2e.Buffer, *e2e.Buffer) {
	t.Helper()
	// The origin names the port before the server listens, so take a port
	// that was free a moment ago.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()

	origin := fmt.Sprintf("http://localhost:%d", port)
	log := &e2e.Buffer{}
	args = append([]string{
		"-addr", fmt.Sprintf("127.0.0.1:%d", port),
		"-db", filepath.Join(t.TempDir(), "passkeys.db"),
		"-origin", origin,
		"-rp-id", "localhost",
		"-jwt-secret", "browser-test-jwt-secret-0123456789abcdef",
	}, args...)
	// run reads the clock once, as it starts; it is put back after the
	// server has stopped (cleanups run last registered first).
	now = clock.Now
	t.Cleanup(func() { now = time.Now })
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	var vars map[string]string
	codes := log
	if env != nil {
		var c *e2e.Buffer
		if vars, c = env(origin); c != nil {
			codes = c
		}
	}
	go func() { done <- run(ctx, args, func(k string) string { return vars[k] }, log, ready) }()
	select {
	case <-ready:
	case err := <-done:
		cancel()
		t.Fatalf("server did not start: %v\n%s", err, log)
	}
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("server: %v", err)
		}
	})
	return origin, log, codes
}

// browserScreenshotDir is where the test's screenshots go: a folder per
// test under $PASSKEYS_SCREENSHOTS, or under a folder of the system's
// temporary directory named for this checkout, so that runs from two
// checkouts at once do not remove each other's. Screenshots of an earlier
// run of the test are removed.
func browserScreenshotDir(t *testing.T) string {
	t.Helper()
	base := os.Getenv("PASSKEYS_SCREENSHOTS")
	if base == "" {
		wd, err := os.Getwd()
		if err != nil {
			t.Fatal(err)
		}
		base = filepath.Join(os.TempDir(), fmt.Sprintf("passkeys-screenshots-%08x", crc32.ChecksumIEEE([]byte(wd))))
	}
	dir := filepath.Join(base, t.Name())
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots: %s", dir)
	return dir
}

// do runs actions, failing the test with what it was doing.
func (d *browserDemo) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	d.t.Helper()
	if err := chromedp.Do(d.ctx, actions...); err != nil {
		d.t.Fatalf("%s: %v\npage text:\n%s", what, err, d.pageText())
	}
}

// shot saves a PNG of the whole page as the next numbered step.
func (d *browserDemo) shot(step string) {
	d.t.Helper()
	png, err := chromedp.Run(d.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		d.t.Fatalf("screenshot %s: %v", step, err)
	}
	d.nshots++
	name := filepath.Join(d.shots, fmt.Sprintf("%02d-%s.png", d.nshots, step))
	if err := os.WriteFile(name, png, 0o644); err != nil {
		d.t.Fatal(err)
	}
}

// waitJS waits until the JavaScript expression is true in the page.
func (d *browserDemo) waitJS(expr string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := chromedp.Poll[bool](expr, chromedp.WithPollingTimeout(20*time.Second))(ctx, t)
		return err
	})
}

// waitText waits until the element matching the CSS selector is visible
// and its text contains want.
func (d *browserDemo) waitText(sel, want string) {
	d.t.Helper()
	expr := fmt.Sprintf(`(() => { const e = document.querySelector(%q); return !!e && e.checkVisibility() && e.textContent.includes(%q); })()`, sel, want)
	if err := chromedp.Do(d.ctx, d.waitJS(expr)); err != nil {
		d.t.Fatalf("waiting for %s to show %q: %v\nit shows %q\npage text:\n%s", sel, want, err, d.text(sel), d.pageText())
	}
}

// text returns the text of the first element matching the CSS selector,
// or "" when there is none.
func (d *browserDemo) text(sel string) string {
	s, _ := chromedp.Run(d.ctx, chromedp.Evaluate[string](fmt.Sprintf(`document.querySelector(%q)?.textContent.trim() ?? ""`, sel)))
	return s
}

// pageText is what the page shows, for failure messages.
func (d *browserDemo) pageText() string {
	s, _ := chromedp.Run(d.ctx, chromedp.Evaluate[string](`document.body.innerText`))
	return s
}

// typeInto clicks a field, clears it and types text key by key.
func (d *browserDemo) typeInto(sel, text string) {
	d.t.Helper()
	d.do("type into "+sel,
		chromedp.Click(chromedp.CSS(sel)),
		chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`document.querySelector(%q).select()`, sel)),
		chromedp.SendKeys(chromedp.CSS(sel), text))
}

func (d *browserDemo) click(sel string) {
	d.t.Helper()
	d.do("click "+sel, chromedp.Click(chromedp.CSS(sel)))
}

var browserOTPLine = regexp.MustCompile(`passkeys DEVELOPMENT ONLY otp email=(\S+) code=(\d{6})\s`)

// otp returns the last code the development sender wrote for email.
func (d *browserDemo) otp(email string) string {
	d.t.Helper()
	code := ""
	for _, m := range browserOTPLine.FindAllStringSubmatch(d.codes.String(), -1) {
		if m[1] == email {
			code = m[2]
		}
	}
	if code == "" {
		d.t.Fatalf("no code for %s in:\n%s", email, d.codes)
	}
	return code
}

// otpCount is how many codes the development sender wrote for email.
func (d *browserDemo) otpCount(email string) int {
	n := 0
	for _, m := range browserOTPLine.FindAllStringSubmatch(d.codes.String(), -1) {
		if m[1] == email {
			n++
		}
	}
	return n
}

// signUp signs email up (or in) with a one-time code, through the page.
func (d *browserDemo) signUp(email string) {
	d.t.Helper()
	d.typeInto("#email", email)
	d.click("#send-code")
	d.waitText("#otp-email", email)
	d.typeInto("#otp", d.otp(email))
	d.click("#verify-code")
	d.waitText("#me-email", email)
}

// addPasskey adds a passkey through the page and waits for the list to
// show want passkeys.
func (d *browserDemo) addPasskey(want int) {
	d.t.Helper()
	d.click("#add-passkey")
	d.waitText("#passkey-msg", "Passkey added")
	d.do("count passkeys", d.waitJS(fmt.Sprintf(`document.querySelectorAll("#passkey-list li").length === %d`, want)))
}

// signOut presses the sign-out button. Presence is switched off first, so
// that the autofill request the signed-out page makes waits for the person
// instead of signing straight back in; signOut returns once the page has
// made that request.
func (d *browserDemo) signOut() {
	d.t.Helper()
	d.presence(false)
	d.click("#sign-out")
	d.waitText("#email-msg", "You are signed out.")
	d.do("autofill request pending", d.waitJS(`document.documentElement.dataset.autofill === "waiting"`))
}

// token is the session token the page keeps.
func (d *browserDemo) token() string {
	d.t.Helper()
	tok, err := chromedp.Run(d.ctx, chromedp.Evaluate[string](`sessionStorage.getItem("passkeys.sessionToken") ?? ""`))
	if err != nil {
		d.t.Fatal(err)
	}
	return tok
}

// get calls the server directly with token and decodes the JSON answer.
func (d *browserDemo) get(path, token string, v any) int {
	d.t.Helper()
	return d.call(http.MethodGet, path, token, "", nil, v)
}

// call sends a request to the server directly, with token and userAgent
// when they are not empty and body as JSON when it is not nil, and decodes
// a 200 answer into v.
func (d *browserDemo) call(method, path, token, userAgent string, body, v any) int {
	d.t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			d.t.Fatal(err)
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(d.ctx, method, d.url+path, r)
	if err != nil {
		d.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if userAgent != "" {
		req.Header.Set("User-Agent", userAgent)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		d.t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode == http.StatusOK && v != nil {
		if err := json.NewDecoder(res.Body).Decode(v); err != nil {
			d.t.Fatalf("%s %s: %v", method, path, err)
		}
	}
	return res.StatusCode
}

// signInOverHTTP signs email in with a one-time code without the page, as
// another device whose browser says userAgent, and returns the session
// token.
func (d *browserDemo) signInOverHTTP(email, userAgent string) string {
	d.t.Helper()
	if code := d.call(http.MethodPost, "/auth/signUpOrLogin", "", userAgent, map[string]string{"email": email}, nil); code != http.StatusOK {
		d.t.Fatalf("POST /auth/signUpOrLogin {email}: status %d", code)
	}
	var res struct {
		SessionToken string `json:"sessionToken"`
	}
	if code := d.call(http.MethodPost, "/auth/signUpOrLogin", "", userAgent, map[string]string{"email": email, "otp": d.otp(email)}, &res); code != http.StatusOK || res.SessionToken == "" {
		d.t.Fatalf("POST /auth/signUpOrLogin {email, otp}: status %d, token %q", code, res.SessionToken)
	}
	return res.SessionToken
}

// browserPasskey is one entry of GET /auth/passkeys.
type browserPasskey struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	LastUsedAt *time.Time `json:"lastUsedAt"`
	BackedUp   bool       `json:"backedUp"`
}

// serverPasskeys lists the passkeys of the session's user on the server.
func (d *browserDemo) serverPasskeys(token string) []browserPasskey {
	d.t.Helper()
	var body struct {
		Passkeys []browserPasskey `json:"passkeys"`
	}
	if code := d.get("/auth/passkeys", token, &body); code != http.StatusOK {
		d.t.Fatalf("GET /auth/passkeys: status %d", code)
	}
	return body.Passkeys
}

// credentials lists the passkeys held by the virtual authenticator.
func (d *browserDemo) credentials() []*webauthn.Credential {
	d.t.Helper()
	res, err := chromedp.Call(d.ctx, webauthn.GetCredentials, webauthn.GetCredentialsParams{AuthenticatorID: d.auth})
	if err != nil {
		d.t.Fatalf("WebAuthn.getCredentials: %v", err)
	}
	return res.Credentials
}

// credentialsSettle reads the virtual authenticator's credentials until
// it holds want of them or two seconds have passed, and returns the last
// count: the browser applies a Signal API call to its authenticator
// after the page's promise has resolved.
func (d *browserDemo) credentialsSettle(want int) int {
	d.t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for {
		got := len(d.credentials())
		if got == want || time.Now().After(deadline) {
			return got
		}
		select {
		case <-d.ctx.Done():
			return got
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// visible reports whether the element matching the CSS selector is shown.
func (d *browserDemo) visible(sel string) bool {
	d.t.Helper()
	v, err := chromedp.Run(d.ctx, chromedp.Evaluate[bool](fmt.Sprintf(`document.querySelector(%q)?.checkVisibility() ?? false`, sel)))
	if err != nil {
		d.t.Fatal(err)
	}
	return v
}

// attr returns an attribute of the first element matching the selector.
func (d *browserDemo) attr(sel, name string) string {
	d.t.Helper()
	v, err := chromedp.Run(d.ctx, chromedp.Evaluate[string](fmt.Sprintf(`document.querySelector(%q)?.getAttribute(%q) ?? ""`, sel, name)))
	if err != nil {
		d.t.Fatal(err)
	}
	return v
}

// count is how many elements match the CSS selector.
func (d *browserDemo) count(sel string) int {
	d.t.Helper()
	n, err := chromedp.Run(d.ctx, chromedp.Evaluate[int](fmt.Sprintf(`document.querySelectorAll(%q).length`, sel)))
	if err != nil {
		d.t.Fatal(err)
	}
	return n
}

// waitLoaded waits until the signed-in view has loaded the account: the
// account section is no longer aria-busy.
func (d *browserDemo) waitLoaded() {
	d.t.Helper()
	d.do("account loaded", d.waitJS(`!document.getElementById("account").hidden && !document.getElementById("account").hasAttribute("aria-busy")`))
}
