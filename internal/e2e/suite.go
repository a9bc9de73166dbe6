package e2e

import (
	"encoding/base64"
	"encoding/json"
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
		{"SessionsSurviveNewLogins", testSessionsSurvive},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, setup) })
	}
}

func testFullFlow(t *testing.T, setup Setup) {
	s := newServer(t, setup, nil)

	r := s.post("/auth/signUpOrLogin", map[string]string{"email": "  Alice@Example.COM "}, "")
	expect(t, "request code", r, 200, "")
	if diff := cmp.Diff(map[string]any{"otpSent": true, "expiresInSeconds": float64(600)}, r.body); diff != "" {
		t.Errorf("request code body (-want +got):\n%s", diff)
	}
	if got := r.header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control %q, want no-store", got)
	}
	code := s.lastCode("alice@example.com")
	r = s.post("/auth/signUpOrLogin", map[string]string{"email": "alice@example.com", "otp": code}, "")
	expect(t, "check code", r, 200, "")
	if r.get("newUser") != true || r.str("user", "email") != "alice@example.com" || r.str("user", "id") == "" {
		t.Fatalf("sign-up response: %s", r.raw)
	}
	a := &account{email: "alice@example.com", id: r.str("user", "id"), token: r.str("sessionToken"), auth: passkeystest.New(Origin)}

	r = s.do(http.MethodGet, "/api/me", nil, a.token)
	expect(t, "/api/me", r, 200, "")
	if diff := cmp.Diff(map[string]any{"user": map[string]any{"id": a.id, "email": a.email}}, r.body); diff != "" {
		t.Errorf("/api/me (-want +got):\n%s", diff)
	}

	r = s.post("/auth/passkey/append/start", map[string]any{}, a.token)
	expect(t, "append start", r, 200, "")
	if r.get("appendAllow") != true {
		t.Fatalf("appendAllow: %s", r.raw)
	}
	pk := r.get("attestationOptions", "publicKey")
	if m, _ := pk.(map[string]any); m == nil || m["challenge"] == nil || m["user"] == nil || m["rp"] == nil {
		t.Fatalf("attestationOptions.publicKey incomplete: %s", r.raw)
	}
	if sel, _ := r.get("attestationOptions", "publicKey", "authenticatorSelection", "residentKey").(string); sel != "required" {
		t.Errorf("residentKey %q, want required", sel)
	}
	att, err := a.auth.Create(r.object("attestationOptions"))
	if err != nil {
		t.Fatal(err)
	}
	r = s.post("/auth/passkey/append/finish", map[string]json.RawMessage{"attestationResponse": att}, a.token)
	expect(t, "append finish", r, 200, "")
	credID := base64.RawURLEncoding.EncodeToString(a.auth.Credentials()[0].ID)
	if r.str("passkey", "id") != credID || r.str("passkey", "name") == "" || r.str("passkey", "createdAt") == "" {
		t.Errorf("append finish passkey: %s (credential %s)", r.raw, credID)
	}

	r = s.do(http.MethodGet, "/auth/passkeys", nil, a.token)
	expect(t, "list", r, 200, "")
	list, _ := r.get("passkeys").([]any)
	if len(list) != 1 || list[0].(map[string]any)["id"] != credID || list[0].(map[string]any)["lastUsedAt"] != nil {
		t.Fatalf("list after append: %s", r.raw)
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
	r = s.post("/auth/passkey/login/finish", finishBody(assertion(t, a.auth, opts)), "")
	expect(t, "login finish", r, 200, "")
	if r.str("user", "id") != a.id || r.str("user", "email") != a.email || r.str("sessionToken") == "" {
		t.Fatalf("login finish: %s", r.raw)
	}
	if r.get("newUser") != nil {
		t.Errorf("login finish carries newUser: %s", r.raw)
	}
	r = s.do(http.MethodGet, "/api/me", nil, r.str("sessionToken"))
	expect(t, "/api/me with passkey session", r, 200, "")

	// Conditional UI.
	r = s.post("/auth/passkey/mediation/start", map[string]any{}, "")
	expect(t, "mediation start", r, 200, "")
	if r.get("loginAllow") != true || r.str("assertionOptions", "mediation") != "conditional" {
		t.Errorf("mediation start: %s", r.raw)
	}
	if ac := r.get("assertionOptions", "publicKey", "allowCredentials"); ac != nil && len(ac.([]any)) != 0 {
		t.Errorf("mediation options list credentials: %s", r.raw)
	}
	s.env.Clock.Advance(time.Minute)
	r = s.post("/auth/passkey/mediation/finish", finishBody(assertion(t, a.auth, r.object("assertionOptions"))), "")
	expect(t, "mediation finish", r, 200, "")
	if r.str("user", "id") != a.id {
		t.Fatalf("mediation finish: %s", r.raw)
	}

	r = s.do(http.MethodGet, "/auth/passkeys", nil, a.token)
	list, _ = r.get("passkeys").([]any)
	if len(list) != 1 {
		t.Fatalf("list: %s", r.raw)
	}
	used, _ := list[0].(map[string]any)["lastUsedAt"].(string)
	if want := s.env.Clock.Now().Format(time.RFC3339); used != want {
		t.Errorf("lastUsedAt %q, want %q", used, want)
	}

	// A later OTP login finds the same account.
	r = s.post("/auth/signUpOrLogin", map[string]string{"email": a.email}, "")
	expect(t, "second code", r, 200, "")
	r = s.post("/auth/signUpOrLogin", map[string]string{"email": a.email, "otp": s.lastCode(a.email)}, "")
	expect(t, "second login", r, 200, "")
	if r.get("newUser") != false || r.str("user", "id") != a.id {
		t.Errorf("second login: %s", r.raw)
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
		expect(t, "request code", s.post("/auth/signUpOrLogin", map[string]string{"email": email}, ""), 200, "")
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
		r := s.post("/auth/signUpOrLogin", map[string]string{"email": email, "otp": first}, "")
		expect(t, "replaced code", r, 401, "otp_invalid")
	}
	r := s.post("/auth/signUpOrLogin", map[string]string{"email": email, "otp": second}, "")
	expect(t, "new code", r, 200, "")
	// Once used, a new code may be sent at once.
	send()
	if n := len(s.env.Mailbox.Codes(email)); n != 3 {
		t.Errorf("after using the code %d codes were sent, want 3", n)
	}
}

func testOTPReuse(t *testing.T, setup Setup) {
	s := newServer(t, setup, nil)
	a := s.signUp("reuse@example.com")
	code := s.lastCode(a.email)
	r := s.post("/auth/signUpOrLogin", map[string]string{"email": a.email, "otp": code}, "")
	expect(t, "reused code", r, 401, "otp_invalid")
}

func testOTPBruteForce(t *testing.T, setup Setup) {
	s := newServer(t, setup, nil)
	const email = "brute@example.com"
	expect(t, "request code", s.post("/auth/signUpOrLogin", map[string]string{"email": email}, ""), 200, "")
	code := s.lastCode(email)
	for i := range 5 {
		r := s.post("/auth/signUpOrLogin", map[string]string{"email": email, "otp": wrongCode(code)}, "")
		expect(t, "wrong code "+string(rune('1'+i)), r, 401, "otp_invalid")
	}
	r := s.post("/auth/signUpOrLogin", map[string]string{"email": email, "otp": code}, "")
	expect(t, "right code after five wrong ones", r, 401, "otp_invalid")
}

func testOTPExpired(t *testing.T, setup Setup) {
	s := newServer(t, setup, nil)
	const email = "late@example.com"
	expect(t, "request code", s.post("/auth/signUpOrLogin", map[string]string{"email": email}, ""), 200, "")
	s.env.Clock.Advance(10*time.Minute + time.Second)
	r := s.post("/auth/signUpOrLogin", map[string]string{"email": email, "otp": s.lastCode(email)}, "")
	expect(t, "expired code", r, 401, "otp_invalid")
}

func testRateLimits(t *testing.T, setup Setup) {
	t.Run("CodesPerEmail", func(t *testing.T) {
		s := newServer(t, setup, func(o *passkeys.Options) { o.EmailLimit = passkeys.Rate{Events: 3, Per: time.Minute} })
		for range 3 {
			expect(t, "within limit", s.post("/auth/signUpOrLogin", map[string]string{"email": "rl@example.com"}, ""), 200, "")
		}
		r := s.post("/auth/signUpOrLogin", map[string]string{"email": "rl@example.com"}, "")
		expect(t, "over limit", r, 429, "too_many_attempts")
		if r.header.Get("Retry-After") != "20" {
			t.Errorf("Retry-After %q, want 20", r.header.Get("Retry-After"))
		}
		expect(t, "other email", s.post("/auth/signUpOrLogin", map[string]string{"email": "other@example.com"}, ""), 200, "")
		expect(t, "checking is limited apart", s.post("/auth/signUpOrLogin", map[string]string{"email": "rl@example.com", "otp": s.lastCode("rl@example.com")}, ""), 200, "")
		s.env.Clock.Advance(20 * time.Second)
		expect(t, "after Retry-After", s.post("/auth/signUpOrLogin", map[string]string{"email": "rl@example.com"}, ""), 200, "")
	})
	t.Run("ChecksPerEmailAcrossCodes", func(t *testing.T) {
		s := newServer(t, setup, nil)
		const email = "guess@example.com"
		for range 2 {
			expect(t, "request code", s.post("/auth/signUpOrLogin", map[string]string{"email": email}, ""), 200, "")
			code := s.lastCode(email)
			for range 5 {
				expect(t, "wrong code", s.post("/auth/signUpOrLogin", map[string]string{"email": email, "otp": wrongCode(code)}, ""), 401, "otp_invalid")
			}
		}
		expect(t, "third code", s.post("/auth/signUpOrLogin", map[string]string{"email": email}, ""), 200, "")
		r := s.post("/auth/signUpOrLogin", map[string]string{"email": email, "otp": s.lastCode(email)}, "")
		expect(t, "eleventh check within the hour", r, 429, "too_many_attempts")
		if r.header.Get("Retry-After") != "360" {
			t.Errorf("Retry-After %q, want 360", r.header.Get("Retry-After"))
		}
		s.env.Clock.Advance(6 * time.Minute)
		expect(t, "after Retry-After", s.post("/auth/signUpOrLogin", map[string]string{"email": email, "otp": s.lastCode(email)}, ""), 200, "")
	})
	t.Run("PerIP", func(t *testing.T) {
		s := newServer(t, setup, nil)
		for i := range 60 {
			r := s.post("/auth/signUpOrLogin", map[string]string{"email": "ip" + string(rune('a'+i%26)) + string(rune('a'+i/26)) + "@example.com"}, "")
			expect(t, "within the default 60 a minute", r, 200, "")
		}
		r := s.post("/auth/signUpOrLogin", map[string]string{"email": "ip-last@example.com"}, "")
		expect(t, "61st", r, 429, "too_many_attempts")
		if r.header.Get("Retry-After") == "" {
			t.Error("no Retry-After")
		}
	})
	t.Run("CeremonyStartsPerIP", func(t *testing.T) {
		s := newServer(t, setup, func(o *passkeys.Options) { o.StartLimit = passkeys.Rate{Events: 3, Per: time.Minute} })
		expect(t, "login start", s.post("/auth/passkey/login/start", map[string]string{"email": "x@example.com"}, ""), 200, "")
		expect(t, "mediation start", s.post("/auth/passkey/mediation/start", map[string]any{}, ""), 200, "")
		expect(t, "login start", s.post("/auth/passkey/login/start", map[string]string{"email": "y@example.com"}, ""), 200, "")
		expect(t, "fourth start", s.post("/auth/passkey/mediation/start", map[string]any{}, ""), 429, "too_many_attempts")
		expect(t, "fifth start", s.post("/auth/passkey/login/start", map[string]string{"email": "z@example.com"}, ""), 429, "too_many_attempts")
	})
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
		r := s.post("/auth/passkey/append/start", map[string]any{}, a.token)
		expect(t, c.name+" start", r, 200, "")
		auth := passkeystest.New(Origin)
		auth.UserVerified = c.uv
		att, err := auth.Create(r.object("attestationOptions"), c.tamper)
		if err != nil {
			t.Fatal(err)
		}
		r = s.post("/auth/passkey/append/finish", map[string]json.RawMessage{"attestationResponse": att}, a.token)
		expect(t, c.name, r, 400, "passkey_verification_failed")
	}
	// A response whose challenge no ceremony issued.
	r := s.post("/auth/passkey/append/start", map[string]any{}, a.token)
	att := must(a.auth.Create(r.object("attestationOptions"), passkeystest.Tamper{Challenge: base64.RawURLEncoding.EncodeToString(make([]byte, 32))}))
	expect(t, "unknown challenge", s.post("/auth/passkey/append/finish", map[string]json.RawMessage{"attestationResponse": att}, a.token), 400, "passkey_verification_failed")

	r = s.do("GET", "/auth/passkeys", nil, a.token)
	if list, _ := r.get("passkeys").([]any); len(list) != 0 {
		t.Errorf("tampered appends stored passkeys: %s", r.raw)
	}
}

func testAppendReplay(t *testing.T, setup Setup) {
	s := newServer(t, setup, nil)
	a := s.signUp("replay@example.com")
	r := s.post("/auth/passkey/append/start", map[string]any{}, a.token)
	att := must(a.auth.Create(r.object("attestationOptions")))
	body := map[string]json.RawMessage{"attestationResponse": att}
	expect(t, "first finish", s.post("/auth/passkey/append/finish", body, a.token), 200, "")
	expect(t, "replayed finish", s.post("/auth/passkey/append/finish", body, a.token), 400, "passkey_verification_failed")
}

func testAppendOtherUsersCeremony(t *testing.T, setup Setup) {
	s := newServer(t, setup, nil)
	a := s.signUp("owner@example.com")
	b := s.signUp("thief@example.com")
	r := s.post("/auth/passkey/append/start", map[string]any{}, a.token)
	att := must(b.auth.Create(r.object("attestationOptions")))
	r = s.post("/auth/passkey/append/finish", map[string]json.RawMessage{"attestationResponse": att}, b.token)
	expect(t, "A's ceremony finished by B", r, 400, "passkey_verification_failed")
	for _, acc := range []*account{a, b} {
		r = s.do("GET", "/auth/passkeys", nil, acc.token)
		if list, _ := r.get("passkeys").([]any); len(list) != 0 {
			t.Errorf("%s has passkeys: %s", acc.email, r.raw)
		}
	}
}

func testAppendExcludesExisting(t *testing.T, setup Setup) {
	s := newServer(t, setup, nil)
	a := s.signUp("twice@example.com")
	expect(t, "first passkey", s.addPasskey(a), 200, "")
	r := s.post("/auth/passkey/append/start", map[string]any{}, a.token)
	var opts struct {
		PublicKey struct {
			ExcludeCredentials []struct{ ID string } `json:"excludeCredentials"`
		} `json:"publicKey"`
	}
	_ = json.Unmarshal(r.object("attestationOptions"), &opts)
	want := base64.RawURLEncoding.EncodeToString(a.auth.Credentials()[0].ID)
	if len(opts.PublicKey.ExcludeCredentials) != 1 || opts.PublicKey.ExcludeCredentials[0].ID != want {
		t.Errorf("excludeCredentials %+v, want [%s]", opts.PublicKey.ExcludeCredentials, want)
	}
	if _, err := a.auth.Create(r.object("attestationOptions")); err != passkeystest.ErrExcluded {
		t.Errorf("second passkey on the same authenticator: %v, want ErrExcluded", err)
	}
	// Another authenticator may add one.
	other := &account{email: a.email, token: a.token, auth: passkeystest.New(Origin)}
	expect(t, "second authenticator", s.addPasskey(other), 200, "")
}

func testAppendResponseAsString(t *testing.T, setup Setup) {
	s := newServer(t, setup, nil)
	a := s.signUp("string@example.com")
	r := s.post("/auth/passkey/append/start", map[string]any{}, a.token)
	att := must(a.auth.Create(r.object("attestationOptions")))
	r = s.post("/auth/passkey/append/finish", map[string]string{"attestationResponse": string(att)}, a.token)
	expect(t, "string attestationResponse", r, 200, "")
	opts := s.loginOptions(a)
	r = s.post("/auth/passkey/login/finish", map[string]string{"assertionResponse": string(assertion(t, a.auth, opts))}, "")
	expect(t, "string assertionResponse", r, 200, "")
}

func testLoginTampered(t *testing.T, setup Setup) {
	s := newServer(t, setup, nil)
	a := s.signUp("logintamper@example.com")
	expect(t, "add passkey", s.addPasskey(a), 200, "")
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
			r := s.post("/auth/passkey/"+path+"/finish", finishBody(assertion(t, a.auth, opts, c.tamper)), "")
			expect(t, path+" "+c.name, r, 401, "passkey_verification_failed")
		}
	}
	a.auth.UserVerified = false
	r := s.post("/auth/passkey/login/finish", finishBody(assertion(t, a.auth, s.loginOptions(a))), "")
	expect(t, "no user verification", r, 401, "passkey_verification_failed")
	a.auth.UserVerified = true
	expect(t, "honest login still works", s.post("/auth/passkey/login/finish", finishBody(assertion(t, a.auth, s.loginOptions(a))), ""), 200, "")
}

func testLoginReplay(t *testing.T, setup Setup) {
	s := newServer(t, setup, nil)
	a := s.signUp("loginreplay@example.com")
	expect(t, "add passkey", s.addPasskey(a), 200, "")
	for _, path := range []string{"login", "mediation"} {
		opts := s.startOptions(path, a)
		body := finishBody(assertion(t, a.auth, opts))
		expect(t, path+" first", s.post("/auth/passkey/"+path+"/finish", body, ""), 200, "")
		expect(t, path+" replay", s.post("/auth/passkey/"+path+"/finish", body, ""), 401, "passkey_verification_failed")
	}
}

func testLoginOtherUsersHandle(t *testing.T, setup Setup) {
	s := newServer(t, setup, nil)
	a := s.signUp("victim@example.com")
	b := s.signUp("attacker@example.com")
	expect(t, "A passkey", s.addPasskey(a), 200, "")
	expect(t, "B passkey", s.addPasskey(b), 200, "")
	aHandle := a.auth.Credentials()[0].UserHandle
	r := s.post("/auth/passkey/mediation/finish", finishBody(assertion(t, b.auth, s.mediationOptions(), passkeystest.Tamper{UserHandle: aHandle})), "")
	expect(t, "B's passkey with A's user handle (mediation)", r, 401, "passkey_verification_failed")
	r = s.post("/auth/passkey/login/finish", finishBody(assertion(t, b.auth, s.loginOptions(b), passkeystest.Tamper{UserHandle: aHandle})), "")
	expect(t, "B's passkey with A's user handle (button)", r, 401, "passkey_verification_failed")
	// B answering A's button ceremony with B's own passkey.
	r = s.post("/auth/passkey/login/finish", finishBody(assertion(t, b.auth, s.mediationOptionsFor(a))), "")
	expect(t, "B's passkey for A's login ceremony", r, 401, "passkey_verification_failed")
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
	expect(t, "add passkey", s.addPasskey(a), 200, "")
	for _, path := range []string{"login", "mediation"} {
		opts := s.startOptions(path, a)
		body := finishBody(assertion(t, a.auth, opts))
		var wg sync.WaitGroup
		statuses := make([]int, 20)
		for i := range statuses {
			wg.Go(func() { statuses[i] = s.post("/auth/passkey/"+path+"/finish", body, "").status })
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
	r := s.post("/auth/passkey/append/start", map[string]any{}, a.token)
	att := must(a.auth.Create(r.object("attestationOptions")))
	s.env.Clock.Advance(5*time.Minute + time.Second)
	a.token = s.signUp(a.email).token
	r = s.post("/auth/passkey/append/finish", map[string]json.RawMessage{"attestationResponse": att}, a.token)
	expect(t, "expired append", r, 400, "passkey_verification_failed")

	b := s.signUp("expire2@example.com")
	expect(t, "add passkey", s.addPasskey(b), 200, "")
	login := assertion(t, b.auth, s.loginOptions(b))
	med := assertion(t, b.auth, s.mediationOptions())
	s.env.Clock.Advance(5*time.Minute + time.Second)
	expect(t, "expired login", s.post("/auth/passkey/login/finish", finishBody(login), ""), 401, "passkey_verification_failed")
	expect(t, "expired mediation", s.post("/auth/passkey/mediation/finish", finishBody(med), ""), 401, "passkey_verification_failed")
}

func testCeremonyKinds(t *testing.T, setup Setup) {
	s := newServer(t, setup, nil)
	a := s.signUp("kinds@example.com")
	expect(t, "add passkey", s.addPasskey(a), 200, "")
	// Mediation and button ceremonies are pending at once and both finish.
	med := s.mediationOptions()
	login := s.loginOptions(a)
	expect(t, "button while mediation pending", s.post("/auth/passkey/login/finish", finishBody(assertion(t, a.auth, login)), ""), 200, "")
	expect(t, "mediation after button", s.post("/auth/passkey/mediation/finish", finishBody(assertion(t, a.auth, med)), ""), 200, "")
	// A mediation challenge is not a button-login challenge.
	r := s.post("/auth/passkey/login/finish", finishBody(assertion(t, a.auth, s.mediationOptions())), "")
	expect(t, "mediation response at login finish", r, 401, "passkey_verification_failed")
}

func testCounterRegression(t *testing.T, setup Setup) {
	s := newServer(t, setup, nil)
	a := s.signUp("clone@example.com")
	expect(t, "add passkey", s.addPasskey(a), 200, "")
	for range 3 {
		expect(t, "login", s.post("/auth/passkey/login/finish", finishBody(assertion(t, a.auth, s.loginOptions(a))), ""), 200, "")
	}
	// The clone reports a counter at or below the stored one.
	id := a.auth.Credentials()[0].ID
	if err := a.auth.SetSignCount(id, 2); err != nil {
		t.Fatal(err)
	}
	r := s.post("/auth/passkey/login/finish", finishBody(assertion(t, a.auth, s.loginOptions(a))), "")
	expect(t, "counter regression", r, 401, "passkey_verification_failed")
	stale := uint32(0)
	r = s.post("/auth/passkey/mediation/finish", finishBody(assertion(t, a.auth, s.mediationOptions(), passkeystest.Tamper{SignCount: &stale})), "")
	expect(t, "counter reset to zero", r, 401, "passkey_verification_failed")
	if err := a.auth.SetSignCount(id, 10); err != nil {
		t.Fatal(err)
	}
	expect(t, "counter ahead", s.post("/auth/passkey/login/finish", finishBody(assertion(t, a.auth, s.loginOptions(a))), ""), 200, "")

	// Authenticators without a counter always report zero.
	z := s.signUp("zero@example.com")
	z.auth.ZeroCounter = true
	expect(t, "add counterless passkey", s.addPasskey(z), 200, "")
	for range 2 {
		expect(t, "counterless login", s.post("/auth/passkey/login/finish", finishBody(assertion(t, z.auth, s.loginOptions(z))), ""), 200, "")
	}
}

func testDeletePasskey(t *testing.T, setup Setup) {
	s := newServer(t, setup, nil)
	a := s.signUp("del@example.com")
	b := s.signUp("del-other@example.com")
	expect(t, "A passkey", s.addPasskey(a), 200, "")
	expect(t, "B passkey", s.addPasskey(b), 200, "")
	aID := base64.RawURLEncoding.EncodeToString(a.auth.Credentials()[0].ID)
	pending := s.loginOptions(a)

	r := s.do("DELETE", "/auth/passkeys/"+aID, nil, b.token)
	expect(t, "B deletes A's passkey", r, 404, "not_found")
	expect(t, "A can still log in", s.post("/auth/passkey/login/finish", finishBody(assertion(t, a.auth, s.loginOptions(a))), ""), 200, "")

	r = s.do("DELETE", "/auth/passkeys/"+aID, nil, "")
	expect(t, "delete without session", r, 401, "unauthorized")
	r = s.do("DELETE", "/auth/passkeys/"+aID, nil, a.token)
	expect(t, "A deletes own passkey", r, 204, "")
	if len(r.raw) != 0 {
		t.Errorf("204 with a body: %s", r.raw)
	}
	r = s.do("GET", "/auth/passkeys", nil, a.token)
	if list, _ := r.get("passkeys").([]any); len(list) != 0 {
		t.Errorf("list after delete: %s", r.raw)
	}
	expect(t, "delete again", s.do("DELETE", "/auth/passkeys/"+aID, nil, a.token), 404, "not_found")

	// The deleted passkey logs in neither through a ceremony started
	// before the deletion nor through a new one.
	expect(t, "pending login", s.post("/auth/passkey/login/finish", finishBody(assertion(t, a.auth, pending)), ""), 401, "passkey_verification_failed")
	expect(t, "mediation", s.post("/auth/passkey/mediation/finish", finishBody(assertion(t, a.auth, s.mediationOptions())), ""), 401, "passkey_verification_failed")
	r = s.post("/auth/passkey/login/start", map[string]string{"email": a.email}, "")
	if r.get("loginAllow") != false {
		t.Errorf("login start after deleting the only passkey: %s", r.raw)
	}
	r = s.do("GET", "/auth/passkeys", nil, b.token)
	if list, _ := r.get("passkeys").([]any); len(list) != 1 {
		t.Errorf("B's passkeys: %s", r.raw)
	}
}

func testSessionsSurvive(t *testing.T, setup Setup) {
	s := newServer(t, setup, nil)
	a := s.signUp("devices@example.com")
	first := a.token
	expect(t, "add passkey", s.addPasskey(a), 200, "")
	second := s.post("/auth/passkey/login/finish", finishBody(assertion(t, a.auth, s.loginOptions(a))), "").str("sessionToken")
	third := s.signUp(a.email).token
	for i, tok := range []string{first, second, third} {
		expect(t, "session "+string(rune('1'+i)), s.do("GET", "/api/me", nil, tok), 200, "")
	}
}
