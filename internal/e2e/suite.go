package e2e

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/go-cmp/cmp"

	"github.com/passkeyready/passkeys"
	"github.com/passkeyready/passkeys/passkeystest"
)

// Run runs the whole suite against the backends setup builds.
func Run(t *testing.T, setup Setup) {
	tests := []struct {
		name string
		fn   func(*testing.T, Setup)
	}{
		{"FullFlow", testFullFlow},
		{"OTPResponseSameForNewAndKnownEmail", testOTPSameResponse},
		{"OTPCooldown", testOTPCooldown},
		{"OTPReuse", testOTPReuse},
		{"OTPBruteForce", testOTPBruteForce},
		{"OTPExpired", testOTPExpired},
		{"RateLimits", testRateLimits},
		{"LoginStartWithoutPasskey", testLoginStartWithoutPasskey},
		{"BadRequests", testBadRequests},
		{"SessionTokens", testSessionTokens},
		{"AppendTampered", testAppendTampered},
		{"AppendReplay", testAppendReplay},
		{"AppendOtherUsersCeremony", testAppendOtherUsersCeremony},
		{"AppendExcludesExisting", testAppendExcludesExisting},
		{"AppendResponseAsString", testAppendResponseAsString},
		{"LoginTampered", testLoginTampered},
		{"LoginReplay", testLoginReplay},
		{"LoginOtherUsersHandle", testLoginOtherUsersHandle},
		{"ConcurrentFinishes", testConcurrentFinishes},
		{"CeremonyExpired", testCeremonyExpired},
		{"CeremonyKindsDoNotMix", testCeremonyKinds},
		{"CounterRegression", testCounterRegression},
		{"DeletePasskey", testDeletePasskey},
		{"Signals", testSignals},
		{"RenamePasskey", testRenamePasskey},
		{"SessionsSurviveNewLogins", testSessionsSurvive},
		{"OpenAPIDocument", testOpenAPIDocument},
		{"CookieSessionsAndCORS", testCookieSessionsAndCORS},
	}
	tests = append(tests, sessionTests...)
	tests = append(tests, providerTests...)
	tests = append(tests, eventTests...)
	tests = append(tests, activityTests...)
	tests = append(tests, nativeTests...)
	tests = append(tests, hintTests...)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, setup) })
	}
}

func testFullFlow(t *testing.T, setup Setup) {
	s := newServer(t, setup, nil)
	ctx := t.Context()

	r := s.post("/auth/signUpOrLogin", map[string]string{"email": "  Alice@Example.COM "}, "")
	expect(t, "request code", r, 200, "")
	if diff := cmp.Diff(map[string]any{"otpSent": true, "expiresInSeconds": float64(600)}, r.body); diff != "" {
		t.Errorf("request code body (-want +got):\n%s", diff)
	}
	if got := r.header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control %q, want no-store", got)
	}
	code := s.lastCode("alice@example.com")
	sess, err := s.c.SubmitCode(ctx, "alice@example.com", code)
	check(t, "check code", err, 200, "")
	if sess.NewUser == nil || !*sess.NewUser || sess.User.Email != "alice@example.com" || sess.User.ID == "" {
		t.Fatalf("sign-up response: %+v", sess)
	}
	a := s.newAccount("alice@example.com", sess.User.ID, sess.Token)

	r = s.do(http.MethodGet, "/api/me", nil, a.token)
	expect(t, "/api/me", r, 200, "")
	if diff := cmp.Diff(map[string]any{"user": map[string]any{"id": a.id, "email": a.email}}, r.body); diff != "" {
		t.Errorf("/api/me (-want +got):\n%s", diff)
	}

	cer, err := s.c.StartAppend(ctx, a.token)
	check(t, "append start", err, 200, "")
	if !cer.Allowed {
		t.Fatalf("appendAllow: %+v", cer)
	}
	pk := field(cer.Options, "publicKey")
	if m, _ := pk.(map[string]any); m == nil || m["challenge"] == nil || m["user"] == nil || m["rp"] == nil {
		t.Fatalf("attestationOptions.publicKey incomplete: %s", cer.Options)
	}
	if sel, _ := field(cer.Options, "publicKey", "authenticatorSelection", "residentKey").(string); sel != "required" {
		t.Errorf("residentKey %q, want required", sel)
	}
	att, err := a.auth.Create(cer.Options)
	if err != nil {
		t.Fatal(err)
	}
	added, err := s.c.FinishAppend(ctx, a.token, att)
	check(t, "append finish", err, 200, "")
	credID := base64.RawURLEncoding.EncodeToString(a.auth.Credentials()[0].ID)
	if added.ID != credID || added.Name == "" || added.CreatedAt.IsZero() {
		t.Errorf("append finish passkey: %+v (credential %s)", added, credID)
	}

	list := s.passkeys(a)
	if len(list) != 1 || list[0].ID != credID || list[0].LastUsedAt != nil {
		t.Fatalf("list after append: %+v", list)
	}

	// Button login by email.
	opts := s.loginOptions(a)
	var req struct {
		PublicKey struct {
			AllowCredentials []struct{ ID string } `json:"allowCredentials"`
			UserVerification string                `json:"userVerification"`
		} `json:"publicKey"`
	}
	_ = json.Unmarshal(opts, &req)
	if len(req.PublicKey.AllowCredentials) != 1 || req.PublicKey.AllowCredentials[0].ID != credID {
		t.Errorf("login options allowCredentials: %s", opts)
	}
	if req.PublicKey.UserVerification != "required" {
		t.Errorf("login options userVerification %q, want required", req.PublicKey.UserVerification)
	}
	s.env.Clock.Advance(time.Minute)
	sess, err = s.c.FinishLogin(ctx, assertion(t, a.auth, opts))
	check(t, "login finish", err, 200, "")
	if sess.User.ID != a.id || sess.User.Email != a.email || sess.Token == "" {
		t.Fatalf("login finish: %+v", sess)
	}
	if sess.NewUser != nil {
		t.Errorf("login finish carries newUser: %+v", sess)
	}
	r = s.do(http.MethodGet, "/api/me", nil, sess.Token)
	expect(t, "/api/me with passkey session", r, 200, "")

	// Conditional UI.
	cer, err = s.c.StartMediation(ctx)
	check(t, "mediation start", err, 200, "")
	if !cer.Allowed || field(cer.Options, "mediation") != "conditional" {
		t.Errorf("mediation start: %+v", cer)
	}
	if ac := field(cer.Options, "publicKey", "allowCredentials"); ac != nil && len(ac.([]any)) != 0 {
		t.Errorf("mediation options list credentials: %s", cer.Options)
	}
	s.env.Clock.Advance(time.Minute)
	sess, err = s.c.FinishMediation(ctx, assertion(t, a.auth, cer.Options))
	check(t, "mediation finish", err, 200, "")
	if sess.User.ID != a.id {
		t.Fatalf("mediation finish: %+v", sess)
	}

	// The exact wire form of lastUsedAt.
	r = s.do(http.MethodGet, "/auth/passkeys", nil, a.token)
	raw, _ := r.get("passkeys").([]any)
	if len(raw) != 1 {
		t.Fatalf("list: %s", r.raw)
	}
	used, _ := raw[0].(map[string]any)["lastUsedAt"].(string)
	if want := s.env.Clock.Now().Format(time.RFC3339); used != want {
		t.Errorf("lastUsedAt %q, want %q", used, want)
	}

	// A later OTP login finds the same account.
	sess, err = a.c.SignUpOrLogin(ctx, a.email)
	check(t, "second login", err, 200, "")
	if sess.NewUser == nil || *sess.NewUser || sess.User.ID != a.id {
		t.Errorf("second login: %+v", sess)
	}
}

func testOTPSameResponse(t *testing.T, setup Setup) {
	s := newServer(t, setup, nil)
	s.signUp("known@example.com")
	s.env.Clock.Advance(time.Minute)
	known := s.post("/auth/signUpOrLogin", map[string]string{"email": "known@example.com"}, "")
	unknown := s.post("/auth/signUpOrLogin", map[string]string{"email": "new@example.com"}, "")
	expect(t, "known", known, 200, "")
	expect(t, "unknown", unknown, 200, "")
	if string(known.raw) != string(unknown.raw) {
		t.Errorf("responses differ: known %s, unknown %s", known.raw, unknown.raw)
	}
	if n := len(s.env.Mailbox.Codes("known@example.com")); n != 2 {
		t.Errorf("known email got %d codes, want 2", n)
	}
	if n := len(s.env.Mailbox.Codes("new@example.com")); n != 1 {
		t.Errorf("new email got %d codes, want 1", n)
	}
}

func testOTPCooldown(t *testing.T, setup Setup) {
	s := newServer(t, setup, nil)
	const email = "cool@example.com"
	send := func() {
		t.Helper()
		_, err := s.c.RequestCode(t.Context(), email)
		check(t, "request code", err, 200, "")
	}
	submit := func(code string) error {
		_, err := s.c.SubmitCode(t.Context(), email, code)
		return err
	}
	send()
	first := s.lastCode(email)
	s.env.Clock.Advance(10 * time.Second)
	send()
	if n := len(s.env.Mailbox.Codes(email)); n != 1 {
		t.Fatalf("within the cooldown %d codes were sent, want 1", n)
	}
	s.env.Clock.Advance(25 * time.Second)
	send()
	if n := len(s.env.Mailbox.Codes(email)); n != 2 {
		t.Fatalf("after the cooldown %d codes were sent, want 2", n)
	}
	second := s.lastCode(email)
	if first != second {
		check(t, "replaced code", submit(first), 401, "otp_invalid")
	}
	check(t, "new code", submit(second), 200, "")
	// Once used, a new code may be sent at once.
	send()
	if n := len(s.env.Mailbox.Codes(email)); n != 3 {
		t.Errorf("after using the code %d codes were sent, want 3", n)
	}
}

func testOTPReuse(t *testing.T, setup Setup) {
	s := newServer(t, setup, nil)
	a := s.signUp("reuse@example.com")
	_, err := s.c.SubmitCode(t.Context(), a.email, s.lastCode(a.email))
	check(t, "reused code", err, 401, "otp_invalid")
}

func testOTPBruteForce(t *testing.T, setup Setup) {
	s := newServer(t, setup, nil)
	const email = "brute@example.com"
	_, err := s.c.RequestCode(t.Context(), email)
	check(t, "request code", err, 200, "")
	code := s.lastCode(email)
	for i := range 5 {
		_, err := s.c.SubmitCode(t.Context(), email, wrongCode(code))
		check(t, "wrong code "+string(rune('1'+i)), err, 401, "otp_invalid")
	}
	_, err = s.c.SubmitCode(t.Context(), email, code)
	check(t, "right code after five wrong ones", err, 401, "otp_invalid")
}

func testOTPExpired(t *testing.T, setup Setup) {
	s := newServer(t, setup, nil)
	const email = "late@example.com"
	_, err := s.c.RequestCode(t.Context(), email)
	check(t, "request code", err, 200, "")
	s.env.Clock.Advance(10*time.Minute + time.Second)
	_, err = s.c.SubmitCode(t.Context(), email, s.lastCode(email))
	check(t, "expired code", err, 401, "otp_invalid")
}

func testRateLimits(t *testing.T, setup Setup) {
	t.Run("CodesPerEmail", func(t *testing.T) {
		s := newServer(t, setup, func(o *passkeys.Options) { o.EmailLimit = passkeys.Rate{Events: 3, Per: time.Minute} })
		for range 3 {
			check(t, "within limit", s.requestCode("rl@example.com"), 200, "")
		}
		err := s.requestCode("rl@example.com")
		check(t, "over limit", err, 429, "too_many_attempts")
		if retryAfter(err) != "20" {
			t.Errorf("Retry-After %q, want 20", retryAfter(err))
		}
		check(t, "other email", s.requestCode("other@example.com"), 200, "")
		check(t, "checking is limited apart", s.submitCode("rl@example.com", s.lastCode("rl@example.com")), 200, "")
		s.env.Clock.Advance(20 * time.Second)
		check(t, "after Retry-After", s.requestCode("rl@example.com"), 200, "")
	})
	t.Run("ChecksPerEmailAcrossCodes", func(t *testing.T) {
		s := newServer(t, setup, nil)
		const email = "guess@example.com"
		for range 2 {
			check(t, "request code", s.requestCode(email), 200, "")
			code := s.lastCode(email)
			for range 5 {
				check(t, "wrong code", s.submitCode(email, wrongCode(code)), 401, "otp_invalid")
			}
		}
		check(t, "third code", s.requestCode(email), 200, "")
		err := s.submitCode(email, s.lastCode(email))
		check(t, "eleventh check within the hour", err, 429, "too_many_attempts")
		if retryAfter(err) != "360" {
			t.Errorf("Retry-After %q, want 360", retryAfter(err))
		}
		s.env.Clock.Advance(6 * time.Minute)
		check(t, "after Retry-After", s.submitCode(email, s.lastCode(email)), 200, "")
	})
	t.Run("PerIP", func(t *testing.T) {
		s := newServer(t, setup, nil)
		for i := range 60 {
			err := s.requestCode("ip" + string(rune('a'+i%26)) + string(rune('a'+i/26)) + "@example.com")
			check(t, "within the default 60 a minute", err, 200, "")
		}
		err := s.requestCode("ip-last@example.com")
		check(t, "61st", err, 429, "too_many_attempts")
		if retryAfter(err) == "" {
			t.Error("no Retry-After")
		}
	})
	t.Run("CeremonyStartsPerIP", func(t *testing.T) {
		s := newServer(t, setup, func(o *passkeys.Options) { o.StartLimit = passkeys.Rate{Events: 3, Per: time.Minute} })
		ctx := t.Context()
		_, err := s.c.StartLogin(ctx, "x@example.com")
		check(t, "login start", err, 200, "")
		_, err = s.c.StartMediation(ctx)
		check(t, "mediation start", err, 200, "")
		_, err = s.c.StartLogin(ctx, "y@example.com")
		check(t, "login start", err, 200, "")
		_, err = s.c.StartMediation(ctx)
		check(t, "fourth start", err, 429, "too_many_attempts")
		_, err = s.c.StartLogin(ctx, "z@example.com")
		check(t, "fifth start", err, 429, "too_many_attempts")
	})
}

// requestCode asks for a code for email.
func (s *server) requestCode(email string) error {
	_, err := s.c.RequestCode(s.t.Context(), email)
	return err
}

// submitCode checks code for email.
func (s *server) submitCode(email, code string) error {
	_, err := s.c.SubmitCode(s.t.Context(), email, code)
	return err
}

// retryAfter returns the Retry-After header of a *passkeystest.Error.
func retryAfter(err error) string {
	var e *passkeystest.Error
	if !errors.As(err, &e) {
		return ""
	}
	return e.Header.Get("Retry-After")
}

// wrongCode returns a 6-digit code other than code.
func wrongCode(code string) string {
	if code == "000000" {
		return "111111"
	}
	return "000000"
}

func testLoginStartWithoutPasskey(t *testing.T, setup Setup) {
	s := newServer(t, setup, nil)
	s.signUp("nopk@example.com")
	for _, email := range []string{"nopk@example.com", "nobody@example.com"} {
		r := s.post("/auth/passkey/login/start", map[string]string{"email": email}, "")
		expect(t, email, r, 200, "")
		if diff := cmp.Diff(map[string]any{"loginAllow": false}, r.body); diff != "" {
			t.Errorf("%s (-want +got):\n%s", email, diff)
		}
	}
}

func testBadRequests(t *testing.T, setup Setup) {
	s := newServer(t, setup, nil)
	a := s.signUp("bad@example.com")
	big := `{"email":"` + strings.Repeat("a", 1<<20) + `@example.com"}`
	cases := []struct {
		name, method, path string
		body               any
		token              string
		hdr                []string
		status             int
		code               string
	}{
		{"invalid JSON", "POST", "/auth/signUpOrLogin", `{"email":`, "", nil, 400, "invalid_request"},
		{"not an object", "POST", "/auth/signUpOrLogin", `["a@example.com"]`, "", nil, 400, "invalid_request"},
		{"trailing data", "POST", "/auth/signUpOrLogin", `{"email":"a@example.com"} {}`, "", nil, 400, "invalid_request"},
		{"unknown field", "POST", "/auth/signUpOrLogin", `{"mail":"a@example.com"}`, "", nil, 400, "invalid_request"},
		{"wrong type", "POST", "/auth/signUpOrLogin", `{"email":42}`, "", nil, 400, "invalid_request"},
		{"missing email", "POST", "/auth/signUpOrLogin", `{}`, "", nil, 400, "invalid_request"},
		{"bad email", "POST", "/auth/signUpOrLogin", `{"email":"not-an-email"}`, "", nil, 400, "invalid_request"},
		{"email with name", "POST", "/auth/signUpOrLogin", `{"email":"Eve <eve@example.com>"}`, "", nil, 400, "invalid_request"},
		{"otp not digits", "POST", "/auth/signUpOrLogin", `{"email":"a@example.com","otp":"12a456"}`, "", nil, 400, "invalid_request"},
		{"otp too short", "POST", "/auth/signUpOrLogin", `{"email":"a@example.com","otp":"12345"}`, "", nil, 400, "invalid_request"},
		{"wrong content type", "POST", "/auth/signUpOrLogin", `{"email":"a@example.com"}`, "", []string{"Content-Type", "text/plain"}, 415, "unsupported_media_type"},
		{"form content type", "POST", "/auth/passkey/login/start", `email=a@example.com`, "", []string{"Content-Type", "application/x-www-form-urlencoded"}, 415, "unsupported_media_type"},
		{"oversized body", "POST", "/auth/signUpOrLogin", big, "", nil, 413, "payload_too_large"},
		{"login start bad email", "POST", "/auth/passkey/login/start", `{"email":"@"}`, "", nil, 400, "invalid_request"},
		{"login finish missing response", "POST", "/auth/passkey/login/finish", `{}`, "", nil, 400, "invalid_request"},
		{"login finish response not object", "POST", "/auth/passkey/login/finish", `{"assertionResponse":[1]}`, "", nil, 400, "invalid_request"},
		{"login finish garbage response", "POST", "/auth/passkey/login/finish", `{"assertionResponse":{"id":"x"}}`, "", nil, 401, "passkey_verification_failed"},
		{"mediation finish string not JSON", "POST", "/auth/passkey/mediation/finish", `{"assertionResponse":"nope"}`, "", nil, 400, "invalid_request"},
		{"append finish missing response", "POST", "/auth/passkey/append/finish", `{}`, a.token, nil, 400, "invalid_request"},
		{"append finish garbage response", "POST", "/auth/passkey/append/finish", `{"attestationResponse":{"id":"x"}}`, a.token, nil, 400, "passkey_verification_failed"},
		{"append start without session", "POST", "/auth/passkey/append/start", `{}`, "", nil, 401, "unauthorized"},
		{"delete bad id", "DELETE", "/auth/passkeys/not*base64", nil, a.token, nil, 400, "invalid_request"},
		{"delete unknown id", "DELETE", "/auth/passkeys/AAAA", nil, a.token, nil, 404, "not_found"},
		{"unknown path", "GET", "/auth/nothing-here", nil, "", nil, 404, "not_found"},
		{"wrong method", "GET", "/auth/signUpOrLogin", nil, "", nil, 405, "method_not_allowed"},
	}
	for _, c := range cases {
		r := s.do(c.method, c.path, c.body, c.token, c.hdr...)
		expect(t, c.name, r, c.status, c.code)
		if strings.Contains(string(r.raw), "selfhosted") || strings.Contains(string(r.raw), "json:") {
			t.Errorf("%s: body leaks internals: %s", c.name, r.raw)
		}
	}
	if n := len(s.env.Mailbox.Codes("a@example.com")); n != 0 {
		t.Errorf("bad requests sent %d codes", n)
	}
	r := s.do("GET", "/auth/signUpOrLogin", nil, "")
	if r.header.Get("Allow") != "POST" {
		t.Errorf("405 Allow header %q, want POST", r.header.Get("Allow"))
	}
}

func testSessionTokens(t *testing.T, setup Setup) {
	s := newServer(t, setup, nil)
	a := s.signUp("tokens@example.com")
	now := s.env.Clock.Now()
	claims := func(mod func(jwt.MapClaims)) jwt.MapClaims {
		c := jwt.MapClaims{"sub": a.id, "email": a.email, "iss": "passkeys", "aud": "passkeys", "iat": now.Unix(), "exp": now.Add(time.Hour).Unix(), "jti": "x"}
		if mod != nil {
			mod(c)
		}
		return c
	}
	sign := func(key []byte, c jwt.MapClaims) string {
		return must(jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(key))
	}
	none := must(jwt.NewWithClaims(jwt.SigningMethodNone, claims(nil)).SignedString(jwt.UnsafeAllowNoneSignatureType))
	parts := strings.Split(a.token, ".")
	cases := []struct{ name, header string }{
		{"missing", ""},
		{"not bearer", "Basic " + a.token},
		{"empty bearer", "Bearer "},
		{"malformed", "Bearer not.a.jwt"},
		{"forged key", "Bearer " + sign([]byte("another-key-that-is-32-bytes-long!!"), claims(nil))},
		{"alg none", "Bearer " + none},
		{"tampered payload", "Bearer " + parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"usr_other","exp":9999999999}`)) + "." + parts[2]},
		{"wrong issuer", "Bearer " + sign(JWTKey, claims(func(c jwt.MapClaims) { c["iss"] = "evil" }))},
		{"wrong audience", "Bearer " + sign(JWTKey, claims(func(c jwt.MapClaims) { c["aud"] = "evil" }))},
		{"no exp", "Bearer " + sign(JWTKey, claims(func(c jwt.MapClaims) { delete(c, "exp") }))},
	}
	for _, c := range cases {
		for _, path := range []string{"/api/me", "/auth/passkeys"} {
			r := s.do("GET", path, nil, "", "Authorization", c.header)
			expect(t, c.name+" "+path, r, 401, "unauthorized")
		}
	}
	expect(t, "valid", s.do("GET", "/api/me", nil, a.token), 200, "")
	s.env.Clock.Advance(time.Hour + time.Second)
	r := s.do("GET", "/api/me", nil, a.token)
	expect(t, "expired", r, 401, "unauthorized")
	if !strings.Contains(r.str("detail"), "expired") {
		t.Errorf("expired detail %q", r.str("detail"))
	}
}

func testAppendTampered(t *testing.T, setup Setup) {
	s := newServer(t, setup, nil)
	a := s.signUp("tamper@example.com")
	cases := []struct {
		name   string
		tamper passkeystest.Tamper
		uv     bool
	}{
		{"wrong origin", passkeystest.Tamper{Origin: "https://evil.example"}, true},
		{"wrong rp id", passkeystest.Tamper{RPID: "evil.example"}, true},
		{"wrong type", passkeystest.Tamper{Type: "webauthn.get"}, true},
		{"no user verification", passkeystest.Tamper{}, false},
	}
	for _, c := range cases {
		opts := s.appendOptions(a)
		auth := passkeystest.New(Origin)
		auth.UserVerified = c.uv
		att, err := auth.Create(opts, c.tamper)
		if err != nil {
			t.Fatal(err)
		}
		check(t, c.name, s.finishAppend(a, att), 400, "passkey_verification_failed")
	}
	// A response whose challenge no ceremony issued.
	att := must(a.auth.Create(s.appendOptions(a), passkeystest.Tamper{Challenge: base64.RawURLEncoding.EncodeToString(make([]byte, 32))}))
	check(t, "unknown challenge", s.finishAppend(a, att), 400, "passkey_verification_failed")

	if list := s.passkeys(a); len(list) != 0 {
		t.Errorf("tampered appends stored passkeys: %+v", list)
	}
}

func testAppendReplay(t *testing.T, setup Setup) {
	s := newServer(t, setup, nil)
	a := s.signUp("replay@example.com")
	att := must(a.auth.Create(s.appendOptions(a)))
	check(t, "first finish", s.finishAppend(a, att), 200, "")
	check(t, "replayed finish", s.finishAppend(a, att), 400, "passkey_verification_failed")
}

func testAppendOtherUsersCeremony(t *testing.T, setup Setup) {
	s := newServer(t, setup, nil)
	a := s.signUp("owner@example.com")
	b := s.signUp("thief@example.com")
	att := must(b.auth.Create(s.appendOptions(a)))
	check(t, "A's ceremony finished by B", s.finishAppend(b, att), 400, "passkey_verification_failed")
	for _, acc := range []*account{a, b} {
		if list := s.passkeys(acc); len(list) != 0 {
			t.Errorf("%s has passkeys: %+v", acc.email, list)
		}
	}
}

func testAppendExcludesExisting(t *testing.T, setup Setup) {
	s := newServer(t, setup, nil)
	a := s.signUp("twice@example.com")
	check(t, "first passkey", s.addPasskey(a), 200, "")
	options := s.appendOptions(a)
	var opts struct {
		PublicKey struct {
			ExcludeCredentials []struct{ ID string } `json:"excludeCredentials"`
		} `json:"publicKey"`
	}
	_ = json.Unmarshal(options, &opts)
	want := base64.RawURLEncoding.EncodeToString(a.auth.Credentials()[0].ID)
	if len(opts.PublicKey.ExcludeCredentials) != 1 || opts.PublicKey.ExcludeCredentials[0].ID != want {
		t.Errorf("excludeCredentials %+v, want [%s]", opts.PublicKey.ExcludeCredentials, want)
	}
	if _, err := a.auth.Create(options); err != passkeystest.ErrExcluded {
		t.Errorf("second passkey on the same authenticator: %v, want ErrExcluded", err)
	}
	if err := s.addPasskey(a); !errors.Is(err, passkeystest.ErrExcluded) {
		t.Errorf("AppendPasskey on the same authenticator: %v, want ErrExcluded", err)
	}
	// Another authenticator may add one.
	other := s.newAccount(a.email, a.id, a.token)
	check(t, "second authenticator", s.addPasskey(other), 200, "")
}

func testAppendResponseAsString(t *testing.T, setup Setup) {
	s := newServer(t, setup, nil)
	a := s.signUp("string@example.com")
	att := must(a.auth.Create(s.appendOptions(a)))
	r := s.post("/auth/passkey/append/finish", map[string]string{"attestationResponse": string(att)}, a.token)
	expect(t, "string attestationResponse", r, 200, "")
	opts := s.loginOptions(a)
	r = s.post("/auth/passkey/login/finish", map[string]string{"assertionResponse": string(assertion(t, a.auth, opts))}, "")
	expect(t, "string assertionResponse", r, 200, "")
}

func testLoginTampered(t *testing.T, setup Setup) {
	s := newServer(t, setup, nil)
	a := s.signUp("logintamper@example.com")
	check(t, "add passkey", s.addPasskey(a), 200, "")
	cases := []struct {
		name   string
		tamper passkeystest.Tamper
	}{
		{"wrong origin", passkeystest.Tamper{Origin: "https://evil.example"}},
		{"wrong rp id", passkeystest.Tamper{RPID: "evil.example"}},
		{"wrong type", passkeystest.Tamper{Type: "webauthn.create"}},
		{"tampered signature", passkeystest.Tamper{BadSignature: true}},
		{"unknown challenge", passkeystest.Tamper{Challenge: base64.RawURLEncoding.EncodeToString(make([]byte, 32))}},
	}
	for _, path := range []string{"login", "mediation"} {
		for _, c := range cases {
			opts := s.startOptions(path, a)
			_, err := s.finish(path, assertion(t, a.auth, opts, c.tamper))
			check(t, path+" "+c.name, err, 401, "passkey_verification_failed")
		}
	}
	a.auth.UserVerified = false
	_, err := s.c.FinishLogin(t.Context(), assertion(t, a.auth, s.loginOptions(a)))
	check(t, "no user verification", err, 401, "passkey_verification_failed")
	a.auth.UserVerified = true
	_, err = a.c.LoginWithPasskey(t.Context(), a.email)
	check(t, "honest login still works", err, 200, "")
}

func testLoginReplay(t *testing.T, setup Setup) {
	s := newServer(t, setup, nil)
	a := s.signUp("loginreplay@example.com")
	check(t, "add passkey", s.addPasskey(a), 200, "")
	for _, path := range []string{"login", "mediation"} {
		resp := assertion(t, a.auth, s.startOptions(path, a))
		_, err := s.finish(path, resp)
		check(t, path+" first", err, 200, "")
		_, err = s.finish(path, resp)
		check(t, path+" replay", err, 401, "passkey_verification_failed")
	}
}

func testLoginOtherUsersHandle(t *testing.T, setup Setup) {
	s := newServer(t, setup, nil)
	a := s.signUp("victim@example.com")
	b := s.signUp("attacker@example.com")
	check(t, "A passkey", s.addPasskey(a), 200, "")
	check(t, "B passkey", s.addPasskey(b), 200, "")
	aHandle := a.auth.Credentials()[0].UserHandle
	_, err := s.finish("mediation", assertion(t, b.auth, s.mediationOptions(), passkeystest.Tamper{UserHandle: aHandle}))
	check(t, "B's passkey with A's user handle (mediation)", err, 401, "passkey_verification_failed")
	_, err = s.finish("login", assertion(t, b.auth, s.loginOptions(b), passkeystest.Tamper{UserHandle: aHandle}))
	check(t, "B's passkey with A's user handle (button)", err, 401, "passkey_verification_failed")
	// B answering A's button ceremony with B's own passkey.
	_, err = s.finish("login", assertion(t, b.auth, s.mediationOptionsFor(a)))
	check(t, "B's passkey for A's login ceremony", err, 401, "passkey_verification_failed")
}

// startOptions starts a ceremony of kind path ("login" or "mediation")
// for a and returns its options.
func (s *server) startOptions(path string, a *account) []byte {
	s.t.Helper()
	if path == "login" {
		return s.loginOptions(a)
	}
	return s.mediationOptions()
}

// mediationOptionsFor returns a's button-login options with
// allowCredentials removed, so that another authenticator answers them.
func (s *server) mediationOptionsFor(a *account) []byte {
	var o map[string]map[string]any
	_ = json.Unmarshal(s.loginOptions(a), &o)
	delete(o["publicKey"], "allowCredentials")
	return must(json.Marshal(o))
}

func testConcurrentFinishes(t *testing.T, setup Setup) {
	s := newServer(t, setup, nil)
	a := s.signUp("race@example.com")
	check(t, "add passkey", s.addPasskey(a), 200, "")
	for _, path := range []string{"login", "mediation"} {
		resp := assertion(t, a.auth, s.startOptions(path, a))
		var wg sync.WaitGroup
		statuses := make([]int, 20)
		for i := range statuses {
			wg.Go(func() {
				_, err := s.finish(path, resp)
				statuses[i] = status(err)
			})
		}
		wg.Wait()
		ok := 0
		for _, st := range statuses {
			switch st {
			case 200:
				ok++
			case 401:
			default:
				t.Errorf("%s: concurrent finish got %d", path, st)
			}
		}
		if ok != 1 {
			t.Errorf("%s: %d of 20 concurrent finishes succeeded, want exactly 1", path, ok)
		}
	}
}

func testCeremonyExpired(t *testing.T, setup Setup) {
	s := newServer(t, setup, nil)
	a := s.signUp("expire@example.com")
	att := must(a.auth.Create(s.appendOptions(a)))
	s.env.Clock.Advance(5*time.Minute + time.Second)
	a.token = s.signUp(a.email).token
	check(t, "expired append", s.finishAppend(a, att), 400, "passkey_verification_failed")

	b := s.signUp("expire2@example.com")
	check(t, "add passkey", s.addPasskey(b), 200, "")
	login := assertion(t, b.auth, s.loginOptions(b))
	med := assertion(t, b.auth, s.mediationOptions())
	s.env.Clock.Advance(5*time.Minute + time.Second)
	_, err := s.finish("login", login)
	check(t, "expired login", err, 401, "passkey_verification_failed")
	_, err = s.finish("mediation", med)
	check(t, "expired mediation", err, 401, "passkey_verification_failed")
}

func testCeremonyKinds(t *testing.T, setup Setup) {
	s := newServer(t, setup, nil)
	a := s.signUp("kinds@example.com")
	check(t, "add passkey", s.addPasskey(a), 200, "")
	// Mediation and button ceremonies are pending at once and both finish.
	med := s.mediationOptions()
	login := s.loginOptions(a)
	_, err := s.finish("login", assertion(t, a.auth, login))
	check(t, "button while mediation pending", err, 200, "")
	_, err = s.finish("mediation", assertion(t, a.auth, med))
	check(t, "mediation after button", err, 200, "")
	// A mediation challenge is not a button-login challenge.
	_, err = s.finish("login", assertion(t, a.auth, s.mediationOptions()))
	check(t, "mediation response at login finish", err, 401, "passkey_verification_failed")
}

func testCounterRegression(t *testing.T, setup Setup) {
	log := &eventLog{}
	s := newServer(t, setup, func(o *passkeys.Options) { o.Events = log })
	ctx := t.Context()
	a := s.signUp("clone@example.com")
	check(t, "add passkey", s.addPasskey(a), 200, "")
	for range 3 {
		_, err := a.c.LoginWithPasskey(ctx, a.email)
		check(t, "login", err, 200, "")
	}
	// The clone reports a counter at or below the stored one.
	id := a.auth.Credentials()[0].ID
	if err := a.auth.SetSignCount(id, 2); err != nil {
		t.Fatal(err)
	}
	_, err := a.c.LoginWithPasskey(ctx, a.email)
	check(t, "counter regression", err, 401, "passkey_verification_failed")
	stale := uint32(0)
	_, err = s.finish("mediation", assertion(t, a.auth, s.mediationOptions(), passkeystest.Tamper{SignCount: &stale}))
	check(t, "counter reset to zero", err, 401, "passkey_verification_failed")
	// The events name the counter (the backend's Error.Reason); Corbado
	// says only that it refused the response.
	reason := passkeys.ReasonCounter
	if s.upstreamOrigins {
		reason = passkeys.ReasonInvalid
	}
	var failed []string
	for _, line := range log.take(t, s.handler) {
		if strings.HasPrefix(line, "verification_failed ") {
			failed = append(failed, line)
		}
	}
	wantLines(t, "verification failures", failed,
		"verification_failed /passkey/login/finish login "+reason, "verification_failed /passkey/mediation/finish autofill "+reason)
	if err := a.auth.SetSignCount(id, 10); err != nil {
		t.Fatal(err)
	}
	_, err = a.c.LoginWithPasskey(ctx, a.email)
	check(t, "counter ahead", err, 200, "")

	// Authenticators without a counter always report zero.
	z := s.signUp("zero@example.com")
	z.auth.ZeroCounter = true
	check(t, "add counterless passkey", s.addPasskey(z), 200, "")
	for range 2 {
		_, err := z.c.LoginWithPasskey(ctx, z.email)
		check(t, "counterless login", err, 200, "")
	}
}

func testDeletePasskey(t *testing.T, setup Setup) {
	s := newServer(t, setup, nil)
	ctx := t.Context()
	a := s.signUp("del@example.com")
	b := s.signUp("del-other@example.com")
	check(t, "A passkey", s.addPasskey(a), 200, "")
	check(t, "B passkey", s.addPasskey(b), 200, "")
	aID := base64.RawURLEncoding.EncodeToString(a.auth.Credentials()[0].ID)
	pending := s.loginOptions(a)

	check(t, "B deletes A's passkey", s.c.DeletePasskey(ctx, b.token, aID), 404, "not_found")
	_, err := a.c.LoginWithPasskey(ctx, a.email)
	check(t, "A can still log in", err, 200, "")

	check(t, "delete without session", s.c.DeletePasskey(ctx, "", aID), 401, "unauthorized")
	r := s.do("DELETE", "/auth/passkeys/"+aID, nil, a.token)
	if s.signals {
		expect(t, "A deletes own passkey", r, 200, "")
		if ids := field(r.raw, "signals", "allAcceptedCredentials", "allAcceptedCredentialIds"); !cmp.Equal(ids, []any{}) {
			t.Errorf("signals after deleting the only passkey: %s", r.raw)
		}
	} else {
		expect(t, "A deletes own passkey", r, 204, "")
		if len(r.raw) != 0 {
			t.Errorf("204 with a body: %s", r.raw)
		}
	}
	if list := s.passkeys(a); len(list) != 0 {
		t.Errorf("list after delete: %+v", list)
	}
	check(t, "delete again", s.c.DeletePasskey(ctx, a.token, aID), 404, "not_found")

	// The deleted passkey logs in neither through a ceremony started
	// before the deletion nor through a new one.
	// Both answer unknown_credential with the passkey's ID, so that the
	// page can tell the browser to forget it.
	_, err = s.finish("login", assertion(t, a.auth, pending))
	checkUnknown(t, "pending login", err, aID)
	_, err = s.finish("mediation", assertion(t, a.auth, s.mediationOptions()))
	checkUnknown(t, "mediation", err, aID)
	// Only a valid ceremony tells: a response for another origin, or for
	// no ceremony, says nothing of the credential.
	_, err = s.finish("mediation", assertion(t, a.auth, s.mediationOptions(), passkeystest.Tamper{Origin: "https://evil.example"}))
	check(t, "mediation for another origin", err, 401, "passkey_verification_failed")
	_, err = s.finish("mediation", assertion(t, a.auth, s.mediationOptions(), passkeystest.Tamper{Challenge: base64.RawURLEncoding.EncodeToString(make([]byte, 32))}))
	check(t, "mediation for no ceremony", err, 401, "passkey_verification_failed")
	cer, err := s.c.StartLogin(ctx, a.email)
	if err != nil || cer.Allowed {
		t.Errorf("login start after deleting the only passkey: %+v, %v", cer, err)
	}
	if _, err := a.c.LoginWithPasskey(ctx, a.email); !errors.Is(err, passkeystest.ErrNotAllowed) {
		t.Errorf("passkey login after deleting the only passkey: %v, want ErrNotAllowed", err)
	}
	if list := s.passkeys(b); len(list) != 1 {
		t.Errorf("B's passkeys: %+v", list)
	}
}

func testSessionsSurvive(t *testing.T, setup Setup) {
	s := newServer(t, setup, nil)
	a := s.signUp("devices@example.com")
	first := a.token
	check(t, "add passkey", s.addPasskey(a), 200, "")
	sess, err := a.c.LoginWithPasskey(t.Context(), a.email)
	check(t, "passkey login", err, 200, "")
	second := sess.Token
	third := s.signUp(a.email).token
	for i, tok := range []string{first, second, third} {
		expect(t, "session "+string(rune('1'+i)), s.do("GET", "/api/me", nil, tok), 200, "")
	}
}

// testOpenAPIDocument: GET openapi.json serves the description the suite
// checks every call against, and revalidates by its ETag.
func testOpenAPIDocument(t *testing.T, setup Setup) {
	s := newServer(t, setup, nil)
	r := s.do(http.MethodGet, "/auth/openapi.json", nil, "")
	expect(t, "GET openapi.json", r, 200, "")
	if !bytes.Equal(r.raw, passkeys.OpenAPI()) || r.str("openapi") != "3.1.1" {
		t.Errorf("GET openapi.json: %d bytes, openapi %q; want the module's openapi.json", len(r.raw), r.str("openapi"))
	}
	etag := r.header.Get("ETag")
	r = s.do(http.MethodGet, "/auth/openapi.json", nil, "", "If-None-Match", etag)
	expect(t, "GET openapi.json with If-None-Match", r, http.StatusNotModified, "")
	r = s.do(http.MethodHead, "/auth/openapi.json", nil, "")
	if r.status != 200 || len(r.raw) != 0 || r.header.Get("ETag") != etag {
		t.Errorf("HEAD openapi.json: %d, %d bytes, ETag %q; want 200, no body, ETag %s", r.status, len(r.raw), r.header.Get("ETag"), etag)
	}
}

// testCookieSessionsAndCORS runs a sign-up, a guarded call, a refused
// cross-origin call, CORS preflights and a logout with cookie sessions and
// CORS on, so that the contract checks their headers and answers too.
func testCookieSessionsAndCORS(t *testing.T, setup Setup) {
	const other = "https://evil.example"
	s := newServer(t, setup, func(o *passkeys.Options) {
		o.Cookie = &passkeys.CookieOptions{Origins: []string{Origin}}
		o.CORS = passkeys.CORSOptions{Origins: []string{Origin}}
	})
	const email = "cookie@example.com"
	expect(t, "code request", s.do(http.MethodPost, "/auth/signUpOrLogin", map[string]string{"email": email}, "", "Origin", Origin), 200, "")
	r := s.do(http.MethodPost, "/auth/signUpOrLogin", map[string]string{"email": email, "otp": s.lastCode(email)}, "", "Origin", Origin)
	expect(t, "code submission", r, 200, "")
	cookies := (&http.Response{Header: r.header}).Cookies()
	if len(cookies) != 1 || cookies[0].Name != passkeys.DefaultCookieName || !cookies[0].HttpOnly || r.str("sessionToken") != "" || r.str("user", "email") != email {
		t.Fatalf("code submission: cookies %v, body %s; want one HttpOnly session cookie and no token", cookies, r.raw)
	}
	cookie := cookies[0].Name + "=" + cookies[0].Value
	expect(t, "GET passkeys by cookie", s.do(http.MethodGet, "/auth/passkeys", nil, "", "Cookie", cookie), 200, "")
	expect(t, "append start from another origin", s.do(http.MethodPost, "/auth/passkey/append/start", "{}", "", "Cookie", cookie, "Origin", other),
		http.StatusForbidden, "cross_origin_request")
	r = s.do(http.MethodPost, "/auth/passkey/append/start", "{}", "", "Cookie", cookie, "Origin", Origin)
	expect(t, "append start by cookie", r, 200, "")
	if r.get("appendAllow") != true {
		t.Errorf("append start by cookie: %s, want appendAllow true", r.raw)
	}
	preflight := func(origin string) response {
		return s.do(http.MethodOptions, "/auth/passkey/login/start", nil, "",
			"Origin", origin, "Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "content-type")
	}
	if r := preflight(Origin); r.status != http.StatusNoContent || r.header.Get("Access-Control-Allow-Origin") != Origin {
		t.Errorf("preflight from %s: %d, Allow-Origin %q; want 204 naming it", Origin, r.status, r.header.Get("Access-Control-Allow-Origin"))
	}
	expect(t, "preflight from another origin", preflight(other), http.StatusForbidden, "cors_origin_not_allowed")
	r = s.do(http.MethodPost, "/auth/logout", "{}", "", "Cookie", cookie, "Origin", Origin)
	expect(t, "logout", r, http.StatusNoContent, "")
	if c := (&http.Response{Header: r.header}).Cookies(); len(c) != 1 || c[0].Name != passkeys.DefaultCookieName || c[0].MaxAge >= 0 {
		t.Errorf("logout: cookies %v, want the session cookie cleared", c)
	}
}

// checkUnknown checks that err is 401 unknown_credential naming the
// credential id.
func checkUnknown(t *testing.T, what string, err error, id string) {
	t.Helper()
	check(t, what, err, 401, "unknown_credential")
	var e *passkeystest.Error
	if !errors.As(err, &e) {
		return
	}
	var p struct {
		CredentialID string `json:"credentialId"`
	}
	if err := json.Unmarshal(e.Body, &p); err != nil || p.CredentialID != id {
		t.Errorf("%s: credentialId %q (%v), want %q: %s", what, p.CredentialID, err, id, e.Body)
	}
}

// testSignals checks the Signal API data of a backend that has it (a
// login by button and by autofill, the list, a deletion) and its absence
// on one that has not.
func testSignals(t *testing.T, setup Setup) {
	s := newServer(t, setup, nil)
	a := s.signUp("signals@example.com")
	check(t, "first passkey", s.addPasskey(a), 200, "")
	second := passkeystest.New(Origin)
	check(t, "second passkey", s.finishAppend(a, must(second.Create(s.appendOptions(a)))), 200, "")
	first := a.auth.Credentials()[0]
	ids := []any{
		base64.RawURLEncoding.EncodeToString(first.ID),
		base64.RawURLEncoding.EncodeToString(second.Credentials()[0].ID),
	}
	if list := s.passkeys(a); len(list) == 2 && list[0].ID != ids[0] {
		ids[0], ids[1] = ids[1], ids[0] // the list's order, oldest first
	}
	opts := s.loginOptions(a)
	rpID, _ := field(opts, "publicKey", "rpId").(string)
	handle := base64.RawURLEncoding.EncodeToString(first.UserHandle)
	want := func(ids []any) map[string]any {
		return map[string]any{
			"allAcceptedCredentials": map[string]any{"rpId": rpID, "userId": handle, "allAcceptedCredentialIds": ids},
			"currentUserDetails":     map[string]any{"rpId": rpID, "userId": handle, "name": a.email, "displayName": a.email},
		}
	}
	checkSignals := func(what string, r response, want map[string]any) {
		t.Helper()
		expect(t, what, r, 200, "")
		got, ok := r.body["signals"]
		switch {
		case !s.signals && ok:
			t.Errorf("%s: signals from a backend without them: %s", what, r.raw)
		case s.signals:
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("%s: signals (-want +got):\n%s", what, diff)
			}
		}
	}
	if rpID == "" || len(first.UserHandle) == 0 {
		t.Fatalf("no rpId or user handle: %s", opts)
	}
	r := s.post("/auth/passkey/login/finish", map[string]json.RawMessage{"assertionResponse": assertion(t, a.auth, opts)}, "")
	checkSignals("button login", r, want(ids))
	r = s.post("/auth/passkey/mediation/finish", map[string]json.RawMessage{"assertionResponse": assertion(t, second, s.mediationOptions())}, "")
	checkSignals("autofill login", r, want(ids))
	checkSignals("list", s.do(http.MethodGet, "/auth/passkeys", nil, a.token), want(ids))
	r = s.do(http.MethodDelete, "/auth/passkeys/"+ids[0].(string), nil, a.token)
	if !s.signals {
		expect(t, "delete", r, 204, "")
		return
	}
	checkSignals("delete", r, want(ids[1:]))
}

// testRenamePasskey renames a passkey through PATCH passkeys/{id}: the
// name is trimmed and kept, bad names are 400 and change nothing, another
// user's passkey is 404; a backend without PasskeyRenamer answers 400 not_supported.
func testRenamePasskey(t *testing.T, setup Setup) {
	s := newServer(t, setup, nil)
	a := s.signUp("rename@example.com")
	b := s.signUp("rename-other@example.com")
	check(t, "A passkey", s.addPasskey(a), 200, "")
	check(t, "B passkey", s.addPasskey(b), 200, "")
	aID := base64.RawURLEncoding.EncodeToString(a.auth.Credentials()[0].ID)
	rename := func(acc *account, id string, body any) response {
		t.Helper()
		return s.do(http.MethodPatch, "/auth/passkeys/"+id, body, acc.token)
	}
	if _, ok := s.backend.(passkeys.PasskeyRenamer); !ok {
		expect(t, "rename without PasskeyRenamer", rename(a, aID, map[string]string{"name": "Work"}), 400, "not_supported")
		return
	}
	before := s.passkeys(a)[0].Name
	r := rename(a, aID, map[string]string{"name": "  Work laptop \u00e9  "})
	expect(t, "rename", r, 200, "")
	if r.str("passkey", "name") != "Work laptop é" || r.str("passkey", "id") != aID {
		t.Errorf("rename answer: %s", r.raw)
	}
	if list := s.passkeys(a); len(list) != 1 || list[0].Name != "Work laptop é" {
		t.Errorf("list after the rename: %+v", list)
	}
	r = rename(a, aID, map[string]string{"name": strings.Repeat("ü", 64)})
	expect(t, "64 characters", r, 200, "")
	for _, c := range []struct {
		name string
		body any
	}{
		{"empty", map[string]string{"name": ""}},
		{"blank", map[string]string{"name": " \t "}},
		{"65 characters", map[string]string{"name": strings.Repeat("a", 65)}},
		{"bidi override", map[string]string{"name": "abc\u202edcb"}},
		{"zero-width space", map[string]string{"name": "a\u200bb"}},
		{"control", map[string]string{"name": "a\u0007b"}},
		{"line break", map[string]string{"name": "two\nlines"}},
		{"no name", map[string]string{}},
		{"name not a string", map[string]int{"name": 1}},
		{"unknown field", map[string]string{"name": "x", "icon": "y"}},
	} {
		expect(t, "rename: "+c.name, rename(a, aID, c.body), 400, "invalid_request")
	}
	expect(t, "rename: bad id", rename(a, "not*base64", map[string]string{"name": "x"}), 400, "invalid_request")
	expect(t, "B renames A's passkey", rename(b, aID, map[string]string{"name": "mine now"}), 404, "not_found")
	expect(t, "unknown passkey", rename(a, "AAAA", map[string]string{"name": "x"}), 404, "not_found")
	expect(t, "no session", s.do(http.MethodPatch, "/auth/passkeys/"+aID, map[string]string{"name": "x"}, ""), 401, "unauthorized")
	if list := s.passkeys(a); len(list) != 1 || list[0].Name != strings.Repeat("ü", 64) || list[0].Name == before {
		t.Errorf("list after refused renames: %+v", list)
	}
}
