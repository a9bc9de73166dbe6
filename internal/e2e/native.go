package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/passkeyready/passkeys/passkeystest"
)

// nativeTests run the ceremonies as native apps and from related origins.
var nativeTests = []struct {
	name string
	fn   func(*testing.T, Setup)
}{
	{"AndroidAppFlutter", testAndroidApp},
	{"IOSAppFlutter", testIOSApp},
	{"AppOriginsRefused", testAppOriginsRefused},
	{"RelatedOrigins", testRelatedOrigins},
	{"TextPlainBody", testTextPlainBody},
}

// publicKey is the member a Flutter app hands to the passkeys package:
// attestationOptions.publicKey or assertionOptions.publicKey.
func publicKey(t *testing.T, options json.RawMessage) json.RawMessage {
	t.Helper()
	var w struct {
		PublicKey json.RawMessage `json:"publicKey"`
	}
	if err := json.Unmarshal(options, &w); err != nil || len(w.PublicKey) == 0 {
		t.Fatalf("options without publicKey: %s", options)
	}
	return w.PublicKey
}

// appCeremonies runs append, button login and autofill login for a with
// the authenticator app, as a Flutter app does: the bare publicKey
// options to the passkeys package, its answer posted back as
// attestationResponse / assertionResponse. It returns the statuses of
// the three finishes.
func (s *server) appCeremonies(t *testing.T, a *account, app *passkeystest.Authenticator) (appendR, loginR, autofillR response) {
	t.Helper()
	r := s.post("/auth/passkey/append/start", map[string]any{}, a.token)
	expect(t, "append start", r, 200, "")
	opts, _ := json.Marshal(r.get("attestationOptions"))
	att, err := app.Create(publicKey(t, opts))
	if err != nil {
		t.Fatal(err)
	}
	appendR = s.post("/auth/passkey/append/finish", map[string]json.RawMessage{"attestationResponse": att}, a.token)
	if appendR.status != 200 {
		return appendR, response{}, response{}
	}
	s.env.Clock.Advance(time.Minute)

	r = s.post("/auth/passkey/login/start", map[string]string{"email": a.email}, "")
	expect(t, "login start", r, 200, "")
	opts, _ = json.Marshal(r.get("assertionOptions"))
	loginR = s.post("/auth/passkey/login/finish", map[string]json.RawMessage{"assertionResponse": assertion(t, app, publicKey(t, opts))}, "")
	s.env.Clock.Advance(time.Minute)

	r = s.post("/auth/passkey/mediation/start", map[string]any{}, "")
	expect(t, "mediation start", r, 200, "")
	opts, _ = json.Marshal(r.get("assertionOptions"))
	autofillR = s.post("/auth/passkey/mediation/finish", map[string]json.RawMessage{"assertionResponse": assertion(t, app, publicKey(t, opts))}, "")
	return appendR, loginR, autofillR
}

// checkAppAccepted asserts that the three ceremonies of appCeremonies
// succeeded for a.
func checkAppAccepted(t *testing.T, s *server, a *account, app *passkeystest.Authenticator) {
	t.Helper()
	appendR, loginR, autofillR := s.appCeremonies(t, a, app)
	expect(t, "append finish", appendR, 200, "")
	for _, r := range []struct {
		what string
		r    response
	}{{"login finish", loginR}, {"autofill finish", autofillR}} {
		expect(t, r.what, r.r, 200, "")
		if r.r.str("user", "id") != a.id || r.r.str("sessionToken") == "" {
			t.Errorf("%s: %s", r.what, r.r.raw)
		}
		s.me(r.what+" session", r.r.str("sessionToken"), 200)
	}
	if list := s.passkeys(a); len(list) != 1 {
		t.Errorf("%d passkeys after the app's append, want 1", len(list))
	}
}

// testAndroidApp: an Android app (origin android:apk-key-hash:…, with
// androidPackageName) with the Flutter package's JSON appends a passkey
// and logs in by button and by autofill.
func testAndroidApp(t *testing.T, setup Setup) {
	s := newServer(t, setup, nil)
	a := s.signUp("android@example.com")
	app := passkeystest.NewAndroidApp(RPID, AndroidPackage, AndroidCert)
	app.FlutterJSON = true
	checkAppAccepted(t, s, a, app)

	// The second configured app, with its own certificate, too.
	b := s.signUp("other-app@example.com")
	other := passkeystest.NewAndroidApp(RPID, OtherAndroidPackage, OtherAndroidCert)
	other.FlutterJSON = true
	checkAppAccepted(t, s, b, other)
}

// testIOSApp: an iOS app's clientDataJSON carries the web origin
// https://RPID, which is configured; with the Flutter JSON it appends and
// logs in both ways.
func testIOSApp(t *testing.T, setup Setup) {
	s := newServer(t, setup, nil)
	a := s.signUp("ios@example.com")
	app := passkeystest.NewIOSApp(RPID)
	app.FlutterJSON = true
	checkAppAccepted(t, s, a, app)
}

// testAppOriginsRefused: an app whose certificate is not listed, an app
// of another package signed with a listed certificate, a listed app
// presenting the certificate of the other listed package, and a web
// origin that is not configured are all refused at append and login, and
// the origin is logged.
func testAppOriginsRefused(t *testing.T, setup Setup) {
	s := newServer(t, setup, nil)
	a := s.signUp("refused@example.com")
	// A passkey held by the genuine app, for the login attempts.
	genuine := passkeystest.NewAndroidApp(RPID, AndroidPackage, AndroidCert)
	genuine.FlutterJSON = true
	checkAppAccepted(t, s, a, genuine)

	unlisted := []byte("a certificate nobody listed")
	i := 0
	for _, tc := range []struct {
		name   string
		app    *passkeystest.Authenticator
		origin string
		logged string
	}{
		{"unlisted certificate", passkeystest.NewAndroidApp(RPID, AndroidPackage, unlisted), passkeystest.AndroidOrigin(unlisted), passkeystest.AndroidOrigin(unlisted)},
		{"listed certificate, unlisted package", passkeystest.NewAndroidApp(RPID, "com.example.evil", AndroidCert), passkeystest.AndroidOrigin(AndroidCert), "androidPackageName \\\"com.example.evil"},
		{"other listed package's certificate", passkeystest.NewAndroidApp(RPID, OtherAndroidPackage, AndroidCert), passkeystest.AndroidOrigin(AndroidCert), "androidPackageName \\\"" + OtherAndroidPackage},
		{"web origin not configured", passkeystest.NewIOSApp(RPID), "https://localhost:8443", "https://localhost:8443"},
	} {
		i++
		t.Run(tc.name, func(t *testing.T) {
			tc.app.FlutterJSON = true
			tc.app.Origin = tc.origin
			b := s.signUp(fmt.Sprintf("refused%d@example.com", i))
			appendR, _, _ := s.appCeremonies(t, b, tc.app)
			expect(t, "append finish", appendR, 400, "passkey_verification_failed")
			if n := len(s.passkeys(b)); n != 0 {
				t.Errorf("%d passkeys stored", n)
			}

			// Login with the genuine app's credential, answered from the
			// wrong origin.
			r := s.post("/auth/passkey/login/start", map[string]string{"email": a.email}, "")
			expect(t, "login start", r, 200, "")
			opts, _ := json.Marshal(r.get("assertionOptions"))
			resp := answerAs(t, genuine, tc.app, publicKey(t, opts))
			r = s.post("/auth/passkey/login/finish", map[string]json.RawMessage{"assertionResponse": resp}, "")
			expect(t, "login finish", r, 401, "passkey_verification_failed")
			if !s.upstreamOrigins && !strings.Contains(s.logs.String(), tc.logged) {
				t.Errorf("log does not name %s:\n%s", tc.logged, s.logs)
			}
		})
	}
}

// answerAs answers opts with the genuine app's credential, its client
// data written as app writes it (app's origin and androidPackageName).
func answerAs(t *testing.T, genuine, app *passkeystest.Authenticator, opts json.RawMessage) json.RawMessage {
	t.Helper()
	origin, pkg := genuine.Origin, genuine.AndroidPackage
	genuine.Origin, genuine.AndroidPackage = app.Origin, app.AndroidPackage
	defer func() { genuine.Origin, genuine.AndroidPackage = origin, pkg }()
	return assertion(t, genuine, opts)
}

// testRelatedOrigins: a page on the related origin appends and logs in
// with RPID's passkeys; a page on an unrelated site is refused.
func testRelatedOrigins(t *testing.T, setup Setup) {
	s := newServer(t, setup, nil)
	a := s.signUp("related@example.com")
	page := passkeystest.New(RelatedOrigin)
	page.RPID = RPID
	checkAppAccepted(t, s, a, page)

	b := s.signUp("unrelated@example.com")
	evil := passkeystest.New("https://example.net")
	evil.RPID = RPID
	appendR, _, _ := s.appCeremonies(t, b, evil)
	expect(t, "append from an unrelated origin", appendR, 400, "passkey_verification_failed")
	if !s.upstreamOrigins && !strings.Contains(s.logs.String(), "https://example.net") {
		t.Errorf("log does not name the unrelated origin:\n%s", s.logs)
	}
}

// testTextPlainBody: Dart's http.post with a String body and no headers
// sends text/plain; charset=utf-8. The 415 says what to send.
func testTextPlainBody(t *testing.T, setup Setup) {
	s := newServer(t, setup, nil)
	r := s.do(http.MethodPost, "/auth/signUpOrLogin", `{"email":"dart@example.com"}`, "", "Content-Type", "text/plain; charset=utf-8")
	expect(t, "text/plain body", r, 415, "unsupported_media_type")
	if d := r.str("detail"); !strings.Contains(d, "send Content-Type: application/json") {
		t.Errorf("415 detail %q does not say to send Content-Type: application/json", d)
	}
	if n := len(s.env.Mailbox.All()); n != 0 {
		t.Errorf("%d codes sent for a refused request", n)
	}
}
