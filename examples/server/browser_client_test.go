package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"
)

// clientPageSetup runs before the demo page's own script: it takes away
// conditional mediation, so that the page starts no autofill request of
// its own, counts the page's WebAuthn get calls and records Signal API
// calls instead of making them.
const clientPageSetup = `
	delete PublicKeyCredential.isConditionalMediationAvailable;
	window.getCalls = 0;
	{
		const get = navigator.credentials.get.bind(navigator.credentials);
		navigator.credentials.get = (options) => { window.getCalls++; return get(options); };
	}
	window.signals = [];
	PublicKeyCredential.signalUnknownCredential = async (arg) => { window.signals.push(arg); };
	window.accepted = [];
	PublicKeyCredential.signalAllAcceptedCredentials = async (arg) => { window.accepted.push(arg); };
	window.details = [];
	PublicKeyCredential.signalCurrentUserDetails = async (arg) => { window.details.push(arg); };
`

// clientResult is what call returns: the value or the error thrown.
type clientResult struct {
	Value json.RawMessage `json:"value"`
	Error *struct {
		Name        string `json:"name"`
		IsPasskeys  bool   `json:"isPasskeysError"`
		Code        string `json:"code"`
		Status      int    `json:"status"`
		Detail      string `json:"detail"`
		RetryAfter  int    `json:"retryAfter"`
		CauseName   string `json:"causeName"`
		MessageSame bool   `json:"messageIsDetail"`
	} `json:"error"`
}

// loadClient imports /auth/client.js into the demo page, under its
// Content-Security-Policy, as window.pk, with a client in Bearer mode
// whose token is window.token.
func loadClient(d *browserDemo) {
	d.t.Helper()
	_, err := chromedp.Run(d.ctx, chromedp.Evaluate[bool](`(async () => {
		window.pk = await import('/auth/client.js');
		window.token = '';
		window.client = window.pk.createClient({ token: () => window.token });
		return true;
	})()`, chromedp.EvalAwaitPromise))
	if err != nil {
		d.t.Fatalf("import /auth/client.js: %v", err)
	}
}

// call evaluates the JavaScript expression expr, a promise, in the page and
// returns its JSON value or the error it threw.
func (d *browserDemo) jsCall(expr string) clientResult {
	d.t.Helper()
	js := fmt.Sprintf(`(async () => {
		try {
			const value = await (%s);
			return JSON.stringify({ value: value === undefined ? null : value });
		} catch (e) {
			return JSON.stringify({ error: { name: e?.name, isPasskeysError: e instanceof window.pk.PasskeysError,
				code: e?.code, status: e?.status, detail: e?.detail, retryAfter: e?.retryAfter,
				causeName: e?.cause?.name ?? '', messageIsDetail: e?.message === e?.detail } });
		}
	})()`, expr)
	out, err := chromedp.Run(d.ctx, chromedp.Evaluate[string](js, chromedp.EvalAwaitPromise))
	if err != nil {
		d.t.Fatalf("evaluate %s: %v", expr, err)
	}
	var r clientResult
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		d.t.Fatalf("evaluate %s: %v in %s", expr, err, out)
	}
	return r
}

// value is call for an expression that must succeed, decoding into v.
func (d *browserDemo) value(expr string, v any) {
	d.t.Helper()
	r := d.jsCall(expr)
	if r.Error != nil {
		d.t.Fatalf("%s threw %+v", expr, *r.Error)
	}
	if v != nil {
		if err := json.Unmarshal(r.Value, v); err != nil {
			d.t.Fatalf("%s: %v in %s", expr, err, r.Value)
		}
	}
}

type clientSession struct {
	SessionToken string `json:"sessionToken"`
	User         struct {
		ID    string `json:"id"`
		Email string `json:"email"`
	} `json:"user"`
	NewUser bool `json:"newUser"`
}

// TestBrowserClientModule drives every flow of client.js in Chromium, with
// the browser's JSON helpers and with the module's own fallbacks.
func TestBrowserClientModule(t *testing.T) {
	for _, tc := range []struct{ name, script string }{
		{"native JSON", ""},
		{"fallback JSON", `
			delete PublicKeyCredential.parseCreationOptionsFromJSON;
			delete PublicKeyCredential.parseRequestOptionsFromJSON;
			delete PublicKeyCredential.prototype.toJSON;`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := startBrowserDemo(t, 1280, clientPageSetup+tc.script)
			loadClient(d)
			const email = "client@example.com"

			var sent struct {
				OTPSent          bool `json:"otpSent"`
				ExpiresInSeconds int  `json:"expiresInSeconds"`
			}
			d.value(fmt.Sprintf(`client.requestCode(%q)`, email), &sent)
			if !sent.OTPSent || sent.ExpiresInSeconds <= 0 {
				t.Fatalf("requestCode: %+v, want otpSent and an expiry", sent)
			}
			var s clientSession
			d.value(fmt.Sprintf(`client.confirmCode(%q, %q)`, email, d.otp(email)), &s)
			if s.SessionToken == "" || s.User.Email != email || !s.NewUser {
				t.Fatalf("confirmCode: %+v, want a token for a new %s", s, email)
			}
			d.value(fmt.Sprintf(`window.token = %q`, s.SessionToken), nil)

			var added struct {
				ID   string `json:"id"`
				Name string `json:"name"`
			}
			d.value(`client.addPasskey()`, &added)
			if added.ID == "" || added.Name == "" {
				t.Fatalf("addPasskey: %+v, want an id and a name", added)
			}
			var rp string
			d.value(`client.rpId`, &rp)
			if rp != "localhost" {
				t.Errorf("rpId %q after addPasskey, want localhost", rp)
			}
			var list []struct {
				ID string `json:"id"`
			}
			d.value(`client.listPasskeys()`, &list)
			if len(list) != 1 || list[0].ID != added.ID {
				t.Fatalf("listPasskeys: %+v, want the one added (%s)", list, added.ID)
			}

			d.value(`client.signOut()`, nil)
			if r := d.jsCall(`client.listPasskeys()`); r.Error == nil || !r.Error.IsPasskeys || r.Error.Code != "unauthorized" || r.Error.Status != 401 {
				t.Fatalf("listPasskeys after signOut: %+v, want PasskeysError unauthorized 401", r)
			}

			var s2 clientSession
			d.value(`(window.accepted = [], window.details = [], true)`, nil)
			d.value(fmt.Sprintf(`client.signInWithPasskey(%q)`, email), &s2)
			if s2.SessionToken == "" || s2.User.Email != email {
				t.Fatalf("signInWithPasskey: %+v, want a session for %s", s2, email)
			}
			var accepted []string
			d.value(`window.accepted.at(-1)?.allAcceptedCredentialIds ?? null`, &accepted)
			if len(accepted) != 1 || accepted[0] != added.ID {
				t.Errorf("signalAllAcceptedCredentials after signInWithPasskey: %v, want [%s]", accepted, added.ID)
			}
			var name string
			d.value(`window.details.at(-1)?.name ?? ""`, &name)
			if name != email {
				t.Errorf("signalCurrentUserDetails after signInWithPasskey: name %q, want %s", name, email)
			}
			if r := d.jsCall(`client.signInWithPasskey("nobody@example.com")`); r.Error != nil || string(r.Value) != "null" {
				t.Errorf("signInWithPasskey of an unknown email: %+v, want null", r)
			}

			// Autofill, answered at once, then one aborted while it waits.
			d.value(`(window.token = '', client.autofill())`, &s2)
			if s2.SessionToken == "" || s2.User.Email != email {
				t.Fatalf("autofill: %+v, want a session for %s", s2, email)
			}
			d.value(fmt.Sprintf(`window.token = %q`, s2.SessionToken), nil)
			d.presence(false)
			d.value(`(window.aborter = new AbortController(), window.getsBefore = window.getCalls,
				window.waiting = client.autofill({ signal: window.aborter.signal }), true)`, nil)
			d.do("autofill request pending", d.waitJS(`window.getCalls > window.getsBefore`))
			if r := d.jsCall(`(window.aborter.abort(), window.waiting)`); r.Error != nil || string(r.Value) != "null" {
				t.Errorf("aborted autofill: %+v, want null", r)
			}
			d.presence(true)

			var sessions []struct {
				ID      string `json:"id"`
				Current bool   `json:"current"`
			}
			d.value(`client.listSessions()`, &sessions)
			other := ""
			for _, x := range sessions {
				if !x.Current {
					other = x.ID
				}
			}
			if len(sessions) < 2 || other == "" {
				t.Fatalf("listSessions: %+v, want this session and another", sessions)
			}
			d.value(fmt.Sprintf(`client.revokeSession(%q)`, other), nil)
			var after []struct {
				ID string `json:"id"`
			}
			d.value(`client.listSessions()`, &after)
			for _, x := range after {
				if x.ID == other {
					t.Errorf("session %s still listed after revokeSession", other)
				}
			}
			if len(after) != len(sessions)-1 {
				t.Errorf("listSessions after revokeSession: %d sessions, want %d", len(after), len(sessions)-1)
			}

			var account struct {
				User struct {
					Email string `json:"email"`
				} `json:"user"`
				Passkeys []json.RawMessage `json:"passkeys"`
			}
			d.value(`client.getAccount()`, &account)
			if account.User.Email != email || len(account.Passkeys) != 1 {
				t.Errorf("getAccount: %+v, want %s with one passkey", account, email)
			}

			d.value(`(window.accepted = [], true)`, nil)
			d.value(fmt.Sprintf(`client.deletePasskey(%q)`, added.ID), nil)
			d.value(`client.listPasskeys()`, &list)
			if len(list) != 0 {
				t.Errorf("listPasskeys after deletePasskey: %+v, want none", list)
			}
			var left []string
			d.value(`window.accepted.at(-1)?.allAcceptedCredentialIds ?? null`, &left)
			if left == nil || len(left) != 0 {
				t.Errorf("signalAllAcceptedCredentials after deletePasskey: %v, want []", left)
			}
			var signals []struct {
				RPID         string `json:"rpId"`
				CredentialID string `json:"credentialId"`
			}
			d.value(`window.signals`, &signals)
			if len(signals) != 1 || signals[0].RPID != "localhost" || signals[0].CredentialID != added.ID {
				t.Errorf("Signal API calls after deletePasskey: %+v, want signalUnknownCredential of %s on localhost", signals, added.ID)
			}

			d.value(`client.deleteAccount()`, nil)
			if r := d.jsCall(`client.getAccount()`); r.Error == nil || r.Error.Code != "unauthorized" {
				t.Errorf("getAccount after deleteAccount: %+v, want unauthorized", r)
			}
		})
	}
}

// TestBrowserClientErrors shows the one error type for a problem+json 429,
// a WebAuthn NotAllowedError and a server that cannot be reached.
func TestBrowserClientErrors(t *testing.T) {
	d := startBrowserDemo(t, 1280, clientPageSetup)
	loadClient(d)
	const email = "errors@example.com"

	// The server allows 10 codes a minute per email.
	var limited *clientResult
	for i := range 12 {
		r := d.jsCall(fmt.Sprintf(`client.requestCode(%q)`, email))
		if r.Error != nil {
			limited = &r
			if i < 10 {
				t.Errorf("request %d failed: %+v", i+1, *r.Error)
			}
			break
		}
	}
	if limited == nil {
		t.Fatal("12 codes in a row: no failure, want a 429")
	}
	if e := limited.Error; !e.IsPasskeys || e.Name != "PasskeysError" || e.Code != "too_many_attempts" || e.Status != 429 || e.RetryAfter <= 0 || e.Detail == "" || !e.MessageSame {
		t.Errorf("429: %+v, want PasskeysError too_many_attempts 429 with retryAfter > 0 and a detail", *e)
	}

	// A passkey on the account but not on the device: the browser finds
	// nothing to sign in with, a NotAllowedError.
	var s clientSession
	d.value(fmt.Sprintf(`client.confirmCode(%q, %q)`, email, d.otp(email)), &s)
	d.value(fmt.Sprintf(`window.token = %q`, s.SessionToken), nil)
	d.value(`client.addPasskey()`, nil)
	creds := d.credentials()
	if len(creds) != 1 {
		t.Fatalf("authenticator holds %d credentials, want 1", len(creds))
	}
	if _, err := chromedp.Call(d.ctx, webauthn.RemoveCredential, webauthn.RemoveCredentialParams{
		AuthenticatorID: d.auth, CredentialID: creds[0].CredentialID,
	}); err != nil {
		t.Fatalf("WebAuthn.removeCredential: %v", err)
	}
	r := d.jsCall(fmt.Sprintf(`client.signInWithPasskey(%q)`, email))
	if e := r.Error; e == nil || !e.IsPasskeys || e.Code != "webauthn_not_allowed" || e.Status != 0 || e.CauseName != "NotAllowedError" || e.Detail == "" {
		t.Errorf("passkey sign-in without the passkey: %+v, want PasskeysError webauthn_not_allowed caused by a NotAllowedError", r)
	}

	// A server that cannot be reached (the page's policy allows no other
	// origin, so the fetch fails as a network failure does).
	r = d.jsCall(`window.pk.createClient({ fetch: () => Promise.reject(new TypeError('Failed to fetch')) }).requestCode('x@example.com')`)
	if e := r.Error; e == nil || !e.IsPasskeys || e.Code != "network" || e.Status != 0 || e.CauseName != "TypeError" {
		t.Errorf("unreachable server: %+v, want PasskeysError network", r)
	}
}

// recordClientRequests wraps the page's fetch, which the module calls, to
// keep the method, path, Authorization header and body of every request
// in window.sent.
const recordClientRequests = `
	window.sent = [];
	{
		const real = window.fetch;
		window.fetch = (input, init) => {
			const headers = init?.headers ?? {};
			window.sent.push({ method: init?.method ?? 'GET', path: new URL(String(input), location.href).pathname,
				authorization: headers.Authorization ?? '', body: String(init?.body ?? '') });
			return real(input, init);
		};
	}
`

type sentRequest struct {
	Method        string `json:"method"`
	Path          string `json:"path"`
	Authorization string `json:"authorization"`
	Body          string `json:"body"`
}

// TestBrowserClientCookie drives the module against -cookie with
// credentials "include": no token reaches JavaScript, none is sent, and
// the HttpOnly cookie carries the session through a code sign-up, an added
// passkey, the list, a sign-out, a passkey sign-in, a deletion and the
// last sign-out.
func TestBrowserClientCookie(t *testing.T) {
	d := startBrowserDemoWith(t, 1280, clientPageSetup+recordClientRequests, "-cookie")
	d.value(`(async () => {
		window.pk = await import('/auth/client.js');
		window.client = window.pk.createClient({ credentials: 'include' });
		return true;
	})()`, nil)
	const email = "cookie-client@example.com"

	d.value(fmt.Sprintf(`client.requestCode(%q)`, email), nil)
	var s clientSession
	d.value(fmt.Sprintf(`client.confirmCode(%q, %q)`, email, d.otp(email)), &s)
	if s.SessionToken != "" || s.User.Email != email {
		t.Fatalf("confirmCode in cookie mode: %+v, want %s and no token", s, email)
	}
	if c := d.sessionCookie(); c == nil || !c.HTTPOnly {
		t.Fatalf("session cookie after confirmCode: %+v, want an HttpOnly cookie", c)
	}
	var jsCookie string
	d.value(`document.cookie`, &jsCookie)
	if strings.Contains(jsCookie, "passkeys_session") {
		t.Errorf("document.cookie = %q: the session cookie must not reach JavaScript", jsCookie)
	}

	var added struct {
		ID string `json:"id"`
	}
	d.value(`client.addPasskey()`, &added)
	var list []struct {
		ID string `json:"id"`
	}
	d.value(`client.listPasskeys()`, &list)
	if len(list) != 1 || list[0].ID != added.ID {
		t.Fatalf("listPasskeys: %+v, want the one added (%s)", list, added.ID)
	}

	d.value(`client.signOut()`, nil)
	if c := d.sessionCookie(); c != nil {
		t.Errorf("session cookie kept after signOut: %+v", c)
	}
	if r := d.jsCall(`client.listPasskeys()`); r.Error == nil || r.Error.Code != "unauthorized" || r.Error.Status != 401 {
		t.Fatalf("listPasskeys after signOut: %+v, want unauthorized 401", r)
	}

	d.value(fmt.Sprintf(`client.signInWithPasskey(%q)`, email), &s)
	if s.SessionToken != "" || s.User.Email != email {
		t.Fatalf("signInWithPasskey in cookie mode: %+v, want %s and no token", s, email)
	}
	d.value(`(window.accepted = [], true)`, nil)
	d.value(fmt.Sprintf(`client.deletePasskey(%q)`, added.ID), nil)
	d.value(`client.listPasskeys()`, &list)
	if len(list) != 0 {
		t.Errorf("listPasskeys after deletePasskey: %+v, want none", list)
	}
	var signals []struct {
		CredentialID string `json:"credentialId"`
	}
	d.value(`window.signals`, &signals)
	if len(signals) != 1 || signals[0].CredentialID != added.ID {
		t.Errorf("signalUnknownCredential after deletePasskey: %+v, want %s", signals, added.ID)
	}
	d.value(`client.signOut()`, nil)
	if r := d.jsCall(`client.listSessions()`); r.Error == nil || r.Error.Status != 401 {
		t.Errorf("listSessions after the last signOut: %+v, want 401", r)
	}

	var sent []sentRequest
	d.value(`window.sent`, &sent)
	if len(sent) < 10 {
		t.Errorf("%d requests recorded, want every call of the test", len(sent))
	}
	for _, r := range sent {
		if r.Authorization != "" {
			t.Errorf("%s %s sent Authorization %q in cookie mode", r.Method, r.Path, r.Authorization)
		}
	}
}

// TestBrowserClientRename renames a passkey through the module: the
// server's trimmed name comes back and is listed; an empty name, a bidi
// override and another ID are refused with the server's code and change
// nothing.
func TestBrowserClientRename(t *testing.T) {
	d := startBrowserDemo(t, 1280, clientPageSetup)
	loadClient(d)
	token := d.signInOverHTTP("rename@example.com", "")
	d.value(fmt.Sprintf(`(window.token = %q, true)`, token), nil)
	var added struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	}
	d.value(`client.addPasskey()`, &added)

	var renamed struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	}
	d.value(fmt.Sprintf(`client.renamePasskey(%q, "  Work laptop  ")`, added.ID), &renamed)
	if renamed.ID != added.ID || renamed.Name != "Work laptop" {
		t.Fatalf("renamePasskey: %+v, want %s named \"Work laptop\"", renamed, added.ID)
	}
	for _, tc := range []struct {
		name, expr, code string
		status           int
	}{
		{"empty", fmt.Sprintf(`client.renamePasskey(%q, "   ")`, added.ID), "invalid_request", 400},
		{"bidi override", fmt.Sprintf(`client.renamePasskey(%q, "abc\u202edef")`, added.ID), "invalid_request", 400},
		{"another ID", `client.renamePasskey("AAAAAAAAAAAAAAAAAAAAAA", "Mine now")`, "not_found", 404},
	} {
		r := d.jsCall(tc.expr)
		if e := r.Error; e == nil || !e.IsPasskeys || e.Code != tc.code || e.Status != tc.status || e.Detail == "" {
			t.Errorf("%s: %+v, want PasskeysError %s %d", tc.name, r, tc.code, tc.status)
		}
	}
	var list []struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	}
	d.value(`client.listPasskeys()`, &list)
	if len(list) != 1 || list[0].Name != "Work laptop" {
		t.Errorf("listPasskeys after the renames: %+v, want one named \"Work laptop\"", list)
	}
}

// TestBrowserClientHints shows that addPasskey and signInWithPasskey put
// the caller's hints in the start request's body, and nothing when they
// are not given.
func TestBrowserClientHints(t *testing.T) {
	d := startBrowserDemo(t, 1280, clientPageSetup+recordClientRequests)
	loadClient(d)
	token := d.signInOverHTTP("hints@example.com", "")
	d.value(fmt.Sprintf(`(window.token = %q, true)`, token), nil)
	// The server's answer to hints is its own matter (see the e2e
	// suite); here only what the module sends counts.
	d.value(`client.addPasskey({ hints: ['client-device'] }).catch((e) => e.code)`, nil)
	d.value(`client.signInWithPasskey('hints@example.com', { hints: ['security-key', 'hybrid'] }).catch((e) => e.code)`, nil)
	d.value(`client.signInWithPasskey('hints@example.com').catch((e) => e.code)`, nil)
	var sent []sentRequest
	d.value(`window.sent`, &sent)
	var starts []string
	for _, r := range sent {
		if strings.HasSuffix(r.Path, "/start") {
			starts = append(starts, r.Path+" "+r.Body)
		}
	}
	want := []string{
		`/auth/passkey/append/start {"hints":["client-device"]}`,
		`/auth/passkey/login/start {"email":"hints@example.com","hints":["security-key","hybrid"]}`,
		`/auth/passkey/login/start {"email":"hints@example.com"}`,
	}
	if strings.Join(starts, "\n") != strings.Join(want, "\n") {
		t.Errorf("start requests:\n%s\nwant:\n%s", strings.Join(starts, "\n"), strings.Join(want, "\n"))
	}
}

// TestBrowserClientUpgradeEnded shows that the module ends a pending
// silent upgrade (which Chromium's virtual authenticator never answers)
// before a modal passkey request, its own or another client's, and on
// signOut: the modal request succeeds instead of the browser refusing it,
// and the upgrade resolves to declined, reason aborted.
func TestBrowserClientUpgradeEnded(t *testing.T) {
	d := startBrowserDemo(t, 1280, clientPageSetup)
	loadClient(d)
	const email = "ended@example.com"
	token := d.signInOverHTTP(email, "")
	d.value(fmt.Sprintf(`(window.token = %q, true)`, token), nil)
	type result struct {
		Outcome string `json:"outcome"`
		Reason  string `json:"reason"`
		Error   *struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	start := func() {
		d.value(`(window.upgradePending = false,
			window.upgradeDone = client.addPasskey({ mediation: 'conditional', onPending: () => { window.upgradePending = true; } }), true)`, nil)
		d.do("conditional create pending", d.waitJS(`window.upgradePending === true`))
	}

	start()
	var added struct {
		ID string `json:"id"`
	}
	d.value(`client.addPasskey()`, &added)
	if added.ID == "" {
		t.Fatal("addPasskey while an upgrade waited: no passkey")
	}
	var r result
	d.value(`window.upgradeDone`, &r)
	if r.Outcome != "declined" || r.Reason != "aborted" {
		t.Errorf("upgrade ended by addPasskey resolved to %+v, want declined, aborted", r)
	}
	if n := len(d.credentials()); n != 1 {
		t.Errorf("virtual authenticator holds %d credentials, want 1", n)
	}

	// Another client of the module (one without a token, as a sign-in
	// again uses) signs in while this one's upgrade waits.
	start()
	var s clientSession
	d.value(fmt.Sprintf(`window.pk.createClient({ token: '' }).signInWithPasskey(%q)`, email), &s)
	if s.SessionToken == "" || s.User.Email != email {
		t.Fatalf("another client's signInWithPasskey while an upgrade waited: %+v", s)
	}
	r = result{}
	d.value(`window.upgradeDone`, &r)
	if r.Outcome != "declined" || r.Reason != "aborted" {
		t.Errorf("upgrade ended by another client's sign-in resolved to %+v, want declined, aborted", r)
	}

	start()
	d.value(`client.signOut()`, nil)
	r = result{}
	d.value(`window.upgradeDone`, &r)
	if r.Outcome != "declined" || r.Reason != "aborted" {
		t.Errorf("upgrade ended by signOut resolved to %+v, want declined, aborted", r)
	}
}

// TestBrowserClientActivity compares listActivity with what the server
// answers at GET account/activity: the same records, or, where the server
// keeps none, PasskeysError not_found 404.
func TestBrowserClientActivity(t *testing.T) {
	d := startBrowserDemo(t, 1280, clientPageSetup)
	loadClient(d)
	token := d.signInOverHTTP("activity@example.com", "")
	d.value(fmt.Sprintf(`(window.token = %q, true)`, token), nil)
	d.value(`client.addPasskey()`, nil)

	// The records may still be arriving (events can be queued): the
	// module's list is compared when the server's did not change around it.
	type activity struct {
		Activity []map[string]any `json:"activity"`
	}
	var server activity
	var status int
	var r clientResult
	for range 5 {
		var before, after activity
		status = d.get("/auth/account/activity", token, &before)
		r = d.jsCall(`client.listActivity()`)
		if d.get("/auth/account/activity", token, &after) != status {
			continue
		}
		b, _ := json.Marshal(before)
		a, _ := json.Marshal(after)
		if string(a) == string(b) {
			server = after
			break
		}
	}
	switch status {
	case http.StatusOK:
		if r.Error != nil {
			t.Fatalf("listActivity: %+v, want the server's %d records", *r.Error, len(server.Activity))
		}
		var got []map[string]any
		if err := json.Unmarshal(r.Value, &got); err != nil {
			t.Fatal(err)
		}
		want, _ := json.Marshal(server.Activity)
		have, _ := json.Marshal(got)
		if len(got) == 0 || string(have) != string(want) {
			t.Errorf("listActivity: %s\nwant the server's %s", have, want)
		}
	case http.StatusNotFound:
		if e := r.Error; e == nil || !e.IsPasskeys || e.Code != "not_found" || e.Status != 404 {
			t.Errorf("listActivity where the server keeps none: %+v, want PasskeysError not_found 404", r)
		}
	default:
		t.Fatalf("GET /auth/account/activity = %d", status)
	}
}

// TestBrowserClientModalHoldsOffAutofill starts an autofill while a
// passkey sign-in with a prompt waits (the virtual authenticator without
// presence holds it): the module sends the autofill's start request but
// asks the browser for nothing until the prompt is over, which the browser
// would refuse; once the prompt is aborted the autofill's request follows.
func TestBrowserClientModalHoldsOffAutofill(t *testing.T) {
	d := startBrowserDemo(t, 1280, clientPageSetup+recordClientRequests)
	loadClient(d)
	const email = "held@example.com"
	token := d.signInOverHTTP(email, "")
	d.value(fmt.Sprintf(`(window.token = %q, true)`, token), nil)
	d.value(`client.addPasskey()`, nil)

	d.presence(false)
	d.value(`(window.prompt = new AbortController(), window.getsBefore = window.getCalls,
		window.modal = client.signInWithPasskey(`+fmt.Sprintf("%q", email)+`, { signal: window.prompt.signal }), true)`, nil)
	d.do("modal request pending", d.waitJS(`window.getCalls === window.getsBefore + 1`))
	d.value(`(window.offered = false, window.auto = new AbortController(),
		window.autoDone = client.autofill({ signal: window.auto.signal, onPending: () => { window.offered = true; } }), true)`, nil)
	d.do("autofill start sent", d.waitJS(`window.sent.some((r) => r.path === '/auth/passkey/mediation/start')`))
	// A later round trip: by its end the autofill has had its answer.
	d.value(`fetch('/auth/openapi.json').then((r) => r.text()).then(() => true)`, nil)
	d.value(`client.listPasskeys().then(() => true)`, nil)
	var state struct {
		Gets    int  `json:"gets"`
		Offered bool `json:"offered"`
	}
	d.value(`({ gets: window.getCalls - window.getsBefore, offered: window.offered })`, &state)
	if state.Gets != 1 || state.Offered {
		t.Errorf("while the prompt waits: %d browser requests, autofill offered %v; want 1 (the prompt's) and not offered", state.Gets, state.Offered)
	}

	if r := d.jsCall(`(window.prompt.abort(), window.modal)`); r.Error == nil || r.Error.Code != "webauthn_aborted" {
		t.Errorf("aborted prompt: %+v, want webauthn_aborted", r)
	}
	d.do("autofill request follows", d.waitJS(`window.offered === true && window.getCalls === window.getsBefore + 2`))
	if r := d.jsCall(`(window.auto.abort(), window.autoDone)`); r.Error != nil || string(r.Value) != "null" {
		t.Errorf("aborted autofill: %+v, want null", r)
	}
	d.presence(true)
}

// TestBrowserClientConditionalCreateAvailable: Chromium's own
// getClientCapabilities reports conditionalCreate (with the virtual
// authenticator), and conditionalCreateAvailable says so; a browser that
// reports it false gets unsupported from upgradePasskey, without a
// request to the server.
func TestBrowserClientConditionalCreateAvailable(t *testing.T) {
	d := startBrowserDemo(t, 1280, clientPageSetup+recordClientRequests)
	loadClient(d)
	var available bool
	d.value(`window.pk.conditionalCreateAvailable()`, &available)
	if !available {
		t.Errorf("conditionalCreateAvailable() in Chromium = false, want true (it reports conditionalCreate)")
	}
	token := d.signInOverHTTP("no-upgrade@example.com", "")
	d.value(fmt.Sprintf(`(window.token = %q, true)`, token), nil)
	d.value(`(PublicKeyCredential.getClientCapabilities = async () => ({ conditionalGet: true, conditionalCreate: false }), window.sent = [], true)`, nil)
	d.value(`window.pk.conditionalCreateAvailable()`, &available)
	if available {
		t.Errorf("conditionalCreateAvailable() with conditionalCreate false = true")
	}
	var r struct {
		Outcome string `json:"outcome"`
	}
	d.value(`client.addPasskey({ mediation: 'conditional' })`, &r)
	if r.Outcome != "unsupported" {
		t.Errorf("upgrade without conditionalCreate: %+v, want unsupported", r)
	}
	var sent []sentRequest
	d.value(`window.sent`, &sent)
	if len(sent) != 0 {
		t.Errorf("upgrade without conditionalCreate sent %+v, want no request", sent)
	}
}

// TestBrowserClientReauthenticate follows the README's recipe for 403
// reauthentication_required with the module: a second client without a
// token signs in again with a passkey, the page checks it is the same
// account, keeps the new token, revokes the older session by its ID and
// retries the refused call.
func TestBrowserClientReauthenticate(t *testing.T) {
	d := startBrowserDemo(t, 1280, clientPageSetup)
	loadClient(d)
	const email = "again@example.com"
	token := d.signInOverHTTP(email, "")
	d.value(fmt.Sprintf(`(window.token = %q, true)`, token), nil)
	var added struct {
		ID string `json:"id"`
	}
	d.value(`client.addPasskey()`, &added)
	var sessions []struct {
		ID      string `json:"id"`
		Current bool   `json:"current"`
	}
	d.value(`client.listSessions()`, &sessions)
	if len(sessions) != 1 || !sessions[0].Current {
		t.Fatalf("listSessions: %+v, want this one", sessions)
	}
	older := sessions[0].ID

	d.advance(stale)
	r := d.jsCall(fmt.Sprintf(`client.deletePasskey(%q)`, added.ID))
	if e := r.Error; e == nil || !e.IsPasskeys || e.Code != "reauthentication_required" || e.Status != 403 {
		t.Fatalf("deletePasskey with a stale sign-in: %+v, want PasskeysError reauthentication_required 403", r)
	}
	var again clientSession
	d.value(fmt.Sprintf(`window.pk.createClient({ token: '' }).signInWithPasskey(%q)`, email), &again)
	var me clientSession
	d.value(`client.getAccount()`, &me)
	if again.SessionToken == "" || again.User.ID == "" || again.User.ID != me.User.ID {
		t.Fatalf("sign-in again: %+v, want a new session of %s", again, me.User.ID)
	}
	d.value(fmt.Sprintf(`(window.token = %q, client.revokeSession(%q))`, again.SessionToken, older), nil)
	d.value(fmt.Sprintf(`client.deletePasskey(%q)`, added.ID), nil)
	d.value(`client.listSessions()`, &sessions)
	if len(sessions) != 1 || sessions[0].ID == older || !sessions[0].Current {
		t.Errorf("sessions after the sign-in again: %+v, want only the new one", sessions)
	}
	if n := len(d.serverPasskeys(again.SessionToken)); n != 0 {
		t.Errorf("server lists %d passkeys after the retried deletion, want 0", n)
	}
	if status := d.get("/auth/passkeys", token, nil); status != http.StatusUnauthorized {
		t.Errorf("GET passkeys with the older token = %d, want 401", status)
	}
}
